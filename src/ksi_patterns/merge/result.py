"""What a merge hands back: the merged text, the conflicts found, and why it fell back to lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from ksi_patterns.documents.model import format_path

Path = tuple[str | int, ...]


class _Missing:
    """The value of a key or item that one version does not have (absent, not null)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Missing:
        return self


MISSING: Final = _Missing()


def _json_value(value: Any) -> Any:
    """Conflict values are plain already; MISSING (absent) shows as null in JSON."""
    return None if value is MISSING else value


@dataclass(frozen=True)
class Conflict:
    """One place where the engine could not decide. Values are plain Python (or MISSING).

    kind is one of: both-modified, both-added, modify-delete (ours modified, theirs deleted),
    delete-modify (ours deleted, theirs modified), type-changed, list-order, line-overlap
    (for that kind the values are the overlapping lines, not the whole string).
    """

    path: Path
    kind: str
    base: Any
    ours: Any
    theirs: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "path": format_path(self.path),
            "kind": self.kind,
            "base": _json_value(self.base),
            "ours": _json_value(self.ours),
            "theirs": _json_value(self.theirs),
        }


@dataclass
class MergeResult:
    """The merged text (with conflict markers where `conflicts` is not empty).

    `fallback` is None for a structural merge, or says why the texts were merged line by line
    (parse error, duplicate key, aliases over the cap, conflict markers already present).
    """

    text: str
    conflicts: list[Conflict] = field(default_factory=list)
    fallback: str | None = None

    @property
    def clean(self) -> bool:
        return not self.conflicts
