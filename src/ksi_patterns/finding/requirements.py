"""Requirements (`--require`): what a pattern must have for `select` to rank it at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ksi_patterns.finding.catalog import Catalog, Located
from ksi_patterns.finding.filters import (
    Condition,
    Source,
    lookup,
    matches,
    parse_path,
    parse_value,
)


@dataclass(frozen=True)
class Requirement:
    """`KEY`: a capability in capabilities_required, a tag, or a field present (not null or
    false); `KEY=VALUE`: the field equals VALUE (or, for a list field, holds it);
    `KEY=true` is the same as `KEY`."""

    key: str
    path: tuple[str, ...]
    value: Any = True
    source: str = ""

    @property
    def bare(self) -> bool:
        return self.value is True


def parse_requirement(text: str) -> Requirement:
    """`KEY` (must be there) or `KEY=VALUE` (must equal it)."""
    source = Source("requirements", text)
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not key:
        raise source.refuse("expected KEY or KEY=VALUE")
    path = parse_path(key, source)
    if not sep:
        return Requirement(key, path, True, text)
    if not raw.strip():
        raise source.refuse("missing the value after '='")
    return Requirement(key, path, parse_value(raw.strip(), source), text)


def requirement(key: str, value: Any) -> Requirement:
    """A requirement given as data: `{key: value}`, `true` meaning the key must be there."""
    return Requirement(key, parse_path(key, Source("requirements", key)), value, f"{key!r}")


def _meets(requirement: Requirement, item: Located, document: Any) -> bool:
    record = item.record
    if requirement.bare:
        if requirement.key in record.capabilities or requirement.key in record.tags:
            return True
        return any(
            value is not None and value is not False for value in lookup(document, requirement.path)
        )
    source = f"--require {requirement.source!r}"
    condition = Condition(requirement.path, "==", requirement.value, source)
    return matches(condition, document, item.name)


def eligible(
    catalog: Catalog, candidates: list[Located], requirements: list[Requirement], notes: list[str]
) -> list[Located]:
    """The candidates meeting every requirement; a note for each requirement nobody meets."""
    remaining = candidates
    for requirement in requirements:
        key = requirement.key
        unsettled = remaining
        if requirement.bare:  # documents only for those the record's lists do not settle
            unsettled = [i for i in remaining if key not in i.record.capabilities + i.record.tags]
        documents = catalog.documents(unsettled, [requirement.path[0]])
        kept = [
            item for item in remaining if _meets(requirement, item, documents.get(item.record.blob))
        ]
        if not kept and remaining:
            notes.append(f"note: no pattern meets --require {requirement.source!r}")
        remaining = kept
    return remaining
