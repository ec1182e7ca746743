"""The import graph of tfdeepfake and tfrecords_tools: no cycle between modules, and no
import from a lower layer up to a higher one (the layers of docs/architecture.md).

Every import counts, also those inside functions (the lazy ones): a lazy import is still
a dependency. Tests, bench/ and examples/ are not walked.
"""

from __future__ import annotations

import ast
import collections
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tfdeepfake", "tfrecords_tools")

# Lowest first. A unit (a sub-package or top-level module of tfdeepfake, or tfrecords_tools)
# may import units of lower layers only, never one of its own layer or a higher one. A unit
# not listed here (a new sub-package) counts as an application, in APPLICATIONS' layer.
LAYERS = (
    ("tfdeepfake.safeio", "tfdeepfake.tf_backend", "tfdeepfake.samples", "tfdeepfake.version",
     "tfdeepfake._lazy"),
    ("tfrecords_tools", "tfdeepfake.models"),
    ("tfdeepfake.scoring", "tfdeepfake.runs", "tfdeepfake.faces", "tfdeepfake.data"),
    ("tfdeepfake.training", "tfdeepfake.evaluation", "tfdeepfake.export", "tfdeepfake.weights",
     "tfdeepfake.explain", "tfdeepfake.templates"),
    ("tfdeepfake.inference",),
    APPLICATIONS := ("tfdeepfake.quickstart", "tfdeepfake.bench", "tfdeepfake.serve"),
    ("tfdeepfake.cli", "tfdeepfake"),
    ("tfrecords_tools.cli",),  # the tfrecords-tools command, on tfdeepfake.cli's error guard
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "tfrecords_tools":
        return "tfrecords_tools.cli" if module == "tfrecords_tools.cli" else "tfrecords_tools"
    return ".".join(parts[:2])


def layer_of(name: str) -> int:
    for index, names in enumerate(LAYERS):
        if name in names:
            return index
    return LAYERS.index(APPLICATIONS)


@functools.cache
def imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports (``from a import b`` counts ``a.b`` when
    ``a.b`` is a module, else ``a``)."""
    files = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                    ).strip(".")
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base
                           for a in node.names]  # fmt: skip
            else:
                continue
            graph[module] |= {t for t in targets if t in files and t != module}
    return graph


def test_no_upward_or_sideways_import_between_layers():
    wrong = []
    for module, targets in imports().items():
        for target in targets:
            a, b = unit(module), unit(target)
            if a == b:
                continue
            if layer_of(b) >= layer_of(a):
                wrong.append(f"{module} (layer {layer_of(a)}) imports {target} "
                             f"(layer {layer_of(b)})")  # fmt: skip
    assert not wrong, "imports that break docs/architecture.md's layers:\n" + "\n".join(wrong)


def test_no_import_cycle_between_modules():
    graph = imports()
    state: dict[str, int] = collections.defaultdict(int)  # 0 new, 1 on the path, 2 done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state[target] == 1:
                cycles.append(" -> ".join([*path[path.index(target):], target]))
            elif state[target] == 0:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if state[module] == 0:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_walk_sees_the_package():
    graph = imports()
    assert "tfdeepfake.runs" in graph["tfdeepfake.training.trainer"]
    assert "tfdeepfake.scoring.aggregation" in graph["tfdeepfake.inference.detector"]
    assert layer_of("tfdeepfake.runs") < layer_of("tfdeepfake.training")
