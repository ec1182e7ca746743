"""Torch-free checks of the download cache and the strict mapping (default test run)."""

import hashlib
import sys

import keras
import numpy as np
import pytest

from tfdeepfake.weights.checkpoint import read_state_dict, unwrap_state_dict
from tfdeepfake.weights.download import (
    ChecksumError,
    Download,
    DownloadError,
    fetch,
    get_downloads,
)
from tfdeepfake.weights.mapping import LayerSource, MappingError, assign_strict

PAYLOAD = b"not really a checkpoint" * 100


def _item(sha256, filename="x.pth"):
    return Download("test", "EfficientNetB4", "polimi-ispl/icpr2020dfdc", filename, sha256)


def _fake_fetcher(calls, payload=PAYLOAD):
    def fetcher(url, dest):
        calls.append(url)
        dest.write_bytes(payload)

    return fetcher


def test_download_verifies_and_caches(tmp_path):
    calls = []
    good = hashlib.sha256(PAYLOAD).hexdigest()
    path = fetch(_item(good), tmp_path, _fake_fetcher(calls))
    assert path.read_bytes() == PAYLOAD and len(calls) == 1
    assert fetch(_item(good), tmp_path, _fake_fetcher(calls)) == path and len(calls) == 1


def test_bad_download_is_deleted_and_reported(tmp_path):
    with pytest.raises(ChecksumError, match="expected 0000"):
        fetch(_item("0" * 64), tmp_path, _fake_fetcher([]))
    assert list(tmp_path.iterdir()) == []


def test_unpublished_checksum_is_recorded_then_enforced(tmp_path):
    path = fetch(_item(None), tmp_path, _fake_fetcher([]))
    recorded = path.with_name(path.name + ".sha256").read_text().strip()
    assert recorded == hashlib.sha256(PAYLOAD).hexdigest()
    path.write_bytes(b"corrupted")
    with pytest.raises(ChecksumError, match=f"Delete {path} and {path}.sha256"):
        fetch(_item(None), tmp_path, _fake_fetcher([]))


def test_failed_transfer_leaves_nothing_and_records_no_digest(tmp_path):
    def dropped(url, dest):
        dest.write_bytes(PAYLOAD[:10])
        raise ConnectionResetError("connection reset by peer")

    with pytest.raises(DownloadError, match="connection reset"):
        fetch(_item(None), tmp_path, dropped)
    assert list(tmp_path.iterdir()) == []


def test_mirror_url_comes_from_the_environment(monkeypatch):
    [item] = get_downloads("EfficientNetAutoAttB4_DFDC")
    assert item.url.startswith("https://f002.backblazeb2.com/file/icpr2020/")
    monkeypatch.setenv("TFDEEPFAKE_ICPR_URL", "file:///mnt/weights")
    assert item.url == f"file:///mnt/weights/{item.filename}"


def test_file_url_download_with_progress(tmp_path, monkeypatch):
    from tfdeepfake.weights.download import urllib_fetch

    source = tmp_path / "published.pth"
    source.write_bytes(PAYLOAD)
    monkeypatch.setenv("TFDEEPFAKE_ICPR_URL", tmp_path.as_uri())
    item = _item(hashlib.sha256(PAYLOAD).hexdigest(), "published.pth")
    assert fetch(item, tmp_path / "cache", urllib_fetch).read_bytes() == PAYLOAD


def test_known_names_and_groups():
    assert len(get_downloads("dfdc-winner-b7-all")) == 7
    [item] = get_downloads("EfficientNetAutoAttB4_DFDC")
    assert item.sha256 in item.filename and item.source == "EfficientNetAutoAttB4"
    with pytest.raises(ValueError, match="Google Drive"):
        get_downloads("resnext")


def test_missing_torch_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "a.pth").write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install tfdeepfake\[torch\]"):
        read_state_dict(tmp_path / "a.pth")


def test_wrappers_and_module_prefix_are_removed():
    state = {"epoch": 3, "state_dict": {"module.fc.weight": np.zeros((1, 2))}}
    assert list(unwrap_state_dict(state)) == ["fc.weight"]


def _tiny_model():
    x = keras.Input((4,))
    h = keras.layers.BatchNormalization(epsilon=1e-3, name="bn")(x)
    return keras.Model(x, keras.layers.Dense(1, name="logit")(h))


def _state():
    rng = np.random.default_rng(0)
    return {
        "norm.weight": rng.random(4),
        "norm.bias": rng.random(4),
        "norm.running_mean": rng.random(4),
        "norm.running_var": rng.random(4) + 1,
        "norm.num_batches_tracked": np.array(7),
        "fc.weight": rng.random((1, 4)),
        "fc.bias": rng.random(1),
    }


SOURCES = [LayerSource("bn", "norm", "bn", eps=1e-3), LayerSource("logit", "fc", "dense")]


def test_strict_mapping_sets_every_weight():
    model, state = _tiny_model(), _state()
    summary = assign_strict(model, state, SOURCES)
    np.testing.assert_allclose(model.get_layer("logit").kernel.numpy(), state["fc.weight"].T)
    np.testing.assert_allclose(
        model.get_layer("bn").moving_variance.numpy(), state["norm.running_var"], rtol=1e-6
    )
    assert summary.tensors_used == 6 and list(summary.ignored) == ["norm.num_batches_tracked"]


def test_strict_mapping_lists_every_problem_and_changes_nothing():
    model, state = _tiny_model(), _state()
    before = [w.numpy().copy() for w in model.weights]
    state["extra.weight"] = np.zeros(3)
    state["fc.weight"] = np.zeros((1, 5))
    del state["norm.bias"]
    sources = [LayerSource("bn", "norm", "bn", eps=1e-5), SOURCES[1]]
    with pytest.raises(MappingError) as err:
        assign_strict(model, state, sources)
    message = str(err.value)
    for expected in (
        "extra.weight",
        "norm.bias",
        "logit/kernel: Keras (4, 1)",
        "epsilon 0.001, reference 1e-05",
        "bn/gamma",
    ):
        assert expected in message
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))


def test_http_short_body_and_404_fail_and_leave_nothing(tmp_path, monkeypatch, file_server):
    from tfdeepfake.weights.download import urllib_fetch

    monkeypatch.setenv("TFDEEPFAKE_ICPR_URL", file_server.url + "/file/icpr2020/")
    file_server.files["/file/icpr2020/short.pth"] = PAYLOAD
    file_server.misbehave["/file/icpr2020/short.pth"] = "truncate"
    with pytest.raises(DownloadError, match="short.pth .*IncompleteRead|ended after"):
        fetch(_item(None, "short.pth"), tmp_path, urllib_fetch)
    with pytest.raises(DownloadError, match="missing.pth .*404"):
        fetch(_item(None, "missing.pth"), tmp_path, urllib_fetch)
    assert list(tmp_path.iterdir()) == []
    file_server.misbehave.clear()
    path = fetch(_item(None, "short.pth"), tmp_path, urllib_fetch)
    assert path.read_bytes() == PAYLOAD
