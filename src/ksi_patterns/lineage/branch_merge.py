"""Whole-branch merges (`ksi registry merge`, pulls) and the git merge driver.

libgit2 never runs custom merge drivers, so a branch merge asks it only for the trivial part
(`merge_trees`) and resolves every file changed on both sides with our engine: YAML
structurally (decision logs as unions), other text line by line, binary files as conflicts.
"""

from __future__ import annotations

from pathlib import Path

import pygit2

from ksi_patterns.git.store import Store
from ksi_patterns.lineage.merging import Outcome, Plan, run
from ksi_patterns.merge import Conflict, merge
from ksi_patterns.merge.markers import Labels, merge_texts


def merge_branch(
    store: Store, theirs_ref: str, *, branch: str | None = None, dry_run: bool = False
) -> Outcome:
    """Merge `theirs_ref` into `branch` (default: the current one) as a two-parent commit."""
    target = branch or store.current_branch
    if target is None:
        from ksi_patterns.errors import UsageError

        raise UsageError("HEAD is detached: name the branch to merge {field}", field="into")
    theirs_tip = store.resolve(theirs_ref)

    def planner(ours_tip: pygit2.Commit) -> Plan:
        return plan_trees(
            store, target, ours_tip, theirs_tip, f"merge {theirs_ref} into {target}", theirs_ref
        )

    return run(store, target, planner, dry_run=dry_run)


def plan_trees(
    store: Store,
    branch: str,
    ours_tip: pygit2.Commit,
    theirs_tip: pygit2.Commit,
    message: str,
    theirs_label: str,
) -> Plan:
    repo = store.repo
    base_id = repo.merge_base(ours_tip.id, theirs_tip.id)
    base_tree = repo[base_id].tree if base_id is not None else repo[repo.TreeBuilder().write()]
    index = repo.merge_trees(base_tree, ours_tip.tree, theirs_tip.tree)
    labels = Labels(ours=branch, base="merge base", theirs=theirs_label)
    merged: dict[str, pygit2.Oid | bytes] = {}
    conflicts: dict[str, list[Conflict]] = {}
    fallbacks: dict[str, str] = {}
    to_resolve: dict[str, tuple[Entry, Entry, Entry]] = {}
    for ancestor, ours, theirs in index.conflicts or []:
        to_resolve[(ours or theirs or ancestor).path] = (ancestor, ours, theirs)
    ours_files = {path: pygit2.Oid(hex=blob) for path, blob in store.list_blobs(ours_tip)}
    # A YAML file changed on both sides goes through the engine even when libgit2 merged its
    # lines cleanly: a clean line merge can still be wrong YAML (the same key added at two
    # places) or hide a conflict the structure shows.
    to_resolve.update(
        _changed_on_both_sides(store, base_tree, ours_files, theirs_tip, set(to_resolve))
    )
    for path, (ancestor, ours, theirs) in to_resolve.items():
        data, found, fallback = _resolve_file(repo, path, ancestor, ours, theirs, labels)
        if data is not None:
            merged[path] = data
        if found:
            conflicts[path] = found
        if fallback:
            fallbacks[path] = fallback
    conflicted_paths = set(to_resolve)
    for entry in index:
        if entry.path not in conflicted_paths:
            merged[entry.path] = entry.id
    changes: dict[str, bytes | None] = {}
    for path, value in merged.items():
        if isinstance(value, bytes):
            if ours_files.get(path) is None or _data(repo, ours_files[path]) != value:
                changes[path] = value
        elif ours_files.get(path) != value:
            changes[path] = _data(repo, value)
    for path in ours_files:
        if path not in merged:
            changes[path] = None
    return Plan(
        branch=branch,
        ours_commit=str(ours_tip.id),
        theirs_commit=str(theirs_tip.id),
        message=message,
        changes=changes,
        conflicts=conflicts,
        fallbacks=fallbacks,
        extra={"kind": "branch"},
    )


Entry = pygit2.IndexEntry | None


def _changed_on_both_sides(
    store: Store,
    base_tree: pygit2.Tree,
    ours_files: dict[str, pygit2.Oid],
    theirs_tip: pygit2.Commit,
    skip: set[str],
) -> dict[str, tuple[Entry, Entry, Entry]]:
    """YAML files both sides changed to different contents, as (base, ours, theirs) entries."""
    theirs_files = {path: pygit2.Oid(hex=blob) for path, blob in store.list_blobs(theirs_tip)}
    found: dict[str, tuple[Entry, Entry, Entry]] = {}
    for path, ours in ours_files.items():
        theirs = theirs_files.get(path)
        if path in skip or theirs is None or theirs == ours or not path.endswith((".yaml", ".yml")):
            continue
        try:
            base: pygit2.Object | None = base_tree[path]
        except KeyError:
            base = None
        if base is not None and base.id in (ours, theirs):
            continue  # changed on one side only: libgit2's result is that side's
        mode = pygit2.enums.FileMode.BLOB
        found[path] = (
            pygit2.IndexEntry(path, base.id, mode) if base is not None else None,
            pygit2.IndexEntry(path, ours, mode),
            pygit2.IndexEntry(path, theirs, mode),
        )
    return found


def _data(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    blob = repo[oid]
    assert isinstance(blob, pygit2.Blob)
    return blob.data


def _text(repo: pygit2.Repository, entry: pygit2.IndexEntry | None) -> str | None:
    if entry is None:
        return None
    data = _data(repo, entry.id)
    if b"\0" in data:
        raise UnicodeDecodeError("utf-8", data, 0, 1, "binary")
    return data.decode("utf-8")


def _resolve_file(
    repo: pygit2.Repository,
    path: str,
    ancestor: pygit2.IndexEntry | None,
    ours: pygit2.IndexEntry | None,
    theirs: pygit2.IndexEntry | None,
    labels: Labels,
) -> tuple[bytes | None, list[Conflict], str | None]:
    """The merged content of one file changed on both sides (None: delete it), its conflicts,
    and why it was merged line by line, if it was."""
    if ours is None or theirs is None:  # deleted on one side, changed on the other
        kept = ours or theirs
        assert kept is not None
        kind = "delete-modify" if ours is None else "modify-delete"
        return _data(repo, kept.id), [Conflict((), kind, None, None, None)], None
    try:
        base_text = _text(repo, ancestor) or ""
        ours_text = _text(repo, ours) or ""
        theirs_text = _text(repo, theirs) or ""
    except UnicodeDecodeError:
        return _data(repo, ours.id), [Conflict((), "binary", None, None, None)], None
    if path.endswith((".yaml", ".yml")):
        result = merge(
            base_text,
            ours_text,
            theirs_text,
            path_hint=path,
            labels=(labels.ours, labels.base, labels.theirs),
        )
        return result.text.encode(), list(result.conflicts), result.fallback
    text, conflicts = merge_texts(base_text, ours_text, theirs_text, labels)
    return text.encode(), conflicts, "not a YAML file"


# ---------------------------------------------------------------------------------------------
# `ksi merge-driver`: the same engine for a plain `git merge`


def run_driver(
    base: Path, current: Path, other: Path, pathname: str | None = None
) -> tuple[int, str | None]:
    """Merge like git expects: result written to `current`; (number of conflicts, fallback)."""
    base_text, ours_text, theirs_text = (
        file.read_bytes().decode("utf-8") for file in (base, current, other)
    )
    name = pathname or current.name
    if name.endswith((".yaml", ".yml")):
        result = merge(
            base_text, ours_text, theirs_text, path_hint=name, labels=("ours", "base", "theirs")
        )
        text, conflicts, fallback = result.text, result.conflicts, result.fallback
    else:
        text, conflicts = merge_texts(base_text, ours_text, theirs_text, Labels())
        fallback = "not a YAML file"
    current.write_bytes(text.encode("utf-8"))
    return len(conflicts), fallback
