"""Download the published checkpoints into a cache folder, verifying their SHA-256.

icpr2020dfdc names each file after its SHA-256 (``..._bestval-<sha256>.pth``), which is
checked. The DFDC winner's release files come without published checksums: their digest
is recorded next to the file (``<file>.sha256``) once a download is complete, and checked on
every later use. A download goes to ``<file>.<pid>.part`` and becomes ``<file>`` only when every
byte of its Content-Length arrived and the digest holds; any failure deletes the part, so the
cache never holds a file that looks complete and is not.

Where the files come from is configurable (a mirror, an air-gapped copy): each host's base URL
is read from its environment variable (``HOSTS``) at download time; ``file://`` URLs work.
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tfdeepfake.safeio import fsync_dir, fsync_file, sha256_of, write_text_atomic
from tfdeepfake.weights.sources import GEND_REPO, ICPR_REPO, WINNER_REPO, get_source


@dataclasses.dataclass(frozen=True)
class Host:
    """Where one reference publishes its files: a default base URL and the variable that
    replaces it (keep the file names; e.g. ``http://mirror.lan/icpr2020/``)."""

    env: str
    default: str

    def base_url(self) -> str:
        base = os.environ.get(self.env) or self.default
        return base if base.endswith("/") else base + "/"


# icpr2020dfdc moved its files from an S3 bucket to Backblaze B2 one day after publishing them
# (its architectures/weights.py; same names and digests).
HOSTS = {
    ICPR_REPO: Host("TFDEEPFAKE_ICPR_URL", "https://f002.backblazeb2.com/file/icpr2020/"),
    WINNER_REPO: Host(
        "TFDEEPFAKE_WINNER_URL", f"https://github.com/{WINNER_REPO}/releases/download/0.0.1/"
    ),
}
_ICPR_FILES = {
    "EfficientNetAutoAttB4ST_DFDC": (
        "4df0ef7d2f380a5955affa78c35d0942ac1cd65229510353b252737775515a33"
    ),
    "EfficientNetAutoAttB4ST_FFPP": (
        "ddb357503b9b902e1b925c2550415604c4252b9b9ecafeb7369dc58cc16e9edd"
    ),
    "EfficientNetAutoAttB4_DFDC": (
        "72ed969b2a395fffe11a0d5bf0a635e7260ba2588c28683630d97ff7153389fc"
    ),
    "EfficientNetAutoAttB4_FFPP": (
        "b0c9e9522a7143cf119843e910234be5e30f77dc527b1b427cdffa5ce3bdbc25"
    ),
    "EfficientNetB4ST_DFDC": ("86f0a0701b18694dfb5e7837bd09fa8e48a5146c193227edccf59f1b038181c6"),
    "EfficientNetB4ST_FFPP": ("ccd016668071be5bf5fff68e446d055441739ec7113fb1a6eee998f08396ae92"),
    "EfficientNetB4_DFDC": ("c9f3663e2116d3356d056a0ce6453e0fc412a8df68ebd0902f07104d9129a09a"),
    "EfficientNetB4_FFPP": ("93aaad84946829e793d1a67ed7e0309b535e2f2395acb4f8d16b92c0616ba8d7"),
}
_WINNER_SEEDS = ("111_36", "555_19", "777_29", "777_31", "888_37", "888_40", "999_23")


class ChecksumError(RuntimeError):
    """A downloaded or cached file whose SHA-256 is not the expected one."""


class DownloadError(OSError):
    """A transfer that failed or ended early; nothing of it is left in the cache."""


@dataclasses.dataclass(frozen=True)
class Download:
    """One published checkpoint file.

    Attributes:
        name: the NAME of ``tfdeepfake weights download``.
        source: the import source (``tfdeepfake.weights.sources``).
        host: the key of ``HOSTS`` that serves it.
        filename: the file name in the cache (and on the host unless ``remote`` is given).
        sha256: the published SHA-256, or None when the authors published none.
        remote: the path under the host's base URL when it is not ``filename``.
    """

    name: str
    source: str
    host: str
    filename: str
    sha256: str | None
    remote: str = ""

    @property
    def url(self) -> str:
        """The host's base URL now (its environment variable, else the default) + the path."""
        return HOSTS[self.host].base_url() + (self.remote or self.filename)


def _icpr(name: str, digest: str) -> Download:
    filename = f"{name}_bestval-{digest}.pth"
    return Download(name, name.rsplit("_", 1)[0], ICPR_REPO, filename, digest)


def _winner(seed: str) -> Download:
    run, epoch = seed.split("_")
    filename = f"final_{run}_DeepFakeClassifier_tf_efficientnet_b7_ns_0_{epoch}"
    return Download(
        f"dfdc-winner-b7-{seed.replace('_', '-')}",
        "dfdc-winner-b7",
        WINNER_REPO,
        filename,
        None,
    )


# GenD's weights on the Hugging Face Hub, pinned to the commit whose LFS pointer gives the digest
# (1,215,928,160 bytes, fp32).
GEND_COMMIT = "9413725434bfe93ef069b7b4dcdf817cd83529b3"
HOSTS[GEND_REPO] = Host(
    "TFDEEPFAKE_GEND_URL", f"https://huggingface.co/yermandy/GenD_CLIP_L_14/resolve/{GEND_COMMIT}/"
)
GEND_DOWNLOAD = Download(
    "gend-clip-l14",
    "gend",
    GEND_REPO,
    "GenD_CLIP_L_14.safetensors",
    "d76f0bdfd74a29fe1b1c1b84a80ac92486993e426878e8c7a3944281fbb96833",
    remote="model.safetensors",
)
DOWNLOADS: dict[str, Download] = {
    d.name: d
    for d in [
        *(_icpr(n, h) for n, h in _ICPR_FILES.items()),
        *map(_winner, _WINNER_SEEDS),
        GEND_DOWNLOAD,
    ]
}
# Names that stand for several files: each is imported into its own folder.
GROUPS = {"dfdc-winner-b7-all": [n for n in DOWNLOADS if n.startswith("dfdc-winner-b7-")]}
REFERENCES = {ICPR_REPO: "icpr2020dfdc", WINNER_REPO: "DFDC winner", GEND_REPO: "GenD"}


def get_downloads(name: str) -> list[Download]:
    """The file(s) a NAME stands for; the error lists the known names."""
    if name in GROUPS:
        return [DOWNLOADS[n] for n in GROUPS[name]]
    if name in DOWNLOADS:
        return [DOWNLOADS[name]]
    raise ValueError(
        f"Unknown download {name!r}. Known names: {', '.join([*DOWNLOADS, *GROUPS])}. "
        "The ResNeXt-LSTM weights are on Google Drive only: download them by hand and run "
        "`tfdeepfake weights import resnext-lstm FILE --out DIR`."
    )


def where_published(source: str) -> str:
    """One sentence for errors: the files ``source`` imports and where they are published."""
    items = [d for d in DOWNLOADS.values() if d.source == source]
    reference = get_source(source).reference
    if not items:
        return f"{source} imports the checkpoint published by https://github.com/{reference}."
    first = items[0]
    more = f"; `tfdeepfake weights sources` lists {len(items) - 1} more" if len(items) > 1 else ""
    return (
        f"{source} imports the files published by {reference}, such as {first.url} "
        f"(`tfdeepfake weights download {first.name}` fetches, verifies and imports it{more})."
    )


def cache_dir(cache: str | os.PathLike | None = None) -> Path:
    """``cache``, else ``$TFDEEPFAKE_CACHE/weights``, else ``~/.cache/tfdeepfake/weights``."""
    if cache is not None:
        return Path(cache)
    root = os.environ.get("TFDEEPFAKE_CACHE")
    return Path(root) / "weights" if root else Path.home() / ".cache" / "tfdeepfake" / "weights"


def urllib_fetch(url: str, dest: Path) -> None:
    """Stream ``url`` to ``dest`` with a progress bar (any URL urllib opens, file:// too).

    Raises:
        DownloadError: the server's answer is an error, the connection dropped, or fewer
            bytes arrived than its Content-Length announced (http.client does not raise
            for that itself).
    """
    from tqdm import tqdm

    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name[:40]) as bar:
                while block := response.read(1 << 20):
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
    except (OSError, http.client.HTTPException) as err:  # HTTPError, reset, IncompleteRead
        raise DownloadError(f"{type(err).__name__}: {err}") from err
    if total is not None and received != total:
        raise DownloadError(f"the transfer ended after {received:,} of {total:,} bytes")


def _expected_digest(item: Download, recorded: Path) -> str | None:
    """The pinned digest, else the one recorded after this file's first complete download."""
    return item.sha256 or (recorded.read_text().strip() if recorded.is_file() else None)


def _verified_cached(item: Download, target: Path, recorded: Path) -> Path:
    expected = _expected_digest(item, recorded)
    digest = sha256_of(target)
    if expected is None:  # put there by hand: trusted once, then held to it
        write_text_atomic(recorded, digest + "\n")
    elif digest != expected:
        extra = f" and {recorded}" if recorded.is_file() else ""
        raise ChecksumError(
            f"Cached {target} has SHA-256 {digest}, expected {expected}: it changed since it "
            f"was verified. Delete {target}{extra} and run the command again to download it."
        )
    return target


def fetch(
    item: Download,
    cache: str | os.PathLike | None = None,
    fetcher: Callable[[str, Path], None] = urllib_fetch,
) -> Path:
    """The verified local path of ``item``, downloading it into the cache when missing.

    Raises:
        DownloadError: the transfer failed or was short (nothing is left in the cache).
        ChecksumError: the download or the cached copy does not have the expected digest
            (a bad download is deleted; a bad cached copy is reported with the path to
            delete, never replaced behind the user's back).
    """
    folder = cache_dir(cache)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / item.filename
    recorded = target.with_name(target.name + ".sha256")
    if target.is_file():
        return _verified_cached(item, target, recorded)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")  # one per process
    url = item.url
    try:
        fetcher(url, partial)
        digest = sha256_of(partial)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"Could not download {url} ({err}); nothing was kept. Check the network or the "
            f"{HOSTS[item.host].env} mirror setting, or download the file by hand, put it at "
            f"{target} and run the command again."
        ) from err
    expected = _expected_digest(item, recorded)
    if expected is not None and digest != expected:
        partial.unlink()
        raise ChecksumError(
            f"Download of {url} has SHA-256 {digest}, expected {expected}; it was deleted. "
            "Try again; if it persists the file served there is not the published one."
        )
    if item.sha256 is None:  # the transfer is complete and whole: now its digest is known
        write_text_atomic(recorded, digest + "\n")
    fsync_file(partial)  # on disk before it takes the cached name
    partial.replace(target)
    fsync_dir(folder)
    return target
