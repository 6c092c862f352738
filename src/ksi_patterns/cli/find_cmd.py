"""`ksi pattern discover` and `ksi pattern select`: finding patterns (DESIGN.md section 5)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption

if TYPE_CHECKING:
    from ksi_patterns.finding.discovery import Found
    from ksi_patterns.finding.ranking import Selection

WHERE_HELP = (
    "FIELD OP VALUE, OP one of > >= < <= == != in contains exists; e.g. "
    "'performance.avg_score > 0.7', 'tags contains tournament', 'lineage.parent exists' "
    "(repeatable, all must hold). FIELD is looked up at the top level, then under metadata."
)
FILTER_HELP = (
    'The seed\'s metadata_filter as JSON: {"performance.avg_score": {">": 0.7}, '
    '"tags": ["tournament"]}. A list means "contains all", a map holds operators, '
    "anything else means equality."
)


def discover(
    kind: Annotated[
        str | None, typer.Option("--type", help="orchestration or profile.", show_default=False)
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Has this tag (repeatable, all must match).")
    ] = None,
    capability: Annotated[
        list[str] | None,
        typer.Option("--capability", help="Lists this in capabilities_required (repeatable)."),
    ] = None,
    where: Annotated[list[str] | None, typer.Option("--where", help=WHERE_HELP)] = None,
    metadata_filter: Annotated[
        str | None, typer.Option("--filter", help=FILTER_HELP, show_default=False)
    ] = None,
    ref: Annotated[str | None, typer.Option(help="Branch, tag or commit (default: HEAD).")] = None,
    all_branches: Annotated[
        bool,
        typer.Option(
            "--all-branches", help="Search every branch; a document on several is shown once."
        ),
    ] = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Find patterns and profiles by type, tags, capabilities and any field."""
    from ksi_patterns.cli.arguments import json_object
    from ksi_patterns.operations.finding import discover as run_discover
    from ksi_patterns.registry.registry import open_registry

    found = run_discover(
        open_registry(registry),
        kind=kind,
        tags=tag or (),
        capabilities=capability or (),
        where=where or (),
        metadata_filter=json_object(metadata_filter, "--filter") if metadata_filter else None,
        ref=ref,
        all_branches=all_branches,
    )
    for warning in found.warnings:
        output.note(warning)
    rows = found.rows
    if json:
        output.print_json([row.to_json() for row in rows])
        return
    if not rows:
        output.note("No documents match.")
        return
    _discover_table(rows, all_branches)


def _discover_table(rows: list[Found], all_branches: bool) -> None:
    headers = ["NAME", "TYPE", "VERSION", "TAGS", "DESCRIPTION"]
    if all_branches:
        headers.insert(3, "BRANCHES")

    def cells(row: Found) -> list[str]:
        found = [row.name, row.kind, row.version or "", ", ".join(row.tags), row.description]
        if all_branches:
            found.insert(3, ", ".join(row.refs))
        return found

    output.table(headers, [cells(row) for row in rows])


def select(
    task: Annotated[
        str, typer.Option("--task", help="What the pattern is for, in words.", show_default=False)
    ],
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            help="KEY: a capability, a tag or a field the pattern must have; KEY=VALUE: a "
            "field that must equal VALUE (repeatable).",
        ),
    ] = None,
    top: Annotated[int, typer.Option(help="How many patterns to show.")] = 5,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show each score component and its source.")
    ] = False,
    ref: Annotated[str, typer.Option(help="Branch, tag or commit.")] = "HEAD",
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Choose the orchestration patterns that best fit a task, best first, with reasons."""
    from ksi_patterns.operations.finding import select as run_select
    from ksi_patterns.registry.registry import open_registry

    selection = run_select(
        open_registry(registry), task, requirements=require or (), top=top, ref=ref
    )
    for note in selection.notes:
        output.note(note)
    if json:
        output.print_json(selection.to_json())
        return
    if not selection.results:
        output.note(
            f"No pattern fits: {selection.eligible} of {selection.candidates} patterns meet "
            "the requirements."
        )
        return
    _selection_table(selection, explain)


def _selection_table(selection: Selection, explain: bool) -> None:
    from ksi_patterns.finding.ranking import explain_lines

    keys = ("relevance", "performance", "success", "freshness")
    headers = ["RANK", "NAME", "SCORE", "RELEVANCE", "PERFORMANCE", "SUCCESS", "FRESHNESS"]
    rows = [
        [str(r.rank), r.item.name, f"{r.score:.3f}"]
        + [f"{r.components[key]['value']:.2f}" for key in keys]
        for r in selection.results
    ]
    if explain:
        for ranked, row in zip(selection.results, rows, strict=True):
            output.plain_text(f"{row[0]}. {row[1]}  score {row[2]}")
            for line in explain_lines(ranked):
                output.plain_text(f"   {line}")
        return
    if not sys.stdout.isatty():
        output.columns([headers, *rows])
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in headers:
        table.add_column(column, justify="left" if column == "NAME" else "right")
    for row in rows:
        table.add_row(*row)
    output.table_console().print(table)
