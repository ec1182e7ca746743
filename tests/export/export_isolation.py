"""Run Python in a clean interpreter: TensorFlow and LiteRT importable, tfdeepfake not.

``python -I -S`` skips the user site, ``PYTHONPATH``, the current folder and the ``.pth``
files of site-packages (which is how the editable install of tfdeepfake is found); the
script then appends site-packages itself, so third-party packages import and tfdeepfake
does not. The script runs from an empty temporary folder, so the repository is not on the
path either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np

PRELUDE = """
import sys
sys.path.append({site!r})
try:
    import tfdeepfake
    raise SystemExit("tfdeepfake is importable in the clean interpreter: the test is void")
except ImportError:
    pass
"""


def clean_env() -> dict[str, str]:
    """A minimal environment: no PYTHONPATH, TensorFlow quiet."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def run_clean(script: str, workdir: Path, timeout: int = 300) -> dict:
    """Run ``script`` (which must ``print(json.dumps(result))`` last) and return the result."""
    site = sysconfig.get_paths()["purelib"]
    if (Path(site) / "tfdeepfake").is_dir():
        raise RuntimeError(f"tfdeepfake is installed into {site} (not editable): cannot isolate")
    workdir.mkdir(parents=True, exist_ok=True)
    code = PRELUDE.format(site=site) + script
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=workdir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"clean subprocess failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_export_cli(argv: list[str]) -> int:
    """Run ``tfdeepfake export`` in this process through its own parser (exit code)."""
    import argparse

    from tfdeepfake.cli import export

    parser = argparse.ArgumentParser(prog="tfdeepfake")
    export.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


# Run every export of a list on its pixels (serving_default) and on the same pixels as PNG
# bytes (predict_encoded, one PNG per face or per frame); outputs go to <name>.npz.
ROUND_TRIP_SCRIPT = """
import json, numpy as np, tensorflow as tf
for item in {items!r}:
    signatures = tf.saved_model.load(item["path"]).signatures
    pixels = np.load(item["pixels"])
    flat = pixels.reshape((-1, *pixels.shape[-3:]))
    encoded = np.array([tf.io.encode_png(f).numpy() for f in flat], dtype=object)
    encoded = encoded.reshape(pixels.shape[:-3])
    outputs = {{}}
    for key, value in signatures["serving_default"](images=tf.constant(pixels)).items():
        outputs["pixels_" + key] = value.numpy()
    for key, value in signatures["predict_encoded"](encoded=tf.constant(encoded)).items():
        outputs["encoded_" + key] = value.numpy()
    np.savez(item["name"] + ".npz", **outputs)
print(json.dumps({{"done": [item["name"] for item in {items!r}]}}))
"""


def round_trip(exports: dict[str, tuple[Path, np.ndarray]], workdir: Path) -> dict:
    """Reload each ``name -> (version folder, uint8 pixels)`` in a clean interpreter and run
    both signatures; returns ``name -> {output key: array}``."""
    workdir.mkdir(parents=True, exist_ok=True)
    items = []
    for name, (path, pixels) in exports.items():
        np.save(workdir / f"{name}.pixels.npy", pixels)
        items.append({"name": name, "path": str(path), "pixels": f"{name}.pixels.npy"})
    run_clean(ROUND_TRIP_SCRIPT.format(items=items), workdir)
    return {name: dict(np.load(workdir / f"{name}.npz")) for name in exports}
