"""What pattern merges and branch merges share: commit a merge, or stop on conflicts and finish.

A merge is planned against the target branch's tip. A clean plan is committed as a merge commit
(two parents) through the store's compare-and-swap, re-planned if the tip moved. A plan with
conflicts writes its files into the working tree, markers included, and records a MergeState
so that `--continue` can commit what the user resolved and `--abort` can put things back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.errors import InputError, KsiError, Position, UsageError
from ksi_patterns.git.refs import Commit
from ksi_patterns.git.store import Store
from ksi_patterns.lineage import merge_state
from ksi_patterns.lineage.merge_state import MergeState
from ksi_patterns.merge import Conflict
from ksi_patterns.merge.markers import first_marker_line


@dataclass
class Plan:
    """The outcome of merging against one tip of the target branch."""

    branch: str
    ours_commit: str
    theirs_commit: str
    message: str
    changes: dict[str, bytes | None]  # merged content of every path the merge changes
    conflicts: dict[str, list[Conflict]] = field(default_factory=dict)  # path -> its conflicts
    fallbacks: dict[str, str] = field(default_factory=dict)  # path -> why merged line by line
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.conflicts


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    commit_id: str | None  # None when it stopped on conflicts or was a dry run
    stopped: bool  # conflicts were written to the working tree
    up_to_date: bool = False


class _Replan(Exception):
    """The tip moved and the new plan has conflicts: stop retrying and present them."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan


Planner = Callable[[Commit], Plan]


def run(store: Store, branch: str, planner: Planner, *, dry_run: bool = False) -> Outcome:
    """Plan on the tip of `branch`; commit when clean, else stop with the conflicts in the tree."""
    merge_state.refuse_if_in_progress(store)
    plan = planner(store.resolve(branch))
    if dry_run:
        return Outcome(plan, None, stopped=False)
    if not plan.clean:
        _stop(store, plan)
        return Outcome(plan, None, stopped=True)
    if not plan.changes and store.is_ancestor(plan.theirs_commit, plan.ours_commit):
        return Outcome(plan, None, stopped=False, up_to_date=True)
    final = {"plan": plan}

    def changes(tip: Commit | None) -> dict[str, bytes | None]:
        current = final["plan"]
        if tip is not None and str(tip.id) != current.ours_commit:
            current = planner(tip)
            if not current.clean:
                raise _Replan(current)
            final["plan"] = current
        return current.changes

    try:
        result = store.commit(
            changes, plan.message, branch, extra_parents=[plan.theirs_commit], allow_empty=True
        )
    except _Replan as replan:
        _stop(store, replan.plan)
        return Outcome(replan.plan, None, stopped=True)
    return Outcome(final["plan"], result.commit_id, stopped=False)


def _stop(store: Store, plan: Plan) -> None:
    """Write the plan's files (markers included) into the working tree and remember the merge."""
    root = store.root
    if root is None:
        raise UsageError(
            "conflicts in a bare registry cannot be resolved in place: merge in a clone "
            "(`ksi pattern merge` also takes --resolve ours|theirs)"
        )
    if store.current_branch != plan.branch:
        raise UsageError(
            f"conflicts can only be resolved on the checked-out branch: switch to {plan.branch} "
            "(`ksi pattern merge` also takes --resolve ours|theirs)"
        )
    dirty = set(store.modified_paths()) & set(plan.changes)
    if dirty:
        raise UsageError(f"local changes to {', '.join(sorted(dirty))} would be overwritten")
    for path, data in plan.changes.items():
        target = root / path
        if data is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    merge_state.save(
        store,
        MergeState(
            kind=str(plan.extra.get("kind", "branch")),
            branch=plan.branch,
            ours_commit=plan.ours_commit,
            theirs_commit=plan.theirs_commit,
            message=plan.message,
            changed=sorted(plan.changes),
            conflicted=sorted(plan.conflicts),
            conflicts=[
                {"file": path, **conflict.to_json()}
                for path, conflicts in sorted(plan.conflicts.items())
                for conflict in conflicts
            ],
            extra={k: v for k, v in plan.extra.items() if k != "kind"},
        ),
    )


Finisher = Callable[[MergeState, dict[str, bytes | None]], dict[str, bytes | None]]


def continue_merge(store: Store, finisher: Finisher | None = None) -> str:
    """Commit the resolved working-tree files of the merge in progress; the new commit id."""
    state = merge_state.require(store)
    root = store.root
    assert root is not None  # a merge only stops in a working tree
    tip = str(store.resolve(state.branch).id)
    if tip != state.ours_commit:
        raise UsageError(f"{state.branch} moved since the merge started: --abort and merge again")
    changes: dict[str, bytes | None] = {}
    for path in state.changed:
        target = root / path
        changes[path] = target.read_bytes() if target.exists() else None
    for path in state.conflicted:
        data = changes.get(path)
        if data is None:
            continue
        _check_resolved(path, data)
    if finisher is not None:
        finished = finisher(state, dict(changes))
        for path, data in finished.items():
            if data is not None and data != changes.get(path):
                (root / path).write_bytes(data)  # so the refresh after the commit finds it current
        changes = finished
    result = store.commit(
        changes, state.message, state.branch, extra_parents=[state.theirs_commit], allow_empty=True
    )
    merge_state.clear(store)
    return result.commit_id


def _check_resolved(path: str, data: bytes) -> None:
    line = first_marker_line(data.decode("utf-8", errors="replace"))
    if line is not None:
        raise UsageError(f"{Position(path, line, 1)}: conflict markers are still there")
    if path.endswith((".yaml", ".yml")):
        try:
            load_plain(data, path)
        except InputError as err:
            raise UsageError(f"{err} (fix it, then --continue)") from None


def abort_merge(store: Store) -> list[str]:
    """Put the working-tree files of the merge in progress back to the branch tip; their paths."""
    state = merge_state.require(store)
    root = store.root
    assert root is not None
    restored = []
    for path in state.changed:
        target = root / path
        try:
            data = store.read(path, state.branch)
        except KsiError:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        restored.append(path)
    store.reload_index()
    merge_state.clear(store)
    return restored
