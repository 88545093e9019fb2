"""The test suite's layout rules (tests/README.md), checked so that they keep holding.

- No module under tests/ imports a test module (``test_*.py``) or a ``conftest.py`` by
  name: helpers live in tests/support, fixtures in conftest.py files.
- Imports are absolute (``from tests.support.scripted import ScriptedServer``), so that a
  test file can move to another directory unchanged.
- Every directory of tests is a package (``__init__.py``), so that its modules are
  ``tests.<dir>.<name>`` and nothing else is put on sys.path.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "data" not in p.relative_to(TESTS).parts)


def _imports(path: Path) -> Iterator[tuple[int, int, str]]:
    """(line, relative level, each module name the file imports), imports inside functions
    included. ``from x import y`` yields ``x.y`` too: y may be a module."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, 0, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            yield node.lineno, node.level, base
            for alias in node.names:
                yield node.lineno, node.level, f"{base}.{alias.name}".lstrip(".")


def _test_module_imports(path: Path) -> list[tuple[int, str]]:
    """(line, name) of each import of a test module or a conftest in ``path``."""
    found = []
    for line, _, name in _imports(path):
        last = name.rsplit(".", 1)[-1]
        if last.startswith("test_") or last == "conftest":
            found.append((line, name))
    return found


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_the_rules_see_the_suite() -> None:
    names = {p.name for p in _modules()}
    assert {"conftest.py", "test_layout.py", "test_cli.py"} <= names
    assert any(p.parent.name == "support" for p in _modules())


def test_no_module_imports_a_test_module_or_a_conftest() -> None:
    found = [
        f"{_where(path, line)} imports {name}"
        for path in _modules()
        for line, name in _test_module_imports(path)
    ]
    assert not found, (
        "helpers go in tests/support (imported as tests.support.<module>), fixtures in a "
        "conftest.py (pytest finds them, nobody imports them):\n" + "\n".join(sorted(set(found)))
    )


def test_imports_are_absolute() -> None:
    found = [
        _where(path, line) for path in _modules() for line, level, _ in _imports(path) if level > 0
    ]
    assert not found, (
        "a relative import breaks when a test file moves; write "
        "'from tests.support.<module> import ...':\n" + "\n".join(sorted(set(found)))
    )


def test_every_test_directory_is_a_package() -> None:
    dirs = {p.parent for p in _modules()}
    missing = [str(d.relative_to(ROOT)) for d in sorted(dirs) if not (d / "__init__.py").exists()]
    assert not missing, f"add an __init__.py to: {', '.join(missing)}"


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from .test_cli import run_cli", True),
        ("from tests.test_cli import run_cli", True),
        ("from . import test_cli", True),
        ("from tests import test_cli", True),
        ("import tests.testing.test_fake_auth", True),
        ("from .conftest import APP_ID", True),
        ("from tests.conftest import APP_ID", True),
        ("import conftest", True),
        ("def f():\n    from tests.test_pipeline import STRATEGIES", True),
        ("from tests.support.cli import run_cli", False),
        ("from okta_connections.testing import FakeOkta", False),
    ],
)
def test_the_import_rule_catches_each_form(tmp_path: Path, source: str, caught: bool) -> None:
    path = tmp_path / "test_example.py"
    path.write_text(source + "\n")
    assert bool(_test_module_imports(path)) is caught
