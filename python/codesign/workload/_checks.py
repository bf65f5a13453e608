"""Argument checks shared by the workload readers: one clear line naming the field and the value."""
from __future__ import annotations

from typing import Any

import numpy as np

#: Largest value any integer field of a :class:`~codesign.workload.Layer` may take (fits a signed 32-bit int).
MAX_DIM: int = 2**31 - 1


def _describe(value: Any) -> str:
    """``repr`` of a value plus its type name, for error messages."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _as_int(owner: str, field: str, value: Any, minimum: int) -> int:
    """Check that ``value`` is an int (numpy ints allowed, bools not) in ``[minimum, MAX_DIM]``.

    Raises:
        TypeError: not an int.
        ValueError: out of range. Both messages name ``owner.field`` and the value.
    """
    what = "a positive int" if minimum >= 1 else "a non-negative int"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}.{field} must be {what}, got {_describe(value)}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{owner}.{field} must be {what}, got {value}")
    if value > MAX_DIM:
        raise ValueError(f"{owner}.{field} must be <= 2**31 - 1 = {MAX_DIM}, got {value}")
    return value


def _pair(owner: str, field: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints -> (height value, width value)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{owner} {field} must be an int or a pair of ints, got {value!r}")
        return (_as_int(owner, f"{field}[0]", value[0], minimum),
                _as_int(owner, f"{field}[1]", value[1], minimum))
    v = _as_int(owner, field, value, minimum)
    return v, v


def read_text_bounded(path: str, *, max_bytes: int, what: str) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes (a BOM dropped), for the readers of peers'
    formats: a device (``/dev/zero``), a pipe or a directory fails at once instead of being read without end.

    Raises:
        ValueError: not a regular file, larger than ``max_bytes``, or not UTF-8 (names the file, ``what`` it was
            read as, and the first line that is not UTF-8). OSError: the file cannot be opened.
    """
    import os
    import stat

    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path}: not a regular file (a {what} must be one)")
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{path}: larger than the {what} size limit of {max_bytes:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(f"{path}: line {line}: not UTF-8 text ({exc.reason})") from None
