"""AppFactory: apps in the states a test needs, in one call each."""

from __future__ import annotations

from typing import Any, Literal

from ._fake import FakeOkta
from ._model import FakeApp

__all__ = ["AppFactory"]

Status = Literal["ENABLED", "DISABLED"]


class AppFactory:
    """Creates apps in a :class:`FakeOkta` (the ``okta_app_factory`` fixture).

    Every method passes extra keyword arguments to :meth:`FakeOkta.add_app` (``label``,
    ``app_id``, ``base_url``, ``client_id``, ``rotation_mode``, ``app_status``...)::

        app = okta_app_factory.token("zscalerbyz", status="DISABLED")
        hub = okta_app_factory.oauth("okta_org2org", rotation_mode="AUTO")
        slack = okta_app_factory.pending_consent("slack")
        apps = okta_app_factory.many(50, "okta_org2org", connection="token")
    """

    def __init__(self, fake: FakeOkta) -> None:
        self.fake = fake

    def __call__(
        self,
        name: str = "okta_org2org",
        *,
        connection: Literal["token", "oauth"] | None = "token",
        status: Status = "DISABLED",
        **options: Any,
    ) -> FakeApp:
        """An app of any catalog type with the connection and status given.

        Args:
            name: ``okta_org2org`` and ``zscalerbyz`` take token connections; ``google``,
                ``office365``, ``okta_org2org``, ``slack`` and ``zoomus`` take OAuth ones;
                any other name (``bookmark``...) has no provisioning.
            connection: ``"token"``, ``"oauth"`` or None (not configured yet).
            status: ``ENABLED`` or ``DISABLED``.
        """
        return self.fake.add_app(name, connection=connection, status=status, **options)

    def token(
        self, name: str = "okta_org2org", *, status: Status = "ENABLED", **options: Any
    ) -> FakeApp:
        """An app with a TOKEN connection (``okta_org2org`` or ``zscalerbyz``)."""
        return self.fake.add_app(name, connection="token", status=status, **options)

    def oauth(
        self, name: str = "okta_org2org", *, status: Status = "ENABLED", **options: Any
    ) -> FakeApp:
        """An app with an OAUTH2 connection, consent (if the app needs it) already verified."""
        return self.fake.add_app(name, connection="oauth", status=status, **options)

    def pending_consent(self, name: str = "slack", **options: Any) -> FakeApp:
        """A third-party OAuth connection (google, office365, slack, zoomus) awaiting the
        admin's consent: DISABLED, with an ``authorize`` link. Finish it with
        :meth:`FakeOkta.consent` and the verify operation."""
        return self.fake.add_app(
            name, connection="oauth", status="DISABLED", consented=False, **options
        )

    def unconfigured(self, name: str = "okta_org2org", **options: Any) -> FakeApp:
        """An app that supports provisioning but has no connection yet (``UNKNOWN`` scheme)."""
        return self.fake.add_app(name, connection=None, status="DISABLED", **options)

    def without_provisioning(self, name: str = "bookmark", **options: Any) -> FakeApp:
        """An app with no provisioning at all: updates and lifecycle calls get 400."""
        return self.fake.add_app(name, connection=None, status="DISABLED", **options)

    def many(self, count: int, name: str = "okta_org2org", **options: Any) -> list[FakeApp]:
        """``count`` apps made by ``self(name, **options)``."""
        if count < 0:
            raise ValueError(f"count must be >= 0, not {count}")
        return [self(name, **options) for _ in range(count)]
