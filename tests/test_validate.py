"""`ksi pattern validate`: plain folders and registries, every rule, every format, exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import STARTER, RunFn, commit_all, git
from ksi_patterns.documents.schema import DocumentKind, validator_for

TEXT_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")
GITHUB_LINE = re.compile(
    r"^::error file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
    r"title=(?P<title>[^:]+)::(?P<message>.+)$"
)


def write(folder: Path, relative: str, text: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def pattern(name: str, *extra: str) -> str:
    return "\n".join([f"name: {name}", "type: orchestration", "version: 1.0.0", *extra]) + "\n"


def findings(run: RunFn, *args: str | Path) -> tuple[int, list[dict[str, object]]]:
    done = run("pattern", "validate", "--format", "json", *args)
    report = json.loads(done.stdout)
    return done.exit_code, report["findings"]


# -- clean input ---------------------------------------------------------------------------------


def test_a_plain_folder_without_git_validates(run: RunFn, tmp_path: Path) -> None:
    folder = tmp_path / "ci"
    shutil.copytree(STARTER, folder)
    assert not (folder / ".git").exists()
    done = run("pattern", "validate", folder)
    assert done.exit_code == 0, done
    assert done.stdout == ""
    assert done.stderr == "8 file(s) valid\n"  # 7 documents and the registry configuration


def test_folders_without_a_registry_configuration_are_searched(run: RunFn, tmp_path: Path) -> None:
    write(tmp_path, "a/one.yaml", pattern("one"))
    write(tmp_path, "a/deeper/two.yml", pattern("two", "extends: one"))
    write(tmp_path, "a/.hidden/ignored.yaml", "not: [valid\n")
    write(tmp_path, "a/notes.txt", "not yaml at all: [\n")
    done = run("pattern", "validate", "a")
    assert done.exit_code == 0, done
    assert done.stderr == "2 file(s) valid\n"


def test_the_registry_is_the_default_and_its_work_tree_is_checked(
    run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(registry_dir / "profiles")
    clean = run("pattern", "validate")
    assert clean.exit_code == 0, clean
    assert clean.stderr == "8 file(s) valid\n"
    # an uncommitted edit is what CI and a pre-commit hook must see
    write(registry_dir, "orchestrations/draft.yaml", pattern("draft", "performance:", "  runs: x"))
    dirty = run("pattern", "validate")
    assert dirty.exit_code == 1
    match = TEXT_LINE.match(dirty.stdout.rstrip("\n"))
    assert match, dirty
    assert Path(match["file"]).resolve() == (registry_dir / "orchestrations/draft.yaml").resolve()
    assert (match["line"], match["col"]) == ("5", "3")
    assert match["message"] == "performance.runs: 'x' is not of type 'integer'"


def test_a_bare_registry_is_validated_at_its_tip(run: RunFn, tmp_path: Path) -> None:
    bare = tmp_path / "shared.git"
    assert run("registry", "init", "--bare", bare).exit_code == 0
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    write(clone, "orchestrations/pushed.yaml", pattern("pushed", "performance:", "  runs: x"))
    commit_all(clone, "a bad pattern")
    git(clone, "push", "-q", "origin", "HEAD:main")
    done = run("pattern", "validate", "--registry", bare)
    assert done.exit_code == 1
    assert done.stdout == (
        "orchestrations/pushed.yaml:5:3: performance.runs: 'x' is not of type 'integer'\n"
    )
    assert done.stderr == "1 problem(s) in 1 of 9 file(s)\n"


def test_several_paths_at_once(run: RunFn, tmp_path: Path) -> None:
    write(tmp_path, "x/a.yaml", pattern("a"))
    write(tmp_path, "y/b.yaml", pattern("b", "extends: a"))
    assert run("pattern", "validate", "x/a.yaml", "y").exit_code == 0
    # alone, b's parent is unknown
    code, found = findings(run, "y")
    assert code == 1
    assert [(f["rule"], f["line"]) for f in found] == [("extends-missing", 4)]


def test_a_file_in_a_registry_knows_the_registry_names(run: RunFn, registry_dir: Path) -> None:
    path = write(
        registry_dir, "orchestrations/child.yaml", pattern("child", "extends: tournament_basic")
    )
    assert run("pattern", "validate", path).exit_code == 0


# -- each rule, at its place ----------------------------------------------------------------------


def test_a_schema_error_points_at_its_line_and_column(run: RunFn, tmp_path: Path) -> None:
    text = (
        "# leading comment\n"
        "name: counted\n"
        "type: orchestration\n"
        "version: 1.0.0\n"
        "performance:\n"
        "  avg_score: 0.5\n"
        '  runs: "many"\n'
        "learnings:\n"
        "  - insight: fine\n"
        "    confidence: 0.9\n"
        "  - insight: too sure\n"
        "    confidence: 7\n"
    )
    write(tmp_path, "counted.yaml", text)
    done = run("pattern", "validate", "counted.yaml")
    assert done.exit_code == 1
    lines = done.stdout.splitlines()
    assert lines == [
        "counted.yaml:7:3: performance.runs: 'many' is not of type 'integer'",
        "counted.yaml:12:5: learnings[1].confidence: 7 is greater than the maximum of 1",
    ]
    for line in lines:  # the position really is where the offending key is written
        match = TEXT_LINE.match(line)
        assert match
        row, col = int(match["line"]), int(match["col"])
        key = match["message"].split(":")[0].rsplit(".", 1)[-1]
        assert text.splitlines()[row - 1][col - 1 :].startswith(key + ":")
    assert done.stderr == "2 problem(s) in 1 of 1 file(s)\n"


def test_a_missing_required_field_points_at_the_mapping(run: RunFn, tmp_path: Path) -> None:
    write(tmp_path, "nameless.yaml", "type: orchestration\nversion: 1.0.0\n")
    code, found = findings(run, "nameless.yaml")
    assert code == 1
    assert [(f["rule"], f["line"], f["message"]) for f in found] == [
        ("schema", 1, "name: required field is missing")
    ]


def test_extends_to_a_missing_pattern(run: RunFn, tmp_path: Path) -> None:
    write(tmp_path, "p/child.yaml", pattern("child", "description: d", "extends: nowhere"))
    done = run("pattern", "validate", "p")
    assert done.exit_code == 1
    assert done.stdout == "p/child.yaml:5:1: extends 'nowhere', which does not exist\n"


def test_extends_cycle_shows_the_chain(run: RunFn, tmp_path: Path) -> None:
    write(tmp_path, "p/a.yaml", pattern("a", "extends: b"))
    write(tmp_path, "p/b.yaml", pattern("b", "extends: c"))
    write(tmp_path, "p/c.yaml", pattern("c", "extends: a"))
    write(tmp_path, "p/d.yaml", pattern("d", "extends: a"))  # leads into the cycle, is not in it
    write(tmp_path, "p/self.yaml", pattern("self", "extends: self"))
    done = run("pattern", "validate", "p")
    assert done.exit_code == 1
    assert done.stdout.splitlines() == [
        "p/a.yaml:4:1: extends cycle: a -> b -> c -> a",
        "p/b.yaml:4:1: extends cycle: b -> c -> a -> b",
        "p/c.yaml:4:1: extends cycle: c -> a -> b -> c",
        "p/self.yaml:4:1: extends cycle: self -> self",
    ]


def test_a_profile_cannot_extend_a_pattern_of_that_name(run: RunFn, tmp_path: Path) -> None:
    write(tmp_path, "p/helper.yaml", pattern("helper"))
    write(tmp_path, "q/agent.yaml", "name: agent\ntype: profile\nextends: helper\n")
    code, found = findings(run, "p", "q")
    assert code == 1
    assert [(f["file"], f["rule"]) for f in found] == [("q/agent.yaml", "extends-missing")]


def test_file_name_must_match_name(run: RunFn, tmp_path: Path) -> None:
    write(tmp_path, "p/right.yaml", "# first\n" + pattern("wrong"))
    done = run("pattern", "validate", "p/right.yaml")
    assert done.exit_code == 1
    assert done.stdout == (
        "p/right.yaml:2:1: name 'wrong' does not match the file name (expected 'right')\n"
    )


def test_duplicate_names_across_folders(run: RunFn, tmp_path: Path) -> None:
    write(tmp_path, "p/one/twin.yaml", pattern("twin"))
    write(tmp_path, "p/two/twin.yaml", "\n" + pattern("twin"))
    write(tmp_path, "p/three/twin.yaml", "name: twin\ntype: profile\n")  # another kind: fine
    done = run("pattern", "validate", "p")
    assert done.exit_code == 1
    assert done.stdout == (
        "p/two/twin.yaml:2:1: duplicate orchestration name 'twin' (also in p/one/twin.yaml:1:1)\n"
    )


def test_a_document_of_no_known_kind(run: RunFn, tmp_path: Path) -> None:
    write(tmp_path, "odd.yaml", "just a string\n")
    write(tmp_path, "typed.yaml", "name: typed\ntype: recipe\n")
    code, found = findings(run, "odd.yaml", "typed.yaml")
    assert code == 1
    assert [(f["file"], f["rule"], f["line"]) for f in found] == [
        ("odd.yaml", "unknown-kind", 1),
        ("typed.yaml", "unknown-kind", 1),
    ]


def test_decision_logs_are_checked_as_lists(run: RunFn, tmp_path: Path) -> None:
    write(
        tmp_path,
        "p_decisions.yaml",
        "- timestamp: '2025-07-10T15:30:00Z'\n  decision: x\n  confidence: 3\n",
    )
    code, found = findings(run, "p_decisions.yaml")
    assert code == 1
    assert [(f["rule"], f["line"], f["column"]) for f in found] == [("schema", 3, 3)]


# -- formats --------------------------------------------------------------------------------------


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    write(folder, "a.yaml", pattern("a", "extends: ghost", "performance:", "  runs: many"))
    write(folder, "b.yaml", pattern("bee"))
    write(folder, "c.yaml", pattern("c"))
    return folder


def test_text_format_lines_are_exactly_file_line_col_message(run: RunFn, broken: Path) -> None:
    done = run("pattern", "validate", "broken")
    assert done.exit_code == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        assert TEXT_LINE.match(line), line
    assert [TEXT_LINE.match(x)["file"] for x in lines] == [  # type: ignore[index]
        "broken/a.yaml",
        "broken/a.yaml",
        "broken/b.yaml",
    ]
    assert done.stderr == "3 problem(s) in 2 of 3 file(s)\n"


def test_github_format_is_workflow_annotations(run: RunFn, broken: Path) -> None:
    done = run("pattern", "validate", "broken", "--format", "github")
    assert done.exit_code == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    parsed = [GITHUB_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["file"], m["line"], m["col"]) for m in parsed if m] == [
        ("broken/a.yaml", "4", "1"),
        ("broken/a.yaml", "6", "3"),
        ("broken/b.yaml", "1", "1"),
    ]
    assert parsed[0] and parsed[0]["title"] == "ksi validate%3A extends-missing"
    assert parsed[1] and parsed[1]["message"] == "performance.runs: 'many' is not of type 'integer'"


def test_github_format_escapes_what_the_workflow_syntax_reserves(
    run: RunFn, tmp_path: Path
) -> None:
    write(tmp_path, "odd,name.yaml", "name: x%y\ntype: orchestration\n")
    done = run("pattern", "validate", "odd,name.yaml", "-f", "github")
    assert done.exit_code == 1
    assert "file=odd%2Cname.yaml," in done.stdout
    assert "x%25y" in done.stdout
    assert all(line.startswith("::error ") for line in done.stdout.splitlines())


def test_json_format_is_valid_json_alone(run: RunFn, broken: Path) -> None:
    done = run("pattern", "validate", "broken", "--format", "json")
    assert done.exit_code == 1
    report = json.loads(done.stdout)
    assert report["files"] == 3
    assert report["valid"] is False
    assert [(f["file"], f["line"], f["column"], f["rule"]) for f in report["findings"]] == [
        ("broken/a.yaml", 4, 1, "extends-missing"),
        ("broken/a.yaml", 6, 3, "schema"),
        ("broken/b.yaml", 1, 1, "name-mismatch"),
    ]
    clean = run("pattern", "validate", "broken/c.yaml", "--format", "json")
    assert clean.exit_code == 0
    assert json.loads(clean.stdout) == {"files": 1, "valid": True, "findings": []}


# -- exit codes -----------------------------------------------------------------------------------


def test_exit_2_when_input_is_unreadable_even_with_other_findings(run: RunFn, broken: Path) -> None:
    (broken / "z.yaml").write_bytes(b"name: z\ntype: orchestration\ndescription: \xff\n")
    code, found = findings(run, "broken")
    assert code == 2
    assert found[-1] == {
        "file": "broken/z.yaml",
        "line": 3,
        "column": 14,
        "rule": "unreadable",
        "message": "not UTF-8 (byte 0xff)",
    }
    assert len(found) == 4  # the readable files are still checked


def test_exit_2_for_a_path_that_does_not_exist(run: RunFn) -> None:
    done = run("pattern", "validate", "nowhere.yaml")
    assert done.exit_code == 2
    assert done.stderr == "ksi: error: nowhere.yaml: no such file or folder\n"


def test_exit_2_for_a_bad_format(run: RunFn, broken: Path) -> None:
    assert run("pattern", "validate", "broken", "--format", "xml").exit_code == 2


# -- one validator per schema ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_one_validator_per_schema_per_process(kind: DocumentKind, run: RunFn, broken: Path) -> None:
    first = validator_for(kind)
    run("pattern", "validate", "broken")
    assert validator_for(kind) is first
    assert validator_for.cache_info().currsize <= len(DocumentKind)
