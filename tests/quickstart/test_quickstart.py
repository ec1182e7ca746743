"""The README's first command, shrunk: every stage of `tfdeepfake quickstart` runs and
leaves what the README says it leaves."""

import csv
import json
import os

from tfdeepfake.quickstart import QuickstartOptions, run_quickstart


def test_quickstart_runs_every_stage_on_real_sample_videos(sample_media, tmp_path):
    out = tmp_path / "qs"
    summary = run_quickstart(QuickstartOptions(
        # The quickstart validates (and refreshes BatchNorm) every max(steps // 3, 1) steps:
        # 2 steps still give two validations to pick the best of; each more costs ~7 s.
        out=str(out), steps=2, clip_frames=6, frames=3, max_clips=2,
        models=("autoatt_b4_tiny",),
    ))
    for split in ("train", "val", "test"):
        assert any(f.endswith(".tfrecord") for f in os.listdir(out / "shards" / split))
    assert (out / "runs" / "autoatt_b4_tiny" / "best.weights.h5").is_file()
    assert 0.0 <= summary["aucs"]["autoatt_b4_tiny"] <= 1.0
    metrics = json.loads((out / "evaluation" / "autoatt_b4_tiny" / "metrics.json").read_text())
    assert metrics["video"]
    # detect ran on the held-out recording's real clips and their fakes, all scored.
    rows = list(csv.DictReader(open(out / "detect.csv")))
    assert len(rows) == summary["videos"] == 4
    assert {r["verdict"] for r in rows} <= {"REAL", "FAKE"}
    truth = list(csv.DictReader(open(out / "videos" / "test" / "labels.csv")))
    assert sorted(r["label"] for r in truth) == ["FAKE", "FAKE", "REAL", "REAL"]
    assert (out / "report" / "index.html").is_file()
    assert summary["correct"] == sum(
        r["verdict"] == t["label"] for r, t in zip(rows, truth)
    )
