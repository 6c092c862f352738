"""`ksi pattern merge`, `ksi registry merge` and `ksi merge-driver`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption
from ksi_patterns.errors import EXIT_FOUND

if TYPE_CHECKING:
    from ksi_patterns.operations.merges import Merged
    from ksi_patterns.registry.registry import Registry


class Side(StrEnum):
    ours = "ours"
    theirs = "theirs"


ContinueOption = Annotated[
    bool, typer.Option("--continue", help="Commit the merge after resolving its conflicts.")
]
AbortOption = Annotated[bool, typer.Option("--abort", help="Give up the merge in progress.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show the result; write nothing.")]


def pattern_merge(
    fork: Annotated[str | None, typer.Argument(help="The fork to merge back.")] = None,
    into: Annotated[
        str | None, typer.Option(help="Parent to merge into (default: lineage).")
    ] = None,
    branch: Annotated[str | None, typer.Option(help="Branch for the merge commit.")] = None,
    resolve: Annotated[Side | None, typer.Option(help="Settle every conflict this way.")] = None,
    dry_run: DryRunOption = False,
    continue_: ContinueOption = False,
    abort: AbortOption = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Merge a fork's improvements back into its parent (a real three-way merge)."""
    from ksi_patterns.operations.merges import merge_fork
    from ksi_patterns.registry.registry import open_registry

    found = open_registry(registry)
    if _finish(found, continue_, abort, json):
        return
    if fork is None:
        raise typer.BadParameter("name the fork to merge (or use --continue / --abort)")
    merged = merge_fork(
        found,
        fork,
        into=into,
        branch=branch,
        resolve=resolve.value if resolve else None,
        dry_run=dry_run,
        caller=output.caller(),
    )
    _report(merged, json)


def registry_merge(
    branch_to_merge: Annotated[
        str | None, typer.Argument(metavar="BRANCH", help="Branch (or commit) to merge in.")
    ] = None,
    into: Annotated[
        str | None, typer.Option("--into", help="Target branch (default: current).")
    ] = None,
    dry_run: DryRunOption = False,
    continue_: ContinueOption = False,
    abort: AbortOption = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Merge a whole branch, every file changed on both sides through the structural engine."""
    from ksi_patterns.operations.merges import merge_branch
    from ksi_patterns.registry.registry import open_registry

    found = open_registry(registry)
    if _finish(found, continue_, abort, json):
        return
    if branch_to_merge is None:
        raise typer.BadParameter("name the branch to merge (or use --continue / --abort)")
    _report(merge_branch(found, branch_to_merge, into=into, dry_run=dry_run), json)


def merge_driver(
    base: Annotated[Path, typer.Argument(help="%O: the common ancestor's version.")],
    current: Annotated[Path, typer.Argument(help="%A: ours; the result is written here.")],
    other: Annotated[Path, typer.Argument(help="%B: theirs.")],
    marker_size: Annotated[int, typer.Argument(help="%L (ignored: markers are 7 wide).")] = 7,
    pathname: Annotated[str | None, typer.Argument(help="%P: the file's path.")] = None,
) -> None:
    """git merge driver: `merge.ksi.driver = ksi merge-driver %O %A %B %L %P`."""
    from ksi_patterns.operations.merges import merge_files

    del marker_size
    merged = merge_files(base, current, other, pathname)
    shown = pathname or str(current)
    if merged.fallback:
        output.note(f"ksi merge-driver: {shown}: merged line by line ({merged.fallback})")
    if merged.conflicts:
        output.note(f"ksi merge-driver: {shown}: {merged.conflicts} conflict(s)")
        raise typer.Exit(EXIT_FOUND)


def _finish(found: Registry, continue_: bool, abort: bool, json: bool) -> bool:
    """Handle --continue / --abort; whether one of them was given."""
    from ksi_patterns.operations.merges import abort_merge, continue_merge

    if continue_ and abort:
        raise typer.BadParameter("--continue and --abort exclude each other")
    if abort:
        restored = abort_merge(found)
        output.print_json({"aborted": True, "restored": restored}) if json else output.say(
            f"Merge aborted; restored {', '.join(restored) or 'nothing'}."
        )
        return True
    if continue_:
        done = continue_merge(found, caller=output.caller())
        output.print_json({"commit": done.commit_id}) if json else output.say(
            f"Merged into {done.branch} ({done.commit_id[:10]})."
        )
        return True
    return False


def _report(merged: Merged, json: bool) -> None:
    if json:
        output.print_json(merged.to_json())
    else:
        _describe(merged)
    if not merged.clean:
        raise typer.Exit(EXIT_FOUND)


def _describe(merged: Merged) -> None:
    outcome, dry_run = merged.outcome, merged.dry_run
    plan = outcome.plan
    for path, why in sorted(plan.fallbacks.items()):
        output.note(f"{path}: merged line by line ({why})")
    if dry_run:
        for path, data in sorted(plan.changes.items()):
            output.say(f"[bold]--- {path}[/bold] ({'deleted' if data is None else 'merged'})")
            if data is not None:
                output.plain_text(data.decode("utf-8", errors="replace"))
    for path, found in sorted(plan.conflicts.items()):
        for conflict in found:
            record = conflict.to_json()
            where = f"{path}: {record['path']}" if record["path"] else path
            output.note(f"CONFLICT ({record['kind']}): {where}")
    if outcome.up_to_date:
        output.say("Already up to date.")
    elif outcome.commit_id:
        output.say(f"Merged into {plan.branch} ({outcome.commit_id[:10]}): {plan.message}.")
    elif outcome.stopped:
        output.note(
            "Fix the marked entries in the working tree, then run with --continue "
            "(or --abort to give up)."
        )
    elif dry_run:
        state = "clean" if plan.clean else f"{sum(map(len, plan.conflicts.values()))} conflict(s)"
        output.note(f"Dry run: {state}; nothing written.")
