"""One version of a document as the block walk sees it: its lines and its parsed node graph.

The C parser composes the node graph fast (no round-trip objects) and every node keeps its
position, which is all we need to cut block containers into entries: a key with its value, or a
list item, each with the comment block above it. Every positional assumption is checked; a
container whose layout is not what we expect is simply not cut (the merge then treats it as one
value), so odd formatting costs speed, never correctness.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from ksi_patterns.documents import check_alias_expansion
from ksi_patterns.errors import InputError

Lines = list[str]


class _Resolver(VersionedResolver):
    """ruamel's resolver, minus a costly version lookup made for every scalar (a third of the
    parse time). Tags here only tell values apart, so YAML 1.2 rules for every file are fine."""

    @property
    def processing_version(self) -> Any:
        return (1, 2)


def _composer(*, pure: bool) -> YAML:
    yaml = YAML(typ="safe", pure=pure)
    yaml.Resolver = _Resolver
    return yaml


_COMPOSE = _composer(pure=False)
_COMPOSE_PURE = _composer(pure=True)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
# The walks recurse; real documents nest a dozen levels. Deeper input is merged as text.
MAX_DEPTH = 200


class Unreadable(Exception):
    """The document cannot be merged structurally; the message says why (for `fallback`)."""


class _TextDates(SafeConstructor):
    """Dates as written (conflict records show what the file says)."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        return self.construct_scalar(node)


_TextDates.add_constructor("tag:yaml.org,2002:timestamp", _TextDates.construct_yaml_timestamp)
_CONSTRUCT = YAML(typ="safe", pure=True)
_CONSTRUCT.Constructor = _TextDates


def node_value(node: Node) -> Any:
    """The plain Python value of a parsed node (for conflict records)."""
    return _CONSTRUCT.constructor.construct_document(node)


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
        except InputError as err:
            if "alias" in err.message:
                raise Unreadable(f"aliases over the cap at {err.position}: {err.message}") from None
            raise Unreadable(f"not valid YAML: {err}") from None
        try:
            try:
                root = _COMPOSE.compose(text)
            except YAMLError:
                # libyaml refuses a few things YAML 1.2 allows; the pure parser has the last word
                root = _COMPOSE_PURE.compose(text)
        except YAMLError as err:
            raise Unreadable(f"not valid YAML: {_describe(err, source)}") from None
        except RecursionError:
            raise Unreadable(f"nested too deeply to parse ({source})") from None
        found = cls(label, text, text.splitlines(keepends=True), root, False)
        if root is not None:
            found.plain_only = _check_keys(root, source)
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
            slots.append((scalar_identity(key_node), _key_step(key_node), value, line, column))
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


def canon(node: Node, memo: dict[int, Hashable]) -> Hashable:
    """Equal for equal data whatever the quoting or layout (memoised per node in `memo`)."""
    found = memo.get(id(node))
    if found is not None:
        return found
    if isinstance(node, ScalarNode):
        made: Hashable = scalar_identity(node)
    elif isinstance(node, SequenceNode):
        made = ("seq", tag_of(node), tuple(canon(item, memo) for item in node.value))
    else:
        made = (
            "map",
            tag_of(node),
            frozenset((canon(k, memo), canon(v, memo)) for k, v in node.value),
        )
    memo[id(node)] = made
    return made


def tag_of(node: Node) -> str:
    """A node's tag as text. `node.tag` URI-decodes on every call, which costs more than the
    parse itself on large files; a resolved tag is already plain text."""
    tag = node.ctag
    if tag is None:
        return ""
    if tag.handle is None and isinstance(tag.suffix, str):
        return tag.suffix
    return str(tag)


def is_block(node: Node | None) -> bool:
    return isinstance(node, MappingNode | SequenceNode) and not node.flow_style


def scalar_identity(node: ScalarNode) -> Hashable:
    tag = tag_of(node)
    if tag == _NULL_TAG:
        return ("null",)
    if tag == _BOOL_TAG:
        return (tag, str(node.value).lower())
    return (tag, node.value)


def _key_step(node: ScalarNode) -> Any:
    """A key as a path step: text, or a number when the file wrote a number."""
    if tag_of(node) == "tag:yaml.org,2002:int":
        try:
            return int(node.value)
        except ValueError:
            return node.value
    return node.value


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


def _check_keys(root: Node, source: str) -> bool:
    """Refuse duplicate keys; True when aliases or merge keys make the document plain-only."""
    seen: set[int] = set()
    plain_only = False
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            plain_only = True  # the same node reached twice: an alias
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH:
            mark = node.start_mark
            where = f"{source}:{mark.line + 1}:{mark.column + 1}"
            raise Unreadable(f"nested deeper than {MAX_DEPTH} levels at {where}")
        if isinstance(node, MappingNode):
            texts: set[Any] = set()
            for key_node, value in node.value:
                stack.append((key_node, depth + 1))
                stack.append((value, depth + 1))
                if not isinstance(key_node, ScalarNode):
                    plain_only = True  # a map or list as a key: only the value walk takes it
                    continue
                if key_node.value == "<<" and tag_of(key_node) == _MERGE_TAG:
                    plain_only = True
                if key_node.value in texts:  # rare: only then are tags worth comparing
                    others = {
                        scalar_identity(k)
                        for k, _v in node.value
                        if isinstance(k, ScalarNode) and k is not key_node
                    }
                    if scalar_identity(key_node) in others:
                        mark = key_node.start_mark
                        raise Unreadable(
                            f"duplicate key {key_node.value!r} at "
                            f"{source}:{mark.line + 1}:{mark.column + 1}"
                        )
                texts.add(key_node.value)
        elif isinstance(node, SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
    return plain_only


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
