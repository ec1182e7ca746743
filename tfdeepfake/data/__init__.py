"""tf.data input pipelines over track shards, with the references' augmentations.

``frame_dataset`` (frame models), ``clip_dataset`` (sequence models), ``triplet_dataset``
(AutoAttB4ST), ``preset_images`` (the same crop + normalisation for inference),
``self_blend`` (self-blended fakes from real faces: ``frame_dataset(..., fakes="sbi")``).
"""

from tfdeepfake.data.augment import PRESETS as AUGMENT_PRESETS
from tfdeepfake.data.augment import AugmentConfig, Step, apply_augment
from tfdeepfake.data.balance import shuffle_buffer_size
from tfdeepfake.data.crops import normalise, preset_images, recrop
from tfdeepfake.data.pipelines import clip_dataset, clip_indices, frame_dataset, triplet_dataset
from tfdeepfake.data.sbi import SBIConfig, self_blend

__all__ = [
    "AUGMENT_PRESETS",
    "AugmentConfig",
    "SBIConfig",
    "Step",
    "apply_augment",
    "clip_dataset",
    "clip_indices",
    "frame_dataset",
    "normalise",
    "preset_images",
    "recrop",
    "self_blend",
    "shuffle_buffer_size",
    "triplet_dataset",
]
