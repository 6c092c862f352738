"""`ksi pattern list / show / new / release` on real registries, through the CLI."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import STARTER, RunFn, commit_all, git, head, snapshot
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.schema import DocumentKind, schema_id

PATTERNS = ["adaptive_pipeline", "adaptive_tournament_v2", "consensus_builder", "tournament_basic"]
PROFILES = ["base_multi_agent", "base_orchestrator"]


def plain(path: Path) -> Any:
    return load_plain(path.read_bytes(), str(path))


def write(registry: Path, relative: str, text: str) -> Path:
    path = registry / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def in_registry(registry_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(registry_dir)
    return registry_dir


# -- list -----------------------------------------------------------------------------------------


def test_list_prints_a_table_of_every_document(run: RunFn, in_registry: Path) -> None:
    done = run("pattern", "list")
    assert done.exit_code == 0, done
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "VERSION", "TAGS", "DESCRIPTION"]
    rows = [line.split()[:3] for line in lines[1:]]
    assert rows == [
        ["adaptive_pipeline", "orchestration", "1.2.0"],
        ["adaptive_tournament_v2", "orchestration", "2.1.0"],
        ["consensus_builder", "orchestration", "1.1.0"],
        ["tournament_basic", "orchestration", "2.0.0"],
        ["adaptive_tournament_v2_decisions", "decision-log", "3"],
        ["base_multi_agent", "profile", "1.0.0"],
        ["base_orchestrator", "profile", "1.0.0"],
    ]
    assert done.stderr == ""


def test_list_json_is_valid_json_alone_on_stdout(run: RunFn, in_registry: Path) -> None:
    done = run("pattern", "list", "--json")
    assert done.exit_code == 0
    assert done.stderr == ""
    rows = json.loads(done.stdout)
    assert [(r["name"], r["kind"]) for r in rows] == [
        *((name, "orchestration") for name in PATTERNS),
        ("adaptive_tournament_v2_decisions", "decision-log"),
        *((name, "profile") for name in PROFILES),
    ]
    v2 = next(r for r in rows if r["name"] == "adaptive_tournament_v2")
    assert v2["version"] == "2.1.0"
    assert v2["extends"] == "tournament_basic"
    assert v2["parent"] == "tournament_basic@2.0.0"
    assert v2["path"] == "orchestrations/adaptive_tournament_v2.yaml"
    assert "tournament" in v2["tags"]
    assert v2["blob"] == git(in_registry, "rev-parse", f"HEAD:{v2['path']}").strip()


def test_list_filters_by_type(run: RunFn, in_registry: Path) -> None:
    profiles = run("pattern", "list", "--type", "profile", "--json").json()
    assert [r["name"] for r in profiles] == PROFILES
    logs = run("pattern", "list", "--type", "decision-log", "--json").json()
    assert [r["name"] for r in logs] == ["adaptive_tournament_v2_decisions"]
    table = run("pattern", "list", "--type", "orchestration")
    assert [line.split()[0] for line in table.stdout.splitlines()[1:]] == PATTERNS


def test_list_refuses_an_unknown_type(run: RunFn, in_registry: Path) -> None:
    done = run("pattern", "list", "--type", "pattern")
    assert done.exit_code == 2
    assert "unknown --type 'pattern'" in done.stderr


def test_list_tag_is_repeatable_and_every_tag_must_match(run: RunFn, in_registry: Path) -> None:
    one = run("pattern", "list", "--tag", "tournament", "--json").json()
    assert [r["name"] for r in one] == ["adaptive_tournament_v2", "tournament_basic"]
    both = run("pattern", "list", "--tag", "tournament", "--tag", "adaptive", "--json").json()
    assert [r["name"] for r in both] == ["adaptive_tournament_v2"]
    none = run("pattern", "list", "--tag", "tournament", "--tag", "pipeline")
    assert none.exit_code == 0
    assert none.stdout == ""
    assert "No documents match" in none.stderr


def test_list_reads_tags_kept_under_metadata(run: RunFn, in_registry: Path) -> None:
    write(
        in_registry,
        "orchestrations/old_style.yaml",
        "name: old_style\ntype: orchestration\nmetadata:\n  tags: [legacy, x]\n",
    )
    commit_all(in_registry, "old style")
    rows = run("pattern", "list", "--tag", "legacy", "--json").json()
    assert [r["name"] for r in rows] == ["old_style"]


def test_list_skips_an_unreadable_file_with_a_warning(run: RunFn, in_registry: Path) -> None:
    write(in_registry, "orchestrations/broken.yaml", "name: broken\ntype: [orchestration\n")
    commit_all(in_registry, "broken")
    done = run("pattern", "list", "--json")
    assert done.exit_code == 0
    assert "broken" not in {r["name"] for r in done.json()}
    assert len(done.json()) == 7
    assert done.stderr.startswith("warning: skipped orchestrations/broken.yaml:")


def test_list_at_an_older_revision(run: RunFn, in_registry: Path) -> None:
    first = head(in_registry)
    write(in_registry, "orchestrations/later.yaml", "name: later\ntype: orchestration\n")
    commit_all(in_registry, "later")
    now = {r["name"] for r in run("pattern", "list", "--json").json()}
    then = {r["name"] for r in run("pattern", "list", "--ref", first, "--json").json()}
    assert now - then == {"later"}


# -- show ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PATTERNS + PROFILES + ["adaptive_tournament_v2_decisions"])
def test_show_prints_the_file_as_written(run: RunFn, in_registry: Path, name: str) -> None:
    done = run("pattern", "show", name)
    assert done.exit_code == 0, done
    folder = "profiles" if name in PROFILES else "orchestrations"
    assert done.stdout == (STARTER / folder / f"{name}.yaml").read_text(encoding="utf-8")
    assert done.stderr == ""


def test_show_json_is_the_plain_document(run: RunFn, in_registry: Path) -> None:
    done = run("pattern", "show", "tournament_basic", "--json")
    assert done.exit_code == 0
    assert done.stderr == ""
    assert json.loads(done.stdout) == plain(STARTER / "orchestrations" / "tournament_basic.yaml")


def test_show_reads_the_committed_tip_not_the_work_tree(run: RunFn, in_registry: Path) -> None:
    path = in_registry / "orchestrations" / "tournament_basic.yaml"
    committed = path.read_text()
    path.write_text(committed.replace("version: 2.0.0", "version: 9.9.9"))
    assert run("pattern", "show", "tournament_basic").stdout == committed
    # ... while a path shows the file itself
    assert "version: 9.9.9" in run("pattern", "show", "orchestrations/tournament_basic.yaml").stdout


def test_show_a_release_a_branch_and_a_commit(run: RunFn, in_registry: Path) -> None:
    original = (in_registry / "orchestrations" / "tournament_basic.yaml").read_text()
    first = head(in_registry)
    missing = run("pattern", "show", "tournament_basic@2.0.0")
    assert missing.exit_code == 2
    assert "no release tournament_basic@2.0.0" in missing.stderr

    assert run("pattern", "release", "tournament_basic", "--bump", "minor").exit_code == 0
    released = run("pattern", "show", "tournament_basic@2.1.0")
    assert released.exit_code == 0, released
    assert "\nversion: 2.1.0\n" in released.stdout

    git(in_registry, "branch", "experiment", first)
    by_branch = run("pattern", "show", "tournament_basic@experiment")
    assert by_branch.stdout == original
    by_commit = run("pattern", "show", f"tournament_basic@{first}")
    assert by_commit.stdout == original
    short = run("pattern", "show", f"tournament_basic@{first[:10]}")
    assert short.stdout == original
    tip = run("pattern", "show", "tournament_basic@main")
    assert "\nversion: 2.1.0\n" in tip.stdout


def test_show_an_unknown_revision_or_name(run: RunFn, in_registry: Path) -> None:
    unknown_rev = run("pattern", "show", "tournament_basic@no-such-branch")
    assert unknown_rev.exit_code == 2
    assert "no-such-branch" in unknown_rev.stderr
    unknown_name = run("pattern", "show", "nothing_here")
    assert unknown_name.exit_code == 2
    assert "no pattern or profile named 'nothing_here'" in unknown_name.stderr
    dangling = run("pattern", "show", "tournament_basic@")
    assert dangling.exit_code == 2


def test_show_a_file_outside_any_registry(run: RunFn, tmp_path: Path) -> None:
    path = write(tmp_path, "loose/mine.yaml", "name: mine\ntype: orchestration\n# note\n")
    done = run("pattern", "show", "loose/mine.yaml")
    assert done.exit_code == 0, done
    assert done.stdout == path.read_text()
    as_json = run("pattern", "show", str(path), "--json")
    assert as_json.json() == {"name": "mine", "type": "orchestration"}


def test_show_resolved_carries_the_parent_fields_not_overridden(
    run: RunFn, in_registry: Path
) -> None:
    done = run("pattern", "show", "adaptive_tournament_v2", "--resolved", "--json")
    assert done.exit_code == 0, done
    resolved = done.json()
    parent = plain(STARTER / "orchestrations" / "tournament_basic.yaml")
    child = plain(STARTER / "orchestrations" / "adaptive_tournament_v2.yaml")

    def expect(base: Any, over: Any) -> Any:  # maps merge by key; anything else is replaced
        if isinstance(base, dict) and isinstance(over, dict):
            return {**base, **{k: expect(base[k], v) if k in base else v for k, v in over.items()}}
        return over

    assert resolved == expect(parent, child)
    # the spelled-out consequences
    assert set(resolved["agents"]) == set(parent["agents"]) | set(child["agents"])
    assert resolved["agents"]["coordinator"] == parent["agents"]["coordinator"]
    assert resolved["name"] == "adaptive_tournament_v2"
    assert resolved["version"] == "2.1.0"
    assert resolved["extends"] == "tournament_basic"
    assert (
        resolved["performance"]["improvements_over_parent"]
        == (child["performance"]["improvements_over_parent"])
    )
    # as YAML, the same data
    as_yaml = run("pattern", "show", "adaptive_tournament_v2", "--resolved")
    assert as_yaml.exit_code == 0
    assert load_plain(as_yaml.stdout, "<stdout>") == resolved


def test_show_resolved_merges_profile_components_by_name(run: RunFn, in_registry: Path) -> None:
    parent = plain(STARTER / "profiles" / "base_multi_agent.yaml")
    child = plain(STARTER / "profiles" / "base_orchestrator.yaml")
    resolved = run("pattern", "show", "base_orchestrator", "--resolved", "--json").json()
    parent_names = [c["name"] for c in parent["components"]]
    child_names = [c["name"] for c in child["components"]]
    assert not set(parent_names) & set(child_names)
    assert [c["name"] for c in resolved["components"]] == parent_names + child_names

    # a child component with a parent's name replaces it, in the parent's place
    replaced = parent["components"][1]["name"]
    write(
        in_registry,
        "profiles/custom_agent.yaml",
        "name: custom_agent\ntype: profile\nextends: base_multi_agent\ncomponents:\n"
        f"  - name: {replaced}\n    inline:\n      prompt: mine\n"
        "  - name: extra\n    inline:\n      prompt: more\n",
    )
    commit_all(in_registry, "custom agent")
    merged = run("pattern", "show", "custom_agent", "--resolved", "--json").json()
    assert [c["name"] for c in merged["components"]] == [*parent_names, "extra"]
    assert merged["components"][1] == {"name": replaced, "inline": {"prompt": "mine"}}
    assert merged["components"][0] == parent["components"][0]


def test_show_resolved_refuses_a_cycle_and_shows_the_chain(run: RunFn, in_registry: Path) -> None:
    for name, parent in (("loop_a", "loop_b"), ("loop_b", "loop_c"), ("loop_c", "loop_a")):
        write(
            in_registry,
            f"orchestrations/{name}.yaml",
            f"name: {name}\ntype: orchestration\nextends: {parent}\n",
        )
    tip = commit_all(in_registry, "a loop")
    done = run("pattern", "show", "loop_a", "--resolved")
    assert done.exit_code == 2
    assert done.stderr == "ksi: error: extends cycle: loop_a -> loop_b -> loop_c -> loop_a\n"
    assert done.stdout == ""
    assert head(in_registry) == tip
    # without --resolved the file itself still shows
    assert run("pattern", "show", "loop_a").exit_code == 0


def test_show_resolved_refuses_a_missing_parent_with_the_chain(
    run: RunFn, in_registry: Path
) -> None:
    write(
        in_registry,
        "orchestrations/child.yaml",
        "name: child\ntype: orchestration\nextends: middle\n",
    )
    write(
        in_registry,
        "orchestrations/middle.yaml",
        "name: middle\ntype: orchestration\nextends: ghost\n",
    )
    commit_all(in_registry, "orphans")
    done = run("pattern", "show", "child", "--resolved")
    assert done.exit_code == 2
    assert "'middle' extends 'ghost', which does not exist" in done.stderr
    assert "child -> middle -> ghost" in done.stderr
    assert done.stderr.count("\n") == 1


def test_show_resolved_of_a_file_uses_its_registry(run: RunFn, in_registry: Path) -> None:
    path = write(
        in_registry,
        "orchestrations/draft.yaml",
        "name: draft\ntype: orchestration\nextends: tournament_basic\nversion: 0.0.1\n",
    )
    done = run("pattern", "show", str(path), "--resolved", "--json")
    assert done.exit_code == 0, done
    data = done.json()
    assert data["version"] == "0.0.1"
    assert "coordinator" in data["agents"]


# -- new ------------------------------------------------------------------------------------------


def test_new_writes_a_valid_commented_skeleton(run: RunFn, in_registry: Path) -> None:
    tip = head(in_registry)
    done = run("pattern", "new", "my_pattern")
    assert done.exit_code == 0, done
    path = in_registry / "orchestrations" / "my_pattern.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert text.splitlines()[0] == (
        f"# yaml-language-server: $schema={schema_id(DocumentKind.PATTERN)}"
    )
    data = plain(path)
    assert data["name"] == "my_pattern"
    assert data["type"] == "orchestration"
    assert data["author"] == "ksi"  # the registry's default author
    checked = run("pattern", "validate", "orchestrations/my_pattern.yaml")
    assert checked.exit_code == 0, checked
    assert run("pattern", "validate").exit_code == 0  # the whole registry, new file included
    assert head(in_registry) == tip  # written, not committed
    assert git(in_registry, "status", "--porcelain") == "?? orchestrations/my_pattern.yaml\n"


def test_new_profile(run: RunFn, in_registry: Path) -> None:
    done = run("pattern", "new", "helper_agent", "--profile", "--extends", "base_multi_agent")
    assert done.exit_code == 0, done
    path = in_registry / "profiles" / "helper_agent.yaml"
    text = path.read_text()
    assert text.splitlines()[0] == (
        f"# yaml-language-server: $schema={schema_id(DocumentKind.PROFILE)}"
    )
    data = plain(path)
    assert (data["type"], data["extends"]) == ("profile", "base_multi_agent")
    assert run("pattern", "validate", "profiles/helper_agent.yaml").exit_code == 0
    resolved = run("pattern", "show", str(path), "--resolved", "--json").json()
    assert "messaging" in [c["name"] for c in resolved["components"]]


def test_new_stdout_prints_and_touches_nothing(
    run: RunFn, in_registry: Path, tmp_path: Path
) -> None:
    before, tip = snapshot(in_registry), head(in_registry)
    done = run(
        "pattern",
        "new",
        "printed",
        "--stdout",
        "--description",
        "a: colon # and hash",
        "--author",
        "Ada",
    )
    assert done.exit_code == 0
    assert done.stdout.startswith("# yaml-language-server: $schema=")
    assert snapshot(in_registry) == before
    assert head(in_registry) == tip
    data = load_plain(done.stdout, "<stdout>")
    assert data["description"] == "a: colon # and hash"
    assert data["author"] == "Ada"
    saved = write(tmp_path, "check/printed.yaml", done.stdout)
    assert run("pattern", "validate", saved).exit_code == 0


def test_new_commit_commits_the_skeleton(run: RunFn, in_registry: Path) -> None:
    tip = head(in_registry)
    done = run("pattern", "new", "committed_one", "--commit")
    assert done.exit_code == 0, done
    assert git(in_registry, "rev-parse", "HEAD~1").strip() == tip
    assert git(in_registry, "log", "-1", "--format=%s").strip() == "new(committed_one): skeleton"
    assert git(in_registry, "diff", "--name-only", tip, "HEAD").split() == [
        "orchestrations/committed_one.yaml"
    ]
    # the checked-out work tree got the file and stays clean
    assert (in_registry / "orchestrations" / "committed_one.yaml").is_file()
    assert git(in_registry, "status", "--porcelain") == ""
    assert run("pattern", "show", "committed_one", "--json").json()["name"] == "committed_one"


@pytest.mark.parametrize("existing", ["tournament_basic", "base_orchestrator"])
def test_new_refuses_an_existing_name(run: RunFn, in_registry: Path, existing: str) -> None:
    before, tip = snapshot(in_registry), head(in_registry)
    for extra in ([], ["--commit"], ["--profile"]):
        done = run("pattern", "new", existing, *extra)
        assert done.exit_code == 2, done
        assert f"{existing!r} already exists" in done.stderr
    assert snapshot(in_registry) == before
    assert head(in_registry) == tip


def test_new_refuses_a_file_already_in_the_work_tree(run: RunFn, in_registry: Path) -> None:
    assert run("pattern", "new", "drafty").exit_code == 0
    path = in_registry / "orchestrations" / "drafty.yaml"
    path.write_text("# my edits\n")
    done = run("pattern", "new", "drafty")
    assert done.exit_code == 2
    assert "already exists" in done.stderr
    assert path.read_text() == "# my edits\n"


def test_new_on_a_bare_registry_needs_commit(run: RunFn, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    assert run("registry", "init", "--bare", bare).exit_code == 0
    refused = run("pattern", "new", "x1", "--registry", bare)
    assert refused.exit_code == 2
    assert "bare" in refused.stderr
    done = run("pattern", "new", "x1", "--registry", bare, "--commit")
    assert done.exit_code == 0, done
    assert "orchestrations/x1.yaml" in git(bare, "ls-tree", "-r", "--name-only", "HEAD")


# -- release --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "expected"), [("major", "3.0.0"), ("minor", "2.1.0"), ("patch", "2.0.1")]
)
def test_release_bumps_commits_and_tags(
    run: RunFn, in_registry: Path, part: str, expected: str
) -> None:
    path = in_registry / "orchestrations" / "tournament_basic.yaml"
    before = path.read_text()
    tip = head(in_registry)
    done = run("pattern", "release", "tournament_basic", "--bump", part)
    assert done.exit_code == 0, done
    assert f"2.0.0 -> {expected}" in done.stdout
    tag = f"tournament_basic@{expected}"
    # one commit on top of the old tip, and an annotated tag on it
    assert git(in_registry, "rev-parse", "HEAD~1").strip() == tip
    assert git(in_registry, "cat-file", "-t", tag).strip() == "tag"
    assert git(in_registry, "rev-parse", f"{tag}^{{commit}}").strip() == head(in_registry)
    assert git(in_registry, "diff", "--name-only", tip, "HEAD").split() == [
        "orchestrations/tournament_basic.yaml"
    ]
    # only the version line changed, in the commit and in the refreshed work tree
    committed = git(in_registry, "show", "HEAD:orchestrations/tournament_basic.yaml")
    assert path.read_text() == committed
    assert git(in_registry, "status", "--porcelain") == ""
    changes = [
        line
        for line in difflib.unified_diff(before.splitlines(), committed.splitlines(), lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changes == ["-version: 2.0.0", f"+version: {expected}"]


@pytest.mark.parametrize("quote", ['"', "'", ""])
def test_release_keeps_the_quoting_of_the_version(
    run: RunFn, in_registry: Path, quote: str
) -> None:
    text = (
        "# a comment first\nname: quoted\ntype: orchestration\n"
        f"version: {quote}1.4.9{quote}   # the version\ndescription: x\n"
    )
    path = write(in_registry, "orchestrations/quoted.yaml", text)
    commit_all(in_registry, "quoted")
    done = run("pattern", "release", "quoted", "--bump", "patch", "--json")
    assert done.exit_code == 0, done
    assert done.json()["version"] == "1.4.10"
    assert done.json()["tag"] == "quoted@1.4.10"
    old_lines, new_lines = text.splitlines(), path.read_text().splitlines()
    assert len(new_lines) == len(old_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(changed) == 1
    # the comment keeps its column: the padding shrinks by the one character the value grew
    assert changed[0][1] == f"version: {quote}1.4.10{quote}  # the version"


def test_release_adds_a_missing_version_after_type(run: RunFn, in_registry: Path) -> None:
    text = "name: unversioned\ntype: orchestration\ndescription: x\n"
    path = write(in_registry, "orchestrations/unversioned.yaml", text)
    commit_all(in_registry, "unversioned")
    done = run("pattern", "release", "unversioned", "--bump", "minor")
    assert done.exit_code == 0, done
    assert path.read_text() == (
        "name: unversioned\ntype: orchestration\nversion: 0.1.0\ndescription: x\n"
    )
    assert git(in_registry, "tag", "--list").split() == ["unversioned@0.1.0"]


def test_release_refuses_an_existing_tag(run: RunFn, in_registry: Path) -> None:
    assert run("pattern", "release", "tournament_basic", "--bump", "minor").exit_code == 0
    path = in_registry / "orchestrations" / "tournament_basic.yaml"
    path.write_text(path.read_text().replace("version: 2.1.0", "version: 2.0.0"))
    tip = commit_all(in_registry, "back to 2.0.0")
    tag_target = git(in_registry, "rev-parse", "tournament_basic@2.1.0").strip()
    done = run("pattern", "release", "tournament_basic", "--bump", "minor")
    assert done.exit_code == 2
    assert done.stderr == "ksi: error: tag tournament_basic@2.1.0 already exists\n"
    assert head(in_registry) == tip
    assert git(in_registry, "rev-parse", "tournament_basic@2.1.0").strip() == tag_target
    assert git(in_registry, "status", "--porcelain") == ""


def test_release_refuses_a_version_that_is_not_semver(run: RunFn, in_registry: Path) -> None:
    write(in_registry, "orchestrations/odd.yaml", "name: odd\ntype: orchestration\nversion: v2\n")
    tip = commit_all(in_registry, "odd")
    done = run("pattern", "release", "odd")
    assert done.exit_code == 2
    assert "is not semantic" in done.stderr
    assert head(in_registry) == tip
    assert git(in_registry, "tag", "--list") == ""


def test_release_of_an_unknown_pattern(run: RunFn, in_registry: Path) -> None:
    done = run("pattern", "release", "ghost")
    assert done.exit_code == 2
    assert "no pattern or profile named 'ghost'" in done.stderr


def test_release_on_a_bare_registry(run: RunFn, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    assert run("registry", "init", "--bare", bare).exit_code == 0
    done = run("pattern", "release", "consensus_builder", "--registry", bare, "--bump", "major")
    assert done.exit_code == 0, done
    assert git(bare, "cat-file", "-t", "consensus_builder@2.0.0").strip() == "tag"
    shown = run("pattern", "show", "consensus_builder@2.0.0", "--registry", bare, "--json")
    assert shown.json()["version"] == "2.0.0"


def test_release_refuses_a_decision_log(run: RunFn, in_registry: Path) -> None:
    tip = head(in_registry)
    done = run("pattern", "release", "adaptive_tournament_v2_decisions")
    assert done.exit_code == 2
    assert "Traceback" not in done.output
    assert done.stderr == (
        "ksi: error: orchestrations/adaptive_tournament_v2_decisions.yaml is not a pattern or "
        "profile (a mapping); it has no version\n"
    )
    assert head(in_registry) == tip


def test_release_leaves_a_modified_work_tree_copy_alone(run: RunFn, in_registry: Path) -> None:
    path = in_registry / "orchestrations" / "tournament_basic.yaml"
    edited = path.read_text().replace("name: tournament_basic\n", "name: tournament_basic\n# wip\n")
    path.write_text(edited)
    done = run("pattern", "release", "tournament_basic", "--bump", "patch")
    assert done.exit_code == 0, done
    assert "orchestrations/tournament_basic.yaml has local changes" in done.stderr
    assert path.read_text() == edited  # the user's edit is kept...
    committed = git(in_registry, "show", "HEAD:orchestrations/tournament_basic.yaml")
    assert "version: 2.0.1\n" in committed  # ...and the release is committed without it
    assert "# wip" not in committed
