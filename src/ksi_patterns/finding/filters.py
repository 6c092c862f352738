"""Conditions on documents: `--where` expressions, the seed's `metadata_filter`, and matching.

A condition is `FIELD OP VALUE`. FIELD is a dotted path (`performance.avg_score`); it is looked
up at the top level first, then under `metadata:` (where older files keep `tags` and `lineage`),
so `tags` finds `metadata.tags`. A path that meets a list looks into every element
(`learnings.confidence > 0.9`: some learning has it), and a number segment indexes a list
(`learnings.0.confidence`).

Matching follows the document-database convention:
- `==` against a list field holds when some element equals the value (`tags == tournament`);
  against a list value, when the lists are equal. Numbers compare as numbers (1 == 1.0), never
  with booleans or text.
- `!=` holds when the field exists and no found value equals the value.
- `>`, `>=`, `<`, `<=` compare numbers with a number, or ISO dates (text) with an ISO date;
  any other value is a usage error. A document whose field is not comparable does not match.
- `in [a, b]` holds when the field (or some element of a list field) is one of the values.
- `contains` on a list: every given value is an element; on text: a case-insensitive
  substring; on a map: a key.
- `exists`: the field is present and not null (`exists false` in a filter: absent or null).
A document that lacks the field does not match (except `exists false`); it is not an error.
Comparing a field that holds numbers with text (`performance.avg_score == high`) is a usage
error, found when a document holding a number there is met.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ksi_patterns.errors import UsageError

ORDERING = (">", ">=", "<", "<=")
OPERATORS = (*ORDERING, "==", "!=", "in", "contains", "exists")
_SYMBOLS = "<>=!"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$")
_SEGMENT = re.compile(r"^[^\s.<>=!\[\]{},\"']+$")


def _shown_ops() -> str:
    return ", ".join(OPERATORS)


@dataclass(frozen=True)
class Condition:
    """One test on a document; `source` is how the user wrote it, for messages."""

    path: tuple[str, ...]
    op: str
    value: Any = None
    source: str = ""

    @property
    def field(self) -> str:
        return ".".join(self.path)

    def __str__(self) -> str:
        return self.source or f"{self.field} {self.op} {self.value!r}"


@dataclass
class FieldSeen:
    """Which condition fields were found in at least one document (for typo warnings)."""

    found: set[str] = field(default_factory=set)

    def missing(self, conditions: Iterable[Condition]) -> list[str]:
        return sorted({c.field for c in conditions} - self.found)


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class Source:
    """Where a condition came from: the request's field and how the user wrote it there."""

    field: str  # "where", "metadata_filter", "requirements"
    text: str  # the expression, or the key of a filter

    def refuse(self, problem: str) -> UsageError:
        return UsageError(f"{{field}} {self.text!r}: {problem}", field=self.field)


def parse_path(text: str, source: Source) -> tuple[str, ...]:
    segments = tuple(text.split("."))
    if not text or not all(_SEGMENT.match(segment) for segment in segments):
        raise source.refuse(f"{text!r} is not a field path like performance.avg_score")
    return segments


def parse_value(text: str, source: Source) -> Any:
    """A YAML/JSON flow value: a number, true/false/null, text (quoted or not), or a list."""
    from ksi_patterns.documents.loading import load_plain
    from ksi_patterns.errors import InputError

    try:
        value = load_plain(text, f"{source.field} {source.text!r}")
    except InputError as err:
        raise source.refuse(f"cannot read the value {text!r} ({err.message})") from None
    if value is None and text.strip() not in ("null", "~", "Null", "NULL"):
        raise source.refuse(f"cannot read the value {text!r}")
    return value


def parse_where(expression: str) -> Condition:
    """`FIELD OP VALUE` (or `FIELD exists`) as a Condition; UsageError when it is not one."""
    source = Source("where", expression)
    text = expression.strip()
    match = re.match(r"([^\s<>=!]+)\s*", text)
    if not match:
        raise source.refuse(f"expected FIELD OP VALUE with OP one of {_shown_ops()}")
    path = parse_path(match.group(1), source)
    rest = text[match.end() :]
    if rest[:1] and rest[0] in _SYMBOLS:
        op_match = re.match(r"[<>=!]+", rest)
        assert op_match is not None
        op = op_match.group(0)
    else:
        op_match = re.match(r"\S+", rest)
        op = op_match.group(0) if op_match else ""
    if not op:
        raise source.refuse(f"expected an operator after {match.group(1)!r}: {_shown_ops()}")
    if op not in OPERATORS:
        raise source.refuse(f"unknown operator {op!r}; use one of {_shown_ops()}")
    value_text = rest[len(op) :].strip()
    if op == "exists":
        if value_text:
            raise source.refuse(f"`exists` takes no value (got {value_text!r})")
        return Condition(path, op, True, expression)
    if not value_text:
        raise source.refuse(f"missing the value after {op!r}")
    return checked(Condition(path, op, parse_value(value_text, source), expression), source)


def parse_metadata_filter(data: Mapping[str, Any]) -> list[Condition]:
    """The seed's `metadata_filter`: {FIELD: VALUE | [VALUES] | {OP: VALUE, ...}}.

    A list means "contains all of these"; a map of operators means all of those tests; any
    other value means equality.
    """
    conditions = []
    for key, wanted in data.items():
        source = Source("metadata_filter", str(key))
        path = parse_path(str(key), source)
        if isinstance(wanted, list):
            conditions.append(Condition(path, "contains", wanted, f"{key}: {wanted}"))
        elif isinstance(wanted, dict):
            if not wanted:
                raise source.refuse('empty operator map; use e.g. {">": 0.7}')
            for op, value in wanted.items():
                if op not in OPERATORS:
                    raise source.refuse(f"unknown operator {op!r}; use one of {_shown_ops()}")
                if op == "exists" and not isinstance(value, bool):
                    raise source.refuse(f"`exists` takes true or false, not {value!r}")
                condition = Condition(path, op, value, f"{key}: {op} {json.dumps(value)}")
                conditions.append(checked(condition, source))
        else:
            condition = Condition(path, "==", wanted, f"{key}: == {json.dumps(wanted)}")
            conditions.append(checked(condition, source))
    return conditions


def checked(condition: Condition, source: Source) -> Condition:
    """The condition, if its value suits its operator; UsageError (naming `source`) otherwise."""
    op, value = condition.op, condition.value
    if op in ORDERING and not (_is_number(value) or _is_date(value)):
        raise source.refuse(f"{op!r} compares numbers or ISO dates, and {value!r} is neither")
    if op == "in" and not isinstance(value, list):
        raise source.refuse("`in` needs a list like [orchestration, profile]")
    if op == "contains" and isinstance(value, dict):
        raise source.refuse("`contains` takes a value or a list of values, not a map")
    return condition


# ---------------------------------------------------------------------------------------------
# Looking fields up


def _walk(node: Any, path: tuple[str, ...]) -> list[Any]:
    """Every value at `path` under `node` (lists fan out); empty when there is none."""
    if not path:
        return [node]
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return _walk(node[head], rest) if head in node else []
    if isinstance(node, list):
        if head.isdigit():
            index = int(head)
            return _walk(node[index], rest) if index < len(node) else []
        found: list[Any] = []
        for item in node:
            if isinstance(item, dict | list):
                found += _walk(item, path)
        return found
    return []


def lookup(document: Any, path: tuple[str, ...]) -> list[Any]:
    """The values at `path`: at the top level, else under `metadata`."""
    found = _walk(document, path)
    if not found and isinstance(document, dict) and path[0] != "metadata":
        metadata = document.get("metadata")
        if isinstance(metadata, dict):
            found = _walk(metadata, path)
    return found


# ---------------------------------------------------------------------------------------------
# Matching


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    return isinstance(value, str) and bool(_ISO_DATE.match(value))


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) or _is_number(b):
        return _is_number(a) and _is_number(b) and a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _order(found: Any, op: str, wanted: Any) -> bool:
    if _is_number(wanted):
        if not _is_number(found) or (isinstance(found, float) and math.isnan(found)):
            return False
    elif not _is_date(found):
        return False
    if op == ">":
        return bool(found > wanted)
    if op == ">=":
        return bool(found >= wanted)
    if op == "<":
        return bool(found < wanted)
    return bool(found <= wanted)


def _elements(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_types(condition: Condition, found: Any, name: str) -> None:
    """A field holding numbers compared with text: a usage error, not a silent mismatch."""
    if condition.op not in ("==", "!=", "in"):
        return
    wanted = condition.value if condition.op == "in" else _elements(condition.value)
    texts = [w for w in _elements(wanted) if isinstance(w, str)]
    if not texts:
        return
    numbers = [f for f in _elements(found) if _is_number(f)]
    if numbers:
        raise UsageError(
            f"{condition}: {condition.field} holds numbers ({numbers[0]!r} in {name}); "
            f"compare it with a number, not {texts[0]!r}"
        )


def _one(condition: Condition, found: Any) -> bool:
    op, wanted = condition.op, condition.value
    if op == "==":
        if isinstance(found, list) and not isinstance(wanted, list):
            return any(_equal(item, wanted) for item in found)
        return _equal(found, wanted)
    if op in ORDERING:
        return any(_order(item, op, wanted) for item in _elements(found))
    if op == "in":
        return any(_equal(item, w) for item in _elements(found) for w in wanted)
    if op == "contains":
        if isinstance(found, list):
            return all(any(_equal(item, w) for item in found) for w in _elements(wanted))
        if isinstance(found, str):
            return all(isinstance(w, str) and w.lower() in found.lower() for w in _elements(wanted))
        if isinstance(found, dict):
            return all(isinstance(w, str) and w in found for w in _elements(wanted))
        return False
    raise AssertionError(op)


def matches(
    condition: Condition, document: Any, name: str = "a document", seen: FieldSeen | None = None
) -> bool:
    """Whether `document` meets `condition`; records in `seen` that the field was found."""
    found = lookup(document, condition.path)
    present = [value for value in found if value is not None]
    if seen is not None and found:
        seen.found.add(condition.field)
    if condition.op == "exists":
        return bool(present) == bool(condition.value)
    for value in present:
        _check_types(condition, value, name)
    if condition.op == "!=":
        negated = Condition(condition.path, "==", condition.value, condition.source)
        return bool(present) and not any(_one(negated, value) for value in present)
    return any(_one(condition, value) for value in present)


def has_field(document: Any, path: tuple[str, ...]) -> bool:
    return bool(lookup(document, path))
