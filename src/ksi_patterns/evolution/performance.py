"""The arithmetic of a pattern's `performance`: stored figures, running means, the parent's score.

`record-run` (evolution.py) reads each figure as a Decimal from its text (so 0.82 is 0.82),
updates `avg_score` and `success_rate` as running means, writes them back as the float nearest
the exact mean, and compares `avg_score` with the lineage parent's, written like the seed's
`improvements_over_parent` (`+21.7%`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ksi_patterns.documents.loading import load_plain, to_plain
from ksi_patterns.documents.model import PATTERNS_DIR, check_name
from ksi_patterns.errors import InputError, NotFoundError, UsageError
from ksi_patterns.lineage.forks import parent_link

if TYPE_CHECKING:
    from ksi_patterns.documents.loading import RoundTrip
    from ksi_patterns.git.refs import Commit
    from ksi_patterns.registry.registry import Registry


def stored_number(value: Any, what: str, position: Any) -> Decimal | None:
    """A stored figure as a Decimal (from its text, so 0.82 is 0.82); None when absent."""
    if value is None:
        return None
    plain = to_plain(value)
    if isinstance(plain, bool):
        raise InputError(f"{what} must be a number, not {plain!r}", position)
    try:
        number = Decimal(str(plain).strip())
    except InvalidOperation:
        raise InputError(f"{what} must be a number, not {plain!r}", position) from None
    if not number.is_finite():
        raise InputError(f"{what} must be a finite number", position)
    return number


def running_mean(old: Decimal | None, runs: int, new: Decimal) -> Decimal:
    """The running mean after one more value; an unknown old mean starts afresh."""
    if old is None or runs <= 0:
        return new
    return (old * runs + new) / (runs + 1)


def as_stored(value: Decimal) -> float:
    """A mean as written: the float nearest the exact mean (no rounding to a few decimals, which
    would drift run after run); short when the mean is (0.85), else Python's shortest repr."""
    return float(value)


def percent(ratio: Decimal) -> str:
    """`+21.7%` as the seed writes it."""
    shown = (ratio * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{'+' if shown >= 0 else ''}{shown}%"


def parent_avg_score(
    registry: Registry, document: RoundTrip, name: str, tip: Commit
) -> tuple[str | None, Decimal | None]:
    """The lineage parent's name and its `performance.avg_score` at `tip` (None when unknown)."""
    link = parent_link(to_plain(document.tree))
    if link is None or link.name == name:
        return None, None
    try:
        check_name(link.name)
        path = registry.find(link.name, str(tip.id), folder=PATTERNS_DIR)
        data = load_plain(registry.store.read(path, tip), path)
    except (NotFoundError, UsageError, InputError):
        return link.name, None
    if not isinstance(data, dict):
        return link.name, None
    performance = data.get("performance")
    if not isinstance(performance, dict):
        metadata = data.get("metadata")
        performance = metadata.get("performance") if isinstance(metadata, dict) else None
    score = performance.get("avg_score") if isinstance(performance, dict) else None
    if score is None or isinstance(score, bool):
        return link.name, None
    try:
        number = Decimal(str(score).strip())
    except InvalidOperation:
        return link.name, None
    return link.name, number if number.is_finite() and number > 0 else None
