"""A merge that stopped on conflicts: what `--continue` and `--abort` need to finish it.

Kept as JSON under `<git-dir>/ksi/` (runtime state, never in the tree). While it exists, the
working tree holds the conflicted files with markers and no other merge may start.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ksi_patterns.errors import UsageError
from ksi_patterns.git.store import Store

STATE_FILE = "merge-state.json"


@dataclass
class MergeState:
    kind: str  # "pattern" (a fork into its parent) or "branch"
    branch: str  # the branch the merge commit goes on
    ours_commit: str  # its tip when the merge started; --continue refuses if it moved
    theirs_commit: str  # the second parent of the merge commit
    message: str
    changed: list[str]  # every path the merge writes (conflicted or not)
    conflicted: list[str]  # paths left with markers in the working tree
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # per-kind details (fork, merge entry)


def _path(store: Store) -> Path:
    return store.state_dir / STATE_FILE


def load(store: Store) -> MergeState | None:
    path = _path(store)
    if not path.exists():
        return None
    return MergeState(**json.loads(path.read_text(encoding="utf-8")))


def save(store: Store, state: MergeState) -> None:
    path = _path(store)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(state), indent=2, default=str), encoding="utf-8")
    os.replace(temporary, path)


def clear(store: Store) -> None:
    _path(store).unlink(missing_ok=True)


def refuse_if_in_progress(store: Store) -> None:
    state = load(store)
    if state is not None:
        raise UsageError(
            f"a {state.kind} merge into {state.branch} is in progress "
            f"(conflicts in {', '.join(state.conflicted)}): finish it with --continue or --abort"
        )


def require(store: Store) -> MergeState:
    state = load(store)
    if state is None:
        raise UsageError("no merge is in progress")
    return state
