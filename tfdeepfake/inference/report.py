"""`detect --report DIR`: per input a thumbnail of its most suspicious face, a PNG of
per-frame scores against time, an H.264 MP4 per model of the whole clip at its own frame
rate with each face's heatmap carried between sampled frames (AutoAttB4 / B7-SSIM: their
attention map; GenD: attention rollout, warped back from the aligned face; ResNet-LSTM:
Grad-CAM), and one ``index.html`` for the batch rendered from the shared templates
(``tfdeepfake.templates``)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tfdeepfake.inference.results import VideoResult
from tfdeepfake.safeio import display_name, safe_name, write_text_atomic

# The heatmap video holds at most this many frames (longer inputs use every k-th frame)
# and frames at most this many pixels on their long side: memory stays bounded.
MAX_VIDEO_FRAMES = 600
MAX_VIDEO_SIDE = 640


def report_folder(report_dir: str, result: VideoResult, index: int) -> Path:
    """A per-input folder name that is unique and readable: ``003_clip``."""
    return Path(report_dir) / f"{index:03d}_{safe_name(Path(result.path).stem, 60)}"


def write_input_report(
    models: Sequence,
    threshold: float,
    faces,
    result: VideoResult,
    folder: Path,
    limits: dict | None = None,
) -> None:
    """Write the thumbnail, score plot and heatmap videos of one scored input into ``folder``.

    Args:
        models: the ``LoadedModel``s that scored it (heatmaps for the explainable ones).
        threshold: the verdict threshold (a line on the plot).
        faces: its extracted faces (``VideoFaces``); result: its scored ``VideoResult``.
        limits: ``read_frames_at`` keywords (``max_side``, ``max_pixels``, ``time_limit``):
            the frames are decoded again within the limits of the decoding that found the
            faces (``max_side`` at most ``MAX_VIDEO_SIDE``).
    """
    from tfdeepfake.evaluation.plots import plot_frame_scores
    from tfdeepfake.explain.overlay import face_region, interpolate_track, write_heatmap_video

    folder.mkdir(parents=True, exist_ok=True)
    result.report["thumbnail"] = str(write_thumbnail(faces, result, folder / "face.jpg"))
    video, fps, order = whole_clip(faces, limits)
    lines = {}
    for track in result.tracks:
        for name, probs in track.frame_scores.items():
            pairs = [(f, p) for f, p in zip(track.frame_indices, probs) if p is not None]
            at = [f for f, _ in pairs]
            label = name if len(result.tracks) == 1 else f"{name} (face {track.track_id})"
            x = video.seconds(at).tolist() if faces.fps > 0 else at
            lines[label] = (x, [p for _, p in pairs])
    title = f"{Path(result.path).name}: {result.label} (score {result.score:.3f})"
    result.report["plot"] = str(plot_frame_scores(
        lines, folder / "scores.png", threshold, title,
        xlabel="seconds" if faces.fps > 0 else "frame"))
    scale = video.scale  # frames may be shrunk on decode: boxes are in source pixels
    for loaded in models:
        if not loaded.explainable:  # a LiteRT runner: no gradients to explain
            result.report[f"heatmap_{loaded.name}"] = "none: heatmaps need --runtime keras"
            continue
        boxes = {int(i): [] for i in video.indices}
        maps = {int(i): [] for i in video.indices}
        for track in faces.tracks:
            heat = track_heatmaps(loaded, track.crops, faces.margin, track.landmarks,
                                  track.boxes)
            margin = loaded.preset.face_margin
            if loaded.preset.crop_mode == "aligned":  # back from the aligned face to the crop
                from tfdeepfake.data.align import unalign_maps

                heat = unalign_maps(heat, track.landmarks, track.crops.shape[1])
                margin = faces.margin
            regions = [[v * scale for v in face_region(b, margin)] for b in track.boxes]
            carried = interpolate_track(track.frame_index, regions, heat, video.indices)
            for i, (box, h) in carried.items():
                boxes[i].append(box)
                maps[i].append(h)
        boxes, maps = list(boxes.values()), list(maps.values())
        path = write_heatmap_video([video.frames[k] for k in order], [boxes[k] for k in order],
                                   [maps[k] for k in order], fps, folder / f"{loaded.name}.mp4")
        result.report[f"heatmap_{loaded.name}"] = str(path)


def whole_clip(faces, limits: dict | None = None):
    """(frames, fps, order) of the input for its heatmap videos: every frame at the input's
    own rate (every k-th past ``MAX_VIDEO_FRAMES``); an image or a stream without a frame
    rate gives its sampled frames at 2 per second. ``order`` lists the frame to show at each
    tick of that constant rate: a variable-frame-rate video repeats frames where its own
    frames are further apart, so the heatmap video keeps the input's timing."""
    from tfdeepfake.faces.video import read_frames_at

    limits = dict(limits or {})
    limits["max_side"] = min(limits.get("max_side") or MAX_VIDEO_SIDE, MAX_VIDEO_SIDE)
    if faces.fps <= 0 or faces.frame_count <= 1:
        indices = [int(i) for i in faces.sampled_indices]
        video = read_frames_at(faces.path, indices, **limits)
        return video, 2.0, list(range(len(video.indices)))
    step = math.ceil(faces.frame_count / MAX_VIDEO_FRAMES)
    video = read_frames_at(faces.path, list(range(0, faces.frame_count, step)), **limits)
    rate = faces.fps / step
    return video, rate, constant_rate_order(video.times, rate, len(video.indices))


def constant_rate_order(times, rate: float, count: int) -> list[int]:
    """Which of ``count`` frames (time stamps ``times`` in seconds, or None: evenly spaced)
    to show at each tick of ``rate`` per second: the one on screen then (the last frame
    starting before the middle of the tick)."""
    if times is None or count < 2:
        return list(range(count))
    ticks = np.arange(int(round((times[-1] - times[0]) * rate)) + 1) / rate + times[0]
    chosen = np.searchsorted(times, ticks + 0.5 / rate, side="right") - 1
    return np.clip(chosen, 0, count - 1).tolist()


def write_thumbnail(faces, result: VideoResult, path: Path) -> Path:
    """The most suspicious face as a JPEG: the crop of the scored track, at the frame where
    the models' mean probability of fake is highest."""
    import cv2

    best = max(range(len(result.tracks)), key=lambda k: result.tracks[k].score)
    track = result.tracks[best]
    per_frame = np.array([[np.nan if p is None else p for p in probs]
                          for probs in track.frame_scores.values()], dtype=np.float64)
    mean = np.nanmean(per_frame, axis=0) if per_frame.size else np.zeros(1)
    k = int(np.nanargmax(mean)) if np.isfinite(mean).any() else 0
    crop = faces.tracks[best].crops[min(k, len(faces.tracks[best].crops) - 1)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(crop[..., ::-1]))
    return path


def track_heatmaps(loaded, crops: np.ndarray, stored_margin: float, landmarks=None,
                   boxes=None) -> np.ndarray:
    """(T, s, s) heatmaps in [0, 1] of one model over one track's crops (its attention map,
    else Grad-CAM; a sequence model sees the track as one clip)."""
    from tfdeepfake.explain.heatmaps import face_heatmaps
    from tfdeepfake.inference.inputs import model_inputs

    inputs = model_inputs(crops, stored_margin, loaded.preset, landmarks, boxes)
    if loaded.preset.sequence:
        return face_heatmaps(loaded.model, inputs[None])[0]
    return face_heatmaps(loaded.model, inputs)


def write_index(results: Sequence[VideoResult | Mapping], report_dir: str,
                models: Sequence[Mapping], threshold: float) -> str:
    """``report_dir/index.html``: the summary and one card per input, most suspicious first.

    ``models``: ``[{"name", "weights", "trained"}]`` (``Detector.run_info()["models"]``);
    ``threshold``: the ensemble threshold the verdicts used.
    """
    from tfdeepfake.templates import render_report

    root = Path(report_dir)
    root.mkdir(parents=True, exist_ok=True)
    dicts = [r.to_dict() if isinstance(r, VideoResult) else dict(r) for r in results]
    for d in dicts:  # names that are not valid UTF-8 shown with \xNN escapes
        d["path"] = display_name(d["path"])

    def url(path: str) -> str:
        return Path(os.path.relpath(path, root)).as_posix()

    path = root / "index.html"
    write_text_atomic(path, render_report(dicts, models, threshold, url))
    return str(path)
