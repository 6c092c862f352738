"""`ksi pattern fork` (and, with the merge engine, merge, lineage and log)."""

from __future__ import annotations

from typing import Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption


def fork(
    parent: Annotated[str, typer.Argument(help="The pattern to fork.")],
    name: Annotated[str, typer.Option("--as", help="Name of the fork.", show_default=False)],
    reason: Annotated[str, typer.Option(help="Why this fork exists (kept in its lineage).")],
    author: Annotated[
        str | None, typer.Option(help="Who forks (default: registry default).")
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="PATH=VALUE applied in the same commit; VALUE is YAML or @file."
        ),
    ] = None,
    switch: Annotated[
        bool, typer.Option(help="Switch the working tree to the fork's branch.")
    ] = True,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Fork a pattern: branch fork/NAME with a copy that records its lineage."""
    from ksi_patterns.lineage import fork as run_fork
    from ksi_patterns.lineage import parse_setting
    from ksi_patterns.registry import open_registry

    parsed = [parse_setting(text) for text in settings or []]
    done = run_fork(
        open_registry(registry),
        parent,
        name,
        reason=reason,
        author=author,
        settings=parsed,
        switch=switch,
    )
    if json:
        output.print_json(
            {
                "name": done.name,
                "parent": done.parent,
                "path": done.path,
                "branch": done.branch,
                "commit": done.commit_id,
                "switched": done.switched,
            }
        )
        return
    output.say(
        f"Forked {done.parent} as {done.name} on branch {done.branch} ({done.commit_id[:10]})."
    )
    if done.switched:
        hint = f"edit {done.path}, commit, then `ksi pattern diff {done.name}`"
        output.say(f"Switched to {done.branch}: {hint}.")
    elif done.stayed_because:
        output.note(f"note: stayed on the current branch: {done.stayed_because}")
