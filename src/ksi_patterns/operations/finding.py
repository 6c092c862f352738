"""Finding patterns: `list_documents`, `discover` (filters) and `select` (ranking for a task)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import InputError, UsageError
from ksi_patterns.events.values import json_safe
from ksi_patterns.finding.catalog import Entry, branch_refs, entries, with_catalog
from ksi_patterns.operations.caller import FROM_CODE, Caller
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:  # discover and select import theirs when they run: `list` starts faster
    from ksi_patterns.finding.discovery import Found
    from ksi_patterns.finding.ranking import Selection
    from ksi_patterns.finding.requirements import Requirement

LISTED_KINDS = ("orchestration", "profile", "decision-log")
DISCOVERED_KINDS = ("orchestration", "profile")


def _check_kind(kind: str | None, allowed: Sequence[str]) -> None:
    if kind is not None and kind not in allowed:
        raise UsageError(
            f"unknown {{field}} {kind!r}: use {', '.join(allowed[:-1])} or {allowed[-1]}",
            field="kind",
        )


def list_documents(
    registry: Registry,
    *,
    kind: str | None = None,
    tags: Sequence[str] = (),
    ref: str = "HEAD",
    caller: Caller = FROM_CODE,
) -> list[Entry]:
    """The documents at `ref` (patterns, profiles, decision logs), by kind then name; a document
    that does not read is skipped with a warning."""
    _check_kind(kind, LISTED_KINDS)

    def skipped(err: InputError) -> None:
        caller.note(f"warning: skipped {err}")

    return entries(registry, ref, kind=kind, tags=list(tags), on_error=skipped)


@dataclass(frozen=True)
class Discovered:
    rows: list[Found]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "patterns": [json_safe(row.to_json()) for row in self.rows],
            "count": len(self.rows),
            "warnings": self.warnings,
        }


def discover(
    registry: Registry,
    *,
    kind: str | None = None,
    tags: Sequence[str] = (),
    capabilities: Sequence[str] = (),
    where: Sequence[str] = (),
    metadata_filter: Mapping[str, Any] | None = None,
    ref: str | None = None,
    all_branches: bool = False,
) -> Discovered:
    """The patterns and profiles that have every tag and capability and meet every
    `where` expression (FIELD OP VALUE) and the seed's `metadata_filter`; at `ref`, or on every
    branch (a document on several branches is found once, with them)."""
    from ksi_patterns.finding.discovery import Query
    from ksi_patterns.finding.discovery import discover as run_discover
    from ksi_patterns.finding.filters import parse_metadata_filter, parse_where

    _check_kind(kind, DISCOVERED_KINDS)
    if all_branches and ref is not None:
        raise UsageError("give {field} or all_branches, not both", field="ref")
    conditions = [parse_where(text) for text in where]
    conditions += parse_metadata_filter(metadata_filter or {})
    query = Query(kind, tuple(tags), tuple(capabilities), tuple(conditions))
    refs = branch_refs(registry) if all_branches else [ref or "HEAD"]
    notes: list[str] = []
    rows, warnings = with_catalog(
        registry, refs, lambda catalog: run_discover(catalog, query), notes.append
    )
    return Discovered(rows, [*notes, *warnings])


def select(
    registry: Registry,
    task: str,
    *,
    requirements: Sequence[str] | Mapping[str, Any] = (),
    top: int = 5,
    ref: str = "HEAD",
) -> Selection:
    """The orchestration patterns that best fit `task`, best first, each score explained.
    A requirement is `KEY` or `KEY=VALUE` (or, as data, {KEY: VALUE or true})."""
    from ksi_patterns.finding.ranking import select as run_select
    from ksi_patterns.finding.requirements import parse_requirement, requirement

    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 50:
        raise UsageError(f"{{field}} must be a whole number from 1 to 50, not {top!r}", field="top")
    wanted: list[Requirement]
    if isinstance(requirements, Mapping):
        wanted = [requirement(str(key), value) for key, value in requirements.items()]
    else:
        wanted = [parse_requirement(text) for text in requirements]
    notes: list[str] = []
    selection = with_catalog(
        registry, [ref], lambda catalog: run_select(catalog, task, wanted, top), notes.append
    )
    return replace(selection, notes=[*notes, *selection.notes])
