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
from ksi_patterns.errors import InputError, KsiError, NotFoundError, Position, UsageError
from ksi_patterns.git.refs import Commit
from ksi_patterns.git.store import Store
from ksi_patterns.lineage.forks import ParentLink, lineage_position, parent_link, utc_now
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


@dataclass(frozen=True)
class _Fork:
    """The fork as it is merged: its file at its branch's tip, and who its parent is."""

    name: str
    path: str
    text: bytes
    tip: Commit
    link: ParentLink | None
    parent: str
    source: str  # NAME@VERSION, as `lineage.merges` records it


def _the_fork(registry: Registry, request: Request, branch: str) -> _Fork:
    store = registry.store
    theirs_ref = fork_branch(request.fork)
    if theirs_ref not in store.branches():
        theirs_ref = branch  # a fork committed on the target branch itself
    tip = store.resolve(theirs_ref)
    path = registry.find(request.fork, str(tip.id), folder=PATTERNS_DIR)
    text = store.read(path, tip)
    data = load_plain(text, path)
    if not isinstance(data, dict):
        held = "nothing" if data is None else f"a {type(data).__name__}, not a map"
        raise InputError(f"not a pattern: the file holds {held}", Position(f"{path}@{theirs_ref}"))
    link = parent_link(data)
    parent = request.into or (link.name if link else None)
    if parent is None:
        raise UsageError(
            f"{request.fork} has no lineage parent: say where with {{field}}", field="into"
        )
    check_name(parent)
    if parent == request.fork:
        raise UsageError(f"{request.fork} cannot be merged into itself")
    version = data.get("version")
    source = f"{request.fork}@{version}" if version else request.fork
    return _Fork(request.fork, path, text, tip, link, parent, source)


def merge_fork(registry: Registry, request: Request, *, dry_run: bool = False) -> Outcome:
    check_name(request.fork)
    branch = target_branch(registry, request.fork, request.branch)
    fork = _the_fork(registry, request, branch)
    return run(
        registry.store,
        branch,
        lambda ours_tip: _plan(registry, fork, branch, ours_tip, request.resolve),
        dry_run=dry_run,
    )


def _plan(
    registry: Registry, fork: _Fork, branch: str, ours_tip: Commit, resolve: str | None
) -> Plan:
    """The merge of `fork` into its parent as the target branch holds it at `ours_tip`."""
    store = registry.store
    parent_path = registry.find(fork.parent, str(ours_tip.id), folder=PATTERNS_DIR)
    ours = store.read(parent_path, ours_tip).decode()
    if store.is_ancestor(fork.tip, ours_tip):  # merged already, nothing new since
        return _nothing_new(branch, ours_tip, fork.tip)
    recorded = fork.link.commit if fork.link else None
    base = _base(registry, fork.name, fork.path, ours, parent_path, ours_tip, fork.tip, recorded)
    labels = (branch, "fork point", f"fork {fork.name}")
    result = merge(
        base,
        ours,
        fork.text.decode(),
        path_hint=parent_path,
        policies=FORK_MERGE_POLICIES,
        labels=labels,
    )
    text, conflicts = result.text, list(result.conflicts)
    if conflicts and resolve:
        text, conflicts = take_side(text, resolve), []
    entry = {"from": fork.source, "commit": str(fork.tip.id), "date": utc_now()}
    if not conflicts:
        text = record_merge(text, parent_path, entry)
    extra = {
        "kind": "pattern",
        "fork": fork.name,
        "parent": fork.parent,
        "entry": entry,
        "path": parent_path,
    }
    return Plan(
        branch=branch,
        ours_commit=str(ours_tip.id),
        theirs_commit=str(fork.tip.id),
        message=f"merge({fork.parent}): improvements from {fork.source}",
        changes={parent_path: text.encode()} if text != ours else {},
        conflicts={parent_path: conflicts} if conflicts else {},
        fallbacks={parent_path: result.fallback} if result.fallback else {},
        extra=extra,
    )


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
