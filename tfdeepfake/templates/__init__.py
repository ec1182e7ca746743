"""The HTML of results, shared by ``detect --report`` (a static ``index.html``) and the web
server: Jinja2 templates in this package, rendered from plain detect result dicts
(``VideoResult.to_dict()`` or a JSON line of ``detect --json``).

- ``report.html.j2``: the whole page (summary at the top, then one card per input, most
  suspicious first), self-contained: its CSS is inlined, nothing comes from a CDN.
- ``card.html.j2``: the ``card(result, models, threshold, url)`` macro for one input; the
  web server imports it to render a single result. ``url(path)`` turns a report file path
  (thumbnail, heatmap video) into the link the page uses.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence

import jinja2

VERDICT_ORDER = {"FAKE": 0, "REAL": 1, "NO_FACE": 2, "ERROR": 3}


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment over this package's templates (HTML autoescaped)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tfdeepfake", "templates"),
        autoescape=jinja2.select_autoescape(("html", "html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["chart"] = frame_chart
    env.filters["plain_error"] = plain_error
    env.tests["heatmap"] = lambda key: key.startswith("heatmap_")
    env.filters["num"] = lambda v, digits=3: "–" if v is None else f"{float(v):.{digits}f}"
    return env


def suspicion_order(results: Sequence[Mapping]) -> list[Mapping]:
    """Results sorted most suspicious first: FAKE by score, then REAL by score, then the
    inputs without a verdict (NO_FACE, ERROR)."""
    return sorted(results, key=lambda r: (VERDICT_ORDER.get(r["verdict"], 4),
                                          -(r.get("score") or 0.0)))


def plain_error(error: str | None) -> str:
    """``"reason: detail"`` of a result in words people act on (the reason's advice)."""
    from tfdeepfake.faces.errors import REASONS, advice

    if not error:
        return ""
    reason, _, detail = error.partition(": ")
    shown = detail if reason in REASONS and reason != "error" else detail or error
    return f"{shown.rstrip('.')}. What to do: {advice(error)}."


def frame_chart(result: Mapping, width: int = 320, height: int = 120) -> dict:
    """Polylines of each model's per-frame fake probability against time in seconds
    (an inline SVG chart: no image file, no script). Returns ``{"lines": [(label, points)],
    "seconds": duration shown, "width", "height"}``; ``lines`` is empty without scores."""
    fps = float((result.get("media") or {}).get("fps") or 0.0) or 1.0
    tracks = result.get("tracks") or []
    series = []
    for track in tracks:
        for name, probs in (track.get("frame_scores") or {}).items():
            points = [(i / fps, p) for i, p in zip(track["frame_indices"], probs)
                      if p is not None and not math.isnan(p)]
            label = name if len(tracks) == 1 else f"{name} (face {track['track_id']})"
            if points:
                series.append((label, points))
    end = max((t for _, pts in series for t, _ in pts), default=0.0) or 1.0
    lines = [(label, " ".join(f"{t / end * width:.1f},{(1 - p) * height:.1f}" for t, p in pts))
             for label, pts in series]
    return {"lines": lines, "seconds": end, "width": width, "height": height}


def render_card(result: Mapping, models: Sequence[str], threshold: float,
                url: Callable[[str], str] = str) -> str:
    """One input's card (HTML fragment) from its result dict."""
    card = environment().get_template("card.html.j2").module.card
    return str(card(result, list(models), threshold, url))


def render_report(results: Sequence[Mapping], models: Sequence[Mapping], threshold: float,
                  url: Callable[[str], str] = str, title: str = "tfdeepfake report") -> str:
    """The whole page: summary (inputs, verdict counts, models with their weights, the
    threshold) and the cards, most suspicious first.

    ``models``: ``[{"name", "weights", "trained"}]`` as in ``Detector.run_info()["models"]``.
    """
    counts = {v: sum(r["verdict"] == v for r in results) for v in VERDICT_ORDER}
    return environment().get_template("report.html.j2").render(
        title=title, results=suspicion_order(results), counts=counts, models=list(models),
        model_names=[m["name"] for m in models], threshold=threshold, url=url,
        untrained=any(r.get("untrained") for r in results),
    )
