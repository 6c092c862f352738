"""Editing a pattern file in place, as learn and record-run do: find it, load it for a
round-trip edit, find a section at the top level or under `metadata:`, add one in the seed's
order, keep the quoting an author chose."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import ScalarString

from ksi_patterns.documents.loading import RoundTrip, load_roundtrip, locate
from ksi_patterns.documents.model import PATTERNS_DIR, check_name
from ksi_patterns.errors import InputError, NotFoundError
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.git.refs import Commit


def pattern_path(registry: Registry, name: str, ref: str) -> str:
    check_name(name)
    try:
        return registry.find(name, ref, folder=PATTERNS_DIR)
    except NotFoundError:
        raise NotFoundError(f"no pattern named {name!r} at {ref}") from None


def load_pattern(registry: Registry, path: str, tip: Commit | None) -> RoundTrip:
    if tip is None:
        raise NotFoundError("the branch has no commit yet")
    document = load_roundtrip(registry.store.read(path, tip), path)
    if not isinstance(document.tree, dict):
        raise InputError("a pattern must be a mapping", locate(document.tree, (), path))
    return document


def subject_line(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def section_of(tree: CommentedMap, key: str, path: str) -> tuple[str, Any]:
    """(where, node) of `key`: the top-level one, else `metadata.<key>`, else ("<key>", None)."""
    if key in tree:
        return key, tree[key]
    metadata = tree.get("metadata")
    if isinstance(metadata, dict) and key in metadata:
        return f"metadata.{key}", metadata[key]
    return key, None


def insert_top_level(tree: CommentedMap, key: str, value: Any) -> None:
    """Add `performance` or `learnings` at the top level in the seed's order (performance,
    learnings, metadata): next to the other one, else before `metadata`, else at the end."""
    keys = list(tree)
    if key == "learnings" and "performance" in keys:
        position = keys.index("performance") + 1
    elif key == "performance" and "learnings" in keys:
        position = keys.index("learnings")
    elif "metadata" in keys:
        position = keys.index("metadata")
    else:
        position = len(keys)
    tree.insert(position, key, value)


def kept_style(old: Any, new: Any) -> Any:
    """`new`, quoted the way `old` was (a double-quoted string stays double-quoted)."""
    if isinstance(old, ScalarString) and isinstance(new, str):
        return type(old)(new)
    return new
