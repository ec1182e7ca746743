"""Read a PyTorch checkpoint into plain numpy arrays without executing pickled code.

``.safetensors`` files (GenD's) are read with ``safetensors.numpy``: a JSON header and raw
tensor bytes, nothing to execute and no PyTorch needed.

``torch.load(..., weights_only=True)`` unpickles only tensors and plain containers, so a
checkpoint cannot run code on the reader's machine. The references' training wrappers are
removed: icpr2020dfdc's snapshots ``{"net": state_dict, "opt": ..., "epoch": ..., ...}`` and
the DFDC winner's ``{"epoch", "state_dict" (keys prefixed ``module.``), "bce_best"}``; what is
returned is the flat tensor dict the reference model's ``load_state_dict`` would have received.

``bce_best`` is sklearn's ``log_loss``, a numpy float64, which ``weights_only`` refuses by
default. Exactly the globals that rebuild a numpy scalar (``numpy.core.multiarray.scalar``
under its numpy 1 and numpy 2 names, ``numpy.dtype`` and the numeric dtype classes) are
allowed, through ``torch.serialization.safe_globals``; nothing else is, and
``weights_only=False`` is never used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

TORCH_MISSING = (
    "Reading PyTorch checkpoints needs PyTorch, which is an optional extra of tfdeepfake. "
    "Install it with `pip install tfdeepfake[torch]` (or `pip install torch`), then run the "
    "command again. Detection with an already imported weights folder does not need it."
)
# Keys that hold the state dict inside a training checkpoint, in the order they are tried.
WRAPPER_KEYS = ("state_dict", "net", "model_state_dict", "model")
# The numpy scalar types a training loop stores beside the weights (losses, counters).
NUMPY_SCALAR_TYPES = ("float64", "float32", "int64", "int32")
# The endings of the files named when a folder is given in place of a checkpoint.
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".safetensors")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not hold a state dict."""


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as err:
        raise ImportError(TORCH_MISSING) from err
    return torch


def numpy_scalar_globals() -> list:
    """The allow-list entries that let ``weights_only`` rebuild numpy scalars, nothing more."""
    scalar = np._core.multiarray.scalar
    dtype_classes = [type(np.dtype(name)) for name in NUMPY_SCALAR_TYPES]
    # Files pickled under numpy 1 name the function by its former module path.
    return [scalar, (scalar, "numpy.core.multiarray.scalar"), np.dtype, *dtype_classes]


def unwrap_state_dict(obj: Any, path: str = "<checkpoint>") -> dict[str, Any]:
    """The tensor dict inside ``obj``: unwraps training wrappers and strips ``module.``."""
    for _ in range(3):  # a wrapper inside a wrapper is the deepest seen in the references
        if not isinstance(obj, Mapping):
            break
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(
            f"{path} does not contain a state dict (a mapping of parameter names to tensors); "
            f"found {type(obj).__name__}. Pass the .pth/.pt file the reference saved with "
            "torch.save(model.state_dict()) or its training checkpoint."
        )
    tensors = {}
    for key, value in obj.items():
        if not hasattr(value, "shape"):
            raise CheckpointError(
                f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor; "
                "this is not a model state dict."
            )
        name = key[len("module.") :] if key.startswith("module.") else key
        tensors[name] = value
    return tensors


def check_checkpoint_file(path: str | os.PathLike) -> None:
    """Raise unless ``path`` is a file: ``FileNotFoundError``, or ``CheckpointError`` for a
    folder (naming the checkpoint files in it)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "preset.json")):
            raise CheckpointError(
                f"{path!r} is a folder imported already (it holds preset.json): detect and "
                f"export load it as `--weights {path}`. To import again, give the original "
                "checkpoint file."
            )
        found = sorted(n for n in os.listdir(path) if n.endswith(CHECKPOINT_SUFFIXES))
        raise CheckpointError(
            f"{path!r} is a folder, not a checkpoint file. Give the .pth or .safetensors file "
            f"itself (e.g. {os.path.join(path, found[0] if found else 'FILE.pth')}); several "
            "DFDC-winner seeds are given one file each."
            + (f" It holds {len(found)} such file(s): {', '.join(found[:3])}." if found else "")
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Checkpoint {path!r} does not exist. Give the path of a downloaded .pth or "
            ".safetensors file, or let `tfdeepfake weights download NAME` fetch and import it."
        )


def torch_load_reason(err: Exception) -> str:
    """Why ``torch.load`` refused a file, in a few words and without torch's advice (turn
    weights_only off, or allow-list the file's objects: either runs what the file names)."""
    text = str(err)
    if found := re.search(r"GLOBAL ([\w.]+)", text):
        return f"it pickles {found.group(1)}, which is not a tensor"
    detail = text.split("WeightsUnpickler error:", 1)[-1].strip()
    first = detail.split("\n", 1)[0].split(". ")[0].strip()
    if not first or "weights_only" in first or "Weights only" in first:
        return "torch finds no tensors in it"
    return first


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load ``path`` with ``torch.load(weights_only=True)``; return {name: float32/int array}.

    Example:
        >>> state = read_state_dict("EfficientNetAutoAttB4_DFDC_bestval-72ed....pth")
        >>> state["efficientnet.attconv.weight"].shape
        (1, 56, 1, 1)
    """
    path = os.fspath(path)
    check_checkpoint_file(path)
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    torch = _import_torch()
    try:
        with torch.serialization.safe_globals(numpy_scalar_globals()):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise CheckpointError(
            f"Could not read {path!r} as a PyTorch checkpoint ({torch_load_reason(err)}). It "
            "is not a state dict or training checkpoint of tensors: a truncated download "
            "(download it again), a file of another kind, or one holding pickled objects "
            "other than tensors, which tfdeepfake refuses to execute."
        ) from err
    state = unwrap_state_dict(obj, path)
    arrays = {}
    for name, tensor in state.items():
        tensor = tensor.detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.float()
        arrays[name] = tensor.numpy()
    return arrays


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of a ``.safetensors`` file as numpy arrays (floats as float32).

    Raises:
        CheckpointError: the file is not valid safetensors (truncated download, other format)
            or holds a dtype numpy cannot represent (bfloat16).
    """
    from safetensors.numpy import load_file

    path = os.fspath(path)
    try:
        arrays = load_file(path)
    except Exception as err:  # SafetensorError, TypeError (bf16), OSError
        raise CheckpointError(
            f"Could not read {path!r} as safetensors ({err}). The file may be truncated "
            "(download it again); bfloat16 files must be converted to float32 first."
        ) from err
    if not arrays:
        raise CheckpointError(f"{path!r} holds no tensors.")
    return {
        name: a.astype(np.float32) if np.issubdtype(a.dtype, np.floating) else a
        for name, a in arrays.items()
    }
