"""In-memory git trees for the store: path checks, lookups, listings, diffs, and building a tree
from base + changes.

Only modules of the git package use this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import pygit2
from pygit2.enums import DeltaStatus, FileMode

from ksi_patterns.errors import KsiError, NotFoundError

GitObject = TypeVar("GitObject", pygit2.Blob, pygit2.Tree)

Changes = Mapping[str, bytes | None]
"""Path -> new content; None deletes the path (deleting an absent path does nothing)."""


def check_path(path: str) -> str:
    """Return `path` if it is a safe posix relative path inside a tree, else raise KsiError."""
    if not isinstance(path, str) or not path:
        raise KsiError(f"invalid path {path!r}: empty")
    if "\0" in path or "\\" in path:
        raise KsiError(f"invalid path {path!r}: NUL or backslash")
    if path.startswith("/"):
        raise KsiError(f"invalid path {path!r}: absolute")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise KsiError(f"invalid path {path!r}: empty, '.' or '..' component")
        if part.lower() == ".git":
            raise KsiError(f"invalid path {path!r}: '.git' component")
    return path


def object_of(repo: pygit2.Repository, object_id: str, kind: type[GitObject]) -> GitObject:
    """The blob or tree `object_id` (full hex); NotFoundError when there is no such `kind`."""
    obj = repo.get(object_id)
    if not isinstance(obj, kind):
        raise NotFoundError(f"no {kind.__name__.lower()} {object_id}")
    return obj


def lookup(tree: pygit2.Tree | None, path: str) -> pygit2.Object | None:
    """The blob or tree at `path` (nested, posix) in `tree`, or None."""
    if tree is None:
        return None
    try:
        return tree[path]
    except KeyError:
        return None


def list_blobs(tree: pygit2.Tree, under: str = "") -> list[tuple[str, str]]:
    """(path, blob id) of every file in `tree`, sorted; `under` limits to a folder."""
    prefix = ""
    if under.strip("/"):
        folder = check_path(under.strip("/"))
        try:
            sub = tree[folder]
        except KeyError:
            return []
        if not isinstance(sub, pygit2.Tree):
            return []
        tree, prefix = sub, folder + "/"
    index = pygit2.Index()
    index.read_tree(tree)
    return sorted(
        (prefix + entry.path, str(entry.id))
        for entry in index
        if entry.mode != FileMode.COMMIT  # submodule links are not files
    )


@dataclass(frozen=True)
class FileChange:
    """One entry of a diff between two trees; paths are relative to the trees."""

    old_path: str | None  # None when the entry was added
    new_path: str | None  # None when it was deleted
    new_blob: str | None  # the new blob id; None when deleted or not a file (a submodule link)


def diff_trees(old: pygit2.Tree, new: pygit2.Tree) -> list[FileChange]:
    """What changed from `old` to `new`, entry by entry (no rename detection)."""
    changes = []
    for delta in old.diff_to_tree(new).deltas:
        added, deleted = delta.status == DeltaStatus.ADDED, delta.status == DeltaStatus.DELETED
        new_file = delta.new_file
        is_file = not deleted and new_file.mode != FileMode.COMMIT
        changes.append(
            FileChange(
                None if added else delta.old_file.path,
                None if deleted else new_file.path,
                str(new_file.id) if is_file else None,
            )
        )
    return changes


def blob_id(commit: pygit2.Commit | None, path: str) -> pygit2.Oid | None:
    """The id of the file at `path` in `commit`, or None when there is no file there."""
    obj = lookup(commit.tree if commit is not None else None, path)
    return obj.id if isinstance(obj, pygit2.Blob) else None


def build_tree(repo: pygit2.Repository, base: pygit2.Tree | None, changes: Changes) -> pygit2.Oid:
    """Write the tree `base` with `changes` applied; returns its id. Paths are checked here.

    A modified file keeps its executable bit. Writing a file where a folder is, or under a path
    that is a file, raises KsiError (git would silently drop the other side); a file may become
    a folder when the same changes delete it.
    """
    index = pygit2.Index()
    if base is not None:
        index.read_tree(base)
    checked = {check_path(p): data for p, data in changes.items()}
    for path, data in checked.items():
        if data is None and path in index:
            index.remove(path)
    for path, data in sorted(checked.items()):
        if data is None:
            continue
        _check_collision(base, path, checked)
        mode = FileMode.BLOB
        if path in index and index[path].mode == FileMode.BLOB_EXECUTABLE:
            mode = FileMode.BLOB_EXECUTABLE
        index.add(pygit2.IndexEntry(path, repo.create_blob(data), mode))
    return index.write_tree(repo)


def _check_collision(base: pygit2.Tree | None, path: str, changes: Changes) -> None:
    parts = path.split("/")
    clash: str | None = None
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if changes.get(prefix) is not None or (
            prefix not in changes and isinstance(lookup(base, prefix), pygit2.Blob)
        ):
            clash = prefix
    if isinstance(lookup(base, path), pygit2.Tree) or any(
        p.startswith(path + "/") and data is not None for p, data in changes.items()
    ):
        clash = path
    if clash is not None:
        raise KsiError(f"cannot write {path}: {clash} would be both a file and a folder")
