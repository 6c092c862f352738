"""The common case of a decision log merge, without reading the log: both sides only appended.

`track-decision` appends entries as text, so on two branches a log usually differs from the
merge base by a tail on each side. When the log is an append-only list (the root policy), the
merge is ours followed by theirs' tail, which only the tails need parsing to confirm: each must
be a block list of entries at column 0, and no entry may have been appended on both sides
(then the full merge decides). A 1 MB log then merges in the time it takes to read two entries.
"""

from __future__ import annotations

from ruamel.yaml.nodes import Node, SequenceNode

from ksi_patterns.merge.identity import identify
from ksi_patterns.merge.nodes import NodeView, Unreadable
from ksi_patterns.merge.policies import AppendUnion, MergePolicies
from ksi_patterns.merge.source import Source


def merge_appends(
    base: str, ours: str, theirs: str, policies: MergePolicies, where: str
) -> str | None:
    """The merged log when both sides only appended whole entries, else None."""
    policy = policies.for_path(())
    if not isinstance(policy, AppendUnion) or not base.endswith("\n"):
        return None
    if not (ours.startswith(base) and theirs.startswith(base)):
        return None
    if not _opens_a_list(base):
        return None
    tails = [_entries(text[len(base) :], where) for text in (ours, theirs)]
    ours_tail, theirs_tail = tails
    if ours_tail is None or theirs_tail is None:
        return None
    found = identify(policy, [], _items(ours_tail), _items(theirs_tail), NodeView({}))
    if found.mode != "union" or set(found.ours) & set(found.theirs):
        return None  # the same entry appended on both sides: let the full merge match them
    separator = "" if ours.endswith("\n") else "\n"
    return ours + separator + theirs[len(base) :]


def _opens_a_list(text: str) -> bool:
    """Whether the document's first content line is an item of a block list at column 0."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or line.startswith(("%", "---")):
            continue
        return line.startswith("- ") or line.rstrip() == "-"
    return False


def _entries(tail: str, where: str) -> Source | None:
    """The appended text as a list of maps at column 0, or None."""
    if not tail.strip() or not _opens_a_list(tail):
        return None
    try:
        source = Source.read(tail, "tail", where)
    except Unreadable:
        return None
    root = source.root
    if source.plain_only or not isinstance(root, SequenceNode) or root.flow_style:
        return None
    layout = source.layout(root, 0, len(source.lines), top=True)
    if layout is None or layout.entries[0].column != 0:
        return None
    return source


def _items(source: Source) -> list[Node]:
    root = source.root
    return list(root.value) if isinstance(root, SequenceNode) else []
