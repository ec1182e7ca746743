"""``tfdeepfake detect --runner ...``: batch scoring as a Beam pipeline with RunInference.

``DetectorModelHandler`` is our own ``ModelHandler`` (Beam's TensorFlow handler cannot
load Keras 3 models): ``load_model`` builds a ``Detector`` (once per worker process: Beam
shares the loaded model), and ``run_inference`` scores each input of a Beam batch with
``Detector.predict_video``, the one-machine scoring, unchanged. Inputs on any Beam
filesystem are copied to a local temporary file first. Results come back as detect's rows:
JSON lines (one ``VideoResult`` per line), the CSV, the JSON document and a summary.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Sequence

from tfdeepfake.inference.outputs import ResultJournal
from tfdeepfake.inference.results import VideoResult
from tfdeepfake.pipelines.runners import (
    delete_tree,
    is_remote,
    local_copy,
    read_text_lines,
    running_pipeline,
)
from tfdeepfake.safeio import write_text_atomic

LIST_SUFFIXES = (".txt", ".lst")


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Files, folders, globs (local or on a Beam filesystem) and list files (``.txt``: one
    input per line) -> the inputs; a name that matches nothing is kept (it gets an ERROR row)."""
    from tfdeepfake.inference.detector import expand_inputs

    out = []
    for path in paths:
        if str(path).lower().endswith(LIST_SUFFIXES):
            out += expand_paths(read_text_lines(str(path)))
        elif is_remote(path):
            out += _match_remote(path)
        else:
            out += expand_inputs([path])
    return out


def _match_remote(path: str) -> list[str]:
    from apache_beam.io.filesystems import FileSystems

    from tfdeepfake.faces.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

    pattern = path if any(c in path for c in "*?[") else path.rstrip("/") + "/**"
    found = sorted(
        m.path for m in FileSystems.match([pattern])[0].metadata_list
        if m.path.lower().endswith((*VIDEO_SUFFIXES, *IMAGE_SUFFIXES))
    )
    return found or [path]


def _handler_class():
    from apache_beam.ml.inference.base import ModelHandler, PredictionResult

    class DetectorModelHandler(ModelHandler):
        """RunInference handler: input paths (or ``(path, report folder)`` pairs) ->
        ``PredictionResult`` s whose ``inference`` is the ``VideoResult`` as a dict; one
        ``Detector`` per worker. ``detector_kwargs`` are ``Detector``'s arguments."""

        def __init__(self, max_batch_size: int = 4, **detector_kwargs):
            super().__init__()
            self.detector_kwargs = detector_kwargs
            self.max_batch_size = max_batch_size

        def load_model(self):
            from tfdeepfake.inference import Detector

            return Detector(**self.detector_kwargs)

        def run_inference(self, batch, model, inference_args=None):
            return [PredictionResult(item, score_path(model, *_path_and_folder(item)))
                    for item in batch]

        def batch_elements_kwargs(self):
            return {"min_batch_size": 1, "max_batch_size": self.max_batch_size}

        def get_metrics_namespace(self) -> str:
            return "tfdeepfake_detect"

    return DetectorModelHandler


def DetectorModelHandler(max_batch_size: int = 4, **detector_kwargs):  # noqa: N802
    """A RunInference ``ModelHandler`` over ``Detector`` (see the module docstring).

    Example::

        handler = DetectorModelHandler(weights="runs/", frames=8)
        results = paths | RunInference(handler)  # .inference: VideoResult dicts
    """
    return _handler_class()(max_batch_size, **detector_kwargs)


def _path_and_folder(item) -> tuple[str, str | None]:
    return (item, None) if isinstance(item, str) else tuple(item)


def score_path(detector, path: str, report_folder: str | None = None) -> dict:
    """``detector.predict_video`` on one input (a local copy when remote), as a dict; with
    ``report_folder``, its plot and heatmap videos are written there (``detect --report``)."""
    try:
        with local_copy(path) as local:
            result = detector.predict_video(local, report_folder=report_folder)
    except Exception as err:  # the copy failed: an ERROR row, like a bad local file
        result = VideoResult(path=path, error=f"error: {type(err).__name__}: {err}")
    result.path = str(path)
    return result.to_dict()


def journal_for(*outputs: str | None) -> ResultJournal | None:
    """detect's resume journal beside the first local output given (None for none, or when
    the outputs are on another filesystem: workers there cannot append to it)."""
    given = next((o for o in outputs if o), None)
    return None if given is None or is_remote(given) else ResultJournal.beside(given)


def _journaled(keyed, journal_path: str):
    """Append a finished row to the journal (on the worker, as soon as it is scored)."""
    ResultJournal(journal_path).append(VideoResult.from_dict(keyed[1].inference))
    return keyed


def beam_detect(
    paths: Sequence[str],
    models: Sequence[str] | None = None,
    weights: str | None = None,
    *,
    frames: int | None = None,
    threshold: float = 0.5,
    allow_untrained: bool = False,
    batch_size: int = 8,
    runtime: str = "keras",
    streams: int | None = None,
    runner: str = "direct",
    workers: int = 2,
    beam_options: Sequence[str] = (),
    videos_per_batch: int = 4,
    csv_path: str | None = None,
    json_path: str | None = None,
    jsonl_path: str | None = None,
    report_dir: str | None = None,
    **limits,
) -> tuple[list[VideoResult], dict]:
    """Score every input with a Beam pipeline; ``(results in input order, run info)``.

    The driver builds the ``Detector`` once to check the weights and describe the run; the
    workers build their own. Writes ``csv_path`` / ``json_path`` / ``jsonl_path`` if given,
    and with ``report_dir`` (a folder the workers see) ``detect --report``'s per-input plots
    and heatmap videos and its ``index.html``. As ``detect`` does, each finished row is
    appended to the journal ``FILE.partial.jsonl`` beside the first local output (under
    its lock: one run per output) and the run resumes from it; it is deleted once the
    outputs are written. ``limits``: ``Detector``'s per-input limits (``max_frames``,
    ``max_pixels``, ``time_limit``).

    Example::

        results, info = beam_detect(["videos/"], weights="runs/", workers=2,
                                    jsonl_path="scores.jsonl")
    """
    from tfdeepfake.inference import Detector
    from tfdeepfake.inference.outputs import write_csv, write_json
    from tfdeepfake.inference.report import write_index

    if runner != "direct" and not jsonl_path:
        raise ValueError(f"--runner {runner}: give --jsonl on storage the workers can write "
                         "(e.g. --jsonl gs://bucket/scores.jsonl); results are staged beside it.")
    if report_dir and is_remote(report_dir):
        raise ValueError(f"--report {report_dir}: the report is written with local files "
                         "(plots, videos); give a folder every worker mounts (see docs/scale.md).")
    kwargs = dict(models=models, weights=weights, frames=frames, threshold=threshold,
                  allow_untrained=allow_untrained, batch_size=batch_size, runtime=runtime,
                  streams=streams, **limits)
    detector = Detector(**kwargs)  # raises here (usage error) rather than on every worker
    info = detector.run_info()
    inputs = expand_paths(paths)
    journal = journal_for(csv_path, json_path, jsonl_path)
    with journal.lock() if journal else contextlib.nullcontext():
        done = journal.resume(info) if journal else {}
        todo = [(i, path) for i, path in enumerate(inputs) if path not in done]
        rows = _run_pipeline(todo, kwargs, runner, workers, beam_options, videos_per_batch,
                             report_dir, journal, jsonl_path) if todo else {}
        results = [done.get(path) or VideoResult.from_dict(rows[i])
                   for i, path in enumerate(inputs)]
        if jsonl_path:
            _write_jsonl(results, jsonl_path)
        if csv_path:
            write_csv(results, detector.model_names, csv_path)
        if json_path:
            write_json(results, info, json_path)
        if journal:
            journal.remove()
    if report_dir:
        info["report"] = write_index(results, report_dir, info["models"], detector.threshold)
    return results, info


def _write_jsonl(results: Sequence[VideoResult], path: str) -> None:
    """One ``VideoResult.to_dict()`` per line, written whole, on any Beam filesystem."""
    from apache_beam.io.filesystems import FileSystems

    text = "".join(json.dumps(r.to_dict()) + "\n" for r in results)
    if is_remote(path):
        with FileSystems.create(path) as handle:
            handle.write(text.encode("utf-8"))
    else:
        write_text_atomic(path, text)


def _run_pipeline(todo, kwargs, runner, workers, beam_options, videos_per_batch, report_dir,
                  journal, jsonl_path):
    """``{index: row}`` for the ``(index, path)`` s in ``todo``; each row is appended to
    ``journal`` on the worker as soon as it is scored. Rows are staged beside
    ``jsonl_path`` (storage the workers can write), else in a local temporary folder."""
    import tempfile

    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

    from tfdeepfake.inference.report import report_folder

    def with_folder(index, path):
        if not report_dir:
            return index, path
        return index, (path, str(report_folder(report_dir, VideoResult(path), index)))

    staging = (f"{jsonl_path}.parts-{uuid.uuid4().hex[:8]}" if jsonl_path
               else tempfile.mkdtemp(prefix="tfdeepfake-beam-"))
    handler = KeyedModelHandler(DetectorModelHandler(videos_per_batch, **kwargs))
    try:
        with running_pipeline(runner, workers, beam_options) as pipeline:
            scored = (
                pipeline
                | "Inputs" >> beam.Create([with_folder(i, p) for i, p in todo])
                | "Spread" >> beam.Reshuffle()
                | "Score" >> RunInference(handler)
            )
            if journal:
                scored = scored | "Journal" >> beam.Map(_journaled, journal.path)
            _ = (
                scored
                | "Rows" >> beam.MapTuple(lambda index, out: json.dumps(
                    {"index": index, **out.inference}))
                | "Write" >> beam.io.WriteToText(FileSystems.join(staging, "rows"), ".jsonl")
            )
        rows = [json.loads(line) for line in read_text_lines(FileSystems.join(staging, "rows*"))]
    finally:
        delete_tree(staging)
    return {row.pop("index"): row for row in rows}
