"""How commands speak: rich on a terminal, plain when piped, JSON on request, errors on stderr."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


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


def columns(rows: list[list[str]]) -> None:
    """A plain, aligned table for pipes: every cell whole, no colour, no rich import."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        sys.stdout.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


def error(message: str) -> None:
    sys.stderr.write(f"ksi: error: {message}\n")


def plain_text(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
