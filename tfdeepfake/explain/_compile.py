"""When to run explanations through a traced function rather than eagerly."""

from __future__ import annotations

from typing import Any

# Below this many parameters an eager call beats paying for a trace (tiny test models);
# above it a trace pays off after a few faces (full-size B4: 26 s trace, then ~15x faster).
COMPILE_MIN_PARAMS = 5_000_000


def should_compile(model: Any, compiled: bool | None) -> bool:
    """``compiled`` when given, else True for models of at least ``COMPILE_MIN_PARAMS``."""
    if compiled is not None:
        return bool(compiled)
    count = getattr(model, "count_params", None)
    return bool(count) and count() >= COMPILE_MIN_PARAMS
