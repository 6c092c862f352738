"""`ksi pattern lint`: what in a pattern's strategy DSL a session could not carry out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption

if TYPE_CHECKING:
    pass


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
    from ksi_patterns.operations.checking import lint as run_lint
    from ksi_patterns.registry.registry import open_registry

    reports = run_lint(open_registry(registry), names, ref=ref)
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
