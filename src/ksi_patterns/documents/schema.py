"""Validation of plain data against the shipped JSON Schemas (schemas/*.schema.json).

The data given here is plain Python (dict, list, str, int, float, bool, None) as loaded from YAML,
with dates kept as strings. Violations come back as short, human messages with the path of the
offending value, so that a caller can map them to file:line:col through the YAML node positions.

jsonschema is imported inside the functions that need it: start-up time matters (DESIGN section 8).
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from ksi_patterns.documents.model import format_path
from ksi_patterns.documents.resources import schemas_dir

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

REGISTRY_CONFIG_FILE = "ksi-registry.yaml"


class DocumentKind(StrEnum):
    """What a registry document is; the value is the document's `type` where it has one."""

    PATTERN = "orchestration"
    PROFILE = "profile"
    DECISION_LOG = "decision-log"
    REGISTRY_CONFIG = "registry-config"


SCHEMA_FILES: dict[DocumentKind, str] = {
    DocumentKind.PATTERN: "pattern.schema.json",
    DocumentKind.PROFILE: "profile.schema.json",
    DocumentKind.DECISION_LOG: "decision-log.schema.json",
    DocumentKind.REGISTRY_CONFIG: "registry-config.schema.json",
}

_KINDS_BY_TYPE: dict[str, DocumentKind] = {
    DocumentKind.PATTERN.value: DocumentKind.PATTERN,
    DocumentKind.PROFILE.value: DocumentKind.PROFILE,
}


def kind_of(data: object, filename: str | None = None) -> DocumentKind | None:
    """Tell what a loaded document is, or None when it cannot be told.

    A file named ksi-registry.yaml is the registry configuration; a list is a decision log; a
    mapping says what it is in its `type` field (orchestration or profile). A file's name never
    overrides its `type` otherwise (`stress_test_decisions.yaml` is a pattern).
    """
    if filename is not None and PurePath(filename).name == REGISTRY_CONFIG_FILE:
        return DocumentKind.REGISTRY_CONFIG
    if isinstance(data, list):
        return DocumentKind.DECISION_LOG
    if isinstance(data, Mapping):
        declared = data.get("type")
        if isinstance(declared, str):
            return _KINDS_BY_TYPE.get(declared)
    return None


def load_schema(kind: DocumentKind) -> dict[str, Any]:
    """A fresh copy of the JSON Schema for `kind`, read from the shipped schemas folder."""
    path = schemas_dir() / SCHEMA_FILES[kind]
    schema = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(schema, dict):
        raise ValueError(f"{path}: a JSON Schema must be an object")
    return schema


@cache
def _schema(kind: DocumentKind) -> dict[str, Any]:
    """The schema for `kind`, read once per process; never mutate it."""
    return load_schema(kind)


def schema_id(kind: DocumentKind) -> str:
    """The schema's `$id`, e.g. for a `# yaml-language-server: $schema=<id>` line."""
    identifier = _schema(kind).get("$id")
    if not isinstance(identifier, str):
        raise ValueError(f"{SCHEMA_FILES[kind]} has no $id")
    return identifier


@cache
def validator_for(kind: DocumentKind) -> Draft202012Validator:
    """The one validator for `kind` in this process; its schema is checked on first use."""
    from jsonschema import Draft202012Validator

    schema = _schema(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass(frozen=True)
class SchemaViolation:
    """One way the data breaks its schema.

    `path` leads from the document's root to the offending value (keys and list indexes); for a
    missing required field it leads to the mapping that should hold it, which the message names.
    """

    path: tuple[str | int, ...]
    message: str


def schema_violations(data: object, kind: DocumentKind) -> list[SchemaViolation]:
    """Every violation of the schema for `kind` by `data`, sorted by path then message."""
    validator = validator_for(kind)
    found: set[SchemaViolation] = set()
    for error in validator.iter_errors(data):
        found.update(_violations(_most_relevant(error)))
    return sorted(found, key=lambda v: (_path_key(v.path), v.message))


def shown_path(path: Iterable[str | int]) -> str:
    """A path as people read it: `learnings[2].confidence`; the root is `(top level)`."""
    return format_path(path) or "(top level)"


def _most_relevant(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf failures, the sub-error that explains the problem best."""
    if not error.context:
        return error
    from jsonschema.exceptions import best_match

    best = best_match([error])
    return best if best is not None else error


def _path_key(path: tuple[str | int, ...]) -> tuple[tuple[int, Any], ...]:
    """Sort key for paths: indexes numerically, then keys; odd YAML keys (null, true) last."""
    key: list[tuple[int, Any]] = []
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            key.append((0, part))
        elif isinstance(part, str):
            key.append((1, part))
        else:
            key.append((2, repr(part)))
    return tuple(key)


_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlist = 4
_short.maxdict = 4
_short.maxlevel = 2


def _shown(value: object) -> str:
    return _short.repr(value)


def _violations(error: ValidationError) -> list[SchemaViolation]:
    path: tuple[str | int, ...] = tuple(error.absolute_path)
    if error.validator == "required":
        # jsonschema reports each missing property separately but names it only in its message;
        # every such error carries the whole list, so report them all (duplicates fold later).
        missing = _missing_properties(error)
        if missing:
            return [
                SchemaViolation(path, f"{shown_path((*path, name))}: required field is missing")
                for name in missing
            ]
    return [SchemaViolation(path, _message(error, path))]


def _message(error: ValidationError, path: tuple[str | int, ...]) -> str:
    """`<field>: <what is wrong>`, short, without dumping large values."""
    keyword = error.validator
    expected = error.validator_value
    instance = error.instance
    where = shown_path(path)
    if keyword == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(repr(t) for t in types)
        message = f"{where}: {_shown(instance)} is not of type {wanted}"
        if types == ["string"] and isinstance(instance, int | float):
            message += " (quote it to keep it a string)"
        return message
    if keyword == "const":
        return f"{where}: must be {expected!r}, not {_shown(instance)}"
    if keyword == "enum":
        return f"{where}: {_shown(instance)} is not one of {_shown(expected)}"
    if keyword == "pattern":
        hint = error.schema.get("patternErrorMessage") if isinstance(error.schema, dict) else None
        if isinstance(hint, str):
            return f"{where}: {_shown(instance)} {hint}"
        return f"{where}: {_shown(instance)} does not match {expected!r}"
    if keyword == "minimum":
        return f"{where}: {_shown(instance)} is less than the minimum of {expected!r}"
    if keyword == "maximum":
        return f"{where}: {_shown(instance)} is greater than the maximum of {expected!r}"
    if keyword == "minLength" and expected == 1:
        return f"{where}: must not be empty"
    return f"{where}: {_trimmed(error.message)}"


def _missing_properties(error: ValidationError) -> list[str]:
    """The properties a `required` error's mapping lacks."""
    instance = error.instance
    expected = error.validator_value
    if not (isinstance(instance, Mapping) and isinstance(expected, list)):
        return []
    return [name for name in expected if isinstance(name, str) and name not in instance]


def _trimmed(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
