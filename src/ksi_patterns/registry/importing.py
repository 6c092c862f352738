"""`ksi registry import`: bring a KSI compositions folder into the registry in one commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ksi_patterns.documents.files import read_regular
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.model import DOCUMENT_DIRS, check_name, extends_of, stem
from ksi_patterns.documents.schema import DocumentKind, kind_of, schema_violations
from ksi_patterns.errors import InputError, UsageError
from ksi_patterns.registry.registry import Registry


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    dangling_extends: list[tuple[str, str]] = field(default_factory=list)  # (path, missing parent)
    commit_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "dangling_extends": [{"path": p, "extends": e} for p, e in self.dangling_extends],
            "commit": self.commit_id,
        }


def _candidates(folder: Path) -> list[Path]:
    # Shallow files first, so that of two same-named profiles the top-level one wins. Anything
    # but a real folder is a candidate (FIFOs, devices, links): the report says why it is not
    # imported, and none of them is read.
    files = [
        path
        for path in folder.rglob("*")
        if path.is_symlink() or not path.is_dir() or path.suffix in (".yaml", ".yml")
    ]
    return sorted(files, key=lambda path: (len(path.relative_to(folder).parts), path.as_posix()))


def _why_not(path: Path, relative: str, folder: Path) -> str | None:
    if path.is_symlink():
        return "a symbolic link"
    if relative.split("/", 1)[0] not in DOCUMENT_DIRS:
        return f"not under {' or '.join(d + '/' for d in DOCUMENT_DIRS)}"
    if not relative.endswith((".yaml", ".yml")):
        return "not a YAML file"
    try:
        check_name(stem(relative), "file name")
    except UsageError as err:
        return err.message
    return None


def import_folder(registry: Registry, folder: Path, *, overwrite: bool = False) -> ImportReport:
    """Copy the orchestrations and profiles of `folder` as they are (bytes untouched)."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    report = ImportReport()
    existing = {stem(path): path for path, _blob in registry.document_paths()}
    taken: dict[tuple[str, str], str] = {}  # (top folder, name) -> path imported
    changes: dict[str, bytes] = {}
    for path in _candidates(folder):
        relative = path.relative_to(folder).as_posix()
        reason = _why_not(path, relative, folder)
        data = b""
        if reason is None:
            try:
                data = read_regular(path, relative, within=folder)
            except InputError as err:
                reason = err.message
        reason = reason or _document_problem(data, relative)
        name = stem(relative)
        key = (relative.split("/", 1)[0], name)
        if reason is None and key in taken:
            reason = f"another document named {name!r} is imported from {taken[key]}"
        if reason is None and name in existing and not (overwrite and existing[name] == relative):
            hint = " (use --overwrite to replace it)" if existing[name] == relative else ""
            reason = f"the registry already has {name!r} at {existing[name]}{hint}"
        if reason is None and existing.get(name) == relative and registry.read(relative) == data:
            reason = "the registry already has it, unchanged"  # --overwrite with nothing new
        if reason is not None:
            report.skipped.append((relative, reason))
            continue
        taken[key] = relative
        changes[relative] = data
        report.imported.append(relative)
    names = set(existing) | {name for _folder, name in taken}
    for relative, data in changes.items():
        parent = extends_of(load_plain(data, relative))
        if parent is not None and parent not in names:
            report.dangling_extends.append((relative, parent))
    if changes:
        message = f"Import {len(changes)} documents from {folder.name or folder}"
        report.commit_id = registry.store.commit(changes, message).commit_id
    return report


def _document_problem(text: bytes, relative: str) -> str | None:
    """Why the file is not a document we can import as it is, or None."""
    try:
        data = load_plain(text, relative)
    except InputError as err:
        return str(err)
    kind = kind_of(data, relative)
    if kind is None or kind == DocumentKind.REGISTRY_CONFIG:
        return "not a pattern, profile or decision log"
    if kind == DocumentKind.DECISION_LOG and not relative.startswith("orchestrations/"):
        return "a decision log outside orchestrations/"
    if kind != DocumentKind.DECISION_LOG and data.get("name") != stem(relative):
        return f"its name {data.get('name')!r} does not match the file name"
    violations = schema_violations(data, kind)
    if violations:
        return f"invalid {kind.value}: {violations[0].message}"
    return None
