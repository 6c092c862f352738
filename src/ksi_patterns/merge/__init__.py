"""The three-way merge engine for YAML documents (patterns, profiles, decision logs). Pure.

    result = merge(base_text, ours_text, theirs_text, path_hint="orchestrations/x.yaml")
    result.text        # merged text; diff3-style markers around conflicting entries
    result.conflicts   # [Conflict(path, kind, base, ours, theirs)], `.to_json()` for --json
    result.fallback    # None, or why the texts were merged line by line

`merge_texts` is the plain line merge (for files that are not YAML), with `Labels` for markers.
No git and no I/O here: `ksi pattern merge`, branch merges and `ksi merge-driver` call it.
"""

from ksi_patterns.merge.engine import merge
from ksi_patterns.merge.markers import Labels, merge_texts
from ksi_patterns.merge.policies import (
    APPEND_UNION,
    ATOMIC,
    DEFAULT_POLICIES,
    KEEP_OURS,
    KEYED,
    SET,
    AppendUnion,
    AtomicPolicy,
    KeepOurs,
    Keyed,
    ListPolicy,
    MergePolicies,
    SetPolicy,
)
from ksi_patterns.merge.result import MISSING, Conflict, MergeResult

__all__ = [
    "APPEND_UNION",
    "ATOMIC",
    "DEFAULT_POLICIES",
    "KEEP_OURS",
    "KEYED",
    "MISSING",
    "SET",
    "AppendUnion",
    "AtomicPolicy",
    "Conflict",
    "KeepOurs",
    "Keyed",
    "Labels",
    "ListPolicy",
    "MergePolicies",
    "MergeResult",
    "SetPolicy",
    "merge",
    "merge_texts",
]
