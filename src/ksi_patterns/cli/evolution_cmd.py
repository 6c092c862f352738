"""`ksi pattern track-decision`, `decisions`, `learn` and `record-run`: evolution records."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ksi_patterns.evolution.decision_log import Stats
    from ksi_patterns.registry.registry import Registry

BranchOption = Annotated[
    str | None,
    typer.Option(help="Branch to commit on (default: the checked-out one).", show_default=False),
]


def _worktree_notes(paths: Sequence[str]) -> None:
    for path in paths:
        output.note(f"note: {path} has local changes; the working-tree copy was left alone")


# ---------------------------------------------------------------------------------------------
# ksi pattern track-decision

DecisionPatternArgument = Annotated[
    str, typer.Argument(help="The pattern the decision belongs to.")
]
DecisionOption = Annotated[
    str | None,
    typer.Option(help="What was decided, e.g. increased_timeout.", show_default=False),
]
ContextOption = Annotated[
    list[str] | None,
    typer.Option(
        "--context",
        help="KEY=VALUE of the situation (repeatable); VALUE is a YAML scalar (45 stays a number).",
        show_default=False,
    ),
]
ContextJsonOption = Annotated[
    str | None,
    typer.Option("--context-json", help="The context as a JSON object.", show_default=False),
]
OutcomeOption = Annotated[
    str | None, typer.Option(help="What came of it (can be set later with --update).")
]
ConfidenceOption = Annotated[
    str | None, typer.Option(help="How sure, from 0 to 1.", show_default=False)
]
AgentOption = Annotated[
    str | None,
    typer.Option(
        help="Who decided (default: the registry's defaults.author, else the git author).",
        show_default=False,
    ),
]
UpdateOption = Annotated[
    str | None,
    typer.Option(
        metavar="ID", help="Fill in the --outcome of the entry ID instead of appending one."
    ),
]


def track_decision(
    name: DecisionPatternArgument,
    decision: DecisionOption = None,
    context: ContextOption = None,
    context_json: ContextJsonOption = None,
    outcome: OutcomeOption = None,
    confidence: ConfidenceOption = None,
    agent: AgentOption = None,
    update: UpdateOption = None,
    branch: BranchOption = None,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Append a decision to NAME's decision log (a commit); prints the new entry's id."""
    from ksi_patterns.errors import UsageError
    from ksi_patterns.registry.registry import open_registry

    if update is not None:
        given = [
            option
            for option, value in (
                ("--decision", decision),
                ("--context", context),
                ("--context-json", context_json),
                ("--confidence", confidence),
                ("--agent", agent),
            )
            if value
        ]
        if given:
            raise UsageError(f"--update changes only the outcome: drop {', '.join(given)}")
        if outcome is None:
            raise UsageError("--update ID needs --outcome: the outcome to record")
        _update(open_registry(registry), name, update, outcome, branch, json)
        return
    if decision is None:
        raise UsageError("--decision is required (or --update ID --outcome O)")
    if context and context_json is not None:
        raise UsageError("give the context as --context KEY=VALUE or --context-json, not both")
    _track(
        open_registry(registry),
        name,
        decision,
        _context(context, context_json),
        outcome=outcome,
        confidence=confidence,
        agent=agent,
        branch=branch,
        json=json,
    )


def _context(pairs: list[str] | None, text: str | None) -> dict[str, Any]:
    from ksi_patterns.cli import arguments

    if pairs:
        return arguments.context(pairs)
    return arguments.json_object(text, "--context-json") if text is not None else {}


def _update(
    registry: Registry, name: str, entry_id: str, outcome: str, branch: str | None, json: bool
) -> None:
    from ksi_patterns.operations.decisions import update_decision

    updated = update_decision(registry, name, entry_id, outcome, branch=branch)
    if json:
        output.print_json(updated.entry)
    else:
        output.plain_text(entry_id)
        output.note(
            f"Outcome of {entry_id} set to {outcome!r} in {updated.path} "
            f"({updated.commit_id[:10]})."
        )
    _worktree_notes(updated.skipped_worktree_paths)


def _track(
    registry: Registry,
    name: str,
    decision: str,
    context: dict[str, Any],
    *,
    outcome: str | None,
    confidence: str | None,
    agent: str | None,
    branch: str | None,
    json: bool,
) -> None:
    from ksi_patterns.operations.decisions import track_decision as run

    done = run(
        registry,
        name,
        decision,
        context=context,
        outcome=outcome,
        confidence=confidence,
        agent_id=agent,
        branch=branch,
        caller=output.caller(),
    )
    if json:
        output.print_json(done.entry)  # the entry as the log holds it
    else:
        output.plain_text(done.entry["id"])
        verb = "Created" if done.created else "Appended to"
        output.note(f"{verb} {done.path} ({done.commit_id[:10]}).")
    _worktree_notes(done.skipped_worktree_paths)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{key}={_cell(child)}" for key, child in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_cell(child) for child in value) + "]"
    return " ".join(str(value).split())


def _table(headers: list[str], rows: list[list[str]], wrap: str | None = None) -> None:
    if not sys.stdout.isatty():
        output.columns([headers, *rows])
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in headers:
        table.add_column(column, no_wrap=column != wrap, overflow="fold")
    for row in rows:
        table.add_row(*row)
    output.table_console().print(table)


# ---------------------------------------------------------------------------------------------
# ksi pattern decisions

LogPatternArgument = Annotated[str, typer.Argument(help="The pattern whose decision log to show.")]
SinceOption = Annotated[
    str | None,
    typer.Option(help="Only from this ISO date or date-time (UTC).", show_default=False),
]
AgentGlobOption = Annotated[
    str | None, typer.Option(help="Only this agent (glob).", show_default=False)
]
DecisionGlobOption = Annotated[
    str | None, typer.Option(help="Only this decision (glob).", show_default=False)
]
OutcomeGlobOption = Annotated[
    str | None,
    typer.Option(help="Only this outcome (glob; 'none': not known yet).", show_default=False),
]
StatsOption = Annotated[
    bool, typer.Option("--stats", help="Counts per decision and outcome, mean confidence.")
]
RefOption = Annotated[str, typer.Option(help="Branch, tag or commit to read.")]


def decisions(
    name: LogPatternArgument,
    since: SinceOption = None,
    agent: AgentGlobOption = None,
    decision: DecisionGlobOption = None,
    outcome: OutcomeGlobOption = None,
    stats: StatsOption = False,
    ref: RefOption = "HEAD",
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Show NAME's decision log: a table, --stats, or --json."""
    from ksi_patterns.evolution.decision_log import decision_stats
    from ksi_patterns.operations.decisions import decisions as read_decisions
    from ksi_patterns.registry.registry import open_registry

    entries = read_decisions(
        open_registry(registry),
        name,
        since=since,
        agent=agent,
        decision=decision,
        outcome=outcome,
        ref=ref,
    )
    if stats:
        summary = decision_stats(entries)
        if json:
            output.print_json(summary.to_json())
        else:
            _show_stats(summary)
    elif json:
        output.print_json(entries)
    elif not entries:
        output.note("No decisions match.")
    else:
        _show_entries(entries)


def _show_stats(summary: Stats) -> None:
    mean = (
        f"mean confidence {summary.mean_confidence:.3f} ({summary.with_confidence} with one)"
        if summary.mean_confidence is not None
        else "no confidence recorded"
    )
    output.plain_text(f"{summary.count} decision(s); {mean}")
    if summary.count:
        _table(["DECISION", "COUNT"], [[k, str(n)] for k, n in summary.decisions.items()])
        _table(["OUTCOME", "COUNT"], [[k, str(n)] for k, n in summary.outcomes.items()])


def _show_entries(entries: list[dict[str, Any]]) -> None:
    rows = [
        [
            _cell(entry.get("id")),
            _cell(entry.get("timestamp")),
            _cell(entry.get("agent_id")),
            _cell(entry.get("decision")),
            _cell(entry.get("outcome")),
            _cell(entry.get("confidence")),
            _cell(entry.get("context")),
        ]
        for entry in entries
    ]
    headers = ["ID", "TIMESTAMP", "AGENT", "DECISION", "OUTCOME", "CONF", "CONTEXT"]
    _table(headers, rows, wrap="CONTEXT")


def learn(
    name: Annotated[str, typer.Argument(help="The pattern that learned something.")],
    insight: Annotated[str, typer.Option(help="What was learned.", show_default=False)],
    confidence: Annotated[str, typer.Option(help="How sure, from 0 to 1.", show_default=False)],
    evidence: Annotated[
        str | None, typer.Option(help="What supports it, e.g. runs:[7,9,11].", show_default=False)
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="Who discovered it (default: the registry's defaults.author, else the git "
            "author).",
            show_default=False,
        ),
    ] = None,
    branch: BranchOption = None,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Add an insight to NAME's learnings (or update the same insight), as a commit."""
    from ksi_patterns.operations.learnings import learn as run_learn
    from ksi_patterns.registry.registry import open_registry

    done = run_learn(
        open_registry(registry),
        name,
        insight,
        confidence,
        evidence=evidence,
        discovered_by=by,
        branch=branch,
        caller=output.caller(),
    )
    if json:
        output.print_json(done.to_json())
    else:
        verb = "Added a learning to" if done.action == "added" else "Updated a learning of"
        output.say(f"{verb} {name} (in {done.where}), commit {done.commit_id[:10]}.")
    _worktree_notes(done.skipped_worktree_paths)


def record_run(
    name: Annotated[str, typer.Argument(help="The pattern that ran.")],
    score: Annotated[str, typer.Option(help="The run's score, from 0 to 1.", show_default=False)],
    success: Annotated[
        bool, typer.Option("--success/--failure", help="Whether the run succeeded.")
    ] = True,
    run_id: Annotated[
        str | None,
        typer.Option(
            help="The run's id: the same id is never counted twice (the last 50 are kept in "
            "performance.run_ids).",
            show_default=False,
        ),
    ] = None,
    branch: BranchOption = None,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Count a run in NAME's performance (runs, running averages, gain over the parent)."""
    from ksi_patterns.operations.runs import record_run
    from ksi_patterns.registry.registry import open_registry

    done = record_run(
        open_registry(registry),
        name,
        score,
        success=success,
        run_id=run_id,
        branch=branch,
        caller=output.caller(),
    )
    if json:
        output.print_json(done.to_json())
        _worktree_notes(done.skipped_worktree_paths)
        return
    output.say(
        f"Recorded run {done.runs} of {name} (score {done.score:g}, "
        f"{'success' if done.success else 'failure'}): avg_score {done.avg_score:g}, "
        f"success_rate {done.success_rate:g}; commit {done.commit_id[:10]}."
    )
    if done.improvements_over_parent is not None:
        output.say(
            f"{done.improvements_over_parent} over its parent {done.parent} "
            f"(avg_score {done.parent_avg_score:g})."
        )
    elif done.parent is not None:
        output.note(
            f"note: {done.parent}'s avg_score is unknown: improvements_over_parent not updated"
        )
    if done.merge_candidate:
        output.say(
            f"Merge candidate: {name} beats {done.parent} by {done.improvements_over_parent} "
            f"over {done.runs} runs; try `ksi pattern merge {name}`."
        )
    _worktree_notes(done.skipped_worktree_paths)
