"""`extract --workers N` when a worker dies, replayed deterministically with a scripted
executor: the interleaving CI once hit (the pool broke while a good result was handed out,
so the next ``submit`` raised ``BrokenProcessPool``), and the rule that a suspect of an
earlier crash runs alone."""

import concurrent.futures
import concurrent.futures.process
from pathlib import Path

import pytest

from tfdeepfake.faces import dataset
from tfdeepfake.faces.dataset import ExtractOptions, _run
from tfdeepfake.faces.labels import LabelledVideo

Broken = concurrent.futures.process.BrokenProcessPool


class ScriptedPool:
    """Stands in for ``ProcessPoolExecutor``. Pool k (in the order they are built) kills a
    worker on the videos named in ``killers[k]``: the pool breaks while the next result is
    handed out, so that video's future raises ``BrokenProcessPool`` and so does every later
    ``submit``. ``log`` records each submit with the videos in flight beside it."""

    killers: list[set] = []
    built: list["ScriptedPool"] = []
    log: list[tuple[int, str, tuple]] = []

    def __init__(self, workers, mp_context=None):
        self.index = len(self.built)
        self.kills = self.killers[self.index] if self.index < len(self.killers) else set()
        self.killer_started = self.broken = False
        self.in_flight: list[str] = []
        self.built.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, work, item, options):
        if self.broken:
            raise Broken("A child process terminated abruptly")
        name = item.path.name
        self.log.append((self.index, name, tuple(self.in_flight)))
        self.in_flight.append(name)
        self.killer_started |= name in self.kills
        return _Handed(self, name)


class _Handed(concurrent.futures.Future):
    def __init__(self, pool, name):
        super().__init__()
        self.pool, self.name = pool, name

    def result(self, timeout=None):
        self.pool.broken |= self.pool.killer_started  # it died while results were handed out
        self.pool.in_flight.remove(self.name)
        if self.name in self.pool.kills:
            raise Broken("A child process terminated abruptly")
        return [], []


@pytest.fixture
def scripted(monkeypatch):
    ScriptedPool.built, ScriptedPool.log = [], []
    monkeypatch.setattr(dataset.concurrent.futures, "ProcessPoolExecutor", ScriptedPool)
    return ScriptedPool


def _outcomes(names):
    todo = [LabelledVideo(Path(n), -1, n[:-4], "") for n in names]
    out = _run(todo, ExtractOptions(time_limit=None), 2, None, work=lambda *a: None)
    return {item.path.name: (records, [f.reason for f in fails]) for item, records, fails in out}


def test_a_submit_into_a_broken_pool_keeps_the_video_and_the_killer_is_quarantined(scripted):
    names = ["a.mp4", "kill.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4"]
    scripted.killers = [{"kill.mp4"}, {"kill.mp4"}]
    outcomes = _outcomes(names)
    assert sorted(outcomes) == sorted(names)  # every video once, none lost
    assert outcomes["kill.mp4"] == (None, ["quarantined"])
    assert all(outcomes[n] == ([], []) for n in names if n != "kill.mp4")
    first_pool = [name for pool, name, _ in scripted.log if pool == 0]
    assert first_pool == ["a.mp4", "kill.mp4", "b.mp4", "c.mp4"]  # d's submit raised: kept


def test_a_pool_broken_with_nothing_in_flight_is_rebuilt(scripted, monkeypatch):
    scripted.killers = []
    real_submit = ScriptedPool.submit

    def first_pool_broken(self, work, item, options):
        if self.index == 0:
            raise Broken("A child process terminated abruptly")
        return real_submit(self, work, item, options)

    monkeypatch.setattr(ScriptedPool, "submit", first_pool_broken)
    assert _outcomes(["a.mp4", "b.mp4"]) == {"a.mp4": ([], []), "b.mp4": ([], [])}
    assert len(scripted.built) == 2


def test_a_suspect_runs_alone(scripted):
    names = ["a.mp4", "kill.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4", "f.mp4"]
    scripted.killers = [{"kill.mp4"}, {"kill.mp4"}]
    outcomes = _outcomes(names)
    assert outcomes["kill.mp4"] == (None, ["quarantined"])
    suspects = {"kill.mp4", "b.mp4", "c.mp4"}  # in flight when the first worker died
    for pool, name, beside in scripted.log:
        if pool > 0:
            assert not (suspects & {name} and beside), f"suspect {name} ran beside {beside}"
            assert not (suspects & set(beside)), f"{name} was started beside suspect {beside}"
