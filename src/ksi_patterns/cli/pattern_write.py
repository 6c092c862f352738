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
    from ksi_patterns.documents.model import PATTERNS_DIR, PROFILES_DIR, stem
    from ksi_patterns.documents.schema import DocumentKind
    from ksi_patterns.documents.skeleton import skeleton
    from ksi_patterns.errors import UsageError
    from ksi_patterns.registry.registry import open_registry

    kind = DocumentKind.PROFILE if profile else DocumentKind.PATTERN
    if stdout:
        output.plain_text(
            skeleton(name, kind, author=author, extends=extends, description=description)
        )
        return
    found = open_registry(registry)
    defaults = found.config().get("defaults") or {}
    author = author or defaults.get("author")
    text = skeleton(name, kind, author=author, extends=extends, description=description)
    if name in {stem(path) for path, _blob in found.document_paths()}:
        raise UsageError(f"{name!r} already exists in the registry")
    path = f"{PROFILES_DIR if profile else PATTERNS_DIR}/{name}.yaml"
    root = found.store.root
    if root is None and not commit:
        raise UsageError("the registry is bare: use --commit (or --stdout)")
    if commit or root is None:
        result = found.store.commit({path: text.encode()}, f"new({name}): skeleton")
        output.say(f"Committed {path} ({result.commit_id[:10]}).")
        return
    target = root / path
    if target.exists():
        raise UsageError(f"{target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    output.say(f"Wrote {target}: edit it, then `git add` and commit.")


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
    from ksi_patterns.lineage.release import release as run_release
    from ksi_patterns.registry.registry import open_registry

    done = run_release(open_registry(registry), name, bump.value, branch=branch)
    if json:
        output.print_json(
            {
                "name": done.name,
                "old_version": done.old_version,
                "version": done.version,
                "tag": done.tag,
                "commit": done.commit_id,
            }
        )
        return
    output.say(
        f"Released {done.name} {done.old_version or '(none)'} -> {done.version}, tagged {done.tag}."
    )
    for path in done.skipped_worktree_paths:
        output.note(f"note: {path} has local changes; the working-tree copy was left alone")
