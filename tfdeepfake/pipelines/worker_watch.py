"""Stop a local multi-process Beam run cleanly when one of its worker processes dies.

Beam 2.77's FnApiRunner (``--runner direct --workers N``, N > 1) starts each SDK worker as
a subprocess and waits on it in a thread; when one dies (SIGKILL, out of memory) that
thread raises "Worker subprocess exited with return code N" and the driver then waits for
the dead worker's answers forever. ``watch_workers`` notices that thread's error through
``threading.excepthook``, interrupts the driver's main thread (SIGUSR1), ends the other
worker processes (so none of them writes after the driver has given up) and raises
``WorkerLostError``. What the workers completed stays: whole shards in the manifest, rows in
the scoring journal; running the same command again resumes.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

WORKER_DIED = "Worker subprocess exited with return code"  # Beam's SubprocessSdkWorker
WORKER_MODULE = "apache_beam.runners.worker.sdk_worker_main"


class WorkerLostError(RuntimeError):
    """A local Beam worker process died; the run was stopped with its other workers."""


def worker_processes() -> list:
    """This process's Beam SDK worker processes (``psutil.Process`` es, shells included)."""
    import psutil

    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(WORKER_MODULE in part for part in child.cmdline()):
                found.append(child)
    return found


def stop_workers() -> None:
    """SIGKILL every Beam worker process of this process and wait until they are gone."""
    import psutil

    workers = worker_processes()
    for process in workers:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(workers, timeout=30)


@contextlib.contextmanager
def watch_workers(enabled: bool = True) -> Iterator[None]:
    """Raise ``WorkerLostError`` in the main thread if a Beam worker process dies meanwhile.

    A no-op when not ``enabled`` or outside the main thread (only the main thread can be
    interrupted by a signal handler).
    """
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    main_thread = threading.get_ident()
    lock = threading.Lock()
    state = {"armed": True, "died": None}
    previous_hook = threading.excepthook

    def on_thread_error(args):
        if WORKER_DIED not in str(args.exc_value):
            previous_hook(args)
            return
        with lock:  # the first death interrupts; those of the workers we end are expected
            if state["armed"] and state["died"] is None:
                state["died"] = str(args.exc_value).strip()
                signal.pthread_kill(main_thread, signal.SIGUSR1)

    def on_signal(signum, frame):
        stop_workers()
        raise WorkerLostError(
            f"a local Beam worker process died ({state['died']}: killed, or out of memory); "
            "the run was stopped and its other workers ended. Work already completed is "
            "kept (whole shards in the manifest, scored rows in the journal): run the same "
            "command again to resume, with fewer --workers if memory ran out."
        )

    previous_signal = signal.signal(signal.SIGUSR1, on_signal)
    threading.excepthook = on_thread_error
    try:
        yield
    finally:
        with lock:
            state["armed"] = False
        threading.excepthook = previous_hook
        signal.signal(signal.SIGUSR1, previous_signal)
