"""The ``--where`` filter of a sweep: a safe, vectorised condition over configuration fields, with exact
integer arithmetic.

:func:`compile_where` parses the expression with :mod:`ast` (never ``eval``) and returns a predicate over numpy
columns. Integer arithmetic is exact, as in Python: ``+ - * // % **`` of integers run in int64 while they
cannot overflow, and in Python integers (an object array) where they could, so ``pe_x ** 64 > 1`` keeps every
configuration with ``pe_x >= 2`` rather than wrapping around. ``/`` gives a float; an integer raised to a
negative power gives a float, as in Python. A division or modulo by zero, a power whose result would exceed
:data:`MAX_POWER_BITS` bits, and a float overflow into a comparison of integers are ValueErrors naming the
expression, never a silently wrong filter.
"""
from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["compile_where", "MAX_POWER_BITS"]

#: Largest integer power computed exactly (bits of the result); past it the filter is refused.
MAX_POWER_BITS = 1 << 16
_I64_SAFE = float(1 << 62)  # a float estimate below this cannot hide an int64 overflow

_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
           ast.FloorDiv: np.floor_divide, ast.Mod: np.mod, ast.Pow: np.power}
_CMPOPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge}


def _is_int(x: Any) -> bool:
    """An integer column or constant (int64, or the object arrays of Python ints the exact path makes)."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return True
    a = np.asarray(x)
    if a.dtype.kind in "iu":
        return True
    return a.dtype == object and a.size > 0 and all(type(v) is int for v in a.flat)


def _exact(x: Any) -> Any:
    a = np.asarray(x)
    return a.astype(object) if a.dtype != object else a


def _arith(op: type, a: Any, b: Any, expr: str) -> Any:
    """``a op b`` with Python's integer semantics (exact, never wrapped); floats as numpy computes them."""
    if op in (ast.Div, ast.FloorDiv, ast.Mod) and np.any(np.asarray(b) == 0):
        raise _where_error(expr, "divides by zero for some configurations")
    if not (_is_int(a) and _is_int(b)):
        if op is ast.Pow and np.any((np.asarray(a, dtype=float) < 0) & (np.asarray(b, dtype=float) % 1 != 0)):
            raise _where_error(expr, "a negative number to a fractional power (not a real number) for some "
                                     "configurations")
        with np.errstate(all="ignore"):
            return _BINOPS[op](a, b)
    if op is ast.Div:
        try:
            return np.asarray(_BINOPS[op](_exact(a), _exact(b)), dtype=float)
        except OverflowError:
            raise _where_error(expr, "a quotient of integers is too large for a float") from None
    if op is ast.Pow:
        if np.any((np.asarray(a) == 0) & (np.asarray(b) < 0)):
            raise _where_error(expr, "divides by zero for some configurations (0 to a negative power)")
        ea, eb = _exact(a), _exact(b)
        bits = np.abs(eb.astype(float)) * np.log2(np.maximum(np.abs(ea.astype(float)), 2.0))
        if np.any(bits > MAX_POWER_BITS):
            raise _where_error(expr, f"a power has more than {MAX_POWER_BITS} bits; compare logarithms instead")
        return ea ** eb  # Python's pow per element: exact ints, floats for negative exponents
    est = _BINOPS[op](np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    if np.asarray(a).dtype == object or np.asarray(b).dtype == object or np.any(~(np.abs(est) < _I64_SAFE)):
        return _BINOPS[op](_exact(a), _exact(b))
    return _BINOPS[op](a, b)


def _kind(x: Any) -> str:
    """'a number' or 'text', for an error message."""
    a = np.asarray(x)
    if a.dtype.kind in "US" or (a.dtype == object and a.size and isinstance(a.flat[0], str)):
        return "text"
    return "a number"


def _compare(op: type, left: Any, right: Any, expr: str) -> np.ndarray:
    try:
        res = _CMPOPS[op](left, right)
    except TypeError:
        raise _where_error(expr, f"cannot compare {_kind(left)} with {_kind(right)}") from None
    except OverflowError:
        raise _where_error(expr, "an integer too large for a float is compared with a float") from None
    return np.asarray(res, dtype=bool)


def _where_error(expr: str, msg: str) -> ValueError:
    return ValueError(f"--where {expr!r}: {msg}")


def compile_where(expr: str, names: Iterable[str]) -> Callable[[dict[str, Any]], np.ndarray]:
    """Compile a filter over configuration fields into a vectorised predicate ``f(values) -> bool array``.

    Allowed: field names, numbers and strings, ``+ - * / // % **``, unary ``- +``, comparisons
    (``== != < <= > >=``, chained), ``in`` / ``not in`` a list or tuple of constants, ``and``, ``or``, ``not``,
    parentheses. Nothing else (no calls, attributes, subscripts, lambdas): the expression is parsed with
    :mod:`ast` and interpreted with numpy, never ``eval``-ed. Example:
    ``"pe_x * pe_y * lanes * simd >= 2048 and io_bw_gbps in (10, 20) and not pe_x == 6"``.

    Raises:
        ValueError: a syntax error, an unknown field (the known ones are listed), a construct that is not
        allowed, or an expression that is not a condition.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError(f"--where must be a non-empty expression, got {expr!r}")
    names = tuple(names)
    known = set(names)
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        # Python reports an expression cut short ("pe_x +") at offset 0: that error is at its end
        where = f"column {exc.offset}" if exc.offset else f"the end (column {len(expr.strip()) + 1})"
        raise _where_error(expr, f"syntax error at {where}: {exc.msg}") from None

    def check(node: ast.AST, boolean: bool) -> None:
        """Validate once up front, so errors name the construct before any data is touched."""
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                check(v, True)
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                check(node.operand, True)
            elif isinstance(node.op, (ast.USub, ast.UAdd)):
                check(node.operand, False)
            else:
                raise _where_error(expr, f"operator {type(node.op).__name__} is not allowed")
        elif isinstance(node, ast.Compare):
            check(node.left, False)
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not isinstance(right, (ast.Tuple, ast.List, ast.Set)) or not all(
                            isinstance(e, ast.Constant) and isinstance(e.value, (int, float, str))
                            and not isinstance(e.value, bool) for e in right.elts):
                        raise _where_error(expr, "'in' needs a list of constants, e.g. pe_x in (2, 4)")
                elif type(op) in _CMPOPS:
                    check(right, False)
                else:
                    raise _where_error(expr, f"comparison {type(op).__name__} is not allowed")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise _where_error(expr, f"operator {type(node.op).__name__} is not allowed")
            check(node.left, False)
            check(node.right, False)
        elif isinstance(node, ast.Name):
            if node.id not in known:
                raise _where_error(expr, f"unknown field {node.id!r}; fields: {', '.join(names)}")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (bool, int, float, str)):
                raise _where_error(expr, f"constant {node.value!r} is not allowed")
        else:
            raise _where_error(expr, f"{type(node).__name__} is not allowed (only fields, numbers, strings, "
                                     "arithmetic, comparisons, in, and/or/not)")

    check(tree.body, True)
    if not isinstance(tree.body, (ast.Compare, ast.BoolOp)) and not (
            isinstance(tree.body, ast.UnaryOp) and isinstance(tree.body.op, ast.Not)) and not (
            isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, bool)):
        raise _where_error(expr, "must be a condition (a comparison, or conditions joined by and/or/not)")

    def const(v: Any) -> Any:
        if isinstance(v, bool):
            return np.bool_(v)
        if isinstance(v, int):  # a literal past int64 stays an exact Python int
            return np.int64(v) if -(1 << 62) <= v < (1 << 62) else np.asarray(v, dtype=object)
        if isinstance(v, float):
            return np.float64(v)
        return v

    def ev(node: ast.AST, env: dict[str, Any]) -> Any:
        if isinstance(node, ast.BoolOp):
            vals = [np.asarray(ev(v, env), dtype=bool) for v in node.values]
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = vals[0]
            for v in vals[1:]:
                out = fn(out, v)
            return out
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, env)
            if isinstance(node.op, ast.Not):
                return np.logical_not(np.asarray(v, dtype=bool))
            if isinstance(node.op, ast.USub):
                return _arith(ast.Sub, 0, v, expr) if _is_int(v) else np.negative(v)
            return np.positive(v)
        if isinstance(node, ast.Compare):
            left = ev(node.left, env)
            out: Any = True
            for op, right_node in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    choices = [e.value for e in right_node.elts]  # type: ignore[attr-defined]
                    res = np.isin(np.asarray(left, dtype=object if isinstance(choices[0], str) else None), choices)
                    res = np.logical_not(res) if isinstance(op, ast.NotIn) else res
                    right = left
                else:
                    right = ev(right_node, env)
                    res = _compare(type(op), left, right, expr)
                out = np.logical_and(out, res)
                left = right
            return out
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left, env), ev(node.right, env)
            try:
                return _arith(type(node.op), a, b, expr)
            except TypeError as exc:
                raise _where_error(expr, f"bad operands: {exc}") from None
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.Constant):
            return const(node.value)
        raise _where_error(expr, f"{type(node).__name__} is not allowed")  # pragma: no cover (checked above)

    def predicate(values: dict[str, Any], n: int | None = None) -> np.ndarray:
        if n is None:
            n = max((np.size(v) for v in values.values() if np.ndim(v) > 0), default=1)
        with np.errstate(all="ignore"):
            out = ev(tree.body, values)
        out = np.asarray(out)
        if out.dtype != bool:
            raise _where_error(expr, "must be a condition (a comparison, or conditions joined by and/or/not)")
        return np.broadcast_to(out, (n,)).copy() if out.shape != (n,) else out

    return predicate
