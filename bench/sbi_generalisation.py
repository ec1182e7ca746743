"""Does a detector learn without fake videos? Train on the quickstart's REAL faces only, with
self-blended fakes (``data.fakes=sbi``), and score held-out real vs face-swapped videos.

1. The quickstart's videos and shards (``tfdeepfake.quickstart.build_shards``): real clips of
   three people from the sample media and a landmark-aligned face swap of each; split by
   person (``test`` = a person and two donors never trained on; ``val`` = the last clip of
   each other person). ``--max-clips`` keeps it small.
2. Train each ``--models`` preset on the ``train`` shards with ``data.fakes=sbi``: only the
   real tracks are read (the swaps in that folder are never decoded), each real frame is
   followed by its self-blended fake. No validation (the swaps would select the checkpoint):
   the last weights are scored.
3. ``evaluate`` on ``test`` and ``val`` (real vs swap, never seen): video AUC (the preset's
   aggregation) and frame AUC. ``--baseline`` also trains the same preset on the swaps
   themselves (``data.fakes=shards``), for reference.

    python bench/sbi_generalisation.py --out /tmp/sbi --steps 300 --max-clips 4

Prints one row per run. AUCs on a few held-out videos are coarse (the test split holds
``2 x max-clips`` videos): read them as "learns or not", not as a benchmark figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def train_and_score(name: str, fakes: str, shards: dict, root: Path, args) -> dict:
    """Train ``name`` with ``data.fakes=fakes`` on the train shards; AUCs on test and val."""
    from tfdeepfake.evaluation.evaluator import evaluate_run
    from tfdeepfake.training.config import resolve_config
    from tfdeepfake.training.entry import train

    run_dir = root / "runs" / f"{name}-{fakes}"
    config = resolve_config(name, overrides={
        "model": {"overrides": {"input_size": args.input_size}, "trainable": "all"},
        "out": str(run_dir), "steps": args.steps, "val_every": 0, "progress": False,
        "data": {"train": str(shards["train"]), "batch_size": args.batch_size,
                 "augment": False, "fakes": fakes, "seed": args.seed},
        "optimizer": {"name": "adam", "learning_rate": args.lr, "schedule": "constant"},
    })
    start = time.perf_counter()
    summary = train(config)
    row = {"model": name, "fakes": fakes, "steps": args.steps,
           "train_s": round(time.perf_counter() - start, 1),
           "final_loss": summary.get("final_loss")}
    for split in ("test", "val"):
        metrics = evaluate_run(run_dir, str(shards[split]), root / "evaluation" / name / split)
        video = metrics["video"][metrics["primary_aggregation"]]["overall"]
        row[f"{split}_video_auc"] = video["auc"]
        row[f"{split}_frame_auc"] = metrics[metrics["unit"]]["overall"]["auc"]
        row[f"{split}_videos"] = metrics["counts"]["videos"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="sbi_generalisation")
    parser.add_argument("--models", nargs="+", default=["gend_clip_tiny", "autoatt_b4_tiny"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--max-clips", type=int, default=4, help="clips per source video")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", action="store_true",
                        help="also train on the swaps themselves (data.fakes=shards)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse OUT/shards from an earlier run instead of rebuilding")
    args = parser.parse_args()

    from tfdeepfake.quickstart import QuickstartOptions, build_shards

    root = Path(args.out)
    shards = {s: root / "shards" / s for s in ("train", "val", "test")}
    if not (args.reuse and all(p.is_dir() for p in shards.values())):
        options = QuickstartOptions(out=str(root), max_clips=args.max_clips)
        _, shards = build_shards(options, root)
    rows = []
    for name in args.models:
        for fakes in ("sbi", "shards") if args.baseline else ("sbi",):
            print(f"training {name} with fakes={fakes} for {args.steps} steps", flush=True)
            rows.append(train_and_score(name, fakes, shards, root, args))
    (root / "sbi_generalisation.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\n{'model':<16} {'training fakes':<15} {'steps':>5} {'test video AUC':>14} "
          f"{'test frame AUC':>14} {'val video AUC':>13} {'videos':>7} {'train s':>8}")
    for r in rows:
        source = "self-blended" if r["fakes"] == "sbi" else "face swaps"
        print(f"{r['model']:<16} {source:<15} {r['steps']:>5} {r['test_video_auc']:>14.3f} "
              f"{r['test_frame_auc']:>14.3f} {r['val_video_auc']:>13.3f} "
              f"{r['test_videos']:>3}+{r['val_videos']:<3} {r['train_s']:>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
