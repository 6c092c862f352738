"""Reading a pattern's decision log: `ksi pattern decisions` (entries, filters, stats).

Entries written by older tools may lack `id`, or hold a confidence as quoted text; readers show
them anyway.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from typing import Any

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.model import PATTERNS_DIR, check_name, decisions_path
from ksi_patterns.errors import InputError, NotFoundError, Position, UsageError
from ksi_patterns.registry.registry import Registry


def parse_since(text: str) -> datetime:
    """`--since`: an ISO date (midnight UTC) or date-time (UTC when no offset is given)."""
    parsed = _timestamp(text)
    if parsed is None:
        raise UsageError(
            f"--since {text!r}: expected an ISO date or date-time, e.g. 2025-07-10 or "
            "2025-07-10T16:00:00Z"
        )
    return parsed


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def require_pattern(registry: Registry, name: str, ref: str) -> str:
    """The path of pattern `name` at `ref`; NotFoundError when there is no such pattern."""
    check_name(name)
    try:
        path = registry.find(name, ref, folder=PATTERNS_DIR)
    except NotFoundError:
        raise NotFoundError(f"no pattern named {name!r} at {ref}") from None
    data = load_plain(registry.read(path, ref), path)
    if not isinstance(data, dict):
        raise NotFoundError(f"{path} is not a pattern (a pattern is a mapping)")
    return path


def read_decisions(registry: Registry, name: str, ref: str = "HEAD") -> list[dict[str, Any]]:
    """The entries of NAME's log at `ref` (plain data, in log order); [] when it has none.

    Items that are not mappings are skipped; InputError when the log is not a list."""
    path = decisions_path(name)
    store = registry.store
    if not store.exists(path, ref):
        require_pattern(registry, name, ref)
        return []
    data = load_plain(store.read(path, ref), path)
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputError("a decision log must be a YAML list", Position(path, 1, 1))
    return [item for item in data if isinstance(item, dict)]


def filter_decisions(
    entries: Iterable[Mapping[str, Any]],
    *,
    since: datetime | None = None,
    agent: str | None = None,
    decision: str | None = None,
    outcome: str | None = None,
) -> list[dict[str, Any]]:
    """Entries at or after `since` whose agent, decision and outcome match (globs allowed).

    With `since`, an entry without a readable timestamp is left out."""
    chosen = []
    for entry in entries:
        if since is not None:
            when = _timestamp(entry.get("timestamp"))
            if when is None or when < since:
                continue
        if not _matches(entry.get("agent_id"), agent):
            continue
        if not _matches(entry.get("decision"), decision):
            continue
        if not _matches(entry.get("outcome"), outcome):
            continue
        chosen.append(dict(entry))
    return chosen


def _matches(value: Any, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if value is None:
        return wanted in ("null", "none", "")
    return fnmatchcase(str(value), wanted)


def confidence_of(entry: Mapping[str, Any]) -> float | None:
    """An entry's confidence as a number; older tools wrote some as quoted text ('0.85')."""
    value = entry.get("confidence")
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Stats:
    count: int
    decisions: dict[str, int]  # decision -> count, most frequent first
    outcomes: dict[str, int]  # outcome -> count ("(none)" for an outcome not known yet)
    mean_confidence: float | None
    with_confidence: int  # entries whose confidence could be read as a number

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "decisions": self.decisions,
            "outcomes": self.outcomes,
            "mean_confidence": self.mean_confidence,
            "with_confidence": self.with_confidence,
        }


NO_OUTCOME = "(none)"


def decision_stats(entries: Sequence[Mapping[str, Any]]) -> Stats:
    """Counts per decision and per outcome, and the mean confidence."""
    decisions = Counter(str(entry.get("decision")) for entry in entries)
    outcomes = Counter(
        NO_OUTCOME if entry.get("outcome") is None else str(entry.get("outcome"))
        for entry in entries
    )
    confidences = [c for entry in entries if (c := confidence_of(entry)) is not None]
    mean = math.fsum(confidences) / len(confidences) if confidences else None
    return Stats(
        count=len(entries),
        decisions=dict(decisions.most_common()),
        outcomes=dict(outcomes.most_common()),
        mean_confidence=mean,
        with_confidence=len(confidences),
    )
