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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ksi_patterns.errors import UsageError
from ksi_patterns.finding.catalog import Catalog, Located, posting_key
from ksi_patterns.finding.filters import (
    Condition,
    Source,
    lookup,
    matches,
    parse_path,
    parse_value,
)
from ksi_patterns.finding.search_text import query_terms

WEIGHTS = {"relevance": 0.60, "performance": 0.25, "success": 0.10, "freshness": 0.05}
PRIOR_RUNS = 10
NO_PRIOR = 0.5  # the mean when no pattern has figures
K1, B = 1.2, 0.75
HALF_LIFE_DAYS = 180.0


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
    eligible = candidates
    for requirement in requirements:
        key = requirement.key
        unsettled = eligible
        if requirement.bare:  # documents only for those the record's lists do not settle
            unsettled = [i for i in eligible if key not in i.record.capabilities + i.record.tags]
        documents = catalog.documents(unsettled, [requirement.path[0]])
        kept = [
            item for item in eligible if _meets(requirement, item, documents.get(item.record.blob))
        ]
        if not kept and eligible:
            notes.append(f"note: no pattern meets --require {requirement.source!r}")
        eligible = kept

    postings = catalog.postings(candidates, terms)
    bm25 = _bm25(candidates, terms, postings)
    scored = [item for item in eligible if bm25[item.record.blob] > 0]
    if eligible and not scored:
        if terms:
            notes.append("note: no eligible pattern mentions a word of the task; ranked on figures")
        scored = eligible
    best = max((bm25[item.record.blob] for item in scored), default=0.0)

    with_runs = [item.record for item in candidates if item.record.runs > 0]
    score_mean = _mean([r.avg_score for r in with_runs if r.avg_score is not None])
    success_mean = _mean([r.success_rate for r in with_runs if r.success_rate is not None])
    dates = [item.record.lineage_date for item in candidates if item.record.lineage_date]
    newest = max(dates) if dates else None

    fresh_cache: dict[str, float] = {}

    def freshness(date: str | None) -> float:
        if not date or not newest:
            return 0.0
        if date not in fresh_cache:
            fresh_cache[date] = 0.5 ** (_days(date, newest) / HALF_LIFE_DAYS)
        return fresh_cache[date]

    w_relevance, w_performance = WEIGHTS["relevance"], WEIGHTS["performance"]
    w_success, w_freshness = WEIGHTS["success"], WEIGHTS["freshness"]
    ranked: list[tuple[float, Located, tuple[float, float, float, float]]] = []
    for item in scored:
        record = item.record
        runs = record.runs
        avg, rate = record.avg_score, record.success_rate
        values = (
            bm25[record.blob] / best if best > 0 else 0.0,
            _shrunk(avg, runs, score_mean) if runs > 0 and avg is not None else score_mean,
            _shrunk(rate, runs, success_mean) if runs > 0 and rate is not None else success_mean,
            freshness(record.lineage_date) if record.lineage_date else 0.0,
        )
        # always summed in this order, so equal inputs give equal scores
        score = (
            w_relevance * values[0]
            + w_performance * values[1]
            + w_success * values[2]
            + w_freshness * values[3]
        )
        ranked.append((score, item, values))
    # the best `top` scores, ties at the last one included, then in order (ties by name)
    cutoff = heapq.nlargest(top, (entry[0] for entry in ranked))[-1] if ranked else 0.0
    best_first = sorted(
        (entry for entry in ranked if entry[0] >= cutoff),
        key=lambda entry: (-entry[0], entry[1].name, entry[1].path),
    )[:top]

    def components(item: Located, values: tuple[float, ...]) -> dict[str, dict[str, Any]]:
        record = item.record
        sources: dict[str, dict[str, Any]] = {
            "relevance": {
                "bm25": round(bm25[record.blob], 4),
                "best_bm25": round(best, 4),
                "matched_terms": [t for t in terms if postings[t].get(posting_key(item))],
            },
            "performance": {
                "avg_score": record.avg_score,
                "runs": record.runs,
                "prior_mean": round(score_mean, 4),
                "prior_runs": PRIOR_RUNS,
            },
            "success": {
                "success_rate": record.success_rate,
                "runs": record.runs,
                "prior_mean": round(success_mean, 4),
                "prior_runs": PRIOR_RUNS,
            },
            "freshness": {
                "lineage_date": record.lineage_date,
                "newest": newest,
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

    results = [
        Ranked(index, item, score, components(item, values))
        for index, (score, item, values) in enumerate(best_first, start=1)
    ]
    return Selection(
        task=task,
        terms=terms,
        requirements=[r.source for r in requirements],
        candidates=len(candidates),
        eligible=len(eligible),
        results=results,
        notes=notes,
    )


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
