"""Values crossing into and out of CEL: plain Python data as CEL values, and CEL values
described for messages. An expression never sees a Python object; celpy is imported lazily."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ksi_patterns.events.condition_syntax import failure, shorten

MAX_VALUE_DEPTH = 64  # nesting of the data an expression is evaluated over


def kind_of(value: Any) -> str:
    """What kind of value `value` is, for messages: "number", "string", "list", ..."""
    from celpy import celtypes

    for cel_type, name in (
        (celtypes.BoolType | bool, "boolean"),
        (str, "string"),
        (bytes, "bytes"),
        (list, "list"),
        (dict, "map"),
        (int | float, "number"),
    ):
        if isinstance(value, cel_type):
            return name
    return "null" if value is None else type(value).__name__


def plain(value: Any) -> Any:
    """A CEL value as plain Python, for messages."""
    from celpy import celtypes

    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return shorten(str(value), 60)
    return value


def to_cel(expression: str, value: Any, depth: int) -> Any:
    """Plain Python data as CEL values. Anything else becomes its text: an expression never
    sees a Python object."""
    from celpy import celtypes

    if depth > MAX_VALUE_DEPTH:
        raise failure(expression, f"its variables are nested deeper than {MAX_VALUE_DEPTH}")
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return celtypes.IntType(value)
        return celtypes.DoubleType(float(value))
    if isinstance(value, float | Decimal):
        return celtypes.DoubleType(float(value))
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, bytes):
        return celtypes.BytesType(value)
    if isinstance(value, Mapping):
        return celtypes.MapType(
            {_key(key): to_cel(expression, item, depth + 1) for key, item in value.items()}
        )
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return celtypes.ListType([to_cel(expression, item, depth + 1) for item in items])
    if isinstance(value, datetime | date):
        return celtypes.StringType(value.isoformat())
    return celtypes.StringType(str(value))


def _key(key: Any) -> Any:
    from celpy import celtypes

    if isinstance(key, bool):
        return celtypes.BoolType(key)
    if isinstance(key, int):
        return celtypes.IntType(key)
    return celtypes.StringType(str(key))
