"""CPU images per second of GenD: tfdeepfake's Keras model against transformers'
CLIPVisionModel + GenD's head (PyTorch), in one run, same shapes, random weights.

Both models run in this process one after the other (the Keras one first, then it is freed):
Keras through ``predict_on_batch`` (the traced function ``detect`` uses), PyTorch in
``inference_mode`` with as many threads as TensorFlow. Speed does not depend on the weights.
Prints one line per batch size with both throughputs and their ratio (goal >= 2x). GPU
(Keras on JAX against torch) is not measured by this script.

    python -m tfdeepfake.bench.gend_speed          # ViT-L/14 at 224 px, batches 1 and 8
    python -m tfdeepfake.bench.gend_speed --tiny   # the tiny configuration (a smoke run)
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


def keras_speed(preset: str, batches, repeats: int) -> dict[int, float]:
    from tfdeepfake.bench.timing import median_seconds
    from tfdeepfake.models import create_model

    model = create_model(preset)
    size = model.preset.input_size
    out = {}
    for batch in batches:
        x = np.random.default_rng(0).standard_normal((batch, size, size, 3)).astype(np.float32)
        timing = median_seconds(lambda x=x, m=model: m.predict_on_batch(x), repeats, warmup=2)
        out[batch] = batch / timing["median_s"]
    del model
    gc.collect()
    return out


def torch_speed(cfg: dict, batches, repeats: int, threads: int) -> dict[int, float]:
    import torch
    import transformers

    from tfdeepfake.bench.timing import median_seconds

    torch.set_num_threads(threads)
    config = transformers.CLIPVisionConfig(**cfg, hidden_act="quick_gelu", layer_norm_eps=1e-5)
    tower = transformers.CLIPVisionModel(config).eval()
    head = torch.nn.Linear(cfg["hidden_size"], 2).eval()

    def gend(x):
        pooled = tower(pixel_values=x).pooler_output
        return head(torch.nn.functional.normalize(pooled, dim=1)).softmax(-1)

    out = {}
    size = cfg["image_size"]
    with torch.inference_mode():
        for batch in batches:
            x = torch.randn(batch, 3, size, size)
            timing = median_seconds(lambda x=x: gend(x), repeats, warmup=2)
            out[batch] = batch / timing["median_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny configuration")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import tensorflow as tf

    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    preset, cfg = ("gend_clip_tiny", TINY) if args.tiny else ("gend_clip_l14", VIT_L14)
    ours = keras_speed(preset, args.batch, args.repeats)
    reference = torch_speed(cfg, args.batch, args.repeats, threads)
    print(f"GenD {preset}, CPU, {threads} threads (TF and torch), median of {args.repeats}")
    print(f"{'batch':>5}  {'tfdeepfake img/s':>16}  {'transformers img/s':>18}  {'ratio':>6}")
    for batch in args.batch:
        ratio = ours[batch] / reference[batch]
        print(f"{batch:>5}  {ours[batch]:>16.2f}  {reference[batch]:>18.2f}  {ratio:>5.2f}x")


if __name__ == "__main__":
    main()
