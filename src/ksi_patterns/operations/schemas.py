"""The JSON Schemas ksi validates with, for editors and other validators."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ksi_patterns.documents.resources import schemas_dir
from ksi_patterns.errors import UsageError


@dataclass(frozen=True)
class Exported:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"written": self.written, "unchanged": self.unchanged}


def export_schemas(directory: Path, *, force: bool = False) -> Exported:
    """Write the schemas into `directory` (created if missing). Files there with other content
    are not overwritten unless `force`: then nothing is written at all."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a folder")
    plan: list[tuple[Path, bytes]] = []
    unchanged: list[str] = []
    different: list[str] = []
    for source in sorted(schemas_dir().glob("*.json")):
        data = source.read_bytes()
        target = directory / source.name
        if target.is_file() and target.read_bytes() == data:
            unchanged.append(str(target))
            continue
        if target.exists() and not target.is_file():
            raise UsageError(f"{target} exists and is not a file")
        if target.exists():
            different.append(str(target))
        plan.append((target, data))
    if different and not force:
        raise UsageError(
            f"{', '.join(different)} already exist(s) with other content; "
            "nothing written ({field} to overwrite)",
            field="force",
        )
    directory.mkdir(parents=True, exist_ok=True)
    for target, data in plan:
        target.write_bytes(data)
    return Exported([str(target) for target, _ in plan], unchanged)
