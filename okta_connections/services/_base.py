"""Shared plumbing of the resource services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import cattrs

from .._json import TooDeepError
from ..errors import DecodeError
from ..models._converter import converter
from ..operations import Operation
from ..pipeline.exchange import HttpResponse
from ..pipeline.session import Session

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def from_table(op: Operation) -> Callable[[F], F]:
    """Show ``op``'s row of the table (method, path, scope, success) in the method's
    docstring, as its second paragraph: written once, in the table."""

    def mark(func: F) -> F:
        doc = func.__doc__ or ""
        first, _, rest = doc.partition("\n")
        indent = next(
            (line[: len(line) - len(line.lstrip())] for line in rest.splitlines() if line.strip()),
            "",
        )
        func.__doc__ = f"{first}\n\n{indent}{op.describe()}\n{rest}"
        return func

    return mark


class Service:
    """Base of the per-resource services: holds the client's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _decode(self, response: HttpResponse, model: type[T], what: str) -> T:
        """Structure a JSON body into ``model``, or raise DecodeError (never Key/TypeError)."""
        reason = None
        try:
            data: Any = response.json()
        except TooDeepError:
            reason = "the JSON is nested too deeply"
        except ValueError:
            reason = "the body is not JSON"
        if reason is not None:
            raise self._decode_error(response, what, reason)
        try:
            return converter.structure(data, model)
        except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
            reason = "; ".join(_flatten(exc)) or type(exc).__name__
            raise self._decode_error(response, what, reason) from exc

    def _decode_error(self, response: HttpResponse, what: str, reason: str) -> DecodeError:
        """The DecodeError of ``response``; its request id only if it holds no secret."""
        request_id = self._session.shown_request_id(response.request_id)
        message = f"could not decode {what} from a {response.status} response: {reason}"
        if request_id:
            message += f" [request id {request_id}]"
        err = DecodeError(message, status=response.status, request_id=request_id)
        err.attempts = response.attempts
        return err


def _flatten(exc: BaseException) -> list[str]:
    if isinstance(exc, cattrs.BaseValidationError):
        return cattrs.transform_error(exc)
    return [str(exc)] if str(exc) else []
