"""The event bus: dispatch, delays, conditions, refusals, and the JSONL log."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ksi_patterns.events.bus import EventBus
from ksi_patterns.events.types import (
    CANCELLED,
    CONDITION_ERROR,
    CONDITION_FALSE,
    HANDLED,
    NO_HANDLER,
    REFUSED,
    SCHEDULED,
    Emission,
    Event,
    EventError,
)
from ksi_patterns.events.values import REDACTED, is_secret_key, redact


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "ksi" / "events.jsonl"


@pytest.fixture
def bus(log: Path) -> Any:
    made = EventBus(log_path=log, source="test")
    yield made
    made.close()


# ---------------------------------------------------------------------------------------------
# Dispatch


def test_exact_and_wildcard_dispatch_in_registration_order(bus: EventBus) -> None:
    calls: list[str] = []
    bus.on("composition:*", lambda e, b: calls.append(f"wild {e.name}"), name="wild")
    bus.on("composition:fork", lambda e, b: calls.append(f"exact {e.name}"), name="exact")
    bus.on("*", lambda e, b: calls.append(f"all {e.name}"), name="all")
    bus.on("other:*", lambda e, b: calls.append("other"), name="other")
    assert bus.handlers_for("composition:fork") == ["wild", "exact", "all"]
    assert bus.handlers_for("composition:merge") == ["wild", "all"]
    assert bus.handlers_for("Composition:fork") == ["all"]  # case matters
    emission = bus.emit("composition:fork", {"name": "x"})
    assert calls == ["wild composition:fork", "exact composition:fork", "all composition:fork"]
    assert emission.emitted and emission.outcome == HANDLED and emission.reason is None
    assert [r["handler"] for r in emission.results] == ["wild", "exact", "all"]


def test_handler_gets_the_event_and_the_bus(bus: EventBus) -> None:
    seen: list[tuple[Event, EventBus]] = []
    bus.on("a:b", lambda e, b: seen.append((e, b)))
    emission = bus.emit("a:b", {"k": [1, 2]})
    event, given = seen[0]
    assert given is bus
    assert event is emission.event
    assert event.name == "a:b" and event.data == {"k": [1, 2]} and event.source == "test"
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", event.id)  # a ULID
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event.time)
    assert emission.results[0]["handler"].endswith("<lambda>")


def test_handler_errors_are_isolated(bus: EventBus) -> None:
    def broken(event: Event, bus: EventBus) -> None:
        raise RuntimeError("kaput")

    bus.on("x", lambda e, b: "first", name="first")
    bus.on("x", broken, name="broken")
    bus.on("x", lambda e, b: {"third": True}, name="third")
    emission = bus.emit("x")
    assert emission.emitted
    assert emission.results == [
        {"handler": "first", "ok": True, "result": "first"},
        {"handler": "broken", "ok": False, "error": "RuntimeError: kaput"},
        {"handler": "third", "ok": True, "result": {"third": True}},
    ]
    assert emission.failed == [emission.results[1]]
    assert emission.reason == "1 of 3 handler(s) failed"


def test_no_handler_is_logged_not_an_error(bus: EventBus, log: Path) -> None:
    emission = bus.emit("nobody:listens", {"a": 1})
    assert emission.emitted and emission.outcome == NO_HANDLER and emission.reason == "no handler"
    assert emission.results == []
    [line] = read_log(log)
    assert line["event"] == "nobody:listens" and line["outcome"] == NO_HANDLER


def test_results_are_json_safe(bus: EventBus) -> None:
    @dataclass
    class Thing:
        x: int

        def to_json(self) -> dict[str, Any]:
            return {"x": self.x}

    bus.on("r", lambda e, b: {"set": {2, 1}, "thing": Thing(3), "path": Path("/p"), 1: (1, 2)})
    result = bus.emit("r").results[0]["result"]
    assert result == {"set": [1, 2], "thing": {"x": 3}, "path": "/p", "1": [1, 2]}
    json.dumps(result)


def test_handlers_emitting_in_a_loop_are_stopped(bus: EventBus) -> None:
    bus.on("ping", lambda e, b: b.emit("ping").outcome)
    emission = bus.emit("ping")
    assert emission.emitted  # the outermost one ran
    inner: Any = emission.results[0]["result"]
    assert inner == HANDLED
    outcomes: list[str] = []
    bus.observe(lambda e: outcomes.append(e.outcome))
    bus.emit("ping")
    assert outcomes.count(REFUSED) == 1
    assert outcomes[0] == REFUSED  # the deepest settles first


def test_observers_see_every_emission_once_settled(bus: EventBus) -> None:
    seen: list[tuple[str, str]] = []
    bus.observe(lambda e: seen.append((e.event.name, e.outcome)))
    bus.observe(lambda e: 1 / 0)  # an observer's error is ignored
    bus.on("a", lambda e, b: b.emit("b"))
    bus.emit("a")
    bus.emit("c", condition="false")
    assert seen == [("b", NO_HANDLER), ("a", HANDLED), ("c", CONDITION_FALSE)]


def test_on_refuses_misuse(bus: EventBus) -> None:
    with pytest.raises(EventError):
        bus.on("", lambda e, b: None)
    with pytest.raises(EventError):
        bus.on("x", "not callable")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Conditions


def test_condition_true_false_and_error(bus: EventBus, log: Path) -> None:
    bus.set_metrics({"timeout_rate": 0.35, "all_scores_similar": False})
    calls: list[str] = []
    bus.on("alert", lambda e, b: calls.append(e.data.get("issue", "")))
    held = bus.emit("alert", {"issue": "high"}, condition="timeout_rate > 30%")
    assert held.emitted and calls == ["high"]
    false = bus.emit("alert", {"issue": "no"}, condition="all_scores_similar")
    assert not false.emitted and false.outcome == CONDITION_FALSE
    assert false.reason == "condition false: all_scores_similar"
    broken = bus.emit("alert", {"issue": "no"}, condition="timeout_rat > 30%")
    assert not broken.emitted and broken.outcome == CONDITION_ERROR
    assert broken.error is not None and "unknown variable 'timeout_rat'" in broken.error
    assert calls == ["high"]
    outcomes = [(line["outcome"], line.get("condition")) for line in read_log(log)]
    assert outcomes == [
        (HANDLED, "timeout_rate > 30%"),
        (CONDITION_FALSE, "all_scores_similar"),
        (CONDITION_ERROR, "timeout_rat > 30%"),
    ]


def test_condition_reads_data_keys_metrics_win(bus: EventBus) -> None:
    bus.set_metrics({"confidence": 0.5})
    assert bus.emit("e", {"confidence": 0.95, "n": 3}, condition="n == 3").emitted
    # the metric wins at the top level; the data is still there as data.confidence
    assert not bus.emit("e", {"confidence": 0.95}, condition="confidence > 0.9").emitted
    assert bus.emit("e", {"confidence": 0.95}, condition="data.confidence > 0.9").emitted
    assert bus.emit("e", {}, condition="metrics.confidence == 0.5").emitted


# ---------------------------------------------------------------------------------------------
# Delays


def test_delay_does_not_block_and_fires_later(bus: EventBus, log: Path) -> None:
    fired = threading.Event()
    fired_at: list[float] = []

    def handler(event: Event, bus: EventBus) -> None:
        fired_at.append(time.monotonic())
        fired.set()

    bus.on("later", handler)
    bus.emit("warm-up")  # the first emission imports the id generator
    started = time.monotonic()
    emission = bus.emit("later", {"n": 1}, delay=0.3)
    returned = time.monotonic() - started
    assert returned < 0.05
    assert emission.scheduled and not emission.emitted and emission.outcome == SCHEDULED
    assert emission.reason == "scheduled in 0.3 s"
    assert not fired.is_set()
    assert bus.pending() == 1
    bus.wait(timeout=5)
    assert fired.is_set() and bus.pending() == 0
    assert fired_at[0] - started >= 0.29
    lines = [line for line in read_log(log) if line["event"] == "later"]
    assert [line["outcome"] for line in lines] == [SCHEDULED, HANDLED]
    assert lines[0]["id"] == lines[1]["id"] == emission.event.id
    assert lines[1]["delay"] == 0.3


def test_delayed_condition_is_evaluated_when_it_fires(bus: EventBus) -> None:
    settled: list[Emission] = []
    bus.observe(settled.append)
    bus.set_metrics({"timeout_rate": 0.1})
    bus.emit("alert", delay=0.2, condition="timeout_rate > 30%")
    bus.emit("quiet", delay=0.2, condition="timeout_rate < 30%")
    bus.set_metrics({"timeout_rate": 0.5})  # measured again before they fire
    bus.wait(timeout=5)
    fired = {e.event.name: e.outcome for e in settled if not e.scheduled}
    assert fired == {"alert": NO_HANDLER, "quiet": CONDITION_FALSE}


def test_delayed_condition_with_bad_syntax_is_refused_at_once(bus: EventBus) -> None:
    emission = bus.emit("x", delay=10, condition="timeout_rate >")
    assert emission.outcome == CONDITION_ERROR and not emission.scheduled
    assert bus.pending() == 0


def test_delayed_events_fire_in_time_order(bus: EventBus) -> None:
    order: list[str] = []
    bus.on("*", lambda e, b: order.append(e.name))
    bus.emit("third", delay=0.3)
    bus.emit("first", delay=0.05)
    bus.emit("second", delay=0.15)
    bus.emit("now")
    bus.wait(timeout=5)
    assert order == ["now", "first", "second", "third"]


def test_data_is_copied_for_delayed_events(bus: EventBus) -> None:
    seen: list[Any] = []
    bus.on("d", lambda e, b: seen.append(e.data["items"]))
    data = {"items": [1]}
    bus.emit("d", data, delay=0.05)
    data["items"].append(2)
    bus.wait(timeout=5)
    assert seen == [[1]]


def test_close_cancels_pending_events(log: Path) -> None:
    bus = EventBus(log_path=log)
    bus.emit("never", delay=60)
    bus.close()
    assert [line["outcome"] for line in read_log(log)] == [SCHEDULED, CANCELLED]
    assert bus.emit("after").outcome == REFUSED
    bus.close()  # twice is fine


def test_wait_from_a_delayed_handler_returns(bus: EventBus) -> None:
    done = threading.Event()

    def handler(event: Event, bus: EventBus) -> None:
        bus.wait()  # on the scheduler thread: must not wait for itself
        done.set()

    bus.on("w", handler)
    bus.emit("w", delay=0.01)
    bus.wait(timeout=5)
    assert done.is_set()


@pytest.mark.parametrize(
    ("event", "data", "delay", "condition", "reason"),
    [
        ("has space", None, None, None, "invalid event name"),
        ("", None, None, None, "invalid event name"),
        ("a*", None, None, None, "invalid event name"),
        ("x" * 201, None, None, None, "invalid event name"),
        ("ok", [1, 2], None, None, "must be a mapping"),
        ("ok", None, -1, None, "between 0 and 3600"),
        ("ok", None, float("nan"), None, "between 0 and 3600"),
        ("ok", None, 4000, None, "between 0 and 3600"),
        ("ok", None, "soon", None, "a number of seconds"),
        ("ok", None, None, 42, "must be text"),
    ],
)
def test_bad_requests_are_refused_not_raised(
    bus: EventBus, log: Path, event: Any, data: Any, delay: Any, condition: Any, reason: str
) -> None:
    emission = bus.emit(event, data, delay=delay, condition=condition)
    assert emission.outcome == REFUSED and not emission.emitted and not emission.scheduled
    assert emission.error is not None and reason in emission.error
    assert read_log(log)[-1]["outcome"] == REFUSED


# ---------------------------------------------------------------------------------------------
# The log


def test_log_line_shape(bus: EventBus, log: Path) -> None:
    bus.on("x", lambda e, b: {"big": "result"}, name="h")
    emission = bus.emit("x", {"a": 1})
    [line] = read_log(log)
    assert line == {
        "time": line["time"],
        "id": emission.event.id,
        "event": "x",
        "source": "test",
        "outcome": HANDLED,
        "reason": None,
        "data": {"a": 1},
        "handlers": [{"handler": "h", "ok": True}],  # results stay out of the log
        "pid": line["pid"],
    }
    assert (log.stat().st_mode & 0o777) == 0o600


def test_huge_data_is_summarised_in_the_log(bus: EventBus, log: Path) -> None:
    bus.emit("big", {"blob": "x" * 400_000})
    [line] = read_log(log)
    assert line["data"]["_truncated"] is True and line["data"]["_bytes"] > 400_000


def test_secrets_are_redacted_in_the_log(bus: EventBus, log: Path) -> None:
    data = {
        "api_key": "sk-live-1",
        "apiKey": "k2",
        "nested": {"password": "hunter2", "list": [{"Authorization": "Basic abc"}]},
        "headers": {"X-Api-Key": "k3", "Cookie": "c"},
        "access_token": "t",
        "client_secret": {"deep": "s"},
        "note": "Bearer abcdef123",
        "anthropic": "sk-ant-api03-abcdefghijkl",
        "max_tokens": 100,
        "tokens_used": 5,
        "token": None,
        "plain": "visible",
    }
    bus.emit("secret:stuff", data)
    [line] = read_log(log)
    logged = line["data"]
    text = log.read_text()
    for secret in ("sk-live-1", "k2", "hunter2", "Basic abc", "k3", "abcdef123", "sk-ant-api03"):
        assert secret not in text
    assert logged["api_key"] == logged["apiKey"] == REDACTED
    assert logged["nested"]["password"] == REDACTED
    assert logged["nested"]["list"][0]["Authorization"] == REDACTED
    assert logged["headers"] == {"X-Api-Key": REDACTED, "Cookie": REDACTED}
    assert logged["client_secret"] == REDACTED and logged["access_token"] == REDACTED
    assert logged["note"] == REDACTED and logged["anthropic"] == REDACTED
    assert logged["max_tokens"] == 100 and logged["tokens_used"] == 5
    assert logged["token"] is None and logged["plain"] == "visible"


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("api_key", True),
        ("API-KEY", True),
        ("openaiApiKey", True),
        ("password", True),
        ("db_passwd", True),
        ("refresh_token", True),
        ("Authorization", True),
        ("private_key", True),
        ("aws_secret_access_key", True),
        ("credentials", True),
        ("max_tokens", False),
        ("input_tokens", False),
        ("keyword", False),
        ("monkey", False),
        ("secretary", False),
        ("author", False),
    ],
)
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_redact_handles_deep_data() -> None:
    deep: Any = {"password": "x"}
    for _ in range(100):
        deep = {"a": deep}
    assert "x" not in json.dumps(redact(deep))


def test_log_lines_stay_whole_under_threads(log: Path) -> None:
    bus = EventBus(log_path=log)
    payload = "y" * 5000

    def work(worker: int) -> None:
        for number in range(100):
            bus.emit("load:thread", {"worker": worker, "n": number, "payload": payload})

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bus.close()
    lines = read_log(log)
    assert len(lines) == 800
    assert {(line["data"]["worker"], line["data"]["n"]) for line in lines} == {
        (w, n) for w in range(8) for n in range(100)
    }


WRITER = """
import sys
from pathlib import Path
from ksi_patterns.events.bus import EventBus

bus = EventBus(log_path=Path(sys.argv[1]), source="proc" + sys.argv[2])
payload = "z" * 20000
for number in range(200):
    bus.emit("load:process", {"n": number, "payload": payload})
bus.close()
"""


def test_log_lines_stay_whole_across_processes(log: Path) -> None:
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(log), str(i)]) for i in range(2)]
    bus = EventBus(log_path=log, source="here")
    for number in range(200):
        bus.emit("load:here", {"n": number, "payload": "h" * 20000})
    bus.close()
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    raw = log.read_bytes()
    assert raw.endswith(b"\n")
    lines = [json.loads(line) for line in raw.splitlines()]  # every line is whole JSON
    counts: dict[str, int] = {}
    for line in lines:
        counts[line["source"]] = counts.get(line["source"], 0) + 1
    assert counts == {"proc0": 200, "proc1": 200, "here": 200}


def test_log_write_failures_do_not_stop_the_bus(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    bus = EventBus(log_path=blocker / "events.jsonl")
    bus.on("x", lambda e, b: "ran")
    assert bus.emit("x").results[0]["result"] == "ran"
    assert bus.log_errors and "cannot write the event log" in bus.log_errors[0]
    bus.close()


def test_no_log_without_a_path() -> None:
    bus = EventBus()
    assert bus.emit("x").outcome == NO_HANDLER
    bus.close()


def test_the_cli_help_imports_no_cel(tmp_path: Path) -> None:
    watched = ("celpy", "lark", "ulid", "ksi_patterns.events.bus", "ksi_patterns.events.conditions")
    probe = (
        "import atexit, sys\n"
        f"watched = {watched!r}\n"
        "atexit.register(lambda: print('LOADED', sorted(m for m in sys.modules"
        " if m in watched or m.split('.')[0] in watched[:3])))\n"
        "sys.argv = ['ksi', *sys.argv[1:]]\n"
        "from ksi_patterns.cli.app import main\n"
        "main()\n"
    )
    for args in (["--help"], ["event", "--help"], ["event", "emit", "--help"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert "LOADED []" in done.stdout, (args, done.stdout[-300:])
    control = subprocess.run(
        [sys.executable, "-c", probe, "event", "handlers"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert "'ksi_patterns.events.bus'" in control.stdout  # the probe does see imports
    assert "celpy" not in control.stdout
