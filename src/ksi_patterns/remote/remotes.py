"""Remotes of a registry: naming them, cloning, fetching and pushing, and what each push or
fetch did.

Every transfer goes through pygit2 with one `transfer_callbacks.Callbacks` object per operation
(progress, credentials, host keys, ref updates), within the time limit of timeouts.py. A server
(or its hook) that refuses a ref does not make pygit2 raise: the refusal arrives only in
`push_update_reference`, so every push is judged by what that callback saw. A push to a local
path goes through `git push` instead (git_push.py), so that the remote's hooks run. URLs are
redacted wherever they are shown.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pygit2

from ksi_patterns.documents.model import CONFIG_FILE
from ksi_patterns.errors import EXIT_FOUND, KsiError, NotFoundError, UsageError
from ksi_patterns.git.store import Store
from ksi_patterns.remote.git_push import is_local, push_local
from ksi_patterns.remote.timeouts import apply_timeout, timed_out_hint, transfer_timeout
from ksi_patterns.remote.transfer_callbacks import (
    Callbacks,
    Listener,
    RefUpdate,
    RemoteError,
)
from ksi_patterns.remote.urls import redact, scrub

DEFAULT_REMOTE = "origin"
# A push refused because the remote moved on (another push landed first): pull, then push again.
_REMOTE_MOVED = re.compile(
    r"non-fast-?forward|fetch first|not present locally|failed to update ref|failed to lock|"
    r"cannot lock ref|stale info|incorrect old value",
    re.IGNORECASE,
)


class PushRejectedError(KsiError):
    """The remote refused some of the refs pushed to it."""

    exit_code = EXIT_FOUND


@dataclass(frozen=True)
class Rejection:
    ref: str
    message: str  # the server's (or libgit2's) reason
    remote_moved: bool  # another push landed first: pull, then push again
    server_said: str = ""  # what the server's hooks printed

    def explain(self, remote: str) -> str:
        if self.remote_moved:
            return (
                f"{self.ref}: rejected ({self.message}): the remote has commits you do not have; "
                f"pull first (`ksi registry pull {remote}`, or `ksi registry sync {remote}`)"
            )
        if "checked out" in self.message:
            return (
                f"{self.ref}: rejected ({self.message}): the remote is a repository with a work "
                "tree; push to a bare one (`git init --bare`)"
            )
        said = f"; the server's hook said: {self.server_said}" if self.server_said else ""
        return f"{self.ref}: rejected by the remote ({self.message}){said}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "message": self.message,
            "remote_moved": self.remote_moved,
            "server_said": self.server_said,
        }


@dataclass
class PushResult:
    remote: str
    url: str  # redacted
    updates: list[RefUpdate] = field(default_factory=list)  # what the remote accepted
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def remote_moved(self) -> bool:
        """Every rejection is of the kind a pull fixes."""
        return bool(self.rejected) and all(r.remote_moved for r in self.rejected)

    def error(self) -> PushRejectedError:
        lines = "; ".join(r.explain(self.remote) for r in self.rejected)
        return PushRejectedError(f"push to {self.remote} ({self.url}) rejected: {lines}")

    def to_json(self) -> dict[str, Any]:
        return {
            "remote": self.remote,
            "url": self.url,
            "pushed": [u.to_json() for u in self.updates],
            "rejected": [r.to_json() for r in self.rejected],
        }


@dataclass
class FetchResult:
    remote: str
    url: str  # redacted
    updates: list[RefUpdate] = field(default_factory=list)
    received_objects: int = 0
    received_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "remote": self.remote,
            "url": self.url,
            "updated": [u.to_json() for u in self.updates],
            "received_objects": self.received_objects,
            "received_bytes": self.received_bytes,
        }


@dataclass(frozen=True)
class RemoteInfo:
    name: str
    url: str  # redacted
    push_url: str | None  # redacted; None: same as url

    def to_json(self) -> dict[str, str | None]:
        return {"name": self.name, "url": self.url, "push_url": self.push_url}


# ---------------------------------------------------------------------------------------------
# Naming remotes


def check_remote_name(name: str) -> str:
    if (
        not name
        or name.startswith("-")
        or "\0" in name
        or not pygit2.reference_is_valid_name(f"refs/remotes/{name}/x")
    ):
        raise UsageError(f"invalid remote name {name!r}")
    return name


def _remotes(store: Store) -> pygit2.remotes.RemoteCollection:
    """The repository's remotes: pygit2's own objects, which transfers need."""
    return store.transport_repository().remotes


def _names(store: Store) -> list[str]:
    return sorted(name for name in _remotes(store).names() if name)


def list_remotes(store: Store) -> list[RemoteInfo]:
    found = []
    for name in _names(store):
        remote = _remotes(store)[name]
        push_url = remote.push_url
        found.append(
            RemoteInfo(
                name,
                redact(remote.url or ""),
                redact(push_url) if push_url and push_url != remote.url else None,
            )
        )
    return found


def add_remote(store: Store, name: str, url: str) -> RemoteInfo:
    check_remote_name(name)
    if not url.strip() or "\0" in url or url.startswith("-"):
        raise UsageError(f"invalid remote URL {redact(url)!r}")
    if name in _names(store):
        raise UsageError(f"a remote named {name!r} exists already: remove it first")
    try:
        _remotes(store).create(name, url)
    except (pygit2.GitError, ValueError) as exc:
        raise UsageError(f"cannot add remote {name!r}: {scrub(str(exc))}") from None
    return RemoteInfo(name, redact(url), None)


def remove_remote(store: Store, name: str) -> None:
    if name not in _names(store):
        raise NotFoundError(f"no remote named {name!r}")
    _remotes(store).delete(name)


def pick_remote(store: Store, name: str | None = None) -> pygit2.Remote:
    """The remote called `name`; by default `origin`, or the only remote there is."""
    names = _names(store)
    if name is not None:
        if name not in names:
            known = f" (remotes: {', '.join(names)})" if names else ""
            raise NotFoundError(f"no remote named {name!r}{known}")
        return _remotes(store)[name]
    if DEFAULT_REMOTE in names:
        return _remotes(store)[DEFAULT_REMOTE]
    if len(names) == 1:
        return _remotes(store)[names[0]]
    if not names:
        raise UsageError(
            "this registry has no remote: add one with `ksi registry remote add origin URL`"
        )
    raise UsageError(f"there are several remotes ({', '.join(names)}): name one")


def _proxy(url: str) -> Literal[True] | None:
    """Proxy auto-detection (git config, environment) for http(s); nothing else needs one."""
    return True if url.lower().startswith(("http://", "https://")) else None


def _failure(action: str, url: str, exc: Exception) -> RemoteError:
    said = timed_out_hint(scrub(str(exc)).strip(), transfer_timeout())
    return RemoteError(f"cannot {action} {redact(url)}: {said}")


# ---------------------------------------------------------------------------------------------
# Transfers


def fetch(store: Store, name: str | None = None, listener: Listener | None = None) -> FetchResult:
    """Fetch the remote's branches (and the tags they carry) into refs/remotes/NAME/."""
    remote = pick_remote(store, name)
    url = remote.url or ""
    callbacks = Callbacks(url, listener)
    apply_timeout()
    try:
        stats = remote.fetch(
            callbacks=callbacks, proxy=_proxy(url), message=f"ksi fetch {remote.name}"
        )
    except pygit2.GitError as exc:
        raise _failure("fetch from", url, exc) from None
    return FetchResult(
        str(remote.name),
        redact(url),
        callbacks.tips,
        int(stats.received_objects),
        int(stats.received_bytes),
    )


def branch_refspecs(store: Store, branches: list[str], *, tags: bool = False) -> list[str]:
    """Push refspecs (never forced) for `branches` and, with `tags`, every tag."""
    specs = []
    for branch in branches:
        if store.branch_tip(branch) is None:
            raise NotFoundError(f"no branch named {branch!r}")
        specs.append(f"refs/heads/{branch}:refs/heads/{branch}")
    if tags:
        specs += [f"refs/tags/{tag}:refs/tags/{tag}" for tag in store.tags()]
    return specs


def push(
    store: Store,
    specs: list[str],
    name: str | None = None,
    listener: Listener | None = None,
) -> PushResult:
    """Push `specs`; the result lists what the remote took and what it refused (and why)."""
    remote = pick_remote(store, name)
    url = remote.push_url or remote.url or ""
    result = PushResult(str(remote.name), redact(url))
    if not specs:
        return result
    seconds = apply_timeout()
    if is_local(url):  # so that the remote's hooks run (libgit2 would write its refs directly)
        local = push_local(store.git_dir, str(remote.name), url, specs, seconds)
        result.updates = local.updates
        for ref, why in local.refused.items():
            moved = bool(_REMOTE_MOVED.search(why))
            result.rejected.append(Rejection(ref, why, moved, local.server_said))
        if result.ok:
            _set_upstreams(store, str(remote.name), specs)
        return result
    callbacks = Callbacks(url, listener)
    try:
        remote.push(specs, callbacks=callbacks, proxy=_proxy(url))
    except pygit2.GitError as exc:
        message = scrub(str(exc)).strip()
        if not _REMOTE_MOVED.search(message):
            raise _failure("push to", url, exc) from None
        # libgit2 refuses a non-fast-forward itself, before sending anything.
        refs = ", ".join(spec.rpartition(":")[2] for spec in specs)
        result.rejected.append(Rejection(refs, "non-fast-forward", True))
        return result
    said = callbacks.server_said
    for ref, message in callbacks.refused.items():
        clean = scrub(message)
        result.rejected.append(Rejection(ref, clean, bool(_REMOTE_MOVED.search(clean)), said))
    for ref in callbacks.answered:
        update = callbacks.offered.get(ref)
        if update is not None and update.old != update.new:
            result.updates.append(update)
    if result.ok:
        _set_upstreams(store, str(remote.name), specs)
    return result


def _set_upstreams(store: Store, remote: str, specs: list[str]) -> None:
    """Like `git push -u`, for branches that have no upstream yet (so plain `git pull` works)."""
    for spec in specs:
        source, _, target = spec.partition(":")
        if not source.startswith("refs/heads/") or target != source:
            continue
        branch = source[len("refs/heads/") :]
        if store.config_value(f"branch.{branch}.remote") is not None:
            continue
        store.set_config(f"branch.{branch}.remote", remote)
        store.set_config(f"branch.{branch}.merge", source)


def clone(url: str, target: Path, listener: Listener | None = None) -> Store:
    """Clone the registry at `url` into `target` (new or empty) and check it is a registry.

    When the remote's HEAD names no branch (a `git init --bare` remote that was pushed `main`),
    the clone checks out `main`, else `master`, else the first branch. On any failure, what the
    clone wrote is removed.
    """
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} exists and is not an empty folder")
    created = not target.exists()
    callbacks = Callbacks(url, listener)
    apply_timeout()
    try:
        try:
            repo = pygit2.clone_repository(url, str(target), callbacks=callbacks, proxy=_proxy(url))
        except pygit2.GitError as exc:
            raise _failure("clone", url, exc) from None
        store = Store(repo)
        if repo.head_is_unborn:
            _check_out_a_branch(repo, url)
        try:
            is_registry = store.exists(CONFIG_FILE)
        except KsiError:
            is_registry = False
        if not is_registry:
            raise NotFoundError(
                f"{redact(url)} is not a ksi registry: no {CONFIG_FILE} on branch "
                f"{store.current_branch}"
            )
        return store
    except BaseException:
        _remove_clone(target, created)
        raise


def _check_out_a_branch(repo: pygit2.Repository, url: str) -> None:
    prefix = f"refs/remotes/{DEFAULT_REMOTE}/"
    names = sorted(r[len(prefix) :] for r in repo.references if r.startswith(prefix))
    names = [n for n in names if n != "HEAD"]
    if not names:
        raise NotFoundError(f"{redact(url)} has no branches: nothing to clone (push to it first)")
    branch = next((n for n in ("main", "master") if n in names), names[0])
    commit = repo.lookup_reference(prefix + branch).peel(pygit2.Commit)
    local = repo.branches.local.create(branch, commit)
    local.upstream = repo.branches.remote[f"{DEFAULT_REMOTE}/{branch}"]
    repo.checkout(f"refs/heads/{branch}")


def _remove_clone(target: Path, created: bool) -> None:
    if created:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():  # the folder was empty before the clone
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
