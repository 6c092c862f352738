"""The layout of the index cache (`index_cache`): its tables, and a record as a row.

Its tables:

    docs      one per blob: its record (kind, name, version, description, tags,
              capabilities, lineage, runs, avg_score, success_rate, number of search terms,
              the read error if any) as a JSON row, and the whole document as JSON (for
              --where and --require)
    terms     (term, doc, tf): the weighted term counts of patterns, for BM25 in `select`
    listings  one per git tree (the orchestrations/ or profiles/ folder of some commit): every
              document in it as [path, doc id, *record row], so that a warm run reads one row
              per folder instead of walking 10,000 tree entries and looking up 10,000 blobs.
              Keyed by the tree id, a listing never goes stale either; the newest
              KEEP_LISTINGS (index_cache) are kept, and a folder changed by a commit is listed
              from an earlier commit's listing and a tree diff (catalog.py).
    meta      the layout version and the tokenizer version: a mismatch rebuilds the cache
"""

from __future__ import annotations

from typing import Any

from ksi_patterns.finding.records import Record
from ksi_patterns.finding.search_text import TERMS_VERSION

LAYOUT_VERSION = 3
VERSIONS = {"layout": str(LAYOUT_VERSION), "terms": str(TERMS_VERSION)}  # the meta table

SCHEMA = """
create table if not exists meta (key text primary key, value text not null);
create table if not exists docs (
    id integer primary key,
    blob text not null unique,
    record text not null,
    document text
);
create table if not exists terms (
    term text not null, doc integer not null, tf integer not null,
    primary key (term, doc)
) without rowid;
create table if not exists listings (tree text primary key, entries text not null);
"""
TABLES = {"meta", "docs", "terms", "listings"}


def record_row(record: Record) -> list[Any]:
    """A record as the cache stores it (a JSON array)."""
    return [
        record.blob, record.kind, record.name, record.version, record.description, record.tags,
        record.capabilities, record.parent, record.extends, record.lineage_date, record.runs,
        record.avg_score, record.success_rate, record.length, record.error, record.error_line,
        record.error_column,
    ]  # fmt: skip


def record_from_row(row: list[Any], cache_id: int) -> Record:
    """The record a row holds; ValueError when the row is damaged."""
    if type(row) is not list or len(row) != 17:
        raise ValueError(f"damaged record row for doc {cache_id}")
    record = Record(*row)
    record.cache_id = cache_id
    if type(record.tags) is not list or type(record.capabilities) is not list:
        raise ValueError(f"damaged record row for doc {cache_id}")
    if type(record.blob) is not str or type(record.runs) is not int:
        raise ValueError(f"damaged record row for doc {cache_id}")
    return record


def listing_row(entries: list[tuple[str, Record]]) -> list[list[Any]]:
    """A folder listing as the cache stores it: [path, doc id, *record row] per document
    (every record already cached)."""
    return [[path, record.cache_id, *record_row(record)] for path, record in entries]


def listing_from_row(row: Any) -> list[tuple[str, Record]]:
    """(path, record) of a listing's entries; ValueError when the listing is damaged."""
    found = []
    for entry in row:
        if type(entry) is not list or len(entry) != 19:
            raise ValueError("damaged listing entry")
        record = Record(*entry[2:])
        record.cache_id = entry[1]
        if type(record.tags) is not list or type(record.capabilities) is not list:
            raise ValueError(f"damaged listing entry for doc {entry[1]}")
        found.append((entry[0], record))
    return found
