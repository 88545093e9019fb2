"""The pytest plugin is cheap to load (issue #12, part 7).

Installing the package registers the plugin in every test session of every user, so
loading it must import nothing heavy until a fixture is used. These tests check what is
imported, not how long it takes (the machine is shared and noisy); the timing itself is
measured by ``benchmarks/bench_plugin_import.py`` (numbers in docs/testing.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import okta_connections
import okta_connections.testing

#: Modules that only a fixture in use may import.
HEAVY = (
    "aiohttp",
    "yarl",
    "multidict",
    "jwt",
    "cryptography",
    "attrs",
    "cattrs",
    "anyio",
    "yaml",
    "okta_connections.client",
    "okta_connections.auth",
    "okta_connections.testing._fake",
    "okta_connections.testing._state",
    "okta_connections.testing._server",
)


def _imported_after(code: str) -> list[str]:
    probe = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    modules = json.loads(out)
    assert isinstance(modules, list)
    return modules


@pytest.mark.slow
def test_loading_the_plugin_imports_nothing_heavy() -> None:
    new = _imported_after("import pytest\nimport okta_connections.testing.pytest_plugin")
    heavy = [m for m in new if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert heavy == []
    assert "okta_connections.testing.pytest_plugin" in new  # the probe did load it


@pytest.mark.slow
def test_a_fixture_in_use_imports_the_fake() -> None:
    # The other side of the coin: the lazy names do load what they name.
    new = _imported_after("from okta_connections.testing import FakeOkta")
    assert "okta_connections.testing._fake" in new
    assert "aiohttp.web" in new


@pytest.mark.parametrize("module", [okta_connections, okta_connections.testing])
def test_every_public_name_resolves(module: object) -> None:
    names = module.__all__  # type: ignore[attr-defined]
    assert names
    for name in names:
        assert getattr(module, name) is not None, name
    assert set(names) <= set(dir(module))
    with pytest.raises(AttributeError):
        _ = module.no_such_name  # type: ignore[attr-defined]
