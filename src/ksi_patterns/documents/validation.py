"""Checks over a set of registry files: schema, names, duplicates, `extends` targets and cycles.

Works on (path, bytes) pairs, so the same checks serve plain folders in CI and registries.
Files are read with the fast plain loader; the slower round-trip load, which knows positions,
only runs for files that have something to report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ksi_patterns.documents.files import read_regular
from ksi_patterns.documents.loading import RoundTrip, load_plain, load_roundtrip, locate
from ksi_patterns.documents.model import (
    CONFIG_FILE,
    DOCUMENT_DIRS,
    PATTERNS_DIR,
    PROFILES_DIR,
    extends_of,
    stem,
)
from ksi_patterns.documents.schema import DocumentKind, kind_of, schema_violations
from ksi_patterns.errors import EXIT_FOUND, EXIT_OK, EXIT_USAGE, InputError, Position, UsageError

NAMED_KINDS = (DocumentKind.PATTERN, DocumentKind.PROFILE)


@dataclass(frozen=True)
class Source:
    path: str  # as shown to the user
    data: bytes
    refused: str | None = None  # why the file was not read (a FIFO, a device, too large...)


@dataclass(frozen=True)
class Finding:
    position: Position
    message: str
    # unreadable, unknown-kind, schema, name-mismatch, duplicate-name, extends-missing/-cycle
    rule: str

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.position.file,
            "line": self.position.line,
            "column": self.position.column,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class Report:
    files: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if any(finding.rule == "unreadable" for finding in self.findings):
            return EXIT_USAGE
        return EXIT_FOUND if self.findings else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "valid": not self.findings,
            "findings": [finding.to_json() for finding in self.findings],
        }


@dataclass
class _Loaded:
    source: Source
    data: Any
    kind: DocumentKind
    _roundtrip: RoundTrip | None = None

    def position(self, path: Iterable[str | int]) -> Position:
        """Where `path` is in the file (the round-trip load happens once, on first need)."""
        if self._roundtrip is None:
            self._roundtrip = load_roundtrip(self.source.data, self.source.path)
        return locate(self._roundtrip.tree, path, self.source.path)

    @property
    def name(self) -> str | None:
        name = self.data.get("name") if isinstance(self.data, dict) else None
        return name if isinstance(name, str) else None


def validate(
    sources: Iterable[Source], known_names: Mapping[DocumentKind, set[str]] | None = None
) -> Report:
    """Every finding over `sources`; `known_names` are other documents `extends` may name."""
    report = Report()
    loaded: list[_Loaded] = []
    for source in sources:
        report.files += 1
        document = _load(source, report)
        if document is not None:
            loaded.append(document)
    for document in loaded:
        report.findings.extend(_schema_findings(document))
        report.findings.extend(_name_findings(document))
    report.findings.extend(_duplicate_findings(loaded))
    report.findings.extend(_extends_findings(loaded, known_names or {}))
    report.findings.sort(
        key=lambda f: (f.position.file, f.position.line or 0, f.position.column or 0)
    )
    return report


def check_written(path: str, data: bytes) -> None:
    """Refuse a document about to be written unless it reads, is a pattern under
    orchestrations/ (or a log there: a list) or a profile under profiles/, matches its schema
    and carries its file's name. InputError at the first problem; nothing is written."""
    report = Report()
    document = _load(Source(path, data), report)
    findings = list(report.findings)
    if document is not None:
        findings += _folder_findings(document)
        findings += _schema_findings(document) + _name_findings(document)
    if findings:
        first = min(findings, key=lambda f: (f.position.line or 0, f.position.column or 0))
        raise InputError(f"{first.message}; nothing was written", first.position)


def _folder_findings(document: _Loaded) -> list[Finding]:
    folder = document.source.path.split("/", 1)[0]
    allowed = {
        PATTERNS_DIR: (DocumentKind.PATTERN, DocumentKind.DECISION_LOG),
        PROFILES_DIR: (DocumentKind.PROFILE,),
    }.get(folder)
    if allowed is None or document.kind in allowed:
        return []
    wanted = " or ".join(kind.value for kind in allowed)
    message = f"a {document.kind.value} cannot be kept in {folder}/ (expected {wanted})"
    return [Finding(Position(document.source.path, 1, 1), message, "wrong-folder")]


def _load(source: Source, report: Report) -> _Loaded | None:
    if source.refused is not None:
        report.findings.append(Finding(Position(source.path), source.refused, "unreadable"))
        return None
    try:
        data = load_plain(source.data, source.path)
    except InputError as err:
        report.findings.append(
            Finding(err.position or Position(source.path), err.message, "unreadable")
        )
        return None
    kind = kind_of(data, source.path)
    if kind is None:
        message = (
            "not a ksi document: expected a mapping with `type: orchestration` or `type: profile`, "
            "or a decision log (a list)"
        )
        report.findings.append(Finding(Position(source.path, 1, 1), message, "unknown-kind"))
        return None
    return _Loaded(source, data, kind)


def _schema_findings(document: _Loaded) -> list[Finding]:
    return [
        Finding(document.position(violation.path), violation.message, "schema")
        for violation in schema_violations(document.data, document.kind)
    ]


def _name_findings(document: _Loaded) -> list[Finding]:
    name = document.name
    if document.kind not in NAMED_KINDS or name is None:
        return []
    expected = stem(document.source.path)
    if name == expected:
        return []
    message = f"name {name!r} does not match the file name (expected {expected!r})"
    return [Finding(document.position(("name",)), message, "name-mismatch")]


def _duplicate_findings(loaded: list[_Loaded]) -> list[Finding]:
    first: dict[tuple[DocumentKind, str], _Loaded] = {}
    findings = []
    for document in loaded:
        if document.kind not in NAMED_KINDS or document.name is None:
            continue
        key = (document.kind, document.name)
        if key not in first:
            first[key] = document
            continue
        original = first[key]
        message = (
            f"duplicate {document.kind.value} name {document.name!r} "
            f"(also in {original.position(('name',))})"
        )
        findings.append(Finding(document.position(("name",)), message, "duplicate-name"))
    return findings


def _extends_findings(
    loaded: list[_Loaded], known_names: Mapping[DocumentKind, set[str]]
) -> list[Finding]:
    findings = []
    for kind in NAMED_KINDS:
        documents = {d.name: d for d in loaded if d.kind == kind and d.name is not None}
        known = known_names.get(kind, set()) | set(documents)
        parents = {name: extends_of(d.data) for name, d in documents.items()}
        for name, document in documents.items():
            parent = parents[name]
            if parent is None:
                continue
            if parent not in known:
                message = f"extends {parent!r}, which does not exist"
                findings.append(
                    Finding(document.position(("extends",)), message, "extends-missing")
                )
                continue
            chain = _cycle_from(name, parents)
            if chain:
                message = "extends cycle: " + " -> ".join(chain)
                findings.append(Finding(document.position(("extends",)), message, "extends-cycle"))
    return findings


def _cycle_from(name: str, parents: Mapping[str, str | None]) -> list[str] | None:
    """The chain name -> ... -> name when following `extends` from `name` comes back to it."""
    chain = [name]
    current = parents.get(name)
    while current is not None and current in parents:
        chain.append(current)
        if current == name:
            return chain
        if current in chain[:-1]:
            return None  # a cycle further up; reported at its own members
        current = parents.get(current)
    return None


# ---------------------------------------------------------------------------------------------
# Gathering files from the command line


def _yaml_files(folder: Path) -> list[Path]:
    """The YAML files of `folder`: anything named *.yaml or *.yml, FIFOs and devices included
    (reading refuses them, so that they are reported rather than passed over)."""
    if (folder / CONFIG_FILE).is_file():  # a registry: its documents and its configuration
        files = [folder / CONFIG_FILE]
        for sub in DOCUMENT_DIRS:
            files += sorted(p for p in (folder / sub).rglob("*") if p.suffix in (".yaml", ".yml"))
        return files
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix in (".yaml", ".yml")
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def shown_path(path: Path) -> str:
    """`path` as the user would type it here: relative to the current folder when inside."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _registry_names(path: Path) -> dict[DocumentKind, set[str]]:
    """Names of the documents in the registry folder that holds `path` (by file name)."""
    start = path.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return {
                kind: {stem(p.name) for p in (folder / sub).rglob("*.y*ml")}
                for kind, sub in (
                    (DocumentKind.PATTERN, PATTERNS_DIR),
                    (DocumentKind.PROFILE, PROFILES_DIR),
                )
            }
    return {}


def sources_from_paths(paths: Iterable[Path]) -> tuple[list[Source], dict[DocumentKind, set[str]]]:
    """The files named (folders searched), and the names their enclosing registries hold."""
    sources: list[Source] = []
    known: dict[DocumentKind, set[str]] = {}
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        folder = path.is_dir() and path.suffix not in (".yaml", ".yml")
        within = path.resolve() if folder else None
        for file in _yaml_files(path) if folder else [path]:
            sources.append(_read(file, within))
        for kind, names in _registry_names(path).items():
            known.setdefault(kind, set()).update(names)
    return sources, known


def _read(file: Path, within: Path | None) -> Source:
    """The file as a Source; one that must not be read (a FIFO, a device, a link out of the
    folder searched, too large) is a Source that says why."""
    shown = shown_path(file)
    try:
        return Source(shown, read_regular(file, shown, within=within))
    except InputError as err:
        return Source(shown, b"", refused=err.message)
