"""Conditions of events: safe expressions over event data and session metrics.

An expression is evaluated with the Common Expression Language (CEL, through `celpy`, the
pure-Python implementation), never with Python's `eval`: CEL has no way to reach Python objects,
attributes, modules or files. Before CEL sees it, a small tokenizer rewrites the forms the seed's
DSL uses into CEL, and checks what the expression may touch:

- `timeout_rate > 30%`        a number glued to `%` (not followed by an operand) is a percentage:
                              `0.3`; `7 % 2` and `7%2` stay the remainder
- `all_scores_similar`        a bare name is a variable; the whole condition must be a boolean
- `A AND B`, `A OR B`, `NOT A` are `&&`, `||`, `!` (also in lower case); `True`/`FALSE`/`None`
                              are `true`/`false`/`null`
- `x = 3`                     a lone `=` is `==`
- `variance(abilities) > 0.3` calls only the functions below (global or as a method: `xs.mean()`)

Numbers compare and add across int and double (`x > 2.5` with x = 3), as in current CEL; `==`
between different kinds of values (a string and a number) is false rather than an error.

Functions: CEL's `size`, `int`, `double`, `string`, `bool`, `matches` (RE2, linear time), `has`,
and the methods `contains`, `startsWith`, `endsWith`, `exists`, `all`, `exists_one`, `map`,
`filter`; ours: `len` (= size), `sum`, `mean`, `variance`, `stdev`, `max`, `min` (a list, or
several numbers), `abs`.

Refused with a ConditionError before anything runs: any other function or method, names starting
with `__`, an expression longer than 2,000 characters or 400 tokens, brackets nested deeper than
24, comprehensions (`exists`, `map`, ...) nested more than two deep, and a variable that is not
given (the error names it; `variables_in` lists what an expression reads, for lint).

Variables: the caller passes one mapping; its keys are the top-level names. The event bus passes
the event data's keys, then the metrics (a metric wins over a data key of the same name: a
condition gates on what the session measured, and the data cannot mask a measurement), plus
`data` (the whole event data) and `metrics` (all the metrics).
"""

from __future__ import annotations

import json
import math
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import KsiError, UsageError

if TYPE_CHECKING:
    import celpy

MAX_CHARS = 2000
MAX_TOKENS = 400
MAX_DEPTH = 24  # brackets: ( [ {
MAX_COMPREHENSION_DEPTH = 2
MAX_VALUE_DEPTH = 64  # nesting of the data an expression is evaluated over
MAX_STEPS = 50_000  # nodes visited while evaluating: a comprehension over ~3,000 items
MAX_SECONDS = 1.0  # and the time that may take

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


def _fail(expression: str, message: str, column: int | None = None) -> ConditionError:
    where = f" at column {column}" if column is not None else ""
    return ConditionError(f"condition {_shorten(expression)!r}: {message}{where}")


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tokenize(expression: str) -> list[Token]:
    """The tokens of a condition as written (seed forms included); ConditionError when it
    holds a character or a string that is not one."""
    if not isinstance(expression, str):
        raise ConditionError(f"a condition must be text, not {type(expression).__name__}")
    if len(expression) > MAX_CHARS:
        raise _fail(expression, f"{len(expression):,} characters long; at most {MAX_CHARS:,}")
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
                raise _fail(expression, f"{expression[start:i]!r} is not a name", start + 1)
            kind = "name"
        elif expression[i : i + 2] in _TWO_CHAR_OPS:
            i += 2
            kind = "op"
        elif char in _ONE_CHAR_OPS:
            i += 1
            kind = "op"
        else:
            raise _fail(expression, f"unexpected character {char!r}", i + 1)
        tokens.append(Token(kind, expression[start:i], start + 1, glued and bool(tokens)))
        glued = True
        if len(tokens) > MAX_TOKENS:
            raise _fail(expression, f"more than {MAX_TOKENS} tokens")
    return tokens


def _string_follows(text: str, i: int) -> bool:
    """Whether a string prefix (r, b, rb, br) starts at i."""
    j = i
    while j < len(text) and j - i < 2 and text[j] in "rRbB":
        j += 1
    return j < len(text) and text[j] in "\"'" and (i == 0 or not _is_name_char(text[i - 1]))


def _is_name_char(char: str) -> bool:
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
    raise _fail(text, "unterminated string", start + 1)


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
        raise _fail(expression, f"{token.text}% is not a percentage", token.column) from None
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
                    raise _fail(expression, f"nested deeper than {MAX_DEPTH}", token.column)
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
                        raise _fail(
                            expression,
                            f"comprehensions nested more than {MAX_COMPREHENSION_DEPTH} deep",
                            token.column,
                        )
                    variable = after
                    if variable is None or variable.kind != "name":
                        raise _fail(expression, f"{before.text if before else ''}() needs a "
                                    "variable name first", token.column)  # fmt: skip
                    _check_name(expression, variable)
                    stack.append((closing[text], bound, True))
                    bound = bound | {variable.text}
                else:
                    stack.append((closing[text], bound, False))
            elif text in (")", "]", "}"):
                if not stack or stack[-1][0] != text:
                    raise _fail(expression, f"unmatched {text!r}", token.column)
                _closing, bound, was_comprehension = stack.pop()
                comprehensions -= was_comprehension
        elif token.kind == "name":
            _check_name(expression, token)
            lowered = text.lower()
            calls = after is not None and after.text == "("
            if after_dot:
                if calls and text not in METHODS:
                    raise _fail(
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
                raise _fail(expression, f"{text}{{...}}: messages are not supported", token.column)
            elif calls:
                if text not in FUNCTIONS:
                    raise _fail(
                        expression,
                        f"unknown function {text!r} (functions: {', '.join(sorted(FUNCTIONS))})",
                        token.column,
                    )
            elif text in RESERVED:
                raise _fail(expression, f"{text!r} is a reserved word", token.column)
            elif text not in bound:
                names.add(text)
        out.append((text, token.column))
        i += 1
    if stack:
        raise _fail(expression, f"missing {stack[-1][0]!r}")
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
        raise _fail(
            expression, f"{token.text!r}: names starting with '__' are refused", token.column
        )


def variables_in(expression: str) -> set[str]:
    """The top-level variables `expression` reads (not the functions it calls, nor the
    variables its comprehensions bind). Cheap: no CEL parse; ConditionError on a forbidden call,
    a lexical error or unbalanced brackets."""
    return set(translate(expression).names)


# ---------------------------------------------------------------------------------------------
# Evaluation

_lock = threading.Lock()


class _OverBudget(BaseException):
    """Raised inside CEL's evaluator when an expression takes too many steps or too long. A
    BaseException, so that no `except Exception` on the way turns it into a value."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _Budget:
    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def spend(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _OverBudget(f"takes more than {MAX_STEPS:,} steps to evaluate")
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise _OverBudget(f"takes more than {MAX_SECONDS:g} s to evaluate")


@lru_cache(maxsize=1)
def _environment() -> celpy.Environment:
    import sys

    import celpy
    import lark
    from celpy.evaluation import Evaluator

    class BudgetEvaluator(Evaluator):
        """CEL's evaluator, counting the nodes it visits (comprehensions included)."""

        budget: _Budget

        def visit(self, tree: lark.Tree[Any]) -> Any:
            self.budget.spend()
            return super().visit(tree)

        def sub_evaluator(self, ast: lark.Tree[Any]) -> Evaluator:
            nested = BudgetEvaluator(ast, activation=self.activation)
            nested.budget = self.budget
            return nested

    class BudgetRunner(celpy.InterpretedRunner):
        def evaluate(self, context: Any) -> Any:
            evaluator = BudgetEvaluator(ast=self.ast, activation=self.new_activation())
            evaluator.budget = _Budget()
            return evaluator.evaluate(context)

    limit = sys.getrecursionlimit()
    environment = celpy.Environment(runner_class=BudgetRunner)
    # celpy raises the recursion limit to 2500 (process-wide; never lower it): the evaluator
    # recurses through about ten frames per level of an expression.
    sys.setrecursionlimit(max(limit, 2500))
    return environment


@lru_cache(maxsize=512)
def _program(expression: str) -> tuple[Translation, celpy.Runner]:
    from celpy.celparser import CELParseError

    translation = translate(expression)
    environment = _environment()
    try:
        ast = environment.compile(translation.cel)
    except CELParseError as err:
        column = _source_column(translation, err.column)
        raise _fail(expression, "not a valid expression", column) from None
    except RecursionError:
        raise _fail(expression, "too complex") from None
    return translation, environment.program(ast, functions=_functions())


def _source_column(translation: Translation, cel_column: int | None) -> int | None:
    if cel_column is None:
        return None
    found = None
    for offset, column in translation.columns:
        if offset <= cel_column - 1:
            found = column
    return found


def check(expression: str) -> Translation:
    """Parse `expression` fully (CEL included) without evaluating it; ConditionError if bad."""
    with _lock:
        return _program(expression)[0]


def evaluate(expression: str, variables: Mapping[str, Any]) -> bool:
    """Whether `expression` holds for `variables` (see the module's doc for the language)."""
    from celpy.evaluation import CELEvalError

    with _lock:
        translation, program = _program(expression)
        unknown = sorted(translation.names - set(variables))
        if unknown:
            listed = ", ".join(repr(name) for name in unknown)
            known = ", ".join(sorted(variables)) or "none"
            raise ConditionError(
                f"condition {_shorten(expression)!r}: unknown variable{'s' * (len(unknown) > 1)} "
                f"{listed} (known: {_shorten(known, 200)})",
                unknown=unknown,
            )
        activation = {name: _to_cel(expression, variables[name], 0) for name in translation.names}
        try:
            result = program.evaluate(activation)
        except CELEvalError as err:
            raise _fail(expression, _eval_message(err)) from None
        except RecursionError:
            raise _fail(expression, "too complex to evaluate") from None
        except _OverBudget as over:
            raise _fail(expression, over.why) from None
        except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as err:
            raise _fail(expression, f"{type(err).__name__}: {err}") from None
    from celpy.celtypes import BoolType

    if isinstance(result, CELEvalError):
        raise _fail(expression, _eval_message(result))
    if not isinstance(result, BoolType):
        raise _fail(expression, f"is not true or false but {_kind(result)} {_plain(result)!r}")
    return bool(result)


def _eval_message(err: Exception) -> str:
    args = err.args
    message = str(args[0]) if args else str(err)
    if message.startswith("no such member in mapping"):
        return f"no field {message.rsplit(':', 1)[-1].strip()}"
    if "does not support field selection" in message:
        return "field selection on a value that is not a map"
    if message.startswith("found no matching overload") or message == "no such overload":
        detail = args[2][0] if len(args) > 2 and isinstance(args[2], tuple) and args[2] else ""
        return _overload_message(message, str(detail))
    if message.startswith("undeclared reference to"):
        return "unknown name " + message.split("'")[1] if "'" in message else message
    if len(args) > 2 and isinstance(args[2], tuple) and args[2]:
        return f"{message}: {args[2][0]}"
    return message


def _overload_message(message: str, detail: str) -> str:
    for rule, symbol in (
        ("relation_lt", "<"),
        ("relation_le", "<="),
        ("relation_gt", ">"),
        ("relation_ge", ">="),
        ("relation_eq", "=="),
        ("relation_ne", "!="),
        ("relation_in", "in"),
        ("addition", "+ or -"),
        ("multiplication", "*, / or %"),
    ):
        if rule in message:
            kinds = [_CEL_KINDS.get(word, "") for word in re.findall(r"celtypes\.(\w+)", message)]
            shown = " and ".join(kind for kind in kinds if kind) or "these values"
            return f"cannot apply {symbol} to {shown}"
    return f"wrong kind of value: {detail}" if detail else "wrong kind of value"


_CEL_KINDS = {
    "IntType": "a number",
    "UintType": "a number",
    "DoubleType": "a number",
    "StringType": "a string",
    "BoolType": "a boolean",
    "ListType": "a list",
    "MapType": "a map",
    "BytesType": "bytes",
}


def _kind(value: Any) -> str:
    from celpy import celtypes

    for cel_type, name in (
        (celtypes.BoolType | bool, "boolean"),
        (str, "string"),
        (bytes, "bytes"),
        (list, "list"),
        (dict, "map"),
        (int | float, "number"),
    ):
        if isinstance(value, cel_type):
            return name
    return "null" if value is None else type(value).__name__


def _plain(value: Any) -> Any:
    """A CEL value as plain Python, for messages."""
    from celpy import celtypes

    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return _shorten(str(value), 60)
    return value


def _to_cel(expression: str, value: Any, depth: int) -> Any:
    """Plain Python data as CEL values. Anything else becomes its text: an expression never
    sees a Python object."""
    from celpy import celtypes

    if depth > MAX_VALUE_DEPTH:
        raise _fail(expression, f"its variables are nested deeper than {MAX_VALUE_DEPTH}")
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return celtypes.IntType(value)
        return celtypes.DoubleType(float(value))
    if isinstance(value, float | Decimal):
        return celtypes.DoubleType(float(value))
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, bytes):
        return celtypes.BytesType(value)
    if isinstance(value, Mapping):
        return celtypes.MapType(
            {_key(key): _to_cel(expression, item, depth + 1) for key, item in value.items()}
        )
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return celtypes.ListType([_to_cel(expression, item, depth + 1) for item in items])
    if isinstance(value, datetime | date):
        return celtypes.StringType(value.isoformat())
    return celtypes.StringType(str(value))


def _key(key: Any) -> Any:
    from celpy import celtypes

    if isinstance(key, bool):
        return celtypes.BoolType(key)
    if isinstance(key, int):
        return celtypes.IntType(key)
    return celtypes.StringType(str(key))


# ---------------------------------------------------------------------------------------------
# Our functions, and numbers across int and double


class _FunctionError(ValueError):
    pass


def _numbers(name: str, values: Sequence[Any]) -> list[float]:
    from celpy import celtypes

    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    numbers = []
    for value in values:
        if isinstance(value, celtypes.BoolType) or not isinstance(value, int | float):
            raise _FunctionError(f"{name}() takes numbers, got {_kind(value)}")
        numbers.append(float(value))
    return numbers


def _functions() -> dict[str, Callable[..., Any]]:
    import operator

    from celpy import celtypes
    from celpy.evaluation import base_functions

    def number_result(value: float) -> Any:
        return celtypes.DoubleType(value)

    def need(name: str, numbers: list[float], least: int = 1) -> list[float]:
        if len(numbers) < least:
            raise _FunctionError(f"{name}() of fewer than {least} number(s)")
        return numbers

    def mean(*values: Any) -> Any:
        return number_result(statistics.fmean(need("mean", _numbers("mean", values))))

    def variance(*values: Any) -> Any:
        return number_result(statistics.pvariance(need("variance", _numbers("variance", values))))

    def stdev(*values: Any) -> Any:
        return number_result(statistics.pstdev(need("stdev", _numbers("stdev", values))))

    def total(*values: Any) -> Any:
        return number_result(math.fsum(_numbers("sum", values)))

    def extreme(name: str, pick: Callable[[Iterable[Any]], Any]) -> Callable[..., Any]:
        def apply(*values: Any) -> Any:
            items = list(values[0]) if len(values) == 1 and isinstance(values[0], list) else values
            if not items:
                raise _FunctionError(f"{name}() of nothing")
            _numbers(name, list(items))
            return pick(items)

        return apply

    def absolute(value: Any) -> Any:
        _numbers("abs", [value])
        return type(value)(abs(value))

    def is_number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, celtypes.BoolType)

    def native(value: Any) -> int | float:
        return int(value) if isinstance(value, int) else float(value)

    def mixed(op: Callable[[Any, Any], Any], name: str) -> Callable[[Any, Any], Any]:
        original = base_functions[name]

        def apply(a: Any, b: Any) -> Any:
            if isinstance(a, Exception) or isinstance(b, Exception):
                return original(a, b)
            if is_number(a) and is_number(b) and type(a) is not type(b):
                if name in ("_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_"):
                    # exact: Python compares its own int and float without rounding
                    return celtypes.BoolType(op(native(a), native(b)))
                return celtypes.DoubleType(op(float(a), float(b)))
            if name in ("_==_", "_!=_") and _kind(a) != _kind(b):
                return celtypes.BoolType(name == "_!=_")  # values of other kinds are unequal
            return original(a, b)

        return apply

    functions: dict[str, Callable[..., Any]] = {
        "len": base_functions["size"],
        "sum": total,
        "mean": mean,
        "variance": variance,
        "stdev": stdev,
        "max": extreme("max", max),
        "min": extreme("min", min),
        "abs": absolute,
    }
    for name, op in (
        ("_==_", operator.eq),
        ("_!=_", operator.ne),
        ("_<_", operator.lt),
        ("_<=_", operator.le),
        ("_>_", operator.gt),
        ("_>=_", operator.ge),
        ("_+_", operator.add),
        ("_-_", operator.sub),
        ("_*_", operator.mul),
        ("_/_", operator.truediv),
    ):
        functions[name] = mixed(op, name)
    return functions


# ---------------------------------------------------------------------------------------------
# Metrics on a command line: k=v


def parse_value(text: str) -> Any:
    """A metric's value as written on a command line: true/false/null, a number, a percentage
    (`35%` is 0.35), a JSON list or map, else the text itself."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    if stripped.startswith(("[", "{")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as err:
            raise UsageError(f"{text!r} is not valid JSON: {err.msg}") from None
    number = stripped[:-1] if stripped.endswith("%") else stripped
    value: int | float
    try:
        value = int(number)
    except ValueError:
        try:
            value = float(number)
        except ValueError:
            return text
        if not math.isfinite(value):
            return text
    if stripped.endswith("%"):
        return float(Decimal(number) / 100)
    return value


def parse_metrics(pairs: Iterable[str], option: str = "--metrics") -> dict[str, Any]:
    """`["timeout_rate=35%", "all_scores_similar=true"]` -> {"timeout_rate": 0.35, ...}."""
    metrics: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"{option} {pair!r}: expected NAME=VALUE, e.g. timeout_rate=35%")
        if not (name[0].isalpha() or name[0] == "_") or not all(map(_is_name_char, name)):
            raise UsageError(f"{option} {pair!r}: {name!r} is not a name (letters, digits, _)")
        metrics[name] = parse_value(raw)
    return metrics
