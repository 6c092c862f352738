"""References for the store: the revisions ksi accepts (`Rev`), the plain `Commit` value the
store hands out, resolving a revision to its commit, checking branch and tag names, and creating
and moving references."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import ObjectType

from ksi_patterns.errors import ConflictError, NotFoundError, UsageError
from ksi_patterns.git.locks import file_lock


@dataclass(frozen=True)
class Commit:
    """A commit as plain values; the store returns these and accepts them as revisions."""

    id: str
    short_id: str  # the shortest unique prefix of `id` (7 characters at least)
    tree_id: str
    parent_ids: tuple[str, ...]  # first parent first; empty for a root commit


Rev = str | Commit
"""A branch, tag, commit id (full or short), `HEAD`, any git revision, or a Commit."""


def commit_value(commit: pygit2.Commit) -> Commit:
    """The plain value of a pygit2 commit."""
    parents = tuple(str(parent) for parent in commit.parent_ids)
    return Commit(str(commit.id), commit.short_id, str(commit.tree_id), parents)


def check_refname(kind: str, name: str) -> str:
    """The full reference name of branch (`kind` "branch") or tag `name`; UsageError if invalid."""
    full = f"refs/{'heads' if kind == 'branch' else 'tags'}/{name}"
    if not name or "\0" in name or not pygit2.reference_is_valid_name(full):
        raise UsageError(f"invalid {kind} name {name!r}")
    return full


def rev_label(ref: Rev) -> str:
    """How `ref` reads in a message: as given, or a commit's short id."""
    return ref if isinstance(ref, str) else ref.short_id


def reference_commit(repo: pygit2.Repository, refname: str) -> pygit2.Commit | None:
    """The commit the full reference `refname` points at, or None when there is no such ref."""
    try:
        return repo.lookup_reference(refname).peel(pygit2.Commit)
    except KeyError:
        return None


def create_ref(
    repo: pygit2.Repository, refs_lock: Path, refname: str, oid: pygit2.Oid, log: str
) -> None:
    """Create `refname` at `oid`; pygit2.AlreadyExistsError when it exists."""
    # libgit2 checks "force=False" before taking the ref's lock, so two creators can both
    # pass; a ksi-wide lock makes the check-and-create atomic among ksi processes.
    with file_lock(refs_lock):
        repo.create_reference_direct(refname, oid, False, message=log)


def create_tag(
    repo: pygit2.Repository,
    refs_lock: Path,
    name: str,
    commit: pygit2.Commit,
    tagger: pygit2.Signature,
    text: str,
) -> str:
    """Create the annotated tag `name` on `commit`; its id. ConflictError when it exists."""
    try:
        with file_lock(refs_lock):
            oid = repo.create_tag(name, commit.id, ObjectType.COMMIT, tagger, text)
    except pygit2.AlreadyExistsError:
        raise ConflictError(f"tag {name} already exists") from None
    return str(oid)


def move_ref(
    repo: pygit2.Repository, refname: str, old: pygit2.Oid | None, new: pygit2.Oid, message: str
) -> bool:
    """Point `refname` at `new` if it points at `old` (None: if it does not exist); False when
    it does not, or when its lock is held."""
    try:
        if old is None:
            repo.create_reference_direct(refname, new, False, message=message)
            return True
        ref = repo.lookup_reference(refname)
        if ref.target != old:
            return False
        ref.set_target(new, message)  # libgit2 checks the old value: a real CAS
    except (pygit2.AlreadyExistsError, pygit2.GitError, OSError):
        return False
    return True


def resolve_commit(repo: pygit2.Repository, ref: Rev) -> pygit2.Commit:
    """The commit `ref` names in `repo`; annotated tags peel to their commit.

    A name is looked up as a branch, then a tag, then a remote-tracking branch, before git's
    revision syntax is tried."""
    if isinstance(ref, Commit):
        return _by_id(repo, ref.id)
    missing = NotFoundError(f"no branch, tag or commit named {ref!r}")
    if not ref or "\0" in ref:
        raise missing
    if ref == "HEAD":
        if repo.head_is_unborn:
            raise NotFoundError("HEAD has no commit yet (empty repository)")
        return repo.head.peel(pygit2.Commit)
    for name in (f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/remotes/{ref}", ref):
        if not name.startswith("refs/"):
            continue
        try:
            return repo.lookup_reference(name).peel(pygit2.Commit)
        except (KeyError, ValueError):
            continue
        except pygit2.GitError:  # a tag on a tree or blob
            raise NotFoundError(f"{ref!r} does not name a commit") from None
    try:
        obj = repo.revparse_single(ref)
    except pygit2.AmbiguousError:
        raise NotFoundError(f"{ref!r} is ambiguous: give more of the commit id") from None
    except (KeyError, ValueError, pygit2.GitError):
        raise missing from None
    try:
        return obj.peel(pygit2.Commit)
    except (ValueError, pygit2.GitError):
        raise NotFoundError(f"{ref!r} does not name a commit") from None


def _by_id(repo: pygit2.Repository, commit_id: str) -> pygit2.Commit:
    """The commit with the full id `commit_id` (a Commit value's); NotFoundError if absent."""
    obj = repo.get(commit_id)
    if not isinstance(obj, pygit2.Commit):
        raise NotFoundError(f"no commit {commit_id[:12]} in this repository")
    return obj
