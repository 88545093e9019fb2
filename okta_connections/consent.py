"""OAuth consent: the code and state in the ``continue_oauth_flow_url`` Okta returns.

After an admin grants consent at the third party (Google, Office 365, Slack, Zoom), Okta
answers with ``{"continue_oauth_flow_url": {"href": "https://{yourOktaDomain}/api/v1/apps/
{appName}/{appId}/oauth2/callback?code=...&state=...", "method": "POST"}}``. Its code and
state are what ``connections.verify`` sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
import yarl

from .errors import InvalidArgumentError

__all__ = ["ContinueUrl", "parse_continue_url"]


def _hidden(value: object) -> str:
    return "None" if value is None else "'***'"


@attrs.frozen
class ContinueUrl:
    """What a ``continue_oauth_flow_url`` carries.

    Attributes:
        code: The one-time authorization code. Hidden in ``repr``.
        state: The state Okta generated. Hidden in ``repr``.
        app_name: ``google``, ``office365``, ``slack``, ``zoomus`` (or whatever the path
            names), from ``/api/v1/apps/{appName}/{appId}/oauth2/callback``; None when the
            path does not have that shape.
        app_id: The app's id from the same path, or None.
    """

    code: str = attrs.field(repr=_hidden)
    state: str = attrs.field(repr=_hidden)
    app_name: str | None = None
    app_id: str | None = None


def _json_answer(text: str, argument: str) -> Mapping[str, Any]:
    # Never echo the text: it holds the one-time code.
    try:
        answer = json.loads(text)
    except ValueError:
        raise InvalidArgumentError(
            argument,
            "looks like JSON but is not valid JSON; paste Okta's whole answer "
            '({"continue_oauth_flow_url": {"href": ...}}) or only the URL',
        ) from None
    except RecursionError:
        raise InvalidArgumentError(argument, "is JSON nested too deeply") from None
    assert isinstance(answer, dict)  # the text begins with "{"
    return answer


def _href(value: object, argument: str) -> str:
    if isinstance(value, yarl.URL):
        return str(value)
    if isinstance(value, Mapping):
        # Okta's whole answer, or its continue_oauth_flow_url object.
        inner: Any = value.get("continue_oauth_flow_url", value)
        href = inner.get("href") if isinstance(inner, Mapping) else None
        if not isinstance(href, str):
            raise InvalidArgumentError(
                argument, "has no continue_oauth_flow_url.href; pass the URL or Okta's answer"
            )
        return href
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):  # Okta's JSON answer, pasted as text
            return _href(_json_answer(text, argument), argument)
        return text
    raise InvalidArgumentError(
        argument, f"must be a URL string (or Okta's JSON answer), not {type(value).__name__}"
    )


def parse_continue_url(
    url: str | yarl.URL | Mapping[str, Any],
    *,
    app_id: str | None = None,
    app_name: str | None = None,
    argument: str = "continue_url",
) -> ContinueUrl:
    """The code and state (and app) from Okta's ``continue_oauth_flow_url``.

    Args:
        url: The URL as pasted (surrounding whitespace is ignored), a ``yarl.URL``, or
            Okta's JSON answer (``{"continue_oauth_flow_url": {"href": ...}}``), parsed (a
            mapping) or as the text it came in.
        app_id: When given, the URL must be for this app.
        app_name: When given, the URL must be for this app name.
        argument: The name errors give the input (the CLI says ``--continue-url``).

    Returns:
        A :class:`ContinueUrl`; pass its fields to ``connections.verify``.

    Raises:
        InvalidArgumentError: not a URL, JSON text that does not parse or holds no
            ``continue_oauth_flow_url.href``, no code or state in its query, or a URL for
            another app than ``app_id``/``app_name``. The message never holds the code.

    Example:
        >>> c = parse_continue_url(
        ...     "https://acme.okta.com/api/v1/apps/slack/0oa1/oauth2/callback?code=c1&state=s1"
        ... )
        >>> (c.app_name, c.app_id, c.code, c.state)
        ('slack', '0oa1', 'c1', 's1')
    """
    href = _href(url, argument).strip()
    try:
        parsed = yarl.URL(href)
        query = parsed.query
    except (TypeError, ValueError):
        raise InvalidArgumentError(argument, "is not a URL; paste the whole URL") from None
    if not parsed.absolute or parsed.scheme not in ("http", "https"):
        raise InvalidArgumentError(
            argument, "is not an http(s) URL; paste the whole URL, https://... included"
        )
    code, state = query.get("code"), query.get("state")
    if not code or not state:
        missing = " and ".join(n for n, v in (("code", code), ("state", state)) if not v)
        raise InvalidArgumentError(argument, f"has no {missing} in its query; paste the whole URL")
    parts = parsed.path.rstrip("/").split("/")
    url_name = url_id = None
    # /api/v1/apps/{appName}/{appId}/oauth2/callback
    if len(parts) >= 7 and parts[-2:] == ["oauth2", "callback"] and parts[-6:-4] == ["v1", "apps"]:
        url_name, url_id = parts[-4], parts[-3]
    if url_id is not None and (
        (app_id is not None and url_id != app_id) or (app_name is not None and url_name != app_name)
    ):
        want = " ".join(p for p in (app_id, f"({app_name})" if app_name else None) if p)
        raise InvalidArgumentError(argument, f"is for app {url_id} ({url_name}), not {want}")
    return ContinueUrl(code=code, state=state, app_name=url_name, app_id=url_id)
