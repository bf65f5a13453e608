"""The layer table: :class:`Workload`, an ordered, immutable sequence of uniquely named layers."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ._checks import _describe
from .layer import LAYER_FIELDS, Layer

__all__ = ["Workload"]


def _unique_names(names: Iterable[str]) -> list[str]:
    """Make names unique by appending ``#2``, ``#3``, ... to repeats (first occurrence unchanged)."""
    seen: set[str] = set()
    counts: dict[str, int] = {}
    out = []
    names = list(names)
    taken = set(names)
    for name in names:
        if name not in seen:
            seen.add(name)
            out.append(name)
            continue
        i = counts.get(name, 1)
        while True:
            i += 1
            candidate = f"{name}#{i}"
            if candidate not in taken and candidate not in seen:
                break
        counts[name] = i
        seen.add(candidate)
        out.append(candidate)
    return out


class Workload:
    """An ordered, immutable sequence of uniquely named :class:`Layer` objects.

    Args:
        name: the network's name (non-empty).
        layers: the layers in execution order; at least one; names must be unique.
        params: the network's real parameter count when known (all parameters: weights, biases,
            batch-norm, ...). Defaults to the sum of :attr:`Layer.weights`.
        source: where the layers came from, e.g. ``"timm:resnet50"`` or a CSV path.
        input_shape: the input shape the layers were traced with, when known (see :attr:`input_shape`).

    Indexing takes a position (``wl[0]``, ``wl[-1]``) or a layer name (``wl["conv1"]``).

    Raises:
        TypeError: ``name``/``source`` not a str, a layer not a :class:`Layer`, ``params`` not an int.
        ValueError: empty name, no layers, a repeated layer name, ``params`` < 0.
    """

    __slots__ = ("_name", "_layers", "_params", "_source", "_index", "_array", "_input_shape", "_macs")

    def __init__(self, name: str, layers: Iterable[Layer], *, params: int | None = None,
                 source: str = "", input_shape: Iterable[int] | None = None) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Workload.name must be a str, got {_describe(name)}")
        if not name:
            raise ValueError("Workload.name must be a non-empty str, got ''")
        if not isinstance(source, str):
            raise TypeError(f"Workload.source must be a str, got {_describe(source)}")
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
            raise TypeError(f"Workload.layers must be an iterable of Layer, got {_describe(layers)}")
        layers = tuple(layers)
        index: dict[str, int] = {}
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Workload.layers[{i}] must be a Layer, got {_describe(layer)}")
            if layer.name in index:
                raise ValueError(f"Workload {name!r}: layer name {layer.name!r} is used by layers "
                                 f"{index[layer.name]} and {i}; names must be unique")
            index[layer.name] = i
        if not layers:
            raise ValueError(f"Workload {name!r} has no layers")
        if params is None:
            params = sum(layer.weights for layer in layers)
        elif isinstance(params, (bool, np.bool_)) or not isinstance(params, (int, np.integer)):
            raise TypeError(f"Workload.params must be a non-negative int or None, got {_describe(params)}")
        elif params < 0:
            raise ValueError(f"Workload.params must be a non-negative int or None, got {params}")
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_layers", layers)
        object.__setattr__(self, "_params", int(params))
        object.__setattr__(self, "_source", source)
        if input_shape is not None:
            if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Iterable):
                raise TypeError(f"Workload.input_shape must be a sequence of positive ints or None, got "
                                f"{_describe(input_shape)}")
            input_shape = tuple(input_shape)
            if not input_shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1
                                      for d in input_shape):
                raise ValueError(f"Workload.input_shape must be a sequence of positive ints or None, got "
                                 f"{input_shape!r}")
            input_shape = tuple(int(d) for d in input_shape)
        object.__setattr__(self, "_input_shape", input_shape)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_array", None)
        object.__setattr__(self, "_macs", None)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"Workload is immutable; cannot set {key!r}")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Workload is immutable; cannot delete {key!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_workload, (self._name, self._layers, self._params, self._source, self._input_shape))

    # ------------------------------------------------------------------ attributes
    @property
    def name(self) -> str:
        """The network's name."""
        return self._name

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers, in execution order."""
        return self._layers

    @property
    def params(self) -> int:
        """Parameter count (the module's real count when known, else the sum of layer weights)."""
        return self._params

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The input tensor's shape the layers were traced with (e.g. ``(1, 3, 256, 256)``), when known. Not
        compared by ``==``."""
        return self._input_shape

    @property
    def source(self) -> str:
        """Where the layers came from."""
        return self._source

    @property
    def names(self) -> list[str]:
        """Layer names, in order."""
        return [layer.name for layer in self._layers]

    @property
    def macs(self) -> int:
        """Total multiply-accumulates of all layers (the MAC kinds; pool/add/mul have none). Computed once."""
        macs = self._macs
        if macs is None:
            macs = sum(layer.macs for layer in self._layers)
            object.__setattr__(self, "_macs", macs)
        return macs

    @property
    def ops(self) -> int:
        """Total operations: :attr:`macs` plus the vector operations of pool/add/mul layers
        (:attr:`Layer.ops`)."""
        return sum(layer.ops for layer in self._layers)

    @property
    def weights(self) -> int:
        """Total weights (no biases) of all layers."""
        return sum(layer.weights for layer in self._layers)

    # ------------------------------------------------------------------ sequence protocol
    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    def __getitem__(self, key: int | str) -> Layer:
        """``wl[i]`` by position (negative allowed) or ``wl["name"]`` by layer name.

        Raises:
            IndexError: position out of range. KeyError: no layer of that name.
            TypeError: any other key type.
        """
        if isinstance(key, str):
            try:
                return self._layers[self._index[key]]
            except KeyError:
                close = difflib.get_close_matches(key, self._index, n=3)
                hint = f"; close matches: {', '.join(close)}" if close else ""
                raise KeyError(f"Workload {self._name!r} has no layer named {key!r}{hint}") from None
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            try:
                return self._layers[int(key)]
            except IndexError:
                raise IndexError(f"Workload {self._name!r} has {len(self._layers)} layers, "
                                 f"index {int(key)} is out of range") from None
        raise TypeError(f"Workload indices must be int or str, got {_describe(key)}")

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._index
        return item in self._layers

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Workload):
            return NotImplemented
        return (self._name, self._layers, self._params, self._source) == (
            other._name, other._layers, other._params, other._source)

    def __hash__(self) -> int:
        return hash((self._name, self._layers, self._params, self._source))

    def __repr__(self) -> str:
        src = f", source={self._source!r}" if self._source else ""
        return (f"Workload(name={self._name!r}, layers={len(self._layers)}, "
                f"macs={self.macs:.4g}, params={self._params:.4g}{src})")

    def to_array(self) -> np.ndarray:
        """The layers as an int64 table of shape ``(len(self), 18)``, columns :data:`LAYER_FIELDS`.

        Computed once and cached; the array is read-only (``flags.writeable`` is False). Copy it
        (``wl.to_array().copy()``) to modify it.
        """
        arr = self._array
        if arr is None:
            arr = np.array([layer.to_row() for layer in self._layers], dtype=np.int64)
            arr = arr.reshape(len(self._layers), len(LAYER_FIELDS))
            arr.setflags(write=False)
            object.__setattr__(self, "_array", arr)
        return arr


def _rebuild_workload(name: str, layers: tuple[Layer, ...], params: int, source: str,
                      input_shape: tuple[int, ...] | None = None) -> Workload:
    return Workload(name, layers, params=params, source=source, input_shape=input_shape)


def _workload_with_rows(name: str, layers: Sequence[Layer], rows: Any, *, params: int, source: str,
                        macs: int | None = None) -> Workload:
    """A :class:`Workload` of layers a builder made (each a :class:`Layer`, ``params`` a non-negative int), whose
    :meth:`~Workload.to_array` table is ``rows`` (their :meth:`Layer.to_row`, already known: a builder that shares
    layers between workloads remembers their rows; an int64 array is taken over and made read-only), ``macs`` their
    :attr:`Layer.macs` summed when known. The names are checked unique; the layers are not checked again.

    Raises:
        ValueError: a repeated layer name, or ``rows`` not one row of :data:`LAYER_FIELDS` per layer.
    """
    layers = tuple(layers)
    index = {layer.name: i for i, layer in enumerate(layers)}
    if len(index) != len(layers) or not layers:
        return Workload(name, layers, params=params, source=source)  # raises the constructor's error
    arr = np.asarray(rows, dtype=np.int64)
    if arr.shape != (len(layers), len(LAYER_FIELDS)):
        raise ValueError(f"rows must have shape ({len(layers)}, {len(LAYER_FIELDS)}), got {arr.shape}")
    arr.setflags(write=False)
    wl = object.__new__(Workload)
    for slot, value in (("_name", name), ("_layers", layers), ("_params", int(params)), ("_source", source),
                        ("_index", index), ("_array", arr), ("_input_shape", None), ("_macs", macs)):
        object.__setattr__(wl, slot, value)
    if not (isinstance(name, str) and name and isinstance(source, str)):
        return Workload(name, layers, params=params, source=source)  # raises the constructor's error
    return wl
