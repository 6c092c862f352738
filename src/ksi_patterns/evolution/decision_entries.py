"""A new decision-log entry: parsing what the command line gives, and checking each field.

`new_entry` makes the entry `ksi pattern track-decision` appends: a fresh ULID `id` whose time is
the entry's UTC `timestamp`, then `pattern`, `agent_id`, `decision`, `context`, `outcome` and
`confidence`, each checked to be what YAML and JSON both hold (UsageError otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.model import check_name
from ksi_patterns.errors import InputError, UsageError
from ksi_patterns.events.metric_values import json_object

MAX_DECISION_CHARS = 1_000


def parse_confidence(value: str | float, option: str = "--confidence") -> float:
    """A confidence from 0 to 1 (a number or its text); UsageError otherwise."""
    if isinstance(value, bool):
        raise UsageError(f"{option} {value!r}: expected a number from 0 to 1")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{option} {value!r}: expected a number from 0 to 1") from None
    if not math.isfinite(number) or not 0 <= number <= 1:
        raise UsageError(f"{option} {value!r}: expected a number from 0 to 1")
    return number


def _scalar(text: str) -> Any:
    """A `k=v` value: a YAML scalar (so `45` stays a number, `true` a boolean), else the text."""
    if not text.strip():
        return text
    try:
        value = load_plain(text, "--context")
    except InputError:
        return text
    if isinstance(value, dict | list):
        return text  # `[a, b]` or `a: b` stays the text it was: values are scalars
    if value is None and text.strip() not in ("null", "~", "Null", "NULL"):
        return text
    return value


def parse_context(pairs: Sequence[str]) -> dict[str, Any]:
    """`--context k=v ...` as a map; values are YAML scalars. UsageError on `k` without `=`."""
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--context {pair!r}: expected KEY=VALUE, e.g. avg_response=45")
        if key in context:
            raise UsageError(f"--context {key!r} is given twice")
        context[key] = _scalar(raw)
    return context


def parse_context_json(text: str) -> dict[str, Any]:
    """`--context-json '{...}'`: a JSON object; UsageError otherwise."""
    return json_object(text, "--context-json")


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


def check_text(value: Any, what: str, *, limit: int = MAX_DECISION_CHARS) -> str:
    """`value` as a non-empty, one-piece text of at most `limit` characters."""
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{what} must be a non-empty text")
    if len(value) > limit:
        raise UsageError(f"{what} is {len(value):,} characters long; at most {limit:,}")
    if "\x00" in value:
        raise UsageError(f"{what} holds a NUL character")
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
    check_text(decision, "the decision")
    check_text(agent_id, "the agent id", limit=200)
    if outcome is not None:
        check_text(outcome, "the outcome")
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
