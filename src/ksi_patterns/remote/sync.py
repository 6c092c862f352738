"""Pulls and syncs: the remote's branch merged with the structural engine, then pushed.

`pull` fetches, then brings the remote-tracking branch into the current branch: nothing when it
holds nothing new, a fast-forward (the branch moved with compare-and-swap, the work tree
refreshed) when ours is an ancestor of theirs, otherwise a merge commit planned by
`branch_merge.plan_trees` (every file changed on both sides through the engine, decision logs as
unions) and committed by `merging.run`. Conflicts stop the pull the way `ksi registry merge`
stops: markers in the work tree, a MergeState, `ksi registry merge --continue | --abort`.

`sync` is pull then push. When the push is refused because the remote moved meanwhile, it pulls
and pushes again, a bounded number of times with a random wait; nothing is pushed after a
conflict.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ksi_patterns.errors import ConflictError, KsiError, UsageError
from ksi_patterns.git.refs import Commit
from ksi_patterns.git.store import Store
from ksi_patterns.lineage import merge_state
from ksi_patterns.lineage.branch_merge import plan_trees
from ksi_patterns.lineage.merging import Plan, run
from ksi_patterns.merge import Conflict
from ksi_patterns.remote.remotes import (
    FetchResult,
    PushResult,
    branch_refspecs,
    fetch,
    pick_remote,
    push,
)
from ksi_patterns.remote.transfer_callbacks import Listener

SYNC_ATTEMPTS = 5  # pull + push rounds against a remote that keeps moving
FF_ATTEMPTS = 20  # compare-and-swap tries of a fast-forward against local writers


class SyncError(KsiError):
    """The remote kept moving: every push of a sync lost the race."""


@dataclass
class PullResult:
    remote: str
    branch: str
    tracking: str  # e.g. origin/main
    fetched: FetchResult
    action: str  # "up-to-date", "fast-forward", "merged", "conflicts", "no-remote-branch"
    old: str | None = None  # the branch tip before
    new: str | None = None  # and after
    changed: list[str] = field(default_factory=list)  # files the pull changed on the branch
    conflicts: dict[str, list[Conflict]] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)  # path -> why merged line by line
    skipped_worktree: list[str] = field(default_factory=list)  # modified copies left alone

    @property
    def stopped(self) -> bool:
        return self.action == "conflicts"

    def conflict_records(self) -> list[dict[str, Any]]:
        return [
            {"file": path, **conflict.to_json()}
            for path, found in sorted(self.conflicts.items())
            for conflict in found
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "remote": self.remote,
            "branch": self.branch,
            "tracking": self.tracking,
            "fetched": self.fetched.to_json(),
            "action": self.action,
            "old": self.old,
            "new": self.new,
            "changed": self.changed,
            "fallbacks": self.fallbacks,
            "conflicts": self.conflict_records(),
            "skipped_worktree": self.skipped_worktree,
        }


@dataclass
class SyncResult:
    pulls: list[PullResult]
    push: PushResult | None  # None when a pull stopped on conflicts
    attempts: int

    @property
    def pull(self) -> PullResult:
        return self.pulls[-1]

    def to_json(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "pulls": [p.to_json() for p in self.pulls],
            "push": self.push.to_json() if self.push else None,
            "pushed": bool(self.push and self.push.ok),
        }


def _branch(store: Store, branch: str | None) -> str:
    found = branch or store.current_branch
    if found is None:
        raise UsageError("HEAD is detached (or the repository is empty): check out a branch")
    return found


def _changed_paths(store: Store, old: Commit, new: Commit) -> list[str]:
    paths: set[str] = set()
    for change in store.diff_trees(old.tree_id, new.tree_id):
        paths.update(p for p in (change.old_path, change.new_path) if p)
    return sorted(paths)


def _refuse_local_changes(store: Store, branch: str, paths: list[str]) -> None:
    """A pull must not overwrite modified work-tree files (git refuses the same way)."""
    if store.is_bare or store.current_branch != branch:
        return
    dirty = sorted(set(store.modified_paths()) & set(paths))
    if dirty:
        shown = ", ".join(dirty[:10]) + (f" and {len(dirty) - 10} more" if len(dirty) > 10 else "")
        raise UsageError(
            f"local changes to {shown} would be overwritten by the pull: commit them first"
        )


def pull(
    store: Store,
    remote: str | None = None,
    *,
    branch: str | None = None,
    listener: Listener | None = None,
    allow_unrelated: bool = False,
) -> PullResult:
    """Fetch `remote`, then merge its copy of `branch` (default: the current one) into it.
    Histories that share no commit are refused (as git does) unless `allow_unrelated`."""
    target = _branch(store, branch)
    merge_state.refuse_if_in_progress(store)
    name = str(pick_remote(store, remote).name)
    fetched = fetch(store, name, listener)
    tracking = f"{name}/{target}"
    result = PullResult(name, target, tracking, fetched, "no-remote-branch")
    theirs = store.remote_branch_tip(tracking)
    if theirs is None:
        return result
    ours = store.branch_tip(target)
    result.old = str(ours.id) if ours is not None else None
    if ours is not None and store.is_ancestor(theirs, ours):
        result.action, result.new = "up-to-date", result.old
        return result
    changed = _changed_paths(store, ours, theirs) if ours is not None else []
    _refuse_local_changes(store, target, changed)
    if ours is None or store.is_ancestor(ours, theirs):
        return _fast_forward(store, result, ours, theirs)
    if not allow_unrelated and store.merge_base(ours, theirs) is None:
        raise UsageError(
            f"refusing to merge unrelated histories: {tracking} shares no commit with {target} "
            "(another registry?); {field} merges them anyway",
            field="allow_unrelated_histories",
        )
    return _merge(store, result, theirs)


def _fast_forward(
    store: Store, result: PullResult, ours: Commit | None, theirs: Commit
) -> PullResult:
    """Move the branch from `ours` to `theirs` with compare-and-swap, then refresh the work
    tree. If a local writer moved the branch meanwhile, the pull becomes a merge."""
    message = f"pull: fast-forward to {result.tracking}"
    for attempt in range(1, FF_ATTEMPTS + 1):
        if not store.move_branch(result.branch, ours, theirs, message):
            now = store.branch_tip(result.branch)
            if now is not None and store.is_ancestor(theirs, now):
                result.action, result.new = "up-to-date", str(now.id)
                return result
            if now is not None and not store.is_ancestor(now, theirs):
                return _merge(store, result, theirs)  # a local commit landed: merge instead
            ours = now
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
            continue
        paths = (
            _changed_paths(store, ours, theirs) if ours is not None else store.list_files(theirs)
        )
        result.action, result.new, result.changed = "fast-forward", str(theirs.id), paths
        if store.current_branch == result.branch:
            result.skipped_worktree = store.refresh_worktree(paths, ours, theirs)
        return result
    raise ConflictError(f"could not fast-forward {result.branch}: it kept moving")


def _merge(store: Store, result: PullResult, theirs: Commit) -> PullResult:
    message = f"merge {result.tracking} into {result.branch}"

    def planner(ours_tip: Commit) -> Plan:
        return plan_trees(store, result.branch, ours_tip, theirs, message, result.tracking)

    outcome = run(store, result.branch, planner)
    plan = outcome.plan
    result.changed = sorted(plan.changes)
    result.conflicts = dict(plan.conflicts)
    result.fallbacks = dict(plan.fallbacks)
    if outcome.stopped:
        result.action = "conflicts"
        result.old = plan.ours_commit
    elif outcome.up_to_date:
        result.action, result.new = "up-to-date", result.old
    else:
        result.action, result.old, result.new = "merged", plan.ours_commit, outcome.commit_id
    return result


def sync(
    store: Store,
    remote: str | None = None,
    *,
    tags: bool = False,
    listener: Listener | None = None,
    attempts: int = SYNC_ATTEMPTS,
    wait: Callable[[int], None] | None = None,
    allow_unrelated: bool = False,
) -> SyncResult:
    """Pull, then push the current branch; again while the push loses a race (bounded)."""
    target = _branch(store, None)
    pulls: list[PullResult] = []
    last: PushResult | None = None
    for attempt in range(1, attempts + 1):
        pulled = pull(
            store, remote, branch=target, listener=listener, allow_unrelated=allow_unrelated
        )
        pulls.append(pulled)
        if pulled.stopped:
            return SyncResult(pulls, None, attempt)
        specs = branch_refspecs(store, [target], tags=tags)
        last = push(store, specs, pulled.remote, listener)
        if last.ok or not last.remote_moved:
            return SyncResult(pulls, last, attempt)
        (wait or _backoff)(attempt)
    assert last is not None
    raise SyncError(
        f"{last.remote} kept moving: gave up after {attempts} pull-and-push rounds; "
        f"run `ksi registry sync {last.remote}` again"
    )


def _backoff(attempt: int) -> None:
    """A random wait that grows with the attempt (up to ~1.5 s), so racing syncs spread out."""
    time.sleep(random.uniform(0.05, 0.3) * attempt)
