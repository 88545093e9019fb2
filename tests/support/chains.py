"""Exception chains, read whole: for the tests that no secret leaks through one."""

from __future__ import annotations

from collections.abc import Iterator


def chain_text(exc: BaseException) -> str:
    """Everything an exception and its whole chain show: str, repr, args, traceback text."""
    import traceback

    parts: list[str] = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        parts += [str(item), repr(item), repr(item.args)]
        parts += [repr(v) for v in vars(item).values()] if hasattr(item, "__dict__") else []
        stack += [item.__cause__, item.__context__]
    return "\n".join(parts)


def assert_chain_clean(exc: BaseException, *secrets: str) -> None:
    """No secret, no Authorization value and no URL query string anywhere in the chain."""
    text = chain_text(exc)
    for secret in secrets:
        assert secret not in text, f"a secret leaked through {type(exc).__name__}'s chain"
    for marker in ("?code=", "&state=", "?state="):
        assert marker not in text, f"a query string leaked: {marker}"


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then its cause or context, and so on (each once)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
