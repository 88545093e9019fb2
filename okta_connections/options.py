"""The client's option objects: how it paces itself, and who watches its requests.

Beside :class:`~okta_connections.config.Timeouts` and
:class:`~okta_connections.pipeline.retry.RetryPolicy`, these group the keyword arguments
of :class:`~okta_connections.client.OktaClient` that belong together, so that a setting
can be built once and shared by several clients. Every keyword of ``OktaClient`` keeps
working; giving an option object and a keyword it holds, set to something other than its
default, is a :class:`ConfigurationError` before anything is sent.

How the client connects (proxy, TLS, connection pool, your own aiohttp session) already
has its object: :class:`~okta_connections.transport.aiohttp.AiohttpTransport`, passed as
``transport=``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .errors import ConfigurationError
from .pipeline.events import Hook, RequestEvent, ResponseEvent, check_hook

if TYPE_CHECKING:
    from .ratelimit.budget import SharedBudget

__all__ = ["Observability", "Pacing"]

PACING_MODES = ("burst", "smooth")
_O = TypeVar("_O", "Pacing", "Observability")


def _fraction(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigurationError(attribute.name, f"must be a fraction in (0, 1], not {value!r}")


def _positive_int(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(attribute.name, "must be a positive integer")


def _mode(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in PACING_MODES:
        # "pacing": the name of OktaClient's keyword, which sets this field.
        raise ConfigurationError("pacing", f"must be 'burst' or 'smooth', not {value!r}")


def _budget(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None or isinstance(value, str):
        return
    from .ratelimit.budget import SharedBudget

    if not isinstance(value, SharedBudget):
        raise ConfigurationError(
            "shared_budget", f"must be a redis:// URL or a SharedBudget, not {type(value).__name__}"
        )


def _budget_repr(value: object) -> str:
    # A URL may carry the Redis password; a SharedBudget masks it in its own repr.
    return "'***'" if isinstance(value, str) else repr(value)


@attrs.frozen
class Pacing:
    """How the client paces itself within Okta's rate limits.

    Pass it as ``OktaClient(..., pacing=Pacing(...))``; ``pacing="burst"`` or
    ``"smooth"`` (a string) still sets the mode alone.

    Args:
        max_capacity: Fraction (0, 1] of each rate-limit bucket this client may use;
            leave headroom for other integrations that share the org (default 1.0).
        max_in_flight: Ceiling of the adaptive in-flight cap per bucket (default 64). A
            concurrency 429 halves the cap; successes raise it again.
        mode: ``"burst"`` (default) spends each window's budget as fast as the in-flight
            cap allows and sleeps until the next window opens; ``"smooth"`` spreads the
            budget evenly over the window.
        shared_budget: One rate budget shared with every other client of the same org and
            principal, on Redis: a ``redis://`` URL or a
            :class:`~okta_connections.shared.SharedBudget`. Needs burst pacing and the
            ``redis`` extra. Hidden in ``repr`` when a URL (it may hold a password).

    Example:
        >>> Pacing(max_capacity=0.5, mode="smooth")
        Pacing(max_capacity=0.5, max_in_flight=64, mode='smooth', shared_budget=None)
    """

    max_capacity: float = attrs.field(default=1.0, validator=_fraction)
    max_in_flight: int = attrs.field(default=64, validator=_positive_int)
    mode: str = attrs.field(default="burst", validator=_mode)
    shared_budget: str | SharedBudget | None = attrs.field(
        default=None, validator=_budget, repr=_budget_repr
    )

    def __attrs_post_init__(self) -> None:
        if self.shared_budget is not None and self.mode != "burst":
            raise ConfigurationError("shared_budget", "needs pacing='burst' (the default)")


def _hook(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_hook(value, attribute.name)


def _flag(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(attribute.name, "must be True or False")


def _suffix(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(attribute.name, "must be a string or None")


@attrs.frozen
class Observability:
    """Who sees the client's requests: your hooks, OpenTelemetry, and Okta's logs.

    Pass it as ``OktaClient(..., observability=Observability(...))``.

    Args:
        on_request: Called (sync or async) with a :class:`RequestEvent` before each HTTP
            attempt, token requests included; headers that may hold a credential show
            ``***``. What it raises is logged and ignored.
        on_response: Called (sync or async) with a :class:`ResponseEvent` after each HTTP
            attempt, with the status (or the error) and the elapsed time.
        telemetry: Make OpenTelemetry spans and metrics when ``opentelemetry-api`` is
            installed (default True); False turns them off.
        tracer_provider: The OpenTelemetry tracer provider to use instead of the global one.
        meter_provider: The OpenTelemetry meter provider to use instead of the global one.
        user_agent_suffix: Appended to the ``User-Agent`` header, which Okta's System Log
            shows (``okta-connections/<v> python/<x.y> aiohttp/<x.y> <suffix>``).
    """

    on_request: Hook[RequestEvent] | None = attrs.field(default=None, validator=_hook)
    on_response: Hook[ResponseEvent] | None = attrs.field(default=None, validator=_hook)
    telemetry: bool = attrs.field(default=True, validator=_flag)
    tracer_provider: Any = None
    meter_provider: Any = None
    user_agent_suffix: str | None = attrs.field(default=None, validator=_suffix)


def merge_options(
    kind: type[_O], argument: str, given: object, keywords: dict[str, tuple[Any, Any]]
) -> _O:
    """The option object of ``kind`` that ``OktaClient`` was given, or one built from its
    keywords (``{field: (value, default)}``). Both at once: ConfigurationError naming the
    keywords that are not at their defaults."""
    if given is None:
        return kind(**{name: value for name, (value, _) in keywords.items()})
    if not isinstance(given, kind):
        raise ConfigurationError(argument, f"must be an instance of {kind.__name__}")
    clashing = [
        name
        for name, (value, default) in keywords.items()
        if value is not default and value != default
    ]
    if clashing:
        raise ConfigurationError(
            argument,
            f"cannot be combined with {', '.join(f'{n}=' for n in clashing)}: set "
            f"{'it' if len(clashing) == 1 else 'them'} on the {kind.__name__} instead",
        )
    return given
