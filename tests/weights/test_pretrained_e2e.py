"""`detect --pretrained` end to end without the internet: a server on 127.0.0.1 serves
checkpoints in the references' real containers at the real paths (tiny models so it runs in
seconds); download -> verify -> import -> verdict, then again offline with the server gone."""

import csv
import hashlib
import json

import pytest

pytest.importorskip("torch", reason="importing .pth files needs the [torch] extra")

from published_files import (  # noqa: E402
    AUTOATT,
    B7_SEED,
    point_hosts_at,
    state_for,
    tiny_bundle,
    url_path,
    write_icpr_file,
    write_winner_file,
)

from tfdeepfake.cli import main  # noqa: E402
from tfdeepfake.inference import Detector  # noqa: E402
from tfdeepfake.weights import bundles  # noqa: E402
from tfdeepfake.weights.pretrained import PretrainedNotCached, load_model  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture
def published(tmp_path, monkeypatch, file_server, sample_media):
    """The server holding dfdc-lite's two files, and the bundle pointing at tiny presets."""
    monkeypatch.setenv("TFDEEPFAKE_CACHE", str(tmp_path / "cache"))
    point_hosts_at(file_server.url, monkeypatch)
    payloads = []
    for spec, write in ((AUTOATT, write_icpr_file), (B7_SEED, write_winner_file)):
        path = tmp_path / spec[0]
        write(path, state_for(spec))
        payloads.append((spec, path.read_bytes()))
        file_server.files[url_path(spec)] = path.read_bytes()
    monkeypatch.setitem(bundles.BUNDLES, "dfdc-lite", tiny_bundle("dfdc-lite", payloads))
    return file_server, dict(payloads)


def _detect(video, csv_path, capsys):
    code = main(["detect", str(video), "--pretrained", "dfdc-lite", "--frames", "2",
                 "--csv", str(csv_path), "--quiet"])
    with open(csv_path, newline="") as f:
        [row] = list(csv.DictReader(f))
    return code, row, capsys.readouterr().err


def test_detect_pretrained_downloads_verifies_imports_then_runs_offline(
    published, sample_media, tmp_path, capsys
):
    server, payloads = published
    video = sample_media["single_face.mp4"]
    code, first, err = _detect(video, tmp_path / "first.csv", capsys)
    assert code == 0, err
    assert first["verdict"] in ("REAL", "FAKE")
    assert "~2 MB" in err and "GPL-3.0" in err and "MIT" in err  # size and licences shown
    assert sorted(server.requests) == sorted(url_path(s) for s in (AUTOATT, B7_SEED))
    cache = tmp_path / "cache" / "pretrained"
    for spec, body in payloads.items():
        provenance = json.loads((cache / spec[0] / "source.json").read_text())
        assert provenance["checkpoint_sha256"] == hashlib.sha256(body).hexdigest()
    assert json.loads((cache / B7_SEED[0] / "source.json").read_text())[
        "ignored_checkpoint_keys"
    ].keys() >= {"encoder.classifier.weight", "encoder.classifier.bias"}

    server.stop()
    code, again, err = _detect(video, tmp_path / "again.csv", capsys)
    assert code == 0, err
    assert len(server.requests) == 2 and "Downloading" not in err
    assert again["verdict"] == first["verdict"]
    assert again["ensemble_score"] == first["ensemble_score"]

    # The Python side reads the same cache, offline.
    detector = Detector.from_pretrained("dfdc-lite", download=False, frames=2)
    assert detector.model_names == ["autoatt_b4_tiny", "efficientnet_b7"]
    score = detector.predict_video(video).score
    assert score == pytest.approx(float(first["ensemble_score"]), abs=1e-5)
    model = load_model("autoatt_b4_dfdc", download=False)
    assert model.preset.name == "autoatt_b4_tiny"
    assert model.preset.config["padding"] == "pytorch_0.6"
    # A plain detect now runs the cached default bundle.
    assert main(["detect", str(video), "--frames", "2", "--quiet"]) == 0


def test_not_downloaded_bundle_is_refused_offline(published):
    with pytest.raises(PretrainedNotCached, match="tfdeepfake pretrained dfdc-lite"):
        Detector.from_pretrained("dfdc-lite", download=False)
