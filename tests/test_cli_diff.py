"""`ksi pattern diff` on real registries, through the CLI (in-process via main())."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import Run, RunFn, commit_all, git

FORK = "tournament_swiss"
PARENT = "adaptive_tournament_v2"
FORK_FILE = f"orchestrations/{FORK}.yaml"
KINDS = {"added", "removed", "changed", "type_changed", "moved"}


def edit(path: Path, *replacements: tuple[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")


# Three edits a user would make to a fork of adaptive_tournament_v2.
EDITS = (
    # (the strategy is a `|` block indented by 4 in the file)
    (
        "      IF timeout_rate > 30%:\n",
        '      IF timeout_rate > 25%:\n        EMIT "evaluation:swiss"\n',
    ),
    ("    confidence: 0.92\n", "    confidence: 0.95\n"),
    ("    - ranking\n", "    - ranking\n    - swiss\n"),
)


@pytest.fixture
def forked(run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tournament_swiss forked from adaptive_tournament_v2, edited and committed on its branch."""
    monkeypatch.chdir(registry_dir)
    done = run("pattern", "fork", PARENT, "--as", FORK, "--reason", "Swiss pairing")
    assert done.exit_code == 0, done
    edit(registry_dir / FORK_FILE, *EDITS)
    commit_all(registry_dir, "swiss pairing")
    return registry_dir


def ok(done: Run, code: int = 0) -> Run:
    assert done.exit_code == code, done
    return done


def paths(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(record["path"], record["kind"]) for record in records]


# -- one operand: a fork against its parent ------------------------------------------------------


def test_fork_against_its_parent_shows_exactly_the_edits(run: RunFn, forked: Path) -> None:
    records = ok(run("pattern", "diff", FORK, "--json")).json()
    assert paths(records) == [
        ("orchestration_logic.strategy", "changed"),
        ("learnings[1].confidence", "changed"),
        ("metadata.tags[5]", "added"),
    ]
    assert records[1] == {
        "path": "learnings[1].confidence",
        "kind": "changed",
        "old": 0.92,
        "new": 0.95,
    }
    assert records[2]["new"] == "swiss"
    assert 'EMIT "evaluation:swiss"' in records[0]["new"]
    assert 'EMIT "evaluation:swiss"' not in records[0]["old"]


def test_name_and_lineage_are_hidden_with_a_note_and_shown_with_all(
    run: RunFn, forked: Path
) -> None:
    done = ok(run("pattern", "diff", FORK, "--json"))
    assert "hidden" in done.stderr and "--all" in done.stderr
    everything = ok(run("pattern", "diff", FORK, "--json", "--all")).json()
    tops = {record["path"].split(".")[0].split("[")[0] for record in everything}
    assert {"name", "lineage"} <= tops
    name = next(record for record in everything if record["path"] == "name")
    assert (name["old"], name["new"]) == (PARENT, FORK)
    assert len(everything) > 3


def test_human_output_groups_by_key_with_a_line_diff_of_the_strategy(
    run: RunFn, forked: Path
) -> None:
    out = ok(run("pattern", "diff", FORK)).stdout
    lines = out.splitlines()
    assert lines[0].startswith(f"--- {PARENT} at the fork point")
    assert lines[1].startswith(f"+++ {FORK}")
    assert "orchestration_logic:" in lines
    assert "  ~ strategy:" in lines
    assert "      -  IF timeout_rate > 30%:" in lines
    assert "      +  IF timeout_rate > 25%:" in lines
    assert '      +    EMIT "evaluation:swiss"' in lines
    assert any(line.startswith("      @@ ") for line in lines)
    assert "  ~ [1].confidence: 0.92 -> 0.95" in lines
    assert '  + tags[5]: "swiss"' in lines
    assert "\x1b[" not in out  # piped: no colour


def test_fork_is_found_on_its_branch_from_main(run: RunFn, forked: Path) -> None:
    git(forked, "checkout", "-q", "main")
    assert not (forked / FORK_FILE).exists()
    done = ok(run("pattern", "diff", FORK, "--json"))
    assert len(done.json()) == 3
    human = ok(run("pattern", "diff", FORK)).stdout
    assert f"at fork/{FORK} " in human.splitlines()[1]


def test_parent_edits_after_the_fork_are_not_the_forks(run: RunFn, forked: Path) -> None:
    git(forked, "checkout", "-q", "main")
    edit(forked / f"orchestrations/{PARENT}.yaml", ("  runs: 47\n", "  runs: 50\n"))
    commit_all(forked, "parent moves on")
    assert len(ok(run("pattern", "diff", FORK, "--json")).json()) == 3


def test_fork_without_edits_has_no_differences(
    run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(registry_dir)
    ok(run("pattern", "fork", PARENT, "--as", FORK, "--reason", "r"))
    done = ok(run("pattern", "diff", FORK, "--exit-code"))
    assert done.stdout == ""
    assert "No differences." in done.stderr


def test_document_without_lineage_parent_is_refused(run: RunFn, registry_dir: Path) -> None:
    done = ok(run("pattern", "diff", "tournament_basic", "-R", registry_dir), 2)
    assert done.stderr.startswith("ksi: error: tournament_basic has no lineage parent")
    assert done.stderr.count("\n") == 1


def test_without_a_fork_point_the_parent_is_taken_at_its_tip_and_said_so(
    run: RunFn, registry_dir: Path
) -> None:
    # The starter adaptive_tournament_v2 records its parent without a commit: no fork point.
    done = ok(run("pattern", "diff", PARENT, "-R", registry_dir, "--json"))
    assert "tournament_basic at the current tip" in done.stderr
    assert done.json()


def test_without_a_fork_point_the_parents_release_is_preferred(
    run: RunFn, registry_dir: Path
) -> None:
    git(registry_dir, "tag", "tournament_basic@2.0.0")
    done = ok(run("pattern", "diff", PARENT, "-R", registry_dir, "--json"))
    assert "release tag tournament_basic@2.0.0" in done.stderr


def test_uncommitted_changes_are_mentioned(run: RunFn, forked: Path) -> None:
    edit(forked / FORK_FILE, ("author: orchestrator_7f3e\n", "author: someone_else\n"))
    done = ok(run("pattern", "diff", FORK, "--json"))
    assert "uncommitted changes" in done.stderr
    assert len(done.json()) == 3  # the committed version
    with_file = ok(run("pattern", "diff", FORK_FILE, "--json")).json()
    assert ("author", "changed") in paths(with_file)


# -- two operands --------------------------------------------------------------------------------


def test_release_against_a_later_edit(run: RunFn, registry_dir: Path) -> None:
    released = ok(
        run("pattern", "release", "tournament_basic", "--bump", "minor", "-R", registry_dir)
    )
    assert "tournament_basic@2.1.0" in released.stdout
    edit(registry_dir / "orchestrations/tournament_basic.yaml", ("  runs: 120\n", "  runs: 121\n"))
    commit_all(registry_dir, "one more run")
    records = ok(
        run(
            "pattern",
            "diff",
            "tournament_basic@2.1.0",
            "tournament_basic",
            "-R",
            registry_dir,
            "--json",
        )
    ).json()
    assert records == [{"path": "performance.runs", "kind": "changed", "old": 120, "new": 121}]
    before = ok(
        run(
            "pattern",
            "diff",
            "tournament_basic@main~2",
            "tournament_basic@2.1.0",
            "-R",
            registry_dir,
            "--json",
        )
    ).json()
    assert before == [{"path": "version", "kind": "changed", "old": "2.0.0", "new": "2.1.0"}]


def test_branch_and_commit_operands(run: RunFn, forked: Path) -> None:
    fork_commit = git(forked, "rev-parse", f"fork/{FORK}").strip()
    by_branch = ok(run("pattern", "diff", f"{PARENT}@main", f"{FORK}@fork/{FORK}", "--json")).json()
    by_commit = ok(
        run("pattern", "diff", f"{PARENT}@main", f"{FORK}@{fork_commit[:10]}", "--json")
    ).json()
    assert by_branch == by_commit
    assert ("name", "changed") in paths(by_branch)  # two operands: nothing hidden


def test_file_operands_need_no_registry(run: RunFn, corpus: Path, tmp_path: Path) -> None:
    old = corpus / "orchestrations" / "evolution_test_base.yaml"
    new = corpus / "orchestrations" / "evolution_test_improved.yaml"
    done = ok(run("pattern", "diff", old, new, "--json"))
    assert done.stderr == ""
    records = done.json()
    assert records and all(set(record) == {"path", "kind", "old", "new"} for record in records)
    assert all(record["kind"] in KINDS for record in records)
    assert not list((tmp_path / "xdg-data").iterdir())  # no default registry was created


def test_file_against_a_name(run: RunFn, registry_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    text = (registry_dir / "orchestrations/consensus_builder.yaml").read_text(encoding="utf-8")
    copy.write_text(text.replace("version: 1.1.0", "version: 1.2.0"), encoding="utf-8")
    records = ok(
        run("pattern", "diff", "consensus_builder", copy, "-R", registry_dir, "--json")
    ).json()
    assert records == [{"path": "version", "kind": "changed", "old": "1.1.0", "new": "1.2.0"}]


def test_json_is_a_list_alone_on_stdout(run: RunFn, registry_dir: Path) -> None:
    done = ok(run("pattern", "diff", "tournament_basic", PARENT, "-R", registry_dir, "--json"))
    records = done.json()
    assert isinstance(records, list)
    assert all(list(record) == ["path", "kind", "old", "new"] for record in records)
    assert {record["kind"] for record in records} <= KINDS
    assert done.stderr == ""


def test_stat_counts_per_key_and_kind(run: RunFn, forked: Path) -> None:
    lines = ok(run("pattern", "diff", FORK, "--stat")).stdout.splitlines()
    assert [line.split("|")[0].strip() for line in lines[:-1]] == [
        "orchestration_logic",
        "learnings",
        "metadata",
    ]
    assert lines[-1].strip() == "3 changes under 3 keys: 1 added, 2 changed"
    summary = ok(run("pattern", "diff", FORK, "--stat", "--json")).json()
    assert summary["total"] == 3
    assert summary["by_kind"]["added"] == 1
    assert summary["by_key"]["learnings"] == {"changed": 1}


def test_exit_code(run: RunFn, registry_dir: Path) -> None:
    differ = ("pattern", "diff", "tournament_basic", PARENT, "-R", registry_dir)
    same = ("pattern", "diff", "tournament_basic", "tournament_basic@main", "-R", registry_dir)
    assert run(*differ).exit_code == 0
    assert run(*differ, "--exit-code").exit_code == 1
    assert run(*differ, "--exit-code", "--json").exit_code == 1
    assert run(*same, "--exit-code").exit_code == 0


# -- bad operands --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operands", "message"),
    [
        (("nope", "tournament_basic"), "no pattern or profile named 'nope'"),
        (("tournament_basic@no-such-branch", "tournament_basic"), "no branch, tag or commit"),
        (("tournament_basic@9.9.9", "tournament_basic"), "no release tournament_basic@9.9.9"),
        (("../../etc/passwd@main", "tournament_basic"), "invalid pattern name"),
        (("..", "tournament_basic"), "invalid pattern name"),
        (("missing.yaml", "tournament_basic"), "no such file: missing.yaml"),
        (("tournament_basic@", "tournament_basic"), "nothing after '@'"),
    ],
)
def test_bad_operands_give_one_line_and_exit_2(
    run: RunFn, registry_dir: Path, operands: tuple[str, str], message: str
) -> None:
    done = run("pattern", "diff", *operands, "-R", registry_dir)
    assert done.exit_code == 2, done
    assert done.stdout == ""
    assert done.stderr.startswith("ksi: error: ") and message in done.stderr, done
    assert done.stderr.count("\n") == 1


def test_unreadable_file_names_its_line_and_column(run: RunFn, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nagents: [a, b\n", encoding="utf-8")
    done = run("pattern", "diff", bad, bad)
    assert done.exit_code == 2, done
    assert done.stderr.startswith(f"ksi: error: {bad}:3:1: invalid YAML")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"name: \xff\n")
    done = run("pattern", "diff", binary, bad)
    assert done.exit_code == 2
    assert f"{binary}:1:7: not UTF-8" in done.stderr


def test_a_folder_is_not_an_operand(run: RunFn, registry_dir: Path) -> None:
    done = run("pattern", "diff", f"{registry_dir}/orchestrations", "tournament_basic")
    assert done.exit_code == 2
    assert "is a folder" in done.stderr


def test_help_documents_the_hidden_fields(run: RunFn) -> None:
    out = ok(run("pattern", "diff", "--help")).stdout
    assert "--all" in out and "lineage" in out and "--exit-code" in out


def test_ksi_help_does_not_import_deepdiff() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['ksi', '--help']\n"
        "from ksi_patterns.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('deepdiff' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stderr.strip().endswith("False")
