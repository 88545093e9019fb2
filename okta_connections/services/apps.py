"""``client.apps``: list the org's apps, to pick bulk targets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import yarl

from .._session import Operation
from ..config import Timeouts
from ..errors import DecodeError, InvalidArgumentError
from ..models import Application
from ..ratelimit import header_values
from ._base import Service

__all__ = ["AppsService", "parse_link_header"]

LIST_APPS = Operation("list_apps", "GET", "/api/v1/apps", "okta.apps.read", frozenset({200}))

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_PARAM = re.compile(r';\s*([A-Za-z]+)\s*=\s*"?([^";]*)"?')


def parse_link_header(values: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Map each ``rel`` to its URL across one or more ``Link`` header values.

    >>> parse_link_header(['<https://a/x?after=1>; rel="next", <https://a/x>; rel="self"'])
    {'next': 'https://a/x?after=1', 'self': 'https://a/x'}
    """
    out: dict[str, str] = {}
    for value in values:
        for match in _LINK.finditer(value):
            url, params = match.group(1), match.group(2)
            for key, val in _PARAM.findall(params):
                if key.lower() == "rel":
                    for rel in val.split():
                        out.setdefault(rel, url)
    return out


class AppsService(Service):
    """``client.apps``: the org's applications."""

    async def list(
        self,
        *,
        q: str | None = None,
        filter: str | None = None,
        limit: int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> AsyncIterator[Application]:
        """Iterate over every app, page by page, following ``Link: rel="next"``.

        ``GET /api/v1/apps`` (scope ``okta.apps.read``). A page is requested only when the
        previous one has been consumed, and a repeated cursor ends the iteration instead
        of looping.

        Args:
            q: Prefix of the app's name or label.
            filter: An Okta filter, e.g. ``status eq "ACTIVE"`` or ``name eq "okta_org2org"``.
            limit: Page size (1-200).
            timeout: Per-call timeout override for each page.

        Yields:
            Each :class:`Application`.

        Raises:
            InvalidArgumentError: a bad ``limit`` (nothing is sent).
            DecodeError: a page that is not a list of apps, or a ``next`` link that points
                to another host (the SDK never sends your credential elsewhere).
        """
        params: dict[str, str] = {}
        if q is not None:
            params["q"] = q
        if filter is not None:
            params["filter"] = filter
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
                raise InvalidArgumentError("limit", "must be an integer from 1 to 200")
            params["limit"] = str(limit)
        origin = yarl.URL(self._session.org_url)
        path = LIST_APPS.path
        seen: set[str] = set()
        while True:
            response = await self._session.request(LIST_APPS, path, params=params, timeout=timeout)
            apps: list[Application] = self._decode(
                response,
                list[Application],
                "a page of apps",
            )
            for app in apps:
                yield app
            links = parse_link_header(header_values(response.headers, "Link"))
            nxt = links.get("next")
            if not nxt:
                return
            url = yarl.URL(nxt)
            if url.is_absolute() and url.origin() != origin:
                raise DecodeError(
                    f"the next-page link points to {url.host}, not the org; refusing to follow",
                    status=response.status,
                    request_id=response.request_id,
                )
            cursor = url.raw_path + "?" + url.raw_query_string
            if cursor in seen or not apps:
                return
            seen.add(cursor)
            path = url.path
            params = dict(url.query)
