"""Import a published PyTorch checkpoint into a run folder that detect and export load.

The folder is a run folder (``tfdeepfake.runs``) without a training config::

    DIR/preset.json        the preset, with the overrides the reference needs
    DIR/best.weights.h5    the Keras weights
    DIR/source.json        provenance: source, checkpoint sha256, licence, ignored keys, notes
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from tfdeepfake import runs
from tfdeepfake.safeio import sha256_of
from tfdeepfake.weights.checkpoint import CheckpointError, read_state_dict
from tfdeepfake.weights.download import where_published
from tfdeepfake.weights.mapping import ImportSummary, assign_strict
from tfdeepfake.weights.sources import get_source


@dataclasses.dataclass
class ImportResult:
    """Where the import wrote its files, the loaded Keras model and what was mapped."""

    out_dir: str
    model: Any
    preset: Any
    summary: ImportSummary
    checkpoint_sha256: str

    @property
    def weights_path(self) -> str:
        return os.path.join(self.out_dir, runs.BEST_WEIGHTS)


def build_for_source(source_name: str, preset: str | None = None, **overrides: Any):
    """The Keras model (random weights) a source's checkpoints load into, and its preset."""
    from tfdeepfake.models import create_model, get_preset

    source = get_source(source_name)
    chosen = get_preset(preset or source.preset).with_overrides(**{**source.overrides, **overrides})
    return create_model(chosen), chosen


def import_checkpoint(
    source_name: str,
    checkpoint: str | os.PathLike,
    out_dir: str | os.PathLike,
    preset: str | None = None,
    **overrides: Any,
) -> ImportResult:
    """Map ``checkpoint`` strictly onto the source's preset and write ``out_dir``.

    Args:
        source_name: a key of ``SOURCES`` (e.g. ``"EfficientNetAutoAttB4"``).
        checkpoint: the ``.pth`` file.
        out_dir: the folder to write (created; existing files in it are replaced).
        preset: another preset of the same architecture (default: the source's own).
        overrides: preset overrides on top of the source's (e.g. ``input_size=256``).

    Raises:
        CheckpointError: the file is not a checkpoint of tensors (the message names the
            published files of the source).
        MappingError: the checkpoint does not match the architecture (nothing is written).

    Example:
        >>> result = import_checkpoint("EfficientNetAutoAttB4", "AutoAttB4_DFDC.pth", "runs/aa")
        >>> result.weights_path
        'runs/aa/best.weights.h5'
    """
    source = get_source(source_name)
    try:
        state = read_state_dict(checkpoint)
    except CheckpointError as err:
        raise CheckpointError(f"{err} {where_published(source_name)}") from err
    model, chosen = build_for_source(source_name, preset, **overrides)
    summary = assign_strict(model, state, source.layout(model), source.ignored)

    overrides_used = {**source.overrides, **overrides}
    digest = sha256_of(checkpoint)
    provenance = {
        "source": source.name,
        "reference": source.reference,
        "licence": source.licence,
        "checkpoint": os.path.basename(os.fspath(checkpoint)),
        "checkpoint_sha256": digest,
        "preset": chosen.name,
        "overrides": overrides_used,
        "tensors_used": summary.tensors_used,
        "keras_weights_set": summary.weights_set,
        "parameters": summary.parameters,
        "ignored_checkpoint_keys": summary.ignored,
        "compatibility": source.compatibility,
        "notes": source.notes,
    }
    out_dir = runs.write_run(out_dir, model, chosen, source=provenance)
    return ImportResult(out_dir, model, chosen, summary, digest)
