"""`tfdeepfake extract` exit codes: argument errors and inputs without videos (clear
messages on stderr, exit code 2, nothing written), failed inputs (1), success (0)."""

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from faces_media import numbered_frames, write_video

from tfdeepfake.cli import main
from tfdeepfake.faces.finder import FaceFinder, FrameFaces


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--frames", "0"], "frames must be >= 1"),
        (["--margin", "-1"], "margin must be >= 0"),
        (["--crop-size", "4"], "crop_size must be >= 8"),
        (["--detect-side", "8"], "detect_side must be >= 32"),
        (["--workers", "0"], "--workers must be >= 1"),
        (["--time-limit", "0"], "time_limit must be > 0"),
        (["--max-pixels", "0"], "max_pixels must be >= 1"),
    ],
)
def test_bad_arguments(tmp_path, capsys, extra, message):
    assert main(["extract", str(tmp_path), "--out", str(tmp_path / "out"), *extra]) == 2
    printed = capsys.readouterr()
    assert message in printed.err and not printed.out
    assert not (tmp_path / "out").exists()


def test_missing_input_and_labels(tmp_path, capsys):
    assert main(["extract", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist; give a video or a folder" in capsys.readouterr().err
    args = ["extract", str(tmp_path), "--labels", str(tmp_path / "l.csv"), "--out", "o"]
    assert main(args) == 2
    assert "Labels file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "models,margin,side",
    [
        (["autoatt_b4"], "0.5", 320),
        (["b7_ssim"], "0.5", 456),
        (["resnet_lstm", "autoatt_b4"], "0.5", 320),
        (["ensemble"], "0.5", 456),  # its members: b7_ssim needs the most
        (["autoatt_b4"], "0.2", 224),
    ],
)
def test_for_models_sets_the_crop_side_that_needs_no_upsampling(
    tmp_path, monkeypatch, models, margin, side
):
    import tfdeepfake.faces.dataset as dataset

    seen = {}

    def fake_extract(*args, options, **kwargs):
        seen["crop_size"] = options.crop_size
        raise ValueError("stopped by the test")

    monkeypatch.setattr(dataset, "extract_dataset", fake_extract)
    argv = ["extract", str(tmp_path), "--out", str(tmp_path / "o"), "--margin", margin]
    assert main([*argv, "--for", *models]) == 2
    assert seen["crop_size"] == side
    main(argv)
    assert seen["crop_size"] == dataset.DEFAULT_CROP_SIZE == 256


def test_for_models_errors(tmp_path, capsys):
    argv = ["extract", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*argv, "--for", "autoatt_b5"]) == 2
    assert "Unknown model 'autoatt_b5'. Known models:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--for", "autoatt_b4", "--crop-size", "300"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


class _CentreFace(FaceFinder):
    """A face finder without a model: one face in the middle of every frame."""

    def detect(self, frames):
        found = []
        for frame in frames:
            h, w = frame.shape[:2]
            box = np.array([[w / 4, h / 4, 3 * w / 4, 3 * h / 4]], np.float32)
            marks = np.repeat(((box[:, :2] + box[:, 2:]) / 2)[:, None], 5, axis=1)
            found.append(FrameFaces(box, np.ones(1, np.float32), marks))
        return found


@pytest.fixture
def quick_faces(monkeypatch):
    """``extract`` finds faces with ``_CentreFace`` instead of building MTCNN."""
    import tfdeepfake.faces.dataset as dataset

    monkeypatch.setattr(dataset, "_mtcnn", lambda *args: _CentreFace())


def _extract(*argv) -> int:
    return main(["extract", *map(str, argv), "--frames", "3", "--crop-size", "16", "--quiet"])


def _rows(out):
    with open(out / "failures.csv", newline="") as handle:
        return sorted((Path(r["path"]).name, r["reason"]) for r in csv.DictReader(handle))


def test_exit_1_when_an_input_failed_and_non_videos_are_listed(tmp_path, capsys, quick_faces):
    write_video(tmp_path / "good.mp4", numbered_frames(6))
    (tmp_path / "text.mp4").write_text("not a video\n" * 20)
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8 jpeg")
    (tmp_path / ".DS_Store").write_bytes(b"x")  # hidden files are not inputs
    out = tmp_path / "shards"  # inside the input: its files are not inputs either
    assert _extract(tmp_path, "--out", out) == 1
    printed = capsys.readouterr().out
    assert "extracted 1" in printed and "not_video: 1" in printed and "unsupported: 1" in printed
    rows = [("photo.jpg", "unsupported"), ("text.mp4", "not_video")]
    assert _rows(out) == rows
    assert "use `tfdeepfake detect` for images" in (out / "failures.csv").read_text()
    assert _extract(tmp_path, "--out", out) == 1  # the resume: same rows, none doubled
    assert "already done 1" in capsys.readouterr().out and _rows(out) == rows
    (tmp_path / "text.mp4").unlink()
    (tmp_path / "photo.jpg").unlink()
    shutil.rmtree(out)
    assert _extract(tmp_path, "--out", out) == 0
    assert _rows(out) == []


def test_an_input_without_videos_is_a_usage_error(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _extract(empty, "--out", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert f"No videos in {empty} or its sub-folders" in err and ".mp4, .avi" in err
    (empty / "photo.jpg").write_bytes(b"\xff\xd8 jpeg")
    assert _extract(empty, "--out", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert "1 other file(s), e.g." in err and "use `tfdeepfake detect` for images" in err
    assert _extract(empty / "photo.jpg", "--out", tmp_path / "o") == 2
    assert "photo.jpg is not a video" in capsys.readouterr().err
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\n")
    assert _extract(empty, "--labels", labels, "--out", tmp_path / "o") == 2
    assert f"The labels {labels} list no videos" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_one_video_without_labels(tmp_path, capsys, quick_faces):
    import tensorflow as tf

    from tfrecords_tools.schema import decode_track
    from tfrecords_tools.writer import read_manifest

    video = write_video(tmp_path / "clip.mp4", numbered_frames(6))
    (tmp_path / "notes.txt").write_text("beside the video, not an input")
    assert _extract(video, "--out", tmp_path / "o") == 0
    assert "extracted 1" in capsys.readouterr().out
    [entry] = read_manifest(tmp_path / "o")
    raw = next(iter(tf.data.TFRecordDataset(str(tmp_path / "o" / entry["shard"]))))
    assert decode_track(raw.numpy()).label == -1


@pytest.mark.parametrize("runner", [[], ["--runner", "direct"]])
def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys, runner):
    (tmp_path / "clip.mp4").write_bytes(b"x")
    taken = tmp_path / "afile"
    taken.write_text("keep me")
    assert _extract(tmp_path, "--out", taken, *runner) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith("tfdeepfake extract: ")
    assert f"--out {taken} is a file, not a folder" in printed.err and not printed.out
    assert taken.read_text() == "keep me"
