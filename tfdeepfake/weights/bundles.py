"""Named bundles of published weights: what `--pretrained NAME` downloads and runs.

A bundle is a list of members; each member is one published file (a key of
``tfdeepfake.weights.download.DOWNLOADS``) imported into its own run folder. ``detect`` runs
all members of a bundle: members of one preset (the DFDC winner's seeds) are averaged into
one model, as their authors did, and the models' video probabilities are averaged.

To add a member (e.g. a new reference's weights): give its file a ``Download`` (with its
SHA-256 when published) and its import a ``Source``, then list a ``Member`` in a bundle below
or in a new ``Bundle``. ``approx_mb`` is what the listing shows before anything is fetched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tfdeepfake.weights.download import DOWNLOADS, Download
from tfdeepfake.weights.sources import get_source


@dataclasses.dataclass(frozen=True)
class Member:
    """One published file of a bundle, imported into the run folder ``name``.

    Attributes:
        name: the folder name in the pretrained cache (unique across bundles; members of
            several bundles are fetched once).
        download: the file (``DOWNLOADS[...]``).
        approx_mb: its size in MB (float32 parameters; shown before downloading).
        preset: another preset of the source's architecture (tests use tiny ones).
        overrides: preset overrides passed to the import.
    """

    name: str
    download: Download
    approx_mb: int
    preset: str | None = None
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def licence(self) -> str:
        return get_source(self.download.source).licence

    @property
    def reference(self) -> str:
        return get_source(self.download.source).reference


@dataclasses.dataclass(frozen=True)
class Bundle:
    """A named set of members run together (``tfdeepfake detect --pretrained NAME``)."""

    name: str
    description: str
    members: tuple[Member, ...]

    @property
    def approx_mb(self) -> int:
        return sum(m.approx_mb for m in self.members)

    @property
    def licences(self) -> dict[str, str]:
        """Reference repository -> licence of its weights, for every member."""
        return {m.reference: m.licence for m in self.members}


AUTOATT_MB = 71  # EfficientNetAutoAttB4: 17.7 M float32 parameters
B7_MB = 266  # the winner's B7 checkpoints: 66.4 M float32 parameters (timm's head included)
AUTOATT_DFDC = Member("autoatt_b4_dfdc", DOWNLOADS["EfficientNetAutoAttB4_DFDC"], AUTOATT_MB)
AUTOATT_FFPP = Member("autoatt_b4_ffpp", DOWNLOADS["EfficientNetAutoAttB4_FFPP"], AUTOATT_MB)
GEND_MB = 1216  # GenD_CLIP_L_14: the CLIP ViT-L/14 vision tower (303 M) + projection, float32
GEND = Member("gend_clip_l14", DOWNLOADS["gend-clip-l14"], GEND_MB)
WINNER_SEEDS = tuple(
    Member(name.replace("-", "_"), item, B7_MB)
    for name, item in DOWNLOADS.items()
    if item.source == "dfdc-winner-b7"
)

BUNDLES: dict[str, Bundle] = {
    b.name: b
    for b in (
        Bundle(
            "dfdc-lite",
            "icpr2020dfdc EfficientNetAutoAttB4 (DFDC) + one DFDC-winner B7 seed",
            (AUTOATT_DFDC, WINNER_SEEDS[0]),
        ),
        Bundle(
            "dfdc",
            "icpr2020dfdc EfficientNetAutoAttB4 (DFDC) + the DFDC winner's seven B7 seeds "
            "(averaged, the winner's combination)",
            (AUTOATT_DFDC, *WINNER_SEEDS),
        ),
        Bundle("ffpp", "icpr2020dfdc EfficientNetAutoAttB4 trained on FaceForensics++",
               (AUTOATT_FFPP,)),
        Bundle("gend", "GenD: CLIP ViT-L/14, LayerNorm-tuned, trained on FaceForensics++ "
               "(aligned faces; safetensors, no PyTorch needed)", (GEND,)),
        Bundle(
            "dfdc-lite-gend",
            "dfdc-lite plus GenD as a third model (the mean of the three video probabilities)",
            (AUTOATT_DFDC, WINNER_SEEDS[0], GEND),
        ),
    )
}
# What `tfdeepfake detect VIDEO` runs without --weights, once it is cached.
DEFAULT_BUNDLE = "dfdc-lite"


def get_bundle(name: str) -> Bundle:
    """The bundle ``name``; the error lists the known ones."""
    try:
        return BUNDLES[name]
    except KeyError:
        raise ValueError(
            f"Unknown pretrained bundle {name!r}. Known bundles: {', '.join(BUNDLES)} "
            "(`tfdeepfake pretrained` lists them with sizes and licences)."
        ) from None


def find_member(name: str) -> Member:
    """A member by its name, across all bundles; the error lists the known names."""
    members = {m.name: m for b in BUNDLES.values() for m in b.members}
    try:
        return members[name]
    except KeyError:
        raise ValueError(
            f"{name!r} is neither a folder, a pretrained bundle ({', '.join(BUNDLES)}) nor a "
            f"bundle member ({', '.join(members)})."
        ) from None
