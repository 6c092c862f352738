"""Running CEL: the celpy environment with an evaluator that counts its steps and time, the
compiled programs (cached), and CEL's errors rewritten as short messages. celpy and lark are
imported on first use, never with this module."""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ksi_patterns.events.cel_functions import program_functions
from ksi_patterns.events.condition_syntax import Translation, failure, translate

if TYPE_CHECKING:
    import celpy

MAX_STEPS = 50_000  # nodes visited while evaluating: a comprehension over ~3,000 items
MAX_SECONDS = 1.0  # and the time that may take


class OverBudget(BaseException):
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
            raise OverBudget(f"takes more than {MAX_STEPS:,} steps to evaluate")
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise OverBudget(f"takes more than {MAX_SECONDS:g} s to evaluate")


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
def compiled(expression: str) -> tuple[Translation, celpy.Runner]:
    """`expression` translated and compiled to a CEL program (cached); ConditionError if bad.
    Callers hold `conditions`' lock: celpy is used from one thread at a time."""
    from celpy.celparser import CELParseError

    translation = translate(expression)
    environment = _environment()
    try:
        ast = environment.compile(translation.cel)
    except CELParseError as err:
        column = _source_column(translation, err.column)
        raise failure(expression, "not a valid expression", column) from None
    except RecursionError:
        raise failure(expression, "too complex") from None
    return translation, environment.program(ast, functions=program_functions())


def _source_column(translation: Translation, cel_column: int | None) -> int | None:
    if cel_column is None:
        return None
    found = None
    for offset, column in translation.columns:
        if offset <= cel_column - 1:
            found = column
    return found


def eval_message(err: Exception) -> str:
    """A CEL evaluation error as a short message for a condition's author."""
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
