"""ksi-patterns: a git-backed registry of LLM orchestration patterns, as a Python API.

    import ksi_patterns as ksi

    reg = ksi.open_registry("~/patterns")            # or no argument: as the `ksi` command finds it
    pattern = ksi.show(reg, "adaptive_tournament_v2@2.1.0").data   # a release, as plain data
    ksi.track_decision(reg, "adaptive_tournament_v2", "increased_timeout",
                       context={"avg_response": 45}, confidence=0.87)
    ksi.record_run(reg, "adaptive_tournament_v2", 0.84, run_id="run-7")

Every name below is an operation of `ksi_patterns.operations` (the same functions the `ksi`
command and the composition events call), with a typed result. Errors are `KsiError`s
(`ksi_patterns.errors`) with one-line messages. Names are imported on first use, so that
`import ksi_patterns` costs nothing until one is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it
_API = {
    "open_registry": "ksi_patterns.registry.registry",
    "Caller": "ksi_patterns.operations.caller",
    "init_registry": "ksi_patterns.operations.registries",
    "import_folder": "ksi_patterns.operations.registries",
    "info": "ksi_patterns.operations.registries",
    "list_documents": "ksi_patterns.operations.finding",
    "discover": "ksi_patterns.operations.finding",
    "select": "ksi_patterns.operations.finding",
    "show": "ksi_patterns.operations.reading",
    "history": "ksi_patterns.operations.reading",
    "new": "ksi_patterns.operations.authoring",
    "release": "ksi_patterns.operations.authoring",
    "fork": "ksi_patterns.operations.forks",
    "lineage": "ksi_patterns.operations.forks",
    "diff": "ksi_patterns.operations.diffs",
    "merge_fork": "ksi_patterns.operations.merges",
    "merge_branch": "ksi_patterns.operations.merges",
    "continue_merge": "ksi_patterns.operations.merges",
    "abort_merge": "ksi_patterns.operations.merges",
    "track_decision": "ksi_patterns.operations.decisions",
    "update_decision": "ksi_patterns.operations.decisions",
    "decisions": "ksi_patterns.operations.decisions",
    "learn": "ksi_patterns.operations.learnings",
    "record_run": "ksi_patterns.operations.runs",
    "validate": "ksi_patterns.operations.checking",
    "lint": "ksi_patterns.operations.checking",
    "emit": "ksi_patterns.operations.emitting",
    "orchestrate": "ksi_patterns.operations.sessions",
    "clone": "ksi_patterns.operations.sharing",
    "push": "ksi_patterns.operations.sharing",
    "pull": "ksi_patterns.operations.sharing",
    "sync": "ksi_patterns.operations.sharing",
}

__all__ = [
    "Caller",
    "__version__",
    "abort_merge",
    "clone",
    "continue_merge",
    "decisions",
    "diff",
    "discover",
    "emit",
    "fork",
    "history",
    "import_folder",
    "info",
    "init_registry",
    "learn",
    "lineage",
    "lint",
    "list_documents",
    "merge_branch",
    "merge_fork",
    "new",
    "open_registry",
    "orchestrate",
    "pull",
    "push",
    "record_run",
    "release",
    "select",
    "show",
    "sync",
    "track_decision",
    "update_decision",
    "validate",
]

if TYPE_CHECKING:  # what type checkers and editors see; at run time, __getattr__ imports
    from ksi_patterns.operations.authoring import new, release
    from ksi_patterns.operations.caller import Caller
    from ksi_patterns.operations.checking import lint, validate
    from ksi_patterns.operations.decisions import decisions, track_decision, update_decision
    from ksi_patterns.operations.diffs import diff
    from ksi_patterns.operations.emitting import emit
    from ksi_patterns.operations.finding import discover, list_documents, select
    from ksi_patterns.operations.forks import fork, lineage
    from ksi_patterns.operations.learnings import learn
    from ksi_patterns.operations.merges import (
        abort_merge,
        continue_merge,
        merge_branch,
        merge_fork,
    )
    from ksi_patterns.operations.reading import history, show
    from ksi_patterns.operations.registries import import_folder, info, init_registry
    from ksi_patterns.operations.runs import record_run
    from ksi_patterns.operations.sessions import orchestrate
    from ksi_patterns.operations.sharing import clone, pull, push, sync
    from ksi_patterns.registry.registry import open_registry


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'ksi_patterns' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
