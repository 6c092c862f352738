"""Where the strategy is in a pattern: its text in the document (`strategy_of`), and where its
first line is in the pattern file (`strategy_origin`), so that strategy lines map to file lines."""

from __future__ import annotations

import re
from typing import Any


def strategy_of(document: Any) -> str | None:
    """`orchestration_logic.strategy` of a plain pattern, when it is a string."""
    if not isinstance(document, dict):
        return None
    logic = document.get("orchestration_logic")
    strategy = logic.get("strategy") if isinstance(logic, dict) else None
    return strategy if isinstance(strategy, str) else None


def strategy_origin(text: str, source: str) -> tuple[int, int] | None:
    """Where strategy line 1 is in the pattern file `text`: (1-based file line, indentation), so
    that strategy line N, column C is file line `line + N - 1`, column `indent + C`. None when
    the strategy is not a literal block scalar (`strategy: |`), whose lines map one to one."""
    from ksi_patterns.documents.loading import load_roundtrip

    tree: Any = load_roundtrip(text, source).tree
    logic: Any = tree.get("orchestration_logic") if isinstance(tree, dict) else None
    if not isinstance(logic, dict) or not isinstance(logic.get("strategy"), str):
        return None
    positions: Any = getattr(logic, "lc", None)
    try:
        line, column = positions.value("strategy")
        key_line_number = positions.key("strategy")[0]
    except (AttributeError, KeyError, TypeError):
        return None
    lines = text.split("\n")
    header = re.match(r"\|([1-9])?[+-]?([1-9])?\s*(#.*)?$", lines[line][column:])
    if header is None:
        return None
    indicator = header.group(1) or header.group(2)
    if indicator:
        key_line = lines[key_line_number]
        indent = len(key_line) - len(key_line.lstrip(" ")) + int(indicator)
    else:
        body = next((ln for ln in lines[line + 1 :] if ln.strip()), "")
        indent = len(body) - len(body.lstrip(" "))
    return line + 2, indent
