"""The simulate backend on the starter patterns: which branch each set of metrics takes, the exact
events emitted through the bus, decisions committed, and the lines it lists instead of guessing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import RunFn, commit_all, git
from ksi_patterns.documents.loading import load_plain

PATTERN = "adaptive_tournament_v2"
FILE = f"orchestrations/{PATTERN}.yaml"


def simulate(run: RunFn, registry: Path, *args: str, pattern: str = PATTERN) -> dict[str, Any]:
    done = run(
        "orchestrate", "run", pattern, "--backend", "simulate", "--task", "rank 8 prompts",
        "--registry", registry, "--json", *args,
    )  # fmt: skip
    assert done.exit_code == 0, done
    summary: dict[str, Any] = done.json()
    return summary


def records(summary: dict[str, Any]) -> list[dict[str, Any]]:
    lines = Path(summary["transcript"]).read_text().splitlines()
    return [json.loads(line) for line in lines]


def emitted(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) of the orchestrator's emissions, in order."""
    return [
        (r["event"], r["data"])
        for r in records(summary)
        if r["type"] == "event" and r["depth"] == 0 and r["emitted"]
    ]


def reasons(summary: dict[str, Any]) -> dict[int, str]:
    return {entry["line"]: entry["reason"] for entry in summary["skipped"]}


SPAWN = "agent:spawn"
TRACK = "composition:track_decision"


def test_if_branches_with_high_spread_timeouts_and_similar_scores(
    run: RunFn, registry_dir: Path
) -> None:
    summary = simulate(
        run, registry_dir,
        "-m", "abilities=[1, 5, 9]", "-m", "timeout_rate=35%", "-m", "all_scores_similar=true",
        "-m", "avg_response=20", "-m", "current_timeout=60", "-m", "judge_disagreement=0.1",
        "-m", "improved_over_baseline=false",
    )  # fmt: skip
    events = emitted(summary)
    assert [name for name, _data in events] == [
        SPAWN,
        SPAWN,
        "orchestration:configure",
        "evaluation:prompt",
        "evaluation:adjust_complexity",
        "monitoring:alert",
        TRACK,
        SPAWN,
        "evaluation:add_discriminators",
        TRACK,
        "tournament:results",
    ]
    data = dict(events)
    assert events[2][1] == {"mode": "elimination"}
    assert events[4][1] == {"reduce": "20%"}
    assert events[5][1] == {"issue": "high_timeouts"}
    assert events[6][1] == {
        "pattern": PATTERN,
        "decision": "reduced_complexity",
        "context": {"timeout_rate": 0.35},
        "outcome": "pending",
        "confidence": 0.8,
    }
    assert events[9][1]["decision"] == "added_discrimination"
    assert events[9][1]["context"] == {"all_scores_similar": True}
    assert [e[1]["role"] for e in events if e[0] == SPAWN] == [
        "participant",
        "judge",
        "test_designer",
    ]
    assert data["tournament:results"] == {"format": "ranked_table", "include_scores": True}

    assert summary["status"] == "completed"
    assert summary["stop_reason"] == "end_turn"
    assert summary["turns"] == 3  # WHEN, DURING, AFTER: each once
    assert summary["events"][TRACK] == 2
    assert [d["decision"] for d in summary["decisions"]] == [
        "reduced_complexity",
        "added_discrimination",
    ]
    # the decisions are commits in the registry, made by the composition handler
    log = git(registry_dir, "log", "--format=%s", "-3")
    assert log.splitlines()[:2] == [
        f"decision({PATTERN}): added_discrimination",
        f"decision({PATTERN}): reduced_complexity",
    ]
    log_file = registry_dir / f"orchestrations/{PATTERN}_decisions.yaml"
    last = load_plain(log_file.read_bytes(), "log")[-2]
    assert (last["decision"], last["context"], last["outcome"], last["confidence"]) == (
        "reduced_complexity",
        {"timeout_rate": 0.35},
        "pending",
        0.8,
    )
    # sub-agents were spawned with the named profile and answered (no model: a fixed note)
    assert [a["profile"] for a in summary["agents"]] == ["base_multi_agent"] * 3
    # only interpretive lines were left out: every condition could be evaluated
    assert set(reasons(summary).values()) == {"interpretive, skipped"}


def test_else_branch_and_no_adaptation_when_all_is_well(run: RunFn, registry_dir: Path) -> None:
    summary = simulate(
        run, registry_dir,
        "-m", "abilities=[0.5, 0.52, 0.49]", "-m", "timeout_rate=0.1",
        "-m", "all_scores_similar=false", "-m", "avg_response=20", "-m", "current_timeout=60",
        "-m", "judge_disagreement=0.1", "-m", "improved_over_baseline=false",
    )  # fmt: skip
    assert emitted(summary) == [
        (SPAWN, emitted(summary)[0][1]),
        (SPAWN, emitted(summary)[1][1]),
        ("orchestration:configure", {"mode": "round_robin"}),
        ("evaluation:prompt", {"judges_per_match": 3, "rubric": "default"}),
        ("tournament:results", {"format": "ranked_table", "include_scores": True}),
    ]
    assert summary["decisions"] == []
    conditions = [r for r in records(summary) if r["type"] == "condition"]
    assert [(c["condition"], c["value"]) for c in conditions] == [
        ("variance(abilities) > 0.3", False),
        ("timeout_rate > 30%", False),
        ("avg_response > current_timeout * 0.5", False),
        ("judge_disagreement > 0.4", False),
        ("all_scores_similar", False),
        ("improved_over_baseline", False),
    ]


def test_every_adaptation_and_the_after_block(run: RunFn, registry_dir: Path) -> None:
    summary = simulate(
        run, registry_dir,
        "-m", "abilities=[0.5, 0.5]", "-m", "timeout_rate=0.2", "-m", "all_scores_similar=false",
        "-m", "avg_response=45", "-m", "current_timeout=60", "-m", "judge_disagreement=0.5",
        "-m", "improved_over_baseline=true", "-m", "confidence=0.95",
    )  # fmt: skip
    names = [name for name, _data in emitted(summary)]
    assert names == [
        SPAWN,
        SPAWN,
        "orchestration:configure",
        "evaluation:prompt",
        "evaluation:set_timeout",
        TRACK,
        "evaluation:rejudge",
        TRACK,
        "tournament:results",
        TRACK,
    ]
    adapted = emitted(summary)[-1][1]
    # an EMIT of composition:track_decision gets this pattern and the metrics behind it
    assert adapted == {
        "decision": "adapted_run",
        "outcome": "beat_baseline",
        "pattern": PATTERN,
        "context": {"improved_over_baseline": True},
    }
    assert [d["decision"] for d in summary["decisions"]] == [
        "increased_timeout",
        "rejudged_contested_match",
        "adapted_run",
    ]
    # CONSIDER is a judgement: listed, never emitted, even when its condition holds
    consider = [s for s in summary["skipped"] if "CONSIDER" in s["reason"]]
    assert len(consider) == 1
    assert consider[0]["text"] == 'CONSIDER "composition:fork" IF confidence > 0.9'
    assert "composition:fork" not in summary["events"]


def test_unknown_metrics_are_listed_and_no_branch_is_guessed(
    run: RunFn, registry_dir: Path
) -> None:
    summary = simulate(run, registry_dir)
    names = [name for name, _data in emitted(summary)]
    assert names == [SPAWN, SPAWN, "evaluation:prompt", "tournament:results"]  # no ELSE either
    listed = reasons(summary)
    text = (registry_dir / FILE).read_text().split("\n")
    unknown = {line: reason for line, reason in listed.items() if "unknown" in reason}
    assert unknown == {
        45: "unknown metric abilities",
        56: "unknown metric timeout_rate",
        61: "unknown metrics avg_response, current_timeout",
        66: "unknown metric judge_disagreement",
        70: "unknown metric all_scores_similar",
        78: "unknown metric improved_over_baseline",
    }
    # the listed line numbers are lines of the pattern file
    assert text[45 - 1].strip() == "IF variance(abilities) > 0.3:"
    assert text[78 - 1].strip() == "IF improved_over_baseline:"
    interpretive = sorted(line for line, r in listed.items() if r == "interpretive, skipped")
    assert [text[line - 1].split()[0] for line in interpretive] == [
        "ANALYZE",
        "CALCULATE",
        "MONITOR",
        "CALCULATE",
    ]


BROKEN = """\
name: broken_dsl
type: orchestration
version: 1.0.0
description: A pattern whose strategy has lines the simulator cannot carry out.
orchestration_logic:
  strategy: |
    WHEN start:
      EMIT "test:one" WITH {n: 1}
      EMIT test:unquoted
      EMIT "composition:track_decision" WITH full_context
      SPAWN helper WITH profile: "no_such_profile"
      IF ready AND NOT blocked:
        EMIT "test:two"
      COMPUTE something
        with details under it
    AFTER done:
      EMIT "test:three"
"""


def test_unparseable_lines_and_data_by_name_are_listed(run: RunFn, registry_dir: Path) -> None:
    (registry_dir / "orchestrations" / "broken_dsl.yaml").write_text(BROKEN)
    commit_all(registry_dir, "a broken pattern")
    summary = simulate(
        run, registry_dir, "-m", "ready=true", "-m", "blocked=false", pattern="broken_dsl"
    )
    names = [name for name, _data in emitted(summary)]
    assert names == ["test:one", SPAWN, "test:two", "test:three"]
    listed = reasons(summary)
    assert listed[9].startswith("unparseable: the event name after EMIT must be quoted")
    assert listed[10] == "data given by name (full_context), not as a {...} map; not emitted"
    assert listed[14] == "interpretive, skipped (and 1 line(s) under it)"
    # a spawn of a profile that does not exist is an error result, and the session goes on
    spawn = next(r for r in records(summary) if r["type"] == "event" and r["event"] == SPAWN)
    assert spawn["is_error"] is True
    assert summary["errors"] == 1
    assert summary["status"] == "completed"


def test_max_turns_stops_after_that_many_blocks(run: RunFn, registry_dir: Path) -> None:
    summary = simulate(run, registry_dir, "--max-turns", "1", "-m", "abilities=[0.5]")
    assert summary["turns"] == 1
    assert summary["status"] == "stopped"
    assert summary["stop_reason"] == "max_turns"
    names = [name for name, _data in emitted(summary)]
    assert names == [SPAWN, SPAWN, "orchestration:configure"]  # the WHEN block only


def test_plain_summary_lists_events_decisions_and_skipped_lines(
    run: RunFn, registry_dir: Path
) -> None:
    done = run(
        "orchestrate", "run", PATTERN, "--backend", "simulate", "--task", "rank",
        "--registry", registry_dir, "-m", "timeout_rate=35%", "-m", "abilities=[1,9]",
    )  # fmt: skip
    assert done.exit_code == 0, done
    out = done.stdout
    assert "(adaptive_tournament_v2, simulate): completed, stop reason end_turn" in out
    assert "Turns: 3 (+2 by 2 sub-agent(s)); tokens: 0" in out
    assert "  evaluation:adjust_complexity  1" in out
    assert "Decisions tracked: 1" in out
    assert "  reduced_complexity (confidence 0.8) on adaptive_tournament_v2, commit " in out
    assert "line 42: ANALYZE participant_capabilities  (interpretive, skipped)" in out
    assert "(unknown metric all_scores_similar)" in out
    assert "ksi orchestrate show " in out
    assert done.stderr == ""  # no live view when stderr is not a terminal
