"""`detect --runner direct`: RunInference with our Detector handler gives detect's scores."""

import csv
import json
from pathlib import Path

import pytest

from tfdeepfake.cli import main

pytest.importorskip("apache_beam")


def _inputs(sample_media, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    listed = tmp_path / "inputs.txt"  # a list file: one input per line
    listed.write_text(f"{sample_media['no_face.mp4']}\n{empty}\n{tmp_path / 'missing.mp4'}\n")
    return [str(sample_media["single_face.mp4"]), str(sample_media["single_face.jpg"])], listed


def _same_scores(ours, theirs):
    assert [r.path for r in ours] == [r.path for r in theirs]
    for a, b in zip(ours, theirs):
        assert (a.verdict, a.error, a.faces) == (b.verdict, b.error, b.faces), a.path
        if b.score is not None:
            assert a.score == pytest.approx(b.score, abs=1e-5)
            for name, score in b.model_scores.items():
                assert a.model_scores[name] == pytest.approx(score, abs=1e-5)
            for ta, tb in zip(a.tracks, b.tracks):
                for name, frames in tb.frame_scores.items():
                    assert ta.frame_scores[name] == pytest.approx(frames, abs=1e-5, nan_ok=True)


def test_cli_beam_scores_equal_detect(detector, tiny_runs, tiny_models, sample_media, tmp_path,
                                      capsys):
    from tfdeepfake.inference.results import VideoResult
    from tfdeepfake.pipelines.beam_score import expand_paths

    files, listed = _inputs(sample_media, tmp_path)
    paths = expand_paths([*files, str(listed)])
    assert len(paths) == 5
    theirs = detector.predict(paths)
    out = tmp_path / "out"
    code = main(["detect", *files, str(listed), "--weights", tiny_runs, "--frames", "4",
                 "--runner", "direct", "--workers", "1", "--jsonl", str(out / "r.jsonl"),
                 "--csv", str(out / "r.csv"), "--json", str(out / "r.json")])
    assert code == 1  # the empty, missing and no-face inputs have no verdict
    printed = capsys.readouterr().out
    assert "summary: inputs 5" in printed and "NO_FACE 1" in printed and "ERROR 2" in printed
    rows = [json.loads(line) for line in (out / "r.jsonl").read_text().splitlines()]
    _same_scores([VideoResult.from_dict(r) for r in rows], theirs)
    with open(out / "r.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["path"] for r in table] == paths
    assert float(table[0]["ensemble_score"]) == pytest.approx(theirs[0].score, abs=1e-5)
    document = json.loads((out / "r.json").read_text())
    assert document["summary"]["inputs"] == 5
    assert [m["name"] for m in document["models"]] == list(tiny_models)
    assert not list(out.glob("*.parts-*"))  # staged rows are cleaned up


def test_beam_detect_keeps_detects_journal_and_report(detector, tiny_runs, sample_media,
                                                      tmp_path, capsys):
    """Rows go to detect's FILE.partial.jsonl as the workers finish them; a re-run skips
    the inputs it holds; --report writes the per-input files and index.html."""
    from tfdeepfake.inference.outputs import ResultJournal
    from tfdeepfake.pipelines.beam_score import beam_detect

    video, image = str(sample_media["single_face.mp4"]), str(sample_media["single_face.jpg"])
    table, report = tmp_path / "r.csv", tmp_path / "report"
    journal = ResultJournal.beside(str(table))
    journal.resume(detector.run_info())  # an interrupted run that had scored the video
    earlier = detector.predict_video(video)
    earlier.seconds = 12345.0  # a mark: a re-scored video would not carry it
    journal.append(earlier)
    table.mkdir()  # the final CSV cannot be written: the run fails after scoring
    with pytest.raises(IsADirectoryError):
        beam_detect([video, image], weights=tiny_runs, frames=4, workers=1,
                    csv_path=str(table), report_dir=str(report))
    kept = [json.loads(line) for line in open(journal.path).read().splitlines()[1:]]
    assert [row["path"] for row in kept] == [video, image]  # the worker appended the image
    assert (report / "001_single_face" / "face.jpg").exists()
    table.rmdir()
    code = main(["detect", video, image, "--weights", tiny_runs, "--frames", "4", "--runner",
                 "direct", "--workers", "1", "--csv", str(table), "--report", str(report)])
    assert code == 0
    assert f"report: {report / 'index.html'}" in capsys.readouterr().out
    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["path"] for r in rows] == [video, image]
    assert rows[0]["seconds"] == "12345.000"  # reused from the journal, not scored again
    assert float(rows[1]["ensemble_score"]) == pytest.approx(kept[1]["score"], abs=1e-6)
    assert "001_single_face/face.jpg" in (report / "index.html").read_text()
    assert not Path(journal.path).exists()  # removed once the outputs are written


def test_remote_report_folder_is_refused(tiny_runs, sample_media):
    from tfdeepfake.pipelines.beam_score import beam_detect

    with pytest.raises(ValueError, match="give a folder every worker mounts"):
        beam_detect([str(sample_media["single_face.jpg"])], weights=tiny_runs,
                    report_dir="gs://bucket/report")


@pytest.mark.slow
def test_two_worker_processes_give_the_same_scores(detector, tiny_runs, sample_media, tmp_path):
    from tfdeepfake.pipelines.beam_score import beam_detect, expand_paths

    files, listed = _inputs(sample_media, tmp_path)
    ours, _ = beam_detect([*files, str(listed)], weights=tiny_runs, frames=4, workers=2)
    _same_scores(ours, detector.predict(expand_paths([*files, str(listed)])))


def test_non_local_runner_needs_jsonl(tiny_runs, sample_media):
    from tfdeepfake.pipelines.beam_score import beam_detect

    with pytest.raises(ValueError, match="give --jsonl on storage the workers can write"):
        beam_detect([str(sample_media["single_face.jpg"])], weights=tiny_runs,
                    runner="dataflow")
