"""Self-blended images (tfdeepfake.data.sbi) and the fakes="sbi" training input."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.cli import main
from tfdeepfake.data import clip_dataset, frame_dataset, self_blend
from tfdeepfake.data.sbi import BLEND_RATIOS, blend_mask
from tfdeepfake.models import get_preset
from tfrecords_tools.synthetic import draw_face, synthetic_track, write_synthetic_shards

SIZE = 96
# Eyes, nose, mouth corners of the drawn face (tfrecords_tools.synthetic), in crop pixels.
LANDMARKS = np.array([0.38, 0.42, 0.62, 0.42, 0.5, 0.55, 0.42, 0.68, 0.58, 0.68]) * SIZE


def _face():
    image, _ = draw_face(SIZE, np.random.default_rng(0), fake=False)
    return image


def _blend(seed, landmarks=LANDMARKS):
    fake, mask = self_blend(_face(), landmarks.astype(np.float32), tf.constant([seed, 0], tf.int64))
    return fake.numpy(), mask.numpy()[..., 0]


def test_the_blend_changes_only_what_the_mask_covers():
    image = _face().astype(np.float32)
    for seed in range(6):
        fake, mask = _blend(seed)
        change = np.abs(fake - image).max(axis=-1)
        assert np.all(change[mask == 0] == 0), "pixels outside the mask changed"
        assert np.all(change <= mask * 255.0 + 1e-3)
        assert change[mask > 0.2].mean() > 1.0, "the fake does not differ from the real"
        assert min(abs(mask.max() - r) for r in BLEND_RATIOS) < 1e-3  # the face's inside


def test_same_seed_same_fake_other_seed_other_fake():
    a, mask_a = _blend(11)
    b, mask_b = _blend(11)
    c, mask_c = _blend(12)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mask_a, mask_b)
    assert not np.array_equal(mask_a, mask_c) and not np.allclose(a, c)


def test_the_mask_lies_on_the_face_over_many_draws():
    points = LANDMARKS.reshape(5, 2)
    areas, ratios = [], set()
    for seed in range(20):
        mask = blend_mask(LANDMARKS.astype(np.float32), SIZE, SIZE,
                          tf.constant([seed, 1], tf.int64)).numpy()
        areas.append((mask > 0.5).mean())
        for x, y in points:  # eyes, nose and mouth are inside the blended region
            assert mask[int(y), int(x)] > 0.95
        assert mask[0, 0] == mask[0, -1] == mask[-1, 0] == mask[-1, -1] == 0.0
        ys, xs = np.nonzero(mask > 0.5)
        assert abs(xs.mean() - points[:, 0].mean()) < 0.1 * SIZE  # centred on the face
        _, blended = _blend(seed)
        ratios.add(round(float(blended.max() / max(mask.max(), 1e-6)), 2))
    # Crops with margin 0.5: the face box is a half of the side, the mask about its area.
    assert 0.1 < np.mean(areas) < 0.5 and np.std(areas) > 0.005
    assert ratios <= {0.25, 0.5, 0.75, 1.0} and len(ratios) >= 2


def test_degenerate_landmarks_fall_back_to_the_crop_centre():
    _, mask = _blend(3, landmarks=np.zeros(10))
    ys, xs = np.nonzero(mask > 0)
    assert abs(xs.mean() - SIZE / 2) < 0.1 * SIZE and abs(ys.mean() - SIZE / 2) < 0.15 * SIZE
    assert 0 < (mask > 0).mean() < 0.6


@pytest.fixture(scope="module")
def real_shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("real_only")
    write_synthetic_shards(out, n_real=3, n_fake=0, frames=4, size=64, seed=0)
    return out


def test_real_only_shards_give_real_and_self_blended_pairs(real_shards):
    preset = get_preset("gend_clip_tiny")

    def batch(seed):
        ds = frame_dataset(real_shards, preset, batch_size=8, training=True, fakes="sbi",
                           seed=seed, with_masks=True, augment=False)
        return [t.numpy() for t in next(iter(ds))]

    images, labels, masks = batch(5)
    assert labels.ravel().tolist() == [0, 1] * 4
    peak = masks.reshape(8, -1).max(axis=1)
    assert np.all(peak[::2] == 0) and np.all(peak[1::2] > 0.2)  # the blend mask is the fake's
    # A pair is the same face: the fake differs from its real inside the mask only.
    diff = np.abs(images[1] - images[0]).max(axis=-1)
    assert diff[masks[1, ..., 0] > 0.5].mean() > 5 * max(diff[masks[1, ..., 0] == 0].mean(), 1e-3)
    np.testing.assert_array_equal(images, batch(5)[0])  # the same seed: the same batch


def test_clips_self_blend_every_frame_alike(real_shards):
    ds = clip_dataset(real_shards, get_preset("resnet_lstm_tiny"), batch_size=2, training=True,
                      clip_len=4, fakes="sbi", augment=False)
    clips, labels = (t.numpy() for t in next(iter(ds)))
    assert labels.ravel().tolist() == [0, 1]
    assert np.abs(clips[1] - clips[0]).mean() > 0.01


def test_sbi_needs_real_tracks_and_a_known_source(tmp_path):
    write_synthetic_shards(tmp_path / "fakes", n_real=0, n_fake=2, frames=2, size=64, seed=0)
    preset = get_preset("gend_clip_tiny")
    with pytest.raises(ValueError, match="no real track"):
        frame_dataset(tmp_path / "fakes", preset, batch_size=2, training=True, fakes="sbi")
    with pytest.raises(ValueError, match="fakes must be 'shards' or 'sbi'"):
        frame_dataset(tmp_path / "fakes", preset, batch_size=2, training=True, fakes="gan")


def test_train_cli_on_real_faces_only(real_shards, tmp_path, capsys):
    """`train --fakes sbi` with SGDR and the uniformity/alignment terms, from real shards."""
    run = tmp_path / "run"
    code = main(["train", "--model", "gend_clip_tiny", "--data", str(real_shards),
                 "--out", str(run), "--fakes", "sbi", "--schedule", "cosine_restarts",
                 "--set", "optimizer.restart_steps=2", "--set", "loss.uniformity_weight=0.1",
                 "--set", "loss.alignment_weight=0.1", "--steps", "3", "--batch-size", "4",
                 "--val-every", "0", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["fakes"] == "sbi"
    assert config["optimizer"]["schedule"] == "cosine_restarts"
    assert np.isfinite(json.loads(capsys.readouterr().out)["final_loss"])
    # The same real-only folder without --fakes sbi is refused, naming the fix.
    code = main(["train", "--model", "gend_clip_tiny", "--data", str(real_shards),
                 "--out", str(tmp_path / "run2"), "--steps", "1", "--no-progress"])
    assert code == 2 and "training needs both" in capsys.readouterr().err


def test_evaluation_order_pairs_each_real_frame_with_its_fake(tmp_path):
    """Without shuffling, each real frame is followed by its own fake, none left out."""
    from tfrecords_tools.writer import ShardedWriter

    with ShardedWriter(tmp_path) as writer:
        writer.write(synthetic_track("r", 0, frames=3, size=64, seed=1))
    ds = frame_dataset(tmp_path, get_preset("autoatt_b4_tiny"), batch_size=6, training=False,
                       fakes="sbi")
    labels = np.concatenate([b[1].numpy().ravel() for b in ds])
    assert labels.tolist() == [0, 1, 0, 1, 0, 1]
