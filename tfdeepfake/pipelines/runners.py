"""Which Beam runner runs a pipeline, with the user's ``--beam-option K=V`` passed through.

``direct`` is Beam's FnApiRunner on this machine (``workers`` SDK worker processes); it is
built explicitly because Beam 2.77's DirectRunner first tries to download its Prism runner
binary (offline it fails, logs and falls back). ``dataflow``, ``flink`` and ``spark`` hand
the pipeline to those services; they need their own set-up (see docs/scale.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence

RUNNERS = {"direct": None, "dataflow": "DataflowRunner", "flink": "FlinkRunner",
           "spark": "SparkRunner"}


def parse_beam_options(pairs: Sequence[str]) -> list[str]:
    """``["project=p", "region=europe-west1"]`` -> Beam flags ``["--project=p", ...]``."""
    flags = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not key:
            raise ValueError(
                f"--beam-option {pair!r} is not KEY=VALUE; write e.g. "
                "--beam-option temp_location=gs://bucket/tmp (Beam's option names)."
            )
        flags.append(f"--{key}={value}")
    return flags


def pipeline_options(runner: str, workers: int = 1, beam_options: Sequence[str] = ()):
    """The ``PipelineOptions`` of a run: the runner, the worker count and the user's flags."""
    from apache_beam.options.pipeline_options import PipelineOptions

    if runner not in RUNNERS:
        raise ValueError(f"runner must be one of {', '.join(RUNNERS)}, got {runner!r}.")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}.")
    flags = parse_beam_options(beam_options)
    if runner == "direct":
        mode = "multi_processing" if workers > 1 else "in_memory"
        defaults = [f"--direct_running_mode={mode}", f"--direct_num_workers={workers}"]
    else:
        defaults = [f"--runner={RUNNERS[runner]}"]
    return PipelineOptions(defaults + flags)


def make_pipeline(runner: str, workers: int = 1, beam_options: Sequence[str] = ()):
    """A ``beam.Pipeline`` for ``runner`` (the local FnApiRunner for ``direct``)."""
    import apache_beam as beam

    options = pipeline_options(runner, workers, beam_options)
    if runner == "direct":
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)


@contextlib.contextmanager
def running_pipeline(runner: str, workers: int = 1, beam_options: Sequence[str] = ()):
    """``make_pipeline`` as a ``with`` block that runs the pipeline on exit; a local run with
    worker processes is watched: one that dies stops the run (``WorkerLostError``)."""
    from tfdeepfake.pipelines.worker_watch import watch_workers

    pipeline = make_pipeline(runner, workers, beam_options)
    with watch_workers(enabled=runner == "direct" and workers > 1), pipeline:
        yield pipeline


def is_remote(path: str) -> bool:
    """True for a path with a scheme Beam's filesystems resolve (gs://, s3://, hdfs://...)."""
    return "://" in str(path)


@contextlib.contextmanager
def local_copy(path: str) -> Iterator[str]:
    """A local file for ``path``: itself when local, else a temporary copy (OpenCV and
    FFmpeg read local files only); the copy is deleted afterwards."""
    if not is_remote(path):
        yield str(path)
        return
    from apache_beam.io.filesystems import CompressionTypes, FileSystems

    suffix = os.path.splitext(path)[1]
    handle, local = tempfile.mkstemp(suffix=suffix, prefix="tfdeepfake-")
    try:
        raw = CompressionTypes.UNCOMPRESSED
        with os.fdopen(handle, "wb") as out, FileSystems.open(path, compression_type=raw) as source:
            shutil.copyfileobj(source, out, 1 << 20)
        yield local
    finally:
        os.unlink(local)


def read_text_lines(pattern: str) -> list[str]:
    """Every line of the files matching ``pattern`` (any Beam filesystem), in file order."""
    from apache_beam.io.filesystems import FileSystems

    lines = []
    for match in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(match.path) as handle:
            lines += handle.read().decode("utf-8").splitlines()
    return [line for line in lines if line.strip()]


def delete_tree(path: str) -> None:
    """Delete a folder on any Beam filesystem (no error when it is gone)."""
    from apache_beam.io.filesystems import FileSystems

    if FileSystems.exists(path):
        FileSystems.delete([path])
