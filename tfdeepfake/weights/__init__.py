"""Import the published PyTorch weights of the reference detectors, strictly and with parity.

``import_checkpoint`` reads a checkpoint without executing pickled code, maps every tensor
onto the Keras model of the matching preset (refusing on any mismatch) and writes a run
folder (``preset.json`` + ``best.weights.h5``) that ``tfdeepfake detect --weights DIR`` and
``tfdeepfake export --weights DIR`` load. ``download`` fetches the published files.
"""

from tfdeepfake.weights.checkpoint import CheckpointError, read_state_dict
from tfdeepfake.weights.importer import ImportResult, build_for_source, import_checkpoint
from tfdeepfake.weights.mapping import LayerSource, MappingError, assign_strict
from tfdeepfake.weights.sources import SOURCES, Source, get_source

__all__ = [
    "SOURCES",
    "CheckpointError",
    "ImportResult",
    "LayerSource",
    "MappingError",
    "Source",
    "assign_strict",
    "build_for_source",
    "get_source",
    "import_checkpoint",
    "read_state_dict",
]
