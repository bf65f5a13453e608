"""Shared machinery for categorical search spaces.

A space is a fixed-length sequence of named categorical decisions. A candidate is encoded as a tuple of
choice indices (one ``int`` per decision, ``0 <= index < len(choices[i])``); :meth:`CategoricalSpace.decode`
turns such a tuple back into a candidate object and :meth:`CategoricalSpace.encode` does the reverse.
"""
from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")

__all__ = ["CategoricalSpace", "as_generator", "choice_tuple", "not_a_choice", "py_scalar"]


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Return ``rng`` if it is a :class:`numpy.random.Generator`, else ``numpy.random.default_rng(rng)``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy.random.Generator, an int seed or None, got {rng!r}")


def py_scalar(v: Any) -> Any:
    """``v`` with a numpy scalar turned into the Python one (``np.int64(3) -> 3``, ``np.float64(0.5) -> 0.5``,
    ``np.str_("ws") -> "ws"``); anything else unchanged."""
    if isinstance(v, np.generic) and not isinstance(v, np.ndarray):
        return v.item()
    return v


def choice_tuple(field: str, values: Any) -> tuple[Any, ...]:
    """The choices of a space setting as a tuple (numpy scalars made Python scalars).

    Policy, the same for every network and hardware space setting that takes choices: a list, tuple, range or
    1-d array gives its elements in order; a single value - a number, a string, ``None`` - is *one* choice
    (``kernels=3`` is ``kernels=(3,)``, ``blocks="gc-fused"`` is ``blocks=("gc-fused",)``; a string is never
    split into characters). A mapping or a set is refused (ValueError naming ``field``): a mapping's keys are
    rarely what was meant, and a set has no order, which the encoding needs.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or (
            isinstance(values, np.ndarray) and values.ndim == 0):
        return (py_scalar(values),)
    if isinstance(values, (Mapping, Set)):
        kind = "a mapping" if isinstance(values, Mapping) else "a set (unordered)"
        raise ValueError(f"{field} must be a list of choices (or one value), got {kind}: {field}={values!r}")
    try:
        return tuple(py_scalar(v) for v in values)
    except TypeError as exc:  # pragma: no cover - an iterable that fails to iterate
        raise ValueError(f"{field} must be a list of choices (or one value), got {field}={values!r}: {exc}") from None


def checked_choices(field: str, values: Any, check: Any) -> tuple[Any, ...]:
    """The checked choices of a setting (:func:`choice_tuple`'s policy): at least one, each passing
    ``check(field, value)`` (which raises ValueError naming the field), none twice."""
    values = choice_tuple(field, values)
    if not values:
        raise ValueError(f"{field} must have at least one choice")
    for v in values:
        check(field, v)
    if len(set(values)) != len(values):
        raise ValueError(f"{field} has duplicate choices: {values!r}")
    return values


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _same(value: Any, option: Any) -> bool:
    """Whether a candidate's ``value`` is the choice ``option``.

    Type-strict for int and str choices: an int choice matches only an int of that value (Python or numpy; not
    a bool, not the float ``3.0``, which the block strings and names would carry as ``3.0``); a str choice only
    that str. A float choice also matches an equal int (a width ``1`` is the width ``1.0``). Bools match only
    themselves.
    """
    if isinstance(value, (bool, np.bool_)) or isinstance(option, (bool, np.bool_)):
        return isinstance(value, (bool, np.bool_)) and isinstance(option, (bool, np.bool_)) \
            and bool(value) is bool(option)
    if isinstance(value, str) or isinstance(option, str):
        return isinstance(value, str) and isinstance(option, str) and value == option
    if _is_int(option):
        return _is_int(value) and int(value) == int(option)
    try:
        return bool(value == option)
    except Exception:  # pragma: no cover - exotic types
        return False


def not_a_choice(name: str, value: Any, options: Sequence[Any]) -> str:
    """The error message for a decision value that is none of its choices (says when only its type is wrong)."""
    msg = f"{name}={value!r} is not one of the allowed choices {list(options)}"
    if any(_is_int(o) for o in options) and not _is_int(value):
        if isinstance(value, (bool, np.bool_)):
            msg += " (they are ints; a bool is not an int)"
        elif isinstance(value, numbers.Number):
            msg += f" (they are ints; got a {type(value).__name__})"
    return msg


_ENCODE_CACHE = 1 << 16  # candidates remembered per space by CategoricalSpace.encode


def _typed(value: Any) -> Any:
    """A hashable key of a value that keeps its type (``1``, ``1.0``, ``True`` and ``np.int64(1)`` differ),
    through tuples and lists; TypeError for unhashable leaves."""
    if isinstance(value, (tuple, list)):
        return (type(value),) + tuple(_typed(v) for v in value)
    hash(value)
    return (type(value), value)


def _typed_key(candidate: Any) -> Any:
    """:func:`_typed` of a candidate: a dataclass by its fields, a tuple, list or scalar as itself; None when
    it cannot be keyed (then it is encoded every time)."""
    try:
        fields = getattr(type(candidate), "__dataclass_fields__", None)
        if fields is not None:
            return (type(candidate),) + tuple(_typed(getattr(candidate, f)) for f in fields)
        return _typed(candidate)
    except TypeError:
        return None


class CategoricalSpace(ABC, Generic[T]):
    """A product of named categorical decisions.

    Subclasses set ``self._names`` (tuple of str) and ``self._choices`` (tuple of tuples of allowed values,
    aligned with the names) and implement :meth:`_values` (candidate -> tuple of values) and
    :meth:`_build` (tuple of values -> candidate).
    """

    _names: tuple[str, ...]
    _choices: tuple[tuple[Any, ...], ...]

    def __getstate__(self) -> dict[str, Any]:  # pickled (to Dask workers, checkpoints) without encode's memory
        state = dict(self.__dict__)
        state.pop("_encode_cache", None)
        state.pop("_network_def_cache", None)
        return state

    # -- description ---------------------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Decision names, in encoding order."""
        return self._names

    @property
    def choices(self) -> tuple[tuple[Any, ...], ...]:
        """Allowed values of each decision, aligned with :attr:`names`."""
        return self._choices

    @property
    def cardinalities(self) -> tuple[int, ...]:
        """Number of choices of each decision."""
        return tuple(len(c) for c in self._choices)

    @property
    def size(self) -> int:
        """Number of distinct candidates (product of the cardinalities; an exact Python int)."""
        return math.prod(self.cardinalities)

    def __len__(self) -> int:
        return len(self._names)

    # -- conversion ----------------------------------------------------------------------------------------
    @abstractmethod
    def _values(self, candidate: T) -> tuple[Any, ...]:
        """Decision values of ``candidate`` in :attr:`names` order (raise ValueError if not a candidate)."""

    @abstractmethod
    def _build(self, values: tuple[Any, ...]) -> T:
        """Candidate object from a tuple of (valid) decision values."""

    def encode(self, candidate: T) -> tuple[int, ...]:
        """Candidate -> tuple of choice indices (length ``len(names)``).

        Raises ValueError naming the first decision whose value is not one of its choices. Remembered per space
        for candidates seen before, by the type and value of every field (what :func:`_same` compares), so a
        search that validates, names and keys each candidate several times encodes it once.
        """
        key = _typed_key(candidate)
        cache = self.__dict__.setdefault("_encode_cache", {})
        if key is not None:
            hit = cache.get(key)
            if hit is not None:
                return hit
        out = self._encode(candidate)
        if key is not None:
            if len(cache) >= _ENCODE_CACHE:
                cache.clear()
            cache[key] = out
        return out

    def _encode(self, candidate: T) -> tuple[int, ...]:
        values = self._values(candidate)
        if len(values) != len(self._names):  # pragma: no cover - subclass bug
            raise ValueError(f"candidate has {len(values)} decisions, space has {len(self._names)}")
        out = []
        for name, value, options in zip(self._names, values, self._choices):
            for i, option in enumerate(options):
                if _same(value, option):
                    out.append(i)
                    break
            else:
                raise ValueError(not_a_choice(name, value, options))
        return tuple(out)

    def decode(self, indices: Sequence[int]) -> T:
        """Tuple of choice indices -> candidate. Raises ValueError on wrong length or out-of-range index."""
        try:
            indices = tuple(indices)
        except TypeError:
            raise ValueError(f"indices must be a sequence of ints, got {indices!r}") from None
        if len(indices) != len(self._names):
            raise ValueError(f"indices has length {len(indices)}, expected {len(self._names)} ({self._names[0]}...)")
        values = []
        for name, idx, options in zip(self._names, indices, self._choices):
            if type(idx) is not int and (isinstance(idx, bool) or not isinstance(idx, numbers.Integral)):
                raise ValueError(f"{name} index must be an int, got {idx!r}")
            if not 0 <= int(idx) < len(options):
                raise ValueError(f"{name} index {idx} out of range [0, {len(options)})")
            values.append(options[int(idx)])
        return self._build(tuple(values))

    def validate(self, candidate: T) -> T:
        """Return ``candidate`` unchanged if it lies in the space; raise ValueError naming the bad decision."""
        self.encode(candidate)
        return candidate

    def decisions(self, candidate: T) -> dict[str, Any]:
        """``{decision name: value}`` for ``candidate`` (validated)."""
        self.encode(candidate)
        return dict(zip(self._names, self._values(candidate)))

    # -- random operators ----------------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator | int | None = None) -> T:
        """Uniform random candidate (each decision drawn independently and uniformly)."""
        g = as_generator(rng)
        return self.decode(tuple(int(g.integers(n)) for n in self.cardinalities))

    def mutate_indices(self, indices: Sequence[int], rng: np.random.Generator | int | None = None) -> tuple[int, ...]:
        """Change exactly one decision (chosen uniformly among decisions with >1 choice) to a different
        choice (chosen uniformly among the others)."""
        g = as_generator(rng)
        idx = list(self.encode(self.decode(indices)))
        card = self.cardinalities
        free = [i for i, n in enumerate(card) if n > 1]
        if not free:
            raise ValueError("space has no decision with more than one choice; nothing to mutate")
        pos = free[int(g.integers(len(free)))]
        shift = 1 + int(g.integers(card[pos] - 1))
        idx[pos] = (idx[pos] + shift) % card[pos]
        return tuple(idx)

    def mutate(self, candidate: T, rng: np.random.Generator | int | None = None) -> T:
        """Copy of ``candidate`` with exactly one decision changed (see :meth:`mutate_indices`)."""
        return self.decode(self.mutate_indices(self.encode(candidate), rng))
