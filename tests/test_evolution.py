"""`ksi pattern learn` and `ksi pattern record-run` on real registries (real git)."""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest

from conftest import RunFn, commit_all, git, head, snapshot
from decision_writer import run_writers
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.schema import DocumentKind, schema_violations
from ksi_patterns.evolution.runs import RUN_IDS_KEPT, record_run
from ksi_patterns.registry.registry import open_registry

V2 = "orchestrations/adaptive_tournament_v2.yaml"
BASIC = "orchestrations/tournament_basic.yaml"


def pattern_at_head(registry: Path, path: str) -> dict[str, Any]:
    data = load_plain(git(registry, "show", f"HEAD:{path}"), path)
    assert isinstance(data, dict)
    return data


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """(removed, added) lines between two texts, as `git diff` would count them."""
    import difflib

    removed, added = [], []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def ok(run: RunFn, *args: str | Path) -> Any:
    done = run(*args)
    assert done.exit_code == 0, done
    return done


# -- learn ------------------------------------------------------------------------------------


def test_learn_adds_an_insight_to_learnings(registry_dir: Path, run: RunFn) -> None:
    old = (registry_dir / BASIC).read_text()
    done = ok(
        run,
        "pattern",
        "learn",
        "tournament_basic",
        "--insight",
        "Seeding by last run's rank shortens elimination rounds",
        "--confidence",
        "0.7",
        "--evidence",
        "runs:[101,104]",
        "--by",
        "orchestrator_9",
        "--json",
        "--registry",
        registry_dir,
    )
    report = done.json()
    assert report["action"] == "added" and report["where"] == "learnings"
    assert report["learning"] == {
        "insight": "Seeding by last run's rank shortens elimination rounds",
        "confidence": 0.7,
        "evidence": "runs:[101,104]",
        "discovered_by": "orchestrator_9",
    }
    assert git(registry_dir, "log", "-1", "--format=%s").startswith("learn(tournament_basic): ")
    assert git(registry_dir, "status", "--porcelain") == ""
    new = (registry_dir / BASIC).read_text()
    removed, added = changed_lines(old, new)
    assert removed == []
    assert added == [
        "  - insight: Seeding by last run's rank shortens elimination rounds",
        "    confidence: 0.7",
        "    evidence: runs:[101,104]",
        "    discovered_by: orchestrator_9",
    ]
    data = pattern_at_head(registry_dir, BASIC)
    assert data["learnings"][-1] == report["learning"]
    assert schema_violations(data, DocumentKind.PATTERN) == []


def test_learn_updates_the_same_insight_instead_of_duplicating_it(
    registry_dir: Path, run: RunFn
) -> None:
    old = (registry_dir / V2).read_text()
    done = ok(
        run,
        "pattern",
        "learn",
        "adaptive_tournament_v2",
        "--insight",
        "  Swiss pairing   optimal\tfor 5-10\nparticipants ",
        "--confidence",
        "0.9",
        "--evidence",
        "runs:[7,9,11,14,52]",
        "--registry",
        registry_dir,
    )
    assert "Updated a learning of adaptive_tournament_v2 (in learnings)" in done.stdout
    new = (registry_dir / V2).read_text()
    removed, added = changed_lines(old, new)
    assert removed == ["    confidence: 0.85", '    evidence: "runs:[7,9,11,14]"']
    assert added == ["    confidence: 0.9", '    evidence: "runs:[7,9,11,14,52]"']  # quoting kept
    learnings = pattern_at_head(registry_dir, V2)["learnings"]
    assert len(learnings) == 3
    assert learnings[0]["insight"] == "Swiss pairing optimal for 5-10 participants"
    assert learnings[0]["discovered_by"] == "orchestrator_7f3e"  # not overwritten without --by


def test_learn_creates_learnings_after_performance(registry_dir: Path, run: RunFn) -> None:
    path = registry_dir / "orchestrations/bare_pattern.yaml"
    path.write_text(
        "name: bare_pattern\ntype: orchestration\nversion: 1.0.0\n"
        "performance:\n  runs: 2\n\nmetadata:\n  tags: [a]\n"
    )
    commit_all(registry_dir, "a pattern without learnings")
    ok(
        run,
        "pattern",
        "learn",
        "bare_pattern",
        "--insight",
        "x",
        "--confidence",
        "0.5",
        "--by",
        "me",
        "--registry",
        registry_dir,
    )
    data = pattern_at_head(registry_dir, "orchestrations/bare_pattern.yaml")
    assert list(data) == ["name", "type", "version", "performance", "learnings", "metadata"]
    assert data["learnings"] == [{"insight": "x", "confidence": 0.5, "discovered_by": "me"}]
    assert path.read_text().startswith(
        "name: bare_pattern\ntype: orchestration\nversion: 1.0.0\nperformance:\n  runs: 2\n"
    )


def test_learn_updates_metadata_learnings_of_older_files(
    registry_dir: Path, run: RunFn, corpus: Path
) -> None:
    name = "evolution_test_improved"
    target = registry_dir / f"orchestrations/{name}.yaml"
    shutil.copy(corpus / f"orchestrations/{name}.yaml", target)
    commit_all(registry_dir, "an older pattern")
    done = ok(
        run,
        "pattern",
        "learn",
        name,
        "--insight",
        "Smaller steps converge",
        "--confidence",
        "0.6",
        "--registry",
        registry_dir,
    )
    assert "(in metadata.learnings)" in done.stdout
    done = ok(
        run,
        "pattern",
        "learn",
        name,
        "--insight",
        "Higher adaptation threshold reduces oscillation",
        "--confidence",
        "0.95",
        "--json",
        "--registry",
        registry_dir,
    )
    assert done.json()["action"] == "updated"
    assert done.json()["where"] == "metadata.learnings"
    data = pattern_at_head(registry_dir, f"orchestrations/{name}.yaml")
    assert "learnings" not in data
    insights = [(item["insight"], item["confidence"]) for item in data["metadata"]["learnings"]]
    assert insights == [
        ("Higher adaptation threshold reduces oscillation", 0.95),
        ("Learning rate parameter enables smoother transitions", 0.9),
        ("Smaller steps converge", 0.6),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tournament_basic", "--insight", "x", "--confidence", "2"), "--confidence"),
        (("tournament_basic", "--insight", "x", "--confidence", "high"), "--confidence"),
        (("tournament_basic", "--insight", "  ", "--confidence", "0.5"), "--insight"),
        (("tournament_basic", "--insight", "x", "--confidence", "0.5", "--evidence", ""), "evid"),
        (("no_such", "--insight", "x", "--confidence", "0.5"), "no pattern named 'no_such'"),
    ],
)
def test_learn_bad_requests_write_nothing(
    registry_dir: Path, run: RunFn, args: tuple[str, ...], message: str
) -> None:
    before, files = head(registry_dir), snapshot(registry_dir)
    done = run("pattern", "learn", *args, "--registry", registry_dir)
    assert done.exit_code == 2, done
    assert message in done.stderr and done.stderr.count("\n") == 1
    assert head(registry_dir) == before and snapshot(registry_dir) == files


def test_learn_refuses_learnings_that_are_no_list(registry_dir: Path, run: RunFn) -> None:
    path = registry_dir / "orchestrations/odd.yaml"
    path.write_text("name: odd\ntype: orchestration\nlearnings:\n  first: x\n")
    before = commit_all(registry_dir, "odd learnings")
    done = run("pattern", "learn", "odd", "--insight", "x", "--confidence", "1", "-R", registry_dir)
    assert done.exit_code == 2, done
    assert "orchestrations/odd.yaml:3:1: `learnings` must be a list" in done.stderr
    assert head(registry_dir) == before


# -- record-run -------------------------------------------------------------------------------


def fresh_fork(registry: Path, run: RunFn, name: str = "tb_fork") -> str:
    """A fork of tournament_basic (avg_score 0.674) with no performance of its own yet."""
    ok(
        run,
        "pattern",
        "fork",
        "tournament_basic",
        "--as",
        name,
        "--reason",
        "test runs",
        "--set",
        "performance={}",
        "--registry",
        registry,
    )
    return f"orchestrations/{name}.yaml"


def record(run: RunFn, registry: Path, name: str, *args: str) -> Any:
    done = run("pattern", "record-run", name, *args, "--json", "--registry", registry)
    assert done.exit_code == 0, done
    return done.json()


def test_record_run_keeps_running_means_and_finds_a_merge_candidate(
    registry_dir: Path, run: RunFn
) -> None:
    path = fresh_fork(registry_dir, run)
    expected = [
        # score, flag, runs, avg_score, success_rate, improvements_over_parent, candidate
        ("0.8", "--success", 1, 0.8, 1.0, "+18.7%", False),  # better, but only one run
        ("0.9", "--failure", 2, 0.85, 0.5, "+26.1%", False),  # better, but only two runs
        ("0.7", "--success", 3, 0.8, 2 / 3, "+18.7%", True),  # third run, >= 15%: candidate
        ("0.3", "--success", 4, 0.675, 0.75, "+0.1%", False),  # no longer 15% better
    ]
    for score, flag, runs, avg, rate, gain, candidate in expected:
        report = record(run, registry_dir, "tb_fork", "--score", score, flag)
        assert report["runs"] == runs
        assert report["avg_score"] == avg
        assert report["success_rate"] == rate
        assert report["improvements_over_parent"] == gain
        assert report["merge_candidate"] is candidate
        assert report["parent"] == "tournament_basic" and report["parent_avg_score"] == 0.674
        performance = pattern_at_head(registry_dir, path)["performance"]
        assert performance["runs"] == runs
        assert performance["avg_score"] == avg
        assert performance["success_rate"] == rate
        assert performance["improvements_over_parent"] == gain
        assert performance["last_run"].endswith("Z")
        assert git(registry_dir, "log", "-1", "--format=%s").strip() == (
            f"run(tb_fork): score {score}"
        )
    assert git(registry_dir, "branch", "--show-current").strip() == "fork/tb_fork"
    assert schema_violations(pattern_at_head(registry_dir, path), DocumentKind.PATTERN) == []


def test_record_run_says_merge_candidate_in_text(registry_dir: Path, run: RunFn) -> None:
    fresh_fork(registry_dir, run)
    outputs = [
        run("pattern", "record-run", "tb_fork", "--score", "0.9", "-R", registry_dir).stdout
        for _ in range(3)
    ]
    assert ["Merge candidate" in text for text in outputs] == [False, False, True]
    assert "`ksi pattern merge tb_fork`" in outputs[2]
    assert "+33.5% over its parent tournament_basic" in outputs[2]


def test_record_run_running_mean_of_thirds_stays_exact(registry_dir: Path, run: RunFn) -> None:
    fresh_fork(registry_dir, run)
    scores = [0.1, 0.2, 0.4, 0.35, 0.95, 0.05, 0.6]
    for index, score in enumerate(scores, start=1):
        report = record(run, registry_dir, "tb_fork", "--score", str(score))
        # No rounding to a few decimals, which would drift run after run.
        assert report["avg_score"] == pytest.approx(statistics.fmean(scores[:index]), rel=1e-14)


def test_record_run_on_a_pattern_with_figures_edits_only_those(
    registry_dir: Path, run: RunFn
) -> None:
    old = (registry_dir / V2).read_text()
    report = record(run, registry_dir, "adaptive_tournament_v2", "--score", "0.9")
    assert report["runs"] == 48
    assert report["avg_score"] == 0.8216666666666667  # (0.82 * 47 + 0.9) / 48
    assert report["success_rate"] == 0.9314583333333334  # (0.93 * 47 + 1) / 48
    assert report["improvements_over_parent"] == "+21.9%"  # (0.82167 - 0.674) / 0.674
    assert report["merge_candidate"] is True
    new = (registry_dir / V2).read_text()
    removed, added = changed_lines(old, new)
    assert removed == [
        "  runs: 47",
        "  avg_score: 0.82",
        "  success_rate: 0.93",
        '  improvements_over_parent: "+21.7%"',
    ]
    assert added[:4] == [
        "  runs: 48",
        "  avg_score: 0.8216666666666667",
        "  success_rate: 0.9314583333333334",
        '  improvements_over_parent: "+21.9%"',  # the seed's quoting kept
    ]
    assert added[4].startswith("  last_run: '") and len(added) == 5
    assert "# (0.82 - 0.674) / 0.674, against tournament_basic's avg_score" in new


def test_record_run_without_a_parent_writes_no_improvement(registry_dir: Path, run: RunFn) -> None:
    report = record(run, registry_dir, "tournament_basic", "--score", "1", "--failure")
    assert report["parent"] is None and report["improvements_over_parent"] is None
    assert report["merge_candidate"] is False
    assert report["success_rate"] == pytest.approx(0.88 * 120 / 121, rel=1e-15)
    assert "improvements_over_parent" not in pattern_at_head(registry_dir, BASIC)["performance"]


def test_record_run_updates_metadata_performance_of_older_files(
    registry_dir: Path, run: RunFn, corpus: Path
) -> None:
    name = "evolution_test_improved"
    shutil.copy(
        corpus / f"orchestrations/{name}.yaml", registry_dir / f"orchestrations/{name}.yaml"
    )
    commit_all(registry_dir, "an older pattern")
    report = record(run, registry_dir, name, "--score", "0.5")
    assert report["where"] == "metadata.performance"
    assert report["runs"] == 6
    assert report["parent"] == "evolution_test_base"  # not in this registry: no figures
    assert report["improvements_over_parent"] is None
    data = pattern_at_head(registry_dir, f"orchestrations/{name}.yaml")
    assert "performance" not in data
    assert data["metadata"]["performance"]["runs"] == 6
    assert data["metadata"]["performance"]["success_rate"] == pytest.approx(
        (0.92 * 5 + 1) / 6, rel=1e-15
    )


def test_the_same_run_id_is_counted_once(registry_dir: Path, run: RunFn) -> None:
    record(run, registry_dir, "tournament_basic", "--score", "0.5", "--run-id", "run-42")
    before, files = head(registry_dir), snapshot(registry_dir)
    done = run(
        "pattern", "record-run", "tournament_basic", "--score", "0.5", "--run-id", "run-42",
        "--registry", registry_dir,
    )  # fmt: skip
    assert done.exit_code == 2, done
    assert "run 'run-42' is already recorded" in done.stderr
    assert head(registry_dir) == before and snapshot(registry_dir) == files
    performance = pattern_at_head(registry_dir, BASIC)["performance"]
    assert performance["runs"] == 121 and performance["run_ids"] == ["run-42"]
    assert "  run_ids: [run-42]\n" in (registry_dir / BASIC).read_text()


def test_only_the_last_run_ids_are_kept(registry_dir: Path) -> None:
    registry = open_registry(registry_dir)
    for i in range(RUN_IDS_KEPT + 5):
        record_run(registry, "consensus_builder", 0.5, run_id=f"r{i}")
    performance = pattern_at_head(registry_dir, "orchestrations/consensus_builder.yaml")[
        "performance"
    ]
    assert performance["runs"] == 38 + RUN_IDS_KEPT + 5
    assert performance["run_ids"] == [f"r{i}" for i in range(5, RUN_IDS_KEPT + 5)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tournament_basic", "--score", "1.5"), "--score"),
        (("tournament_basic", "--score", "good"), "--score"),
        (("tournament_basic", "--score", "0.5", "--run-id", " "), "--run-id"),
        (("no_such", "--score", "0.5"), "no pattern named 'no_such'"),
    ],
)
def test_record_run_bad_requests_write_nothing(
    registry_dir: Path, run: RunFn, args: tuple[str, ...], message: str
) -> None:
    before, files = head(registry_dir), snapshot(registry_dir)
    done = run("pattern", "record-run", *args, "--registry", registry_dir)
    assert done.exit_code == 2, done
    assert message in done.stderr and done.stderr.count("\n") == 1
    assert head(registry_dir) == before and snapshot(registry_dir) == files


def test_record_run_refuses_unreadable_figures_with_their_position(
    registry_dir: Path, run: RunFn
) -> None:
    text = (registry_dir / BASIC).read_text().replace("  runs: 120\n", "  runs: many\n")
    (registry_dir / BASIC).write_text(text)
    before = commit_all(registry_dir, "bad runs")
    line = text[: text.index("  runs: many")].count("\n") + 1
    done = run("pattern", "record-run", "tournament_basic", "--score", "0.5", "-R", registry_dir)
    assert done.exit_code == 2, done
    assert f"{BASIC}:{line}:3: performance.runs must be a number" in done.stderr
    assert head(registry_dir) == before


def test_four_processes_record_runs_without_losing_one(registry_dir: Path, tmp_path: Path) -> None:
    reports = run_writers(registry_dir, tmp_path / "gate", 4, 10, "run", "tournament_basic")
    assert [s for report in reports for s in report["skipped"]] == []
    performance = pattern_at_head(registry_dir, BASIC)["performance"]
    assert performance["runs"] == 120 + 40
    assert sorted(performance["run_ids"]) == sorted(
        f"w{w}-{i}" for w in range(4) for i in range(10)
    )
    assert performance["avg_score"] == pytest.approx((0.674 * 120 + 0.5 * 40) / 160, rel=1e-12)
    assert (registry_dir / BASIC).read_text() == git(registry_dir, "show", f"HEAD:{BASIC}")
