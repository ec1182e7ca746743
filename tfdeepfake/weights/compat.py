"""Run an imported ResNeXt-LSTM checkpoint the way the published model computes.

The reference's LSTM is not ``batch_first`` and its app calls it with a batch of one clip,
so every frame is a separate one-step sequence from a zero state. Feeding each frame as its
own clip of length 1 reproduces that exactly with the standard ``ResNetLSTM``.
"""

from __future__ import annotations

from typing import Any

from keras import ops


def compat_frame_logits(model: Any, clips: Any) -> Any:
    """Per-frame fake logits (N, T) of normalised clips (N, T, H, W, 3), one LSTM step each.

    The reference app's verdict for a clip is ``sigmoid(logits[:, -1])`` (the last frame);
    its training notebook's is the sigmoid of their mean.

    Example:
        >>> frames = preprocessor(faces)[None]  # (1, T, 112, 112, 3)
        >>> p_fake = keras.ops.sigmoid(compat_frame_logits(model, frames)[:, -1])
    """
    clips = ops.convert_to_tensor(clips)
    if len(clips.shape) != 5:
        raise ValueError(
            f"compat_frame_logits takes clips (N, T, H, W, 3); got shape {tuple(clips.shape)}."
        )
    n, t = ops.shape(clips)[0], ops.shape(clips)[1]
    frames = ops.reshape(clips, (-1, 1, *clips.shape[2:]))
    logits = model(frames, training=False)["frame_logits"]
    return ops.reshape(logits, (n, t))
