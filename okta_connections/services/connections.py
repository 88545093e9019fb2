"""The default provisioning connection of an app: get, update, (de)activate, JWKS, verify."""

from __future__ import annotations

from .._validation import check_app_id, check_app_name, check_query_value
from ..config import Timeouts
from ..errors import InvalidArgumentError
from ..models.connections import (
    JsonWebKeySet,
    OAuthApp,
    OAuthConnection,
    ProvisioningConnection,
    TokenConnection,
)
from ..operations import TABLE, Operation
from ._base import Service, from_table

__all__ = ["OPERATIONS", "ConnectionsService"]

GET = TABLE["get"]
UPDATE = TABLE["update"]
ACTIVATE = TABLE["activate"]
DEACTIVATE = TABLE["deactivate"]
GET_JWKS = TABLE["get_jwks"]
VERIFY = TABLE["verify"]

#: Every operation of this service, by SDK name.
OPERATIONS: dict[str, Operation] = {
    op.name: op for op in (GET, UPDATE, ACTIVATE, DEACTIVATE, GET_JWKS, VERIFY)
}


class ConnectionsService(Service):
    """``client.connections``: the default provisioning connection of an app.

    Every method validates its arguments before sending anything, accepts an optional
    per-call ``timeout`` (seconds per attempt, or a :class:`Timeouts`), and raises the
    :mod:`okta_connections.errors` tree.
    """

    @from_table(GET)
    async def get(
        self, app_id: str, *, timeout: Timeouts | float | None = None
    ) -> ProvisioningConnection:
        """Retrieve the default provisioning connection of an app.

        Args:
            app_id: The app's id, e.g. ``0oafxqCAJWWGELFTYASJ``.
            timeout: Per-call timeout override.

        Returns:
            The connection: auth scheme, status, base URL, profile and links.

        Raises:
            InvalidArgumentError: ``app_id`` is not an Okta app id (nothing is sent).
            NotFoundError: no such app (E0000007).
            ForbiddenError: the credential lacks ``okta.apps.read`` (E0000006).
        """
        response = await self._session.request(
            GET, GET._app_path(check_app_id(app_id)), timeout=timeout
        )
        return self._decode(response, ProvisioningConnection, "a provisioning connection")

    @from_table(UPDATE)
    async def update(
        self,
        app_id: str,
        connection: TokenConnection | OAuthConnection,
        *,
        activate: bool | None = None,
        timeout: Timeouts | float | None = None,
    ) -> ProvisioningConnection:
        """Set (replace) the default provisioning connection of an app.

        Query: ``?activate={bool}``. Okta answers 200 (older orgs 201); both are accepted.

        Args:
            app_id: The app's id.
            connection: A :class:`TokenConnection` (Org2Org, Zscaler 2.0) or an
                :class:`OAuthConnection` (Google, Office 365, Org2Org, Slack, Zoom).
            activate: True to activate the connection in the same call; None leaves the
                query parameter out (Okta's default is false).
            timeout: Per-call timeout override.

        Returns:
            The connection as Okta now has it. An OAuth connection that needs consent comes
            back DISABLED with ``links.authorize``.

        Raises:
            InvalidArgumentError: bad ``app_id`` or ``connection`` (nothing is sent).
            BadRequestError: Okta refused the body (E0000001).
        """
        path = UPDATE._app_path(check_app_id(app_id))
        if not isinstance(connection, TokenConnection | OAuthConnection):
            raise InvalidArgumentError(
                "connection",
                f"must be a TokenConnection or an OAuthConnection, not {type(connection).__name__}",
            )
        if activate is not None and not isinstance(activate, bool):
            raise InvalidArgumentError("activate", "must be True, False or None")
        params = None if activate is None else {"activate": "true" if activate else "false"}
        response = await self._session.request(
            UPDATE, path, params=params, json_body=connection.to_wire(), timeout=timeout
        )
        return self._decode(response, ProvisioningConnection, "a provisioning connection")

    @from_table(ACTIVATE)
    async def activate(self, app_id: str, *, timeout: Timeouts | float | None = None) -> None:
        """Activate the default provisioning connection of an app.

        Raises:
            InvalidArgumentError: bad ``app_id`` (nothing is sent).
            NotFoundError: no such app (E0000007).
        """
        await self._session.request(
            ACTIVATE, ACTIVATE._app_path(check_app_id(app_id)), timeout=timeout
        )

    @from_table(DEACTIVATE)
    async def deactivate(self, app_id: str, *, timeout: Timeouts | float | None = None) -> None:
        """Deactivate the default provisioning connection of an app.

        Raises:
            InvalidArgumentError: bad ``app_id`` (nothing is sent).
            NotFoundError: no such app (E0000007).
        """
        await self._session.request(
            DEACTIVATE, DEACTIVATE._app_path(check_app_id(app_id)), timeout=timeout
        )

    @from_table(GET_JWKS)
    async def get_jwks(
        self, app_id: str, *, timeout: Timeouts | float | None = None
    ) -> JsonWebKeySet:
        """Retrieve the JSON Web Key Set of an Org2Org OAuth connection.

        Returns:
            The key set; ``.to_dict()`` gives a standard ``{"keys": [...]}`` document.

        Raises:
            InvalidArgumentError: bad ``app_id`` (nothing is sent).
            UnauthorizedError: invalid credential (E0000011).
            NotFoundError: no such app or no JWKS (E0000007).
        """
        response = await self._session.request(
            GET_JWKS, GET_JWKS._app_path(check_app_id(app_id)), timeout=timeout
        )
        return self._decode(response, JsonWebKeySet, "a JSON Web Key Set")

    @from_table(VERIFY)
    async def verify(
        self,
        app_name: OAuthApp | str,
        app_id: str,
        *,
        code: str,
        state: str,
        timeout: Timeouts | float | None = None,
    ) -> None:
        """Complete an OAuth consent flow with the third party's callback values.

        Query: ``?code=&state=``. Okta answers 204; then call :meth:`activate`.

        The code is single-use, so this call is retried only when it cannot have reached
        Okta (a failed connect, or a 429).

        Args:
            app_name: google, office365, slack or zoomus (an :class:`OAuthApp` or string).
            app_id: The app's id.
            code: The authorization code returned by the third party.
            state: The state string Okta generated.
            timeout: Per-call timeout override.

        Raises:
            InvalidArgumentError: unknown ``app_name``, bad ``app_id``, or empty ``code`` or
                ``state`` (nothing is sent).
        """
        name = check_app_name(app_name)
        app_id = check_app_id(app_id)
        params = {
            "code": check_query_value(code, "code"),
            "state": check_query_value(state, "state"),
        }
        path = VERIFY.path_for(app_name=name.value, app_id=app_id)
        await self._session.request(VERIFY, path, params=params, timeout=timeout)
