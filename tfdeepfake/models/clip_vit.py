"""GenD: a CLIP ViT vision tower with an L2-normalised linear head (yermandy/GenD, WACV 2026).

The encoder computes what transformers' ``CLIPVisionModel`` computes, layer for layer:

    patches = Conv2d(patch, stride=patch, no bias)          "patch_embedding"
    tokens  = [class_embedding; patches] + position_embedding
    x = pre_layrnorm(tokens)
    per block: x = x + out_proj(attention(layer_norm1(x)))   q/k/v/out projections,
               x = x + fc2(quick_gelu(fc1(layer_norm2(x))))  softmax(q k^T / sqrt(d_head)) v
    feature = post_layernorm(x[:, 0])                        ``pooler_output``

GenD's "LinearNorm" head L2-normalises the feature and applies Linear(width -> 2), with
P(fake) = softmax(z)[:, 1]. Here the head is one logit ``z_fake - z_real``: its sigmoid is
exactly that softmax, so the model fits every part of tfdeepfake that reads ``"logit"``
(aggregation, training, export); the importer folds the 2-class layer into it.
LayerNorm epsilon is 1e-5 and the activation quick_gelu ``x * sigmoid(1.702 x)``, as CLIP's.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from tfdeepfake.models.base import (
    ImageInputChecks,
    ImageSpec,
    check_model_kwargs,
    sublayers,
)
from tfdeepfake.models.presets import check_input_size

LAYER_NORM_EPS = 1e-5


@keras.saving.register_keras_serializable(package="tfdeepfake")
class ClassTokenAndPositions(layers.Layer):
    """Prepend the learned class token to (N, P, D) patch tokens and add position embeddings."""

    def __init__(self, num_patches: int, width: int, **kwargs):
        super().__init__(**kwargs)
        self.num_patches = int(num_patches)
        self.width = int(width)

    def build(self, input_shape):
        init = keras.initializers.RandomNormal(stddev=self.width**-0.5)
        self.class_embedding = self.add_weight(
            shape=(self.width,), initializer=init, name="class_embedding"
        )
        self.position_embedding = self.add_weight(
            shape=(self.num_patches + 1, self.width),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="position_embedding",
        )

    def call(self, patches):
        cls = ops.broadcast_to(
            ops.cast(self.class_embedding, patches.dtype)[None, None, :],
            (ops.shape(patches)[0], 1, self.width),
        )
        tokens = ops.concatenate([cls, patches], axis=1)
        return tokens + ops.cast(self.position_embedding, patches.dtype)[None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_patches + 1, self.width)

    def get_config(self):
        return {**super().get_config(), "num_patches": self.num_patches, "width": self.width}


@keras.saving.register_keras_serializable(package="tfdeepfake")
class MultiHeadAttentionCore(layers.Layer):
    """softmax(q k^T / sqrt(head_dim)) v over ``heads`` heads; q, k, v are (N, L, D) projections.

    Returns the attended values (N, L, D) and the attention probabilities (N, heads, L, L)
    (the second output is what attention rollout reads; models that do not output it never
    keep it).
    """

    def __init__(self, heads: int, **kwargs):
        super().__init__(**kwargs)
        self.heads = int(heads)

    def _split(self, x):
        n, length = ops.shape(x)[0], ops.shape(x)[1]
        x = ops.reshape(x, (n, length, self.heads, x.shape[-1] // self.heads))
        return ops.transpose(x, (0, 2, 1, 3))

    def call(self, q, k, v):
        width = q.shape[-1]
        scale = (width // self.heads) ** -0.5
        qh, kh, vh = self._split(q) * scale, self._split(k), self._split(v)
        weights = ops.softmax(ops.matmul(qh, ops.transpose(kh, (0, 1, 3, 2))), axis=-1)
        out = ops.transpose(ops.matmul(weights, vh), (0, 2, 1, 3))
        out = ops.reshape(out, (ops.shape(q)[0], ops.shape(q)[1], width))
        return out, weights

    def compute_output_shape(self, q_shape, k_shape=None, v_shape=None):
        return q_shape, (q_shape[0], self.heads, q_shape[1], q_shape[1])

    def get_config(self):
        return {**super().get_config(), "heads": self.heads}


@keras.saving.register_keras_serializable(package="tfdeepfake")
class QuickGELU(layers.Layer):
    """CLIP's activation ``x * sigmoid(1.702 x)``."""

    def call(self, x):
        return x * ops.sigmoid(1.702 * x)


@keras.saving.register_keras_serializable(package="tfdeepfake")
class ClassTokenFeature(layers.Layer):
    """The class token (N, D) of a token sequence (N, L, D)."""

    def call(self, tokens):
        return tokens[:, 0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def _layer_norm(name: str) -> layers.LayerNormalization:
    return layers.LayerNormalization(epsilon=LAYER_NORM_EPS, name=name)


def attention_layer_name(index: int) -> str:
    """The name of block ``index``'s ``MultiHeadAttentionCore`` (attention rollout reads it)."""
    return f"block{index}_attn"


def encoder_block(x, index: int, heads: int, mlp_dim: int):
    """One pre-LN CLIP block; names follow ``encoder.layers.{index}.*`` of the checkpoint."""
    p = f"block{index}_"
    width = x.shape[-1]
    h = _layer_norm(p + "layer_norm1")(x)
    q, k, v = (layers.Dense(width, name=f"{p}{t}_proj")(h) for t in "qkv")
    attended, _ = MultiHeadAttentionCore(heads, name=attention_layer_name(index))(q, k, v)
    attended = layers.Dense(width, name=p + "out_proj")(attended)
    x = layers.Add(name=p + "attn_residual")([x, attended])
    h = _layer_norm(p + "layer_norm2")(x)
    h = layers.Dense(mlp_dim, name=p + "fc1")(h)
    h = layers.Dense(width, name=p + "fc2")(QuickGELU(name=p + "quick_gelu")(h))
    return layers.Add(name=p + "mlp_residual")([x, h])


def clip_vision_encoder(images, patch_size: int, width: int, depth: int, heads: int, mlp_dim: int):
    """The CLIP vision tower on normalised (N, S, S, 3) images -> ``pooler_output`` (N, width)."""
    grid = images.shape[1] // patch_size
    x = layers.Conv2D(
        width, patch_size, strides=patch_size, use_bias=False, name="patch_embedding"
    )(images)
    x = layers.Reshape((grid * grid, width), name="patch_tokens")(x)
    x = ClassTokenAndPositions(grid * grid, width, name="embeddings")(x)
    x = _layer_norm("pre_layrnorm")(x)
    for i in range(depth):
        x = encoder_block(x, i, heads, mlp_dim)
    return _layer_norm("post_layernorm")(ClassTokenFeature(name="class_token")(x))


@keras.saving.register_keras_serializable(package="tfdeepfake")
class GenDDetector(ImageInputChecks, keras.Model):
    """GenD: CLIP ViT vision tower, L2-normalised feature, one fake logit.

    Takes CLIP-normalised faces (N, input_size, input_size, 3) (the preset's
    ``FacePreprocessor`` output) and returns a dict: ``"logit"`` (N, 1) = z_fake - z_real of
    GenD's 2-class head (``sigmoid(logit)`` = its softmax[:, 1] = P(fake)) and ``"features"``
    (N, width) the L2-normalised feature the head reads. Every block's attention
    probabilities are the second output of its ``block{i}_attn`` layer
    (``tfdeepfake.explain.attention_rollout`` reads them).

    Args:
        input_size: the square input side in pixels (a multiple of ``patch_size``).
        patch_size, width, depth, heads, mlp_dim: the ViT (ViT-L/14: 14, 1024, 24, 16, 4096).

    Example:
        >>> model = GenDDetector(32, patch_size=8, width=32, depth=2, heads=4, mlp_dim=64)
        >>> model(keras.random.normal((2, 32, 32, 3)))["logit"].shape
        (2, 1)
    """

    def __init__(
        self,
        input_size: int = 224,
        patch_size: int = 14,
        width: int = 1024,
        depth: int = 24,
        heads: int = 16,
        mlp_dim: int = 4096,
        **kwargs,
    ):
        check_model_kwargs(type(self), kwargs)
        input_size = check_input_size(input_size, minimum=int(patch_size))
        if input_size % int(patch_size):
            raise ValueError(
                f"input_size {input_size} must be a multiple of patch_size {patch_size}; build "
                f"the model with input_size={input_size // int(patch_size) * int(patch_size)}."
            )
        if int(width) % int(heads):
            raise ValueError(f"width {width} must be divisible by heads {heads}.")
        kwargs.setdefault("name", "gend")
        images = keras.Input((input_size, input_size, 3), name="images")
        pooled = clip_vision_encoder(images, patch_size, width, depth, heads, mlp_dim)
        features = layers.UnitNormalization(axis=-1, name="l2_normalize")(pooled)
        outputs = {"logit": layers.Dense(1, name="logit")(features), "features": features}
        super().__init__(inputs=images, outputs=outputs, **kwargs)
        self.input_size = int(input_size)
        self.patch_size = int(patch_size)
        self.width = int(width)
        self.depth = int(depth)
        self.heads = int(heads)
        self.mlp_dim = int(mlp_dim)
        self.image_specs = (ImageSpec("images", self.input_size),)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_size": self.input_size,
            "patch_size": self.patch_size,
            "width": self.width,
            "depth": self.depth,
            "heads": self.heads,
            "mlp_dim": self.mlp_dim,
        }

    @property
    def attention_layers(self) -> list[str]:
        """Names of the blocks' attention layers, first to last (for attention rollout)."""
        return [attention_layer_name(i) for i in range(self.depth)]

    @classmethod
    def from_config(cls, config: dict) -> GenDDetector:
        return cls(**config)


def layer_norm_names(model: keras.Model) -> list[str]:
    """Names of every LayerNormalization layer of a GenD model (GenD trains only these + head)."""
    return [
        layer.name
        for layer in sublayers(model)
        if isinstance(layer, layers.LayerNormalization)
    ]
