"""`detect` under stress: results journalled as they finish (a killed batch resumes), crash
exit code apart from "some input failed", one run per output, limits, report decoding."""

import csv
import json
import os

import cv2

from tfdeepfake.cli import EXIT_CRASH, main
from tfdeepfake.inference import Detector
from tfdeepfake.inference.outputs import JOURNAL_SUFFIX
from tfdeepfake.safeio import folder_lock

ONE_MODEL = ["--models", "autoatt_b4_tiny", "--weights"]  # one tiny model loads fastest


def _junk_inputs(folder, n):
    paths = []
    for i in range(n):
        path = folder / f"in{i}.mp4"
        path.write_bytes(b"not a video %d" % i)
        paths.append(str(path))
    return paths


def test_a_killed_batch_keeps_finished_results_and_resumes(tiny_runs, tmp_path, monkeypatch):
    inputs = _junk_inputs(tmp_path, 4)
    out = tmp_path / "r.csv"
    argv = ["detect", *inputs, *ONE_MODEL, tiny_runs, "--csv", str(out), "--quiet"]
    real = Detector.predict_video
    calls = []

    def dies_on_the_third(self, path, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise MemoryError("the process is killed here")
        return real(self, path, **kwargs)

    monkeypatch.setattr(Detector, "predict_video", dies_on_the_third)
    assert main(argv) == EXIT_CRASH  # a crash, not "some input failed"
    journal = str(out) + JOURNAL_SUFFIX
    lines = open(journal, encoding="utf-8").read().splitlines()
    assert [json.loads(x)["path"] for x in lines[1:]] == inputs[:2]  # finished ones kept
    assert not out.exists()

    monkeypatch.setattr(Detector, "predict_video", lambda self, path, **kw: (
        calls.append(path), real(self, path, **kw))[1])
    calls.clear()
    assert main(argv) == 1  # every input failed (not videos), the batch finished
    assert calls == inputs[2:]  # only what the killed run had not finished
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [r["path"] for r in rows] == inputs and {r["verdict"] for r in rows} == {"ERROR"}
    assert not os.path.exists(journal)


def test_a_second_run_on_the_same_output_is_refused(tiny_runs, tmp_path, capsys):
    inputs = _junk_inputs(tmp_path, 1)
    out = tmp_path / "r.json"
    with folder_lock(tmp_path, name=f".r.json{JOURNAL_SUFFIX}.lock"):  # a run in progress
        code = main(["detect", *inputs, *ONE_MODEL, tiny_runs, "--json", str(out), "--quiet"])
    assert code == 2 and "in use by another detect run" in capsys.readouterr().err
    assert not out.exists()


def test_detect_limits_are_flags_and_rows(tiny_runs, sample_media, tmp_path):
    video = str(sample_media["single_face.mp4"])  # 640 x 360
    out = tmp_path / "r.csv"
    code = main(["detect", video, *ONE_MODEL, tiny_runs, "--csv", str(out), "--quiet",
                 "--max-pixels", "1000"])
    assert code == 1
    (row,) = csv.DictReader(open(out, encoding="utf-8"))
    assert row["verdict"] == "ERROR" and row["error"].startswith("too_large")


def test_report_decodes_with_max_side(tiny_runs, sample_media, tmp_path):
    detector = Detector(models=["autoatt_b4_tiny"], weights=tiny_runs, frames=2, max_side=320)
    (result,) = detector.predict([sample_media["single_face.mp4"]], report_dir=str(tmp_path))
    assert result.verdict in ("REAL", "FAKE"), result.error
    heat = result.report.get("heatmap_autoatt_b4_tiny")
    assert heat and os.path.isfile(heat), result.report
    capture = cv2.VideoCapture(heat)
    size = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
    capture.release()
    assert size == (320, 180)  # decoded shrunk, as for scoring, not at 640 x 360


def test_detect_csv_cells_are_not_formulas(tiny_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = ["=cmd|calc!A0.mp4", "+1.mp4", "@x.mp4", "-rf.mp4"]
    for name in names:
        (tmp_path / name).write_bytes(b"junk")
    main(["detect", "--csv", "r.csv", "--quiet", *ONE_MODEL, tiny_runs, "--", *names])
    rows = list(csv.DictReader(open("r.csv", encoding="utf-8")))
    assert [r["path"] for r in rows] == ["'" + n for n in names]


def test_the_terminal_table_says_what_to_do_about_each_failure():
    from tfdeepfake.faces import REASONS
    from tfdeepfake.inference.outputs import format_table
    from tfdeepfake.inference.results import VideoResult

    results = [
        VideoResult("a/gone.mp4", verdict="ERROR", error="missing: no such file"),
        VideoResult("b/empty_dir", verdict="ERROR",
                    error="empty_folder: a folder with no video or image in it"),
        VideoResult("c/odd.mp4", verdict="ERROR", error="error: KeyError: 'x'"),
    ]
    lines = format_table(results, ["m"]).splitlines()
    at = lines.index("  gone.mp4: missing: no such file")
    assert lines[at + 1] == f"    what to do: {REASONS['missing']}"
    assert f"    what to do: {REASONS['empty_folder']}" in lines
    assert f"    what to do: {REASONS['error']}" in lines  # unexpected: report it



def test_the_terminal_table_tells_inputs_with_one_file_name_apart():
    from tfdeepfake.inference.outputs import format_table
    from tfdeepfake.inference.results import VideoResult

    results = [VideoResult("dup/a/clip.mp4", verdict="ERROR", error="missing: no such file"),
               VideoResult("dup/b/clip.mp4", verdict="ERROR", error="missing: no such file"),
               VideoResult("dup/other.mp4", verdict="ERROR", error="missing: no such file")]
    rows = format_table(results, ["m"]).splitlines()[2:5]
    assert [row.split()[0] for row in rows] == ["dup/a/clip.mp4", "dup/b/clip.mp4", "other.mp4"]
    assert "  dup/b/clip.mp4: missing: no such file" in format_table(results, ["m"])
