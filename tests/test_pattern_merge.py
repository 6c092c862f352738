"""`ksi pattern merge`, `ksi registry merge` and the git merge driver, on real repositories."""

from __future__ import annotations

import difflib
import json
import subprocess
from pathlib import Path

import pytest

from conftest import CORPUS, RunFn, commit_all, git, head, snapshot
from ksi_patterns.documents.loading import load_plain

PATTERN = "orchestrations/adaptive_tournament_v2.yaml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _parents(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "rev-list", "--parents", "-n", "1", rev).split()[1:]


@pytest.fixture
def forked(registry_dir: Path, run: RunFn) -> Path:
    """adaptive_tournament_v2 forked as swiss; the fork lowered its timeout threshold on its
    branch, main recorded one more run of the parent meanwhile."""
    done = run(
        "pattern",
        "fork",
        "adaptive_tournament_v2",
        "--as",
        "swiss",
        "--reason",
        "swiss",
        "--registry",
        registry_dir,
    )
    assert done.exit_code == 0, done
    _edit(registry_dir / "orchestrations/swiss.yaml", "timeout_rate > 30%", "timeout_rate > 25%")
    commit_all(registry_dir, "swiss: react to timeouts earlier")
    git(registry_dir, "checkout", "-q", "main")
    _edit(registry_dir / PATTERN, "  runs: 47\n", "  runs: 48\n")
    commit_all(registry_dir, "v2: one more run")
    return registry_dir


def test_clean_merge_is_a_two_parent_commit_with_both_edits(forked: Path, run: RunFn) -> None:
    main_before = head(forked)
    fork_tip = git(forked, "rev-parse", "fork/swiss").strip()
    done = run("pattern", "merge", "swiss", "--registry", forked)
    assert done.exit_code == 0, done
    assert _parents(forked) == [main_before, fork_tip]
    assert git(forked, "status", "--porcelain") == ""
    family = run("pattern", "lineage", "--json", "--registry", forked).json()
    (basic,) = [node for node in family if node["name"] == "tournament_basic"]
    (v2,) = [node for node in basic["children"] if node["name"] == "adaptive_tournament_v2"]
    assert [child["merged_into_parent"] != [] for child in v2["children"]] == [True]
    text = (forked / PATTERN).read_text()
    data = load_plain(text, PATTERN)
    assert "IF timeout_rate > 25%:" in data["orchestration_logic"]["strategy"]  # theirs
    assert data["performance"]["runs"] == 48  # ours
    assert data["performance"]["avg_score"] == 0.82  # the fork's own figures are not merged
    assert data["name"] == "adaptive_tournament_v2"  # identity stays the parent's
    assert data["lineage"]["parent"] == "tournament_basic@2.0.0"
    (entry,) = data["lineage"]["merges"]
    assert entry["from"] == "swiss@2.1.0" and entry["commit"] == fork_tip
    # Only the two edited lines and the new merges entry differ from the parent before.
    before = git(forked, "show", f"{main_before}:{PATTERN}").splitlines()
    changed = [line for line in text.splitlines() if line not in before]
    assert [
        line
        for line in changed
        if "merges" not in line
        and "from:" not in line
        and "commit:" not in line
        and "date:" not in line
    ] == ["      IF timeout_rate > 25%:"]


def test_a_second_merge_brings_only_what_is_new_since_the_first(forked: Path, run: RunFn) -> None:
    assert run("pattern", "merge", "swiss", "--registry", forked).exit_code == 0
    # Main changes a value the first merge brought in; the fork improves something else.
    _edit(forked / PATTERN, "timeout_rate > 25%", "timeout_rate > 20%")
    commit_all(forked, "v2: even earlier")
    git(forked, "checkout", "-q", "fork/swiss")
    _edit(forked / "orchestrations/swiss.yaml", "author: orchestrator_7f3e", "author: swiss_team")
    commit_all(forked, "swiss: new author")
    git(forked, "checkout", "-q", "main")
    done = run("pattern", "merge", "swiss", "--json", "--registry", forked)
    assert done.exit_code == 0, done
    assert done.json()["conflicts"] == []
    data = load_plain((forked / PATTERN).read_bytes(), PATTERN)
    assert "IF timeout_rate > 20%:" in data["orchestration_logic"]["strategy"]  # main's, kept
    assert data["author"] == "swiss_team"  # the fork's new change arrives
    assert len(data["lineage"]["merges"]) == 2
    again = run("pattern", "merge", "swiss", "--registry", forked)
    assert again.exit_code == 0 and "Already up to date" in again.stdout
    assert len(_parents(forked)) == 2


def test_dry_run_writes_nothing(forked: Path, run: RunFn) -> None:
    before = (head(forked), snapshot(forked))
    done = run("pattern", "merge", "swiss", "--dry-run", "--json", "--registry", forked)
    assert done.exit_code == 0, done
    report = done.json()
    assert report["clean"] and report["dry_run"] and report["commit"] is None
    assert report["changed"] == [PATTERN]
    assert (head(forked), snapshot(forked)) == before


@pytest.fixture
def conflicting(forked: Path) -> Path:
    """Both sides now also change the author, differently."""
    git(forked, "checkout", "-q", "fork/swiss")
    _edit(forked / "orchestrations/swiss.yaml", "author: orchestrator_7f3e", "author: swiss_team")
    commit_all(forked, "swiss: author")
    git(forked, "checkout", "-q", "main")
    _edit(forked / PATTERN, "author: orchestrator_7f3e", "author: main_team")
    commit_all(forked, "v2: author")
    return forked


def test_conflict_stops_with_markers_then_continue(conflicting: Path, run: RunFn) -> None:
    main_before = head(conflicting)
    done = run("pattern", "merge", "swiss", "--json", "--registry", conflicting)
    assert done.exit_code == 1, done
    (conflict,) = done.json()["conflicts"]
    assert conflict["path"] == "author"
    assert (conflict["base"], conflict["ours"], conflict["theirs"]) == (
        "orchestrator_7f3e",
        "main_team",
        "swiss_team",
    )
    assert head(conflicting) == main_before
    text = (conflicting / PATTERN).read_text()
    assert "<<<<<<< main" in text and ">>>>>>> fork swiss" in text
    assert "IF timeout_rate > 25%:" in text  # the clean part of the merge is there already
    # Another merge may not start meanwhile; --continue refuses while markers remain.
    again = run("pattern", "merge", "swiss", "--registry", conflicting)
    assert again.exit_code == 2 and "in progress" in again.stderr
    early = run("pattern", "merge", "--continue", "--registry", conflicting)
    assert early.exit_code == 2 and "conflict markers are still there" in early.stderr
    resolved = []
    skip = False
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<<") or line.startswith("|||||||"):
            skip = line.startswith("|||||||")
            continue
        if line.startswith("======="):
            skip = True
            continue
        if line.startswith(">>>>>>>"):
            skip = False
            continue
        if not skip:
            resolved.append(line)
    (conflicting / PATTERN).write_text("".join(resolved))  # ours: main_team
    finished = run("pattern", "merge", "--continue", "--registry", conflicting)
    assert finished.exit_code == 0, finished
    assert _parents(conflicting) == [
        main_before,
        git(conflicting, "rev-parse", "fork/swiss").strip(),
    ]
    data = load_plain((conflicting / PATTERN).read_bytes(), PATTERN)
    assert data["author"] == "main_team"
    assert "IF timeout_rate > 25%:" in data["orchestration_logic"]["strategy"]
    assert data["lineage"]["merges"][0]["from"] == "swiss@2.1.0"
    assert git(conflicting, "status", "--porcelain") == ""
    # A merge finished with --continue is announced like one that needed no help.
    log = (conflicting / ".git" / "ksi" / "events.jsonl").read_text().splitlines()
    announced = [json.loads(line) for line in log if '"composition:merged"' in line]
    assert announced[-1]["data"]["commit"] == head(conflicting)
    assert announced[-1]["data"]["fork"] == "swiss"


def test_abort_puts_the_file_back(conflicting: Path, run: RunFn) -> None:
    before = snapshot(conflicting)
    assert run("pattern", "merge", "swiss", "--registry", conflicting).exit_code == 1
    done = run("pattern", "merge", "--abort", "--registry", conflicting)
    assert done.exit_code == 0, done
    assert snapshot(conflicting) == before
    assert git(conflicting, "status", "--porcelain") == ""
    assert run("pattern", "merge", "--continue", "--registry", conflicting).exit_code == 2


@pytest.mark.parametrize(("side", "expected"), [("ours", "main_team"), ("theirs", "swiss_team")])
def test_resolve_settles_every_conflict_one_way(
    conflicting: Path, run: RunFn, side: str, expected: str
) -> None:
    done = run("pattern", "merge", "swiss", "--resolve", side, "--registry", conflicting)
    assert done.exit_code == 0, done
    data = load_plain((conflicting / PATTERN).read_bytes(), PATTERN)
    assert data["author"] == expected
    assert "IF timeout_rate > 25%:" in data["orchestration_logic"]["strategy"]
    assert len(_parents(conflicting)) == 2


def test_registry_merge_unions_decision_logs_and_merges_patterns(
    registry_dir: Path, run: RunFn
) -> None:
    log = "orchestrations/adaptive_tournament_v2_decisions.yaml"
    git(registry_dir, "checkout", "-q", "-b", "team")
    with (registry_dir / log).open("a") as out:
        out.write("  - id: 01JTEAMAAAAAAAAAAAAAAAAAAA\n    decision: team_choice\n")
    _edit(registry_dir / PATTERN, "success_rate: 0.93", "success_rate: 0.95")
    commit_all(registry_dir, "team: decision and success rate")
    git(registry_dir, "checkout", "-q", "main")
    with (registry_dir / log).open("a") as out:
        out.write("  - id: 01JMAINAAAAAAAAAAAAAAAAAAA\n    decision: main_choice\n")
    _edit(registry_dir / PATTERN, "  runs: 47\n", "  runs: 50\n")
    commit_all(registry_dir, "main: decision and runs")
    main_before = head(registry_dir)
    done = run("registry", "merge", "team", "--registry", registry_dir)
    assert done.exit_code == 0, done
    assert _parents(registry_dir)[0] == main_before
    decisions = [entry["decision"] for entry in load_plain((registry_dir / log).read_bytes(), log)]
    assert decisions[-2:] == ["main_choice", "team_choice"]
    data = load_plain((registry_dir / PATTERN).read_bytes(), PATTERN)
    assert (data["performance"]["runs"], data["performance"]["success_rate"]) == (50, 0.95)
    assert git(registry_dir, "status", "--porcelain") == ""


def test_plain_git_merge_uses_the_ksi_driver(registry_dir: Path) -> None:
    """`ksi registry init` registered the driver, so the real `git merge` merges structurally."""
    log = "orchestrations/adaptive_tournament_v2_decisions.yaml"
    assert "merge-driver" in git(registry_dir, "config", "merge.ksi.driver")
    git(registry_dir, "checkout", "-q", "-b", "other")
    with (registry_dir / log).open("a") as out:
        out.write("  - id: 01JOTHERAAAAAAAAAAAAAAAAAA\n    decision: other_choice\n")
    commit_all(registry_dir, "other decision")
    git(registry_dir, "checkout", "-q", "main")
    with (registry_dir / log).open("a") as out:
        out.write("  - id: 01JMAINBAAAAAAAAAAAAAAAAAA\n    decision: main_choice\n")
    commit_all(registry_dir, "main decision")
    # Both appended at the end of the same file: a line merge would conflict here.
    merged = subprocess.run(
        [
            "git",
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.org",
            "merge",
            "--no-edit",
            "other",
        ],
        cwd=registry_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert merged.returncode == 0, merged.stdout + merged.stderr
    decisions = [entry["decision"] for entry in load_plain((registry_dir / log).read_bytes(), log)]
    assert decisions[-2:] == ["main_choice", "other_choice"]
    assert len(_parents(registry_dir)) == 2


def _corpus_patterns() -> list[Path]:
    return (
        sorted(
            path
            for path in (CORPUS / "orchestrations").glob("*.yaml")
            if isinstance(load_plain(path.read_bytes(), path.name), dict)
        )
        if CORPUS.is_dir()
        else []
    )


def _replace_line(text: str, prefix: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    (index,) = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    lines[index] = new
    return "".join(lines)


def test_every_corpus_pattern_forks_and_merges_back_without_conflict(
    tmp_path: Path, run: RunFn, corpus: Path
) -> None:
    """Fork each real pattern, change `version` on the fork and `author` on the parent: the
    merge is clean, has both edits, and leaves every other line as it was."""
    registry = tmp_path / "imported"
    assert run("registry", "init", registry, "--empty").exit_code == 0
    assert run("registry", "import", corpus, "--registry", registry).exit_code == 0
    patterns = _corpus_patterns()
    assert len(patterns) >= 30
    for source in patterns:
        name = source.stem
        path = registry / f"orchestrations/{name}.yaml"
        original = path.read_text()
        fork_name = f"{name}_fork"
        done = run(
            "pattern",
            "fork",
            name,
            "--as",
            fork_name,
            "--reason",
            "corpus test",
            "--registry",
            registry,
        )
        assert done.exit_code == 0, done
        fork_file = registry / f"orchestrations/{fork_name}.yaml"
        fork_file.write_text(_replace_line(fork_file.read_text(), "version:", "version: 9.9.9\n"))
        commit_all(registry, f"{fork_name}: version")
        git(registry, "checkout", "-q", "main")
        path.write_text(_replace_line(original, "author:", "author: edited_on_main\n"))
        commit_all(registry, f"{name}: author")
        merged = run("pattern", "merge", fork_name, "--json", "--registry", registry)
        assert merged.exit_code == 0, merged
        assert merged.json()["conflicts"] == [], name
        result = path.read_text()
        data = load_plain(result, name)
        assert (data["version"], data["author"]) == ("9.9.9", "edited_on_main"), name
        expected = _replace_line(
            _replace_line(original, "author:", "author: edited_on_main\n"),
            "version:",
            "version: 9.9.9\n",
        )
        # Everything else is byte-identical: the expected text plus the merge record, in order.
        ours_lines = expected.splitlines(keepends=True)
        result_lines = result.splitlines(keepends=True)
        matcher = difflib.SequenceMatcher(None, ours_lines, result_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            assert tag == "insert", (name, tag, ours_lines[i1:i2], result_lines[j1:j2])
            inserted = result_lines[j1:j2]
            assert all(
                any(key in line for key in ("lineage:", "merges:", "from:", "commit:", "date:"))
                for line in inserted
            ), (name, inserted)


def test_registry_merge_sends_cleanly_line_merged_yaml_through_the_engine(
    registry_dir: Path, run: RunFn
) -> None:
    """Both sides add the same key at different places: git's line merge is clean but the file
    would hold a duplicate key; the engine sees one key added twice with different values."""
    git(registry_dir, "checkout", "-q", "-b", "team")
    _edit(registry_dir / PATTERN, "performance:\n", "performance:\n  owner: team\n")
    commit_all(registry_dir, "team: owner")
    git(registry_dir, "checkout", "-q", "main")
    _edit(registry_dir / PATTERN, "  success_rate: 0.93\n", "  success_rate: 0.93\n  owner: main\n")
    commit_all(registry_dir, "main: owner")
    done = run("registry", "merge", "team", "--json", "--registry", registry_dir)
    assert done.exit_code == 1, done
    (conflict,) = done.json()["conflicts"]
    assert (conflict["path"], conflict["kind"]) == ("performance.owner", "both-added")
