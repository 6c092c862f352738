"""Writing decision logs: `ksi pattern track-decision` (append an entry) and `--update`.

A pattern's decision log, `orchestrations/<name>_decisions.yaml`, is an append-only YAML list,
one entry per decision an orchestrator took (DESIGN.md 3 and 5). Each entry carries a ULID `id`
(they sort by time and are the identity merges use), a UTC `timestamp`, and `pattern`,
`agent_id`, `decision`, `context`, `outcome`, `confidence`.

This module commits: `track_decision` appends an entry, `update_outcome` fills in one entry's
outcome. The parts are elsewhere: making a checked entry (decision_entries.py), the entry as
text and the append that never parses the log (decision_text.py), and reading, filtering and
counting entries for `ksi pattern decisions` (decision_log.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ksi_patterns.documents.loading import load_roundtrip
from ksi_patterns.documents.model import decisions_path
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError, NotFoundError, Position
from ksi_patterns.events.values import json_safe
from ksi_patterns.evolution.decision_entries import (
    check_text,
    new_entry,
)
from ksi_patterns.evolution.decision_log import (
    require_pattern,
)
from ksi_patterns.evolution.decision_text import (
    append_entry,
    quoted_for_old_readers,
)
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.git.refs import Commit


# ---------------------------------------------------------------------------------------------
# track-decision


@dataclass(frozen=True)
class Tracked:
    """One decision appended to a log."""

    name: str
    path: str
    entry: dict[str, Any]
    commit_id: str
    created: bool  # the log did not exist before
    skipped_worktree_paths: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The entry, where it was written and the commit."""
        return {**json_safe(self.entry), "path": self.path, "commit": self.commit_id}

    def announcement(self) -> dict[str, Any]:
        """What `composition:decision_tracked` carries."""
        entry = self.entry
        return {
            "pattern": self.name,
            "id": entry.get("id"),
            "decision": entry.get("decision"),
            "outcome": entry.get("outcome"),
            "confidence": entry.get("confidence"),
            "agent_id": entry.get("agent_id"),
            "context": json_safe(entry.get("context")),
            "path": self.path,
            "commit": self.commit_id,
        }


def _read_at(registry: Registry, path: str, tip: Commit | None) -> bytes | None:
    if tip is None:
        return None
    try:
        return registry.store.read(path, tip)
    except NotFoundError:
        return None


def default_agent(registry: Registry, ref: str = "HEAD") -> str:
    """Who decided, when not said: the registry's `defaults.author`, else the git author."""
    defaults = registry.config(ref).get("defaults")
    author = defaults.get("author") if isinstance(defaults, dict) else None
    return str(author) if author else registry.store.signature().name


def _subject(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def track_decision(
    registry: Registry,
    name: str,
    decision: str,
    *,
    context: Mapping[str, Any] | None = None,
    outcome: str | None = None,
    confidence: float | str | None = None,
    agent_id: str | None = None,
    branch: str | None = None,
    now: datetime | None = None,
) -> Tracked:
    """Append a decision to NAME's log as a commit `decision(NAME): DECISION` on `branch`
    (default: the checked-out one), with compare-and-swap: on a lost race the entry is
    appended again to the fresh tip's log."""
    ref = branch or "HEAD"
    require_pattern(registry, name, ref)
    path = decisions_path(name)
    entry = new_entry(
        name,
        decision,
        agent_id=agent_id if agent_id is not None else default_agent(registry, ref),
        context=context,
        outcome=outcome,
        confidence=confidence,
        now=now,
    )
    created = False

    def changes(tip: Commit | None) -> dict[str, bytes | None]:
        nonlocal created
        old = _read_at(registry, path, tip)
        created = old is None
        return {path: append_entry(old, entry, path)}

    # the entry was checked when it was made; the log is never re-read (see append_entry)
    result = registry.commit(
        changes, f"decision({name}): {_subject(decision)}", branch, unchecked={path}
    )
    return Tracked(name, path, entry, result.commit_id, created, result.skipped_worktree_paths)


@dataclass(frozen=True)
class Updated:
    """An entry whose outcome was filled in."""

    name: str
    path: str
    entry: dict[str, Any]
    old_outcome: Any
    commit_id: str
    skipped_worktree_paths: tuple[str, ...] = ()


def update_outcome(
    registry: Registry,
    name: str,
    entry_id: str,
    outcome: str,
    *,
    branch: str | None = None,
) -> Updated:
    """Set the `outcome` of entry `entry_id` (round-trip edit: only that entry is rewritten)."""
    from ruamel.yaml.scalarstring import ScalarString

    from ksi_patterns.documents.loading import to_plain

    ref = branch or "HEAD"
    require_pattern(registry, name, ref)
    check_text(outcome, "outcome")
    path = decisions_path(name)
    found: dict[str, Any] = {}

    def changes(tip: Commit | None) -> dict[str, bytes | None]:
        old = _read_at(registry, path, tip)
        if old is None:
            raise NotFoundError(f"{name} has no decision log ({path})")
        document = load_roundtrip(old, path)
        if not isinstance(document.tree, list):
            raise InputError("a decision log must be a YAML list", Position(path, 1, 1))
        for item in document.tree:
            if isinstance(item, dict) and str(item.get("id", "")) == entry_id:
                found["old"] = to_plain(item.get("outcome"))
                current = item.get("outcome")
                if isinstance(current, ScalarString):  # keep the quoting the log chose
                    item["outcome"] = type(current)(outcome)
                else:
                    item["outcome"] = quoted_for_old_readers(outcome)
                found["entry"] = to_plain(item)
                return {path: render(document).encode()}
        raise NotFoundError(f"no decision with id {entry_id!r} in {path}")

    message = f"decision({name}): outcome of {entry_id}: {_subject(outcome, 40)}"
    result = registry.commit(changes, message, branch)
    return Updated(
        name,
        path,
        found["entry"],
        found["old"],
        result.commit_id,
        result.skipped_worktree_paths,
    )
