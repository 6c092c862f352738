"""What merging needs from git, for the store: ancestry (merge bases, ancestors, first parents)
and libgit2's merge of two commits' trees, handed back as paths, blob ids and bytes.

libgit2 never runs custom merge drivers, so `merge_commits` only does the trivial part; the
files it could not merge (and those the caller wants to merge itself) come back as
`FileVersions` for the caller's engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygit2

from ksi_patterns.git.trees import list_blobs, lookup


@dataclass(frozen=True)
class FileVersions:
    """One file to merge by hand: its content at the merge base, ours and theirs (None: absent)."""

    path: str
    base: bytes | None
    ours: bytes | None
    theirs: bytes | None


@dataclass(frozen=True)
class TreeMerge:
    """libgit2's merge of two commits, as paths and blob ids."""

    ours: dict[str, str]  # path -> blob id of every file on our side
    merged: dict[str, str]  # path -> blob id of every file merged by libgit2 (not to_resolve)
    to_resolve: list[FileVersions]  # its conflicts, then the files `recheck` asked for


Ids = tuple[str | None, str | None, str | None]  # blob ids at the base, ours, theirs


def merge_base(repo: pygit2.Repository, a: pygit2.Commit, b: pygit2.Commit) -> str | None:
    """The id of the best common ancestor of `a` and `b`; None when they share no history."""
    base = repo.merge_base(a.id, b.id)
    return str(base) if base is not None else None


def is_ancestor(repo: pygit2.Repository, ancestor: pygit2.Commit, of: pygit2.Commit) -> bool:
    """True when `ancestor` is `of` or one of its ancestors."""
    return ancestor.id == of.id or bool(repo.descendant_of(of.id, ancestor.id))


def first_parents(commit: pygit2.Commit, limit: int) -> list[pygit2.Commit]:
    """`commit`'s first parent, its first parent, and so on: at most `limit`, nearest first."""
    found: list[pygit2.Commit] = []
    while len(found) < limit and commit.parents:
        commit = commit.parents[0]
        found.append(commit)
    return found


def merge_commits(
    repo: pygit2.Repository,
    ours: pygit2.Commit,
    theirs: pygit2.Commit,
    recheck: Callable[[str], bool],
) -> TreeMerge:
    """Merge the trees of `ours` and `theirs` on their merge base (an empty tree if none).

    Besides libgit2's conflicts, every file both sides changed to different contents for which
    `recheck(path)` is true is handed back to resolve, even when libgit2 merged its lines: a
    clean line merge can still be a wrong structured merge.
    """
    base_id = repo.merge_base(ours.id, theirs.id)
    base_tree = repo[base_id].tree if base_id is not None else repo[repo.TreeBuilder().write()]
    index = repo.merge_trees(base_tree, ours.tree, theirs.tree)
    to_resolve: dict[str, Ids] = {}
    for ancestor, mine, other in index.conflicts or []:
        to_resolve[(mine or other or ancestor).path] = _ids(ancestor, mine, other)
    ours_files = dict(list_blobs(ours.tree))
    theirs_files = dict(list_blobs(theirs.tree))
    for path, blob in ours_files.items():
        other_blob = theirs_files.get(path)
        if path in to_resolve or other_blob is None or other_blob == blob or not recheck(path):
            continue
        base = lookup(base_tree, path)
        base_blob = str(base.id) if isinstance(base, pygit2.Blob) else None
        if base_blob in (blob, other_blob):
            continue  # changed on one side only: libgit2's result is that side's
        to_resolve[path] = (base_blob, blob, other_blob)
    merged = {entry.path: str(entry.id) for entry in index if entry.path not in to_resolve}
    versions = [
        FileVersions(path, *(_data(repo, blob) for blob in ids)) for path, ids in to_resolve.items()
    ]
    return TreeMerge(ours_files, merged, versions)


def _ids(*entries: pygit2.IndexEntry | None) -> Ids:
    base, ours, theirs = (str(entry.id) if entry is not None else None for entry in entries)
    return base, ours, theirs


def _data(repo: pygit2.Repository, blob_id: str | None) -> bytes | None:
    if blob_id is None:
        return None
    blob = repo[blob_id]
    assert isinstance(blob, pygit2.Blob)
    return blob.data
