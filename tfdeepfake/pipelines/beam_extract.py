"""``tfdeepfake extract --runner ...``: extraction as a Beam pipeline over the same code.

The driver lists and labels the videos (``load_labels``) and drops those already in the
shard manifest, as ``extract_dataset`` does. The pipeline groups each fake with its original
(key: the original's id), so one worker reads both for the SSIM masks, and runs
``process_video`` on every video: the one-machine extraction, unchanged. Each bundle writes
through its own ``ShardedWriter``: shards appear whole (temporary file, then rename) and the
manifest gets a line per completed shard under a lock, so workers share the folder safely;
a bundle that is retried skips the videos its earlier attempt already completed. Failures
leave the ``process_video`` step as a side output and end in ``failures.csv`` with the same
reasons; ``summary.json`` is written as by ``extract_dataset``.

Shards and the manifest are written with POSIX files and locks: on Dataflow, Flink or
Spark, ``out_dir`` must be a shared mount every worker sees (see docs/scale.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from tfdeepfake.faces.dataset import (
    _FINAL_REASONS,
    SUMMARY_NAME,
    ExtractOptions,
    ExtractSummary,
    _previous_failures,
    _unexpected,
    _write_failures,
    _write_unlabelled,
    process_video,
)
from tfdeepfake.faces.errors import Failure
from tfdeepfake.faces.labels import LabelledVideo, load_labels
from tfdeepfake.pipelines.runners import is_remote, read_text_lines, running_pipeline
from tfdeepfake.safeio import folder_lock, write_text_atomic

FAILURES_TAG = "failures"
_STAGING = ".beam"


def group_key(video: LabelledVideo) -> str:
    """A fake with a known original is keyed by the original's id, every other video by
    its own: a fake and its original meet in one group (one worker)."""
    if video.label == 1 and video.original_id:
        return video.original_id
    return video.video_id


def _extract_group_fn():
    import apache_beam as beam

    class _ExtractGroup(beam.DoFn):
        """(key, videos) -> one stats dict per video written; failures tagged aside."""

        def __init__(self, out_dir: str, options: ExtractOptions, max_shard_bytes: int):
            self.out_dir = out_dir
            self.options = options
            self.max_shard_bytes = max_shard_bytes
            self.writer = None

        def start_bundle(self):
            self.writer = None

        def process(self, element):
            from tfrecords_tools.writer import ShardedWriter

            _, videos = element
            if self.writer is None:  # read the manifest as it is now (a retry skips)
                self.writer = ShardedWriter(self.out_dir, max_shard_bytes=self.max_shard_bytes)
            for item in sorted(videos, key=lambda v: v.label):  # originals first
                if self.writer.has(item.video_id):
                    continue
                try:
                    records, failures = process_video(item, self.options)
                except Exception as err:  # a video fails, the pipeline carries on
                    records, failures = None, [_unexpected(item, err)]
                if records is not None:
                    self.writer.write_video(item.video_id, records)
                elif any(f.reason in _FINAL_REASONS for f in failures):
                    self.writer.write_video(item.video_id, [])
                for failure in failures:
                    yield beam.pvalue.TaggedOutput(FAILURES_TAG, dataclasses.asdict(failure))
                yield {
                    "video_id": item.video_id,
                    "extracted": records is not None,
                    "tracks": len(records or []),
                    "faces": sum(len(r.crops) for r in records or []),
                    "masked_tracks": sum(r.masks is not None for r in records or []),
                }

        def finish_bundle(self):
            if self.writer is not None:
                self.writer.close()  # rename to a whole shard + manifest line
                self.writer = None

    return _ExtractGroup


def extract_transform(out_dir: str, options: ExtractOptions, max_shard_bytes: int = 64 * 2**20):
    """The Beam ``PTransform``: ``LabelledVideo`` s in, ``{"done": stats, "failures": rows}``
    out (write them, or use ``beam_extract_dataset`` which does)."""
    import apache_beam as beam

    fn = _extract_group_fn()(str(out_dir), options, max_shard_bytes)

    @beam.ptransform_fn
    def ExtractVideos(videos):  # noqa: N802 (Beam transform naming)
        return (
            videos
            | "KeyByOriginal" >> beam.Map(lambda v: (group_key(v), v))
            | "GroupFakesWithOriginals" >> beam.GroupByKey()
            | "ExtractAndWrite" >> beam.ParDo(fn).with_outputs(FAILURES_TAG, main="done")
        )

    return ExtractVideos()


def beam_extract_dataset(
    input_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    options: ExtractOptions | None = None,
    runner: str = "direct",
    workers: int = 2,
    beam_options: Sequence[str] = (),
    dataset: str | None = None,
    split: str | None = None,
    fmt: str | None = None,
    max_shard_bytes: int = 64 * 2**20,
) -> ExtractSummary:
    """``extract_dataset`` as a Beam pipeline: the same shards, manifest, failures.csv and
    summary.json (see the module docstring).

    Example::

        summary = beam_extract_dataset("videos/", "shards/", runner="direct", workers=2)
        print(summary.format())
    """
    from tfrecords_tools.writer import read_manifest

    for path, what in ((input_path, "input"), (out_dir, "--out"), (labels, "--labels")):
        if path is not None and is_remote(str(path)):
            raise ValueError(
                f"{what} {path}: extraction lists, labels and writes shards through POSIX "
                "files; use a folder every worker mounts (e.g. gcsfuse, NFS), see docs/scale.md."
            )
    options = options or ExtractOptions()
    out_dir = Path(out_dir)
    started = time.perf_counter()
    videos, label_failures = load_labels(input_path, labels, dataset=dataset, split=split, fmt=fmt)
    out_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(out_dir, "extraction"):  # one run per output folder
        done = {v for entry in read_manifest(out_dir) for v in entry.get("videos", [])}
        todo = [v for v in videos if v.video_id not in done]
        summary = ExtractSummary(out_dir=str(out_dir), videos=len(videos),
                                 skipped=len(videos) - len(todo))
        summary.unlabelled = [f.path for f in label_failures if f.reason == "unlabelled"]
        summary.failures = _previous_failures(out_dir, {str(v.path) for v in todo}) + [
            f for f in label_failures if f.reason != "unlabelled"
        ]
        _write_unlabelled(out_dir, summary.unlabelled)
        _write_failures(out_dir, summary.failures)
        if todo:
            stats, failures = _run_pipeline(todo, out_dir, options, runner, workers, beam_options,
                                            max_shard_bytes)
            for row in stats:
                summary.extracted += row["extracted"]
                summary.tracks += row["tracks"]
                summary.faces += row["faces"]
                summary.masked_tracks += row["masked_tracks"]
            summary.failures += failures
            _write_failures(out_dir, summary.failures)
        summary.seconds = time.perf_counter() - started
        write_text_atomic(out_dir / SUMMARY_NAME, json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


def _run_pipeline(todo, out_dir: Path, options, runner, workers, beam_options, max_shard_bytes):
    """Run the pipeline; its per-video stats and failures, read back from staged files."""
    import apache_beam as beam

    staging = out_dir / _STAGING / uuid.uuid4().hex[:12]
    try:
        with running_pipeline(runner, workers, beam_options) as pipeline:
            outputs = (
                pipeline
                | "Videos" >> beam.Create(todo)
                | "Extract" >> extract_transform(str(out_dir), options, max_shard_bytes)
            )
            for tag in ("done", FAILURES_TAG):
                _ = (
                    outputs[tag]
                    | f"{tag}Json" >> beam.Map(json.dumps)
                    | f"Write{tag}" >> beam.io.WriteToText(str(staging / tag), ".jsonl")
                )
        stats = [json.loads(line) for line in read_text_lines(str(staging / "done*"))]
        failures = [Failure(**json.loads(line))
                    for line in read_text_lines(str(staging / f"{FAILURES_TAG}*"))]
    finally:  # a stopped run leaves no staged rows behind either
        shutil.rmtree(staging, ignore_errors=True)
    return stats, sorted(failures, key=lambda f: f.path)
