"""Runs: `record_run` counts a run in a pattern's performance."""

from __future__ import annotations

from ksi_patterns.events.values import json_safe
from ksi_patterns.evolution.runs import RunRecorded, parse_score
from ksi_patterns.evolution.runs import record_run as count_run
from ksi_patterns.operations.caller import FROM_CODE, Caller, announce
from ksi_patterns.registry.references import record_branch
from ksi_patterns.registry.registry import Registry


def record_run(
    registry: Registry,
    pattern: str,
    score: float | str,
    *,
    success: bool = True,
    run_id: str | None = None,
    branch: str | None = None,
    caller: Caller = FROM_CODE,
) -> RunRecorded:
    """Count a run (score from 0 to 1) in PATTERN's performance, in a commit `run(PATTERN): ...`
    (a fork not merged yet: on its own branch). A repeated `run_id` is refused."""
    done = count_run(
        registry,
        pattern,
        parse_score(score),
        success=success,
        run_id=run_id,
        branch=record_branch(registry, pattern, branch),
    )
    data = {"pattern": pattern, **json_safe(done.to_json())}
    announce(registry, caller, "composition:run_recorded", data)
    return done
