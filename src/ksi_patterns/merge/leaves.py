"""Entries both sides changed that cannot be cut further: merged as values, written back.

Two ways:
- A literal block of text (`strategy: |`) in all three versions is merged line by line over the
  file's own lines, so unchanged lines (trailing spaces included) stay byte-identical, and an
  overlap gets its markers right around the overlapping lines inside the block.
- Anything else: the entry's text in each version is loaded on its own as a small round-trip
  document, the values are merged (values.py), and ours' small document is rendered with the
  result, so ours' comments and quoting survive around the change.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.nodes import ScalarNode

from ksi_patterns.documents.loading import RoundTrip, Style, detect_style, load_roundtrip
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError
from ksi_patterns.merge.diff3 import diff3
from ksi_patterns.merge.markers import Labels, entry_markers, marker_block
from ksi_patterns.merge.nodes import node_value, tag_of
from ksi_patterns.merge.policies import MergePolicies
from ksi_patterns.merge.result import MISSING, Conflict, Path
from ksi_patterns.merge.source import Lines, Side, indent_of, shift
from ksi_patterns.merge.values import ValueMerge, exact_floats

_STR_TAG = "tag:yaml.org,2002:str"


class Leaves:
    def __init__(
        self, ours_text: str, policies: MergePolicies, labels: Labels, conflicts: list[Conflict]
    ) -> None:
        self._ours_text = ours_text
        self._style: Style | None = None
        self.policies = policies
        self.labels = labels
        self.conflicts = conflicts

    @property
    def style(self) -> Style:
        """Ours' style, for anything written afresh (detected once, only when needed)."""
        if self._style is None:
            self._style = detect_style(self._ours_text)
        return self._style

    def merge(self, path: Path, b: Side | None, o: Side, t: Side, column: int) -> Lines:
        """The merged entry's lines (from its key or dash on), conflicts recorded."""
        if b is not None:
            text = _TextBlocks(self, path, b, o, t, column).merge()
            if text is not None:
                return text
        return self._values(path, b, o, t, column)

    def _values(self, path: Path, b: Side | None, o: Side, t: Side, column: int) -> Lines:
        loaded = [_load(side) for side in (b, o, t)]
        doc_b, doc_o, doc_t = loaded
        if doc_o is None or doc_t is None or (b is not None and doc_b is None):
            return self._unreadable(path, b, o, t, column)
        values = ValueMerge(self.policies)
        merged = values.merge(
            _value(doc_b) if doc_b is not None else MISSING, _value(doc_o), _value(doc_t), path
        )
        if values.conflicts:
            self.conflicts.extend(values.conflicts)
            return self.markers(b, o, t, column)
        merged = exact_floats(merged)  # ours' floats too: render may write them afresh
        tree = doc_o.tree
        slot = next(iter(tree)) if isinstance(tree, dict) else 0
        if merged is not tree[slot]:
            tree[slot] = merged
        doc_o.style = self.style
        return shift(render(doc_o).splitlines(keepends=True), column)

    def _unreadable(self, path: Path, b: Side | None, o: Side, t: Side, column: int) -> Lines:
        """An entry that does not load on its own (it should): a conflict, never a guess."""
        self.conflicts.append(
            Conflict(
                path,
                "both-modified",
                node_value(b.entry.node) if b is not None else MISSING,
                node_value(o.entry.node),
                node_value(t.entry.node),
            )
        )
        return self.markers(b, o, t, column)

    def markers(self, b: Side | None, o: Side, t: Side, column: int) -> Lines:
        return entry_markers(
            o.lines(column, lead=False),
            b.lines(column, lead=False) if b is not None else [],
            t.lines(column, lead=False),
            self.labels,
        )


def _load(side: Side | None) -> RoundTrip | None:
    """The entry as a one-entry document (`key: value` or `- item`), or None."""
    if side is None:
        return None
    text = "".join(side.lines(0, lead=False))
    try:
        doc = load_roundtrip(text, side.source.label)
    except InputError:
        return None
    if not isinstance(doc.tree, dict | list) or len(doc.tree) != 1:
        return None
    return doc


def _value(doc: RoundTrip) -> Any:
    tree = doc.tree
    return tree[next(iter(tree))] if isinstance(tree, dict) else tree[0]


class _Block:
    """A literal block scalar as lines of one version's text."""

    def __init__(self, side: Side, column: int) -> None:
        self.ok = False
        node = side.entry.node
        if not isinstance(node, ScalarNode) or node.style != "|" or tag_of(node) != _STR_TAG:
            return
        self.body = side.lines(column, lead=False)
        header = node.start_mark.line - side.entry.line
        if not 0 <= header < len(self.body):
            return
        indicator = self.body[header][node.start_mark.column + column - side.entry.column :]
        self.indicator = indicator.split("#", 1)[0].strip()
        if self.indicator not in ("|", "|-"):
            return  # keep (`|+`) and explicit indentation are left to the value merge
        end = node.end_mark.line + (1 if node.end_mark.column else 0) - side.entry.line
        end = min(end, len(self.body))
        while end > header + 1 and not self.body[end - 1].strip():
            end -= 1
        self.header_end, self.content_end = header + 1, end
        content = self.body[header + 1 : end]
        filled = [line for line in content if line.strip()]
        if not filled:
            return
        self.indent = indent_of(filled[0])
        if any(indent_of(line) < self.indent for line in filled):
            return
        self.raw = content
        self.text = [_content(line, self.indent) for line in content]
        chomped = "\n".join(self.text) + ("\n" if self.indicator == "|" else "")
        self.ok = chomped == node.value


def _content(line: str, indent: int) -> str:
    line = line.rstrip("\n").rstrip("\r")
    return line[indent:] if len(line) > indent else ""


class _TextBlocks:
    """Line merge of a literal block scalar that both sides changed."""

    def __init__(self, leaves: Leaves, path: Path, b: Side, o: Side, t: Side, column: int):
        self.leaves, self.path = leaves, path
        self.blocks = [_Block(side, column) for side in (b, o, t)]

    def merge(self) -> Lines | None:
        base, ours, theirs = self.blocks
        if not all(block.ok for block in self.blocks):
            return None
        if len({block.indicator for block in self.blocks}) != 1:
            return None
        raw = [shift(block.raw, ours.indent - block.indent) for block in self.blocks]
        content: Lines = []
        found: list[Conflict] = []
        first_text: str | None = None
        for chunk in diff3(base.text, ours.text, theirs.text):
            if chunk.take == "conflict":
                spans = (chunk.base, chunk.ours, chunk.theirs)
                b_raw, o_raw, t_raw = (r[s[0] : s[1]] for r, s in zip(raw, spans, strict=True))
                b_txt, o_txt, t_txt = (
                    "\n".join(block.text[s[0] : s[1]])
                    for block, s in zip(self.blocks, spans, strict=True)
                )
                found.append(Conflict(self.path, "line-overlap", b_txt, o_txt, t_txt))
                content += marker_block(o_raw, b_raw, t_raw, self.leaves.labels)
                if first_text is None:
                    first_text = ""
                continue
            which = 1 if chunk.take == "ours" else 2
            span = chunk.ours if which == 1 else chunk.theirs
            taken = self.blocks[which].text[span[0] : span[1]]
            if first_text is None:
                first_text = next((line for line in taken if line), None)
            content += raw[which][span[0] : span[1]]
        if not content or (first_text is not None and first_text.startswith(" ")):
            return None  # empty or now starting with spaces: the block header would change
        self.leaves.conflicts.extend(found)
        head = ours.body[: ours.header_end]
        rest = ours.body[ours.content_end :]
        return [*head, *content, *rest]  # a last line without newline is fixed by the caller
