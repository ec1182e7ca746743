"""Training losses, written with ``keras.ops`` (any backend). Inputs are logits; labels 1 = fake.

Each loss returns the mean over the (local) batch as a float32 scalar.

Example:
    >>> loss = balanced_bce(labels, outputs["logit"], label_clip=0.01)
"""

from __future__ import annotations

from keras import ops


def _bce_terms(labels, logits, label_clip: float = 0.0):
    """Per-element BCE with logits, ``max(z, 0) - z * y + log(1 + exp(-|z|))`` (stable)."""
    logits = ops.cast(logits, "float32")
    labels = ops.cast(ops.reshape(labels, ops.shape(logits)), "float32")
    if label_clip > 0:
        labels = ops.clip(labels, label_clip, 1.0 - label_clip)
    return ops.relu(logits) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))


def bce_with_logits(labels, logits, label_clip: float = 0.0):
    """Binary cross-entropy of logits (N, 1) against labels (N, 1) in {0, 1}, batch mean.

    Args:
        labels: 1 = fake, 0 = real.
        logits: raw scores (not probabilities).
        label_clip: clip labels to [label_clip, 1 - label_clip] first (0: no clipping).
    """
    return ops.mean(_bce_terms(labels, logits, label_clip))


def balanced_bce(labels, logits, label_clip: float = 0.0):
    """The DFDC winner's loss: (mean BCE over fakes + mean BCE over reals) / 2 in each batch.

    A class absent from the batch contributes 0 to its half (the other half still counts
    with weight 1/2), so the loss stays finite on one-class batches.
    """
    terms = _bce_terms(labels, logits, label_clip)
    fake = ops.cast(ops.reshape(labels, ops.shape(terms)) > 0.5, "float32")
    real = 1.0 - fake
    fake_mean = ops.sum(terms * fake) / ops.maximum(ops.sum(fake), 1.0)
    real_mean = ops.sum(terms * real) / ops.maximum(ops.sum(real), 1.0)
    return 0.5 * (fake_mean + real_mean)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, eps: float = 1e-6):
    """``mean(max(d(a, p) - d(a, n) + margin, 0))`` with the L2 distance ``d`` (as PyTorch's).

    Args:
        anchor, positive, negative: (N, D) feature vectors (unnormalised).
        margin: the margin (1.0 in the AutoAttB4ST reference).
        eps: added to the difference before the norm, as ``torch.nn.PairwiseDistance``.
    """
    anchor = ops.cast(anchor, "float32")
    d_pos = ops.sqrt(ops.sum(ops.square(anchor - ops.cast(positive, "float32") + eps), axis=-1))
    d_neg = ops.sqrt(ops.sum(ops.square(anchor - ops.cast(negative, "float32") + eps), axis=-1))
    return ops.mean(ops.relu(d_pos - d_neg + margin))


def stacked_triplet_loss(features, margin: float = 1.0):
    """Triplet loss on features of a batch laid out as consecutive (anchor, positive, negative).

    ``features`` is (3K, D): rows 0, 3, 6... are anchors, 1, 4, 7... positives and
    2, 5, 8... negatives (the layout of triplet batches folded into the batch axis).
    """
    dim = ops.shape(features)[-1]
    triplets = ops.reshape(features, (-1, 3, dim))
    return triplet_margin_loss(triplets[:, 0], triplets[:, 1], triplets[:, 2], margin)


def attention_mask_loss(attention, masks, has_mask=None, threshold: float = 0.4):
    """Auxiliary loss that teaches an attention map (N, h, w, 1) in [0, 1] the manipulated region.

    ``masks`` are SSIM difference masks (N, H, W, 1) with values in [0, 1] (``1 - SSIM``); they
    are resized to the attention's size, binarised at ``threshold`` (the DFDC winner's 0.4)
    and compared with binary cross-entropy. Only examples with ``has_mask`` (N,) > 0 count
    (fakes whose original is known); the loss is 0 when no example has a mask.
    """
    attention = ops.clip(ops.cast(attention, "float32"), 1e-6, 1.0 - 1e-6)
    masks = ops.cast(masks, "float32")
    if len(masks.shape) == 3:
        masks = ops.expand_dims(masks, -1)
    size = (attention.shape[1], attention.shape[2])
    target = ops.cast(ops.image.resize(masks, size, interpolation="area") > threshold, "float32")
    terms = -(target * ops.log(attention) + (1.0 - target) * ops.log(1.0 - attention))
    per_example = ops.mean(ops.reshape(terms, (ops.shape(terms)[0], -1)), axis=-1)
    if has_mask is None:
        weight = ops.ones_like(per_example)
    else:
        weight = ops.cast(ops.reshape(has_mask, ops.shape(per_example)) > 0, "float32")
    return ops.sum(per_example * weight) / ops.maximum(ops.sum(weight), 1.0)


def _pair_distances(features):
    """Squared L2 distances (N, N) between the L2-normalised rows of ``features`` and the mask
    (N, N) of the pairs ``i < j``."""
    f = ops.cast(features, "float32")
    f = f / ops.maximum(ops.norm(f, axis=-1, keepdims=True), 1e-12)
    sq = ops.maximum(2.0 - 2.0 * ops.matmul(f, ops.transpose(f)), 0.0)
    n = ops.shape(f)[0]
    upper = ops.cast(ops.triu(ops.ones((n, n)), k=1), "float32")
    return sq, upper


def uniformity_loss(features, t: float = 2.0, floor: float = 1e-6):
    """Uniformity (Wang & Isola 2020): ``log mean_{i<j} exp(-t |f_i - f_j|^2)`` over the
    L2-normalised rows of (N, D) ``features``; lower is more uniform on the sphere. The mean is
    floored at ``floor`` (GenD's clamp) so the log stays finite; 0 for fewer than two rows."""
    sq, upper = _pair_distances(features)
    pairs = ops.sum(upper)
    mean = ops.sum(ops.exp(-t * sq) * upper) / ops.maximum(pairs, 1.0)
    return ops.where(pairs > 0, ops.log(ops.maximum(mean, floor)), 0.0)


def alignment_loss(features, labels, alpha: float = 2.0):
    """Label-aware alignment (GenD's variant of Wang & Isola's): ``mean |f_i - f_j|^alpha``
    over the pairs ``i < j`` of L2-normalised rows with the same label; 0 without such a pair."""
    sq, upper = _pair_distances(features)
    y = ops.reshape(ops.cast(labels, "float32"), (-1,))
    same = ops.cast(ops.equal(y[:, None], y[None, :]), "float32") * upper
    distances = ops.power(sq + 1e-12, alpha / 2.0)
    return ops.sum(distances * same) / ops.maximum(ops.sum(same), 1.0)
