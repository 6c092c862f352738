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

The machinery lives in `condition_syntax` (the tokenizer and the rewriting into CEL),
`cel_runtime` (the budgeted evaluator and compiled programs), `cel_values` (data into CEL values),
`cel_functions` (our functions and mixed-number operators) and `metric_values` (NAME=VALUE from
a command line); this module evaluates and checks whole conditions.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ksi_patterns.events.cel_runtime import (
    OverBudget,
    compiled,
    eval_message,
)
from ksi_patterns.events.cel_values import kind_of, plain, to_cel
from ksi_patterns.events.condition_syntax import (
    ConditionError,
    Translation,
    failure,
    shorten,
    translate,
)

__all__ = [
    "check",
    "evaluate",
    "variables_in",
]


def variables_in(expression: str) -> set[str]:
    """The top-level variables `expression` reads (not the functions it calls, nor the
    variables its comprehensions bind). Cheap: no CEL parse; ConditionError on a forbidden call,
    a lexical error or unbalanced brackets."""
    return set(translate(expression).names)


_lock = threading.Lock()


def check(expression: str) -> Translation:
    """Parse `expression` fully (CEL included) without evaluating it; ConditionError if bad."""
    with _lock:
        return compiled(expression)[0]


def evaluate(expression: str, variables: Mapping[str, Any]) -> bool:
    """Whether `expression` holds for `variables` (see the module's doc for the language)."""
    from celpy.evaluation import CELEvalError

    with _lock:
        translation, program = compiled(expression)
        unknown = sorted(translation.names - set(variables))
        if unknown:
            listed = ", ".join(repr(name) for name in unknown)
            known = ", ".join(sorted(variables)) or "none"
            raise ConditionError(
                f"condition {shorten(expression)!r}: unknown variable{'s' * (len(unknown) > 1)} "
                f"{listed} (known: {shorten(known, 200)})",
                unknown=unknown,
            )
        activation = {name: to_cel(expression, variables[name], 0) for name in translation.names}
        try:
            result = program.evaluate(activation)
        except CELEvalError as err:
            raise failure(expression, eval_message(err)) from None
        except RecursionError:
            raise failure(expression, "too complex to evaluate") from None
        except OverBudget as over:
            raise failure(expression, over.why) from None
        except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as err:
            raise failure(expression, f"{type(err).__name__}: {err}") from None
    from celpy.celtypes import BoolType

    if isinstance(result, CELEvalError):
        raise failure(expression, eval_message(result))
    if not isinstance(result, BoolType):
        raise failure(expression, f"is not true or false but {kind_of(result)} {plain(result)!r}")
    return bool(result)
