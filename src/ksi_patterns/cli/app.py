"""The `ksi` command: sub-command groups, and the one place errors become exit codes.

Typer builds its click command from every registered function's signature on each start, which
costs more than all our own imports. So a group's commands (and their modules) are registered
only when that group is run: `ksi pattern list` builds the pattern group alone, and `ksi --help`
only the group headings. `register_all()` builds everything (for tests and documentation).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from ksi_patterns import __version__
from ksi_patterns.cli import output
from ksi_patterns.errors import KsiError

app = typer.Typer(
    name="ksi",
    help="Keep, evolve and share LLM orchestration patterns in a git-backed registry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
registry_app = typer.Typer(help="Create, import, merge and share registries.", no_args_is_help=True)
pattern_app = typer.Typer(help="Read, write, release and validate patterns.", no_args_is_help=True)
orchestrate_app = typer.Typer(
    help="Orchestrator sessions: run, list, replay.", no_args_is_help=True
)
event_app = typer.Typer(
    help="Events: emit one through the registry's handlers, read the log, list handlers.",
    no_args_is_help=True,
)
schema_app = typer.Typer(help="The JSON Schemas ksi validates with.", no_args_is_help=True)
remote_app = typer.Typer(help="Remotes the registry is shared through.", no_args_is_help=True)
# One command, made a group so that `ksi --help` lists it while its options are built only when
# it runs (see _mcp_command).
mcp_app = typer.Typer(
    help="Serve the registry over MCP, for agent hosts (Claude Code, ...).", subcommand_metavar=""
)
app.add_typer(registry_app, name="registry")
app.add_typer(pattern_app, name="pattern")
app.add_typer(orchestrate_app, name="orchestrate")
app.add_typer(event_app, name="event")
app.add_typer(schema_app, name="schema")
app.add_typer(mcp_app, name="mcp")
registry_app.add_typer(remote_app, name="remote")


def _registry_commands() -> None:
    from ksi_patterns.cli import merge_cmd, registry_cmd, sync_cmd

    registry_app.command("init")(registry_cmd.init)
    registry_app.command("import")(registry_cmd.import_folder)
    registry_app.command("info")(registry_cmd.info)
    registry_app.command("merge")(merge_cmd.registry_merge)
    registry_app.command("clone")(sync_cmd.clone)
    registry_app.command("push")(sync_cmd.push)
    registry_app.command("pull")(sync_cmd.pull)
    registry_app.command("sync")(sync_cmd.sync)
    remote_app.command("add")(sync_cmd.remote_add)
    remote_app.command("list")(sync_cmd.remote_list)
    remote_app.command("remove")(sync_cmd.remote_remove)


def _pattern_commands() -> None:
    from ksi_patterns.cli import (
        diff_cmd,
        evolution_cmd,
        find_cmd,
        lineage_cmd,
        lint_cmd,
        merge_cmd,
        pattern_read,
        pattern_write,
        validate_cmd,
    )

    pattern_app.command("list")(pattern_read.list_patterns)
    pattern_app.command("show")(pattern_read.show)
    pattern_app.command("new")(pattern_write.new)
    pattern_app.command("release")(pattern_write.release)
    pattern_app.command("validate")(validate_cmd.validate)
    pattern_app.command("fork")(lineage_cmd.fork)
    pattern_app.command("diff")(diff_cmd.diff)
    pattern_app.command("lineage")(lineage_cmd.lineage)
    pattern_app.command("log")(lineage_cmd.log)
    pattern_app.command("merge")(merge_cmd.pattern_merge)
    pattern_app.command("discover")(find_cmd.discover)
    pattern_app.command("select")(find_cmd.select)
    pattern_app.command("track-decision")(evolution_cmd.track_decision)
    pattern_app.command("decisions")(evolution_cmd.decisions)
    pattern_app.command("learn")(evolution_cmd.learn)
    pattern_app.command("record-run")(evolution_cmd.record_run)
    pattern_app.command("lint")(lint_cmd.lint)


def _orchestrate_commands() -> None:
    from ksi_patterns.cli import orchestrate_cmd

    orchestrate_app.command("run")(orchestrate_cmd.run)
    orchestrate_app.command("sessions")(orchestrate_cmd.sessions)
    orchestrate_app.command("show")(orchestrate_cmd.show)


def _event_commands() -> None:
    from ksi_patterns.cli import event_cmd

    event_app.command("emit")(event_cmd.emit)
    event_app.command("log")(event_cmd.log)
    event_app.command("handlers")(event_cmd.handlers)


def _schema_commands() -> None:
    from ksi_patterns.cli import schema_cmd

    schema_app.command("export")(schema_cmd.export)


def _mcp_command() -> None:
    import inspect

    from ksi_patterns.cli import mcp_cmd

    about = inspect.getdoc(mcp_cmd.mcp)  # a callback's help is not cleaned as a command's is
    mcp_app.callback(invoke_without_command=True, help=about)(mcp_cmd.mcp)


def _merge_driver_command() -> None:
    from ksi_patterns.cli import merge_cmd

    app.command("merge-driver", hidden=True)(merge_cmd.merge_driver)


_GROUPS: dict[str, Callable[[], None]] = {
    "registry": _registry_commands,
    "pattern": _pattern_commands,
    "orchestrate": _orchestrate_commands,
    "event": _event_commands,
    "schema": _schema_commands,
    "mcp": _mcp_command,
    "merge-driver": _merge_driver_command,
}
_registered: set[str] = set()


def register(group: str) -> None:
    """Register one group's commands (once)."""
    if group in _GROUPS and group not in _registered:
        _registered.add(group)
        _GROUPS[group]()


def register_all() -> None:
    for group in _GROUPS:
        register(group)


def _requested_group(argv: list[str]) -> str | None:
    """The group a command line runs: its first word that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def _version(value: bool) -> None:
    if value:
        output.plain_text(f"ksi {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Keep, evolve and share LLM orchestration patterns in a git-backed registry."""


def main() -> None:
    group = _requested_group(sys.argv[1:])
    if group in _GROUPS:
        register(group)
    elif group is not None:
        register_all()  # an unknown word: let click say so, with the full list of commands
    try:
        app()
    except KsiError as err:
        output.error(err.shown(output.flag_for))
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `ksi pattern list | head`
        sys.stderr.close()
        sys.exit(0)
