"""``tfdeepfake detect --runner ...``: batch scoring as a Beam pipeline with RunInference.

``DetectorModelHandler`` is our own ``ModelHandler`` (Beam's TensorFlow handler cannot
load Keras 3 models): ``load_model`` builds a ``Detector`` (once per worker process: Beam
shares the loaded model), and ``run_inference`` scores each input of a Beam batch with
``Detector.predict_video``, the one-machine scoring, unchanged. Inputs on any Beam
filesystem are copied to a local temporary file first. Results come back as detect's rows:
JSON lines (one ``VideoResult`` per line), the CSV, the JSON document and a summary.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from tfdeepfake.inference.results import VideoResult
from tfdeepfake.pipelines.runners import (
    delete_tree,
    is_remote,
    local_copy,
    read_text_lines,
    running_pipeline,
)

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

    from tfdeepfake.faces.labels import VIDEO_SUFFIXES
    from tfdeepfake.inference.detector import IMAGE_SUFFIXES

    pattern = path if any(c in path for c in "*?[") else path.rstrip("/") + "/**"
    found = sorted(
        m.path for m in FileSystems.match([pattern])[0].metadata_list
        if m.path.lower().endswith((*VIDEO_SUFFIXES, *IMAGE_SUFFIXES))
    )
    return found or [path]


def _handler_class():
    from apache_beam.ml.inference.base import ModelHandler, PredictionResult

    class DetectorModelHandler(ModelHandler):
        """RunInference handler: input paths -> ``PredictionResult`` s whose ``inference``
        is the ``VideoResult`` as a dict; one ``Detector``
        per worker. ``detector_kwargs`` are ``Detector``'s arguments."""

        def __init__(self, max_batch_size: int = 4, **detector_kwargs):
            super().__init__()
            self.detector_kwargs = detector_kwargs
            self.max_batch_size = max_batch_size

        def load_model(self):
            from tfdeepfake.inference import Detector

            return Detector(**self.detector_kwargs)

        def run_inference(self, batch, model, inference_args=None):
            return [PredictionResult(path, score_path(model, path)) for path in batch]

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


def score_path(detector, path: str) -> dict:
    """``detector.predict_video`` on one input (a local copy when remote), as a dict."""
    try:
        with local_copy(path) as local:
            result = detector.predict_video(local)
    except Exception as err:  # the copy failed: an ERROR row, like a bad local file
        result = VideoResult(path=path, error=f"error: {type(err).__name__}: {err}")
    result.path = str(path)
    return result.to_dict()


def result_from_dict(row: dict) -> VideoResult:
    """A ``VideoResult`` back from ``VideoResult.to_dict``."""
    from tfdeepfake.inference.results import TrackResult

    fields = {k: v for k, v in row.items() if k != "label"}
    fields["tracks"] = [TrackResult(**t) for t in fields.get("tracks", [])]
    return VideoResult(**fields)


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
    **limits,
) -> tuple[list[VideoResult], dict]:
    """Score every input with a Beam pipeline; ``(results in input order, run info)``.

    The driver builds the ``Detector`` once to check the weights and describe the run; the
    workers build their own. Writes ``csv_path`` / ``json_path`` / ``jsonl_path`` if given.
    ``limits``: ``Detector``'s per-input limits (``max_frames``, ``max_pixels``,
    ``time_limit``).

    Example::

        results, info = beam_detect(["videos/"], weights="runs/", workers=2,
                                    jsonl_path="scores.jsonl")
    """
    from tfdeepfake.inference import Detector
    from tfdeepfake.inference.outputs import write_csv, write_json

    if runner != "direct" and not jsonl_path:
        raise ValueError(f"--runner {runner}: give --jsonl on storage the workers can write "
                         "(e.g. --jsonl gs://bucket/scores.jsonl); results are staged beside it.")
    kwargs = dict(models=models, weights=weights, frames=frames, threshold=threshold,
                  allow_untrained=allow_untrained, batch_size=batch_size, runtime=runtime,
                  streams=streams, **limits)
    detector = Detector(**kwargs)  # raises here (usage error) rather than on every worker
    info = detector.run_info()
    inputs = expand_paths(paths)
    rows = _run_pipeline(inputs, kwargs, runner, workers, beam_options, videos_per_batch,
                         jsonl_path)
    results = [result_from_dict(row) for row in rows]
    if csv_path:
        write_csv(results, detector.model_names, csv_path)
    if json_path:
        write_json(results, info, json_path)
    return results, info


def _run_pipeline(inputs, kwargs, runner, workers, beam_options, videos_per_batch, jsonl_path):
    """Rows in input order; also written as JSON lines to ``jsonl_path`` (any filesystem)."""
    import tempfile

    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

    scratch = None if jsonl_path else tempfile.mkdtemp(prefix="tfdeepfake-beam-")
    staging = f"{jsonl_path}.parts-{uuid.uuid4().hex[:8]}" if jsonl_path else scratch
    handler = KeyedModelHandler(DetectorModelHandler(videos_per_batch, **kwargs))
    with running_pipeline(runner, workers, beam_options) as pipeline:
        _ = (
            pipeline
            | "Inputs" >> beam.Create(list(enumerate(inputs)))
            | "Spread" >> beam.Reshuffle()
            | "Score" >> RunInference(handler)
            | "Rows" >> beam.MapTuple(lambda index, out: json.dumps(
                {"index": index, **out.inference}))
            | "Write" >> beam.io.WriteToText(FileSystems.join(staging, "rows"), ".jsonl")
        )
    rows = [json.loads(line) for line in read_text_lines(FileSystems.join(staging, "rows*"))]
    rows.sort(key=lambda row: row["index"])
    for row in rows:
        del row["index"]
    delete_tree(staging)
    if jsonl_path:
        with FileSystems.create(jsonl_path) as handle:
            handle.write("".join(json.dumps(r) + "\n" for r in rows).encode("utf-8"))
    return rows
