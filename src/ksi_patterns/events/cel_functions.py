"""The functions a condition may call beyond CEL's own (`len`, `sum`, `mean`, `variance`,
`stdev`, `max`, `min`, `abs`), and CEL's arithmetic and comparison operators made to work across
int and double (and `==` between values of different kinds false, not an error). celpy is
imported when `program_functions()` is first called, not with this module."""

from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ksi_patterns.events.cel_values import kind_of


class _FunctionError(ValueError):
    pass


def _numbers(name: str, values: Sequence[Any]) -> list[float]:
    from celpy import celtypes

    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    numbers = []
    for value in values:
        if isinstance(value, celtypes.BoolType) or not isinstance(value, int | float):
            raise _FunctionError(f"{name}() takes numbers, got {kind_of(value)}")
        numbers.append(float(value))
    return numbers


def program_functions() -> dict[str, Callable[..., Any]]:
    """Our functions and the mixed-number operators, by CEL name, for `Environment.program`."""
    from celpy.evaluation import base_functions

    functions: dict[str, Callable[..., Any]] = {
        "len": base_functions["size"],
        "sum": _total,
        "mean": _mean,
        "variance": _variance,
        "stdev": _stdev,
        "max": _extreme("max", max),
        "min": _extreme("min", min),
        "abs": _absolute,
    }
    for name, op in _OPERATORS.items():
        functions[name] = _mixed(op, name, base_functions[name])
    return functions


# ---------------------------------------------------------------------------------------------
# Our functions


def _double(value: float) -> Any:
    from celpy import celtypes

    return celtypes.DoubleType(value)


def _need(name: str, numbers: list[float], least: int = 1) -> list[float]:
    if len(numbers) < least:
        raise _FunctionError(f"{name}() of fewer than {least} number(s)")
    return numbers


def _mean(*values: Any) -> Any:
    return _double(statistics.fmean(_need("mean", _numbers("mean", values))))


def _variance(*values: Any) -> Any:
    return _double(statistics.pvariance(_need("variance", _numbers("variance", values))))


def _stdev(*values: Any) -> Any:
    return _double(statistics.pstdev(_need("stdev", _numbers("stdev", values))))


def _total(*values: Any) -> Any:
    return _double(math.fsum(_numbers("sum", values)))


def _extreme(name: str, pick: Callable[[Iterable[Any]], Any]) -> Callable[..., Any]:
    """`max` or `min`: of a list or of its arguments, keeping the kind of the value picked."""

    def apply(*values: Any) -> Any:
        items = list(values[0]) if len(values) == 1 and isinstance(values[0], list) else values
        if not items:
            raise _FunctionError(f"{name}() of nothing")
        _numbers(name, list(items))
        return pick(items)

    return apply


def _absolute(value: Any) -> Any:
    _numbers("abs", [value])
    return type(value)(abs(value))


# ---------------------------------------------------------------------------------------------
# Operators across int and double

_COMPARISONS = {
    "_==_": operator.eq,
    "_!=_": operator.ne,
    "_<_": operator.lt,
    "_<=_": operator.le,
    "_>_": operator.gt,
    "_>=_": operator.ge,
}
_ARITHMETIC = {
    "_+_": operator.add,
    "_-_": operator.sub,
    "_*_": operator.mul,
    "_/_": operator.truediv,
}
_OPERATORS = _COMPARISONS | _ARITHMETIC


def _mixed(
    op: Callable[[Any, Any], Any], name: str, original: Callable[[Any, Any], Any]
) -> Callable[[Any, Any], Any]:
    """CEL's operator `name`, but an int and a double meet as numbers (`original` otherwise)."""
    from celpy import celtypes

    def is_number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, celtypes.BoolType)

    def apply(a: Any, b: Any) -> Any:
        if isinstance(a, Exception) or isinstance(b, Exception):
            return original(a, b)
        if is_number(a) and is_number(b) and type(a) is not type(b):
            if name in _COMPARISONS:
                # exact: Python compares its own int and float without rounding
                return celtypes.BoolType(op(_native(a), _native(b)))
            return celtypes.DoubleType(op(float(a), float(b)))
        if name in ("_==_", "_!=_") and kind_of(a) != kind_of(b):
            return celtypes.BoolType(name == "_!=_")  # values of other kinds are unequal
        return original(a, b)

    return apply


def _native(value: Any) -> int | float:
    return int(value) if isinstance(value, int) else float(value)
