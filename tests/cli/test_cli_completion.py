"""Shell completion (argcomplete): the scripts, and completions from the real parser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# slow: every test here runs the command (or bash) in a subprocess.
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_CLIENT_", "_ARC"))}
    env.update(HOME=str(tmp), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", **extra)
    return env


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete "), ("zsh", "#compdef okta-connections"), ("fish", "complete --command")],
)
def test_completion_prints_a_script_for_each_shell(tmp_path: Path, shell: str, marker: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "okta_connections", "completion", shell],
        env=_env(tmp_path), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout and "okta-connections" in done.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize(
    ("line", "wanted", "unwanted"),
    [
        ("okta-connections bu", {"bulk"}, {"get"}),
        ("okta-connections bulk ", {"get", "activate", "deactivate", "update"}, {"demo"}),
        ("okta-connections bulk update --tok", {"--token", "--token-file"}, {"--oauth"}),
        ("okta-connections config ", {"show"}, set()),
        ("okta-connections --ver", {"--version"}, set()),
    ],
)
def test_completions_come_from_the_parser(
    tmp_path: Path, shell: str, line: str, wanted: set[str], unwanted: set[str]
) -> None:
    out = tmp_path / "completions"
    done = subprocess.run(
        [sys.executable, "-m", "okta_connections"],
        env=_env(
            tmp_path, _ARGCOMPLETE="1", _ARGCOMPLETE_SHELL=shell, _ARGCOMPLETE_IFS="\n",
            _ARGCOMPLETE_SUPPRESS_SPACE="1", COMP_LINE=line, COMP_POINT=str(len(line)),
            _ARGCOMPLETE_STDOUT_FILENAME=str(out),
        ),
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # zsh and fish get "word:help" / "word\thelp"; the word comes first
    words = {item.split("\t")[0].split(":")[0] for item in out.read_text().split("\n") if item}
    assert wanted <= words, words
    assert not unwanted & words


def test_bash_completes_through_the_script(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed: cannot run the bash completion script")
    script = (
        'eval "$(okta-connections completion bash)"\n'
        "fn=$(complete -p okta-connections | sed -E 's/.* -F ([^ ]+) .*/\\1/')\n"
        'COMP_LINE="okta-connections bulk ac"; COMP_POINT=${#COMP_LINE}\n'
        "COMP_WORDS=(okta-connections bulk ac); COMP_CWORD=2\n"
        '"$fn" okta-connections ac bulk\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    if not (BIN / "okta-connections").exists():
        pytest.skip(f"no okta-connections script in {BIN} (the package is not installed there)")
    done = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script],
        env=_env(tmp_path), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["activate"], done.stdout + done.stderr
