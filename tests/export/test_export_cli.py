"""`tfdeepfake export` argument checks and the .keras format with a weights file."""

import keras
import numpy as np
import pytest
from export_isolation import run_export_cli

from tfdeepfake import create_model


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export"], "pass --model NAME"),
        (
            ["export", "--model", "autoatt_b4_tiny", "--format", "tflite", "--quantize", "int8"],
            "needs --calibration DIR",
        ),
        (
            ["export", "--model", "autoatt_b4_tiny", "--quantize", "fp16"],
            "apply to --format tflite only",
        ),
        (
            ["export", "--model", "autoatt_b4_tiny", "--weights", "/nonexistent/w.weights.h5"],
            "does not exist",
        ),
        (["export", "--model", "no_such_model", "--format", "keras"], "Known models"),
    ],
)
def test_bad_arguments_exit_2_with_the_fix(argv, message, capsys, tmp_path):
    assert run_export_cli([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir()), "nothing is written on bad input"


def _exit_code(argv) -> int:
    """``tfdeepfake ARGV`` in this process, through the whole command line (exit code)."""
    from tfdeepfake.cli import main

    try:
        return main(argv)
    except SystemExit as exit:  # refused by the argument parser
        return exit.code


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("keras", "../evil"), ("saved_model", "../../evil"), ("tflite", "sub/evil"),
     ("keras", ".."), ("keras", "")],
)
def test_a_name_that_is_a_path_is_refused(fmt, name, tmp_path, capsys):
    argv = ["export", "--model", "autoatt_b4_tiny", "--format", fmt, "--name", name,
            "--out", str(tmp_path / "a" / "b")]
    assert run_export_cli(argv) == 2
    assert f"--name {name!r} is not a plain name" in capsys.readouterr().err
    assert not any(tmp_path.iterdir()), "nothing is written, under --out or beside it"


def test_the_python_exporters_refuse_a_path_as_name(tmp_path):
    from tfdeepfake.export.loading import export_keras

    with pytest.raises(ValueError, match="is not a plain name"):
        export_keras(create_model("autoatt_b4_tiny"), tmp_path / "out", "../evil")
    assert not any(tmp_path.iterdir())


def test_limit_below_1_exits_2(tmp_path, capsys):
    argv = ["export", "--model", "autoatt_b4_tiny", "--format", "tflite", "--calibration",
            str(tmp_path), "--limit", "0", "--out", str(tmp_path / "out")]
    assert _exit_code(argv) == 2
    assert "argument --limit: must be a whole number >= 1, got '0'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_int8_of_the_ensemble_is_refused_before_calibration_is_read(tmp_path, capsys):
    """The calibration folder does not exist: the refusal comes before it is read."""
    argv = ["export", "--model", "ensemble_tiny", "--format", "tflite", "--quantize", "int8",
            "--calibration", str(tmp_path / "no_faces"), "--out", str(tmp_path / "out")]
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert "full-integer int8 for DeepfakeEnsemble is not available" in err
    assert "export its members one by one" in err
    assert not any(tmp_path.iterdir())


def test_keras_format_with_weights_file(tmp_path, capsys):
    model = create_model("autoatt_b4_tiny")
    for v in model.trainable_variables[-2:]:  # make the weights differ from a fresh model
        v.assign(v + 0.5)
    model.save_weights(tmp_path / "trained.weights.h5")
    argv = [
        "export",
        "--model",
        "autoatt_b4_tiny",
        "--weights",
        str(tmp_path / "trained.weights.h5"),
        "--format",
        "keras",
        "--out",
        str(tmp_path),
    ]
    assert run_export_cli(argv) == 0
    path = tmp_path / "autoatt_b4_tiny.keras"
    assert str(path) in capsys.readouterr().out
    reloaded = keras.saving.load_model(path, compile=False)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(reloaded(x)["logit"], model(x, training=False)["logit"], atol=1e-5)


def test_native_notices_are_dropped_and_other_native_lines_kept(capfd):
    import os

    from tfdeepfake.cli import native_lines_dropped

    with native_lines_dropped("INFO: Created TensorFlow Lite XNNPACK delegate"):
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"E0000 a real native error\n")
    err = capfd.readouterr().err
    assert "XNNPACK" not in err and "E0000 a real native error\n" in err


def test_tflite_export_prints_only_its_own_lines(tmp_path):
    """LiteRT's interpreter announces its XNNPACK delegate on stderr in every process that
    runs a model; the export command keeps that notice out of its output."""
    import subprocess
    import sys

    cli = "import sys; from tfdeepfake.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", cli, "export", "--model", "autoatt_b4_tiny", "--format", "tflite",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert "Parity report:" in done.stdout, done.stderr
    assert "XNNPACK" not in done.stderr and "fully_quantize" not in done.stderr


def test_the_ensemble_reads_clips_from_calibration_shards(tmp_path, capsys):
    """The ensemble scores clips: its parity check reads clips of its frames, not faces."""
    from tfdeepfake.cli import main
    from tfrecords_tools.synthetic import write_synthetic_shards

    write_synthetic_shards(str(tmp_path / "shards"), n_real=2, n_fake=2, frames=8)
    code = main(["export", "--model", "ensemble_tiny", "--format", "tflite",
                           "--quantize", "fp16", "--calibration", str(tmp_path / "shards"),
                           "--limit", "4", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code in (0, 1), out  # 1: random weights' tiny logit range can miss the 1% bound
    assert "ensemble_tiny.fp16.tflite: " in out and "4 faces" in out and "Parity report" in out
