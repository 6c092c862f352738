"""The index cache: derived data under .git/ksi, never a source of truth.

Cold and warm runs agree; a missing, damaged, foreign or outdated cache file is rebuilt; a busy
one is done without; the warm path parses no blob; concurrent processes do not corrupt it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import RunFn, commit_all, git
from ksi_patterns.finding import records

DISCOVER = ("pattern", "discover", "--tag", "tournament", "--where", "performance.avg_score > 0.7")
SELECT = ("pattern", "select", "--task", "Evaluate 15 prompts competitively", "--top", "4")


def cache_file(registry: Path) -> Path:
    return registry / ".git" / "ksi" / "index.sqlite"


def outputs(run: RunFn, registry: Path) -> list[str]:
    """discover, select and a --where discover over profiles too, as JSON text."""
    found = []
    for args in (DISCOVER, SELECT, ("pattern", "discover", "--where", "name exists")):
        done = run(*args, "--json", "--registry", registry)
        assert done.exit_code == 0, done
        found.append(done.stdout)
    return found


def rows(registry: Path) -> int:
    with sqlite3.connect(cache_file(registry)) as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        return int(db.execute("select count(*) from docs").fetchone()[0])


def document_blobs(registry: Path) -> set[str]:
    listing = git(registry, "ls-tree", "-r", "HEAD", "orchestrations", "profiles")
    return {line.split()[2] for line in listing.splitlines()}


def test_the_cache_lives_under_the_git_dir_only(run: RunFn, registry_dir: Path) -> None:
    outputs(run, registry_dir)
    assert cache_file(registry_dir).is_file()
    assert rows(registry_dir) == len(document_blobs(registry_dir))
    assert git(registry_dir, "status", "--porcelain", "--ignored") == ""
    assert not list(registry_dir.glob("*.sqlite*"))


def test_cold_and_warm_give_the_same_results(run: RunFn, registry_dir: Path) -> None:
    cold = outputs(run, registry_dir)
    warm = outputs(run, registry_dir)
    assert warm == cold
    cache_file(registry_dir).unlink()
    assert outputs(run, registry_dir) == cold


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 500)


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _scribbled(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data), 997):  # leave the header, ruin the pages
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _foreign(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as db:
        db.execute("create table notes (text)")
        db.execute("insert into notes values ('someone else''s database')")


def _other_version(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("update meta set value = '0' where key = 'layout'")


def _damaged_row(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("update docs set record = '{not json', document = '[oops'")
        db.execute("update listings set entries = '[[\"x\", 1, [1, 2]]]'")


@pytest.mark.parametrize(
    "damage", [_garbage, _truncated, _scribbled, _empty, _foreign, _other_version, _damaged_row]
)
def test_a_damaged_cache_is_rebuilt_with_the_same_results(
    run: RunFn, registry_dir: Path, damage: Callable[[Path], None]
) -> None:
    cold = outputs(run, registry_dir)
    for leftover in cache_file(registry_dir).parent.glob("index.sqlite-*"):
        leftover.unlink()  # connections are closed: the WAL was checkpointed
    damage(cache_file(registry_dir))
    assert outputs(run, registry_dir) == cold
    # rebuilt: a sound database with every blob, and quiet again
    assert rows(registry_dir) == len(document_blobs(registry_dir))
    done = run(*SELECT, "--json", "--registry", registry_dir)
    assert done.stdout == cold[1]
    assert done.stderr == ""


def test_a_rebuilt_cache_is_mentioned_on_stderr(run: RunFn, registry_dir: Path) -> None:
    outputs(run, registry_dir)
    _garbage(cache_file(registry_dir))
    done = run(*DISCOVER, "--json", "--registry", registry_dir)
    assert done.exit_code == 0, done
    assert "index cache" in done.stderr and "rebuil" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_the_warm_path_parses_no_blob(
    run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = outputs(run, registry_dir)

    def refuse(*args: Any) -> Any:
        raise AssertionError("a blob was parsed on a warm run")

    monkeypatch.setattr(records, "record_of", refuse)
    assert outputs(run, registry_dir) == cold


def test_only_new_blobs_are_parsed(
    run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs(run, registry_dir)
    path = registry_dir / "orchestrations" / "consensus_builder.yaml"
    path.write_text(path.read_text().replace("runs: 38", "runs: 39"))
    commit_all(registry_dir, "one more run")
    parsed: list[str] = []
    original = records.record_of

    def counting(blob: str, content: bytes, where: str) -> records.Record:
        parsed.append(where)
        return original(blob, content, where)

    monkeypatch.setattr(records, "record_of", counting)
    where = ("pattern", "discover", "--where", "performance.runs == 39", "--json")
    done = run(*where, "-R", registry_dir)
    assert [row["name"] for row in done.json()] == ["consensus_builder"]
    assert parsed == ["orchestrations/consensus_builder.yaml"]
    parsed.clear()
    run(*where, "-R", registry_dir)
    assert parsed == []


def test_after_commits_the_listing_is_updated_from_a_tree_diff(
    run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksi_patterns.git.store import Store

    outputs(run, registry_dir)  # the cache lists the folders of this commit
    folder = registry_dir / "orchestrations"
    path = folder / "consensus_builder.yaml"
    path.write_text(path.read_text().replace("runs: 38", "runs: 42"))
    for step in range(3):  # a few commits: the nearest cached listing is some commits back
        path.write_text(path.read_text() + f"# step {step}\n")
        commit_all(registry_dir, f"step {step}")
    git(registry_dir, "rm", "-q", "orchestrations/tournament_basic.yaml")
    git(registry_dir, "mv", "orchestrations/adaptive_pipeline.yaml", "orchestrations/renamed.yaml")
    (folder / "nested").mkdir()
    text = (registry_dir / "orchestrations" / "renamed.yaml").read_text()
    (folder / "nested" / "copy.yaml").write_text(text.replace("runs: 64", "runs: 65"))
    (folder / "notes.txt").write_text("not a document\n")
    (registry_dir / "profiles" / "team").mkdir()
    profile = (registry_dir / "profiles" / "base_multi_agent.yaml").read_text()
    (registry_dir / "profiles" / "team" / "base_multi_agent.yaml").write_text(profile)  # same blob
    commit_all(registry_dir, "delete, rename, nest, copy")

    def no_walk(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a folder tree was walked")

    monkeypatch.setattr(Store, "list_blobs", no_walk)
    incremental = outputs(run, registry_dir)
    monkeypatch.undo()
    cache_file(registry_dir).unlink()
    assert incremental == outputs(run, registry_dir)
    found = run(
        "pattern",
        "discover",
        "--where",
        "performance.runs in [42, 64, 65]",
        "--json",
        "-R",
        registry_dir,
    )
    assert {row["path"] for row in found.json()} == {
        "orchestrations/consensus_builder.yaml",
        "orchestrations/renamed.yaml",
        "orchestrations/nested/copy.yaml",
    }
    profiles = run("pattern", "discover", "--type", "profile", "--json", "-R", registry_dir).json()
    team = next(row for row in profiles if row["name"] == "base_multi_agent")
    assert [place["path"] for place in team["locations"]] == [
        "profiles/base_multi_agent.yaml",
        "profiles/team/base_multi_agent.yaml",
    ]


def test_a_busy_cache_is_done_without(
    run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksi_patterns.finding import index_cache

    monkeypatch.setattr(index_cache, "BUSY_TIMEOUT", 0.05)
    outputs(run, registry_dir)
    before = rows(registry_dir)
    path = registry_dir / "orchestrations" / "tournament_basic.yaml"
    path.write_text(path.read_text().replace("runs: 120", "runs: 121"))
    commit_all(registry_dir, "one more run")
    holder = sqlite3.connect(cache_file(registry_dir), isolation_level=None)
    try:
        holder.execute("begin exclusive")  # another process writing, for as long as it likes
        done = run(
            "pattern",
            "discover",
            "--where",
            "performance.runs == 121",
            "--json",
            "-R",
            registry_dir,
        )
        assert done.exit_code == 0, done
        assert [row["name"] for row in done.json()] == ["tournament_basic"]
        assert done.stderr == ""
    finally:
        holder.execute("rollback")
        holder.close()
    assert rows(registry_dir) == before  # nothing written while it was busy
    run("pattern", "discover", "--json", "-R", registry_dir)
    assert rows(registry_dir) == before + 1


def test_an_unwritable_state_folder_is_done_without(
    run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksi_patterns.finding.index_cache import IndexCache

    cold = outputs(run, registry_dir)

    def unavailable(cls: type[IndexCache], state_dir: Path) -> IndexCache:
        raise PermissionError(13, "Permission denied", str(state_dir))

    monkeypatch.setattr(IndexCache, "open", classmethod(unavailable))
    assert outputs(run, registry_dir) == cold


def test_storing_a_blob_twice_keeps_one_row(registry_dir: Path) -> None:
    from ksi_patterns.finding.index_cache import IndexCache

    cache = IndexCache.open(registry_dir / ".git" / "ksi")
    try:
        made = [
            records.record_of(f"{index:040x}", f"name: p{index}\ntype: profile".encode(), "p.yaml")
            for index in range(5)
        ]
        assert cache.store(made)
        again = [
            records.record_of(r.blob, f"name: {r.name}\ntype: profile".encode(), "p.yaml")
            for r in made
        ]
        assert cache.store(again)  # as a second process would: its rows are ignored
        assert cache.size() == 5
        assert [r.cache_id for r in again] == [r.cache_id for r in made]
        assert set(cache.lookup([r.blob for r in made])) == {r.blob for r in made}
    finally:
        cache.close()


def test_a_cache_of_mostly_old_versions_is_started_afresh(
    run: RunFn, registry_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksi_patterns.finding import catalog

    cold = outputs(run, registry_dir)
    path = registry_dir / "orchestrations" / "consensus_builder.yaml"
    path.write_text(path.read_text().replace("runs: 38", "runs: 39"))
    commit_all(registry_dir, "one more run")
    monkeypatch.setattr(catalog, "STALE_ROWS", -8)  # 9 rows > 2 * 8 blobs - 8
    done = run(*DISCOVER, "--json", "-R", registry_dir)
    assert done.stdout == cold[0]
    assert not cache_file(registry_dir).exists()
    monkeypatch.undo()
    assert run(*DISCOVER, "--json", "-R", registry_dir).stdout == cold[0]
    assert rows(registry_dir) == len(document_blobs(registry_dir))


def test_concurrent_cold_runs_agree_and_leave_a_sound_cache(registry_dir: Path) -> None:
    folder = registry_dir / "orchestrations"
    for index in range(40):  # enough work that the processes overlap
        text = (folder / "adaptive_pipeline.yaml").read_text()
        text = text.replace("name: adaptive_pipeline", f"name: pipeline_{index:02d}")
        (folder / f"pipeline_{index:02d}.yaml").write_text(
            text.replace("runs: 64", f"runs: {index}")
        )
    commit_all(registry_dir, "forty pipelines")
    argv = [sys.executable, "-m", "ksi_patterns", *SELECT, "--json", "-R", str(registry_dir)]
    processes = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), results
    assert len({stdout for stdout, _ in results}) == 1
    assert rows(registry_dir) == len(document_blobs(registry_dir))
    again = subprocess.run(argv, capture_output=True, check=True, timeout=120)
    assert again.stdout == results[0][0]
