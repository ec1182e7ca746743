"""`detect --pretrained gend` end to end without the internet and without PyTorch: a server on
127.0.0.1 serves a tiny GenD safetensors file at the Hugging Face path; download -> verify ->
import -> aligned faces -> verdict."""

import csv
import hashlib
import json

from gend_checkpoints import gend_state
from safetensors.numpy import save_file

from tfdeepfake.cli import main
from tfdeepfake.weights import bundles
from tfdeepfake.weights.download import DOWNLOADS, Download

HF_PATH = "/yermandy/GenD_CLIP_L_14/resolve/pinned/"


def test_detect_pretrained_gend(tmp_path, monkeypatch, file_server, sample_media, capsys):
    monkeypatch.setenv("TFDEEPFAKE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TFDEEPFAKE_GEND_URL", file_server.url + HF_PATH)
    path = tmp_path / "model.safetensors"
    save_file(gend_state(), str(path))
    body = path.read_bytes()
    file_server.files[HF_PATH + "model.safetensors"] = body
    real = DOWNLOADS["gend-clip-l14"]
    item = Download(real.name, real.source, real.host, real.filename,
                    hashlib.sha256(body).hexdigest(), remote=real.remote)
    member = bundles.Member("gend_clip_l14", item, 1, "gend_clip_tiny")
    monkeypatch.setitem(bundles.BUNDLES, "gend", bundles.Bundle("gend", "tiny GenD", (member,)))

    out = tmp_path / "gend.csv"
    code = main(["detect", str(sample_media["single_face.mp4"]), "--pretrained", "gend",
                 "--frames", "2", "--csv", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "MIT" in err  # the licence is shown before the download
    with open(out, newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["verdict"] in ("REAL", "FAKE") and 0.0 <= float(row["ensemble_score"]) <= 1.0
    assert file_server.requests == [HF_PATH + "model.safetensors"]
    provenance = json.loads(
        (tmp_path / "cache" / "pretrained" / "gend_clip_l14" / "source.json").read_text()
    )
    assert provenance["source"] == "gend" and provenance["preset"] == "gend_clip_tiny"
