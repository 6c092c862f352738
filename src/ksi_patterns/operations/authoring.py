"""Starting and releasing documents: `new` (a valid, commented skeleton) and `release`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ksi_patterns.documents.model import PATTERNS_DIR, PROFILES_DIR, Bump, check_name
from ksi_patterns.documents.schema import DocumentKind
from ksi_patterns.documents.skeleton import skeleton
from ksi_patterns.errors import UsageError
from ksi_patterns.lineage.release import Release
from ksi_patterns.lineage.release import release as bump_and_tag
from ksi_patterns.registry.registry import Registry


@dataclass(frozen=True)
class Created:
    name: str
    path: str  # in the registry
    text: str
    commit_id: str | None  # when committed
    file: Path | None  # when written into the working tree

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "commit": self.commit_id,
            "file": str(self.file) if self.file else None,
        }


def skeleton_text(
    name: str,
    *,
    profile: bool = False,
    author: str | None = None,
    extends: str | None = None,
    description: str | None = None,
) -> str:
    """The skeleton `new` would write, touching nothing."""
    kind = DocumentKind.PROFILE if profile else DocumentKind.PATTERN
    return skeleton(name, kind, author=author, extends=extends, description=description)


def new(
    registry: Registry,
    name: str,
    *,
    profile: bool = False,
    author: str | None = None,
    extends: str | None = None,
    description: str | None = None,
    commit: bool = False,
) -> Created:
    """Start NAME from a valid, commented skeleton: written into the working tree to edit and
    commit, or (`commit`, and always in a bare registry) committed."""
    check_name(name)
    if registry.has(name):
        raise UsageError(f"{name!r} already exists in the registry")
    defaults = registry.config().get("defaults") or {}
    text = skeleton_text(
        name,
        profile=profile,
        author=author or defaults.get("author"),
        extends=extends,
        description=description,
    )
    path = f"{PROFILES_DIR if profile else PATTERNS_DIR}/{name}.yaml"
    root = registry.store.root
    if root is None and not commit:
        raise UsageError("the registry is bare: use {field}", field="commit")
    if commit or root is None:
        result = registry.commit({path: text.encode()}, f"new({name}): skeleton")
        return Created(name, path, text, result.commit_id, None)
    target = root / path
    if target.exists():
        raise UsageError(f"{target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return Created(name, path, text, None, target)


def release(registry: Registry, name: str, part: Bump, *, branch: str | None = None) -> Release:
    """Bump NAME's version (major, minor or patch) in a commit and tag it `NAME@X.Y.Z`."""
    if part not in ("major", "minor", "patch"):
        raise UsageError(f"{{field}} must be major, minor or patch, not {part!r}", field="part")
    return bump_and_tag(registry, name, part, branch=branch)
