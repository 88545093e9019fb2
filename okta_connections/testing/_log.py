"""The fake org's request log: filters and assertions with readable failure messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NoReturn

from ._model import RecordedRequest, redact_query

__all__ = ["RequestLog", "describe_request"]

#: How many recorded requests a failure message lists before it summarises the rest.
_SHOWN: Final = 25


def describe_request(r: RecordedRequest) -> str:
    """One line per request: ``POST /api/v1/... -> 204  (activate, app 0oa...)``."""
    query = "&".join(f"{k}={v}" for k, v in redact_query(r.query).items())
    where = r.path + (f"?{query}" if query else "")
    status = "no response" if r.status == 0 else str(r.status)
    tags = [t for t in (r.operation, f"app {r.app_id}" if r.app_id else None) if t]
    return f"{r.method} {where} -> {status}" + (f"  ({', '.join(tags)})" if tags else "")


def _describe_filter(
    operation: str | None, app_id: str | None, status: int | None, method: str | None
) -> str:
    parts = [operation or "any operation"]
    if app_id is not None:
        parts.append(f"for app {app_id}")
    if method is not None:
        parts.append(f"with method {method}")
    if status is not None:
        parts.append(f"answered {status}")
    return " ".join(parts)


def _times(n: int) -> str:
    return f"{n} time" if n == 1 else f"{n} times"


class RequestLog(list[RecordedRequest]):
    """Every request a :class:`FakeOkta` received, in arrival order.

    A plain ``list`` of :class:`RecordedRequest` (``len``, indexing, ``clear()``) that can
    also be called with filters::

        fake.requests(operation="activate", app_id=app.id)   # a list of matches
        fake.requests.assert_called("activate", app_id=app.id, times=3)
    """

    def __call__(
        self,
        operation: str | None = None,
        *,
        app_id: str | None = None,
        status: int | None = None,
        method: str | None = None,
        event: str | None = None,
        principal: str | None = None,
    ) -> list[RecordedRequest]:
        """The recorded requests that match every filter given.

        Args:
            operation: ``get``, ``update``, ``activate``, ``deactivate``, ``get_jwks``,
                ``verify``, ``list_apps`` or ``token``.
            app_id: The app id in the path.
            status: The status the fake answered with (0: no response, the connection
                was dropped).
            method: The HTTP method.
            event: A System Log event the request caused, e.g.
                ``system.org.rate_limit.violation``.
            principal: Who sent it (see :attr:`RecordedRequest.principal`).
        """
        upper = method.upper() if method is not None else None
        return [
            r
            for r in list(self)
            if (operation is None or r.operation == operation)
            and (app_id is None or r.app_id == app_id)
            and (status is None or r.status == status)
            and (upper is None or r.method == upper)
            and (event is None or event in r.events)
            and (principal is None or r.principal == principal)
        ]

    def assert_called(
        self,
        operation: str | None = None,
        *,
        app_id: str | None = None,
        status: int | None = None,
        method: str | None = None,
        times: int | None = None,
    ) -> list[RecordedRequest]:
        """Assert that matching requests were received (``times`` of them, if given).

        Returns:
            The matching requests.

        Raises:
            AssertionError: With the expectation and every request that was received.
        """
        __tracebackhide__ = True  # pytest shows the user's assert, not this frame
        found = self(operation, app_id=app_id, status=status, method=method)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        expected = "at least once" if times is None else _times(times)
        self._fail(
            f"expected {_describe_filter(operation, app_id, status, method)} to be called "
            f"{expected}, but it was called {_times(len(found))}",
        )

    def assert_not_called(
        self,
        operation: str | None = None,
        *,
        app_id: str | None = None,
        status: int | None = None,
        method: str | None = None,
    ) -> None:
        """Assert that no matching request was received.

        Raises:
            AssertionError: Listing the matching requests and every request received.
        """
        __tracebackhide__ = True
        found = self(operation, app_id=app_id, status=status, method=method)
        if found:
            self._fail(
                f"expected {_describe_filter(operation, app_id, status, method)} not to be "
                f"called, but it was called {_times(len(found))}",
                highlight=found,
            )

    def _fail(self, headline: str, highlight: Iterable[RecordedRequest] = ()) -> NoReturn:
        __tracebackhide__ = True
        log = list(self)
        marked = {id(r) for r in highlight}
        received = _times(len(log)).replace("time", "request")
        lines = [headline + ".", f"The fake received {received}:"]
        if not log:
            lines = [headline + ".", "The fake received no requests at all."]
        for r in log[:_SHOWN]:
            lines.append(("  * " if id(r) in marked else "    ") + describe_request(r))
        if len(log) > _SHOWN:
            lines.append(f"    ... and {len(log) - _SHOWN} more")
        raise AssertionError("\n".join(lines))
