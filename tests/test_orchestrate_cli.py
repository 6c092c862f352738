"""`ksi orchestrate sessions/show`, `ksi pattern lint`, the live view, and bad requests."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from conftest import RunFn, commit_all

PATTERN = "adaptive_tournament_v2"


def simulate(run: RunFn, registry: Path, *args: str) -> dict[str, Any]:
    done = run(
        "orchestrate", "run", PATTERN, "--backend", "simulate", "--task", "rank",
        "--registry", registry, "--json", *args,
    )  # fmt: skip
    assert done.exit_code == 0, done
    summary: dict[str, Any] = done.json()
    return summary


def test_sessions_lists_every_session_and_show_replays_one(run: RunFn, registry_dir: Path) -> None:
    assert run("orchestrate", "sessions", "--registry", registry_dir, "--json").json() == []
    first = simulate(run, registry_dir, "-m", "timeout_rate=35%")
    second = simulate(run, registry_dir, "--max-turns", "1")
    listed = run("orchestrate", "sessions", "--registry", registry_dir, "--json").json()
    assert [s["id"] for s in listed] == [first["session"], second["session"]]
    assert [(s["pattern"], s["backend"], s["status"]) for s in listed] == [
        (PATTERN, "simulate", "completed"),
        (PATTERN, "simulate", "stopped"),
    ]
    assert [(s["turns"], s["events"]) for s in listed] == [(3, 7), (1, 2)]
    assert all(s["started"].endswith("Z") for s in listed)

    table = run("orchestrate", "sessions", "--registry", registry_dir)
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "PATTERN", "BACKEND", "STARTED", "TURNS", "EVENTS", "STATUS"]
    assert rows[0].startswith(first["session"]) and "completed (end_turn)" in rows[0]
    assert "stopped (max_turns)" in rows[1]

    # show: by id, by a unique prefix, and `last`
    shown = run("orchestrate", "show", first["session"], "--registry", registry_dir)
    assert shown.exit_code == 0, shown
    out = shown.stdout
    assert f"session {first['session']}: {PATTERN} on simulate, profile base_orchestrator" in out
    assert "[orchestrator] turn 2 (DURING each_round)" in out
    assert "line 56: timeout_rate > 30% -> true" in out
    assert "[orchestrator] event evaluation:adjust_complexity" in out
    assert "decision reduced_complexity on adaptive_tournament_v2 (confidence 0.8), commit" in out
    assert "line 42: skipped: ANALYZE participant_capabilities (interpretive, skipped)" in out
    assert out.rstrip().endswith("session completed: stop end_turn")
    prefix = run("orchestrate", "show", first["session"][:-2], "--registry", registry_dir)
    assert prefix.stdout == out
    last = run("orchestrate", "show", "last", "--registry", registry_dir, "--json").json()
    assert last[0]["session"] == second["session"]
    assert last[-1]["type"] == "session_end" and last[-1]["stop_reason"] == "max_turns"


def test_show_of_an_unknown_or_ambiguous_session(run: RunFn, registry_dir: Path) -> None:
    missing = run("orchestrate", "show", "nope", "--registry", registry_dir)
    assert missing.exit_code == 2
    assert "no session 'nope'" in missing.stderr
    simulate(run, registry_dir)
    simulate(run, registry_dir)
    ambiguous = run("orchestrate", "show", "2", "--registry", registry_dir)
    assert ambiguous.exit_code == 2
    assert "matches 2 sessions" in ambiguous.stderr
    hostile = run("orchestrate", "show", "../../HEAD", "--registry", registry_dir)
    assert hostile.exit_code == 2 and "is not a session id" in hostile.stderr


def test_a_killed_session_shows_as_interrupted(run: RunFn, registry_dir: Path) -> None:
    summary = simulate(run, registry_dir)
    path = Path(summary["transcript"])
    lines = path.read_text().splitlines()
    start = json.loads(lines[0])
    start["pid"] = 2**22 + 12345  # a process that does not exist
    path.write_text("\n".join([json.dumps(start), *lines[1:-1]]) + "\n")
    listed = run("orchestrate", "sessions", "--registry", registry_dir, "--json").json()
    assert listed[0]["status"] == "interrupted"


def test_bad_requests_are_one_line_errors(run: RunFn, registry_dir: Path) -> None:
    def fails(*args: str) -> str:
        done = run("orchestrate", "run", *args, "--registry", registry_dir)
        assert done.exit_code == 2, done
        assert len(done.stderr.strip().splitlines()) == 1
        return done.stderr

    base = ("--backend", "simulate", "--task", "t")
    assert "no pattern or profile named 'nope'" in fails("nope", *base)
    assert "not an orchestration pattern" in fails("base_orchestrator", *base)
    assert "--max-turns must be at least 1" in fails(PATTERN, *base, "--max-turns", "0")
    assert "expected NAME=VALUE" in fails(PATTERN, *base, "-m", "oops")
    assert "--task is empty" in fails(PATTERN, "--backend", "simulate", "--task", " ")
    assert "no profile named 'ghost'" in fails(PATTERN, *base, "--profile", "ghost")
    assert not (registry_dir / ".git" / "ksi" / "sessions").exists()


# ---------------------------------------------------------------------------------------------
# ksi pattern lint

LINTED = """\
name: linted
type: orchestration
version: 1.0.0
description: A strategy with a broken line, a bad condition and an unknown event.
orchestration_logic:
  description: checks
  strategy: |
    WHEN start:
      # a comment line counts as a line
      EMIT "composition:discover" WITH {type: "orchestration"}
      EMIT evaluation:prompt
      IF score >> 3:
        EMIT "test:unknown_event" WITH {a: 1}
      SPAWN helper WITH profile: "base_multi_agent"
      TRACK decision: "d" WITH confidence: 0.5
      EMIT "test:unknown_event"
"""


def test_lint_reports_broken_lines_bad_conditions_and_unhandled_events(
    run: RunFn, registry_dir: Path
) -> None:
    (registry_dir / "orchestrations" / "linted.yaml").write_text(LINTED)
    done = run("pattern", "lint", "linted", "--registry", registry_dir)
    assert done.exit_code == 1, done
    file = "registry/orchestrations/linted.yaml"  # relative to the current directory
    assert done.stdout.splitlines() == [
        f"{file}:11:7: error: cannot parse: the event name after EMIT must be quoted, "
        'e.g. "namespace:action"',
        f"{file}:12:7: error: condition 'score >> 3': not a valid expression at column 8",
        f"{file}:13:9: warning: event 'test:unknown_event' has no handler (composition "
        "handlers, plugins, agent:spawn) (and 1 more line(s))",
    ]
    assert "linted: 3 problem(s)" in done.stderr
    report = run("pattern", "lint", "linted", "--registry", registry_dir, "--json").json()
    assert report["clean"] is False
    (linted,) = report["patterns"]
    assert [(f["line"], f["column"], f["severity"]) for f in linted["findings"]] == [
        (11, 7, "error"),
        (12, 7, "error"),
        (13, 9, "warning"),
    ]
    assert linted["events"] == [
        "composition:discover",
        "test:unknown_event",
        "agent:spawn",
        "composition:track_decision",
    ]


CLEAN = """\
name: clean_one
type: orchestration
version: 1.0.0
description: Only events with handlers.
orchestration_logic:
  strategy: |
    WHEN start:
      ANALYZE the task
      EMIT "composition:discover" WITH {type: "orchestration"}
      SPAWN helper WITH profile: "base_multi_agent"
      IF timeout_rate > 30%:
        TRACK decision: "d" WITH confidence: 0.5
"""


def test_lint_of_a_clean_pattern_exits_0(run: RunFn, registry_dir: Path) -> None:
    (registry_dir / "orchestrations" / "clean_one.yaml").write_text(CLEAN)
    commit_all(registry_dir, "clean pattern")
    done = run("pattern", "lint", "clean_one", "--registry", registry_dir)
    assert done.exit_code == 0, done
    assert done.stdout == ""
    assert "clean_one: clean (3 event(s), all handled; 1 interpretive line(s)" in done.stderr
    # at a revision, and as a file path
    at_head = run("pattern", "lint", "clean_one", "--ref", "HEAD", "--registry", registry_dir)
    assert at_head.exit_code == 0, at_head
    as_file = run("pattern", "lint", registry_dir / "orchestrations" / "clean_one.yaml")
    assert as_file.exit_code == 0, as_file


def test_lint_of_the_starter_pattern_warns_about_its_domain_events(
    run: RunFn, registry_dir: Path
) -> None:
    done = run("pattern", "lint", PATTERN, "--registry", registry_dir, "--json")
    assert done.exit_code == 1
    findings = done.json()["patterns"][0]["findings"]
    assert {f["severity"] for f in findings} == {"warning"}  # the DSL itself parses
    unhandled = [f["message"].split("'")[1] for f in findings]
    assert "orchestration:configure" in unhandled and "monitoring:alert" in unhandled
    assert "composition:track_decision" not in unhandled and "agent:spawn" not in unhandled


def test_lint_without_a_strategy_and_of_a_missing_pattern(run: RunFn, registry_dir: Path) -> None:
    (registry_dir / "orchestrations" / "no_strategy.yaml").write_text(
        "name: no_strategy\ntype: orchestration\nversion: 1.0.0\n"
    )
    done = run("pattern", "lint", "no_strategy", "--registry", registry_dir)
    assert done.exit_code == 0
    assert "no orchestration_logic.strategy to check" in done.stderr
    missing = run("pattern", "lint", "nope", "--registry", registry_dir)
    assert missing.exit_code == 2 and "nope" in missing.stderr


# ---------------------------------------------------------------------------------------------
# The live view


def test_live_view_shows_turns_events_and_decisions() -> None:
    from rich.console import Console

    from ksi_patterns.cli.orchestrate_cmd import LiveView

    out = io.StringIO()
    view = LiveView(Console(file=out, force_terminal=True, width=100))
    records: list[dict[str, Any]] = [
        {"type": "session_start", "session": "S1", "limits": {"max_turns": 5, "max_tokens": 999}},
        {"type": "turn", "depth": 0, "turn": 1, "usage": {"input_tokens": 10, "output_tokens": 5}},
        {"type": "event", "depth": 0, "event": "monitoring:alert", "emitted": True},
        {"type": "agent_start", "depth": 1, "agent": "judge#1", "profile": "base_multi_agent"},
        {"type": "turn", "depth": 1, "agent": "judge#1", "turn": 1},
        {"type": "event", "depth": 0, "event": "x:y", "emitted": False, "is_error": True},
        {"type": "decision", "depth": 0, "decision": "reduced_complexity", "confidence": 0.8},
    ]
    for record in records:
        view(record)
    rendered = Console(file=io.StringIO(), width=100)
    with rendered.capture() as capture:
        rendered.print(view.render())
    screen = capture.get()
    assert "session S1" in screen
    assert "turns 1/5 · tokens 15/999 · events 2 · sub-agent turns 1 · errors 1" in screen
    assert "✓ monitoring:alert" in screen and "✗ x:y" in screen
    assert "spawned judge#1 (base_multi_agent)" in screen
    assert "decisions: reduced_complexity (0.8)" in screen


def test_help_lists_the_commands(run: RunFn) -> None:
    assert "orchestrate" in run("--help").stdout
    assert "lint" in run("pattern", "--help").stdout
    sub = run("orchestrate", "--help").stdout
    assert all(name in sub for name in ("run", "sessions", "show"))
