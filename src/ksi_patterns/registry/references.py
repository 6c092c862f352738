"""What a reference names: NAME, NAME@X.Y.Z (a release), NAME@<branch or commit>.

A bare NAME is the current branch's tip; a fork that was not merged yet lives only on its
branch `fork/NAME`, and is read from there. This is the one reader of references that every
operation uses (show, diff, and the composition events alike).
"""

from __future__ import annotations

from dataclasses import dataclass

from ksi_patterns.documents.model import fork_branch, parse_reference
from ksi_patterns.errors import NotFoundError
from ksi_patterns.registry.registry import Registry


@dataclass(frozen=True)
class Located:
    """A document a reference names, as committed."""

    reference: str  # as given
    name: str
    path: str
    rev: str  # the revision read: HEAD, a tag, a branch (fork/NAME for a fork) or a commit
    at: str | None  # what followed '@' in the reference
    commit_id: str
    short_id: str
    data: bytes

    @property
    def source(self) -> str:
        """How errors name the file: its path, with what followed '@' when there was one."""
        return f"{self.path}@{self.at}" if self.at else self.path

    @property
    def on_fork_branch(self) -> bool:
        return self.at is None and self.rev != "HEAD"


def locate(registry: Registry, text: str) -> Located:
    """The document `text` names, read from the registry's history."""
    reference = parse_reference(text)  # refuses names that are no registry names (../x)
    store = registry.store
    rev = reference.git_ref
    if reference.is_version and rev not in store.tags():
        releases = [tag for tag in store.tags() if tag.startswith(reference.name + "@")]
        known = ", ".join(releases) or "none yet; see `ksi pattern release`"
        raise NotFoundError(f"no release {reference} (releases: {known})")
    if reference.at is None and not registry.has(reference.name, rev):
        branch = fork_branch(reference.name)
        if branch not in store.branches():
            raise NotFoundError(
                f"no pattern or profile named {reference.name!r} at HEAD, nor a branch {branch}"
            )
        rev = branch
    commit = store.resolve(rev)  # NotFoundError naming an unknown branch, tag or commit
    path = registry.find(reference.name, str(commit.id))
    return Located(
        text,
        reference.name,
        path,
        rev,
        reference.at,
        str(commit.id),
        commit.short_id,
        store.read(path, str(commit.id)),
    )


def record_branch(registry: Registry, name: str, branch: str | None) -> str | None:
    """Where a record about `name` (a decision, learning or run) goes: `branch` if given; else
    the checked-out branch, unless `name` lives only on its fork branch (a fork not merged yet),
    then there. None means the checked-out branch."""
    if branch is not None or registry.has(name, "HEAD"):
        return branch
    fork = fork_branch(name)
    return fork if fork in registry.store.branches() else None
