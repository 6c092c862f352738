"""Every face gives the same answer: an operation asked through the CLI and through its
composition event makes the same result, the same commit and the same announcement.

Two identical registries (one copied from the other) take the same requests, one through `ksi`,
one through an event on a bus the way an orchestrator session emits it. What can only differ by
when it ran (ULIDs, timestamps, commit ids) is masked before comparing.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import handler_plugin
from conftest import RunFn, git, snapshot
from ksi_patterns.events import plugins as plugin_loading
from ksi_patterns.events.bus import EventBus
from ksi_patterns.events.plugins import GROUP, is_built_in
from ksi_patterns.operations.buses import open_bus
from ksi_patterns.registry.registry import open_registry

_ULID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
_COMMIT = re.compile(r"\b[0-9a-f]{40}\b")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+00:00)")
STRATEGY = 'WHEN starting:\n  EMIT "orchestration:configure" WITH {mode: "swiss"}\n'


def masked(value: Any) -> Any:
    text = json.dumps(value, sort_keys=True, default=str)
    text = _TIME.sub("<time>", _COMMIT.sub("<commit>", _ULID.sub("<ulid>", text)))
    return json.loads(text)


@pytest.fixture
def twins(tmp_path: Path, registry_dir: Path) -> tuple[Path, Path]:
    """(the CLI's registry, the events' registry): two copies of one registry."""
    copy = tmp_path / "events-registry"
    shutil.copytree(registry_dir, copy, symlinks=True)
    return registry_dir, copy


@pytest.fixture(autouse=True)
def recorder(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """A plugin that records every announcement, on the CLI's buses and the events' alike."""
    built_in = [p for p in plugin_loading.plugin_entry_points() if is_built_in(p)]
    ours = metadata.EntryPoint(name="recorder", value="handler_plugin:register", group=GROUP)
    monkeypatch.setattr(plugin_loading, "plugin_entry_points", lambda: [*built_in, ours])
    handler_plugin.SEEN.clear()
    return handler_plugin.SEEN


@pytest.fixture
def bus(twins: tuple[Path, Path]) -> Iterator[EventBus]:
    made = open_bus(open_registry(twins[1]), source="test")
    yield made
    made.close()


def ask(bus: EventBus, event: str, data: dict[str, Any]) -> Any:
    """The composition handler's result for `event`, which must have succeeded."""
    emission = bus.emit(event, data)
    result = emission.results[0]
    assert result["ok"], result
    return result["result"]


def last_commit(repo: Path, ref: str) -> dict[str, Any]:
    """What a commit did: its message, and each file it changed with its new content."""
    message = git(repo, "log", "-1", "--format=%B", ref).strip()
    changed = git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", f"{ref}^", ref)
    files = {path: git(repo, "show", f"{ref}:{path}") for path in changed.split()}
    return masked({"message": message, "files": files})


def same_commit(twins: tuple[Path, Path], ref: str) -> None:
    cli, events = twins
    assert last_commit(cli, ref) == last_commit(events, ref)


def announcements_match(seen: list[tuple[str, dict[str, Any]]]) -> None:
    """The last two announcements (one per face) are the same."""
    (cli_event, cli_data), (event_event, event_data) = seen[-2:]
    assert cli_event == event_event
    assert masked(cli_data) == masked(event_data)


def test_fork_track_learn_run_and_merge_agree(
    run: RunFn, twins: tuple[Path, Path], bus: EventBus, recorder: list[Any]
) -> None:
    cli, _events = twins
    fork = {"parent": "adaptive_tournament_v2", "name": "swiss", "reason": "Swiss pairing"}
    by_cli = run(
        "pattern", "fork", "adaptive_tournament_v2", "--as", "swiss", "--reason", "Swiss pairing",
        "--set", f"orchestration_logic.strategy={STRATEGY}", "--no-switch",
        "--registry", cli, "--json",
    ).json()  # fmt: skip
    modifications = {"orchestration_logic.strategy": STRATEGY}
    by_event = ask(bus, "composition:fork", {**fork, "modifications": modifications})
    assert masked({k: v for k, v in by_cli.items() if k != "switched"}) == masked(by_event)
    same_commit(twins, "fork/swiss")
    announcements_match(recorder)

    by_cli = run(
        "pattern", "track-decision", "swiss", "--decision", "increased_timeout",
        "--context", "avg_response=45", "--confidence", "0.87", "--agent", "planner",
        "--registry", cli, "--json",
    ).json()  # fmt: skip
    decision = {
        "pattern": "swiss",
        "decision": "increased_timeout",
        "context": {"avg_response": 45},
        "confidence": 0.87,
        "agent_id": "planner",
    }
    by_event = ask(bus, "composition:track_decision", decision)
    assert masked(by_cli) == masked({k: by_event[k] for k in by_cli})
    same_commit(twins, "fork/swiss")  # a fork not merged yet keeps its records on its branch
    announcements_match(recorder)

    learned = {"insight": "Swiss pairing suits 5-10 players", "confidence": "0.8", "evidence": "e"}
    by_cli = run(
        "pattern", "learn", "swiss", "--insight", learned["insight"], "--confidence", "0.8",
        "--evidence", "e", "--by", "planner", "--registry", cli, "--json",
    ).json()  # fmt: skip
    by_event = ask(
        bus, "composition:learn", {"pattern": "swiss", **learned, "discovered_by": "planner"}
    )
    assert masked(by_cli) == masked(by_event)
    same_commit(twins, "fork/swiss")
    announcements_match(recorder)

    by_cli = run(
        "pattern", "record-run", "swiss", "--score", "0.9", "--run-id", "r1",
        "--registry", cli, "--json",
    ).json()  # fmt: skip
    by_event = ask(
        bus, "composition:record_run", {"pattern": "swiss", "score": 0.9, "run_id": "r1"}
    )
    assert masked(by_cli) == masked(by_event)
    same_commit(twins, "fork/swiss")
    announcements_match(recorder)

    by_cli = run("pattern", "merge", "swiss", "--registry", cli, "--json").json()
    by_event = ask(bus, "composition:merge", {"fork": "swiss"})
    assert masked(by_cli) == masked(by_event)
    assert by_cli["commit"] and by_cli["clean"]
    same_commit(twins, "main")
    announcements_match(recorder)


def test_reads_agree(run: RunFn, twins: tuple[Path, Path], bus: EventBus) -> None:
    cli, _events = twins
    changes = run(
        "pattern", "diff", "tournament_basic", "adaptive_tournament_v2", "--registry", cli, "--json"
    ).json()  # fmt: skip
    by_event = ask(
        bus, "composition:diff", {"a": "tournament_basic", "b": "adaptive_tournament_v2"}
    )
    assert changes == by_event["changes"] and by_event["more"] == 0

    found = run(
        "pattern", "discover", "--tag", "tournament", "--where", "performance.avg_score > 0.5",
        "--registry", cli, "--json",
    ).json()  # fmt: skip
    by_event = ask(
        bus,
        "composition:discover",
        {"tags": ["tournament"], "where": ["performance.avg_score > 0.5"]},
    )
    assert found == by_event["patterns"] and found

    chosen = run(
        "pattern", "select", "--task", "Evaluate 15 prompts competitively",
        "--require", "timeout_handling", "--registry", cli, "--json",
    ).json()  # fmt: skip
    by_event = ask(
        bus,
        "composition:select",
        {"task": "Evaluate 15 prompts competitively", "requirements": ["timeout_handling"]},
    )
    assert chosen == by_event


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("name", "other"),
        ("version", [1, 2]),
        ("type", "nonsense"),
        ("performance.runs", "lots"),
        ("lineage.parent", "someone_else"),
    ],
)
def test_both_faces_refuse_the_same_bad_forks(
    run: RunFn, twins: tuple[Path, Path], bus: EventBus, setting: str, value: Any
) -> None:
    cli, _events = twins
    before = [(snapshot(repo), git(repo, "branch", "--list")) for repo in twins]
    done = run(
        "pattern", "fork", "tournament_basic", "--as", "evil", "--reason", "r",
        "--set", f"{setting}={json.dumps(value)}", "--registry", cli,
    )  # fmt: skip
    assert done.exit_code == 2, done
    emission = bus.emit(
        "composition:fork",
        {
            "parent": "tournament_basic",
            "name": "evil",
            "reason": "r",
            "modifications": {setting: value},
        },
    )
    [result] = emission.results
    assert not result["ok"]
    assert [(snapshot(repo), git(repo, "branch", "--list")) for repo in twins] == before
    cli_message = done.stderr.removeprefix("ksi: error: ").strip()
    # The same refusal, each face naming the field its own way.
    assert cli_message.replace("--set", "'modifications'") == result["error"]
