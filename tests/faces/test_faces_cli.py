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
