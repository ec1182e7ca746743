"""Pretrained bundles without PyTorch: listing, the no-silent-download default, and failed
downloads (404, truncated body, wrong digest) that give one clear error and cache nothing."""

import re

import pytest
from published_files import AUTOATT, point_hosts_at, tiny_bundle, url_path

from tfdeepfake.cli import main
from tfdeepfake.weights import bundles
from tfdeepfake.weights.pretrained import load_model

PAYLOAD = b"a published checkpoint" * 64


@pytest.fixture
def served(tmp_path, monkeypatch, file_server):
    monkeypatch.setenv("TFDEEPFAKE_CACHE", str(tmp_path / "cache"))
    point_hosts_at(file_server.url, monkeypatch)
    tiny = tiny_bundle("dfdc-lite", [(AUTOATT, PAYLOAD)])
    monkeypatch.setitem(bundles.BUNDLES, "dfdc-lite", tiny)
    return file_server


def _cache_entries(tmp_path):
    root = tmp_path / "cache"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_listing_names_sizes_sources_and_licences(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TFDEEPFAKE_CACHE", str(tmp_path))
    assert main(["pretrained"]) == 0
    out = capsys.readouterr().out
    for expected in ("dfdc-lite  ~337 MB", "dfdc  ~1,933 MB", "ffpp  ~71 MB",
                     "polimi-ispl/icpr2020dfdc: GPL-3.0", "dfdc_deepfake_challenge: MIT",
                     "not cached: tfdeepfake pretrained ffpp", f"cache: {tmp_path}"):
        assert expected in out
    dfdc_block = out.split("\ndfdc  ")[1].split("\nffpp  ")[0]  # the full bundle's lines
    assert len(re.findall(r"- dfdc_winner_b7_\d+_\d+:", dfdc_block)) == 7  # all seven seeds


def test_an_unknown_bundle_is_a_usage_error(served, capsys):
    assert main(["pretrained", "nosuch"]) == 2
    assert capsys.readouterr().err.startswith(
        "tfdeepfake pretrained: Unknown pretrained bundle 'nosuch'. Known bundles: dfdc-lite")
    assert served.requests == []


def test_plain_detect_without_the_default_cached_prints_the_command(served, capsys):
    assert main(["detect", "clip.mp4"]) == 2
    err = capsys.readouterr().err
    assert "Fetch it once with: tfdeepfake pretrained dfdc-lite" in err
    assert served.requests == []  # nothing was downloaded behind the user's back


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("404", "HTTP Error 404"),
        ("truncated", "IncompleteRead|ended after"),
        ("wrong digest", "expected [0-9a-f]{64}; it was deleted"),
    ],
)
def test_failed_download_gives_one_error_and_caches_nothing(
    served, capsys, tmp_path, failure, message
):
    path = url_path(AUTOATT)
    if failure != "404":
        served.files[path] = PAYLOAD if failure == "truncated" else b"not the published file"
    if failure == "truncated":
        served.misbehave[path] = "truncate"
    assert main(["detect", "clip.mp4", "--pretrained", "dfdc-lite"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line.lower()
              or line.startswith("tfdeepfake detect:")]
    assert len(errors) == 1, errors
    assert errors[0].startswith("tfdeepfake detect: ") and path.rsplit("/", 1)[-1] in errors[0]
    assert re.search(message, errors[0])
    assert served.requests == [path]
    assert _cache_entries(tmp_path) == []


def test_load_model_names(served):
    with pytest.raises(ValueError, match="has 8 models .* Detector.from_pretrained"):
        load_model("dfdc")
    with pytest.raises(ValueError, match="neither a folder, a pretrained bundle"):
        load_model("no-such-model")
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_model("ffpp", download=False)


def test_load_model_of_nothing_says_what_it_takes():
    with pytest.raises(TypeError, match="a run folder or a pretrained name"):
        load_model(None)
