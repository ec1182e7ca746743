"""Frame scores -> video score, tracks -> video, models -> ensemble verdict (numpy only).

Every strategy takes one track's frame logits (labels: 1 = fake) and returns a
``VideoScore`` holding both the video logit and the video probability. Strategies that
work on probabilities (``mean_prob``, ``vote``, ``confident``) report
``logit = log(p / (1 - p))`` with ``p`` clipped to ``[1e-7, 1 - 1e-7]``.

Strategies (``AGGREGATIONS``):
    mean_logit     sigmoid(mean of logits): icpr2020dfdc's video score.
    mean_prob      mean of sigmoid(logits): DeepfakeBench's video score.
    median         sigmoid(median of logits).
    max_abs_logit  the frame logit of largest magnitude (the most confident frame).
    vote           fraction of frames with p >= 0.5.
    confident      the DFDC winner's rule at t = 0.8 (see ``confident``).
    sequence       for models that score clips: mean of the clip logits (one clip: itself).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

_EPS = 1e-7


@dataclasses.dataclass(frozen=True)
class VideoScore:
    """A video (or track) score: ``logit`` and ``probability = sigmoid(logit)`` of fake."""

    logit: float
    probability: float


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """Numerically stable logistic function."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def logit(p: np.ndarray | float) -> np.ndarray:
    """Inverse of ``sigmoid``; ``p`` is clipped to ``[1e-7, 1 - 1e-7]`` so it stays finite."""
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


def _from_logit(z: float) -> VideoScore:
    return VideoScore(float(z), float(sigmoid(z)))


def _from_prob(p: float) -> VideoScore:
    return VideoScore(float(logit(p)), float(p))


def mean_logit(logits: np.ndarray) -> VideoScore:
    """sigmoid(mean of frame logits) (icpr2020dfdc)."""
    return _from_logit(np.mean(logits))


def mean_prob(logits: np.ndarray) -> VideoScore:
    """Mean of frame probabilities (DeepfakeBench's video-level score)."""
    return _from_prob(np.mean(sigmoid(logits)))


def median(logits: np.ndarray) -> VideoScore:
    """sigmoid(median of frame logits)."""
    return _from_logit(np.median(logits))


def max_abs_logit(logits: np.ndarray) -> VideoScore:
    """The frame logit with the largest magnitude (first one on ties)."""
    return _from_logit(logits[int(np.argmax(np.abs(logits)))])


def vote(logits: np.ndarray) -> VideoScore:
    """Fraction of frames voting fake (p >= 0.5, i.e. logit >= 0)."""
    return _from_prob(np.mean(logits >= 0.0))


def confident(logits: np.ndarray, t: float = 0.8) -> VideoScore:
    """The DFDC winner's "confident strategy" on frame probabilities p (t = 0.8).

    With n frames: if more than n / 2.5 frames and more than 11 frames have p > t, the
    mean of those; else if more than 0.9 n frames have p < 0.2, the mean of those; else
    the mean of all. (The reference writes ``n // 2.5``; for an integer count ``k``,
    ``k > n // 2.5`` and ``k > n / 2.5`` agree, so either reading gives the same score.)
    """
    p = sigmoid(logits)
    n = p.size
    high = p > t
    low = p < 0.2
    if high.sum() > n / 2.5 and high.sum() > 11:
        return _from_prob(np.mean(p[high]))
    if low.sum() > 0.9 * n:
        return _from_prob(np.mean(p[low]))
    return _from_prob(np.mean(p))


def sequence(logits: np.ndarray) -> VideoScore:
    """For models that output a clip logit: the mean of the clip logits."""
    return _from_logit(np.mean(logits))


AGGREGATIONS: dict[str, Callable[[np.ndarray], VideoScore]] = {
    "mean_logit": mean_logit,
    "mean_prob": mean_prob,
    "median": median,
    "max_abs_logit": max_abs_logit,
    "vote": vote,
    "confident": confident,
    "sequence": sequence,
}


def aggregate(frame_logits: Sequence[float] | np.ndarray, method: str = "mean_logit") -> VideoScore:
    """Turn one track's frame logits (or a sequence model's clip logits) into a video score.

    Example:
        >>> aggregate([2.0, 0.0, -1.0], "mean_logit").probability  # sigmoid(1/3)
        0.58257...
    """
    if method not in AGGREGATIONS:
        raise ValueError(
            f"Unknown aggregation {method!r}; choose one of {', '.join(AGGREGATIONS)}."
        )
    logits = np.asarray(frame_logits, dtype=np.float64).reshape(-1)
    if logits.size == 0:
        raise ValueError(
            "aggregate() got no frame logits: the track has no scored frames. "
            "Check that faces were found in the video before aggregating."
        )
    if not np.all(np.isfinite(logits)):
        raise ValueError(
            f"aggregate() got non-finite frame logits ({int(np.sum(~np.isfinite(logits)))} of "
            f"{logits.size}); the model output is broken (NaN weights or inputs?)."
        )
    return AGGREGATIONS[method](logits)


def aggregate_tracks(track_scores: Sequence[VideoScore]) -> tuple[int, VideoScore]:
    """A video with several faces takes its most suspicious track (highest probability).

    Returns ``(index of that track, its score)``; ties go to the first track.
    """
    if len(track_scores) == 0:
        raise ValueError("aggregate_tracks() got no tracks: the video has no scored face.")
    index = int(np.argmax([s.probability for s in track_scores]))
    return index, track_scores[index]


@dataclasses.dataclass(frozen=True)
class EnsembleVerdict:
    """The ensemble's decision for one video.

    Attributes:
        probability: mean of the members' video probabilities of fake.
        label: ``"FAKE"`` when ``probability >= threshold``, else ``"REAL"``.
        confidence: probability of the chosen label (``p`` for FAKE, ``1 - p`` for REAL).
        threshold: the threshold used.
        members: the member probabilities that were averaged.
        missing: members that gave no score (None or NaN), left out of the average.
    """

    probability: float
    label: str
    confidence: float
    threshold: float
    members: dict[str, float]
    missing: tuple[str, ...] = ()


def ensemble(
    member_probabilities: Mapping[str, float | None], threshold: float = 0.5
) -> EnsembleVerdict:
    """Average the members' video probabilities and apply ``threshold``.

    Members whose score is None or NaN (e.g. no face for that model) are listed in
    ``missing`` and left out of the average; if none is left, a ValueError says so.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be strictly between 0 and 1, got {threshold}.")
    if not isinstance(member_probabilities, Mapping):
        raise TypeError(f"member_probabilities must map each model name to its video "
                        f"probability ({{'autoatt_b4': 0.7}}), got "
                        f"{type(member_probabilities).__name__}.")
    scores: dict[str, float] = {}
    missing = []
    for name, p in member_probabilities.items():
        if p is None or (isinstance(p, float) and math.isnan(p)):
            missing.append(name)
            continue
        if not 0.0 <= p <= 1.0:
            raise ValueError(
                f"Member {name!r} gave probability {p}, outside [0, 1]: pass probabilities "
                "(sigmoid of the video logit), not logits."
            )
        scores[name] = float(p)
    if not scores:
        raise ValueError(
            f"No ensemble member gave a score (members: {', '.join(member_probabilities)})."
        )
    p = float(np.mean(list(scores.values())))
    fake = p >= threshold
    return EnsembleVerdict(
        probability=p,
        label="FAKE" if fake else "REAL",
        confidence=p if fake else 1.0 - p,
        threshold=threshold,
        members=scores,
        missing=tuple(missing),
    )
