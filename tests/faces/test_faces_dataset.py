"""End to end: real + fake pair + bad inputs -> shards, failures.csv, SSIM masks, resume, CLI."""

import csv
import shutil

import numpy as np
import pytest
from faces_media import bad_corpus

from tfdeepfake.faces import extract_faces
from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset
from tfdeepfake.faces.manipulate import make_fake_video, reencode_video


@pytest.fixture(scope="module")
def collection(tmp_path_factory, sample_media, mtcnn):
    """A folder with a real video, its fake, a fake whose original is gone, and bad inputs."""
    root = tmp_path_factory.mktemp("collection")
    real = reencode_video(sample_media["carphone_pristine.mp4"], root / "real.mp4", 16)
    pair = make_fake_video(
        real, "astronaut", root / "fake.mp4", max_frames=16, detect_every=8, finder=mtcnn
    )
    shutil.copy(pair.fake_path, root / "orphan.mp4")
    shutil.copy(real, root / "stray.mp4")  # in the folder, not in the labels
    corpus = bad_corpus(root / "bad")
    rows = [
        ("real.mp4", "REAL", ""),
        ("fake.mp4", "FAKE", "real.mp4"),
        ("orphan.mp4", "FAKE", "gone.mp4"),
        ("bad/mystery.mp4", "MAYBE", ""),
    ]
    rows += [(str(p.relative_to(root)), "REAL", "") for n, (p, _) in corpus.items() if n != "noise"]
    rows.append(("bad/noise.mp4", "REAL", ""))
    labels = root / "labels.csv"
    with open(labels, "w", newline="") as handle:
        csv.writer(handle).writerows([("path", "label", "original"), *rows])
    return root, labels, pair


def _failures(out):
    with open(out / "failures.csv", newline="") as handle:
        return {row["path"].rsplit("/", 1)[-1]: row["reason"] for row in csv.DictReader(handle)}


def test_fake_pair_is_made(collection):
    _, _, pair = collection
    assert pair.frames == 16 and pair.swapped >= 14
    assert pair.original_id == "real" and pair.fake_id == "fake"


def test_extract_dataset_end_to_end(collection, tmp_path, mtcnn):
    from tfrecords_tools.schema import decode_track
    from tfrecords_tools.validate import validate_shards
    from tfrecords_tools.writer import read_manifest

    root, labels, _ = collection
    out = tmp_path / "shards"
    options = ExtractOptions(frames=4, crop_size=64)
    summary = extract_dataset(root, out, labels, options, progress=False)
    assert summary.extracted == 3 and summary.videos == 10
    # Every bad input has a row with its reason; nothing else is lost.
    assert _failures(out) == {
        "missing.mp4": "missing",
        "empty.mp4": "empty",
        "notes.mp4": "not_video",
        "truncated.mp4": "corrupt",
        "audio.mp4": "audio_only",
        "one_frame.mp4": "too_few_frames",
        "noise.mp4": "no_face",
        "orphan.mp4": "missing_original",
        "mystery.mp4": "unknown_label",
    }
    assert summary.failures_by_reason["unknown_label"] == 1
    assert "audio_only: 1" in summary.format()
    assert [p.rsplit("/", 1)[-1] for p in summary.unlabelled] == ["stray.mp4"]
    assert (out / "unlabelled.txt").read_text().strip().endswith("stray.mp4")

    report = validate_shards(out)
    assert report.ok, report.problems
    tracks = {}
    for entry in read_manifest(out):
        import tensorflow as tf

        for raw in tf.data.TFRecordDataset(str(out / entry["shard"])).as_numpy_iterator():
            record = decode_track(raw)
            tracks[(record.video_id, record.track_id)] = record
    assert {v for v, _ in tracks} == {"real", "fake", "orphan"}
    real = tracks[("real", 0)]
    assert real.label == 0 and real.masks is None and real.dataset == "csv"
    # Crops read back equal the crops extract_faces cuts (within JPEG tolerance).
    again = extract_faces(root / "real.mp4", frames=4, crop_size=64, finder=mtcnn)
    assert np.abs(real.crops.astype(int) - again.tracks[0].crops.astype(int)).mean() < 3
    np.testing.assert_allclose(real.boxes, again.tracks[0].boxes, atol=1e-3)
    fake = tracks[("fake", 0)]
    assert fake.label == 1 and fake.original_id == "real" and fake.masks.shape == (4, 64, 64)
    # The swapped face is where the mask is bright; the margin (background) stays dark.
    centre, border = fake.masks[:, 24:40, 24:40].mean(), fake.masks[:, :6, :].mean()
    assert centre > 40 and centre > 3 * border
    assert tracks[("orphan", 0)].masks is None


def test_cli_resumes_and_keeps_failures(collection, tmp_path, capsys, mtcnn):
    from tfdeepfake.cli import main

    root, labels, _ = collection
    out = tmp_path / "cli"
    argv = [
        "extract",
        str(root),
        "--labels",
        str(labels),
        "--out",
        str(out),
        "--frames",
        "3",
        "--crop-size",
        "32",
        "--quiet",
    ]
    assert main(argv) == 1  # the batch ran to its end; some inputs failed
    first = capsys.readouterr().out
    assert "extracted 3, already done 0" in first and "no_face: 1" in first
    assert main(argv) == 1
    second = capsys.readouterr().out
    assert "extracted 0, already done 4" in second  # 3 extracted + the no-face video
    assert _failures(out)["noise.mp4"] == "no_face"
    assert _failures(out)["orphan.mp4"] == "missing_original"
    assert _failures(out)["truncated.mp4"] == "corrupt"


@pytest.mark.slow
def test_worker_processes_give_the_same_shards(collection, tmp_path):
    from tfrecords_tools.validate import validate_shards

    root, labels, _ = collection
    options = ExtractOptions(frames=3, crop_size=32)
    summary = extract_dataset(root, tmp_path / "w2", labels, options, workers=2, progress=False)
    assert summary.extracted == 3 and summary.masked_tracks == 1
    assert summary.failures_by_reason["no_face"] == 1
    assert validate_shards(tmp_path / "w2").ok
