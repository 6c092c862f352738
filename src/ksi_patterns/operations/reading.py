"""Reading one document: `show` (as written, or with `extends` resolved), the logs beside a
pattern (`read_log`) and `history`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ksi_patterns.documents.files import read_regular
from ksi_patterns.documents.loading import decode, load_plain, load_roundtrip, locate
from ksi_patterns.documents.model import DECISIONS_SUFFIX, PATTERNS_DIR
from ksi_patterns.errors import InputError, NotFoundError, Position, UsageError
from ksi_patterns.git.history import CommitInfo
from ksi_patterns.registry.references import locate as locate_reference
from ksi_patterns.registry.registry import Registry

Opener = Callable[[Path | None], Registry]  # the registry for a file near this path, or anywhere
Lookup = Callable[[str], Any]

# The append-only logs a pattern NAME may have beside it: orchestrations/NAME<suffix>.yaml.
LOGS = {"decisions": DECISIONS_SUFFIX, "runs": "_runs"}


@dataclass(frozen=True)
class Shown:
    source: str  # the path read (NAME@REF's file as `path@REF`), or the file given
    text: str  # as written
    data: Any  # plain; with `extends` applied when resolved
    resolved: bool

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "resolved": self.resolved, "document": self.data}


def show(
    registry: Registry | Opener,
    reference: str,
    *,
    resolved: bool = False,
    files: bool = False,
) -> Shown:
    """The document `reference` names (NAME, NAME@X.Y.Z, NAME@REV, or with `files` the path of
    a YAML file); `resolved` applies `extends`: the parents' fields are defaults, deep-merged."""
    opener: Opener = registry if callable(registry) else (lambda _near: registry)
    as_file = Path(reference)
    if files and reference.endswith((".yaml", ".yml")) and os.path.lexists(as_file):
        source, text = reference, decode(read_regular(as_file, reference), reference)
        lookup: Lookup = lambda name: opener(as_file).lookup()(name)  # noqa: E731
    else:
        found = locate_reference(opener(None), reference)
        source, text = found.source, decode(found.data, found.source)
        lookup = opener(None).lookup(found.commit_id)
    data = load_plain(text, source)
    if resolved:
        from ksi_patterns.documents.extends import resolve

        name = _resolvable_name(source, text, data)
        data = resolve(name, lambda wanted: data if wanted == name else lookup(wanted))
    return Shown(source, text, data, resolved)


def log_path(pattern: str, log: str) -> str:
    """Where PATTERN's log (`decisions` or `runs`) is, in the registry."""
    return f"{PATTERNS_DIR}/{pattern}{_log_suffix(log)}.yaml"


def _log_suffix(log: str) -> str:
    if log not in LOGS:
        raise UsageError(f"unknown {{field}} {log!r}: use {' or '.join(LOGS)}", field="log")
    return LOGS[log]


def read_log(registry: Registry, reference: str, log: str) -> Shown:
    """The log (`decisions` or `runs`) of the pattern `reference` names, as written: read from
    the commit the pattern is read from (a fork not merged yet: its branch)."""
    _log_suffix(log)  # checked before anything is read
    found = locate_reference(registry, reference)
    path = log_path(found.name, log)
    if not registry.store.exists(path, found.commit_id):
        raise NotFoundError(f"{found.name} has no {log} log at {found.at or found.rev}")
    source = f"{path}@{found.at}" if found.at else path
    text = decode(registry.read(path, found.commit_id), source)
    return Shown(source, text, load_plain(text, source), resolved=False)


def _resolvable_name(source: str, text: str, data: Any) -> str:
    """The document's name, when `name` and `extends` have the types resolution needs."""
    if not isinstance(data, dict):
        raise InputError(
            "{field} needs a pattern or profile: a mapping with a `name`",
            Position(source, 1, 1),
            field="resolved",
        )
    for key in ("name", "extends"):
        value = data.get(key)
        if isinstance(value, str) or (key == "extends" and value is None):
            continue
        where = locate(load_roundtrip(text, source).tree, (key,), source)
        wanted = "a name" if key == "name" else "the parent's name"
        problem = f"must be {wanted}, not {value!r}" if key in data else "is missing"
        raise InputError(f"cannot resolve: `{key}` {problem}", where)
    return str(data["name"])


def history(
    registry: Registry, name: str, *, ref: str = "HEAD", limit: int | None = None
) -> list[CommitInfo]:
    """The commits that changed NAME's file, newest first."""
    path = registry.find(name, ref)
    return registry.store.history(path, ref, limit)
