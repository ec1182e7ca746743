"""`tfdeepfake extract` argument errors: clear messages on stderr, exit code 2, nothing written."""

import pytest

from tfdeepfake.cli import main


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
