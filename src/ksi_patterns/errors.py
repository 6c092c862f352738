"""The errors users see. Every one maps to an exit code and prints as one line."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FOUND = 1  # validation errors, conflicts, diff --exit-code: the command's job found something
EXIT_USAGE = 2  # bad usage or bad input


@dataclass(frozen=True)
class Position:
    """A place in a file; line and column are 1-based, as editors show them."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"


class KsiError(Exception):
    """An error with a message meant for the user; the CLI prints it without a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, position: Position | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.position}: {self.message}" if self.position else self.message


class InputError(KsiError):
    """A file we were given cannot be read: not UTF-8, too large, not YAML, hostile."""


class UsageError(KsiError):
    """The command line asks for something that cannot be done as asked."""


class NotFoundError(KsiError):
    """A pattern, reference, file or registry does not exist."""


class ConflictError(KsiError):
    """A write lost a race it cannot retry (a branch or tag created by someone else)."""
