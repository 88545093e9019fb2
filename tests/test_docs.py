"""Every Python block of README.md and docs/ runs here against a fake org, or says it cannot.

A block is one of:

- ``<!-- excerpt -->`` on the line before it: a fragment (undefined names, a real org's
  files). It must still compile.
- ``<!-- example: tests/PATH -->``: that test file, verbatim (so the suite runs it).
- anything else: a script. It runs in a subprocess with ``OKTA_CLIENT_ORGURL`` and
  ``OKTA_CLIENT_TOKEN`` of a fake org, and must exit 0. A block of ``async def test_*``
  functions has them awaited in turn. When it prints a consent link (``opens: URL``),
  the driver plays the admin: it opens the link and pastes the continue URL back.
"""

from __future__ import annotations

import ast
import asyncio
import re
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import attrs
import pytest

from okta_connections.testing import FakeOkta
from tests.support.cli import TOKEN, cli_env

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARK = re.compile(r"<!-- (excerpt|example: (\S+)) -->")
CONSENT_LINK = re.compile(r"opens: (http\S+)")


@attrs.frozen
class Block:
    page: Path
    line: int
    code: str
    mark: str  # "excerpt", "example" or "runs"
    example: str | None = None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def python_blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            code = textwrap.dedent("\n".join(lines[i + 1 : end])) + "\n"
            mark = MARK.fullmatch(lines[i - 1].strip()) if i else None
            if mark is None:
                found.append(Block(page, i + 1, code, "runs"))
            elif mark[1] == "excerpt":
                found.append(Block(page, i + 1, code, "excerpt"))
            else:
                found.append(Block(page, i + 1, code, "example", mark[2]))
            i = end
        i += 1
    return found


BLOCKS = [b for page in PAGES for b in python_blocks(page)]


def test_the_pages_have_blocks_of_every_kind() -> None:
    kinds = {b.mark for b in BLOCKS}
    assert kinds == {"excerpt", "example", "runs"}
    assert any(b.page.name == "README.md" and "from_config()" in b.code for b in BLOCKS)


def test_a_marker_only_counts_on_the_line_before_the_block(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- excerpt -->\n\n```python\nx = 1\n```\n\n<!-- excerpt -->\n```python\ny\n```\n"
    )
    assert [b.mark for b in python_blocks(page)] == ["runs", "excerpt"]


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mark == "excerpt"], ids=lambda b: b.id)
def test_excerpts_compile(block: Block) -> None:
    code = block.code
    if code.rstrip().splitlines()[-1].startswith("@"):  # a list of decorators, to put on a test
        code += "def _decorated() -> None: ...\n"
    compile(code, block.id, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mark == "example"], ids=lambda b: b.id)
def test_examples_are_test_files_verbatim(block: Block) -> None:
    assert block.example is not None
    assert block.code == (ROOT / block.example).read_text(encoding="utf-8")


@pytest.fixture
async def org() -> AsyncIterator[FakeOkta]:
    async with FakeOkta(apps=60, seed=3, token=TOKEN) as fake:
        yield fake


async def run_block(block: Block, fake: FakeOkta, tmp: Path) -> tuple[int, str, str]:
    code = block.code
    tree = ast.parse(code)
    tests = [
        n.name
        for n in tree.body
        if isinstance(n, ast.AsyncFunctionDef) and n.name.startswith("test_")
    ]
    if tests and "asyncio.run(" not in code:
        code += "\nimport asyncio as _asyncio\n" + "".join(
            f"_asyncio.run({name}())\n" for name in tests
        )
    script = tmp / "block.py"
    script.write_text(code, encoding="utf-8")
    (tmp / "home").mkdir(exist_ok=True)
    env = cli_env(
        tmp,
        fake,
        PYTHONUNBUFFERED="1",
        TARGET_ORG_TOKEN="00target-org-token-for-the-docs",
        HUB_CLIENT_ID="0oahubserviceapp01",
        # Only loopback: a block that reached for another host would meet a closed port.
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), cwd=tmp, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
    out: list[str] = []

    async def drive() -> None:
        assert proc.stdout is not None and proc.stdin is not None
        async with aiohttp.ClientSession() as http:
            async for raw in proc.stdout:
                line = raw.decode()
                out.append(line)
                link = CONSENT_LINK.search(line)
                if link:  # the admin consents; Okta answers with the continue URL
                    async with http.get(link[1]) as response:
                        body = await response.json()
                    href = body["continue_oauth_flow_url"]["href"]
                    proc.stdin.write(href.encode() + b"\n")
                    await proc.stdin.drain()

    try:
        _, err = await asyncio.wait_for(asyncio.gather(drive(), proc.stderr.read()), 60)
        rc = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return rc, "".join(out), err.decode()


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mark == "runs"], ids=lambda b: b.id)
async def test_scripts_run_against_the_fake_org(
    block: Block, org: FakeOkta, tmp_path: Path
) -> None:
    rc, out, err = await run_block(block, org, tmp_path)
    assert rc == 0, out + err


@pytest.mark.slow
async def test_the_quick_start_does_what_it_says(org: FakeOkta, tmp_path: Path) -> None:
    quick = next(b for b in BLOCKS if b.page.name == "README.md" and "from_config()" in b.code)
    rc, out, err = await run_block(quick, org, tmp_path)
    assert rc == 0, out + err
    org2org = next(a for a in org.apps if a.name == "okta_org2org")
    slack = next(a for a in org.apps if a.name == "slack")
    # Org2Org: token set, then OAuth with the hub's client, active, keys shown
    assert (org2org.auth_scheme, org2org.connection_status) == ("OAUTH2", "ENABLED")
    assert org.count(operation="get_jwks", app_id=org2org.id, status=200) == 1
    assert '"keys"' in out or "'keys'" in out
    # Slack: consent granted, verified with the pasted URL's code, then activated
    assert (slack.auth_scheme, slack.connection_status) == ("OAUTH2", "ENABLED")
    assert org.count(operation="verify", app_id=slack.id, status=204) == 1
    assert f"{slack.id} ENABLED" in out
    assert "00target-org-token-for-the-docs" not in out + err


def test_the_conformance_figures_in_the_docs_are_the_floors_the_test_asserts() -> None:
    # A run's own figures (inputs, checks) drift with every change of the fake or the
    # generator (the README said 511 and 28,597 while the suite printed 517 and 28,966).
    # The pages give the floors tests/test_conformance.py asserts, and no run's count.
    source = (ROOT / "tests" / "test_conformance.py").read_text(encoding="utf-8")
    inputs = re.search(r"^INPUTS_PER_OPERATION = (\d+)$", source, re.M)
    checks = re.search(r"assert tally\.checks >= ([\d_]+)", source)
    assert inputs is not None and checks is not None
    floors = {"inputs": int(inputs[1]), "checks": int(checks[1])}
    figure = re.compile(r"(at least )?(\d[\d,]*) (?:generated )?(inputs|checks)\b")
    for page in (ROOT / "README.md", ROOT / "docs" / "testing.md", ROOT / "CHANGELOG.md"):
        text = " ".join(page.read_text(encoding="utf-8").split())
        for match in figure.finditer(text):
            before = text[max(0, match.start() - 300) : match.start()].lower()
            if "conformance" not in before and "openapi" not in before:
                continue  # another kind of figure
            floor, number, kind = match.groups()
            assert floor and int(number.replace(",", "")) == floors[kind], (page, match[0])


def _section(page: Path, heading: str) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _fenced(section: str, language: str) -> str:
    [block] = re.findall(rf"^```{language}\n(.*?)^```$", section, re.M | re.S)
    return str(block)


async def _pytest_in(directory: Path) -> tuple[int, str]:
    env = cli_env(directory, None)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
        cwd=directory, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


@pytest.mark.slow
async def test_the_readme_fake_okta_example_passes_in_a_new_project(tmp_path: Path) -> None:
    # As a new user does: the example in a test file, the configuration the README gives
    # beside it in pyproject.toml, and pytest in that directory (nothing of ours around it).
    section = _section(ROOT / "README.md", "### FakeOkta without the plugin")
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "home").mkdir()
    (project / "test_example.py").write_text(_fenced(section, "python"), encoding="utf-8")
    rc, out = await _pytest_in(project)
    assert rc != 0 and "async def functions are not natively supported" in out, out
    (project / "pyproject.toml").write_text(_fenced(section, "toml"), encoding="utf-8")
    rc, out = await _pytest_in(project)
    assert rc == 0, out
    assert "1 passed" in out, out
