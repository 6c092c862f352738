"""The writing tools: each calls one operation, which validates what it will write and commits
it, recorded as the client's doing; a refused request writes nothing. `emit_event` is the
seed's `event:emit`, through the registry's bus with the composition handlers and plugins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from mcp.types import CallToolResult
from pydantic import Field

from ksi_patterns.errors import UsageError
from ksi_patterns.mcp.calls import Ctx, Reply, answer
from ksi_patterns.operations.caller import Caller
from ksi_patterns.registry.registry import Registry

Pattern = Annotated[str, Field(description="The pattern's name.")]
Branch = Annotated[
    str | None,
    Field(description="Commit on this branch; default: the current one (a fork: its own)."),
]
Level = Annotated[float, Field(description="From 0 to 1.")]


def fork(
    ctx: Ctx,
    parent: Annotated[str, Field(description="The pattern to fork (NAME or NAME@X.Y.Z).")],
    name: Annotated[str, Field(description="The new pattern's name.")],
    reason: Annotated[str, Field(description="Why the fork exists.")],
    modifications: Annotated[
        dict[str, Any] | None,
        Field(description="Changes to apply: {dotted.path: value}, e.g. {'config.timeout': 60}."),
    ] = None,
    author: Annotated[str | None, Field(description="Default: this client's name.")] = None,
) -> CallToolResult:
    """Fork a pattern: a copy of PARENT named NAME, with its lineage and the modifications
    applied, committed on a new branch fork/NAME (the working tree is not touched)."""
    from ksi_patterns.operations.forks import fork as run

    def forked(registry: Registry, caller: Caller) -> Mapping[str, Any]:
        settings = modifications or {}
        done = run(
            registry, parent, name, reason=reason, author=author, settings=settings, caller=caller
        )
        return done.to_json()

    return answer(ctx, forked)


def merge(
    ctx: Ctx,
    fork: Annotated[str, Field(description="The fork to merge back.")],
    into: Annotated[str | None, Field(description="Default: the fork's lineage parent.")] = None,
    branch: Branch = None,
    resolve: Annotated[
        Literal["ours", "theirs"] | None, Field(description="Settle every conflict this way.")
    ] = None,
    apply: Annotated[
        bool, Field(description="Commit the merge; without it, only say what it would do.")
    ] = False,
) -> CallToolResult:
    """Merge a fork's improvements back into its parent (a three-way merge from the fork
    point). A dry run unless apply is true; a merge that conflicts writes nothing and returns
    the conflicts."""
    from ksi_patterns.operations.merges import merge_fork

    def merged(registry: Registry, caller: Caller) -> Mapping[str, Any]:
        done = merge_fork(
            registry,
            fork,
            into=into,
            branch=branch,
            resolve=resolve,
            dry_run=not apply,
            leave_conflicts=False,  # an agent never gets conflict markers in a working tree
            caller=caller,
        )
        return done.to_json()

    return answer(ctx, merged)


def track_decision(
    ctx: Ctx,
    pattern: Pattern,
    decision: Annotated[str, Field(description="What was decided, e.g. increased_timeout.")],
    context: Annotated[dict[str, Any] | None, Field(description="What it was based on.")] = None,
    outcome: Annotated[str | None, Field(description="What came of it, if known.")] = None,
    confidence: Annotated[float | None, Field(description="From 0 to 1.")] = None,
    agent_id: Annotated[str | None, Field(description="Default: this client's name.")] = None,
    branch: Branch = None,
) -> CallToolResult:
    """Append a decision to a pattern's decision log, committed in git and recorded as this
    client's (its context, outcome and confidence)."""
    from ksi_patterns.operations.decisions import track_decision as run

    def tracked(registry: Registry, caller: Caller) -> Mapping[str, Any]:
        done = run(
            registry,
            pattern,
            decision,
            context=context,
            outcome=outcome,
            confidence=confidence,
            agent_id=agent_id,
            branch=branch,
            caller=caller,
        )
        return done.to_json()

    return answer(ctx, tracked)


def learn(
    ctx: Ctx,
    pattern: Pattern,
    insight: Annotated[str, Field(description="What was learned.")],
    confidence: Level,
    evidence: Annotated[str | None, Field(description="What shows it.")] = None,
    discovered_by: Annotated[str | None, Field(description="Default: this client's name.")] = None,
    branch: Branch = None,
) -> CallToolResult:
    """Add an insight to a pattern's learnings (or update the learning with the same text),
    with its confidence and evidence."""
    from ksi_patterns.operations.learnings import learn as run

    def learned(registry: Registry, caller: Caller) -> Mapping[str, Any]:
        done = run(
            registry,
            pattern,
            insight,
            confidence,
            evidence=evidence,
            discovered_by=discovered_by,
            branch=branch,
            caller=caller,
        )
        return done.to_json()

    return answer(ctx, learned)


def record_run(
    ctx: Ctx,
    pattern: Pattern,
    score: Level,
    success: Annotated[bool, Field(description="Whether the run succeeded.")] = True,
    run_id: Annotated[
        str | None, Field(description="Counts the run once: a repeat is refused.")
    ] = None,
    branch: Branch = None,
) -> CallToolResult:
    """Count a run in a pattern's performance: its score (0 to 1) and success."""
    from ksi_patterns.operations.runs import record_run as run

    def counted(registry: Registry, caller: Caller) -> Mapping[str, Any]:
        done = run(
            registry, pattern, score, success=success, run_id=run_id, branch=branch, caller=caller
        )
        return done.to_json()

    return answer(ctx, counted)


def emit_event(
    ctx: Ctx,
    event: Annotated[str, Field(description='The event, "namespace:action".')],
    data: Annotated[dict[str, Any] | None, Field(description="The event's fields.")] = None,
    delay: Annotated[
        float | None, Field(description="Deliver it after this many seconds (waited for).")
    ] = None,
    condition: Annotated[
        str | None,
        Field(description='Emit only if this holds over the data, e.g. "timeout_rate > 0.3".'),
    ] = None,
) -> CallToolResult:
    """Emit one event on the registry's bus (the seed's event:emit): composition:* events run
    registry operations (discover, select, fork, merge, diff, track_decision, learn,
    record_run), plugins handle the rest; the result is what every handler returned."""
    from ksi_patterns.operations.emitting import emit

    def emitted(registry: Registry, caller: Caller) -> Reply:
        done = emit(registry, event, data, delay=delay, condition=condition, caller=caller)
        if done.refusal is not None:  # refused, or its condition could not be evaluated
            raise UsageError(done.refusal)
        return Reply(done.to_json(), is_error=done.failed)

    return answer(ctx, emitted)


TOOLS: tuple[Callable[..., CallToolResult], ...] = (
    fork,
    merge,
    track_decision,
    learn,
    record_run,
    emit_event,
)
