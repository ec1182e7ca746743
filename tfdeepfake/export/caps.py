"""What one request to an exported SavedModel may hold (TensorFlow-free, so that
``tfdeepfake export --help`` shows the defaults without loading TensorFlow)."""

from __future__ import annotations

import dataclasses

MAX_IMAGES = 256  # images (or frames) in one request
MAX_SIDE = 4096  # pixels per side of an input image
MAX_ENCODED_BYTES = 16 * 2**20  # bytes of one encoded image


@dataclasses.dataclass(frozen=True)
class ServingCaps:
    """What one request to an exported model may hold (``tfdeepfake export --max-batch
    --max-side --max-encoded-bytes``).

    Attributes:
        max_batch: images per request (all frames of all clips for clip models).
        max_side: pixels per image side (``predict_encoded``: read from the header).
        max_encoded_bytes: bytes of one encoded image (``predict_encoded``).
    """

    max_batch: int = MAX_IMAGES
    max_side: int = MAX_SIDE
    max_encoded_bytes: int = MAX_ENCODED_BYTES

    def __post_init__(self):
        for field, flag in (("max_batch", "--max-batch"), ("max_side", "--max-side"),
                            ("max_encoded_bytes", "--max-encoded-bytes")):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{field} ({flag}) must be a whole number >= 1, got {value!r}.")

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)
