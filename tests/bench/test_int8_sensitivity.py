"""bench/int8_sensitivity.py: the fake-quant copy is the model, its rounding is int8's, and
the script prints a row per group plus the real LiteRT int8 file."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tfdeepfake import create_model
from tfdeepfake.export.calibration import load_faces
from tfdeepfake.export.parity import recalibrate_batchnorm
from tfrecords_tools.synthetic import write_synthetic_shards

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "int8_sensitivity.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("int8_sensitivity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("int8-sensitivity")
    shards = write_synthetic_shards(root / "shards", n_real=2, n_fake=2, frames=4, size=48)
    model = create_model("autoatt_b4_tiny")
    faces = load_faces(shards, model.preset).images
    recalibrate_batchnorm(model, model.preset, faces)
    return model, faces, shards


def test_copy_without_rounding_is_the_model(bench, setup):
    model, faces, _ = setup
    copy, points, folds = bench.fake_quant_copy(model)
    assert points and not any(fq.active for fq in points)
    assert {fq.group for fq in points} == set(bench.GROUPS) - {"weights"}
    assert "stem_conv" in folds and folds["stem_conv"].name == "stem_bn"
    np.testing.assert_allclose(
        bench.logits(copy, faces, model.preset),
        bench.logits(model, faces, model.preset),
        atol=1e-5,
    )


def test_kernels_are_rounded_to_127_levels_per_folded_channel(bench, setup):
    model, _, _ = setup
    copy, _, folds = bench.fake_quant_copy(model)
    kernel, rounded = bench.quantized_kernels(copy, folds)["stem_conv"]
    bn = folds["stem_conv"]
    scale = np.asarray(bn.gamma) / np.sqrt(np.asarray(bn.moving_variance) + bn.epsilon)
    folded = rounded * scale
    step = np.abs(kernel * scale).max(axis=(0, 1, 2)) / 127.0
    levels = folded / step
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
    assert np.abs(levels).max() == pytest.approx(127, abs=1e-3)
    assert not np.allclose(rounded, kernel)


def test_script_prints_each_group_and_the_litert_file(bench, setup, tmp_path, capsys):
    _, _, shards = setup
    out = tmp_path / "rows.json"
    argv = ["--model", "autoatt_b4_tiny", "--calibration", str(shards), "--json", str(out)]
    assert bench.main(argv) == 0
    rows = json.loads(out.read_text())["rows"]
    names = [row["simulated"] for row in rows]
    assert names == [*bench.GROUPS, "all (simulated int8)", "LiteRT int8 file"]
    for row in rows:
        assert np.isfinite([row["rel_max"], row["rms"], row["mean"]]).all(), row
    by_name = dict(zip(names, rows, strict=True))
    assert by_name["weights"]["rms"] > 0 and by_name["all (simulated int8)"]["rms"] > 0
    assert "slope" in by_name["LiteRT int8 file"]
    printed = capsys.readouterr().out
    assert "autoatt_b4_tiny: 16 faces evaluated" in printed and "fit: int8 =" in printed
