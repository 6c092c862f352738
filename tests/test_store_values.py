"""The store's plain values and what others used to reach into pygit2 for: commits as values,
ancestry, tree merges, blobs and tree diffs, reference moves, config and the index."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ksi_patterns.errors import NotFoundError
from ksi_patterns.git.identity import Person
from ksi_patterns.git.merges import FileVersions
from ksi_patterns.git.refs import Commit
from ksi_patterns.git.store import Store
from ksi_patterns.git.trees import FileChange


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


BASE = b"a: 1\nc: 3\nd: 4\ne: 5\nb: 2\n"
OURS = BASE.replace(b"a: 1", b"a: 10")
THEIRS = BASE.replace(b"b: 2", b"b: 20")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """`main` with two commits, and `side` branched from the first with one of its own."""
    s = Store.init(tmp_path / "repo")
    s.commit({"a.txt": b"one\n", "p/x.yaml": BASE, "keep.txt": b"k\n"}, "first")
    s.create_branch("side", "main")
    s.commit({"a.txt": b"main\n", "p/x.yaml": OURS}, "on main")
    s.commit({"a.txt": b"side\n", "p/x.yaml": THEIRS, "new.txt": b"n\n"}, "on side", "side")
    return s


def root(s: Store) -> Path:
    assert s.root is not None
    return s.root


def test_commits_are_plain_values(store: Store) -> None:
    tip = store.resolve("main")
    assert isinstance(tip, Commit)
    assert tip.id == git(root(store), "rev-parse", "main")
    assert tip.tree_id == git(root(store), "rev-parse", "main^{tree}")
    assert tip.parent_ids == (git(root(store), "rev-parse", "main~1"),)
    assert tip.short_id == tip.id[: len(tip.short_id)] and len(tip.short_id) >= 7
    assert store.read("a.txt", tip) == b"main\n"  # a Commit is a revision
    assert store.resolve(tip) == tip
    assert store.branch_tip("main") == tip
    assert store.branch_tip("nope") is None
    assert store.remote_branch_tip("origin/main") is None
    seen: list[Commit | None] = []

    def changes(at: Commit | None) -> dict[str, bytes | None]:
        seen.append(at)
        return {"a.txt": b"again\n"}

    store.commit(changes, "the change function gets the tip as a value")
    assert seen == [tip]


def test_signature_is_a_plain_person(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.org")
    assert store.signature() == Person("Ada", "ada@example.org")
    store.commit({"a.txt": b"by bob\n"}, "by bob", author=Person("Bob", "bob@example.org"))
    assert git(root(store), "log", "-1", "--format=%an <%ae>") == "Bob <bob@example.org>"


def test_ancestry(store: Store) -> None:
    first = git(root(store), "rev-parse", "main~1")
    assert store.merge_base("main", "side") == first
    assert store.is_ancestor(first, "main") and store.is_ancestor("main", "main")
    assert not store.is_ancestor("side", "main") and not store.is_ancestor("main", first)
    assert [c.id for c in store.first_parents("main", 5)] == [first]
    assert store.first_parents("main", 0) == []
    lonely = Store.init(root(store).parent / "other")
    lonely.commit({"z": b"z\n"}, "unrelated")
    store.transport_repository().remotes.create("other", str(lonely.git_dir))
    git(root(store), "fetch", "-q", "other")
    assert store.remote_branch_tip("other/main") == lonely.resolve("main")
    assert store.merge_base("main", "other/main") is None


def test_merge_commits(store: Store) -> None:
    found = store.merge_commits("main", "side", recheck=lambda path: path.endswith(".yaml"))
    assert found.ours == dict(store.list_blobs("main"))
    # a.txt conflicts for libgit2; p/x.yaml merges line by line but is asked for again
    assert found.to_resolve == [
        FileVersions("a.txt", b"one\n", b"main\n", b"side\n"),
        FileVersions("p/x.yaml", BASE, OURS, THEIRS),
    ]
    assert found.merged == {
        "keep.txt": store.read_blob_id("keep.txt", "main"),
        "new.txt": store.read_blob_id("new.txt", "side"),
    }
    plain = store.merge_commits("main", "side")  # without recheck libgit2's line merge stands
    assert [v.path for v in plain.to_resolve] == ["a.txt"]
    assert store.read_blob(plain.merged["p/x.yaml"]) == OURS.replace(b"b: 2", b"b: 20")


def test_blobs_folders_and_tree_diffs(store: Store) -> None:
    blob = store.read_blob_id("p/x.yaml", "side")
    assert blob is not None and store.read_blob(blob) == THEIRS
    with pytest.raises(NotFoundError):
        store.read_blob(store.resolve("main").tree_id)  # a tree, not a blob
    assert store.folder_id("p", "main") == git(root(store), "rev-parse", "main:p")
    assert store.folder_id("a.txt", "main") is None and store.folder_id("q", "main") is None
    store.commit({"keep.txt": None}, "drop keep", "side")
    old, new = store.resolve("main").tree_id, store.resolve("side").tree_id
    changes = sorted(store.diff_trees(old, new), key=lambda c: str(c.old_path or c.new_path))
    assert changes == [
        FileChange("a.txt", "a.txt", store.read_blob_id("a.txt", "side")),
        FileChange("keep.txt", None, None),
        FileChange(None, "new.txt", store.read_blob_id("new.txt", "side")),
        FileChange("p/x.yaml", "p/x.yaml", store.read_blob_id("p/x.yaml", "side")),
    ]


def test_move_branch_compares_and_swaps(store: Store) -> None:
    main, side = store.resolve("main"), store.resolve("side")
    assert not store.move_branch("main", side, side, "wrong old tip")
    assert store.resolve("main") == main
    assert store.move_branch("main", main, side, "moved")
    assert store.resolve("main") == side
    assert store.move_branch("fresh", None, main, "created")
    assert not store.move_branch("fresh", None, side, "exists already")
    assert store.resolve("fresh") == main


def test_config_and_index(store: Store) -> None:
    assert store.config_value("ksi.test") is None
    store.set_config("ksi.test", "yes")
    assert store.config_value("ksi.test") == "yes"
    assert git(root(store), "config", "ksi.test") == "yes"
    assert store.modified_paths() == [] and store.is_worktree_clean()
    (root(store) / "a.txt").write_bytes(b"edited\n")
    assert store.modified_paths() == ["a.txt"]
    git(root(store), "add", "a.txt")
    (root(store) / "a.txt").write_bytes(b"main\n")
    git(root(store), "add", "a.txt")  # staged back by another process: our index is stale
    store.reload_index()
    assert store.modified_paths() == []
    bare = Store.init(root(store).parent / "bare.git", bare=True)
    assert bare.modified_paths() == []
