"""The plugin, loaded from its pytest11 entry point, under each async test runner.

Each case runs a user's test file in a fresh pytest process (pytester) with warnings as
errors, so an unclosed client session or a leaked socket fails the run.
"""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

# slow: every test here runs pytest in a subprocess.
pytestmark = pytest.mark.slow

USER_TEST = """
import asyncio
import pytest
from okta_connections import OktaClient, TokenConnection

CLIENTS = []

{marks}
async def test_provisioning_survives_a_503(fake_okta, okta_client, okta_app_factory):
    app = okta_app_factory("okta_org2org", status="DISABLED")
    fake_okta.fail(app.id, "activate", status=503, times=2)
    await okta_client.connections.update(app.id, TokenConnection(token="t0k"))
    await okta_client.connections.activate(app.id)
    assert fake_okta.app(app.id).connection_status == "ENABLED"
    fake_okta.assert_called("activate", app_id=app.id, times=3)
    CLIENTS.append(okta_client)

{marks}
async def test_previous_client_was_closed(fake_okta, okta_client):
    assert CLIENTS and CLIENTS[0].closed
    assert len(fake_okta.apps) == 60  # a fresh org: the app added above is gone
    await okta_client.connections.get(fake_okta.apps[0].id)

{marks}
async def test_readable_failure(fake_okta, okta_client):
    await okta_client.connections.get(fake_okta.apps[1].id)
    fake_okta.assert_called("deactivate", times=1)
"""

INI = """
[pytest]
asyncio_mode = {mode}
asyncio_default_fixture_loop_scope = function
filterwarnings =
    error
    ignore::DeprecationWarning
"""

ANYIO_BACKEND = """
@pytest.fixture
def anyio_backend():
    return "asyncio"  # aiohttp runs on asyncio only
"""


def _run(pytester: pytest.Pytester, mode: str | None, marks: str, *args: str) -> pytest.RunResult:
    ini = INI.format(mode=mode)
    if mode is None:  # pytest-asyncio is disabled: its options would be unknown
        ini = "\n".join(line for line in ini.splitlines() if "asyncio" not in line)
    pytester.makeini(ini)
    source = USER_TEST.format(marks=marks)
    if "anyio" in marks:
        source += textwrap.dedent(ANYIO_BACKEND)
    pytester.makepyfile(test_user=source)
    # looptime is our own dev tool, not the user's: with pytest-asyncio disabled it fails
    # every fixture (0.9), and it patches the event loops the user's tests run on.
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:looptime_plugin", "-v", *args
    )


def _check(result: pytest.RunResult) -> None:
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected deactivate to be called 1 time, but it was called 0 times.",
            "*The fake received 1 request:",
            "*GET /api/v1/apps/0oa*/connections/default -> 200  (get, app 0oa*)",
        ]
    )
    assert "Unclosed" not in result.stdout.str() + result.stderr.str()
    # The failure points at the user's line, not at our frames (issue #12, part 7).
    out = result.stdout.str()
    result.stdout.fnmatch_lines(['>*fake_okta.assert_called("deactivate", times=1)'])
    assert "okta_connections/testing/_log.py" not in out
    assert "okta_connections/testing/_fake.py" not in out


def test_pytest_asyncio_auto_mode(pytester: pytest.Pytester) -> None:
    _check(_run(pytester, "auto", ""))


def test_pytest_asyncio_strict_mode(pytester: pytest.Pytester) -> None:
    _check(_run(pytester, "strict", "@pytest.mark.asyncio"))


def test_anyio_plugin_with_pytest_asyncio_in_strict_mode(pytester: pytest.Pytester) -> None:
    _check(_run(pytester, "strict", "@pytest.mark.anyio"))


def test_anyio_plugin_without_pytest_asyncio(pytester: pytest.Pytester) -> None:
    _check(_run(pytester, None, "@pytest.mark.anyio", "-p", "no:asyncio"))


def test_markers_are_registered_and_misuse_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI.format(mode="auto"))
    pytester.makepyfile(
        test_markers="""
        import pytest

        @pytest.mark.okta_rate_limit("okta")
        def test_preset(fake_okta):
            limits = fake_okta.limits
            assert (limits.limit, limits.window, limits.enforce) == (100, 60, True)
            assert (limits.share, limits.concurrency, limits.concurrency_share) == (0.5, 75, 0.5)

        @pytest.mark.okta_rate_limit("no-such-preset")
        def test_bad_preset(fake_okta):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*unknown okta_rate_limit preset 'no-such-preset'*"])
    markers = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.okta_org(**options)*", "@pytest.mark.okta_faults*"])


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_off="def test_no_fixture(fake_okta):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:okta_connections")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'fake_okta' not found*"])


SCRIPTED_429 = """
import time

async def test_one_scripted_429(fake_okta, okta_client):
    fake_okta.fail_next(429, times=1)
    started = time.monotonic()
    await okta_client.connections.get(fake_okta.apps[0].id)
    print(f"SCRIPTED-429-SECONDS {time.monotonic() - started:.3f}")
    fake_okta.assert_called("get", times=2)
    assert [r.status for r in fake_okta.requests] == [429, 200]
"""


def test_a_scripted_429_costs_a_second_not_the_window(pytester: pytest.Pytester) -> None:
    """Issue #25, item 11: under the default fixtures (1,000,000 a minute, enforced) the
    scripted 429's Reset is the next whole second, not the minute's end (59 s before).
    The bound is loose on purpose (a shared machine); the measured time is printed."""
    pytester.makeini(INI.format(mode="auto"))
    pytester.makepyfile(test_user=SCRIPTED_429)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:looptime_plugin", "-s", "--durations=1"
    )
    result.assert_outcomes(passed=1)
    line = next(x for x in result.stdout.lines if "SCRIPTED-429-SECONDS" in x)
    seconds = float(line.split("SCRIPTED-429-SECONDS")[1].split()[0])
    print(line)
    assert seconds < 15.0, line  # today's answer is ~1 s; before the fix it was ~59 s
