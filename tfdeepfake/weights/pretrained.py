"""Pretrained bundles on first use: download, verify, import and cache; offline afterwards.

Cache folders (``$TFDEEPFAKE_CACHE`` replaces ``~/.cache/tfdeepfake``)::

    ~/.cache/tfdeepfake/weights/FILE           the published files, verified (download.fetch)
    ~/.cache/tfdeepfake/pretrained/MEMBER/     one imported run folder per bundle member

A member folder appears only when its import finished (it is written under a temporary name
and renamed), so a later run either finds a whole folder or imports again. Where the files
are downloaded from follows ``tfdeepfake.weights.download.HOSTS`` (mirrors, file:// copies).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from tfdeepfake.runs import SOURCE_FILE
from tfdeepfake.weights.bundles import (
    BUNDLES,
    DEFAULT_BUNDLE,
    Bundle,
    Member,
    find_member,
    get_bundle,
)

log = logging.getLogger(__name__)


class PretrainedNotCached(FileNotFoundError):
    """A bundle that is not in the cache, where downloading was not allowed."""


def cache_root() -> Path:
    """``$TFDEEPFAKE_CACHE``, else ``~/.cache/tfdeepfake``."""
    root = os.environ.get("TFDEEPFAKE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "tfdeepfake"


def member_dir(member: Member) -> Path:
    return cache_root() / "pretrained" / member.name


def is_ready(member: Member) -> bool:
    """Whether ``member``'s imported folder is complete (its provenance is written last)."""
    return (member_dir(member) / SOURCE_FILE).is_file()


def is_cached(bundle: Bundle) -> bool:
    return all(is_ready(m) for m in bundle.members)


def fetch_command(name: str) -> str:
    """The one command that downloads and prepares bundle ``name``."""
    return f"tfdeepfake pretrained {name}"


def prepare_member(member: Member) -> Path:
    """``member``'s run folder: imported from its verified download when not cached yet."""
    from tfdeepfake.weights.download import fetch
    from tfdeepfake.weights.importer import import_checkpoint

    target = member_dir(member)
    if is_ready(member):
        return target
    item = member.download
    log.info(f"{member.name}: {item.filename} (~{member.approx_mb} MB, licence {member.licence})")
    path = fetch(item, cache_root() / "weights")
    partial = target.with_name(f"{target.name}.{os.getpid()}.importing")  # one per process
    shutil.rmtree(partial, ignore_errors=True)
    try:
        import_checkpoint(item.source, path, partial, member.preset, **member.overrides)
        if is_ready(member):  # another process finished the same import meanwhile
            return target
        if target.exists():  # an unfinished folder of an older version: replaced whole
            shutil.rmtree(target)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log.info("%s: imported into %s", member.name, target)
    return target


def prepare_bundle(name: str, download: bool = True) -> list[str]:
    """The run folders of bundle ``name``, downloading and importing what is missing (the
    download and each import are logged at INFO on ``tfdeepfake.weights.pretrained``).

    Raises:
        PretrainedNotCached: something is missing and ``download`` is False; the message
            gives the command that fetches it.
        DownloadError, ChecksumError: a file could not be fetched whole and verified.
        ImportError: the import needs PyTorch (the ``[torch]`` extra).
    """
    bundle = get_bundle(name)
    missing = [m for m in bundle.members if not is_ready(m)]
    if missing and not download:
        raise PretrainedNotCached(
            f"The pretrained bundle {name!r} ({bundle.description}, ~{bundle.approx_mb:,} MB) "
            f"is not in {cache_root() / 'pretrained'}. Fetch it once with: "
            f"{fetch_command(name)}"
        )
    if missing:
        size = sum(m.approx_mb for m in missing)
        licences = "; ".join(f"{repo}: {terms}" for repo, terms in bundle.licences.items())
        log.info(f"Downloading pretrained bundle {name!r}: {len(missing)} file(s), ~{size:,} MB, "
            f"into {cache_root()}. Licences: {licences}.")
    return [str(prepare_member(m)) for m in bundle.members]


def default_weights() -> list[str]:
    """The default bundle's run folders when cached, else ``PretrainedNotCached``."""
    return prepare_bundle(DEFAULT_BUNDLE, download=False)


def load_model(name_or_folder: str | os.PathLike, download: bool = True) -> Any:
    """The Keras model of a run folder, an imported folder or a pretrained member/bundle.

    ``model.preset`` holds its preset (input size, normalisation, aggregation); the model
    returns a dict with ``"logit"`` (1 = fake). A name that is not a folder is a bundle
    member (``autoatt_b4_dfdc``) or a bundle of one member (``ffpp``), downloaded and
    imported on first use.

    Example:
        >>> model = tfdeepfake.load_model("ffpp")
        >>> faces = tfdeepfake.models.preprocessor_for(model.preset)(crops)  # uint8 RGB
        >>> model(faces)["logit"]
    """
    from tfdeepfake.runs import load_run

    if not isinstance(name_or_folder, (str, os.PathLike)):
        raise TypeError(f"load_model takes a run folder or a pretrained name (see "
                        f"`tfdeepfake pretrained`), got {type(name_or_folder).__name__}.")
    folder = os.fspath(name_or_folder)
    if not os.path.isdir(folder):
        if folder in BUNDLES:
            members = BUNDLES[folder].members
            if len(members) > 1:
                raise ValueError(
                    f"Bundle {folder!r} has {len(members)} models "
                    f"({', '.join(m.name for m in members)}): load one of them by name, or "
                    f"run them all with Detector.from_pretrained({folder!r})."
                )
            member = members[0]
        else:
            member = find_member(folder)
        if not download and not is_ready(member):
            raise PretrainedNotCached(
                f"{member.name} is not in {cache_root() / 'pretrained'}; call "
                "load_model with download=True."
            )
        folder = str(prepare_member(member))
    run = load_run(folder)
    run.model.preset = run.preset
    return run.model
