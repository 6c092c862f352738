"""One version of a document as the block walk sees it: its lines and its parsed node graph.

Every parsed node keeps its position (nodes.py), which is all we need to cut block containers
into entries: a key with its value, or a
list item, each with the comment block above it. Every positional assumption is checked; a
container whose layout is not what we expect is simply not cut (the merge then treats it as one
value), so odd formatting costs speed, never correctness.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ksi_patterns.documents.loading import check_alias_expansion
from ksi_patterns.documents.nesting import check_yaml_depth
from ksi_patterns.errors import InputError
from ksi_patterns.merge.nodes import (
    COMPOSE,
    COMPOSE_PURE,
    Unreadable,
    check_keys,
    is_block,
    key_step,
    scalar_identity,
)

Lines = list[str]


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def is_filler(line: str) -> bool:
    """A blank or comment-only line."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


@dataclass
class Entry:
    """A key with its value, or a list item, as lines of one version's text."""

    slot: Hashable  # the key's identity (maps) or the position (lists)
    key: Any  # the key as a path step
    node: Node  # the value (maps) or the item (lists)
    lead: int  # first line of the comment block directly above it
    line: int  # the line of the key, or of the item's dash
    end: int  # one past its last line
    column: int  # column of the key, or of the dash


@dataclass
class Layout:
    """A block container cut into entries: header lines, entries, trailing blank lines."""

    start: int
    end: int
    entries: list[Entry]
    tail: int  # first of the trailing blank lines (== end when none)
    prefix: str  # "  - " when the first entry shares its line with the dash of an outer item
    is_map: bool

    @property
    def header_end(self) -> int:
        return self.entries[0].lead


@dataclass
class Source:
    """One version: its text cut into lines, its node graph, and caches over both."""

    label: str
    text: str
    lines: Lines
    root: Node | None
    plain_only: bool  # aliases or merge keys: only the value walk can merge it
    _layouts: dict[int, Layout | None] = field(default_factory=dict)

    # -- reading ----------------------------------------------------------------------------------

    @classmethod
    def read(cls, text: str, label: str, source: str) -> Source:
        try:
            check_alias_expansion(text, source)
            # before composing: libyaml's compose recursion overflows the C stack
            check_yaml_depth(text, source)
        except InputError as err:
            if "alias" in err.message:
                raise Unreadable(f"aliases over the cap at {err.position}: {err.message}") from None
            raise Unreadable(f"not valid YAML: {err}") from None
        try:
            try:
                root = COMPOSE.compose(text)
            except YAMLError:
                # libyaml refuses a few things YAML 1.2 allows; the pure parser has the last word
                root = COMPOSE_PURE.compose(text)
        except YAMLError as err:
            raise Unreadable(f"not valid YAML: {_describe(err, source)}") from None
        except RecursionError:
            raise Unreadable(f"nested too deeply to parse ({source})") from None
        found = cls(label, text, text.splitlines(keepends=True), root, False)
        if root is not None:
            found.plain_only = check_keys(root, source)
        return found

    # -- layout -----------------------------------------------------------------------------------

    def layout(self, node: Node, start: int, end: int, *, top: bool = False) -> Layout | None:
        """The entries of a block container whose text is lines [start, end), or None."""
        key = id(node)
        if key not in self._layouts:
            self._layouts[key] = self._cut(node, start, end, top)
        return self._layouts[key]

    def _cut(self, node: Node, start: int, end: int, top: bool) -> Layout | None:
        if not is_block(node):
            return None
        if isinstance(node, MappingNode):
            slots = self._map_slots(node)
        elif isinstance(node, SequenceNode):
            slots = self._seq_slots(node)
        else:
            return None
        if not slots:
            return None
        columns = {column for _s, _k, _n, _line, column in slots}
        lines = [line for _s, _k, _n, line, _c in slots]
        if len(columns) != 1 or lines != sorted(set(lines)) or lines[0] < start or lines[-1] >= end:
            return None
        column = columns.pop()
        prefix = ""
        first_text = self.lines[lines[0]][:column]
        if first_text.strip():
            if lines[0] != start or first_text.replace("-", " ").strip():
                return None  # only an outer list's dashes may precede the first key
            prefix = first_text
        leads = []
        floor = start
        for index, line in enumerate(lines):
            first_in_region = index == 0 and (top or line == start)
            leads.append(line if first_in_region else self._lead(line, column, floor))
            floor = line + 1
        closing = self._document_end(lines[-1] + 1, end) if top else end
        tail = closing
        while tail > lines[-1] + 1 and not self.lines[tail - 1].strip():
            tail -= 1
        if _keeps_trailing_blanks(self.lines, _last_scalar(slots[-1][2])):
            tail = closing
        entries = [
            Entry(
                slot,
                key,
                value,
                leads[i],
                lines[i],
                leads[i + 1] if i + 1 < len(lines) else tail,
                column,
            )
            for i, (slot, key, value, _line, _c) in enumerate(slots)
        ]
        return Layout(start, end, entries, tail, prefix, isinstance(node, MappingNode))

    def _document_end(self, after: int, end: int) -> int:
        """Where a closing `...` (and what follows it) starts, else `end`: it must stay last,
        not travel with the last entry when the other side appends after it."""
        for index in range(end - 1, after - 1, -1):
            text = self.lines[index].rstrip()
            if text == "..." or text.startswith("... "):
                return index
            if text and not text.startswith("#"):
                break
        return end

    def _map_slots(self, node: MappingNode) -> list[tuple[Hashable, Any, Node, int, int]] | None:
        slots = []
        for key_node, value in node.value:
            if not isinstance(key_node, ScalarNode):
                return None
            line, column = key_node.start_mark.line, key_node.start_mark.column
            before = self.lines[line][:column] if line < len(self.lines) else "?"
            if "?" in before or ":" in before:  # explicit `? key` or something unexpected
                return None
            slots.append((scalar_identity(key_node), key_step(key_node), value, line, column))
        return slots

    def _seq_slots(self, node: SequenceNode) -> list[tuple[Hashable, Any, Node, int, int]] | None:
        slots: list[tuple[Hashable, Any, Node, int, int]] = []
        for index, item in enumerate(node.value):
            dash = self._dash(item)
            if dash is None:
                return None
            slots.append((index, index, item, *dash))
        return slots

    def _dash(self, item: Node) -> tuple[int, int] | None:
        """(line, column) of the `-` that opens a block list item."""
        line, column = item.start_mark.line, item.start_mark.column
        if line >= len(self.lines):
            return None
        before = self.lines[line][:column].rstrip()
        if before.endswith("-"):
            return line, len(before) - 1
        if before:
            return None
        for above in range(line - 1, -1, -1):  # `-` alone (or with a comment) above the item
            text = self.lines[above]
            if is_filler(text):
                continue
            content = text.split(" #", 1)[0].rstrip()
            if content.strip() == "-":
                return above, len(content) - 1
            return None
        return None

    def _lead(self, line: int, column: int, floor: int) -> int:
        """First line of the comment block directly above `line` (blank lines above it stay
        with the entry before)."""
        start = line
        while start - 1 >= floor:
            above = self.lines[start - 1]
            if not is_filler(above) or (above.strip() and indent_of(above) > column):
                break
            start -= 1
        while start < line and not self.lines[start].strip():
            start += 1
        return start

    # -- text of entries --------------------------------------------------------------------------

    def entry_lines(self, layout: Layout, entry: Entry, first: int, column: int) -> Lines:
        """Lines [first, entry.end) of `entry`, moved to `column`, an outer dash blanked out."""
        lines = self.lines[first : entry.end]
        if layout.prefix and first <= layout.entries[0].line < entry.end:
            at = layout.entries[0].line - first
            lines[at] = " " * len(layout.prefix) + lines[at][len(layout.prefix) :]
        return shift(lines, column - entry.column)


def shift(lines: Lines, delta: int) -> Lines:
    """The lines moved right (or left) by `delta` columns; blank lines stay as they are."""
    if delta == 0:
        return list(lines)
    if delta > 0:
        pad = " " * delta
        return [pad + line if line.strip() else line for line in lines]
    return [line[min(-delta, indent_of(line)) :] if line.strip() else line for line in lines]


def _last_scalar(node: Node) -> Node:
    """The node whose text ends a container's text."""
    while isinstance(node, MappingNode | SequenceNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    return node


def _keeps_trailing_blanks(lines: Lines, node: Node) -> bool:
    """A `|+` or `>+` block keeps its trailing blank lines: they are part of its value."""
    if not isinstance(node, ScalarNode) or node.style not in ("|", ">"):
        return False
    line, column = node.start_mark.line, node.start_mark.column
    header = lines[line][column:].split("#", 1)[0].split()
    return bool(header) and "+" in header[0]


def _describe(err: YAMLError, source: str) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    if context and not context.startswith("while"):  # "expected a single document ..."
        problem = f"{context}, {problem}"
    if isinstance(err, MarkedYAMLError) and mark is not None:
        return f"{problem} at {source}:{mark.line + 1}:{mark.column + 1}"
    return f"{problem} ({source})"


@dataclass(frozen=True)
class Side:
    """An entry of one version, with what is needed to read its text."""

    source: Source
    layout: Layout
    entry: Entry

    def lines(self, column: int, *, lead: bool = True) -> Lines:
        first = self.entry.lead if lead else self.entry.line
        return self.source.entry_lines(self.layout, self.entry, first, column)

    def lead(self, column: int) -> Lines:
        return self.lines(column)[: self.entry.line - self.entry.lead]
