"""Face extraction in child processes that run TensorFlow, for a parent on another backend.

The default face finder (the mtcnn package) builds its networks with ``tf.keras``, which
follows ``KERAS_BACKEND``: in a process whose Keras runs on JAX it cannot run. ``detect`` on
JAX therefore hands each input's path to a child process started with
``KERAS_BACKEND=tensorflow`` and no visible GPU (``python -m
tfdeepfake.faces.extract_process``: a fresh interpreter, so TensorFlow and ``tf.keras`` are
imported cleanly and a user's script is never re-imported), which decodes, finds, tracks and
crops the faces (``extract_faces``) and sends the ``VideoFaces`` back, while the parent's
accelerator scores the inputs before it. The parent never imports TensorFlow for this.

``FaceProcesses`` is the pool: one child per caller at a time, started on demand and kept
for the next input (building MTCNN takes seconds). A child that dies on an input, or is
still on it ``time_limit + grace`` seconds after it got it, is killed and replaced; that
input alone fails (``ExtractionError`` ``worker_died`` or ``timeout``). Children run in their
own session (Ctrl-C reaches the parent only, which ends them), and end by themselves when
the parent's end of their socket closes; ``close()`` (also run when the pool is collected
and at interpreter exit) kills those left.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from multiprocessing.connection import Connection

from tfdeepfake.faces.errors import ExtractionError

START_LIMIT = 600.0  # seconds a child may take to import TensorFlow and build MTCNN
KILL_GRACE = 30.0  # past an input's time limit before its child is killed


class FaceProcessError(RuntimeError):
    """A face-finding child process could not be started (TensorFlow or mtcnn missing?)."""


class _Child:
    """One child process and the parent's end of its socket."""

    def __init__(self):
        parent_end, child_end = socket.socketpair()
        self.log = tempfile.TemporaryFile()  # the child's stderr, quoted when it dies
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "CUDA_VISIBLE_DEVICES": "",
               "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        with child_end:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(child_end.fileno())],
                env=env, pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL,
                stdout=self.log, stderr=self.log, start_new_session=True,
            )
        self.connection = Connection(parent_end.detach())
        self.ready = False

    def reply(self, limit: float | None):
        """The child's next message; ``TimeoutError`` after ``limit`` s, ``EOFError`` when
        it died."""
        deadline = None if limit is None else time.monotonic() + limit
        while not self.connection.poll(1.0):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError
        return self.connection.recv()

    def why_dead(self) -> str:
        """The exit status and last stderr line of a child that ended."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        code = self.process.returncode
        self.log.seek(0)
        lines = [line for line in self.log.read().decode(errors="replace").splitlines()
                 if line.strip()]
        status = "still running" if code is None else (
            f"killed by signal {-code}" if code < 0 else f"exit status {code}")
        return status + (f"; its last words: {lines[-1].strip()}" if lines else "")

    def stop(self) -> None:
        """Kill the process (from any thread: its caller then reads EOF)."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def kill(self) -> None:
        """Kill the process and close its socket and log (by the thread that owns it)."""
        self.stop()
        self.connection.close()
        self.log.close()


def _stop_all(children: set) -> None:
    for child in list(children):
        child.stop()
    children.clear()


class FaceProcesses:
    """``extract_faces`` run in TensorFlow child processes; callable from several threads.

    Args:
        grace: seconds past an input's ``time_limit`` before its child is killed.

    Example::

        with FaceProcesses() as pool:
            faces = pool.extract("clip.mp4", {"frames": 16, "crop_size": 224})
    """

    def __init__(self, grace: float = KILL_GRACE):
        self.grace = grace
        self._idle: list[_Child] = []
        self._children: set[_Child] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._finalizer = weakref.finalize(self, _stop_all, self._children)

    @property
    def pids(self) -> list[int]:
        """Process ids of the children alive now."""
        with self._lock:
            return [c.process.pid for c in self._children]

    def extract(self, path, options: dict):
        """``extract_faces(path, **options)`` in a child (the default finder there).

        Raises what ``extract_faces`` raises, ``ExtractionError`` ``worker_died`` when the
        child dies and ``timeout`` when it is still busy ``options["time_limit"] + grace``
        seconds later, and ``FaceProcessError`` when no child can start.
        """
        child = self._checkout()
        limit = options.get("time_limit")
        try:
            if not child.ready:
                self._wait_ready(child)
            child.connection.send((str(path), options))
            kind, payload = child.reply(None if limit is None else limit + self.grace)
        except TimeoutError:
            self._discard(child)
            raise ExtractionError(
                "timeout", str(path), f"the face-finding process was still on this input "
                f"after {limit + self.grace:g} s (--time-limit plus {self.grace:g} s; stuck "
                "in the decoder?); it was killed and the batch carried on") from None
        except (EOFError, OSError):
            reason = child.why_dead()
            self._discard(child)
            raise ExtractionError(
                "worker_died", str(path), f"the face-finding process died on this input "
                f"({reason}); a new one takes the next input") from None
        except BaseException:
            self._discard(child)
            raise
        self._checkin(child)
        if kind == "ok":
            return payload
        if kind == "extraction_error":
            raise ExtractionError(*payload)
        raise ExtractionError("error", str(path), payload)

    def prestart(self) -> None:
        """Start a child now (it imports TensorFlow and builds MTCNN while the caller does
        something else, e.g. loads the models); the next ``extract`` takes it."""
        with self._lock:
            if not self._closed and not self._idle:
                child = _Child()
                self._children.add(child)
                self._idle.append(child)

    def _wait_ready(self, child: _Child) -> None:
        try:
            kind, payload = child.reply(START_LIMIT)
        except (EOFError, OSError, TimeoutError):
            payload = child.why_dead()
            kind = "failed"
        if kind != "ready":
            raise FaceProcessError(
                "The face-finding process (MTCNN on TensorFlow, run beside the "
                f"{os.environ.get('KERAS_BACKEND', 'jax')} backend) did not start: {payload}. "
                "Install the TensorFlow and mtcnn packages (pip install tfdeepfake), or pass "
                "Detector(face_finder=...) a FaceFinder that does not use Keras.")
        child.ready = True

    def _checkout(self) -> _Child:
        with self._lock:
            if self._closed:
                raise RuntimeError("This FaceProcesses pool is closed.")
            if self._idle:
                return self._idle.pop()
            child = _Child()
            self._children.add(child)
            return child

    def _checkin(self, child: _Child) -> None:
        with self._lock:
            if self._closed:
                child.kill()
            else:
                self._idle.append(child)

    def _discard(self, child: _Child) -> None:
        with self._lock:
            self._children.discard(child)
        child.kill()

    def close(self) -> None:
        """Kill every child (the busy ones too: their callers get ``worker_died``)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()
        self._finalizer()

    def __enter__(self) -> FaceProcesses:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serve(connection: Connection) -> None:
    """The child's loop: ``(path, options)`` in, ``(kind, payload)`` out, until EOF."""
    import keras

    from tfdeepfake.faces.extraction import default_face_finder, extract_faces

    try:
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(f"Keras runs on {keras.backend.backend()!r} in the child")
        finder = default_face_finder()
    except Exception as err:  # reported to the parent, which names the fix
        connection.send(("failed", f"{type(err).__name__}: {err}"))
        return
    connection.send(("ready", os.getpid()))
    while True:
        try:
            path, options = connection.recv()
        except (EOFError, OSError):  # the parent closed its end or died
            return
        try:
            reply = ("ok", extract_faces(path, finder=finder, **options))
        except ExtractionError as err:
            reply = ("extraction_error", (err.reason, err.path, err.detail))
        except Exception as err:  # this input fails; the child serves the next
            reply = ("error", f"{type(err).__name__}: {err}")
        try:
            connection.send(reply)
        except OSError:
            return


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    serve(Connection(int(sys.argv[1])))
