"""`select`: requirements first, then a ranking of the remaining patterns for a task.

score = 0.60 relevance + 0.25 performance + 0.10 success + 0.05 freshness, each in 0..1:

- relevance: BM25 (k1 1.2, b 0.75) of the task's terms over each pattern's searched text
  (search_text: weighted fields, stemmed terms), divided by the best BM25 among the eligible
  patterns. Document frequencies and the average length are taken over every pattern at the
  ref, so requirements do not change a pattern's text score. Patterns sharing no term with the
  task are left out, unless no pattern shares any (then all are ranked on the rest, with a note).
- performance: avg_score shrunk toward the registry mean (the mean avg_score of the patterns
  with runs) as if each pattern had PRIOR_RUNS more runs at that mean:
  (runs * avg + PRIOR_RUNS * mean) / (runs + PRIOR_RUNS). 2 runs at 0.99 weigh little against
  47 runs at 0.85. Scores are clamped to 0..1; a pattern without figures gets the mean.
- success: success_rate, shrunk the same way toward the mean success rate.
- freshness: 0.5 ** (age / 180 days), the age of the pattern's latest lineage date (fork or
  merge) behind the newest one among the patterns; 0 without a lineage date. Relative to the
  registry, never to the clock, so the same registry always ranks the same.

Only `type: orchestration` documents are candidates. Ties go to the name (then the path).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ksi_patterns.errors import UsageError
from ksi_patterns.finding.catalog import Catalog, Located, posting_key
from ksi_patterns.finding.records import Record
from ksi_patterns.finding.requirements import Requirement, eligible
from ksi_patterns.finding.search_text import query_terms

WEIGHTS = {"relevance": 0.60, "performance": 0.25, "success": 0.10, "freshness": 0.05}
PRIOR_RUNS = 10
NO_PRIOR = 0.5  # the mean when no pattern has figures
K1, B = 1.2, 0.75
HALF_LIFE_DAYS = 180.0

ComponentValues = tuple[float, float, float, float]  # relevance, performance, success, freshness


@dataclass(frozen=True)
class Ranked:
    rank: int
    item: Located
    score: float
    components: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        record = self.item.record
        return {
            "rank": self.rank,
            "name": self.item.name,
            "version": record.version,
            "path": self.item.path,
            "blob": record.blob,
            "description": record.description,
            "score": round(self.score, 4),
            "components": self.components,
            "explanation": explain_line(self),
        }


@dataclass(frozen=True)
class Selection:
    task: str
    terms: list[str]
    requirements: list[str]
    candidates: int  # orchestration patterns at the ref
    eligible: int  # of them, meeting every requirement
    results: list[Ranked]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "terms": self.terms,
            "requirements": self.requirements,
            "candidates": self.candidates,
            "eligible": self.eligible,
            "results": [ranked.to_json() for ranked in self.results],
            "notes": self.notes,
        }


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values) if values else NO_PRIOR


def _shrunk(value: float | None, runs: int, prior: float) -> float:
    if value is None or runs <= 0:
        return prior
    clamped = 0.0 if value < 0 else 1.0 if value > 1 else value
    return (runs * clamped + PRIOR_RUNS * prior) / (runs + PRIOR_RUNS)


def _bm25(
    items: list[Located], terms: list[str], postings: dict[str, dict[int | str, int]]
) -> dict[str, float]:
    """blob -> BM25 of the task's terms, with statistics over `items`."""
    count = len(items)
    keys = [posting_key(item) for item in items]
    scores = [0.0] * count
    if count and terms:
        lengths = [item.record.length for item in items]
        average = math.fsum(lengths) / count or 1.0
        norms = [K1 * (1 - B + B * length / average) for length in lengths]
        for term in terms:  # in the task's order, so equal inputs give equal sums
            posting = postings[term]
            tfs = [posting.get(key, 0) for key in keys]
            df = count - tfs.count(0)
            if not df:
                continue
            idf = math.log(1 + (count - df + 0.5) / (df + 0.5))
            for index, tf in enumerate(tfs):
                if tf:
                    scores[index] += idf * tf * (K1 + 1) / (tf + norms[index])
    return {item.record.blob: score for item, score in zip(items, scores, strict=True)}


def _days(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds() / 86400


def select(catalog: Catalog, task: str, requirements: list[Requirement], top: int = 5) -> Selection:
    if not task.strip():
        raise UsageError("{field} is empty: describe the task to find a pattern for", field="task")
    if top < 1:
        raise UsageError(f"{{field}} must be at least 1, not {top}", field="top")
    notes: list[str] = []
    candidates = catalog.of_kind("orchestration")
    terms = query_terms(task)
    if not terms:
        notes.append(f"note: the task {task!r} has no words to search for")
    meeting = eligible(catalog, candidates, requirements, notes)
    postings = catalog.postings(candidates, terms)
    bm25 = _bm25(candidates, terms, postings)
    scored = [item for item in meeting if bm25[item.record.blob] > 0]
    if meeting and not scored:
        if terms:
            notes.append("note: no eligible pattern mentions a word of the task; ranked on figures")
        scored = meeting
    best = max((bm25[item.record.blob] for item in scored), default=0.0)
    scorer = _Scorer.over(candidates, terms, postings, bm25, best)
    ranked: list[tuple[float, Located, ComponentValues]] = []
    for item in scored:
        values = scorer.values(item.record)
        ranked.append((_weighted(values), item, values))
    results = [
        Ranked(index, item, score, scorer.components(item, values))
        for index, (score, item, values) in enumerate(_best_first(ranked, top), start=1)
    ]
    return Selection(
        task=task,
        terms=terms,
        requirements=[r.source for r in requirements],
        candidates=len(candidates),
        eligible=len(meeting),
        results=results,
        notes=notes,
    )


def _weighted(values: ComponentValues) -> float:
    relevance, performance, success, freshness = values
    # always summed in this order, so equal inputs give equal scores
    return (
        WEIGHTS["relevance"] * relevance
        + WEIGHTS["performance"] * performance
        + WEIGHTS["success"] * success
        + WEIGHTS["freshness"] * freshness
    )


def _best_first(
    ranked: list[tuple[float, Located, ComponentValues]], top: int
) -> list[tuple[float, Located, ComponentValues]]:
    """The best `top` scores, ties at the last one included, then in order (ties by name)."""
    cutoff = heapq.nlargest(top, (entry[0] for entry in ranked))[-1] if ranked else 0.0
    return sorted(
        (entry for entry in ranked if entry[0] >= cutoff),
        key=lambda entry: (-entry[0], entry[1].name, entry[1].path),
    )[:top]


@dataclass
class _Scorer:
    """What a pattern's component values are measured against: the task's BM25 over every
    candidate, and the registry's mean figures and newest lineage date."""

    terms: list[str]
    postings: dict[str, dict[int | str, int]]
    bm25: dict[str, float]  # blob -> BM25
    best: float  # the best BM25 among the patterns ranked
    score_mean: float
    success_mean: float
    newest: str | None  # lineage date
    freshness_of: dict[str, float] = field(default_factory=dict)  # lineage date -> freshness

    @classmethod
    def over(
        cls,
        candidates: list[Located],
        terms: list[str],
        postings: dict[str, dict[int | str, int]],
        bm25: dict[str, float],
        best: float,
    ) -> _Scorer:
        with_runs = [item.record for item in candidates if item.record.runs > 0]
        score_mean = _mean([r.avg_score for r in with_runs if r.avg_score is not None])
        success_mean = _mean([r.success_rate for r in with_runs if r.success_rate is not None])
        dates = [item.record.lineage_date for item in candidates if item.record.lineage_date]
        newest = max(dates) if dates else None
        return cls(terms, postings, bm25, best, score_mean, success_mean, newest)

    def values(self, record: Record) -> ComponentValues:
        return (
            self.bm25[record.blob] / self.best if self.best > 0 else 0.0,
            _shrunk(record.avg_score, record.runs, self.score_mean),
            _shrunk(record.success_rate, record.runs, self.success_mean),
            self.freshness(record.lineage_date),
        )

    def freshness(self, date: str | None) -> float:
        if not date or not self.newest:
            return 0.0
        if date not in self.freshness_of:
            self.freshness_of[date] = 0.5 ** (_days(date, self.newest) / HALF_LIFE_DAYS)
        return self.freshness_of[date]

    def components(self, item: Located, values: ComponentValues) -> dict[str, dict[str, Any]]:
        """Each component's value, weight and points, and the figures it came from."""
        record = item.record
        sources: dict[str, dict[str, Any]] = {
            "relevance": {
                "bm25": round(self.bm25[record.blob], 4),
                "best_bm25": round(self.best, 4),
                "matched_terms": [t for t in self.terms if self.postings[t].get(posting_key(item))],
            },
            "performance": {
                "avg_score": record.avg_score,
                "runs": record.runs,
                "prior_mean": round(self.score_mean, 4),
                "prior_runs": PRIOR_RUNS,
            },
            "success": {
                "success_rate": record.success_rate,
                "runs": record.runs,
                "prior_mean": round(self.success_mean, 4),
                "prior_runs": PRIOR_RUNS,
            },
            "freshness": {
                "lineage_date": record.lineage_date,
                "newest": self.newest,
                "half_life_days": HALF_LIFE_DAYS,
            },
        }
        return {
            key: {
                "value": round(value, 4),
                "weight": WEIGHTS[key],
                "points": round(WEIGHTS[key] * value, 4),
                **sources[key],
            }
            for key, value in zip(WEIGHTS, values, strict=True)
        }


def explain_line(ranked: Ranked) -> str:
    """The score in one line: each component's value and what it came from."""
    parts = ranked.components
    relevance, performance = parts["relevance"], parts["performance"]
    success, freshness = parts["success"], parts["freshness"]
    matched = ", ".join(relevance["matched_terms"]) or "no term"
    runs = performance["runs"]
    figures = (
        f"{performance['avg_score']} over {runs} runs"
        if performance["avg_score"] is not None and runs
        else "no figures"
    )
    rate = f"{success['success_rate']}" if success["success_rate"] is not None and runs else "none"
    fresh = freshness["lineage_date"][:10] if freshness["lineage_date"] else "no lineage date"
    return (
        f"relevance {relevance['value']:.2f} ({matched}); "
        f"performance {performance['value']:.2f} ({figures}, prior {performance['prior_mean']}); "
        f"success {success['value']:.2f} (rate {rate}); "
        f"freshness {freshness['value']:.2f} ({fresh})"
    )


def explain_lines(ranked: Ranked) -> list[str]:
    """The score component by component, for --explain."""
    parts = ranked.components
    relevance, performance = parts["relevance"], parts["performance"]
    success, freshness = parts["success"], parts["freshness"]

    def head(key: str) -> str:
        part = parts[key]
        return f"{key:<12}{part['value']:6.3f} x {part['weight']:.2f} = {part['points']:.3f}"

    matched = ", ".join(relevance["matched_terms"]) or "none"
    lines = [
        f"{head('relevance')}  BM25 {relevance['bm25']} of best {relevance['best_bm25']}; "
        f"terms matched: {matched}",
    ]
    if performance["avg_score"] is None or not performance["runs"]:
        lines.append(f"{head('performance')}  no figures: the mean {performance['prior_mean']}")
    else:
        lines.append(
            f"{head('performance')}  avg_score {performance['avg_score']} over "
            f"{performance['runs']} runs, shrunk toward the mean {performance['prior_mean']} "
            f"as if {performance['prior_runs']} more runs"
        )
    if success["success_rate"] is None or not success["runs"]:
        lines.append(f"{head('success')}  no figures: the mean {success['prior_mean']}")
    else:
        lines.append(
            f"{head('success')}  success_rate {success['success_rate']} over "
            f"{success['runs']} runs, shrunk toward the mean {success['prior_mean']}"
        )
    if freshness["lineage_date"]:
        lines.append(
            f"{head('freshness')}  lineage date {freshness['lineage_date']}, newest "
            f"{freshness['newest']}, half-life {freshness['half_life_days']:.0f} days"
        )
    else:
        lines.append(f"{head('freshness')}  no lineage date")
    return lines
