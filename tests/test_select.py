"""`ksi pattern select`: requirements, then a ranking whose right answer is plain to a person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import RunFn, commit_all

TWIN = """\
name: {name}
type: orchestration
version: 1.0.0
description: Translate legal contracts into plain-language summaries, clause by clause.
orchestration_logic:
  description: One drafter per clause, one reviewer for the whole summary.
  strategy: |
    WHEN contract_received:
      SPAWN drafter WITH profile: "base_multi_agent"
performance:
  runs: {runs}
  avg_score: {score}
  success_rate: 0.9
metadata:
  tags: [legal, summarization]
  capabilities_required: [agent:spawn]
  use_cases:
    - Summarize contracts for readers who are not lawyers
"""
PIPELINE_TASK = "Process a large data set in several stages: clean, transform and validate it"


@pytest.fixture
def registry(registry_dir: Path) -> Path:
    """The starter registry plus two patterns alike in text: 2 runs at 0.99 and 47 at 0.85."""
    folder = registry_dir / "orchestrations"
    (folder / "contract_lucky.yaml").write_text(
        TWIN.format(name="contract_lucky", runs=2, score=0.99)
    )
    (folder / "contract_steady.yaml").write_text(
        TWIN.format(name="contract_steady", runs=47, score=0.85)
    )
    commit_all(registry_dir, "two contract patterns")
    return registry_dir


def select(run: RunFn, registry: Path, task: str, *args: str) -> dict[str, Any]:
    done = run("pattern", "select", "--task", task, *args, "--json", "--registry", registry)
    assert done.exit_code == 0, done
    result: dict[str, Any] = done.json()
    return result


def ranked(run: RunFn, registry: Path, task: str, *args: str) -> list[str]:
    return [row["name"] for row in select(run, registry, task, *args)["results"]]


def test_competitive_evaluation_picks_a_tournament(run: RunFn, registry: Path) -> None:
    names = ranked(run, registry, "Evaluate 15 prompts competitively")
    assert names[0] in {"adaptive_tournament_v2", "tournament_basic"}
    assert set(names[:2]) == {"adaptive_tournament_v2", "tournament_basic"}


def test_require_timeout_handling_keeps_only_patterns_with_it(run: RunFn, registry: Path) -> None:
    result = select(
        run, registry, "Evaluate 15 prompts competitively", "--require", "timeout_handling"
    )
    assert [row["name"] for row in result["results"]] == ["adaptive_tournament_v2"]
    assert result["requirements"] == ["timeout_handling"]
    assert result["eligible"] == 1
    assert result["candidates"] == 6


def test_consensus_task_picks_consensus_builder(run: RunFn, registry: Path) -> None:
    assert ranked(run, registry, "build consensus among reviewers")[0] == "consensus_builder"


def test_multi_stage_data_task_picks_the_pipeline(run: RunFn, registry: Path) -> None:
    assert ranked(run, registry, PIPELINE_TASK)[0] == "adaptive_pipeline"


def test_few_lucky_runs_do_not_beat_many_good_ones(run: RunFn, registry: Path) -> None:
    result = select(run, registry, "Summarize legal contracts in plain language")
    lucky, steady = (
        next(row for row in result["results"] if row["name"] == name)
        for name in ("contract_lucky", "contract_steady")
    )
    # same text, so the same relevance: the figures decide
    assert lucky["components"]["relevance"] == steady["components"]["relevance"]
    assert [row["name"] for row in result["results"][:2]] == ["contract_steady", "contract_lucky"]
    assert (
        steady["components"]["performance"]["value"] > lucky["components"]["performance"]["value"]
    )
    assert steady["score"] > lucky["score"]


def test_every_result_explains_its_score(run: RunFn, registry: Path) -> None:
    result = select(run, registry, "Evaluate 15 prompts competitively")
    assert result["terms"] == ["evaluat", "prompt", "competit"]
    for row in result["results"]:
        components = row["components"]
        assert set(components) == {"relevance", "performance", "success", "freshness"}
        total = sum(part["weight"] * part["value"] for part in components.values())
        assert row["score"] == pytest.approx(total, abs=1e-3)
        assert sum(part["weight"] for part in components.values()) == pytest.approx(1.0)
        assert 0 <= row["score"] <= 1
        assert "relevance" in row["explanation"] and "performance" in row["explanation"]
    best = result["results"][0]["components"]
    assert best["relevance"]["matched_terms"]
    assert best["performance"]["prior_runs"] == 10


def test_explain_shows_the_components(run: RunFn, registry: Path) -> None:
    done = run(
        "pattern",
        "select",
        "--task",
        "Evaluate 15 prompts competitively",
        "--require",
        "timeout_handling",
        "--explain",
        "--registry",
        registry,
    )
    assert done.exit_code == 0, done
    lines = done.stdout.splitlines()
    assert lines[0].startswith("1. adaptive_tournament_v2  score ")
    text = done.stdout
    assert "relevance" in text and "BM25" in text and "terms matched: evaluat" in text
    assert "avg_score 0.82 over 47 runs, shrunk toward the mean" in text
    assert "success_rate 0.93 over 47 runs" in text
    assert "lineage date 2025-07-10T15:30:00Z" in text


def test_piped_table(run: RunFn, registry: Path) -> None:
    done = run("pattern", "select", "--task", "build consensus", "--registry", registry)
    header, first, *_ = done.stdout.splitlines()
    assert header.split() == [
        "RANK",
        "NAME",
        "SCORE",
        "RELEVANCE",
        "PERFORMANCE",
        "SUCCESS",
        "FRESHNESS",
    ]
    assert first.split()[:2] == ["1", "consensus_builder"]


def test_only_orchestrations_are_candidates(run: RunFn, registry: Path) -> None:
    # base_orchestrator (a profile) "discovers and selects orchestration patterns"
    result = select(run, registry, "discover and select orchestration patterns, interpret DSL")
    assert "base_orchestrator" not in [row["name"] for row in result["results"]]
    assert result["candidates"] == 6


def test_same_input_same_output_and_ties_go_to_the_name(run: RunFn, registry: Path) -> None:
    folder = registry / "orchestrations"
    for name in ("tie_bravo", "tie_alpha"):
        (folder / f"{name}.yaml").write_text(TWIN.format(name=name, runs=10, score=0.8))
    commit_all(registry, "two identical patterns")
    first = select(run, registry, "legal contracts", "--top", "10")
    assert first == select(run, registry, "legal contracts", "--top", "10")
    scores = {row["name"]: row["score"] for row in first["results"]}
    assert scores["tie_alpha"] == scores["tie_bravo"]
    names = [row["name"] for row in first["results"]]
    assert names.index("tie_alpha") + 1 == names.index("tie_bravo")


def test_top_limits_the_results(run: RunFn, registry: Path) -> None:
    assert len(ranked(run, registry, PIPELINE_TASK, "--top", "1")) == 1
    assert [r["rank"] for r in select(run, registry, PIPELINE_TASK, "--top", "3")["results"]] == [
        1,
        2,
        3,
    ]


def test_requirements_on_tags_and_fields(run: RunFn, registry: Path) -> None:
    task = "Evaluate 15 prompts competitively"
    assert ranked(run, registry, task, "--require", "consensus") == ["consensus_builder"]
    assert ranked(run, registry, task, "--require", "tags=legal", "--top", "9") == [
        "contract_steady",
        "contract_lucky",
    ]
    assert ranked(run, registry, task, "--require", "selection_criteria.max_participants=64") == [
        "adaptive_tournament_v2"
    ]
    assert ranked(run, registry, task, "--require", "lineage.parent") == ["adaptive_tournament_v2"]
    assert ranked(run, registry, task, "--require", "timeout_handling=true") == [
        "adaptive_tournament_v2"
    ]
    # all requirements must hold
    assert ranked(
        run, registry, task, "--require", "agent:spawn", "--require", "state:checkpoint"
    ) == ["adaptive_pipeline"]


def test_no_pattern_meets_the_requirements(run: RunFn, registry: Path) -> None:
    done = run(
        "pattern",
        "select",
        "--task",
        "anything",
        "--require",
        "teleportation",
        "--json",
        "--registry",
        registry,
    )
    assert done.exit_code == 0, done
    assert done.json()["results"] == []
    assert "no pattern meets --require 'teleportation'" in done.stderr


def test_a_task_matching_no_pattern_ranks_on_figures(run: RunFn, registry: Path) -> None:
    done = run("pattern", "select", "--task", "zyxwv qqq", "--json", "--registry", registry)
    assert done.exit_code == 0, done
    results = done.json()["results"]
    assert len(results) == 5
    assert all(row["components"]["relevance"]["value"] == 0 for row in results)
    assert "no eligible pattern mentions a word of the task" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--task", ""],
        ["--task", "x", "--top", "0"],
        ["--task", "x", "--require", "=x"],
        ["--task", "x", "--require", "runs="],
        ["--task", "x", "--require", "performance.runs=many"],
        ["--task", "x", "--ref", "no-such-branch"],
    ],
)
def test_bad_requests_are_one_line_and_exit_2(run: RunFn, registry: Path, args: list[str]) -> None:
    done = run("pattern", "select", *args, "--registry", registry)
    assert done.exit_code == 2, done
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("ksi: error: ")
