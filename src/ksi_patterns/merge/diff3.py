"""diff3 over any sequences of hashable items: lines of text, list items, identity keys.

The classic algorithm (Khanna, Kunal, Pierce, "A formal investigation of diff3"): match base
with ours and base with theirs (longest common subsequence, here difflib's matcher), then walk
the three sequences together. Stretches where all three agree are stable; between them, each
unstable chunk is resolved when only one side changed it (or both the same way) and is a
conflict otherwise.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

Span = tuple[int, int]  # [start, end) in one of the three sequences


@dataclass(frozen=True)
class Chunk:
    """A stretch of the merge. `take` says which side's span is the result, or "conflict"."""

    take: Literal["ours", "theirs", "conflict"]
    stable: bool
    base: Span
    ours: Span
    theirs: Span


def matches(a: Sequence[Hashable], b: Sequence[Hashable]) -> dict[int, int]:
    """Index in `a` -> index in `b` for the items of a longest common subsequence."""
    found: dict[int, int] = {}
    if not a or not b:
        return found
    # Trim the common prefix and suffix first: merges are mostly small edits of long sequences
    # and SequenceMatcher is far from linear on long inputs.
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        found[start] = start
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
        found[end_a] = end_b
    if start < end_a and start < end_b:
        matcher = SequenceMatcher(None, a[start:end_a], b[start:end_b], autojunk=False)
        for i, j, size in matcher.get_matching_blocks():
            for k in range(size):
                found[start + i + k] = start + j + k
    return found


def diff3(
    base: Sequence[Hashable], ours: Sequence[Hashable], theirs: Sequence[Hashable]
) -> list[Chunk]:
    """The chunks of a three-way merge of the sequences, in order."""
    to_ours = matches(base, ours)
    to_theirs = matches(base, theirs)
    chunks: list[Chunk] = []
    b = o = t = 0
    nb, no, nt = len(base), len(ours), len(theirs)
    while b < nb or o < no or t < nt:
        run = 0
        while (
            b + run < nb and to_ours.get(b + run) == o + run and to_theirs.get(b + run) == t + run
        ):
            run += 1
        if run:
            span_b, span_o, span_t = (b, b + run), (o, o + run), (t, t + run)
            chunks.append(Chunk("ours", True, span_b, span_o, span_t))
            b, o, t = b + run, o + run, t + run
            continue
        # Next base item that both sides kept: the end of this unstable chunk.
        j = b
        while j < nb and not (j in to_ours and j in to_theirs):
            j += 1
        if j < nb:
            end_b, end_o, end_t = j, to_ours[j], to_theirs[j]
        else:
            end_b, end_o, end_t = nb, no, nt
        chunks.append(
            _resolve(base, ours, theirs, (b, end_b), (o, end_o), (t, end_t)),
        )
        b, o, t = end_b, end_o, end_t
    return chunks


def _resolve(
    base: Sequence[Hashable],
    ours: Sequence[Hashable],
    theirs: Sequence[Hashable],
    span_b: Span,
    span_o: Span,
    span_t: Span,
) -> Chunk:
    in_base = base[span_b[0] : span_b[1]]
    in_ours = ours[span_o[0] : span_o[1]]
    in_theirs = theirs[span_t[0] : span_t[1]]
    if _same(in_ours, in_base):
        take: Literal["ours", "theirs", "conflict"] = "theirs"
    elif _same(in_theirs, in_base) or _same(in_ours, in_theirs):
        take = "ours"
    else:
        take = "conflict"
    return Chunk(take, False, span_b, span_o, span_t)


def _same(a: Sequence[Hashable], b: Sequence[Hashable]) -> bool:
    return len(a) == len(b) and all(x == y for x, y in zip(a, b, strict=True))
