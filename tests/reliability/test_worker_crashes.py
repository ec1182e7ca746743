"""`extract --workers N`: a worker that dies does not end the batch; the video that kills
workers is quarantined, and later runs skip it."""

import csv
import shutil
from pathlib import Path

import crashing_work

from tfdeepfake.faces.dataset import ExtractOptions, _run, extract_dataset
from tfdeepfake.faces.labels import LabelledVideo


def test_a_dying_worker_is_survived_and_its_video_quarantined():
    names = ["a.mp4", "b.mp4", "crash.mp4", "c.mp4", "d.mp4"]
    todo = [LabelledVideo(Path(n), -1, n[:-4], "") for n in names]
    outcomes = list(_run(todo, ExtractOptions(), 2, None, work=crashing_work.work))
    assert sorted(item.path.name for item, _, _ in outcomes) == sorted(names)  # each once
    by_name = {item.path.name: (records, failures) for item, records, failures in outcomes}
    records, failures = by_name["crash.mp4"]
    assert records is None and [f.reason for f in failures] == ["quarantined"]
    assert all(by_name[n] == ([], []) for n in names if n != "crash.mp4")


def test_a_quarantined_video_is_skipped_by_later_runs(tmp_path, small_video, face_finder):
    root = tmp_path / "in"
    root.mkdir()
    for name in ("ok.mp4", "killer.mp4"):
        shutil.copy(small_video, root / name)
    out = tmp_path / "out"
    out.mkdir()
    with open(out / "failures.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([
            ("path", "reason", "message"),
            (str(root / "killer.mp4"), "quarantined", "workers died on it"),
        ])
    summary = extract_dataset(root, out, options=ExtractOptions(frames=3, crop_size=16),
                              fmt="none", finder=face_finder, progress=False)
    assert summary.extracted == 1 and summary.skipped == 1
    assert [f.reason for f in summary.failures] == ["quarantined"]


def test_a_worker_stuck_past_the_time_limit_is_killed(monkeypatch):
    import tfdeepfake.faces.dataset as dataset

    monkeypatch.setattr(dataset, "KILL_GRACE", 8.0)  # killed 2 x 0.5 + 8 s after it started
    names = ["a.mp4", "hang.mp4", "b.mp4", "c.mp4"]
    todo = [LabelledVideo(Path(n), -1, n[:-4], "") for n in names]
    outcomes = list(_run(todo, ExtractOptions(time_limit=0.5), 2, None, work=crashing_work.work))
    assert sorted(item.path.name for item, _, _ in outcomes) == sorted(names)  # each once
    by_name = {item.path.name: (records, failures) for item, records, failures in outcomes}
    records, failures = by_name["hang.mp4"]
    assert records is None and [f.reason for f in failures] == ["timeout"]
    assert "killed" in failures[0].message and "9 s" in failures[0].message
    assert all(by_name[n] == ([], []) for n in names if n != "hang.mp4")
