"""The import graph of ``src/yolo_compress`` has no cycle and no upward edge (DESIGN.md, "Layers, bottom to top").

Every module is parsed with ``ast`` (nothing is imported), and every ``import`` / ``from ... import`` counts,
at module level and inside functions alike: a lazy import is still a dependency. So does
``importlib.import_module("<literal>")``. A name looked up at run time from data (``models.py`` resolving our
own classes for safe unpickling) is not an import statement and is not seen here, on purpose.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = "yolo_compress"
SRC = Path(__file__).resolve().parents[1] / "src" / PKG

# DESIGN.md's layers, bottom (0) to top. The longest matching prefix wins; a module may import its own layer
# or lower ones, never a higher one. Every module must match an entry (a new top-level module must be placed).
LAYERS = {
    # process settings, typed errors, atomic writes / locks / run folders, console progress
    "env": 0, "errors": 0, "io": 0, "progress": 0,
    # every stage's typed config
    "config": 1,
    # Ultralytics load / save, the data adapter, shipped files, input fingerprints
    "models": 2, "data": 2, "shipped": 2, "fingerprints": 2,
    # what export, quant, predict and bench share: runners, evaluator, graph stats, latency, artifact inspection
    "runtime": 3,
    # the stages (each may use the ones it builds on: quant exports, prune and distill train)
    "prune": 4, "distill": 4, "train": 4, "reparam": 4, "surgery": 4, "quant": 4, "export": 4,
    # verbs over stage outputs: bench (measures artifacts), predict, the device profile (prunes, exports,
    # quantizes and times candidates); no stage may import them
    "bench": 5, "predict": 5, "profile": 5,
    # recipe, runner, report
    "pipeline": 6,
    # the public verbs, the demo they expose, the root package's lazy re-export of api
    "api": 7, "demo": 7, "__init__": 7,
    # the CLI only calls api
    "cli": 8,
}

# Edges (importer, imported) allowed despite the table. Keep it short and say why for each.
ALLOWED: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module an import names, or None when it is outside our package."""
    if name != PKG and not name.startswith(PKG + "."):
        return None
    while name not in known and "." in name:  # `from .x import func`: the module is x
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(mod: str, path: Path, known: dict[str, Path]) -> set[tuple[str, int]]:
    """(imported module, line) for every import of our package in ``path``."""
    is_pkg = path.name == "__init__.py"
    package = mod if is_pkg else mod.rsplit(".", 1)[0]
    out: set[tuple[str, int]] = set()

    def relative(level: int, name: str | None) -> str:
        base = package.split(".")
        if level > 1:
            base = base[: len(base) - (level - 1)]
        return ".".join(base + ([name] if name else []))

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = relative(node.level, node.module) if node.level else (node.module or "")
            for a in node.names:  # `from . import api` / `from .quant import onnxrt` name submodules
                sub = f"{base}.{a.name}"
                targets.append(sub if sub in known else base)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            name = node.args[0].value
            if name.startswith("."):
                level = len(name) - len(name.lstrip("."))
                name = relative(level, name.lstrip(".") or None)
            targets = [name]
        for t in targets:
            r = _resolve(t, known)
            if r is not None and r != mod:
                out.add((r, node.lineno))
    return out


def layer(mod: str) -> int:
    parts = mod.split(".")[1:] or ["__init__"]
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in LAYERS:
            return LAYERS[key]
    raise KeyError(mod)


def graph() -> dict[str, dict[str, int]]:
    known = modules()
    g: dict[str, dict[str, int]] = {}
    for mod, path in known.items():
        g[mod] = {}
        for dep, line in sorted(imports_of(mod, path, known)):
            g[mod].setdefault(dep, line)
    return g


def cycles(g: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a readable cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return comps


def _path_in(comp: list[str], g) -> str:
    """One concrete cycle inside a strongly connected component, with the line of each import."""
    members = set(comp)
    start = comp[0]
    prev: dict[str, str] = {}
    todo = [start]
    while todo:  # BFS from start back to start
        v = todo.pop(0)
        for w in g[v]:
            if w not in members:
                continue
            if w == start:
                chain = [v]
                while chain[-1] != start:
                    chain.append(prev[chain[-1]])
                chain = chain[::-1] + [start]
                return " -> ".join(f"{a} (line {g[a][b]})" for a, b in zip(chain, chain[1:])) + f" -> {start}"
            if w not in prev and w != start:
                prev[w] = v
                todo.append(w)
    return ", ".join(comp)


def test_every_module_has_a_layer():
    unplaced = [m for m in modules() if not _has_layer(m)]
    assert not unplaced, f"place these modules in LAYERS (tests/test_import_graph.py): {unplaced}"


def _has_layer(mod: str) -> bool:
    try:
        layer(mod)
        return True
    except KeyError:
        return False


def test_no_import_cycle():
    g = graph()
    found = [f"{len(c)} modules import each other ({', '.join(c)}); one cycle: {_path_in(c, g)}" for c in cycles(g)]
    assert not found, "import cycles:\n  " + "\n  ".join(found)


def test_no_upward_import():
    g = graph()
    bad = []
    for mod, deps in sorted(g.items()):
        if not _has_layer(mod):
            continue
        for dep, line in deps.items():
            if _has_layer(dep) and layer(dep) > layer(mod) and (mod, dep) not in ALLOWED:
                bad.append(f"{module_name_path(mod)}:{line}: {mod} (layer {layer(mod)}) imports {dep} "
                           f"(layer {layer(dep)})")
    assert not bad, "upward imports:\n  " + "\n  ".join(bad)


def module_name_path(mod: str) -> str:
    return str(modules()[mod].relative_to(SRC.parents[1]))


# ------------------------------------------------------------------ the checker itself can fail
def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        p = tmp_path / PKG / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return {module_name_path_in(tmp_path, p): p for p in sorted((tmp_path / PKG).rglob("*.py"))}


def module_name_path_in(root: Path, p: Path) -> str:
    parts = list(p.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_checker_sees_lazy_relative_and_absolute_imports(tmp_path):
    known = _tree(tmp_path, {
        "__init__.py": "",
        "config.py": "def f():\n    from .prune.importance import CRITERIA\n",
        "prune/__init__.py": "from .importance import CRITERIA\n",
        "prune/importance.py": "import yolo_compress.config\nCRITERIA = {}\n",
        "cli.py": "import importlib\nimportlib.import_module('.config', __package__)\nfrom . import config\n",
    })
    g = {m: {d: ln for d, ln in imports_of(m, p, known)} for m, p in known.items()}
    assert "yolo_compress.prune.importance" in g["yolo_compress.config"]  # lazy, relative, from a function
    assert "yolo_compress.config" in g["yolo_compress.prune.importance"]  # absolute
    assert set(g["yolo_compress.cli"]) == {"yolo_compress.config"}
    found = cycles(g)
    assert found == [["yolo_compress.config", "yolo_compress.prune.importance"]]
    assert layer("yolo_compress.prune.importance") > layer("yolo_compress.config")  # and it is upward


@pytest.mark.parametrize("mod, expected", [("yolo_compress", 7), ("yolo_compress.runtime.evaluator", 3),
                                           ("yolo_compress.pipeline.runner", 6), ("yolo_compress.cli", 8)])
def test_layer_lookup(mod, expected):
    assert layer(mod) == expected
