"""GenD speed: tfdeepfake's Keras model against the PyTorch reference (transformers'
CLIPVisionModel + GenD's head), same weights, same inputs, same threads, one process.

How it measures (so a ratio can be trusted on a loaded machine):
- one random GenD (the torch reference's initialisation) is copied into the Keras model with the
  strict importer's mapping, so every path computes the same function; each path's largest
  logit difference to the torch float32 logits is printed beside its speed (a faster path never
  hides an accuracy change);
- the paths are timed *interleaved*: after ``--warmup`` untimed calls each, every repeat calls
  every path once in turn (rotating the order), so load that comes and goes hits all of them;
  median, min and max per call are printed, and the ratio of medians against torch;
- threads: TensorFlow intra-op = ``--threads`` and inter-op = 1 (set before its runtime starts),
  ``torch.set_num_threads(--threads)``, LiteRT ``num_threads``; float32 everywhere unless a path
  says otherwise (``--bf16`` for the GPU run);
- batch 1 gives per-image latency, batch 8-16 throughput (``--batch 1 8``).

Paths (``--paths``): ``torch`` (the reference), ``keras`` (``predict_on_batch``: the
model's graph, which ``tfdeepfake detect`` runs in a ``tf.function``), ``keras-xla`` (TF backend:
``tf.function(jit_compile=True)``),
``tflite-fp32``, ``tflite-fp16``, ``tflite-dynamic`` (LiteRT + XNNPACK on the exported
``.tflite``: fp16 weights, or int8 weights with dynamically quantised activations).
``--profile`` adds where the time goes: the FLOPs of the forward pass, the share in the dense
layers' matrix products, and the GFLOP/s each framework reaches on those products alone.

``--depth N`` keeps ViT-L/14's width, heads and 257 tokens but only N blocks: the blocks are
identical, so per-block ratios carry over and the heavy paths (TFLite conversion) fit a small
machine. ``--device gpu`` runs Keras on JAX (``KERAS_BACKEND=jax`` before Keras loads; no
TensorFlow needed) against torch on CUDA; without transformers the reference is the plain torch
tower of ``tfdeepfake.bench.torch_clip`` (checked against transformers on CPU by the tests).

    python bench/gend_speed.py --batch 1 8 --repeats 5 --profile       # ViT-L/14, CPU
    python bench/gend_speed.py --depth 4 --paths torch keras tflite-fp32 tflite-dynamic
    KERAS_BACKEND=jax python bench/gend_speed.py --depth 4              # Keras on JAX/XLA, CPU
    python bench/gend_speed.py --device gpu --batch 1 64 --bf16         # a GPU machine
    python bench/gend_speed.py --weights model.safetensors --paths torch tflite-dynamic
    python bench/gend_speed.py --tiny                                   # smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

VIT_L14 = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
           "num_attention_heads": 16, "image_size": 224, "patch_size": 14}
TINY = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "image_size": 32, "patch_size": 8}
GOALS = {"cpu": 2.0, "gpu": 1.5}
TFLITE = {"tflite-fp32": "none", "tflite-fp16": "fp16", "tflite-dynamic": "dynamic"}
PATHS = ("torch", "keras", "keras-xla", *TFLITE)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny configuration")
    parser.add_argument("--depth", type=int, help="blocks (default: all 24 of ViT-L/14)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per path and batch")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=["torch", "keras"])
    parser.add_argument("--reference", choices=("auto", "transformers", "plain"), default="auto",
                        help="auto: transformers when installed, else the plain torch tower")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                        help="gpu: Keras on JAX against torch on CUDA")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 on both sides (GPU)")
    parser.add_argument("--weights", metavar="FILE",
                        help="GenD's model.safetensors (or one in its layout) instead of random "
                             "weights, so the logit differences are those of real weights")
    parser.add_argument("--profile", action="store_true",
                        help="FLOPs, matmul share and GFLOP/s of the dense products")
    args = parser.parse_args(argv)
    if min(args.batch) < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("--batch, --repeats and --threads must be positive integers.")
    if "torch" not in args.paths:
        args.paths = ["torch", *args.paths]
    return args


def configure(args) -> str:
    """Pick the backend and pin the threads before any framework starts; returns the backend."""
    if args.device == "gpu":
        os.environ["KERAS_BACKEND"] = "jax"
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    import torch

    torch.set_num_threads(args.threads)
    needs_tf = [p for p in args.paths if p == "keras-xla" or p.startswith("tflite")]
    if needs_tf and backend != "tensorflow":
        raise SystemExit(f"--paths {' '.join(needs_tf)} need the TensorFlow backend; drop them "
                         f"or unset KERAS_BACKEND (now {backend!r}).")
    return backend


def reference_kind(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import transformers  # noqa: F401
    except ImportError:
        return "plain"
    return "transformers"


def build(args, kind: str):
    """The torch reference (tower, head) and the Keras model holding the same weights."""
    import keras
    import torch

    from tfdeepfake.bench.torch_clip import clip_tower, gend_state
    from tfdeepfake.models import create_model
    from tfdeepfake.weights.clip_keys import gend_sources
    from tfdeepfake.weights.mapping import assign_strict

    cfg = dict(TINY if args.tiny else VIT_L14)
    if args.depth:
        cfg["num_hidden_layers"] = args.depth
    torch.manual_seed(0)
    tower = clip_tower(cfg, kind)
    head = torch.nn.Linear(cfg["hidden_size"], 2).eval()
    if args.weights:
        load_weights(tower, head, args.weights)
    if args.bf16:  # float32 variables, bfloat16 compute
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = create_model("gend_clip_tiny" if args.tiny else "gend_clip_l14",
                         depth=cfg["num_hidden_layers"])
    assign_strict(model, gend_state(tower, head), gend_sources(model))
    return cfg, tower, head, model


def load_weights(tower, head, path: str) -> None:
    from tfdeepfake.bench.torch_clip import load_gend_state
    from tfdeepfake.weights.checkpoint import read_state_dict

    try:
        load_gend_state(tower, head, read_state_dict(path))
    except RuntimeError as err:  # torch names the missing, unexpected or mis-shaped keys
        first = str(err).strip().splitlines()[:3]
        raise SystemExit(f"--weights {path}: does not fit this configuration ({' '.join(first)}"
                         "); pass --tiny for a tiny CLIP file, drop --depth for GenD's own "
                         "file.") from err


def torch_path(tower, head, device: str, bf16: bool):
    import contextlib

    import torch

    from tfdeepfake.bench.torch_clip import gend_logits

    target = "cuda" if device == "gpu" else "cpu"
    tower, head = tower.to(target), head.to(target)
    autocast = torch.autocast(target, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def run(x):
        with torch.inference_mode(), autocast:
            z = gend_logits(tower, head, x)
        if target == "cuda":
            torch.cuda.synchronize()
        return z

    def prepare(x_nhwc):
        return torch.from_numpy(x_nhwc.transpose(0, 3, 1, 2).copy()).to(target)

    def logit(z):
        z = z.float().cpu().numpy()
        return z[:, 1] - z[:, 0]

    return prepare, run, logit


def keras_path(model, xla: bool, backend: str):
    prepare = lambda x: x  # noqa: E731
    if backend == "jax":  # on the accelerator once, as torch's input is
        import jax

        prepare = jax.device_put
    if xla:
        import tensorflow as tf

        call = tf.function(lambda x: model(x, training=False)["logit"], jit_compile=True)

        def run(x):
            return call(x).numpy()
    else:
        def run(x):
            return model.predict_on_batch(x)["logit"]

    return prepare, run, lambda z: np.asarray(z, dtype=np.float32).reshape(-1)


def tflite_path(model, quantize: str, threads: int):
    """LiteRT on the converted file: uint8 pixels in (normalisation inside), XNNPACK."""
    from ai_edge_litert.interpreter import Interpreter

    from tfdeepfake.export.tflite import convert

    flatbuffer = convert(model, model.preset, (quantize,))[quantize][0]
    runner = Interpreter(model_content=flatbuffer, num_threads=threads).get_signature_runner()

    def run(pixels):
        return runner(pixels=pixels)["logit"]

    return None, run, lambda z: np.asarray(z, dtype=np.float32).reshape(-1)


def normalise(pixels: np.ndarray, preset) -> np.ndarray:
    mean, std = np.float32(preset.mean), np.float32(preset.std)
    return ((pixels.astype(np.float32) / np.float32(255.0) - mean) / std).astype(np.float32)


def interleaved(calls: dict, repeats: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per call of each zero-argument callable, timed in rotating turns."""
    names = list(calls)
    for name in names:
        for _ in range(warmup):
            calls[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    return times


def forward_flops(cfg: dict, batch: int) -> tuple[float, float]:
    """(all FLOPs, FLOPs in the dense layers' and patch embedding's matrix products)."""
    d, m, depth = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    grid = cfg["image_size"] // cfg["patch_size"]
    tokens = grid * grid + 1
    dense = 2 * tokens * (4 * d * d + 2 * d * m) * depth
    dense += 2 * (tokens - 1) * 3 * cfg["patch_size"] ** 2 * d
    attention = 2 * 2 * tokens * tokens * d * depth
    return batch * (dense + attention), batch * dense


def gemm_gflops(cfg: dict, batch: int, repeats: int, backend: str) -> dict[str, float]:
    """GFLOP/s of one block's four dense products (QKV+out as 4 DxD, fc1, fc2) alone."""
    import torch

    d, m = cfg["hidden_size"], cfg["intermediate_size"]
    grid = cfg["image_size"] // cfg["patch_size"]
    rows = batch * (grid * grid + 1)
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal((rows, d), np.float32), rng.standard_normal((rows, m), np.float32)
    w_dd, w_dm, w_md = (rng.standard_normal(s, np.float32) for s in ((d, d), (d, m), (m, d)))
    flops = 2 * rows * (4 * d * d + 2 * d * m)
    tx, th = torch.from_numpy(x), torch.from_numpy(h)
    tw = [torch.from_numpy(w) for w in (w_dd, w_dm, w_md)]

    def torch_block():
        with torch.inference_mode():
            for _ in range(4):
                tx @ tw[0]
            tx @ tw[1]
            th @ tw[2]

    calls = {"torch": torch_block}
    if backend == "tensorflow":
        import tensorflow as tf

        fx, fh = tf.constant(x), tf.constant(h)
        fw = [tf.constant(w) for w in (w_dd, w_dm, w_md)]

        @tf.function
        def tf_block():
            return [tf.matmul(fx, fw[0]) for _ in range(4)] + [
                tf.matmul(fx, fw[1]), tf.matmul(fh, fw[2])]

        calls["tensorflow"] = tf_block
    times = interleaved(calls, repeats, 1)
    return {name: flops / statistics.median(t) / 1e9 for name, t in times.items()}


def run_batch(paths: dict, pixels: np.ndarray, preset, args) -> list[dict]:
    x = normalise(pixels, preset)
    prepared, outputs = {}, {}
    for name, (prepare, run, logit) in paths.items():
        arg = pixels if prepare is None else prepare(x)
        prepared[name] = (lambda run=run, arg=arg: run(arg))
        outputs[name] = logit(run(arg))
    times = interleaved(prepared, args.repeats, args.warmup)
    ref = outputs["torch"]
    torch_median = statistics.median(times["torch"])
    rows = []
    for name, t in times.items():
        med = statistics.median(t)
        rows.append({
            "path": name, "batch": len(pixels), "ms_per_image": 1e3 * med / len(pixels),
            "min_ms": 1e3 * min(t) / len(pixels), "max_ms": 1e3 * max(t) / len(pixels),
            "images_per_s": len(pixels) / med, "vs_torch": torch_median / med,
            "max_logit_diff": float(np.abs(outputs[name] - ref).max()),
            "ref_logits": (float(ref.min()), float(ref.max())),
        })
    return rows


def print_rows(rows: list[dict], goal: float) -> None:
    print(f"{'batch':>5}  {'path':<15} {'ms/image':>9} {'(min-max)':>17} {'img/s':>7} "
          f"{'vs torch':>8}  {'max|dlogit|':>11}")
    for r in rows:
        spread = f"({r['min_ms']:.0f}-{r['max_ms']:.0f})"
        print(f"{r['batch']:>5}  {r['path']:<15} {r['ms_per_image']:>9.1f} {spread:>17} "
              f"{r['images_per_s']:>7.3g} {r['vs_torch']:>7.2f}x  {r['max_logit_diff']:>11.1e}")
    for r in rows:
        if r["path"] == "torch":
            lo, hi = r["ref_logits"]
            print(f"batch {r['batch']}: torch's float32 logits lie in [{lo:.4g}, {hi:.4g}] (random "
                  "weights put every image near one logit: judge |dlogit| against that value)")
    print(f"goal: >= {goal}x against torch at equal precision (float32 paths: keras, keras-xla,"
          " tflite-fp32)")


def print_profile(cfg: dict, rows: list[dict], args, backend: str) -> None:
    batch = max(args.batch)
    total, dense = forward_flops(cfg, batch)
    print(f"\nprofile, batch {batch}: {total / batch / 1e9:.1f} GFLOP per image, "
          f"{100 * dense / total:.0f}% of it in the dense matrix products")
    for r in rows:
        if r["batch"] == batch:
            print(f"  {r['path']:<15} whole model {total / batch * r['images_per_s'] / 1e9:6.1f}"
                  " GFLOP/s")
    for name, rate in gemm_gflops(cfg, batch, args.repeats, backend).items():
        print(f"  {name:<15} dense products alone (one block's shapes) {rate:6.1f} GFLOP/s")


def main(argv=None) -> int:
    args = parse_args(argv)
    backend = configure(args)
    import keras

    kind = reference_kind(args.reference)
    cfg, tower, head, model = build(args, kind)
    paths = {"torch": torch_path(tower, head, args.device, args.bf16)}
    for name in args.paths:
        if name in ("keras", "keras-xla"):
            paths[name] = keras_path(model, name == "keras-xla", backend)
        elif name in TFLITE:
            paths[name] = tflite_path(model, TFLITE[name], args.threads)
    size = cfg["image_size"]
    rows = []
    for batch in args.batch:
        pixels = np.random.default_rng(batch).integers(0, 256, (batch, size, size, 3), np.uint8)
        rows += run_batch(paths, pixels, model.preset, args)
    dtype = "bfloat16" if args.bf16 else "float32"
    print(f"GenD ViT (width {cfg['hidden_size']}, {cfg['num_hidden_layers']} blocks, "
          f"{size} px), {args.device.upper()}, Keras {keras.__version__} on {backend} vs torch "
          f"({kind} reference), {dtype}, {args.threads} threads, median of {args.repeats} "
          f"interleaved calls after {args.warmup} warm-up")
    print_rows(rows, GOALS[args.device])
    if args.profile:
        print_profile(cfg, rows, args, backend)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
