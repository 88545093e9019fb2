"""The interface between the pacer and a budget that it shares with other processes.

:class:`~.pacer.RateLimiter` paces one client from the headers. A fleet of clients on one
org and principal can also draw each window's grants from a budget that they share (on
Redis: :class:`~.shared.RedisBudget`). The pacer holds the budget as a collaborator,
``RateLimiter(fleet_budget=...)``, and asks it four things, through :class:`Budget`:

- :meth:`Budget.reserve`: after the local pacer has granted a request, may it go? The
  answer grants it (with a token to hand back), refuses it (the pacer gives its local
  grant back and asks again after a wait), or lets it go on local pacing (the budget is
  not answering);
- :meth:`Budget.learn`: what the response to a granted request showed, when its slot
  comes back (on every path: an error, a cancellation);
- :meth:`Budget.rate_limited`: the request just returned through :meth:`~.pacer.
  RateLimiter.release` was refused with a 429;
- :meth:`Budget.aclose`: let go of the connection.

The budget reads and changes the pacer's state of a bucket only through a
:class:`BucketView`, whose methods keep the pacer's own estimates consistent; and
:attr:`Budget.deciding` tells the pacer whether the budget decides the windows' grants
now (the pacer's local share estimates stand aside) or not (it paces from the headers
alone, as without a budget).
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from .headers import RateLimitInfo

__all__ = ["LOCAL", "BucketView", "Budget", "Reservation"]


@attrs.frozen
class Reservation:
    """A :class:`Budget`'s answer to :meth:`Budget.reserve`.

    Attributes:
        grant: What the budget granted (handed back to :meth:`Budget.learn`); None when
            the request goes on local pacing.
        refused: The budget refused the request: the pacer gives its local grant back,
            waits ``wait`` seconds (raising ``TimeoutError`` if that passes the call's
            deadline) and asks again.
        wait: Seconds to wait before asking again, when refused.
    """

    grant: Any = None
    refused: bool = False
    wait: float = 0.0


#: The request goes on local pacing (the budget is not answering).
LOCAL = Reservation()


class BucketView(Protocol):
    """What a :class:`Budget` reads and changes of the pacer's state of one bucket."""

    @property
    def info(self) -> RateLimitInfo | None:
        """The latest observation of the current window."""
        ...

    @property
    def opening(self) -> bool:
        """No window is known, or the last one has ended: the next request is a probe."""
        ...

    @property
    def remaining(self) -> int:
        """The lowest ``X-Rate-Limit-Remaining`` seen in the current window."""
        ...

    @property
    def rtt(self) -> float:
        """The smoothed round trip, in seconds (0 before the first response)."""
        ...

    @property
    def end(self) -> float:
        """Local time at which the current window is taken to end (inf: unknown)."""
        ...

    @property
    def window_length(self) -> float | None:
        """The window length learned from the headers, while it has not been caught short."""
        ...

    def local_time(self, server_epoch: float) -> float | None:
        """A server epoch time in local monotonic seconds; None before a ``Date`` is seen."""
        ...

    def block_until(self, when: float) -> None:
        """The fleet has spent the window until ``when`` (local time)."""
        ...

    def shared_left(self, grants: int) -> None:
        """The fleet's grants left in the window, as the budget last said."""
        ...

    def learn_length(self, length: float) -> None:
        """Another client saw a window longer than this pacer's estimate."""
        ...


class Budget(Protocol):
    """A budget that the pacer shares with other processes: the questions it asks.

    Every method but :meth:`reserve` and :meth:`aclose` is called from the event loop's
    thread without awaiting, and must not block.
    """

    @property
    def deciding(self) -> bool:
        """True while the budget decides each window's grants: the pacer's local share,
        first-window ramp and assumed-share estimates stand aside. False while it does
        not answer: the pacer paces from the headers alone."""
        ...

    async def reserve(self, bucket: str, state: BucketView, deadline: float | None) -> Reservation:
        """May the request that the local pacer has just granted in ``bucket`` go?

        Waits at most until ``deadline`` (monotonic seconds; ``TimeoutError`` after it).
        A grant whose caller is cancelled (or times out) while the answer is on its way
        is the budget's to give back: the pacer never sees it.
        """
        ...

    def learn(
        self,
        bucket: str,
        grant: Any,
        state: BucketView,
        info: RateLimitInfo | None,
        *,
        refused: bool,
        early: bool,
    ) -> None:
        """The slot of a granted request comes back, after the pacer has learned from it.

        Args:
            grant: What :meth:`reserve` granted.
            info: What the response's headers showed (None: no response, or no headers).
            refused: The response was a rate-limit 429.
            early: The request went out before the window had really ended (it was
                counted in the old one): the pacer has moved the window's end back.
        """
        ...

    def rate_limited(self, bucket: str, info: RateLimitInfo) -> None:
        """The request just returned through the pacer's ``release()`` was a 429."""
        ...

    async def aclose(self) -> None:
        """Let go of shared state (a connection); idempotent."""
        ...
