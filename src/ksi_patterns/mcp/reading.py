"""The reading tools: each calls one operation and answers with its result's JSON. They write
nothing, so a `--read-only` server offers these alone. A tool's docstring is the description
an agent chooses it by."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from mcp.types import CallToolResult
from pydantic import Field

from ksi_patterns.mcp.calls import Ctx, answer
from ksi_patterns.operations.caller import Caller
from ksi_patterns.registry.registry import Registry

MAX_CHANGES = 200  # changes a diff result lists (the rest are counted in `more`)

Name = Annotated[str, Field(description="A pattern or profile name, e.g. adaptive_tournament_v2.")]
Ref = Annotated[
    str | None,
    Field(description="A release (X.Y.Z), a branch (fork/NAME), a tag or a commit; default HEAD."),
]
Texts = Annotated[list[str] | None, Field(description="All of these must be present.")]


def discover(
    ctx: Ctx,
    kind: Annotated[
        Literal["orchestration", "profile"] | None, Field(description="Only this kind.")
    ] = None,
    tags: Texts = None,
    capabilities: Texts = None,
    where: Annotated[
        list[str] | None,
        Field(description="FIELD OP VALUE expressions, e.g. 'performance.avg_score >= 0.8'."),
    ] = None,
    metadata_filter: Annotated[
        dict[str, Any] | None,
        Field(description="The seed's filter: {field: value | [values] | {op: value}}."),
    ] = None,
    ref: Ref = None,
    all_branches: Annotated[bool, Field(description="Search every branch (not with ref).")] = False,
) -> CallToolResult:
    """Find patterns and profiles by kind, tags, capabilities, `where` expressions and the
    seed's metadata_filter; at a ref, or on every branch (forks not merged yet included)."""
    from ksi_patterns.operations.finding import discover as run

    def found(registry: Registry, _caller: Caller) -> Mapping[str, Any]:
        return run(
            registry,
            kind=kind,
            tags=tags or (),
            capabilities=capabilities or (),
            where=where or (),
            metadata_filter=metadata_filter,
            ref=ref,
            all_branches=all_branches,
        ).to_json()

    return answer(ctx, found)


def select(
    ctx: Ctx,
    task: Annotated[str, Field(description="What the pattern is for, in words.")],
    requirements: Annotated[
        dict[str, Any] | list[str] | None,
        Field(description="Must-haves: {KEY: VALUE or true}, or ['KEY', 'KEY=VALUE']."),
    ] = None,
    top: Annotated[int, Field(description="How many to return (1 to 50).")] = 5,
    ref: Ref = None,
) -> CallToolResult:
    """Rank the orchestration patterns that best fit a task, best first, each score explained
    (relevance to the task, performance, success rate, freshness)."""
    from ksi_patterns.operations.finding import select as run

    def ranked(registry: Registry, _caller: Caller) -> Mapping[str, Any]:
        wanted = requirements or ()
        return run(registry, task, requirements=wanted, top=top, ref=ref or "HEAD").to_json()

    return answer(ctx, ranked)


def show(
    ctx: Ctx,
    name: Annotated[str, Field(description="The pattern or profile (NAME or NAME@REF).")],
    ref: Ref = None,
    resolved: Annotated[
        bool, Field(description="Apply `extends`: the parents' fields filled in.")
    ] = False,
) -> CallToolResult:
    """Read one pattern or profile, as written or with `extends` resolved; at HEAD (a fork
    not merged yet: on its branch) or at a ref."""
    from ksi_patterns.operations.reading import show as run

    reference = name if ref is None else f"{name}@{ref}"
    return answer(
        ctx, lambda registry, _caller: run(registry, reference, resolved=resolved).to_json()
    )


def lineage(
    ctx: Ctx,
    name: Annotated[str | None, Field(description="Only the family tree holding it.")] = None,
) -> CallToolResult:
    """The family tree of forks: each pattern's parent, fork date and reason, releases, merges
    back, and children; every tree, or the one holding `name`."""
    from ksi_patterns.operations.forks import lineage as run

    def trees(registry: Registry, _caller: Caller) -> Mapping[str, Any]:
        return {"trees": [root.to_json() for root in run(registry, name)]}

    return answer(ctx, trees)


def diff(
    ctx: Ctx,
    a: Annotated[str, Field(description="NAME, NAME@X.Y.Z or NAME@REF; alone: a fork.")],
    b: Annotated[
        str | None, Field(description="The other side; default: a's parent at the fork point.")
    ] = None,
    show_all: Annotated[
        bool, Field(description="Also show what every fork changes (name, lineage...).")
    ] = False,
) -> CallToolResult:
    """Structural diff of two patterns, or of a fork against its parent at the fork point:
    each change with its path (keyed by identity, not position) and a summary."""
    from ksi_patterns.operations.diffs import diff as run

    def changes(registry: Registry, caller: Caller) -> Mapping[str, Any]:
        done = run(registry, a, b, show_all=show_all, files=False, caller=caller)
        return done.to_json(limit=MAX_CHANGES)

    return answer(ctx, changes)


def validate(ctx: Ctx) -> CallToolResult:
    """Check every document of the registry (schemas, names, duplicates, `extends`): each
    finding with its file and line."""
    from ksi_patterns.operations.checking import validate as run

    return answer(ctx, lambda registry, _caller: run(registry=registry).to_json())


TOOLS: tuple[Callable[..., CallToolResult], ...] = (discover, select, show, lineage, diff, validate)
