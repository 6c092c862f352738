"""`ksi pattern lint`: what in a pattern's strategy DSL a session could not carry out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption

if TYPE_CHECKING:
    from collections.abc import Callable

    from ksi_patterns.orchestrator.lint import LintReport
    from ksi_patterns.registry.registry import Registry


def lint(
    names: Annotated[
        list[str],
        typer.Argument(metavar="NAME...", help="Patterns (names or .yaml files) to check."),
    ],
    ref: Annotated[
        str | None,
        typer.Option(
            help="Check the patterns at this revision (default: the working tree, else HEAD).",
            show_default=False,
        ),
    ] = None,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Check a pattern's strategy DSL: lines that cannot be parsed, bad conditions, and events
    no handler receives (exit 1 when anything is reported)."""
    from ksi_patterns.orchestrator.lint import lint_text
    from ksi_patterns.registry.registry import open_registry

    found = open_registry(registry)
    handled = handled_events(found)
    reports: list[LintReport] = []
    for name in names:
        path, text, stem = _lint_source(found, name, ref)
        reports.append(lint_text(text, path, stem, handled))
    problems = sum(len(report.findings) for report in reports)
    if json:
        output.print_json(
            {"clean": problems == 0, "patterns": [report.to_json() for report in reports]}
        )
    else:
        for report in reports:
            for finding in report.findings:
                output.plain_text(str(finding))
            if not report.has_strategy:
                output.note(f"{report.name}: no orchestration_logic.strategy to check")
            elif not report.findings:
                output.note(
                    f"{report.name}: clean ({len(report.events)} event(s), all handled; "
                    f"{report.interpretive} interpretive line(s) left to the orchestrator)"
                )
            else:
                output.note(f"{report.name}: {len(report.findings)} problem(s)")
    raise typer.Exit(1 if problems else 0)


def handled_events(registry: Registry) -> Callable[[str], bool]:
    """Whether an event has a handler on a bus built as `ksi orchestrate run` builds one (the
    composition handlers and the plugins; lint adds the session's own `agent:spawn`)."""
    from ksi_patterns.composition.plugins import build_bus

    bus = build_bus(registry)
    bus.close()  # nothing is emitted: the bus is only asked what it handles
    return lambda event: bool(bus.handlers_for(event))


def _lint_source(registry: Registry, name: str, ref: str | None) -> tuple[str, str, str]:
    """(path to show, text, pattern name) of what `name` designates."""
    from ksi_patterns.documents.loading import decode
    from ksi_patterns.documents.model import check_name
    from ksi_patterns.errors import NotFoundError

    as_path = Path(name)
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        if not as_path.is_file():
            raise NotFoundError(f"{name}: no such file")
        return name, decode(as_path.read_bytes(), name), as_path.stem
    check_name(name)
    root = registry.store.root
    if ref is None and root is not None:
        try:
            relative = registry.find(name, folder="orchestrations")
        except NotFoundError:
            relative = f"orchestrations/{name}.yaml"
        on_disk = root / relative
        if on_disk.is_file():
            return output.relative_path(on_disk), decode(on_disk.read_bytes(), relative), name
    relative = registry.find(name, ref or "HEAD", folder="orchestrations")
    shown = relative if ref is None else f"{relative}@{ref}"
    return shown, decode(registry.read(relative, ref or "HEAD"), shown), name
