"""The import graph of ``qwemlib`` follows the data flow (docs/ARCHITECTURE.md).

Every module belongs to one layer (a top-level module or package of ``qwemlib``); a
module may import only from layers *below* its own, or from inside its own package.
This forbids cycles between layers and any import that runs against the data flow.
Inside a package, the private modules must not import each other in a cycle. No
module may run past :data:`MAX_LINES` lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "qwemlib"
MAX_LINES = 400

# Bottom to top. Names on one line share a rank and may not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("_io", "_download", "_validate", "config"),
    ("data",),
    ("corpus",),
    ("stats",),
    ("losses",),
    ("pipeline",),
    ("eigen",),
    ("theory",),
    ("flow",),
    ("train",),
    ("embeddings",),
    ("evaluate",),
    ("rmt",),
    ("results",),
    ("experiments",),
    ("plots",),
    ("widgets",),
    ("cli",),
]
RANK = {name: r for r, names in enumerate(LAYERS) for name in names}


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, parts


def _imports(path: Path, parts: list[str]):
    """Yield (line, target parts) for every import of a qwemlib module in ``path``."""
    is_pkg_init = path.name == "__init__.py"
    package = parts if is_pkg_init else parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "qwemlib" or a.name.startswith("qwemlib."):
                    yield node.lineno, a.name.split(".")[1:]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                mod = base + (node.module.split(".") if node.module else [])
            elif node.module and (node.module == "qwemlib" or node.module.startswith("qwemlib.")):
                mod = node.module.split(".")[1:]
            else:
                continue
            if mod:
                yield node.lineno, mod
            else:  # ``from . import x, y`` / ``from qwemlib import x``
                for a in node.names:
                    yield node.lineno, [a.name]


def test_every_module_has_a_layer():
    missing = sorted({parts[0] for _, parts in _modules() if parts and parts[0] not in RANK})
    assert not missing, f"add these to LAYERS (and docs/ARCHITECTURE.md): {missing}"


def test_imports_run_down_the_layers():
    bad = []
    for path, parts in _modules():
        if not parts:  # qwemlib/__init__.py re-exports lazily; it may name any layer
            continue
        src = parts[0]
        for line, target in _imports(path, parts):
            if not target or target[0] == src:
                continue
            if target[0] not in RANK:
                continue  # e.g. ``from qwemlib import preset`` re-exported names
            if RANK[target[0]] >= RANK[src]:
                bad.append(f"{path.relative_to(PKG.parent)}:{line} imports qwemlib.{'.'.join(target)} "
                           f"(layer {target[0]!r} is not below {src!r})")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_no_cycle_inside_a_package():
    graph: dict[str, set[str]] = {}
    for path, parts in _modules():
        if len(parts) < 2:
            continue
        me = ".".join(parts)
        for _, target in _imports(path, parts):
            if target and target[0] == parts[0] and len(target) > 1:
                graph.setdefault(me, set()).add(".".join(target[:2]))
    state: dict[str, int] = {}

    def visit(n, stack):
        state[n] = 1
        for m in graph.get(n, ()):
            if state.get(m) == 1:
                pytest.fail("import cycle: " + " -> ".join(stack + [n, m]))
            if not state.get(m):
                visit(m, stack + [n])
        state[n] = 2

    for n in list(graph):
        if not state.get(n):
            visit(n, [])


def test_modules_stay_short():
    long = [f"{p.relative_to(PKG.parent)}: {n} lines" for p, _ in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not long, f"modules over {MAX_LINES} lines (split them):\n" + "\n".join(long)


def test_the_checker_catches_a_back_arrow(tmp_path, monkeypatch):
    """The check can fail: a low layer importing a high one is reported."""
    fake = tmp_path / "qwemlib"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "stats.py").write_text("from .train import x\n")
    (fake / "train.py").write_text("from . import stats\n")
    monkeypatch.setattr(__import__(__name__), "PKG", fake)
    with pytest.raises(AssertionError, match="stats.py:1 imports qwemlib.train"):
        test_imports_run_down_the_layers()
