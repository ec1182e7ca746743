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

The input, labels and output may also be on any Beam filesystem (gs://, s3://, hdfs://):
videos are copied to local temporary files for decoding and shards are written locally and
uploaded whole, with a manifest the driver assembles (``remote_folder``). A local ``out_dir``
used by Dataflow, Flink or Spark must be a shared mount every worker sees (docs/scale.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
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
from tfdeepfake.pipelines import remote_folder
from tfdeepfake.pipelines.runners import (
    delete_tree,
    is_remote,
    read_text_lines,
    running_pipeline,
)
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
            self.writer = self.local_dir = None
            self.done = set()

        def start_bundle(self):
            self.writer = self.local_dir = None

        def _open_writer(self):
            """A writer into ``out_dir``, or for a remote one into a local folder whose
            shards ``finish_bundle`` uploads; reads what is done now (a retry skips it)."""
            from tfrecords_tools.writer import ShardedWriter

            folder, prefix = self.out_dir, "tracks"
            if is_remote(self.out_dir):
                self.done = remote_folder.done_videos(self.out_dir)
                self.local_dir = tempfile.mkdtemp(prefix="tfdeepfake-shards-")
                folder, prefix = self.local_dir, f"tracks_{uuid.uuid4().hex[:12]}"
            self.writer = ShardedWriter(folder, prefix, max_shard_bytes=self.max_shard_bytes)

        def process(self, element):
            _, videos = element
            if self.writer is None:
                self._open_writer()
            for item in sorted(videos, key=lambda v: v.label):  # originals first
                if self.writer.has(item.video_id) or item.video_id in self.done:
                    continue
                try:
                    records, failures = _process(item, self.options)
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
            if self.local_dir is not None:
                remote_folder.upload_shards(Path(self.local_dir), self.out_dir)
                shutil.rmtree(self.local_dir, ignore_errors=True)
                self.local_dir = None

    return _ExtractGroup


def _process(item: LabelledVideo, options: ExtractOptions):
    """``process_video``; a remote video (and original) is read from a local copy, and
    failure rows name the remote file."""
    if not is_remote(str(item.path)):
        return process_video(item, options)
    with contextlib.ExitStack() as stack:
        names = {}
        local = stack.enter_context(remote_folder.local_video(str(item.path)))
        names[str(local)] = str(item.path)
        original = None
        if item.original is not None:
            original = stack.enter_context(remote_folder.local_video(str(item.original)))
            names[str(original)] = str(item.original)
        records, failures = process_video(
            dataclasses.replace(item, path=local, original=original), options)
    return records, [dataclasses.replace(f, path=names.get(str(f.path), f.path))
                     for f in failures]


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
    summary.json (see the module docstring). ``input_path``, ``labels`` and ``out_dir`` may
    be local paths or URLs of any Beam filesystem (``gs://B/videos``).

    Example::

        summary = beam_extract_dataset("videos/", "shards/", runner="direct", workers=2)
        summary = beam_extract_dataset("gs://B/videos", "gs://B/shards", runner="dataflow",
                                       beam_options=["project=P", "region=R"])
        print(summary.format())
    """
    options = options or ExtractOptions()
    started = time.perf_counter()
    out = str(out_dir)
    with contextlib.ExitStack() as stack:
        source, source_labels = input_path, labels
        if is_remote(str(input_path)):
            source, source_labels = stack.enter_context(remote_folder.mirrored_input(
                str(input_path), None if labels is None else str(labels)))
        elif labels is not None and is_remote(str(labels)):
            raise ValueError(f"--labels {labels}: labels on another filesystem go with an "
                             "input folder there too (or copy the labels file here).")
        # before --out is made: an input without videos leaves nothing behind
        videos, label_failures = load_labels(source, source_labels, dataset=dataset,
                                             split=split, fmt=fmt,
                                             exclude=None if is_remote(out) else out)
        if source != input_path:  # the mirror's paths -> the remote names
            videos = [dataclasses.replace(
                v, path=_remote(v.path, source, input_path),
                original=v.original and _remote(v.original, source, input_path))
                for v in videos]
            label_failures = [dataclasses.replace(f, path=_remote(f.path, source, input_path))
                              for f in label_failures]
        if is_remote(out):
            stack.enter_context(remote_folder.remote_lock(out))  # one run per output folder
            stage = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tfdeepfake-")))
            remote_folder.pull(out, stage)
        else:
            stage = Path(out)
            stage.mkdir(parents=True, exist_ok=True)
            stack.enter_context(folder_lock(stage, "extraction"))  # one run per output folder
        summary = _extract(videos, label_failures, stage, out, options, runner, workers,
                           beam_options, max_shard_bytes)
        summary.seconds = time.perf_counter() - started
        write_text_atomic(stage / SUMMARY_NAME, json.dumps(summary.to_dict(), indent=2) + "\n")
        if is_remote(out):
            remote_folder.push(stage, out)
    return summary


def _remote(path, mirror: Path, input_url) -> str:
    return remote_folder.remote_of(path, mirror, str(input_url))


def _extract(videos, label_failures, stage: Path, out: str, options, runner, workers,
             beam_options, max_shard_bytes) -> ExtractSummary:
    """Skip what the manifest in ``stage`` holds, write the driver's files there and run the
    pipeline on the rest, writing shards into ``out``; the summary (without its time)."""
    from tfrecords_tools.writer import read_manifest

    done = {v for entry in read_manifest(stage) for v in entry.get("videos", [])}
    todo = [v for v in videos if v.video_id not in done]
    summary = ExtractSummary(out_dir=out, videos=len(videos), skipped=len(videos) - len(todo))
    summary.unlabelled = [f.path for f in label_failures if f.reason == "unlabelled"]
    summary.failures = _previous_failures(stage, {str(v.path) for v in todo}) + [
        f for f in label_failures if f.reason != "unlabelled"
    ]
    _write_unlabelled(stage, summary.unlabelled)
    _write_failures(stage, summary.failures)
    if todo:
        stats, failures = _run_pipeline(todo, out, options, runner, workers, beam_options,
                                        max_shard_bytes)
        for row in stats:
            summary.extracted += row["extracted"]
            summary.tracks += row["tracks"]
            summary.faces += row["faces"]
            summary.masked_tracks += row["masked_tracks"]
        summary.failures += failures
        _write_failures(stage, summary.failures)
    return summary


def _run_pipeline(todo, out: str, options, runner, workers, beam_options, max_shard_bytes):
    """Run the pipeline; its per-video stats and failures, read back from staged files
    (on this machine for the local runner, else beside the output, where workers write)."""
    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems

    staging = (tempfile.mkdtemp(prefix="tfdeepfake-beam-") if runner == "direct"
               else FileSystems.join(out, _STAGING, uuid.uuid4().hex[:12]))
    try:
        with running_pipeline(runner, workers, beam_options) as pipeline:
            outputs = (
                pipeline
                | "Videos" >> beam.Create(todo)
                | "Extract" >> extract_transform(out, options, max_shard_bytes)
            )
            for tag in ("done", FAILURES_TAG):
                _ = (
                    outputs[tag]
                    | f"{tag}Json" >> beam.Map(json.dumps)
                    | f"Write{tag}" >> beam.io.WriteToText(FileSystems.join(staging, tag),
                                                           ".jsonl")
                )
        stats = [json.loads(line)
                 for line in read_text_lines(FileSystems.join(staging, "done*"))]
        failures = [Failure(**json.loads(line))
                    for line in read_text_lines(FileSystems.join(staging, f"{FAILURES_TAG}*"))]
    finally:  # a stopped run leaves no staged rows behind either
        delete_tree(staging)
    return stats, sorted(failures, key=lambda f: f.path)
