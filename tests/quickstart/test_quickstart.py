"""The README's first command, shrunk: every stage of `tfdeepfake quickstart` runs and
leaves what the README says it leaves."""

import csv
import json
import os

import pytest

from tfdeepfake.cli import main
from tfdeepfake.quickstart import QuickstartOptions, check_options, run_quickstart


def test_quickstart_runs_every_stage_on_real_sample_videos(sample_media, tmp_path):
    out = tmp_path / "qs"
    # An earlier run's output (from before the quickstart.json marker): replaced, as a
    # re-run of the README's `tfdeepfake quickstart` replaces quickstart/.
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"seed": 1, "steps": 300, "aucs": {},
                                                  "threshold": 0.5}))
    (out / "stale.txt").write_text("from the earlier run")
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
    assert not (out / "stale.txt").exists()
    marker = json.loads((out / "quickstart.json").read_text())
    assert marker["written_by"] == "tfdeepfake quickstart"
    check_options(QuickstartOptions(out=str(out)))  # so the next run may replace it


def test_a_folder_the_quickstart_did_not_write_is_refused_and_kept(tmp_path, capsys):
    victim = tmp_path / "thesis"
    victim.mkdir()
    (victim / "precious.txt").write_text("years of work")
    assert main(["quickstart", "--out", str(victim), "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert f"--out {victim} is not empty" in err and "Give another --out" in err
    with pytest.raises(ValueError, match="holds no earlier quickstart output"):
        run_quickstart(QuickstartOptions(out=str(victim), steps=1))
    assert [p.name for p in victim.iterdir()] == ["precious.txt"]
    assert (victim / "precious.txt").read_text() == "years of work"


@pytest.mark.parametrize(("argv", "message"), [
    (["--steps", "0"], "argument --steps: must be a whole number >= 1"),
    (["--steps", "-5"], "argument --steps: must be a whole number >= 1"),
    (["--frames", "0"], "argument --frames: must be a whole number >= 1"),
    (["--seed", "-1"], "seed must be a whole number >= 0, got -1"),
    (["--models", "bogus"], "'bogus' is not one of the quickstart's tiny presets"),
    (["--models", "autoatt_b4"], "A full-size preset would train for hours on CPU"),
    (["--models", "b7_ssim_tiny", "b7_ssim_tiny"], "b7_ssim_tiny is given twice"),
    (["--frames", "4"], "resnet_lstm_tiny takes clips of 8 frames: frames must be >= 8"),
])
def test_bad_arguments_exit_2_before_anything_is_written(argv, message, tmp_path, capsys):
    out = tmp_path / "qs"
    try:
        code = main(["quickstart", "--out", str(out), "--offline", *argv])
    except SystemExit as exit:  # refused by the argument parser
        code = exit.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_empty_folder_is_accepted(tmp_path):
    check_options(QuickstartOptions(out=str(tmp_path)))
