"""``LiteRTRunner``: run an exported ``.tflite`` model with LiteRT (no TensorFlow needed).

Example:
    >>> runner = LiteRTRunner("exports/tflite/autoatt_b4_tiny.int8.tflite", num_threads=2)
    >>> out = runner.predict(faces)  # uint8 (N, H, W, 3) RGB face crops
    >>> out["logit"].shape, out["probability"].shape
    ((N,), (N,))
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np


def _resize(image: np.ndarray, size: int, crop_mode: str) -> np.ndarray:
    """Resize one (H, W, 3) uint8 crop to (size, size, 3) as the serving graph does."""
    import cv2

    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    if crop_mode != "pad":
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((size, size, 3), np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top : top + nh, left : left + nw] = resized
    return out


class LiteRTRunner:
    """A converted model run by LiteRT: uint8 faces (N, H, W, 3) or clips (N, T, H, W, 3) -> logits.

    Args:
        path: the ``.tflite`` file written by ``export_tflite`` / ``tfdeepfake export``.
        num_threads: CPU threads for the interpreter (None: LiteRT's default).
        metadata: the contract dict; by default read from the ``.json`` beside ``path``.

    Attributes:
        preset_name, input_size, sequence, frames, quantize, aggregation: from the contract.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        num_threads: int | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"TFLite model {str(path)!r} does not exist: create it with "
                "`tfdeepfake export --model NAME --format tflite --out DIR`."
            )
        if metadata is None:
            sidecar = self.path.with_suffix(".json")
            if not sidecar.is_file():
                raise FileNotFoundError(
                    f"{sidecar} (the contract written beside the .tflite) is missing: copy it "
                    "with the model, or pass metadata={'contract': get_preset(name).contract()}."
                )
            metadata = json.loads(sidecar.read_text())
        self.metadata = metadata
        contract = metadata["contract"]
        self.preset_name: str = metadata.get("preset", contract.get("name", ""))
        self.input_size: int = int(contract["input_size"])
        self.sequence: bool = bool(contract.get("sequence", False))
        self.frames: int = int(contract.get("frames", 1))
        self.crop_mode: str = contract.get("crop_mode", "square")
        self.aggregation: str = contract.get("aggregation", "mean_logit")
        self.quantize: str = metadata.get("quantize", "unknown")
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        self._runner = self.interpreter.get_signature_runner("serving_default")
        signature = [int(d) for d in self.interpreter.get_input_details()[0]["shape_signature"]]
        # The file decides what it takes: the ensemble's contract is a frame model's, but its
        # graph takes clips (N, T, H, W, 3) like the sequence model inside it.
        if len(signature) == 5:
            self.sequence = True
            self.frames = signature[1] if signature[1] > 0 else self.frames
        self._fixed_batch = signature[0] if signature[0] > 0 else None  # clips: one a call

    def _prepare(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        rank = 5 if self.sequence else 4
        expected = ("(N, T, H, W, 3)" if self.sequence else "(N, H, W, 3)") + " uint8 RGB"
        if images.ndim != rank or images.shape[-1] != 3:
            hint = " Add a batch axis: images[None]." if images.ndim == rank - 1 else ""
            raise ValueError(
                f"{self.path.name}: images must be {expected}; got shape {images.shape}.{hint}"
            )
        if images.dtype != np.uint8:
            raise ValueError(
                f"{self.path.name}: images must be uint8 RGB in [0, 255]; got {images.dtype}. "
                "Convert with np.clip(x, 0, 255).astype(np.uint8) (not normalised floats)."
            )
        if self.sequence and images.shape[1] != self.frames:
            raise ValueError(
                f"{self.path.name}: clips must have {self.frames} frames; got {images.shape[1]}."
            )
        flat = images.reshape((-1, *images.shape[-3:]))
        flat = np.stack([_resize(im, self.input_size, self.crop_mode) for im in flat])
        return flat.reshape((*images.shape[:-3], self.input_size, self.input_size, 3))

    def predict(self, images: np.ndarray, batch_size: int = 8) -> dict[str, np.ndarray]:
        """Logits (N,), probabilities (N,) and attention maps (N, h, w) where the model has one.

        Crops of another size are resized (bilinear; ``crop_mode="pad"`` keeps the aspect).
        """
        pixels = self._prepare(images)
        batch_size = self._fixed_batch or batch_size
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(pixels), batch_size):
            out = self._runner(pixels=pixels[start : start + batch_size])
            for key, value in out.items():
                parts.setdefault(key, []).append(np.asarray(value, np.float32))
        if not parts:
            return {"logit": np.zeros((0,), np.float32), "probability": np.zeros((0,), np.float32)}
        result = {k: np.concatenate(v) for k, v in parts.items()}
        result["logit"] = result["logit"].reshape(-1)
        result["probability"] = result["probability"].reshape(-1)
        if "attention" in result:
            result["attention"] = result["attention"][..., 0]
        return result
