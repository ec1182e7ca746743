"""Faces found by MTCNN in TensorFlow child processes (tfdeepfake.faces.extract_process), as
`detect` does when Keras runs on JAX: the same results as in-process finding, a dead or stuck
child failing only its input, and no child left behind after an exception or Ctrl-C.

These run on the TensorFlow backend with ``Detector(face_processes=True)``: the children are
the same whatever the parent's backend (tests/models/test_jax_backend.py runs `detect` with
the parent on JAX)."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import psutil
import pytest

from tfdeepfake.faces.errors import ExtractionError
from tfdeepfake.inference import Detector


def _gone(pids, timeout=15.0) -> bool:
    """True once no process of ``pids`` is alive (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def detector():
    with Detector(["autoatt_b4_tiny"], allow_untrained=True, frames=4,
                  face_processes=True) as made:
        yield made


def test_child_processes_give_the_in_process_results(detector, sample_media, tmp_path):
    inputs = [str(sample_media["single_face.mp4"]), str(sample_media["no_face.mp4"]),
              str(tmp_path / "missing.mp4"), str(sample_media["multi_face.jpg"])]
    got = detector.predict(inputs, workers=2)
    assert len(detector._face_processes.pids) == 1  # one child, kept for every input
    here = Detector(loaded=detector.models, frames=4, face_processes=False).predict(inputs)
    assert [r.verdict for r in got] == [r.verdict for r in here]
    assert [r.error for r in got] == [r.error for r in here]
    assert got[1].error.startswith("no_face") and got[2].error.startswith("missing")
    for ours, theirs in zip(got, here):
        assert ours.score == theirs.score and len(ours.tracks) == len(theirs.tracks)
        for a, b in zip(ours.tracks, theirs.tracks):
            np.testing.assert_allclose(a.boxes, b.boxes)
            assert a.frame_scores == b.frame_scores
    assert len(got[3].tracks) > 1  # the group photo: several faces came back


def test_an_exception_in_the_caller_ends_the_children(detector, sample_media):
    video = str(sample_media["single_face.mp4"])
    pids = detector._face_processes.pids  # the child of the test above

    def stop(result):
        raise RuntimeError("the caller gave up")

    with pytest.raises(RuntimeError, match="gave up"):
        detector.predict([video] * 3, workers=2, on_result=stop)
    assert pids and _gone(pids)
    assert detector._face_processes is None  # the next input starts a new pool


def test_a_dead_or_stuck_child_fails_only_its_input(detector, sample_media):
    """(Children cost seconds to start: these tests start as few as they can.)"""
    video = str(sample_media["single_face.mp4"])
    assert detector.predict([video])[0].faces == 1  # after the test above: a new child
    pool = detector._face_processes
    (first,) = pool.pids
    options = {"frames": 2, "crop_size": 64, "min_frames": 1}
    outcome = {}

    def busy():
        try:
            pool.extract(video, options)
        except ExtractionError as err:
            outcome["error"] = err

    # Stopped first, so it is still on the input when it is killed (on idle cores the child
    # finished 2 frames within the 0.3 s and nothing died: CI once failed that way).
    os.kill(first, signal.SIGSTOP)
    thread = threading.Thread(target=busy)
    thread.start()
    time.sleep(0.3)
    os.kill(first, signal.SIGKILL)
    thread.join(60)
    assert outcome["error"].reason == "worker_died", outcome
    assert "killed by signal 9" in outcome["error"].detail
    assert pool.pids == [] and _gone([first])

    assert len(pool.extract(video, options).tracks) == 1  # a new child takes the next input
    (second,) = pool.pids
    os.kill(second, signal.SIGSTOP)  # stuck: it never answers
    pool.grace = 0.5
    with pytest.raises(ExtractionError, match="still on this input") as stuck:
        pool.extract(video, {**options, "time_limit": 1.0})
    assert stuck.value.reason == "timeout" and _gone([second]) and pool.pids == []


_INTERRUPTED = """
import sys
from tfdeepfake.inference import Detector

detector = Detector(["autoatt_b4_tiny"], allow_untrained=True, frames=2, face_processes=True)
report = lambda result: print("CHILDREN", *detector._face_processes.pids, flush=True)
detector.predict([sys.argv[1]] * 1000, workers=2, on_result=report)
"""


def test_ctrl_c_leaves_no_child_process(sample_media):
    # SIGINT as a terminal delivers it: pytest-xdist's workers ignore SIGINT, and a child
    # inherits an ignored signal (Python then installs no KeyboardInterrupt handler).
    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPTED,
                             str(sample_media["single_face.mp4"])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = proc.stdout.readline()
        assert line.startswith("CHILDREN "), proc.stderr.read()[-3000:]
        pids = [int(p) for p in line.split()[1:]]
        assert pids and all(psutil.pid_exists(p) for p in pids)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in stderr, stderr[-3000:]
    assert _gone(pids), [psutil.Process(p).cmdline() for p in pids if psutil.pid_exists(p)]


def test_face_processes_with_a_finder_of_ones_own_is_refused():
    from tfdeepfake.faces.finder import FaceFinder

    class NoFaces(FaceFinder):
        def detect(self, frames):
            return []

    with pytest.raises(ValueError, match="one or the other"):
        Detector(["autoatt_b4_tiny"], allow_untrained=True, face_finder=NoFaces(),
                 face_processes=True)
