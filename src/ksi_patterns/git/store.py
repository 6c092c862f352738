"""The git repository: reads at a ref, compare-and-swap commits, branches, tags, ancestry and
merges, config, work-tree refresh.

This is the one module the rest of ksi uses to talk to git; its helpers are the other modules
of the package (see its docstring). It deals in posix paths, bytes and plain values (`Commit`,
`Person`, `FileChange`, `TreeMerge`): no pygit2 object leaves it but through
`transport_repository`, which is for remote/ only. It knows nothing of YAML. Every write is a
commit built in memory from the branch tip and published with a compare-and-swap on the branch
reference; a lost race is retried from the fresh tip (DESIGN.md 2).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import pygit2

from ksi_patterns.errors import ConflictError, KsiError, NotFoundError, UsageError
from ksi_patterns.git import commits, merges, trees, worktree
from ksi_patterns.git.commits import ChangeFn, CommitJob, CommitResult
from ksi_patterns.git.config import config_value
from ksi_patterns.git.history import CommitInfo, file_history
from ksi_patterns.git.identity import Person, git_signature
from ksi_patterns.git.locks import file_lock
from ksi_patterns.git.merges import TreeMerge
from ksi_patterns.git.refs import (
    Commit,
    Rev,
    check_refname,
    commit_value,
    create_ref,
    create_tag,
    move_ref,
    reference_commit,
    resolve_commit,
    rev_label,
)
from ksi_patterns.git.trees import Changes, FileChange, blob_id, check_path, lookup

__all__ = ["Store"]


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

    def transport_repository(self) -> pygit2.Repository:
        """The raw pygit2 repository, for transport only (remote/: remotes, fetch, push).

        Everything else goes through the methods below, which deal in plain values."""
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

    def resolve(self, ref: Rev) -> Commit:
        """The commit `ref` names; annotated tags peel to their commit."""
        return commit_value(resolve_commit(self._repo, ref))

    def _commit(self, ref: Rev) -> pygit2.Commit:
        return resolve_commit(self._repo, ref)

    def _entry(self, path: str, ref: Rev) -> pygit2.Object | None:
        return lookup(self._commit(ref).tree, check_path(path))

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
        return trees.list_blobs(self._commit(ref).tree, under)

    def list_files(self, ref: Rev = "HEAD", under: str = "") -> list[str]:
        """Every file path in `ref`, recursively, posix, sorted; `under` limits to a folder."""
        return [path for path, _ in self.list_blobs(ref, under)]

    def history(self, path: str, ref: Rev = "HEAD", limit: int | None = None) -> list[CommitInfo]:
        """Commits reachable from `ref` that changed `path`, newest first."""
        check_path(path)
        return file_history(self._repo, self._commit(ref), path, limit)

    def branches(self) -> list[str]:
        return sorted(self._repo.branches.local)

    def tags(self) -> list[str]:
        return sorted(
            r[len("refs/tags/") :] for r in self._repo.references if r.startswith("refs/tags/")
        )

    def branch_tip(self, branch: str) -> Commit | None:
        """The commit local branch `branch` points at; None when there is no such branch."""
        tip = self._branch_tip(branch)
        return commit_value(tip) if tip is not None else None

    def remote_branch_tip(self, tracking: str) -> Commit | None:
        """The commit of remote-tracking branch `tracking` (`origin/main`); None when absent."""
        tip = reference_commit(self._repo, f"refs/remotes/{tracking}")
        return commit_value(tip) if tip is not None else None

    def _branch_tip(self, branch: str) -> pygit2.Commit | None:
        return reference_commit(self._repo, f"refs/heads/{branch}")

    def read_blob(self, blob_id: str) -> bytes:
        """The content of the blob `blob_id`; NotFoundError when there is no such blob."""
        return trees.object_of(self._repo, blob_id, pygit2.Blob).read_raw()

    def folder_id(self, folder: str, ref: Rev = "HEAD") -> str | None:
        """The tree id of `folder` in `ref`; None when `ref` has no folder there."""
        obj = self._entry(folder, ref)
        return str(obj.id) if isinstance(obj, pygit2.Tree) else None

    def diff_trees(self, old_tree: str, new_tree: str) -> list[FileChange]:
        """What changed from tree `old_tree` to tree `new_tree` (ids), entry by entry."""
        old = trees.object_of(self._repo, old_tree, pygit2.Tree)
        return trees.diff_trees(old, trees.object_of(self._repo, new_tree, pygit2.Tree))

    # -- ancestry and merges ---------------------------------------------------------------

    def merge_base(self, a: Rev, b: Rev) -> str | None:
        """The id of the best common ancestor of `a` and `b`; None when they share no history."""
        return merges.merge_base(self._repo, self._commit(a), self._commit(b))

    def is_ancestor(self, ancestor: Rev, of: Rev) -> bool:
        """True when `ancestor` is `of` or one of its ancestors."""
        return merges.is_ancestor(self._repo, self._commit(ancestor), self._commit(of))

    def first_parents(self, ref: Rev, limit: int) -> list[Commit]:
        """`ref`'s first parent, its first parent, and so on: at most `limit`, nearest first."""
        return [commit_value(c) for c in merges.first_parents(self._commit(ref), limit)]

    def merge_commits(
        self, ours: Rev, theirs: Rev, recheck: Callable[[str], bool] = lambda path: False
    ) -> TreeMerge:
        """libgit2's merge of `theirs` into `ours`: what merged, what to resolve (see merges)."""
        return merges.merge_commits(self._repo, self._commit(ours), self._commit(theirs), recheck)

    # -- config and identity ---------------------------------------------------------------

    def config_value(self, key: str) -> str | None:
        """The repository's git config value of `key`; None when it is not set."""
        return config_value(self._repo.config, key)

    def set_config(self, key: str, value: str) -> None:
        """Set `key` in the repository's git config (`.git/config`)."""
        self._repo.config[key] = value

    def _identity(self, role: str) -> pygit2.Signature:
        return git_signature(self._repo.config, role)

    def signature(self) -> Person:
        """The author of new commits: GIT_AUTHOR_NAME/EMAIL, else user.name/email, else ksi."""
        author = self._identity("AUTHOR")
        return Person(author.name, author.email)

    # -- writing ---------------------------------------------------------------------------

    def commit(
        self,
        changes: Changes | ChangeFn,
        message: str,
        branch: str | None = None,
        *,
        author: Person | None = None,
        extra_parents: Sequence[Rev] = (),
        create_branch_from: Rev | None = None,
        allow_empty: bool = False,
    ) -> CommitResult:
        """Commit `changes` on `branch` (default: the checked-out one) with compare-and-swap.

        The tree is built in memory from the branch tip; if the tip moved before the branch was
        updated, the commit is rebuilt from the new tip after a random wait, up to
        commits.MAX_ATTEMPTS times, then ConflictError. A function `changes` is called with the
        tip on every try (so an append recomputes from the fresh content); it must only read.
        After commits.OPTIMISTIC_TRIES lost races, or when others are queued, the writer queues on
        `<git-dir>/ksi/commit.lock` so that nobody starves. An unborn branch gets a root commit.
        With `create_branch_from`, `branch` is created from that commit and must not exist
        (ConflictError if it does or if another writer wins). A commit that changes nothing
        raises KsiError unless `allow_empty` or `extra_parents`. When `branch` is checked out,
        the touched files are refreshed in the work tree (see CommitResult).
        """
        branch = self._commit_branch(branch, create_branch_from)
        refname = check_refname("branch", branch)
        start = self._commit(create_branch_from) if create_branch_from is not None else None
        if start is not None and self._branch_tip(branch) is not None:
            raise ConflictError(f"branch {branch} already exists")
        who = author or self.signature()
        job = CommitJob(
            branch,
            refname,
            changes,
            message if message.endswith("\n") else message + "\n",
            pygit2.Signature(who.name, who.email),
            self._identity("COMMITTER"),
            [self._commit(p).id for p in extra_parents],
            start,
            allow_empty,
        )
        queue = self.state_dir / "commit.lock"
        return commits.with_retries(job, partial(self._attempt, job), queue, self.git_dir)

    def _commit_branch(self, branch: str | None, create_branch_from: Rev | None) -> str:
        """The branch a commit goes to: `branch`, else the checked-out one."""
        if branch is not None:
            return branch
        if create_branch_from is not None:
            raise UsageError("a new branch needs a name")
        head = self._head_branch()
        if head is None:
            raise KsiError("HEAD is detached: name the branch to commit on")
        return head

    def _attempt(self, job: CommitJob, number: int) -> CommitResult | None:
        """One try of `job` on the current tip; None when another writer moved the branch."""
        tip = job.start if job.start is not None else self._branch_tip(job.branch)
        paths, tree_id, parents = commits.build(self._repo, job, tip)
        # Publishing and refreshing the work tree happen under one lock, so refreshes run in
        # commit order; building the commit (above) runs in parallel with other writers.
        with self._worktree_lock():
            refs_lock = self.state_dir / "refs.lock"
            oid = commits.publish(self._repo, job, tip, tree_id, parents, refs_lock)
            if oid is None:
                return None
            skipped = self._refresh_after_commit(job.branch, paths, tip, oid)
        parent = str(tip.id) if tip else None
        return CommitResult(str(oid), job.branch, parent, number, tuple(skipped))

    def create_branch(self, name: str, from_ref: Rev) -> None:
        """Create branch `name` at `from_ref`; ConflictError if it exists (or a racer won)."""
        refname = check_refname("branch", name)
        commit = self._commit(from_ref)
        try:
            log = f"branch: Created from {rev_label(from_ref)}"
            create_ref(self._repo, self.state_dir / "refs.lock", refname, commit.id, log)
        except pygit2.AlreadyExistsError:
            raise ConflictError(f"branch {name} already exists") from None

    def create_tag(self, name: str, target_ref: Rev, message: str) -> str:
        """Create the annotated tag `name` on `target_ref`'s commit; returns the tag object id."""
        check_refname("tag", name)
        commit = self._commit(target_ref)
        text = message if message.endswith("\n") else message + "\n"
        tagger = self._identity("COMMITTER")
        return create_tag(self._repo, self.state_dir / "refs.lock", name, commit, tagger, text)

    def move_branch(self, branch: str, old: Rev | None, new: Rev, message: str) -> bool:
        """Move `branch` from `old` (None: absent) to `new`; False if it is no longer at `old`."""
        old_id = self._commit(old).id if old is not None else None
        return move_ref(self._repo, f"refs/heads/{branch}", old_id, self._commit(new).id, message)

    # -- the work tree ---------------------------------------------------------------------

    def modified_paths(self) -> list[str]:
        """Tracked paths whose work-tree or index copy differs from HEAD (untracked ignored)."""
        return [] if self.is_bare else worktree.modified_paths(self._repo)

    def is_worktree_clean(self) -> bool:
        """True when no tracked file is modified or staged (untracked files do not count)."""
        return not self.modified_paths()

    def reload_index(self) -> None:
        """Re-read the index from disk, after files were put back in the work tree by hand."""
        self._repo.index.read(force=True)

    def checkout_branch(self, name: str) -> None:
        """Switch the work tree to branch `name`; KsiError naming the modified files if unclean."""
        if self.is_bare:
            raise UsageError(f"{self.git_dir} is a bare repository: it has no work tree")
        refname = check_refname("branch", name)
        if self._branch_tip(name) is None:
            raise NotFoundError(f"no branch named {name!r}")
        with self._worktree_lock():
            worktree.checkout(self._repo, refname, name)

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
        old = self._commit(old_commit) if old_commit is not None else None
        new = self._commit(new_commit)
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
