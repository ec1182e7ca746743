"""Lazy public names for packages: ``import tfdeepfake.x`` stays cheap (no TensorFlow) and a
name's module is imported the first time the name is used.

A package lists its public names once, as the imports of an ``if TYPE_CHECKING:`` block
(what IDEs and type checkers read), and hands its ``__file__`` to ``lazy_exports``, which
reads that block::

    from typing import TYPE_CHECKING

    from tfdeepfake._lazy import lazy_exports

    if TYPE_CHECKING:
        from tfdeepfake.export.tflite import export_tflite

    __getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path


def type_checking_imports(init_file: str) -> dict[str, str]:
    """Public name -> defining module, from the ``if TYPE_CHECKING:`` block of ``init_file``."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    where: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for item in node.body:
                if isinstance(item, ast.ImportFrom) and item.module:
                    where.update({a.asname or a.name: item.module for a in item.names})
    return where


def lazy_exports(
    package: str, init_file: str
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``: the names imported under
    ``TYPE_CHECKING`` in ``init_file``, each loaded on first use; ``dir()`` lists them all."""
    where = type_checking_imports(init_file)

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return __getattr__, __dir__, list(where)
