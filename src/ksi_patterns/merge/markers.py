"""Conflict markers and line-based merges of text (the fallback, comments, blocks of text).

Markers are git's diff3 style, so editors and `git mergetool` recognise them:

    <<<<<<< ours
    (ours' lines)
    ||||||| base
    (base's lines)
    =======
    (theirs' lines)
    >>>>>>> theirs
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ksi_patterns.merge.diff3 import diff3
from ksi_patterns.merge.result import Conflict

Lines = list[str]

# The four lines of a diff3 marker block: <<<<<<< ours, ||||||| base, ======= and >>>>>>> theirs.
MARKER_LINE = re.compile(r"^(<{7}|\|{7}|={7}|>{7})(?: |$)", re.MULTILINE)
# A line that a previous, unresolved merge left behind. `=======` alone is a valid YAML scalar
# line in a block of text, so only the opening and closing markers count.
_LEFT_BEHIND = re.compile(r"^(<{7}|>{7})(?: |$)", re.MULTILINE)


@dataclass(frozen=True)
class Labels:
    ours: str = "ours"
    base: str = "base"
    theirs: str = "theirs"


def has_markers(text: str) -> bool:
    return _LEFT_BEHIND.search(text) is not None


def first_marker_line(text: str) -> int | None:
    """The 1-based line of the first marker an unresolved merge left in `text`, if any."""
    found = _LEFT_BEHIND.search(text)
    return None if found is None else text.count("\n", 0, found.start()) + 1


def take_side(text: str, side: str) -> str:
    """Resolve every marker block of `text` by taking `side` ("ours" or "theirs")."""
    out: list[str] = []
    section: str | None = None
    for line in text.splitlines(keepends=True):
        marker = MARKER_LINE.match(line)
        if marker:
            kind = marker.group(1)[0]
            section = {"<": "ours", "|": "base", "=": "theirs", ">": None}[kind]
            continue
        if section is None or section == side:
            out.append(line)
    return "".join(out)


def crlf_like(text: str, like: str) -> str:
    """`text` with Windows line ends when `like` (ours) uses them throughout: the markers and
    lines brought from a side written with Unix ends then match the rest of the file."""
    if "\r\n" not in like or like.count("\n") != like.count("\r\n"):
        return text
    return re.sub(r"(?<!\r)\n", "\r\n", text)


def terminated(lines: Lines) -> Lines:
    """The lines, each ending with a newline (a file's last line may lack one)."""
    return [line if line.endswith("\n") else line + "\n" for line in lines]


def marker_block(ours: Lines, base: Lines, theirs: Lines, labels: Labels) -> Lines:
    """The three versions of a stretch of text between markers (an empty list for a deletion)."""
    return [
        f"<<<<<<< {labels.ours}\n",
        *terminated(ours),
        f"||||||| {labels.base}\n",
        *terminated(base),
        "=======\n",
        *terminated(theirs),
        f">>>>>>> {labels.theirs}\n",
    ]


def entry_markers(ours: Lines, base: Lines, theirs: Lines, labels: Labels) -> Lines:
    """A marker block around whole entries; the blank lines after ours' stay outside it."""
    trailing = trailing_blanks(ours)
    return [
        *marker_block(
            ours[: len(ours) - len(trailing)],
            base[: len(base) - len(trailing_blanks(base))],
            theirs[: len(theirs) - len(trailing_blanks(theirs))],
            labels,
        ),
        *trailing,
    ]


def trailing_blanks(lines: Lines) -> Lines:
    count = 0
    while count < len(lines) and not lines[len(lines) - 1 - count].strip():
        count += 1
    return lines[len(lines) - count :]


def merge_lines(
    base: Lines, ours: Lines, theirs: Lines, labels: Labels | None
) -> tuple[Lines, list[tuple[Lines, Lines, Lines]]]:
    """Merge three versions of some lines; returns the lines and the overlapping hunks.

    With `labels`, an overlap is written as a marker block; without, ours' lines then theirs'
    are kept (for comments, where a duplicated line is better than a lost one or a marker).
    """
    out: Lines = []
    overlaps: list[tuple[Lines, Lines, Lines]] = []
    for chunk in diff3(base, ours, theirs):
        o = ours[chunk.ours[0] : chunk.ours[1]]
        t = theirs[chunk.theirs[0] : chunk.theirs[1]]
        if chunk.take == "ours":
            out += o
        elif chunk.take == "theirs":
            out += t
        else:
            b = base[chunk.base[0] : chunk.base[1]]
            overlaps.append((b, o, t))
            out += marker_block(o, b, t, labels) if labels else [*o, *t]
    return out, overlaps


def merge_texts(base: str, ours: str, theirs: str, labels: Labels) -> tuple[str, list[Conflict]]:
    """A line-based three-way merge of whole texts, for files the engine cannot read."""
    lines, overlaps = merge_lines(
        base.splitlines(keepends=True),
        ours.splitlines(keepends=True),
        theirs.splitlines(keepends=True),
        labels,
    )
    conflicts = [
        Conflict((), "line-overlap", "".join(b), "".join(o), "".join(t)) for b, o, t in overlaps
    ]
    return "".join(lines), conflicts
