"""Constant folding of the small shape computations ONNX exporters emit (``Where``/``Equal``/``ConstantOfShape``
chains that build an ``Expand`` target, ...), for :func:`~codesign.workload.from_onnx` where
``onnx.shape_inference`` leaves a shape unknown: a class token expanded over the batch before a ``Concat``.
numpy only; values are kept for small tensors, shapes for any."""
from __future__ import annotations

from typing import Any

import numpy as np

#: Largest tensor (elements) whose value is computed and kept.
MAX_FOLD_ELEMS: int = 1 << 16

_BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Equal": np.equal, "Less": np.less,
           "Greater": np.greater, "And": np.logical_and, "Or": np.logical_or}


def _ints(v: Any) -> tuple[int, ...]:
    return tuple(int(x) for x in np.asarray(v).reshape(-1))


def fold_shape(op: str, attrs: dict[str, Any], shapes: list[tuple[int, ...] | None],
               values: list[Any]) -> tuple[int, ...] | None:
    """The output shape of ``op`` from its inputs' ``shapes`` and (where known) ``values``; None when unknown."""
    if op == "Expand" and shapes and shapes[0] is not None and len(values) > 1 and values[1] is not None:
        try:
            return tuple(np.broadcast_shapes(shapes[0], _ints(values[1])))
        except ValueError:
            return None
    if op == "Concat" and shapes and all(s is not None for s in shapes):
        axis = int(attrs.get("axis", 0)) % len(shapes[0])
        if any(len(s) != len(shapes[0]) for s in shapes):
            return None
        return tuple(sum(s[axis] for s in shapes) if i == axis else d for i, d in enumerate(shapes[0]))
    return None


def fold_value(op: str, attrs: dict[str, Any], values: list[Any], to_array: Any) -> np.ndarray | None:
    """The value of ``op`` on constant input ``values`` (numpy arrays) for the shape-building ops; None for any
    other op, a missing value or a result over :data:`MAX_FOLD_ELEMS` elements."""
    if not values or any(v is None or np.asarray(v).size > MAX_FOLD_ELEMS for v in values):
        return None
    v = [np.asarray(x) for x in values]
    try:
        if op in _BINARY and len(v) == 2:
            out = _BINARY[op](v[0], v[1])
        elif op == "Where" and len(v) == 3:
            out = np.where(v[0], v[1], v[2])
        elif op == "ConstantOfShape":
            fill = to_array(attrs["value"]).reshape(-1)[0] if "value" in attrs else np.float32(0)
            shape = _ints(v[0])
            if int(np.prod(shape)) > MAX_FOLD_ELEMS:
                return None
            out = np.full(shape, fill)
        elif op == "Concat":
            out = np.concatenate(v, axis=int(attrs.get("axis", 0)))
        elif op == "Unsqueeze":
            axes = attrs.get("axes", _ints(v[1]) if len(v) > 1 else ())
            out = v[0]
            for a in sorted(int(a) % (out.ndim + len(axes)) for a in axes):
                out = np.expand_dims(out, a)
        elif op in ("Cast", "Identity"):
            out = v[0]
        elif op == "Gather":
            out = np.take(v[0], v[1].astype(np.int64), axis=int(attrs.get("axis", 0)))
        elif op == "Expand" and len(v) == 2:
            shape = np.broadcast_shapes(v[0].shape, _ints(v[1]))
            if int(np.prod(shape)) > MAX_FOLD_ELEMS:
                return None
            out = np.broadcast_to(v[0], shape)
        else:
            return None
    except (ValueError, TypeError, IndexError, KeyError):
        return None
    out = np.asarray(out)
    return out if out.size <= MAX_FOLD_ELEMS else None
