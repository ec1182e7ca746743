"""`tfdeepfake detect` and `Detector` end to end on real sample media with tiny models."""

import csv
import dataclasses
import json
import os
import shutil
import warnings

import cv2
import numpy as np
import pytest

from tfdeepfake.cli import main
from tfdeepfake.faces import REASONS
from tfdeepfake.inference import Detector, MissingWeightsError
from tfdeepfake.inference.outputs import csv_columns


def test_real_face_video_gets_a_verdict_with_every_model(detector, sample_media, tiny_models):
    result = detector.predict_video(sample_media["single_face.mp4"])
    assert result.verdict in ("REAL", "FAKE"), result.error
    assert set(result.model_scores) == set(tiny_models)
    assert all(0.0 <= p <= 1.0 for p in result.model_scores.values())
    assert result.score == pytest.approx(np.mean(list(result.model_scores.values())))
    assert result.faces >= 1 and result.frames_used == 4
    track = result.tracks[0]
    # Frame models score every frame of the track; the sequence model its clip's frames.
    assert len(track.frame_scores["autoatt_b4_tiny"]) == len(track.frame_indices)
    assert result.confidence == pytest.approx(
        result.score if result.verdict == "FAKE" else 1 - result.score
    )
    assert result.media["width"] == 640 and result.media["height"] == 360


def test_no_face_video_is_reported_not_dropped(detector, sample_media):
    result = detector.predict_video(sample_media["no_face.mp4"])
    assert result.verdict == "NO_FACE"
    assert result.error.startswith("no_face:")
    assert result.score is None


def test_image_input_is_scored_as_one_frame(detector, sample_media):
    result = detector.predict_video(sample_media["single_face.jpg"])
    assert result.kind == "image"
    assert result.verdict in ("REAL", "FAKE"), result.error
    assert result.frames_used == 1


def test_missing_weights_error_says_what_to_do(tmp_path):
    with pytest.raises(MissingWeightsError, match="--allow-untrained"):
        Detector(models=["autoatt_b4_tiny"])


def test_untrained_results_are_labelled(sample_media):
    detector = Detector(models=["autoatt_b4_tiny"], allow_untrained=True, frames=2)
    result = detector.predict_video(sample_media["single_face.mp4"])
    assert result.untrained and result.label.startswith("UNTRAINED-")


def test_cli_batch_with_bad_inputs_csv_json_and_report(
    tiny_runs, tiny_models, sample_media, tmp_path
):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video")
    missing = tmp_path / "missing.mp4"
    video = str(sample_media["single_face.mp4"])
    out_csv, out_json, report = tmp_path / "r.csv", tmp_path / "r.json", tmp_path / "report"
    code = main([
        "detect", video, str(sample_media["no_face.mp4"]), str(empty), str(text), str(missing),
        "--weights", tiny_runs, "--frames", "3", "--csv", str(out_csv), "--json", str(out_json),
        "--report", str(report), "--quiet", "--workers", "2",
    ])
    assert code == 1  # some inputs failed, the batch still ran to the end

    rows = list(csv.DictReader(open(out_csv)))
    assert list(rows[0]) == csv_columns(tiny_models)
    by_path = {r["path"]: r for r in rows}
    assert len(rows) == 5
    assert by_path[video]["verdict"] in ("REAL", "FAKE")
    assert float(by_path[video]["ensemble_score"]) == pytest.approx(
        np.mean([float(by_path[video][f"{m}_score"]) for m in tiny_models]), abs=1e-5
    )
    assert by_path[str(empty)]["verdict"] == "ERROR" and "empty" in by_path[str(empty)]["error"]
    assert by_path[str(text)]["verdict"] == "ERROR"
    assert by_path[str(missing)]["error"].startswith("missing")
    # each failure says what to do; a verdict has no advice
    assert by_path[str(missing)]["advice"] == REASONS["missing"]
    assert by_path[str(empty)]["advice"] == REASONS["empty"] and by_path[video]["advice"] == ""

    doc = json.load(open(out_json))
    assert doc["schema_version"] == 1 and doc["threshold"] == 0.5
    assert doc["backend"] == "tensorflow"  # what scored, recorded with the results
    assert [m["name"] for m in doc["models"]] == list(tiny_models)
    assert doc["summary"]["inputs"] == 5
    assert set(doc["summary"]) == {"inputs", "REAL", "FAKE", "NO_FACE", "ERROR"}
    assert doc["summary"]["ERROR"] == 3 and doc["summary"]["NO_FACE"] == 1
    scored = next(r for r in doc["results"] if r["path"] == video)
    assert scored["advice"] is None
    assert next(r for r in doc["results"] if r["path"] == str(missing))["advice"] == (
        REASONS["missing"])
    for key in ("verdict", "label", "score", "confidence", "model_scores", "tracks", "media",
                "frames_used", "faces", "seconds", "error", "report"):
        assert key in scored
    assert set(scored["tracks"][0]["frame_scores"]) == set(tiny_models)

    assert (report / "index.html").is_file()
    html = (report / "index.html").read_text()
    assert "single_face.mp4" in html and "no_face.mp4" in html
    assert os.path.isfile(scored["report"]["plot"])
    for name in tiny_models:
        heat = scored["report"][f"heatmap_{name}"]
        cap = cv2.VideoCapture(heat)
        assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (640, 360)
        assert cap.read()[0]
        cap.release()


def test_cli_without_weights_exits_2_with_advice(capsys, sample_media):
    code = main(["detect", str(sample_media["single_face.mp4"]), "--models", "autoatt_b4_tiny"])
    assert code == 2
    assert "tfdeepfake train" in capsys.readouterr().err


def test_tflite_runtime_scores_a_real_video_through_the_exported_file(
    tiny_b4_tflite, sample_media, tmp_path
):
    """`detect --runtime tflite` on the session's exported tiny AutoAttB4 (tests/conftest.py)
    scores a real video with the converted file: its per-frame scores are the LiteRT runner's
    on the video's centre crops. The converted graph's numerical parity with Keras is
    tests/export/test_tflite.py's (same faces, model size); across the two resizes this
    fixture (BatchNorm statistics from small synthetic faces) is too steep to compare."""
    from tfdeepfake.export.runtime import LiteRTRunner
    from tfdeepfake.faces.crop import STORED_MARGIN
    from tfdeepfake.inference.inputs import centre_crops

    exported = tiny_b4_tflite["results"]["none"]
    (tmp_path / "lite").mkdir()
    for path in (exported.path, exported.metadata_path):  # one quantization per folder
        shutil.copy(path, tmp_path / "lite")
    lite = Detector(weights=str(tmp_path / "lite"), runtime="tflite", frames=3)
    [scorer] = lite.models[0].members
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 3), dtype=np.uint8)
    crops = centre_crops(faces, STORED_MARGIN, scorer.preset)
    logits = LiteRTRunner(exported.path).predict(crops)["logit"]
    np.testing.assert_allclose(scorer.score(faces)[1], 1 / (1 + np.exp(-logits)), atol=1e-6)
    result = lite.predict_video(sample_media["single_face.mp4"])
    assert not result.failed and result.verdict in ("REAL", "FAKE"), result.error
    assert 0.0 <= result.model_scores["autoatt_b4_tiny"] <= 1.0


def test_several_runs_of_one_preset_are_averaged(tmp_path, sample_media, make_run):
    for seed in ("seed_a", "seed_b"):
        make_run(str(tmp_path / "b4" / seed), "autoatt_b4_tiny")
    both = Detector(weights=str(tmp_path / "b4"), frames=2)
    assert [len(m.members) for m in both.models] == [2]
    video = sample_media["single_face.mp4"]
    [loaded] = both.models  # each seed alone: the same scorers, one at a time
    alone = [
        Detector(loaded=[dataclasses.replace(loaded, members=[member])], frames=2)
        .predict_video(video).score
        for member in loaded.members
    ]
    assert both.predict_video(video).score == pytest.approx(np.mean(alone), abs=1e-5)


def test_imported_resnext_lstm_runs_in_its_compatibility_mode(tmp_path, sample_media, make_run):
    from tfdeepfake import runs
    from tfdeepfake.inference.inputs import model_inputs
    from tfdeepfake.weights.compat import compat_frame_logits

    run = make_run(str(tmp_path / "lstm"), "resnet_lstm_tiny")
    runs.write_source(run, {"compatibility": "independent_frames"})
    detector = Detector(weights=run, frames=3)
    assert detector.models[0].compatibility == "independent_frames"
    faces = detector.extract(sample_media["single_face.mp4"])
    crops = faces.tracks[0].crops
    clip = model_inputs(crops, faces.margin, detector.models[0].preset)[None]
    logits = np.asarray(compat_frame_logits(detector.models[0].model, clip))
    want = 1 / (1 + np.exp(-np.mean(logits)))
    got, _ = detector.score_track(detector.models[0], crops, faces.margin)
    assert got == pytest.approx(want, abs=1e-5)


def test_streams_give_the_same_scores_as_one_by_one(detector, tiny_runs, sample_media):
    video = sample_media["single_face.mp4"]
    models = detector.models  # the session's models, loaded once
    one = Detector(loaded=models, frames=6, batch_size=2, streams=1).predict_video(video)
    two = Detector(loaded=models, frames=6, batch_size=2, streams=2).predict_video(video)
    assert one.verdict in ("REAL", "FAKE"), one.error
    assert two.model_scores.keys() == one.model_scores.keys()
    for name, score in one.model_scores.items():
        assert two.model_scores[name] == pytest.approx(score, abs=1e-5)
        np.testing.assert_allclose(
            np.array(two.tracks[0].frame_scores[name], float),
            np.array(one.tracks[0].frame_scores[name], float), atol=1e-5,
        )
    with pytest.raises(ValueError, match="streams"):
        Detector(weights=tiny_runs, streams=0)


def test_folder_inputs_are_found_by_content_and_the_rest_named(tmp_path, sample_media, capsys):
    from tfdeepfake.inference import expand_inputs

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(sample_media["single_face.mp4"], folder / "clip.bin")  # a video, odd name
    shutil.copy(sample_media["single_face.jpg"], folder / "photo.jpe")
    (folder / "still.gif").write_bytes(b"GIF89a" + b"\x00" * 32)
    (folder / "notes.txt").write_text("not media")
    (folder / ".hidden.txt").write_text("not listed")
    left_out = []
    found = expand_inputs([str(folder)], left_out)
    assert sorted(os.path.basename(p) for p in found) == ["clip.bin", "photo.jpe", "still.gif"]
    assert [os.path.basename(p) for p in left_out] == ["notes.txt"]

    code = main(["detect", str(folder), "--allow-untrained", "--models", "autoatt_b4_tiny",
                 "--frames", "2", "--quiet", "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert "left out 1 file(s)" in err and "notes.txt" in err
    results = {os.path.basename(r["path"]): r for r in json.load(open(tmp_path / "r.json"))[
        "results"]}
    assert set(results) == {"clip.bin", "photo.jpe", "still.gif"} and code == 1
    assert results["clip.bin"]["kind"] == "video" and results["photo.jpe"]["kind"] == "image"

    only_text = tmp_path / "text"  # a folder with no media: its row, and one message
    only_text.mkdir()
    (only_text / "notes.txt").write_text("not media")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["detect", str(only_text), "--allow-untrained", "--models",
                     "autoatt_b4_tiny", "--quiet"]) == 1
    told = capsys.readouterr().err.count("left out 1 file(s)")
    told += sum("left out 1 file(s)" in str(w.message) for w in caught)
    assert told == 1  # the folder is walked once, its other files named once


def test_predict_takes_one_path_or_a_folder(tmp_path, sample_media):
    detector = Detector(models="autoatt_b4_tiny", allow_untrained=True, frames=2)
    one = detector.predict(str(sample_media["single_face.jpg"]))
    assert len(one) == 1 and one[0].kind == "image"
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(sample_media["single_face.jpg"], folder / "a.jpg")
    (folder / "b.txt").write_text("not media")
    with pytest.warns(UserWarning, match="left out 1 file"):
        results = detector.predict([str(folder)])
    assert [os.path.basename(r.path) for r in results] == ["a.jpg"]


@pytest.mark.parametrize("kwargs", [
    {"batch_size": 0}, {"batch_size": -3}, {"frames": 0}, {"max_frames": 0},
    {"max_pixels": -5}, {"max_side": 0}, {"frames": "4"},
])
def test_bad_counts_are_refused_before_any_model_loads(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"{name} must be >= 1"):
        Detector(models=["no_such_model"], **kwargs)  # the name would fail later


@pytest.mark.parametrize("flag,value", [("--batch-size", "0"), ("--frames", "0")])
def test_cli_bad_counts_exit_2(flag, value, sample_media, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["detect", str(sample_media["single_face.jpg"]), flag, value])
    assert stop.value.code == 2
    assert f"argument {flag}: must be a whole number >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("flag,value,name", [
    ("--max-frames", "0", "max_frames"), ("--max-pixels", "-5", "max_pixels"),
])
def test_cli_bad_limits_exit_2_before_any_input(flag, value, name, sample_media, capsys):
    code = main(["detect", str(sample_media["single_face.jpg"]), flag, value,
                 "--allow-untrained", "--models", "autoatt_b4_tiny"])
    printed = capsys.readouterr()
    assert code == 2 and f"{name} must be >= 1" in printed.err
    assert "ERROR" not in printed.out
