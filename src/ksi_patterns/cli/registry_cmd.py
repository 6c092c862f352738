"""`ksi registry ...`: init, import, info."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption


def init(
    path: Annotated[Path, typer.Argument(help="Folder for the new registry.")] = Path("."),
    name: Annotated[str | None, typer.Option(help="Registry name (default: 'default').")] = None,
    empty: Annotated[bool, typer.Option("--empty", help="Leave out the starter patterns.")] = False,
    bare: Annotated[
        bool, typer.Option("--bare", help="A bare repository (for a shared remote).")
    ] = False,
) -> None:
    """Create a registry: a git repository holding the starter patterns, in one commit."""
    from ksi_patterns.operations.registries import init_registry

    registry = init_registry(path, name=name, bare=bare, empty=empty)
    count = len(registry.document_paths())
    output.say(f"Created registry at {registry.location} ({count} documents).")


def import_folder(
    folder: Annotated[
        Path, typer.Argument(help="A KSI compositions folder (orchestrations/, profiles/).")
    ],
    overwrite: Annotated[
        bool, typer.Option(help="Replace documents already in the registry.")
    ] = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Copy a KSI compositions folder into the registry as one commit."""
    from ksi_patterns.operations.registries import import_folder as run_import
    from ksi_patterns.registry.registry import open_registry

    report = run_import(open_registry(registry), folder, overwrite=overwrite)
    if json:
        output.print_json(report.to_json())
        return
    for path, reason in report.skipped:
        output.note(f"skipped {path}: {reason}")
    for path, parent in report.dangling_extends:
        output.note(f"warning: {path} extends {parent!r}, which is not in the registry")
    commit = f" in commit {report.commit_id[:10]}" if report.commit_id else ""
    output.say(f"Imported {len(report.imported)} documents{commit}; skipped {len(report.skipped)}.")


def info(registry: RegistryOption = None, json: JsonOption = False) -> None:
    """Where the registry in use is, and what it holds."""
    from ksi_patterns.operations.registries import info as describe
    from ksi_patterns.registry.registry import open_registry

    facts = describe(open_registry(registry)).to_json()
    if json:
        output.print_json(facts)
        return
    for key, value in facts.items():
        output.say(f"{key + ':':<11} {value}")
