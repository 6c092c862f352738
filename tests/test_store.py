"""The store on real repositories: reads at refs, CAS commits, branches, tags, work-tree refresh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pygit2
import pytest

from ksi_patterns.errors import ConflictError, KsiError, NotFoundError
from ksi_patterns.git.commits import CommitResult
from ksi_patterns.git.identity import Person
from ksi_patterns.git.refs import Commit
from ksi_patterns.git.store import Store
from ksi_patterns.git.trees import check_path

WRITER = Path(__file__).with_name("store_writer.py")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A work-tree repository on `main` with two commits, checked out and clean."""
    s = Store.init(tmp_path / "repo")
    s.commit({"a.txt": b"one\n", "docs/b.txt": b"bee\n", "docs/deep/c.txt": b"sea\n"}, "first")
    s.commit({"a.txt": b"two\n"}, "second")
    return s


def root(s: Store) -> Path:
    assert s.root is not None
    return s.root


# -- opening and properties -----------------------------------------------------------------


def test_open_finds_the_repository_from_a_subfolder(store: Store) -> None:
    again = Store.open(root(store) / "docs" / "deep")
    assert again.root == root(store)
    assert again.git_dir == root(store) / ".git"
    assert not again.is_bare
    assert again.current_branch == "main"
    assert again.state_dir == root(store) / ".git" / "ksi"
    assert again.state_dir.is_dir()


def test_open_rejects_a_folder_outside_git(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotFoundError, match="not a git repository"):
        Store.open(tmp_path / "plain")
    with pytest.raises(NotFoundError, match="no such folder"):
        Store.open(tmp_path / "missing")


def test_unborn_branch_gets_a_root_commit(tmp_path: Path) -> None:
    s = Store.init(tmp_path / "r")
    assert s.current_branch is None  # unborn
    assert s.branches() == []
    with pytest.raises(NotFoundError, match="no commit yet"):
        s.resolve("HEAD")
    result = s.commit({"x.txt": b"x\n"}, "root")
    assert result.parent_id is None
    assert s.resolve("main").parent_ids == ()
    assert s.current_branch == "main"
    assert git(tmp_path / "r", "rev-list", "--count", "main").strip() == "1"
    assert (tmp_path / "r" / "x.txt").read_bytes() == b"x\n"
    assert git(tmp_path / "r", "status", "--porcelain") == ""


# -- reading --------------------------------------------------------------------------------


def test_read_at_branch_tag_commit_and_short_id(store: Store) -> None:
    first = store.resolve("HEAD~1")
    store.create_tag("v1", first.short_id, "version one")
    assert store.read("a.txt") == b"two\n"
    assert store.read("a.txt", "main") == b"two\n"
    assert store.read("a.txt", "v1") == b"one\n"
    assert store.read("a.txt", str(first.id)) == b"one\n"
    assert store.read("a.txt", str(first.id)[:7]) == b"one\n"
    assert store.read("a.txt", first) == b"one\n"
    assert store.read("docs/deep/c.txt", "refs/heads/main") == b"sea\n"
    assert store.exists("docs/b.txt") and not store.exists("docs") and not store.exists("nope")
    expected = git(root(store), "rev-parse", "main:docs/b.txt").strip()
    assert store.read_blob_id("docs/b.txt", "main") == expected
    assert store.read_blob_id("docs/missing.txt") is None


def test_missing_things_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no branch, tag or commit named 'nope'"):
        store.resolve("nope")
    with pytest.raises(NotFoundError, match=r"no file docs/x\.txt at main"):
        store.read("docs/x.txt", "main")
    with pytest.raises(NotFoundError, match="no file docs at HEAD"):
        store.read("docs")


def test_list_files_and_blobs(store: Store) -> None:
    assert store.list_files() == ["a.txt", "docs/b.txt", "docs/deep/c.txt"]
    assert store.list_files("main", under="docs") == ["docs/b.txt", "docs/deep/c.txt"]
    assert store.list_files(under="docs/deep/") == ["docs/deep/c.txt"]
    assert store.list_files(under="nothing") == []
    assert store.list_files(under="a.txt") == []
    blobs = dict(store.list_blobs("HEAD~1"))
    assert blobs["a.txt"] == git(root(store), "rev-parse", "HEAD~1:a.txt").strip()


def test_history_lists_commits_that_changed_the_path(store: Store) -> None:
    store.commit({"docs/b.txt": b"bee 2\n"}, "touch b")
    log = store.history("a.txt")
    assert [c.message for c in log] == ["second\n", "first\n"]
    assert log[0].id == str(store.resolve("HEAD~1").id)
    assert log[0].short_id == log[0].id[:7]
    assert log[0].date.tzinfo is not None
    assert [c.message for c in store.history("docs/b.txt", limit=1)] == ["touch b\n"]
    assert store.history("never.txt") == []


# -- committing -----------------------------------------------------------------------------


def test_commit_adds_modifies_and_deletes(store: Store) -> None:
    before = store.resolve("main")
    result = store.commit(
        {"new/n.txt": b"new\n", "a.txt": b"three\n", "docs/deep/c.txt": None}, "mixed"
    )
    assert isinstance(result, CommitResult)
    assert result.parent_id == str(before.id) and result.attempts == 1
    assert result.branch == "main"
    assert store.resolve("main").id == pygit2.Oid(hex=result.commit_id)
    assert store.list_files() == ["a.txt", "docs/b.txt", "new/n.txt"]
    assert store.read("a.txt") == b"three\n"
    assert git(root(store), "log", "-1", "--format=%s").strip() == "mixed"
    assert git(root(store), "fsck", "--strict") is not None


def test_commit_that_changes_nothing_is_refused(store: Store) -> None:
    with pytest.raises(KsiError, match="nothing to commit"):
        store.commit({"a.txt": b"two\n", "absent.txt": None}, "noop")
    result = store.commit({}, "empty on purpose", allow_empty=True)
    assert store.resolve("main").tree_id == store.resolve("main~1").tree_id
    assert result.attempts == 1


def test_commit_refuses_file_folder_clashes(store: Store) -> None:
    with pytest.raises(KsiError, match="both a file and a folder"):
        store.commit({"docs": b"would drop the folder\n"}, "bad")
    with pytest.raises(KsiError, match="both a file and a folder"):
        store.commit({"a.txt/inner": b"under a file\n"}, "bad")
    store.commit({"a.txt": None, "a.txt/inner": b"ok once a.txt is gone\n"}, "fine")
    assert store.list_files(under="a.txt") == ["a.txt/inner"]


def test_commit_with_extra_parent_makes_a_merge(store: Store) -> None:
    store.create_branch("side", "main")
    side = store.commit({"side.txt": b"s\n"}, "on side", "side")
    merged = store.commit({"side.txt": b"s\n"}, "merge side", extra_parents=["side"])
    commit = store.resolve(merged.commit_id)
    assert list(commit.parent_ids)[1] == side.commit_id
    assert store.current_branch == "main"


@pytest.mark.parametrize(
    "bad", ["", "/etc/passwd", "../x", "a/../b", "a//b", "a/", "./a", "x\0y", ".git/config",
            "d/.GIT/x", "a\\b"]
)  # fmt: skip
def test_paths_are_checked(store: Store, bad: str) -> None:
    with pytest.raises(KsiError, match="invalid path"):
        check_path(bad)
    with pytest.raises(KsiError, match="invalid path"):
        store.commit({bad: b"x"}, "evil")
    with pytest.raises(KsiError, match="invalid path"):
        store.read(bad)


def test_author_comes_from_the_environment(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.org")
    store.commit({"a.txt": b"ada\n"}, "by ada")
    assert git(root(store), "log", "-1", "--format=%an <%ae>").strip() == "Ada <ada@example.org>"
    sig = Person("Bob", "bob@example.org")
    store.commit({"a.txt": b"bob\n"}, "by bob", author=sig)
    assert store.history("a.txt", limit=1)[0].author_name == "Bob"


def test_lost_race_is_retried_from_the_new_tip(store: Store) -> None:
    """The tip moves between reading it and publishing: the commit is rebuilt and both survive."""
    other = Store.open(root(store))
    seen: list[str] = []

    def append(tip: Commit | None) -> dict[str, bytes | None]:
        assert tip is not None
        seen.append(str(tip.id))
        if len(seen) == 1:  # a concurrent writer lands its commit right now
            other.commit({"log.txt": b"theirs\n", "t.txt": b"t\n"}, "theirs")
        current = store.read("log.txt", tip) if store.exists("log.txt", tip) else b""
        return {"log.txt": current + b"mine\n"}

    result = store.commit(append, "mine")
    assert result.attempts == 2
    assert seen[0] != seen[1]
    assert store.read("log.txt") == b"theirs\nmine\n"
    assert [c.message for c in store.history("log.txt")] == ["mine\n", "theirs\n"]
    assert store.read("t.txt") == b"t\n"
    assert git(root(store), "status", "--porcelain") == ""


def test_a_held_ref_lock_ends_in_a_conflict(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import ksi_patterns.git.commits as commits_module

    monkeypatch.setattr(commits_module, "MAX_ATTEMPTS", 3)
    lock = store.git_dir / "refs" / "heads" / "main.lock"
    lock.touch()
    with pytest.raises(ConflictError, match=r"main\.lock exists"):
        store.commit({"a.txt": b"blocked\n"}, "blocked")
    lock.unlink()
    store.commit({"a.txt": b"free\n"}, "free")


# -- bare repositories ----------------------------------------------------------------------


def test_bare_repository_open_read_commit(tmp_path: Path) -> None:
    bare = Store.init(tmp_path / "bare.git", bare=True)
    assert bare.is_bare and bare.root is None
    first = bare.commit({"p/x.yaml": b"name: x\n"}, "first")
    assert first.skipped_worktree_paths == ()
    bare.commit({"p/y.yaml": b"name: y\n"}, "second")
    again = Store.open(tmp_path / "bare.git")
    assert again.is_bare and again.current_branch == "main"
    assert again.list_files() == ["p/x.yaml", "p/y.yaml"]
    assert again.read("p/x.yaml", "main~1") == b"name: x\n"
    assert again.is_worktree_clean()
    assert again.state_dir == tmp_path / "bare.git" / "ksi"
    out = git(tmp_path / "bare.git", "log", "--format=%s", "main")
    assert out.split() == ["second", "first"]
    with pytest.raises(KsiError, match="bare"):
        again.checkout_branch("main")


# -- branches and tags ----------------------------------------------------------------------


def test_annotated_tags(store: Store) -> None:
    tag_id = store.create_tag("demo@1.0.0", "main", "release 1.0.0")
    assert git(root(store), "cat-file", "-t", "demo@1.0.0").strip() == "tag"
    assert git(root(store), "rev-parse", "demo@1.0.0").strip() == tag_id
    assert store.resolve("demo@1.0.0").id == store.resolve("main").id
    store.commit({"a.txt": b"later\n"}, "later")
    assert store.read("a.txt", "demo@1.0.0") == b"two\n"
    with pytest.raises(ConflictError, match=r"tag demo@1\.0\.0 already exists"):
        store.create_tag("demo@1.0.0", "main", "again")
    assert store.resolve("demo@1.0.0").id == store.resolve("main~1").id
    assert store.tags() == ["demo@1.0.0"]
    with pytest.raises(KsiError, match="invalid tag name"):
        store.create_tag("bad..name", "main", "x")


def test_branch_creation_and_duplicates(store: Store) -> None:
    store.create_branch("feature", "HEAD~1")
    assert store.branches() == ["feature", "main"]
    assert store.read("a.txt", "feature") == b"one\n"
    other = Store.open(root(store))
    with pytest.raises(ConflictError, match="branch feature already exists"):
        other.create_branch("feature", "main")
    fork = store.commit({"forked.txt": b"f\n"}, "fork", "fork/x", create_branch_from="main")
    assert fork.parent_id == str(store.resolve("main").id)
    assert fork.skipped_worktree_paths == ()
    assert not (root(store) / "forked.txt").exists()  # not the checked-out branch
    with pytest.raises(ConflictError, match="branch fork/x already exists"):
        other.commit({"forked.txt": b"g\n"}, "fork", "fork/x", create_branch_from="main")
    assert store.read("forked.txt", "fork/x") == b"f\n"


# -- the work tree --------------------------------------------------------------------------


def test_unmodified_files_are_refreshed_and_status_stays_clean(store: Store) -> None:
    result = store.commit(
        {"a.txt": b"refreshed\n", "docs/deep/c.txt": None, "brand/new.txt": b"n\n"}, "refresh"
    )
    assert result.skipped_worktree_paths == ()
    r = root(store)
    assert (r / "a.txt").read_bytes() == b"refreshed\n"
    assert (r / "brand" / "new.txt").read_bytes() == b"n\n"
    assert not (r / "docs" / "deep").exists()  # emptied folders go, as with git
    assert git(r, "status", "--porcelain") == ""
    assert store.is_worktree_clean()


def test_modified_files_are_left_alone_and_reported(store: Store) -> None:
    r = root(store)
    (r / "a.txt").write_bytes(b"my edit\n")
    (r / "untracked.txt").write_bytes(b"mine\n")
    assert not store.is_worktree_clean()
    result = store.commit(
        {"a.txt": b"from ksi\n", "docs/b.txt": b"b2\n", "untracked.txt": b"theirs\n"}, "clash"
    )
    assert result.skipped_worktree_paths == ("a.txt", "untracked.txt")
    assert (r / "a.txt").read_bytes() == b"my edit\n"
    assert (r / "untracked.txt").read_bytes() == b"mine\n"
    assert (r / "docs" / "b.txt").read_bytes() == b"b2\n"
    # the index follows the commit, so only the user's own edits show
    assert sorted(git(r, "status", "--porcelain").splitlines()) == [" M a.txt", " M untracked.txt"]
    assert store.read("a.txt") == b"from ksi\n"


def test_staged_work_is_left_alone(store: Store) -> None:
    r = root(store)
    (r / "a.txt").write_bytes(b"staged\n")
    git(r, "add", "a.txt")
    (r / "a.txt").write_bytes(b"two\n")  # the work-tree copy matches HEAD again, the index not
    result = store.commit({"a.txt": b"from ksi\n"}, "ksi")
    assert result.skipped_worktree_paths == ("a.txt",)
    assert git(r, "show", ":a.txt") == "staged\n"
    assert (r / "a.txt").read_bytes() == b"two\n"


def test_a_symlinked_folder_is_not_followed(store: Store, tmp_path: Path) -> None:
    r = root(store)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.txt").write_bytes(b"bee\n")  # same content as the committed docs/b.txt
    (r / "docs" / "b.txt").unlink()
    (r / "docs" / "deep" / "c.txt").unlink()
    (r / "docs" / "deep").rmdir()
    (r / "docs").rmdir()
    (r / "docs").symlink_to(outside)
    result = store.commit({"docs/b.txt": b"escaped?\n"}, "through a symlink")
    assert result.skipped_worktree_paths == ("docs/b.txt",)
    assert (outside / "b.txt").read_bytes() == b"bee\n"


def test_refresh_follows_commits_landed_on_top(store: Store) -> None:
    """Another writer committed on top of ours before we refreshed: files go to the tip."""
    from ksi_patterns.git import worktree

    r = root(store)
    repo = pygit2.Repository(str(r))  # the worktree module works on pygit2's own objects
    old = repo.revparse_single("main").peel(pygit2.Commit)
    sig = pygit2.Signature("ksi", "ksi@localhost")

    def raw_commit(parent: pygit2.Commit, content: bytes) -> pygit2.Commit:
        index = pygit2.Index()
        index.read_tree(parent.tree)
        index.add(pygit2.IndexEntry("a.txt", repo.create_blob(content), pygit2.enums.FileMode.BLOB))
        oid = repo.create_commit(
            "refs/heads/main", sig, sig, "raw", index.write_tree(repo), [parent.id]
        )
        return repo[oid].peel(pygit2.Commit)

    ours = raw_commit(old, b"ours\n")
    theirs = raw_commit(ours, b"theirs\n")
    skipped = worktree.refresh_after_commit(repo, r, theirs, ["a.txt"], old, ours.id)
    assert skipped == []
    assert (r / "a.txt").read_bytes() == b"theirs\n"
    assert git(r, "status", "--porcelain") == ""
    # a branch rewritten under us (our commit is gone from it): nothing is touched
    assert worktree.refresh_after_commit(repo, r, old, ["a.txt"], old, ours.id) == ["a.txt"]
    assert (r / "a.txt").read_bytes() == b"theirs\n"


def test_refresh_worktree_by_hand(store: Store) -> None:
    r = root(store)
    store.commit({"a.txt": b"three\n"}, "on main, refreshed")
    (r / "a.txt").write_bytes(b"two\n")  # as if the refresh had not happened
    git(r, "add", "a.txt")
    assert store.refresh_worktree(["a.txt"], "HEAD~1", "HEAD") == []
    assert (r / "a.txt").read_bytes() == b"three\n"
    assert git(r, "status", "--porcelain") == ""


def test_commit_on_another_branch_leaves_the_work_tree(store: Store) -> None:
    store.create_branch("other", "main")
    store.commit({"a.txt": b"other\n"}, "elsewhere", "other")
    assert (root(store) / "a.txt").read_bytes() == b"two\n"
    assert git(root(store), "status", "--porcelain") == ""


def test_checkout_branch(store: Store) -> None:
    r = root(store)
    store.create_branch("other", "main")
    store.commit({"o.txt": b"o\n", "a.txt": b"other\n"}, "on other", "other")
    store.checkout_branch("other")
    assert store.current_branch == "other"
    assert (r / "o.txt").read_bytes() == b"o\n"
    assert git(r, "status", "--porcelain") == ""
    (r / "a.txt").write_bytes(b"dirty\n")
    with pytest.raises(KsiError, match=r"modified files: a\.txt"):
        store.checkout_branch("main")
    assert store.current_branch == "other"
    (r / "a.txt").write_bytes(b"other\n")
    (r / "scratch.txt").write_bytes(b"untracked is fine\n")
    store.checkout_branch("main")
    assert (r / "a.txt").read_bytes() == b"two\n" and not (r / "o.txt").exists()
    with pytest.raises(NotFoundError):
        store.checkout_branch("nope")


def test_commit_needs_a_branch_when_head_is_detached(store: Store) -> None:
    git(root(store), "checkout", "-q", "--detach", "HEAD")
    assert store.current_branch is None
    with pytest.raises(KsiError, match="detached"):
        store.commit({"a.txt": b"x\n"}, "where?")
    store.commit({"a.txt": b"x\n"}, "on main by name", "main")
    assert store.read("a.txt", "main") == b"x\n"


def test_a_stuck_commit_lock_only_delays(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer holding the queue lock (suspended, say) cannot block others for long."""
    import ksi_patterns.git.commits as commits_module
    from ksi_patterns.git.locks import file_lock, is_locked

    monkeypatch.setattr(commits_module, "QUEUE_TIMEOUT", 0.2)
    lock = store.state_dir / "commit.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert is_locked(lock)
        with file_lock(lock, timeout=0.05) as held:
            assert held is False
        started = time.perf_counter()
        store.commit({"a.txt": b"despite the lock\n"}, "unblocked")
        assert time.perf_counter() - started < 5
        assert store.read("a.txt") == b"despite the lock\n"
    finally:
        holder.kill()
        holder.wait()
    assert not is_locked(lock)


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


# -- many processes -------------------------------------------------------------------------


def run_writers(repo: Path, gate: Path, writers: int, count: int, mode: str) -> list[Any]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), str(repo), str(gate), str(w), str(count), mode],
            stdout=subprocess.PIPE,
            env=env,
        )
        for w in range(writers)
    ]
    deadline = time.monotonic() + 30
    while len(list(gate.parent.glob(gate.name + ".ready-*"))) < writers:
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.01)
    gate.touch()
    reports = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        reports.append(json.loads(out))
    return reports


@pytest.mark.parametrize("bare", [False, True], ids=["checked-out", "bare"])
def test_eight_processes_append_concurrently(tmp_path: Path, bare: bool) -> None:
    """8 processes x 25 commits, each adding a file and appending a line to one shared file."""
    s = Store.init(tmp_path / "repo", bare=bare)
    s.commit({"README": b"concurrency\n"}, "start")
    started = time.perf_counter()
    reports = run_writers(tmp_path / "repo", tmp_path / "gate", 8, 25, "append")
    elapsed = time.perf_counter() - started
    r = tmp_path / "repo"
    assert git(r, "rev-list", "--count", "main").strip() == "201"
    assert len(s.list_files(under="writers")) == 200
    lines = s.read("shared.log").decode().splitlines()
    assert len(lines) == 200
    assert Counter(lines) == Counter(f"{w}-{i}" for w in range(8) for i in range(25))
    assert git(r, "fsck", "--strict", "--no-dangling") is not None
    if not bare:  # every writer refreshed the work tree: it matches the tip exactly
        assert git(r, "status", "--porcelain") == ""
        assert (r / "shared.log").read_text().splitlines() == lines
    attempts = [a for rep in reports for a in rep["attempts"]]
    skipped = [p for rep in reports for p in rep["skipped"]]
    assert skipped == []
    print(
        f"\n{'bare' if bare else 'checked-out'}: 200 commits by 8 processes in {elapsed:.2f}s "
        f"(slowest writer {max(rep['seconds'] for rep in reports):.2f}s); "
        f"{sum(attempts) - len(attempts)} lost races retried, at most {max(attempts)} tries"
    )


def test_forking_races_have_one_winner(tmp_path: Path) -> None:
    s = Store.init(tmp_path / "repo", bare=True)
    s.commit({"README": b"forks\n"}, "start")
    reports = run_writers(tmp_path / "repo", tmp_path / "gate", 4, 15, "fork")
    wins = Counter(i for rep in reports for i in rep["wins"])
    assert wins == Counter(range(15))  # every branch created exactly once
    for i in range(15):
        assert len(s.list_files(f"fork/race-{i}", under="forks")) == 1
