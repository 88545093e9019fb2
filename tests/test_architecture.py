"""The package's shape: layers whose every import points down, and no import circle.

Read from the source with ``ast`` (nothing is imported). ``from P import N`` is an edge
to the module ``P.N`` when there is one, else to ``P`` (a package's ``__init__.py``);
``import P.Q`` is an edge to ``P.Q``. Imports inside ``TYPE_CHECKING`` blocks and inside
functions count: a circle held apart only by a deferred or type-only import is still a
circle to a reader. docs/architecture.md draws the layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "okta_connections"
PACKAGE = "okta_connections"

#: The layers, top first. A module may import from its own layer and the layers below
#: it, never from one above. An entry names a module and everything under it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entry points", ("", "__main__")),
    ("users of the client", ("cli", "testing", "scale_out")),
    ("the client", ("client", "options")),
    ("services and bulk jobs", ("services", "bulk")),
    ("the pipeline", ("pipeline",)),
    ("auth strategies", ("auth",)),
    ("transports", ("transport",)),
    (
        "rate limits, models, settings",
        (
            "ratelimit",
            "models",
            "config",
            "consent",
            "_validation",
            "operations",
        ),
    ),
    ("errors", ("errors",)),
    ("small helpers", ("_redact", "_json", "_ids", "_version", "_files", "_challenge")),
)

#: Public modules kept where users import them from, re-exporting what moved down a
#: layer. Each takes the layer of the package it re-exports; nothing inside imports one.
SHIMS: dict[str, str] = {
    "retry": "pipeline",
    "otel": "pipeline",
    "shared": "ratelimit",
}

#: Facades: the only modules that may import from a package's ``__init__.py``.
FACADES = ("", "__main__", *SHIMS)


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _short(module: str) -> str:
    return module[len(PACKAGE) + 1 :] if module != PACKAGE else ""


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _targets(module: str, node: ast.ImportFrom) -> Iterator[str]:
    here = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = here[: len(here) - node.level + 1] if node.level else []
    source = ".".join(base + ([node.module] if node.module else []))
    for alias in node.names:
        if f"{source}.{alias.name}" in MODULES:
            yield f"{source}.{alias.name}"
        elif source in MODULES:
            yield source


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                graph[module].update(t for t in _targets(module, node) if t != module)
            elif isinstance(node, ast.Import):
                graph[module].update(a.name for a in node.names if a.name in MODULES)
    return graph


GRAPH = _edges()


def _layer(module: str) -> int | None:
    short = _short(module)
    if short in SHIMS:
        short = SHIMS[short]
    best: tuple[int, int] | None = None  # (length of the match, layer)
    for index, (_, entries) in enumerate(LAYERS):
        for entry in entries:
            matches = short == entry or (entry and short.startswith(entry + "."))
            if matches and (best is None or len(entry) > best[0]):
                best = (len(entry), index)
    return None if best is None else best[1]


def _circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_the_rules_read_the_package() -> None:
    assert f"{PACKAGE}.client" in MODULES
    assert f"{PACKAGE}.client" in GRAPH[PACKAGE]  # the root's TYPE_CHECKING imports count


def test_no_import_circle() -> None:
    circles = [" -> ".join(_short(m) for m in c) for c in _circles()]
    assert circles == [], "import circles:\n" + "\n".join(circles)


def test_every_module_has_a_layer() -> None:
    missing = [_short(m) for m in MODULES if _layer(m) is None]
    assert missing == [], f"add these to LAYERS in {Path(__file__).name}: {missing}"


def test_every_import_points_down() -> None:
    up = []
    for module, targets in GRAPH.items():
        mine = _layer(module)
        for target in sorted(targets):
            theirs = _layer(target)
            if mine is not None and theirs is not None and theirs < mine:
                up.append(
                    f"{_short(module)} ({LAYERS[mine][0]}) imports {_short(target)} "
                    f"({LAYERS[theirs][0]})"
                )
    assert up == [], "imports that point up:\n" + "\n".join(up)


def test_nothing_imports_the_package_root_or_its_own_init() -> None:
    bad = []
    for module, targets in GRAPH.items():
        if module == PACKAGE:
            continue
        package = module if _is_package(module) else module.rpartition(".")[0]
        for target in targets:
            if target == PACKAGE or (target == package and not _is_package(module)):
                bad.append(f"{_short(module)} imports from {_short(target) or PACKAGE}/__init__")
    assert bad == [], "import the defining module instead:\n" + "\n".join(sorted(bad))


def test_only_facades_import_from_a_package_init() -> None:
    facades = {f"{PACKAGE}.{f}" if f else PACKAGE for f in FACADES}
    bad = [
        f"{_short(module)} imports from {_short(target)}/__init__"
        for module, targets in GRAPH.items()
        if module not in facades
        for target in sorted(targets)
        if _is_package(target) and target != PACKAGE
    ]
    assert bad == [], "import the defining module instead:\n" + "\n".join(bad)


def _names_the_client(node: ast.AST) -> bool:
    if isinstance(node, ast.Name | ast.Attribute):
        return (node.id if isinstance(node, ast.Name) else node.attr) == "OktaClient"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 200:
        try:  # a string annotation
            expression = ast.parse(node.value, mode="eval")
        except SyntaxError:
            return False
        return any(_names_the_client(n) for n in ast.walk(expression))
    return False


def test_no_layer_below_the_client_names_it() -> None:
    """Not even for typing: a layer below the client takes a Protocol instead."""
    client = _layer(f"{PACKAGE}.client")
    assert client is not None
    bad = sorted(
        _short(module)
        for module, path in MODULES.items()
        if (_layer(module) or 0) > client
        and any(_names_the_client(n) for n in ast.walk(ast.parse(path.read_text("utf-8"))))
    )
    assert bad == []


@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_a_shim_only_re_exports_and_nothing_inside_imports_it(shim: str) -> None:
    module = f"{PACKAGE}.{shim}"
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        names = isinstance(node, ast.Assign) and [
            t.id for t in node.targets if isinstance(t, ast.Name)
        ] == ["__all__"]
        assert isinstance(node, ast.ImportFrom) or docstring or names, ast.dump(node)[:80]
    target = f"{PACKAGE}.{SHIMS[shim]}"
    assert all(t == target or t.startswith(target + ".") for t in GRAPH[module]), GRAPH[module]
    importers = sorted(m for m, targets in GRAPH.items() if module in targets and m != PACKAGE)
    assert importers == []
