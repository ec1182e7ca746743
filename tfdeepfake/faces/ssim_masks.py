"""SSIM masks: where a fake face differs from its original, per frame.

For a fake whose original is known, the original is decoded at the fake track's frame
indices and cropped with the *same* boxes, so the two crops show the same region; the mask
is ``255 * (1 - SSIM)`` (clipped to [0, 255]) of the two crops, a grey map that is bright
where the face was manipulated.
"""

from __future__ import annotations

import os

import numpy as np
from skimage.metrics import structural_similarity

from tfdeepfake.faces.crop import crop_face
from tfdeepfake.faces.deadline import Deadline
from tfdeepfake.faces.errors import ExtractionError
from tfdeepfake.faces.extraction import FaceTrack, VideoFaces
from tfdeepfake.faces.video import read_frames_at


def ssim_mask(fake: np.ndarray, original: np.ndarray) -> np.ndarray:
    """(S, S) uint8 ``255 * (1 - SSIM)`` between two same-size RGB uint8 crops.

    SSIM is computed per channel with an 11-pixel Gaussian window (sigma 1.5) on grey-level
    range 255 and averaged over the channels.
    """
    if fake.shape != original.shape:
        raise ValueError(f"crops differ in shape: {fake.shape} vs {original.shape}.")
    _, full = structural_similarity(
        fake,
        original,
        channel_axis=-1,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        full=True,
    )
    dissimilarity = 1.0 - full.mean(axis=-1)
    return np.clip(np.rint(255.0 * dissimilarity), 0, 255).astype(np.uint8)


def track_masks(
    faces: VideoFaces,
    original_path: str | os.PathLike,
    max_side: int | None = 1920,
    deadline: Deadline | None = None,
) -> list[np.ndarray]:
    """One (T, S, S) uint8 mask stack per track of ``faces`` against the original video.

    Raises ``ExtractionError`` (``original_failed``) when the original cannot be decoded at
    the fake's frames (or not before ``deadline``, the fake's clock) or its frames differ
    in size.
    """
    wanted = sorted({int(i) for t in faces.tracks for i in t.frame_index})
    try:
        original = read_frames_at(original_path, wanted, max_side=max_side, deadline=deadline)
    except ExtractionError as err:
        raise ExtractionError(
            "original_failed", original_path, f"original of {faces.path}: {err.detail}"
        ) from err
    if tuple(original.frame_size) != tuple(faces.frame_size):
        raise ExtractionError(
            "original_failed",
            original_path,
            f"frame size {original.frame_size} differs from the fake's {faces.frame_size}",
        )
    lost = sorted(set(wanted) - set(original.indices.tolist()))
    if lost:
        raise ExtractionError(
            "original_failed",
            original_path,
            f"frames {lost[:5]} of the fake {faces.path} are past the original's end",
        )
    position = {int(i): p for p, i in enumerate(original.indices)}
    return [
        _masks_for(track, faces, original.frames, position, original.scale)
        for track in faces.tracks
    ]


def _masks_for(track: FaceTrack, faces: VideoFaces, frames, position, scale) -> np.ndarray:
    masks = []
    for index, box, fake_crop in zip(track.frame_index, track.boxes, track.crops):
        frame = frames[position[int(index)]]
        original_crop, _ = crop_face(frame, box * scale, faces.margin, faces.crop_size, faces.mode)
        masks.append(ssim_mask(fake_crop, original_crop))
    return np.stack(masks)
