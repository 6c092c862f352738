"""`ksi mcp` over streamable HTTP on 127.0.0.1, several clients at once, and `--read-only`."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import git, snapshot
from ksi_patterns.operations.decisions import decisions
from ksi_patterns.registry.registry import open_registry
from mcp_client import Client, fresh_registry, http_client_of, http_server, stdio_client_of, text_of

PATTERN = "adaptive_tournament_v2"
EACH = 8  # decisions each client records


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_registry(tmp_path_factory.mktemp("mcp-http"))


@pytest.fixture(scope="module")
def url(registry: Path) -> Iterator[str]:
    with http_server(registry) as served:
        yield served


def test_tools_resources_and_prompts_over_http(url: str, registry: Path) -> None:
    with http_client_of(url, "http-host") as client:
        assert len(client.tools()) == 12
        shown = client.data("show", name=PATTERN)
        assert shown["document"]["name"] == PATTERN
        tracked = client.data("track_decision", pattern=PATTERN, decision="over_http")
        assert tracked["agent_id"] == "http-host"
        assert "over_http" in client.read(f"ksi://patterns/{PATTERN}/decisions")
        assert "# YOUR TASK\nrank" in client.prompt("orchestrate", pattern=PATTERN, task="rank")
        assert client.error("show", name="nope").startswith("no pattern or profile named 'nope'")


def record(client: Client, tag: str) -> list[str]:
    """EACH decisions, one call after the other; the commits they made."""
    return [
        client.data("track_decision", pattern=PATTERN, decision=f"{tag}_{n}")["commit"]
        for n in range(EACH)
    ]


def test_clients_recording_at_once_lose_nothing(url: str, registry: Path) -> None:
    """Two HTTP clients of one server (its worker threads) and a stdio client (another
    process) append to the same decision log at the same time."""
    with (
        http_client_of(url, "host-a") as a,
        http_client_of(url, "host-b") as b,
        stdio_client_of(registry, "host-c") as c,
        ThreadPoolExecutor(3) as pool,
    ):
        done = [pool.submit(record, client, client_tag) for client, client_tag in
                ((a, "a"), (b, "b"), (c, "c"))]  # fmt: skip
        commits = [commit for future in done for commit in future.result()]
    assert len(set(commits)) == 3 * EACH
    logged = decisions(open_registry(registry), PATTERN)
    for agent, tag in (("host-a", "a"), ("host-b", "b"), ("host-c", "c")):
        mine = [entry["decision"] for entry in logged if entry["agent_id"] == agent]
        assert mine == [f"{tag}_{n}" for n in range(EACH)]  # each client's in its order
    history = git(registry, "log", "--format=%s", "main").splitlines()
    assert sum(line.startswith(f"decision({PATTERN})") for line in history) >= 3 * EACH


def test_a_read_only_server_offers_and_does_no_writes(registry: Path) -> None:
    before = (git(registry, "for-each-ref"), snapshot(registry))
    with stdio_client_of(registry, "reader", "--read-only") as client:
        assert set(client.tools()) == {"discover", "select", "show", "lineage", "diff", "validate"}
        assert client.portal.call(client.session.list_prompts).prompts == []
        assert client.data("discover", kind="profile")["count"] == 2
        assert client.read("ksi://patterns/tournament_basic").startswith("#")
        for tool, arguments in (
            ("track_decision", {"pattern": PATTERN, "decision": "sneaky"}),
            ("emit_event", {"event": "composition:fork", "data": {"parent": PATTERN}}),
            ("merge", {"fork": PATTERN, "apply": True}),
        ):
            refused = client.call(tool, **arguments)
            assert refused.is_error and "Unknown tool" in text_of(refused)
    assert (git(registry, "for-each-ref"), snapshot(registry)) == before
