"""`ksi registry import` of the real KSI corpus, then list, show and validate every document."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import STARTER, RunFn, git, head, snapshot
from ksi_patterns.documents.loading import load_plain

# Of two documents with one name the shallower file wins; LICENSE is no document.
SKIPPED_FROM_CORPUS = {
    "LICENSE": "not under orchestrations/ or profiles/",
    "profiles/base/base_multi_agent.yaml": (
        "another document named 'base_multi_agent' is imported from profiles/base_multi_agent.yaml"
    ),
    "profiles/base/base_single_agent.yaml": (
        "another document named 'base_single_agent' is imported from "
        "profiles/base_single_agent.yaml"
    ),
    "profiles/agents/conversation/conversationalist.yaml": (
        "another document named 'conversationalist' is imported from "
        "profiles/conversationalist.yaml"
    ),
}
# base_agent is in no corpus; tournament_basic is a starter pattern, not a corpus one.
BASE_AGENT_CHILDREN = {
    *(
        f"profiles/dynamic_{suffix}.yaml"
        for suffix in (
            "17e9a753",
            "57ebda35",
            "63ed7875",
            "7f6e23eb",
            "9882fb47",
            "a7719f64",
            "c23bad53",
            "f412cd38",
        )
    ),
    "profiles/test_auto_save.yaml",
}
STARTER_NAMES = {p.stem for p in STARTER.rglob("*.yaml")} - {"ksi-registry"}


def corpus_documents(corpus: Path) -> set[str]:
    return {p.relative_to(corpus).as_posix() for p in corpus.rglob("*.yaml") if p.is_file()} - set(
        SKIPPED_FROM_CORPUS
    )


@pytest.fixture
def imported(run: RunFn, tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An --empty registry (cwd) holding the imported corpus; the import's report is checked."""
    registry = tmp_path / "reg"
    assert run("registry", "init", "--empty", registry).exit_code == 0
    monkeypatch.chdir(registry)
    done = run("registry", "import", corpus, "--json")
    assert done.exit_code == 0, done
    report = done.json()
    assert set(report["imported"]) == corpus_documents(corpus)
    assert {s["path"]: s["reason"] for s in report["skipped"]} == SKIPPED_FROM_CORPUS
    assert report["commit"] == head(registry)
    return registry


def test_import_is_one_commit_of_every_document(imported: Path, corpus: Path) -> None:
    assert git(imported, "rev-list", "--count", "HEAD").strip() == "2"
    changed = set(git(imported, "diff", "--name-only", "HEAD~1", "HEAD").split())
    assert changed == corpus_documents(corpus)
    for relative in changed:  # bytes untouched
        assert (imported / relative).read_bytes() == (corpus / relative).read_bytes(), relative
    assert git(imported, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(imported, "log", "-1", "--format=%s").strip() == (
        f"Import {len(changed)} documents from ksi-5a58af6"
    )


def test_import_says_what_it_skipped_and_why(run: RunFn, tmp_path: Path, corpus: Path) -> None:
    registry = tmp_path / "reg"
    assert run("registry", "init", "--empty", registry).exit_code == 0
    done = run("registry", "import", corpus, "--registry", registry)
    assert done.exit_code == 0, done
    notes = done.stderr.splitlines()
    for path, reason in SKIPPED_FROM_CORPUS.items():
        assert f"skipped {path}: {reason}" in notes
    assert sum(line.startswith("skipped ") for line in notes) == len(SKIPPED_FROM_CORPUS)
    dangling = {line for line in notes if line.startswith("warning: ")}
    assert dangling == {
        f"warning: {path} extends 'base_agent', which is not in the registry"
        for path in BASE_AGENT_CHILDREN
    } | {
        "warning: orchestrations/adaptive_tournament_v2.yaml extends 'tournament_basic', "
        "which is not in the registry"
    }
    count = len(corpus_documents(corpus))
    assert done.stdout.startswith(f"Imported {count} documents in commit ")
    assert done.stdout.rstrip().endswith(f"skipped {len(SKIPPED_FROM_CORPUS)}.")


def test_list_shows_every_imported_document(run: RunFn, imported: Path, corpus: Path) -> None:
    done = run("pattern", "list", "--json")
    assert done.exit_code == 0
    assert done.stderr == ""
    rows = done.json()
    assert {row["path"] for row in rows} == corpus_documents(corpus)
    for row in rows:
        data = load_plain((corpus / row["path"]).read_bytes(), row["path"])
        if isinstance(data, list):
            assert row["kind"] == "decision-log"
            assert row["description"] == f"{len(data)} decisions"
        else:
            assert row["kind"] == data["type"]
            assert row["name"] == data["name"] == Path(row["path"]).stem
    # stress_test_decisions is a pattern despite its name
    kinds = {row["name"]: row["kind"] for row in rows}
    assert kinds["stress_test_decisions"] == "orchestration"
    assert kinds["adaptive_tournament_v2_decisions"] == "decision-log"
    # tags kept under metadata are listed
    assert "tournament" in next(r for r in rows if r["name"] == "adaptive_tournament_v2")["tags"]


def test_show_works_on_every_imported_document(run: RunFn, imported: Path, corpus: Path) -> None:
    rows = run("pattern", "list", "--json").json()
    names = [row["name"] for row in rows]
    for row in rows:
        ref = row["name"] if names.count(row["name"]) == 1 else row["path"]
        shown = run("pattern", "show", ref)
        assert shown.exit_code == 0, shown
        text = (corpus / row["path"]).read_text(encoding="utf-8")
        # as written; a file without a final line break gets one on the terminal
        assert shown.stdout == (text if text.endswith("\n") else text + "\n"), row["path"]
        as_json = run("pattern", "show", ref, "--json")
        assert as_json.json() == load_plain((corpus / row["path"]).read_bytes(), row["path"])


def test_show_resolved_works_unless_a_parent_is_missing(run: RunFn, imported: Path) -> None:
    rows = run("pattern", "list", "--json").json()
    failed = {}
    for row in rows:
        if row["kind"] == "decision-log":
            continue
        done = run("pattern", "show", row["name"], "--resolved", "--json")
        if done.exit_code:
            assert done.exit_code == 2
            assert len(done.stderr.splitlines()) == 1
            failed[row["path"]] = done.stderr
            continue
        resolved = done.json()
        assert resolved["name"] == row["name"]
    tournaments = {  # tournament_basic is missing, and so are the parents of its descendants
        "orchestrations/adaptive_tournament_v2.yaml": "adaptive_tournament_v2 -> tournament_basic",
        "orchestrations/adaptive_tournament_ml.yaml": (
            "adaptive_tournament_ml -> adaptive_tournament_v2 -> tournament_basic"
        ),
        "orchestrations/adaptive_tournament_v3.yaml": (
            "adaptive_tournament_v3 -> adaptive_tournament_v2 -> tournament_basic"
        ),
    }
    assert set(failed) == BASE_AGENT_CHILDREN | set(tournaments)
    for path, chain in tournaments.items():
        assert f"extends 'tournament_basic', which does not exist ({chain})" in failed[path]
    for path in BASE_AGENT_CHILDREN:
        assert "extends 'base_agent', which does not exist" in failed[path]
    # a chain that resolves: the judge variants inherit from their judge, which extends a base
    variant = run("pattern", "show", "evaluator_judge_detailed_rubric", "--resolved", "--json")
    parent = load_plain((imported / "profiles/evaluator_judge.yaml").read_bytes(), "p")
    assert variant.exit_code == 0
    for key in parent:
        assert key in variant.json()


def test_validate_reports_only_the_dangling_extends(run: RunFn, imported: Path) -> None:
    done = run("pattern", "validate", "--format", "json")
    assert done.exit_code == 1
    findings = done.json()["findings"]
    assert {(f["file"], f["rule"], f["message"]) for f in findings} == {
        (path, "extends-missing", "extends 'base_agent', which does not exist")
        for path in BASE_AGENT_CHILDREN
    } | {
        (
            "orchestrations/adaptive_tournament_v2.yaml",
            "extends-missing",
            "extends 'tournament_basic', which does not exist",
        )
    }
    assert len(findings) == len(BASE_AGENT_CHILDREN) + 1
    assert all(f["line"] is not None for f in findings)
    text = run("pattern", "validate")
    assert text.exit_code == 1
    assert len(text.stdout.splitlines()) == len(findings)


def test_import_into_the_starter_registry_skips_name_clashes(
    run: RunFn, registry_dir: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(registry_dir)
    done = run("registry", "import", corpus, "--json")
    assert done.exit_code == 0, done
    skipped = {s["path"]: s["reason"] for s in done.json()["skipped"]}
    clashes = {
        path: reason
        for path, reason in skipped.items()
        if path not in SKIPPED_FROM_CORPUS or "registry already has" in reason
    }
    clashing = {
        "orchestrations/adaptive_pipeline.yaml",
        "orchestrations/adaptive_tournament_v2.yaml",
        "orchestrations/adaptive_tournament_v2_decisions.yaml",
        "profiles/base_multi_agent.yaml",
        "profiles/base_orchestrator.yaml",
    }
    assert set(clashes) == clashing | {"profiles/base/base_multi_agent.yaml"}
    for path in clashing:
        name = Path(path).stem
        assert clashes[path] == (
            f"the registry already has {name!r} at {path} (use --overwrite to replace it)"
        )
    # the starter files are untouched
    for name in ("orchestrations/adaptive_tournament_v2.yaml", "profiles/base_orchestrator.yaml"):
        assert (registry_dir / name).read_bytes() == (STARTER / name).read_bytes()
    # with the starters' tournament_basic, only base_agent dangles
    checked = run("pattern", "validate", "--format", "json")
    assert {f["file"] for f in checked.json()["findings"]} == BASE_AGENT_CHILDREN
    assert {f["rule"] for f in checked.json()["findings"]} == {"extends-missing"}


def test_import_overwrite_replaces_the_clashing_files(
    run: RunFn, registry_dir: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(registry_dir)
    tip = head(registry_dir)
    done = run("registry", "import", corpus, "--overwrite", "--json")
    assert done.exit_code == 0, done
    report = done.json()
    assert set(report["imported"]) == corpus_documents(corpus)
    assert {s["path"] for s in report["skipped"]} == set(SKIPPED_FROM_CORPUS)
    assert git(registry_dir, "rev-parse", "HEAD~1").strip() == tip
    for path in ("orchestrations/adaptive_tournament_v2.yaml", "profiles/base_orchestrator.yaml"):
        assert git(registry_dir, "show", f"HEAD:{path}") == (corpus / path).read_text()
        assert (registry_dir / path).read_bytes() == (corpus / path).read_bytes()
    assert git(registry_dir, "status", "--porcelain") == ""
    # the starter-only pattern is still there
    assert (registry_dir / "orchestrations" / "tournament_basic.yaml").is_file()


def test_importing_again_changes_nothing(run: RunFn, imported: Path, corpus: Path) -> None:
    tip, files = head(imported), snapshot(imported)
    for extra in ([], ["--overwrite"]):
        done = run("registry", "import", corpus, *extra, "--json")
        assert done.exit_code == 0, done
        assert done.json()["imported"] == []
        assert done.json()["commit"] is None
        assert head(imported) == tip
        assert snapshot(imported) == files
    again = run("registry", "import", corpus, "--overwrite")
    assert "Imported 0 documents; skipped 84." in again.stdout
    assert "unchanged" in again.stderr


def test_import_skips_what_it_cannot_read_and_names_the_place(
    run: RunFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "src"
    (source / "orchestrations").mkdir(parents=True)
    (source / "profiles").mkdir()
    (source / "orchestrations" / "good.yaml").write_text("name: good\ntype: orchestration\n")
    (source / "orchestrations" / "broken.yaml").write_text("name: broken\ntype: [x\n")
    (source / "orchestrations" / "mismatch.yaml").write_text("name: other\ntype: orchestration\n")
    (source / "orchestrations" / "Bad Name.yaml").write_text("name: x\ntype: orchestration\n")
    (source / "orchestrations" / "typed.yaml").write_text(
        "name: typed\ntype: orchestration\nperformance: {runs: many}\n"
    )
    (source / "profiles" / "log_decisions.yaml").write_text("- decision: x\n")
    (source / "profiles" / "link.yaml").symlink_to(source / "orchestrations" / "good.yaml")
    (source / "notes.yaml").write_text("name: notes\ntype: orchestration\n")
    registry = tmp_path / "reg"
    assert run("registry", "init", "--empty", registry).exit_code == 0
    monkeypatch.chdir(registry)
    done = run("registry", "import", source, "--json")
    assert done.exit_code == 0, done
    report = done.json()
    assert report["imported"] == ["orchestrations/good.yaml"]
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["orchestrations/broken.yaml"].startswith("orchestrations/broken.yaml:3:1: ")
    assert reasons["orchestrations/mismatch.yaml"] == (
        "its name 'other' does not match the file name"
    )
    assert "invalid file name" in reasons["orchestrations/Bad Name.yaml"]
    assert reasons["orchestrations/typed.yaml"].startswith("invalid orchestration: ")
    assert reasons["profiles/log_decisions.yaml"] == "a decision log outside orchestrations/"
    assert reasons["profiles/link.yaml"] == "a symbolic link"
    assert reasons["notes.yaml"] == "not under orchestrations/ or profiles/"
    assert git(registry, "ls-tree", "-r", "--name-only", "HEAD").split() == [
        ".gitattributes",
        "ksi-registry.yaml",
        "orchestrations/good.yaml",
    ]


def test_import_of_something_that_is_not_a_folder(run: RunFn, registry_dir: Path) -> None:
    tip = head(registry_dir)
    done = run("registry", "import", registry_dir / "ksi-registry.yaml", "-R", registry_dir)
    assert done.exit_code == 2
    assert "is not a folder" in done.stderr
    missing = run("registry", "import", registry_dir / "nope", "-R", registry_dir)
    assert missing.exit_code == 2
    assert head(registry_dir) == tip
