"""Named presets: a model family, its constructor arguments and its preprocessing contract.

A preset is the single source of truth that training, inference and export read: the
input size, how many frames a video contributes, the normalisation, how faces are cropped
and how frame scores become a video score. Labels are always 1 = fake.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP's image statistics
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# Family name -> "module:Class" of the Keras model that implements it (imported lazily).
FAMILIES = {
    "autoatt_b4": "tfdeepfake.models.efficientnet_autoatt:EfficientNetAutoAtt",
    "b7_ssim": "tfdeepfake.models.efficientnet_ssim:EfficientNetSSIM",
    "resnet_lstm": "tfdeepfake.models.resnet_lstm:ResNetLSTM",
    "gend": "tfdeepfake.models.clip_vit:GenDDetector",
    "ensemble": "tfdeepfake.models.ensemble:DeepfakeEnsemble",
}


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named model configuration plus the contract its inputs and outputs follow.

    Attributes:
        name: registry name, e.g. ``"autoatt_b4"``.
        family: key of ``FAMILIES``: which Keras model class builds it.
        description: one line for ``tfdeepfake models``.
        config: constructor keyword arguments of the model class.
        input_size: side in pixels of the square face crop the model takes.
        frames: frames sampled per video (for sequence models: the clip length T).
        sequence: True when the model takes clips (N, T, H, W, 3) instead of faces.
        mean, std: per-channel normalisation applied to RGB in [0, 1].
        face_margin: fraction of the face box added on each side before cropping.
        crop_mode: ``"square"`` (square box of side max(w, h), then resize),
            ``"pad"`` (isotropic resize of the box, then zero-pad to square) or
            ``"aligned"`` (5-landmark similarity alignment, ``tfdeepfake.data.align``; the
            face_margin is then the context the stored crop must hold around the box) or
            ``"stretch"`` (the box with face_margin, resized to a square whatever its aspect:
            the ResNeXt-LSTM app's crop, for its imported weights; inference only).
        aggregation: how frame logits become a video score (see
            ``tfdeepfake.scoring.aggregation``).
        label_convention: always ``"1=fake"``; stored so saved runs say it.
    """

    name: str
    family: str
    description: str
    config: dict[str, Any]
    input_size: int
    frames: int = 32
    sequence: bool = False
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    face_margin: float = 0.2
    crop_mode: str = "square"
    aggregation: str = "mean_logit"
    label_convention: str = "1=fake"

    @property
    def model_class(self) -> type:
        """The Keras model class of this preset's family."""
        module_name, class_name = FAMILIES[self.family].split(":")
        return getattr(importlib.import_module(module_name), class_name)

    def contract(self) -> dict[str, Any]:
        """The preprocessing contract as a JSON-serialisable dict."""
        return {
            k: v for k, v in dataclasses.asdict(self).items() if k not in ("config", "description")
        }

    def with_overrides(self, **overrides: Any) -> Preset:
        """A copy where keys of the contract replace fields and other keys update ``config``."""
        fields = {f.name for f in dataclasses.fields(self)} - {"name", "family", "config"}
        contract = {k: v for k, v in overrides.items() if k in fields}
        if "input_size" in contract:
            contract["input_size"] = check_input_size(contract["input_size"])
        config = {**self.config, **{k: v for k, v in overrides.items() if k not in fields}}
        if "input_size" in contract and "input_size" in self.config:
            config["input_size"] = contract["input_size"]
        return dataclasses.replace(self, config=config, **contract)


def check_input_size(input_size: Any, minimum: int = 1) -> int:
    """``input_size`` as an int, or a ``ValueError`` naming it when it is not a whole number
    of pixels of at least ``minimum``."""
    try:
        size = int(input_size)
        whole = size == float(input_size)
    except (TypeError, ValueError):
        whole = False
    if not whole or size < minimum:
        raise ValueError(
            f"input_size must be a whole number of pixels, at least {minimum}; got "
            f"{input_size!r}. Pass e.g. create_model(name, input_size=224)."
        )
    return size


_PRESETS: dict[str, Preset] = {}


def register_preset(preset: Preset) -> Preset:
    """Add a preset to the registry (names are unique)."""
    if preset.name in _PRESETS:
        raise ValueError(f"Preset {preset.name!r} is already registered.")
    if preset.family not in FAMILIES:
        raise ValueError(f"Unknown family {preset.family!r}; expected one of {sorted(FAMILIES)}.")
    _PRESETS[preset.name] = preset
    return preset


def get_preset(name: str | Preset) -> Preset:
    """Look a preset up by name (a ``Preset`` is returned as it is, so functions taking a
    preset take its name too); the error lists the known names."""
    if isinstance(name, Preset):
        return name
    if not isinstance(name, str):
        raise TypeError(f"Expected a preset name or a Preset, got {type(name).__name__} "
                        f"{name!r}. Known models: {', '.join(sorted(_PRESETS))}.")
    try:
        return _PRESETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown model {name!r}. Known models: {', '.join(sorted(_PRESETS))}. "
            "Run `tfdeepfake models` to see them with their input contracts."
        ) from None


def takes_raw_pixels(preset: Preset) -> bool:
    """The ensemble preprocesses inside (one preprocessor per member): it takes 0..255 pixels."""
    return preset.family == "ensemble"


def list_models() -> list[str]:
    """Names of all registered presets, sorted."""
    return sorted(_PRESETS)
