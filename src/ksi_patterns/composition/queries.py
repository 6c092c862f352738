"""The composition handlers that only read the registry: discover, select and diff.

`composition:discover` and `composition:select` answer from the pattern catalog (discovery.py,
ranking.py); `composition:diff` compares two patterns, or a fork with its lineage parent at the
fork point. None of them commits or announces anything, nor reads files outside the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksi_patterns.composition.event_data import (
    get_flag,
    get_mapping,
    get_required,
    get_text,
    get_texts,
)
from ksi_patterns.errors import NotFoundError, UsageError
from ksi_patterns.events.bus import EventBus
from ksi_patterns.events.values import json_safe

if TYPE_CHECKING:
    from ksi_patterns.registry.registry import Registry

MAX_CHANGES = 200  # changes a composition:diff result lists (the rest are counted)


@dataclass(frozen=True)
class _Side:
    label: str
    data: Any
    rev: str


def _read(registry: Registry, text: str) -> _Side:
    """NAME (current tip, else its fork branch), NAME@X.Y.Z (a release) or NAME@REV."""
    from ksi_patterns.documents.loading import load_plain
    from ksi_patterns.documents.model import parse_reference
    from ksi_patterns.lineage.forks import fork_branch

    reference = parse_reference(text)
    store = registry.store
    rev = reference.git_ref
    if reference.is_version and rev not in store.tags():
        raise NotFoundError(f"no release {reference}")
    if reference.at is None:
        try:
            registry.find(reference.name, rev)
        except NotFoundError:
            if fork_branch(reference.name) not in store.branches():
                raise
            rev = fork_branch(reference.name)
    commit = store.resolve(rev)
    path = registry.find(reference.name, str(commit.id))
    data = load_plain(store.read(path, commit), f"{path}@{commit.short_id}")
    return _Side(f"{text} ({path} at {commit.short_id})", data, str(commit.id))


def _parent_side(registry: Registry, fork: _Side, name: str) -> _Side:
    """The fork's lineage parent at the fork point, else at its current tip."""
    from ksi_patterns.documents.loading import load_plain
    from ksi_patterns.lineage.forks import fork_point, parent_link

    link = parent_link(fork.data)
    if link is None:
        raise UsageError(f"{name} has no lineage parent: give 'b' to compare it with")
    try:
        base = fork_point(registry, link.commit or "HEAD", fork.rev, link)
        path = registry.find(link.name, str(base.id))
        where = f"the fork point {base.short_id}"
    except NotFoundError:
        base = registry.store.resolve("HEAD")
        path = registry.find(link.name, "HEAD")
        where = f"the current tip {base.short_id}"
    data = load_plain(registry.store.read(path, base), f"{path}@{base.short_id}")
    return _Side(f"{link.name} ({path} at {where})", data, str(base.id))


def handle_diff(registry: Registry, data: Mapping[str, Any], _bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.diff.structural import diff, stat, without
    from ksi_patterns.lineage.forks import FORK_OWN_PATHS

    a = get_required(data, "a", "name")
    b = get_text(data, "b", required=False)
    if b is None:
        new = _read(registry, a)
        old = _parent_side(registry, new, a)
    else:
        old, new = _read(registry, a), _read(registry, b)
    changes = diff(old.data, new.data)
    if b is None:
        changes = without(changes, FORK_OWN_PATHS)
    shown = [change.to_json() for change in changes[:MAX_CHANGES]]
    return {
        "a": old.label,
        "b": new.label,
        "stat": stat(changes).to_json(),
        "changes": json_safe(shown),
        "more": max(0, len(changes) - MAX_CHANGES),
    }


def handle_discover(registry: Registry, data: Mapping[str, Any], _bus: EventBus) -> dict[str, Any]:
    import json

    from ksi_patterns.finding.catalog import branch_refs, with_catalog
    from ksi_patterns.finding.discovery import Query
    from ksi_patterns.finding.discovery import discover as run_discover
    from ksi_patterns.finding.filters import parse_metadata_filter, parse_where

    kind = get_text(data, "type", "kind", required=False)
    if kind not in (None, "orchestration", "profile"):
        raise UsageError(f"unknown 'type' {kind!r}: orchestration or profile")
    conditions = [parse_where(text) for text in get_texts(data, "where")]
    metadata_filter = get_mapping(data, "metadata_filter")
    if metadata_filter:
        conditions += parse_metadata_filter(json.dumps(metadata_filter))
    query = Query(
        kind,
        tuple(get_texts(data, "tags") + get_texts(data, "tag")),
        tuple(get_texts(data, "capabilities") + get_texts(data, "capability")),
        tuple(conditions),
    )
    all_branches = get_flag(data, "all_branches", False)
    ref = get_text(data, "ref", required=False)
    refs = branch_refs(registry) if all_branches else [ref or "HEAD"]
    notes: list[str] = []
    rows, warnings = with_catalog(
        registry, refs, lambda catalog: run_discover(catalog, query), notes.append
    )
    return {
        "patterns": [json_safe(row.to_json()) for row in rows],
        "count": len(rows),
        "warnings": [*notes, *warnings],
    }


def handle_select(registry: Registry, data: Mapping[str, Any], _bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.finding.catalog import with_catalog
    from ksi_patterns.finding.filters import parse_path
    from ksi_patterns.finding.ranking import Requirement, parse_requirement
    from ksi_patterns.finding.ranking import select as run_select

    task = get_required(data, "task")
    wanted = data.get("requirements")
    requirements: list[Requirement] = []
    if isinstance(wanted, Mapping):
        for key, value in wanted.items():
            source = f"requirement {key!r}"
            requirements.append(Requirement(str(key), parse_path(str(key), source), value, source))
    elif wanted is not None:
        requirements = [parse_requirement(text) for text in get_texts(data, "requirements")]
    top = data.get("top", 5)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 50:
        raise UsageError(f"'top' must be a whole number from 1 to 50, not {top!r}")
    ref = get_text(data, "ref", required=False) or "HEAD"
    notes: list[str] = []
    selection = with_catalog(
        registry, [ref], lambda catalog: run_select(catalog, task, requirements, top), notes.append
    )
    result: dict[str, Any] = json_safe(selection.to_json())
    result["notes"] = [*notes, *selection.notes]
    return result
