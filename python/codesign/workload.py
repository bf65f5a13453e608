"""Workloads: the layers of a network, in the terms an accelerator model needs.

A :class:`Layer` is one convolution, fully connected layer or matrix multiply (the MAC kinds), or one
pooling, elementwise add or elementwise multiply (the vector kinds), described with the standard loop
bounds of the field:

=====  ==========================================  =====  =======================================
field  meaning                                     field  meaning
=====  ==========================================  =====  =======================================
N      batch                                       R, S   filter rows, filter cols
K      output channels (filters)                   H, W   input (ifmap) rows, cols, unpadded
C      input channels                              P, Q   output (ofmap) rows, cols
=====  ==========================================  =====  =======================================

plus stride, padding and dilation per spatial dimension, the group count (``groups == C == K`` is a
depthwise convolution) and the activation function applied to the layer's output (:data:`ACTIVATIONS`).
A :class:`Workload` is an ordered, immutable sequence of uniquely named layers; :meth:`Workload.to_array`
gives the int64 table (one row per layer, columns :data:`LAYER_FIELDS`: the 16 loop bounds, then the
operation code :data:`OP_CODES` and the activation code) that the C++ cost model reads.

Importers:

* :func:`from_scalesim_csv` reads SCALE-Sim v3 topology files (conv and GEMM formats) and reproduces
  SCALE-Sim's own conventions (no padding, ceil output size).
* :func:`from_torch` traces a ``torch.nn.Module`` and records every ``nn.Conv2d`` and ``nn.Linear`` with
  its real shapes, and (``ops="all"``, the default) pooling, residual adds, squeeze-excite multiplies
  and the activation function fused into each captured layer.
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
    "ACTIVATIONS",
    "LAYER_FIELDS",
    "LAYER_KINDS",
    "MAC_KINDS",
    "OP_CODES",
    "MAX_DIM",
    "Layer",
    "Workload",
    "from_scalesim_csv",
    "from_torch",
    "from_timm",
]

#: Columns of :meth:`Workload.to_array` / :meth:`Layer.to_row`: the 16 integer fields of a
#: :class:`Layer`, then ``"op"`` (:data:`OP_CODES` of :attr:`Layer.kind`, also :attr:`Layer.op_code`)
#: and ``"act"`` (the index of :attr:`Layer.act` in :data:`ACTIVATIONS`, also :attr:`Layer.act_code`).
#: The C++ core depends on this order: never reorder it; new columns go at the end.
LAYER_FIELDS: tuple[str, ...] = (
    "n", "k", "c", "p", "q", "r", "s", "h", "w",
    "stride_h", "stride_w", "pad_h", "pad_w", "dilation_h", "dilation_w", "groups",
    "op", "act",
)

#: Allowed values of :attr:`Layer.kind`.
LAYER_KINDS: tuple[str, ...] = ("conv", "fc", "gemm", "pool", "add", "mul")

#: The kinds that multiply-accumulate with weights (the systolic array's work); the others are
#: vector operations with ``macs == weights == 0``.
MAC_KINDS: tuple[str, ...] = ("conv", "fc", "gemm")

#: Operation code of each kind (column ``"op"``): 0 MAC layer, 1 pooling, 2 elementwise add,
#: 3 elementwise multiply.
OP_CODES: dict[str, int] = {"conv": 0, "fc": 0, "gemm": 0, "pool": 1, "add": 2, "mul": 3}

#: Allowed values of :attr:`Layer.act`; the code in column ``"act"`` is the index in this tuple.
ACTIVATIONS: tuple[str, ...] = ("none", "relu", "relu6", "hswish", "hsigmoid", "sigmoid", "swish",
                                "gelu", "tanh")
_ACT_CODES: dict[str, int] = {a: i for i, a in enumerate(ACTIVATIONS)}

#: The integer (loop bound) fields: the first 16 columns.
_INT_FIELDS: tuple[str, ...] = LAYER_FIELDS[:16]

#: Largest value any integer field of a :class:`Layer` may take (fits a signed 32-bit int).
MAX_DIM: int = 2**31 - 1

# Fields that must be >= 1; the pads must be >= 0.
_POSITIVE_FIELDS = tuple(f for f in _INT_FIELDS if f not in ("pad_h", "pad_w"))


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
    """One convolution, fully connected layer, GEMM, pooling, add or multiply, in N,K,C,P,Q,R,S terms.

    Shapes: input (ifmap) ``N x C x H x W``, weights ``K x (C/groups) x R x S``, output (ofmap)
    ``N x K x P x Q``. ``H, W`` are the unpadded input sizes; the padded input is
    ``(H + 2*pad_h) x (W + 2*pad_w)``. All sizes are element counts (words), not bytes.

    ``kind`` is ``"conv"`` (any 2-D convolution; depthwise and grouped ones have ``groups > 1``),
    ``"fc"`` (fully connected: ``C`` in, ``K`` out, ``N`` rows, every spatial field 1) or ``"gemm"``
    (an ``M x K`` by ``K x N`` matrix product stored as ``P = H = M``, ``C = K``, ``K = N``,
    everything else 1; see :meth:`gemm`). For these three (:data:`MAC_KINDS`) the kind only labels
    the layer; the integer fields alone define the work.

    The vector kinds do no multiply-accumulates with weights (``macs == weights == 0``); their
    work is :attr:`ops`, vector operations. All three are per-channel, stored as depthwise layers
    (``k == c == groups``):

    * ``"pool"``: max or average pooling with an ``R x S`` window (see :meth:`pool`,
      :meth:`global_pool`); ``ops = N*C*P*Q*R*S``.
    * ``"add"``: elementwise sum of two ``N x C x H x W`` tensors (a residual add; see :meth:`add`):
      ``P = H``, ``Q = W``, ``R = S = 1``, unit stride and dilation, no padding; ``ops = N*C*H*W``.
    * ``"mul"``: an ``N x C x H x W`` map times an ``N x C x 1 x 1`` gate broadcast over ``H, W`` (a
      squeeze-excite scaling; see :meth:`mul`); same fields as ``"add"``; ``ops = N*C*H*W``.

    ``act`` is the activation function applied to the layer's output (one of :data:`ACTIVATIONS`;
    ``"none"`` for a linear output); it does not change any size. :meth:`to_row` appends the kind's
    :data:`OP_CODES` and the activation's index in :data:`ACTIVATIONS` to the 16 integer fields.

    ``P, Q`` are given, not derived, so that importers can keep a source's own convention (PyTorch's
    floor rule in :meth:`conv`, SCALE-Sim's ceil rule in :func:`from_scalesim_csv`). The last window
    may therefore overhang the padded input by up to ``stride - 1`` rows/cols.

    Raises:
        TypeError: a field of the wrong type (ints must be ``int`` or numpy integers, never bool or
            float; numpy integers are converted to ``int``).
        ValueError: ``kind`` not in :data:`LAYER_KINDS`; ``act`` not in :data:`ACTIVATIONS`; a
            size, stride, dilation or ``groups`` < 1; a pad < 0; any field > :data:`MAX_DIM`; ``C``
            or ``K`` not divisible by ``groups``; a dilated filter larger than the padded input
            (``(R-1)*dilation_h + 1 > H + 2*pad_h``, likewise for width); an ``fc``/``gemm``/
            ``pool``/``add``/``mul`` layer whose fields contradict its kind. Messages name the field
            and the value.
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
    act: str = "none"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"Layer.name must be a str, got {_describe(self.name)}")
        if not self.name:
            raise ValueError("Layer.name must be a non-empty str, got ''")
        if not isinstance(self.kind, str):
            raise TypeError(f"Layer.kind must be one of {LAYER_KINDS}, got {_describe(self.kind)}")
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"Layer.kind must be one of {LAYER_KINDS}, got {self.kind!r}")
        if not isinstance(self.act, str):
            raise TypeError(f"Layer.act must be one of {ACTIVATIONS}, got {_describe(self.act)}")
        if self.act not in _ACT_CODES:
            raise ValueError(f"Layer.act must be one of {ACTIVATIONS}, got {self.act!r}")
        for field in _INT_FIELDS:
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
        elif self.kind in ("pool", "add", "mul"):
            # per-channel: one channel in, one out, per group
            for field in ("k", "groups"):
                if getattr(self, field) != self.c:
                    raise ValueError(f"Layer.{field} must equal Layer.c = {self.c} for kind "
                                     f"{self.kind!r}, got {getattr(self, field)}")
            if self.kind != "pool":
                must_be_one = ("r", "s", "stride_h", "stride_w", "dilation_h", "dilation_w")
                self._check_kind_fields(must_be_one, ("pad_h", "pad_w"))
                for out, size in (("p", "h"), ("q", "w")):
                    if getattr(self, out) != getattr(self, size):
                        raise ValueError(f"Layer.{out} must equal Layer.{size} = {getattr(self, size)} "
                                         f"for kind {self.kind!r}, got {getattr(self, out)}")

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
             dilation: int | tuple[int, int] = 1, groups: int = 1, n: int = 1,
             act: str = "none") -> Layer:
        """A 2-D convolution with PyTorch's output size rule.

        Args:
            c, k: input and output channels.
            h, w: unpadded input rows and cols.
            r, s: filter rows and cols (``s`` defaults to ``r``).
            stride, padding, dilation: an int for both dimensions or an ``(h, w)`` pair.
                ``padding`` is the zero padding added on each side.
            groups: channel groups (``groups == c == k`` for depthwise).
            n: batch.
            act: the activation applied to the output (:data:`ACTIVATIONS`).

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
                   dilation_h=dh, dilation_w=dw, groups=groups, act=act)

    @classmethod
    def fc(cls, name: str, *, in_features: int, out_features: int, n: int = 1,
           act: str = "none") -> Layer:
        """A fully connected layer: ``(n x in_features) @ (in_features x out_features)``.

        Stored as a 1x1 convolution on a 1x1 input: ``c = in_features``, ``k = out_features``,
        ``h = w = p = q = r = s = 1``. ``n`` is the number of input rows (batch times any other
        leading dimensions).
        """
        owner = "Layer.fc"
        c = _as_int(owner, "in_features", in_features, 1)
        k = _as_int(owner, "out_features", out_features, 1)
        return cls(name, "fc", n=n, k=k, c=c, p=1, q=1, r=1, s=1, h=1, w=1, act=act)

    @classmethod
    def gemm(cls, name: str, *, m: int, n: int, k: int, act: str = "none") -> Layer:
        """A matrix product ``(m x k) @ (k x n) -> (m x n)``, as in SCALE-Sim's ``M,N,K`` rows.

        Stored with batch 1 as ``p = h = m``, ``q = w = 1``, ``c = k``, ``k = n``, ``r = s = 1``:
        note that ``Layer.k`` is GEMM N and ``Layer.c`` is GEMM K. Then ``gemm_m == m``,
        ``gemm_n == n``, ``gemm_k == k`` and ``macs == m*n*k``.
        """
        owner = "Layer.gemm"
        m = _as_int(owner, "m", m, 1)
        n_ = _as_int(owner, "n", n, 1)
        k_ = _as_int(owner, "k", k, 1)
        return cls(name, "gemm", n=1, k=n_, c=k_, p=m, q=1, r=1, s=1, h=m, w=1, act=act)

    @classmethod
    def pool(cls, name: str, *, c: int, h: int, w: int, r: int, s: int | None = None,
             stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0,
             n: int = 1, mode: str = "avg", act: str = "none") -> Layer:
        """Max or average pooling of an ``n x c x h x w`` map with an ``r x s`` window.

        Stored as a depthwise layer: ``k = groups = c``. Output size, as ``torch.nn.MaxPool2d`` /
        ``AvgPool2d`` (``ceil_mode=False``)::

            P = floor((h + 2*pad_h - r) / stride_h) + 1,   Q likewise.

        ``macs == weights == 0``; ``ops = n*c*P*Q*r*s`` (one compare or add per window element).

        Args:
            c: channels.
            h, w: unpadded input rows and cols.
            r, s: window rows and cols (``s`` defaults to ``r``).
            stride: an int or an ``(h, w)`` pair; defaults to the window, ``(r, s)``.
            padding: an int or an ``(h, w)`` pair, at most half the window (as PyTorch requires).
            n: batch.
            mode: ``"avg"`` or ``"max"``. Checked but not stored: both cost the same here.
            act: the activation applied to the output (:data:`ACTIVATIONS`).

        Raises:
            TypeError, ValueError: as :class:`Layer`; ValueError for an unknown ``mode``, a pad
                larger than half the window, or ``P``/``Q`` < 1.
        """
        owner = "Layer.pool"
        if mode not in ("avg", "max"):
            raise ValueError(f"{owner} mode must be 'avg' or 'max', got {_describe(mode)}")
        c = _as_int(owner, "c", c, 1)
        r = _as_int(owner, "r", r, 1)
        s = r if s is None else _as_int(owner, "s", s, 1)
        h = _as_int(owner, "h", h, 1)
        w = _as_int(owner, "w", w, 1)
        sh, sw = (r, s) if stride is None else _pair(owner, "stride", stride, 1)
        ph, pw = _pair(owner, "padding", padding, 0)
        for i, (pad, kern, win) in enumerate(((ph, r, "r"), (pw, s, "s"))):
            if 2 * pad > kern:
                raise ValueError(f"{owner} {name!r}: padding[{i}] = {pad} must be at most half the "
                                 f"window {win} = {kern}")
        p = (h + 2 * ph - r) // sh + 1
        q = (w + 2 * pw - s) // sw + 1
        if p < 1 or r > h + 2 * ph:
            raise ValueError(f"{owner} {name!r}: output rows P = floor((h + 2*pad_h - r)/stride_h) + 1 "
                             f"= {p} < 1 for h={h}, pad_h={ph}, r={r}, stride_h={sh}")
        if q < 1 or s > w + 2 * pw:
            raise ValueError(f"{owner} {name!r}: output cols Q = floor((w + 2*pad_w - s)/stride_w) + 1 "
                             f"= {q} < 1 for w={w}, pad_w={pw}, s={s}, stride_w={sw}")
        return cls(name, "pool", n=n, k=c, c=c, p=p, q=q, r=r, s=s, h=h, w=w,
                   stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, groups=c, act=act)

    @classmethod
    def global_pool(cls, name: str, *, c: int, h: int, w: int, n: int = 1, mode: str = "avg",
                    act: str = "none") -> Layer:
        """Global pooling ``n x c x h x w -> n x c x 1 x 1``: :meth:`pool` with ``r = h``, ``s = w``
        (stride ``(h, w)``), so ``P = Q = 1`` and ``ops = n*c*h*w``."""
        return cls.pool(name, c=c, h=h, w=w, r=h, s=w, n=n, mode=mode, act=act)

    @classmethod
    def add(cls, name: str, *, c: int, h: int, w: int, n: int = 1, act: str = "none") -> Layer:
        """Elementwise sum of two ``n x c x h x w`` tensors (a residual add), then ``act``.

        Stored as ``k = groups = c``, ``p = h``, ``q = w``, ``r = s = 1``. ``ops = n*c*h*w``;
        :attr:`ifmap_words` counts both inputs (``2*n*c*h*w``). A 2-D ``(n, c)`` add is
        ``h = w = 1``.
        """
        c, h, w = (_as_int("Layer.add", f, v, 1) for f, v in (("c", c), ("h", h), ("w", w)))
        return cls(name, "add", n=n, k=c, c=c, p=h, q=w, r=1, s=1, h=h, w=w, groups=c, act=act)

    @classmethod
    def mul(cls, name: str, *, c: int, h: int, w: int, n: int = 1, act: str = "none") -> Layer:
        """An ``n x c x h x w`` map times an ``n x c x 1 x 1`` gate broadcast over ``h, w`` (the
        squeeze-excite scaling).

        Same fields as :meth:`add`. ``ops = n*c*h*w``; :attr:`ifmap_words` = ``n*c*h*w + n*c``
        (the map and the gate).
        """
        c, h, w = (_as_int("Layer.mul", f, v, 1) for f, v in (("c", c), ("h", h), ("w", w)))
        return cls(name, "mul", n=n, k=c, c=c, p=h, q=w, r=1, s=1, h=h, w=w, groups=c, act=act)

    # ------------------------------------------------------------------ derived sizes
    @property
    def is_mac(self) -> bool:
        """True for the multiply-accumulate kinds (:data:`MAC_KINDS`: conv, fc, gemm)."""
        return self.kind in MAC_KINDS

    @property
    def macs(self) -> int:
        """Multiply-accumulates: ``N*K*(C/groups)*P*Q*R*S``; 0 for pool/add/mul."""
        if self.kind not in MAC_KINDS:
            return 0
        return self.n * self.k * (self.c // self.groups) * self.p * self.q * self.r * self.s

    @property
    def ops(self) -> int:
        """Operations: :attr:`macs` for the MAC kinds; vector operations for the others
        (pool ``N*C*P*Q*R*S``, add and mul ``N*C*H*W``)."""
        if self.kind in MAC_KINDS:
            return self.macs
        if self.kind == "pool":
            return self.n * self.c * self.p * self.q * self.r * self.s
        return self.n * self.c * self.h * self.w

    @property
    def weights(self) -> int:
        """Weight count ``K*(C/groups)*R*S`` (no bias); 0 for pool/add/mul."""
        if self.kind not in MAC_KINDS:
            return 0
        return self.k * (self.c // self.groups) * self.r * self.s

    # gemm_m/n/k use the same formulas for every kind; for pool/add/mul they describe a
    # depthwise-like mapping that the systolic model gives no cost (its op code is not 0).
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
        """Unpadded input size ``N*C*H*W`` in elements; an add reads two inputs (``2*N*C*H*W``),
        a mul the map and the gate (``N*C*H*W + N*C``)."""
        words = self.n * self.c * self.h * self.w
        if self.kind == "add":
            return 2 * words
        if self.kind == "mul":
            return words + self.n * self.c
        return words

    @property
    def ofmap_words(self) -> int:
        """Output size ``N*K*P*Q`` in elements."""
        return self.n * self.k * self.p * self.q

    @property
    def is_depthwise(self) -> bool:
        """True for a grouped conv with one input channel per group (``groups > 1``, ``C/groups == 1``).

        Always False for the vector kinds (pool/add/mul), although they are stored depthwise."""
        return self.kind == "conv" and self.groups > 1 and self.c // self.groups == 1

    @property
    def op_code(self) -> int:
        """Column ``"op"``: :data:`OP_CODES` of :attr:`kind`."""
        return OP_CODES[self.kind]

    @property
    def act_code(self) -> int:
        """Column ``"act"``: the index of :attr:`act` in :data:`ACTIVATIONS`."""
        return _ACT_CODES[self.act]

    def to_row(self) -> tuple[int, ...]:
        """The 18 columns of :data:`LAYER_FIELDS`: the 16 integer fields, then :attr:`op_code` and
        :attr:`act_code`."""
        return tuple(getattr(self, f) for f in _INT_FIELDS) + (OP_CODES[self.kind], _ACT_CODES[self.act])


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
        """Total multiply-accumulates of all layers (the MAC kinds; pool/add/mul have none)."""
        return sum(layer.macs for layer in self._layers)

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
            that is not an integer >= 1, a filter larger than the ifmap, or no layers; bytes that
            are not UTF-8 or a malformed CSV record (e.g. a cell over the csv module's field size
            limit). The message names the file, the 1-based line number, the column and the value
            found.
        OSError: the file cannot be opened.
    """
    path_str = os.fspath(path)
    if name is None:
        name = os.path.splitext(os.path.basename(path_str))[0] or path_str
    layers: list[Layer] = []
    columns: tuple[str, ...] | None = None
    with open(path_str, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        for row in _csv_rows(reader, path_str):
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


def _csv_rows(reader: Any, path: str) -> Iterator[list[str]]:
    """The rows of a csv.reader, with a malformed CSV (csv.Error, e.g. a cell over the field size limit) or a
    byte sequence that is not UTF-8 raised as a ValueError naming the file and the line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValueError(f"{path}: line {reader.line_num}: malformed CSV: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: line {_first_non_utf8_line(path)}: not UTF-8 text ({exc.reason})") from None
        yield row


def _first_non_utf8_line(path: str) -> int | str:
    """1-based number of the first line of a file that is not valid UTF-8 ("?" if none is found)."""
    with open(path, "rb") as fh:
        for i, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return "?"


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


def _fit_pad(size: int, out: int, kern: int, st: int, dil: int, pad: int | None) -> int:
    """``pad`` when PyTorch's floor rule with it gives ``out``; otherwise (string padding such as
    "same"/"valid", padding applied inside forward as timm's Conv2dSame / MaxPool2dSame do, or a
    pool's ceil_mode) the smallest symmetric pad whose padded input covers every window computed."""
    if pad is None or (size + 2 * pad - dil * (kern - 1) - 1) // st + 1 != out:
        total = max((out - 1) * st + dil * (kern - 1) + 1 - size, 0)
        pad = (total + 1) // 2
    return int(pad)


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
        pads.append(_fit_pad(size, out, kern, st, dil, pad))
    return Layer(name, "conv", n=n, k=k, c=c, p=p, q=q, r=r, s=s, h=h, w=w,
                 stride_h=sh, stride_w=sw, pad_h=pads[0], pad_w=pads[1],
                 dilation_h=dh, dilation_w=dw, groups=m.groups)


def _linear_layer(name: str, m: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Layer:
    n = math.prod(in_shape[:-1]) if len(in_shape) > 1 else 1
    if not in_shape or in_shape[-1] != m.in_features:
        raise ValueError(f"from_torch: Linear {name!r} got input shape {in_shape}, expected last "
                         f"dimension in_features = {m.in_features}")
    return Layer.fc(name, in_features=m.in_features, out_features=m.out_features, n=n)


# ---------------------------------------------------------------------- ops="all": vector ops, activations
#
# The pieces below extend the MAC-only capture above (which ops="mac" keeps, unchanged) with pooling,
# residual adds, squeeze-excite multiplies and activation fusion. Modules are recognised by type (and,
# for timm's, by defining module and class name, so that timm need not be imported).

_OPS_CHOICES = ("all", "mac")

# timm activation classes (timm.layers.activations, activations_me), by class name.
_TIMM_ACT_NAMES = {
    "Swish": "swish", "SwishMe": "swish", "SwishJit": "swish",
    "Sigmoid": "sigmoid", "Tanh": "tanh",
    "HardSwish": "hswish", "HardSwishMe": "hswish", "HardSwishJit": "hswish",
    "HardSigmoid": "hsigmoid", "HardSigmoidMe": "hsigmoid", "HardSigmoidJit": "hsigmoid",
    "GELU": "gelu", "GELUTanh": "gelu", "QuickGELU": "gelu",
}
# tensor methods (call_method targets)
_ACT_METHODS = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid",
                "tanh": "tanh", "tanh_": "tanh"}
_TRANSPARENT_METHODS = frozenset({"flatten", "reshape", "view", "contiguous"})
_ADD_METHODS = frozenset({"add", "add_"})
_MUL_METHODS = frozenset({"mul", "mul_"})
_SPATIAL_REDUCE_METHODS = {"mean": "mean", "amax": "amax"}
# uses of a node that only read its metadata (x.ndim, x.shape, x.size(), ...), not its values
_META_METHODS = frozenset({"size", "dim", "numel", "type", "get_device"})


def _is_timm_class(m: Any, part: str) -> bool:
    mod = type(m).__module__ or ""
    return mod.startswith("timm.") and part in mod


class _TorchTables:
    """Lookup tables built once torch is imported."""

    def __init__(self) -> None:
        import operator

        import torch
        import torch.nn.functional as F
        nn = torch.nn

        self.nn = nn
        self.act_modules = [(nn.ReLU, "relu"), (nn.ReLU6, "relu6"), (nn.SiLU, "swish"),
                            (nn.Sigmoid, "sigmoid"), (nn.Hardswish, "hswish"),
                            (nn.Hardsigmoid, "hsigmoid"), (nn.GELU, "gelu"), (nn.Tanh, "tanh")]
        funcs = {"relu": ["relu", "relu_"], "relu6": ["relu6"], "swish": ["silu"],
                 "sigmoid": ["sigmoid"], "hswish": ["hardswish"], "hsigmoid": ["hardsigmoid"],
                 "gelu": ["gelu"], "tanh": ["tanh"]}
        self.act_functions: dict[Any, str] = {}
        for act, fnames in funcs.items():
            for fname in fnames:
                for owner in (F, torch):
                    fn = getattr(owner, fname, None)
                    if fn is not None:
                        self.act_functions[fn] = act
        for fname, act in (("sigmoid_", "sigmoid"), ("tanh_", "tanh")):
            if hasattr(torch, fname):
                self.act_functions[getattr(torch, fname)] = act
        self.transparent_functions = {F.batch_norm, F.dropout, F.dropout2d, torch.flatten,
                                      torch.reshape}
        self.add_functions = {operator.add, operator.iadd, torch.add}
        self.mul_functions = {operator.mul, operator.imul, torch.mul}
        self.spatial_reduce_functions = {torch.mean: "mean", torch.amax: "amax"}
        # functional pools: label and parameter names after the input
        self.pool_functions = {
            F.max_pool2d: ("max_pool2d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode")),
            F.avg_pool2d: ("avg_pool2d", ("kernel_size", "stride", "padding", "ceil_mode")),
            F.adaptive_avg_pool2d: ("adaptive_avg_pool2d", ("output_size",)),
            F.adaptive_max_pool2d: ("adaptive_max_pool2d", ("output_size",)),
        }
        self.pool_modules = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
        self.transparent_modules = (nn.modules.batchnorm._BatchNorm, nn.Identity,
                                    nn.modules.dropout._DropoutNd, nn.Flatten)

    def act_of_module(self, m: Any) -> str | None:
        """The activation a module applies, or None when it is not one of :data:`ACTIVATIONS`."""
        for cls in type(m).__mro__:
            for act_cls, act in self.act_modules:
                if cls is act_cls:
                    return act
        if _is_timm_class(m, ".activations"):
            return _TIMM_ACT_NAMES.get(type(m).__name__)
        return None

    def has_mac_descendant(self, m: Any) -> bool:
        return any(isinstance(sub, (self.nn.Conv2d, self.nn.Linear)) for sub in m.modules())

    def role(self, m: Any) -> tuple[str, Any]:
        """What capture does with a module call: ``(role, detail)``.

        Roles: ``mac`` (Conv2d, Linear), ``pool`` (torch pools and subclasses such as timm's
        MaxPool2dSame), ``gpool`` (timm SelectAdaptivePool2d; detail: its pool type), ``act``
        (detail: the activation), ``normact`` (timm BatchNormAct2d family; detail: the activation of
        its ``.act``, ``"none"`` for Identity, None for an unlisted one), ``transparent``
        (BatchNorm, Identity, Dropout, DropPath, Flatten) and ``other``.
        """
        nn = self.nn
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            return "mac", None
        if isinstance(m, self.pool_modules):
            return "pool", None
        name = type(m).__name__
        if name == "SelectAdaptivePool2d" and _is_timm_class(m, "") and not self.has_mac_descendant(m):
            return "gpool", str(getattr(m, "pool_type", "avg") or "")
        if "BatchNormAct" in name and _is_timm_class(m, "") and isinstance(getattr(m, "act", None), nn.Module) \
                and not self.has_mac_descendant(m):
            act_mod = m.act
            return "normact", ("none" if isinstance(act_mod, nn.Identity) else self.act_of_module(act_mod))
        act = self.act_of_module(m)
        if act is not None:
            return "act", act
        if _is_timm_class(m, ".activations"):
            return "other", None  # an unlisted timm activation (Mish, PReLU, ...): a barrier
        if isinstance(m, self.transparent_modules):
            return "transparent", None
        if name in ("DropPath", "DropBlock2d") and _is_timm_class(m, ""):
            return "transparent", None
        return "other", None

    def is_leaf(self, m: Any) -> bool:
        """Module calls the all-ops fx tracer keeps whole."""
        role, _ = self.role(m)
        if role in ("mac", "pool", "gpool", "normact", "act"):
            return True
        return _is_timm_class(m, ".activations") and not self.has_mac_descendant(m)


_TABLES: _TorchTables | None = None


def _tables() -> _TorchTables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _TorchTables()
    return _TABLES


class _Rec:
    """A captured layer and the activation fused into it."""

    __slots__ = ("layer", "act")

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.act = "none"


def _spatial_dims_ok(dims: Any, ndim: int) -> bool:
    """True when ``dims`` names exactly the two spatial dimensions of an (N, C, H, W) tensor."""
    if ndim != 4:
        return False
    if isinstance(dims, int):
        return False
    try:
        normalized = {int(d) % 4 for d in dims}
    except (TypeError, ValueError):
        return False
    return normalized == {2, 3} and len(list(dims)) == 2


def _pool_layer(name: str, in_shape: tuple[int, ...] | None, out_shape: tuple[int, ...] | None,
                kernel: Any = None, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                ceil_mode: Any = False) -> Layer | None:
    """A ``"pool"`` layer from real shapes; ``kernel=None`` is an adaptive pool. None when the shapes
    are not (N, C, H, W) -> (N, C, P, Q) (or unbatched, or a global pool flattened to (N, C))."""
    if in_shape is None or out_shape is None or len(in_shape) not in (3, 4):
        return None
    n = in_shape[0] if len(in_shape) == 4 else 1
    c, h, w = in_shape[-3:]
    if len(out_shape) == len(in_shape):
        k, p, q = out_shape[-3:]
    elif len(in_shape) == 4 and tuple(out_shape) == (n, c):  # flattened global pool
        k, p, q = c, 1, 1
    else:
        return None
    if k != c or (len(in_shape) == 4 and out_shape[0] != n):
        return None

    def pair(v: Any, default: Any) -> tuple[int, int]:
        if v is None or (isinstance(v, (tuple, list)) and len(v) == 0):
            v = default
        if isinstance(v, (tuple, list)):
            return (int(v[0]), int(v[-1]))
        return (int(v), int(v))

    if kernel is None:  # adaptive: PyTorch's windows [floor(i*H/P), ceil((i+1)*H/P)); see from_torch
        dims = []
        for size, out in ((h, p), (w, q)):
            if out == 1:
                dims.append((size, size))
            elif size % out == 0:
                dims.append((size // out, size // out))
            else:
                dims.append((-(-size // out), max(size // out, 1)))
        (r, sh), (s, sw) = dims
        ph = pw = 0
        dh = dw = 1
    else:
        r, s = pair(kernel, 1)
        sh, sw = pair(stride, (r, s))
        dh, dw = pair(dilation, 1)
        ph0, pw0 = pair(padding, 0)
        pads = []
        for size, out, kern, st, dil, pad in ((h, p, r, sh, dh, ph0), (w, q, s, sw, dw, pw0)):
            floor_out = (size + 2 * pad - dil * (kern - 1) - 1) // st + 1
            if ceil_mode and out == floor_out + 1:
                pads.append(pad)  # the last window overhangs the padded input, as Layer allows
            else:
                pads.append(_fit_pad(size, out, kern, st, dil, pad))
        ph, pw = pads
    try:
        return Layer(name, "pool", n=n, k=c, c=c, p=p, q=q, r=r, s=s, h=h, w=w,
                     stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, dilation_h=dh, dilation_w=dw,
                     groups=c)
    except (TypeError, ValueError):
        return None


def _gpool_out(in_shape: tuple[int, ...] | None, out_shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The output shape of timm's SelectAdaptivePool2d as one pool sees it: its ``catavgmax``
    type concatenates an avg and a max pool (2C channels); flattened outputs are 1 x 1."""
    if in_shape is None or out_shape is None or len(in_shape) != 4:
        return out_shape
    n, c = in_shape[:2]
    p, q = (out_shape[2], out_shape[3]) if len(out_shape) == 4 else (1, 1)
    return (n, c, p, q)


def _vector_layer(kind: str, name: str, shape: tuple[int, ...]) -> Layer | None:
    """An add/mul layer over a tensor of ``shape``: (N, C, H, W) or (N, C)."""
    if len(shape) == 4:
        n, c, h, w = shape
    elif len(shape) == 2:
        (n, c), h, w = shape, 1, 1
    else:
        return None
    try:
        return Layer(name, kind, n=n, k=c, c=c, p=h, q=w, r=1, s=1, h=h, w=w, groups=c)
    except (TypeError, ValueError):
        return None


def _capture_fx_all(module: Any, example: Any) -> list[_Rec]:
    """Every captured call (MAC layers, pooling, adds, SE multiplies) of ``module`` in execution
    order, with activations fused, via torch.fx."""
    import torch
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    t = _tables()

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
            if t.is_leaf(m):
                return True
            return super().is_leaf_module(m, qualname)

    graph = _Tracer().trace(module)
    gm = fx.GraphModule(module, graph)
    ShapeProp(gm).propagate(example)
    Node = fx.Node

    def shape(x: Any) -> tuple[int, ...] | None:
        if not isinstance(x, Node):
            return None
        meta = x.meta.get("tensor_meta")
        return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None

    def data_users(x: Any) -> list[Any]:
        out = []
        for u in x.users:
            if u.op == "call_function" and u.target is getattr:
                continue
            if u.op == "call_method" and u.target in _META_METHODS:
                continue
            out.append(u)
        return out

    def arg(node: Any, i: int, key: str, default: Any = None) -> Any:
        if len(node.args) > i:
            return node.args[i]
        return node.kwargs.get(key, default)

    def scope(node: Any) -> str:
        stack = node.meta.get("nn_module_stack") or {}
        if not stack:
            return ""
        key, value = list(stack.items())[-1]
        return str(value[0]) if isinstance(value, tuple) and value else str(key)

    def fn_name(node: Any, label: str) -> str:
        sc = scope(node)
        return f"{sc}.{label}" if sc else label

    def act_of_node(node: Any) -> str | None:
        if node.op == "call_module":
            role, detail = t.role(gm.get_submodule(node.target))
            return detail if role == "act" else None
        if node.op == "call_function":
            return t.act_functions.get(node.target)
        if node.op == "call_method":
            return _ACT_METHODS.get(node.target)
        return None

    def is_add(node: Any) -> bool:
        return ((node.op == "call_function" and node.target in t.add_functions)
                or (node.op == "call_method" and node.target in _ADD_METHODS))

    def is_mul(node: Any) -> bool:
        return ((node.op == "call_function" and node.target in t.mul_functions)
                or (node.op == "call_method" and node.target in _MUL_METHODS))

    recs: list[_Rec] = []
    producer: dict[Any, int] = {}  # node -> index of the captured layer whose output it carries

    def source(x: Any, exclude: Any = None) -> int | None:
        """The captured layer ``x`` carries, when ``x`` feeds nothing else."""
        if not isinstance(x, Node) or x not in producer:
            return None
        users = [u for u in data_users(x) if u is not exclude]
        return producer[x] if len(users) == 1 else None

    def capture(node: Any, layer: Layer | None) -> None:
        if layer is not None:
            producer[node] = len(recs)
            recs.append(_Rec(layer))

    def activate(node: Any, act: str, x: Any, exclude: Any = None) -> None:
        src = source(x, exclude)
        if src is None:
            return
        if recs[src].act == "none":
            recs[src].act = act
        producer[node] = src

    def passthrough(node: Any, x: Any) -> None:
        src = source(x)
        if src is not None:
            producer[node] = src

    # Nodes whose value depends on the module's input; an add or mul with an operand that does not
    # (a parameter or buffer, e.g. a layer scale) is a constant that folds into the weights.
    variable: set[Any] = set()
    for node in gm.graph.nodes:
        if node.op == "placeholder" or any(i in variable for i in node.all_input_nodes):
            variable.add(node)

    # x * sigmoid(x) is a swish of x: find those before the sigmoid is seen on its own.
    swish_of: dict[Any, Any] = {}
    skipped: set[Any] = set()
    for node in gm.graph.nodes:
        if is_mul(node) and len(node.args) == 2:
            a, b = node.args
            for x, sg in ((a, b), (b, a)):
                if (isinstance(sg, Node) and isinstance(x, Node) and act_of_node(sg) == "sigmoid"
                        and sg.args and sg.args[0] is x and data_users(sg) == [node]):
                    swish_of[node] = (x, sg)
                    skipped.add(sg)
                    break

    for node in gm.graph.nodes:
        if node.op not in ("call_module", "call_function", "call_method") or node in skipped:
            continue
        x = node.args[0] if node.args else next(iter(node.kwargs.values()), None)
        if node.op == "call_module":
            qualname = str(node.target)
            sub = gm.get_submodule(node.target)
            role, detail = t.role(sub)
            if role == "mac":
                x = node.args[0] if node.args else node.kwargs.get("input")
                in_shape, out_shape = shape(x), shape(node)
                if in_shape is None or out_shape is None:
                    raise RuntimeError(f"no shape recorded for {node.target}")
                if isinstance(sub, torch.nn.Conv2d):
                    capture(node, _conv_layer(qualname, sub, in_shape, out_shape))
                else:
                    capture(node, _linear_layer(qualname, sub, in_shape, out_shape))
            elif role == "pool":
                if isinstance(sub, (torch.nn.AdaptiveAvgPool2d, torch.nn.AdaptiveMaxPool2d)):
                    capture(node, _pool_layer(qualname, shape(x), shape(node)))
                else:
                    capture(node, _pool_layer(qualname, shape(x), shape(node), sub.kernel_size,
                                              sub.stride, sub.padding, getattr(sub, "dilation", 1),
                                              getattr(sub, "ceil_mode", False)))
            elif role == "gpool":
                if detail:
                    capture(node, _pool_layer(qualname, shape(x), _gpool_out(shape(x), shape(node))))
                else:
                    passthrough(node, x)
            elif role == "act":
                activate(node, detail, x)
            elif role == "normact":
                if detail == "none":
                    passthrough(node, x)
                elif detail is not None:
                    activate(node, detail, x)
            elif role == "transparent":
                passthrough(node, x)
            continue
        # call_function / call_method
        target = node.target
        if node.op == "call_function" and target in t.pool_functions:
            label, params = t.pool_functions[target]
            values = [arg(node, i + 1, p) for i, p in enumerate(params)]
            if label.startswith("adaptive"):
                capture(node, _pool_layer(fn_name(node, label), shape(x), shape(node)))
            else:
                kernel, stride, padding, ceil_mode = values[0], values[1], values[2], values[-1]
                dilation = values[3] if len(values) > 4 and values[3] is not None else 1
                capture(node, _pool_layer(fn_name(node, label), shape(x), shape(node), kernel, stride,
                                          0 if padding is None else padding, dilation, bool(ceil_mode)))
        elif ((node.op == "call_function" and target in t.spatial_reduce_functions)
              or (node.op == "call_method" and target in _SPATIAL_REDUCE_METHODS)):
            label = (t.spatial_reduce_functions[target] if node.op == "call_function"
                     else _SPATIAL_REDUCE_METHODS[target])
            in_shape = shape(x)
            if in_shape is not None and _spatial_dims_ok(arg(node, 1, "dim"), len(in_shape)):
                capture(node, _pool_layer(fn_name(node, label), in_shape, shape(node)))
        elif is_add(node):
            b = arg(node, 1, "other")
            sa, sb = shape(x), shape(b)
            if sa is not None and sa == sb and len(sa) in (2, 4) and x in variable and b in variable:
                capture(node, _vector_layer("add", fn_name(node, "add"), sa))
        elif is_mul(node):
            if node in swish_of:
                inp, sg = swish_of[node]
                activate(node, "swish", inp, exclude=sg)
                continue
            b = arg(node, 1, "other")
            sa, sb = shape(x), shape(b)
            if (sa is not None and sb is not None and len(sa) == 4 and len(sb) == 4
                    and x in variable and b in variable):
                big, gate = (sa, sb) if sa[2] * sa[3] >= sb[2] * sb[3] else (sb, sa)
                if gate == (big[0], big[1], 1, 1):
                    capture(node, _vector_layer("mul", fn_name(node, "mul"), big))
        else:
            act = act_of_node(node)
            if act is not None:
                activate(node, act, x)
            elif ((node.op == "call_function" and target in t.transparent_functions)
                  or (node.op == "call_method" and target in _TRANSPARENT_METHODS)):
                passthrough(node, x)
    return recs


def _capture_hooks_all(module: Any, example: Any) -> list[_Rec]:
    """:func:`_capture_fx_all` from forward hooks: sees module calls only (Conv2d, Linear, pooling
    modules, timm SelectAdaptivePool2d, activation modules, BatchNorm/BatchNormAct2d, Identity,
    Dropout, DropPath, Flatten). An activation is fused when its input tensor is, through
    transparent modules, the unmodified output of a captured layer (a tensor changed in place
    since, e.g. by ``x += shortcut``, is not)."""
    t = _tables()
    names: dict[int, str] = {}
    for qualname, sub in module.named_modules():
        names.setdefault(id(sub), qualname or type(sub).__name__)
    inside: set[int] = set()  # submodules of modules handled whole (their pool, their act)
    for sub in module.modules():
        if t.role(sub)[0] in ("gpool", "normact"):
            inside.update(id(m) for m in sub.modules() if m is not sub)
    recs: list[_Rec] = []
    produced: dict[int, tuple[Any, int, int]] = {}  # id(tensor) -> (tensor, version, rec index)
    pending: dict[int, list[int | None]] = {}

    def source_of(x: Any) -> int | None:
        entry = produced.get(id(x))
        if entry is None or entry[0] is not x or getattr(x, "_version", 0) != entry[1]:
            return None
        return entry[2]

    def mark(y: Any, idx: int | None) -> None:
        if idx is not None and hasattr(y, "_version"):
            produced[id(y)] = (y, y._version, idx)

    def capture(y: Any, layer: Layer | None) -> None:
        if layer is not None:
            recs.append(_Rec(layer))
            mark(y, len(recs) - 1)

    def pre_hook(sub: Any, args: tuple[Any, ...]) -> None:
        pending.setdefault(id(sub), []).append(source_of(args[0]) if args else None)

    def hook(sub: Any, args: tuple[Any, ...], output: Any) -> None:
        src = pending[id(sub)].pop()
        role, detail = t.role(sub)
        name = names[id(sub)]
        in_shape = tuple(args[0].shape) if args and hasattr(args[0], "shape") else None
        out_shape = tuple(output.shape) if hasattr(output, "shape") else None
        if role == "mac":
            layer = (_conv_layer if isinstance(sub, t.nn.Conv2d) else _linear_layer)(
                name, sub, in_shape, out_shape)
            capture(output, layer)
        elif role == "pool":
            if isinstance(sub, (t.nn.AdaptiveAvgPool2d, t.nn.AdaptiveMaxPool2d)):
                capture(output, _pool_layer(name, in_shape, out_shape))
            else:
                capture(output, _pool_layer(name, in_shape, out_shape, sub.kernel_size, sub.stride,
                                            sub.padding, getattr(sub, "dilation", 1),
                                            getattr(sub, "ceil_mode", False)))
        elif role == "gpool" and detail:
            capture(output, _pool_layer(name, in_shape, _gpool_out(in_shape, out_shape)))
        elif role == "act" or (role == "normact" and detail not in (None, "none")):
            if src is not None and recs[src].act == "none":
                recs[src].act = detail
            mark(output, src)
        elif role == "transparent" or role == "gpool" or (role == "normact" and detail == "none"):
            mark(output, src)
        # a BatchNormAct2d whose activation is not in ACTIVATIONS: a barrier

    handles = []
    for sub in module.modules():
        if id(sub) in inside or t.role(sub)[0] == "other":
            continue
        handles.append(sub.register_forward_pre_hook(pre_hook))
        handles.append(sub.register_forward_hook(hook))
    try:
        module(example)
    finally:
        for handle in handles:
            handle.remove()
    return recs

def from_torch(module: Any, input_shape: Sequence[int] = (1, 3, 224, 224), *,
               name: str | None = None, ops: str = "all") -> Workload:
    """The layers of a torch module, in execution order: every ``nn.Conv2d`` and ``nn.Linear`` call
    and (``ops="all"``) pooling, residual adds and squeeze-excite multiplies, with activations fused.

    The module is traced with ``torch.fx`` (Conv2d/Linear subclasses kept as leaves) and shapes are
    propagated with ``torch.fx.passes.shape_prop.ShapeProp`` on a zero input of ``input_shape``.
    If tracing fails (data-dependent control flow, ...), forward hooks record the shapes of a real
    forward pass instead. Either way the module runs in eval mode under ``torch.no_grad()``, and
    each submodule's ``training`` flag is restored afterwards.

    ``ops="mac"`` captures Conv2d and Linear only, all with ``act="none"`` (the behaviour before
    ``ops`` existed). ``ops="all"`` (the default) also captures, in execution order:

    * pooling (``"pool"`` layers): ``nn.MaxPool2d``, ``nn.AvgPool2d`` (and subclasses such as
      timm's ``MaxPool2dSame``/``AvgPool2dSame``, whose pad is derived from the shapes as for
      convs; with ``ceil_mode=True`` the module's pad is kept and ``P``, ``Q`` are the real,
      ceil-rule sizes, the last window overhanging as :class:`Layer` allows), ``nn.AdaptiveAvgPool2d``,
      ``nn.AdaptiveMaxPool2d``, their ``F.`` forms, ``x.mean((2, 3))`` / ``torch.mean`` and
      ``amax`` over exactly the two spatial dimensions of a 4-D tensor, and timm's
      ``SelectAdaptivePool2d`` (one pool layer, whatever its pool type; none for pool type
      ``""``). An adaptive pool to ``1 x 1`` is a global pool (``r = H``, ``s = W``, as
      :meth:`Layer.global_pool`); to ``P x Q`` otherwise, with window ``H/P`` and stride ``H/P``
      when ``P`` divides ``H``, else window ``ceil(H/P)`` and stride ``floor(H/P)`` (PyTorch's
      windows vary in size then; an approximation);
    * residual adds (``"add"``): ``operator.add``/``iadd``, ``torch.add``, ``Tensor.add``/``add_``
      of two tensors of the same 4-D ``(N, C, H, W)`` or 2-D ``(N, C)`` shape; adds of a Python
      number, of tensors of different shapes, or of a tensor computed from parameters and buffers
      alone (a constant, which folds into the weights) are ignored;
    * squeeze-excite multiplies (``"mul"``): ``operator.mul``/``imul``, ``torch.mul``,
      ``Tensor.mul``/``mul_`` of an ``(N, C, H, W)`` map by an ``(N, C, 1, 1)`` gate computed
      from the input (not a constant per-channel scale such as ConvNeXt's layer scale);
    * activations, fused into a layer's :attr:`Layer.act`: ``nn.ReLU``, ``ReLU6``, ``SiLU``,
      ``Sigmoid``, ``Hardswish``, ``Hardsigmoid``, ``GELU``, ``Tanh`` (and subclasses), their
      ``F.``/``torch.`` function forms, the tensor methods ``relu``, ``sigmoid``, ``tanh`` (and
      in-place forms), ``x * torch.sigmoid(x)`` (swish), and timm's activation classes
      (``timm.layers.activations*``, by class name: ``Swish``, ``Sigmoid``, ``Tanh``, ``HardSwish``,
      ``HardSigmoid``, ``GELU``, ``GELUTanh``, ``QuickGELU`` and the ``*Me`` forms). An
      activation is fused into the captured layer that produced its input, walking back through
      BatchNorm (``nn.BatchNorm*d``, ``F.batch_norm``), ``Identity``, ``Dropout``, timm's
      ``DropPath``, and ``flatten``/``reshape``/``view``; only when every tensor on that path
      feeds nothing else, and only when that layer's ``act`` is still ``"none"``. Otherwise it
      is dropped silently. timm's ``BatchNormAct2d`` (which applies its ``.act`` submodule after
      the norm) counts as a BatchNorm followed by the activation of its ``.act`` (``Identity``:
      none). Activations not in :data:`ACTIVATIONS` (Mish, LeakyReLU, ...) and any other
      operation stop the walk.

    For ``ops="all"`` torch.fx keeps as leaves, besides Conv2d/Linear: the pooling modules above,
    activation modules, timm's ``SelectAdaptivePool2d`` and ``BatchNormAct2d`` family (inspected
    rather than traced into) and timm's activation classes, none of which contains a Conv2d or
    Linear; everything else is traced into as for ``ops="mac"``. The hook fallback (used when
    tracing fails) sees module calls only: it captures Conv2d, Linear, the pooling modules and
    ``SelectAdaptivePool2d``, and fuses activation modules through BatchNorm, Identity, Dropout,
    DropPath and Flatten modules (following the tensors; a tensor changed in place since it was
    produced, as by ``x += shortcut``, breaks the chain). Functional calls (``F.relu``,
    ``x.mean``, ``+``, ``*``) are invisible to hooks, so that fallback records no add, no mul and
    no functional pool or activation.

    Each Conv2d becomes a ``"conv"`` layer with its real input ``(N, C, H, W)`` and output
    ``(N, K, P, Q)`` shapes, kernel, stride, dilation and groups. Padding: the module's integer
    padding when it reproduces the real output size; otherwise (string padding such as
    ``"same"``, or padding applied inside ``forward`` as timm's ``Conv2dSame`` does) the pad is
    derived from the shapes as ``ceil(total/2)``, ``total = max((P-1)*stride + dilation*(R-1) + 1 - H,
    0)``. When ``total`` is odd the real padding is asymmetric (one more at the bottom/right) and
    the symmetric pad recorded is one more than the real top/left pad.

    Each Linear becomes an ``"fc"`` layer with ``n`` = the product of the input's leading
    dimensions. Names are the submodules' qualified names (``"layer1.0.conv1"``); a submodule
    called more than once gets ``#2``, ``#3``, ... appended for the later calls. A captured
    function or method call is named after the innermost module whose forward makes it and the
    operation: ``"layer1.0.add"``, ``"blocks.1.0.se.mean"``, ``"blocks.1.0.se.mul"`` (repeats
    get ``#2``, ...).

    Not captured: functional calls (``F.conv2d``, ``F.linear``, ``torch.matmul``, attention),
    layers inside modules that torch.fx keeps whole (e.g. ``nn.MultiheadAttention``), and other
    layer types (Conv1d, Conv3d, ConvTranspose2d: a warning lists those present). A pooling call
    whose shapes do not fit a ``"pool"`` layer (a 1-D or 5-D input, output channels other than
    the input's) is skipped.

    Args:
        module: a ``torch.nn.Module``.
        input_shape: the input tensor's shape, e.g. ``(N, C, H, W)``; dtype and device follow the
            module's first parameter (float32 on CPU when it has none).
        name: the workload name; defaults to the module's class name.
        ops: ``"all"`` (default) or ``"mac"``, see above.

    Returns:
        A :class:`Workload` with ``params`` = ``sum(p.numel() for p in module.parameters())`` and
        ``source = "torch:<class name>"``.

    Raises:
        TypeError: ``module`` is not a ``torch.nn.Module``.
        ValueError: ``input_shape`` is not a sequence of positive ints, ``ops`` is not ``"all"`` or
            ``"mac"``, the forward pass fails on it, or nothing is captured.
        ImportError: torch is not installed.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch module must be a torch.nn.Module, got {_describe(module)}")
    if not isinstance(ops, str) or ops not in _OPS_CHOICES:
        raise ValueError(f"from_torch ops must be one of {_OPS_CHOICES}, got {_describe(ops)}")
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

    if ops == "all":
        return _from_torch_all(module, example, shape, name)

    bare = isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))
    records = _trace(module, example, shape, name, bare, _capture_fx, _capture_hooks)

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


def _trace(module: Any, example: Any, shape: tuple[int, ...], name: str, bare: bool, fx: Any, hooks: Any) -> Any:
    """Run a capture in eval mode without gradients: torch.fx first (``fx``), forward hooks (``hooks``) when
    tracing fails or ``module`` is a bare layer fx would trace into; training flags are restored afterwards.

    Raises:
        ValueError: the forward pass itself failed (names the module and the input shape).
    """
    import torch

    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            try:
                if bare:
                    raise TypeError("a bare layer: fx would trace into its functional call")
                return fx(module, example)
            except Exception:  # noqa: BLE001 - any tracing failure falls back to hooks
                try:
                    return hooks(module, example)
                except Exception as exc:  # noqa: BLE001
                    raise ValueError(f"from_torch: forward pass of {name} on input_shape={shape} "
                                     f"failed: {type(exc).__name__}: {exc}") from exc
    finally:
        for m, mode in modes:
            m.training = mode


def _from_torch_all(module: Any, example: Any, shape: tuple[int, ...], name: str) -> Workload:
    """:func:`from_torch` with ``ops="all"`` (arguments already checked)."""
    import torch

    t = _tables()
    recs = _trace(module, example, shape, name, t.is_leaf(module), _capture_fx_all, _capture_hooks_all)

    if not recs:
        raise ValueError(f"from_torch: {name} has no nn.Conv2d or nn.Linear call, pooling, residual add "
                         f"or squeeze-excite multiply on input_shape={shape}")
    layer_names = _unique_names(rec.layer.name for rec in recs)
    layers = [dataclasses.replace(rec.layer, name=nm, act=rec.act) for rec, nm in zip(recs, layer_names)]
    params = sum(p.numel() for p in module.parameters())
    return Workload(name, layers, params=params, source=f"torch:{type(module).__name__}")


def from_timm(name: str, *, resolution: int | tuple[int, int] = 224, batch: int = 1,
              ops: str = "all") -> Workload:
    """Build a timm model by name with random weights (nothing is downloaded) and import it.

    Calls ``timm.create_model(name, pretrained=False)`` then :func:`from_torch` with input shape
    ``(batch, in_chans, H, W)``; ``in_chans`` comes from the model's pretrained config (3 if
    absent). Models with a fixed input size (e.g. ViTs) need their default resolution.

    Args:
        name: a timm model name, e.g. ``"resnet50"`` or ``"mobilenetv2_100"``.
        resolution: input side in pixels, or an ``(H, W)`` pair.
        batch: batch size N.
        ops: ``"all"`` (default: also pooling, adds, SE multiplies, fused activations) or
            ``"mac"`` (Conv2d and Linear only), as :func:`from_torch`.

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
    if not isinstance(ops, str) or ops not in _OPS_CHOICES:
        raise ValueError(f"from_timm ops must be one of {_OPS_CHOICES}, got {_describe(ops)}")
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
    wl = from_torch(model, (batch, in_chans, rh, rw), name=name, ops=ops)
    return Workload(name, wl.layers, params=wl.params, source=f"timm:{name}")
