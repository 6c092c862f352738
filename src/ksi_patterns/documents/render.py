"""Write an edited round-trip tree back over its original text, touching only what changed.

ruamel's emitter does not reproduce real files byte for byte (PyYAML-folded scalars, trailing
spaces on blank lines, mixed sequence indents in one file), so we never re-emit a whole document.
Instead the original text is cut into entries (a key with its value, a sequence item) and each
entry of the edited tree is either copied verbatim (unchanged), rebuilt from its children
(a block container edited inside), or emitted afresh in the file's style (new or changed).

Entries are found through ruamel's line records, which keep the positions of the original parse.
A comment block directly above a key belongs to that key: it moves and disappears with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from ksi_patterns.documents.loading import Origin, RoundTrip, dump_roundtrip, to_plain

Lines = list[str]

# A block scalar header at the end of its line: `|`, `>`, indentation and chomping indicators.
_BLOCK_INDICATOR = re.compile(r"(?<=[\s:-])([|>])([1-9]?)([+-]?)([1-9]?)(\s*(?:#.*)?)$")


def render(doc: RoundTrip) -> str:
    """The text of `doc.tree`; byte-identical to `doc.text` wherever the tree was not edited."""
    origin = doc.origins.get(id(doc.tree))
    if origin is None or origin.node is not doc.tree or not _is_block(doc.tree):
        return dump_roundtrip(doc.tree, doc.style, start=doc.text)
    if _same(to_plain(doc.tree), origin.plain):
        return doc.text
    lines = doc.text.splitlines(keepends=True)
    writer = _Writer(doc, lines)
    body = writer.container(doc.tree, 0, len(lines), top=True)
    if not lines[-1].endswith("\n") and body and body[-1] is not lines[-1]:
        writer.strip_unterminated_block(body)
    return "".join(_terminated(body))


def _same(a: Any, b: Any) -> bool:
    """Plain values equal as written: maps with their keys in the same order, and `1`, `1.0` and
    `true` all different (Python's == would let such an edit go unwritten)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    return bool(a == b) or (a != a and b != b)  # NaN is itself


def _terminated(lines: Lines) -> Lines:
    """Every line but the last ends with a newline (spliced pieces may lack one)."""
    return [
        line if line.endswith("\n") or index == len(lines) - 1 else line + "\n"
        for index, line in enumerate(lines)
    ]


def _is_block(node: Any) -> bool:
    # `is False`: an empty `{}` or `[]` has no style at all (None), and is no block to splice into
    return isinstance(node, CommentedMap | CommentedSeq) and node.fa.flow_style() is False


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_filler(line: str) -> bool:
    """A blank or comment-only line."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


class _Writer:
    def __init__(self, doc: RoundTrip, lines: Lines) -> None:
        self.doc_tree = doc.tree
        self.origins = doc.origins
        self.style = doc.style
        self.lines = lines
        self._fresh: list[Lines] = []  # entries emitted afresh, by identity

    # -- slots: the (line, column) where each original key or item starts --------------------

    def _slots(self, node: Any) -> list[tuple[Any, int, int]]:
        origin = self.origins[id(node)]
        if isinstance(node, CommentedMap):
            keys = origin.plain.keys() if isinstance(origin.plain, dict) else []
            found = [(key, *node.lc.data[key][:2]) for key in node.lc.data if key in keys]
        else:
            found = [(index, *node.lc.data[index][:2]) for index in range(len(origin.plain))]
            found = [(index, line, self._dash_column(line, col)) for index, line, col in found]
        return sorted(found, key=lambda slot: slot[1])

    def _dash_column(self, line: int, value_column: int) -> int:
        text = self.lines[line]
        dash = text.rfind("-", 0, value_column)
        return dash if dash >= 0 else value_column

    def _lead_start(self, line: int, column: int, floor: int) -> int:
        """First line of the comment block directly above `line` (not crossing `floor`)."""
        start = line
        while start - 1 >= floor:
            above = self.lines[start - 1]
            if not _is_filler(above) or (above.strip() and _indent_of(above) > column):
                break
            start -= 1
        while (
            start < line and not self.lines[start].strip()
        ):  # blank lines stay with the entry above
            start += 1
        return start

    # -- a file that ends inside a block scalar, without a line break --------------------------

    def strip_unterminated_block(self, body: Lines) -> None:
        """The file ended inside a `|` or `>` block without a final line break, so that scalar had
        no trailing newline. Now that lines follow it, it gets one: mark its header `-` (strip)
        so that its value stays what it was."""
        header = self._final_block_header()
        if header is None:
            return
        for index, line in enumerate(body):
            if line is self.lines[header]:
                text = line.rstrip("\n")
                fixed = _BLOCK_INDICATOR.sub(
                    lambda m: f"{m[1]}{m[2] or m[4]}-{m[5]}", text, count=1
                )
                body[index] = fixed + line[len(text) :]
                return

    def _final_block_header(self) -> int | None:
        """The line holding the header of the block scalar that ends the original text."""
        node = self.doc_tree
        while True:
            origin = self.origins.get(id(node))
            if not node or origin is None or origin.node is not node:
                return None
            slots = self._slots(node)
            if not slots:
                return None
            slot, line, _column = slots[-1]
            if isinstance(node, CommentedMap) and slot not in node:
                return None
            if isinstance(node, CommentedSeq) and not 0 <= slot < len(node):
                return None
            child = node[slot]
            if isinstance(child, CommentedMap | CommentedSeq):
                if not _is_block(child):
                    return None
                node = child
                continue
            return line if isinstance(child, LiteralScalarString | FoldedScalarString) else None

    # -- containers -----------------------------------------------------------------------------

    def container(self, node: Any, start: int, end: int, *, top: bool = False) -> Lines:
        """Lines [start, end) of the original text, rewritten to hold the edited `node`."""
        slots = self._slots(node)
        if not slots:
            return self.lines[start:end]
        bounds: dict[Any, tuple[int, int, int]] = {}  # slot -> (lead start, line, own end)
        floor = start
        leads = []
        for index, (_slot, line, column) in enumerate(slots):
            lead = line if (index == 0 and top) else self._lead_start(line, column, floor)
            leads.append(lead)
            floor = line + 1
        for index, (slot, line, _column) in enumerate(slots):
            own_end = leads[index + 1] if index + 1 < len(slots) else end
            bounds[slot] = (leads[index], line, own_end)
        header = self.lines[start : leads[0]]
        first_line = slots[0][1]
        column = slots[0][2]
        prefix = self.lines[first_line][:column]  # "  - " when the container opens a list item

        origin = self.origins[id(node)]
        entries: list[Lines] = []
        if isinstance(node, CommentedMap):
            emitted: dict[Any, Lines] = {}
            for key, value in node.items():
                entries.append(self._map_entry(node, origin, key, value, bounds, column))
                emitted[key] = entries[-1]
            self._keep_separators_of_deleted(slots, emitted, bounds)
        else:
            entries.extend(self._seq_entries(node, origin, bounds, column))

        if prefix.strip():
            entries = _move_prefix(entries, prefix, column)
        entries = _blank_lines_after_appended(entries, fresh_ids={id(e) for e in self._fresh})
        tail_end = max(own for _lead, _line, own in bounds.values())
        return header + [line for entry in entries for line in entry] + self.lines[tail_end:end]

    def _keep_separators_of_deleted(
        self,
        slots: list[tuple[Any, int, int]],
        emitted: dict[Any, Lines],
        bounds: dict[Any, tuple[int, int, int]],
    ) -> None:
        """A deleted entry's closing blank lines stay, closing the entry now before them."""
        previous: Lines | None = None
        for slot, _line, _column in slots:
            if slot in emitted:
                previous = emitted[slot]
                continue
            _lead, line, own_end = bounds[slot]
            blanks = _trailing_blanks(self.lines[line:own_end])
            if previous is not None and blanks and previous and previous[-1].strip():
                previous.extend(blanks)

    def _map_entry(
        self,
        node: CommentedMap,
        origin: Origin,
        key: Any,
        value: Any,
        bounds: dict[Any, tuple[int, int, int]],
        column: int,
    ) -> Lines:
        if key not in bounds:
            return self._fresh_entry({key: value}, column, mapping=True)
        lead, line, own_end = bounds[key]
        old = origin.plain[to_plain(key)]
        if _same(to_plain(value), old):
            return self.lines[lead:own_end]
        if self._same_slot(value, node, key) and to_plain(value) != {} and to_plain(value) != []:
            return self.lines[lead:line] + self.container(value, line, own_end)
        fresh = self._fresh_entry({key: value}, column, mapping=True)
        fresh = self._keep_eol_comment(node, key, old, fresh)
        return self.lines[lead:line] + fresh + self._trailing_fillers(line, own_end, old)

    def _seq_entries(
        self,
        node: CommentedSeq,
        origin: Origin,
        bounds: dict[Any, tuple[int, int, int]],
        column: int,
    ) -> list[Lines]:
        entries: list[Lines] = []
        used: set[int] = set()
        cursor = 0
        for item in node:
            index = self._original_index(node, origin, item, used, cursor)
            if index is None:
                entries.append(self._fresh_entry([item], column, mapping=False))
                continue
            used.add(index)
            cursor = index + 1
            lead, line, own_end = bounds[index]
            if _same(to_plain(item), origin.plain[index]):
                entries.append(self.lines[lead:own_end])
            elif to_plain(item) not in ({}, []):
                entries.append(self.lines[lead:line] + self.container(item, line, own_end))
            else:
                entries.append(self._fresh_entry([item], column, mapping=False))
        return entries

    def _original_index(
        self, node: CommentedSeq, origin: Origin, item: Any, used: set[int], cursor: int
    ) -> int | None:
        """Which original item `item` is: the same container, or an equal scalar further on."""
        if isinstance(item, dict | list):
            found = self.origins.get(id(item))
            if found and found.node is item and found.parent_id == id(node) and _is_block(item):
                slot = found.slot
                return slot if isinstance(slot, int) and slot not in used else None
            return None
        plain = to_plain(item)
        for index in range(cursor, len(origin.plain)):
            if index not in used and _same(origin.plain[index], plain):
                return index
        return None

    def _same_slot(self, value: Any, parent: Any, slot: Any) -> bool:
        found = self.origins.get(id(value))
        return (
            found is not None
            and found.node is value
            and found.parent_id == id(parent)
            and found.slot == slot
            and _is_block(value)
        )

    # -- fresh text -------------------------------------------------------------------------------

    def _fresh_entry(
        self, wrapper: dict[Any, Any] | list[Any], column: int, *, mapping: bool
    ) -> Lines:
        container: Any = CommentedMap(wrapper) if mapping else CommentedSeq(wrapper)
        text = dump_roundtrip(container, self.style)
        lines = text.splitlines(keepends=True)
        shift = _indent_of(lines[0]) if lines else 0
        fresh = [_reindent(line, shift, column) for line in lines]
        self._fresh.append(fresh)
        return fresh

    def _keep_eol_comment(self, node: CommentedMap, key: Any, old: Any, fresh: Lines) -> Lines:
        """A changed one-line value keeps the comment at the end of its line."""
        if len(fresh) != 1 or isinstance(old, dict | list):
            return fresh
        tokens = node.ca.items.get(key)
        token = tokens[2] if tokens and len(tokens) > 2 else None
        if token is None:
            return fresh
        comment = token.value.split("\n", 1)[0].strip()
        if not comment.startswith("#"):
            return fresh
        body = fresh[0].rstrip("\n")
        padding = max(1, token.column - len(body))
        return [f"{body}{' ' * padding}{comment}\n"]

    def _trailing_fillers(self, line: int, own_end: int, old: Any) -> Lines:
        """Comment lines after a replaced value, unless the value was a block of text."""
        if isinstance(old, str) and "\n" in old:
            return []
        keep: Lines = []
        for text in reversed(self.lines[line + 1 : own_end]):
            if not _is_filler(text):
                break
            keep.insert(0, text)
        return keep


def _trailing_blanks(lines: Lines) -> Lines:
    count = 0
    while count < len(lines) - 1 and not lines[len(lines) - 1 - count].strip():
        count += 1
    return lines[len(lines) - count :] if count else []


def _reindent(line: str, shift: int, column: int) -> str:
    if not line.strip():
        return line
    return " " * column + line[min(shift, _indent_of(line)) :]


def _blank_lines_after_appended(entries: list[Lines], fresh_ids: set[int]) -> list[Lines]:
    """A blank line that closed the last original entry keeps closing the block after additions.

    Only for entries appended at the end: an entry inserted between two original ones leaves
    the blank line where it was, so that every original entry keeps its exact text (a merge
    would otherwise see the entry before it as changed)."""
    result = [list(entry) for entry in entries]
    for index in range(1, len(result)):
        if any(id(entry) not in fresh_ids for entry in entries[index:]):
            continue
        before = result[index - 1]
        blanks: Lines = []
        while len(before) > 1 and not before[-1].strip():
            blanks.insert(0, before.pop())
        result[index].extend(blanks)
    return result


def _move_prefix(entries: Sequence[Lines], prefix: str, column: int) -> list[Lines]:
    """Keep a list item's "- " on the first line of its map, whichever entry now comes first."""
    moved = []
    seen_first = False
    for entry in entries:
        entry = list(entry)
        for index, line in enumerate(entry):
            if _is_filler(line):
                continue
            if not seen_first:
                entry[index] = prefix + line[column:]
                seen_first = True
            elif line[:column] == prefix:
                entry[index] = " " * column + line[column:]
            break
        moved.append(entry)
    return moved
