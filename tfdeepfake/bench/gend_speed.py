"""Images per second of GenD: tfdeepfake's Keras model against transformers'
CLIPVisionModel + GenD's head (PyTorch), in one run, same shapes, random weights.

Both models run in this process one after the other (the Keras one first, then it is freed):
Keras through ``predict_on_batch`` (the traced function ``detect`` uses), PyTorch in
``inference_mode``. Speed does not depend on the weights. Prints one line per batch size with
both throughputs and their ratio.

- ``--device cpu`` (default): Keras on its configured backend (TensorFlow here) against torch
  on CPU with as many threads as TensorFlow; goal >= 2x.
- ``--device gpu``: Keras on **JAX** (``KERAS_BACKEND=jax`` is set before Keras loads; needs
  ``jax[cuda]``) against torch on CUDA (synchronised after each call); goal >= 1.5x. Both in
  float32, or both in bfloat16 with ``--bf16`` (Keras ``mixed_bfloat16``, torch ``autocast``).

    python -m tfdeepfake.bench.gend_speed                      # ViT-L/14, 224 px, batches 1, 8
    python -m tfdeepfake.bench.gend_speed --batch 1 --repeats 3 --warmup 1   # a loaded CPU
    python -m tfdeepfake.bench.gend_speed --device gpu --batch 1 32 --bf16   # a GPU machine
    python -m tfdeepfake.bench.gend_speed --tiny                # the tiny configuration (smoke)
"""

from __future__ import annotations

import argparse
import gc
import os

import numpy as np

VIT_L14 = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
           "num_attention_heads": 16, "image_size": 224, "patch_size": 14}
TINY = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "image_size": 32, "patch_size": 8}


GOALS = {"cpu": 2.0, "gpu": 1.5}


def keras_speed(preset: str, batches, repeats: int, warmup: int = 2,
                bf16: bool = False) -> dict[int, float]:
    import keras

    from tfdeepfake.bench.timing import median_seconds
    from tfdeepfake.models import create_model

    if bf16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = create_model(preset)
    size = model.preset.input_size
    out = {}
    for batch in batches:
        x = np.random.default_rng(0).standard_normal((batch, size, size, 3)).astype(np.float32)
        timing = median_seconds(lambda x=x, m=model: m.predict_on_batch(x), repeats, warmup)
        out[batch] = batch / timing["median_s"]
    del model
    gc.collect()
    return out


def torch_speed(cfg: dict, batches, repeats: int, threads: int, warmup: int = 2,
                device: str = "cpu", bf16: bool = False) -> dict[int, float]:
    import contextlib

    import torch
    import transformers

    from tfdeepfake.bench.timing import median_seconds

    torch.set_num_threads(threads)
    target = "cuda" if device == "gpu" else "cpu"
    config = transformers.CLIPVisionConfig(**cfg, hidden_act="quick_gelu", layer_norm_eps=1e-5)
    tower = transformers.CLIPVisionModel(config).eval().to(target)
    head = torch.nn.Linear(cfg["hidden_size"], 2).eval().to(target)
    autocast = (torch.autocast(target, dtype=torch.bfloat16) if bf16
                else contextlib.nullcontext())

    def gend(x):
        with autocast:
            pooled = tower(pixel_values=x).pooler_output
            probs = head(torch.nn.functional.normalize(pooled, dim=1)).softmax(-1)
        if target == "cuda":
            torch.cuda.synchronize()
        return probs

    out = {}
    size = cfg["image_size"]
    with torch.inference_mode():
        for batch in batches:
            x = torch.randn(batch, 3, size, size, device=target)
            timing = median_seconds(lambda x=x: gend(x), repeats, warmup)
            out[batch] = batch / timing["median_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny configuration")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per batch size")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                        help="gpu: Keras on JAX against torch on CUDA")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 on both sides")
    args = parser.parse_args()
    if args.device == "gpu":
        os.environ["KERAS_BACKEND"] = "jax"  # before anything imports Keras
        threads = os.cpu_count() or 1
    else:
        import tensorflow as tf

        threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    import keras

    preset, cfg = ("gend_clip_tiny", TINY) if args.tiny else ("gend_clip_l14", VIT_L14)
    ours = keras_speed(preset, args.batch, args.repeats, args.warmup, args.bf16)
    reference = torch_speed(cfg, args.batch, args.repeats, threads, args.warmup, args.device,
                            args.bf16)
    dtype = "bfloat16" if args.bf16 else "float32"
    print(f"GenD {preset}, {args.device.upper()}, Keras on {keras.backend.backend()} vs torch, "
          f"{dtype}, {threads} threads, median of {args.repeats} after {args.warmup} warm-up")
    print(f"{'batch':>5}  {'tfdeepfake img/s':>16}  {'transformers img/s':>18}  {'ratio':>6}"
          f"  goal")
    for batch in args.batch:
        ratio = ours[batch] / reference[batch]
        print(f"{batch:>5}  {ours[batch]:>16.4g}  {reference[batch]:>18.4g}  {ratio:>5.2f}x"
              f"  >= {GOALS[args.device]}x")


if __name__ == "__main__":
    main()
