"""`ksi pattern fork` (and, with the merge engine, merge, lineage and log)."""

from __future__ import annotations

from typing import Annotated, Any

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
    from ksi_patterns.cli import arguments
    from ksi_patterns.operations.forks import fork as run_fork
    from ksi_patterns.registry.registry import open_registry

    done = run_fork(
        open_registry(registry),
        parent,
        name,
        reason=reason,
        author=author,
        settings=arguments.settings(settings or []),
        switch=switch,
        caller=output.caller(),
    )
    if json:
        output.print_json({**done.to_json(), "switched": done.switched})
        return
    output.say(
        f"Forked {done.parent} as {done.name} on branch {done.branch} ({done.commit_id[:10]})."
    )
    if done.switched:
        hint = f"edit {done.path}, commit, then `ksi pattern diff {done.name}`"
        output.say(f"Switched to {done.branch}: {hint}.")
    elif done.stayed_because:
        output.note(f"note: stayed on the current branch: {done.stayed_because}")


def lineage(
    name: Annotated[str | None, typer.Argument(help="Show only this pattern's family.")] = None,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """The family tree of patterns: parents, forks, merges, versions and dates."""
    from ksi_patterns.operations.forks import lineage as family_tree
    from ksi_patterns.registry.registry import open_registry

    roots = family_tree(open_registry(registry), name)
    if json:
        output.print_json([root.to_json() for root in roots])
        return
    from rich.markup import escape
    from rich.tree import Tree

    def label(node: Any) -> str:
        parts = [f"[bold]{escape(node.name)}[/bold]" if node.name == name else escape(node.name)]
        if node.version:
            parts.append(escape(node.version))
        if node.where != "HEAD":
            parts.append(f"[cyan]on {escape(node.where)}[/cyan]")
        if node.fork_date:
            parts.append(f"[dim]forked {escape(node.fork_date[:10])}[/dim]")
        if node.merged_into_parent:
            dates = ", ".join(date[:10] for date in node.merged_into_parent)
            parts.append(f"[green]merged back {escape(dates)}[/green]")
        if node.releases:
            parts.append(f"[dim]releases {escape(', '.join(node.releases))}[/dim]")
        return "  ".join(parts)

    def grow(tree: Any, node: Any) -> None:
        for child in node.children:
            grow(tree.add(label(child)), child)

    for root in roots:
        tree = Tree(label(root))
        grow(tree, root)
        output.table_console().print(tree)


def log(
    name: Annotated[str, typer.Argument(help="Pattern whose history to show.")],
    ref: Annotated[str, typer.Option(help="Branch or commit to start from.")] = "HEAD",
    limit: Annotated[int | None, typer.Option("-n", help="At most this many commits.")] = None,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """The commits that changed a pattern's file, newest first."""
    from ksi_patterns.operations.reading import history
    from ksi_patterns.registry.registry import open_registry

    commits = history(open_registry(registry), name, ref=ref, limit=limit)
    if json:
        output.print_json(
            [
                {
                    "commit": c.id,
                    "author": c.author_name,
                    "date": c.date.isoformat(),
                    "message": c.message,
                }
                for c in commits
            ]
        )
        return
    for c in commits:
        subject = c.message.splitlines()[0] if c.message else ""
        output.plain_text(f"{c.short_id}  {c.date:%Y-%m-%d %H:%M}  {c.author_name:<16}  {subject}")
