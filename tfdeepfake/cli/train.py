"""`tfdeepfake train`: train or fine-tune a detector on TFRecord shards (resumes a killed run)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# flag destination -> dotted config key (flags left out keep the file's or preset's value)
_FLAG_KEYS = {
    "trainable": "model.trainable",
    "init_weights": "model.init_weights",
    "data": "data.train",
    "val_data": "data.val",
    "out": "out",
    "backend": "backend",
    "strategy": "strategy",
    "tpu": "tpu",
    "mixed_precision": "mixed_precision",
    "coordinator": "distributed.coordinator",
    "num_processes": "distributed.num_processes",
    "process_id": "distributed.process_id",
    "steps": "steps",
    "batch_size": "data.batch_size",
    "val_every": "val_every",
    "val_steps": "data.val_steps",
    "lr": "optimizer.learning_rate",
    "optimizer": "optimizer.name",
    "schedule": "optimizer.schedule",
    "loss": "loss.name",
    "label_clip": "loss.label_clip",
    "checkpoint_every": "checkpoint.every_steps",
    "seed": "data.seed",
    "augment": "data.augment",
    "augment_on": "data.augment_on",
    "balance": "data.balance",
    "skip_corrupt": "data.skip_corrupt",
    "fakes": "data.fakes",
    "progress": "progress",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` sub-command."""
    p = subparsers.add_parser(
        "train",
        help="train a detector on TFRecord shards (tf.distribute, resumable)",
        description="Train or fine-tune a detector on shards written by `tfdeepfake extract`. "
        "Settings: preset defaults < --config FILE < flags. Re-running the same command after "
        "a crash resumes from the last checkpoint in --out.",
    )
    p.add_argument("--model", required=True, help="preset name (see `tfdeepfake models`)")
    p.add_argument("--data", help="folder (or glob) of training shards")
    p.add_argument("--val-data", help="folder (or glob) of validation shards")
    p.add_argument("--out", help="run folder (checkpoints, logs, best weights, config.json)")
    p.add_argument("--config", help="YAML or JSON file of settings (see docs/training.md)")
    p.add_argument(
        "--backend",
        choices=("tensorflow", "jax"),
        help="tensorflow (default: the tf.distribute loop) or jax (a jitted step, data "
        "parallel over the devices, several hosts with --coordinator; the fastest measured "
        "path on a GPU)",
    )
    p.add_argument("--strategy", choices=("default", "mirrored", "multi_worker", "tpu"))
    p.add_argument("--tpu", help="TPU name or grpc:// address for --strategy tpu")
    p.add_argument(
        "--mixed-precision",
        nargs="?",
        const="auto",
        choices=("off", "auto", "float16", "bfloat16"),
        help="float16 (dynamic loss scaling), bfloat16 or off; the bare flag is auto: "
        "float16 on a GPU, bfloat16 on CPU/TPU",
    )
    p.add_argument("--coordinator", metavar="HOST:PORT",
                   help="--backend jax on several hosts: process 0's address (the same on "
                   "every process), or 'auto' (SLURM, Open MPI, Cloud TPU); see docs/training.md")
    p.add_argument("--num-processes", type=int, help="with --coordinator: how many processes")
    p.add_argument("--process-id", type=int,
                   help="with --coordinator: this process's index (0 writes the run folder)")
    p.add_argument("--trainable", choices=("all", "layer_norms"),
                   help="what trains: everything, or only LayerNorms + head (GenD's recipe)")
    p.add_argument("--init-weights", metavar="DIR",
                   help="start from a run folder's best.weights.h5 (e.g. an imported GenD)")
    p.add_argument("--steps", type=int, help="total optimiser steps")
    p.add_argument("--batch-size", type=int, help="global batch size")
    p.add_argument("--lr", type=float, help="(peak) learning rate")
    p.add_argument("--optimizer", choices=("adam", "sgd", "adamw"))
    p.add_argument("--schedule",
                   choices=("constant", "plateau", "poly", "cosine", "cosine_restarts"),
                   help="learning-rate schedule; cosine_restarts = SGDR (optimizer.restart_*)")
    p.add_argument("--loss", choices=("bce", "balanced_bce", "triplet"))
    p.add_argument("--label-clip", type=float, help="clip labels to [c, 1 - c]")
    p.add_argument("--val-every", type=int, help="validate every N steps")
    p.add_argument("--val-steps", type=int, help="validation batches (0: all)")
    p.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps")
    p.add_argument("--seed", type=int, help="seed of shuffling and augmentation")
    p.add_argument("--fakes", choices=("shards", "sbi"),
                   help="training fakes: the shards' own, or self-blended images made on the "
                   "fly from the real faces only (SBI; train without fake videos)")
    p.add_argument("--no-augment", dest="augment", action="store_const", const=False)
    p.add_argument("--augment-on", choices=("auto", "host", "device"),
                   help="augment in tf.data (host) or in the compiled step on the accelerator "
                   "(device: b4 recipe, uint8 batches); auto (default): device on JAX with a "
                   "GPU/TPU, else host")
    p.add_argument("--no-balance", dest="balance", action="store_const", const=False)
    p.add_argument(
        "--skip-corrupt",
        action="store_const",
        const=True,
        help="skip and count corrupt records instead of stopping",
    )
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any setting by its dotted name, e.g. optimizer.weight_decay=1e-4 "
        "(VALUE is read as JSON, else as a string); repeatable",
    )
    p.set_defaults(func=run)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _nest(dotted: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in dotted.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The nested overrides dict of the flags the user gave (flags left out are absent)."""
    dotted = {
        key: getattr(args, dest)
        for dest, key in _FLAG_KEYS.items()
        if getattr(args, dest, None) is not None
    }
    for item in args.set:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE, e.g. loss.label_clip=0.01.")
        key, value = item.split("=", 1)
        dotted[key.strip()] = _parse_value(value.strip())
    return _nest(dotted)


def run(args: argparse.Namespace) -> int:
    """Resolve the config, train, print the summary as JSON; exit code 2 on bad input."""
    try:
        from tfdeepfake.cli.output_paths import check_output_dir
        from tfdeepfake.safeio import FolderBusyError
        from tfdeepfake.training import resolve_config, train

        config = resolve_config(args.model, args.config, overrides_from_args(args))
        check_output_dir(config.out)
        summary = train(config)
    except (ValueError, FileNotFoundError, FolderBusyError) as err:
        print(f"tfdeepfake train: error: {err}", file=sys.stderr)
        return 2
    summary.pop("losses", None)
    print(json.dumps(summary, indent=2, default=str))
    return 0
