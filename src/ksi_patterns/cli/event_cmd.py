"""`ksi event emit`, `ksi event log` and `ksi event handlers`."""

from __future__ import annotations

import json as jsonlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption
from ksi_patterns.errors import EXIT_FOUND, EXIT_USAGE

if TYPE_CHECKING:
    from ksi_patterns.events.types import Emission

_SHOWN_CHARS = 300  # of a handler's result, in plain output

EventArgument = Annotated[str, typer.Argument(help="The event, e.g. composition:fork.")]
DataOption = Annotated[
    str | None,
    typer.Option("--data", help="The event data: a JSON object, or @FILE holding one."),
]
DelayOption = Annotated[
    float | None,
    typer.Option(
        "--delay", help="Fire after this many seconds (the command waits).", show_default=False
    ),
]
ConditionOption = Annotated[
    str | None,
    typer.Option(
        "--condition",
        help="Emit only if this holds, e.g. 'timeout_rate > 30% AND NOT all_scores_similar'. "
        "It reads the metrics and the data's keys (and `data`, `metrics`).",
        show_default=False,
    ),
]
MetricsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metrics",
        help="NAME=VALUE the condition can read (repeatable): 0.35, 35%, true, [1, 2], text.",
    ),
]
PluginsOption = Annotated[
    bool, typer.Option(help="Load the handler plugins (entry points ksi_patterns.handlers).")
]


def emit(
    event: EventArgument,
    data: DataOption = None,
    delay: DelayOption = None,
    condition: ConditionOption = None,
    metrics: MetricsOption = None,
    plugins: PluginsOption = True,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Emit an event through the registry's handlers and plugins; print what became of it.

    The composition handlers (composition:fork, ...) and the plugins handle it, the event log
    records it and every event it caused, and those are printed too.

    Exit 0 when it was handled (or nobody handles it, or its condition was false), 1 when a
    handler failed, 2 when the event was refused or its condition could not be evaluated.
    """
    from ksi_patterns.cli import arguments
    from ksi_patterns.operations.emitting import emit as run_emit
    from ksi_patterns.registry.registry import open_registry

    done = run_emit(
        open_registry(registry),
        event,
        arguments.json_object(data, "--data") if data is not None else {},
        delay=delay,
        condition=condition,
        metrics=arguments.metrics(metrics or []),
        plugins=plugins,
        caller=output.caller(),
    )
    for problem in done.log_errors:
        output.note(f"warning: {problem}")
    if json:
        output.print_json(done.to_json())
    else:
        _show(done.top)
        for emission in done.followers:
            _show(emission, prefix="then ")
    if done.refusal is not None:
        if not json:
            output.error(done.refusal)
        raise typer.Exit(EXIT_USAGE)
    if done.failed:
        raise typer.Exit(EXIT_FOUND)


def _outcome(outcome: str, reason: str | None) -> str:
    """`condition false: x > 1`, `handled`, `handled: 1 of 2 handler(s) failed`."""
    if not reason or reason == outcome:
        return outcome
    return reason if reason.startswith(outcome) else f"{outcome}: {reason}"


def _show(emission: Emission, prefix: str = "") -> None:
    event = emission.event
    reason = emission.reason
    output.plain_text(f"{prefix}{event.name}  {_outcome(emission.outcome, reason)}  ({event.id})")
    for result in emission.results:
        if result.get("ok"):
            shown = jsonlib.dumps(result.get("result"), ensure_ascii=False, default=str)
            if len(shown) > _SHOWN_CHARS:
                shown = shown[: _SHOWN_CHARS - 1] + "… (--json shows all)"
            output.plain_text(f"  ok      {result['handler']}  {shown}")
        else:
            output.plain_text(f"  FAILED  {result['handler']}  {result.get('error')}")


# ---------------------------------------------------------------------------------------------
# ksi event log


def log(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events (Ctrl-C stops).")
    ] = False,
    lines: Annotated[int, typer.Option("-n", help="How many of the last events to show.")] = 20,
    event: Annotated[
        str | None,
        typer.Option(
            "--event",
            help="Only events matching this (fnmatch: composition:*).",
            show_default=False,
        ),
    ] = None,
    follow_for: Annotated[float | None, typer.Option("--follow-for", hidden=True)] = None,
    registry: RegistryOption = None,
    json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, as logged (JSON Lines).")
    ] = False,
) -> None:
    """Show the tail of the registry's event log (<git-dir>/ksi/events.jsonl)."""
    from fnmatch import fnmatchcase

    from ksi_patterns.events.log import follow as follow_log
    from ksi_patterns.operations.emitting import event_log
    from ksi_patterns.registry.registry import open_registry

    def wanted(record: dict[str, Any]) -> bool:
        return event is None or fnmatchcase(str(record.get("event", "")), event)

    show: Callable[[dict[str, Any]], None] = _print_json_line if json else _print_record
    found = event_log(open_registry(registry), count=lines, wanted=wanted)
    path = found.path
    if not found.records and not follow and not json:
        output.note(f"No events{f' matching {event}' if event else ''} in {path}.")
    for record in found.records:
        show(record)
    if found.skipped:
        output.note(f"note: skipped {found.skipped} line(s) that are not JSON")
    if follow:
        sys.stdout.flush()
        for record in follow_log(path, found.end, follow_for):
            if wanted(record):
                show(record)
                sys.stdout.flush()


def _print_json_line(record: dict[str, Any]) -> None:
    sys.stdout.write(jsonlib.dumps(record, ensure_ascii=False, default=str) + "\n")


def _print_record(record: dict[str, Any]) -> None:
    outcome = str(record.get("outcome", ""))
    reason = record.get("reason")
    handlers = record.get("handlers") or []
    failed = [h for h in handlers if isinstance(h, dict) and not h.get("ok")]
    parts = [
        str(record.get("time", "")),
        str(record.get("source") or "-"),
        str(record.get("event", "")),
        _outcome(outcome, reason),
    ]
    if handlers:
        parts.append(
            f"{len(handlers) - len(failed)}/{len(handlers)} ok"
            + "".join(f"; {h.get('handler')}: {h.get('error')}" for h in failed)
        )
    data = record.get("data")
    if data:
        shown = jsonlib.dumps(data, ensure_ascii=False, default=str)
        parts.append(shown if len(shown) <= 120 else shown[:119] + "…")
    output.plain_text("  ".join(parts))


# ---------------------------------------------------------------------------------------------
# ksi event handlers


def handlers(json: JsonOption = False) -> None:
    """List the handlers: built-in composition handlers, then those of plugins.

    Plugins are the entry points of the group ksi_patterns.handlers; each line says which events
    a handler takes, where it comes from, and what it announces.
    """
    from ksi_patterns.operations.buses import handlers as inventory

    found, reports = inventory()
    if json:
        output.print_json(
            {
                "handlers": [info.to_json() for info in found],
                "plugins": [report.to_json() for report in reports],
            }
        )
        return
    rows = [["EVENT", "HANDLER", "ORIGIN", "ANNOUNCES"]]
    rows += [[i.pattern, i.name, i.origin, i.announces or "-"] for i in found]
    output.columns(rows)
    for report in reports:
        if not report.ok:
            output.note(f"warning: handler {report.origin} failed to load: {report.error}")
        elif not report.handlers:
            output.note(f"note: handler {report.origin} registered no handler")
