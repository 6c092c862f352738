"""Values written on a command line: metrics as `NAME=VALUE` pairs (`timeout_rate=35%`) parsed
into the mapping conditions are evaluated over, and JSON objects (`--data`, `--context-json`)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ksi_patterns.documents.nesting import check_json_depth
from ksi_patterns.errors import UsageError
from ksi_patterns.events.condition_syntax import is_name_char


def parse_value(text: str, source: str = "metric") -> Any:
    """A metric's value as written on a command line: true/false/null, a number, a percentage
    (`35%` is 0.35), a JSON list or map, else the text itself. `source` names it in errors."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    if stripped.startswith(("[", "{")):
        check_json_depth(stripped, source)
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as err:
            raise UsageError(f"{text!r} is not valid JSON: {err.msg}") from None
    number = stripped[:-1] if stripped.endswith("%") else stripped
    value: int | float
    try:
        value = int(number)
    except ValueError:
        try:
            value = float(number)
        except ValueError:
            return text
        if not math.isfinite(value):
            return text
    if stripped.endswith("%"):
        return float(Decimal(number) / 100)
    return value


def parse_metrics(pairs: Iterable[str], option: str = "--metrics") -> dict[str, Any]:
    """`["timeout_rate=35%", "all_scores_similar=true"]` -> {"timeout_rate": 0.35, ...}."""
    metrics: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"{option} {pair!r}: expected NAME=VALUE, e.g. timeout_rate=35%")
        if not (name[0].isalpha() or name[0] == "_") or not all(map(is_name_char, name)):
            raise UsageError(f"{option} {pair!r}: {name!r} is not a name (letters, digits, _)")
        metrics[name] = parse_value(raw, f"{option} {name}")
    return metrics


def json_object(text: str, source: str) -> dict[str, Any]:
    """The JSON object `text` given as `source` (an option's name); UsageError otherwise."""
    check_json_depth(text, source)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"{source}: not JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
    if not isinstance(value, dict):
        raise UsageError(f"{source}: expected a JSON object, got {type(value).__name__}")
    return value
