"""`ksi pattern validate`: the check CI runs on a pattern repository."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import RegistryOption

if TYPE_CHECKING:
    from ksi_patterns.documents.validation import Finding, Report


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"


def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (default: the registry's documents)."),
    ] = None,
    format: Annotated[
        Format, typer.Option("--format", "-f", help="text, json or github (annotations).")
    ] = Format.text,
    registry: RegistryOption = None,
) -> None:
    """Check files against the schemas, names, duplicates and `extends` (exit 1 when invalid)."""
    from ksi_patterns.operations.checking import validate as run_validation
    from ksi_patterns.registry.registry import open_registry

    report = run_validation(paths) if paths else run_validation(registry=open_registry(registry))
    _print(report, format)
    raise typer.Exit(report.exit_code)


def _print(report: Report, format: Format) -> None:
    if format is Format.json:
        output.print_json(report.to_json())
        return
    for finding in report.findings:
        output.plain_text(
            _github(finding)
            if format is Format.github
            else f"{finding.position}: {finding.message}"
        )
    bad_files = len({finding.position.file for finding in report.findings})
    if report.findings:
        output.note(f"{len(report.findings)} problem(s) in {bad_files} of {report.files} file(s)")
    else:
        output.note(f"{report.files} file(s) valid")


def _github(finding: Finding) -> str:
    """A GitHub Actions workflow command, which shows as an annotation on the pull request."""

    def escape(text: str, *, property: bool = False) -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if property else text

    where = [f"file={escape(finding.position.file, property=True)}"]
    if finding.position.line is not None:
        where += [f"line={finding.position.line}", f"col={finding.position.column or 1}"]
    title = escape(f"ksi validate: {finding.rule}", property=True)
    return f"::error {','.join(where)},title={title}::{escape(finding.message)}"
