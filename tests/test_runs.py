"""tfdeepfake.runs: the one owner of run folders (write, read, find, load)."""

import json

import numpy as np
import pytest

from tfdeepfake import runs


@pytest.fixture(scope="module")
def tiny():
    from tfdeepfake import create_model

    return create_model("autoatt_b4_tiny")


def test_write_then_load_gives_the_same_model_and_records_the_source(tiny, tmp_path):
    folder = runs.write_run(tmp_path / "run", tiny, tiny.preset, config={"steps": 3})
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "best.weights.h5", "config.json", "preset.json"
    ]
    run = runs.load_run(folder)
    assert run.preset == tiny.preset and run.config == {"steps": 3} and run.source is None
    assert run.weights_source == str(tmp_path / "run" / "best.weights.h5")
    side = tiny.preset.input_size
    x = np.random.default_rng(0).uniform(-1, 1, (1, side, side, 3)).astype("float32")
    np.testing.assert_allclose(run.model(x)["logit"], tiny(x)["logit"], atol=1e-6)
    assert not hasattr(run.model, "weights_source")


def test_imported_folder_has_no_config_and_its_compatibility_is_read(tiny, tmp_path):
    runs.write_run(tmp_path, tiny, tiny.preset, source={"compatibility": "independent_frames"})
    assert json.loads((tmp_path / "source.json").read_text())["compatibility"]
    run = runs.load_run(tmp_path)
    assert run.config is None and run.compatibility == "independent_frames"
    from tfdeepfake.training import load_run

    assert load_run(str(tmp_path))[2] is None


def test_which_last_and_missing_weights(tiny, tmp_path):
    runs.write_preset(tmp_path, tiny.preset)
    assert runs.weights_path(str(tmp_path)) is None
    with pytest.raises(FileNotFoundError, match="has no weights yet"):
        runs.load_run(tmp_path)
    with pytest.raises(ValueError, match="which must be"):
        runs.load_run(tmp_path, which="newest")
    tiny.save_weights(str(tmp_path / runs.LAST_WEIGHTS))
    assert runs.load_run(tmp_path, which="last").weights_source.endswith("last.weights.h5")
    assert runs.load_run(tmp_path).weights_source.endswith("last.weights.h5")  # best falls back


def test_find_runs_groups_folders_by_preset_and_names_what_is_wrong(tiny, tmp_path):
    for seed in ("a", "b"):
        runs.write_preset(tmp_path / seed, tiny.preset)
    (tmp_path / "not_a_run").mkdir()
    found = runs.find_runs(str(tmp_path))
    assert found == {"autoatt_b4_tiny": [str(tmp_path / "a"), str(tmp_path / "b")]}
    assert runs.find_runs(str(tmp_path / "a")) == {"autoatt_b4_tiny": [str(tmp_path / "a")]}
    with pytest.raises(FileNotFoundError, match="holds no run folder"):
        runs.find_runs(str(tmp_path / "not_a_run"))
    with pytest.raises(FileNotFoundError, match="is not a run folder: it has no preset.json"):
        runs.read_preset(str(tmp_path / "not_a_run"))
