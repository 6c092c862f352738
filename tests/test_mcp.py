"""`ksi mcp` over stdio, with the SDK's real client: every tool, resource and prompt, and bad
input answered with the line `ksi` prints, nothing written.

One server (and one registry) serves the whole module: spawning one costs ~2 s, mostly the SDK's
import. Tests that write use names of their own, so that their order does not matter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import RunFn, git, snapshot
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.registry.registry import open_registry
from mcp_client import Client, fresh_registry, json_of, stdio_client_of, text_of

CLIENT = "claude-code-test"
PATTERN = "adaptive_tournament_v2"
READING = {"discover", "select", "show", "lineage", "diff", "validate"}
WRITING = {"fork", "merge", "track_decision", "learn", "record_run", "emit_event"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_registry(tmp_path_factory.mktemp("mcp"))


@pytest.fixture(scope="module")
def client(registry: Path) -> Iterator[Client]:
    with stdio_client_of(registry, CLIENT) as connected:
        yield connected


def state(registry: Path) -> tuple[str, dict[str, bytes]]:
    """Every ref and every file of the working tree: what a refused request must not change."""
    return git(registry, "for-each-ref"), snapshot(registry)


def cli_error(run: RunFn, registry: Path, *args: str) -> str:
    done = run(*args, "--registry", registry)
    assert done.exit_code != 0, done
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("ksi: error: "), done
    return line.removeprefix("ksi: error: ")


# ---------------------------------------------------------------------------------------------
# What is offered


def test_every_tool_has_a_typed_schema_and_a_description(client: Client) -> None:
    tools = client.tools()
    assert set(tools) == READING | WRITING
    for tool in tools.values():
        assert tool.description and len(tool.description) < 400
        assert tool.input_schema["type"] == "object"
        assert tool.annotations.read_only_hint == (tool.name in READING)
    track = tools["track_decision"].input_schema
    assert track["required"] == ["pattern", "decision"]
    assert track["properties"]["context"]["anyOf"][0]["type"] == "object"
    assert {"type": "number"} in track["properties"]["confidence"]["anyOf"]
    kinds = tools["discover"].input_schema["properties"]["kind"]["anyOf"][0]["enum"]
    assert kinds == ["orchestration", "profile"]
    merge = tools["merge"].input_schema["properties"]
    assert merge["apply"]["default"] is False
    emit = tools["emit_event"].input_schema
    assert set(emit["properties"]) == {"event", "data", "delay", "condition"}
    assert emit["required"] == ["event"]


# ---------------------------------------------------------------------------------------------
# Reading tools


def test_show_as_written_resolved_and_at_a_ref(client: Client, registry: Path) -> None:
    shown = client.data("show", name=PATTERN)
    assert shown["source"] == f"orchestrations/{PATTERN}.yaml" and not shown["resolved"]
    resolved = client.data("show", name=PATTERN, resolved=True)
    assert resolved["resolved"] and resolved["document"]["name"] == PATTERN
    assert resolved["document"] != shown["document"]  # with what tournament_basic gives it
    first = git(registry, "rev-list", "--max-parents=0", "HEAD").strip()
    at_first = client.data("show", name=PATTERN, ref=first)
    assert at_first["source"] == f"orchestrations/{PATTERN}.yaml@{first}"
    assert client.data("show", name=f"{PATTERN}@{first}") == at_first


def test_discover_with_the_seed_filter_and_where(client: Client) -> None:
    found = client.data(
        "discover",
        kind="orchestration",
        metadata_filter={"tags": ["tournament"], "performance.avg_score": {">": 0.7}},
    )
    names = {row["name"] for row in found["patterns"]}
    assert PATTERN in names and "tournament_basic" not in names
    assert found["count"] == len(names)
    where = client.data("discover", where=["performance.avg_score >= 0.8"])
    assert {row["name"] for row in where["patterns"]} == {PATTERN}


def test_select_ranks_and_explains(client: Client) -> None:
    selected = client.data("select", task="evaluate prompts in a tournament", top=2)
    assert len(selected["results"]) == 2
    best = selected["results"][0]
    assert (
        best["rank"] == 1
        and best["explanation"]
        and set(best["components"])
        >= {
            "relevance",
            "performance",
        }
    )


def test_validate_reports_a_clean_registry(client: Client) -> None:
    report = client.data("validate")
    assert report["valid"] and report["files"] > 5 and report["findings"] == []


# ---------------------------------------------------------------------------------------------
# Writing tools: a fork's life, recorded as the client's


def test_fork_lineage_diff_and_merge(client: Client, registry: Path) -> None:
    strategy = 'WHEN starting:\n  EMIT "orchestration:configure" WITH {mode: "swiss"}\n'
    forked = client.data(
        "fork",
        parent="tournament_basic",
        name="tournament_mcp",
        reason="Swiss pairing",
        modifications={"orchestration_logic.strategy": strategy},
    )
    assert forked["branch"] == "fork/tournament_mcp" and forked["parent"].startswith(
        "tournament_basic@"
    )
    document = load_plain(git(registry, "show", "fork/tournament_mcp:" + forked["path"]), "f")
    assert document["lineage"]["fork_author"] == CLIENT
    assert git(registry, "branch", "--show-current").strip() == "main"  # tree not switched

    trees = client.data("lineage", name="tournament_mcp")["trees"]
    assert [child["name"] for child in trees[0]["children"]] == [PATTERN, "tournament_mcp"]
    changed = client.data("diff", a="tournament_mcp")
    assert [change["path"] for change in changed["changes"]] == ["orchestration_logic.strategy"]

    tip = git(registry, "rev-parse", "main").strip()
    preview = client.data("merge", fork="tournament_mcp")
    assert preview["dry_run"] and preview["clean"] and preview["commit"] is None
    assert git(registry, "rev-parse", "main").strip() == tip
    merged = client.data("merge", fork="tournament_mcp", apply=True)
    assert merged["commit"] and merged["into"] == "tournament_basic" and not merged["dry_run"]
    parent = load_plain(git(registry, "show", "main:orchestrations/tournament_basic.yaml"), "p")
    assert parent["orchestration_logic"]["strategy"] == strategy


def test_a_conflicting_merge_returns_the_conflicts_and_writes_nothing(
    client: Client, registry: Path
) -> None:
    client.data(
        "fork", parent="consensus_builder", name="consensus_mcp", reason="Shorter",
        modifications={"description": "The fork's description"},
    )  # fmt: skip
    store = open_registry(registry).store
    path = "orchestrations/consensus_builder.yaml"
    data = load_plain(store.read(path), path)
    text = store.read(path).decode().replace(data["description"].split()[0], "Parental", 1)
    store.commit({path: text.encode()}, "edit the parent", "main")
    before = state(registry)
    for apply in (False, True):
        result = client.call("merge", fork="consensus_mcp", apply=apply)
        assert result.is_error
        assert "conflict" in text_of(result) and "nothing was written" in text_of(result)
        records = result.structured_content["conflicts"]
        assert [(r["file"], r["path"]) for r in records] == [(path, "description")]
        assert json.loads(result.content[1].text)["conflicts"] == records
    assert state(registry) == before
    settled = client.data("merge", fork="consensus_mcp", resolve="theirs", apply=True)
    assert settled["commit"]


def test_decision_learning_and_run_are_recorded_as_the_client(
    client: Client, registry: Path
) -> None:
    tracked = client.data(
        "track_decision", pattern=PATTERN, decision="mcp_widened_timeout",
        context={"timeout_rate": 0.35}, outcome="pending", confidence=0.8,
    )  # fmt: skip
    assert tracked["agent_id"] == CLIENT and tracked["commit"]
    named = client.data("track_decision", pattern=PATTERN, decision="named", agent_id="bob")
    assert named["agent_id"] == "bob"
    learned = client.data(
        "learn", pattern=PATTERN, insight="Swiss pairing settles close fields", confidence=0.7,
        evidence="run mcp-1",
    )  # fmt: skip
    assert learned["learning"]["discovered_by"] == CLIENT
    counted = client.data("record_run", pattern=PATTERN, score=0.9, run_id="mcp-run-1")
    assert counted["run_id"] == "mcp-run-1"
    log = git(registry, "log", "-4", "--format=%s", "main").splitlines()
    assert log[0].startswith(f"run({PATTERN})") and log[3].startswith(f"decision({PATTERN})")
    repeated = client.error("record_run", pattern=PATTERN, score=0.9, run_id="mcp-run-1")
    assert "mcp-run-1" in repeated


def test_emit_event_goes_through_the_bus_and_its_handlers(client: Client, registry: Path) -> None:
    done = client.data(
        "emit_event",
        event="composition:track_decision",
        data={"pattern": PATTERN, "decision": "mcp_through_events"},
    )
    assert done["outcome"] == "handled"
    assert done["results"][0]["result"]["agent_id"] == CLIENT  # the client, through the bus
    assert [e["event"]["name"] for e in done["followed_by"]] == ["composition:decision_tracked"]
    held = client.data("emit_event", event="x:y", data={"n": 1}, condition="n > 2")
    assert held["emitted"] is False and held["outcome"] == "condition false"
    delayed = client.data("emit_event", event="x:later", delay=0.2)
    assert delayed["scheduled"]
    log = (registry / ".git" / "ksi" / "events.jsonl").read_text().splitlines()
    mine = [json.loads(line) for line in log if '"mcp"' in line]
    assert {"composition:track_decision", "x:y", "x:later"} <= {r.get("event") for r in mine}
    failed = client.call(
        "emit_event", event="composition:track_decision", data={"pattern": "nope", "decision": "d"}
    )
    assert failed.is_error and "no pattern named 'nope'" in text_of(failed)


# ---------------------------------------------------------------------------------------------
# Errors: the CLI's line, fields as the tools name them, nothing written


@pytest.mark.parametrize(
    ("tool", "arguments", "command", "words"),
    [
        ("show", {"name": "nope"}, ["pattern", "show", "nope"], {}),
        ("show", {"name": "../x"}, ["pattern", "show", "../x"], {}),
        ("diff", {"a": "nope"}, ["pattern", "diff", "nope"], {}),
        (
            "emit_event", {"event": "x:y", "condition": "a >"},
            ["event", "emit", "x:y", "--condition", "a >"], {},
        ),
        (
            "track_decision", {"pattern": PATTERN, "decision": " "},
            ["pattern", "track-decision", PATTERN, "--decision", " "],
            {"--decision": "'decision'"},
        ),
        (
            "fork", {"parent": PATTERN, "name": "f2", "reason": "r",
                     "modifications": {"lineage.parent": "x"}},
            ["pattern", "fork", PATTERN, "--as", "f2", "--reason", "r",
             "--set", "lineage.parent=x"],
            {"--set": "'modifications'"},
        ),
        ("discover", {"ref": "HEAD", "all_branches": True}, ["pattern", "discover", "--ref",
         "HEAD", "--all-branches"], {"--ref": "'ref'"}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)  # fmt: skip
def test_bad_input_is_the_cli_line_and_writes_nothing(
    client: Client,
    registry: Path,
    run: RunFn,
    tool: str,
    arguments: dict[str, Any],
    command: list[str],
    words: dict[str, str],
) -> None:
    before = state(registry)
    message = client.error(tool, **arguments)
    expected = cli_error(run, registry, *command)
    for flag, word in words.items():
        expected = expected.replace(flag, word)
    assert message == expected
    assert state(registry) == before


def test_arguments_of_the_wrong_type_are_refused_by_the_schema(client: Client) -> None:
    result = client.call("record_run", pattern=PATTERN, score="high")
    assert result.is_error and "score" in text_of(result)


# ---------------------------------------------------------------------------------------------
# Resources


def test_resources_are_listed_and_read(client: Client, registry: Path) -> None:
    listed = client.portal.call(client.session.list_resources).resources
    uris = {str(resource.uri) for resource in listed}
    assert {f"ksi://patterns/{PATTERN}", f"ksi://patterns/{PATTERN}/decisions",
            "ksi://patterns/base_orchestrator", "ksi://lineage"} <= uris  # fmt: skip
    assert "ksi://patterns/tournament_basic/decisions" not in uris  # it has no log
    assert f"ksi://patterns/{PATTERN}_decisions" not in uris  # a log is its pattern's
    text = (registry / "orchestrations" / f"{PATTERN}.yaml").read_text()
    assert client.read(f"ksi://patterns/{PATTERN}") == text
    templates = client.portal.call(client.session.list_resource_templates).resource_templates
    assert {t.uri_template for t in templates} >= {
        "ksi://patterns/{name}@{ref}",
        "ksi://patterns/{name}/{log}",
        "ksi://patterns/{name}@{ref}/{log}",
    }
    assert "trees" in json.loads(client.read("ksi://lineage"))


def test_logs_at_refs_and_a_fork_branch(client: Client, registry: Path) -> None:
    before = git(registry, "rev-parse", "main").strip()
    client.data("track_decision", pattern=PATTERN, decision="mcp_resource_probe")
    assert "mcp_resource_probe" in client.read(f"ksi://patterns/{PATTERN}/decisions")
    old = client.read(f"ksi://patterns/{PATTERN}@{before}/decisions")
    assert "mcp_resource_probe" not in old and "decision:" in old
    client.data("fork", parent=PATTERN, name="tournament_logged", reason="logs on a fork")
    client.data("track_decision", pattern="tournament_logged", decision="on_the_fork")
    on_fork = client.read("ksi://patterns/tournament_logged/decisions")
    assert "on_the_fork" in on_fork
    same = client.read("ksi://patterns/tournament_logged@fork%2Ftournament_logged/decisions")
    assert same == on_fork
    tree = json.loads(client.read("ksi://lineage/tournament_logged"))["trees"]
    assert tree[0]["name"] == "tournament_basic"


def test_the_runs_log_is_a_resource_when_present(client: Client, registry: Path) -> None:
    runs = "# runs of tournament_basic\n- run_id: r1\n  score: 0.5\n"
    path = "orchestrations/tournament_basic_runs.yaml"
    open_registry(registry).store.commit({path: runs.encode()}, "a runs log", "main")
    uris = {str(r.uri) for r in client.portal.call(client.session.list_resources).resources}
    assert "ksi://patterns/tournament_basic/runs" in uris
    assert client.read("ksi://patterns/tournament_basic/runs") == runs


def test_a_resource_that_is_not_there_is_the_cli_line(client: Client) -> None:
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError, match="no pattern or profile named 'nope'"):
        client.read("ksi://patterns/nope")
    with pytest.raises(MCPError, match="consensus_builder has no runs log"):
        client.read("ksi://patterns/consensus_builder/runs")
    with pytest.raises(MCPError, match="unknown 'log' 'other': use decisions or runs"):
        client.read("ksi://patterns/consensus_builder/other")


# ---------------------------------------------------------------------------------------------
# Prompts


def test_the_orchestrate_prompt_is_the_system_prompt_of_a_session(
    client: Client, registry: Path, run: RunFn
) -> None:
    task = "Evaluate 8 prompts competitively"
    prompt = client.prompt("orchestrate", pattern=PATTERN, task=task)
    done = run("orchestrate", "run", PATTERN, "--task", task, "--backend", "simulate",
               "--registry", registry, "--json")  # fmt: skip
    assert done.exit_code == 0, done
    transcript = Path(done.json()["transcript"]).read_text().splitlines()
    start = next(json.loads(line) for line in transcript if '"session_start"' in line)
    assert prompt == start["system"]
    assert "emit_event" in prompt and task in prompt
    other = client.prompt("orchestrate", pattern=PATTERN, task=task, profile="base_multi_agent")
    assert other != prompt and other.endswith(task)


def test_the_orchestrate_prompt_refuses_what_is_not_a_pattern(client: Client) -> None:
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError, match=r"'base_orchestrator' .* is not an orchestration pattern"):
        client.prompt("orchestrate", pattern="base_orchestrator", task="x")


def test_fork_and_improve_walks_through_the_tools(client: Client) -> None:
    listed = client.portal.call(client.session.list_prompts).prompts
    assert {p.name for p in listed} == {"orchestrate", "fork_and_improve"}
    text = client.prompt("fork_and_improve", pattern=PATTERN, what_worked="shorter timeouts")
    for step in ("show", "record_run", "fork", "learn", "diff", "merge", "apply: true"):
        assert step in text
    assert f"{PATTERN}_improved" in text and "shorter timeouts" in text


def test_the_structured_result_is_the_json_text(client: Client) -> None:
    result = client.call("show", name="tournament_basic")
    assert json_of(result) == result.structured_content


def test_ksi_mcp_refuses_a_folder_that_is_no_registry(run: RunFn, tmp_path: Path) -> None:
    done = run("mcp", "--registry", tmp_path / "nowhere")
    assert done.exit_code == 2 and done.stderr.startswith("ksi: error: ")
    assert "nowhere" in done.stderr
