"""The index cache: records of document blobs in SQLite, at `<git-dir>/ksi/index.sqlite`.

Derived data only, never a source of truth: a record depends on its blob's content alone, so
rows are keyed by blob id and never go stale; what a ref holds always comes from git. The
tables and their rows are described in `cache_layout`.

Failures never change a result:
- a missing file is created; a garbage, truncated or foreign file (SQLite reports it as not a
  database, malformed, or a short read; or a row is not valid JSON) raises CacheCorrupt, and the
  caller discards the file (`discard`) and starts again without it;
- a busy database ("database is locked", past the busy timeout) raises CacheUnusable for
  reads, and makes `store` skip writing: that run simply goes without the cache;
- new rows are written in one transaction (`INSERT OR IGNORE`: two processes caching the same
  blob agree on its content), under WAL so that readers never wait for a writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ksi_patterns.finding.cache_layout import (
    SCHEMA,
    TABLES,
    VERSIONS,
    listing_from_row,
    listing_row,
    record_from_row,
    record_row,
)
from ksi_patterns.finding.records import Record, document_json
from ksi_patterns.git.locks import file_lock

FILE_NAME = "index.sqlite"
KEEP_LISTINGS = 16  # folder listings kept (the newest); older ones are derived again when needed
BUSY_TIMEOUT = 2.0  # seconds a statement waits for another process's write lock
# `document -> '$.key'` (SQLite 3.38+) lets a query return only the parts of documents a filter
# reads; older SQLite returns whole documents. Keys outside this set are not put in a JSON path.
JSON_ARROW = sqlite3.sqlite_version_info >= (3, 38, 0)
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:@/+-]+$")
# SQLite result codes (their low byte, for extended codes too) that say "not now" or "not here"
# rather than "damaged": busy, locked, out of memory, read-only, full, cannot open, no permission.
_UNUSABLE_CODES = {5, 6, 7, 8, 13, 14, 3}


class CacheCorrupt(Exception):
    """The cache file is not a usable database: discard it and go on without it."""


class CacheUnusable(Exception):
    """The cache cannot be used in this run (busy, unwritable folder): go on without it."""


def _unusable(err: sqlite3.Error) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _UNUSABLE_CODES
    return any(word in str(err) for word in ("locked", "busy", "readonly", "unable to open"))


def _translate(err: Exception) -> Exception:
    if isinstance(err, sqlite3.Error) and _unusable(err):
        return CacheUnusable(f"index cache unusable now: {err}")
    if isinstance(err, sqlite3.DatabaseError | ValueError | TypeError | KeyError):
        return CacheCorrupt(f"index cache unreadable: {err}")
    if isinstance(err, OSError | sqlite3.Error):
        return CacheUnusable(f"index cache unavailable: {err}")
    return err


@contextlib.contextmanager
def _guarded() -> Any:
    """Turn what SQLite (or a damaged row) raises into CacheCorrupt or CacheUnusable."""
    try:
        yield
    except (sqlite3.Error, OSError, ValueError, TypeError, KeyError) as err:
        raise _translate(err) from err


def _ids_json(values: Iterable[int | str]) -> str:
    return json.dumps(list(values))


class IndexCache:
    """An open cache file. Use `IndexCache.open(state_dir)`; close it when done."""

    def __init__(self, path: Path, connection: sqlite3.Connection, inode: int | None) -> None:
        self.path = path
        self._db = connection
        self._inode = inode  # which file we opened, so that `discard` never removes a new one
        self.rebuilt: str | None = None  # why the file was re-created on opening, if it was

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, state_dir: Path) -> IndexCache:
        """Open the cache in `state_dir`, creating it when missing and re-creating it when it
        is damaged or of another version (then `rebuilt` says why); CacheUnusable when it
        cannot be used in this run."""
        path = state_dir / FILE_NAME
        reason: str | None = None
        for _attempt in range(2):
            cache = cls._connect(path)
            try:
                with _guarded():
                    cache._prepare()
            except CacheCorrupt as err:
                cache.discard()
                reason = str(err)
                continue
            except BaseException:
                cache.close()
                raise
            cache.rebuilt = reason
            return cache
        raise CacheUnusable(f"index cache cannot be rebuilt: {reason}")

    @classmethod
    def _connect(cls, path: Path) -> IndexCache:
        try:
            inode: int | None = path.stat().st_ino
        except OSError:
            inode = None
        try:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except (sqlite3.Error, OSError) as err:
            raise _translate(err) from err
        return cls(path, db, inode)

    def _prepare(self) -> None:
        db = self._db
        db.execute("pragma synchronous = normal")
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
        if "meta" in tables:
            found = dict(db.execute("select key, value from meta").fetchall())
            if found == VERSIONS and tables >= TABLES:
                return
            if found.get("layout") or found.get("terms"):
                raise CacheCorrupt(f"index cache of another version ({found})")
        if tables - TABLES - {name for name in tables if "autoindex" in name}:
            raise CacheCorrupt("index cache holds tables it should not")
        if db.execute("pragma journal_mode").fetchone()[0] != "wal":
            db.execute("pragma journal_mode = wal")
        db.execute("begin immediate")
        try:
            for statement in SCHEMA.split(";"):  # one by one: executescript would commit
                if statement.strip():
                    db.execute(statement)
            db.executemany("insert or replace into meta values (?, ?)", VERSIONS.items())
            db.execute("commit")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("rollback")
            raise

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def discard(self) -> None:
        """Remove the cache file (and its WAL) if it is still the one opened; the next open
        creates a fresh one. Under a lock, so that two processes do not remove each other's
        rebuilt file."""
        self.close()
        with contextlib.suppress(OSError), file_lock(self.path.with_suffix(".lock"), timeout=5):
            try:
                current: int | None = self.path.stat().st_ino
            except OSError:
                current = None
            if current is not None and self._inode is not None and current != self._inode:
                return  # someone already replaced it
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")

    # -- reading ---------------------------------------------------------------------------

    def lookup(self, blobs: Sequence[str]) -> dict[str, Record]:
        """The cached records of those of `blobs` the cache knows (documents not loaded)."""
        found: dict[str, Record] = {}
        with _guarded():
            rows = self._db.execute(
                "select id, record from docs where blob in (select value from json_each(?))",
                (_ids_json(blobs),),
            ).fetchall()
            for cache_id, text in rows:
                record = record_from_row(json.loads(text), cache_id)
                found[record.blob] = record
        return found

    def listings(self, trees: Sequence[str]) -> dict[str, list[tuple[str, Record]]]:
        """tree id -> (path, record) of every document in that folder tree, where cached."""
        found: dict[str, list[tuple[str, Record]]] = {}
        with _guarded():
            rows = self._db.execute(
                "select tree, entries from listings where tree in (select value from json_each(?))",
                (json.dumps(list(trees)),),
            ).fetchall()
            for tree, text in rows:
                found[tree] = listing_from_row(json.loads(text))
        return found

    def nearest_listing(self, trees: Sequence[str]) -> tuple[str, list[tuple[str, Record]]] | None:
        """The first of `trees` that is listed, with its listing; None when none is."""
        with _guarded():
            have = {
                row[0]
                for row in self._db.execute(
                    "select tree from listings where tree in (select value from json_each(?))",
                    (json.dumps(list(trees)),),
                )
            }
        for tree in trees:
            if tree in have:
                found = self.listings([tree])
                if tree in found:
                    return tree, found[tree]
        return None

    def documents(self, ids: Sequence[int]) -> dict[int, Any]:
        """id -> the document, for cached records."""
        with _guarded():
            rows = self._db.execute(
                "select id, document from docs where id in (select value from json_each(?))",
                (_ids_json(ids),),
            ).fetchall()
            found = {id_: json.loads(text) if text is not None else None for id_, text in rows}
        if len(found) != len(set(ids)):
            raise CacheCorrupt("index cache lost rows while in use")
        return found

    def fields(self, ids: Sequence[int], keys: Iterable[str]) -> dict[int, Any]:
        """id -> the document cut down to the top-level `keys` and the same keys under
        `metadata`: all that `filters.lookup` reads for paths starting with those keys (a
        cut-down `metadata` is a map exactly when the whole one is). Whole documents when
        SQLite is older than 3.38 or a key is unusual."""
        wanted = sorted(set(keys))
        if not JSON_ARROW or not all(_PLAIN_KEY.match(key) for key in wanted):
            return self.documents(ids)
        columns = ", ".join("document -> ?" for _ in range(2 * len(wanted)))
        paths = [path for key in wanted for path in (f'$."{key}"', f'$.metadata."{key}"')]
        found: dict[int, Any] = {}
        with _guarded():
            rows = self._db.execute(
                f"select id, json_type(document), json_type(document, '$.metadata')"
                f"{', ' if columns else ''}{columns} "
                "from docs where id in (select value from json_each(?))",
                (*paths, _ids_json(ids)),
            ).fetchall()
            for row in rows:
                if row[1] != "object":
                    found[row[0]] = None if row[1] is None else self.documents([row[0]])[row[0]]
                    continue
                values = row[3:]
                document = {
                    key: json.loads(values[2 * index])
                    for index, key in enumerate(wanted)
                    if values[2 * index] is not None
                }
                if "metadata" not in wanted and row[2] is not None:
                    document["metadata"] = (
                        {
                            key: json.loads(values[2 * index + 1])
                            for index, key in enumerate(wanted)
                            if values[2 * index + 1] is not None
                        }
                        if row[2] == "object"
                        else None  # not a map: never looked into
                    )
                found[row[0]] = document
        if len(found) != len(set(ids)):
            raise CacheCorrupt("index cache lost rows while in use")
        return found

    def postings(self, terms: Sequence[str]) -> dict[str, dict[int | str, int]]:
        """term -> {doc id: tf} over every cached document holding it."""
        found: dict[str, dict[int | str, int]] = {}
        with _guarded():
            for term in dict.fromkeys(terms):
                query = "select doc, tf from terms where term = ?"
                found[term] = dict(self._db.execute(query, (term,)).fetchall())
        return found

    # -- writing ---------------------------------------------------------------------------

    def store(
        self,
        records: Sequence[Record],
        listings: dict[str, list[tuple[str, Record]]] | None = None,
    ) -> bool:
        """Add records parsed in this run, then listings of folder trees, in one transaction;
        every record gets its `cache_id`. False when the database was busy (nothing written);
        CacheCorrupt when the file turns out to be damaged."""
        if not records and not listings:
            return True
        db = self._db
        try:
            with _guarded():
                db.execute("begin immediate")
                try:
                    self._insert(records)
                    for tree, entries in (listings or {}).items():
                        self._insert_listing(tree, entries)
                    db.execute("commit")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("rollback")
                    raise
        except CacheUnusable:
            for record in records:
                record.cache_id = None
            return False
        return True

    def _insert(self, records: Sequence[Record]) -> None:
        db = self._db
        term_rows: list[tuple[str, int, int]] = []
        for record in records:
            cursor = db.execute(
                "insert or ignore into docs (blob, record, document) values (?, ?, ?)",
                (record.blob, json.dumps(record_row(record)), document_json(record)),
            )
            if cursor.rowcount == 1 and cursor.lastrowid is not None:
                record.cache_id = cursor.lastrowid
                term_rows += [(t, record.cache_id, tf) for t, tf in (record.terms or {}).items()]
        db.executemany("insert or ignore into terms values (?, ?, ?)", term_rows)
        unknown = [record for record in records if record.cache_id is None]
        if unknown:  # another process cached these blobs first: take its rows
            ids = dict(
                db.execute(
                    "select blob, id from docs where blob in (select value from json_each(?))",
                    (json.dumps([record.blob for record in unknown]),),
                ).fetchall()
            )
            for record in unknown:
                record.cache_id = ids[record.blob]

    def _insert_listing(self, tree: str, entries: list[tuple[str, Record]]) -> None:
        if any(record.cache_id is None for _path, record in entries):
            return
        self._db.execute(
            "insert or replace into listings values (?, ?)",
            (tree, json.dumps(listing_row(entries), separators=(",", ":"))),
        )
        self._db.execute(  # the newest listings only: each is a whole folder's worth
            "delete from listings where rowid not in "
            "(select rowid from listings order by rowid desc limit ?)",
            (KEEP_LISTINGS,),
        )

    def size(self) -> int:
        with _guarded():
            return int(self._db.execute("select count(*) from docs").fetchone()[0])
