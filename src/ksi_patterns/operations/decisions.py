"""Decision logs: `track_decision` (append an entry), `update_decision` (fill in an outcome
later) and `decisions` (read, filter, count)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ksi_patterns.documents.nesting import check_value_depth
from ksi_patterns.evolution import decision_log
from ksi_patterns.evolution.decision_entries import parse_confidence
from ksi_patterns.evolution.decisions import Tracked, Updated, update_outcome
from ksi_patterns.evolution.decisions import track_decision as append_decision
from ksi_patterns.operations.caller import FROM_CODE, Caller, announce
from ksi_patterns.registry.references import record_branch
from ksi_patterns.registry.registry import Registry


def track_decision(
    registry: Registry,
    pattern: str,
    decision: str,
    *,
    context: Mapping[str, Any] | None = None,
    outcome: str | None = None,
    confidence: float | str | None = None,
    agent_id: str | None = None,
    branch: str | None = None,
    caller: Caller = FROM_CODE,
) -> Tracked:
    """Append a decision to PATTERN's log in a commit `decision(PATTERN): DECISION`: on
    `branch`, else the checked-out one (a fork not merged yet: its own branch)."""
    check_value_depth(context, "context")
    level = parse_confidence(confidence) if confidence is not None else None
    tracked = append_decision(
        registry,
        pattern,
        decision,
        context=context,
        outcome=outcome,
        confidence=level,
        agent_id=agent_id or caller.agent,
        branch=record_branch(registry, pattern, branch),
    )
    announce(registry, caller, "composition:decision_tracked", tracked.announcement())
    return tracked


def update_decision(
    registry: Registry, pattern: str, entry_id: str, outcome: str, *, branch: str | None = None
) -> Updated:
    """Fill in the outcome of the decision `entry_id` (only that entry is rewritten)."""
    return update_outcome(
        registry, pattern, entry_id, outcome, branch=record_branch(registry, pattern, branch)
    )


def decisions(
    registry: Registry,
    pattern: str,
    *,
    since: str | None = None,
    agent: str | None = None,
    decision: str | None = None,
    outcome: str | None = None,
    ref: str = "HEAD",
) -> list[dict[str, Any]]:
    """PATTERN's decisions at `ref`, oldest first, filtered by time (`since`: an ISO date or
    date-time, UTC) and by glob (`agent`, `decision`, `outcome`; `none`: not known yet)."""
    after = decision_log.parse_since(since) if since is not None else None
    return decision_log.filter_decisions(
        decision_log.read_decisions(registry, pattern, ref),
        since=after,
        agent=agent,
        decision=decision,
        outcome=outcome,
    )
