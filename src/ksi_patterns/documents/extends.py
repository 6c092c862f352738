"""Inheritance: a document's `extends` parent supplies the defaults, deep-merged, maps by key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ksi_patterns.documents.model import extends_of
from ksi_patterns.errors import KsiError, NotFoundError, UsageError

Lookup = Callable[[str], Any]  # name -> plain document, or None when there is no such document


class ExtendsCycleError(KsiError):
    pass


def extends_chain(name: str, lookup: Lookup) -> list[str]:
    """`name` followed by its ancestors, nearest first; missing parents and cycles are errors."""
    chain = [name]
    document = lookup(name)
    if document is None:
        raise NotFoundError(f"no document named {name!r}")
    while (parent := _parent(chain[-1], document)) is not None:
        if parent in chain:
            shown = " -> ".join([*chain, parent])
            raise ExtendsCycleError(f"extends cycle: {shown}")
        document = lookup(parent)
        if document is None:
            shown = " -> ".join([*chain, parent])
            raise NotFoundError(f"{chain[-1]!r} extends {parent!r}, which does not exist ({shown})")
        chain.append(parent)
    return chain


def _parent(name: str, document: Any) -> str | None:
    """The `extends` of `document`; a document or an `extends` of the wrong type is an error."""
    if not isinstance(document, dict):
        raise UsageError(f"{name!r} is not a pattern or profile (a mapping); it cannot be extended")
    parent = extends_of(document)
    if parent is None and document.get("extends") is not None:
        raise UsageError(f"{name!r} extends {document['extends']!r}, which is not a name")
    return parent


def deep_merge(defaults: Any, override: Any) -> Any:
    """`override` over `defaults`: maps merge by key, lists of named maps (components, agents)
    merge by `name` (a child's item replaces its parent's namesake), anything else is replaced."""
    if isinstance(defaults, list) and isinstance(override, list):
        return _merge_named(defaults, override)
    if not (isinstance(defaults, dict) and isinstance(override, dict)):
        return override
    merged = dict(defaults)
    for key, value in override.items():
        merged[key] = deep_merge(defaults[key], value) if key in defaults else value
    return merged


def _names(items: list[Any]) -> list[Any] | None:
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    return names if None not in names and len(set(names)) == len(names) else None


def _merge_named(defaults: list[Any], override: list[Any]) -> list[Any]:
    parent_names, child_names = _names(defaults), _names(override)
    if parent_names is None or child_names is None:
        return override
    replaced = dict(zip(child_names, override, strict=True))
    inherited = [
        replaced.pop(name, item) for name, item in zip(parent_names, defaults, strict=True)
    ]
    return inherited + list(replaced.values())


def resolve(name: str, lookup: Lookup) -> dict[str, Any]:
    """The document `name` with its ancestors' fields as defaults; `extends` kept as written."""
    chain = extends_chain(name, lookup)
    resolved: Any = {}
    for ancestor in reversed(chain):
        resolved = deep_merge(resolved, lookup(ancestor))
    # the child's `extends` wins in the merge already; a document without one gains none
    if "extends" not in lookup(name):
        resolved.pop("extends", None)
    return dict(resolved)
