"""`tfdeepfake weights import` from the command line: usage errors on stderr with exit 2
before any import, one folder per checkpoint even when two share a name, and no advice to
unpickle a file that is not a checkpoint."""

import json
import pickle

import pytest

from tfdeepfake.cli import main
from tfdeepfake.cli.weights import member_folders
from tfdeepfake.weights.checkpoint import torch_load_reason

# What torch 2.13's weights-only reader raises for a text file.
TORCH_TEXT_ERROR = (
    "Weights only load failed. In PyTorch 2.6, we changed the default value of the "
    "`weights_only` argument in `torch.load` from `False` to `True`. Re-running `torch.load` "
    "with `weights_only` set to `False` will likely succeed, but it can result in arbitrary "
    "code execution. Do it only if you got the file from a trusted source.\nPlease file an "
    "issue with the following so that we can make `weights_only=True` compatible with your "
    "use case: WeightsUnpickler error: \n\nUnsupported operand 110\n\nCheck the documentation "
    "of torch.load to learn more about types accepted by default with weights_only "
    "https://pytorch.org/docs/stable/generated/torch.load.html."
)
# ... and for a pickled object it does not allow.
TORCH_GLOBAL_ERROR = (
    "Weights only load failed. This file can still be loaded, to do so you have two options, "
    "do those steps only if you trust the source of the checkpoint. \n\t(1) Re-running "
    "`torch.load` with `weights_only` set to `False` will likely succeed.\n\tWeightsUnpickler "
    "error: Unsupported global: GLOBAL __main__.NotAllowed was not an allowed global by "
    "default. Please use `torch.serialization.add_safe_globals([__main__.NotAllowed])` to "
    "allowlist this global if you trust this class/function."
)


def _import(capsys, *argv):
    """(exit code, stdout, stderr) of `tfdeepfake weights import ARGV`."""
    code = main(["weights", "import", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_member_folders_keep_every_file_apart():
    files = ["a/seed.pth", "b/seed.pth", "c/Seed.pth", "d/seed.pth-2",
             "EfficientNetB4_DFDC_bestval-c9f3.pth"]
    assert member_folders(files, "ens") == [
        "ens/seed.pth", "ens/seed.pth-2", "ens/Seed.pth-3", "ens/seed.pth-2-2",
        "ens/EfficientNetB4_DFDC",
    ]


def test_unknown_source_is_a_usage_error_on_stderr(tmp_path, capsys):
    (tmp_path / "x.pth").write_bytes(b"x")
    code, out, err = _import(capsys, "NoSuchSource", tmp_path / "x.pth", "--out", tmp_path / "o")
    assert code == 2 and out == ""
    assert err.startswith("tfdeepfake weights: error: Unknown weights source 'NoSuchSource'")
    assert not (tmp_path / "o").exists()


def test_an_out_that_is_a_file_is_refused_before_any_import(tmp_path, capsys):
    (tmp_path / "x.pth").write_bytes(b"not read: refused before any import")
    (tmp_path / "o").write_text("keep me")
    code, out, err = _import(capsys, "EfficientNetAutoAttB4", tmp_path / "x.pth", "--out",
                             tmp_path / "o")
    assert code == 2 and out == ""
    assert err == (f"tfdeepfake weights: error: --out {tmp_path / 'o'} is a file, not a "
                   "folder. Give a new or existing folder (the file is left as it is).\n")
    assert (tmp_path / "o").read_text() == "keep me"


def test_the_same_file_twice_is_refused_before_any_import(tmp_path, capsys, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "seed.pth").write_bytes(b"not read: refused before any import")
    monkeypatch.chdir(tmp_path)
    code, out, err = _import(capsys, "dfdc-winner-b7", "a/seed.pth", "a/seed.pth", "--out", "e")
    assert code == 2 and out == ""
    assert "tfdeepfake weights: error: a/seed.pth is given twice" in err
    code, _, err = _import(capsys, "dfdc-winner-b7", "a/seed.pth", "./a/seed.pth", "--out", "e")
    assert code == 2 and "a/seed.pth and ./a/seed.pth are one file" in err
    assert not (tmp_path / "e").exists()


def test_two_copies_of_one_checkpoint_are_refused_before_any_import(tmp_path, capsys):
    for name in ("seed0.pth", "copy_of_seed0.pth"):
        (tmp_path / name).write_bytes(b"same bytes: refused before any import")
    (tmp_path / "seed1.pth").write_bytes(b"other bytes")
    code, out, err = _import(capsys, "dfdc-winner-b7", tmp_path / "seed0.pth",
                             tmp_path / "seed1.pth", tmp_path / "copy_of_seed0.pth",
                             "--out", tmp_path / "e")
    assert code == 2 and out == ""
    assert (f"{tmp_path / 'seed0.pth'} and {tmp_path / 'copy_of_seed0.pth'} hold the same "
            "bytes") in err and "seed1.pth" not in err
    assert not (tmp_path / "e").exists()


def test_a_folder_given_as_checkpoint_is_named_a_folder(tmp_path, capsys):
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "model.safetensors").write_bytes(b"x")
    code, out, err = _import(capsys, "gend", tmp_path / "downloads", "--out", tmp_path / "o")
    assert code == 2 and out == ""
    assert "is a folder, not a checkpoint file" in err and "does not exist" not in err
    assert str(tmp_path / "downloads" / "model.safetensors") in err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "preset.json").write_text("{}")
    code, _, err = _import(capsys, "gend", tmp_path / "run", "--out", tmp_path / "o")
    assert code == 2 and f"--weights {tmp_path / 'run'}" in err


def test_import_errors_go_to_stderr(tmp_path, capsys):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"<html>not found</html>")
    code, out, err = _import(capsys, "gend", bad, "--out", tmp_path / "o")
    assert code == 1 and out == ""
    assert err.startswith(f"tfdeepfake weights: error: {bad}: Could not read")
    assert "https://huggingface.co/yermandy/GenD_CLIP_L_14" in err  # where the real file is
    code = main(["weights", "download", "no-such-download"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and "Unknown download" in captured.err


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (TORCH_TEXT_ERROR, "Unsupported operand 110"),
        (TORCH_GLOBAL_ERROR, "it pickles __main__.NotAllowed, which is not a tensor"),
    ],
)
def test_torch_advice_to_load_unsafely_is_dropped(message, reason):
    assert torch_load_reason(RuntimeError(message)) == reason


class NotAllowed:
    """A pickled class: the safe reader refuses it."""


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["text", "pickle", "torch.save of an object"])
def test_a_file_that_is_no_checkpoint_gets_no_unsafe_advice(tmp_path, capsys, kind):
    torch = pytest.importorskip("torch", reason="reading .pth files needs the [torch] extra")
    path = tmp_path / "model.pth"
    if kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"state_dict": NotAllowed()}))
    else:
        torch.save({"state_dict": {"w": torch.zeros(2)}, "extra": NotAllowed()}, path)
    code, out, err = _import(capsys, "EfficientNetB4", path, "--out", tmp_path / "o")
    assert code == 1 and out == ""
    assert "weights_only" not in err and "will likely succeed" not in err
    assert "safe_globals" not in err
    assert "is not a state dict or training checkpoint of tensors" in err
    assert "tfdeepfake weights download EfficientNetB4_DFDC" in err


@pytest.mark.torch
def test_checkpoints_with_one_name_each_get_a_folder(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch", reason="reading .pth files needs the [torch] extra")
    from published_files import B7_SEED, TINY_EFFNET, state_for, write_winner_file

    from tfdeepfake.cli import weights as weights_cli

    monkeypatch.setattr(weights_cli, "_overrides", lambda args: dict(TINY_EFFNET))  # tiny B7
    for seed, folder in enumerate("ab", start=1):
        (tmp_path / folder).mkdir()
        write_winner_file(tmp_path / folder / "seed.pth", state_for(B7_SEED, seed=seed))
    monkeypatch.chdir(tmp_path)
    code, out, err = _import(capsys, "dfdc-winner-b7", "a/seed.pth", "b/seed.pth", "--out", "e")
    assert code == 0, err
    assert "b/seed.pth: another checkpoint has its file name, so it goes to e/seed.pth-2" in out
    assert "imported a/seed.pth -> e/seed.pth/best.weights.h5" in out
    assert "imported b/seed.pth -> e/seed.pth-2/best.weights.h5" in out
    assert json.loads((tmp_path / "e" / "ensemble.json").read_text())["members"] == [
        "e/seed.pth", "e/seed.pth-2"
    ]
    digests = {json.loads((tmp_path / "e" / name / "source.json").read_text())[
        "checkpoint_sha256"] for name in ("seed.pth", "seed.pth-2")}
    assert len(digests) == 2  # both seeds kept, neither overwritten
