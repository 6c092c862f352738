"""The git repository: reads at a ref, compare-and-swap commits, branches, tags, work-tree refresh.

This is the one module the rest of ksi uses to talk to git; its helpers are `refs` (naming and
resolving commits), `history` (a file's commits), `trees` (building trees in memory), `worktree`
(refreshing files), `git_identity` (who commits) and `locks`. It deals in posix paths and bytes
and knows nothing of YAML. Every write is a commit built in memory from the branch tip and
published with a compare-and-swap on the branch reference; a lost race is retried from the fresh
tip (DESIGN.md 2).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pygit2
from pygit2.enums import FileMode, ObjectType

from ksi_patterns.errors import ConflictError, KsiError, NotFoundError, UsageError
from ksi_patterns.git import worktree
from ksi_patterns.git.history import CommitInfo, file_history
from ksi_patterns.git.identity import git_signature
from ksi_patterns.git.locks import file_lock, is_locked
from ksi_patterns.git.refs import Rev, check_refname, resolve_commit, rev_label
from ksi_patterns.git.trees import Changes, blob_id, build_tree, check_path, lookup

__all__ = ["ChangeFn", "Changes", "CommitInfo", "CommitResult", "Rev", "Store", "check_path"]

OPTIMISTIC_TRIES = 3  # lock-free tries of a commit before queueing on the commit lock
MAX_ATTEMPTS = 50  # tries in all against a moving tip before giving up
QUEUE_TIMEOUT = 10.0  # seconds to wait for the commit lock before going on without it

ChangeFn = Callable[[pygit2.Commit | None], Changes]
"""Computes the changes from the branch tip (None when unborn); called again on every retry."""


@dataclass(frozen=True)
class CommitResult:
    """The outcome of `Store.commit`.

    When the branch is checked out, the touched files are refreshed in the work tree;
    `skipped_worktree_paths` lists those left alone because the user had modified or staged
    them (or they are not regular files there). Callers should report them: the commit holds the
    new content, the user's copy differs from it.
    """

    commit_id: str
    branch: str
    parent_id: str | None  # the tip the commit was built on; None for a root commit
    attempts: int = 1  # 1 when no race was lost
    skipped_worktree_paths: tuple[str, ...] = field(default=())


class Store:
    """A git repository (work tree or bare) seen as paths and bytes at refs."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self._repo = repo

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open the repository holding `path` (a folder in a work tree, or a bare repository)."""
        where = Path(path)
        if not where.exists():
            raise NotFoundError(f"no such folder: {where}")
        found = pygit2.discover_repository(str(where))
        if found is None:
            raise NotFoundError(f"not a git repository (or inside one): {where}")
        return cls(pygit2.Repository(found))

    @classmethod
    def init(cls, path: str | os.PathLike[str], bare: bool = False) -> Store:
        """Create a repository at `path` whose first branch is `main`."""
        return cls(pygit2.init_repository(str(path), bare, initial_head="main"))

    @property
    def repo(self) -> pygit2.Repository:
        """The pygit2 repository, for modules that need more (merging trees). Prefer methods."""
        return self._repo

    @property
    def root(self) -> Path | None:
        """The work-tree folder, or None for a bare repository."""
        workdir = self._repo.workdir
        return Path(workdir) if workdir else None

    @property
    def git_dir(self) -> Path:
        return Path(self._repo.path)

    @property
    def is_bare(self) -> bool:
        return bool(self._repo.is_bare)

    @property
    def state_dir(self) -> Path:
        """`<git_dir>/ksi/`, for runtime state that is not history; created on first use."""
        path = self.git_dir / "ksi"
        path.mkdir(exist_ok=True)
        return path

    @property
    def current_branch(self) -> str | None:
        """The checked-out branch's short name; None when HEAD is detached or unborn."""
        if self._repo.head_is_detached or self._repo.head_is_unborn:
            return None
        return self._head_branch()

    def _head_branch(self) -> str | None:
        """The branch HEAD names, even when it has no commit yet; None when detached."""
        target = self._repo.lookup_reference("HEAD").target
        if isinstance(target, str) and target.startswith("refs/heads/"):
            return target[len("refs/heads/") :]
        return None

    # -- reading ---------------------------------------------------------------------------

    def resolve(self, ref: Rev) -> pygit2.Commit:
        """The commit `ref` names; annotated tags peel to their commit."""
        return resolve_commit(self._repo, ref)

    def _entry(self, path: str, ref: Rev) -> pygit2.Object | None:
        return lookup(self.resolve(ref).tree, check_path(path))

    def read(self, path: str, ref: Rev = "HEAD") -> bytes:
        """The content of the file at `path` in `ref`."""
        obj = self._entry(path, ref)
        if not isinstance(obj, pygit2.Blob):
            raise NotFoundError(f"no file {path} at {rev_label(ref)}")
        return obj.data

    def read_blob_id(self, path: str, ref: Rev = "HEAD") -> str | None:
        """The blob id of the file at `path` in `ref`, or None when there is no such file."""
        obj = self._entry(path, ref)
        return str(obj.id) if isinstance(obj, pygit2.Blob) else None

    def exists(self, path: str, ref: Rev = "HEAD") -> bool:
        """True when `ref` holds a file (not a folder) at `path`."""
        return isinstance(self._entry(path, ref), pygit2.Blob)

    def list_blobs(self, ref: Rev = "HEAD", under: str = "") -> list[tuple[str, str]]:
        """(path, blob id) of every file in `ref`, sorted; `under` limits to a folder."""
        tree = self.resolve(ref).tree
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

    def list_files(self, ref: Rev = "HEAD", under: str = "") -> list[str]:
        """Every file path in `ref`, recursively, posix, sorted; `under` limits to a folder."""
        return [path for path, _ in self.list_blobs(ref, under)]

    def history(self, path: str, ref: Rev = "HEAD", limit: int | None = None) -> list[CommitInfo]:
        """Commits reachable from `ref` that changed `path`, newest first."""
        check_path(path)
        return file_history(self._repo, self.resolve(ref), path, limit)

    def branches(self) -> list[str]:
        return sorted(self._repo.branches.local)

    def tags(self) -> list[str]:
        return sorted(
            r[len("refs/tags/") :] for r in self._repo.references if r.startswith("refs/tags/")
        )

    def _branch_tip(self, branch: str) -> pygit2.Commit | None:
        try:
            return self._repo.lookup_reference(f"refs/heads/{branch}").peel(pygit2.Commit)
        except KeyError:
            return None

    # -- identity --------------------------------------------------------------------------

    def _identity(self, role: str) -> pygit2.Signature:
        return git_signature(self._repo.config, role)

    def signature(self) -> pygit2.Signature:
        """The author of new commits: GIT_AUTHOR_NAME/EMAIL, else user.name/email, else ksi."""
        return self._identity("AUTHOR")

    # -- writing ---------------------------------------------------------------------------

    def commit(
        self,
        changes: Changes | ChangeFn,
        message: str,
        branch: str | None = None,
        *,
        author: pygit2.Signature | None = None,
        extra_parents: Sequence[Rev] = (),
        create_branch_from: Rev | None = None,
        allow_empty: bool = False,
    ) -> CommitResult:
        """Commit `changes` on `branch` (default: the checked-out one) with compare-and-swap.

        The tree is built in memory from the branch tip; if the tip moved before the branch was
        updated, the commit is rebuilt from the new tip after a random wait, up to MAX_ATTEMPTS
        times, then ConflictError. A function `changes` is called with the tip on every try
        (so an append recomputes from the fresh content); it must only read. After
        OPTIMISTIC_TRIES lost races, or when others are queued, the writer queues on
        `<git-dir>/ksi/commit.lock` so that nobody starves. An unborn branch gets a root commit.
        With `create_branch_from`, `branch` is created from that commit and must not exist
        (ConflictError if it does or if another writer wins). A commit that changes nothing
        raises KsiError unless `allow_empty` or `extra_parents`. When `branch` is checked out,
        the touched files are refreshed in the work tree (see CommitResult).
        """
        if branch is None:
            if create_branch_from is not None:
                raise UsageError("a new branch needs a name")
            branch = self._head_branch()
            if branch is None:
                raise KsiError("HEAD is detached: name the branch to commit on")
        refname = check_refname("branch", branch)
        creating = create_branch_from is not None
        start = self.resolve(create_branch_from) if create_branch_from is not None else None
        if creating and self._branch_tip(branch) is not None:
            raise ConflictError(f"branch {branch} already exists")
        extra = [self.resolve(p).id for p in extra_parents]
        author = author or self.signature()
        committer = self._identity("COMMITTER")
        text = message if message.endswith("\n") else message + "\n"

        def attempt(number: int) -> CommitResult | None:
            tip = start if creating else self._branch_tip(branch)
            wanted = changes(tip) if callable(changes) else changes
            tree_id = build_tree(self._repo, tip.tree if tip is not None else None, wanted)
            unchanged = tree_id == tip.tree_id if tip is not None else not self._repo[tree_id]
            if unchanged and not (allow_empty or extra):
                raise KsiError(f"nothing to commit on {branch}: the changes alter no file")
            parents = [tip.id, *extra] if tip is not None else extra
            # Publishing and refreshing the work tree happen under one lock, so refreshes run in
            # commit order; building the commit (above) runs in parallel with other writers.
            with self._worktree_lock():
                try:
                    if tip is None or creating:
                        oid = self._repo.create_commit(
                            None, author, committer, text, tree_id, parents
                        )
                        self._create_ref(refname, oid, f"commit: {text.splitlines()[0]}")
                    else:
                        oid = self._repo.create_commit(
                            refname, author, committer, text, tree_id, parents
                        )
                except pygit2.AlreadyExistsError:
                    if creating:
                        raise ConflictError(f"branch {branch} already exists") from None
                    return None  # another writer gave the unborn branch its first commit
                except (pygit2.GitError, OSError) as exc:
                    if not self._lost_race(exc, branch, tip):
                        raise KsiError(f"cannot commit on {branch}: {exc}") from exc
                    return None
                skipped = self._refresh_after_commit(branch, list(wanted), tip, oid)
            parent = str(tip.id) if tip else None
            return CommitResult(str(oid), branch, parent, number, tuple(skipped))

        # Optimistic, lock-free tries first. A writer that keeps losing, or finds others queued,
        # queues on a ksi-wide lock so that nobody starves. Queued writers still compare and
        # swap: the lock is never needed for correctness (git itself ignores it), so a writer
        # that cannot get it in QUEUE_TIMEOUT (a suspended holder?) carries on without it.
        queue = self.state_dir / "commit.lock"
        for number in range(1, OPTIMISTIC_TRIES + 1):
            if is_locked(queue):
                break
            if (result := attempt(number)) is not None:
                return result
            _jitter(number)
        with file_lock(queue, timeout=QUEUE_TIMEOUT) as queued:
            for number in range(OPTIMISTIC_TRIES + 1, MAX_ATTEMPTS + 1):
                if (result := attempt(number)) is not None:
                    return result
                _jitter(1 if queued else number)
        lock = self.git_dir / f"{refname}.lock"
        hint = f" ({lock} exists: remove it if no git process is running)" if lock.exists() else ""
        raise ConflictError(f"could not commit on {branch}: it kept moving{hint}")

    def _lost_race(self, exc: Exception, branch: str, tip: pygit2.Commit | None) -> bool:
        if isinstance(exc, OSError):
            return True  # the branch's .lock is held by another writer
        text = str(exc)
        if "not the first parent" in text or "does not match" in text:
            return True
        now = self._branch_tip(branch)
        return (now.id if now else None) != (tip.id if tip else None)

    def _create_ref(self, refname: str, oid: pygit2.Oid, log: str) -> None:
        # libgit2 checks "force=False" before taking the ref's lock, so two creators can both
        # pass; a ksi-wide lock makes the check-and-create atomic among ksi processes.
        with file_lock(self.state_dir / "refs.lock"):
            self._repo.create_reference_direct(refname, oid, False, message=log)

    def create_branch(self, name: str, from_ref: Rev) -> None:
        """Create branch `name` at `from_ref`; ConflictError if it exists (or a racer won)."""
        refname = check_refname("branch", name)
        commit = self.resolve(from_ref)
        try:
            self._create_ref(refname, commit.id, f"branch: Created from {rev_label(from_ref)}")
        except pygit2.AlreadyExistsError:
            raise ConflictError(f"branch {name} already exists") from None

    def create_tag(self, name: str, target_ref: Rev, message: str) -> str:
        """Create the annotated tag `name` on `target_ref`'s commit; returns the tag object id."""
        check_refname("tag", name)
        commit = self.resolve(target_ref)
        text = message if message.endswith("\n") else message + "\n"
        try:
            with file_lock(self.state_dir / "refs.lock"):
                oid = self._repo.create_tag(
                    name, commit.id, ObjectType.COMMIT, self._identity("COMMITTER"), text
                )
        except pygit2.AlreadyExistsError:
            raise ConflictError(f"tag {name} already exists") from None
        return str(oid)

    # -- the work tree ---------------------------------------------------------------------

    def is_worktree_clean(self) -> bool:
        """True when no tracked file is modified or staged (untracked files do not count)."""
        return self.is_bare or not worktree.modified_paths(self._repo)

    def checkout_branch(self, name: str) -> None:
        """Switch the work tree to branch `name`; KsiError naming the modified files if unclean."""
        if self.is_bare:
            raise UsageError(f"{self.git_dir} is a bare repository: it has no work tree")
        refname = check_refname("branch", name)
        if self._branch_tip(name) is None:
            raise NotFoundError(f"no branch named {name!r}")
        with self._worktree_lock():
            dirty = worktree.modified_paths(self._repo)
            if dirty:
                shown = ", ".join(dirty[:10]) + (
                    f" and {len(dirty) - 10} more" if len(dirty) > 10 else ""
                )
                raise KsiError(f"cannot switch to {name}: modified files: {shown}")
            try:
                self._repo.checkout(refname)
            except pygit2.GitError as exc:
                raise KsiError(f"cannot switch to {name}: {exc}") from exc

    def refresh_worktree(
        self, paths: Sequence[str], old_commit: Rev | None, new_commit: Rev
    ) -> list[str]:
        """Move `paths` in the work tree from `old_commit`'s version to `new_commit`'s.

        A file is rewritten (atomically) and re-staged only when its content equals the old
        committed version, or it is absent and absent in `old_commit`; returns the paths left
        alone because the user modified them. `commit` does this by itself.
        """
        root = self.root
        if root is None:
            return []
        old = self.resolve(old_commit) if old_commit is not None else None
        new = self.resolve(new_commit)
        checked = [check_path(p) for p in paths]
        with self._worktree_lock():
            return worktree.refresh(
                self._repo,
                root,
                {p: worktree.target_of(new, p) for p in checked},
                {p: {blob_id(old, p)} for p in checked},
            )

    def _worktree_lock(self) -> contextlib.AbstractContextManager[bool]:
        if self.is_bare:
            return contextlib.nullcontext(True)
        return file_lock(self.state_dir / "worktree.lock")

    def _refresh_after_commit(
        self, branch: str, paths: list[str], old: pygit2.Commit | None, new: pygit2.Oid
    ) -> list[str]:
        """Refresh the touched files if `branch` is checked out; returns the paths left alone."""
        root = self.root
        if root is None or not paths or self._head_branch() != branch:
            return []
        tip = self._branch_tip(branch)
        return worktree.refresh_after_commit(self._repo, root, tip, paths, old, new)


def _jitter(number: int) -> None:
    """Sleep a random while that grows with the number of lost races (at most 50 ms)."""
    time.sleep(random.uniform(0, min(0.05, 0.001 * 2**number)))
