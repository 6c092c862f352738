"""The command line's own syntax: `KEY=VALUE` pairs, `@FILE`, JSON objects given as text.

What these mean is the operations' business; how they are written on a command line is the
terminal's, so the parsing lives here, once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ksi_patterns.errors import UsageError


def split_pair(text: str, option: str, example: str, shape: str = "KEY=VALUE") -> tuple[str, str]:
    """`KEY=VALUE` as (KEY, VALUE); UsageError naming the option and an example otherwise."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"{option} {text!r}: expected {shape}, e.g. {example}")
    return key, raw


def read_at_file(text: str, option: str) -> str:
    """`@FILE` as the file's text (UTF-8), anything else as it is."""
    from ksi_patterns.documents.files import read_regular
    from ksi_patterns.documents.loading import decode

    if not text.startswith("@"):
        return text
    shown = f"{option} {text}"
    return decode(read_regular(Path(text[1:]), shown), shown)


def json_object(text: str, option: str) -> dict[str, Any]:
    """The JSON object written as `text` (or `@FILE` holding one)."""
    source = f"{option} {text}" if text.startswith("@") else option
    from ksi_patterns.documents.nesting import check_json_depth

    text = read_at_file(text, option)
    check_json_depth(text, source)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"{source}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
    if not isinstance(value, dict):
        raise UsageError(f"{source}: expected a JSON object, got {type(value).__name__}")
    return value


def yaml_scalar(text: str, source: str) -> Any:
    """A value written as YAML: `45` stays a number, `true` a boolean, `[a, b]` a list; text
    that is no YAML (or is empty) stays the text it was."""
    from ksi_patterns.documents.loading import load_plain
    from ksi_patterns.errors import InputError

    if not text.strip():
        return text
    try:
        value = load_plain(text, source)
    except InputError:
        return text
    if value is None and text.strip() not in ("null", "~", "Null", "NULL"):
        return text
    return value


def settings(pairs: Iterable[str]) -> list[tuple[str, Any]]:
    """`--set PATH=VALUE`: the value is YAML (`3`, `true`, `[a, b]`), or `@FILE` for its text."""
    found = []
    for text in pairs:
        path, raw = split_pair(text, "--set", "orchestration_logic.strategy=@s.txt", "PATH=VALUE")
        value = read_at_file(raw, f"--set {path}") if raw.startswith("@") else None
        found.append((path, value if value is not None else yaml_scalar(raw, f"--set {path}")))
    return found


def context(pairs: Iterable[str]) -> dict[str, Any]:
    """`--context KEY=VALUE`: values are YAML scalars (a list or map stays its text)."""
    found: dict[str, Any] = {}
    for text in pairs:
        key, raw = split_pair(text, "--context", "avg_response=45")
        if key in found:
            raise UsageError(f"--context {key!r} is given twice")
        value = yaml_scalar(raw, "--context")
        found[key] = raw if isinstance(value, dict | list) else value
    return found


def metrics(pairs: Iterable[str], option: str = "--metrics") -> dict[str, Any]:
    """`--metrics NAME=VALUE`: 0.35, 35% (0.35), true, [1, 2] (JSON), or text."""
    from ksi_patterns.events.condition_syntax import is_name_char
    from ksi_patterns.events.metric_values import parse_value

    found: dict[str, Any] = {}
    for text in pairs:
        name, raw = split_pair(text, option, "timeout_rate=35%", "NAME=VALUE")
        if not (name[0].isalpha() or name[0] == "_") or not all(map(is_name_char, name)):
            raise UsageError(f"{option} {text!r}: {name!r} is not a name (letters, digits, _)")
        found[name] = parse_value(raw, f"{option} {name}")
    return found
