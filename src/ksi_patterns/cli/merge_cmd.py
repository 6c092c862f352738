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
    from ksi_patterns.lineage.merging import Outcome
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
    from ksi_patterns.composition.plugins import announce, merged
    from ksi_patterns.lineage.fork_merge import Request, merge_fork
    from ksi_patterns.registry.registry import open_registry

    found = open_registry(registry)
    if _finish(found, continue_, abort, json):
        return
    if fork is None:
        raise typer.BadParameter("name the fork to merge (or use --continue / --abort)")
    request = Request(fork, into, branch, resolve.value if resolve else None)
    outcome = merge_fork(found, request, dry_run=dry_run)
    if outcome.commit_id:
        announce(found, "composition:merged", merged(fork, outcome), warn=output.note)
    _report(outcome, dry_run, json)


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
    from ksi_patterns.lineage.branch_merge import merge_branch
    from ksi_patterns.registry.registry import open_registry

    found = open_registry(registry)
    if _finish(found, continue_, abort, json):
        return
    if branch_to_merge is None:
        raise typer.BadParameter("name the branch to merge (or use --continue / --abort)")
    _report(merge_branch(found.store, branch_to_merge, branch=into, dry_run=dry_run), dry_run, json)


def merge_driver(
    base: Annotated[Path, typer.Argument(help="%O: the common ancestor's version.")],
    current: Annotated[Path, typer.Argument(help="%A: ours; the result is written here.")],
    other: Annotated[Path, typer.Argument(help="%B: theirs.")],
    marker_size: Annotated[int, typer.Argument(help="%L (ignored: markers are 7 wide).")] = 7,
    pathname: Annotated[str | None, typer.Argument(help="%P: the file's path.")] = None,
) -> None:
    """git merge driver: `merge.ksi.driver = ksi merge-driver %O %A %B %L %P`."""
    from ksi_patterns.lineage.branch_merge import run_driver

    del marker_size
    conflicts, fallback = run_driver(base, current, other, pathname)
    shown = pathname or str(current)
    if fallback:
        output.note(f"ksi merge-driver: {shown}: merged line by line ({fallback})")
    if conflicts:
        output.note(f"ksi merge-driver: {shown}: {conflicts} conflict(s)")
        raise typer.Exit(EXIT_FOUND)


def _finish(found: Registry, continue_: bool, abort: bool, json: bool) -> bool:
    """Handle --continue / --abort; whether one of them was given."""
    from ksi_patterns.lineage import merge_state
    from ksi_patterns.lineage.fork_merge import continue_fork_merge
    from ksi_patterns.lineage.merging import abort_merge, continue_merge

    if continue_ and abort:
        raise typer.BadParameter("--continue and --abort exclude each other")
    if abort:
        restored = abort_merge(found.store)
        output.print_json({"aborted": True, "restored": restored}) if json else output.say(
            f"Merge aborted; restored {', '.join(restored) or 'nothing'}."
        )
        return True
    if continue_:
        state = merge_state.require(found.store)
        if state.kind == "pattern":
            from ksi_patterns.composition.changes import merged_fields
            from ksi_patterns.composition.plugins import announce

            commit = continue_fork_merge(found)
            data = merged_fields(state.extra["fork"], state.branch, commit, state.extra)
            announce(found, "composition:merged", data, warn=output.note)
        else:
            commit = continue_merge(found.store)
        output.print_json({"commit": commit}) if json else output.say(
            f"Merged into {state.branch} ({commit[:10]})."
        )
        return True
    return False


def _report(outcome: Outcome, dry_run: bool, json: bool) -> None:
    plan = outcome.plan
    conflicts = [
        {"file": path, **conflict.to_json()}
        for path, found in sorted(plan.conflicts.items())
        for conflict in found
    ]
    if json:
        output.print_json(
            {
                "clean": plan.clean,
                "commit": outcome.commit_id,
                "dry_run": dry_run,
                "up_to_date": outcome.up_to_date,
                "changed": sorted(plan.changes),
                "fallbacks": plan.fallbacks,
                "conflicts": conflicts,
            }
        )
    else:
        _describe(outcome, dry_run)
    if not plan.clean:
        raise typer.Exit(EXIT_FOUND)


def _describe(outcome: Outcome, dry_run: bool) -> None:
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
