"""What a user installs: the extras, the install commands in the docs, pytest's options, CI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _names(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        name = re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower()
        out[name] = req
    return out


def test_the_test_extra_installs_no_pair_the_docs_call_broken() -> None:
    extras = PROJECT["project"]["optional-dependencies"]
    test = _names(extras["test"])
    # aioresponses 0.7.9 breaks on aiohttp 3.14 (pnuckowski/aioresponses#289)
    assert "aioresponses" not in test
    aio = _names(extras["aioresponses"])
    assert "aioresponses" in aio and aio["aiohttp"].replace(" ", "") == "aiohttp<3.14"
    # The dev extra (the README's test command) must not bring it in with the newest aiohttp.
    assert not any("aioresponses" in r for r in extras["dev"])
    testing = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    assert "aiohttp<3.14" in testing and "[test,aioresponses]" in testing


def test_no_page_tells_users_to_install_from_pypi() -> None:
    # Not published yet: `pip install okta-connections` (or with extras) finds nothing.
    from_pypi = re.compile(r"""pip install\s+["']?okta-connections(\[[^\]]*\])?["']?(\s|$)""")
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not from_pypi.search(text), page
    cli = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "pip install -e ." in cli and "pip wheel --no-deps -w dist ." in cli


def test_every_extra_the_docs_name_exists() -> None:
    extras = set(PROJECT["project"]["optional-dependencies"])
    for page in PAGES:
        for group in re.findall(r"\.\[([a-z,-]+)\]", page.read_text(encoding="utf-8")):
            assert set(group.split(",")) <= extras, (page, group)


def test_skips_print_their_reason_and_ci_installs_the_binaries() -> None:
    options = PROJECT["tool"]["pytest"]["ini_options"]
    assert "-rs" in options["addopts"].split()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"for binary in [^;]*\btmux\b", ci)
    assert re.search(r"for binary in [^;]*\bredis-server\b", ci)
    assert "'.[dev,aioresponses]'" in ci
