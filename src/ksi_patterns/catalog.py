"""What the registry holds, as rows: the listing behind `ksi pattern list`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ksi_patterns.documents import load_plain
from ksi_patterns.errors import InputError
from ksi_patterns.model import extends_of, lineage_of, stem, tags_of
from ksi_patterns.registry import Registry
from ksi_patterns.schema import DocumentKind, kind_of


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # orchestration, profile, decision-log
    version: str | None
    description: str
    tags: list[str]
    extends: str | None
    parent: str | None  # lineage parent, NAME@VERSION
    path: str
    blob: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _entry(path: str, blob: str, data: Any) -> Entry | None:
    kind = kind_of(data, path)
    if kind is None or kind == DocumentKind.REGISTRY_CONFIG:
        return None
    if kind == DocumentKind.DECISION_LOG:
        return Entry(
            stem(path), kind.value, None, f"{len(data)} decisions", [], None, None, path, blob
        )
    name = data.get("name")
    version = data.get("version")
    description = data.get("description") or ""
    return Entry(
        name=name if isinstance(name, str) else stem(path),
        kind=kind.value,
        version=str(version) if version is not None else None,
        description=" ".join(str(description).split()),
        tags=tags_of(data),
        extends=extends_of(data),
        parent=lineage_of(data).get("parent"),
        path=path,
        blob=blob,
    )


def entries(
    registry: Registry,
    ref: str = "HEAD",
    *,
    kind: str | None = None,
    tags: list[str] | None = None,
    on_error: Callable[[InputError], None] | None = None,
) -> list[Entry]:
    """Documents at `ref`, sorted by kind then name; unreadable ones go to `on_error`."""
    found = []
    for path, blob in registry.document_paths(ref):
        try:
            data = load_plain(registry.read(path, ref), path)
        except InputError as err:
            if on_error:
                on_error(err)
            continue
        entry = _entry(path, blob, data)
        if entry is None:
            continue
        if kind and entry.kind != kind:
            continue
        if tags and not set(tags) <= set(entry.tags):
            continue
        found.append(entry)
    return sorted(found, key=lambda e: (e.kind != "orchestration", e.kind, e.name, e.path))
