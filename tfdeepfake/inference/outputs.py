"""Writing detection results: the terminal table, the CSV (one row per input) and the JSON."""

from __future__ import annotations

import collections
import csv
import fcntl
import json
import os
from collections.abc import Sequence
from typing import Any

from tfdeepfake.faces.errors import advice
from tfdeepfake.inference.results import VERDICTS, VideoResult
from tfdeepfake.safeio import atomic_write, csv_row, display_name, readable_text

JSON_SCHEMA_VERSION = 1
JOURNAL_SUFFIX = ".partial.jsonl"


class ResultJournal:
    """Each result as one JSON line, appended and fsynced as soon as it is finished.

    ``detect`` keeps it beside its ``--csv``/``--json`` output while a batch runs and makes
    the final files from it, so a run killed near the end of a long batch loses at most the
    input in progress; the next identical run reuses the results already in the journal.
    The first line records what produced the results (models, threshold, frames); a run
    with other settings refuses to mix its results in.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)

    @classmethod
    def beside(cls, output: str) -> ResultJournal:
        return cls(output + JOURNAL_SUFFIX)

    def resume(self, run_info: dict[str, Any]) -> dict[str, VideoResult]:
        """Results of an earlier interrupted run by path; starts the journal when none."""
        if not os.path.exists(self.path):
            with atomic_write(self.path) as f:
                f.write(json.dumps({"run_info": run_info}) + "\n")
            return {}
        with open(self.path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        header = json.loads(lines[0]) if lines else {}
        if header.get("run_info") != json.loads(json.dumps(run_info)):
            raise ValueError(
                f"{display_name(self.path)} holds results of an interrupted run with other "
                "models or settings; rerun with the same ones to finish it, or delete it."
            )
        done, kept = {}, lines[:1]
        for line in lines[1:]:
            try:
                result = VideoResult.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError):  # a torn last line: that input is redone
                continue
            done[result.path] = result
            kept.append(line)
        if len(kept) < len(lines):  # drop the torn line before appending after it
            with atomic_write(self.path) as f:
                f.write("".join(line + "\n" for line in kept))
        return done

    def lock(self):
        """The journal's exclusive lock (``.FILE.partial.jsonl.lock``): one run per output."""
        from pathlib import Path

        from tfdeepfake.safeio import folder_lock

        path = Path(self.path)
        return folder_lock(path.parent, "detect run", name=f".{path.name}.lock")

    def append(self, result: VideoResult) -> None:
        """Append one result; several processes may append at once (Beam's workers)."""
        with open(self.path, "a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)  # released when the file is closed
            f.write(json.dumps(result.to_dict()) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def remove(self) -> None:
        """Delete the journal (once the final files are written)."""
        if os.path.exists(self.path):
            os.remove(self.path)


def csv_columns(model_names: Sequence[str]) -> list[str]:
    """The CSV header: fixed columns plus one ``<model>_score`` column per model."""
    return [
        "path", "verdict", "label", "ensemble_score", "confidence",
        *[f"{m}_score" for m in model_names],
        "faces", "frames_used", "seconds", "error", "advice",
    ]


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def write_csv(results: Sequence[VideoResult], model_names: Sequence[str], path: str) -> None:
    """One row per input, failures included (verdict ERROR or NO_FACE, reason in ``error``)."""
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=csv_columns(model_names))
        writer.writeheader()
        for r in results:
            row = {
                "path": display_name(r.path), "verdict": r.verdict, "label": r.label,
                "ensemble_score": _fmt(r.score), "confidence": _fmt(r.confidence),
                "faces": r.faces, "frames_used": r.frames_used, "seconds": f"{r.seconds:.3f}",
                "error": r.error or "", "advice": advice(r.error),
            }
            row.update({f"{m}_score": _fmt(r.model_scores.get(m)) for m in model_names})
            writer.writerow(csv_row(row))


def results_document(results: Sequence[VideoResult], run_info: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: run information plus every result with per-frame scores."""
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        **run_info,
        "summary": summarize(results),
        "results": [shown_dict(r) for r in results],
    }


def shown_dict(result: VideoResult) -> dict[str, Any]:
    """``result.to_dict()`` with the path as ``display_name`` shows it (valid UTF-8)."""
    out = result.to_dict()
    out["path"] = display_name(result.path)
    out["error"] = None if result.error is None else readable_text(result.error)
    out["advice"] = advice(result.error) or None
    return out


def write_json(results: Sequence[VideoResult], run_info: dict[str, Any], path: str) -> None:
    with atomic_write(path) as f:
        json.dump(results_document(results, run_info), f, indent=2)


def summarize(results: Sequence[VideoResult]) -> dict[str, int]:
    """Counts of inputs by verdict, every verdict listed (0 when none has it)."""
    counts = {"inputs": len(results), **dict.fromkeys(VERDICTS, 0)}
    for r in results:
        counts[r.verdict] += 1
    return counts


def format_table(results: Sequence[VideoResult], model_names: Sequence[str]) -> str:
    """A fixed-width table for the terminal, one line per input (named by its file name, or
    by its whole path when another input has the same file name)."""
    header = ["input", "verdict", "score", *model_names, "faces", "secs"]
    names = _shown_names([r.path for r in results])
    rows = []
    for r, name in zip(results, names):
        scores = [_short(r.model_scores.get(m)) for m in model_names]
        rows.append([name, r.label, _short(r.score), *scores, str(r.faces), f"{r.seconds:.1f}"])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)) for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r, name in zip(results, names):
        if r.error:
            lines.append(f"  {name}: {readable_text(r.error)}\n    what to do: {advice(r.error)}")
    return "\n".join(lines)


def _shown_names(paths: Sequence[str]) -> list[str]:
    """Each path's file name, or the whole path where file names repeat; escaped."""
    bases = [os.path.basename(p.rstrip("/")) or p for p in paths]
    repeated = {b for b, n in collections.Counter(bases).items() if n > 1}
    return [display_name(p if b in repeated else b) for p, b in zip(paths, bases)]


def _short(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
