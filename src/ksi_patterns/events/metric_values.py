"""What a metric's value means as written (`35%` is 0.35, `true`, `[1, 2]`): the values conditions
are evaluated over. How pairs are written on a command line is cli/arguments.py's."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from ksi_patterns.documents.nesting import check_json_depth
from ksi_patterns.errors import UsageError


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
