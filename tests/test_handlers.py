"""Composition handlers on a real registry, handler plugins, announcements, and `ksi event`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import handler_plugin
from conftest import REPO_ROOT, RunFn, git, snapshot
from ksi_patterns.composition import handlers
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.events import plugins as plugin_loading
from ksi_patterns.events.bus import EventBus
from ksi_patterns.events.plugins import GROUP, is_built_in, load_plugins
from ksi_patterns.events.types import CONDITION_FALSE, Emission, Event
from ksi_patterns.operations import buses
from ksi_patterns.operations.buses import event_log_path
from ksi_patterns.operations.caller import Caller, announce
from ksi_patterns.registry.registry import Registry, open_registry

STRATEGY = 'WHEN starting:\n  EMIT "orchestration:configure" WITH {mode: "swiss"}\n'


def entry_point(value: str, name: str = "test") -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=value, group=GROUP)


@pytest.fixture
def registry(registry_dir: Path) -> Registry:
    return open_registry(registry_dir)


@pytest.fixture
def bus(registry: Registry) -> Iterator[EventBus]:
    made = EventBus(
        log_path=event_log_path(registry), source="test", context={"registry": registry}
    )
    handlers.register(made)
    yield made
    made.close()


@pytest.fixture
def announcements(bus: EventBus) -> list[Event]:
    """Every announcement (composition:*ed) the bus carries."""
    seen: list[Event] = []
    bus.on("composition:*ed", lambda event, bus: seen.append(event), name="listener")
    return seen


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> list[metadata.EntryPoint]:
    """The plugins the CLI finds: the test plugin, through a fake entry point."""
    found = [entry_point("handler_plugin:register", "recorder")]
    built_in = [point for point in plugin_loading.plugin_entry_points() if is_built_in(point)]
    monkeypatch.setattr(plugin_loading, "plugin_entry_points", lambda: [*built_in, *found])
    handler_plugin.SEEN.clear()
    return found


def only(emission: Emission) -> Any:
    """The result of the composition handler (the first one), which must have succeeded."""
    assert json.dumps(emission.to_json())  # everything an LLM gets back is JSON
    result = emission.results[0]
    assert result["ok"], result
    return result["result"]


def error_of(emission: Emission) -> str:
    result = emission.results[0]
    assert not result["ok"], result
    return str(result["error"])


def fork_swiss(bus: EventBus, **extra: Any) -> Any:
    return only(
        bus.emit(
            "composition:fork",
            {
                "parent": "adaptive_tournament_v2",
                "name": "tournament_swiss",
                "reason": "Swiss pairing",
                "modifications": {"orchestration_logic.strategy": STRATEGY, **extra},
            },
        )
    )


# ---------------------------------------------------------------------------------------------
# The composition handlers


def test_fork_creates_the_branch_and_announces(
    bus: EventBus, registry: Registry, registry_dir: Path, announcements: list[Event]
) -> None:
    everything: list[str] = []
    bus.on("*", lambda event, bus: everything.append(event.name), name="all")
    before = snapshot(registry_dir)
    result = fork_swiss(bus, **{"performance.runs": 0})
    assert result["name"] == "tournament_swiss"
    assert result["parent"] == "adaptive_tournament_v2@2.1.0"
    assert result["branch"] == "fork/tournament_swiss"
    assert "fork/tournament_swiss" in registry.store.branches()
    document = load_plain(registry.read(result["path"], "fork/tournament_swiss"), result["path"])
    assert document["lineage"]["parent"] == "adaptive_tournament_v2@2.1.0"
    assert document["lineage"]["fork_reason"] == "Swiss pairing"
    assert document["orchestration_logic"]["strategy"] == STRATEGY
    assert document["performance"]["runs"] == 0
    assert "|" in registry.read(result["path"], "fork/tournament_swiss").decode()  # a block
    # an event never moves the user's working tree
    assert registry.store.current_branch == "main"
    assert snapshot(registry_dir) == before
    [forked] = announcements
    assert forked.name == "composition:forked"
    assert forked.data == {**result, "type": "orchestration", "reason": "Swiss pairing"}
    assert everything == ["composition:forked", "composition:fork"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"parent": "adaptive_tournament_v2", "name": "x"}, "missing 'reason'"),
        ({"name": "x", "reason": "r"}, "missing 'parent'"),
        ({"parent": "nope", "name": "x", "reason": "r"}, "no pattern or profile named 'nope'"),
        ({"parent": "adaptive_tournament_v2", "name": "../x", "reason": "r"}, "invalid"),
        (
            {"parent": "adaptive_tournament_v2", "name": "x", "reason": "r", "modifications": 3},
            "'modifications' must be a mapping",
        ),
        (
            {
                "parent": "adaptive_tournament_v2",
                "name": "x",
                "reason": "r",
                "modifications": {"name": "y"},
            },
            "may not change 'name'",
        ),
        (
            {"parent": "adaptive_tournament_v2", "name": "tournament_basic", "reason": "r"},
            "already exists",
        ),
    ],
)
def test_bad_forks_write_nothing(
    bus: EventBus, registry: Registry, data: dict[str, Any], message: str
) -> None:
    branches = registry.store.branches()
    emission = bus.emit("composition:fork", data)
    assert message in error_of(emission)
    assert registry.store.branches() == branches


def test_diff_with_the_parent_and_between_two(bus: EventBus) -> None:
    fork_swiss(bus)
    against_parent = only(bus.emit("composition:diff", {"a": "tournament_swiss"}))
    # name, lineage and performance differ by construction: hidden
    assert [c["path"] for c in against_parent["changes"]] == ["orchestration_logic.strategy"]
    assert against_parent["stat"]["total"] == 1 and against_parent["more"] == 0
    assert "fork point" in against_parent["a"]
    both = only(
        bus.emit("composition:diff", {"a": "tournament_basic", "b": "adaptive_tournament_v2"})
    )
    assert both["stat"]["total"] > 3
    assert "no pattern or profile named 'nope'" in error_of(
        bus.emit("composition:diff", {"a": "nope"})
    )
    assert "no lineage parent" in error_of(bus.emit("composition:diff", {"a": "tournament_basic"}))


def test_merge_commits_and_announces(
    bus: EventBus, registry: Registry, announcements: list[Event]
) -> None:
    fork_swiss(bus)
    result = only(bus.emit("composition:merge", {"fork": "tournament_swiss"}))
    assert result["into"] == "adaptive_tournament_v2" and result["branch"] == "main"
    assert result["commit"] and not result["up_to_date"]
    parent = load_plain(
        registry.read("orchestrations/adaptive_tournament_v2.yaml", "main"), "parent"
    )
    assert parent["orchestration_logic"]["strategy"] == STRATEGY
    assert parent["lineage"]["merges"][-1]["from"].startswith("tournament_swiss@")
    assert [event.name for event in announcements] == [
        "composition:forked",
        "composition:merged",
    ]
    assert announcements[1].data["commit"] == result["commit"]
    again = only(bus.emit("composition:merge", {"name": "tournament_swiss"}))
    assert again["up_to_date"] and again["commit"] is None
    assert len(announcements) == 2  # nothing new, nothing announced


def test_merge_with_conflicts_writes_nothing(
    bus: EventBus, registry: Registry, registry_dir: Path
) -> None:
    fork_swiss(bus, description="The fork's description")
    path = "orchestrations/adaptive_tournament_v2.yaml"
    text = registry.read(path).decode()
    edited = text.replace("Adaptive tournament that", "The parent's own tournament that", 1)
    assert edited != text
    registry.store.commit({path: edited.encode()}, "edit the parent", "main")
    tip = registry.store.resolve("main").id
    before = snapshot(registry_dir)
    error = error_of(bus.emit("composition:merge", {"fork": "tournament_swiss"}))
    assert "conflict" in error and "nothing was written" in error
    assert registry.store.resolve("main").id == tip
    assert snapshot(registry_dir) == before
    assert not (registry.store.git_dir / "ksi" / "merge-state.json").exists()
    settled = only(bus.emit("composition:merge", {"fork": "tournament_swiss", "resolve": "theirs"}))
    assert settled["commit"]


def test_track_decision_with_the_seed_data(
    bus: EventBus, registry: Registry, announcements: list[Event]
) -> None:
    data = {
        "pattern": "adaptive_tournament_v2",
        "decision": "reduced_complexity",
        "context": {"timeout_rate": 0.35},
        "outcome": "pending",
        "confidence": 0.87,
        "agent_id": "orchestrator_7f3e",
    }
    result = only(bus.emit("composition:track_decision", data))
    assert result["decision"] == "reduced_complexity" and result["commit"]
    log = load_plain(registry.read(result["path"]), result["path"])
    assert log[-1]["id"] == result["id"]
    assert log[-1]["context"] == {"timeout_rate": 0.35}
    assert log[-1]["agent_id"] == "orchestrator_7f3e"
    [tracked] = announcements
    assert tracked.name == "composition:decision_tracked"
    assert tracked.data["id"] == result["id"] and tracked.data["confidence"] == 0.87
    bad = bus.emit("composition:track_decision", {**data, "confidence": 2})
    assert "confidence" in error_of(bad)


def test_learn_and_record_run_go_to_the_fork_branch(
    bus: EventBus, registry: Registry, announcements: list[Event]
) -> None:
    fork_swiss(bus)
    learned = only(
        bus.emit(
            "composition:learn",
            {"pattern": "tournament_swiss", "insight": "Swiss fits 5-10", "confidence": 0.85},
        )
    )
    assert learned["action"] == "added"
    run = only(
        bus.emit(
            "composition:record_run", {"pattern": "tournament_swiss", "score": 0.9, "run_id": "r1"}
        )
    )
    assert run["runs"] == 1 and run["parent"] == "adaptive_tournament_v2"
    document = load_plain(
        registry.read("orchestrations/tournament_swiss.yaml", "fork/tournament_swiss"), "fork"
    )
    assert document["learnings"][-1]["insight"] == "Swiss fits 5-10"
    assert document["performance"]["runs"] == 1
    assert [event.name for event in announcements] == [
        "composition:forked",
        "composition:learned",
        "composition:run_recorded",
    ]
    assert "missing 'score'" in error_of(
        bus.emit("composition:record_run", {"pattern": "tournament_swiss"})
    )
    assert "already recorded" in error_of(
        bus.emit(
            "composition:record_run", {"pattern": "tournament_swiss", "score": 0.9, "run_id": "r1"}
        )
    )


def test_discover_with_the_seed_filter(bus: EventBus) -> None:
    result = only(
        bus.emit(
            "composition:discover",
            {
                "type": "orchestration",
                "metadata_filter": {"tags": ["tournament"], "performance.avg_score": {">": 0.7}},
            },
        )
    )
    names = [row["name"] for row in result["patterns"]]
    assert "adaptive_tournament_v2" in names and result["count"] == len(names)
    assert "unknown 'type'" in error_of(bus.emit("composition:discover", {"type": "nope"}))


def test_select_with_the_seed_requirements(bus: EventBus) -> None:
    result = only(
        bus.emit(
            "composition:select",
            {
                "task": "Evaluate 15 prompts competitively",
                "requirements": {"timeout_handling": True},
            },
        )
    )
    assert result["results"][0]["name"] == "adaptive_tournament_v2"
    assert "explanation" in result["results"][0]
    listed = only(
        bus.emit("composition:select", {"task": "tournament", "requirements": ["timeout_handling"]})
    )
    assert listed["results"][0]["name"] == "adaptive_tournament_v2"
    assert "'top'" in error_of(bus.emit("composition:select", {"task": "x", "top": 0}))
    assert "missing 'task'" in error_of(bus.emit("composition:select", {}))


def test_every_composition_event_has_a_handler(bus: EventBus) -> None:
    for spec in handlers.COMPOSITION_EVENTS:
        assert bus.handlers_for(spec.event) == [spec.handler_name]


def test_a_delayed_fork_runs_on_the_scheduler_thread(bus: EventBus, registry: Registry) -> None:
    data = {"parent": "tournament_basic", "name": "later_fork", "reason": "later"}
    assert bus.emit("composition:fork", data, delay=0.05).scheduled
    bus.wait(timeout=30)
    assert "fork/later_fork" in registry.store.branches()


# ---------------------------------------------------------------------------------------------
# Plugins


def test_load_plugins_reports_instead_of_raising() -> None:
    bus = EventBus()
    reports = load_plugins(
        bus,
        [
            entry_point("handler_plugin:register", "good"),
            entry_point("no_such_module_anywhere:register", "missing"),
            entry_point("handler_plugin:register_then_fail", "half"),
            entry_point("handler_plugin:NOT_CALLABLE", "constant"),
        ],
    )
    assert [(r.name, r.ok) for r in reports] == [
        ("good", True),
        ("missing", False),
        ("half", False),
        ("constant", False),
    ]
    assert reports[0].handlers == (("composition:*ed", "test_plugin.record"),)
    assert "ModuleNotFoundError" in (reports[1].error or "")
    assert reports[2].error == "RuntimeError: half way"
    assert reports[2].handlers == (("x:*", "test_plugin.partial"),)  # kept, and said
    assert "not callable" in (reports[3].error or "")
    assert bus.handlers_for("composition:forked") == ["test_plugin.record"]
    assert json.dumps([r.to_json() for r in reports])
    bus.close()


def test_the_example_plugin(monkeypatch: pytest.MonkeyPatch, bus: EventBus) -> None:
    monkeypatch.syspath_prepend(str(REPO_ROOT / "examples" / "plugin" / "src"))
    [report] = load_plugins(bus, [entry_point("ksi_example_plugin:register", "example")])
    assert report.ok, report.error
    settled: list[Emission] = []
    bus.observe(settled.append)
    fork_swiss(bus)
    assert ("evaluation:compare_requested", "no handler") in [
        (e.event.name, e.outcome) for e in settled
    ]
    requested = next(e for e in settled if e.event.name == "evaluation:compare_requested")
    assert requested.event.data["fork"] == "tournament_swiss"
    decision = {"pattern": "tournament_basic", "decision": "guess"}
    only_first = bus.emit("composition:track_decision", {**decision, "confidence": 0.3})
    assert only_first.results[0]["ok"]
    alerts = [e for e in settled if e.event.name == "monitoring:alert"]
    assert alerts[-1].emitted and alerts[-1].event.data["confidence"] == 0.3
    bus.emit("composition:track_decision", {**decision, "confidence": 0.9})
    bus.emit("composition:track_decision", decision)  # no confidence: no alert, no error
    alerts = [e for e in settled if e.event.name == "monitoring:alert"]
    assert [a.outcome for a in alerts[-2:]] == [CONDITION_FALSE, CONDITION_FALSE]


def test_the_example_plugin_package_declares_its_entry_point() -> None:
    import tomllib

    project = tomllib.loads((REPO_ROOT / "examples" / "plugin" / "pyproject.toml").read_text())
    points = project["project"]["entry-points"][GROUP]
    assert points == {"example": "ksi_example_plugin:register"}


def test_event_handlers_lists_plugins(
    run: RunFn, plugins: list[metadata.EntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins.append(entry_point("no_such_module_anywhere:register", "broken"))
    listed = run("event", "handlers")
    assert listed.exit_code == 0, listed
    assert "composition:fork" in listed.stdout and "ksi.composition.fork" in listed.stdout
    assert "test_plugin.record" in listed.stdout
    assert "plugin recorder (handler_plugin:register)" in listed.stdout
    assert "plugin broken" in listed.stderr and "failed to load" in listed.stderr
    found = run("event", "handlers", "--json").json()
    assert {
        "pattern": "composition:*ed",
        "handler": "test_plugin.record",
        "origin": "plugin recorder (handler_plugin:register)",
        "parameters": None,
        "announces": None,
    } in found["handlers"]
    assert [p["ok"] for p in found["plugins"]] == [True, False]
    builtin = [h for h in found["handlers"] if h["origin"] == "built-in"]
    assert len(builtin) == len(handlers.COMPOSITION_EVENTS)


def test_help_does_not_look_for_plugins(run: RunFn, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> list[metadata.EntryPoint]:
        raise AssertionError("entry points were read")

    monkeypatch.setattr(plugin_loading, "plugin_entry_points", fail)
    assert run("--help").exit_code == 0
    assert run("event", "--help").exit_code == 0


# ---------------------------------------------------------------------------------------------
# The CLI's own commands announce


def log_lines(registry_dir: Path) -> list[dict[str, Any]]:
    path = registry_dir / ".git" / "ksi" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cli_fork_merge_and_track_decision_announce(
    run: RunFn, registry_dir: Path, plugins: list[metadata.EntryPoint]
) -> None:
    forked = run(
        "pattern", "fork", "tournament_basic", "--as", "tb_swiss", "--reason", "Swiss",
        "--registry", registry_dir,
    )  # fmt: skip
    assert forked.exit_code == 0, forked
    tracked = run(
        "pattern", "track-decision", "tb_swiss", "--decision", "increased_timeout",
        "--confidence", "0.8", "--registry", registry_dir, "--json",
    )  # fmt: skip
    assert tracked.exit_code == 0, tracked
    (registry_dir / "orchestrations" / "tb_swiss.yaml").write_text(
        (registry_dir / "orchestrations" / "tb_swiss.yaml")
        .read_text()
        .replace("version:", "# swiss\nversion:", 1)
    )
    git(registry_dir, "-c", "user.name=T", "-c", "user.email=t@x", "commit", "-qam", "edit")
    merged = run("pattern", "merge", "tb_swiss", "--branch", "main", "--registry", registry_dir)
    assert merged.exit_code == 0, merged
    seen = [name for name, _data in handler_plugin.SEEN]
    assert seen == ["composition:forked", "composition:decision_tracked", "composition:merged"]
    fork_data = handler_plugin.SEEN[0][1]
    assert fork_data["name"] == "tb_swiss" and fork_data["parent"] == "tournament_basic@2.0.0"
    assert handler_plugin.SEEN[1][1]["id"] == tracked.json()["id"]
    assert handler_plugin.SEEN[2][1]["into"] == "tournament_basic"
    lines = log_lines(registry_dir)
    assert [(line["event"], line["source"]) for line in lines] == [
        ("composition:forked", "cli"),
        ("composition:decision_tracked", "cli"),
        ("composition:merged", "cli"),
    ]
    assert all(
        line["handlers"] == [{"handler": "test_plugin.record", "ok": True}] for line in lines
    )


def test_a_failing_plugin_never_fails_the_command(
    run: RunFn, registry_dir: Path, plugins: list[metadata.EntryPoint]
) -> None:
    plugins[:] = [
        entry_point("handler_plugin:register_a_failing_handler", "exploder"),
        entry_point("no_such_module_anywhere:register", "missing"),
    ]
    done = run(
        "pattern", "fork", "tournament_basic", "--as", "tb2", "--reason", "r",
        "--registry", registry_dir, "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done
    assert done.json()["name"] == "tb2"  # stdout holds only the JSON
    assert "handler test_plugin.explode failed on composition:forked" in done.stderr
    assert "plugin missing" in done.stderr


def test_announce_never_raises(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> EventBus:
        raise OSError("disk on fire")

    monkeypatch.setattr(buses, "open_bus", broken)
    warnings: list[str] = []
    assert announce(registry, Caller(warn=warnings.append), "composition:forked", {}) is None
    assert warnings == ["warning: could not announce composition:forked: disk on fire"]


# ---------------------------------------------------------------------------------------------
# ksi event emit / log


def test_event_emit_fork(
    run: RunFn, registry_dir: Path, plugins: list[metadata.EntryPoint]
) -> None:
    data = json.dumps({"parent": "tournament_basic", "name": "tb3", "reason": "r", "token": "s3"})
    done = run("event", "emit", "composition:fork", "--data", data, "--registry", registry_dir)
    assert done.exit_code == 0, done
    assert "composition:fork  handled" in done.stdout
    assert "ok      ksi.composition.fork" in done.stdout
    assert "then composition:forked  handled" in done.stdout
    as_json = run(
        "event", "emit", "composition:diff", "--data", '{"a": "tb3"}',
        "--registry", registry_dir, "--json",
    ).json()  # fmt: skip
    assert as_json["outcome"] == "handled" and as_json["followed_by"] == []
    assert as_json["results"][0]["result"]["stat"]["total"] == 0
    assert "fork point" in as_json["results"][0]["result"]["a"]
    assert "s3" not in (registry_dir / ".git" / "ksi" / "events.jsonl").read_text()


def test_event_emit_exit_codes(run: RunFn, registry_dir: Path, tmp_path: Path) -> None:
    def emit(*args: str) -> Any:
        return run("event", "emit", *args, "--registry", str(registry_dir), "--no-plugins")

    failed = emit("composition:fork", "--data", '{"parent": "nope", "name": "n", "reason": "r"}')
    assert failed.exit_code == 1 and "FAILED  ksi.composition.fork" in failed.stdout
    bad_condition = emit("x:y", "--condition", "rate > 30% AND missing", "--metrics", "rate=1")
    assert bad_condition.exit_code == 2
    assert "unknown variable 'missing'" in bad_condition.stderr
    assert emit("bad name").exit_code == 2
    assert emit("x:y", "--data", "[1]").exit_code == 2
    assert emit("x:y", "--data", "{nope").exit_code == 2
    assert emit("x:y", "--metrics", "oops").exit_code == 2
    false = emit("x:y", "--condition", "rate > 30%", "--metrics", "rate=20%")
    assert false.exit_code == 0 and "condition false: rate > 30%" in false.stdout
    true = emit("x:y", "--condition", "rate > 30%", "--metrics", "rate=35%")
    assert true.exit_code == 0 and "x:y  no handler" in true.stdout
    (tmp_path / "data.json").write_text('{"rate": 0.5}')
    from_file = emit("x:y", "--data", f"@{tmp_path / 'data.json'}", "--condition", "rate > 0.4")
    assert from_file.exit_code == 0 and "no handler" in from_file.stdout


def test_event_emit_waits_for_a_delay(run: RunFn, registry_dir: Path) -> None:
    started = time.monotonic()
    done = run(
        "event", "emit", "x:later", "--delay", "0.3", "--condition", "n > 1",
        "--metrics", "n=2", "--registry", registry_dir, "--json", "--no-plugins",
    )  # fmt: skip
    assert time.monotonic() - started >= 0.3
    assert done.exit_code == 0, done
    found = done.json()
    assert found["scheduled"] and found["reason"] == "scheduled in 0.3 s"
    [fired] = found["followed_by"]
    assert fired["event"]["id"] == found["event"]["id"] and fired["outcome"] == "no handler"
    late_error = run(
        "event", "emit", "x:later", "--delay", "0.05", "--condition", "n > 1",
        "--registry", registry_dir, "--no-plugins",
    )  # fmt: skip
    assert late_error.exit_code == 2 and "unknown variable 'n'" in late_error.stderr


def test_event_log(run: RunFn, registry_dir: Path) -> None:
    empty = run("event", "log", "--registry", registry_dir)
    assert empty.exit_code == 0 and "No events" in empty.stderr
    for number in range(5):
        run("event", "emit", f"test:e{number}", "--registry", registry_dir, "--no-plugins")
    run("event", "emit", "other:x", "--data", '{"api_key": "k"}', "--registry", registry_dir)
    log_file = registry_dir / ".git" / "ksi" / "events.jsonl"
    with log_file.open("a") as handle:
        handle.write("not json\n")
    shown = run("event", "log", "-n", "3", "--registry", registry_dir)
    assert shown.exit_code == 0, shown
    lines = shown.stdout.splitlines()
    assert len(lines) == 3
    assert "test:e3" in lines[0] and "test:e4" in lines[1] and "other:x" in lines[2]
    assert '"api_key": "[redacted]"' in lines[2]
    assert "skipped 1 line(s)" in shown.stderr
    filtered = run("event", "log", "--event", "test:*", "--json", "--registry", registry_dir)
    records = [json.loads(line) for line in filtered.stdout.splitlines()]
    assert [r["event"] for r in records] == [f"test:e{n}" for n in range(5)]
    assert run("event", "log", "-n", "0", "--registry", registry_dir).stdout == ""


def test_event_log_follow(run: RunFn, registry_dir: Path) -> None:
    registry = open_registry(registry_dir)
    bus = EventBus(log_path=event_log_path(registry), source="writer")
    bus.emit("before:follow")

    def later() -> None:
        time.sleep(0.3)
        bus.emit("during:follow", {"n": 1})
        bus.emit("ignored:follow")

    writer = threading.Thread(target=later)
    writer.start()
    done = run(
        "event", "log", "--follow", "--follow-for", "1.5", "--event", "*:follow",
        "--json", "-n", "1", "--registry", registry_dir,
    )  # fmt: skip
    writer.join()
    bus.close()
    names = [json.loads(line)["event"] for line in done.stdout.splitlines()]
    assert names == ["before:follow", "during:follow", "ignored:follow"]
    only_during = run(
        "event", "log", "--follow", "--follow-for", "0.1", "--event", "during:*",
        "--registry", registry_dir,
    )  # fmt: skip
    assert "during:follow" in only_during.stdout and "before" not in only_during.stdout
