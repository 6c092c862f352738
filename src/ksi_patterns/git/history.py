"""The history of one file, for the store: the commits that changed it (`CommitInfo`), newest
first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pygit2
from pygit2.enums import SortMode


@dataclass(frozen=True)
class CommitInfo:
    """One commit as `history` lists it."""

    id: str
    short_id: str
    author_name: str
    author_email: str
    date: datetime  # author date, UTC
    message: str


def file_history(
    repo: pygit2.Repository, start: pygit2.Commit, path: str, limit: int | None = None
) -> list[CommitInfo]:
    """Commits reachable from `start` that changed the (checked) `path`, newest first."""

    def entry_id(commit: pygit2.Commit) -> pygit2.Oid | None:
        try:
            return commit.tree[path].id
        except KeyError:
            return None

    found: list[CommitInfo] = []
    for commit in repo.walk(start.id, SortMode.TOPOLOGICAL | SortMode.TIME):
        mine = entry_id(commit)
        parents = commit.parents
        changed = mine is not None if not parents else all(entry_id(p) != mine for p in parents)
        if changed:
            found.append(commit_info(commit))
            if limit is not None and len(found) >= limit:
                break
    return found


def commit_info(commit: pygit2.Commit) -> CommitInfo:
    author = commit.author
    return CommitInfo(
        id=str(commit.id),
        short_id=commit.short_id,
        author_name=author.name,
        author_email=author.email,
        date=datetime.fromtimestamp(author.time, UTC),
        message=commit.message,
    )
