"""Model suite: images (clips) per second, TensorFlow vs the PyTorch reference architecture.

Each (model, framework) runs in its own process with the same thread count on both sides
(TF intra-op = torch threads = ``threads``; TF inter-op = torch inter-op = 1). TensorFlow:
``tf.function(model, jit_compile=False)`` (oneDNN kernels; XLA on CPU compiles B7 for
minutes). PyTorch: eager, ``inference_mode``. FLOPs per item are counted once on the
reference with ``torch.utils.flop_counter`` (multiply-add = 2 FLOPs) and used for both.
"""

from __future__ import annotations

import numpy as np

from tfdeepfake.bench.timing import child_main, median_seconds, run_child

TARGET = 2.0  # goal: TF at least 2x the PyTorch reference on CPU
# preset -> (PyTorch reference name, tiny preset)
REFERENCES = {
    "autoatt_b4": "efficientnet-pytorch B4 + attention conv (icpr2020dfdc)",
    "efficientnet_b7": "timm-layout tf_efficientnet_b7 rebuild (DFDC winner)",
    "b7_ssim": "timm-layout tf_efficientnet_b7 rebuild (no SSIM branch in the reference)",
    "resnet_lstm": "ResNeXt50_32x4d + LSTM(2048) rebuild",
}


def _input_shape(preset, batch: int, channels_last: bool) -> tuple[int, ...]:
    s = preset.input_size
    image = (s, s, 3) if channels_last else (3, s, s)
    return (batch, preset.frames, *image) if preset.sequence else (batch, *image)


def _tf_child(spec: dict) -> dict:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from tfdeepfake.models import create_model

    model = create_model(spec["model"])
    call = tf.function(lambda x: model(x, training=False), jit_compile=False)
    rows = {}
    for batch in spec["batches"]:
        x = tf.constant(
            np.random.default_rng(0).standard_normal(
                _input_shape(model.preset, batch, True), dtype=np.float32
            )
        )
        rows[str(batch)] = median_seconds(lambda x=x: call(x)["logit"].numpy(), spec["repeats"])
    return {
        "call": "tf.function(jit_compile=False)",
        "tensorflow": tf.__version__,
        "by_batch": rows,
    }


def torch_reference(preset_name: str, tiny: bool):
    """The reference architecture (``tfdeepfake.weights.torch_references``) for a preset."""
    from tfdeepfake.weights import torch_references as refs

    if preset_name.startswith("resnet"):
        return refs.ResNeXtLSTM()
    if tiny:  # the same family scaled like the *_tiny presets
        return refs.DeepFakeClassifier(0.25, 0.1)
    if preset_name.startswith("autoatt"):
        return refs.IcprEfficientNet(attention=True)
    return refs.DeepFakeClassifier()


def _torch_child(spec: dict) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from tfdeepfake.models import get_preset

    torch.set_num_threads(spec["threads"])
    torch.set_num_interop_threads(1)
    preset = get_preset(spec["model"])
    model = torch_reference(spec["model"], spec["tiny"]).eval()
    rng = np.random.default_rng(0)
    one = torch.from_numpy(rng.standard_normal(_input_shape(preset, 1, False), dtype=np.float32))
    with torch.inference_mode():
        counter = FlopCounterMode(display=False)
        with counter:
            model(one)
    rows = {}
    for batch in spec["batches"]:
        x = torch.from_numpy(
            rng.standard_normal(_input_shape(preset, batch, False), dtype=np.float32)
        )

        def step(x=x):
            with torch.inference_mode():
                model(x)

        rows[str(batch)] = median_seconds(step, spec["repeats"])
    return {
        "call": "eager, inference_mode",
        "torch": torch.__version__,
        "by_batch": rows,
        "gflop_per_item": counter.get_total_flops() / 1e9,
    }


def run(
    models: list[str],
    batches: dict[str, list[int]],
    threads: int,
    repeats: int,
    tiny: bool,
    timeout: float,
) -> list[dict]:
    """Rows: one per (model, batch) with both frameworks' figures, the ratio and GFLOP/s."""
    from tfdeepfake.models import get_preset

    rows = []
    for name in models:
        preset_name = f"{name}_tiny" if tiny and not name.endswith("_tiny") else name
        if tiny and preset_name == "efficientnet_b7_tiny":
            preset_name = "b7_ssim_tiny"
        spec = {
            "model": preset_name,
            "batches": batches.get(name, [1]),
            "threads": threads,
            "repeats": repeats,
            "tiny": tiny,
        }
        ref = run_child(__name__, {**spec, "framework": "torch"}, timeout)
        tfr = run_child(__name__, {**spec, "framework": "tensorflow"}, timeout)
        gflop = ref.get("gflop_per_item")
        unit = "clips/s" if get_preset(preset_name).sequence else "images/s"
        for batch in spec["batches"]:
            row = {
                "suite": "models",
                "model": preset_name,
                "batch": batch,
                "threads": threads,
                "unit": unit,
                "reference": REFERENCES.get(name.removesuffix("_tiny"), ""),
                "tf_call": tfr.get("call"),
                "gflop_per_item": gflop,
                "tf_peak_rss_mb": tfr.get("peak_rss_mb"),
                "torch_peak_rss_mb": ref.get("peak_rss_mb"),
                "target_ratio": TARGET,
            }
            for side, res in (("tf", tfr), ("torch", ref)):
                timing = res.get("by_batch", {}).get(str(batch))
                if timing is None:
                    row[f"{side}_error"] = res.get("error", "no figure")
                    continue
                row[f"{side}_median_s"] = timing["median_s"]
                row[f"{side}_per_s"] = batch / timing["median_s"]
                row["repeats"] = timing["repeats"]
                if gflop:
                    row[f"{side}_gflops"] = gflop * batch / timing["median_s"]
            if "tf_per_s" in row and "torch_per_s" in row:
                row["ratio"] = row["tf_per_s"] / row["torch_per_s"]
            rows.append(row)
    return rows


def main() -> None:
    child_main(
        __doc__.splitlines()[0],
        lambda spec: _tf_child(spec) if spec["framework"] == "tensorflow" else _torch_child(spec),
    )


if __name__ == "__main__":
    main()
