"""Workloads: the layers of a network, in the terms an accelerator model needs.

A :class:`Layer` is one convolution, fully connected layer or matrix multiply, described with the
standard loop bounds of the field:

=====  ==========================================  =====  =======================================
field  meaning                                     field  meaning
=====  ==========================================  =====  =======================================
N      batch                                       R, S   filter rows, filter cols
K      output channels (filters)                   H, W   input (ifmap) rows, cols, unpadded
C      input channels                              P, Q   output (ofmap) rows, cols
=====  ==========================================  =====  =======================================

plus stride, padding and dilation per spatial dimension and the group count (``groups == C == K`` is a
depthwise convolution). A :class:`Workload` is an ordered, immutable sequence of uniquely named layers;
:meth:`Workload.to_array` gives the int64 table (one row per layer, columns :data:`LAYER_FIELDS`) that the
C++ cost model reads.

Importers:

* :func:`from_scalesim_csv` reads SCALE-Sim v3 topology files (conv and GEMM formats) and reproduces
  SCALE-Sim's own conventions (no padding, ceil output size).
* :func:`from_torch` traces a ``torch.nn.Module`` and records every ``nn.Conv2d`` and ``nn.Linear`` with
  its real shapes.
* :func:`from_timm` builds a timm model by name (random weights, nothing downloaded) and calls
  :func:`from_torch`.

Only the standard library and numpy are imported here; torch and timm are imported inside the functions
that need them.
"""
from __future__ import annotations

import csv
import dataclasses
import difflib
import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "LAYER_FIELDS",
    "LAYER_KINDS",
    "MAX_DIM",
    "Layer",
    "Workload",
    "from_scalesim_csv",
    "from_torch",
    "from_timm",
]

#: Integer fields of a :class:`Layer`, in the column order of :meth:`Workload.to_array`.
#: The C++ core depends on this order: never reorder it.
LAYER_FIELDS: tuple[str, ...] = (
    "n", "k", "c", "p", "q", "r", "s", "h", "w",
    "stride_h", "stride_w", "pad_h", "pad_w", "dilation_h", "dilation_w", "groups",
)

#: Allowed values of :attr:`Layer.kind`.
LAYER_KINDS: tuple[str, ...] = ("conv", "fc", "gemm")

#: Largest value any integer field of a :class:`Layer` may take (fits a signed 32-bit int).
MAX_DIM: int = 2**31 - 1

# Fields that must be >= 1; the pads must be >= 0.
_POSITIVE_FIELDS = tuple(f for f in LAYER_FIELDS if f not in ("pad_h", "pad_w"))


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


@dataclass(frozen=True, slots=True)
class Layer:
    """One convolution, fully connected layer or GEMM, in N,K,C,P,Q,R,S terms.

    Shapes: input (ifmap) ``N x C x H x W``, weights ``K x (C/groups) x R x S``, output (ofmap)
    ``N x K x P x Q``. ``H, W`` are the unpadded input sizes; the padded input is
    ``(H + 2*pad_h) x (W + 2*pad_w)``. All sizes are element counts (words), not bytes.

    ``kind`` is ``"conv"`` (any 2-D convolution; depthwise and grouped ones have ``groups > 1``),
    ``"fc"`` (fully connected: ``C`` in, ``K`` out, ``N`` rows, every spatial field 1) or ``"gemm"``
    (an ``M x K`` by ``K x N`` matrix product stored as ``P = H = M``, ``C = K``, ``K = N``,
    everything else 1; see :meth:`gemm`). The kind only labels the layer; the integer fields alone
    define the work.

    ``P, Q`` are given, not derived, so that importers can keep a source's own convention (PyTorch's
    floor rule in :meth:`conv`, SCALE-Sim's ceil rule in :func:`from_scalesim_csv`). The last window
    may therefore overhang the padded input by up to ``stride - 1`` rows/cols.

    Raises:
        TypeError: a field of the wrong type (ints must be ``int`` or numpy integers, never bool or
            float; numpy integers are converted to ``int``).
        ValueError: ``kind`` not in :data:`LAYER_KINDS`; a size, stride, dilation or ``groups`` < 1;
            a pad < 0; any field > :data:`MAX_DIM`; ``C`` or ``K`` not divisible by ``groups``; a
            dilated filter larger than the padded input (``(R-1)*dilation_h + 1 > H + 2*pad_h``,
            likewise for width); an ``fc``/``gemm`` layer whose fields contradict its kind.
    """

    name: str
    kind: str
    n: int
    k: int
    c: int
    p: int
    q: int
    r: int
    s: int
    h: int
    w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    dilation_h: int = 1
    dilation_w: int = 1
    groups: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"Layer.name must be a str, got {_describe(self.name)}")
        if not self.name:
            raise ValueError("Layer.name must be a non-empty str, got ''")
        if not isinstance(self.kind, str):
            raise TypeError(f"Layer.kind must be one of {LAYER_KINDS}, got {_describe(self.kind)}")
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"Layer.kind must be one of {LAYER_KINDS}, got {self.kind!r}")
        for field in LAYER_FIELDS:
            value = _as_int("Layer", field, getattr(self, field), 1 if field in _POSITIVE_FIELDS else 0)
            object.__setattr__(self, field, value)
        g = self.groups
        if self.c % g:
            raise ValueError(f"Layer.c must be divisible by Layer.groups = {g}, got {self.c}")
        if self.k % g:
            raise ValueError(f"Layer.k must be divisible by Layer.groups = {g}, got {self.k}")
        for dim, r, dil, size, pad in (("h", "r", "dilation_h", "h", "pad_h"),
                                       ("w", "s", "dilation_w", "w", "pad_w")):
            extent = (getattr(self, r) - 1) * getattr(self, dil) + 1
            padded = getattr(self, size) + 2 * getattr(self, pad)
            if extent > padded:
                raise ValueError(
                    f"Layer.{r} = {getattr(self, r)} (dilated extent {extent} with {dil} = "
                    f"{getattr(self, dil)}) is larger than the padded input {size} + 2*{pad} = "
                    f"{getattr(self, size)} + 2*{getattr(self, pad)} = {padded}")
        if self.kind == "fc":
            must_be_one = ("p", "q", "r", "s", "h", "w", "stride_h", "stride_w",
                           "dilation_h", "dilation_w", "groups")
            self._check_kind_fields(must_be_one, ("pad_h", "pad_w"))
        elif self.kind == "gemm":
            must_be_one = ("n", "q", "r", "s", "w", "stride_h", "stride_w",
                           "dilation_h", "dilation_w", "groups")
            self._check_kind_fields(must_be_one, ("pad_h", "pad_w"))
            if self.h != self.p:
                raise ValueError(f"Layer.h must equal Layer.p (= GEMM M = {self.p}) for kind "
                                 f"'gemm', got {self.h}")

    def _check_kind_fields(self, ones: Sequence[str], zeros: Sequence[str]) -> None:
        for field in ones:
            if getattr(self, field) != 1:
                raise ValueError(f"Layer.{field} must be 1 for kind {self.kind!r}, "
                                 f"got {getattr(self, field)}")
        for field in zeros:
            if getattr(self, field) != 0:
                raise ValueError(f"Layer.{field} must be 0 for kind {self.kind!r}, "
                                 f"got {getattr(self, field)}")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def conv(cls, name: str, *, c: int, k: int, h: int, w: int, r: int, s: int | None = None,
             stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
             dilation: int | tuple[int, int] = 1, groups: int = 1, n: int = 1) -> Layer:
        """A 2-D convolution with PyTorch's output size rule.

        Args:
            c, k: input and output channels.
            h, w: unpadded input rows and cols.
            r, s: filter rows and cols (``s`` defaults to ``r``).
            stride, padding, dilation: an int for both dimensions or an ``(h, w)`` pair.
                ``padding`` is the zero padding added on each side.
            groups: channel groups (``groups == c == k`` for depthwise).
            n: batch.

        Output size, as ``torch.nn.Conv2d``::

            P = floor((h + 2*pad_h - dilation_h*(r-1) - 1) / stride_h) + 1,   Q likewise.

        Raises:
            TypeError, ValueError: as :class:`Layer`, and ValueError when ``P`` or ``Q`` < 1.
        """
        owner = "Layer.conv"
        r = _as_int(owner, "r", r, 1)
        s = r if s is None else _as_int(owner, "s", s, 1)
        h = _as_int(owner, "h", h, 1)
        w = _as_int(owner, "w", w, 1)
        sh, sw = _pair(owner, "stride", stride, 1)
        ph, pw = _pair(owner, "padding", padding, 0)
        dh, dw = _pair(owner, "dilation", dilation, 1)
        p = (h + 2 * ph - dh * (r - 1) - 1) // sh + 1
        q = (w + 2 * pw - dw * (s - 1) - 1) // sw + 1
        if p < 1:
            raise ValueError(
                f"{owner} {name!r}: output rows P = floor((h + 2*pad_h - dilation_h*(r-1) - 1)/stride_h)"
                f" + 1 = {p} < 1 for h={h}, pad_h={ph}, r={r}, dilation_h={dh}, stride_h={sh}")
        if q < 1:
            raise ValueError(
                f"{owner} {name!r}: output cols Q = floor((w + 2*pad_w - dilation_w*(s-1) - 1)/stride_w)"
                f" + 1 = {q} < 1 for w={w}, pad_w={pw}, s={s}, dilation_w={dw}, stride_w={sw}")
        return cls(name, "conv", n=n, k=k, c=c, p=p, q=q, r=r, s=s, h=h, w=w,
                   stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw,
                   dilation_h=dh, dilation_w=dw, groups=groups)

    @classmethod
    def fc(cls, name: str, *, in_features: int, out_features: int, n: int = 1) -> Layer:
        """A fully connected layer: ``(n x in_features) @ (in_features x out_features)``.

        Stored as a 1x1 convolution on a 1x1 input: ``c = in_features``, ``k = out_features``,
        ``h = w = p = q = r = s = 1``. ``n`` is the number of input rows (batch times any other
        leading dimensions).
        """
        owner = "Layer.fc"
        c = _as_int(owner, "in_features", in_features, 1)
        k = _as_int(owner, "out_features", out_features, 1)
        return cls(name, "fc", n=n, k=k, c=c, p=1, q=1, r=1, s=1, h=1, w=1)

    @classmethod
    def gemm(cls, name: str, *, m: int, n: int, k: int) -> Layer:
        """A matrix product ``(m x k) @ (k x n) -> (m x n)``, as in SCALE-Sim's ``M,N,K`` rows.

        Stored with batch 1 as ``p = h = m``, ``q = w = 1``, ``c = k``, ``k = n``, ``r = s = 1``:
        note that ``Layer.k`` is GEMM N and ``Layer.c`` is GEMM K. Then ``gemm_m == m``,
        ``gemm_n == n``, ``gemm_k == k`` and ``macs == m*n*k``.
        """
        owner = "Layer.gemm"
        m = _as_int(owner, "m", m, 1)
        n_ = _as_int(owner, "n", n, 1)
        k_ = _as_int(owner, "k", k, 1)
        return cls(name, "gemm", n=1, k=n_, c=k_, p=m, q=1, r=1, s=1, h=m, w=1)

    # ------------------------------------------------------------------ derived sizes
    @property
    def macs(self) -> int:
        """Multiply-accumulates: ``N*K*(C/groups)*P*Q*R*S``."""
        return self.n * self.k * (self.c // self.groups) * self.p * self.q * self.r * self.s

    @property
    def weights(self) -> int:
        """Weight count ``K*(C/groups)*R*S`` (no bias)."""
        return self.k * (self.c // self.groups) * self.r * self.s

    @property
    def gemm_m(self) -> int:
        """Rows of the im2col GEMM: ``N*P*Q`` (output pixels)."""
        return self.n * self.p * self.q

    @property
    def gemm_n(self) -> int:
        """Columns of the GEMM for one group: ``K/groups``."""
        return self.k // self.groups

    @property
    def gemm_k(self) -> int:
        """Reduction length for one group: ``(C/groups)*R*S``."""
        return (self.c // self.groups) * self.r * self.s

    @property
    def ifmap_words(self) -> int:
        """Unpadded input size ``N*C*H*W`` in elements."""
        return self.n * self.c * self.h * self.w

    @property
    def ofmap_words(self) -> int:
        """Output size ``N*K*P*Q`` in elements."""
        return self.n * self.k * self.p * self.q

    @property
    def is_depthwise(self) -> bool:
        """True for a grouped conv with one input channel per group (``groups > 1``, ``C/groups == 1``)."""
        return self.groups > 1 and self.c // self.groups == 1

    def to_row(self) -> tuple[int, ...]:
        """The integer fields in :data:`LAYER_FIELDS` order."""
        return tuple(getattr(self, f) for f in LAYER_FIELDS)


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

    Indexing takes a position (``wl[0]``, ``wl[-1]``) or a layer name (``wl["conv1"]``).

    Raises:
        TypeError: ``name``/``source`` not a str, a layer not a :class:`Layer`, ``params`` not an int.
        ValueError: empty name, no layers, a repeated layer name, ``params`` < 0.
    """

    __slots__ = ("_name", "_layers", "_params", "_source", "_index", "_array")

    def __init__(self, name: str, layers: Iterable[Layer], *, params: int | None = None,
                 source: str = "") -> None:
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
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_array", None)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"Workload is immutable; cannot set {key!r}")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Workload is immutable; cannot delete {key!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_workload, (self._name, self._layers, self._params, self._source))

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
    def source(self) -> str:
        """Where the layers came from."""
        return self._source

    @property
    def names(self) -> list[str]:
        """Layer names, in order."""
        return [layer.name for layer in self._layers]

    @property
    def macs(self) -> int:
        """Total multiply-accumulates of all layers."""
        return sum(layer.macs for layer in self._layers)

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
        """The layers as an int64 table of shape ``(len(self), 16)``, columns :data:`LAYER_FIELDS`.

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


def _rebuild_workload(name: str, layers: tuple[Layer, ...], params: int, source: str) -> Workload:
    return Workload(name, layers, params=params, source=source)


# ====================================================================== SCALE-Sim CSV

_CONV_COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                 "Channels", "Num Filter", "Strides")
_GEMM_COLUMNS = ("Layer", "M", "N", "K")
_INT_RE = re.compile(r"^\+?[0-9]+$")


def from_scalesim_csv(path: str | os.PathLike[str], *, name: str | None = None) -> Workload:
    """Read a SCALE-Sim v3 topology CSV, keeping SCALE-Sim's conventions exactly.

    Two formats are recognised from the header row (the first non-blank line):

    * conv: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
      Num Filter, Strides,`` (SCALE-Sim ignores the header's wording; here any header of at least
      8 non-empty cells whose 2nd..4th cells are not ``M, N, K`` is read as conv);
    * GEMM: ``Layer, M, N, K,`` (compared case-insensitively).

    A first row whose cells after the name are all integers is a layer row, not a header, and is an
    error (SCALE-Sim would silently skip that layer).

    Rows: cells are stripped of whitespace; blank rows and rows whose cells are all empty are
    skipped; columns after the 8th (conv) or 4th (GEMM) are ignored (e.g. SCALE-Sim's sparsity
    column, or the notes columns of its bundled ``Resnet50.csv``). Unlike SCALE-Sim, which drops the
    cell after the last comma, a row without a trailing comma keeps its last column.

    Conv rows follow SCALE-Sim: batch 1, no padding, one stride for both dimensions, and output
    size ``P = ceil((H - R + stride)/stride)``, ``Q = ceil((W - S + stride)/stride)`` (this can be
    one more than PyTorch's floor rule, e.g. H=14, R=3, stride 2 gives P=7). A depthwise layer
    written as ``Num Filter = 1`` with ``C`` channels (as in SCALE-Sim's ``mobilenet.csv``) stays a
    plain conv with ``groups = 1``, K = 1, as SCALE-Sim maps it. A layer whose name contains
    ``"DP"``, which SCALE-Sim splits into ``C`` single-channel layers of ``Num Filter`` filters
    each, becomes one grouped conv with ``groups = C``, ``c = C``, ``k = C * Num Filter`` (same
    MACs and weights as the split layers together).

    GEMM rows ``M, N, K`` become :meth:`Layer.gemm` ``(m=M, n=N, k=K)``; SCALE-Sim maps them to the
    conv ``H=M, W=K, R=1, S=K, C=1`` with the same MACs ``M*N*K`` and im2col shapes.

    Repeated layer names get ``#2``, ``#3``, ... appended (see :class:`Workload`).

    Args:
        path: the CSV file.
        name: the workload name; defaults to the file name without extension.

    Returns:
        A :class:`Workload` with ``source`` set to the path.

    Raises:
        ValueError: an unreadable header, a row with too few cells, an empty layer name, a cell
            that is not an integer >= 1, a filter larger than the ifmap, or no layers. The message
            names the file, the 1-based line number, the column and the value found.
        OSError: the file cannot be opened.
    """
    path_str = os.fspath(path)
    if name is None:
        name = os.path.splitext(os.path.basename(path_str))[0] or path_str
    layers: list[Layer] = []
    columns: tuple[str, ...] | None = None
    with open(path_str, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        for row in reader:
            lineno = reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            while not cells[-1]:  # the trailing comma SCALE-Sim rows end with, and empty extra columns
                cells.pop()
            where = f"{path_str}: line {lineno}"
            if columns is None:
                lowered = [cell.lower() for cell in cells]
                if len(cells) > 1 and all(_INT_RE.match(cell) for cell in cells[1:] if cell):
                    raise ValueError(f"{where}: expected the header row, got the layer row "
                                     f"{','.join(row)!r} (SCALE-Sim skips the first line)")
                if lowered[1:4] == ["m", "n", "k"]:
                    columns = _GEMM_COLUMNS
                elif len([cell for cell in cells if cell]) >= len(_CONV_COLUMNS):
                    columns = _CONV_COLUMNS
                else:
                    raise ValueError(
                        f"{where}: header must be the SCALE-Sim conv header "
                        f"({', '.join(_CONV_COLUMNS)}) or the GEMM header ({', '.join(_GEMM_COLUMNS)}),"
                        f" got {','.join(row)!r}")
                continue
            layers.append(_scalesim_row(cells, columns, where))
    if columns is None or not layers:
        raise ValueError(f"{path_str}: no layers found (a header row and at least one layer row are needed)")
    names = _unique_names(layer.name for layer in layers)
    layers = [layer if layer.name == nm else dataclasses.replace(layer, name=nm)
              for layer, nm in zip(layers, names)]
    return Workload(name, layers, source=path_str)


def _scalesim_row(cells: list[str], columns: tuple[str, ...], where: str) -> Layer:
    if len(cells) < len(columns):
        missing = columns[len(cells)]
        raise ValueError(f"{where}: column {missing!r} is missing (the row has {len(cells)} cells, "
                         f"{len(columns)} are needed), got row {','.join(cells)!r}")
    layer_name = cells[0]
    if not layer_name:
        raise ValueError(f"{where}: column {columns[0]!r} must be a non-empty layer name, got ''")
    values = []
    for col, cell in zip(columns[1:], cells[1:len(columns)]):
        if not _INT_RE.match(cell):
            raise ValueError(f"{where}: column {col!r} must be a positive integer, got {cell!r}")
        value = int(cell)
        if value < 1 or value > MAX_DIM:
            raise ValueError(f"{where}: column {col!r} must be a positive integer <= {MAX_DIM}, "
                             f"got {cell!r}")
        values.append(value)
    if columns is _GEMM_COLUMNS:
        m, n, k = values
        return Layer.gemm(layer_name, m=m, n=n, k=k)
    h, w, r, s, c, nf, stride = values
    if r > h:
        raise ValueError(f"{where}: column 'Filter Height' must be <= IFMAP Height = {h}, got {cells[3]!r}")
    if s > w:
        raise ValueError(f"{where}: column 'Filter Width' must be <= IFMAP Width = {w}, got {cells[4]!r}")
    p = -(-(h - r + stride) // stride)  # ceil((H - R + s)/s), SCALE-Sim's rule
    q = -(-(w - s + stride) // stride)
    groups, k = 1, nf
    if "DP" in layer_name:
        groups, k = c, c * nf
        if k > MAX_DIM:
            raise ValueError(f"{where}: column 'Num Filter' times 'Channels' = {k} exceeds {MAX_DIM}, "
                             f"got {cells[6]!r}")
    return Layer(layer_name, "conv", n=1, k=k, c=c, p=p, q=q, r=r, s=s, h=h, w=w,
                 stride_h=stride, stride_w=stride, groups=groups)


# ====================================================================== torch

def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise ValueError(f"from_torch input_shape must be a sequence of positive ints, "
                         f"got {_describe(input_shape)}")
    if len(input_shape) == 0:
        raise ValueError("from_torch input_shape must be a sequence of positive ints, got ()")
    out = []
    for i, d in enumerate(input_shape):
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"from_torch input_shape[{i}] must be a positive int, got {_describe(d)} "
                             f"in input_shape={tuple(input_shape)!r}")
        out.append(int(d))
    return tuple(out)


def _capture_fx(module: Any, example: Any) -> list[tuple[str, Any, tuple[int, ...], tuple[int, ...]]]:
    """(qualified name, module, input shape, output shape) of every Conv2d / Linear call, via torch.fx."""
    import torch
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    class _Tracer(fx.Tracer):
        # Keep every Conv2d / Linear (including subclasses such as timm's Conv2dSame, which pads
        # inside forward) as one call, so its recorded input is the unpadded tensor.
        def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                return True
            return super().is_leaf_module(m, qualname)

    graph = _Tracer().trace(module)
    gm = fx.GraphModule(module, graph)
    ShapeProp(gm).propagate(example)
    records = []
    for node in gm.graph.nodes:
        if node.op != "call_module":
            continue
        sub = gm.get_submodule(node.target)
        if not isinstance(sub, (torch.nn.Conv2d, torch.nn.Linear)):
            continue
        arg = node.args[0] if node.args else node.kwargs.get("input")
        in_meta = getattr(arg, "meta", {}).get("tensor_meta")
        out_meta = node.meta.get("tensor_meta")
        if in_meta is None or out_meta is None or not hasattr(out_meta, "shape"):
            raise RuntimeError(f"no shape recorded for {node.target}")
        records.append((str(node.target), sub, tuple(in_meta.shape), tuple(out_meta.shape)))
    return records


def _capture_hooks(module: Any, example: Any) -> list[tuple[str, Any, tuple[int, ...], tuple[int, ...]]]:
    """Same as :func:`_capture_fx`, from forward hooks on a real forward pass."""
    import torch

    names: dict[int, str] = {}
    for qualname, sub in module.named_modules():
        names.setdefault(id(sub), qualname or type(sub).__name__)
    records = []

    def hook(sub: Any, args: tuple[Any, ...], output: Any) -> None:
        records.append((names[id(sub)], sub, tuple(args[0].shape), tuple(output.shape)))

    handles = [sub.register_forward_hook(hook) for sub in module.modules()
               if isinstance(sub, (torch.nn.Conv2d, torch.nn.Linear))]
    try:
        module(example)
    finally:
        for handle in handles:
            handle.remove()
    return records


def _conv_layer(name: str, m: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Layer:
    if len(in_shape) not in (3, 4) or len(out_shape) != len(in_shape):
        raise ValueError(f"from_torch: Conv2d {name!r} got input shape {in_shape} and output shape "
                         f"{out_shape}; expected (N, C, H, W) or (C, H, W)")
    n = in_shape[0] if len(in_shape) == 4 else 1
    c, h, w = in_shape[-3:]
    k, p, q = out_shape[-3:]
    r, s = m.kernel_size
    sh, sw = m.stride
    dh, dw = m.dilation
    pads = []
    for size, out, kern, st, dil, i in ((h, p, r, sh, dh, 0), (w, q, s, sw, dw, 1)):
        pad = m.padding[i] if isinstance(m.padding, (tuple, list)) else None
        if pad is None or (size + 2 * pad - dil * (kern - 1) - 1) // st + 1 != out:
            # String padding ("same"/"valid") or padding applied inside forward (timm Conv2dSame):
            # the smallest symmetric pad whose padded input covers every window actually computed.
            total = max((out - 1) * st + dil * (kern - 1) + 1 - size, 0)
            pad = (total + 1) // 2
        pads.append(int(pad))
    return Layer(name, "conv", n=n, k=k, c=c, p=p, q=q, r=r, s=s, h=h, w=w,
                 stride_h=sh, stride_w=sw, pad_h=pads[0], pad_w=pads[1],
                 dilation_h=dh, dilation_w=dw, groups=m.groups)


def _linear_layer(name: str, m: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Layer:
    n = math.prod(in_shape[:-1]) if len(in_shape) > 1 else 1
    if not in_shape or in_shape[-1] != m.in_features:
        raise ValueError(f"from_torch: Linear {name!r} got input shape {in_shape}, expected last "
                         f"dimension in_features = {m.in_features}")
    return Layer.fc(name, in_features=m.in_features, out_features=m.out_features, n=n)


def from_torch(module: Any, input_shape: Sequence[int] = (1, 3, 224, 224), *,
               name: str | None = None) -> Workload:
    """Every ``nn.Conv2d`` and ``nn.Linear`` call of a torch module, in execution order.

    The module is traced with ``torch.fx`` (Conv2d/Linear subclasses kept as leaves) and shapes are
    propagated with ``torch.fx.passes.shape_prop.ShapeProp`` on a zero input of ``input_shape``.
    If tracing fails (data-dependent control flow, ...), forward hooks record the shapes of a real
    forward pass instead. Either way the module runs in eval mode under ``torch.no_grad()``, and
    each submodule's ``training`` flag is restored afterwards.

    Each Conv2d becomes a ``"conv"`` layer with its real input ``(N, C, H, W)`` and output
    ``(N, K, P, Q)`` shapes, kernel, stride, dilation and groups. Padding: the module's integer
    padding when it reproduces the real output size; otherwise (string padding such as
    ``"same"``, or padding applied inside ``forward`` as timm's ``Conv2dSame`` does) the pad is
    derived from the shapes as ``ceil(total/2)``, ``total = max((P-1)*stride + dilation*(R-1) + 1 - H,
    0)``. When ``total`` is odd the real padding is asymmetric (one more at the bottom/right) and
    the symmetric pad recorded is one more than the real top/left pad.

    Each Linear becomes an ``"fc"`` layer with ``n`` = the product of the input's leading
    dimensions. Names are the submodules' qualified names (``"layer1.0.conv1"``); a submodule
    called more than once gets ``#2``, ``#3``, ... appended for the later calls.

    Not captured: functional calls (``F.conv2d``, ``F.linear``, ``torch.matmul``, attention),
    layers inside modules that torch.fx keeps whole (e.g. ``nn.MultiheadAttention``), and other
    layer types (Conv1d, Conv3d, ConvTranspose2d: a warning lists those present).

    Args:
        module: a ``torch.nn.Module``.
        input_shape: the input tensor's shape, e.g. ``(N, C, H, W)``; dtype and device follow the
            module's first parameter (float32 on CPU when it has none).
        name: the workload name; defaults to the module's class name.

    Returns:
        A :class:`Workload` with ``params`` = ``sum(p.numel() for p in module.parameters())`` and
        ``source = "torch:<class name>"``.

    Raises:
        TypeError: ``module`` is not a ``torch.nn.Module``.
        ValueError: ``input_shape`` is not a sequence of positive ints, the forward pass fails on
            it, or the module has no Conv2d/Linear call.
        ImportError: torch is not installed.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch module must be a torch.nn.Module, got {_describe(module)}")
    shape = _check_input_shape(input_shape)
    if name is None:
        name = type(module).__name__
    param = next(module.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    example = torch.zeros(shape, dtype=dtype, device=device)

    uncaptured = (torch.nn.Conv1d, torch.nn.Conv3d, torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d,
                  torch.nn.ConvTranspose3d)
    others = sorted({type(m).__name__ for m in module.modules() if isinstance(m, uncaptured)})
    if others:
        warnings.warn(f"from_torch: {name}: layers of type {', '.join(others)} are not captured",
                      stacklevel=2)

    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            try:
                if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                    raise TypeError("a bare layer: fx would trace into its functional call")
                records = _capture_fx(module, example)
            except Exception:  # noqa: BLE001 - any tracing failure falls back to hooks
                try:
                    records = _capture_hooks(module, example)
                except Exception as exc:  # noqa: BLE001
                    raise ValueError(f"from_torch: forward pass of {name} on input_shape={shape} "
                                     f"failed: {type(exc).__name__}: {exc}") from exc
    finally:
        for m, mode in modes:
            m.training = mode

    if not records:
        raise ValueError(f"from_torch: {name} has no nn.Conv2d or nn.Linear call on input_shape={shape}")
    qualnames = _unique_names(rec[0] for rec in records)
    layers = []
    for qualname, (_, sub, in_shape, out_shape) in zip(qualnames, records):
        if isinstance(sub, torch.nn.Conv2d):
            layers.append(_conv_layer(qualname, sub, in_shape, out_shape))
        else:
            layers.append(_linear_layer(qualname, sub, in_shape, out_shape))
    params = sum(p.numel() for p in module.parameters())
    return Workload(name, layers, params=params, source=f"torch:{type(module).__name__}")


def from_timm(name: str, *, resolution: int | tuple[int, int] = 224, batch: int = 1) -> Workload:
    """Build a timm model by name with random weights (nothing is downloaded) and import it.

    Calls ``timm.create_model(name, pretrained=False)`` then :func:`from_torch` with input shape
    ``(batch, in_chans, H, W)``; ``in_chans`` comes from the model's pretrained config (3 if
    absent). Models with a fixed input size (e.g. ViTs) need their default resolution.

    Args:
        name: a timm model name, e.g. ``"resnet50"`` or ``"mobilenetv2_100"``.
        resolution: input side in pixels, or an ``(H, W)`` pair.
        batch: batch size N.

    Returns:
        A :class:`Workload` named ``name`` with ``source = "timm:<name>"``.

    Raises:
        ValueError: unknown model name (the message lists close matches), bad resolution or batch.
        ImportError: timm or torch is not installed.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"from_timm name must be a non-empty str, got {_describe(name)}")
    rh, rw = _pair("from_timm", "resolution", resolution, 1)
    batch = _as_int("from_timm", "batch", batch, 1)
    try:
        import timm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("from_timm needs timm: pip install 'codesign[torch]'") from exc
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
        hint = f"close matches: {', '.join(close)}" if close else "no close matches"
        raise ValueError(f"from_timm: unknown timm model name {name!r}; {hint}")
    model = timm.create_model(name, pretrained=False)
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
    input_size = cfg.get("input_size") if isinstance(cfg, dict) else None
    in_chans = int(input_size[0]) if input_size else 3
    wl = from_torch(model, (batch, in_chans, rh, rw), name=name)
    return Workload(name, wl.layers, params=wl.params, source=f"timm:{name}")
