"""JSON decoding that fails with ValueError, whatever the document (nesting included)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["TooDeepError", "loads"]

_BOM = b"\xef\xbb\xbf"


class TooDeepError(ValueError):
    """A JSON document nested deeper than Python's recursion limit."""


def loads(body: bytes | str) -> Any:
    """Decode UTF-8 JSON (a BOM allowed).

    Raises:
        ValueError: not JSON, not UTF-8, or nested deeper than Python's recursion limit
            (``json`` itself would raise RecursionError there).
    """
    try:
        if isinstance(body, bytes):
            # bytes.decode("utf-8") is C all the way; the utf-8-sig codec is not.
            text = (body[3:] if body.startswith(_BOM) else body).decode("utf-8")
        else:
            text = body
        return json.loads(text)
    except RecursionError:
        raise TooDeepError("the JSON document is nested too deeply") from None
