"""Declarative parameter validation: one table of constraints per estimator, one validator.

In the manner of scikit-learn's ``_parameter_constraints``: an estimator declares, for each
parameter, the list of constraints a valid value meets (any one of them), e.g.::

    {"n_iters": [Interval("int", 0), None], "recipe": [Options(("crops", "paper"))]}

and :func:`validate_params` checks them in table order. A value that meets none raises

    ValueError("<Estimator>: <param> must be <description>, got <value!r>.")

where ``<description>`` joins the constraints' descriptions with " or ", in list order
(``[None, Interval("any", 0, closed="neither")]`` reads "None or > 0"); a
:class:`Hidden` constraint is accepted without being named. Checks between parameters are
:class:`Rule` s, each run right after the parameter it follows in the table.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_KINDS = ("int", "real", "number", "any")


@dataclass(frozen=True)
class Interval:
    """A number in a range.

    ``kind``: ``"int"`` an integer (not a bool) ``>= low``; ``"real"`` a real number (not a
    bool); ``"number"`` any ``numbers.Real`` (bools included); ``"any"`` no type check,
    only the comparisons (as ``not value > 0`` reads: a value that cannot be compared
    raises Python's ``TypeError``). ``closed`` says which bounds belong to the range.
    ``high=math.inf`` (not closed on the right) asks for a finite number, described as
    "finite and > low" (e.g. a learning rate: ``inf`` would only fail at the first step).
    """

    kind: str
    low: float | None = None
    high: float | None = None
    closed: str = "left"  # "left", "right", "both" or "neither"
    unit: str = ""

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"unknown interval kind {self.kind!r}")

    def accepts(self, value) -> bool:
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                return False
        elif self.kind == "real":
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                return False
        elif self.kind == "number" and not isinstance(value, numbers.Real):
            return False
        left_closed = self.closed in ("left", "both")
        right_closed = self.closed in ("right", "both")
        if self.low is None and self.high is None:
            return True
        if self.high is None:  # written as the checks read: value >= low (value > low)
            return bool(value >= self.low if left_closed else value > self.low)
        # low <= value < high (the order of Python's own TypeError for other types)
        if self.low is not None and not (self.low <= value if left_closed else self.low < value):
            return False
        return bool(value <= self.high if right_closed else value < self.high)

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        low = f"{'>=' if self.closed in ('left', 'both') else '>'} {self.low}"
        if self.high == math.inf and self.closed in ("left", "neither"):
            return f"finite and {low}{unit}" if self.low is not None else f"finite{unit}"
        if self.kind == "int" and self.high is None:
            return f"an integer {low}{unit}"
        if self.high is None:
            return f"a number {low}{unit}" if self.kind == "number" else f"{low}{unit}"
        left = "[" if self.closed in ("left", "both") else "("
        right = "]" if self.closed in ("right", "both") else ")"
        kind = "an integer " if self.kind == "int" else ""
        return f"{kind}in {left}{self.low}, {self.high}{right}{unit}"


@dataclass(frozen=True)
class Options:
    """One of a fixed tuple of values (compared with ``in``)."""

    values: tuple

    def accepts(self, value) -> bool:
        return value in self.values

    def describe(self) -> str:
        return f"one of {self.values}"


def finite(low, closed="left", kind="any") -> Interval:
    """A finite number ``>= low`` (``closed="neither"``: ``> low``)."""
    return Interval(kind, low, math.inf, closed=closed)


@dataclass(frozen=True)
class Bool:
    """A boolean: ``True`` or ``False`` (numpy's ``np.bool_`` too), never a string or a
    number (``"False"`` is truthy, ``0``/``1`` read as flags only by accident), as
    scikit-learn's ``"boolean"`` constraint."""

    def accepts(self, value) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "a bool (True or False)"


@dataclass(frozen=True)
class Const:
    """Exactly this value (described by its repr, e.g. ``'scratch'``)."""

    value: object

    def accepts(self, value) -> bool:
        return value == self.value

    def describe(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class Path:
    """A ``str`` or ``os.PathLike``, described as ``what``."""

    what: str = "a path"

    def accepts(self, value) -> bool:
        return isinstance(value, (str, os.PathLike))

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class TupleOf:
    """A tuple or list of 1 to ``max_length`` items, each meeting ``item``."""

    item: object
    max_length: int

    def accepts(self, value) -> bool:
        if not isinstance(value, (tuple, list)) or not 1 <= len(value) <= self.max_length:
            return False
        return all(_accepts(self.item, v) for v in value)

    def describe(self) -> str:
        return f"a tuple or list of 1 to {self.max_length} values, each {_describe(self.item)}"


@dataclass(frozen=True)
class Hidden:
    """Accepted, but not named in the error message (e.g. ``lr=None``: a method default)."""

    constraint: object

    def accepts(self, value) -> bool:
        return _accepts(self.constraint, value)


@dataclass(frozen=True)
class Rule:
    """A check between parameters: ``check(estimator)`` raises; run after ``after``."""

    after: str
    check: Callable


def _accepts(constraint, value) -> bool:
    if constraint is None:
        return value is None
    return constraint.accepts(value)


def _describe(constraint) -> str:
    return "None" if constraint is None else constraint.describe()


def check_value(owner: str, param: str, value, constraints) -> None:
    """Raise the ValueError naming ``param`` unless ``value`` meets one of ``constraints``."""
    if any(_accepts(c, value) for c in constraints):
        return
    shown = " or ".join(_describe(c) for c in constraints if not isinstance(c, Hidden))
    raise ValueError(f"{owner}: {param} must be {shown}, got {value!r}.")


def validate_params(est, constraints: dict, rules=()) -> None:
    """Check every parameter of ``est`` in ``constraints``, in order, and the ``rules``."""
    owner = type(est).__name__
    after = {}
    for rule in rules:
        after.setdefault(rule.after, []).append(rule)
    for param, allowed in constraints.items():
        check_value(owner, param, getattr(est, param), allowed)
        for rule in after.get(param, ()):
            rule.check(est)
