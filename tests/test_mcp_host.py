"""A host made the orchestrator through `ksi mcp`: the loop an agent host runs, end to end.

The loop lives here, as a host would have it: it asks the server for the `orchestrate` prompt,
sends it as the system prompt to the model (the real `anthropic` SDK against the fake Messages
API on 127.0.0.1, with a scripted model), offers the server's `emit_event` tool, and forwards
every tool_use to it, until the model stops. What the model decides is committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import pytest

from conftest import git
from fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from ksi_patterns.operations.decisions import decisions
from ksi_patterns.registry.registry import open_registry
from mcp_client import Client, fresh_registry, stdio_client_of, text_of

PATTERN = "adaptive_tournament_v2"
TASK = "Evaluate 8 prompts competitively"
HOST = "host-loop"
DECISION = {
    "pattern": PATTERN,
    "decision": "chose_elimination",
    "context": {"variance": 0.4},
    "confidence": 0.8,
}


def host_loop(client: Client, model: anthropic.Anthropic, max_turns: int = 8) -> list[Any]:
    """What a host does with the orchestrate prompt: the model acts through emit_event."""
    system = client.prompt("orchestrate", pattern=PATTERN, task=TASK)
    tool = client.tools()["emit_event"]
    tools = [{"name": tool.name, "description": tool.description,
              "input_schema": tool.input_schema}]  # fmt: skip
    messages: list[Any] = [{"role": "user", "content": TASK}]
    for _turn in range(max_turns):
        response = model.messages.create(
            model="claude-test", max_tokens=1024, system=system, tools=tools, messages=messages
        )
        messages.append(
            {"role": "assistant", "content": [b.model_dump() for b in response.content]}
        )
        if response.stop_reason != "tool_use":
            break
        results = [
            forwarded(client, block) for block in response.content if block.type == "tool_use"
        ]
        messages.append({"role": "user", "content": results})
    return messages


def forwarded(client: Client, call: Any) -> dict[str, Any]:
    """The model's tool_use, called on the server; the answer as a tool_result."""
    result = client.call(call.name, **call.input)
    return {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": text_of(result),
        "is_error": bool(result.is_error),
    }


def test_a_host_orchestrates_through_the_server(tmp_path: Path) -> None:
    registry = fresh_registry(tmp_path)
    with FakeMessagesAPI() as api, stdio_client_of(registry, HOST) as client:
        api.add(
            reply(
                tool_use("composition:discover", {"type": "orchestration", "tags": ["tournament"]})
            ),
            reply(tool_use("x:probe", {"n": 1}, condition="n >")),  # a bad condition: an error
            reply(tool_use("composition:track_decision", DECISION)),
            reply(text("Configured an elimination tournament.")),
        )
        model = anthropic.Anthropic(api_key="sk-fake", base_url=api.url, max_retries=0)
        messages = host_loop(client, model)

    first = api.requests[0]
    assert first.system == client_prompt_of(registry)
    assert [t["name"] for t in first.body["tools"]] == ["emit_event"]
    found, refused, tracked = (request.tool_results()[0] for request in api.requests[1:])
    assert not found["is_error"] and PATTERN in found["content"]
    assert refused["is_error"] and "condition" in refused["content"]
    assert not tracked["is_error"] and "chose_elimination" in tracked["content"]
    assert messages[-1]["content"][0]["text"] == "Configured an elimination tournament."

    entry = decisions(open_registry(registry), PATTERN)[-1]
    assert entry["decision"] == "chose_elimination" and entry["agent_id"] == HOST
    assert entry["context"] == {"variance": 0.4} and entry["confidence"] == 0.8
    assert git(registry, "log", "-1", "--format=%s").startswith(f"decision({PATTERN})")


def client_prompt_of(registry: Path) -> str:
    """The system prompt `ksi orchestrate run` would give, built by the operation it uses."""
    from ksi_patterns.operations.sessions import system_prompt

    return system_prompt(open_registry(registry), PATTERN, TASK).system


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
