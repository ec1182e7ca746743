"""`Detector`: videos (or images) in, a verdict per input out, with per-model and per-frame
scores. The same extraction (`tfdeepfake.faces.extract_faces`) and the same re-crop and
normalisation as training are used, so inference cannot drift from what models learnt."""

from __future__ import annotations

import itertools
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from tfdeepfake.faces.crop import STORED_MARGIN, crop_size_for
from tfdeepfake.faces.deadline import TIME_LIMIT, Deadline
from tfdeepfake.faces.errors import ExtractionError
from tfdeepfake.faces.media import is_media, media_kind
from tfdeepfake.faces.video import MAX_FRAMES, MAX_PIXELS, check_count
from tfdeepfake.inference.models import LoadedModel, load_models
from tfdeepfake.inference.report import report_folder, write_input_report
from tfdeepfake.inference.results import ERROR, NO_FACE, TrackResult, VideoResult
from tfdeepfake.scoring.aggregation import VideoScore, aggregate_tracks, ensemble, logit
from tfdeepfake.version import __version__


class Detector:
    """Score videos and images with one or several detectors and their ensemble.

    Args:
        models: preset names (default: those found in ``weights``, else the paper's three).
        weights: a run folder, a folder of run folders (``tfdeepfake train`` or
            ``tfdeepfake weights import`` output) or a list of them; see also
            ``Detector.from_pretrained``.
        frames: frames sampled per video (default: the largest ``frames`` of the presets).
        threshold: ensemble probability at or above which a video is FAKE.
        allow_untrained: run models without weights on random init; every verdict is then
            labelled UNTRAINED.
        face_finder: a ``tfdeepfake.faces.FaceFinder`` (default: MTCNN; when Keras runs on
            another backend than TensorFlow, MTCNN in TensorFlow child processes: see
            ``tfdeepfake.faces.extract_process``; ``close()`` ends them).
        face_processes: run the default face finder in TensorFlow child processes (default:
            when Keras runs on another backend than TensorFlow, where it must).
        batch_size: faces per forward pass.
        runtime: ``"keras"`` or ``"tflite"`` (``weights`` is then a folder of ``.tflite``
            files from ``tfdeepfake export``; run by LiteRT, TensorFlow-free).
        streams: forward passes run at once (default: 2 on the TensorFlow backend, else
            1). The models of a track and the batches of a model are scored on this many
            threads; two keep both cores of a small CPU busy (one pass alone leaves them
            waiting on each other between ops). Per-model seconds in ``timings`` then
            overlap.
        max_side: frames are shrunk to this long side on decoding (for scoring and for the
            report alike).
        max_frames, max_pixels: limits per input (see ``read_video``); an input past one
            gets an ERROR row (``too_large``).
        time_limit: seconds one input may take for decoding, face detection and scoring
            together (default 600; None: no limit); past it the input gets an ERROR row
            ``timeout`` (see ``tfdeepfake.faces.deadline``: checked between frames and
            batches; time waiting for a worker thread is not counted).

    Example:
        >>> detector = Detector(weights="runs/")
        >>> result = detector.predict_video("clip.mp4")
        >>> result.verdict, result.score, result.model_scores
    """

    def __init__(
        self,
        models: Sequence[str] | None = None,
        weights: str | Sequence[str] | None = None,
        *,
        frames: int | None = None,
        threshold: float = 0.5,
        allow_untrained: bool = False,
        face_finder=None,
        batch_size: int = 8,
        runtime: str = "keras",
        loaded: Sequence[LoadedModel] | None = None,
        streams: int | None = None,
        max_side: int | None = 1920,
        max_frames: int = MAX_FRAMES,
        max_pixels: int | None = MAX_PIXELS,
        time_limit: float | None = TIME_LIMIT,
        face_processes: bool | None = None,
    ):
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be strictly between 0 and 1, got {threshold}.")
        for name, value, optional in (
            ("frames", frames, True), ("batch_size", batch_size, False),
            ("max_side", max_side, True), ("max_frames", max_frames, False),
            ("max_pixels", max_pixels, True),
        ):
            check_count(name, value, optional)
        if isinstance(models, (str, os.PathLike)):
            models = [os.fspath(models)]
        if weights is not None and not isinstance(weights, (str, os.PathLike, Sequence)):
            raise TypeError(f"weights must be a folder path or a list of them, got "
                            f"{type(weights).__name__} {weights!r}.")
        import keras

        self._out_of_process = _faces_out_of_process(
            face_finder, face_processes, keras.backend.backend())
        if streams is None:
            streams = 2 if keras.backend.backend() == "tensorflow" else 1
        if streams < 1:
            raise ValueError(f"streams must be >= 1, got {streams}.")
        self._lock = threading.Lock()
        self._face_processes = None
        if self._out_of_process:  # its first child starts while the models load
            self._face_process_pool().prestart()
        try:
            self.models = list(loaded) if loaded else load_models(
                models, weights, allow_untrained, runtime
            )
            self.frames = frames or max(m.preset.frames for m in self.models)
            Deadline("", time_limit)  # raises on a time limit <= 0
        except BaseException:
            self.close()
            raise
        self.threshold = threshold
        self.batch_size = batch_size
        self.streams = int(streams)
        self._face_finder = face_finder
        self.crop_size = crop_size_for([m.preset for m in self.models])
        self.max_side, self.max_frames = max_side, max_frames
        self.max_pixels, self.time_limit = max_pixels, time_limit

    @classmethod
    def from_pretrained(cls, name: str, download: bool = True, **kwargs) -> Detector:
        """A detector running pretrained bundle ``name`` (``tfdeepfake pretrained`` lists them).

        The first use downloads, verifies and imports the bundle into the cache (printing
        size and licences); later uses are offline. ``download=False`` raises
        ``PretrainedNotCached`` (with the command that fetches it) instead of downloading.
        Other keyword arguments are ``Detector``'s.

        Example:
            >>> detector = Detector.from_pretrained("dfdc-lite")
            >>> detector.predict_video("clip.mp4").verdict
        """
        from tfdeepfake.weights.pretrained import prepare_bundle

        return cls(weights=prepare_bundle(name, download=download), **kwargs)

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def untrained(self) -> bool:
        return any(not m.trained for m in self.models)

    def run_info(self) -> dict:
        """What produced the results: for the JSON document and the report."""
        import keras

        return {
            "tfdeepfake_version": __version__,
            "backend": keras.backend.backend(),
            "threshold": self.threshold,
            "frames": self.frames,
            "models": [
                {"name": m.name, "trained": m.trained, "weights": m.source,
                 "contract": m.preset.contract()}
                for m in self.models
            ],
        }

    @property
    def face_finder(self):
        """The face finder of this process (built on first use), or None when faces are
        found in TensorFlow child processes (Keras on another backend: see
        ``tfdeepfake.faces.extract_process``)."""
        if self._out_of_process:
            return None
        if self._face_finder is None:
            from tfdeepfake.faces.extraction import default_face_finder

            self._face_finder = default_face_finder()
        return self._face_finder

    def predict(
        self,
        paths: Iterable[str] | str,
        progress: bool = False,
        report_dir: str | None = None,
        workers: int | None = None,
        done: Mapping[str, VideoResult] | None = None,
        on_result: Callable[[VideoResult], None] | None = None,
        expand: bool = True,
    ) -> list[VideoResult]:
        """Score every input; a failing input gets an ERROR/NO_FACE result, never an exception.

        ``paths``: files, folders and globs (expanded by ``expand_inputs``; files in a
        folder that are neither video nor image are named in a warning), or one of them.
        ``expand=False``: ``paths`` is already ``expand_inputs``' list (as ``detect`` makes
        it), scored as it is, so no folder is walked and no file named twice.

        With ``report_dir``, each scored input also gets a score plot and heatmap videos
        there (see ``tfdeepfake.inference.report``); the caller writes the index page.
        ``workers > 1`` decodes and finds faces in the next ``workers - 1`` inputs on
        threads while the models score the current one (TensorFlow and OpenCV release the
        GIL); at most ``workers`` extracted inputs are held in memory. Default 1, or 2 when
        faces are found in child processes (the threads then only wait for them).
        ``done``: results of an earlier, interrupted run by path (reused, not scored again);
        ``on_result`` is called with each new result as soon as it is finished.
        """
        if expand:
            left_out: list[str] = []
            paths = expand_inputs(paths, left_out)
            if left_out:
                warnings.warn(left_out_message(left_out), UserWarning, stacklevel=2)
        paths = list(paths)
        if workers is None:
            workers = 2 if self._out_of_process else 1
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}.")
        done = done or {}
        results: list[VideoResult | None] = [done.get(str(p)) for p in paths]
        todo = [i for i, r in enumerate(results) if r is None]
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(paths), initial=len(paths) - len(todo), desc="detect",
                       unit="input")
        outcomes = self._extractions([paths[i] for i in todo], workers)
        try:
            for index, (path, extracted) in zip(todo, outcomes):
                folder = None
                if report_dir:
                    folder = report_folder(report_dir, VideoResult(str(path)), index)
                results[index] = self.predict_video(path, report_folder=folder,
                                                    extracted=extracted)
                if on_result is not None:
                    on_result(results[index])
                if bar is not None:
                    bar.update(1)
        finally:  # now, not when a traceback holding this frame is collected
            outcomes.close()
        if bar is not None:
            bar.close()
        return results

    def _extractions(self, paths: list[str], workers: int):
        """``(path, (faces or the exception, seconds))`` in order, ``workers`` in flight."""
        if workers == 1:
            for path in paths:
                yield path, None
            return
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers - 1, thread_name_prefix="extract") as pool:
            pending = deque()
            try:
                for path in paths:
                    pending.append((path, pool.submit(self._extract_outcome, path)))
                    if len(pending) >= workers:
                        done_path, future = pending.popleft()
                        yield done_path, future.result()
                while pending:
                    done_path, future = pending.popleft()
                    yield done_path, future.result()
            except BaseException as stopped:  # Ctrl-C, or the caller stopped early: no
                if pending or not isinstance(stopped, GeneratorExit):  # thread waits on faces
                    for _, future in pending:  # nobody will score
                        future.cancel()
                    self.close()
                raise

    def _extract_outcome(self, path) -> tuple:
        """``(faces or the exception raised, seconds)``: errors travel to ``predict_video``."""
        start = time.perf_counter()
        try:
            return self.extract(path, media_kind(path)), time.perf_counter() - start
        except Exception as err:  # re-raised in predict_video, where it becomes a result
            return err, time.perf_counter() - start

    def predict_video(
        self, path: str | os.PathLike, report_folder=None, extracted: tuple | None = None,
        on_progress=None,
    ) -> VideoResult:
        """Score one video or image. Errors are reported in the result, not raised.

        With ``report_folder``, a scored input also gets its plot and heatmap videos there.
        ``extracted``: ``(faces or exception, seconds)`` already computed for ``path``.
        ``on_progress(stage, info)`` is told ``("faces", {"faces": n})`` once faces are
        found, ``("model", {"model": name, "done": k, "total": n})`` as each model finishes
        a track, and ``("report", {})`` before the report is written.
        """
        start = time.perf_counter()
        kind = media_kind(path)
        result = VideoResult(path=str(path), kind=kind, untrained=self.untrained)
        try:
            faces, seconds = extracted or self._extract_outcome(path)
            result.timings["faces"] = seconds
            if isinstance(faces, Exception):
                raise faces
            if on_progress:
                on_progress("faces", {"faces": len(faces.tracks)})
            deadline = Deadline(path, self.time_limit, spent=seconds)
            self.score_faces(faces, result, on_progress, deadline)
            if report_folder is not None:
                if on_progress:
                    on_progress("report", {})
                began = time.perf_counter()
                try:
                    write_input_report(
                        self.models, self.threshold, faces, result, Path(report_folder),
                        limits={"max_side": self.max_side, "max_pixels": self.max_pixels,
                                "time_limit": self.time_limit},
                    )
                except Exception as err:  # the verdict stands; the report says what failed
                    result.report["error"] = f"{type(err).__name__}: {err}"
                result.timings["report"] = time.perf_counter() - began
        except ExtractionError as err:
            result.verdict = NO_FACE if err.reason == "no_face" else ERROR
            result.error = f"{err.reason}: {err.detail}"
        except Exception as err:  # a batch carries on; the reason is kept in the result
            result.verdict = ERROR
            result.error = f"error: {type(err).__name__}: {err}"
        result.seconds = time.perf_counter() - start
        if extracted is not None:  # extraction ran earlier, on a worker thread
            result.seconds += result.timings.get("faces", 0.0)
        return result

    def extract(self, path, kind: str = "video"):
        """Decode, detect and track faces, cut with ``STORED_MARGIN`` (see module docstring)."""
        options = {
            "frames": 1 if kind == "image" else self.frames,
            "margin": STORED_MARGIN,
            "crop_size": self.crop_size,
            "min_frames": 1,
            "max_side": self.max_side,
            "max_frames": self.max_frames,
            "max_pixels": self.max_pixels,
            "time_limit": self.time_limit,
        }
        if self._out_of_process:
            return self._face_process_pool().extract(path, options)
        from tfdeepfake.faces.extraction import extract_faces

        return extract_faces(path, finder=self.face_finder, **options)

    def _face_process_pool(self):
        """The ``FaceProcesses`` that find faces for this detector (made on first use)."""
        with self._lock:
            if self._face_processes is None:
                from tfdeepfake.faces.extract_process import FaceProcesses

                self._face_processes = FaceProcesses()
            return self._face_processes

    def close(self) -> None:
        """End the face-finding child processes, if any (a later input starts new ones).
        Also done when the detector is collected and at exit."""
        with self._lock:
            processes, self._face_processes = self._face_processes, None
        if processes is not None:
            processes.close()

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def score_faces(self, faces, result: VideoResult, on_progress=None,
                    deadline: Deadline | None = None) -> None:
        """Fill ``result`` from extracted faces: every track scored by every model.

        ``on_progress``: see ``predict_video``. ``deadline``: the input's clock, read
        before each batch (raises ``ExtractionError("timeout")`` past it).
        """
        result.frames_used = len(faces.sampled_indices)
        result.faces = len(faces.tracks)
        result.media = {
            "fps": faces.fps, "width": faces.frame_size[1], "height": faces.frame_size[0],
            "frame_count": faces.frame_count, "duration": faces.duration,
            "rotation": faces.rotation,
        }
        track_results, track_scores = [], []
        total, done = len(faces.tracks) * len(self.models), itertools.count(1)

        def score(loaded, track):
            scored = self._timed_score(loaded, track.crops, faces.margin, track.landmarks,
                                       track.boxes, deadline)
            if on_progress:
                on_progress("model", {"model": loaded.name, "done": next(done), "total": total})
            return scored

        for track in faces.tracks:
            scored = self._map(lambda loaded, track=track: score(loaded, track), self.models)
            model_scores, frame_scores = {}, {}
            for loaded, (video_score, frame_probs, seconds) in zip(self.models, scored):
                result.timings[loaded.name] = result.timings.get(loaded.name, 0.0) + seconds
                model_scores[loaded.name] = video_score
                frame_scores[loaded.name] = frame_probs
            verdict = ensemble(model_scores, self.threshold)
            track_scores.append(VideoScore(float(logit(verdict.probability)), verdict.probability))
            track_results.append(TrackResult(
                track_id=track.track_id,
                frame_indices=[int(i) for i in track.frame_index],
                boxes=np.round(track.boxes, 2).tolist(),
                model_scores=model_scores,
                frame_scores=frame_scores,
                score=verdict.probability,
            ))
        best, _ = aggregate_tracks(track_scores)
        verdict = ensemble(track_results[best].model_scores, self.threshold)
        result.tracks = track_results
        result.model_scores = dict(track_results[best].model_scores)
        result.score = verdict.probability
        result.confidence = verdict.confidence
        result.verdict = verdict.label

    def _map(self, fn, items: Sequence) -> list:
        """``[fn(item) for item in items]``, on ``streams`` threads when there are several.

        Each call gets its own short-lived pool, so a model's batches (mapped from inside
        a model's thread) never wait on a pool their own thread occupies.
        """
        if self.streams == 1 or len(items) < 2:
            return [fn(item) for item in items]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(self.streams, len(items)), thread_name_prefix="score") as pool:
            return list(pool.map(fn, items))

    def _timed_score(self, loaded: LoadedModel, crops: np.ndarray, stored_margin: float,
                     landmarks: np.ndarray | None = None, boxes: np.ndarray | None = None,
                     deadline: Deadline | None = None):
        began = time.perf_counter()
        video, frames = self.score_track(loaded, crops, stored_margin, landmarks, boxes,
                                         deadline)
        return video, frames, time.perf_counter() - began

    def score_track(self, loaded: LoadedModel, crops: np.ndarray, stored_margin: float,
                    landmarks: np.ndarray | None = None, boxes: np.ndarray | None = None,
                    deadline: Deadline | None = None):
        """One model on one track: ``(video probability, per-frame probabilities)``.

        A model with several members (seeds) averages their probabilities. ``landmarks``
        (T, 10) in crop pixels are needed by ``crop_mode="aligned"`` presets (GenD), the face
        ``boxes`` (T, 4) in frame pixels by ``crop_mode="stretch"`` ones (imported
        ResNeXt-LSTM weights). ``deadline`` is read before each member and each batch.
        """
        deadline = deadline or Deadline(loaded.name, None)

        def checked_map(fn, items):
            def run(item):
                deadline.check(f"scoring with {loaded.name}")
                return fn(item)
            return self._map(run, items)

        scored = []
        for member in loaded.members:
            deadline.check(f"scoring with {loaded.name}")
            scored.append(member.score(crops, stored_margin, landmarks, self.batch_size,
                                       checked_map, boxes))
        video = float(np.mean([v for v, _ in scored]))
        frames = np.array([f for _, f in scored], np.float64)
        with warnings.catch_warnings():  # frames no member scored stay NaN -> None
            warnings.simplefilter("ignore", RuntimeWarning)
            frames = np.nanmean(frames, axis=0)
        return video, [None if np.isnan(p) else float(p) for p in frames]


def _faces_out_of_process(face_finder, face_processes: bool | None, backend: str) -> bool:
    """Whether the default face finder runs in TensorFlow child processes; raises, naming
    the fix, for a choice that cannot run. mtcnn builds its networks with tf.keras, which
    follows KERAS_BACKEND: on another backend it can only run in a child process."""
    import importlib.util

    if face_processes is None:
        face_processes = face_finder is None and backend != "tensorflow"
    if face_processes and face_finder is not None:
        raise ValueError("face_processes=True runs the default MTCNN finder in child "
                         "processes; a face_finder given runs in this process: pass one or "
                         "the other.")
    if not face_processes and face_finder is None and backend != "tensorflow":
        raise RuntimeError(
            f"Keras runs on {backend!r} here (KERAS_BACKEND), where the default face finder "
            "(mtcnn, built with tf.keras) cannot run in this process: leave face_processes "
            "at its default (MTCNN then runs in TensorFlow child processes), or pass "
            "Detector(face_finder=...) a FaceFinder that does not use Keras.")
    missing = [m for m in ("tensorflow", "mtcnn") if importlib.util.find_spec(m) is None]
    if face_processes and missing:
        raise RuntimeError(
            f"Faces are found by MTCNN in TensorFlow child processes (Keras runs on "
            f"{backend!r} here), but {' and '.join(missing)} cannot be imported. Install "
            "them (pip install tfdeepfake installs both), or pass Detector(face_finder=...) "
            "a FaceFinder that does not use Keras.")
    return face_processes


def expand_inputs(paths: Sequence[str] | str, left_out: list[str] | None = None) -> list[str]:
    """Files, folders (their videos and images, sorted) and globs -> a list of input paths.

    In a folder, a file is an input when its name or its content says video or image (a
    video named ``.dat`` too); the other files (hidden ones aside) are appended to
    ``left_out`` when a list is given, so a caller can say which. Folders and ``**`` globs
    follow symlinked folders, each real folder once (see ``tfdeepfake.safeio.walk_files``):
    a link loop cannot explode the list. A path that matches nothing is kept as given, so it
    gets an ERROR row ("missing") instead of vanishing.
    """
    from tfdeepfake.safeio import glob_files, walk_files

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in map(os.fspath, paths):
        if os.path.isdir(p):
            files = walk_files(p)
            found = [f for f in files if is_media(f)]
            if left_out is not None:
                chosen = set(found)
                left_out += [f for f in files if f not in chosen and not _hidden(f, p)]
            out.extend(found or [p])
        elif any(c in p for c in "*?[") and not os.path.exists(p):
            out.extend(glob_files(p) or [p])
        else:
            out.append(p)
    return out


def left_out_message(left_out: list[str]) -> str:
    """What to tell a user about folder files that are not inputs."""
    from tfdeepfake.safeio import display_name

    shown = ", ".join(display_name(p) for p in left_out[:5])
    more = f" and {len(left_out) - 5} more" if len(left_out) > 5 else ""
    return (f"left out {len(left_out)} file(s) in the input folders that are neither video nor "
            f"image: {shown}{more}. Pass a file by name to have it tried anyway.")


def _hidden(path: str, root: str) -> bool:
    return any(part.startswith(".") for part in Path(os.path.relpath(path, root)).parts)
