"""The functions a condition may call beyond CEL's own (`len`, `sum`, `mean`, `variance`,
`stdev`, `max`, `min`, `abs`), and CEL's arithmetic and comparison operators made to work across
int and double (and `==` between values of different kinds false, not an error). celpy is
imported when `program_functions()` is first called, not with this module."""

from __future__ import annotations

import math
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
            if name in ("_==_", "_!=_") and kind_of(a) != kind_of(b):
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
