"""`ksi pattern merge FORK`: a fork's improvements back into its parent, as a merge commit.

base is the parent's file at the fork point, ours the parent's file on the target branch now,
theirs the fork's file. What belongs to the parent itself is not merged: before the merge, the
fork's `name`, `lineage` and `performance` are set to the parent's, so only real improvements
reach the engine; afterwards the parent's `lineage.merges` records the merge.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ksi_patterns.documents.loading import load_plain, load_roundtrip
from ksi_patterns.documents.model import (
    FORK_OWN_PATHS,
    PATTERNS_DIR,
    check_name,
    fork_branch,
    lineage_of,
)
from ksi_patterns.documents.render import render
from ksi_patterns.errors import KsiError, NotFoundError, UsageError
from ksi_patterns.git.refs import Commit
from ksi_patterns.git.store import Store
from ksi_patterns.lineage.forks import lineage_position, parent_link, utc_now
from ksi_patterns.lineage.merge_state import MergeState
from ksi_patterns.lineage.merging import Outcome, Plan, continue_merge, run
from ksi_patterns.merge import DEFAULT_POLICIES, KEEP_OURS, merge
from ksi_patterns.merge.markers import take_side
from ksi_patterns.registry.registry import Registry


@dataclass(frozen=True)
class Request:
    fork: str
    into: str | None = None  # the parent (default: the fork's lineage parent)
    branch: str | None = None  # where the merge commit goes (default: see target_branch)
    resolve: str | None = None  # "ours" or "theirs": settle every conflict that way


def target_branch(registry: Registry, fork: str, explicit: str | None) -> str:
    """The branch to merge into: as asked, else the current one, unless that is the fork's own
    branch (right after `ksi pattern fork`), then `main`."""
    if explicit:
        return explicit
    current = registry.store.current_branch
    if current and current != fork_branch(fork):
        return current
    if "main" in registry.store.branches():
        return "main"
    raise UsageError("cannot tell which branch to merge into: name it with {field}", field="branch")


def merge_fork(registry: Registry, request: Request, *, dry_run: bool = False) -> Outcome:
    store = registry.store
    check_name(request.fork)
    branch = target_branch(registry, request.fork, request.branch)
    theirs_ref = fork_branch(request.fork)
    if theirs_ref not in store.branches():
        theirs_ref = branch  # a fork committed on the target branch itself
    theirs_tip = store.resolve(theirs_ref)
    fork_path = registry.find(request.fork, str(theirs_tip.id), folder=PATTERNS_DIR)
    fork_text = store.read(fork_path, theirs_tip)
    link = parent_link(load_plain(fork_text, fork_path))
    parent = request.into or (link.name if link else None)
    if parent is None:
        raise UsageError(
            f"{request.fork} has no lineage parent: say where with {{field}}", field="into"
        )
    check_name(parent)
    if parent == request.fork:
        raise UsageError(f"{request.fork} cannot be merged into itself")
    version = load_plain(fork_text, fork_path).get("version")
    source = f"{request.fork}@{version}" if version else request.fork

    def planner(ours_tip: Commit) -> Plan:
        parent_path = registry.find(parent, str(ours_tip.id), folder=PATTERNS_DIR)
        ours = store.read(parent_path, ours_tip).decode()
        if store.is_ancestor(theirs_tip, ours_tip):  # merged already, nothing new since
            return _nothing_new(branch, ours_tip, theirs_tip)
        base = _base(
            registry,
            request.fork,
            fork_path,
            ours,
            parent_path,
            ours_tip,
            theirs_tip,
            link.commit if link else None,
        )
        labels = (branch, "fork point", f"fork {request.fork}")
        result = merge(
            base,
            ours,
            fork_text.decode(),
            path_hint=parent_path,
            policies=FORK_MERGE_POLICIES,
            labels=labels,
        )
        text = result.text
        conflicts = list(result.conflicts)
        if conflicts and request.resolve:
            text, conflicts = take_side(text, request.resolve), []
        entry = {"from": source, "commit": str(theirs_tip.id), "date": utc_now()}
        if not conflicts:
            text = record_merge(text, parent_path, entry)
        return Plan(
            branch=branch,
            ours_commit=str(ours_tip.id),
            theirs_commit=str(theirs_tip.id),
            message=f"merge({parent}): improvements from {source}",
            changes={parent_path: text.encode()} if text != ours else {},
            conflicts={parent_path: conflicts} if conflicts else {},
            fallbacks={parent_path: result.fallback} if result.fallback else {},
            extra={
                "kind": "pattern",
                "fork": request.fork,
                "parent": parent,
                "entry": entry,
                "path": parent_path,
            },
        )

    return run(store, branch, planner, dry_run=dry_run)


def _nothing_new(branch: str, ours_tip: Commit, theirs_tip: Commit) -> Plan:
    return Plan(branch, str(ours_tip.id), str(theirs_tip.id), "", changes={})


def _base(
    registry: Registry,
    fork: str,
    fork_path: str,
    ours: str,
    parent_path: str,
    ours_tip: Commit,
    theirs_tip: Commit,
    recorded: str | None,
) -> str:
    """The merge base: the fork as last merged (recorded in the parent's `lineage.merges`),
    else the parent's file at the fork point."""
    store = registry.store
    for entry in reversed(lineage_of(load_plain(ours, parent_path)).get("merges") or []):
        if not isinstance(entry, dict) or str(entry.get("from", "")).partition("@")[0] != fork:
            continue
        try:
            merged = store.read(fork_path, str(entry.get("commit")))
        except KsiError:  # the recorded commit is gone (a rewritten history): try older ones
            continue
        return merged.decode()
    base_commit = _fork_point(store, ours_tip, theirs_tip, recorded)
    try:
        return store.read(parent_path, base_commit).decode()
    except NotFoundError:
        return ""  # the parent did not exist at the fork point: everything is an addition


def _fork_point(store: Store, ours: Commit, theirs: Commit, recorded: str | None) -> str:
    base = store.merge_base(ours, theirs)
    if base is not None:
        return base
    if recorded:
        return recorded
    raise NotFoundError("the fork and its parent share no history: cannot find the fork point")


# What belongs to the parent itself is never merged from a fork: who it is, where it comes
# from, and how it measured (a fork is measured on its own runs).
FORK_MERGE_POLICIES = DEFAULT_POLICIES.extended(
    [(tuple(path.split(".")), KEEP_OURS) for path in FORK_OWN_PATHS]
)


def record_merge(text: str, path: str, entry: dict[str, str]) -> str:
    """`text` with `entry` appended to `lineage.merges` (both created when missing)."""
    document = load_roundtrip(text, path)
    tree = document.tree
    lineage = tree.get("lineage")
    if not isinstance(lineage, dict):
        lineage = CommentedMap()
        tree.insert(lineage_position(tree), "lineage", lineage)
    merges = lineage.get("merges")
    if not isinstance(merges, list):
        merges = CommentedSeq()
        lineage["merges"] = merges
    merges.append(CommentedMap(entry))
    return render(document)


def continue_fork_merge(registry: Registry) -> str:
    def finish(state: MergeState, changes: dict[str, bytes | None]) -> dict[str, bytes | None]:
        path = state.extra["path"]
        data = changes.get(path)
        if data is not None:
            changes[path] = record_merge(data.decode(), path, state.extra["entry"]).encode()
        return changes

    return continue_merge(registry.store, finish)
