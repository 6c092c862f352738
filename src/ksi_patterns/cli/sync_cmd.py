"""`ksi registry clone | remote | push | pull | sync`: sharing a registry through a git remote."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption
from ksi_patterns.errors import EXIT_FOUND

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from ksi_patterns.registry.registry import Registry
    from ksi_patterns.remote.remotes import PushResult
    from ksi_patterns.remote.sync import PullResult

RemoteArgument = Annotated[
    str | None,
    typer.Argument(metavar="[REMOTE]", help="Remote name (default: origin, or the only one)."),
]
TagsOption = Annotated[bool, typer.Option("--tags", help="Push every tag too (releases).")]
UnrelatedOption = Annotated[
    bool,
    typer.Option(
        "--allow-unrelated-histories",
        help="Merge a remote branch that shares no commit with ours (refused otherwise).",
    ),
]


class _Bars:
    """Transfer progress as rich bars on stderr; made only when stderr is a terminal."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def progress(self, phase: str, done: int, total: int, nbytes: int) -> None:
        task = self._tasks.get(phase)
        if task is None:
            task = self._progress.add_task(phase, total=total or None, size="")
            self._tasks[phase] = task
        size = f"{nbytes / 1024:,.0f} KiB" if nbytes else ""
        self._progress.update(task, completed=done, total=total or None, size=size)


def progress_bars(console: Console) -> Progress:
    """The bars transfers show: phase, bar, objects done of total, bytes received or sent."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[size]}"),
        console=console,
        transient=True,
    )


@contextlib.contextmanager
def _listener() -> Iterator[_Bars | None]:
    """Progress bars on a terminal (stderr); nothing when stderr is piped."""
    if not sys.stderr.isatty():
        yield None
        return
    with progress_bars(output.stderr()) as bars:
        yield _Bars(bars)


def _open(registry: Path | None) -> Registry:
    from ksi_patterns.registry.registry import open_registry

    return open_registry(registry)


# ---------------------------------------------------------------------------------------------
# clone and remotes


def clone(
    url: Annotated[str, typer.Argument(help="Where the registry is: URL or path.")],
    directory: Annotated[
        Path | None, typer.Argument(help="New folder (default: named after the URL).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Clone a shared registry; its YAML files merge through ksi's structural engine."""
    from ksi_patterns.operations.sharing import clone as run_clone

    with _listener() as listener:
        facts = run_clone(url, directory, listener=listener).to_json()
    if json:
        output.print_json(facts)
        return
    output.say(
        f"Cloned {facts['url']} into {facts['location']} (branch {facts['branch']}, "
        f"{facts['documents']} documents); YAML merges go through ksi's structural engine."
    )


def remote_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. origin.")],
    url: Annotated[str, typer.Argument(help="URL or path of the shared registry.")],
    registry: RegistryOption = None,
) -> None:
    """Add a remote to push to and pull from."""
    from ksi_patterns.operations.sharing import add_remote

    added = add_remote(_open(registry), name, url)
    output.say(f"Added remote {added.name}: {added.url}")
    if added.url != url and "@" in url:
        output.note(
            "warning: the URL holds a secret, kept in clear in the repository config; "
            "prefer KSI_GIT_TOKEN or a git credential helper"
        )


def remote_list(registry: RegistryOption = None, json: JsonOption = False) -> None:
    """The remotes, with their URLs (passwords and tokens hidden)."""
    from ksi_patterns.operations.sharing import list_remotes

    found = list_remotes(_open(registry))
    if json:
        output.print_json([remote.to_json() for remote in found])
        return
    if not found:
        output.note("No remotes: add one with `ksi registry remote add origin URL`.")
        return
    rows = [[r.name, r.url + (f" (push: {r.push_url})" if r.push_url else "")] for r in found]
    output.columns(rows)


def remote_remove(
    name: Annotated[str, typer.Argument(help="The remote to forget.")],
    registry: RegistryOption = None,
) -> None:
    """Forget a remote (its remote-tracking branches go with it)."""
    from ksi_patterns.operations.sharing import remove_remote

    remove_remote(_open(registry), name)
    output.say(f"Removed remote {name}.")


# ---------------------------------------------------------------------------------------------
# push, pull, sync


def push(
    remote: RemoteArgument = None,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Branch to push (default: current).")
    ] = None,
    all_branches: Annotated[bool, typer.Option("--all", help="Push every branch.")] = False,
    tags: TagsOption = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Push the current branch (or --branch B, or --all) to a remote; never forced."""
    from ksi_patterns.operations.sharing import push as run_push

    if branch and all_branches:
        raise typer.BadParameter("--branch and --all exclude each other")
    with _listener() as listener:
        result = run_push(
            _open(registry),
            remote,
            branch=branch,
            all_branches=all_branches,
            tags=tags,
            listener=listener,
        )
    if json:
        output.print_json(result.to_json())
    else:
        _describe_push(result)
    if not result.ok:
        raise result.error()


def pull(
    remote: RemoteArgument = None,
    allow_unrelated_histories: UnrelatedOption = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Fetch, then merge the remote's branch into the current one (structurally)."""
    from ksi_patterns.operations.sharing import pull as run_pull

    with _listener() as listener:
        result = run_pull(
            _open(registry),
            remote,
            listener=listener,
            allow_unrelated_histories=allow_unrelated_histories,
        )
    if json:
        output.print_json(result.to_json())
    else:
        _describe_pull(result)
    if result.stopped:
        raise typer.Exit(EXIT_FOUND)


def sync(
    remote: RemoteArgument = None,
    tags: TagsOption = False,
    allow_unrelated_histories: UnrelatedOption = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Pull, then push; pulls and pushes again (a few times) if the remote moved meanwhile."""
    from ksi_patterns.operations.sharing import sync as run_sync

    with _listener() as listener:
        result = run_sync(
            _open(registry),
            remote,
            tags=tags,
            listener=listener,
            allow_unrelated_histories=allow_unrelated_histories,
        )
    if json:
        output.print_json(result.to_json())
    else:
        for pulled in result.pulls:
            _describe_pull(pulled, pushing=True)
        if result.push is not None:
            _describe_push(result.push)
    if result.pull.stopped:
        raise typer.Exit(EXIT_FOUND)
    if result.push is not None and not result.push.ok:
        raise result.push.error()


def _describe_pull(result: PullResult, *, pushing: bool = False) -> None:
    short = (result.new or "")[:10]
    count = len(result.fetched.updates)
    if count:
        output.note(f"Fetched {count} ref update(s) from {result.remote} ({result.fetched.url}).")
    for path, why in sorted(result.fallbacks.items()):
        output.note(f"{path}: merged line by line ({why})")
    for path in result.skipped_worktree:
        output.note(f"warning: {path}: your copy differs; the commit has the pulled version")
    if result.action == "no-remote-branch":
        output.say(f"{result.remote} has no branch {result.branch} yet: nothing to pull.")
    elif result.action == "up-to-date":
        output.say(f"{result.branch} is up to date with {result.tracking}.")
    elif result.action == "fast-forward":
        output.say(
            f"Fast-forwarded {result.branch} to {result.tracking} ({short}): "
            f"{len(result.changed)} file(s) changed."
        )
    elif result.action == "merged":
        output.say(
            f"Merged {result.tracking} into {result.branch} ({short}): "
            f"{len(result.changed)} file(s) merged structurally."
        )
    else:
        for record in result.conflict_records():
            where = f"{record['file']}: {record['path']}" if record["path"] else record["file"]
            output.note(f"CONFLICT ({record['kind']}): {where}")
        nothing = " Nothing was pushed." if pushing else ""
        output.note(
            f"The pull stopped on conflicts: fix the marked entries in the working tree, then "
            f"`ksi registry merge --continue` (or `--abort` to give up).{nothing}"
        )


def _describe_push(result: PushResult) -> None:
    if not result.ok:
        return  # the error says what was refused and what to do
    if not result.updates:
        output.say(f"{result.remote} is up to date: nothing to push.")
        return
    for update in result.updates:
        ref = update.ref.removeprefix("refs/heads/")
        old = (update.old or "")[:10] or "(new)"
        output.say(f"Pushed {ref} to {result.remote}: {old} -> {(update.new or '')[:10]}")
