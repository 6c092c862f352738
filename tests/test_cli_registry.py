"""`ksi registry init / info` and where commands find their registry, on real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import STARTER, RunFn, commit_all, git, head, snapshot

STARTER_FILES = sorted(p.relative_to(STARTER).as_posix() for p in STARTER.rglob("*") if p.is_file())


def tracked(path: Path, rev: str = "HEAD") -> list[str]:
    return sorted(git(path, "ls-tree", "-r", "--name-only", rev).split())


# -- the `run` fixture itself -------------------------------------------------------------------


def test_run_turns_a_ksi_error_into_exit_2_with_one_line_on_stderr(
    run: RunFn, tmp_path: Path
) -> None:
    (tmp_path / "plain").mkdir()
    done = run("registry", "info", "--registry", tmp_path / "plain")
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.startswith("ksi: error: ")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.output


def test_run_fails_the_test_when_the_cli_raises_anything_else(
    run: RunFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ksi_patterns.registry.registry

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(ksi_patterns.registry.registry, "open_registry", broken)
    with pytest.raises(pytest.fail.Exception, match=r"(?s)raised instead of exiting.*boom"):
        run("registry", "info")


def test_run_reports_usage_errors_from_typer_as_exit_2(run: RunFn) -> None:
    done = run("pattern", "list", "--no-such-option")
    assert done.exit_code == 2
    assert "No such option" in done.stderr


def test_version_and_help(run: RunFn) -> None:
    from ksi_patterns import __version__

    assert run("--version").stdout == f"ksi {__version__}\n"
    helped = run("--help")
    assert helped.exit_code == 0
    for group in ("registry", "pattern"):
        assert group in helped.stdout


# -- init -----------------------------------------------------------------------------------------


def test_init_makes_one_clean_commit_with_the_starter_registry(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "reg"
    done = run("registry", "init", target)
    assert done.exit_code == 0, done
    assert "7 documents" in done.stdout
    assert git(target, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(target, "branch", "--show-current").strip() == "main"
    files = tracked(target)
    assert files == sorted([*STARTER_FILES, ".gitattributes"])
    assert "ksi-registry.yaml" in files
    assert any(f.startswith("orchestrations/") for f in files)
    assert any(f.startswith("profiles/") for f in files)
    # the real git sees a clean work tree: nothing untracked, modified or staged
    assert git(target, "status", "--porcelain", "--untracked-files=all") == ""
    for name in STARTER_FILES:
        assert (target / name).read_bytes() == (STARTER / name).read_bytes(), name
    attributes = (target / ".gitattributes").read_text()
    assert "*.yaml merge=ksi" in attributes


def test_init_defaults_to_the_current_folder(
    run: RunFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    done = run("registry", "init")
    assert done.exit_code == 0, done
    assert (here / "ksi-registry.yaml").is_file()
    assert git(here, "status", "--porcelain") == ""


def test_init_creates_missing_parent_folders(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "reg"
    assert run("registry", "init", target).exit_code == 0
    assert (target / "ksi-registry.yaml").is_file()


def test_init_name_goes_into_the_configuration(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "reg"
    assert run("registry", "init", target, "--name", "team").exit_code == 0
    info = run("registry", "info", "--json", "--registry", target)
    assert info.json()["name"] == "team"
    assert git(target, "status", "--porcelain") == ""


def test_init_refuses_an_invalid_name_and_writes_nothing(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "reg"
    done = run("registry", "init", target, "--name", "../evil")
    assert done.exit_code == 2
    assert "invalid registry name" in done.stderr
    assert not target.exists()


def test_init_refuses_an_existing_registry(run: RunFn, registry_dir: Path) -> None:
    before, tip = snapshot(registry_dir), head(registry_dir)
    done = run("registry", "init", registry_dir)
    assert done.exit_code == 2
    assert "not overwriting" in done.stderr
    assert snapshot(registry_dir) == before
    assert head(registry_dir) == tip


def test_init_refuses_an_existing_git_repository(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "repo"
    target.mkdir()
    git(target, "init", "-q")
    done = run("registry", "init", target)
    assert done.exit_code == 2
    assert not (target / "ksi-registry.yaml").exists()


def test_init_refuses_a_non_empty_folder_and_writes_nothing(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "notes"
    target.mkdir()
    (target / "todo.txt").write_text("buy milk\n")
    done = run("registry", "init", target)
    assert done.exit_code == 2
    assert "not empty" in done.stderr
    assert sorted(p.name for p in target.iterdir()) == ["todo.txt"]


def test_init_refuses_a_file(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x\n")
    done = run("registry", "init", target)
    assert done.exit_code == 2
    assert target.read_text() == "x\n"


def test_init_empty_has_only_the_configuration(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "reg"
    done = run("registry", "init", target, "--empty")
    assert done.exit_code == 0, done
    assert "0 documents" in done.stdout
    assert tracked(target) == [".gitattributes", "ksi-registry.yaml"]
    assert git(target, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(target, "status", "--porcelain", "--untracked-files=all") == ""
    listed = run("pattern", "list", "--json", "--registry", target)
    assert listed.exit_code == 0
    assert listed.json() == []
    assert run("pattern", "validate", "--registry", target).exit_code == 0


def test_init_bare_serves_list_show_and_validate(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "shared.git"
    done = run("registry", "init", "--bare", target)
    assert done.exit_code == 0, done
    assert git(target, "rev-parse", "--is-bare-repository").strip() == "true"
    assert not (target / "ksi-registry.yaml").exists()  # no work tree
    assert tracked(target) == sorted([*STARTER_FILES, ".gitattributes"])

    listed = run("pattern", "list", "--json", "--registry", target)
    assert listed.exit_code == 0, listed
    assert {row["name"] for row in listed.json()} >= {"tournament_basic", "base_orchestrator"}

    shown = run("pattern", "show", "tournament_basic", "--registry", target)
    assert shown.exit_code == 0, shown
    assert shown.stdout == (STARTER / "orchestrations" / "tournament_basic.yaml").read_text()

    resolved = run(
        "pattern", "show", "adaptive_tournament_v2", "--resolved", "--json", "--registry", target
    )
    assert resolved.exit_code == 0, resolved
    assert "coordinator" in resolved.json()["agents"]

    checked = run("pattern", "validate", "--registry", target)
    assert checked.exit_code == 0, checked
    assert "8 file(s) valid" in checked.stderr

    info = run("registry", "info", "--json", "--registry", target).json()
    assert info["bare"] is True
    assert info["documents"] == 7


def test_init_refuses_an_existing_bare_repository(run: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "shared.git"
    assert run("registry", "init", "--bare", target).exit_code == 0
    tip = git(target, "rev-parse", "HEAD")
    done = run("registry", "init", "--bare", target)
    assert done.exit_code == 2
    assert git(target, "rev-parse", "HEAD") == tip


# -- where the registry is ------------------------------------------------------------------------


def _location(run: RunFn, *args: str | Path, env: dict[str, str | None] | None = None) -> str:
    done = run("registry", "info", "--json", *args, env=env)
    assert done.exit_code == 0, done
    return str(done.json()["location"]).rstrip("/")


@pytest.fixture
def three(run: RunFn, tmp_path: Path) -> dict[str, Path]:
    found = {}
    for label in ("flag", "env", "cwd"):
        path = tmp_path / label
        assert run("registry", "init", path, "--name", label).exit_code == 0
        found[label] = path
    return found


def test_lookup_prefers_the_flag_then_the_environment_then_the_enclosing_folder(
    run: RunFn, three: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(three["cwd"] / "orchestrations")
    env: dict[str, str | None] = {"KSI_REGISTRY": str(three["env"])}
    assert _location(run, "--registry", three["flag"], env=env) == str(three["flag"])
    assert _location(run, env=env) == str(three["env"])
    assert _location(run) == str(three["cwd"])
    names = run("registry", "info", "--json").json()["name"]
    assert names == "cwd"


def test_lookup_finds_the_nearest_enclosing_registry_from_a_deep_sub_folder(
    run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = registry_dir / "orchestrations" / "drafts" / "more"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert _location(run) == str(registry_dir)
    listed = run("pattern", "list", "--json")
    assert {r["name"] for r in listed.json()} >= {"tournament_basic"}


def test_default_registry_is_created_on_first_use_under_xdg_data_home(
    run: RunFn, tmp_path: Path, isolated: Path
) -> None:
    default = isolated / "ksi-patterns" / "registry"
    assert not default.exists()
    listed = run("pattern", "list", "--json")
    assert listed.exit_code == 0, listed
    assert {r["name"] for r in listed.json()} == {
        "adaptive_pipeline",
        "adaptive_tournament_v2",
        "adaptive_tournament_v2_decisions",
        "consensus_builder",
        "tournament_basic",
        "base_multi_agent",
        "base_orchestrator",
    }
    assert (default / "ksi-registry.yaml").is_file()
    assert git(default, "rev-list", "--count", "HEAD").strip() == "1"
    tip = head(default)
    # the second use opens it again; it is not re-created
    assert _location(run) == str(default)
    assert head(default) == tip
    # nothing was written into the current folder
    assert not (tmp_path / "ksi-registry.yaml").exists()
    assert not (tmp_path / ".git").exists()


@pytest.mark.parametrize("origin", ["flag", "env"])
def test_a_folder_that_is_not_a_registry_is_a_clear_error(
    run: RunFn, tmp_path: Path, origin: str
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    if origin == "flag":
        done = run("pattern", "list", "--registry", plain)
    else:
        done = run("pattern", "list", env={"KSI_REGISTRY": str(plain)})
    assert done.exit_code == 2
    label = "--registry" if origin == "flag" else "KSI_REGISTRY"
    assert done.stderr == f"ksi: error: {plain} ({label}) is not a git repository\n"
    assert list(plain.iterdir()) == []


@pytest.mark.parametrize("with_commit", [False, True], ids=["empty-repo", "repo-with-commit"])
def test_a_git_repository_without_configuration_is_not_a_registry(
    run: RunFn, tmp_path: Path, with_commit: bool
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    if with_commit:
        (repo / "README").write_text("hello\n")
        commit_all(repo, "readme")
    done = run("pattern", "list", "--registry", repo)
    assert done.exit_code == 2
    assert "is not a ksi registry: no ksi-registry.yaml" in done.stderr
    assert done.stderr.count("\n") == 1


def test_a_missing_registry_folder_says_how_to_create_it(run: RunFn, tmp_path: Path) -> None:
    done = run("pattern", "list", "--registry", tmp_path / "nowhere")
    assert done.exit_code == 2
    assert "does not exist" in done.stderr
    assert "ksi registry init" in done.stderr
    assert not (tmp_path / "nowhere").exists()


def test_info_reports_the_registry(run: RunFn, registry_dir: Path) -> None:
    facts = run("registry", "info", "--json", "--registry", registry_dir).json()
    assert facts == {
        "location": facts["location"],
        "name": "default",
        "branch": "main",
        "bare": False,
        "documents": 7,
    }
    assert Path(facts["location"]).resolve() == registry_dir.resolve()
    text = run("registry", "info", "--registry", registry_dir)
    assert "branch:" in text.stdout and "main" in text.stdout
