"""The structural walk over block containers, producing the merged text piece by piece.

Each block map or list is cut into entries (source.py). An entry that one side left as base had
it becomes the other side's text, verbatim: comments, quoting and spacing included, moved to
ours' indentation. Only entries both sides changed are looked into: a block container is walked
again one level down; anything else (a scalar, a flow collection) is a leaf, merged as a value
(leaves.py). So the cost follows the size of what changed on both sides, and every line nobody
touched comes out byte for byte.
"""

from __future__ import annotations

from collections.abc import Hashable

from ruamel.yaml.nodes import MappingNode

from ksi_patterns.merge.diff3 import diff3
from ksi_patterns.merge.identity import identify
from ksi_patterns.merge.leaves import Leaves
from ksi_patterns.merge.markers import Labels, entry_markers, merge_lines
from ksi_patterns.merge.nodes import NodeView, canon, is_block, node_value, tag_of
from ksi_patterns.merge.order import merge_order, union_order
from ksi_patterns.merge.policies import (
    AppendUnion,
    AtomicPolicy,
    Keyed,
    MergePolicies,
    SetPolicy,
)
from ksi_patterns.merge.result import MISSING, Conflict, Path
from ksi_patterns.merge.source import Layout, Lines, Side, Source, is_filler

_START = ("start of the map",)  # the anchor of keys theirs put before any key ours has


class _OrderClash(Exception):
    """Both sides reordered a keyed list differently: the whole list is in conflict."""


class BlockMerge:
    """Merge three documents whose roots are block containers of the same kind."""

    def __init__(
        self,
        base: Source,
        ours: Source,
        theirs: Source,
        policies: MergePolicies,
        labels: Labels,
    ) -> None:
        self.base, self.ours, self.theirs = base, ours, theirs
        self.policies = policies
        self.labels = labels
        self.conflicts: list[Conflict] = []
        self.memo: dict[int, Hashable] = {}
        self.view = NodeView(self.memo)
        self.leaves = Leaves(ours.text, policies, labels, self.conflicts)

    def run(self) -> str | None:
        """The merged text, or None when the documents are not block containers alike."""
        sources = (self.base, self.ours, self.theirs)
        roots = [source.root for source in sources]
        if any(source.plain_only or not is_block(source.root) for source in sources):
            return None
        if len({type(root) for root in roots}) != 1:
            return None
        found = [
            source.layout(root, 0, len(source.lines), top=True)
            for source, root in zip(sources, roots, strict=True)
            if root is not None
        ]
        layouts = [layout for layout in found if layout is not None]
        if len(layouts) != len(sources):
            return None
        lay_b, lay_o, lay_t = layouts
        header, _ = merge_lines(
            self.base.lines[: lay_b.header_end],
            self.ours.lines[: lay_o.header_end],
            self.theirs.lines[: lay_t.header_end],
            None,
        )
        try:
            body, count = self._children(
                (), (self.base, lay_b), (self.ours, lay_o), (self.theirs, lay_t)
            )
        except _OrderClash:
            return None  # the value walk reports it against the whole document
        if count == 0:
            return None  # everything deleted: let the value walk write an empty document
        tail = self.ours.lines[lay_o.tail : lay_o.end]
        lines = _terminated([*header, *body, *tail])
        text = "".join(lines)
        if self.ours.text.endswith("\n") and not text.endswith("\n"):
            text += "\n"
        return text

    # -- containers -------------------------------------------------------------------------------

    def _children(
        self,
        path: Path,
        base: tuple[Source, Layout] | None,
        ours: tuple[Source, Layout],
        theirs: tuple[Source, Layout],
    ) -> tuple[Lines, int]:
        """The merged entries of a container (lines, and how many entries they hold)."""
        column = ours[1].entries[0].column
        sides_b = [Side(base[0], base[1], e) for e in base[1].entries] if base else []
        sides_o = [Side(ours[0], ours[1], e) for e in ours[1].entries]
        sides_t = [Side(theirs[0], theirs[1], e) for e in theirs[1].entries]
        if ours[1].is_map:
            return self._map_entries(path, sides_b, sides_o, sides_t, column)
        return self._seq_entries(path, sides_b, sides_o, sides_t, column)

    def _map_entries(
        self,
        path: Path,
        sides_b: list[Side],
        sides_o: list[Side],
        sides_t: list[Side],
        column: int,
    ) -> tuple[Lines, int]:
        by_b = {s.entry.slot: s for s in sides_b}
        by_o = {s.entry.slot: s for s in sides_o}
        by_t = {s.entry.slot: s for s in sides_t}
        # Theirs' new keys go after the key theirs has before them that ours has too (ours'
        # keys first when both sides wrote the map anew); one pass, no list insertions.
        after: dict[Hashable, list[Hashable]] = {}
        anchor: Hashable = _START
        for side in sides_t:
            slot = side.entry.slot
            if slot in by_o:
                anchor = slot
            else:
                after.setdefault(anchor, []).append(slot)
        order: list[Hashable] = list(after.get(_START, [])) if sides_b else []
        for side in sides_o:
            order.append(side.entry.slot)
            order += after.get(side.entry.slot, [])
        if not sides_b:
            order += after.get(_START, [])
        out: Lines = []
        count = 0
        for slot in order:
            b, o, t = by_b.get(slot), by_o.get(slot), by_t.get(slot)
            named = o or t or b
            assert named is not None  # every slot comes from ours or theirs
            lines = self._entry((*path, named.entry.key), b, o, t, column)
            count += bool(lines)
            out += lines
        return out, count

    def _seq_entries(
        self,
        path: Path,
        sides_b: list[Side],
        sides_o: list[Side],
        sides_t: list[Side],
        column: int,
    ) -> tuple[Lines, int]:
        found = identify(
            self.policies.for_path(path),
            [s.entry.node for s in sides_b],
            [s.entry.node for s in sides_o],
            [s.entry.node for s in sides_t],
            self.view,
        )
        if found.mode == "positional":
            return self._positional(
                path, sides_b, sides_o, sides_t, found.base, found.ours, found.theirs, column
            )
        by_b = dict(zip(found.base, sides_b, strict=True))
        by_o = dict(zip(found.ours, sides_o, strict=True))
        by_t = dict(zip(found.theirs, sides_t, strict=True))
        wanted = {
            key
            for key in [*found.ours, *found.theirs]
            if self._survives(by_b.get(key), by_o.get(key), by_t.get(key))
        }
        if found.mode == "union":
            order = union_order(found.ours, found.theirs, wanted)
        else:
            order, clash = merge_order(found.base, found.ours, found.theirs, wanted)
            if clash:
                raise _OrderClash
        out: Lines = []
        count = 0
        for key in order:
            lines = self._entry((*path, count), by_b.get(key), by_o.get(key), by_t.get(key), column)
            count += bool(lines)
            out += lines
        return out, count

    def _positional(
        self,
        path: Path,
        sides_b: list[Side],
        sides_o: list[Side],
        sides_t: list[Side],
        ids_b: list[Hashable],
        ids_o: list[Hashable],
        ids_t: list[Hashable],
        column: int,
    ) -> tuple[Lines, int]:
        out: Lines = []
        count = 0
        for chunk in diff3(ids_b, ids_o, ids_t):
            b = sides_b[chunk.base[0] : chunk.base[1]]
            o = sides_o[chunk.ours[0] : chunk.ours[1]]
            t = sides_t[chunk.theirs[0] : chunk.theirs[1]]
            if chunk.take == "ours":
                taken = o
            elif chunk.take == "theirs":
                taken = t
            elif len(b) == len(o) == len(t):  # the same items edited on both sides
                for x, y, z in zip(b, o, t, strict=True):
                    lines = self._entry((*path, count), x, y, z, column)
                    count += bool(lines)
                    out += lines
                continue
            else:
                self.conflicts.append(
                    Conflict(
                        (*path, count),
                        "both-modified",
                        [node_value(s.entry.node) for s in b],
                        [node_value(s.entry.node) for s in o],
                        [node_value(s.entry.node) for s in t],
                    )
                )
                out += self._markers(
                    [line for s in o for line in s.lines(column)],
                    [line for s in b for line in s.lines(column)],
                    [line for s in t for line in s.lines(column)],
                )
                count += len(o)
                continue
            for side in taken:
                out += side.lines(column)
                count += 1
        return out, count

    # -- entries ----------------------------------------------------------------------------------

    def _same(self, a: Side, b: Side) -> bool:
        return canon(a.entry.node, self.memo) == canon(b.entry.node, self.memo)

    def _survives(self, b: Side | None, o: Side | None, t: Side | None) -> bool:
        if o is not None and t is not None:
            return True
        kept = o or t
        if kept is None:
            return False
        return b is None or not self._same(kept, b)

    def _entry(
        self, path: Path, b: Side | None, o: Side | None, t: Side | None, column: int
    ) -> Lines:
        """The lines of one merged entry (none when it is deleted)."""
        if self.policies.keep_ours(path):
            return o.lines(column) if o is not None else []
        if o is not None and t is not None:
            text_o, text_t = o.lines(column), t.lines(column)
            if b is not None:
                text_b = b.lines(column)
                if text_o == text_b and not self.policies.keeps_ours_below(path):
                    return text_t
                if text_t == text_b:
                    return text_o
            if text_o == text_t:
                return text_o
            leads, _ = merge_lines(
                b.lead(column) if b else [], o.lead(column), t.lead(column), None
            )
            return leads + self._body(path, b, o, t, column)
        kept = o or t
        if kept is None:
            return []
        if b is None:
            return kept.lines(column)  # added by one side
        if self._same(kept, b):
            return []  # deleted by one side, left alone by the other
        ours_kept = o is not None
        self.conflicts.append(
            Conflict(
                path,
                "modify-delete" if ours_kept else "delete-modify",
                node_value(b.entry.node),
                node_value(o.entry.node) if o is not None else MISSING,
                node_value(t.entry.node) if t is not None else MISSING,
            )
        )
        body = kept.lines(column, lead=False)
        return kept.lead(column) + self._markers(
            body if ours_kept else [], b.lines(column, lead=False), [] if ours_kept else body
        )

    def _body(self, path: Path, b: Side | None, o: Side, t: Side, column: int) -> Lines:
        """An entry both sides changed: walk into it, or merge it as a value."""
        body_o, body_t = o.lines(column, lead=False), t.lines(column, lead=False)
        body_b = b.lines(column, lead=False) if b is not None else None
        if body_o == body_t or body_t == body_b:
            return body_o
        if body_o == body_b and not self.policies.keeps_ours_below(path):
            return body_t
        walked = self._walk_into(path, b, o, t)
        if walked is not None:
            return walked
        return self.leaves.merge(path, b, o, t, column)

    def _walk_into(self, path: Path, b: Side | None, o: Side, t: Side) -> Lines | None:
        nodes = [o.entry.node, t.entry.node] + ([b.entry.node] if b is not None else [])
        if not all(is_block(node) for node in nodes):
            return None
        if len({(type(node), tag_of(node)) for node in nodes}) != 1:
            return None
        if not isinstance(nodes[0], MappingNode):
            policy = self.policies.for_path(path)
            if isinstance(policy, AtomicPolicy):
                return None
            if b is None and not isinstance(policy, Keyed | SetPolicy | AppendUnion):
                return None  # a list both sides added: one value, as in the value walk
        layouts: list[tuple[Source, Layout] | None] = []
        for side in (b, o, t):
            if side is None:
                layouts.append(None)
                continue
            found = side.source.layout(side.entry.node, side.entry.line, side.entry.end)
            if found is None:
                return None
            layouts.append((side.source, found))
        lay_b, lay_o, lay_t = layouts
        assert lay_o is not None and lay_t is not None
        try:
            children, count = self._children(path, lay_b, lay_o, lay_t)
        except _OrderClash:
            return self._order_clash(path, b, o, t)
        if count == 0:
            return None  # emptied: a leaf writes `{}` or `[]`
        column = o.entry.column
        headers = [
            side.lines(column, lead=False)[: lay[1].header_end - side.entry.line]
            if side is not None and lay is not None
            else []
            for side, lay in ((b, lay_b), (o, lay_o), (t, lay_t))
        ]
        header, _ = merge_lines(headers[0], headers[1], headers[2], None)
        if lay_o[1].prefix:
            children = _with_prefix(children, lay_o[1].prefix)
        tail = o.source.lines[lay_o[1].tail : lay_o[1].end]
        return header + children + tail

    def _order_clash(self, path: Path, b: Side | None, o: Side, t: Side) -> Lines:
        column = o.entry.column
        self.conflicts.append(
            Conflict(
                path,
                "list-order",
                node_value(b.entry.node) if b is not None else MISSING,
                node_value(o.entry.node),
                node_value(t.entry.node),
            )
        )
        return self._markers(
            o.lines(column, lead=False),
            b.lines(column, lead=False) if b is not None else [],
            t.lines(column, lead=False),
        )

    def _markers(self, ours: Lines, base: Lines, theirs: Lines) -> Lines:
        return entry_markers(ours, base, theirs, self.labels)


def _with_prefix(lines: Lines, prefix: str) -> Lines:
    """Put an outer list item's dash back on the first line of its merged map."""
    out = list(lines)
    for index, line in enumerate(out):
        if is_filler(line):
            continue
        if line[: len(prefix)].strip() == "" and len(line) > len(prefix):
            out[index] = prefix + line[len(prefix) :]
        else:  # a conflict marker comes first: the dash gets a line of its own
            out.insert(index, prefix.rstrip() + "\n")
        break
    return out


def _terminated(lines: Lines) -> Lines:
    return [
        line if line.endswith("\n") or index == len(lines) - 1 else line + "\n"
        for index, line in enumerate(lines)
    ]
