"""The JSON file and the Markdown table of a benchmark run."""

from __future__ import annotations

import json
from pathlib import Path


def _f(value, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def markdown(report: dict) -> str:
    """The run as Markdown: header (date, machine, versions, command), one table per suite."""
    m = report["machine"]
    out = [
        f"Measured {report['date']} with `{report['command']}` on {m['cores']} cores of "
        f"{m['cpu']} ({m['isa']}, {m['mhz']:.0f} MHz; load average {m['load_average_1min']} at "
        "the start: other jobs share these cores, so absolute figures are noisy and the "
        "same-run ratios are what to read).",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ".",
        f"Peak fp32 estimate for {report['threads']} thread(s): "
        f"{report['peak_gflops_estimate']:.0f} GFLOP/s (threads x clock x FLOPs/cycle from the "
        "cpuinfo flags: an estimate, not a measurement).",
    ]
    models = [r for r in report["rows"] if r["suite"] == "models"]
    if models:
        out += [
            "",
            "### Models on the CPU: TensorFlow vs the PyTorch reference (goal >= 2x)",
            "",
            "| model | batch | threads | TF per s | PyTorch per s | TF / PyTorch | "
            "GFLOP/item | TF GFLOP/s | PyTorch GFLOP/s | peak RSS TF / PyTorch MiB |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in models:
            per_s = (
                f"{_f(r.get('tf_per_s'), 2)} {r['unit']}"
                if "tf_per_s" in r
                else r.get("tf_error", "")
            )
            ref = _f(r.get("torch_per_s"), 2) if "torch_per_s" in r else r.get("torch_error", "")
            out.append(
                f"| {r['model']} | {r['batch']} | {r['threads']} | {per_s} | {ref} | "
                f"{_f(r.get('ratio'), 2)} | {_f(r.get('gflop_per_item'), 2)} | "
                f"{_f(r.get('tf_gflops'))} | {_f(r.get('torch_gflops'))} | "
                f"{_f(r.get('tf_peak_rss_mb'), 0)} / {_f(r.get('torch_peak_rss_mb'), 0)} |"
            )
        out.append("")
        out.append(
            f"TF calls: `{models[0].get('tf_call')}`; PyTorch: eager, inference_mode. "
            f"References: "
            + "; ".join(sorted({f"{r['model']}: {r['reference']}" for r in models}))
            + "."
        )
    pipeline = [r for r in report["rows"] if r["suite"] == "pipeline"]
    if pipeline:
        out += [
            "",
            "### Input pipeline: augmented crops per CPU-second, one thread (goal >= 2x)",
            "",
            "| preset | recipe | crops | rounds | tfdeepfake.data | albumentations + OpenCV | "
            "ratio (range) | peak RSS tf / alb MiB |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in pipeline:
            spread = (f" ({_f(r['ratio_min'], 2)}-{_f(r['ratio_max'], 2)})"
                      if r.get("rounds", 1) > 1 and "ratio_min" in r else "")  # fmt: skip
            out.append(
                f"| {r['model']} | {r.get('augment')} | {r['crops']} | {r.get('rounds', 1)} | "
                f"{_f(r.get('tf_per_cpu_s')) or r.get('tf_error', '')} | "
                f"{_f(r.get('alb_per_cpu_s')) or r.get('alb_error', '')} | "
                f"{_f(r.get('ratio'), 2)}{spread} | {_f(r.get('tf_peak_rss_mb'), 0)} / "
                f"{_f(r.get('alb_peak_rss_mb'), 0)} |"
            )
    for r in report["rows"]:
        if r["suite"] in ("extract", "detect", "tflite"):
            out += [
                "",
                f"### {r['suite']}: `{r['command']}`",
                "",
                f"Wall {r['wall_s']} s, peak RSS {_f(r.get('peak_rss_mb'), 0)} MiB"
                + (f", **{r['error']}**" if r.get("error") else "")
                + ".",
                "",
                "```",
                *r["output"],
                "```",
            ]
    return "\n".join(out) + "\n"


def write(report: dict, folder: str | Path) -> tuple[Path, Path]:
    """Write ``bench.json`` and ``bench.md`` into ``folder``; return both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "bench.json", folder / "bench.md"
    json_path.write_text(json.dumps(report, indent=1))
    md_path.write_text(markdown(report))
    return json_path, md_path
