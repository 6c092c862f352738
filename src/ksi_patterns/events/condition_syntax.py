"""The syntax of conditions: the tokenizer, and the rewriting of the seed's forms into CEL.

`tokenize` splits a condition as written; `translate` rewrites the seed's forms (`30%`, `AND`,
`=`, `True`, ...) into CEL and refuses, before anything runs, what an expression may not do:
unknown functions and methods, names starting with `__`, reserved words used as variables,
expressions too long or nested too deeply. It also records which top-level variables the
expression reads. Nothing here imports CEL (`celpy`): `variables_in` and lint stay cheap.
The language itself is described in `ksi_patterns.events.conditions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ksi_patterns.errors import KsiError

MAX_CHARS = 2000
MAX_TOKENS = 400
MAX_DEPTH = 24  # brackets: ( [ {
MAX_COMPREHENSION_DEPTH = 2

# Global functions an expression may call; CEL's own, then ours.
CEL_FUNCTIONS = frozenset({"size", "int", "double", "string", "bool", "matches", "has"})
OUR_FUNCTIONS = frozenset({"len", "sum", "mean", "variance", "stdev", "max", "min", "abs"})
FUNCTIONS = CEL_FUNCTIONS | OUR_FUNCTIONS
COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "map", "filter"})
METHODS = (
    frozenset({"size", "contains", "startsWith", "endsWith", "matches"})
    | COMPREHENSIONS
    | OUR_FUNCTIONS
)
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}
_LITERALS = {"true": "true", "false": "false", "none": "null", "null": "null"}
# CEL's reserved words: never variables.
RESERVED = frozenset(
    {
        "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
        "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
        "void", "while",
    }
)  # fmt: skip


class ConditionError(KsiError):
    """A condition that cannot be evaluated: bad syntax, a forbidden call, an unknown variable,
    a value of the wrong kind. `unknown` holds the variables it reads that were not given."""

    def __init__(self, message: str, *, unknown: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.unknown = frozenset(unknown)


# ---------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "string", "name", "op"
    text: str
    column: int  # 1-based, in the expression as written
    glued: bool  # no whitespace between this token and the one before


_TWO_CHAR_OPS = ("&&", "||", "==", "!=", "<=", ">=")
_ONE_CHAR_OPS = frozenset("<>!=+-*/%?:.,()[]{}")


def failure(expression: str, message: str, column: int | None = None) -> ConditionError:
    """The error for `expression`: its text (shortened), the message, and where."""
    where = f" at column {column}" if column is not None else ""
    return ConditionError(f"condition {shorten(expression)!r}: {message}{where}")


def shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tokenize(expression: str) -> list[Token]:
    """The tokens of a condition as written (seed forms included); ConditionError when it
    holds a character or a string that is not one."""
    if not isinstance(expression, str):
        raise ConditionError(f"a condition must be text, not {type(expression).__name__}")
    if len(expression) > MAX_CHARS:
        raise failure(expression, f"{len(expression):,} characters long; at most {MAX_CHARS:,}")
    tokens: list[Token] = []
    i, n = 0, len(expression)
    glued = False
    while i < n:
        char = expression[i]
        if char.isspace():
            i += 1
            glued = False
            continue
        start = i
        if char in "\"'" or (char in "rRbB" and _string_follows(expression, i)):
            i = _string_end(expression, i)
            kind = "string"
        elif char.isdigit() or (char == "." and i + 1 < n and expression[i + 1].isdigit()):
            i = _number_end(expression, i)
            kind = "number"
        elif char.isalpha() or char == "_":
            while i < n and (expression[i].isalnum() or expression[i] == "_"):
                i += 1
            if not expression[start:i].isascii():
                raise failure(expression, f"{expression[start:i]!r} is not a name", start + 1)
            kind = "name"
        elif expression[i : i + 2] in _TWO_CHAR_OPS:
            i += 2
            kind = "op"
        elif char in _ONE_CHAR_OPS:
            i += 1
            kind = "op"
        else:
            raise failure(expression, f"unexpected character {char!r}", i + 1)
        tokens.append(Token(kind, expression[start:i], start + 1, glued and bool(tokens)))
        glued = True
        if len(tokens) > MAX_TOKENS:
            raise failure(expression, f"more than {MAX_TOKENS} tokens")
    return tokens


def _string_follows(text: str, i: int) -> bool:
    """Whether a string prefix (r, b, rb, br) starts at i."""
    j = i
    while j < len(text) and j - i < 2 and text[j] in "rRbB":
        j += 1
    return j < len(text) and text[j] in "\"'" and (i == 0 or not is_name_char(text[i - 1]))


def is_name_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _string_end(text: str, i: int) -> int:
    start = i
    raw = False
    while text[i] in "rRbB":
        raw = raw or text[i] in "rR"
        i += 1
    quote = text[i] * 3 if text[i : i + 3] in ('"""', "'''") else text[i]
    i += len(quote)
    while i < len(text):
        if text.startswith(quote, i):
            return i + len(quote)
        if text[i] == "\\" and not raw:
            i += 2
            continue
        if text[i] == "\n" and len(quote) == 1:
            break
        i += 1
    raise failure(text, "unterminated string", start + 1)


def _number_end(text: str, i: int) -> int:
    n = len(text)
    if text.startswith(("0x", "0X"), i):
        i += 2
        while i < n and text[i] in "0123456789abcdefABCDEF":
            i += 1
    else:
        while i < n and text[i].isdigit():
            i += 1
        if i + 1 < n and text[i] == "." and text[i + 1].isdigit():
            i += 1
            while i < n and text[i].isdigit():
                i += 1
        if i < n and text[i] in "eE":
            j = i + 1
            if j < n and text[j] in "+-":
                j += 1
            if j < n and text[j].isdigit():
                i = j
                while i < n and text[i].isdigit():
                    i += 1
    if i < n and text[i] in "uU":
        i += 1
    return i


# ---------------------------------------------------------------------------------------------
# From the seed's forms to CEL, and what the expression reads


@dataclass(frozen=True)
class Translation:
    """A condition rewritten as CEL, with what it reads and where its pieces came from."""

    source: str
    cel: str
    names: frozenset[str]  # the top-level variables it reads
    columns: tuple[tuple[int, int], ...]  # (offset in `cel`, column in `source`) per token


def _starts_operand(token: Token | None) -> bool:
    if token is None:
        return False
    if token.kind in ("number", "string"):
        return True
    if token.kind == "name":
        return token.text.lower() not in _WORD_OPERATORS
    return token.text in ("(", "[", "{")


def _percent(expression: str, token: Token) -> str:
    try:
        value = Decimal(token.text) / 100
    except InvalidOperation:
        raise failure(expression, f"{token.text}% is not a percentage", token.column) from None
    return repr(float(value))


def translate(expression: str) -> Translation:
    """Rewrite the seed's forms into CEL and check what the expression calls and reads."""
    tokens = tokenize(expression)
    if not tokens:
        raise ConditionError("empty condition")
    out: list[tuple[str, int]] = []  # (CEL text, source column)
    names: set[str] = set()
    # Open brackets: (closing text, variables bound inside, is a comprehension's parentheses).
    stack: list[tuple[str, frozenset[str], bool]] = []
    bound: frozenset[str] = frozenset()
    comprehensions = 0
    closing = {"(": ")", "[": "]", "{": "}"}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        after_dot = before is not None and before.text == "." and before.kind == "op"
        text = token.text
        if token.kind == "number" and after is not None and after.text == "%" and after.glued:
            following = tokens[i + 2] if i + 2 < len(tokens) else None
            if not _starts_operand(following):
                out.append((_percent(expression, token), token.column))
                i += 2
                continue
        if token.kind == "op":
            if text == "=":
                text = "=="
            elif text in closing:
                if len(stack) >= MAX_DEPTH:
                    raise failure(expression, f"nested deeper than {MAX_DEPTH}", token.column)
                comprehension = bool(
                    text == "("
                    and before is not None
                    and before.kind == "name"
                    and before.text in COMPREHENSIONS
                    and i >= 2
                    and tokens[i - 2].text == "."
                )
                if comprehension:
                    comprehensions += 1
                    if comprehensions > MAX_COMPREHENSION_DEPTH:
                        raise failure(
                            expression,
                            f"comprehensions nested more than {MAX_COMPREHENSION_DEPTH} deep",
                            token.column,
                        )
                    variable = after
                    if variable is None or variable.kind != "name":
                        raise failure(expression, f"{before.text if before else ''}() needs a "
                                    "variable name first", token.column)  # fmt: skip
                    _check_name(expression, variable)
                    stack.append((closing[text], bound, True))
                    bound = bound | {variable.text}
                else:
                    stack.append((closing[text], bound, False))
            elif text in (")", "]", "}"):
                if not stack or stack[-1][0] != text:
                    raise failure(expression, f"unmatched {text!r}", token.column)
                _closing, bound, was_comprehension = stack.pop()
                comprehensions -= was_comprehension
        elif token.kind == "name":
            _check_name(expression, token)
            lowered = text.lower()
            calls = after is not None and after.text == "("
            if after_dot:
                if calls and text not in METHODS:
                    raise failure(
                        expression,
                        f"unknown method {text!r} (methods: {', '.join(sorted(METHODS))})",
                        token.column,
                    )
            elif lowered in _WORD_OPERATORS and text in (lowered, lowered.upper()):
                text = _WORD_OPERATORS[lowered]
            elif lowered in _LITERALS and text in (lowered, lowered.upper(), lowered.title()):
                text = _LITERALS[lowered]
            elif text == "in":
                pass  # the membership operator
            elif after is not None and after.text == "{":
                raise failure(
                    expression, f"{text}{{...}}: messages are not supported", token.column
                )
            elif calls:
                if text not in FUNCTIONS:
                    raise failure(
                        expression,
                        f"unknown function {text!r} (functions: {', '.join(sorted(FUNCTIONS))})",
                        token.column,
                    )
            elif text in RESERVED:
                raise failure(expression, f"{text!r} is a reserved word", token.column)
            elif text not in bound:
                names.add(text)
        out.append((text, token.column))
        i += 1
    if stack:
        raise failure(expression, f"missing {stack[-1][0]!r}")
    cel_parts: list[str] = []
    columns: list[tuple[int, int]] = []
    offset = 0
    for text, column in out:
        columns.append((offset, column))
        cel_parts.append(text)
        offset += len(text) + 1
    return Translation(expression, " ".join(cel_parts), frozenset(names), tuple(columns))


def _check_name(expression: str, token: Token) -> None:
    if token.text.startswith("__"):
        raise failure(
            expression, f"{token.text!r}: names starting with '__' are refused", token.column
        )
