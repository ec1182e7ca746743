"""GenD speed bench: the plain torch CLIP tower (the GPU machine's reference, which has no
transformers) against transformers' CLIPVisionModel, and one tiny run of the bench itself."""

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tfdeepfake.bench import gend_speed  # noqa: E402
from tfdeepfake.bench.torch_clip import clip_tower, gend_logits, pooled  # noqa: E402

pytestmark = pytest.mark.torch


def test_plain_tower_matches_transformers():
    torch.manual_seed(0)
    reference = clip_tower(gend_speed.TINY, "transformers")
    with torch.no_grad():  # LayerNorms away from (1, 0), so a mix-up would show
        for name, param in reference.named_parameters():
            if "norm" in name:
                param.add_(torch.randn_like(param) * 0.1)
    plain = clip_tower(gend_speed.TINY, "plain")
    state = {k.removeprefix("vision_model."): v for k, v in reference.state_dict().items()}
    plain.load_state_dict(state, strict=True)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected, got = pooled(reference, x), pooled(plain, x)
    assert got.shape == (3, 32)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    head = torch.nn.Linear(32, 2)
    with torch.no_grad():
        torch.testing.assert_close(gend_logits(plain, head, x), gend_logits(reference, head, x),
                                   atol=1e-5, rtol=1e-5)


def test_tiny_bench_prints_every_path_with_its_logit_difference(capsys):
    assert gend_speed.main(["--tiny", "--batch", "2", "--repeats", "2", "--warmup", "1",
                            "--paths", "keras", "keras-xla", "--profile"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("2 ")]
    assert [r[1] for r in rows] == ["torch", "keras", "keras-xla"]
    for row in rows:  # same weights on both sides: float32 paths agree with torch
        assert float(row[-1]) < 1e-4, row
    assert "dense products alone" in out and "transformers reference" in out


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        gend_speed.parse_args(["--batch", "0"])


def test_weights_file_loads_into_the_reference_and_a_mismatch_names_the_file(tmp_path):
    from safetensors.numpy import save_file

    from tfdeepfake.bench.torch_clip import gend_state, load_gend_state

    torch.manual_seed(1)
    source, head = clip_tower(gend_speed.TINY, "plain"), torch.nn.Linear(32, 2)
    path = tmp_path / "model.safetensors"
    save_file(gend_state(source, head), str(path))
    torch.manual_seed(2)
    target, target_head = clip_tower(gend_speed.TINY, "transformers"), torch.nn.Linear(32, 2)
    from tfdeepfake.weights.checkpoint import read_state_dict

    load_gend_state(target, target_head, read_state_dict(path))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(gend_logits(target, target_head, x),
                                   gend_logits(source, head, x), atol=1e-5, rtol=1e-5)
    with pytest.raises(SystemExit, match="model.safetensors.*--tiny"):
        gend_speed.main(["--depth", "1", "--weights", str(path)])
