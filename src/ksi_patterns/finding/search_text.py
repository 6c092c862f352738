"""What `select` searches in a pattern, and how text becomes terms (lowercase, light stemming).

The searched fields and their weights (a term in a tag counts three times a term in the
strategy, a light form of BM25F):

    name 2, description 2, orchestration_logic.description 1, orchestration_logic.strategy 1,
    tags 3, use_cases 2, learnings[].insight 1, selection_criteria.task_keywords 3

(`tags`, `use_cases` and `selection_criteria` are read at the top level or under `metadata`).
Terms are runs of letters and digits, lowercased; stop words and bare numbers are dropped, and
a small suffix stripper folds common English endings, so that "competitively", "competitive"
and "competition" are one term, as are "evaluate", "evaluating" and "evaluation".
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

# Bump when tokenizing or the searched fields change: cached term counts are then rebuilt.
TERMS_VERSION = 2

_WORD = re.compile(r"[a-z0-9]+")
_VOWEL = re.compile(r"[aeiouy]")
STOP_WORDS = frozenset(
    """a about above after again all also am among an and any are as at be because been before being
    below between both but by can could did do does doing down during each either else few for
    from further had has have having he her here hers him his how i if in into is it its itself
    just let may me might more most must my no nor not now of off on once only or other our ours
    out over own per same several she should so some such than that the their theirs them then there
    these they this those through to too under until up upon us very was we were what when where
    which while who whom why will with within without would you your yours""".split()  # noqa: SIM905
)

_PLURALS = (("sses", "ss"), ("ies", "y"))
_ENDINGS = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("fulness", "ful"),
    ("iveness", "ive"),
    ("ation", "ate"),
    ("ition", "ite"),
    ("ement", "e"),
    ("ment", ""),
    ("ness", ""),
    ("ing", ""),
    ("ed", ""),
    ("er", ""),
    ("ive", ""),
    ("ion", ""),
)
_NO_UNDOUBLE = "lszaeiou"  # never undoubled: "process" stays, "running" becomes "run"


def stem(word: str) -> str:
    """A light, deterministic English stemmer (a few Porter-style suffix rules)."""
    if len(word) <= 3:
        return word
    for suffix, replacement in _PLURALS:
        if word.endswith(suffix):
            word = word[: -len(suffix)] + replacement
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 4:
            word = word[:-1]
    if word.endswith("ly") and len(word) > 5:
        word = word[:-2]
    for suffix, replacement in _ENDINGS:
        if word.endswith(suffix):
            base = word[: -len(suffix)]
            if len(base) >= 3 and _VOWEL.search(base):
                word = base + replacement
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _NO_UNDOUBLE:
        word = word[:-1]
    return word


@lru_cache(maxsize=1 << 16)
def _term(word: str) -> str:
    """The term a lowercase word stands for; "" for words not searched."""
    if word in STOP_WORDS or word.isdigit() or len(word) < 2:
        return ""
    return stem(word)


def terms(text: str) -> list[str]:
    """The search terms of `text`, in order (repeats kept)."""
    found = []
    for word in _WORD.findall(text.lower()):
        term = _term(word)
        if term:
            found.append(term)
    return found


def query_terms(text: str) -> list[str]:
    """The distinct terms of a task, in first-seen order."""
    return list(dict.fromkeys(terms(text)))


def _field(data: dict[str, Any], key: str) -> Any:
    if key in data:
        return data[key]
    metadata = data.get("metadata")
    return metadata.get(key) if isinstance(metadata, dict) else None


def _texts(value: Any) -> list[str]:
    """Every string in `value` (strings, numbers and the items of lists)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


def searched_fields(data: Any) -> list[tuple[int, list[str]]]:
    """(weight, texts) of every searched field of a pattern."""
    if not isinstance(data, dict):
        return []
    logic = data.get("orchestration_logic")
    logic = logic if isinstance(logic, dict) else {}
    learnings = data.get("learnings")
    insights = [
        item.get("insight")
        for item in (learnings if isinstance(learnings, list) else [])
        if isinstance(item, dict)
    ]
    criteria = _field(data, "selection_criteria")
    keywords = criteria.get("task_keywords") if isinstance(criteria, dict) else None
    return [
        (2, _texts(data.get("name"))),
        (2, _texts(data.get("description"))),
        (1, _texts(logic.get("description"))),
        (1, _texts(logic.get("strategy"))),
        (3, _texts(_field(data, "tags"))),
        (2, _texts(_field(data, "use_cases"))),
        (1, _texts(insights)),
        (3, _texts(keywords)),
    ]


def term_counts(data: Any) -> dict[str, int]:
    """Weighted term frequencies of a pattern's searched fields (their sum is its length)."""
    counts: Counter[str] = Counter()
    for weight, texts in searched_fields(data):
        for text in texts:
            for term in terms(text):
                counts[term] += weight
    return dict(counts)
