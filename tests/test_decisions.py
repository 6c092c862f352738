"""`ksi pattern track-decision` and `ksi pattern decisions` on real registries (real git)."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pygit2
import pytest

from conftest import RunFn, commit_all, git, head, snapshot
from decision_writer import run_writers
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.schema import DocumentKind, schema_violations
from ksi_patterns.errors import InputError, UsageError
from ksi_patterns.evolution.decision_entries import new_entry
from ksi_patterns.evolution.decision_text import append_entry, entry_text, item_indent

PATTERN = "adaptive_tournament_v2"
LOG = f"orchestrations/{PATTERN}_decisions.yaml"
ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def valid_log(data: bytes | str) -> list[dict[str, Any]]:
    """The log loaded, checked to be a list valid against the decision-log schema."""
    entries = load_plain(data, "log")
    assert isinstance(entries, list)
    assert schema_violations(entries, DocumentKind.DECISION_LOG) == []
    return entries


def track(run: RunFn, registry: Path, *args: str) -> Any:
    done = run("pattern", "track-decision", *args, "--registry", registry)
    assert done.exit_code == 0, done
    return done


# -- appending --------------------------------------------------------------------------------


def test_track_decision_appends_the_entry_as_text_and_commits(
    registry_dir: Path, run: RunFn
) -> None:
    old = (registry_dir / LOG).read_bytes()
    before = head(registry_dir)
    done = track(
        run,
        registry_dir,
        PATTERN,
        "--decision",
        "increased_timeout",
        "--context",
        "avg_response=45",
        "--context",
        "ratio=0.5",
        "--context",
        "note=slow judges",
        "--context",
        "flag=true",
        "--outcome",
        "reduced_timeout_rate",
        "--confidence",
        "0.87",
        "--agent",
        "orchestrator_1",
    )
    new_id = done.stdout.strip()
    assert ULID.match(new_id)
    new = (registry_dir / LOG).read_bytes()
    committed = git(registry_dir, "show", f"HEAD:{LOG}").encode()
    assert committed == new  # the work tree was refreshed
    assert git(registry_dir, "status", "--porcelain") == ""
    assert git(registry_dir, "rev-parse", "HEAD~1").strip() == before
    assert git(registry_dir, "log", "-1", "--format=%s").strip() == (
        f"decision({PATTERN}): increased_timeout"
    )
    # Every earlier byte is kept; what follows is exactly one entry in the log's "  - " style.
    assert new.startswith(old)
    entries = valid_log(new)
    assert len(entries) == len(valid_log(old)) + 1
    entry = entries[-1]
    assert new[len(old) :] == entry_text(entry, 2).encode()
    assert new[len(old) :].startswith(b"  - id: ")
    assert entry == {
        "id": new_id,
        "timestamp": entry["timestamp"],
        "pattern": PATTERN,
        "agent_id": "orchestrator_1",
        "decision": "increased_timeout",
        "context": {"avg_response": 45, "ratio": 0.5, "note": "slow judges", "flag": True},
        "outcome": "reduced_timeout_rate",
        "confidence": 0.87,
    }
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", entry["timestamp"])


def test_json_gives_the_entry_and_context_json_is_an_object(registry_dir: Path, run: RunFn) -> None:
    done = track(
        run,
        registry_dir,
        PATTERN,
        "--decision",
        "rejudged",
        "--context-json",
        '{"judges": 3, "nested": {"a": [1, "two"]}, "text": "yes"}',
        "--json",
    )
    entry = done.json()
    assert entry["context"] == {"judges": 3, "nested": {"a": [1, "two"]}, "text": "yes"}
    assert entry["outcome"] is None
    assert "confidence" not in entry
    assert entry["agent_id"]  # the registry's default author, or the git author
    assert valid_log((registry_dir / LOG).read_bytes())[-1] == entry


def test_a_missing_log_is_created_as_a_yaml_list(registry_dir: Path, run: RunFn) -> None:
    path = registry_dir / "orchestrations/tournament_basic_decisions.yaml"
    assert not path.exists()
    track(run, registry_dir, "tournament_basic", "--decision", "first", "--confidence", "1")
    track(run, registry_dir, "tournament_basic", "--decision", "second", "--confidence", "0")
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    entries = valid_log(text)
    assert [e["decision"] for e in entries] == ["first", "second"]
    assert [e["confidence"] for e in entries] == [1, 0]


def test_tricky_text_is_quoted_by_yaml_and_reads_back_unchanged(
    registry_dir: Path, run: RunFn
) -> None:
    tricky = {
        "colon": "a: b # not a comment",
        "quotes": 'it\'s "quoted"',
        "lines": "first\nsecond",
        "yes": "yes",
        "number_text": "0.5",
        "date_text": "2025-07-10",
        "unicode": "Zürich ✓",
        "empty": "",
        "null": None,
    }
    done = track(
        run,
        registry_dir,
        PATTERN,
        "--decision",
        "- [weird]: {decision} #1",
        "--outcome",
        "on",
        "--context-json",
        json.dumps(tricky),
        "--json",
    )
    entry = valid_log((registry_dir / LOG).read_bytes())[-1]
    assert entry == done.json()
    assert entry["context"] == tricky
    assert entry["decision"] == "- [weird]: {decision} #1"
    assert entry["outcome"] == "on"  # a string, for YAML 1.1 readers too (quoted)
    assert "outcome: 'on'" in (registry_dir / LOG).read_text()


def test_corpus_log_keeps_its_dash_style_and_quoted_confidences(
    registry_dir: Path, run: RunFn, corpus: Path
) -> None:
    source = corpus / "orchestrations/crystallization_test_decisions.yaml"
    shutil.copy(source, registry_dir / LOG)
    commit_all(registry_dir, "a corpus log")
    old = (registry_dir / LOG).read_bytes()
    assert item_indent(old) == 0
    track(run, registry_dir, PATTERN, "--decision", "next", "--confidence", "0.4")
    new = (registry_dir / LOG).read_bytes()
    assert new.startswith(old)
    assert new[len(old) :].startswith(b"- id: ")
    entries = valid_log(new)
    assert entries[0]["confidence"] == "0.92"  # the old entry, as it was
    assert entries[-1]["confidence"] == 0.4


@pytest.mark.parametrize(
    ("old", "kept"),
    [
        (b"- decision: a\n  confidence: 0.5", b"- decision: a\n  confidence: 0.5\n"),
        (b"# only a comment\n", b"# only a comment\n"),
        (b"# header\n[]\n", b"# header\n"),
        (b"", b""),
        (b"---\n  - decision: a\n", b"---\n  - decision: a\n"),
    ],
    ids=["no-final-newline", "comments-only", "empty-flow-list", "empty-file", "doc-start"],
)
def test_odd_logs_still_take_an_append(
    registry_dir: Path, run: RunFn, old: bytes, kept: bytes
) -> None:
    (registry_dir / LOG).write_bytes(old)
    commit_all(registry_dir, "odd log")
    track(run, registry_dir, PATTERN, "--decision", "appended")
    new = (registry_dir / LOG).read_bytes()
    assert new.startswith(kept)
    entries = valid_log(new)
    assert entries[-1]["decision"] == "appended"
    assert len(entries) == (2 if b"decision: a" in old else 1)


def test_a_block_scalar_left_unterminated_keeps_its_value() -> None:
    old = b"- decision: a\n  note: |\n    two\n    lines"
    new = append_entry(old, new_entry("p", "b", agent_id="x"), "log")
    entries = valid_log(new)
    assert entries[0]["note"] == "two\nlines"
    assert entries[1]["decision"] == "b"


def test_append_never_parses_the_old_log() -> None:
    """Only the first item line is read: garbage further down is not even looked at."""
    old = b"  - decision: a\n  - {{{ not yaml at all: [\n"
    new = append_entry(old, new_entry("p", "b", agent_id="x"), "log")
    assert new.startswith(old)
    assert new[len(old) :].startswith(b"  - id: ")


def test_item_indent_reads_the_first_item_line_only() -> None:
    assert item_indent(b"# c\n\n    - a\n- b\n") == 4
    assert item_indent(b"- a\n") == 0
    assert item_indent(b"# nothing yet\n") is None
    with pytest.raises(InputError) as caught:
        item_indent(b"# c\nname: x\n", "f.yaml")
    assert str(caught.value.position) == "f.yaml:2:1"


def test_entry_text_is_one_list_item_at_the_given_indent() -> None:
    entry = new_entry("p", "d", agent_id="a", context={"n": 1, "l": [1, 2]}, confidence=0.5)
    for indent in (0, 2, 4):
        text = entry_text(entry, indent)
        assert text.startswith(" " * indent + "- id: ")
        assert load_plain(text, "t") == [entry]


# -- --update ---------------------------------------------------------------------------------


def test_update_fills_in_the_outcome_and_rewrites_only_that_entry(
    registry_dir: Path, run: RunFn
) -> None:
    first = track(run, registry_dir, PATTERN, "--decision", "one").stdout.strip()
    track(run, registry_dir, PATTERN, "--decision", "two")
    old = (registry_dir / LOG).read_text()
    done = run(
        "pattern",
        "track-decision",
        PATTERN,
        "--update",
        first,
        "--outcome",
        "worked",
        "--json",
        "--registry",
        registry_dir,
    )
    assert done.exit_code == 0, done
    assert done.json()["id"] == first and done.json()["outcome"] == "worked"
    new = (registry_dir / LOG).read_text()
    old_lines, new_lines = old.splitlines(), new.splitlines()
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert changed == [("    outcome: null", "    outcome: worked")]
    entries = valid_log(new)
    assert [e["outcome"] for e in entries[-2:]] == ["worked", None]


def test_update_keeps_the_quoting_of_an_old_outcome(registry_dir: Path, run: RunFn) -> None:
    """The starter log's outcomes are plain; a quoted one stays quoted."""
    text = (
        (registry_dir / LOG)
        .read_text()
        .replace("outcome: improved_discrimination", 'outcome: "improved_discrimination"')
    )
    (registry_dir / LOG).write_text(text)
    commit_all(registry_dir, "quoted outcome")
    done = run(
        "pattern",
        "track-decision",
        PATTERN,
        "--update",
        "01JZTJ1V18FJV9XZJP542CVCQN",
        "--outcome",
        "better",
        "--registry",
        registry_dir,
    )
    assert done.exit_code == 0, done
    new = (registry_dir / LOG).read_text()
    assert new == text.replace('"improved_discrimination"', '"better"')


# -- bad requests write nothing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((PATTERN, "--decision", "d", "--confidence", "1.5"), "--confidence"),
        ((PATTERN, "--decision", "d", "--confidence", "high"), "--confidence"),
        ((PATTERN, "--decision", "d", "--confidence", "nan"), "--confidence"),
        ((PATTERN, "--decision", "d", "--context", "no_equals_sign"), "KEY=VALUE"),
        ((PATTERN, "--decision", "d", "--context", "=5"), "KEY=VALUE"),
        ((PATTERN, "--decision", "d", "--context", "a=1", "--context", "a=2"), "twice"),
        ((PATTERN, "--decision", "d", "--context-json", "[1, 2]"), "JSON object"),
        ((PATTERN, "--decision", "d", "--context-json", "{oops"), "not valid JSON"),
        ((PATTERN, "--decision", "d", "--context", "a=1", "--context-json", "{}"), "not both"),
        ((PATTERN, "--decision", "   "), "non-empty"),
        ((PATTERN,), "--decision is required"),
        (("no_such_pattern", "--decision", "d"), "no pattern named 'no_such_pattern'"),
        ((f"{PATTERN}_decisions", "--decision", "d"), "not a pattern"),
        (("../etc", "--decision", "d"), "invalid pattern name"),
        ((PATTERN, "--update", "01JZTH9130VEZEBMQ8T5V8Q7RX", "--outcome", "o"), "no decision"),
        ((PATTERN, "--update", "01JZTH9130VEZEBMQ8T5V8Q7RH"), "needs --outcome"),
        ((PATTERN, "--update", "01JZTH9130VEZEBMQ8T5V8Q7RH", "--decision", "d"), "only the"),
    ],
)
def test_bad_requests_exit_2_and_write_nothing(
    registry_dir: Path, run: RunFn, args: tuple[str, ...], message: str
) -> None:
    before, files = head(registry_dir), snapshot(registry_dir)
    done = run("pattern", "track-decision", *args, "--registry", registry_dir)
    assert done.exit_code == 2, done
    assert message in done.stderr
    assert done.stderr.startswith("ksi: error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.output
    assert head(registry_dir) == before
    assert snapshot(registry_dir) == files


def test_a_file_that_is_no_list_is_refused_with_its_position(
    registry_dir: Path, run: RunFn
) -> None:
    (registry_dir / LOG).write_text("# a pattern, not a log\nname: oops\ntype: orchestration\n")
    before = commit_all(registry_dir, "not a log")
    files = snapshot(registry_dir)
    done = run("pattern", "track-decision", PATTERN, "--decision", "d", "--registry", registry_dir)
    assert done.exit_code == 2, done
    assert f"{LOG}:2:1:" in done.stderr
    assert head(registry_dir) == before and snapshot(registry_dir) == files


# -- reading: decisions -------------------------------------------------------------------


def seed_log(registry: Path, corpus: Path) -> None:
    """The starter log plus the corpus's entries (no ids, quoted confidences), committed."""
    text = (registry / LOG).read_text()
    extra = (corpus / "orchestrations/evolution_test_improved_decisions.yaml").read_text()
    (registry / LOG).write_text(text + "".join("  " + line for line in extra.splitlines(True)))
    commit_all(registry, "older entries")


def test_decisions_table_shows_entries_with_and_without_ids(
    registry_dir: Path, run: RunFn, corpus: Path
) -> None:
    seed_log(registry_dir, corpus)
    done = run("pattern", "decisions", PATTERN, "--registry", registry_dir)
    assert done.exit_code == 0, done
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "ID",
        "TIMESTAMP",
        "AGENT",
        "DECISION",
        "OUTCOME",
        "CONF",
        "CONTEXT",
    ]
    assert len(lines) == 1 + 3 + 3
    assert lines[1].startswith("01JZTH9130VEZEBMQ8T5V8Q7RH")
    assert "timeout_rate=0.35, participant_count=12, round=2" in lines[1]
    assert lines[-1].startswith("-  ") and "successful_improvement" in lines[-1]


def test_decisions_filters(registry_dir: Path, run: RunFn, corpus: Path) -> None:
    seed_log(registry_dir, corpus)

    def decided(*args: str) -> list[str]:
        done = run("pattern", "decisions", PATTERN, *args, "--json", "--registry", registry_dir)
        assert done.exit_code == 0, done
        return [entry["decision"] for entry in done.json()]

    everything = decided()
    assert len(everything) == 6
    assert decided("--since", "2025-07-13") == everything[3:]
    assert decided("--since", "2025-07-10T16:17:45Z") == everything[1:]
    assert decided("--since", "2025-07-10T18:17:45+02:00") == everything[1:]
    assert decided("--agent", "unknown") == everything[3:]
    assert decided("--decision", "increased_timeout") == ["increased_timeout"]
    assert decided("--decision", "*_complexity*") == [
        "reduced_complexity",
        "smooth_complexity_reduction",
    ]
    assert decided("--decision", "reduced_*") == ["reduced_complexity"]
    assert decided("--outcome", "reduced_timeout_rate") == [
        "reduced_complexity",
        "increased_timeout",
    ]
    assert decided("--agent", "orchestrator_7f3e", "--outcome", "improved*") == [
        "added_discrimination"
    ]
    done = run("pattern", "decisions", PATTERN, "--since", "last week", "--registry", registry_dir)
    assert done.exit_code == 2 and "--since" in done.stderr


def test_decisions_stats_accept_quoted_confidences(
    registry_dir: Path, run: RunFn, corpus: Path
) -> None:
    seed_log(registry_dir, corpus)
    track(
        run, registry_dir, PATTERN, "--decision", "increased_timeout"
    )  # no confidence, no outcome
    done = run("pattern", "decisions", PATTERN, "--stats", "--json", "--registry", registry_dir)
    assert done.exit_code == 0, done
    stats = done.json()
    assert stats["count"] == 7
    assert stats["decisions"]["increased_timeout"] == 2
    assert stats["outcomes"] == {
        "reduced_timeout_rate": 2,
        "improved_discrimination": 1,
        "success": 1,
        "improved": 1,
        "pattern_validated": 1,
        "(none)": 1,
    }
    # 0.8, 0.85, 0.87 (numbers) and '0.9', '0.85', '0.95' (quoted by an older tool)
    assert stats["with_confidence"] == 6
    assert stats["mean_confidence"] == pytest.approx((0.8 + 0.85 + 0.87 + 0.9 + 0.85 + 0.95) / 6)
    text = run("pattern", "decisions", PATTERN, "--stats", "--registry", registry_dir)
    assert text.exit_code == 0, text
    assert text.stdout.startswith("7 decision(s); mean confidence 0.870")
    filtered = run(
        "pattern",
        "decisions",
        PATTERN,
        "--stats",
        "--agent",
        "unknown",
        "--json",
        "-R",
        registry_dir,
    )
    assert filtered.json()["count"] == 3


def test_decisions_of_a_pattern_without_a_log(registry_dir: Path, run: RunFn) -> None:
    done = run("pattern", "decisions", "tournament_basic", "--json", "--registry", registry_dir)
    assert done.exit_code == 0 and done.json() == []
    done = run("pattern", "decisions", "tournament_basic", "--registry", registry_dir)
    assert done.exit_code == 0 and "No decisions" in done.stderr
    done = run("pattern", "decisions", "nothing_here", "--registry", registry_dir)
    assert done.exit_code == 2 and "no pattern named" in done.stderr


# -- many writers -----------------------------------------------------------------------------


def first_parent_logs(registry: Path, path: str) -> list[bytes]:
    """The log's content at each commit of the first-parent history that changed it, oldest
    first."""
    repo = pygit2.Repository(str(registry))
    commit = repo.head.peel(pygit2.Commit)
    found: list[bytes] = []
    while True:
        try:
            found.append(commit.tree[path].data)
        except KeyError:
            break
        if not commit.parents:
            break
        commit = commit.parents[0]
    found.reverse()
    return [data for i, data in enumerate(found) if i == 0 or data != found[i - 1]]


def test_eight_processes_append_800_decisions(registry_dir: Path, tmp_path: Path) -> None:
    """8 processes x 100 track_decision calls on one pattern: nothing lost, nothing rewritten."""
    initial = (registry_dir / LOG).read_bytes()
    before = head(registry_dir)
    started = time.perf_counter()
    reports = run_writers(registry_dir, tmp_path / "gate", 8, 100, "track", PATTERN)
    elapsed = time.perf_counter() - started
    ids = [i for report in reports for i in report["ids"]]
    assert len(ids) == 800 and len(set(ids)) == 800
    assert [s for report in reports for s in report["skipped"]] == []

    final = git(registry_dir, "show", f"HEAD:{LOG}").encode()
    entries = valid_log(final)
    new = entries[3:]
    assert len(new) == 800
    assert Counter(e["id"] for e in new) == Counter(ids)  # each id exactly once
    assert Counter(e["decision"] for e in new) == Counter(
        f"w{w}-{i}" for w in range(8) for i in range(100)
    )
    # Each writer's entries are in its own order (appends, not reorderings).
    for w in range(8):
        mine = [e["context"]["i"] for e in new if e["context"]["writer"] == w]
        assert mine == list(range(100))
    # Every commit's log is a prefix of the next one's: no earlier byte was ever rewritten.
    assert git(registry_dir, "rev-list", "--count", f"{before}..HEAD").strip() == "800"
    logs = first_parent_logs(registry_dir, LOG)
    assert logs[0] == initial and logs[-1] == final and len(logs) == 801
    for older, newer in itertools.pairwise(logs):
        assert newer.startswith(older) and len(newer) > len(older)
    # The work tree followed: it holds the final log and nothing is modified.
    assert (registry_dir / LOG).read_bytes() == final
    assert git(registry_dir, "status", "--porcelain") == ""
    print(
        f"\n800 decisions by 8 processes in {elapsed:.1f}s "
        f"(slowest writer {max(r['seconds'] for r in reports):.1f}s)"
    )


def test_new_entry_takes_confidence_as_text_and_checks_it() -> None:
    """Event handlers pass what agents sent, sometimes a quoted number."""
    assert new_entry("p", "d", agent_id="a", confidence="0.85")["confidence"] == 0.85
    with pytest.raises(UsageError):
        new_entry("p", "d", agent_id="a", confidence="1.2")
    with pytest.raises(UsageError):
        new_entry("p", "d", agent_id="a", context={"when": object()})
