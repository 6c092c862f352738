"""Releases: bump a document's `version` in a commit and tag it `NAME@X.Y.Z`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ksi_patterns.documents.loading import load_roundtrip
from ksi_patterns.documents.model import Bump, bump_version, release_tag
from ksi_patterns.documents.render import render
from ksi_patterns.errors import ConflictError, UsageError
from ksi_patterns.git.refs import Commit
from ksi_patterns.registry.registry import Registry


@dataclass(frozen=True)
class Release:
    name: str
    old_version: str | None
    version: str
    tag: str
    commit_id: str
    skipped_worktree_paths: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "old_version": self.old_version,
            "version": self.version,
            "tag": self.tag,
            "commit": self.commit_id,
        }


def release(registry: Registry, name: str, part: Bump, *, branch: str | None = None) -> Release:
    """Bump `name`'s version on `branch` (default: the current one), commit, and tag the commit."""
    store = registry.store
    ref = branch or "HEAD"
    path = registry.find(name, ref)
    tree = load_roundtrip(store.read(path, ref), path).tree
    if not isinstance(tree, dict):
        raise UsageError(f"{path} is not a pattern or profile (a mapping); it has no version")
    old = _version(tree)
    new = bump_version(old or "0.0.0", part)
    tag = release_tag(name, new)
    if tag in store.tags():
        raise ConflictError(f"tag {tag} already exists")

    def bumped(tip: Commit | None) -> dict[str, bytes]:
        # Re-read at the fresh tip on every retry, so a concurrent edit is kept, not undone.
        document = load_roundtrip(store.read(path, tip if tip is not None else ref), path)
        if _version(document.tree) != old:
            raise ConflictError(f"{name}'s version changed during the release; run it again")
        if old is None:
            document.tree.insert(_version_position(document.tree), "version", new)
        else:  # keep the quoting the author chose
            current = document.tree["version"]
            document.tree["version"] = type(current)(new) if isinstance(current, str) else new
        return {path: render(document).encode()}

    result = registry.commit(bumped, f"release({name}): {new}", branch)
    store.create_tag(tag, result.commit_id, f"{name} {new}")
    return Release(name, old, new, tag, result.commit_id, result.skipped_worktree_paths)


def _version(tree: object) -> str | None:
    version = tree.get("version") if isinstance(tree, dict) else None
    return None if version is None else str(version)


def _version_position(tree: dict[str, object]) -> int:
    keys = list(tree)
    for anchor in ("type", "name"):
        if anchor in keys:
            return keys.index(anchor) + 1
    return 0
