"""`ksi pattern fork`, `lineage` and `log` on real registries."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from conftest import RunFn, git, head, snapshot
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.errors import ConflictError
from ksi_patterns.lineage.forks import fork
from ksi_patterns.registry.registry import open_registry


def test_fork_commits_a_renamed_copy_with_lineage_on_its_branch(
    registry_dir: Path, run: RunFn
) -> None:
    parent_commit = head(registry_dir)
    done = run(
        "pattern",
        "fork",
        "adaptive_tournament_v2",
        "--as",
        "tournament_swiss",
        "--reason",
        "Swiss pairing",
        "--author",
        "orchestrator_1",
        "--registry",
        registry_dir,
    )
    assert done.exit_code == 0, done
    assert git(registry_dir, "branch", "--show-current").strip() == "fork/tournament_swiss"
    assert git(registry_dir, "status", "--porcelain") == ""
    fork_text = git(
        registry_dir, "show", "fork/tournament_swiss:orchestrations/tournament_swiss.yaml"
    )
    data = load_plain(fork_text, "fork")
    assert data["name"] == "tournament_swiss"
    assert data["lineage"]["parent"] == "adaptive_tournament_v2@2.1.0"
    assert data["lineage"]["parent_commit"] == parent_commit
    assert data["lineage"]["fork_reason"] == "Swiss pairing"
    assert data["lineage"]["fork_author"] == "orchestrator_1"
    assert data["lineage"]["improvements"] == []
    assert data["lineage"]["fork_date"].endswith("Z")
    # The lineage block sits in the frontmatter, before the body of the pattern.
    keys = list(data)
    assert keys.index("lineage") < keys.index("orchestration_logic")
    # Everything but name, lineage and performance is the parent's...
    parent = load_plain(
        (registry_dir / "orchestrations/adaptive_tournament_v2.yaml").read_bytes(), "p"
    )
    for key in set(parent) - {"name", "lineage", "performance"}:
        assert data[key] == parent[key], key
    # ...but it is measured on its own runs, not the parent's.
    assert data["performance"] == {"runs": 0}
    assert git(registry_dir, "rev-parse", "fork/tournament_swiss~1").strip() == parent_commit


def test_fork_set_applies_modifications_in_the_same_commit(
    registry_dir: Path, run: RunFn, tmp_path: Path
) -> None:
    strategy = tmp_path / "strategy.txt"
    strategy.write_text('WHEN started:\n  EMIT "swiss:pair" WITH {rounds: 5}\n')
    done = run(
        "pattern",
        "fork",
        "tournament_basic",
        "--as",
        "tb_swiss",
        "--reason",
        "swiss",
        "--set",
        f"orchestration_logic.strategy=@{strategy}",
        "--set",
        "performance.runs=0",
        "--set",
        "metadata.tags=[swiss, tournament]",
        "--no-switch",
        "--registry",
        registry_dir,
    )
    assert done.exit_code == 0, done
    assert git(registry_dir, "branch", "--show-current").strip() == "main"
    assert git(registry_dir, "rev-list", "--count", "main..fork/tb_swiss").strip() == "1"
    text = git(registry_dir, "show", "fork/tb_swiss:orchestrations/tb_swiss.yaml")
    data = load_plain(text, "fork")
    assert data["orchestration_logic"]["strategy"] == strategy.read_text()
    assert "  strategy: |" in text  # multi-line text stays a block scalar
    assert data["performance"]["runs"] == 0
    assert data["metadata"]["tags"] == ["swiss", "tournament"]


def test_fork_stays_when_the_working_tree_is_dirty(registry_dir: Path, run: RunFn) -> None:
    (registry_dir / "orchestrations" / "tournament_basic.yaml").write_text("name: edited\n")
    done = run(
        "pattern",
        "fork",
        "tournament_basic",
        "--as",
        "tb2",
        "--reason",
        "r",
        "--registry",
        registry_dir,
    )
    assert done.exit_code == 0, done
    assert "stayed on the current branch" in done.stderr
    assert git(registry_dir, "branch", "--show-current").strip() == "main"
    assert (
        registry_dir / "orchestrations" / "tournament_basic.yaml"
    ).read_text() == "name: edited\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tournament_basic", "--as", "adaptive_pipeline"], "already exists"),
        (["no_such_pattern", "--as", "x1"], "no pattern or profile named 'no_such_pattern'"),
        (["tournament_basic", "--as", "../evil"], "invalid pattern name"),
        (["tournament_basic", "--as", "Bad Name"], "invalid pattern name"),
        (["tournament_basic", "--as", "x2", "--set", "novalue"], "expected PATH=VALUE"),
        (["tournament_basic", "--as", "x3", "--set", "version.deeper=1"], "is not a mapping"),
        (["tournament_basic", "--as", "x4", "--set", "name=other"], "the fork sets it"),
    ],
)
def test_fork_refuses_bad_requests_and_writes_nothing(
    registry_dir: Path, run: RunFn, args: list[str], message: str
) -> None:
    before = (head(registry_dir), git(registry_dir, "branch", "--list"), snapshot(registry_dir))
    done = run("pattern", "fork", *args, "--reason", "r", "--registry", registry_dir)
    assert done.exit_code == 2, done
    assert message in done.stderr
    assert "Traceback" not in done.output
    assert (
        head(registry_dir),
        git(registry_dir, "branch", "--list"),
        snapshot(registry_dir),
    ) == before


def _race(registry: str, name: str, queue: multiprocessing.Queue[str]) -> None:
    try:
        fork(open_registry(registry), "tournament_basic", name, reason="race", switch=False)
        queue.put("won")
    except ConflictError as err:
        queue.put(f"lost: {err.message}")


def test_two_forks_racing_for_one_name_one_wins(registry_dir: Path) -> None:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = context.Queue()
    racers = [
        context.Process(target=_race, args=(str(registry_dir), "contested", queue))
        for _ in range(4)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    outcomes = sorted(queue.get(timeout=5) for _ in racers)
    assert outcomes.count("won") == 1, outcomes
    assert all("already exists" in outcome for outcome in outcomes if outcome != "won")
    assert git(registry_dir, "rev-list", "--count", "main..fork/contested").strip() == "1"


def test_lineage_tree_shows_parents_forks_and_branches(registry_dir: Path, run: RunFn) -> None:
    run(
        "pattern",
        "fork",
        "adaptive_tournament_v2",
        "--as",
        "swiss",
        "--reason",
        "r",
        "--no-switch",
        "--registry",
        registry_dir,
    )
    tree = run("pattern", "lineage", "--json", "--registry", registry_dir)
    assert tree.exit_code == 0, tree
    roots = {node["name"]: node for node in tree.json()}
    basic = roots["tournament_basic"]
    (v2,) = basic["children"]
    assert v2["name"] == "adaptive_tournament_v2" and v2["version"] == "2.1.0"
    (swiss,) = v2["children"]
    assert swiss["name"] == "swiss" and swiss["where"] == "fork/swiss"
    assert "adaptive_pipeline" in roots and roots["adaptive_pipeline"]["children"] == []
    text = run("pattern", "lineage", "swiss", "--registry", registry_dir)
    lines = text.stdout.splitlines()
    assert lines[0].startswith("tournament_basic")
    assert any("swiss" in line and "on fork/swiss" in line for line in lines)
    assert not any(line.startswith("consensus_builder") for line in lines)


def test_log_lists_the_commits_that_touched_a_pattern(registry_dir: Path, run: RunFn) -> None:
    run("pattern", "release", "tournament_basic", "--bump", "patch", "--registry", registry_dir)
    run("pattern", "release", "consensus_builder", "--bump", "patch", "--registry", registry_dir)
    done = run("pattern", "log", "tournament_basic", "--json", "--registry", registry_dir)
    messages = [entry["message"].splitlines()[0] for entry in done.json()]
    assert messages == [
        "release(tournament_basic): 2.0.1",
        "Initial registry: starter patterns and profiles",
    ]
