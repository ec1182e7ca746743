"""The reference way of the pipeline suite: the b4/b7 recipes written with albumentations
and OpenCV, and their cost stage by stage (used by ``bench.pipeline`` and the profile of
``bench.pipeline_speed``)."""

from __future__ import annotations

import math
import tempfile
import time

import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def albumentations_recipe(name: str):
    """The ``tfdeepfake.data.augment.PRESETS[name]`` recipe written with albumentations 2.
    For b4 the parameters are ours where albumentations' defaults differ: Downscale area down
    and bilinear up (its default is nearest both ways), GaussNoise variance 10-50 of 255^2
    (its default standard deviation, 0.2-0.44 of the range, is 7-35 times ours)."""
    import albumentations as A
    import cv2

    if name == "b4":
        resample = {"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR}
        noise_std = (math.sqrt(10.0) / 255.0, math.sqrt(50.0) / 255.0)
        return A.Compose(
            [
                A.Downscale(scale_range=(0.5, 0.5), interpolation_pair=resample, p=0.5),
                A.HorizontalFlip(p=0.5),
                A.OneOf(
                    [A.RandomBrightnessContrast(0.2, 0.2), A.HueSaturationValue(10, 30, 20)], p=0.5
                ),
                A.OneOf([A.ISONoise(), A.GaussNoise(std_range=noise_std)], p=0.5),
                A.Downscale(scale_range=(0.7, 0.9), interpolation_pair=resample, p=0.5),
                A.ImageCompression(quality_range=(50, 99), p=0.5),
            ]
        )
    return A.Compose(
        [
            A.CoarseDropout(p=0.7),
            A.ImageCompression(quality_range=(60, 100), p=0.5),
            A.GaussNoise(p=0.1),
            A.GaussianBlur(blur_limit=(3, 5), p=0.05),
            A.HorizontalFlip(p=0.5),
            A.OneOf([A.RandomBrightnessContrast(), A.FancyPCA(), A.HueSaturationValue()], p=0.7),
            A.ToGray(p=0.2),
            A.Affine(translate_percent=0.1, scale=(0.8, 1.2), rotate=(-10, 10), p=0.5),
        ]
    )


def reference_costs(model: str, crops: int = 300) -> list[tuple[str, float, float]]:
    """``(stage, probability, CPU ms per crop)`` of the reference way for preset ``model``,
    one OpenCV thread: reading a stored .jpg, re-cropping, resizing and normalising (no
    recipe), then each transform of its ``albumentations_recipe`` alone on an input-size uint8
    crop (a ``OneOf`` child's probability is its share of the ``OneOf``'s)."""
    import cv2

    cv2.setNumThreads(1)
    preset, fraction, stored = crop_geometry(model)
    size = preset.input_size
    rng = np.random.default_rng(0)
    image = (rng.random((size, size, 3)) * 255).astype(np.uint8)

    def cpu_ms(work) -> float:
        for _ in range(5):
            work()
        start = time.process_time()
        for _ in range(crops):
            work()
        return 1000 * (time.process_time() - start) / crops

    with tempfile.TemporaryDirectory() as folder:
        (path,) = write_stored_crops(folder, stored, videos=1, frames=1)
        read = stored_crop_reader(fraction, stored, size)
        rows = [("read, crop, resize, normalise", 1.0, cpu_ms(lambda: normalised(read(path))))]
    for step in albumentations_recipe(recipe_name(preset)).transforms:
        children = getattr(step, "transforms", None) or [step]
        share = step.p / len(children)
        for transform in children:
            name = type(transform).__name__
            rows.append((name, share, cpu_ms(lambda t=transform: t(image=image, force_apply=True))))
    return rows


def write_stored_crops(folder: str, stored: int, videos: int, frames: int) -> list[str]:
    """The synthetic tracks' crops (``stored`` px) as loose .jpg files (q95, as the shards
    store them), one per frame: what the reference way reads."""
    import cv2

    from tfrecords_tools.synthetic import synthetic_track

    paths = []
    for i in range(videos):
        track = synthetic_track(f"v{i:04d}", i % 2, frames=frames, size=stored, seed=i)
        for j, crop in enumerate(track.crops):
            path = f"{folder}/{i:04d}_{j:03d}.jpg"
            bgr = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)
            cv2.imwrite(path, bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
            paths.append(path)
    return paths


def stored_crop_reader(fraction: float, stored: int, size: int):
    """``read(path)``: the reference's read of a stored crop: ``cv2.imread``, RGB, the centre
    window keeping ``fraction`` of the side, INTER_AREA resize to ``size`` (uint8)."""
    import cv2

    side = int(round(stored * fraction))
    lo = (stored - side) // 2

    def read(path: str) -> np.ndarray:
        image = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)[lo : lo + side, lo : lo + side]
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)

    return read


def normalised(image: np.ndarray) -> np.ndarray:
    """uint8 RGB -> ``(x / 255 - mean) / std`` float32 (ImageNet statistics)."""
    return (image.astype(np.float32) / 255.0 - MEAN) / STD


def recipe_name(preset) -> str:
    """The preset family's augmentation recipe (``data.augment.resolve_augment``)."""
    from tfdeepfake.data.augment import resolve_augment

    return resolve_augment(True, preset).name


def crop_geometry(preset_name: str) -> tuple:
    """(preset, re-crop fraction of the stored crop, stored crop side) for ``preset_name``."""
    from tfdeepfake.faces.crop import STORED_MARGIN, stored_crop_size
    from tfdeepfake.models import get_preset
    from tfrecords_tools.schema import recrop_fraction

    preset = get_preset(preset_name)
    return preset, recrop_fraction(STORED_MARGIN, preset.face_margin), stored_crop_size(preset)
