"""The work-tree side of the store: refreshing files after a commit, and status.

Only `store` uses this module. Paths given here are already checked posix relative paths.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import FileMode, FileStatus

from ksi_patterns.errors import KsiError
from ksi_patterns.git.trees import blob_id, lookup

INDEX_WRITE_TRIES = 40  # x 25 ms waiting for a git command's index.lock
REFRESH_WALK = 500  # first-parent steps searched when others committed on top of ours


@dataclass(frozen=True)
class Target:
    """What a path should become: a blob and its mode, or None for "deleted"."""

    blob_id: pygit2.Oid
    mode: FileMode


_UNCHANGED = FileStatus.CURRENT | FileStatus.IGNORED | FileStatus.WT_NEW


def modified_paths(repo: pygit2.Repository) -> list[str]:
    """Tracked paths whose work-tree or index copy differs from HEAD (untracked files ignored)."""
    status = repo.status(untracked_files="no")
    return sorted(path for path, flags in status.items() if flags & ~_UNCHANGED)


def checkout(repo: pygit2.Repository, refname: str, name: str) -> None:
    """Check out branch `name` (`refname`); KsiError naming the modified files if unclean.

    Call with the work-tree lock held."""
    dirty = modified_paths(repo)
    if dirty:
        shown = ", ".join(dirty[:10]) + (f" and {len(dirty) - 10} more" if len(dirty) > 10 else "")
        raise KsiError(f"cannot switch to {name}: modified files: {shown}")
    try:
        repo.checkout(refname)
    except pygit2.GitError as exc:
        raise KsiError(f"cannot switch to {name}: {exc}") from exc


def _inside(root: Path, full: Path) -> bool:
    """True when the folder holding `full` resolves inside `root` (no symlinked escape)."""
    real_root = os.path.realpath(root)
    real_parent = os.path.realpath(full.parent)
    return real_parent == real_root or real_parent.startswith(real_root + os.sep)


class _Other:
    """A work-tree entry that is not a regular file (folder, symlink, device)."""


_OTHER = _Other()


def _current(full: Path) -> pygit2.Oid | _Other | None:
    """The blob id of the file at `full`, None when absent, _OTHER when not a regular file."""
    try:
        st = full.lstat()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return _OTHER
    if not stat.S_ISREG(st.st_mode):
        return _OTHER
    return pygit2.hash(full.read_bytes())


def _write_atomically(full: Path, data: bytes, mode: FileMode) -> None:
    full.parent.mkdir(parents=True, exist_ok=True)
    perms = 0o777 if mode == FileMode.BLOB_EXECUTABLE else 0o666  # the umask applies
    tmp = full.with_name(f".{full.name}.ksi-{os.getpid()}-{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, perms)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, full)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove(root: Path, full: Path) -> None:
    full.unlink()
    parent = full.parent
    while parent != root:  # drop folders the deletion left empty, as git does
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


def target_of(commit: pygit2.Commit, path: str) -> Target | None:
    """What `path` is in `commit`: its blob and mode, or None when it is no file there."""
    obj = lookup(commit.tree, path)
    if not isinstance(obj, pygit2.Blob):
        return None
    return Target(obj.id, FileMode(obj.filemode))


def refresh_after_commit(
    repo: pygit2.Repository,
    root: Path,
    tip: pygit2.Commit | None,
    paths: Sequence[str],
    old: pygit2.Commit | None,
    new: pygit2.Oid,
) -> list[str]:
    """Refresh `paths` after commit `new` (on `old`) landed on the checked-out branch at `tip`.

    Normally `tip` is `new`. If other writers (a `git commit`, say) landed on top of it already,
    files go to the tip's version and any version between `old` and the tip counts as
    unmodified. If `new` is no longer on the tip's first-parent line, nothing is touched and all
    paths are reported. Call with the work-tree lock held.
    """
    chain: list[pygit2.Commit] = []
    commit = tip
    while commit is not None and len(chain) < REFRESH_WALK:
        if old is not None and commit.id == old.id:
            break
        chain.append(commit)
        if commit.id == new:
            break
        commit = commit.parents[0] if commit.parents else None
    if not chain or chain[-1].id != new:
        return sorted(paths)
    assert tip is not None
    baselines = {p: {blob_id(old, p)} | {blob_id(c, p) for c in chain} for p in paths}
    try:
        return refresh(repo, root, {p: target_of(tip, p) for p in paths}, baselines)
    except OSError:  # the index stayed locked by a git command
        return sorted(paths)


def refresh(
    repo: pygit2.Repository,
    root: Path,
    targets: Mapping[str, Target | None],
    baselines: Mapping[str, Set[pygit2.Oid | None]],
) -> list[str]:
    """Bring each path's work-tree copy to its target where the copy is unmodified.

    A copy is unmodified when its blob id is in the path's baseline set (None in the set means
    "absent counts as unmodified") and the index holds no other version the user staged.
    Refreshed paths are re-staged so `git status` stays clean. Returns the paths left alone
    (modified or staged by the user, or not a regular file). For those, the index entry is moved
    to the target when it still held a baseline version, so `git diff` shows exactly the user's
    edit against the new commit.
    """
    index = repo.index
    index.read(force=True)
    skipped: list[str] = []
    to_stage: list[str] = []
    to_unstage: list[str] = []
    index_only: dict[str, Target | None] = {}
    for path, target in targets.items():
        full = root / path
        base = baselines.get(path, set())
        want = target.blob_id if target is not None else None
        staged = index[path].id if path in index else None
        try:
            if not _inside(root, full):
                skipped.append(path)
                continue
            state = _current(full)
            if isinstance(state, _Other) or (staged not in base and staged != want):
                skipped.append(path)
                index_only[path] = target
            elif state == want:
                (to_stage if target is not None else to_unstage).append(path)
            elif state in base:
                if target is None:
                    _remove(root, full)
                    to_unstage.append(path)
                else:
                    blob = repo[target.blob_id]
                    assert isinstance(blob, pygit2.Blob)
                    _write_atomically(full, blob.data, target.mode)
                    to_stage.append(path)
            else:
                skipped.append(path)
                index_only[path] = target
        except OSError:
            skipped.append(path)
            index_only[path] = target
    _update_index(repo, to_stage, to_unstage, index_only, baselines)
    return sorted(skipped)


def _update_index(
    repo: pygit2.Repository,
    to_stage: list[str],
    to_unstage: list[str],
    index_only: Mapping[str, Target | None],
    baselines: Mapping[str, Set[pygit2.Oid | None]],
) -> None:
    if not (to_stage or to_unstage or index_only):
        return
    for attempt in range(INDEX_WRITE_TRIES):
        try:
            index = repo.index
            index.read(force=True)
            for path in to_stage:
                index.add(path)  # hashes the file and records its stat data
            for path in to_unstage:
                if path in index:
                    index.remove(path)
            for path, target in index_only.items():
                staged = index[path].id if path in index else None
                if staged not in baselines.get(path, set()):
                    continue  # the user staged something: leave it
                if target is None:
                    if path in index:
                        index.remove(path)
                else:
                    index.add(pygit2.IndexEntry(path, target.blob_id, target.mode))
            index.write()
            return
        except OSError:  # index.lock held by a git command: wait for it
            if attempt == INDEX_WRITE_TRIES - 1:
                raise
            time.sleep(0.025)
