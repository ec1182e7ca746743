"""Scores to numbers, numpy only (labels: 1 = fake): binary metrics (``metrics``) and frame
logits -> video score -> ensemble verdict (``aggregation``).

Training, evaluation, inference and export all use these, so none of them imports another
for them. ``tfdeepfake.evaluation`` re-exports the public names.
"""
