"""Benchmarks side by side with the PyTorch references: ``python -m tfdeepfake.bench``.

Suites (each figure: machine, versions, batch, threads, median of repeats after warm-up,
peak RSS of the process that measured it):

* ``models``: images (clips) per second per detector, TensorFlow vs the PyTorch reference
  architecture, same thread count, with achieved GFLOP/s beside the estimated peak.
* ``pipeline``: augmented crops per CPU-second from TFRecords (``tfdeepfake.data``) vs an
  albumentations + OpenCV pipeline doing the same augmentations.
* ``extract``, ``detect``, ``tflite``: run the existing ``bench/*.py`` scripts and keep
  their printed figures.

Benchmarks print figures; they assert nothing.
"""
