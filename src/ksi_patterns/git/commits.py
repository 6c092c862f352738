"""Compare-and-swap commits, for the store: one try builds the tree on the branch tip, then
writes the commit and moves the branch only if the tip is still the one built on; lost tries are
retried after a random wait, and queued behind other writers when they keep losing
(DESIGN.md 2). `Store.commit` describes the whole.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from ksi_patterns.errors import ConflictError, KsiError
from ksi_patterns.git.locks import file_lock, is_locked
from ksi_patterns.git.refs import Commit, commit_value, create_ref, reference_commit
from ksi_patterns.git.trees import Changes, build_tree

OPTIMISTIC_TRIES = 3  # lock-free tries of a commit before queueing on the commit lock
MAX_ATTEMPTS = 50  # tries in all against a moving tip before giving up
QUEUE_TIMEOUT = 10.0  # seconds to wait for the commit lock before going on without it

ChangeFn = Callable[[Commit | None], Changes]
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


@dataclass(frozen=True)
class CommitJob:
    """What one `Store.commit` call asked for: the same on every try."""

    branch: str
    refname: str
    changes: Changes | ChangeFn
    text: str  # the message, ending in a newline
    author: pygit2.Signature
    committer: pygit2.Signature
    extra: list[pygit2.Oid]  # parents besides the tip
    start: pygit2.Commit | None  # where a new branch starts; None: commit on the branch tip
    allow_empty: bool


def with_retries(
    job: CommitJob, attempt: Callable[[int], CommitResult | None], queue: Path, git_dir: Path
) -> CommitResult:
    """Call `attempt(try number)` until it lands (None: the tip moved), queueing on the lock
    file `queue` after lost races; ConflictError after MAX_ATTEMPTS tries."""
    # Optimistic, lock-free tries first. A writer that keeps losing, or finds others queued,
    # queues on a ksi-wide lock so that nobody starves. Queued writers still compare and
    # swap: the lock is never needed for correctness (git itself ignores it), so a writer
    # that cannot get it in QUEUE_TIMEOUT (a suspended holder?) carries on without it.
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
    lock = git_dir / f"{job.refname}.lock"
    hint = f" ({lock} exists: remove it if no git process is running)" if lock.exists() else ""
    raise ConflictError(f"could not commit on {job.branch}: it kept moving{hint}")


def _jitter(number: int) -> None:
    """Sleep a random while that grows with the number of lost races (at most 50 ms)."""
    time.sleep(random.uniform(0, min(0.05, 0.001 * 2**number)))


def build(
    repo: pygit2.Repository, job: CommitJob, tip: pygit2.Commit | None
) -> tuple[list[str], pygit2.Oid, list[pygit2.Oid]]:
    """The touched paths, the tree and the parents of `job`'s commit on `tip` (None: unborn).

    KsiError when the commit would change nothing and `job` does not allow that."""
    if callable(job.changes):
        wanted = job.changes(commit_value(tip) if tip is not None else None)
    else:
        wanted = job.changes
    tree_id = build_tree(repo, tip.tree if tip is not None else None, wanted)
    unchanged = tree_id == tip.tree_id if tip is not None else not repo[tree_id]
    if unchanged and not (job.allow_empty or job.extra):
        raise KsiError(f"nothing to commit on {job.branch}: the changes alter no file")
    parents = [tip.id, *job.extra] if tip is not None else job.extra
    return list(wanted), tree_id, parents


def publish(
    repo: pygit2.Repository,
    job: CommitJob,
    tip: pygit2.Commit | None,
    tree_id: pygit2.Oid,
    parents: list[pygit2.Oid],
    refs_lock: Path,
) -> pygit2.Oid | None:
    """Write the commit and move (or create) the branch to it; None when a racer won."""
    try:
        if tip is None or job.start is not None:
            oid = repo.create_commit(None, job.author, job.committer, job.text, tree_id, parents)
            create_ref(repo, refs_lock, job.refname, oid, f"commit: {job.text.splitlines()[0]}")
            return oid
        return repo.create_commit(
            job.refname, job.author, job.committer, job.text, tree_id, parents
        )
    except pygit2.AlreadyExistsError:
        if job.start is not None:
            raise ConflictError(f"branch {job.branch} already exists") from None
        return None  # another writer gave the unborn branch its first commit
    except (pygit2.GitError, OSError) as exc:
        if not _lost_race(repo, exc, job.refname, tip):
            raise KsiError(f"cannot commit on {job.branch}: {exc}") from exc
        return None


def _lost_race(
    repo: pygit2.Repository, exc: Exception, refname: str, tip: pygit2.Commit | None
) -> bool:
    if isinstance(exc, OSError):
        return True  # the branch's .lock is held by another writer
    text = str(exc)
    if "not the first parent" in text or "does not match" in text:
        return True
    now = reference_commit(repo, refname)
    return (now.id if now else None) != (tip.id if tip else None)
