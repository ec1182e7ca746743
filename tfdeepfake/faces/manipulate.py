"""Make manipulated (fake) videos offline with a classical face swap, for tests and demos.

No deepfake data ships anywhere, so the project makes its own: a donor face (a public-domain
image such as ``skimage.data.astronaut()`` or matplotlib's ``grace_hopper.jpg``, or a frame
of another video) is aligned onto every face of a real video by a similarity transform
fitted to the 5 MTCNN landmarks, colour-matched (per-channel mean/std in Lab inside the
face), and blended in with a feathered elliptical mask or ``cv2.seamlessClone``. The fake
keeps the original's frame count, size and fps, so fake frame ``i`` pairs with original
frame ``i`` (which is what the SSIM masks need).

Example::

    pair = make_fake_video("real.mp4", "astronaut", "fakes/real__astronaut.mp4")
    pair.fake_path, pair.original_path
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from tfdeepfake.faces.errors import ExtractionError
from tfdeepfake.faces.finder import FaceFinder, MTCNNFaceFinder

DONORS = ("astronaut", "grace_hopper")
BLENDS = ("feather", "seamless")


@dataclasses.dataclass
class Donor:
    """A donor face: an RGB image, its face box and 5 landmarks (image pixels)."""

    image: np.ndarray
    box: np.ndarray
    landmarks: np.ndarray
    name: str


@dataclasses.dataclass
class FakePair:
    """A fake video and the real video it was made from.

    Attributes:
        fake_path, original_path: the two files.
        fake_id, original_id: their video ids (file stems).
        frames: frames written; swapped: frames where a face was replaced.
    """

    fake_path: Path
    original_path: Path
    fake_id: str
    original_id: str
    frames: int
    swapped: int


def load_donor(source, finder: FaceFinder | None = None) -> Donor:
    """A donor from ``"astronaut"``, ``"grace_hopper"``, an image or video path, or an array.

    The largest face found is used; raises ``ExtractionError`` (``no_face``) if none.
    """
    name, image = _donor_image(source)
    faces = (finder or MTCNNFaceFinder()).detect(image[None])[0]
    if not len(faces):
        raise ExtractionError("no_face", name, "no face found in the donor image")
    areas = (faces.boxes[:, 2] - faces.boxes[:, 0]) * (faces.boxes[:, 3] - faces.boxes[:, 1])
    best = int(np.argmax(areas))
    return Donor(image, faces.boxes[best], faces.landmarks[best], name)


def _donor_image(source) -> tuple[str, np.ndarray]:
    if isinstance(source, np.ndarray):
        return "array", np.ascontiguousarray(source[..., :3], dtype=np.uint8)
    if source == "astronaut":
        from skimage import data

        return "astronaut", data.astronaut()
    if source == "grace_hopper":
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as handle:
            raw = np.frombuffer(handle.read(), np.uint8)
        return "grace_hopper", cv2.cvtColor(cv2.imdecode(raw, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    path = Path(source)
    if not path.exists():
        raise ExtractionError("missing", path, f"donor not found; use a path or one of {DONORS}")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:  # not an image: take the middle frame of a video
        from tfdeepfake.faces.video import read_video

        video = read_video(path, frames=3, min_frames=1)
        return path.stem, video.frames[len(video.frames) // 2]
    return path.stem, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def swap_face(
    frame: np.ndarray,
    landmarks: np.ndarray,
    donor: Donor,
    blend: str = "feather",
    resolution: int | None = None,
) -> np.ndarray:
    """Paste the donor's face onto the face with ``landmarks`` (5, 2) in an RGB frame.

    ``resolution``: render the pasted face at this many pixels across and scale it up, as
    face-swap networks do (they generate 64-256 px faces); None keeps the donor's detail.
    """
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {BLENDS}, got {blend!r}.")
    if resolution is not None and resolution < 4:
        raise ValueError(f"resolution must be at least 4 pixels, got {resolution}.")
    matrix, _ = cv2.estimateAffinePartial2D(
        donor.landmarks.astype(np.float32), np.asarray(landmarks, np.float32), method=cv2.LMEDS
    )
    if matrix is None:
        return frame
    height, width = frame.shape[:2]
    warped = cv2.warpAffine(donor.image, matrix, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(_face_mask(donor), matrix, (width, height), flags=cv2.INTER_LINEAR)
    inside = mask > 127
    if inside.sum() < 16:
        return frame
    warped = _match_colours(warped, frame, inside)
    if resolution is not None:
        warped = _render_at(warped, inside, resolution)
    if blend == "seamless":
        ys, xs = np.nonzero(inside)
        centre = (int((xs.min() + xs.max()) / 2), int((ys.min() + ys.max()) / 2))
        binary = np.where(inside, 255, 0).astype(np.uint8)
        out = cv2.seamlessClone(
            cv2.cvtColor(warped, cv2.COLOR_RGB2BGR),
            cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
            binary,
            centre,
            cv2.NORMAL_CLONE,
        )
        return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
    side = max(3, int(np.sqrt(inside.sum()) / 6) | 1)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (side, side), 0)[..., None]
    return np.clip(alpha * warped + (1 - alpha) * frame, 0, 255).astype(np.uint8)


def _render_at(image: np.ndarray, inside: np.ndarray, resolution: int) -> np.ndarray:
    """``image`` with the face region down-sampled to ``resolution`` px across and back."""
    ys, xs = np.nonzero(inside)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    k = resolution / max(y1 - y0, x1 - x0)
    if k >= 1:
        return image
    region = image[y0:y1, x0:x1]
    small = cv2.resize(region, (max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k))),
                       interpolation=cv2.INTER_AREA)
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return out


def _face_mask(donor: Donor) -> np.ndarray:
    """An ellipse over the donor's inner face (brows to chin), 255 inside."""
    x0, y0, x1, y1 = donor.box
    mask = np.zeros(donor.image.shape[:2], np.uint8)
    centre = (int((x0 + x1) / 2), int(y0 + 0.58 * (y1 - y0)))
    axes = (int(0.42 * (x1 - x0)), int(0.43 * (y1 - y0)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    return mask


def _match_colours(source: np.ndarray, target: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Shift ``source``'s Lab mean/std inside the mask to ``target``'s (Reinhard transfer)."""
    src = cv2.cvtColor(source, cv2.COLOR_RGB2LAB).astype(np.float32)
    dst = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    s_mean, s_std = src[inside].mean(0), src[inside].std(0) + 1e-3
    d_mean, d_std = dst[inside].mean(0), dst[inside].std(0) + 1e-3
    out = (src - s_mean) * (d_std / s_std) + d_mean
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def make_fake_video(
    real_path: str | os.PathLike,
    donor,
    out_path: str | os.PathLike,
    blend: str = "feather",
    max_frames: int | None = None,
    detect_every: int = 1,
    finder: FaceFinder | None = None,
    resolution: int | None = None,
) -> FakePair:
    """Write a fake of ``real_path`` with the donor's face swapped in (mp4v).

    Args:
        real_path: the real video.
        donor: a ``Donor`` or what ``load_donor`` accepts.
        out_path: the fake video to write (``.mp4``; the folder is created).
        blend: ``"feather"`` (fast alpha blend) or ``"seamless"`` (``cv2.seamlessClone``).
        max_frames: write only the first N frames (keeps tests fast); None = all.
        detect_every: detect faces on every k-th frame and interpolate the landmarks between.
        finder: the face finder (default ``MTCNNFaceFinder()``).
        resolution: generator resolution of the pasted face (see ``swap_face``).

    Every face of each frame is replaced; frames without a face are copied unchanged.
    Raises ``ExtractionError`` when the real video cannot be read or has no face at all.
    """
    from tfdeepfake.faces.video import read_video

    finder = finder or MTCNNFaceFinder()
    donor = donor if isinstance(donor, Donor) else load_donor(donor, finder)
    video = read_video(real_path, frames=max_frames, sampling="first", min_frames=1)
    faces = _landmarks_per_frame(video.frames, finder, max(1, detect_every))
    if not any(len(f) for f in faces):
        raise ExtractionError("no_face", real_path, "no face to replace in the real video")
    out_path = Path(out_path)
    swapped = 0
    with _writer(out_path, video.fps, video.frames.shape[1:3]) as writer:
        for frame, points in zip(video.frames, faces):
            for landmarks in points:
                frame = swap_face(frame, landmarks, donor, blend, resolution)
            swapped += bool(len(points))
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return FakePair(
        fake_path=out_path,
        original_path=Path(real_path),
        fake_id=out_path.stem,
        original_id=Path(real_path).stem,
        frames=len(video.frames),
        swapped=swapped,
    )


def reencode_video(
    path: str | os.PathLike, out_path: str | os.PathLike, max_frames: int | None = None
) -> Path:
    """Copy (the first ``max_frames`` frames of) a video through the same mp4v encoder the
    fakes go through, so reals and fakes differ by the swap and not by the codec."""
    from tfdeepfake.faces.video import read_video

    video = read_video(path, frames=max_frames, sampling="first", min_frames=1)
    with _writer(Path(out_path), video.fps, video.frames.shape[1:3]) as writer:
        for frame in video.frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return Path(out_path)


@contextlib.contextmanager
def _writer(out_path: Path, fps: float, size: tuple[int, int]):
    out_path.parent.mkdir(parents=True, exist_ok=True)
    height, width = size
    writer = cv2.VideoWriter(
        str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), fps or 25.0, (width, height)
    )
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {out_path}; use a .mp4 path in a writable folder.")
    try:
        yield writer
    finally:
        writer.release()


def _landmarks_per_frame(frames: np.ndarray, finder: FaceFinder, every: int) -> list:
    """Per frame, a list of (5, 2) landmark sets; between keyframes the main face's
    landmarks are interpolated linearly (other faces are taken from the nearest keyframe)."""
    keys = list(range(0, len(frames), every))
    if keys[-1] != len(frames) - 1:
        keys.append(len(frames) - 1)
    found = dict(zip(keys, finder.detect(frames[keys])))
    out = []
    for i in range(len(frames)):
        if i in found:
            out.append(list(found[i].landmarks))
            continue
        before = max(k for k in keys if k < i)
        after = min(k for k in keys if k > i)
        a, b = found[before], found[after]
        if len(a) and len(b):
            t = (i - before) / (after - before)
            out.append([(1 - t) * a.landmarks[0] + t * b.landmarks[0]] + list(a.landmarks[1:]))
        else:
            out.append(list((a if i - before <= after - i else b).landmarks))
    return out


def make_fake_dataset(
    real_videos: Sequence[str | os.PathLike],
    donors: Sequence,
    out_dir: str | os.PathLike,
    blend: str = "feather",
    max_frames: int | None = None,
    detect_every: int = 1,
    finder: FaceFinder | None = None,
) -> Path:
    """A small labelled real/fake collection: one fake per real video, and a labels CSV.

    Each real video is re-encoded to ``out_dir/real/<stem>.mp4`` (same codec as the fakes)
    and faked with donor ``i % len(donors)`` into ``out_dir/fake/<stem>__<donor>.mp4``.
    ``out_dir/labels.csv`` lists ``path,label,original`` (paths relative to ``out_dir``),
    ready for ``tfdeepfake extract out_dir --labels out_dir/labels.csv``. Returns its path.
    """
    out_dir = Path(out_dir)
    finder = finder or MTCNNFaceFinder()
    loaded = [d if isinstance(d, Donor) else load_donor(d, finder) for d in donors]
    rows = []
    for i, real in enumerate(real_videos):
        donor = loaded[i % len(loaded)]
        stem = Path(real).stem
        copy = reencode_video(real, out_dir / "real" / f"{stem}.mp4", max_frames)
        fake = out_dir / "fake" / f"{stem}__{donor.name}.mp4"
        make_fake_video(copy, donor, fake, blend, max_frames, detect_every, finder)
        rows.append((f"real/{stem}.mp4", "REAL", ""))
        rows.append((f"fake/{fake.name}", "FAKE", f"real/{stem}.mp4"))
    labels = out_dir / "labels.csv"
    with open(labels, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "original"])
        writer.writerows(rows)
    return labels
