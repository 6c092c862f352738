"""Sharing a registry: clone, remotes, push, pull and sync against real remotes; CI files.

The sharing scenarios run against a bare registry (`ksi registry init --bare`) served by a real
`git daemon --enable=receive-pack` on 127.0.0.1 (git:// URLs: pushes go through receive-pack and
its hooks, like a real server) and, where the transport matters, against the same kind of bare
repository given as a path (libgit2 then writes the refs itself). Two clones edit and sync.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO_ROOT, RunFn, commit_all, git, head
from gitdaemon import GitDaemon, unavailable
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.merge.markers import take_side

PATTERN = "orchestrations/adaptive_tournament_v2.yaml"
DECISIONS = "orchestrations/adaptive_tournament_v2_decisions.yaml"
DECISION = """  - id: {id}
    timestamp: "2026-01-0{day}T10:00:00Z"
    pattern: adaptive_tournament_v2
    agent_id: {agent}
    decision: {agent}_tuned_rounds
    context: {{round: {day}}}
    outcome: fewer_timeouts
    confidence: 0.7
"""
ORIGINAL_IDS = ("01JZTJ1V18FJV9XZJP542CVCQN", "01JZTJR8T06ESRZXP4WVCHRH5J")


@dataclass(frozen=True)
class Shared:
    """A bare registry every clone pushes to, and the URL they use."""

    kind: str  # "daemon" or "path"
    url: str
    bare: Path
    daemon: GitDaemon | None = None

    def tip(self, branch: str = "main") -> str:
        return git(self.bare, "rev-parse", f"refs/heads/{branch}").strip()

    def tree(self, branch: str = "main") -> str:
        return git(self.bare, "rev-parse", f"refs/heads/{branch}^{{tree}}").strip()


def _serve(kind: str, tmp_path: Path, run: RunFn) -> Iterator[Shared]:
    base = tmp_path / "served"
    bare = base / "team.git"
    made = run("registry", "init", "--bare", bare)
    assert made.exit_code == 0, made
    if kind == "path":
        yield Shared(kind, str(bare), bare)
        return
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with GitDaemon.start(base) as daemon:
        yield Shared(kind, daemon.url("team.git"), bare, daemon)


@pytest.fixture(params=["daemon", "path"])
def shared(request: pytest.FixtureRequest, tmp_path: Path, run: RunFn) -> Iterator[Shared]:
    yield from _serve(request.param, tmp_path, run)


@pytest.fixture
def served(tmp_path: Path, run: RunFn) -> Iterator[Shared]:
    """Only the git daemon (for what a local path cannot show: server hooks)."""
    yield from _serve("daemon", tmp_path, run)


def clone(run: RunFn, shared: Shared, name: str) -> Path:
    target = shared.bare.parent.parent / name
    done = run("registry", "clone", shared.url, target)
    assert done.exit_code == 0, done
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} not once in {path}"
    path.write_text(text.replace(old, new))


def append_decision(repo: Path, ident: str, agent: str, day: int) -> None:
    path = repo / DECISIONS
    text = path.read_text()
    assert text.endswith("\n")
    path.write_text(text + DECISION.format(id=ident, agent=agent, day=day))


def tree(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD^{tree}").strip()


def plain(repo: Path, path: str) -> Any:
    return load_plain((repo / path).read_bytes(), path)


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=no")


# ---------------------------------------------------------------------------------------------
# Two clones, one remote


def test_two_clones_edit_the_same_pattern_and_log_and_converge(shared: Shared, run: RunFn) -> None:
    alice, bob = clone(run, shared, "alice"), clone(run, shared, "bob")
    edit(alice / PATTERN, "  runs: 47\n", "  runs: 48\n")
    append_decision(alice, "01KAAAAAAAAAAAAAAAAAAAAAAA", "alice", 1)
    commit_all(alice, "alice: one more run, a decision")
    edit(bob / PATTERN, "success_rate: 0.93", "success_rate: 0.95")
    append_decision(bob, "01KBBBBBBBBBBBBBBBBBBBBBBB", "bob", 2)
    commit_all(bob, "bob: success rate, a decision")

    first = run("registry", "sync", "-R", alice, "--json")
    assert first.exit_code == 0, first
    assert first.json()["pushed"] is True and first.json()["pulls"][0]["action"] == "up-to-date"
    second = run("registry", "sync", "-R", bob, "--json")  # bob must merge
    assert second.exit_code == 0, second
    report = second.json()
    pulled = report["pulls"][-1]
    assert pulled["action"] == "merged", report
    assert pulled["conflicts"] == [] and pulled["fallbacks"] == {}
    assert sorted(pulled["changed"]) == sorted([DECISIONS, PATTERN])
    assert report["pushed"] is True
    assert [u["ref"] for u in report["push"]["pushed"]] == ["refs/heads/main"]
    third = run("registry", "pull", "-R", alice)  # alice catches up: a fast-forward
    assert third.exit_code == 0, third
    assert "Fast-forwarded main to origin/main" in third.stdout

    assert tree(alice) == tree(bob) == shared.tree()
    assert head(alice) == head(bob) == shared.tip()
    merge_parents = git(bob, "rev-list", "--parents", "-n", "1", "HEAD").split()[1:]
    assert len(merge_parents) == 2
    for repo in (alice, bob):
        assert status(repo) == ""  # the work tree follows the branch
        pattern = plain(repo, PATTERN)
        assert pattern["performance"]["runs"] == 48
        assert pattern["performance"]["success_rate"] == 0.95
        ids = [entry["id"] for entry in plain(repo, DECISIONS)]
        assert sorted(ids[-2:]) == ["01KAAAAAAAAAAAAAAAAAAAAAAA", "01KBBBBBBBBBBBBBBBBBBBBBBB"]
        assert set(ORIGINAL_IDS) <= set(ids) and len(ids) == len(set(ids))
    assert run("pattern", "validate", "-R", alice).exit_code == 0
    assert "Receiving objects" not in second.stderr  # no progress bars when piped


def test_a_true_conflict_stops_the_sync_and_pushes_nothing(shared: Shared, run: RunFn) -> None:
    alice, bob = clone(run, shared, "alice"), clone(run, shared, "bob")
    edit(alice / PATTERN, "avg_score: 0.82", "avg_score: 0.85")
    commit_all(alice, "alice: avg_score")
    edit(bob / PATTERN, "avg_score: 0.82", "avg_score: 0.8")
    append_decision(bob, "01KCCCCCCCCCCCCCCCCCCCCCCC", "bob", 3)
    commit_all(bob, "bob: avg_score")
    assert run("registry", "sync", "-R", alice).exit_code == 0
    remote_before, bob_before = shared.tip(), head(bob)

    stopped = run("registry", "sync", "-R", bob, "--json")
    assert stopped.exit_code == 1, stopped
    report = stopped.json()
    assert report["push"] is None and report["pushed"] is False
    assert report["pulls"][-1]["action"] == "conflicts"
    assert report["pulls"][-1]["conflicts"] == [
        {
            "file": PATTERN,
            "path": "performance.avg_score",
            "kind": "both-modified",
            "base": 0.82,
            "ours": 0.8,
            "theirs": 0.85,
        }
    ]
    assert shared.tip() == remote_before  # nothing pushed
    assert head(bob) == bob_before  # nothing committed
    assert "<<<<<<<" in (bob / PATTERN).read_text()

    again = run("registry", "sync", "-R", bob)  # the text form says what to do
    assert again.exit_code == 2 and "in progress" in again.stderr

    # The same workflow as `ksi pattern merge`: resolve, --continue, then share.
    (bob / PATTERN).write_text(take_side((bob / PATTERN).read_text(), "theirs"))
    finished = run("registry", "merge", "--continue", "-R", bob)
    assert finished.exit_code == 0, finished
    assert run("registry", "push", "-R", bob).exit_code == 0
    assert run("registry", "pull", "-R", alice).exit_code == 0
    assert tree(alice) == tree(bob) == shared.tree()
    assert plain(alice, PATTERN)["performance"]["avg_score"] == 0.85
    assert plain(alice, DECISIONS)[-1]["id"] == "01KCCCCCCCCCCCCCCCCCCCCCCC"


def test_the_text_report_of_a_conflicted_pull_names_the_way_out(served: Shared, run: RunFn) -> None:
    alice, bob = clone(run, served, "alice"), clone(run, served, "bob")
    edit(alice / PATTERN, "avg_score: 0.82", "avg_score: 0.85")
    commit_all(alice, "alice")
    edit(bob / PATTERN, "avg_score: 0.82", "avg_score: 0.8")
    commit_all(bob, "bob")
    assert run("registry", "push", "-R", alice).exit_code == 0
    done = run("registry", "sync", "-R", bob)
    assert done.exit_code == 1, done
    assert f"CONFLICT (both-modified): {PATTERN}: performance.avg_score" in done.stderr
    assert "ksi registry merge --continue" in done.stderr
    assert "Nothing was pushed." in done.stderr
    aborted = run("registry", "merge", "--abort", "-R", bob)
    assert aborted.exit_code == 0 and status(bob) == ""


def test_a_clean_line_merge_is_still_checked_by_the_engine(tmp_path: Path, run: RunFn) -> None:
    """Both add `performance.owner`, at different lines: git's line merge sees no conflict and
    would write a duplicate key; the structural merge reports the conflict."""
    shared = next(_serve("path", tmp_path, run))
    alice, bob = clone(run, shared, "alice"), clone(run, shared, "bob")
    edit(alice / PATTERN, "  runs: 47\n", "  runs: 47\n  owner: alice\n")
    commit_all(alice, "alice")
    edit(bob / PATTERN, "  success_rate: 0.93\n", "  success_rate: 0.93\n  owner: bob\n")
    commit_all(bob, "bob")
    assert run("registry", "push", "-R", alice).exit_code == 0
    done = run("registry", "pull", "-R", bob, "--json")
    assert done.exit_code == 1, done
    [conflict] = done.json()["conflicts"]
    assert conflict["path"] == "performance.owner" and conflict["kind"] == "both-added"
    assert (conflict["ours"], conflict["theirs"]) == ("bob", "alice")


def test_a_push_behind_the_remote_is_rejected_with_pull_first(shared: Shared, run: RunFn) -> None:
    alice, bob = clone(run, shared, "alice"), clone(run, shared, "bob")
    edit(alice / PATTERN, "  runs: 47\n", "  runs: 48\n")
    commit_all(alice, "alice")
    edit(bob / PATTERN, "success_rate: 0.93", "success_rate: 0.95")
    commit_all(bob, "bob")
    assert run("registry", "push", "-R", alice).exit_code == 0
    before = shared.tip()
    refused = run("registry", "push", "origin", "-R", bob)
    assert refused.exit_code == 1, refused
    assert "rejected" in refused.stderr and "pull first" in refused.stderr
    assert "ksi registry pull origin" in refused.stderr
    assert shared.tip() == before


def test_a_declining_server_hook_is_reported_with_its_message(served: Shared, run: RunFn) -> None:
    alice = clone(run, served, "alice")
    hook = served.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'policy: pattern changes need a review first' >&2\nexit 1\n")
    hook.chmod(0o755)
    edit(alice / PATTERN, "  runs: 47\n", "  runs: 48\n")
    commit_all(alice, "alice")
    before = served.tip()

    refused = run("registry", "push", "-R", alice)
    assert refused.exit_code == 1, refused
    assert "rejected by the remote (pre-receive hook declined)" in refused.stderr
    assert "the server's hook said: policy: pattern changes need a review first" in refused.stderr
    assert served.tip() == before

    as_json = run("registry", "sync", "-R", alice, "--json")  # not retried: pulling won't help
    assert as_json.exit_code == 1, as_json
    report = as_json.json()
    assert report["attempts"] == 1 and report["pushed"] is False
    [rejection] = report["push"]["rejected"]
    assert rejection["ref"] == "refs/heads/main" and rejection["remote_moved"] is False
    assert "policy: pattern changes need a review first" in rejection["server_said"]
    assert served.tip() == before


def test_sync_pulls_and_pushes_again_when_the_remote_moved_meanwhile(
    shared: Shared, run: RunFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = clone(run, shared, "alice"), clone(run, shared, "bob")
    edit(alice / PATTERN, "  runs: 47\n", "  runs: 48\n")
    append_decision(alice, "01KDDDDDDDDDDDDDDDDDDDDDDD", "alice", 4)
    commit_all(alice, "alice")
    edit(bob / PATTERN, "success_rate: 0.93", "success_rate: 0.95")
    append_decision(bob, "01KEEEEEEEEEEEEEEEEEEEEEEE", "bob", 5)
    commit_all(bob, "bob")

    import ksi_patterns.remote.sync as sync_module

    real_pull = sync_module.pull
    calls = []

    def pull_then_alice_pushes(*args: Any, **kwargs: Any) -> Any:
        result = real_pull(*args, **kwargs)
        calls.append(result.action)
        if len(calls) == 1:  # between bob's pull and bob's push, alice's push lands
            git(alice, "push", "-q", "origin", "main")
        return result

    monkeypatch.setattr(sync_module, "pull", pull_then_alice_pushes)
    done = run("registry", "sync", "-R", bob, "--json")
    assert done.exit_code == 0, done
    report = done.json()
    assert report["attempts"] == 2 and calls == ["up-to-date", "merged"]
    assert report["pushed"] is True
    assert run("registry", "pull", "-R", alice).exit_code == 0
    assert tree(alice) == tree(bob) == shared.tree()
    ids = [entry["id"] for entry in plain(alice, DECISIONS)]
    assert "01KDDDDDDDDDDDDDDDDDDDDDDD" in ids and "01KEEEEEEEEEEEEEEEEEEEEEEE" in ids


# ---------------------------------------------------------------------------------------------
# Clone, push options, pull safety


def test_clone_installs_the_merge_driver_and_plain_git_merges_structurally(
    tmp_path: Path, registry_dir: Path, run: RunFn
) -> None:
    """The walkthrough's way: a `git init --bare` remote (HEAD names master), `push`, `clone`."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=master", bare], check=True)
    assert run("registry", "remote", "add", "origin", bare, "-R", registry_dir).exit_code == 0
    pushed = run("registry", "sync", "origin", "-R", registry_dir)  # nothing to pull yet
    assert pushed.exit_code == 0, pushed
    assert "origin has no branch main yet: nothing to pull." in pushed.stdout
    assert "Pushed main to origin" in pushed.stdout
    assert git(registry_dir, "config", "branch.main.remote").strip() == "origin"

    mate = tmp_path / "mate"
    cloned = run("registry", "clone", bare, mate)
    assert cloned.exit_code == 0, cloned
    assert git(mate, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert status(mate) == "" and (mate / PATTERN).is_file()
    assert "merge-driver" in git(mate, "config", "merge.ksi.driver")
    # Plain `git pull` in the clone now merges through the engine: both decisions survive.
    append_decision(registry_dir, "01KFFFFFFFFFFFFFFFFFFFFFFF", "team", 6)
    commit_all(registry_dir, "team: a decision")
    assert run("registry", "push", "-R", registry_dir).exit_code == 0
    append_decision(mate, "01KGGGGGGGGGGGGGGGGGGGGGGG", "mate", 7)
    commit_all(mate, "mate: a decision")
    git(mate, "-c", "user.name=T", "-c", "user.email=t@example.org", "pull", "-q", "--no-rebase")
    ids = [entry["id"] for entry in plain(mate, DECISIONS)]
    assert sorted(ids[-2:]) == ["01KFFFFFFFFFFFFFFFFFFFFFFF", "01KGGGGGGGGGGGGGGGGGGGGGGG"]


def test_clone_refuses_what_is_not_a_registry_and_leaves_nothing(
    tmp_path: Path, run: RunFn
) -> None:
    source = tmp_path / "plain"
    source.mkdir()
    git(source, "init", "-q", "--initial-branch=main")
    (source / "README.md").write_text("not patterns\n")
    commit_all(source, "readme")
    target = tmp_path / "copy"
    done = run("registry", "clone", source, target)
    assert done.exit_code == 2, done
    assert "is not a ksi registry" in done.stderr
    assert not target.exists()
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(empty))
    nothing = run("registry", "clone", empty, tmp_path / "copy2")
    assert nothing.exit_code == 2 and "has no branches" in nothing.stderr
    assert not (tmp_path / "copy2").exists()
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    refused = run("registry", "clone", source, occupied)
    assert refused.exit_code == 2 and "not an empty folder" in refused.stderr
    assert [p.name for p in occupied.iterdir()] == ["x"]


def test_push_all_branches_and_tags(served: Shared, run: RunFn) -> None:
    alice = clone(run, served, "alice")
    released = run("pattern", "release", "tournament_basic", "--bump", "minor", "-R", alice)
    assert released.exit_code == 0, released
    forked = run(
        "pattern", "fork", "adaptive_tournament_v2", "--as", "swiss", "--reason", "Swiss",
        "--no-switch", "-R", alice,
    )  # fmt: skip
    assert forked.exit_code == 0, forked
    done = run("registry", "push", "--all", "--tags", "-R", alice, "--json")
    assert done.exit_code == 0, done
    refs = sorted(update["ref"] for update in done.json()["pushed"])
    assert refs == ["refs/heads/fork/swiss", "refs/heads/main", "refs/tags/tournament_basic@2.1.0"]
    assert served.tip("fork/swiss") == git(alice, "rev-parse", "fork/swiss").strip()
    again = run("registry", "push", "--all", "--tags", "-R", alice)
    assert again.exit_code == 0 and "up to date" in again.stdout
    both = run("registry", "push", "--all", "--branch", "main", "-R", alice)
    assert both.exit_code == 2


def test_pull_refuses_to_overwrite_local_changes(shared: Shared, run: RunFn) -> None:
    alice, bob = clone(run, shared, "alice"), clone(run, shared, "bob")
    edit(alice / PATTERN, "  runs: 47\n", "  runs: 48\n")
    commit_all(alice, "alice")
    assert run("registry", "push", "-R", alice).exit_code == 0
    edit(bob / PATTERN, "success_rate: 0.93", "success_rate: 0.99")  # not committed
    before = head(bob)
    done = run("registry", "pull", "-R", bob)
    assert done.exit_code == 2, done
    assert f"local changes to {PATTERN} would be overwritten" in done.stderr
    assert head(bob) == before and "success_rate: 0.99" in (bob / PATTERN).read_text()


# ---------------------------------------------------------------------------------------------
# Remotes and redaction


def test_remote_add_list_remove_never_show_the_secret(registry_dir: Path, run: RunFn) -> None:
    url = "https://alice:s3cret-token@git.example.org/team/patterns.git"
    added = run("registry", "remote", "add", "origin", url, "-R", registry_dir)
    assert added.exit_code == 0, added
    assert "s3cret" not in added.output and "kept in clear" in added.stderr
    shown = run("registry", "remote", "list", "-R", registry_dir)
    assert shown.stdout.split() == ["origin", "https://alice:***@git.example.org/team/patterns.git"]
    listed = run("registry", "remote", "list", "-R", registry_dir, "--json")
    assert listed.json() == [
        {
            "name": "origin",
            "url": "https://alice:***@git.example.org/team/patterns.git",
            "push_url": None,
        }
    ]
    twice = run("registry", "remote", "add", "origin", url, "-R", registry_dir)
    assert twice.exit_code == 2 and "exists already" in twice.stderr
    bad = run("registry", "remote", "add", "bad name", url, "-R", registry_dir)
    assert bad.exit_code == 2 and "invalid remote name" in bad.stderr
    assert run("registry", "remote", "remove", "origin", "-R", registry_dir).exit_code == 0
    assert run("registry", "remote", "list", "-R", registry_dir, "--json").json() == []
    gone = run("registry", "remote", "remove", "origin", "-R", registry_dir)
    assert gone.exit_code == 2 and "no remote named 'origin'" in gone.stderr
    lonely = run("registry", "push", "-R", registry_dir)
    assert lonely.exit_code == 2 and "ksi registry remote add origin URL" in lonely.stderr


def test_an_unreachable_remote_is_one_line_without_the_secret(
    registry_dir: Path, run: RunFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = "https://bob:tok-123@127.0.0.1:1/team.git"  # port 1: connection refused
    assert run("registry", "remote", "add", "origin", url, "-R", registry_dir).exit_code == 0
    for command in ("push", "pull", "sync"):
        done = run("registry", command, "-R", registry_dir)
        assert done.exit_code == 2, done
        assert "tok-123" not in done.output
        assert done.stderr.startswith("ksi: error: cannot ") and done.stderr.count("\n") == 1
    cloned = run("registry", "clone", url, registry_dir.parent / "c")
    assert cloned.exit_code == 2 and "tok-123" not in cloned.output
    assert "https://bob:***@127.0.0.1:1/team.git" in cloned.stderr


# ---------------------------------------------------------------------------------------------
# CI for pattern repositories


def test_schema_export_writes_refuses_and_forces(tmp_path: Path, run: RunFn) -> None:
    target = tmp_path / "schemas"
    done = run("schema", "export", target, "--json")
    assert done.exit_code == 0, done
    names = sorted(Path(p).name for p in done.json()["written"])
    assert names == sorted(p.name for p in (REPO_ROOT / "schemas").glob("*.json"))
    assert "pattern.schema.json" in names
    for name in names:
        assert (target / name).read_bytes() == (REPO_ROOT / "schemas" / name).read_bytes()
        json.loads((target / name).read_text())
    same = run("schema", "export", target)
    assert same.exit_code == 0 and "unchanged" in same.stdout and "wrote" not in same.stdout
    (target / "pattern.schema.json").write_text("{}\n")
    refused = run("schema", "export", target)
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert (target / "pattern.schema.json").read_text() == "{}\n"
    forced = run("schema", "export", target, "--force")
    assert forced.exit_code == 0 and f"wrote {target / 'pattern.schema.json'}" in forced.stdout
    assert (target / "pattern.schema.json").read_bytes() == (
        REPO_ROOT / "schemas" / "pattern.schema.json"
    ).read_bytes()


def test_pre_commit_hook_and_ci_examples_say_what_they_should() -> None:
    hooks = load_plain((REPO_ROOT / ".pre-commit-hooks.yaml").read_bytes(), "hooks")
    [hook] = hooks
    assert hook["id"] == "ksi-validate" and hook["entry"] == "ksi pattern validate"
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    assert hook["files"] == r"\.(ya?ml)$"
    workflow = load_plain(
        (REPO_ROOT / "examples" / "ci" / "validate-patterns.yml").read_bytes(), "workflow"
    )
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(str(step.get("uses", "")).startswith("actions/checkout@") for step in steps)
    setup = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert setup and str(setup[0]["with"]["python-version"]) == "3.11"
    commands = "\n".join(str(step.get("run", "")) for step in steps)
    assert "ksi pattern validate --format github ." in commands
    config = load_plain(
        (REPO_ROOT / "examples" / "ci" / "pre-commit-config.yaml").read_bytes(), "config"
    )
    assert [h["id"] for r in config["repos"] for h in r["hooks"]] == ["ksi-validate"]


# ---------------------------------------------------------------------------------------------
# Progress


class Recorder:
    def __init__(self) -> None:
        self.phases: dict[str, tuple[int, int]] = {}

    def progress(self, phase: str, done: int, total: int, nbytes: int) -> None:
        self.phases[phase] = (done, total)


def test_fetch_and_push_report_progress_to_a_listener(served: Shared, run: RunFn) -> None:
    from ksi_patterns.git.store import Store
    from ksi_patterns.remote.remotes import branch_refspecs, fetch, push

    alice, bob = clone(run, served, "alice"), clone(run, served, "bob")
    for number in range(30):
        (alice / "orchestrations" / f"note_{number}.txt").write_text(f"note {number}\n")
    commit_all(alice, "notes")
    pushed = Recorder()
    store = Store.open(alice)
    result = push(store, branch_refspecs(store, ["main"]), "origin", pushed)
    assert result.ok and "Writing objects" in pushed.phases
    done, total = pushed.phases["Writing objects"]
    assert done == total > 30
    fetched = Recorder()
    fetch(Store.open(bob), "origin", fetched)
    done, total = fetched.phases["Receiving objects"]
    assert done == total > 30


def test_progress_bars_render_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from ksi_patterns.cli.sync_cmd import _Bars, progress_bars

    screen = io.StringIO()
    with progress_bars(Console(file=screen, force_terminal=True, width=100)) as progress:
        bars = _Bars(progress)
        bars.progress("Receiving objects", 0, 0, 0)
        bars.progress("Receiving objects", 5, 10, 2048)
        bars.progress("Resolving deltas", 3, 3, 0)
        progress.refresh()
        shown = screen.getvalue()
    assert "Receiving objects" in shown and "5/10" in shown and "2 KiB" in shown
