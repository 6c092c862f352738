"""`ksi pattern discover`: filters by type, tags, capabilities, --where and --filter, on one ref
or on every branch; bad filters are one line and exit 2."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from conftest import RunFn, commit_all, git
from ksi_patterns.finding.discovery import Found

# Two patterns beside the starter ones: one keeps tags at the top level and its lineage under
# metadata (as older files do), one holds text where a number is usual.
LEGACY_REVIEW = """\
name: legacy_review
type: orchestration
version: 0.3.0
description: An older review pattern that keeps its tags at the top level.
tags: [review, legacy]
performance:
  runs: 5
  avg_score: 0.55
  success_rate: 0.6
metadata:
  lineage:
    parent: consensus_builder@1.1.0
    fork_date: "2025-01-02T00:00:00Z"
  complexity: medium-high
  capabilities_required: [agent:spawn]
"""
SPEED_TRIAL = """\
name: speed_trial
type: orchestration
version: 1.0.0
description: Quick knockout rounds for a first cut.
performance:
  runs: 12
  avg_score: 0.7
  success_rate: high
metadata:
  tags: [tournament, fast]
  complexity: low
"""
ORCHESTRATIONS = {
    "adaptive_pipeline",
    "adaptive_tournament_v2",
    "consensus_builder",
    "tournament_basic",
    "legacy_review",
    "speed_trial",
}
PROFILES = {"base_multi_agent", "base_orchestrator"}


@pytest.fixture
def registry(registry_dir: Path) -> Path:
    folder = registry_dir / "orchestrations"
    (folder / "legacy_review.yaml").write_text(LEGACY_REVIEW)
    (folder / "speed_trial.yaml").write_text(SPEED_TRIAL)
    commit_all(registry_dir, "two more patterns")
    return registry_dir


def names(run: RunFn, registry: Path, *args: str) -> set[str]:
    """The names discover finds, checked to be the same from the index cache (a second run)."""
    done = run("pattern", "discover", *args, "--json", "--registry", registry)
    assert done.exit_code == 0, done
    again = run("pattern", "discover", *args, "--json", "--registry", registry)
    assert (again.stdout, again.stderr) == (done.stdout, done.stderr)
    return {row["name"] for row in done.json()}


def test_without_filters_every_pattern_and_profile(run: RunFn, registry: Path) -> None:
    assert names(run, registry) == ORCHESTRATIONS | PROFILES


def test_type_tags_and_capabilities(run: RunFn, registry: Path) -> None:
    assert names(run, registry, "--type", "profile") == PROFILES
    assert names(run, registry, "--type", "orchestration") == ORCHESTRATIONS
    assert names(run, registry, "--tag", "tournament") == {
        "adaptive_tournament_v2",
        "tournament_basic",
        "speed_trial",
    }
    assert names(run, registry, "--tag", "tournament", "--tag", "adaptive") == {
        "adaptive_tournament_v2"
    }
    assert names(run, registry, "--capability", "timeout_handling") == {"adaptive_tournament_v2"}
    assert names(
        run, registry, "--capability", "agent:spawn", "--capability", "agent:broadcast"
    ) == {"consensus_builder"}


def test_tags_and_lineage_are_read_at_the_top_level_or_under_metadata(
    run: RunFn, registry: Path
) -> None:
    assert names(run, registry, "--tag", "legacy") == {"legacy_review"}  # top level
    assert names(run, registry, "--tag", "fast") == {"speed_trial"}  # under metadata
    assert names(run, registry, "--where", "tags contains review") == {"legacy_review"}
    assert names(run, registry, "--where", "tags contains fast") == {"speed_trial"}
    # `lineage` is top level in adaptive_tournament_v2, under metadata in legacy_review
    assert names(run, registry, "--where", "lineage.parent exists") == {
        "adaptive_tournament_v2",
        "legacy_review",
    }
    assert names(run, registry, "--where", "complexity == medium-high") == {"legacy_review"}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "performance.avg_score > 0.7",
            {"adaptive_pipeline", "adaptive_tournament_v2", "consensus_builder"},
        ),
        (
            "performance.avg_score >= 0.7",
            {"adaptive_pipeline", "adaptive_tournament_v2", "consensus_builder", "speed_trial"},
        ),
        ("performance.avg_score < 0.7", {"tournament_basic", "legacy_review"}),
        ("performance.avg_score <= 0.674", {"tournament_basic", "legacy_review"}),
        ("performance.runs == 47", {"adaptive_tournament_v2"}),
        ("performance.runs == 47.0", {"adaptive_tournament_v2"}),
        ('metadata.complexity == "medium-high"', {"legacy_review"}),
        ("metadata.complexity != low", {"legacy_review"}),  # a missing field never matches
        ("version != 2.0.0", (ORCHESTRATIONS | PROFILES) - {"tournament_basic"}),
        ("tags contains tournament", {"adaptive_tournament_v2", "tournament_basic", "speed_trial"}),
        ("tags contains [tournament, adaptive]", {"adaptive_tournament_v2"}),
        ("tags == consensus", {"consensus_builder"}),  # some element equals
        ("type in [orchestration, profile]", ORCHESTRATIONS | PROFILES),
        ("type in [profile]", PROFILES),
        (
            "name in [consensus_builder, legacy_review, nobody]",
            {"consensus_builder", "legacy_review"},
        ),
        ("tags in [legacy, fast]", {"legacy_review", "speed_trial"}),
        ("lineage.parent exists", {"adaptive_tournament_v2", "legacy_review"}),
        ("description contains ELIMINATION", {"tournament_basic", "adaptive_tournament_v2"}),
        ('description contains "shared test set"', {"tournament_basic"}),
        ("learnings.confidence > 0.9", {"adaptive_pipeline", "adaptive_tournament_v2"}),
        ("learnings.0.confidence >= 0.88", {"tournament_basic", "adaptive_pipeline"}),
        ("lineage.fork_date >= 2025-07-01", {"adaptive_tournament_v2"}),
        ("lineage.fork_date < 2025-07-01", {"legacy_review"}),
        ("selection_criteria.max_participants<=32", {"tournament_basic", "consensus_builder"}),
    ],
)
def test_where_operators(run: RunFn, registry: Path, expression: str, expected: set[str]) -> None:
    assert names(run, registry, "--where", expression) == expected


def test_where_expressions_all_hold_together_with_tags(run: RunFn, registry: Path) -> None:
    assert names(
        run,
        registry,
        "--tag",
        "tournament",
        "--where",
        "performance.avg_score > 0.7",
        "--where",
        "performance.runs < 100",
    ) == {"adaptive_tournament_v2"}


@pytest.mark.parametrize(
    ("metadata_filter", "expected"),
    [
        # the seed's composition:discover example
        (
            '{"performance.avg_score": {">": 0.7}, "tags": ["tournament"]}',
            {"adaptive_tournament_v2"},
        ),
        ('{"tags": ["tournament", "ranking"]}', {"adaptive_tournament_v2", "tournament_basic"}),
        ('{"type": "profile"}', PROFILES),
        ('{"performance.runs": 38}', {"consensus_builder"}),
        ('{"performance.avg_score": {">=": 0.7, "<": 0.75}}', {"consensus_builder", "speed_trial"}),
        (
            '{"lineage.parent": {"exists": false}, "tags": ["tournament"]}',
            {"tournament_basic", "speed_trial"},
        ),
        (
            '{"name": {"in": ["speed_trial", "tournament_basic"]}}',
            {"speed_trial", "tournament_basic"},
        ),
        ('{"description": {"contains": "knockout"}}', {"speed_trial"}),
    ],
)
def test_metadata_filter(
    run: RunFn, registry: Path, metadata_filter: str, expected: set[str]
) -> None:
    assert names(run, registry, "--filter", metadata_filter) == expected


def test_filter_and_where_combine(run: RunFn, registry: Path) -> None:
    assert names(
        run, registry, "--filter", '{"tags": ["tournament"]}', "--where", "performance.runs > 100"
    ) == {"tournament_basic"}


def test_json_rows_say_what_and_where(run: RunFn, registry: Path) -> None:
    done = run(
        "pattern", "discover", "--capability", "timeout_handling", "--json", "--registry", registry
    )
    (row,) = done.json()
    blob = git(registry, "rev-parse", "HEAD:orchestrations/adaptive_tournament_v2.yaml").strip()
    assert row["name"] == "adaptive_tournament_v2"
    assert row["kind"] == "orchestration"
    assert row["version"] == "2.1.0"
    assert row["path"] == "orchestrations/adaptive_tournament_v2.yaml"
    assert row["blob"] == blob
    assert row["refs"] == ["HEAD"]
    assert "timeout_handling" in row["capabilities"]
    assert "tournament" in row["tags"]
    assert list(row) == [field.name for field in fields(Found)]
    assert done.stderr == ""


def test_piped_table_has_plain_columns(run: RunFn, registry: Path) -> None:
    done = run("pattern", "discover", "--tag", "tournament", "--registry", registry)
    assert done.exit_code == 0, done
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "VERSION", "TAGS", "DESCRIPTION"]
    assert [line.split()[0] for line in lines[1:]] == [
        "adaptive_tournament_v2",
        "speed_trial",
        "tournament_basic",
    ]
    assert "\x1b[" not in done.stdout


def test_nothing_found_is_not_an_error(run: RunFn, registry: Path) -> None:
    done = run("pattern", "discover", "--tag", "nonexistent", "--registry", registry)
    assert done.exit_code == 0
    assert done.stdout == ""
    assert "No documents match" in done.stderr
    assert names(run, registry, "--tag", "nonexistent") == set()


def test_a_field_no_document_has_gets_a_warning(run: RunFn, registry: Path) -> None:
    done = run(
        "pattern",
        "discover",
        "--where",
        "performance.avg_scor > 0.5",
        "--json",
        "--registry",
        registry,
    )
    assert done.exit_code == 0, done
    assert done.json() == []
    assert "no document at HEAD has the field 'performance.avg_scor'" in done.stderr


def test_a_field_some_documents_lack_is_silent(run: RunFn, registry: Path) -> None:
    done = run(
        "pattern", "discover", "--where", "complexity == low", "--json", "--registry", registry
    )
    assert {row["name"] for row in done.json()} == {"speed_trial"}
    assert done.stderr == ""
    # found in a document that another filter already left out: still no warning
    done = run(
        "pattern",
        "discover",
        "--tag",
        "consensus",
        "--where",
        "complexity == low",
        "--json",
        "--registry",
        registry,
    )
    assert done.json() == []
    assert done.stderr == ""


def test_an_unreadable_document_is_skipped_with_a_warning(run: RunFn, registry: Path) -> None:
    (registry / "orchestrations" / "broken.yaml").write_text("name: broken\n  bad: [\n")
    commit_all(registry, "a broken file")
    done = run("pattern", "discover", "--tag", "tournament", "--json", "--registry", registry)
    assert done.exit_code == 0, done
    assert len(done.json()) == 3
    assert "warning: skipped orchestrations/broken.yaml:" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--where", "performance.avg_score > high"],
        ["--where", "performance.avg_score >= [1, 2]"],
        ["--where", "performance.avg_score"],
        ["--where", "performance.avg_score ~ 0.7"],
        ["--where", "performance.avg_score => 0.7"],
        ["--where", "performance.avg_score = 0.7"],
        ["--where", "performance.avg_score is 0.7"],
        ["--where", "> 0.7"],
        ["--where", ""],
        ["--where", "a..b == 1"],
        ["--where", "type in orchestration"],
        ["--where", "lineage.parent exists yes"],
        ["--where", "tags contains"],
        ["--where", "tags contains [unclosed"],
        ["--where", "performance.avg_score == high"],  # a number field compared with text
        ["--where", "performance.runs in [many, few]"],
        ["--filter", "{bad json"],
        ["--filter", "[1, 2]"],
        ["--filter", '{"performance.avg_score": {"~": 1}}'],
        ["--filter", '{"performance.avg_score": {">": "high"}}'],
        ["--filter", '{"performance.avg_score": {}}'],
        ["--filter", '{"lineage.parent": {"exists": "yes"}}'],
        ["--filter", '{"performance.runs": "many"}'],
        ["--type", "decision-log"],
        ["--ref", "main", "--all-branches"],
        ["--ref", "no-such-branch"],
    ],
)
def test_bad_filters_are_one_line_and_exit_2(run: RunFn, registry: Path, args: list[str]) -> None:
    done = run("pattern", "discover", *args, "--registry", registry)
    assert done.exit_code == 2, done
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done
    assert lines[0].startswith("ksi: error: ")
    assert "Traceback" not in done.stderr


def test_bad_filter_messages_say_what_is_wrong(run: RunFn, registry: Path) -> None:
    def error(*args: str) -> str:
        return run("pattern", "discover", *args, "--registry", registry).stderr

    assert "'>' compares numbers or ISO dates, and 'high' is neither" in error(
        "--where", "performance.avg_score > high"
    )
    assert "unknown operator '~'" in error("--where", "performance.avg_score ~ 1")
    assert "holds numbers" in error("--where", "performance.avg_score == high")
    assert "not valid JSON" in error("--filter", "{bad")


def test_ref_and_all_branches_with_a_fork(run: RunFn, registry: Path) -> None:
    forked = run(
        "pattern",
        "fork",
        "adaptive_tournament_v2",
        "--as",
        "tournament_swiss",
        "--reason",
        "Swiss pairing",
        "--no-switch",
        "--registry",
        registry,
    )
    assert forked.exit_code == 0, forked
    # after the fork, main changes adaptive_tournament_v2: the two branches now hold two blobs
    path = registry / "orchestrations" / "adaptive_tournament_v2.yaml"
    path.write_text(path.read_text().replace("runs: 47", "runs: 48"))
    commit_all(registry, "one more run")

    assert "tournament_swiss" not in names(run, registry, "--tag", "tournament")
    assert "tournament_swiss" in names(
        run, registry, "--tag", "tournament", "--ref", "fork/tournament_swiss"
    )
    done = run(
        "pattern",
        "discover",
        "--tag",
        "tournament",
        "--all-branches",
        "--json",
        "--registry",
        registry,
    )
    assert done.exit_code == 0, done
    rows = done.json()
    where = {(row["name"], tuple(row["refs"])) for row in rows}
    assert where == {
        ("adaptive_tournament_v2", ("main",)),
        ("adaptive_tournament_v2", ("fork/tournament_swiss",)),
        ("tournament_basic", ("main", "fork/tournament_swiss")),  # one blob, shown once
        ("speed_trial", ("main", "fork/tournament_swiss")),
        ("tournament_swiss", ("fork/tournament_swiss",)),
    }
    assert len({row["blob"] for row in rows}) == len(rows)
    on_main = [r for r in rows if r["name"] == "adaptive_tournament_v2" and r["refs"] == ["main"]]
    assert on_main[0]["blob"] == git(registry, "rev-parse", f"main:{on_main[0]['path']}").strip()
    basic = next(row for row in rows if row["name"] == "tournament_basic")
    assert basic["locations"] == [
        {"ref": "main", "path": "orchestrations/tournament_basic.yaml"},
        {"ref": "fork/tournament_swiss", "path": "orchestrations/tournament_basic.yaml"},
    ]
    # the piped table says where, too
    table = run("pattern", "discover", "--tag", "tournament", "--all-branches", "-R", registry)
    header, *lines = table.stdout.splitlines()
    assert header.split()[:4] == ["NAME", "TYPE", "VERSION", "BRANCHES"]
    assert any(
        line.startswith("tournament_swiss") and "fork/tournament_swiss" in line for line in lines
    )
