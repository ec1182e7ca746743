"""Pipeline suite: augmented crops per CPU-second, tfdeepfake.data vs albumentations + OpenCV.

Both sides start from the same stored crops (JPEG q95: inside TFRecord shards for
tfdeepfake.data, as .jpg files for the reference way), re-crop to the preset's margin, resize
to the input size, run the preset's augmentation recipe ("b4" = icpr2020dfdc's, "b7" = the
DFDC winner's; ``tfdeepfake.data.augment.PRESETS``) and normalise to float32. Per core =
crops per CPU-second of the measuring process with one worker thread on each side.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from tfdeepfake.bench.albumentations_reference import (
    albumentations_recipe,
    crop_geometry,
    normalised,
    recipe_name,
    stored_crop_reader,
    write_stored_crops,
)
from tfdeepfake.bench.timing import child_main, run_child

TARGET = 2.0  # goal: tfdeepfake.data at least 2x albumentations per core


def _setup(preset_name: str) -> tuple:
    from tfdeepfake.bench import pipeline_speed as speed

    preset, fraction, stored = crop_geometry(preset_name)
    return preset, speed, fraction, stored


def _tf_child(spec: dict) -> dict:
    """crops/s of ``frame_dataset(training=True, augment=...)`` (``bench.pipeline_speed``)."""
    preset, speed, _, stored = _setup(spec["model"])
    augment = recipe_name(preset)
    with tempfile.TemporaryDirectory() as folder:
        speed.write_shards(folder, stored, spec["videos"], spec["frames"])
        wall, per_cpu = speed.crops_per_second(
            folder, preset, augment, spec["batch"], spec["batches"], threads=1
        )
    return {"augment": augment, "stored_px": stored, "wall_per_s": wall, "per_cpu_s": per_cpu}


def _albumentations_child(spec: dict) -> dict:
    """crops/s of cv2.imread -> re-crop -> resize -> albumentations recipe -> normalise."""
    import albumentations
    import cv2

    cv2.setNumThreads(1)
    preset, _, fraction, stored = _setup(spec["model"])
    augment = recipe_name(preset)
    recipe = albumentations_recipe(augment)
    read = stored_crop_reader(fraction, stored, preset.input_size)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_stored_crops(folder, stored, spec["videos"], spec["frames"])

        def one(path: str) -> np.ndarray:
            return normalised(recipe(image=read(path))["image"])

        count = spec["batch"] * spec["batches"]
        for k in range(2 * spec["batch"]):  # warm-up, like the TF side's two batches
            one(paths[k % len(paths)])
        start, cpu = time.perf_counter(), time.process_time()
        for k in range(count):
            one(paths[k % len(paths)])
        wall, used = time.perf_counter() - start, time.process_time() - cpu
    return {
        "augment": augment,
        "stored_px": stored,
        "wall_per_s": count / wall,
        "per_cpu_s": count / used,
        "albumentations": albumentations.__version__,
    }


def run(
    models: list[str],
    batch: int,
    batches: int,
    videos: int,
    frames: int,
    timeout: float,
    rounds: int = 1,
) -> list[dict]:
    """Rows: one per preset, both pipelines' crops per CPU-second and the ratio.

    The two sides run in turn, ``rounds`` times each (tfdeepfake, reference, tfdeepfake,
    ...), so that both meet the same load: on a shared VM one pair's ratio moved between 0.7
    and 1.3 for the same code. A row holds each side's median, the median of the per-round
    ratios (``ratio``) and their range (``ratio_min``, ``ratio_max``)."""
    rows = []
    for name in models:
        spec = {
            "model": name,
            "batch": batch,
            "batches": batches,
            "videos": videos,
            "frames": frames,
        }
        row = {
            "suite": "pipeline",
            "model": name,
            "batch": batch,
            "crops": batch * batches,
            "threads": 1,
            "rounds": rounds,
            "target_ratio": TARGET,
        }
        results: dict[str, list[dict]] = {"tf": [], "alb": []}
        for _ in range(rounds):
            results["tf"].append(run_child(__name__, {**spec, "side": "tfdeepfake"}, timeout))
            results["alb"].append(run_child(__name__, {**spec, "side": "albumentations"}, timeout))
        row["augment"] = next((r["augment"] for rs in results.values() for r in rs
                               if "augment" in r), None)  # fmt: skip
        for side, runs in results.items():
            errors = [r["error"] for r in runs if "error" in r]
            if errors:
                row[f"{side}_error"] = errors[0]
                continue
            for key in ("per_cpu_s", "wall_per_s", "peak_rss_mb"):
                row[f"{side}_{key}"] = float(np.median([r[key] for r in runs]))
        if "tf_per_cpu_s" in row and "alb_per_cpu_s" in row:
            ratios = [t["per_cpu_s"] / a["per_cpu_s"] for t, a in zip(*results.values())]
            row["ratio"] = float(np.median(ratios))
            row["ratio_min"], row["ratio_max"] = min(ratios), max(ratios)
        rows.append(row)
    return rows


def main() -> None:
    child_main(
        __doc__.splitlines()[0],
        lambda spec: (
            _tf_child(spec) if spec["side"] == "tfdeepfake" else _albumentations_child(spec)
        ),
    )


if __name__ == "__main__":
    main()
