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
    from ksi_patterns.documents.resources import schemas_dir
    from ksi_patterns.errors import UsageError

    sources = sorted(schemas_dir().glob("*.json"))
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a folder")
    plan: list[tuple[Path, bytes]] = []
    unchanged: list[str] = []
    different: list[str] = []
    for source in sources:
        data = source.read_bytes()
        target = directory / source.name
        if target.is_file() and target.read_bytes() == data:
            unchanged.append(str(target))
            continue
        if target.exists() and not target.is_file():
            raise UsageError(f"{target} exists and is not a file")
        if target.exists():
            different.append(str(target))
        plan.append((target, data))
    if different and not force:
        raise UsageError(
            f"{', '.join(different)} already exist(s) with other content; "
            "nothing written (--force to overwrite)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for target, data in plan:
        target.write_bytes(data)
    written = [str(target) for target, _ in plan]
    if json:
        output.print_json({"written": written, "unchanged": unchanged})
        return
    for path in written:
        output.say(f"wrote {path}")
    for path in unchanged:
        output.say(f"unchanged {path}")
