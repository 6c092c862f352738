"""The prompts: `orchestrate` makes the host the orchestrator of a pattern (the very system
prompt `ksi orchestrate run` gives its model), `fork_and_improve` walks an agent through
turning a good run into a fork, and the fork into its parent's improvement."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ksi_patterns.errors import KsiError
from ksi_patterns.mcp.calls import Ctx, place_of, protocol_error
from ksi_patterns.registry.registry import open_registry


def orchestrate(
    ctx: Ctx,
    pattern: Annotated[str, Field(description="The orchestration pattern to run.")],
    task: Annotated[str, Field(description="What the session should do.")],
    profile: Annotated[
        str | None,
        Field(description="The orchestrator's profile; default: the registry's default one."),
    ] = None,
) -> str:
    """Become the orchestrator of a pattern: the system prompt `ksi orchestrate run` builds
    (the orchestrator profile, the pattern and its strategy DSL, the task). Act through the
    emit_event tool."""
    from ksi_patterns.operations.sessions import system_prompt

    try:
        registry = open_registry(place_of(ctx).location)
        return system_prompt(registry, pattern, task, profile=profile).system
    except KsiError as err:
        raise protocol_error(err) from None


FORK_AND_IMPROVE = """\
A run of the pattern `{pattern}` went well. Turn what made it good into an improvement that \
others can reuse, with the ksi tools, step by step:

1. Read the pattern: `show` with name "{pattern}" (and resolved: true to see what it \
inherits). Read its decision log (resource ksi://patterns/{pattern}/decisions) for the \
decisions that led to the good outcome.
2. Record the run, if nobody did: `record_run` with pattern "{pattern}", its score (0 to 1) and \
a run_id.
3. Say precisely which settings made the difference. What went well:
   {what_worked}
4. Fork it: `fork` with parent "{pattern}", name "{fork}", a reason in one sentence, and \
modifications as {{"dotted.path": value}} for exactly those settings (nothing else).
5. Teach the fork what you learned: `learn` with pattern "{fork}", the insight, a confidence \
(0 to 1) and the evidence (the run). Track the decision to fork: `track_decision` with pattern \
"{fork}", decision "forked_from_{pattern}" and the context.
6. Check the change: `diff` with a "{fork}" (alone: against its parent at the fork point).
7. When the fork has proven itself, merge it back: `merge` with fork "{fork}" as a dry run \
first, then with apply: true. A merge that conflicts writes nothing and returns the conflicts: \
decide, then ask again with resolve "ours" or "theirs".

Every write is a git commit recorded as yours; a refused request writes nothing and says why \
in one line."""


def fork_and_improve(
    pattern: Annotated[str, Field(description="The pattern whose run went well.")],
    what_worked: Annotated[
        str, Field(description="What went well in the run, and which settings it was due to.")
    ],
    fork_name: Annotated[
        str | None, Field(description="The fork's name; default: PATTERN_improved.")
    ] = None,
) -> str:
    """Walk through forking a pattern after a good run: record the run, fork with the settings
    that made the difference, add the learning, diff, and merge back when it has proven
    itself."""
    fork = fork_name or f"{pattern}_improved"
    return FORK_AND_IMPROVE.format(pattern=pattern, fork=fork, what_worked=what_worked.strip())


PROMPTS = (orchestrate, fork_and_improve)
