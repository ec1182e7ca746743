"""GenD's checkpoint key layout (``model.safetensors`` of yermandy/GenD_CLIP_L_14) mapped to
the Keras ``GenDDetector`` layer names.

GenD's ``feature_extractor`` holds transformers' CLIP ``vision_model`` and (unused) its
``visual_projection``; its head is ``model.linear``. Keys of the vision tower::

    feature_extractor.vision_model.embeddings.{class_embedding, patch_embedding.weight,
        position_embedding.weight}
    feature_extractor.vision_model.pre_layrnorm.{weight,bias}
    feature_extractor.vision_model.encoder.layers.{i}.{layer_norm1, self_attn.{q,k,v,out}_proj,
        layer_norm2, mlp.fc1, mlp.fc2}.{weight,bias}
    feature_extractor.vision_model.post_layernorm.{weight,bias}
"""

from __future__ import annotations

import re

import keras

from tfdeepfake.models.base import sublayers
from tfdeepfake.weights.mapping import LayerSource, MappingError

VISION = "feature_extractor.vision_model"
FAKE_CLASS = 1  # GenD: P(fake) = softmax(logits)[:, 1]
_BLOCK = re.compile(r"^block(\d+)_layer_norm1$")
_BLOCK_PARTS = (
    ("layer_norm1", "layer_norm1", "layer_norm"),
    ("q_proj", "self_attn.q_proj", "dense"),
    ("k_proj", "self_attn.k_proj", "dense"),
    ("v_proj", "self_attn.v_proj", "dense"),
    ("out_proj", "self_attn.out_proj", "dense"),
    ("layer_norm2", "layer_norm2", "layer_norm"),
    ("fc1", "mlp.fc1", "dense"),
    ("fc2", "mlp.fc2", "dense"),
)


def clip_vision_sources(model: keras.Model, root: str = VISION) -> list[LayerSource]:
    """Mapping of a transformers CLIP vision tower under ``root`` onto the Keras encoder."""
    blocks = sorted(
        int(m.group(1))
        for layer in sublayers(model)
        if (m := _BLOCK.match(layer.name))
    )
    if not blocks:
        raise MappingError(
            f"Model {model.name!r} has no layers named 'block0_layer_norm1'; it is not a "
            "GenDDetector (CLIP ViT)."
        )
    sources = [
        LayerSource("patch_embedding", f"{root}.embeddings.patch_embedding", "conv",
                    options={"bias": False}),
        LayerSource("embeddings", f"{root}.embeddings", "clip_embeddings"),
        LayerSource("pre_layrnorm", f"{root}.pre_layrnorm", "layer_norm"),
    ]
    for i in blocks:
        sources += [
            LayerSource(f"block{i}_{keras_name}", f"{root}.encoder.layers.{i}.{key}", kind)
            for keras_name, key, kind in _BLOCK_PARTS
        ]
    sources.append(LayerSource("post_layernorm", f"{root}.post_layernorm", "layer_norm"))
    return sources


def gend_sources(model: keras.Model) -> list[LayerSource]:
    """GenD: the CLIP tower plus the 2-class ``model.linear`` head folded into one logit."""
    return [
        *clip_vision_sources(model),
        LayerSource("logit", "model.linear", "dense_2class", options={"positive": FAKE_CLASS}),
    ]
