"""How commands speak: rich on a terminal, plain when piped, JSON on request, errors on stderr."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ksi_patterns.operations.caller import Caller


@cache
def stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@cache
def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@cache
def table_console() -> Console:
    """stdout for tables: piped output is never cut to the 80 columns rich assumes."""
    from rich.console import Console

    console = stdout()
    return console if console.is_terminal else Console(width=100_000, highlight=False)


def print_json(data: Any) -> None:
    """JSON alone on stdout, so that scripts can read it."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def say(message: str) -> None:
    """A line for the person at the terminal (stdout); markup allowed."""
    stdout().print(message)


def note(message: str) -> None:
    """Progress, warnings and hints: stderr, so that stdout stays clean for pipes."""
    if not sys.stderr.isatty():  # rich costs ~40 ms of start-up; a pipe gets plain text anyway
        sys.stderr.write(message + "\n")
        return
    stderr().print(message, markup=False)


def table(headers: list[str], rows: list[list[str]], *, width: int = 70) -> None:
    """Rows under headers: whole cells when piped, a rich table on a terminal where the last
    column (a description) is cut to `width` characters."""
    if not sys.stdout.isatty():
        columns([headers, *rows])
        return
    from rich.table import Table

    shown = Table(box=None, pad_edge=False, header_style="bold")
    for number, header in enumerate(headers):
        last = number == len(headers) - 1
        shown.add_column(header, no_wrap=not last, overflow="ellipsis")
    for row in rows:
        text = row[-1] if len(row[-1]) <= width else row[-1][: width - 1] + "…"
        shown.add_row(*row[:-1], text)
    table_console().print(shown)


def columns(rows: list[list[str]]) -> None:
    """A plain, aligned table for pipes: every cell whole, no colour, no rich import."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        sys.stdout.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


def relative_path(path: Path) -> str:
    """`path` as the user would type it from here: relative to the current folder when inside."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def caller() -> Caller:
    """The operations' view of a command: from the terminal, warnings on stderr."""
    from ksi_patterns.operations.caller import Caller

    return Caller(source="cli", warn=note)


def error(message: str) -> None:
    sys.stderr.write(f"ksi: error: {message}\n")


# The operations' field names that the command line spells otherwise; any other field `x_y` is
# the option `--x-y`.
FLAGS = {
    "settings": "--set",
    "kind": "--type",
    "agent_id": "--agent",
    "discovered_by": "--by",
    "metadata_filter": "--filter",
    "requirements": "--require",
    "count": "-n",
    "part": "--bump",
    "pattern": "NAME",
    "parent": "PARENT",
}


def flag_for(field: str) -> str:
    """How the command line names an operation's field."""
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def plain_text(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
