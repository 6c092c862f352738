"""What discover and select know of one document blob: its summary, built once and cached.

A Record depends on the blob's content only (never on its path or ref), so the index cache can
key it by blob id. The document itself is kept as plain JSON data: keys are text, sets are
sorted lists, binary is base64, so that a document read from the cache and one parsed from git
are the same value.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.model import capabilities_of, extends_of, lineage_of, tags_of
from ksi_patterns.documents.schema import DocumentKind, kind_of
from ksi_patterns.errors import InputError, Position
from ksi_patterns.finding.search_text import term_counts


@dataclass(slots=True)
class Record:
    blob: str
    kind: str | None  # orchestration, profile, decision-log; None when not a known document
    name: str | None  # the `name` field (None when missing: the path's stem stands in)
    version: str | None
    description: str  # whitespace folded
    tags: list[str]
    capabilities: list[str]
    parent: str | None  # lineage parent, NAME@VERSION
    extends: str | None
    lineage_date: str | None  # the latest fork or merge date of its lineage, ISO 8601 UTC
    runs: int
    avg_score: float | None
    success_rate: float | None
    length: int  # weighted number of search terms (search_text.term_counts)
    error: str | None = None  # why the blob could not be read (then kind is None)
    error_line: int | None = None
    error_column: int | None = None
    cache_id: int | None = None  # the row in the index cache, when it came from there
    document: Any = None  # the plain document, when parsed in this run (not from the cache)
    terms: dict[str, int] | None = field(default=None, repr=False)  # when parsed in this run

    def input_error(self, path: str) -> InputError:
        return InputError(
            self.error or "unreadable", Position(path, self.error_line, self.error_column)
        )


def jsonable(value: Any) -> Any:
    """`value` as JSON data: text keys, lists for sets and tuples, base64 for bytes, NaN as
    null and infinities as the largest floats."""
    if isinstance(value, dict):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item) for item in value), key=repr)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN or infinity
        return None if math.isnan(value) else math.copysign(sys.float_info.max, value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _performance(data: dict[str, Any]) -> dict[str, Any]:
    found = data.get("performance")
    if not isinstance(found, dict):
        metadata = data.get("metadata")
        found = metadata.get("performance") if isinstance(metadata, dict) else None
    return found if isinstance(found, dict) else {}


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def lineage_date(data: Any) -> str | None:
    """The latest of the lineage's fork date and merge dates, as ISO 8601 UTC."""
    lineage = lineage_of(data)
    dates = [_date(lineage.get("fork_date"))]
    merges = lineage.get("merges")
    if isinstance(merges, list):
        dates += [_date(item.get("date")) for item in merges if isinstance(item, dict)]
    known = [moment for moment in dates if moment is not None]
    return max(known).strftime("%Y-%m-%dT%H:%M:%SZ") if known else None


def record_of(blob: str, content: bytes, path: str) -> Record:
    """Parse a blob (found at `path`) into its record, with the document and its terms."""
    try:
        data = jsonable(load_plain(content, path))
    except InputError as err:
        where = err.position or Position(path)
        return Record(
            blob, None, None, None, "", [], [], None, None, None, 0, None, None, 0,
            error=err.message, error_line=where.line, error_column=where.column,
            document=None, terms={},
        )  # fmt: skip
    kind = kind_of(data, path)
    if kind == DocumentKind.DECISION_LOG:
        count = len(data)
        return Record(
            blob, kind.value, None, None, f"{count} decisions", [], [], None, None, None, 0,
            None, None, 0, document=None, terms={},
        )  # fmt: skip
    if kind is None or kind == DocumentKind.REGISTRY_CONFIG or not isinstance(data, dict):
        return Record(
            blob, None, None, None, "", [], [], None, None, None, 0, None, None, 0,
            document=None, terms={},
        )  # fmt: skip
    name, version = data.get("name"), data.get("version")
    performance = _performance(data)
    runs = _number(performance.get("runs"))
    counts = term_counts(data) if kind == DocumentKind.PATTERN else {}
    parent = lineage_of(data).get("parent")
    return Record(
        blob=blob,
        kind=kind.value,
        name=name if isinstance(name, str) else None,
        version=str(version) if version is not None else None,
        description=" ".join(str(data.get("description") or "").split()),
        tags=tags_of(data),
        capabilities=capabilities_of(data),
        parent=parent if isinstance(parent, str) else None,
        extends=extends_of(data),
        lineage_date=lineage_date(data),
        runs=max(0, int(runs)) if runs is not None else 0,
        avg_score=_number(performance.get("avg_score")),
        success_rate=_number(performance.get("success_rate")),
        length=sum(counts.values()),
        document=data,
        terms=counts,
    )


def document_json(record: Record) -> str | None:
    """The document as the cache stores it (None for decision logs and unreadable blobs)."""
    if record.document is None:
        return None
    return json.dumps(record.document, ensure_ascii=False, separators=(",", ":"))
