"""`detect --runner direct`: RunInference with our Detector handler gives detect's scores."""

import csv
import json

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
    from tfdeepfake.pipelines.beam_score import expand_paths, result_from_dict

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
    _same_scores([result_from_dict(r) for r in rows], theirs)
    with open(out / "r.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["path"] for r in table] == paths
    assert float(table[0]["ensemble_score"]) == pytest.approx(theirs[0].score, abs=1e-5)
    document = json.loads((out / "r.json").read_text())
    assert document["summary"]["inputs"] == 5
    assert [m["name"] for m in document["models"]] == list(tiny_models)
    assert not list(out.glob("*.parts-*"))  # staged rows are cleaned up


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
