"""Checking documents: `validate` (schemas, names, duplicates, `extends`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ksi_patterns.documents.model import CONFIG_FILE
from ksi_patterns.documents.validation import Report, Source, sources_from_paths
from ksi_patterns.documents.validation import validate as check_sources
from ksi_patterns.registry.registry import Registry


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
