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
    rewriter = _Rewriter(expression, tokens)
    rewriter.rewrite()
    return rewriter.translation()


_CLOSING = {"(": ")", "[": "]", "{": "}"}


class _Rewriter:
    """One pass over a condition's tokens, left to right: each token's CEL text, the variables
    read, and the brackets open so far (with the comprehension variables bound inside them)."""

    def __init__(self, expression: str, tokens: list[Token]) -> None:
        self.expression = expression
        self.tokens = tokens
        self.out: list[tuple[str, int]] = []  # (CEL text, source column)
        self.names: set[str] = set()
        # Open brackets: (closing text, the variables bound before it opened, whether it is a
        # comprehension's parentheses).
        self.stack: list[tuple[str, frozenset[str], bool]] = []
        self.bound: frozenset[str] = frozenset()  # comprehension variables in scope
        self.comprehensions = 0  # open comprehension parentheses

    def rewrite(self) -> None:
        i = 0
        while i < len(self.tokens):
            token = self.tokens[i]
            if self._is_percentage(i):  # `30%`: one number token for two
                self.out.append((_percent(self.expression, token), token.column))
                i += 2
                continue
            if token.kind == "op":
                text = self._operator(i)
            elif token.kind == "name":
                text = self._name(i)
            else:
                text = token.text
            self.out.append((text, token.column))
            i += 1
        if self.stack:
            raise failure(self.expression, f"missing {self.stack[-1][0]!r}")

    def translation(self) -> Translation:
        cel_parts: list[str] = []
        columns: list[tuple[int, int]] = []
        offset = 0
        for text, column in self.out:
            columns.append((offset, column))
            cel_parts.append(text)
            offset += len(text) + 1
        cel = " ".join(cel_parts)
        return Translation(self.expression, cel, frozenset(self.names), tuple(columns))

    def _at(self, i: int) -> Token | None:
        return self.tokens[i] if 0 <= i < len(self.tokens) else None

    def _fail(self, message: str, token: Token) -> ConditionError:
        return failure(self.expression, message, token.column)

    def _is_percentage(self, i: int) -> bool:
        """A number with `%` glued to it, not followed by an operand (`7 % 2` is modulo)."""
        after = self._at(i + 1)
        return (
            self.tokens[i].kind == "number"
            and after is not None
            and after.text == "%"
            and after.glued
            and not _starts_operand(self._at(i + 2))
        )

    # -- operators and brackets --------------------------------------------------------------

    def _operator(self, i: int) -> str:
        token = self.tokens[i]
        if token.text == "=":
            return "=="
        if token.text in _CLOSING:
            self._open(i)
        elif token.text in _CLOSING.values():
            self._close(token)
        return token.text

    def _open(self, i: int) -> None:
        token = self.tokens[i]
        if len(self.stack) >= MAX_DEPTH:
            raise self._fail(f"nested deeper than {MAX_DEPTH}", token)
        if self._opens_comprehension(i):
            self._open_comprehension(i)
        else:
            self.stack.append((_CLOSING[token.text], self.bound, False))

    def _opens_comprehension(self, i: int) -> bool:
        """`(` after `.all`, `.exists`, `.map`, ...: its first name is the variable it binds."""
        before = self._at(i - 1)
        return bool(
            self.tokens[i].text == "("
            and before is not None
            and before.kind == "name"
            and before.text in COMPREHENSIONS
            and i >= 2
            and self.tokens[i - 2].text == "."
        )

    def _open_comprehension(self, i: int) -> None:
        token, method, variable = self.tokens[i], self.tokens[i - 1], self._at(i + 1)
        self.comprehensions += 1
        if self.comprehensions > MAX_COMPREHENSION_DEPTH:
            raise self._fail(
                f"comprehensions nested more than {MAX_COMPREHENSION_DEPTH} deep", token
            )
        if variable is None or variable.kind != "name":
            raise self._fail(f"{method.text}() needs a variable name first", token)
        _check_name(self.expression, variable)
        self.stack.append((")", self.bound, True))
        self.bound = self.bound | {variable.text}

    def _close(self, token: Token) -> None:
        if not self.stack or self.stack[-1][0] != token.text:
            raise self._fail(f"unmatched {token.text!r}", token)
        _closing, self.bound, was_comprehension = self.stack.pop()
        self.comprehensions -= was_comprehension

    # -- names -------------------------------------------------------------------------------

    def _name(self, i: int) -> str:
        """The CEL text of a name token: a method, a seed word (AND, True, ...), a function, a
        variable; refused when it calls what it may not or is a reserved word."""
        token, before, after = self.tokens[i], self._at(i - 1), self._at(i + 1)
        _check_name(self.expression, token)
        text, lowered = token.text, token.text.lower()
        calls = after is not None and after.text == "("
        if before is not None and before.kind == "op" and before.text == ".":
            if calls and text not in METHODS:
                methods = ", ".join(sorted(METHODS))
                raise self._fail(f"unknown method {text!r} (methods: {methods})", token)
            return text
        if lowered in _WORD_OPERATORS and text in (lowered, lowered.upper()):
            return _WORD_OPERATORS[lowered]
        if lowered in _LITERALS and text in (lowered, lowered.upper(), lowered.title()):
            return _LITERALS[lowered]
        if text == "in":
            return text  # the membership operator
        if after is not None and after.text == "{":
            raise self._fail(f"{text}{{...}}: messages are not supported", token)
        if calls:
            if text not in FUNCTIONS:
                functions = ", ".join(sorted(FUNCTIONS))
                raise self._fail(f"unknown function {text!r} (functions: {functions})", token)
            return text
        if text in RESERVED:
            raise self._fail(f"{text!r} is a reserved word", token)
        if text not in self.bound:
            self.names.add(text)
        return text


def _check_name(expression: str, token: Token) -> None:
    if token.text.startswith("__"):
        raise failure(
            expression, f"{token.text!r}: names starting with '__' are refused", token.column
        )
