"""Registries themselves: `init_registry`, `import_folder`, `info`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ksi_patterns.registry.importing import ImportReport
from ksi_patterns.registry.importing import import_folder as copy_folder
from ksi_patterns.registry.registry import Registry
from ksi_patterns.registry.registry import init_registry as create_registry


def init_registry(
    path: str | Path,
    *,
    name: str | None = None,
    bare: bool = False,
    empty: bool = False,
) -> Registry:
    """A new git repository at `path` holding the starter registry (or, `empty`, only its
    configuration) in one commit; refuses to overwrite anything."""
    return create_registry(path, name=name, bare=bare, empty=empty)


def import_folder(registry: Registry, folder: Path, *, overwrite: bool = False) -> ImportReport:
    """Copy a KSI compositions folder (orchestrations/, profiles/) into the registry as one
    commit, saying what was skipped and why."""
    return copy_folder(registry, folder, overwrite=overwrite)


@dataclass(frozen=True)
class Info:
    location: str
    name: Any
    branch: str | None
    bare: bool
    documents: int

    def to_json(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "name": self.name,
            "branch": self.branch,
            "bare": self.bare,
            "documents": self.documents,
        }


def info(registry: Registry) -> Info:
    """Where the registry is, and what it holds."""
    return Info(
        str(registry.location),
        registry.config().get("name"),
        registry.store.current_branch,
        registry.store.is_bare,
        len(registry.document_paths()),
    )
