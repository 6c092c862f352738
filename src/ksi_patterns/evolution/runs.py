"""Runs: `ksi pattern record-run` counts a run in a pattern's `performance`.

`performance` (or `metadata.performance` in older files) gets `runs` + 1, running means
`avg_score` and `success_rate`, `last_run`, and `improvements_over_parent` against the lineage
parent's `avg_score` read at the same tip. A fork that beats its parent by 15 % or more over at
least 3 runs is a merge candidate. Recent run ids (the last RUN_IDS_KEPT) are kept in
`performance.run_ids` so that the same run is never counted twice. The arithmetic (running
means, the parent's score, the written percentage) is in performance.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ksi_patterns.documents.loading import locate
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError, UsageError
from ksi_patterns.evolution.decision_entries import parse_confidence
from ksi_patterns.evolution.pattern_edits import (
    insert_top_level,
    kept_style,
    load_pattern,
    pattern_path,
    section_of,
)
from ksi_patterns.evolution.performance import (
    as_stored,
    parent_avg_score,
    percent,
    running_mean,
    stored_number,
)
from ksi_patterns.lineage.forks import utc_now
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.git.commits import CommitResult
    from ksi_patterns.git.refs import Commit

MERGE_CANDIDATE_GAIN = Decimal("0.15")  # the seed's "beats its parent by 15%"
MERGE_CANDIDATE_RUNS = 3  # ... over at least this many runs
RUN_IDS_KEPT = 50  # run ids remembered in performance.run_ids (idempotent record-run)


@dataclass(frozen=True)
class RunRecorded:
    name: str
    path: str
    where: str  # "performance" or "metadata.performance"
    score: float
    success: bool
    run_id: str | None
    runs: int
    avg_score: float
    success_rate: float
    last_run: str
    parent: str | None  # the lineage parent's name, when there is one
    parent_avg_score: float | None
    improvement: float | None  # (avg - parent avg) / parent avg
    improvements_over_parent: str | None  # as written, e.g. "+21.7%"
    merge_candidate: bool
    commit_id: str
    skipped_worktree_paths: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "where": self.where,
            "score": self.score,
            "success": self.success,
            "run_id": self.run_id,
            "runs": self.runs,
            "avg_score": self.avg_score,
            "success_rate": self.success_rate,
            "last_run": self.last_run,
            "parent": self.parent,
            "parent_avg_score": self.parent_avg_score,
            "improvement": self.improvement,
            "improvements_over_parent": self.improvements_over_parent,
            "merge_candidate": self.merge_candidate,
            "commit": self.commit_id,
        }


def parse_score(value: str | float) -> float:
    """A run's score, a number from 0 to 1 like `avg_score` in the seed."""
    return parse_confidence(value, "score")


def _set(node: CommentedMap, key: str, value: Any) -> None:
    node[key] = kept_style(node.get(key), value)


def _performance_of(tree: CommentedMap, path: str) -> tuple[str, CommentedMap]:
    """Where the performance figures are, and the map to edit (made when missing or empty)."""
    where, performance = section_of(tree, "performance", path)
    if performance is not None and not isinstance(performance, dict):
        raise InputError(f"`{where}` must be a mapping", locate(tree, where.split("."), path))
    if isinstance(performance, CommentedMap) and performance:
        return where, performance
    fresh = CommentedMap(performance or {})
    if where == "performance" and "performance" not in tree:
        insert_top_level(tree, "performance", fresh)
    elif where == "performance":
        tree["performance"] = fresh
    else:
        tree["metadata"]["performance"] = fresh
    return where, fresh


def _recent_run_ids(
    performance: CommentedMap,
    where: str,
    position: Callable[[str], Any],
    name: str,
    run_id: str | None,
) -> list[Any] | None:
    """The run ids already counted; UsageError when `run_id` is one of them."""
    recent = performance.get("run_ids")
    if recent is not None and not isinstance(recent, list):
        raise InputError(f"`{where}.run_ids` must be a list", position("run_ids"))
    if run_id is not None and recent is not None and run_id in [str(r) for r in recent]:
        raise UsageError(
            f"run {run_id!r} is already recorded for {name} ({where}.run_ids); nothing written"
        )
    return recent


def _count(
    performance: CommentedMap,
    where: str,
    position: Callable[[str], Any],
    score: Decimal,
    success: bool,
) -> dict[str, Any]:
    """Count one run in `performance` (runs, running means, last_run); the new figures."""
    old_runs = stored_number(performance.get("runs"), f"{where}.runs", position("runs"))
    if old_runs is not None and (old_runs < 0 or old_runs != old_runs.to_integral_value()):
        raise InputError(f"{where}.runs must be a whole number", position("runs"))
    runs = int(old_runs or 0)
    old_avg = stored_number(
        performance.get("avg_score"), f"{where}.avg_score", position("avg_score")
    )
    old_rate = stored_number(
        performance.get("success_rate"), f"{where}.success_rate", position("success_rate")
    )
    avg = as_stored(running_mean(old_avg, runs, score))
    rate = as_stored(running_mean(old_rate, runs, Decimal(1 if success else 0)))
    last_run = utc_now()
    _set(performance, "runs", runs + 1)
    _set(performance, "avg_score", avg)
    _set(performance, "success_rate", rate)
    _set(performance, "last_run", last_run)
    return {"where": where, "runs": runs + 1, "avg": avg, "rate": rate, "last_run": last_run}


def record_run(
    registry: Registry,
    name: str,
    score: float | str,
    *,
    success: bool = True,
    run_id: str | None = None,
    branch: str | None = None,
) -> RunRecorded:
    """Count one run of NAME in its `performance`, as a commit `run(NAME): score S`.

    Refuses (UsageError) a `run_id` already among the recent ones in `performance.run_ids`.
    """
    ref = branch or "HEAD"
    path = pattern_path(registry, name, ref)
    value = Decimal(str(parse_score(score)))
    if run_id is not None and (
        not run_id.strip() or len(run_id) > 200 or any(c in run_id for c in "\n\r\x00")
    ):
        raise UsageError(
            "{field} must be one line of text (at most 200 characters)", field="run_id"
        )
    found: dict[str, Any] = {}

    def changes(tip: Commit | None) -> dict[str, bytes | None]:
        document = load_pattern(registry, path, tip)
        assert tip is not None
        where, performance = _performance_of(document.tree, path)

        def position(key: str) -> Any:
            return locate(document.tree, [*where.split("."), key], path)

        recent = _recent_run_ids(performance, where, position, name, run_id)
        found.update(_count(performance, where, position, value, success))
        parent, parent_avg = parent_avg_score(registry, document, name, tip)
        found.update(parent=parent, parent_avg=None, improvement=None, written=None)
        if parent_avg is not None:
            improvement = (Decimal(repr(found["avg"])) - parent_avg) / parent_avg
            written = percent(improvement)
            _set(performance, "improvements_over_parent", written)
            found.update(parent_avg=float(parent_avg), improvement=improvement, written=written)
        if run_id is not None:
            ids = CommentedSeq([*(recent or []), run_id][-RUN_IDS_KEPT:])
            ids.fa.set_flow_style()
            performance["run_ids"] = ids
        return {path: render(document).encode()}

    result = registry.commit(changes, f"run({name}): score {float(value):g}", branch)
    return _recorded(name, path, float(value), success, run_id, found, result)


def _recorded(
    name: str,
    path: str,
    score: float,
    success: bool,
    run_id: str | None,
    found: dict[str, Any],
    result: CommitResult,
) -> RunRecorded:
    improvement = found["improvement"]
    candidate = (
        improvement is not None
        and improvement >= MERGE_CANDIDATE_GAIN
        and found["runs"] >= MERGE_CANDIDATE_RUNS
    )
    return RunRecorded(
        name=name,
        path=path,
        where=found["where"],
        score=score,
        success=success,
        run_id=run_id,
        runs=found["runs"],
        avg_score=found["avg"],
        success_rate=found["rate"],
        last_run=found["last_run"],
        parent=found["parent"],
        parent_avg_score=found["parent_avg"],
        improvement=float(improvement) if improvement is not None else None,
        improvements_over_parent=found["written"],
        merge_candidate=candidate,
        commit_id=result.commit_id,
        skipped_worktree_paths=result.skipped_worktree_paths,
    )
