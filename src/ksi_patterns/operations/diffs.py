"""The structural diff of two documents, or of a fork and its lineage parent at the fork point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksi_patterns.documents.model import FORK_OWN_PATHS
from ksi_patterns.events.values import json_safe
from ksi_patterns.lineage.operands import Document, Operands
from ksi_patterns.operations.caller import FROM_CODE, Caller
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.diff.structural import Change


@dataclass(frozen=True)
class Diffed:
    old: Document
    new: Document
    changes: list[Change]
    hidden: int  # changes to what a fork owns by construction, left out (see `diff`)

    def to_json(self, limit: int | None = None) -> dict[str, Any]:
        """Both sides, the summary, and the changes (the first `limit`; `more` counts the rest)."""
        from ksi_patterns.diff.structural import stat

        shown = self.changes if limit is None else self.changes[:limit]
        return {
            "a": self.old.label,
            "b": self.new.label,
            "stat": stat(self.changes).to_json(),
            "changes": json_safe([change.to_json() for change in shown]),
            "more": len(self.changes) - len(shown),
            "hidden": self.hidden,
        }


def diff(
    registry: Registry | Callable[[Path | None], Registry],
    a: str,
    b: str | None = None,
    *,
    show_all: bool = False,
    files: bool = False,
    caller: Caller = FROM_CODE,
) -> Diffed:
    """Compare A with B; without B, A is a fork compared with its lineage parent at the fork
    point, and the changes to `name`, `lineage` and `performance` that every fork has are
    hidden unless `show_all`. Operands are NAME, NAME@X.Y.Z, NAME@REV, or (with `files`) the
    path of a file; `registry` may be a function that opens it only when an operand needs it."""
    from ksi_patterns.diff.structural import diff as compare
    from ksi_patterns.diff.structural import without

    opener = registry if callable(registry) else (lambda _near: registry)
    operands = Operands(opener, files=files, note=caller.note)
    if b is None:
        new = operands.read(a)
        old = operands.parent_of(new)
    else:
        old, new = operands.read(a), operands.read(b)
    changes = compare(old.data, new.data)
    hidden = 0
    if b is None and not show_all:
        shown = without(changes, FORK_OWN_PATHS)
        hidden, changes = len(changes) - len(shown), shown
    return Diffed(old, new, changes, hidden)
