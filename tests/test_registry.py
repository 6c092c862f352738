"""The library under the CLI: names and references, finding documents, the catalog, `extends`,
new-document skeletons and releases, on real repositories."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from conftest import STARTER, commit_all, git, head
from ksi_patterns.documents.extends import ExtendsCycleError, deep_merge, extends_chain, resolve
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.model import (
    Reference,
    bump_version,
    capabilities_of,
    check_name,
    decisions_path,
    extends_of,
    is_document_path,
    lineage_of,
    parse_reference,
    pattern_path,
    stem,
    tags_of,
)
from ksi_patterns.documents.schema import DocumentKind, schema_violations
from ksi_patterns.documents.skeleton import skeleton
from ksi_patterns.errors import ConflictError, NotFoundError, UsageError
from ksi_patterns.finding.catalog import entries
from ksi_patterns.lineage.release import release
from ksi_patterns.registry.registry import (
    default_registry_path,
    enclosing_registry,
    init_registry,
    open_registry,
    starter_files,
)

# -- names and references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["a", "tournament_basic", "v2.1", "x-y_z.0", "0start", "a" * 100, "a.", "a-"]
)
def test_valid_names(name: str) -> None:
    assert check_name(name) == name
    assert pattern_path(name) == f"orchestrations/{name}.yaml"
    assert decisions_path(name) == f"orchestrations/{name}_decisions.yaml"


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a..b",
        "../x",
        "a/b",
        "a\\b",
        "/abs",
        "A",
        "_x",
        "-x",
        ".hidden",
        "a b",
        "a\x00",
        "a\n",
        "é",
        "a" * 101,
        "x:y",
    ],
)
def test_invalid_names_never_become_paths(name: str) -> None:
    with pytest.raises(UsageError, match="invalid pattern name"):
        check_name(name)
    with pytest.raises(UsageError):
        pattern_path(name)
    with pytest.raises(UsageError):
        decisions_path(name)


def test_check_name_refuses_non_strings() -> None:
    with pytest.raises(UsageError):
        check_name(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "name", "at", "is_version", "git_ref"),
    [
        ("p", "p", None, False, "HEAD"),
        ("p@2.1.0", "p", "2.1.0", True, "p@2.1.0"),
        ("p@1.0.0-rc.1+build.5", "p", "1.0.0-rc.1+build.5", True, "p@1.0.0-rc.1+build.5"),
        ("p@main", "p", "main", False, "main"),
        ("p@fork/q", "p", "fork/q", False, "fork/q"),
        ("p@1.0", "p", "1.0", False, "1.0"),
        ("p@0123abc", "p", "0123abc", False, "0123abc"),
        ("p@1.0.0\n", "p", "1.0.0\n", False, "1.0.0\n"),  # not a version: a trailing newline
    ],
)
def test_references(text: str, name: str, at: str | None, is_version: bool, git_ref: str) -> None:
    ref = parse_reference(text)
    assert ref == Reference(name, at)
    assert ref.is_version is is_version
    assert ref.git_ref == git_ref
    assert str(ref) == text


@pytest.mark.parametrize("text", ["p@", "@main", "../p@main", "P@1.0.0"])
def test_bad_references(text: str) -> None:
    with pytest.raises(UsageError):
        parse_reference(text)


@pytest.mark.parametrize(
    ("version", "part", "expected"),
    [
        ("1.2.3", "major", "2.0.0"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "patch", "1.2.4"),
        ("0.0.9", "patch", "0.0.10"),
        ("9.9.9", "minor", "9.10.0"),
    ],
)
def test_bump_version(version: str, part: Any, expected: str) -> None:
    assert bump_version(version, part) == expected


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0.0", "", "one", "1.0.0\n"])
def test_bump_refuses_versions_that_are_not_semantic(version: str) -> None:
    with pytest.raises(UsageError, match="not semantic"):
        bump_version(version, "patch")


def test_stem_and_document_paths() -> None:
    assert stem("orchestrations/a.yaml") == "a"
    assert stem("profiles/agents/x/b.yml") == "b"
    assert stem("c.tar.yaml") == "c.tar"
    assert is_document_path("orchestrations/a.yaml")
    assert is_document_path("profiles/deep/er/b.yml")
    assert not is_document_path("ksi-registry.yaml")
    assert not is_document_path("other/a.yaml")
    assert not is_document_path("orchestrations/readme.md")


def test_fields_are_read_from_the_top_or_from_metadata() -> None:
    top = {"tags": ["a"], "capabilities_required": ["c"], "lineage": {"parent": "p@1.0.0"}}
    old = {"metadata": {"tags": ["b"], "capabilities_required": ["d"], "lineage": {"x": 1}}}
    assert (tags_of(top), capabilities_of(top), lineage_of(top)) == (
        ["a"],
        ["c"],
        {"parent": "p@1.0.0"},
    )
    assert (tags_of(old), capabilities_of(old), lineage_of(old)) == (["b"], ["d"], {"x": 1})
    both = {"tags": ["top"], "metadata": {"tags": ["meta"]}}
    assert tags_of(both) == ["top"]
    for odd in (None, [], "text", {"tags": "not-a-list"}, {"metadata": "x"}, {"lineage": [1]}):
        assert tags_of(odd) == []
        assert lineage_of(odd) == {}
    assert extends_of({"extends": "p"}) == "p"
    for odd in ({"extends": ""}, {"extends": None}, {"extends": ["p"]}, [], None):
        assert extends_of(odd) is None


# -- creating and finding registries --------------------------------------------------------------


def test_starter_files_are_the_shipped_registry() -> None:
    files = starter_files()
    expected = {p.relative_to(STARTER).as_posix() for p in STARTER.rglob("*") if p.is_file()}
    assert set(files) == expected | {".gitattributes"}
    assert set(starter_files(empty=True)) == {"ksi-registry.yaml", ".gitattributes"}
    for path in expected:
        assert files[path] == (STARTER / path).read_bytes()


def test_every_starter_document_is_valid() -> None:
    for path in STARTER.rglob("*.yaml"):
        data = load_plain(path.read_bytes(), str(path))
        from ksi_patterns.documents.schema import kind_of

        kind = kind_of(data, path.name)
        assert kind is not None, path
        assert schema_violations(data, kind) == [], path


def test_init_registry_and_open_it(tmp_path: Path) -> None:
    made = init_registry(tmp_path / "reg", name="team")
    assert made.config()["name"] == "team"
    opened = open_registry(tmp_path / "reg")
    assert opened.location == made.location
    assert git(tmp_path / "reg", "rev-list", "--count", "HEAD").strip() == "1"
    with pytest.raises(UsageError):
        init_registry(tmp_path / "reg")


def test_open_registry_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("explicit", "env", "enclosing"):
        init_registry(tmp_path / name, name=name)
    inside = tmp_path / "enclosing" / "profiles"
    monkeypatch.setenv("KSI_REGISTRY", str(tmp_path / "env"))
    assert open_registry(tmp_path / "explicit", cwd=inside).config()["name"] == "explicit"
    assert open_registry(cwd=inside).config()["name"] == "env"
    monkeypatch.delenv("KSI_REGISTRY")
    assert open_registry(cwd=inside).config()["name"] == "enclosing"
    assert enclosing_registry(inside) is not None
    assert enclosing_registry(tmp_path) is None
    default = open_registry(cwd=tmp_path)
    assert default.location == default_registry_path()
    assert default_registry_path().is_relative_to(tmp_path)  # the isolated XDG_DATA_HOME


def test_open_registry_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        open_registry(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotFoundError, match="not a git repository"):
        open_registry(tmp_path / "plain")


@pytest.fixture
def reg(tmp_path: Path) -> Path:
    init_registry(tmp_path / "reg")
    return tmp_path / "reg"


def add(reg: Path, files: dict[str, str], message: str = "add") -> str:
    for relative, text in files.items():
        path = reg / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return commit_all(reg, message)


def test_find_by_name_prefers_patterns_and_reports_ambiguity(reg: Path) -> None:
    add(
        reg,
        {
            "profiles/tournament_basic.yaml": "name: tournament_basic\ntype: profile\n",
            "profiles/a/twin.yaml": "name: twin\ntype: profile\n",
            "profiles/b/twin.yaml": "name: twin\ntype: profile\n",
        },
    )
    registry = open_registry(reg)
    assert registry.find("tournament_basic") == "orchestrations/tournament_basic.yaml"
    assert registry.find("tournament_basic", folder="profiles") == (
        "profiles/tournament_basic.yaml"
    )
    with pytest.raises(UsageError, match="ambiguous") as caught:
        registry.find("twin")
    assert "profiles/a/twin.yaml, profiles/b/twin.yaml" in str(caught.value)
    with pytest.raises(NotFoundError):
        registry.find("nobody")
    with pytest.raises(UsageError):
        registry.find("../ksi-registry")


def test_find_at_a_revision(reg: Path) -> None:
    first = head(reg)
    add(reg, {"orchestrations/later.yaml": "name: later\ntype: orchestration\n"})
    registry = open_registry(reg)
    assert registry.find("later") == "orchestrations/later.yaml"
    with pytest.raises(NotFoundError):
        registry.find("later", first)
    assert registry.lookup(first)("later") is None
    assert registry.lookup()("later") == {"name": "later", "type": "orchestration"}


def test_catalog_entries(reg: Path) -> None:
    add(
        reg,
        {
            "orchestrations/legacy.yaml": (
                "name: legacy\ntype: orchestration\nversion: 1.0\ndescription: |\n"
                "  two\n  lines\nmetadata:\n  tags: [old]\n  lineage:\n    parent: x@1.0.0\n"
            ),
            "orchestrations/nameless.yaml": "type: orchestration\n",
            "orchestrations/broken.yaml": "name: [\n",
            "orchestrations/notes.yaml": "just: notes\n",
        },
    )
    errors: list[str] = []
    rows = entries(open_registry(reg), on_error=lambda err: errors.append(str(err)))
    by_name = {row.name: row for row in rows}
    legacy = by_name["legacy"]
    assert legacy.version == "1.0"  # a float as written becomes its text
    assert legacy.description == "two lines"
    assert legacy.tags == ["old"]
    assert legacy.parent == "x@1.0.0"
    assert by_name["nameless"].kind == "orchestration"  # falls back to the file name
    assert "notes" not in by_name  # not a ksi document
    assert errors and errors[0].startswith("orchestrations/broken.yaml:")
    kinds = [row.kind for row in rows]
    assert kinds == sorted(kinds, key=lambda k: (k != "orchestration", k))
    assert [r.name for r in entries(open_registry(reg), kind="profile")] == [
        "base_multi_agent",
        "base_orchestrator",
    ]
    tagged = entries(open_registry(reg), tags=["tournament", "adaptive"])
    assert [r.name for r in tagged] == ["adaptive_tournament_v2"]


# -- extends --------------------------------------------------------------------------------------


def lookup_of(documents: dict[str, Any]) -> Any:
    return lambda name: documents.get(name)


def test_deep_merge_maps_by_key_and_named_lists_by_name() -> None:
    parent = {
        "a": 1,
        "m": {"x": 1, "y": {"deep": True, "keep": "me"}},
        "components": [{"name": "one", "v": 1}, {"name": "two", "v": 2}],
        "plain_list": [1, 2, 3],
        "unnamed": [{"v": 1}],
    }
    child = {
        "m": {"y": {"deep": False}, "z": 3},
        "components": [{"name": "two", "v": 20}, {"name": "three", "v": 3}],
        "plain_list": [9],
        "unnamed": [{"v": 2}],
        "b": None,
    }
    before = copy.deepcopy(parent), copy.deepcopy(child)
    merged = deep_merge(parent, child)
    assert merged == {
        "a": 1,
        "m": {"x": 1, "y": {"deep": False, "keep": "me"}, "z": 3},
        "components": [
            {"name": "one", "v": 1},
            {"name": "two", "v": 20},
            {"name": "three", "v": 3},
        ],
        "plain_list": [9],
        "unnamed": [{"v": 2}],
        "b": None,
    }
    assert (parent, child) == before  # neither input is changed


def test_named_lists_with_duplicate_names_are_replaced_not_merged() -> None:
    parent = {"c": [{"name": "a"}, {"name": "a"}]}
    child = {"c": [{"name": "b"}]}
    assert deep_merge(parent, child) == child


def test_resolve_follows_the_chain_and_keeps_extends_as_written() -> None:
    docs = {
        "base": {"name": "base", "level": 0, "m": {"from_base": 1}},
        "mid": {"name": "mid", "extends": "base", "level": 1, "m": {"from_mid": 1}},
        "leaf": {"name": "leaf", "extends": "mid", "m": {"from_base": 2}},
    }
    assert extends_chain("leaf", lookup_of(docs)) == ["leaf", "mid", "base"]
    resolved = resolve("leaf", lookup_of(docs))
    assert resolved == {
        "name": "leaf",
        "level": 1,
        "m": {"from_base": 2, "from_mid": 1},
        "extends": "mid",
    }
    # a document without a parent resolves to itself, gaining no `extends`
    assert resolve("base", lookup_of(docs)) == docs["base"]


def test_resolve_errors_show_the_chain() -> None:
    docs = {
        "a": {"name": "a", "extends": "b"},
        "b": {"name": "b", "extends": "c"},
        "c": {"name": "c", "extends": "a"},
        "orphan": {"name": "orphan", "extends": "gone"},
        "self": {"name": "self", "extends": "self"},
        "odd": {"name": "odd", "extends": "weird"},
        "weird": {"name": "weird", "extends": 5},
        "to_log": {"name": "to_log", "extends": "log"},
        "log": [{"decision": "x"}],
    }
    with pytest.raises(ExtendsCycleError, match=r"extends cycle: a -> b -> c -> a"):
        resolve("a", lookup_of(docs))
    with pytest.raises(ExtendsCycleError, match=r"self -> self"):
        resolve("self", lookup_of(docs))
    with pytest.raises(NotFoundError, match=r"\(orphan -> gone\)"):
        resolve("orphan", lookup_of(docs))
    with pytest.raises(NotFoundError):
        resolve("nobody", lookup_of(docs))
    with pytest.raises(UsageError, match="'weird' extends 5, which is not a name"):
        resolve("odd", lookup_of(docs))
    with pytest.raises(UsageError, match="'log' is not a pattern or profile"):
        resolve("to_log", lookup_of(docs))


# -- skeletons ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [DocumentKind.PATTERN, DocumentKind.PROFILE])
@pytest.mark.parametrize(
    "description",
    [
        None,
        "plain words",
        "a: colon",
        "# hash first",
        "trailing #hash",
        "- dash",
        "'quoted'",
        "@at",
        "multi\nline",
        "yes",
        "ünïcödé",
    ],
)
def test_skeletons_are_valid_and_keep_the_text_given(
    kind: DocumentKind, description: str | None
) -> None:
    text = skeleton("fresh", kind, author="Ada: Lovelace", description=description)
    data = load_plain(text, "fresh.yaml")
    assert schema_violations(data, kind) == []
    assert data["name"] == "fresh"
    assert data["author"] == "Ada: Lovelace"
    if description is not None:
        assert data["description"] == description.strip()
    assert text.startswith("# yaml-language-server: $schema=https://")


def test_skeleton_refuses_bad_names() -> None:
    with pytest.raises(UsageError):
        skeleton("../x")
    with pytest.raises(UsageError):
        skeleton("fine", extends="../x")


# -- releases -------------------------------------------------------------------------------------


def test_release_api_on_another_branch(reg: Path) -> None:
    git(reg, "branch", "side")
    registry = open_registry(reg)
    main_tip = head(reg)
    done = release(registry, "consensus_builder", "minor", branch="side")
    assert (done.old_version, done.version, done.tag) == (
        "1.1.0",
        "1.2.0",
        "consensus_builder@1.2.0",
    )
    assert head(reg) == main_tip  # main did not move; the working tree was not touched
    assert git(reg, "rev-parse", "side").strip() == done.commit_id
    assert git(reg, "status", "--porcelain") == ""
    with pytest.raises(ConflictError, match="already exists"):
        release(registry, "consensus_builder", "minor")  # main is still at 1.1.0
    assert head(reg) == main_tip


def test_release_refuses_when_the_tag_exists(reg: Path) -> None:
    registry = open_registry(reg)
    git(reg, "tag", "tournament_basic@2.0.1")
    tip = head(reg)
    with pytest.raises(ConflictError, match="already exists"):
        release(registry, "tournament_basic", "patch")
    assert head(reg) == tip


def test_release_keeps_the_rest_of_the_file_byte_for_byte(reg: Path) -> None:
    registry = open_registry(reg)
    for name in ("adaptive_tournament_v2", "base_orchestrator"):
        path = registry.find(name)
        before = (reg / path).read_text()
        done = release(registry, name, "major")
        after = (reg / path).read_text()
        assert after == before.replace(
            f"version: {done.old_version}\n", f"version: {done.version}\n", 1
        )
        assert before != after
