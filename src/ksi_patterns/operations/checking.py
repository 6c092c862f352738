"""Checking documents: `validate` (schemas, names, duplicates, `extends`) and `lint` (what in
a pattern's strategy DSL a session could not carry out)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ksi_patterns.documents.model import CONFIG_FILE
from ksi_patterns.documents.validation import Report, Source, shown_path, sources_from_paths
from ksi_patterns.documents.validation import validate as check_sources
from ksi_patterns.errors import NotFoundError
from ksi_patterns.operations.buses import open_bus
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.orchestrator.lint import LintReport


def validate(paths: Sequence[Path] = (), *, registry: Registry | None = None) -> Report:
    """Every finding over the files and folders in `paths` (no git needed), or over the
    registry's documents: its working tree, or what is committed in a bare one."""
    if paths:
        sources, known = sources_from_paths(paths)
    elif registry is None:
        raise ValueError("validate needs paths or a registry")
    elif registry.store.root is not None:
        sources, known = sources_from_paths([registry.store.root])
    else:
        files = [CONFIG_FILE] + [path for path, _blob in registry.document_paths()]
        sources, known = [Source(path, registry.read(path)) for path in files], {}
    return check_sources(sources, known)


def lint(registry: Registry, names: Sequence[str], *, ref: str | None = None) -> list[LintReport]:
    """Check each pattern's strategy (NAME, or the path of a YAML file): lines that are not DSL,
    conditions that are not valid expressions, and events no handler receives. A NAME is read
    from the working tree when it has a copy there, else from `ref` (default HEAD)."""
    from ksi_patterns.orchestrator.lint import lint_text

    handled = handled_events(registry)
    reports = []
    for name in names:
        path, text, stem = _lint_source(registry, name, ref)
        reports.append(lint_text(text, path, stem, handled))
    return reports


def handled_events(registry: Registry) -> Callable[[str], bool]:
    """Whether an event has a handler on a bus such as a session emits on (the composition
    handlers and the plugins; lint adds the session's own `agent:spawn`)."""
    bus = open_bus(registry)
    bus.close()  # nothing is emitted: the bus is only asked what it handles
    return lambda event: bool(bus.handlers_for(event))


def _lint_source(registry: Registry, name: str, ref: str | None) -> tuple[str, str, str]:
    """(path to show, text, pattern name) of what `name` designates."""
    from ksi_patterns.documents.files import read_regular
    from ksi_patterns.documents.loading import decode
    from ksi_patterns.documents.model import PATTERNS_DIR, check_name

    as_path = Path(name)
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        if not os.path.lexists(as_path):
            raise NotFoundError(f"{name}: no such file")
        return name, decode(read_regular(as_path, name), name), as_path.stem
    check_name(name)
    root = registry.store.root
    if ref is None and root is not None:
        try:
            relative = registry.find(name, folder=PATTERNS_DIR)
        except NotFoundError:
            relative = f"{PATTERNS_DIR}/{name}.yaml"
        on_disk = root / relative
        if os.path.lexists(on_disk):
            shown = shown_path(on_disk)
            return shown, decode(read_regular(on_disk, shown, within=root), shown), name
    relative = registry.find(name, ref or "HEAD", folder=PATTERNS_DIR)
    shown = relative if ref is None else f"{relative}@{ref}"
    return shown, decode(registry.read(relative, ref or "HEAD"), shown), name
