"""The pipeline suite's rounds: both sides in turn, medians, the per-round ratio's median and
range, and the table that shows them (children faked: no timing here)."""

import itertools

import pytest

from tfdeepfake.bench import pipeline, report


def test_rounds_alternate_the_sides_and_report_the_median_ratio(monkeypatch):
    calls = []
    speeds = {
        "tfdeepfake": iter([100.0, 150.0, 120.0]),
        "albumentations": iter([200.0, 100.0, 160.0]),
    }

    def fake_child(module, spec, timeout):
        calls.append(spec["side"])
        per_cpu = next(speeds[spec["side"]])
        return {"augment": "b4", "per_cpu_s": per_cpu, "wall_per_s": per_cpu / 2,
                "peak_rss_mb": 900.0}  # fmt: skip

    monkeypatch.setattr(pipeline, "run_child", fake_child)
    (row,) = pipeline.run(["autoatt_b4"], 16, 20, 24, 16, 60.0, rounds=3)
    assert calls == list(itertools.chain(*[["tfdeepfake", "albumentations"]] * 3))
    assert row["tf_per_cpu_s"] == 120.0 and row["alb_per_cpu_s"] == 160.0
    assert row["ratio"] == pytest.approx(0.75)  # median of 0.5, 1.5 and 0.75
    assert (row["ratio_min"], row["ratio_max"]) == (0.5, 1.5)
    assert row["rounds"] == 3 and row["augment"] == "b4"
    machine = {"cores": 2, "cpu": "cpu", "isa": "AVX2", "mhz": 2000.0, "load_average_1min": 1}
    run = {"date": "d", "command": "c", "machine": machine, "versions": {}, "threads": 1,
           "peak_gflops_estimate": 1.0, "rows": [row]}  # fmt: skip
    lines = report.markdown(run).splitlines()
    assert "| autoatt_b4 | b4 | 320 | 3 | 120.0 | 160.0 | 0.75 (0.50-1.50) | 900 / 900 |" in lines


def test_a_failed_side_is_reported_not_averaged(monkeypatch):
    def fake_child(module, spec, timeout):
        if spec["side"] == "albumentations":
            return {"error": "No module named 'albumentations'"}
        return {"augment": "b4", "per_cpu_s": 100.0, "wall_per_s": 50.0, "peak_rss_mb": 900.0}

    monkeypatch.setattr(pipeline, "run_child", fake_child)
    (row,) = pipeline.run(["autoatt_b4"], 16, 20, 24, 16, 60.0, rounds=2)
    assert row["alb_error"] == "No module named 'albumentations'" and "ratio" not in row
    assert row["tf_per_cpu_s"] == 100.0
