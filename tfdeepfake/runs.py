"""Run folders: the one module that writes, reads and finds them.

A run folder is what ``tfdeepfake train`` and ``tfdeepfake weights import`` leave behind
and what ``detect``, ``evaluate`` and ``export`` load::

    RUN_DIR/preset.json        the model's preset after overrides (always): the model is
                               rebuilt from it, whatever the registry says today
    RUN_DIR/best.weights.h5    the best weights on validation (or the imported weights)
    RUN_DIR/last.weights.h5    the weights at the end of training
    RUN_DIR/checkpoints/       training checkpoints (model, optimiser, step); a run trained
                               on JAX keeps its model and optimiser arrays beside each one
                               in ``ckpt-<step>.state.npz``
    RUN_DIR/config.json        the resolved ``TrainConfig`` (training runs only)
    RUN_DIR/source.json        provenance of imported weights (imported runs only)

Example:
    >>> from tfdeepfake import runs
    >>> run = runs.load_run("runs/b4")
    >>> run.weights_source, run.preset.name
    ('runs/b4/best.weights.h5', 'autoatt_b4')
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

PRESET_FILE = "preset.json"
CONFIG_FILE = "config.json"
SOURCE_FILE = "source.json"
BEST_WEIGHTS = "best.weights.h5"
LAST_WEIGHTS = "last.weights.h5"
CHECKPOINT_DIR = "checkpoints"
STATE_SUFFIX = ".state.npz"  # JAX runs: the Keras state of checkpoint ``ckpt-<step>``
WHICH = ("best", "last")


@dataclasses.dataclass
class LoadedRun:
    """A model rebuilt from a run folder.

    Attributes:
        run_dir: the folder.
        model: the Keras model with the run's weights.
        preset: its ``Preset`` (from ``preset.json``).
        weights_source: the weights file (or checkpoint prefix) that was loaded.
        config: ``config.json`` as a dict, None for imported weights (no training happened).
        source: ``source.json`` (provenance of imported weights) as a dict, or None.
    """

    run_dir: str
    model: Any
    preset: Any
    weights_source: str
    config: dict[str, Any] | None
    source: dict[str, Any] | None

    @property
    def compatibility(self) -> str:
        """``""``, or the compatibility mode recorded by the import (``source.json``)."""
        return (self.source or {}).get("compatibility") or ""


def _write_json(path: str, values: Any, **kwargs: Any) -> None:
    from tfdeepfake.safeio import atomic_write

    with atomic_write(path) as f:
        json.dump(values, f, indent=2, **kwargs)
        f.write("\n")


def _read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_preset(run_dir: str | os.PathLike, preset: Any) -> None:
    """Write ``RUN_DIR/preset.json`` (the folder is created)."""
    _write_json(os.path.join(run_dir, PRESET_FILE), dataclasses.asdict(preset), sort_keys=True)


def write_config(run_dir: str | os.PathLike, config: dict[str, Any]) -> None:
    """Write ``RUN_DIR/config.json`` from a training config's ``to_dict()``."""
    _write_json(os.path.join(run_dir, CONFIG_FILE), config, sort_keys=True)


def write_source(run_dir: str | os.PathLike, provenance: dict[str, Any]) -> None:
    """Write ``RUN_DIR/source.json``: where imported weights came from."""
    _write_json(os.path.join(run_dir, SOURCE_FILE), provenance, default=list)


def write_run(
    run_dir: str | os.PathLike,
    model: Any,
    preset: Any,
    config: dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
) -> str:
    """A complete run folder: preset, ``model``'s weights as the best, and the optional
    training config or import provenance. Returns ``run_dir`` as a str."""
    run_dir = os.fspath(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    write_preset(run_dir, preset)
    save_weights_atomic(model, os.path.join(run_dir, BEST_WEIGHTS))
    if config is not None:
        write_config(run_dir, config)
    if source is not None:
        write_source(run_dir, source)
    return run_dir


def save_weights_atomic(model: Any, path: str) -> None:
    """``model.save_weights`` to a temporary file, fsync, then rename (never a half-written
    file)."""
    from tfdeepfake.safeio import fsync_dir, fsync_file

    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{name}")
    model.save_weights(tmp)
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_dir(folder or ".")


def _not_a_run(run_dir: str, missing: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{run_dir!r} is not a run folder: it has no {missing}. Pass the --out folder of "
        "`tfdeepfake train` or of `tfdeepfake weights import`."
    )


def _tuples(value: Any) -> Any:
    """JSON lists back to the tuples presets use."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def is_run_dir(path: str | os.PathLike) -> bool:
    """True when ``path`` holds a ``preset.json``."""
    return os.path.isfile(os.path.join(path, PRESET_FILE))


def read_preset(run_dir: str) -> Any:
    """The ``Preset`` saved in ``RUN_DIR/preset.json``."""
    from tfdeepfake.models.presets import Preset

    if not is_run_dir(run_dir):
        raise _not_a_run(run_dir, PRESET_FILE)
    return Preset(**_tuples(_read_json(os.path.join(run_dir, PRESET_FILE))))


def read_config(run_dir: str, required: bool = False) -> dict[str, Any] | None:
    """``RUN_DIR/config.json`` as a dict; None (or, when ``required``, an error) if absent."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        if required:
            raise _not_a_run(run_dir, CONFIG_FILE)
        return None
    return _read_json(path)


def read_source(run_dir: str) -> dict[str, Any] | None:
    """``RUN_DIR/source.json`` (provenance of imported weights) as a dict, or None."""
    path = os.path.join(run_dir, SOURCE_FILE)
    return _read_json(path) if os.path.isfile(path) else None


def weights_path(run_dir: str, which: str = "best") -> str | None:
    """Path of the run's ``best`` (falling back to ``last``) or ``last`` weights, or None."""
    names = [BEST_WEIGHTS, LAST_WEIGHTS] if which == "best" else [LAST_WEIGHTS]
    for name in names:
        path = os.path.join(run_dir, name)
        if os.path.isfile(path):
            return path
    return None


def find_runs(folder: str) -> dict[str, list[str]]:
    """Preset name -> run folders, for ``folder`` being one run folder or a folder of them
    (several folders of one preset, such as the seven B7 seeds, form one averaged model)."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"--weights {folder!r} is not a folder. Give a run folder made by "
            "`tfdeepfake train` or `tfdeepfake weights import` (it holds preset.json), "
            "or a folder of such run folders."
        )
    candidates = [folder] if is_run_dir(folder) else [
        os.path.join(folder, d) for d in sorted(os.listdir(folder))
        if is_run_dir(os.path.join(folder, d))
    ]
    if not candidates:
        raise FileNotFoundError(
            f"--weights {folder!r} holds no run folder (no {PRESET_FILE} in it or in its "
            "sub-folders). Train one with `tfdeepfake train` or import published weights with "
            "`tfdeepfake weights import`."
        )
    found: dict[str, list[str]] = {}
    for d in candidates:
        found.setdefault(read_preset(d).name, []).append(d)
    return found


def load_run(run_dir: str | os.PathLike, which: str = "best") -> LoadedRun:
    """Rebuild the model of a run folder with its weights.

    Loads ``best.weights.h5`` (the best on validation), else ``last.weights.h5``, else the
    newest checkpoint (a run that is still going or died); ``which="last"`` skips the best.

    Example:
        >>> run = load_run("runs/b4")
        >>> logits = run.model(images)["logit"]
    """
    if which not in WHICH:
        raise ValueError(f"which must be 'best' or 'last'; got {which!r}.")
    from tfdeepfake.models import create_model

    run_dir = os.fspath(run_dir)
    preset = read_preset(run_dir)
    model = create_model(preset)
    source = weights_path(run_dir, which)
    if source is not None:
        model.load_weights(source)
    else:
        import tensorflow as tf

        source = tf.train.latest_checkpoint(os.path.join(run_dir, CHECKPOINT_DIR))
        if source is None:
            raise FileNotFoundError(
                f"Run folder {run_dir!r} has no weights yet ({BEST_WEIGHTS}, {LAST_WEIGHTS} or "
                f"{CHECKPOINT_DIR}/): train longer than checkpoint.every_steps, or check the path."
            )
        _restore_model(model, source, run_dir)
    return LoadedRun(run_dir, model, preset, source, read_config(run_dir), read_source(run_dir))


def write_state_arrays(path: str, groups: dict[str, list[Any]]) -> None:
    """Save lists of variables' values (``{"model": model.variables, ...}``) as one npz."""
    import numpy as np

    from tfdeepfake.safeio import atomic_write

    arrays = {
        f"{group}/{i:05d}": np.asarray(v) for group, values in groups.items()
        for i, v in enumerate(values)
    }
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def assign_state_arrays(path: str, group: str, variables: list[Any]) -> None:
    """Assign ``group``'s arrays of the npz at ``path`` to ``variables`` (same order); a
    different count or shape is a checkpoint of another model: ``ValueError`` naming it."""
    import numpy as np

    with np.load(path) as saved:
        keys = sorted(k for k in saved.files if k.startswith(f"{group}/"))
        if len(keys) != len(variables):
            raise ValueError(
                f"{path} holds {len(keys)} {group} arrays, the model has {len(variables)}: it "
                "is a checkpoint of another model. Pass the --out folder of the run that wrote "
                "it, or train again."
            )
        for key, variable in zip(keys, variables):
            value = saved[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f"{path}: {key} has shape {value.shape}, the model's {variable.path} "
                    f"{tuple(variable.shape)}: a checkpoint of another model; train again."
                )
            variable.assign(value)


def _restore_model(model: Any, checkpoint: str, run_dir: str) -> None:
    """Restore ``model`` from a training checkpoint; every weight of it must be there.

    The optimiser and step in the checkpoint are left out on purpose (``expect_partial``);
    a model weight missing or of another shape means the checkpoint is of another model.
    """
    import tensorflow as tf

    if os.path.isfile(checkpoint + STATE_SUFFIX):  # a run trained on JAX
        assign_state_arrays(checkpoint + STATE_SUFFIX, "model", model.variables)
        return
    try:
        status = tf.train.Checkpoint(model=model).restore(checkpoint)
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError) as err:
        raise ValueError(
            f"The checkpoint {checkpoint} does not match the model of {run_dir}/{PRESET_FILE} "
            f"({err}); the run folder mixes two runs: pass the --out folder of the run that "
            "wrote it, or train again."
        ) from None
    status.expect_partial()
