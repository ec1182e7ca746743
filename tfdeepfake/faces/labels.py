"""Labels of a video collection -> a list of videos to extract (1 = fake, 0 = real).

Formats (``load_labels`` picks one from the labels path, or from the input folder):

- ``dfdc``: DFDC ``metadata.json``: ``{"x.mp4": {"label": "FAKE", "original": "y.mp4"}}``.
- ``ffpp``: the FaceForensics++ folder layout: ``original_sequences/<source>/<c>/videos``
  (real) and ``manipulated_sequences/<method>/<c>/videos`` (fake; ``AAA_BBB.mp4`` was made
  from ``original_sequences/youtube/<c>/videos/AAA.mp4``; DeepFakeDetection's
  ``01_02__scene__X.mp4`` from ``original_sequences/actors/<c>/videos/01__scene.mp4``).
- ``celebdf``: Celeb-DF's ``List_of_testing_videos.txt``, lines ``"<n> <path>"`` where
  **1 = real** in Celeb-DF (mapped to our 0); ``Celeb-synthesis/idA_idB_NNNN.mp4`` was made
  from ``Celeb-real/idA_NNNN.mp4``.
- ``csv``: ``path,label[,original]`` with an optional header (then also ``split``,
  ``video_id`` columns); label REAL/FAKE or 0/1 (1 = fake).
- none: every video under the input folder (or the one video given), label -1 (unknown:
  inference-only shards); each other file gets an ``unsupported`` failure (hidden files
  aside), and an input without any video is a ``ValueError``.

A line that cannot be used becomes a ``Failure`` (reason ``unknown_label``,
``duplicate``, ``unlabelled``, ``bad_labels``), never a silent drop.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
from pathlib import Path

from tfdeepfake.faces.errors import Failure
from tfdeepfake.faces.media import VIDEO_SUFFIXES, is_media
from tfdeepfake.safeio import display_name, walk_files

FORMATS = ("dfdc", "ffpp", "celebdf", "csv", "none")
_READS = (  # why a file is not extracted
    f"extract reads videos ({', '.join(VIDEO_SUFFIXES)}, or any of those formats under "
    "another name); use `tfdeepfake detect` for images"
)
_LABELS = {"fake": 1, "1": 1, "real": 0, "0": 0}


@dataclasses.dataclass
class LabelledVideo:
    """One video to extract.

    Attributes:
        path: the video file.
        label: 1 = fake, 0 = real, -1 = unknown.
        video_id: stable unique id (path below the root, without suffix unless another
            file has the same id without it).
        dataset: ``dfdc``, ``ffpp``, ``celebdf``, ``csv`` or what the user named.
        split: ``train``, ``val``, ``test`` or "".
        original: the original video a fake was made from (None if not known).
        original_id: that original's video id ("" if none).
    """

    path: Path
    label: int
    video_id: str
    dataset: str
    split: str = ""
    original: Path | None = None
    original_id: str = ""


def detect_format(input_path: str | os.PathLike, labels: str | os.PathLike | None) -> str:
    """Which label format applies (see the module docstring); one video without labels
    is ``none``."""
    if labels is None and Path(input_path).is_file():
        return "none"
    source = Path(labels) if labels is not None else Path(input_path)
    if source.is_dir():
        if (source / "original_sequences").is_dir() or (source / "manipulated_sequences").is_dir():
            return "ffpp"
        for name, kind in (("metadata.json", "dfdc"), ("List_of_testing_videos.txt", "celebdf")):
            if (source / name).is_file():
                return kind
        return "none"
    if source.suffix.lower() == ".json":
        return "dfdc"
    if source.suffix.lower() == ".csv":
        return "csv"
    if source.suffix.lower() == ".txt":
        return "celebdf"
    raise ValueError(
        f"Cannot tell the label format of {source}: give a DFDC metadata.json, a Celeb-DF "
        "List_of_testing_videos.txt, a .csv (path,label[,original]) or a FaceForensics++ folder."
    )


def load_labels(
    input_path: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    dataset: str | None = None,
    split: str | None = None,
    fmt: str | None = None,
    exclude: str | os.PathLike | None = None,
) -> tuple[list[LabelledVideo], list[Failure]]:
    """Read the labels of a video collection.

    Args:
        input_path: the folder of videos (relative paths in the labels resolve against it,
            then against the labels file's folder), or a single video.
        labels: the labels file or FaceForensics++ folder (None: look inside ``input_path``).
        dataset: name stored with every track (default: the format's name).
        split: split stored with every track (overrides a split the labels give).
        fmt: force a format instead of detecting it.
        exclude: a folder whose files are not inputs (the output folder): format ``none``
            gives them no ``unsupported`` row.

    Returns:
        The videos to extract and the failures found while reading the labels.

    Raises:
        ValueError: when there is no video to extract (format ``none``: no video in the
            input; another format: the labels list none).
    """
    input_path = Path(input_path)
    if not input_path.exists():
        raise FileNotFoundError(f"Input {input_path} does not exist; give a video or a folder.")
    if labels is not None and not Path(labels).exists():
        raise FileNotFoundError(f"Labels file {labels} does not exist.")
    fmt = fmt or detect_format(input_path, labels)
    if fmt not in FORMATS:
        raise ValueError(f"Unknown label format {fmt!r}; use one of {FORMATS}.")
    if labels is None and fmt not in ("ffpp", "none"):
        name = "metadata.json" if fmt == "dfdc" else "List_of_testing_videos.txt"
        labels = input_path / name
    roots = _roots(input_path, labels)
    if fmt == "none":
        videos, failures = _none(input_path, roots, exclude)
    else:
        reader = {"dfdc": _dfdc, "ffpp": _ffpp, "celebdf": _celebdf, "csv": _csv}[fmt]
        videos, failures = reader(Path(labels) if labels else input_path, roots)
    for video in videos:
        video.dataset = dataset or video.dataset
        video.split = split if split is not None else video.split
    videos, duplicates = _dedupe(videos)
    failures += duplicates
    if fmt != "none" and input_path.is_dir():
        reported = {Path(f.path).resolve() for f in failures}
        failures += _unlabelled(input_path, videos, Path(labels) if labels else None, reported)
    if not videos and all(f.reason == "unlabelled" for f in failures):
        raise ValueError(f"The labels {labels or input_path} list no videos ({len(failures)} "
                         f"video(s) under {input_path} are not in them).")
    return videos, failures


def _roots(input_path: Path, labels) -> list[Path]:
    roots = [input_path if input_path.is_dir() else input_path.parent]
    if labels is not None:
        folder = Path(labels) if Path(labels).is_dir() else Path(labels).parent
        if folder not in roots:
            roots.append(folder)
    return roots


def _resolve(name: str, roots: list[Path]) -> Path:
    """The first existing ``root / name`` (the first root's path when none exists)."""
    path = Path(name)
    if path.is_absolute():
        return path
    for root in roots:
        if (root / path).exists():
            return root / path
    return roots[0] / path


def _video_id(path: Path, roots: list[Path]) -> str:
    for root in roots:
        try:
            return path.relative_to(root).with_suffix("").as_posix()
        except ValueError:
            continue
    return path.with_suffix("").as_posix().lstrip("/")


def _parse_label(value) -> int | None:
    return _LABELS.get(str(value).strip().lower())


def _dfdc(labels: Path, roots: list[Path]) -> tuple[list[LabelledVideo], list[Failure]]:
    try:
        meta = json.loads(labels.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return [], [Failure(str(labels), "bad_labels", f"{labels}: not valid JSON ({err})")]
    if not isinstance(meta, dict):
        return [], [Failure(str(labels), "bad_labels", f"{labels}: expected a JSON object")]
    videos, failures = [], []
    for name, entry in meta.items():
        path = _resolve(name, roots)
        entry = entry if isinstance(entry, dict) else {"label": entry}
        label = _parse_label(entry.get("label"))
        if label is None:
            failures.append(_unknown_label(path, entry.get("label"), labels))
            continue
        original = entry.get("original") if label == 1 else None
        original_path = _resolve(original, roots) if original else None
        videos.append(
            LabelledVideo(
                path=path,
                label=label,
                video_id=_video_id(path, roots),
                dataset="dfdc",
                split=str(entry.get("split") or ""),
                original=original_path,
                original_id=_video_id(original_path, roots) if original_path else "",
            )
        )
    return videos, failures


_FFPP_FAKE = re.compile(r"^(?P<target>\d+)_(?P<source>\d+)$")
_FFPP_DFD = re.compile(r"^(?P<actor>\d+)_\d+__(?P<scene>.+?)__[A-Z0-9]+$")


def _ffpp(root: Path, roots: list[Path]) -> tuple[list[LabelledVideo], list[Failure]]:
    videos = []
    for kind, label in (("original_sequences", 0), ("manipulated_sequences", 1)):
        for path in _list_videos(root / kind):
            parts = path.relative_to(root / kind).parts  # <method>/<c>/videos/<file>
            if "masks" in parts:  # manipulated_sequences/<method>/masks: not videos to extract
                continue
            video = LabelledVideo(path, label, _video_id(path, [root]), "ffpp")
            if label == 1 and len(parts) >= 3:
                original = _ffpp_original(root, parts[0], parts[1], path.stem)
                if original is not None:
                    video.original = original
                    video.original_id = _video_id(original, [root])
            videos.append(video)
    return videos, []


def _ffpp_original(root: Path, method: str, compression: str, stem: str) -> Path | None:
    base = root / "original_sequences"
    if method == "DeepFakeDetection":
        match = _FFPP_DFD.match(stem)
        if match:
            name = f"{match['actor']}__{match['scene']}.mp4"
            return base / "actors" / compression / "videos" / name
        return None
    match = _FFPP_FAKE.match(stem)
    if match:
        return base / "youtube" / compression / "videos" / f"{match['target']}.mp4"
    return None


_CELEB_FAKE = re.compile(r"^(?P<target>id\d+)_id\d+_(?P<clip>\d+)$")


def _celebdf(labels: Path, roots: list[Path]) -> tuple[list[LabelledVideo], list[Failure]]:
    videos, failures = [], []
    for number, line in enumerate(labels.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(maxsplit=1)
        if len(fields) != 2:
            failures.append(
                Failure(
                    f"{labels}:{number}",
                    "bad_labels",
                    f"{labels}:{number}: expected '<1 real | 0 fake> <path>', got {line!r}",
                )
            )
            continue
        flag, name = fields[0], fields[1].strip()
        path = _resolve(name, roots)
        if flag not in ("0", "1"):
            failures.append(_unknown_label(path, flag, labels, "Celeb-DF uses 1 = real, 0 = fake"))
            continue
        label = 0 if flag == "1" else 1  # Celeb-DF: 1 = real; ours: 1 = fake
        video = LabelledVideo(path, label, _video_id(path, roots), "celebdf", "test")
        match = _CELEB_FAKE.match(path.stem)
        if label == 1 and match:
            original = _resolve(f"Celeb-real/{match['target']}_{match['clip']}.mp4", roots)
            video.original, video.original_id = original, _video_id(original, roots)
        videos.append(video)
    return videos, failures


def _csv(labels: Path, roots: list[Path]) -> tuple[list[LabelledVideo], list[Failure]]:
    with open(labels, newline="") as handle:
        rows = [r for r in csv.reader(handle) if r and any(c.strip() for c in r)]
    if not rows:
        return [], [Failure(str(labels), "bad_labels", f"{labels}: no rows")]
    header = [c.strip().lower() for c in rows[0]]
    if "path" in header and "label" in header:
        columns, rows = header, rows[1:]
    else:
        columns = ["path", "label", "original"][: max(len(r) for r in rows)]
    videos, failures = [], []
    for number, row in enumerate(rows, 2 if columns is header else 1):
        entry = dict(zip(columns, (c.strip() for c in row)))
        if not entry.get("path"):
            failures.append(
                Failure(
                    f"{labels}:{number}", "bad_labels", f"{labels}:{number}: no path in row {row!r}"
                )
            )
            continue
        path = _resolve(entry["path"], roots)
        label = _parse_label(entry.get("label", ""))
        if label is None:
            failures.append(_unknown_label(path, entry.get("label"), labels))
            continue
        original = _resolve(entry["original"], roots) if entry.get("original") else None
        videos.append(
            LabelledVideo(
                path=path,
                label=label,
                video_id=entry.get("video_id") or _video_id(path, roots),
                dataset="csv",
                split=entry.get("split", ""),
                original=original,
                original_id=_video_id(original, roots) if original else "",
            )
        )
    return videos, failures


def _none(
    root: Path, roots: list[Path], exclude: str | os.PathLike | None
) -> tuple[list[LabelledVideo], list[Failure]]:
    """Every video under ``root`` (or ``root``), label -1; each other file, an
    ``unsupported`` row (hidden files and those under ``exclude`` aside)."""
    files = [Path(p) for p in walk_files(root)] if root.is_dir() else [root]
    videos = [p for p in files if is_media(p, ("video",))]
    skip = os.path.realpath(exclude) if exclude is not None else None
    chosen = set(videos)
    others = [
        p for p in files
        if p not in chosen
        and not any(part.startswith(".") for part in p.relative_to(roots[0]).parts)
        and not (skip and os.path.realpath(p).startswith(skip + os.sep))
    ]
    if not videos:
        raise ValueError(_no_videos(root, others))
    return [LabelledVideo(p, -1, _video_id(p, roots), "") for p in videos], [
        Failure(str(p), "unsupported", f"{display_name(p)}: not a video; {_READS}")
        for p in others
    ]


def _no_videos(root: Path, others: list[Path]) -> str:
    """Why ``root`` gives nothing to extract."""
    if root.is_file():
        return f"{display_name(root)} is not a video: {_READS}."
    message = f"No videos in {display_name(root)} or its sub-folders: {_READS}."
    if others:
        message += f" It holds {len(others)} other file(s), e.g. {display_name(others[0])}."
    return message


def _list_videos(folder: Path) -> list[Path]:
    """Videos below ``folder``: symlinked folders followed, each real folder once."""
    if not folder.is_dir():
        return []
    return [Path(p) for p in walk_files(folder) if is_media(p, ("video",))]


def _unknown_label(path: Path, value, labels: Path, hint: str = "") -> Failure:
    hint = hint or "use REAL/FAKE or 0/1 (1 = fake)"
    return Failure(
        str(path), "unknown_label", f"{path}: label {value!r} in {labels} is not known; {hint}"
    )


def _dedupe(videos: list[LabelledVideo]) -> tuple[list[LabelledVideo], list[Failure]]:
    """One entry per file. Distinct files whose ids clash (``clip.mp4`` and ``clip.ts``: ids
    are names without suffix) keep their suffix in the id, ``clip.ts``, and so do the
    ``original_id`` fields naming them; a file listed twice gets a ``duplicate`` row."""
    resolved = [video.path.resolve() for video in videos]  # once per file: syscalls
    files_of: dict[str, set[Path]] = {}
    for video, real in zip(videos, resolved):
        files_of.setdefault(video.video_id, set()).add(real)
    clashing = {video_id for video_id, files in files_of.items() if len(files) > 1}
    renamed = {
        real: video.video_id + video.path.suffix
        for video, real in zip(videos, resolved)
        if video.video_id in clashing
    }
    seen: dict[str, LabelledVideo] = {}
    failures = []
    for video, real in zip(videos, resolved):
        video.video_id = renamed.get(real, video.video_id)
        if renamed and video.original is not None and video.original.resolve() in renamed:
            video.original_id = renamed[video.original.resolve()]
        if video.video_id in seen:
            first = seen[video.video_id]
            failures.append(
                Failure(
                    str(video.path),
                    "duplicate",
                    f"{video.path}: listed more than once (as {first.path} too); the first "
                    "entry is used",
                )
            )
            continue
        seen[video.video_id] = video
    return list(seen.values()), failures


def _unlabelled(
    folder: Path, videos: list[LabelledVideo], labels: Path | None, reported: set[Path]
) -> list[Failure]:
    listed = {v.path.resolve() for v in videos} | reported
    originals = {v.original.resolve() for v in videos if v.original is not None}
    return [
        Failure(str(p), "unlabelled", f"{p}: in the input folder but not in {labels}")
        for p in _list_videos(folder)
        if p.resolve() not in listed and p.resolve() not in originals and "masks" not in p.parts
    ]
