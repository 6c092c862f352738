"""`ksi pattern new` and `ksi pattern release`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption


class BumpPart(StrEnum):
    major = "major"
    minor = "minor"
    patch = "patch"


def new(
    name: Annotated[str, typer.Argument(help="Name of the new pattern (also its file name).")],
    profile: Annotated[
        bool, typer.Option("--profile", help="A profile instead of a pattern.")
    ] = False,
    extends: Annotated[
        str | None, typer.Option(help="Parent whose fields are the defaults.")
    ] = None,
    description: Annotated[str | None, typer.Option(help="One line saying what it is for.")] = None,
    author: Annotated[
        str | None, typer.Option(help="Author (default: the registry's default).")
    ] = None,
    commit: Annotated[
        bool, typer.Option("--commit", help="Commit it instead of writing the file.")
    ] = False,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print it; touch nothing.")] = False,
    registry: RegistryOption = None,
) -> None:
    """Start a new pattern (or profile) from a valid, commented skeleton."""
    from ksi_patterns.operations.authoring import new as start
    from ksi_patterns.operations.authoring import skeleton_text
    from ksi_patterns.registry.registry import open_registry

    if stdout:
        text = skeleton_text(
            name, profile=profile, author=author, extends=extends, description=description
        )
        output.plain_text(text)
        return
    created = start(
        open_registry(registry),
        name,
        profile=profile,
        author=author,
        extends=extends,
        description=description,
        commit=commit,
    )
    if created.commit_id is not None:
        output.say(f"Committed {created.path} ({created.commit_id[:10]}).")
    else:
        output.say(f"Wrote {created.file}: edit it, then `git add` and commit.")


def release(
    name: Annotated[str, typer.Argument(help="Pattern or profile to release.")],
    bump: Annotated[
        BumpPart, typer.Option(help="Which part of the version to raise.")
    ] = BumpPart.patch,
    branch: Annotated[
        str | None, typer.Option(help="Branch to release from (default: current).")
    ] = None,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Bump the version in a commit and tag it NAME@X.Y.Z."""
    from ksi_patterns.operations.authoring import release as run_release
    from ksi_patterns.registry.registry import open_registry

    done = run_release(open_registry(registry), name, bump.value, branch=branch)
    if json:
        output.print_json(done.to_json())
        return
    output.say(
        f"Released {done.name} {done.old_version or '(none)'} -> {done.version}, tagged {done.tag}."
    )
    for path in done.skipped_worktree_paths:
        output.note(f"note: {path} has local changes; the working-tree copy was left alone")
