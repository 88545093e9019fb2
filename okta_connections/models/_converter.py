"""The one cattrs converter: camelCase on the wire, snake_case in Python.

Unknown fields are ignored on the way in (cattrs' default), unknown enum values are kept
(see :class:`LenientStrEnum`), and request models serialise to the exact body shapes of
Okta's reference.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._enum import LenientStrEnum

__all__ = ["converter", "to_camel"]

converter = cattrs.Converter(forbid_extra_keys=False)

_CAMEL = re.compile(r"_([a-z0-9])")


def to_camel(name: str) -> str:
    """``base_url`` -> ``baseUrl``."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def _wire_name(field: attrs.Attribute[Any]) -> str:
    alias = field.metadata.get("wire")
    return alias if isinstance(alias, str) else to_camel(field.name)


def _is_response_model(cls: Any) -> bool:
    return attrs.has(cls) and getattr(cls, "__okta_model__", False) is True


def _structure_factory(cls: Any) -> Any:
    overrides = {f.name: override(rename=_wire_name(f)) for f in attrs.fields(cls)}
    return make_dict_structure_fn(cls, converter, **overrides)  # type: ignore[arg-type]


def _unstructure_factory(cls: Any) -> Any:
    overrides = {
        f.name: override(rename=_wire_name(f), omit_if_default=True) for f in attrs.fields(cls)
    }
    return make_dict_unstructure_fn(cls, converter, **overrides)  # type: ignore[arg-type]


converter.register_structure_hook_factory(_is_response_model, _structure_factory)
converter.register_unstructure_hook_factory(_is_response_model, _unstructure_factory)


def _is_lenient_enum(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, LenientStrEnum)


def _enum_factory(cls: type[LenientStrEnum]) -> Any:
    # A dict lookup for known values; Enum.__call__ (and _missing_) only for the rest.
    members = cls._value2member_map_

    def structure(value: Any, _: Any) -> LenientStrEnum:
        member = members.get(value) if isinstance(value, str) else None
        return member if member is not None else cls(value)  # type: ignore[return-value]

    return structure


converter.register_structure_hook_factory(_is_lenient_enum, _enum_factory)
