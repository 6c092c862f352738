"""`ksi pattern discover`: the patterns and profiles of a catalog that meet a query (type, tags,
capabilities, and conditions on any field; see filters for what the conditions mean)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksi_patterns.finding.filters import Condition, FieldSeen, has_field, matches

if TYPE_CHECKING:
    from ksi_patterns.finding.catalog import Catalog, Located

DISCOVERABLE = ("orchestration", "profile")


@dataclass(frozen=True)
class Query:
    kind: str | None = None
    tags: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Found:
    """One discover result: a document blob and every (ref, path) holding it."""

    name: str
    kind: str
    version: str | None
    description: str
    tags: list[str]
    capabilities: list[str]
    path: str
    blob: str
    refs: list[str]
    locations: list[dict[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "description": self.description,
            "tags": list(self.tags),
            "capabilities": list(self.capabilities),
            "path": self.path,
            "blob": self.blob,
            "refs": list(self.refs),
            "locations": [dict(place) for place in self.locations],
        }


def _found(item: Located) -> Found:
    record = item.record
    return Found(
        name=item.name,
        kind=record.kind or "",
        version=record.version,
        description=record.description,
        tags=record.tags,
        capabilities=record.capabilities,
        path=item.path,
        blob=record.blob,
        refs=item.refs,
        locations=[{"ref": ref, "path": path} for ref, path in item.locations],
    )


def discover(catalog: Catalog, query: Query) -> tuple[list[Found], list[str]]:
    """Patterns and profiles meeting every part of `query`; also warnings for fields that no
    document has (a typo in --where is then visible)."""
    everything = catalog.of_kind(*DISCOVERABLE)
    items = [item for item in everything if not query.kind or item.record.kind == query.kind]
    if query.tags:
        items = [item for item in items if set(query.tags) <= set(item.record.tags)]
    if query.capabilities:
        wanted = set(query.capabilities)
        items = [item for item in items if wanted <= set(item.record.capabilities)]
    warnings: list[str] = []
    if query.conditions:
        keys = {condition.path[0] for condition in query.conditions}
        documents = catalog.documents(items, keys)
        seen = FieldSeen()
        items = [
            item
            for item in items
            if all(
                matches(c, documents[item.record.blob], item.name, seen) for c in query.conditions
            )
        ]
        missing = seen.missing(query.conditions)
        if missing:
            paths = {c.field: c.path for c in query.conditions}
            documents = catalog.documents(everything, {paths[f][0] for f in missing})
            for item in everything:
                document = documents[item.record.blob]
                missing = [f for f in missing if not has_field(document, paths[f])]
                if not missing:
                    break
            where = ", ".join(catalog.refs)
            warnings += [f"warning: no document at {where} has the field {f!r}" for f in missing]
    found = [_found(item) for item in items]
    found.sort(key=lambda f: (f.kind != "orchestration", f.kind, f.name, f.path, f.refs))
    return found, warnings
