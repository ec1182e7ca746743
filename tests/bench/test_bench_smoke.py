"""Smoke test: the benchmark harness runs end to end on a tiny preset (no timing assertions)."""

import json

import pytest

from tfdeepfake.bench.__main__ import main


def test_harness_runs_tiny_models_suite(tmp_path):
    pytest.importorskip("torch", reason="the model suite times the PyTorch reference too")
    code = main(
        [
            "--tiny",
            "--suites",
            "models",
            "--models",
            "autoatt_b4",
            "--repeats",
            "1",
            "--threads",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    rows = report["rows"]
    assert [(r["model"], r["batch"]) for r in rows] == [
        ("autoatt_b4_tiny", 1),
        ("autoatt_b4_tiny", 2),
    ]
    for row in rows:
        assert "tf_error" not in row and "torch_error" not in row, row
        assert row["tf_per_s"] > 0 and row["torch_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["tf_per_s"] / row["torch_per_s"])
        assert row["gflop_per_item"] > 0 and row["tf_peak_rss_mb"] > 0
        assert row["threads"] == 1 and row["repeats"] == 1
    assert report["peak_gflops_estimate"] > 0 and report["versions"]["tensorflow"]
    table = (tmp_path / "bench.md").read_text()
    assert "| autoatt_b4_tiny | 2 | 1 |" in table and report["command"] in table
