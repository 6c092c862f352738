"""The anthropic backend: the real SDK against a fake Messages API on 127.0.0.1.

Every test gives a fake key and points ANTHROPIC_BASE_URL at the fake, with --max-retries 0 so
that an error reply is final. Nothing reaches the internet.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Run, RunFn, git
from fake_messages_api import FakeMessagesAPI, failure, reply, text, tool_use

PATTERN = "adaptive_tournament_v2"
KEY = "sk-ant-test-7f3e-RECOGNISABLE-FAKE-KEY-0123456789"
TRACK = "composition:track_decision"


@pytest.fixture
def api() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as fake:
        yield fake


def orchestrate(
    run: RunFn, api: FakeMessagesAPI, registry: Path, *args: str, key: str | None = KEY
) -> Run:
    env = {"ANTHROPIC_API_KEY": key, "ANTHROPIC_BASE_URL": api.url}
    return run(
        "orchestrate", "run", PATTERN, "--task", "Evaluate 8 prompts competitively",
        "--backend", "anthropic", "--max-retries", "0", "--registry", registry, *args,
        env=env,
    )  # fmt: skip


def records(summary: dict[str, Any]) -> list[dict[str, Any]]:
    lines = Path(summary["transcript"]).read_text().splitlines()
    return [json.loads(line) for line in lines]


def decision_call(decision: str = "chose_elimination") -> dict[str, Any]:
    return tool_use(
        TRACK,
        {
            "pattern": PATTERN,
            "decision": decision,
            "context": {"participant_count": 12},
            "outcome": "pending",
            "confidence": 0.8,
        },
    )


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_session_emits_spawns_and_tracks_a_committed_decision(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path, stream: bool
) -> None:
    api.add(
        reply(
            text("Wide spread of abilities: elimination."),
            tool_use("orchestration:configure", {"mode": "elimination", "bracket": "single"}),
            tool_use(
                "agent:spawn",
                {"profile": "base_multi_agent", "role": "judge", "task": "Judge match 1: A vs B"},
            ),
        ),
        reply(text("A beats B, 7 to 4: clearer rubric coverage."), input_tokens=50),  # the judge
        reply(decision_call()),
        reply(text("Tournament configured and judged; decision recorded.")),
    )
    done = orchestrate(run, api, registry_dir, "--json", *(["--stream"] if stream else []))
    assert done.exit_code == 0, done
    summary = done.json()
    assert summary["status"] == "completed"
    assert summary["stop_reason"] == "end_turn"
    assert summary["events"] == {"agent:spawn": 1, TRACK: 1, "orchestration:configure": 1}
    assert summary["turns"] == 3 and summary["sub_agent_turns"] == 1
    assert summary["tokens"] == {"input": 350, "output": 80, "total": 430}
    assert summary["final_text"] == "Tournament configured and judged; decision recorded."

    # the requests: the real SDK, the default model, one tool, the tool loop
    assert len(api.requests) == 4
    first, judge, second, third = api.requests
    assert all(r.body.get("stream", False) is stream for r in api.requests)
    assert first.body["model"] == "claude-sonnet-5-5"
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert [tool["name"] for tool in first.body["tools"]] == ["emit_event"]
    schema = first.body["tools"][0]["input_schema"]
    assert set(schema["properties"]) == {"event", "data", "delay", "condition"}
    assert [t["type"] for t in schema["properties"].values()] == [
        "string",
        "object",
        "number",
        "string",
    ]
    # the assistant content is appended, and each tool_use answered with a tool_result
    assert [m["role"] for m in second.messages] == ["user", "assistant", "user"]
    results = second.tool_results()
    assert [r["is_error"] for r in results] == [False, False]
    configured = json.loads(results[0]["content"])
    assert configured["event"] == "orchestration:configure" and configured["emitted"] is True
    spawned = json.loads(results[1]["content"])
    assert "A beats B, 7 to 4" in json.dumps(spawned)
    tracked = third.tool_results()
    assert [r["is_error"] for r in tracked] == [False]

    # the system prompt: the resolved profile (base_multi_agent's components first), the
    # pattern with its strategy to interpret, then the task
    system = first.system
    order = [
        "You are one agent in a team of agents",  # base_multi_agent: multi_agent_context
        "MESSAGING",
        "COORDINATION",
        "You are a pattern-aware orchestrator",  # base_orchestrator: pattern_awareness
        "YOUR ONE TOOL: emit_event",
        "## Strategy to interpret",
        "IF variance(abilities) > 0.3:",
        "## The whole pattern (YAML)",
        "name: adaptive_tournament_v2",
        "# YOUR TASK\nEvaluate 8 prompts competitively",
    ]
    positions = [system.index(part) for part in order]
    assert positions == sorted(positions)
    # the sub-agent runs with its own profile and task, not the orchestrator's
    assert "You are one agent in a team of agents" in judge.system
    assert "pattern-aware orchestrator" not in judge.system
    assert "Judge match 1: A vs B" in judge.system
    assert judge.messages[0]["content"] == "Begin. Your task: Judge match 1: A vs B"

    # the decision is a commit in the registry, made by the composition handler
    assert git(registry_dir, "log", "-1", "--format=%s").strip() == (
        f"decision({PATTERN}): chose_elimination"
    )
    assert [d["decision"] for d in summary["decisions"]] == ["chose_elimination"]
    assert summary["decisions"][0]["commit"] == git(registry_dir, "rev-parse", "HEAD").strip()

    # the transcript: one record per turn, tool call and event, with timestamps
    kinds = [(r["type"], r.get("depth")) for r in records(summary)]
    assert kinds[0] == ("session_start", None) and kinds[-1] == ("session_end", None)
    assert kinds.count(("turn", 0)) == 3 and kinds.count(("turn", 1)) == 1
    assert kinds.count(("tool_call", 0)) == 3 and kinds.count(("event", 0)) == 3
    assert ("agent_start", 1) in kinds and ("decision", 0) in kinds
    assert all(r["time"].endswith("Z") for r in records(summary))


def test_streamed_tool_input_is_assembled_from_json_deltas(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path
) -> None:
    data = {"nested": {"list": [1, 2.5, "ü", None], "text": 'quote " and \\ backslash'}}
    api.chunk = 3  # many small input_json_delta pieces
    api.add(reply(tool_use("test:deltas", data)), reply(text("ok")))
    done = orchestrate(run, api, registry_dir, "--json", "--stream")
    assert done.exit_code == 0, done
    event = next(r for r in records(done.json()) if r["type"] == "event")
    assert event["data"] == data


def test_model_and_limits_are_configurable(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path
) -> None:
    api.add(*[reply(tool_use("test:tick", {"n": n})) for n in range(5)])
    done = orchestrate(run, api, registry_dir, "--json", "--max-turns", "2", "--model", "m-x")
    assert done.exit_code == 0, done
    summary = done.json()
    assert len(api.requests) == 2
    assert {r.body["model"] for r in api.requests} == {"m-x"}
    assert (summary["status"], summary["stop_reason"], summary["turns"]) == (
        "stopped",
        "max_turns",
        2,
    )
    assert summary["events"] == {"test:tick": 2}  # the last turn's tool calls still ran


def test_token_limit_counts_input_and_output(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path
) -> None:
    api.add(*[reply(tool_use("test:tick"), input_tokens=100, output_tokens=20) for _ in range(5)])
    done = orchestrate(run, api, registry_dir, "--json", "--max-tokens", "200")
    assert done.exit_code == 0, done
    summary = done.json()
    assert len(api.requests) == 2  # 120 after one turn, 240 after two: stop
    assert (summary["stop_reason"], summary["tokens"]["total"]) == ("max_tokens", 240)
    # a response may not ask for more than what is left of the budget
    assert [r.body["max_tokens"] for r in api.requests] == [200, 80]


def test_sub_agents_spawn_no_deeper_than_two(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path
) -> None:
    spawn = {"profile": "base_multi_agent", "task": "help"}
    api.add(
        reply(tool_use("agent:spawn", spawn)),  # orchestrator (depth 0)
        reply(tool_use("agent:spawn", spawn)),  # its sub-agent (depth 1)
        reply(tool_use("agent:spawn", spawn)),  # the sub-agent's sub-agent (depth 2): refused
        reply(text("depth 2 done")),
        reply(text("depth 1 done")),
        reply(text("all done")),
    )
    done = orchestrate(run, api, registry_dir, "--json")
    assert done.exit_code == 0, done
    refused = api.requests[3].tool_results()
    assert [r["is_error"] for r in refused] == [True]
    assert "no deeper than 2" in refused[0]["content"]
    assert json.loads(api.requests[4].tool_results()[0]["content"])["emitted"] is True
    assert [a["depth"] for a in done.json()["agents"]] == [2, 1]


def test_bad_tool_calls_and_failing_handlers_are_error_results(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path
) -> None:
    api.add(
        reply(
            tool_use("x:y", name="other_tool"),
            {"type": "tool_use", "id": "toolu_bad", "name": "emit_event", "input": {"data": {}}},
            tool_use(TRACK, {"pattern": "no_such_pattern", "decision": "d"}),
            tool_use("test:gated", {}, condition="no_such_metric > 1"),
            tool_use("test:held", {}, condition="timeout_rate > 0.5"),
        ),
        reply(text("done")),
    )
    done = orchestrate(run, api, registry_dir, "--json", "-m", "timeout_rate=0.1")
    assert done.exit_code == 0, done
    results = api.requests[1].tool_results()
    assert [r["is_error"] for r in results] == [True, True, True, True, False]
    assert "unknown tool 'other_tool'" in results[0]["content"]
    assert 'needs \\"event\\"' in results[1]["content"]
    assert "no_such_pattern" in results[2]["content"]
    assert "no_such_metric" in results[3]["content"]
    held = json.loads(results[4]["content"])
    assert held["emitted"] is False
    summary = done.json()
    assert summary["decisions"] == []
    assert summary["not_emitted"] >= 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, "rate limited by the Anthropic API (429 rate_limit_error)"),
        (529, "the Anthropic API is overloaded (529 overloaded_error)"),
        (
            401,
            "the Anthropic API refused the key (401 authentication_error): check ANTHROPIC_API_KEY",
        ),
    ],
)
def test_service_errors_are_one_clear_line_and_the_transcript_is_kept(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path, status: int, expected: str
) -> None:
    api.add(reply(tool_use("test:before_the_error")), failure(status))
    done = orchestrate(run, api, registry_dir)
    assert done.exit_code == 2, done
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"ksi: error: {expected}")
    assert "(transcript kept: ksi orchestrate show " in lines[0]
    session_id = lines[0].rsplit(" ", 1)[-1].rstrip(")")
    listed = run("orchestrate", "sessions", "--registry", registry_dir, "--json").json()
    assert [(s["id"], s["status"], s["events"]) for s in listed] == [(session_id, "error", 1)]
    shown = run("orchestrate", "show", session_id, "--registry", registry_dir)
    assert "event test:before_the_error" in shown.stdout
    assert f"error: {expected}" in shown.stdout


def test_an_error_inside_a_sub_agent_ends_the_session(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path
) -> None:
    api.add(reply(tool_use("agent:spawn", {"profile": "base_multi_agent"})), failure(529))
    done = orchestrate(run, api, registry_dir)
    assert done.exit_code == 2, done
    assert "overloaded (529" in done.stderr
    assert len(api.requests) == 2


def test_unreachable_service_is_a_connection_error(run: RunFn, registry_dir: Path) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run(
        "orchestrate", "run", PATTERN, "--task", "t", "--max-retries", "0",
        "--registry", registry_dir,
        env={"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}"},
    )  # fmt: skip
    assert done.exit_code == 2, done
    assert f"cannot reach the Anthropic API at http://127.0.0.1:{port}" in done.stderr


def test_missing_key_is_a_clear_message_and_starts_nothing(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path
) -> None:
    done = orchestrate(run, api, registry_dir, key=None)
    assert done.exit_code == 2
    assert done.stderr.startswith("ksi: error: ANTHROPIC_API_KEY is not set")
    assert api.requests == []
    assert not (registry_dir / ".git" / "ksi" / "sessions").exists()


def test_no_api_key_is_ever_written_under_the_state_dir(
    run: RunFn, api: FakeMessagesAPI, registry_dir: Path
) -> None:
    api.add(
        reply(text(f"I will not repeat {KEY}."), tool_use("test:one", {"n": 1})),
        reply(decision_call()),
        failure(401, f"invalid x-api-key {KEY}"),
    )
    done = orchestrate(run, api, registry_dir, "--stream")
    assert done.exit_code == 2
    assert KEY not in done.output
    state = registry_dir / ".git" / "ksi"
    files = [path for path in state.rglob("*") if path.is_file()]
    assert any(path.suffix == ".jsonl" and "sessions" in path.parts for path in files)
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
    transcript = next(p for p in files if "sessions" in p.parts)
    assert "[redacted]" in transcript.read_text()  # what the model said was scrubbed
