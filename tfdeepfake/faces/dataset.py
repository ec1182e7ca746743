"""A labelled video collection -> sharded TFRecords of face tracks (+ SSIM masks).

``extract_dataset`` never stops on a bad video: each one that cannot be (fully) used gets a
row in ``OUT/failures.csv`` (path, reason, message) and the batch carries on. Videos in the
input folder that the labels do not list (e.g. the other splits) are left out and listed in
``OUT/unlabelled.txt``; without labels, each file that is not a video gets an ``unsupported``
row, and an input without videos raises ``ValueError`` before anything is written.
Re-running it on the same ``OUT`` resumes: videos already in the shard manifest are skipped.

Concurrency on few cores: with ``workers=1`` a background thread decodes the next video
while the current one is in MTCNN (TensorFlow already spreads one batch over the cores);
``workers=N>1`` runs N spawned processes, each with its own finder, and the parent writes.
When a worker dies (the OOM killer, a crash in a native library) the pool is rebuilt and
the videos that were in flight are retried one at a time; a video on which workers died
``MAX_CRASHES`` times is quarantined: it gets a ``quarantined`` row in failures.csv and later
runs skip it (delete that row to retry it).

One run at a time per output folder: ``extract_dataset`` holds the folder's lock
(``tfdeepfake.safeio.folder_lock``) and a second run stops with ``FolderBusyError``.
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import dataclasses
import functools
import json
import multiprocessing
import os
import time
from pathlib import Path

from tfdeepfake.faces.crop import STORED_MARGIN, crop_region
from tfdeepfake.faces.deadline import TIME_LIMIT, Deadline
from tfdeepfake.faces.errors import ExtractionError, Failure
from tfdeepfake.faces.extraction import VideoFaces, faces_from_video
from tfdeepfake.faces.finder import FaceFinder, MTCNNFaceFinder
from tfdeepfake.faces.labels import LabelledVideo, load_labels
from tfdeepfake.faces.ssim_masks import track_masks
from tfdeepfake.faces.video import MAX_FRAMES, MAX_PIXELS, VideoFrames, plan_indices, read_video
from tfdeepfake.safeio import (
    atomic_write,
    csv_row,
    csv_unescape,
    display_name,
    folder_lock,
    parse_display_name,
    write_text_atomic,
)

FAILURES_NAME = "failures.csv"
# failures.csv rows with this ``format`` hold escaped names (``display_name``) and defused
# cells (``csv_cell``); rows without the column come from files written before them.
FAILURES_FORMAT = "2"
SUMMARY_NAME = "summary.json"
UNLABELLED_NAME = "unlabelled.txt"
# Failures after which a video counts as done (a re-run would give the same answer).
_FINAL_REASONS = ("no_face",)
MAX_CRASHES = 2  # worker deaths on one video before it is quarantined
# ``workers > 1``: a video still running 2 x its time limit + this many seconds after it
# was handed to a worker is stuck in native code: its worker processes are killed.
KILL_GRACE = 60.0
# Crop side when neither ``--crop-size`` nor ``--for MODEL`` says: enough for inference shards;
# training the EfficientNets without upsampling needs more (``faces.crop.crop_size_for``).
DEFAULT_CROP_SIZE = 256


@dataclasses.dataclass
class ExtractOptions:
    """How videos are turned into tracks (see ``extract_faces``; ``detect_side`` and
    ``min_score`` configure the ``MTCNNFaceFinder`` built when no finder is given)."""

    frames: int | None = 32
    margin: float = STORED_MARGIN
    crop_size: int = DEFAULT_CROP_SIZE
    sampling: str = "even"
    stride: int = 1
    mode: str = "square"
    iou: float = 0.2
    max_side: int | None = 1920
    min_frames: int = 2
    masks: bool = True
    jpeg_quality: int = 95
    detect_side: int = 640
    min_score: float = 0.9
    max_frames: int = MAX_FRAMES
    max_pixels: int | None = MAX_PIXELS
    time_limit: float | None = TIME_LIMIT

    def __post_init__(self):
        plan_indices(1, self.frames, self.sampling, self.stride, self.max_frames)  # checks them
        crop_region([0, 0, 1, 1], self.margin, self.mode)  # raises on bad margin / mode
        if self.crop_size < 8:
            raise ValueError(f"crop_size must be >= 8 pixels, got {self.crop_size}.")
        if self.detect_side < 32:
            raise ValueError(f"detect_side must be >= 32 pixels, got {self.detect_side}.")
        if not 0 <= self.min_score <= 1:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}.")
        if self.min_frames < 1:
            raise ValueError(f"min_frames must be >= 1, got {self.min_frames}.")
        if self.max_pixels is not None and self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {self.max_pixels}.")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {self.time_limit}.")


@dataclasses.dataclass
class ExtractSummary:
    """What an ``extract_dataset`` run did."""

    out_dir: str
    videos: int = 0
    extracted: int = 0
    skipped: int = 0
    tracks: int = 0
    faces: int = 0
    masked_tracks: int = 0
    seconds: float = 0.0
    failures: list[Failure] = dataclasses.field(default_factory=list)
    unlabelled: list[str] = dataclasses.field(default_factory=list)

    @property
    def failures_by_reason(self) -> dict[str, int]:
        return dict(collections.Counter(f.reason for f in self.failures))

    @property
    def exit_code(self) -> int:
        """``tfdeepfake extract``'s exit status: 1 when failures.csv lists any input (the
        batch ran to its end), else 0."""
        return 1 if self.failures else 0

    def format(self) -> str:
        """The summary as printed by ``tfdeepfake extract``."""
        rate = self.extracted / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"videos: {self.videos} (extracted {self.extracted}, already done {self.skipped}) "
            f"in {self.seconds:.1f} s ({rate:.2f} videos/s)",
            f"tracks: {self.tracks} ({self.masked_tracks} with SSIM masks), faces: {self.faces}",
            f"failures: {len(self.failures)}"
            + "".join(f"\n  {r}: {n}" for r, n in sorted(self.failures_by_reason.items())),
            *(
                [
                    f"not in the labels (left out, listed in {UNLABELLED_NAME}): "
                    f"{len(self.unlabelled)}"
                ]
                if self.unlabelled
                else []
            ),
            f"shards: {self.out_dir}"
            + (
                f"; failures listed in {Path(self.out_dir) / FAILURES_NAME}"
                if self.failures
                else ""
            ),
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["failures"] = len(self.failures)
        data["failures_by_reason"] = self.failures_by_reason
        data["unlabelled"] = len(self.unlabelled)
        return data


def extract_dataset(
    input_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    options: ExtractOptions | dict | None = None,
    workers: int = 1,
    dataset: str | None = None,
    split: str | None = None,
    fmt: str | None = None,
    finder: FaceFinder | None = None,
    max_shard_bytes: int = 64 * 2**20,
    progress: bool = True,
) -> ExtractSummary:
    """Extract face tracks of every labelled video into shards under ``out_dir``.

    Args:
        input_path: a folder of videos (or one video).
        out_dir: where shards, ``manifest.jsonl``, ``failures.csv`` and ``summary.json`` go.
        labels: labels file or FaceForensics++ folder (see ``load_labels``).
        options: frame sampling, crop and mask settings (an ``ExtractOptions`` or a dict of
            its fields).
        workers: 1 = this process (+ a decoding thread); N > 1 = N worker processes.
        dataset, split, fmt: passed to ``load_labels``.
        finder: face finder for ``workers=1`` (default: an ``MTCNNFaceFinder`` built from
            ``options``; worker processes always build that one).
        max_shard_bytes: shard size bound.
        progress: show a tqdm bar (videos/s, ETA).

    Returns:
        An ``ExtractSummary`` (also written to ``summary.json``).

    Example::

        summary = extract_dataset("videos/", "shards/", labels="videos/metadata.json")
        print(summary.format())
    """
    if isinstance(options, dict):
        options = ExtractOptions(**options)
    if not isinstance(options or ExtractOptions(), ExtractOptions):
        raise TypeError(f"options must be an ExtractOptions or a dict of its fields, got "
                        f"{type(options).__name__}.")
    options = options or ExtractOptions()
    out_dir = Path(out_dir)
    started = time.perf_counter()
    videos, failures = load_labels(input_path, labels, dataset=dataset, split=split, fmt=fmt,
                                   exclude=out_dir)
    from tfrecords_tools.writer import ShardedWriter  # TensorFlow: once the inputs are known

    summary = ExtractSummary(out_dir=str(out_dir), videos=len(videos))
    with folder_lock(out_dir, "extraction"), ShardedWriter(
        out_dir, max_shard_bytes=max_shard_bytes
    ) as writer:
        quarantined = _quarantined(out_dir)
        todo = [v for v in videos if not writer.has(v.video_id) and v.path not in quarantined]
        summary.skipped = len(videos) - len(todo)
        kept = _previous_failures(out_dir, {str(v.path) for v in todo})
        summary.unlabelled = [f.path for f in failures if f.reason == "unlabelled"]
        summary.failures = kept + [f for f in failures if f.reason != "unlabelled"]
        _write_unlabelled(out_dir, summary.unlabelled)
        _write_failures(out_dir, summary.failures)
        bar = _progress(len(todo), progress)
        for item, records, video_failures in _run(todo, options, workers, finder):
            if records is not None:
                writer.write_video(item.video_id, records)
                summary.extracted += 1
                summary.tracks += len(records)
                summary.faces += sum(len(r.crops) for r in records)
                summary.masked_tracks += sum(r.masks is not None for r in records)
            elif any(f.reason in _FINAL_REASONS for f in video_failures):
                writer.write_video(item.video_id, [])
            summary.failures += video_failures
            if video_failures:
                _write_failures(out_dir, summary.failures)
            bar.update(1)
            bar.set_postfix(tracks=summary.tracks, failures=len(summary.failures))
        bar.close()
        summary.seconds = time.perf_counter() - started
        write_text_atomic(out_dir / SUMMARY_NAME, json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


def _run(todo: list[LabelledVideo], options: ExtractOptions, workers: int, finder,
         work=None):
    """Yield ``(video, records or None, failures)`` once for every video.

    ``work(item, options) -> (records, failures)`` runs in the worker processes (default
    ``process_video``). When a worker dies, the pool is rebuilt and the videos that were in
    flight are retried one at a time; one on which ``MAX_CRASHES`` workers died is yielded
    as ``quarantined``. A video still unfinished ``2 * time_limit + KILL_GRACE`` seconds
    after a worker took it (stuck in one native call, past the checks of its ``Deadline``)
    is yielded as ``timeout``: the pool's processes are killed and the other videos in
    flight are run again.
    """
    if workers <= 1:
        yield from _run_here(todo, options, finder)
        return
    work = work or process_video
    context = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
    queue = collections.deque(todo)
    crashes: collections.Counter = collections.Counter()
    hard_limit = None if options.time_limit is None else 2 * options.time_limit + KILL_GRACE
    while queue:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            window: collections.deque = collections.deque()
            started: dict = {}  # future -> when it was first seen running
            while queue or window:
                while _may_submit(queue, window, crashes, workers):
                    try:
                        future = pool.submit(work, queue[0], options)
                    except concurrent.futures.process.BrokenProcessPool:
                        break  # a worker died since the last result: the window's futures say so
                    window.append((queue.popleft(), future))
                if not window:  # the pool broke with nothing in flight: rebuild it
                    break
                item, future = window.popleft()
                try:
                    records, failures = _result(future, window, started, hard_limit)
                except _Overdue:
                    _kill_workers(pool)
                    yield item, None, [_killed(item, hard_limit)]
                    queue.extendleft(reversed([i for i, _ in window]))
                    break  # rebuild the pool
                except concurrent.futures.process.BrokenProcessPool:
                    in_flight = [item, *(i for i, _ in window)]
                    for suspect in in_flight:
                        crashes[suspect.path] += 1
                    for suspect in reversed(in_flight):
                        if crashes[suspect.path] >= MAX_CRASHES:
                            yield suspect, None, [_quarantine(suspect)]
                        else:
                            queue.appendleft(suspect)
                    break  # rebuild the pool
                except Exception as err:  # an error in the worker fails this video only
                    records, failures = None, [_unexpected(item, err)]
                yield item, records, failures


def _may_submit(queue, window, crashes, workers: int) -> bool:
    """Whether the next queued video may join the ``window`` in flight: at most 2 per worker
    (bounded memory), and a suspect of an earlier crash runs alone, so the next crash names
    the video that caused it."""
    if not queue or len(window) >= 2 * workers:
        return False
    suspects = [crashes[i.path] for i, _ in window] + [crashes[queue[0].path]]
    return not window or not any(suspects)


class _Overdue(Exception):
    """A worker has been on one video past its hard limit."""


def _result(future, window, started: dict, hard_limit: float | None):
    """``future.result()``, or ``_Overdue`` once it has run ``hard_limit`` seconds.

    ``started`` records when each future of ``window`` was first seen running (handed to
    a worker), so the clock of a video does not start while it waits in the queue.
    """
    if hard_limit is None:
        return future.result()
    while not future.done():
        now = time.monotonic()
        for other in (future, *(f for _, f in window)):
            if other.running():
                started.setdefault(other, now)
        if now - started.get(future, now) > hard_limit:
            raise _Overdue
        concurrent.futures.wait([future], timeout=1.0)
    return future.result()


def _kill_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Kill every worker process of ``pool`` (Python 3.14 has ``pool.kill_workers()``)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


def _killed(item: LabelledVideo, hard_limit: float) -> Failure:
    return Failure(
        str(item.path),
        "timeout",
        f"{display_name(item.path)}: a worker was still on this video after {hard_limit:g} s "
        "(twice --time-limit plus a grace period; stuck in the decoder?); its process was "
        "killed and the batch carried on",
    )


def _quarantine(item: LabelledVideo) -> Failure:
    return Failure(
        str(item.path),
        "quarantined",
        f"{display_name(item.path)}: a worker process died on this video {MAX_CRASHES} times "
        "(out of memory? a crash in the decoder?); later runs skip it",
    )


def _quarantined(out_dir: Path) -> set[Path]:
    """Videos quarantined by earlier runs (their failures.csv rows say so)."""
    return {Path(f.path) for f in _previous_failures(out_dir, set()) if f.reason == "quarantined"}


def _run_here(todo: list[LabelledVideo], options: ExtractOptions, finder):
    if not todo:
        return
    with concurrent.futures.ThreadPoolExecutor(1) as decoder:
        pending = decoder.submit(_timed_decode, todo[0], options)
        for i, item in enumerate(todo):
            video, spent = pending.result()
            if i + 1 < len(todo):
                pending = decoder.submit(_timed_decode, todo[i + 1], options)
            try:
                records, failures = process_video(item, options, finder, video, spent)
            except Exception as err:
                records, failures = None, [_unexpected(item, err)]
            yield item, records, failures


def _timed_decode(item: LabelledVideo, options: ExtractOptions):
    """``(_decode(...), seconds it took)``: the decoding thread's time counts against the
    video's time limit, its wait for the face finder does not."""
    began = time.monotonic()
    video = _decode(item, options, Deadline(item.path, options.time_limit))
    return video, time.monotonic() - began


def _decode(
    item: LabelledVideo, options: ExtractOptions, deadline: Deadline
) -> VideoFrames | ExtractionError:
    try:
        return read_video(
            item.path,
            options.frames,
            options.sampling,
            options.stride,
            max_side=options.max_side,
            min_frames=options.min_frames,
            max_frames=options.max_frames,
            max_pixels=options.max_pixels,
            deadline=deadline,
        )
    except ExtractionError as err:
        return err
    except Exception as err:
        return ExtractionError("corrupt", item.path, f"decoding failed: {err!r}")


def process_video(
    item: LabelledVideo,
    options: ExtractOptions,
    finder: FaceFinder | None = None,
    video: VideoFrames | ExtractionError | None = None,
    spent: float = 0.0,
):
    """One labelled video -> ``(TrackRecords or None, failures)``; raises nothing expected.

    A fake whose original is known gets SSIM masks; when the original is missing or cannot
    be read, the tracks are kept without masks and a failure row says why.
    ``options.time_limit`` bounds decoding, face detection and the masks together
    (``spent``: seconds ``video`` took to decode elsewhere); past it the video fails as
    ``timeout`` and nothing of it is written.
    """
    from tfrecords_tools.schema import TrackRecord

    finder = finder or _mtcnn(options.detect_side, options.min_score)
    deadline = Deadline(item.path, options.time_limit, spent)
    if video is None:
        video = _decode(item, options, deadline)
    if isinstance(video, ExtractionError):
        return None, [Failure.from_error(video)]
    try:
        faces = faces_from_video(
            video,
            options.margin,
            options.crop_size,
            finder,
            options.mode,
            options.iou,
            item.video_id,
            deadline,
        )
        failures = []
        masks = [None] * len(faces.tracks)
        if item.label == 1 and item.original is not None and options.masks:
            masks, failure = _masks(faces, item, options, deadline)
            failures += [failure] if failure else []
        deadline.check("the SSIM masks, before writing")
    except ExtractionError as err:
        return None, [Failure.from_error(err)]
    records = [
        TrackRecord(
            video_id=item.video_id,
            crops=t.crops,
            frame_index=t.frame_index,
            boxes=t.boxes,
            landmarks=t.landmarks,
            scores=t.scores,
            label=item.label,
            source_path=str(item.path),
            dataset=item.dataset,
            split=item.split,
            original_id=item.original_id,
            track_id=t.track_id,
            fps=faces.fps,
            frame_count=faces.frame_count,
            crop_margin=options.margin,
            masks=m,
            jpeg_quality=options.jpeg_quality,
        )
        for t, m in zip(faces.tracks, masks)
    ]
    return records, failures


def _masks(faces: VideoFaces, item: LabelledVideo, options: ExtractOptions, deadline: Deadline):
    if not item.original.is_file():
        return [None] * len(faces.tracks), Failure(
            str(item.path),
            "missing_original",
            f"{item.path}: its original {item.original} does not exist; the tracks are "
            "written without SSIM masks",
        )
    try:
        return track_masks(faces, item.original, options.max_side, deadline), None
    except ExtractionError as err:
        return [None] * len(faces.tracks), Failure(
            str(item.path), "original_failed", f"{err} (tracks written without SSIM masks)"
        )


@functools.lru_cache(maxsize=2)
def _mtcnn(detect_side: int, min_score: float) -> FaceFinder:
    return MTCNNFaceFinder(max_side=detect_side, min_score=min_score)


def _unexpected(item: LabelledVideo, err: Exception) -> Failure:
    return Failure(str(item.path), "error", f"{item.path}: {type(err).__name__}: {err}")


def _previous_failures(out_dir: Path, retried: set[str]) -> list[Failure]:
    """Failure rows of earlier runs that still stand (their videos are not retried now).

    Rows with ``format`` ``FAILURES_FORMAT`` hold names as ``display_name`` shows them and
    defused cells; a file written before that column existed (no ``format``) held names
    and messages as they were, so its cells are taken literally (a backslash in such a
    name is a backslash, not the start of an escape).
    """
    path = out_dir / FAILURES_NAME
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row.get("format") == FAILURES_FORMAT:
            row["path"] = parse_display_name(csv_unescape(row.get("path") or ""))
            row["message"] = csv_unescape(row.get("message") or "")
    return [
        Failure(r["path"] or "", r["reason"] or "", r["message"] or "")
        for r in rows
        if r.get("path") not in retried
        and r.get("reason") != "unlabelled"
        and r.get("reason") not in ("unknown_label", "duplicate", "bad_labels", "unsupported")
    ]


def _write_unlabelled(out_dir: Path, paths: list[str]) -> None:
    path = out_dir / UNLABELLED_NAME
    if paths:
        write_text_atomic(path, "".join(f"{display_name(p)}\n" for p in paths))
    else:
        path.unlink(missing_ok=True)


def _write_failures(out_dir: Path, failures: list[Failure]) -> None:
    """``failures.csv``: UTF-8, names as ``display_name`` shows them, formulas defused; the
    ``format`` column marks each row as written so (see ``_previous_failures``)."""
    with atomic_write(out_dir / FAILURES_NAME, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "reason", "message", "format"])
        writer.writerows(
            [*csv_row([display_name(f.path), f.reason, f.message]), FAILURES_FORMAT]
            for f in failures
        )


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="video", desc="extract", disable=not enabled, smoothing=0.1)
