"""Merges: a fork back into its parent, a whole branch, and the file merge git's driver asks for.

A merge that stops on conflicts either leaves them in the working tree, marked, to be finished
with `continue_merge` or undone with `abort_merge` (a person at a terminal), or, with
`leave_conflicts=False`, writes nothing at all and raises `MergeConflicts` carrying the
conflict records (an agent acting through events or MCP, which must not touch a working tree).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ksi_patterns.errors import ConflictError, UsageError
from ksi_patterns.lineage import merge_state
from ksi_patterns.lineage.branch_merge import merge_branch as merge_whole_branch
from ksi_patterns.lineage.branch_merge import run_driver
from ksi_patterns.lineage.fork_merge import Request, continue_fork_merge
from ksi_patterns.lineage.fork_merge import merge_fork as run_fork_merge
from ksi_patterns.lineage.merging import Outcome
from ksi_patterns.lineage.merging import abort_merge as undo_merge
from ksi_patterns.lineage.merging import continue_merge as finish_merge
from ksi_patterns.operations.caller import FROM_CODE, Caller, announce
from ksi_patterns.registry.registry import Registry


@dataclass(frozen=True)
class Merged:
    """What a merge did, or would do (`dry_run`)."""

    outcome: Outcome
    dry_run: bool
    fork: str | None = None  # a pattern merge's fork

    @property
    def clean(self) -> bool:
        return self.outcome.plan.clean

    @property
    def commit_id(self) -> str | None:
        return self.outcome.commit_id

    def conflicts(self) -> list[dict[str, Any]]:
        """One record per conflict: {file, path, kind, base, ours, theirs}."""
        return conflict_records(self.outcome)

    def announcement(self) -> dict[str, Any]:
        """What `composition:merged` carries."""
        plan = self.outcome.plan
        return merged_fields(self.fork, plan.branch, self.commit_id, plan.extra)

    def to_json(self) -> dict[str, Any]:
        plan = self.outcome.plan
        return {
            **self.announcement(),
            "clean": plan.clean,
            "dry_run": self.dry_run,
            "up_to_date": self.outcome.up_to_date,
            "changed": sorted(plan.changes),
            "fallbacks": plan.fallbacks,
            "conflicts": self.conflicts(),
        }


def conflict_records(outcome: Outcome) -> list[dict[str, Any]]:
    return [
        {"file": path, **conflict.to_json()}
        for path, found in sorted(outcome.plan.conflicts.items())
        for conflict in found
    ]


def merged_fields(
    fork: str | None, branch: str, commit: str | None, details: dict[str, Any]
) -> dict[str, Any]:
    """`composition:merged`'s data; `details` are a pattern merge's extras (parent, entry), as a
    plan or a merge finished with `continue_merge` keeps them."""
    entry = details.get("entry") or {}
    return {
        "fork": fork,
        "into": details.get("parent"),
        "branch": branch,
        "commit": commit,
        "source": entry.get("from"),
    }


class MergeConflicts(ConflictError):
    """A merge that would conflict, refused with nothing written; `records` say where."""

    def __init__(self, message: str, records: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.records = records


def merge_fork(
    registry: Registry,
    fork: str,
    *,
    into: str | None = None,
    branch: str | None = None,
    resolve: str | None = None,
    dry_run: bool = False,
    leave_conflicts: bool = True,
    caller: Caller = FROM_CODE,
) -> Merged:
    """Merge FORK's improvements back into its lineage parent (or `into`): a three-way merge
    whose base is the parent at the fork point, committed with two parents on `branch`.
    `resolve` ("ours"/"theirs") settles every conflict that way."""
    if resolve not in (None, "ours", "theirs"):
        raise UsageError(f"{{field}} must be ours or theirs, not {resolve!r}", field="resolve")
    request = Request(fork, into, branch, resolve)
    if not leave_conflicts:
        _refuse_conflicts(run_fork_merge(registry, request, dry_run=True), fork)
    outcome = run_fork_merge(registry, request, dry_run=dry_run)
    if outcome.stopped and not leave_conflicts:  # the target moved in between, and now conflicts
        raise MergeConflicts(
            f"{outcome.plan.branch} moved while merging {fork} and the merge now conflicts: the "
            "conflicts were left in the working tree; finish with `ksi pattern merge --continue`",
            conflict_records(outcome),
        )
    merged = Merged(outcome, dry_run, fork)
    if outcome.commit_id:
        announce(registry, caller, "composition:merged", merged.announcement())
    return merged


def _refuse_conflicts(preview: Outcome, fork: str) -> None:
    if preview.plan.clean:
        return
    records = conflict_records(preview)
    places = [f"{record['file']}: {record.get('path') or '(whole file)'}" for record in records]
    raise MergeConflicts(
        f"merging {fork} has {len(places)} conflict(s) ({'; '.join(places[:10])}); nothing was "
        "written: resolve them with `ksi pattern merge` at a terminal, or ask again with "
        "resolve: ours or theirs",
        records,
    )


def merge_branch(
    registry: Registry, source: str, *, into: str | None = None, dry_run: bool = False
) -> Merged:
    """Merge branch (or commit) `source` into `into` (default: the checked-out branch), every
    file changed on both sides through the structural engine."""
    return Merged(merge_whole_branch(registry.store, source, branch=into, dry_run=dry_run), dry_run)


@dataclass(frozen=True)
class Finished:
    """A merge that stopped on conflicts, committed once they were resolved."""

    branch: str
    commit_id: str
    kind: str  # "pattern" or "branch"

    def to_json(self) -> dict[str, Any]:
        return {"commit": self.commit_id, "branch": self.branch, "kind": self.kind}


def continue_merge(registry: Registry, *, caller: Caller = FROM_CODE) -> Finished:
    """Commit the merge in progress once its conflicts are resolved in the working tree."""
    state = merge_state.require(registry.store)
    if state.kind != "pattern":
        return Finished(state.branch, finish_merge(registry.store), state.kind)
    commit = continue_fork_merge(registry)
    data = merged_fields(state.extra["fork"], state.branch, commit, state.extra)
    announce(registry, caller, "composition:merged", data)
    return Finished(state.branch, commit, state.kind)


def abort_merge(registry: Registry) -> list[str]:
    """Give up the merge in progress: its files go back to the branch tip; their paths."""
    return undo_merge(registry.store)


@dataclass(frozen=True)
class FileMerge:
    conflicts: int
    fallback: str | None  # why it was merged line by line, if it was


def merge_files(base: Path, current: Path, other: Path, pathname: str | None = None) -> FileMerge:
    """What `ksi merge-driver` does for git: merge three versions of one file, the result
    written over `current`. A side that is not a regular UTF-8 file within the limits is
    refused (InputError naming it) before anything is written: git then keeps ours and
    reports the file as conflicted."""
    name = pathname or current.name
    for side, file in (("base", base), ("ours", current), ("theirs", other)):
        _check_side(file, f"{name}@{side}", structured=name.endswith((".yaml", ".yml", ".json")))
    conflicts, fallback = run_driver(base, current, other, pathname)
    return FileMerge(conflicts, fallback)


def _check_side(file: Path, shown: str, *, structured: bool) -> None:
    from ksi_patterns.documents.files import read_regular
    from ksi_patterns.documents.loading import decode
    from ksi_patterns.documents.nesting import check_yaml_depth

    text = decode(read_regular(file, shown), shown)
    if structured:
        check_yaml_depth(text, shown)
