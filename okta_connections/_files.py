"""Reading a file a user named, bounded: a device that never ends (``/dev/zero``), a FIFO
that a writer fills for ever or a file far larger than any setting is refused, not read
until memory runs out."""

from __future__ import annotations

import codecs
import os
from typing import BinaryIO

__all__ = ["MAX_INPUT_BYTES", "InputTooLargeError", "decode_text", "read_capped"]

#: The most read from a file or stream given as a setting or an input: 1 MiB. A token, a
#: key, a request body, okta.yaml or a list of app ids is far smaller.
MAX_INPUT_BYTES = 1024 * 1024


class InputTooLargeError(ValueError):
    """A file or stream held more than the cap (or never ended: a device, a FIFO)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"is larger than {limit / (1024 * 1024):g} MiB, or never ends "
            "(a device such as /dev/zero, or a FIFO); refused"
        )
        self.limit = limit


def read_capped(source: str | os.PathLike[str] | BinaryIO, limit: int = MAX_INPUT_BYTES) -> bytes:
    """At most ``limit`` bytes of a file (by path) or a binary stream.

    Raises:
        InputTooLargeError: There was more.
        OSError: The file cannot be opened or read.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:
            data = stream.read(limit + 1)
    else:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise InputTooLargeError(limit)
    return data


def decode_text(data: bytes) -> str:
    """Text from bytes: UTF-8 (with or without a BOM), or UTF-16 with its BOM (what
    Windows' Notepad writes as "Unicode").

    Raises:
        UnicodeDecodeError: Neither (the text is never shown).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")
