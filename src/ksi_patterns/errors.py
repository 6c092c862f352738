"""The errors users see. Every one maps to an exit code and prints as one line.

Errors raised below the faces name the field of the request they are about, never a flag: the
same operation may have been asked for on a command line (`--insight`), in an event's data
(`'insight'`) or as a tool argument. The message holds `{field}` where that name goes, and each
face words it for its users with `worded()`; `str()` uses the field's own name.
"""

from __future__ import annotations

from collections.abc import Callable
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

    def __init__(
        self, message: str, position: Position | None = None, *, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.template = message
        self.position = position
        self.field = field

    @property
    def message(self) -> str:
        """The message with the field's own name."""
        return self.worded(lambda field: field)

    def worded(self, word_for: Callable[[str], str]) -> str:
        """The message with the field named as a face calls it (`--insight`, `'insight'`)."""
        if self.field is None:
            return self.template
        return self.template.replace("{field}", word_for(self.field))

    def __str__(self) -> str:
        return f"{self.position}: {self.message}" if self.position else self.message

    def shown(self, word_for: Callable[[str], str]) -> str:
        """The one line a face prints: the position, then the worded message."""
        text = self.worded(word_for)
        return f"{self.position}: {text}" if self.position else text


class InputError(KsiError):
    """A file we were given cannot be read: not UTF-8, too large, not YAML, hostile."""


class UsageError(KsiError):
    """The command line asks for something that cannot be done as asked."""


class NotFoundError(KsiError):
    """A pattern, reference, file or registry does not exist."""


class ConflictError(KsiError):
    """A write lost a race it cannot retry (a branch or tag created by someone else)."""
