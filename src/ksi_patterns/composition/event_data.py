"""Reading the fields of an event's data: what the composition handlers accept.

Each reader returns the field as the type a registry operation takes, or raises UsageError
saying which field is missing or of the wrong shape (the handler's result then says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ksi_patterns.errors import UsageError


def get_text(data: Mapping[str, Any], *keys: str, required: bool = True) -> str | None:
    """The first of `keys` present, as non-empty text."""
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"{key!r} must be a non-empty text, not {value!r}")
        return value
    if required:
        raise UsageError(f"missing {' or '.join(repr(k) for k in keys)} in the event data")
    return None


def get_required(data: Mapping[str, Any], *keys: str) -> str:
    """The first of `keys` present, as non-empty text; UsageError when none is."""
    found = get_text(data, *keys)
    assert found is not None
    return found


def get_mapping(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A mapping (JSON object) with text keys; {} when absent."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UsageError(f"{key!r} must be a mapping (JSON object), not {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def get_texts(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of texts, or one text."""
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise UsageError(f"{key!r} must be a text or a list of texts, not {value!r}")


def get_flag(data: Mapping[str, Any], key: str, default: bool) -> bool:
    """true or false; `default` when absent."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise UsageError(f"{key!r} must be true or false, not {value!r}")
    return value
