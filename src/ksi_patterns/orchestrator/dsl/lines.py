"""The strategy text as lines: `#` comments dropped, a `{` or `[` left open continued onto the
following lines, and the logical lines arranged by indentation into a forest of `LineNode`s."""

from __future__ import annotations

from dataclasses import dataclass, field

from ksi_patterns.orchestrator.dsl.statements import Line


@dataclass
class LineNode:
    at: Line
    indent: int
    children: list[LineNode] = field(default_factory=list)

    def count(self) -> int:
        return sum(1 + child.count() for child in self.children)


def strip_comment(text: str) -> str:
    """`text` without a `#` comment; a `#` inside quotes or glued to a word is kept."""
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
        index += 1
    return text.rstrip()


def open_brackets(text: str) -> int:
    """Open `{`/`[` minus closed ones, outside quotes."""
    depth = 0
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        index += 1
    return depth


def logical_lines(text: str) -> list[tuple[Line, int]]:
    """Logical lines with their indentation; blank and comment-only lines dropped."""
    raw = text.expandtabs(8).split("\n")
    lines: list[tuple[Line, int]] = []
    number = 0
    while number < len(raw):
        code = strip_comment(raw[number])
        if not code.strip():
            number += 1
            continue
        indent = len(code) - len(code.lstrip(" "))
        first = number
        joined = code.strip()
        # a flow map or list left open goes on to the following lines that are indented deeper
        # (or close it at the same indentation); an unclosed one stops at the next statement
        while open_brackets(joined) > 0 and number + 1 < len(raw):
            following = strip_comment(raw[number + 1])
            more = following.strip()
            if more:
                deeper = len(following) - len(following.lstrip(" ")) > indent
                if not (deeper or more[0] in "}]"):
                    break
                joined = f"{joined} {more}"
            number += 1
        lines.append((Line(first + 1, indent + 1, joined, number + 1), indent))
        number += 1
    return lines


def line_tree(lines: list[tuple[Line, int]]) -> list[LineNode]:
    """Lines as a forest: a line's children are the following lines indented deeper."""
    roots: list[LineNode] = []
    stack: list[LineNode] = []
    for at, indent in lines:
        node = LineNode(at, indent)
        while stack and stack[-1].indent >= indent:
            stack.pop()
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    return roots
