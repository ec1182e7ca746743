"""`detect --report DIR`: per input a PNG of per-frame scores, an MP4 per model with its
heatmap over each face (AutoAttB4 / B7-SSIM: their attention map; GenD: attention rollout,
warped back from the aligned face; ResNet-LSTM: Grad-CAM),
and one HTML page for the batch."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tfdeepfake.inference.results import VideoResult
from tfdeepfake.safeio import display_name, safe_name, write_text_atomic


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
    """Write the score plot and the heatmap videos of one scored input into ``folder``.

    Args:
        models: the ``LoadedModel``s that scored it (heatmaps for the explainable ones).
        threshold: the verdict threshold (a line on the plot).
        faces: its extracted faces (``VideoFaces``); result: its scored ``VideoResult``.
        limits: ``read_frames_at`` keywords (``max_side``, ``max_pixels``, ``time_limit``):
            the frames are decoded again as the scoring decoded them.
    """
    from tfdeepfake.evaluation.plots import plot_frame_scores
    from tfdeepfake.explain.overlay import face_region, write_heatmap_video
    from tfdeepfake.faces.video import read_frames_at

    folder.mkdir(parents=True, exist_ok=True)
    lines = {}
    for track in result.tracks:
        for name, probs in track.frame_scores.items():
            pairs = [(f, p) for f, p in zip(track.frame_indices, probs) if p is not None]
            label = name if len(result.tracks) == 1 else f"{name} (face {track.track_id})"
            lines[label] = ([f for f, _ in pairs], [p for _, p in pairs])
    title = f"{Path(result.path).name}: {result.label} (score {result.score:.3f})"
    result.report["plot"] = str(plot_frame_scores(lines, folder / "scores.png",
                                                  threshold, title))
    video = read_frames_at(  # the same limits as the decoding that found the faces
        faces.path, [int(i) for i in faces.sampled_indices], **(limits or {})
    )
    position = {int(i): k for k, i in enumerate(video.indices)}
    # Frames may have been shrunk on decode (4K): boxes are in source pixels.
    scale = video.scale
    fps = _sampled_fps(faces)
    for loaded in models:
        if not loaded.explainable:  # a LiteRT runner: no gradients to explain
            result.report[f"heatmap_{loaded.name}"] = "none: heatmaps need --runtime keras"
            continue
        boxes = [[] for _ in video.indices]
        maps = [[] for _ in video.indices]
        for track in faces.tracks:
            heat = track_heatmaps(loaded, track.crops, faces.margin, track.landmarks,
                                  track.boxes)
            margin = loaded.preset.face_margin
            if loaded.preset.crop_mode == "aligned":  # back from the aligned face to the crop
                from tfdeepfake.data.align import unalign_maps

                heat = unalign_maps(heat, track.landmarks, track.crops.shape[1])
                margin = faces.margin
            for frame_index, box, h in zip(track.frame_index, track.boxes, heat):
                k = position.get(int(frame_index))
                if k is None:
                    continue
                boxes[k].append([v * scale for v in face_region(box, margin)])
                maps[k].append(h)
        path = write_heatmap_video(video.frames, boxes, maps, fps, folder / f"{loaded.name}.mp4")
        result.report[f"heatmap_{loaded.name}"] = str(path)


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


def _sampled_fps(faces) -> float:
    """Frames per second of a video made of the sampled frames, so it lasts as long."""
    n = max(len(faces.sampled_indices), 1)
    if faces.duration > 0:
        return max(n / faces.duration, 1.0)
    return 2.0


def write_index(results: Sequence[VideoResult], model_names: Sequence[str], report_dir: str,
                run_info: dict) -> str:
    """One HTML page for the batch, linking every input's plot and heatmap videos."""
    root = Path(report_dir)
    root.mkdir(parents=True, exist_ok=True)

    def rel(p: str) -> str:
        return html.escape(os.path.relpath(p, root))

    rows = []
    for r in results:
        scores = "".join(
            f"<td>{'' if r.model_scores.get(m) is None else f'{r.model_scores[m]:.3f}'}</td>"
            for m in model_names
        )
        media = ""
        if "plot" in r.report:
            plot = rel(r.report["plot"])
            media += f'<a href="{plot}"><img src="{plot}" width="360"></a><br>'
        media += " ".join(
            f'<a href="{rel(v)}">{html.escape(k.removeprefix("heatmap_"))} heatmap</a>'
            for k, v in r.report.items() if k.startswith("heatmap_") and os.path.isfile(v)
        )
        score = "" if r.score is None else f"{r.score:.3f}"
        rows.append(
            f'<tr class="{html.escape(r.verdict)}"><td>{html.escape(display_name(r.path))}</td>'
            f"<td><b>{html.escape(r.label)}</b></td><td>{score}</td>{scores}"
            f"<td>{r.faces}</td><td>{html.escape(r.error or '')}</td><td>{media}</td></tr>"
        )
    header = "".join(f"<th>{html.escape(m)}</th>" for m in model_names)
    warning = ""
    if any(r.untrained for r in results):
        warning = ('<p class="warn">Some models ran with random weights (--allow-untrained): '
                   "their verdicts mean nothing.</p>")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>tfdeepfake report</title>
<style>body{{font-family:sans-serif}} td,th{{border:1px solid #ccc;padding:4px;vertical-align:top}}
table{{border-collapse:collapse}} .FAKE b{{color:#b00}} .REAL b{{color:#070}}
.ERROR b,.NO_FACE b{{color:#888}} .warn{{color:#b00;font-weight:bold}}</style></head>
<body><h1>tfdeepfake report</h1>
<p>Threshold {run_info.get("threshold")}; models: {html.escape(", ".join(model_names))};
frames per video: {run_info.get("frames")}. Scores are probabilities of fake (1 = fake).
Heatmap videos use the mp4v codec (OpenCV cannot write H.264 here): open them in a desktop
player if the browser does not play them.</p>{warning}
<table><tr><th>input</th><th>verdict</th><th>ensemble</th>{header}<th>faces</th>
<th>error</th><th>report</th></tr>
{"".join(rows)}
</table></body></html>
"""
    path = root / "index.html"
    write_text_atomic(path, page)
    return str(path)
