"""The report folder: metrics.json, the CSVs and the plots from a table of frame logits."""

import csv
import json

import numpy as np
import pytest
from sklearn import metrics as skm

from tfdeepfake.evaluation.report import FramePredictions, video_scores, write_report


def _predictions(seed=0):
    """6 videos over 2 datasets; video v2 has two tracks; one unlabelled video."""
    rng = np.random.default_rng(seed)
    rows = []
    spec = [  # dataset, split, video, label, tracks, mean logit per track
        ("dfdc", "test", "v0", 0, [-2.0]),
        ("dfdc", "test", "v1", 1, [1.5]),
        ("dfdc", "test", "v2", 1, [-1.0, 3.0]),
        ("ffpp", "val", "v0", 0, [0.5]),
        ("ffpp", "val", "v4", 1, [0.2]),
        ("ffpp", "val", "u", -1, [0.0]),
    ]
    for dataset, split, vid, label, means in spec:
        for t, mu in enumerate(means):
            for f in range(5):
                rows.append((dataset, split, vid, t, f * 3, label, mu + rng.normal(0, 0.3)))
    cols = list(zip(*rows))
    return FramePredictions(*[np.array(c) for c in cols])


def test_video_scores_take_most_suspicious_track():
    frames = _predictions()
    rows = {(r["dataset"], r["video_id"]): r for r in video_scores(frames, ["mean_logit"])}
    assert len(rows) == 6  # ("dfdc", "v0") and ("ffpp", "v0") are different videos
    v2 = rows[("dfdc", "v2")]
    assert v2["tracks"] == 2 and v2["frames"] == 10 and v2["mean_logit_track"] == 1
    track1 = frames.logit[(frames.video_id == "v2") & (frames.track_id == 1)]
    assert v2["mean_logit_logit"] == pytest.approx(track1.mean())


def test_write_report(tmp_path):
    frames = _predictions()
    doc = write_report(frames, tmp_path, primary="confident", info={"model": "tiny"})
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "metrics.json",
        "per_frame.csv",
        "per_video.csv",
        "roc.png",
        "confusion_frame.png",
        "confusion_video.png",
        "hist_frame.png",
        "hist_video.png",
    } <= names
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["model"] == "tiny" and saved["primary_aggregation"] == "confident"
    assert "sequence" not in saved["aggregations"] and "mean_logit" in saved["aggregations"]
    # Frame level: 30 labelled frames, 5 unlabelled kept out, AUC as sklearn computes it.
    keep = frames.label >= 0
    assert saved["frame"]["unlabelled"] == 5 and saved["frame"]["overall"]["n"] == 30
    assert saved["frame"]["overall"]["auc"] == pytest.approx(
        skm.roc_auc_score(frames.label[keep], frames.logit[keep])
    )
    assert set(saved["frame"]["by_dataset"]) == {"dfdc", "ffpp"}
    assert set(saved["frame"]["by_split"]) == {"test", "val"}
    # Video level: 5 labelled videos; dfdc alone is perfectly separated.
    video = saved["video"]["mean_logit"]
    assert video["overall"]["n"] == 5 and video["unlabelled"] == 1
    assert video["by_dataset"]["dfdc"]["auc"] == 1.0
    assert doc["video"]["confident"]["overall"]["n"] == 5
    with open(tmp_path / "per_video.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and "confident_probability" in rows[0]
    with open(tmp_path / "per_frame.csv") as f:
        frame_rows = list(csv.DictReader(f))
    assert len(frame_rows) == 35 and {"-1", "0", "1"} == {r["label"] for r in frame_rows}


def test_write_report_bad_input(tmp_path):
    with pytest.raises(ValueError, match="Unknown aggregation"):
        write_report(_predictions(), tmp_path, aggregations=["mean_logit", "mode"])
    with pytest.raises(ValueError, match="differ in length"):
        FramePredictions(["a"], ["b"], ["c"], [0], [0], [1], [0.1, 0.2])
