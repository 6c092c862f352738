"""Sharing a registry through git remotes: `clone`, the remotes, `push`, `pull`, `sync`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import UsageError
from ksi_patterns.registry.registry import Registry, install_merge_driver
from ksi_patterns.remote import remotes
from ksi_patterns.remote import sync as syncing

if TYPE_CHECKING:
    from ksi_patterns.remote.remotes import PushResult, RemoteInfo
    from ksi_patterns.remote.sync import PullResult, SyncResult
    from ksi_patterns.remote.transfer_callbacks import Listener


@dataclass(frozen=True)
class Cloned:
    url: str  # passwords and tokens hidden
    registry: Registry

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "location": str(self.registry.location),
            "branch": self.registry.store.current_branch,
            "documents": len(self.registry.document_paths()),
        }


def folder_for(url: str) -> str:
    """What `git clone` would call the folder: the last path part without `.git`."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = tail.removesuffix(".git") or "registry"
    return name if name not in (".", "..") else "registry"


def clone(url: str, target: Path | None = None, *, listener: Listener | None = None) -> Cloned:
    """Clone a shared registry into `target` (default: named after the URL) and register ksi's
    merge driver there, so that a plain `git pull` merges YAML structurally too."""
    from ksi_patterns.remote.urls import redact

    store = remotes.clone(url, target or Path(folder_for(url)), listener)
    install_merge_driver(store)
    return Cloned(redact(url), Registry(store))


def add_remote(registry: Registry, name: str, url: str) -> RemoteInfo:
    return remotes.add_remote(registry.store, name, url)


def list_remotes(registry: Registry) -> list[RemoteInfo]:
    return remotes.list_remotes(registry.store)


def remove_remote(registry: Registry, name: str) -> None:
    remotes.remove_remote(registry.store, name)


def push(
    registry: Registry,
    remote: str | None = None,
    *,
    branch: str | None = None,
    all_branches: bool = False,
    tags: bool = False,
    listener: Listener | None = None,
) -> PushResult:
    """Push the checked-out branch (or `branch`, or every branch) to `remote`; never forced.
    A refusal is in the result (`ok`, `error()`), not raised."""
    store = registry.store
    if branch and all_branches:
        raise UsageError("{field} and all_branches exclude each other", field="branch")
    if all_branches:
        branches = store.branches()
    else:
        current = branch or store.current_branch
        if current is None:
            raise UsageError("HEAD is detached: name the {field} to push", field="branch")
        branches = [current]
    specs = remotes.branch_refspecs(store, branches, tags=tags)
    return remotes.push(store, specs, remote, listener)


def pull(
    registry: Registry,
    remote: str | None = None,
    *,
    listener: Listener | None = None,
    allow_unrelated_histories: bool = False,
) -> PullResult:
    """Fetch `remote`, then merge its copy of the checked-out branch into it: a fast-forward, or
    a merge in which every file changed on both sides goes through the structural engine.
    A history sharing no commit with ours is refused unless `allow_unrelated_histories`."""
    return syncing.pull(
        registry.store, remote, listener=listener, allow_unrelated=allow_unrelated_histories
    )


def sync(
    registry: Registry,
    remote: str | None = None,
    *,
    tags: bool = False,
    listener: Listener | None = None,
    allow_unrelated_histories: bool = False,
) -> SyncResult:
    """Pull, then push; again, a few times, when another push landed in between."""
    return syncing.sync(
        registry.store,
        remote,
        tags=tags,
        listener=listener,
        allow_unrelated=allow_unrelated_histories,
    )
