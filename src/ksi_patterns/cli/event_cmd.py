"""`ksi event emit`, `ksi event log` and `ksi event handlers`."""

from __future__ import annotations

import json as jsonlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption
from ksi_patterns.errors import EXIT_FOUND, EXIT_USAGE

if TYPE_CHECKING:
    from ksi_patterns.events.types import Emission

_SHOWN_CHARS = 300  # of a handler's result, in plain output
POLL_SECONDS = 0.5  # --follow


def emit(
    event: Annotated[str, typer.Argument(help="The event, e.g. composition:fork.")],
    data: Annotated[
        str | None,
        typer.Option("--data", help="The event data: a JSON object, or @FILE holding one."),
    ] = None,
    delay: Annotated[
        float | None,
        typer.Option(
            "--delay", help="Fire after this many seconds (the command waits).", show_default=False
        ),
    ] = None,
    condition: Annotated[
        str | None,
        typer.Option(
            "--condition",
            help="Emit only if this holds, e.g. 'timeout_rate > 30% AND NOT all_scores_similar'. "
            "It reads the metrics and the data's keys (and `data`, `metrics`).",
            show_default=False,
        ),
    ] = None,
    metrics: Annotated[
        list[str] | None,
        typer.Option(
            "--metrics",
            help="NAME=VALUE the condition can read (repeatable): 0.35, 35%, true, [1, 2], text.",
        ),
    ] = None,
    plugins: Annotated[
        bool,
        typer.Option(help="Load the handler plugins (entry points ksi_patterns.handlers)."),
    ] = True,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Emit an event through the registry's handlers and plugins; print what became of it.

    The composition handlers (composition:fork, ...) and the plugins handle it, the event log
    records it and every event it caused, and those are printed too.

    Exit 0 when it was handled (or nobody handles it, or its condition was false), 1 when a
    handler failed, 2 when the event was refused or its condition could not be evaluated.
    """
    from ksi_patterns.composition.plugins import build_bus
    from ksi_patterns.events.metric_values import parse_metrics
    from ksi_patterns.events.types import CONDITION_ERROR, REFUSED
    from ksi_patterns.registry.registry import open_registry

    payload = _data(data)
    values = parse_metrics(metrics or [])
    found = open_registry(registry)
    bus = build_bus(found, metrics=values, plugins=plugins, warn=output.note)
    settled: list[Emission] = []
    bus.observe(settled.append)
    try:
        top = bus.emit(event, payload, delay=delay, condition=condition)
        if top.scheduled:
            output.note(f"{event}: {top.reason}; waiting…")
        bus.wait()
    finally:
        bus.close()
    for problem in bus.log_errors:
        output.note(f"warning: {problem}")
    followers = [emission for emission in settled if emission is not top]
    if json:
        output.print_json({**top.to_json(), "followed_by": [e.to_json() for e in followers]})
    else:
        _show(top)
        for emission in followers:
            _show(emission, prefix="then ")
    # The event asked for: `top`, and when it was delayed, the same event when it fired.
    asked = [top, *(e for e in followers if e.event.id == top.event.id)]
    bad = next((e for e in asked if e.outcome in (REFUSED, CONDITION_ERROR)), None)
    if bad is not None:
        if not json:
            output.error(bad.error or bad.reason or bad.outcome)
        raise typer.Exit(EXIT_USAGE)
    if any(e.failed or e.outcome in (REFUSED, CONDITION_ERROR) for e in followers):
        raise typer.Exit(EXIT_FOUND)
    if top.failed:
        raise typer.Exit(EXIT_FOUND)


def _data(text: str | None) -> dict[str, Any]:
    from ksi_patterns.errors import UsageError
    from ksi_patterns.events.metric_values import json_object

    if text is None:
        return {}
    source = "--data"
    if text.startswith("@"):
        source = f"--data {text}"
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError(f"{source}: cannot read {text[1:]}: {err}") from None
    return json_object(text, source)


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

    from ksi_patterns.composition.plugins import event_log_path
    from ksi_patterns.errors import UsageError
    from ksi_patterns.registry.registry import open_registry

    if lines < 0:
        raise UsageError("-n must be 0 or more")
    path = event_log_path(open_registry(registry))

    def wanted(record: dict[str, Any]) -> bool:
        return event is None or fnmatchcase(str(record.get("event", "")), event)

    show: Callable[[dict[str, Any]], None] = _print_json_line if json else _print_record
    records, offset, skipped = tail(path, lines, wanted)
    if not records and not follow and not json:
        output.note(f"No events{f' matching {event}' if event else ''} in {path}.")
    for record in records:
        show(record)
    if skipped:
        output.note(f"note: skipped {skipped} line(s) that are not JSON")
    if follow:
        sys.stdout.flush()
        for record in _follow(path, offset, follow_for):
            if wanted(record):
                show(record)
                sys.stdout.flush()


def tail(
    path: Path, count: int, wanted: Callable[[dict[str, Any]], bool]
) -> tuple[list[dict[str, Any]], int, int]:
    """The last `count` wanted records of the log (oldest first), the log's size (where to
    follow from) and how many unreadable lines were skipped. Reads backwards in blocks, so a
    large log costs what its tail costs."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return [], 0, 0
    with handle:
        size = handle.seek(0, 2)
        found: list[dict[str, Any]] = []
        skipped = 0
        position = size
        rest = b""
        while position > 0 and len(found) < count:
            step = min(65536, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + rest
            pieces = chunk.split(b"\n")
            rest = pieces[0] if position > 0 else b""
            complete = pieces[1:] if position > 0 else pieces
            for raw in reversed(complete):
                record = _parse(raw)
                if record is None:
                    skipped += bool(raw.strip())
                    continue
                if wanted(record):
                    found.append(record)
                    if len(found) >= count:
                        break
    return list(reversed(found)), size, skipped


def _parse(raw: bytes) -> dict[str, Any] | None:
    if not raw.strip():
        return None
    try:
        value = jsonlib.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _follow(path: Path, offset: int, stop_after: float | None) -> Iterator[dict[str, Any]]:
    """Records appended to the log from `offset` on, polling; starts over when the log shrank
    (it was removed or replaced)."""
    deadline = time.monotonic() + stop_after if stop_after is not None else None
    partial = b""
    while deadline is None or time.monotonic() < deadline:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < offset:
            offset, partial = 0, b""
        if size > offset:
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read(size - offset)
            offset += len(chunk)
            *complete, partial = (partial + chunk).split(b"\n")
            for raw in complete:
                record = _parse(raw)
                if record is not None:
                    yield record
            continue
        time.sleep(POLL_SECONDS)


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
    from ksi_patterns.composition.plugins import inventory

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
