"""A new decision-log entry, each of its fields checked.

`new_entry` makes the entry `ksi pattern track-decision` appends: a fresh ULID `id` whose time is
the entry's UTC `timestamp`, then `pattern`, `agent_id`, `decision`, `context`, `outcome` and
`confidence`, each checked to be what YAML and JSON both hold (UsageError otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ksi_patterns.documents.model import check_name
from ksi_patterns.errors import UsageError

MAX_DECISION_CHARS = 1_000


def parse_confidence(value: str | float, field: str = "confidence") -> float:
    """A confidence (or score) from 0 to 1, a number or its text; UsageError otherwise."""
    problem = UsageError(f"{{field}} {value!r}: expected a number from 0 to 1", field=field)
    if isinstance(value, bool):
        raise problem
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise problem from None
    if not math.isfinite(number) or not 0 <= number <= 1:
        raise problem
    return number


def _check_plain(value: Any, where: str) -> None:
    """Context values must be what YAML and JSON both hold."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"{where}: {value} is not a finite number")
        return
    if isinstance(value, Mapping):
        for key, child in value.items():
            if not isinstance(key, str):
                raise UsageError(f"{where}: keys must be strings, not {key!r}")
            _check_plain(child, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, child in enumerate(value):
            _check_plain(child, f"{where}[{index}]")
        return
    raise UsageError(f"{where}: {type(value).__name__} is not a YAML value")


def check_text(value: Any, field: str, *, limit: int = MAX_DECISION_CHARS) -> str:
    """`value` as a non-empty, one-piece text of at most `limit` characters."""
    if not isinstance(value, str) or not value.strip():
        raise UsageError("{field} must be a non-empty text", field=field)
    if len(value) > limit:
        raise UsageError(
            f"{{field}} is {len(value):,} characters long; at most {limit:,}", field=field
        )
    if "\x00" in value:
        raise UsageError("{field} holds a NUL character", field=field)
    return value


# ---------------------------------------------------------------------------------------------
# The new entry


def new_entry(
    name: str,
    decision: str,
    *,
    agent_id: str,
    context: Mapping[str, Any] | None = None,
    outcome: str | None = None,
    confidence: float | str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A new log entry with a fresh ULID whose time is the entry's timestamp (UTC, ms)."""
    from ulid import ULID

    check_name(name)
    check_text(decision, "decision")
    check_text(agent_id, "agent_id", limit=200)
    if outcome is not None:
        check_text(outcome, "outcome")
    context = dict(context or {})
    _check_plain(context, "context")
    when = (now or datetime.now(UTC)).astimezone(UTC)
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)
    entry: dict[str, Any] = {
        "id": str(ULID.from_datetime(when)),
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "pattern": name,
        "agent_id": agent_id,
        "decision": decision,
        "context": context,
        "outcome": outcome,
    }
    if confidence is not None:
        entry["confidence"] = parse_confidence(confidence)
    return entry
