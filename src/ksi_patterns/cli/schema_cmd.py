"""`ksi schema export DIR`: the shipped JSON Schemas, for editors and other validators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption


def export(
    directory: Annotated[Path, typer.Argument(help="Folder to write the schemas into.")],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite schema files that differ.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Write the JSON Schemas ksi validates with into DIR (created if missing)."""
    from ksi_patterns.operations.schemas import export_schemas

    done = export_schemas(directory, force=force)
    written, unchanged = done.written, done.unchanged
    if json:
        output.print_json({"written": written, "unchanged": unchanged})
        return
    for path in written:
        output.say(f"wrote {path}")
    for path in unchanged:
        output.say(f"unchanged {path}")
