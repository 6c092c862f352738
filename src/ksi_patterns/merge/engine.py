"""`merge(base, ours, theirs)`: the one entry point. Pure: text in, text and records out.

The ladder, cheapest first:
1. Nothing to merge (two of the three texts are equal): one of the inputs, byte for byte.
2. Something we must not read structurally (markers left by an earlier merge, too large,
   aliases over the cap, not YAML, duplicate keys): a line merge, with the reason in `fallback`.
3. Block documents (every real pattern, profile and decision log): the block walk, which only
   looks into what both sides changed (blocks.py).
4. Anything else (aliases, flow-style roots, a scalar document): the value walk over whole
   round-trip trees, rendered over ours' text; a conflict there marks the whole document.
"""

from __future__ import annotations

import gc

from ksi_patterns.documents.loading import (
    MAX_FILE_BYTES,
    RoundTrip,
    dump_roundtrip,
    load_roundtrip,
)
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError
from ksi_patterns.merge.appends import merge_appends
from ksi_patterns.merge.blocks import BlockMerge
from ksi_patterns.merge.markers import Labels, crlf_like, has_markers, marker_block, merge_texts
from ksi_patterns.merge.nodes import Unreadable
from ksi_patterns.merge.policies import DEFAULT_POLICIES, MergePolicies
from ksi_patterns.merge.result import MergeResult
from ksi_patterns.merge.source import Source
from ksi_patterns.merge.values import ValueMerge, exact_floats


def merge(
    base: str,
    ours: str,
    theirs: str,
    *,
    path_hint: str = "",
    policies: MergePolicies | None = None,
    labels: tuple[str, str, str] = ("ours", "base", "theirs"),
) -> MergeResult:
    """Three-way merge of YAML texts. `labels` name (ours, base, theirs) in conflict markers."""
    if ours == theirs or theirs == base:
        return MergeResult(ours)
    if ours == base and not (policies and policies.keeps_ours):
        return MergeResult(theirs)
    # Parsing a large file allocates about a million nodes, which makes Python's cycle
    # collector run over and over (half the time of a 1 MB merge). Nothing here builds
    # cycles that must be freed before we return, so it waits until the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _merge(base, ours, theirs, path_hint, policies, labels)
    finally:
        if collecting:
            gc.enable()


def _merge(
    base: str,
    ours: str,
    theirs: str,
    path_hint: str,
    policies: MergePolicies | None,
    labels: tuple[str, str, str],
) -> MergeResult:
    names = Labels(*labels)
    texts = {names.base: base, names.ours: ours, names.theirs: theirs}
    where = path_hint or "document"
    for label, text in texts.items():
        if has_markers(text):
            return _lines(base, ours, theirs, names, f"conflict markers already present ({label})")
        if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8")) > MAX_FILE_BYTES:
            return _lines(base, ours, theirs, names, f"over {MAX_FILE_BYTES:,} bytes ({label})")
    appended = merge_appends(base, ours, theirs, policies or DEFAULT_POLICIES, where)
    if appended is not None:
        return MergeResult(appended)
    sources: list[Source] = []
    for label, text in ((names.base, base), (names.ours, ours), (names.theirs, theirs)):
        try:
            sources.append(Source.read(text, label, where))
        except Unreadable as err:
            return _lines(base, ours, theirs, names, f"{err} ({label})")
    source_b, source_o, source_t = sources
    walk = BlockMerge(source_b, source_o, source_t, policies or DEFAULT_POLICIES, names)
    merged = walk.run()
    if merged is not None:
        return MergeResult(crlf_like(merged, ours), walk.conflicts)
    result = _whole(base, ours, theirs, where, policies or DEFAULT_POLICIES, names)
    result.text = crlf_like(result.text, ours)
    return result


def _lines(base: str, ours: str, theirs: str, labels: Labels, reason: str) -> MergeResult:
    text, conflicts = merge_texts(base, ours, theirs, labels)
    return MergeResult(crlf_like(text, ours), conflicts, fallback=reason)


def _whole(
    base: str, ours: str, theirs: str, where: str, policies: MergePolicies, labels: Labels
) -> MergeResult:
    """The value walk over whole documents; a conflict puts markers around all of it."""
    try:
        docs = [load_roundtrip(text, where) for text in (base, ours, theirs)]
    except InputError as err:  # the parser accepted it, the round-trip constructor did not
        return _lines(base, ours, theirs, labels, f"not valid YAML: {err}")
    values = ValueMerge(policies)
    doc_b, doc_o, doc_t = docs
    merged = values.merge(doc_b.tree, doc_o.tree, doc_t.tree, ())
    if values.conflicts:
        block = marker_block(
            ours.splitlines(keepends=True),
            base.splitlines(keepends=True),
            theirs.splitlines(keepends=True),
            labels,
        )
        return MergeResult("".join(block), values.conflicts)
    return MergeResult(_write(doc_o, exact_floats(merged)), [])


def _write(doc: RoundTrip, merged: object) -> str:
    if isinstance(merged, dict | list) and merged:
        doc.tree = merged
        return render(doc)
    # An emptied or scalar document: nothing of ours' text is left to keep.
    return dump_roundtrip(merged, doc.style, start=doc.text)
