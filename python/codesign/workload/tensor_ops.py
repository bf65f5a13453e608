"""Tensors that are not images, and the layers of attention: layouts, elementwise passes, activation-by-activation
matmuls, ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention`` as :class:`~codesign.workload.Layer` lists.

Shapes are tuples of ints as torch reports them. A *channel dimension* (``cdim``) says which dimension holds the
channels (features): 1 for an ``(N, C, H, W)`` map as convolutions make it, the last for ``(N, H, W, C)``
channels-last maps and ``(B, N, D)`` token tensors, which linear layers, norms over the last dimension and
matmuls make. :func:`elementwise_layer` stores a tensor as ``n`` = its first dimension, ``c`` = the channel
dimension, ``h``, ``w`` = the others (``w = 1`` for a 3-D tensor). Only sizes are read here: no torch import.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .layer import Layer

Shape = tuple[int, ...]


def nchw_channel_dim(shape: Shape | None) -> int | None:
    """The channel dimension a convolution gives a tensor of ``shape``: 1 for 4-D (and 3-D unbatched 0)."""
    if shape is None:
        return None
    return 1 if len(shape) == 4 else (0 if len(shape) == 3 else len(shape) - 1)


def last_channel_dim(shape: Shape | None) -> int | None:
    """The channel dimension of a channels-last or token tensor: its last."""
    return None if shape is None or not shape else len(shape) - 1


def permuted_channel_dim(cdim: int | None, ndim: int, dims: Sequence[Any]) -> int | None:
    """Where channel dimension ``cdim`` goes under ``permute(dims)`` (None when unknown)."""
    if ndim < 1:
        return None
    try:
        order = [int(d) % ndim for d in dims]
    except (TypeError, ValueError):
        return None
    if cdim is None or len(order) != ndim or cdim not in order:
        return None
    return order.index(cdim)


def transposed_channel_dim(cdim: int | None, ndim: int, a: Any, b: Any) -> int | None:
    """Where channel dimension ``cdim`` goes under ``transpose(a, b)``."""
    if ndim < 1:
        return None
    try:
        a, b = int(a) % ndim, int(b) % ndim
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if cdim == a:
        return b
    if cdim == b:
        return a
    return cdim


def reshaped_channel_dim(cdim: int | None, old: Shape | None, new: Shape | None) -> int | None:
    """The channel dimension after a reshape/view/flatten: kept when the channel dimension survives whole at
    the same place (counted from the front for ``cdim`` 1, from the back for a last ``cdim``), else the last."""
    if new is None or not new:
        return None
    if cdim is not None and old is not None and 0 <= cdim < len(old):
        if cdim == len(old) - 1 and new[-1] == old[-1]:
            return len(new) - 1
        if cdim < len(new) and new[: cdim + 1] == old[: cdim + 1]:
            return cdim
    return len(new) - 1


def nchw_fields(shape: Shape, cdim: int | None) -> tuple[int, int, int, int] | None:
    """``(n, c, h, w)`` of a tensor with channel dimension ``cdim`` (None: the last), see the module docstring."""
    if not shape or any(d < 1 for d in shape):
        return None
    if len(shape) == 1:
        return 1, shape[0], 1, 1
    if cdim is None or not 0 < cdim < len(shape):
        cdim = len(shape) - 1
    n, c = shape[0], shape[cdim]
    rest = [d for i, d in enumerate(shape) if i not in (0, cdim)]
    if not rest:
        return n, c, 1, 1
    return n, c, math.prod(rest[:-1]) if len(rest) > 1 else rest[0], rest[-1] if len(rest) > 1 else 1


def elementwise_layer(kind: str, name: str, shape: Shape | None, cdim: int | None) -> Layer | None:
    """One elementwise pass (``kind`` in :data:`~codesign.workload.ELEMENTWISE_OPS`) over a tensor of ``shape``;
    None when the shape does not fit a layer."""
    fields = nchw_fields(tuple(shape), cdim) if shape is not None else None
    if fields is None:
        return None
    n, c, h, w = fields
    try:
        return Layer.elementwise(kind, name, c=c, h=h, w=w, n=n)
    except (TypeError, ValueError):
        return None


#: Resampling modes of torch (``F.interpolate``) and ONNX (``Resize``, ``Upsample``) on a 4-D map ->
#: :data:`~codesign.workload.RESIZE_TAPS` modes; others (cubic, area, ...) are not placed.
RESIZE_MODES: dict[str, str] = {"nearest": "nearest", "nearest-exact": "nearest", "bilinear": "bilinear",
                                "linear": "bilinear"}


def resize_layer(name: str, x: Shape | None, out: Shape | None, mode: Any) -> Layer | None:
    """A ``"resize"`` of an ``(N, C, H, W)`` map to ``(N, C, P, Q)`` in ``mode`` (:data:`RESIZE_MODES`); None
    when the shapes are not 4-D with equal ``N`` and ``C`` or the mode is not one of those."""
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if x is None or out is None or len(x) != 4 or len(out) != 4 or tuple(x[:2]) != tuple(out[:2]) \
            or mode not in RESIZE_MODES:
        return None
    try:
        return Layer.resize(name, c=x[1], h=x[2], w=x[3], p=out[2], q=out[3], mode=RESIZE_MODES[mode], n=x[0])
    except (TypeError, ValueError):
        return None


def concat_layer(name: str, out: Shape | None, cdim: int | None) -> Layer | None:
    """A ``"concat"`` stored as its output tensor ``out`` laid out with channel dimension ``cdim`` (along the
    channels, ``C`` is the sum of the inputs' channels); None when the shape does not fit a layer."""
    return elementwise_layer("concat", name, out, cdim)


def _batch(shape_a: Shape, shape_b: Shape) -> int | None:
    """The broadcast batch count of two ``(..., M, K)`` and ``(..., K, N)`` operands (None if they do not
    broadcast)."""
    ba, bb = list(shape_a[:-2]), list(shape_b[:-2])
    width = max(len(ba), len(bb))
    ba, bb = [1] * (width - len(ba)) + ba, [1] * (width - len(bb)) + bb
    out = 1
    for x, y in zip(ba, bb):
        if x != y and 1 not in (x, y):
            return None
        out *= max(x, y)
    return out


def matmul_layer(name: str, shape_a: Shape | None, shape_b: Shape | None) -> Layer | None:
    """``a @ b`` of two activations (``torch.matmul`` rules: 1-D operands are promoted, batch dimensions
    broadcast) as a :meth:`~codesign.workload.Layer.matmul` with ``batch`` = the broadcast batch count; None when
    the shapes do not multiply."""
    if shape_a is None or shape_b is None or not shape_a or not shape_b:
        return None
    a = (1,) + tuple(shape_a) if len(shape_a) == 1 else tuple(shape_a)
    b = tuple(shape_b) + (1,) if len(shape_b) == 1 else tuple(shape_b)
    if a[-1] != b[-2]:
        return None
    batch = _batch(a, b)
    if batch is None:
        return None
    try:
        return Layer.matmul(name, m=a[-2], n=b[-1], k=a[-1], batch=batch)
    except (TypeError, ValueError):
        return None


def linear_layer(name: str, x: Shape | None, weight: Shape | None, transposed: bool) -> Layer | None:
    """``x @ W.T`` (``F.linear``, ``transposed=True``, ``W`` is ``out x in``) or ``x @ W`` with a parameter ``W``
    (``in x out``) as an ``"fc"`` layer, ``n`` = the product of ``x``'s leading dimensions."""
    if x is None or weight is None or len(weight) != 2 or not x:
        return None
    out_f, in_f = weight if transposed else weight[::-1]
    if x[-1] != in_f:
        return None
    try:
        return Layer.fc(name, in_features=in_f, out_features=out_f, n=math.prod(x[:-1]) if len(x) > 1 else 1)
    except (TypeError, ValueError):
        return None


def sdpa_layers(name: str, q: Shape | None, k: Shape | None, v: Shape | None) -> list[Layer]:
    """``F.scaled_dot_product_attention(q, k, v)``: ``q (..., L, E)``, ``k (..., S, E)``, ``v (..., S, Ev)`` ->
    ``[Q K^T matmul, softmax over (..., L, S), A V matmul]``. A causal or masked attention is costed dense, as an
    accelerator without sparsity support computes it. Empty when the shapes do not fit."""
    if q is None or k is None or v is None or min(len(q), len(k), len(v)) < 2:
        return []
    scores = tuple(q[:-1]) + (k[-2],)
    kt = tuple(k[:-2]) + (k[-1], k[-2])
    qk = matmul_layer(f"{name}.qk", q, kt)
    av = matmul_layer(f"{name}.av", scores, v)
    sm = elementwise_layer("softmax", f"{name}.softmax", scores, len(scores) - 1)
    return [x for x in (qk, sm, av) if x is not None] if qk and av and sm else []


def mha_layers(name: str, m: Any, q: Shape | None, k: Shape | None, v: Shape | None) -> list[Layer]:
    """``nn.MultiheadAttention`` ``m`` on query/key/value shapes ``(L, N, E)`` (``(N, L, E)`` when
    ``m.batch_first``; ``(L, E)`` unbatched): the q/k/v projections, ``Q K^T`` and ``A V`` per head, the softmax
    and the output projection, as the module's non-fast path computes them (``F.multi_head_attention_forward``).
    ``add_bias_kv`` and ``add_zero_attn`` each add one key. Empty when the shapes do not fit."""
    k = q if k is None else k
    v = k if v is None else v
    if q is None or len(q) not in (2, 3) or len(k) != len(q) or len(v) != len(q):
        return []
    seq_dim = 0 if len(q) == 2 or not getattr(m, "batch_first", False) else 1
    batch = 1 if len(q) == 2 else q[1 - seq_dim]
    seq_q, seq_kv, e = q[seq_dim], k[seq_dim], q[-1]
    heads = int(m.num_heads)
    if e != m.embed_dim or e % heads or k[-1] != m.kdim or v[-1] != m.vdim or v[seq_dim] != seq_kv:
        return []
    seq_k = seq_kv + int(getattr(m, "bias_k", None) is not None) + int(bool(getattr(m, "add_zero_attn", False)))
    d = e // heads
    try:
        return [Layer.fc(f"{name}.q_proj", in_features=e, out_features=e, n=batch * seq_q),
                Layer.fc(f"{name}.k_proj", in_features=int(m.kdim), out_features=e, n=batch * seq_kv),
                Layer.fc(f"{name}.v_proj", in_features=int(m.vdim), out_features=e, n=batch * seq_kv),
                Layer.matmul(f"{name}.qk", m=seq_q, n=seq_k, k=d, batch=batch * heads),
                Layer.elementwise("softmax", f"{name}.softmax", c=seq_k, h=heads * seq_q, n=batch),
                Layer.matmul(f"{name}.av", m=seq_q, n=d, k=seq_k, batch=batch * heads),
                Layer.fc(f"{name}.out_proj", in_features=e, out_features=e, n=batch * seq_q)]
    except (TypeError, ValueError):
        return []


def se_layer(name: str, big: tuple[int, ...], cdim: int) -> Layer | None:
    """A squeeze-excite multiply of a channels-last map."""
    n, c = big[0], big[cdim]
    rest = [d for i, d in enumerate(big) if i not in (0, cdim)]
    try:
        return Layer.mul(name, c=c, h=rest[0], w=rest[1], n=n)
    except (TypeError, ValueError, IndexError):
        return None
