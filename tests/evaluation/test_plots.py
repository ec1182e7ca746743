"""The plots write real PNG files of sensible size."""

import numpy as np
import pytest
from matplotlib.image import imread

from tfdeepfake.evaluation import plots


def _png(path):
    img = imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img.std() > 0  # not a blank image
    return img


def test_plots_write_pngs(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    p = rng.random(50)
    _png(plots.plot_roc({"frame": (y, p), "video": (y[:10], p[:10])}, tmp_path / "roc.png"))
    _png(plots.plot_roc({"one class": (np.ones(5, int), p[:5])}, tmp_path / "roc1.png"))
    _png(plots.plot_confusion_matrix([[3, 1], [2, 4]], tmp_path / "cm.png"))
    _png(plots.plot_score_histogram(y, p, tmp_path / "sub" / "hist.png"))
    scores = {"autoatt_b4": ([0, 8, 16], [0.1, 0.7, 0.9]), "b7": ([0, 8, 16], [0.2, 0.3, 0.4])}
    _png(plots.plot_frame_scores(scores, tmp_path / "frames.png", title="video.mp4: FAKE"))


def test_plot_bad_input(tmp_path):
    with pytest.raises(ValueError, match="2x2"):
        plots.plot_confusion_matrix([[1, 2, 3]], tmp_path / "x.png")
    with pytest.raises(ValueError, match="3 times but 2 scores"):
        plots.plot_frame_scores({"m": ([0, 1, 2], [0.1, 0.2])}, tmp_path / "x.png")
