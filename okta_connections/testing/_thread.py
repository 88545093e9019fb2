"""Serve FakeOkta orgs from a background thread, whatever event loop the test runs on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from ._fake import FakeOkta

__all__ = ["ServingThread"]

_T = TypeVar("_T")


class ServingThread:
    """A daemon thread running an event loop that serves :class:`FakeOkta` orgs.

    The test's own loop (pytest-asyncio's, anyio's, ``asyncio.run``'s) talks to the orgs
    over 127.0.0.1 like to any server, so it needs no cooperation from the test runner.
    Scenario calls made from the test's thread (``fail``, ``add_app``, ``snapshot``...)
    are handed to this loop by FakeOkta itself, so they never interleave with a request
    being handled.
    """

    def __init__(self, name: str = "fake-okta") -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The serving loop."""
        return self._loop

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float = 30.0) -> _T:
        """Run ``coro`` on the serving loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self, fake: FakeOkta) -> FakeOkta:
        """Start serving ``fake``; returns it, with :attr:`FakeOkta.org_url` set."""
        self.run(fake.start())
        return fake

    def close(self, fake: FakeOkta) -> None:
        """Stop serving ``fake``."""
        self.run(fake.close())

    def stop(self) -> None:
        """Stop the loop and join the thread; close the orgs first."""
        if not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
