"""`ksi pattern list` and `ksi pattern show`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption


def list_patterns(
    kind: Annotated[
        str | None, typer.Option("--type", help="orchestration, profile or decision-log.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only documents with this tag (repeatable).")
    ] = None,
    ref: Annotated[str, typer.Option(help="Branch, tag or commit to list.")] = "HEAD",
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """List the patterns, profiles and decision logs of the registry."""
    from ksi_patterns.operations.finding import list_documents
    from ksi_patterns.registry.registry import open_registry

    rows = list_documents(
        open_registry(registry), kind=kind, tags=tag or (), ref=ref, caller=output.caller()
    )
    if json:
        output.print_json([row.to_json() for row in rows])
        return
    if not rows:
        output.note("No documents match.")
        return
    output.table(
        ["NAME", "TYPE", "VERSION", "TAGS", "DESCRIPTION"],
        [[r.name, r.kind, r.version or "", ", ".join(r.tags), r.description] for r in rows],
    )


def show(
    reference: Annotated[
        str, typer.Argument(metavar="REF", help="NAME, NAME@X.Y.Z, NAME@<rev>, or a file.")
    ],
    resolved: Annotated[
        bool, typer.Option(help="Apply `extends`: the parents' fields as defaults.")
    ] = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Show a pattern or profile as YAML (or JSON)."""
    from ksi_patterns.operations.reading import show as read
    from ksi_patterns.registry.registry import opener

    shown = read(opener(registry), reference, resolved=resolved, files=True)
    if json:
        output.print_json(shown.data)
        return
    if resolved:
        from ksi_patterns.documents.loading import block_yaml

        _print_yaml(block_yaml(shown.data))
    else:
        _print_yaml(shown.text)


def _print_yaml(text: str) -> None:
    if not sys.stdout.isatty():
        output.plain_text(text)
        return
    console = output.stdout()
    from rich.syntax import Syntax

    console.print(
        Syntax(text, "yaml", theme="ansi_dark", background_color="default", word_wrap=True)
    )
