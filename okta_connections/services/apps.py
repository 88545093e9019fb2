"""``client.apps``: list the org's apps, to pick bulk targets."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Callable

import yarl

from .._redact import unchained
from ..config import Timeouts
from ..errors import DecodeError, InvalidArgumentError
from ..models.apps import Application
from ..operations import TABLE
from ..ratelimit.headers import header_values
from ._base import Service, from_table

__all__ = ["AppsService", "parse_link_header"]

LIST_APPS = TABLE["list_apps"]

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


@unchained
def _next_page(
    link: str, origin: yarl.URL, status: int, request_id: Callable[[], str | None]
) -> yarl.URL:
    """The ``next`` link if it is the org's app list; DecodeError (nothing sent) otherwise.

    Accepted: an absolute URL on the org's own origin, or a path (``/api/v1/apps?...``).
    Refused: another host, a protocol-relative ``//host/...``, credentials, a fragment,
    control characters, another path.
    """

    def refuse(why: str) -> DecodeError:
        return DecodeError(
            f"the next-page link {why}; refusing to follow it (the SDK never sends your "
            "credential anywhere but the org's app list)",
            status=status,
            request_id=request_id(),  # checked for secrets only when refused
        )

    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in link):
        raise refuse("contains whitespace or control characters")
    if link.startswith("//") or "\\" in link:
        raise refuse("is protocol-relative")
    try:
        url = yarl.URL(link)
        absolute = bool(url.scheme) or url.raw_host is not None
        same_origin = absolute and url.origin() == origin
    except (TypeError, ValueError):
        raise refuse("is not a valid URL") from None
    if absolute and not same_origin:
        raise refuse(f"points to {url.host!r}, not the org")
    if url.raw_user is not None or url.raw_password is not None or url.raw_fragment:
        raise refuse("has credentials or a fragment")
    if url.path != LIST_APPS.path:
        raise refuse("is not the app list")
    return url


class AppsService(Service):
    """``client.apps``: the org's applications."""

    @from_table(LIST_APPS)
    async def list(
        self,
        *,
        q: str | None = None,
        filter: str | None = None,
        limit: int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> AsyncIterator[Application]:
        """Iterate over every app, page by page, following ``Link: rel="next"``.

        A page is requested only when the previous one has been consumed, and a repeated
        cursor ends the iteration instead of looping.

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
            shown = functools.partial(self._session.shown_request_id, response.request_id)
            url = _next_page(nxt, origin, response.status, shown)
            cursor = url.raw_path + "?" + url.raw_query_string
            if cursor in seen or not apps:
                return
            seen.add(cursor)
            path = url.path
            params = dict(url.query)
