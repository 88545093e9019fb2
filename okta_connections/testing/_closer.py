"""Closing the ``okta_client`` fixture's client on the loop the test used it on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from ..client import OktaClient

__all__ = ["ClientCloser"]


class ClientCloser:
    """Closes a fixture's OktaClient on the loop the test used it on.

    The client opens its aiohttp session lazily, on the test's loop. At that moment a
    guard task is started on the same loop; whoever ends the loop first closes the
    client there: the loop's runner cancelling leftover tasks (pytest-asyncio >= 1,
    anyio, ``asyncio.run``), the loop being closed (older pytest-asyncio closes it
    without cancelling tasks), or this fixture's teardown while the loop is still open.
    """

    def __init__(self, client: OktaClient) -> None:
        self.client = client
        self.loop: asyncio.AbstractEventLoop | None = None
        self.guard: asyncio.Task[None] | None = None
        self._unwrap: Callable[[], None] | None = None
        session = client._session
        if session is None:  # pragma: no cover - set by OktaClient.__init__
            raise RuntimeError("OktaClient has no session")
        opener = session.open

        async def open_and_guard() -> None:
            await opener()
            if self.guard is None:
                loop = self.loop = asyncio.get_running_loop()
                self.guard = loop.create_task(self._close_when_cancelled())
                close_loop = loop.close

                def finish_then_close() -> None:
                    self._finish()
                    close_loop()

                had_own = "close" in vars(loop)
                setattr(loop, "close", finish_then_close)  # noqa: B010 (mypy: method assign)

                def unwrap() -> None:
                    # A loop shared by many tests must not collect one wrapper (and one
                    # client) per test: undo ours when the fixture ends, if still on top.
                    if vars(loop).get("close") is finish_then_close:
                        if had_own:
                            setattr(loop, "close", close_loop)  # noqa: B010
                        else:
                            delattr(loop, "close")

                self._unwrap = unwrap

        setattr(session, "open", open_and_guard)  # noqa: B010 (mypy: method assign)

    async def _close_when_cancelled(self) -> None:
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            await self.client.close()

    def _finish(self) -> None:
        guard, loop = self.guard, self.loop
        if guard is None or loop is None:
            return
        if guard.done() or loop.is_closed() or loop.is_running():
            return
        guard.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(guard)

    def close(self) -> None:
        if self.guard is None:
            # Never used: nothing is bound to a loop; close it on a throwaway one.
            throwaway = asyncio.new_event_loop()
            try:
                throwaway.run_until_complete(self.client.close())
            finally:
                throwaway.close()
            return
        self._finish()
        if self._unwrap is not None:
            self._unwrap()
