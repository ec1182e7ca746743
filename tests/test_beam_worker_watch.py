"""A local Beam worker process that dies stops the run with a clear error instead of a hang."""

import faulthandler
import os
import signal
import threading
import time

import pytest

pytest.importorskip("apache_beam")


def _kill_one_worker_when_busy(killed: list) -> None:
    """SIGKILL one of the two Python worker processes once both run."""
    from tfdeepfake.pipelines.worker_watch import worker_processes

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pythons = [p for p in worker_processes() if p.name().startswith("python")]
        if len(pythons) == 2:
            time.sleep(1.0)  # both have taken work
            killed.append(pythons[0].pid)
            os.kill(pythons[0].pid, signal.SIGKILL)
            return
        time.sleep(0.1)


def test_a_killed_worker_stops_the_run_and_its_other_workers():
    import apache_beam as beam

    from tfdeepfake.pipelines.runners import running_pipeline
    from tfdeepfake.pipelines.worker_watch import WorkerLostError, worker_processes

    killed, hook_before = [], threading.excepthook
    threading.Thread(target=_kill_one_worker_when_busy, args=(killed,), daemon=True).start()
    faulthandler.dump_traceback_later(240, exit=True)  # a hang fails the run, not blocks it
    try:
        started = time.monotonic()
        with pytest.raises(WorkerLostError, match="run the same command again to resume"):
            with running_pipeline("direct", 2) as pipeline:
                _ = (pipeline | beam.Create([0.5] * 200) | beam.Reshuffle()
                     | beam.Map(time.sleep))
        stopped_after = time.monotonic() - started
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert killed, "no worker process was seen to kill"
    assert stopped_after < 100  # the 200 half-second sleeps alone take 50 s per worker
    assert worker_processes() == []  # the surviving worker was ended too
    # The hooks are restored: a later pipeline runs normally.
    with running_pipeline("direct", 2) as pipeline:
        _ = pipeline | beam.Create([1, 2]) | beam.Map(abs)
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    assert threading.excepthook is hook_before
