"""Whole-branch merges (`ksi registry merge`, pulls) and the git merge driver.

libgit2 never runs custom merge drivers, so a branch merge asks it only for the trivial part
(`merge_trees`) and resolves every file changed on both sides with our engine: YAML
structurally (decision logs as unions), other text line by line, binary files as conflicts.
"""

from __future__ import annotations

from pathlib import Path

from ksi_patterns.git.merges import FileVersions
from ksi_patterns.git.refs import Commit
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

    def planner(ours_tip: Commit) -> Plan:
        return plan_trees(
            store, target, ours_tip, theirs_tip, f"merge {theirs_ref} into {target}", theirs_ref
        )

    return run(store, target, planner, dry_run=dry_run)


def plan_trees(
    store: Store,
    branch: str,
    ours_tip: Commit,
    theirs_tip: Commit,
    message: str,
    theirs_label: str,
) -> Plan:
    # A YAML file changed on both sides goes through the engine even when libgit2 merged its
    # lines cleanly: a clean line merge can still be wrong YAML (the same key added at two
    # places) or hide a conflict the structure shows.
    tree_merge = store.merge_commits(ours_tip, theirs_tip, recheck=_is_yaml)
    labels = Labels(ours=branch, base="merge base", theirs=theirs_label)
    merged: dict[str, str | bytes] = {}  # path -> merged content, or the blob id holding it
    conflicts: dict[str, list[Conflict]] = {}
    fallbacks: dict[str, str] = {}
    for versions in tree_merge.to_resolve:
        path = versions.path
        data, found, fallback = _resolve_file(versions, labels)
        if data is not None:
            merged[path] = data
        if found:
            conflicts[path] = found
        if fallback:
            fallbacks[path] = fallback
    merged.update(tree_merge.merged)  # libgit2's clean merges, none of them resolved above
    ours_files = tree_merge.ours
    changes: dict[str, bytes | None] = {}
    for path, value in merged.items():
        if isinstance(value, bytes):
            if ours_files.get(path) is None or store.read_blob(ours_files[path]) != value:
                changes[path] = value
        elif ours_files.get(path) != value:
            changes[path] = store.read_blob(value)
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


def _is_yaml(path: str) -> bool:
    return path.endswith((".yaml", ".yml"))


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    if b"\0" in data:
        raise UnicodeDecodeError("utf-8", data, 0, 1, "binary")
    return data.decode("utf-8")


def _resolve_file(
    versions: FileVersions, labels: Labels
) -> tuple[bytes | None, list[Conflict], str | None]:
    """The merged content of one file changed on both sides (None: delete it), its conflicts,
    and why it was merged line by line, if it was."""
    path, ours, theirs = versions.path, versions.ours, versions.theirs
    if ours is None or theirs is None:  # deleted on one side, changed on the other
        kept = ours if ours is not None else theirs
        assert kept is not None
        kind = "delete-modify" if ours is None else "modify-delete"
        return kept, [Conflict((), kind, None, None, None)], None
    try:
        base_text = _text(versions.base) or ""
        ours_text = _text(ours) or ""
        theirs_text = _text(theirs) or ""
    except UnicodeDecodeError:
        return ours, [Conflict((), "binary", None, None, None)], None
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
