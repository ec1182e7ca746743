"""The re-crop rule between the margin crops are stored with and the margin a model wants
(TensorFlow-free, so scoring can run where TensorFlow is not installed)."""

from __future__ import annotations


def recrop_fraction(stored_margin: float, wanted_margin: float) -> float:
    """Fraction of a stored crop's side to keep (centre crop) to get ``wanted_margin``."""
    if wanted_margin > stored_margin + 1e-6:
        raise ValueError(
            f"The shards were cut with margin {stored_margin:.3f} but the model wants "
            f"{wanted_margin:.3f}; re-extract with `tfdeepfake extract --margin {wanted_margin}`."
        )
    return (1 + 2 * wanted_margin) / (1 + 2 * stored_margin)
