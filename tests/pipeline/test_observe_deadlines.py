"""Review of the deadline bound on user code in the pipeline (hooks, event subscribers).

The docs say a hook or event subscriber still running at the call's deadline is cut
there and the call never waits past its deadline for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import Callable
from typing import Any

import pytest

from okta_connections import MockTransport, OktaClient, PrivateKeyJWT, SSWSToken, Timeouts
from okta_connections.pipeline.events import AttemptStarted, TokenFetched
from okta_connections.transport import TransportRequest, TransportResponse
from tests.support.constants import APP_ID, CONNECTION_BODY, SECRET
from tests.support.oauth_secrets import KEY_PEM
from tests.support.oauth_server import CLIENT_ID
from tests.support.retry import fast_retry

ORG = "https://acme.okta.com"
DEADLINE = 30.0


def _org(request: TransportRequest) -> TransportResponse:
    if request.url.path.endswith("/token"):
        body = {"access_token": "at-0123456789", "token_type": "Bearer", "expires_in": 3600}
        return TransportResponse(
            200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        )
    headers = {
        "Content-Type": "application/json",
        "X-Okta-Request-Id": "req-1",
        "X-Rate-Limit-Limit": "100",
        "X-Rate-Limit-Remaining": "99",
        "X-Rate-Limit-Reset": "4102444800",
    }
    return TransportResponse(200, headers, json.dumps(CONNECTION_BODY).encode())


def _client(auth: Any, **options: Any) -> OktaClient:
    return OktaClient(
        ORG,
        auth=auth,
        transport=MockTransport(_org),
        retry=fast_retry(),
        timeouts=Timeouts(deadline=DEADLINE),
        **options,
    )


@pytest.mark.looptime
async def test_a_hook_that_swallows_its_cancellation_still_ends_the_call_at_its_deadline(
    client_on_loop_clock: Callable[[], float],
) -> None:
    """An async on_request hook that catches the CancelledError sent at the deadline and
    keeps going (a `try: ... except CancelledError: await cleanup()` that takes long)
    holds the call until the hook chooses to return: _Hooks/_until await the hook in the
    call's own task, so "cut at the call's deadline" relies on the hook's cooperation.
    Expected: the call ends at its deadline (the hook run as its own task and abandoned,
    or at least not awaited past the deadline)."""
    loop = asyncio.get_running_loop()

    async def stubborn(event: object) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(10 * DEADLINE)  # "cleanup" that ignores the deadline

    async with _client(SSWSToken(SECRET), on_request=stubborn) as okta:
        start = loop.time()
        try:
            async with asyncio.timeout(20 * DEADLINE):
                await okta.connections.get(APP_ID)
        except Exception:
            pass
        assert loop.time() - start <= DEADLINE + 1.0, loop.time() - start


@pytest.mark.looptime
async def test_a_token_fetched_subscriber_that_never_returns_does_not_hold_the_token_for_ever(
    client_on_loop_clock: Callable[[], float],
) -> None:
    """Session.fetch_token emits TokenFetched with no deadline (every other session
    event gets deadline=call.deadline), so an async subscriber of it that never returns
    holds the strategy's refresh task for ever: the token endpoint answered 200 at once,
    yet the call ends with "the call's deadline ran out while waiting for an access
    token", every later call does the same, and the refresh task is never done.
    Expected: the subscriber is cut at the token request's deadline, as the attempt
    events' subscribers are; the token is then used (a later call succeeds)."""
    loop = asyncio.get_running_loop()

    async def forever(event: object) -> None:
        await asyncio.Event().wait()

    async with _client(PrivateKeyJWT(CLIENT_ID, KEY_PEM), telemetry=False) as okta:
        okta.events.subscribe(TokenFetched, forever)
        # the first call may end at its deadline while the subscriber is cut
        with contextlib.suppress(Exception):
            await okta.connections.get(APP_ID)
        start = loop.time()
        try:
            connection = await okta.connections.get(APP_ID)
        except Exception as exc:
            pytest.fail(f"the token was fetched, yet a later call failed: {exc!r}")
        assert connection is not None
        assert loop.time() - start <= DEADLINE


@pytest.mark.looptime
async def test_a_hook_whose_own_await_is_cancelled_does_not_cancel_the_call(
    client_on_loop_clock: Callable[[], float],
) -> None:
    """An async on_response hook awaits a future that some other part of the program
    cancels (a shared connection pool shutting down, an asyncio.shield'ed send): the
    hook raises CancelledError although nobody cancelled the caller. _Hooks catches
    Exception only, so the CancelledError leaves the API call: the caller's task, not
    cancelling, gets a CancelledError from okta.connections.get (in a TaskGroup or a
    bulk job this reads as a cancellation of the whole). Expected: a hook's failure is
    logged and ignored, as for any other exception, unless the calling task itself is
    being cancelled (asyncio.current_task().cancelling())."""

    async def hook(event: object) -> None:
        shared: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(shared.cancel)
        await shared

    async with _client(SSWSToken(SECRET), on_response=hook) as okta:
        try:
            connection = await okta.connections.get(APP_ID)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None and task.cancelling() == 0
            pytest.fail("the hook's own CancelledError ended the call as a cancellation")
        assert connection is not None


@pytest.mark.looptime
async def test_a_hook_still_running_when_the_call_is_cancelled_lets_the_cancellation_through(
    client_on_loop_clock: Callable[[], float],
) -> None:
    """The calling task cancelled while a hook runs: the call raises CancelledError (a real
    cancellation is never taken for the hook's own), and the hook is cancelled too."""
    started = asyncio.Event()
    hook_cancelled = asyncio.Event()

    async def hook(event: object) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            hook_cancelled.set()
            raise

    async with _client(SSWSToken(SECRET), on_request=hook) as okta:
        task = asyncio.create_task(okta.connections.get(APP_ID))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        assert hook_cancelled.is_set()


@pytest.mark.looptime
async def test_a_hook_cut_at_the_deadline_that_fails_later_is_logged_not_left_unretrieved(
    client_on_loop_clock: Callable[[], float], caplog: pytest.LogCaptureFixture
) -> None:
    """A hook that swallows its cancellation at the deadline and raises afterwards: its
    task was abandoned, yet what it raised is retrieved (logged), never reported by
    asyncio as "Task exception was never retrieved"."""
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))

    async def stubborn(event: object) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(DEADLINE)
            raise RuntimeError("late") from None

    try:
        async with _client(SSWSToken(SECRET), on_request=stubborn) as okta:
            with contextlib.suppress(Exception):
                await okta.connections.get(APP_ID)
            await asyncio.sleep(2 * DEADLINE)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert not unhandled, unhandled
    assert "raised RuntimeError later" in caplog.text
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.mark.looptime
async def test_a_subscriber_whose_own_await_is_cancelled_does_not_cancel_the_call(
    client_on_loop_clock: Callable[[], float], caplog: pytest.LogCaptureFixture
) -> None:
    """As for a hook: an attempt's event subscriber whose own await is cancelled by someone
    else is logged and ignored; the call goes on."""

    async def subscriber(event: object) -> None:
        shared: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(shared.cancel)
        await shared

    async with _client(SSWSToken(SECRET)) as okta:
        okta.events.subscribe(AttemptStarted, subscriber)
        connection = await okta.connections.get(APP_ID)
        assert connection is not None
    assert "raised CancelledError; ignored" in caplog.text
