"""`ksi orchestrate run|sessions|show`: orchestrator sessions."""

from __future__ import annotations

import os
from collections import deque
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption

if TYPE_CHECKING:
    from types import TracebackType

    from rich.console import Console, RenderableType
    from rich.live import Live

    from ksi_patterns.orchestrator.options import SessionOptions
    from ksi_patterns.orchestrator.session import Session
    from ksi_patterns.orchestrator.summary import Summary
    from ksi_patterns.registry.registry import Registry


class BackendName(StrEnum):
    anthropic = "anthropic"
    simulate = "simulate"


PatternArgument = Annotated[str, typer.Argument(help="The orchestration pattern to run.")]
TaskOption = Annotated[
    str, typer.Option("--task", "-t", help="What the session should do.", show_default=False)
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        help="The orchestrator's profile (default: the registry's "
        "defaults.orchestrator_profile, else base_orchestrator).",
        show_default=False,
    ),
]
BackendOption = Annotated[
    BackendName,
    typer.Option(help="anthropic (the model) or simulate (an offline dry run of the DSL)."),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        help="Model for the anthropic backend (default: the registry's defaults.model, "
        "else claude-sonnet-5-5).",
        show_default=False,
    ),
]
MaxTurnsOption = Annotated[int, typer.Option(help="Turns of the orchestrator at most.")]
MaxTokensOption = Annotated[
    int, typer.Option(help="Input + output tokens of the whole session at most.")
]
SubAgentTurnsOption = Annotated[int, typer.Option(help="Turns of each spawned sub-agent at most.")]
MaxRetriesOption = Annotated[
    int, typer.Option(help="Retries of a failed API request (rate limits, overload).")
]
StreamOption = Annotated[bool, typer.Option(help="Stream responses (anthropic backend).")]
MetricsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metrics",
        "-m",
        help="NAME=VALUE the conditions see (repeatable): 35%, true, 0.4, [1,2,3].",
        show_default=False,
    ),
]


def run(
    pattern: PatternArgument,
    task: TaskOption,
    profile: ProfileOption = None,
    backend: BackendOption = BackendName.anthropic,
    model: ModelOption = None,
    max_turns: MaxTurnsOption = 20,
    max_tokens: MaxTokensOption = 200_000,
    sub_agent_turns: SubAgentTurnsOption = 8,
    max_retries: MaxRetriesOption = 2,
    stream: StreamOption = False,
    metrics: MetricsOption = None,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Run an orchestrator session on PATTERN: the model (or the simulator) carries out its
    strategy through emit_event; prints a summary, keeps a transcript."""
    from ksi_patterns.cli.arguments import metrics as parse_metrics
    from ksi_patterns.errors import UsageError
    from ksi_patterns.orchestrator.options import Limits, SessionOptions
    from ksi_patterns.registry.registry import open_registry

    if max_retries < 0:
        raise UsageError("--max-retries must be 0 or more")
    limits = Limits(max_turns, max_tokens, sub_agent_turns)
    parsed = parse_metrics(metrics or [])
    options = SessionOptions(
        pattern=pattern,
        task=task,
        backend=backend.value,
        profile=profile,
        model=model,
        limits=limits,
        metrics=parsed,
        api_key=_api_key(backend),
        max_retries=max_retries,
        stream=stream,
    )
    summary = _run_session(open_registry(registry), options)
    if json:
        output.print_json(summary.to_json())
    else:
        _print_summary(summary)
    for warning in summary.warnings:
        output.note(f"warning: {warning}")


def _api_key(backend: BackendName) -> str:
    """The anthropic backend's key, from the environment ("" for simulate)."""
    from ksi_patterns.errors import UsageError

    if backend is not BackendName.anthropic:
        return ""
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        raise UsageError(
            "ANTHROPIC_API_KEY is not set: export your API key, or use --backend simulate "
            "for an offline dry run"
        )
    return api_key


def _run_session(registry: Registry, options: SessionOptions) -> Summary:
    """The session run, with the live view on a terminal."""
    from ksi_patterns.operations.sessions import start_session

    console = output.stderr() if _stderr_is_terminal() else None
    view = LiveView(console) if console is not None else None
    session = start_session(registry, options, observers=(view,) if view else ())
    if view is not None:
        view.start(session)
    try:
        return session.run()
    finally:
        if view is not None:
            view.stop()


def _stderr_is_terminal() -> bool:
    import sys

    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


# ---------------------------------------------------------------------------------------------
# The live view (stderr, terminals only)


class LiveView:
    """Turns, events and decisions as they happen, in a rich Live on stderr."""

    def __init__(self, console: Console, *, shown: int = 8) -> None:
        self.console = console
        self.title = ""
        self.turns = 0
        self.agent_turns = 0
        self.tokens = 0
        self.events = 0
        self.errors = 0
        self.recent: deque[str] = deque(maxlen=shown)
        self.decisions: deque[str] = deque(maxlen=shown)
        self.limits: dict[str, Any] = {}
        self.live: Live | None = None

    def start(self, session: Session) -> None:
        from rich.live import Live

        self.title = f"{session.pattern} · {session.options.backend}" + (
            f" · {session.model}" if session.model else ""
        )
        self.live = Live(self.render(), console=self.console, refresh_per_second=8, transient=True)
        self.live.start()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def __enter__(self) -> LiveView:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __call__(self, record: dict[str, Any]) -> None:
        kind = record.get("type")
        depth = int(record.get("depth") or 0)
        who = "  " * depth + (f"{record.get('agent')}: " if depth else "")
        if kind == "session_start":
            self.title += f" · session {record.get('session')}"
            self.limits = record.get("limits") or {}
        elif kind == "turn":
            if depth:
                self.agent_turns += 1
            else:
                self.turns += 1
            usage = record.get("usage") or {}
            self.tokens += int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))
            if record.get("label"):
                self.recent.append(f"{who}— {record['label']}")
        elif kind == "event":
            self.events += 1
            mark = "✓" if record.get("emitted") else ("⏲" if record.get("scheduled") else "·")
            if record.get("is_error"):
                self.errors += 1
                mark = "✗"
            self.recent.append(f"{who}{mark} {record.get('event')}")
        elif kind == "decision":
            confidence = record.get("confidence")
            self.decisions.append(
                f"{record.get('decision')}" + (f" ({confidence})" if confidence is not None else "")
            )
        elif kind == "agent_start":
            self.recent.append(f"{who}spawned {record.get('agent')} ({record.get('profile')})")
        elif kind == "skipped":
            self.recent.append(f"{who}skipped line {record.get('line')}: {record.get('reason')}")
        if self.live is not None:
            self.live.update(self.render())

    def render(self) -> RenderableType:
        from rich.console import Group
        from rich.text import Text

        turns = f"turns {self.turns}" + (
            f"/{self.limits['max_turns']}" if "max_turns" in self.limits else ""
        )
        tokens = f"tokens {self.tokens:,}" + (
            f"/{self.limits['max_tokens']:,}" if "max_tokens" in self.limits else ""
        )
        counts = f"{turns} · {tokens} · events {self.events}"
        if self.agent_turns:
            counts += f" · sub-agent turns {self.agent_turns}"
        if self.errors:
            counts += f" · errors {self.errors}"
        lines: list[Text] = [Text(f"ksi orchestrate · {self.title}", style="bold"), Text(counts)]
        lines += [Text(f"  {line}", style="dim") for line in self.recent]
        if self.decisions:
            lines.append(Text("decisions: " + ", ".join(self.decisions)))
        return Group(*lines)


# ---------------------------------------------------------------------------------------------
# The summary


def _print_summary(summary: Summary) -> None:
    write = output.plain_text
    model = f", {summary.model}" if summary.model else ""
    write(
        f"Session {summary.session} ({summary.pattern}, {summary.backend}{model}): "
        f"{summary.status}, stop reason {summary.stop_reason}"
    )
    total = summary.tokens_input + summary.tokens_output
    turns = f"Turns: {summary.turns}"
    if summary.agents:
        turns += f" (+{summary.sub_agent_turns} by {len(summary.agents)} sub-agent(s))"
    write(
        f"{turns}; tokens: {total:,} ({summary.tokens_input:,} in, {summary.tokens_output:,} out)"
    )
    emitted = sum(summary.events.values())
    extra = []
    if summary.not_emitted:
        extra.append(f"{summary.not_emitted} held back by a condition")
    if summary.errors:
        extra.append(f"{summary.errors} with errors")
    write(f"Events emitted: {emitted}" + (f" ({'; '.join(extra)})" if extra else ""))
    if summary.events:
        width = max(len(name) for name in summary.events)
        for name, count in summary.events.items():
            write(f"  {name.ljust(width)}  {count}")
    write(f"Decisions tracked: {len(summary.decisions)}")
    for decision in summary.decisions:
        confidence = (
            f" (confidence {decision.confidence})" if decision.confidence is not None else ""
        )
        commit = f", commit {decision.commit[:10]}" if decision.commit else ""
        write(f"  {decision.decision}{confidence} on {decision.pattern}{commit}")
    if summary.skipped:
        write(f"DSL lines not carried out ({summary.pattern_path}): {len(summary.skipped)}")
        for entry in summary.skipped:
            line = entry.get("line")
            write(f"  line {line}: {_shorten(str(entry.get('text')), 60)}  ({entry.get('reason')})")
    if summary.final_text.strip():
        write(f"Final answer: {_shorten(summary.final_text, 2000)}")
    transcript = output.relative_path(summary.transcript)
    write(f"Transcript: {transcript} (ksi orchestrate show {summary.session})")


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# sessions, show


def sessions(registry: RegistryOption = None, json: JsonOption = False) -> None:
    """List the orchestrator sessions of this registry, oldest first."""
    from ksi_patterns.operations.sessions import sessions as list_sessions
    from ksi_patterns.registry.registry import open_registry

    found = list_sessions(open_registry(registry))
    if json:
        output.print_json([info.to_json() for info in found])
        return
    if not found:
        output.note("No sessions yet; start one with `ksi orchestrate run PATTERN --task TEXT`.")
        return
    rows = [["ID", "PATTERN", "BACKEND", "STARTED", "TURNS", "EVENTS", "STATUS"]]
    for info in found:
        rows.append(
            [
                info.id,
                info.pattern or "?",
                info.backend or "?",
                (info.started or "?")[:19].replace("T", " "),
                str(info.turns),
                str(info.events),
                info.status + (f" ({info.stop_reason})" if info.stop_reason else ""),
            ]
        )
    output.columns(rows)


def show(
    session_id: Annotated[
        str, typer.Argument(metavar="ID", help="A session id, a unique prefix of one, or 'last'.")
    ],
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Replay a session's transcript: turns, tool calls, events, decisions, the end."""
    from ksi_patterns.operations.sessions import transcript
    from ksi_patterns.orchestrator.transcripts import iter_lines
    from ksi_patterns.registry.registry import open_registry

    _path, records = transcript(open_registry(registry), session_id)
    if json:
        output.print_json(records)
        return
    for line in iter_lines(records):
        output.plain_text(line)
