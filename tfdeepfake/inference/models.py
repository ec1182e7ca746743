"""Which detectors `detect` runs and with what weights: run folders, imported weights, or
(only when asked) random init labelled UNTRAINED."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

DEFAULT_MODELS = ("resnet_lstm", "autoatt_b4", "b7_ssim")
RUNTIMES = ("keras", "tflite")


class MissingWeightsError(RuntimeError):
    """A model has no trained weights and ``allow_untrained`` was not given."""


@dataclasses.dataclass
class LoadedModel:
    """A detector ready to score faces.

    Attributes:
        name: the preset name (the key in every score dict).
        preset: its ``Preset`` (input contract, aggregation).
        members: the scorers (``tfdeepfake.inference.scorers``: a Keras model or a LiteRT
            runner each) of this preset: one, or several trained copies (e.g. the DFDC
            winner's seven seeds) whose video probabilities are averaged, as their authors
            did.
        trained: False when the weights are random (``allow_untrained``).
        source: where the weights came from (files, or ``"random init"``).
        compatibility: ``""``, or ``"independent_frames"`` for imported ResNeXt-LSTM weights
            whose published LSTM sees each frame as its own one-step sequence
            (see ``tfdeepfake.weights.compat``).
    """

    name: str
    preset: Any
    members: list
    trained: bool
    source: str
    compatibility: str = ""

    @property
    def model(self) -> Any:
        """The first member's model (explanations are computed on it)."""
        return self.members[0].model

    @property
    def explainable(self) -> bool:
        """True when heatmaps can be computed (a Keras model, not a LiteRT runner)."""
        return all(m.explainable for m in self.members)


def find_tflite_models(folder: str) -> dict[str, str]:
    """Preset name -> ``.tflite`` file in ``folder`` (files written by `tfdeepfake export`)."""
    import json
    from pathlib import Path

    found: dict[str, list[str]] = {}
    for path in sorted(Path(folder).glob("*.tflite")) if os.path.isdir(folder) else []:
        sidecar = path.with_suffix(".json")
        if sidecar.is_file():
            name = json.loads(sidecar.read_text()).get("preset") or path.name.split(".")[0]
            found.setdefault(name, []).append(str(path))
    if not found:
        raise FileNotFoundError(
            f"--weights {folder!r} holds no .tflite model with its .json contract beside it. "
            "Convert one with `tfdeepfake export --model NAME --weights RUN --format tflite "
            f"--out {folder}`."
        )
    several = {n: f for n, f in found.items() if len(f) > 1}
    if several:
        raise ValueError(
            f"--weights {folder!r} holds several .tflite files for one model: {several}. "
            "Keep one quantization per model in the folder."
        )
    return {n: f[0] for n, f in found.items()}


def load_tflite_models(models: Sequence[str] | None, folder: str) -> list[LoadedModel]:
    """LiteRT runners for the ``.tflite`` files in ``folder`` (``detect --runtime tflite``)."""
    from tfdeepfake.export.runtime import LiteRTRunner
    from tfdeepfake.inference.scorers import LiteRTScorer
    from tfdeepfake.models import get_preset

    files = find_tflite_models(folder)
    names = list(models) if models else list(files)
    missing = [n for n in names if n not in files]
    if missing:
        raise MissingWeightsError(
            f"No .tflite file for {', '.join(missing)} in {folder!r} (found: "
            f"{', '.join(files)}). Export them with `tfdeepfake export --format tflite`."
        )
    loaded = []
    for n in names:
        preset = get_preset(n)
        scorer = LiteRTScorer(LiteRTRunner(files[n]), preset)
        loaded.append(LoadedModel(n, preset, [scorer], True, files[n]))
    return loaded


def find_runs_in(weights: str | os.PathLike | Sequence[str]) -> dict[str, list[str]]:
    """``tfdeepfake.runs.find_runs`` over one folder or a list of them (a pretrained bundle's
    members): preset name -> run folders, several of one preset forming one averaged model."""
    from tfdeepfake import runs

    folders = [weights] if isinstance(weights, (str, os.PathLike)) else list(weights)
    found: dict[str, list[str]] = {}
    for folder in folders:
        for name, dirs in runs.find_runs(os.fspath(folder)).items():
            found.setdefault(name, []).extend(dirs)
    return found


def load_models(
    models: Sequence[str] | None = None,
    weights: str | Sequence[str] | None = None,
    allow_untrained: bool = False,
    runtime: str = "keras",
) -> list[LoadedModel]:
    """Build the detectors to run.

    Args:
        models: preset names; default the models found in ``weights``, or the paper's three
            (``resnet_lstm``, ``autoatt_b4``, ``b7_ssim``) when no weights are given.
        weights: a run folder, a folder of run folders, or a list of them
            (see ``find_runs_in``).
        allow_untrained: build models without weights with random init instead of failing;
            every result is then labelled UNTRAINED.
        runtime: ``"keras"``, or ``"tflite"`` to run the ``.tflite`` files in ``weights``
            with LiteRT (see ``load_tflite_models``).

    Raises:
        MissingWeightsError: a model has no weights and ``allow_untrained`` is False; the
            message says how to get weights.
    """
    from tfdeepfake import runs
    from tfdeepfake.inference.scorers import KerasScorer
    from tfdeepfake.models import create_model, get_preset

    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}.")
    if runtime == "tflite":
        if not weights:
            raise MissingWeightsError("--runtime tflite needs --weights DIR of .tflite files.")
        return load_tflite_models(models, weights)
    found = find_runs_in(weights) if weights else {}
    names = list(models) if models else (list(found) or list(DEFAULT_MODELS))
    for name in names:
        get_preset(name)  # unknown names fail here, listing the known ones
    missing = [n for n in names if n not in found]
    if missing and not allow_untrained:
        known = ", ".join(found) or "none"
        where = f"in {weights!r} (found: {known})" if weights else "(no --weights given)"
        raise MissingWeightsError(
            f"No trained weights for {', '.join(missing)} {where}. Either run published "
            "weights (`--pretrained dfdc-lite`; `tfdeepfake pretrained` lists them), train them "
            "(`tfdeepfake train --model NAME --data SHARDS --out runs/NAME`, or "
            "`tfdeepfake quickstart` for a small demo set), import published weights "
            "(`tfdeepfake weights import ...`), or pass --allow-untrained to run random "
            "weights: every output is then labelled UNTRAINED and means nothing."
        )
    loaded = []
    for name in names:
        if name in found:
            members = [runs.load_run(d) for d in found[name]]
            modes = {m.compatibility for m in members}
            if len(modes) > 1:
                raise ValueError(f"The run folders of {name} mix compatibility modes: {modes}.")
            mode = modes.pop()
            scorers = [KerasScorer(m.model, m.preset, mode) for m in members]
            sources = ", ".join(m.weights_source for m in members)
            loaded.append(LoadedModel(name, members[0].preset, scorers, True, sources, mode))
        else:
            model = create_model(name)
            scorer = KerasScorer(model, model.preset)
            loaded.append(LoadedModel(name, model.preset, [scorer], False, "random init"))
    return loaded

