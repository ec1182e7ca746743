"""The lazy public API: every listed name resolves, dir() shows it, and the TYPE_CHECKING
imports (what IDEs read) list exactly the same names."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAZY = ("tfdeepfake", "tfdeepfake.evaluation", "tfdeepfake.explain", "tfdeepfake.export",
        "tfdeepfake.training")  # fmt: skip


def _type_checking_names(package: str) -> set[str]:
    path = ROOT / package.replace(".", "/") / "__init__.py"
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            return {a.asname or a.name for imp in node.body for a in imp.names}
    return set()


@pytest.mark.parametrize("package", LAZY)
def test_lazy_names_resolve_and_are_listed(package):
    module = importlib.import_module(package)
    public = [n for n in module.__all__ if n != "__version__"]
    assert set(public) == _type_checking_names(package)
    assert set(public) <= set(dir(module))
    for name in public:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018
