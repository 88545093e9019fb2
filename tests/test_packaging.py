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


PATCHED_AIOHTTP = (3, 14, 3)  # CVE-2026-69244, and the advisories fixed in 3.14.0-3.14.2


def test_no_install_with_any_extra_allows_an_unpatched_aiohttp() -> None:
    # The floor is in `dependencies`, which every extra installs too; no extra may hold
    # aiohttp below it (as the aioresponses extra once did with aiohttp<3.14).
    base = _names(PROJECT["project"]["dependencies"])
    assert base["aiohttp"].replace(" ", "") == "aiohttp>=3.14.3"
    for name, requirements in PROJECT["project"]["optional-dependencies"].items():
        assert "aiohttp" not in _names(requirements), name


def test_the_installed_aiohttp_is_patched() -> None:
    import aiohttp

    version = tuple(int(p) for p in re.findall(r"\d+", aiohttp.__version__)[:3])
    assert version >= PATCHED_AIOHTTP, aiohttp.__version__


def test_users_test_extra_brings_aioresponses_and_dev_brings_test() -> None:
    extras = PROJECT["project"]["optional-dependencies"]
    assert "aioresponses" in _names(extras["aioresponses"])
    assert any(r.replace(" ", "") == "okta-connections[aioresponses]" for r in extras["test"])
    assert any("test" in r.partition("[")[2] for r in extras["dev"] if r.startswith("okta-"))
    testing = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    assert "aiohttp<3.14" not in testing


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
    [report] = [o[2:] for o in options["addopts"].split() if o.startswith("-r")]
    assert {"f", "E", "s"} <= set(report)  # failures, errors and skips (with reasons) named
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"for binary in [^;]*\btmux\b", ci)
    assert re.search(r"for binary in [^;]*\bredis-server\b", ci)
    # One pass: the aioresponses tests run on the aiohttp that the README's command installs.
    assert ci.count('/bin/pip" install') == 1 and "'.[dev]'" in ci
    assert "not aioresponses" not in ci
