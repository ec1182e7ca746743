"""The published checkpoints tfdeepfake imports: their key layouts, presets and licences.

Each ``Source`` says which preset the checkpoint fills, which preset overrides reproduce the
reference's computation, how its keys map onto the Keras layers, and which checkpoint keys
the reference model itself never computes with (ignored with a stated reason).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import keras

from tfdeepfake.models.presets import IMAGENET_MEAN, IMAGENET_STD
from tfdeepfake.weights.clip_keys import gend_sources
from tfdeepfake.weights.efficientnet_keys import (
    efficientnet_pytorch_sources,
    timm_efficientnet_sources,
)
from tfdeepfake.weights.mapping import LayerSource
from tfdeepfake.weights.resnext_keys import resnext_lstm_sources

ICPR_REPO = "polimi-ispl/icpr2020dfdc"
ICPR_LICENCE = "GPL-3.0 (the repository's LICENSE file)"
WINNER_REPO = "selimsef/dfdc_deepfake_challenge"
WINNER_LICENCE = "MIT (the repository's LICENSE, (c) 2020 Selim Seferbekov)"
LSTM_REPO = "abhijitjadhav1998/Deepfake_detection_using_deep_learning"
GEND_REPO = "yermandy/GenD"
GEND_LICENCE = (
    "MIT (the model card yermandy/GenD_CLIP_L_14 and the GenD repository; the CLIP ViT-L/14 "
    "backbone is OpenAI's, MIT)"
)
LSTM_LICENCE = "GPL-3.0 (the repository's LICENSE file)"

# icpr2020dfdc trained its published weights (April-May 2020) with efficientnet-pytorch 0.6.3,
# whose static "same" padding is computed for the global 380 px at every conv (at 224 px: TF
# "same"). padding="pytorch_0.7" is the 0.7.x network its notebooks compute on a new install.
ICPR_OVERRIDES = {"padding": "pytorch_0.6", "reference_size": 380}
ST_FEATURE_HEAD = {
    r"^feat_ext\.classifier\.": "the feature extractor's own Linear head; SiameseTuning.forward "
    "uses feat_ext.features() and its classifier.0/.1 head, never this layer"
}


@dataclasses.dataclass(frozen=True)
class Source:
    """One published checkpoint family.

    Attributes:
        name: the SOURCE argument of ``tfdeepfake weights import``.
        preset: the registry preset the weights fill.
        overrides: preset overrides that make the Keras model compute what the reference does.
        layout: Keras model -> list of ``LayerSource`` (the key mapping).
        ignored: regex -> reason for checkpoint keys the reference never computes with.
        reference: the repository the checkpoints come from.
        licence: the licence terms that apply to the weights.
        description: one line for ``tfdeepfake weights sources``.
        notes: what a user must know (compatibility modes), written into ``source.json``.
        compatibility: machine-readable mode for runners (``"independent_frames"``: score
            with ``tfdeepfake.weights.compat.compat_frame_logits``), written into
            ``source.json``; empty when the model runs as any model of its preset.
    """

    name: str
    preset: str
    overrides: Mapping[str, Any]
    layout: Callable[[keras.Model], list[LayerSource]]
    ignored: Mapping[str, str]
    reference: str
    licence: str
    description: str
    notes: str = ""
    compatibility: str = ""


def _icpr_layout(root: str, attention: bool, siamese: bool):
    def layout(model: keras.Model) -> list[LayerSource]:
        sources = efficientnet_pytorch_sources(model, root)
        if attention:
            sources.append(
                LayerSource("attention_conv", f"{root}.attconv", "conv", options={"bias": True})
            )
        if siamese:
            sources += [
                LayerSource("head_bn", "classifier.0", "bn", eps=1e-5),  # nn.BatchNorm1d default
                LayerSource("logit", "classifier.1", "dense"),
            ]
        else:
            sources.append(LayerSource("logit", "classifier", "dense"))
        return sources

    return layout


def _winner_layout(model: keras.Model) -> list[LayerSource]:
    return [*timm_efficientnet_sources(model, "encoder"), LayerSource("logit", "fc", "dense")]


_SOURCES = [
    Source(
        "EfficientNetB4",
        "efficientnet_b4",
        ICPR_OVERRIDES,
        _icpr_layout("efficientnet", attention=False, siamese=False),
        {},
        ICPR_REPO,
        ICPR_LICENCE,
        "icpr2020dfdc EfficientNetB4 (DFDC or FFPP checkpoint)",
    ),
    Source(
        "EfficientNetB4ST",
        "efficientnet_b4_st",
        ICPR_OVERRIDES,
        _icpr_layout("feat_ext.efficientnet", attention=False, siamese=True),
        ST_FEATURE_HEAD,
        ICPR_REPO,
        ICPR_LICENCE,
        "icpr2020dfdc EfficientNetB4ST: triplet backbone, BN + Linear",
    ),
    Source(
        "EfficientNetAutoAttB4",
        "autoatt_b4",
        ICPR_OVERRIDES,
        _icpr_layout("efficientnet", attention=True, siamese=False),
        {},
        ICPR_REPO,
        ICPR_LICENCE,
        "icpr2020dfdc EfficientNetAutoAttB4 (attention after block3d)",
    ),
    Source(
        "EfficientNetAutoAttB4ST",
        "autoatt_b4_st",
        ICPR_OVERRIDES,
        _icpr_layout("feat_ext.efficientnet", attention=True, siamese=True),
        ST_FEATURE_HEAD,
        ICPR_REPO,
        ICPR_LICENCE,
        "icpr2020dfdc EfficientNetAutoAttB4ST",
    ),
    Source(
        "dfdc-winner-b7",
        "efficientnet_b7",
        {},
        _winner_layout,
        {
            r"^encoder\.classifier\.": "timm's ImageNet classifier inside the encoder; "
            "DeepFakeClassifier.forward uses encoder.forward_features and its own fc"
        },
        WINNER_REPO,
        WINNER_LICENCE,
        "DFDC winner DeepFakeClassifier(tf_efficientnet_b7_ns), one seed per checkpoint",
        notes="The seven published seeds are separate models: import each into its own folder "
        "and average their video probabilities (the winner's ensemble); averaging the weights "
        "of independently trained networks is meaningless and is refused.",
    ),
    Source(
        "resnext-lstm",
        "resnet_lstm",
        # BGR frames (reversed statistics); face_recognition's tight box, no margin, stretched.
        {"mean": tuple(reversed(IMAGENET_MEAN)), "std": tuple(reversed(IMAGENET_STD)),
         "crop_mode": "stretch", "face_margin": 0.0},
        resnext_lstm_sources,
        {},
        LSTM_REPO,
        LSTM_LICENCE,
        "ResNeXt50-LSTM (compatibility mode: one LSTM step per frame, BGR folded into conv1)",
        notes="Compatibility mode 'independent_frames'. The published model's LSTM is not "
        "batch_first, so at its batch size of 1 every frame is a separate one-step sequence "
        "from a zero state, and the app's verdict is the last frame's output. Feed clips of "
        "ONE frame each, (frames, 1, H, W, 3) (tfdeepfake.weights.compat_frame_logits does "
        "it): frame_logits are then exactly the reference's per-frame logits, the reference "
        "app's verdict is the last one and the training notebook's is their mean. Running "
        "the LSTM over time with these weights computes something the authors never trained. "
        "The LSTM has no bias (the Keras bias is set to zero); the BGR frames the reference "
        "was trained on are reproduced by reversing the preset mean/std and conv1's input "
        "channels; the 2-class head (index 0 = fake) becomes one logit z_fake - z_real.",
        compatibility="independent_frames",
    ),
    Source(
        "gend",
        "gend_clip_l14",
        {},
        gend_sources,
        {
            r"^feature_extractor\.visual_projection\.": "CLIP's image-text projection; GenD's "
            "CLIPEncoder.forward returns vision_model(...).pooler_output and never applies it",
            r"\.embeddings\.position_ids$": "the position index buffer (0..L-1) older "
            "transformers versions saved; not a weight",
        },
        GEND_REPO,
        GEND_LICENCE,
        "GenD (WACV 2026): CLIP ViT-L/14, LayerNorm-tuned, L2-normalised linear head "
        "(model.safetensors)",
        notes="GenD's head is Linear(1024 -> 2) on the L2-normalised pooler_output with "
        "P(fake) = softmax[:, 1]; it is imported as one logit z_fake - z_real, whose sigmoid is "
        "exactly that probability. Faces: 5-point aligned crops at scale 1.3 (crop_mode "
        "'aligned'), CLIP mean/std; the video score is the mean frame probability.",
    ),
]
SOURCES: dict[str, Source] = {s.name: s for s in _SOURCES}


def get_source(name: str) -> Source:
    """Look a source up by name; the error lists the known names."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(
            f"Unknown weights source {name!r}. Known sources: {', '.join(SOURCES)}. "
            "Run `tfdeepfake weights sources` to see what each one is."
        ) from None
