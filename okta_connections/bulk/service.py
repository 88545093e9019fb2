"""``client.bulk``: the connections operations over many apps, and your own functions."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, Generic

from ..operations import TABLE, Operation
from .job import BulkClient, BulkJob, C, JobTracer, default_key
from .outcomes import Changed, ReadBackError, T

__all__ = ["BulkService", "connection_secrets"]


class BulkService(Generic[C]):
    """``client.bulk``: the connections operations over many apps, and your own functions.

    Every method returns a :class:`BulkJob`; pass the same options to any of them:
    ``concurrency`` (default: follows the client's adaptive in-flight cap), ``journal``
    (a JSONL path or a :class:`Journal`; rerun with it to resume), ``retry_failed``,
    ``on_progress``, ``dry_run`` and ``total``. For ``run()`` jobs of your own:
    ``params`` (JSON-able options fingerprinted into the journal's header, so that a
    resume with other ones is refused), ``secret_params`` (secret options, fingerprinted
    only as salted hashes), ``secrets`` and ``item_secrets`` (text redacted from the
    error text the journal records: the job's, and a function giving each item's), and
    ``requests_per_item`` (for the ETA). ``stop_on_auth_failure`` (default True): refused
    credentials stop the job after three requests (see :class:`BulkJob`); the report's
    ``stopped_by`` says so, and the items not tried are ``not_started``.

    Example::

        report = await okta.bulk.activate(app_ids, journal="activate.jsonl").run()
        print(report.summary())

        async with okta.bulk.deactivate(app_ids) as job:
            async for outcome in job:
                if outcome.status is OutcomeStatus.FAILED:
                    break  # the rest is cancelled; job.report still counts every app
    """

    def __init__(self, client: C, *, tracer: JobTracer | None = None) -> None:
        self._client = client
        self._tracer = tracer

    def run(
        self,
        func: Callable[[C, Any], Awaitable[T]],
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        operation: str | None = None,
        **options: Any,
    ) -> BulkJob[T]:
        """Apply ``func(client, item)`` to every item."""
        name: str = operation or str(getattr(func, "__name__", "custom"))
        options.setdefault("tracer", self._tracer)
        return BulkJob(self._client, func, items, operation=name, **options)

    def get(self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any) -> BulkJob[Any]:
        """Read the connection of every app (``connections.get``)."""

        async def get(client: BulkClient, app_id: str) -> Any:
            return await client.connections.get(app_id)

        return self._job(get, app_ids, "get", (_line(TABLE["get"]),), options)

    def activate(
        self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any
    ) -> BulkJob[None]:
        """Activate the connection of every app (``connections.activate``)."""

        async def activate(client: BulkClient, app_id: str) -> None:
            await client.connections.activate(app_id)

        plan = (_line(TABLE["activate"]),)
        return self._job(activate, app_ids, "activate", plan, options)

    def deactivate(
        self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any
    ) -> BulkJob[None]:
        """Deactivate the connection of every app (``connections.deactivate``)."""

        async def deactivate(client: BulkClient, app_id: str) -> None:
            await client.connections.deactivate(app_id)

        plan = (_line(TABLE["deactivate"]),)
        return self._job(deactivate, app_ids, "deactivate", plan, options)

    def update(
        self,
        pairs: Iterable[tuple[str, Any]] | AsyncIterable[tuple[str, Any]],
        *,
        activate: bool | None = None,
        read_back: bool = False,
        **options: Any,
    ) -> BulkJob[Any]:
        """Set the connection of every app from ``(app_id, TokenConnection|OAuthConnection)``.

        Args:
            pairs: ``(app_id, connection)`` pairs.
            activate: True to activate in the same call; None leaves Okta's default.
            read_back: Check that Okta kept what was set (see :meth:`set_token`).
            **options: The job options (see the class docstring).

        The secrets of each pair's connection (its token, an Office 365 admin password)
        are redacted from the error text written to the journal.
        """

        async def update(client: BulkClient, pair: tuple[str, Any]) -> Any:
            app_id, request = pair
            conn = await client.connections.update(app_id, request, activate=activate)
            if read_back:
                conn = await _read_back(client, app_id, request, conn, activate)
            return conn

        query = "" if activate is None else f"?activate={'true' if activate else 'false'}"
        plan: tuple[str, ...] = (_line(TABLE["update"]) + query,)
        if read_back and activate:
            plan += (_line(TABLE["get"]) + " (if the update's status cannot tell)",)
        params = dict(options.pop("params", None) or {})
        params.update(activate=activate)
        options.setdefault("item_secrets", _pair_secrets)
        return self._job(update, pairs, "update", plan, {**options, "params": params})

    def set_token(
        self,
        app_ids: Iterable[str] | AsyncIterable[str],
        token: str,
        *,
        base_url: str | None = None,
        activate: bool | None = None,
        read_back: bool = False,
        **options: Any,
    ) -> BulkJob[Any]:
        """Set the same token connection on every app (for example a rotated target token).

        The token is validated once, before the job starts, and never journaled or logged:
        the journal's header holds only a keyed hash of it (so that a resume with another
        token is refused), and error text has it redacted.

        Args:
            app_ids: The apps.
            token: The target app's API token.
            base_url: Zscaler 2.0: the SCIM base URL.
            activate: True to activate in the same call.
            read_back: Compare what was set with the connection the update returned (auth
                scheme, base URL; the status after activating, read again only when the
                update's response does not show it); a difference is a failed outcome with
                a :class:`ReadBackError` naming the field. A token cannot be read back:
                Okta never returns it, so it is not checked.
            **options: The job options (see the class docstring).
        """
        from ..models.connections import TokenConnection

        request = TokenConnection(token=token, base_url=base_url)

        async def set_token(client: BulkClient, app_id: str) -> Any:
            conn = await client.connections.update(app_id, request, activate=activate)
            if read_back:
                conn = await _read_back(client, app_id, request, conn, activate)
            return conn

        query = "" if activate is None else f"?activate={'true' if activate else 'false'}"
        plan = (f"{_line(TABLE['update'])}{query} (token connection)",)
        params = dict(options.pop("params", None) or {})
        params.update(base_url=base_url, activate=activate)
        options["secret_params"] = (*options.get("secret_params", ()), token)
        return self._job(set_token, app_ids, "set_token", plan, {**options, "params": params})

    def ensure_activated(
        self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any
    ) -> BulkJob[Any]:
        """Activate every connection that is not ENABLED yet; leave the others alone.

        Each outcome's ``changed`` is False for apps that were already ENABLED.
        """
        return self._ensure(app_ids, enabled=True, options=options)

    def ensure_deactivated(
        self, app_ids: Iterable[str] | AsyncIterable[str], **options: Any
    ) -> BulkJob[Any]:
        """Deactivate every connection that is ENABLED; leave the others alone."""
        return self._ensure(app_ids, enabled=False, options=options)

    def _ensure(
        self,
        app_ids: Iterable[str] | AsyncIterable[str],
        *,
        enabled: bool,
        options: dict[str, Any],
    ) -> BulkJob[Any]:
        verb = "activate" if enabled else "deactivate"

        async def ensure(client: BulkClient, app_id: str) -> Changed[Any]:
            conn = await client.connections.get(app_id)
            if conn.is_enabled == enabled:
                return Changed(conn, changed=False)
            await getattr(client.connections, verb)(app_id)
            return Changed(conn, changed=True)

        plan = (
            _line(TABLE["get"]),
            f"{_line(TABLE[verb])} ({'unless' if enabled else 'if'} ENABLED)",
        )
        options.setdefault("requests_per_item", 1.5)
        return self._job(ensure, app_ids, f"ensure_{verb}d", plan, options)

    def _job(
        self,
        func: Callable[[BulkClient, Any], Awaitable[T]],
        items: Iterable[Any] | AsyncIterable[Any],
        operation: str,
        plan: tuple[str, ...],
        options: dict[str, Any],
    ) -> BulkJob[T]:
        def planner(item: Any) -> tuple[str, ...]:
            key = default_key(item)
            return tuple(p.replace("{appId}", key) for p in plan)

        options.setdefault("plan", planner)
        options.setdefault("tracer", self._tracer)
        return BulkJob(self._client, func, items, operation=operation, **options)


def _line(op: Operation) -> str:
    """A dry run's line for ``op``, from the table: ``METHOD /path/{appId}/...``."""
    return f"{op.method} {op.path}"


def _pair_secrets(pair: Any) -> tuple[str, ...]:
    if isinstance(pair, tuple | list) and len(pair) == 2:
        return connection_secrets(pair[1])
    return ()


def connection_secrets(connection: Any) -> tuple[str, ...]:
    """The secret values a connection request carries: a token, an admin password."""
    found = []
    for name in ("token", "admin_password", "client_secret"):
        value = getattr(connection, name, None)
        if isinstance(value, str) and value:
            found.append(value)
    return tuple(found)


async def _read_back(
    client: BulkClient, app_id: str, request: Any, conn: Any, activate: bool | None
) -> Any:
    """Raise ReadBackError where the connection differs from ``request``; returns the
    connection as last seen."""
    from ..models.connections import AuthScheme, OAuthConnection, TokenConnection

    def differ(field: str, expected: Any, actual: Any) -> None:
        raise ReadBackError(app_id, field, expected, actual)

    scheme = AuthScheme.TOKEN if isinstance(request, TokenConnection) else AuthScheme.OAUTH2
    if conn.auth_scheme != scheme:
        differ("auth_scheme", str(scheme), str(conn.auth_scheme))
    base_url = getattr(request, "base_url", None)
    if base_url is not None and conn.base_url != base_url:
        differ("base_url", base_url, conn.base_url)
    if isinstance(request, OAuthConnection):
        if request.client_id is not None and conn.profile.client_id != request.client_id:
            differ("client_id", request.client_id, conn.profile.client_id)
        if request.rotation_mode is not None:
            signing = conn.profile.signing
            mode = None if signing is None else signing.rotation_mode
            if mode != request.rotation_mode:
                differ(
                    "rotation_mode",
                    str(request.rotation_mode),
                    None if mode is None else str(mode),
                )
    if activate and not conn.is_enabled and not conn.needs_consent:
        # The update's answer may predate the activation: ask again before calling it.
        conn = await client.connections.get(app_id)
        if not conn.is_enabled and not conn.needs_consent:
            differ("status", "ENABLED", str(conn.status))
    return conn
