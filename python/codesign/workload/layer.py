"""One layer of a workload: :class:`Layer` in N,K,C,P,Q,R,S terms, and the column and code tables the
C++ core reads (:data:`LAYER_FIELDS`, :data:`OP_CODES`, :data:`ACTIVATIONS`)."""
from __future__ import annotations

from dataclasses import dataclass

from ._checks import MAX_DIM, _as_int, _describe, _pair
from .layer_kinds import NMS_BOX_WORDS, RESIZE_TAPS, _KindConstructors, check_kind_fields, nms_ops

__all__ = ["ACTIVATIONS", "ELEMENTWISE_OPS", "LAYER_FIELDS", "LAYER_KINDS", "MAC_KINDS", "OP_CODES", "MAX_DIM",
           "RESIZE_TAPS", "Layer"]

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
LAYER_KINDS: tuple[str, ...] = ("conv", "fc", "gemm", "pool", "add", "mul", "matmul", "softmax", "norm", "act",
                                "concat", "resize", "bn", "nms")

#: The kinds that multiply-accumulate on the MAC array: conv, fc and gemm with weights (parameters), and
#: ``"matmul"``, whose second operand is an activation (``weights == 0``). The others are vector operations
#: with ``macs == weights == 0``.
MAC_KINDS: tuple[str, ...] = ("conv", "fc", "gemm", "matmul")

#: The vector kinds stored as one elementwise pass over an ``N x C x H x W`` tensor (``p = h``, ``q = w``,
#: ``k = c = groups``, unit window), and their vector operations per element before the activation (an
#: assumption of this package, shared with the C++ core: softmax = running max, subtract, exponential, sum and
#: scale by the reciprocal; norm = mean, subtract, square-accumulate, scale by the reciprocal square root and
#: affine; RMSNorm, which skips the mean, is costed as LayerNorm; concat = one copy per output element, the
#: tensor stored is the output, whose channels are the sum of the inputs'; bn = an un-fused batch norm, a
#: per-channel multiply and add, as TFLite lowers it).
ELEMENTWISE_OPS: dict[str, int] = {"add": 1, "mul": 1, "softmax": 5, "norm": 5, "act": 1, "concat": 1, "bn": 2}

#: Operation code of each kind (column ``"op"``): 0 MAC layer with weights, 1 pooling, 2 elementwise add
#: (any two-operand op of equal shapes), 3 multiply by a per-channel gate, 4 activation-by-activation matmul,
#: 5 softmax, 6 LayerNorm/RMSNorm, 7 a stand-alone activation function, 8 concatenation, 9 resize (nearest or
#: bilinear), 10 an un-fused batch norm, 11 non-maximum suppression (detection post-processing). New kinds are
#: appended: codes are never renumbered.
OP_CODES: dict[str, int] = {"conv": 0, "fc": 0, "gemm": 0, "pool": 1, "add": 2, "mul": 3, "matmul": 4,
                            "softmax": 5, "norm": 6, "act": 7, "concat": 8, "resize": 9, "bn": 10, "nms": 11}

#: Allowed values of :attr:`Layer.act`; the code in column ``"act"`` is the index in this tuple.
ACTIVATIONS: tuple[str, ...] = ("none", "relu", "relu6", "hswish", "hsigmoid", "sigmoid", "swish",
                                "gelu", "tanh")
_ACT_CODES: dict[str, int] = {a: i for i, a in enumerate(ACTIVATIONS)}

#: The integer (loop bound) fields: the first 16 columns.
_INT_FIELDS: tuple[str, ...] = LAYER_FIELDS[:16]

# Fields that must be >= 1; the pads must be >= 0.
_POSITIVE_FIELDS = tuple(f for f in _INT_FIELDS if f not in ("pad_h", "pad_w"))

@dataclass(frozen=True, slots=True)
class Layer(_KindConstructors):
    """One convolution, fully connected layer, GEMM, pooling, add or multiply, in N,K,C,P,Q,R,S terms.

    Shapes: input (ifmap) ``N x C x H x W``, weights ``K x (C/groups) x R x S``, output (ofmap)
    ``N x K x P x Q``. ``H, W`` are the unpadded input sizes; the padded input is
    ``(H + 2*pad_h) x (W + 2*pad_w)``. All sizes are element counts (words), not bytes.

    ``kind`` is ``"conv"`` (any 2-D convolution; depthwise and grouped ones have ``groups > 1``),
    ``"fc"`` (fully connected: ``C`` in, ``K`` out, ``N`` rows, every spatial field 1) or ``"gemm"``
    (an ``M x K`` by ``K x N`` matrix product stored as ``P = H = M``, ``C = K``, ``K = N``,
    everything else 1; see :meth:`gemm`). For these three the kind only labels the layer; the
    integer fields alone define the work. ``"matmul"`` is a product of two activations (attention's
    ``Q K^T`` and ``A V``), ``batch`` independent ``M x K`` by ``K x N`` products, stored as a grouped
    GEMM with one group per product: ``groups = batch``, ``c = batch*K``, ``k = batch*N``,
    ``p = h = M``, everything else 1 (see :meth:`matmul`). Its second operand (``K x N`` per group,
    the "weights" of the GEMM view) is an activation produced by earlier layers, never a parameter:
    ``weights == 0``, :attr:`operand_words` counts it.

    The vector kinds do no multiply-accumulates with weights (``macs == weights == 0``); their
    work is :attr:`ops`, vector operations. All are per-channel, stored as depthwise layers
    (``k == c == groups``):

    * ``"pool"``: max or average pooling with an ``R x S`` window (see :meth:`pool`,
      :meth:`global_pool`); ``ops = N*C*P*Q*R*S``.
    * ``"add"``: elementwise sum of two ``N x C x H x W`` tensors (a residual add; see :meth:`add`):
      ``P = H``, ``Q = W``, ``R = S = 1``, unit stride and dilation, no padding; ``ops = N*C*H*W``.
    * ``"mul"``: an ``N x C x H x W`` map times an ``N x C x 1 x 1`` gate broadcast over ``H, W`` (a
      squeeze-excite scaling; see :meth:`mul`); same fields as ``"add"``; ``ops = N*C*H*W``.
    * ``"softmax"``, ``"norm"`` (LayerNorm, RMSNorm), ``"act"`` (an activation function not
      fused into the layer before it), ``"concat"`` (a concatenation, stored as its output: ``C`` =
      the sum of the inputs' channels; see :meth:`concat`) and ``"bn"`` (a batch norm not folded
      into a conv before it): one elementwise pass, same fields as ``"add"`` (see
      :meth:`elementwise`); ``ops = N*C*H*W`` times :data:`ELEMENTWISE_OPS` of the kind.
    * ``"resize"``: nearest or bilinear resampling ``N x C x H x W -> N x C x P x Q`` (see
      :meth:`resize`); ``r = s`` = the interpolation taps per axis (:data:`RESIZE_TAPS`: 1
      nearest, 2 bilinear), unit stride; ``ops = N*C*P*Q*R*S``.

    ``"nms"`` (non-maximum suppression, detection post-processing; see :meth:`nms`) is not
    per-channel: ``n`` images, ``c`` classes, ``h`` boxes, ``p`` = the most detections kept,
    ``k = groups = w = q = 1``; ``ops`` by :func:`~codesign.workload.layer_kinds.nms_ops`.

    Tensors that are not images are laid out by their last dimension: a ``(B, N, D)`` token tensor
    is ``n = B``, ``c = D``, ``h = N``, ``w = 1``; an ``(N, H, W, C)`` channels-last map is
    ``n = N``, ``c = C``, ``h = H``, ``w = W``.

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
            (``(R-1)*dilation_h + 1 > H + 2*pad_h``, likewise for width; not for ``resize``, whose
            taps clamp at the border); a layer whose fields contradict its kind
            (:func:`~codesign.workload.layer_kinds.check_kind_fields`). Messages name the field and
            the value.
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
        for dim, r, dil, size, pad in ((("h", "r", "dilation_h", "h", "pad_h"),
                                        ("w", "s", "dilation_w", "w", "pad_w")) if self.kind != "resize" else ()):
            extent = (getattr(self, r) - 1) * getattr(self, dil) + 1
            padded = getattr(self, size) + 2 * getattr(self, pad)
            if extent > padded:
                raise ValueError(
                    f"Layer.{r} = {getattr(self, r)} (dilated extent {extent} with {dil} = "
                    f"{getattr(self, dil)}) is larger than the padded input {size} + 2*{pad} = "
                    f"{getattr(self, size)} + 2*{getattr(self, pad)} = {padded}")
        check_kind_fields(self, MAC_KINDS)

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
    def matmul(cls, name: str, *, m: int, n: int, k: int, batch: int = 1, act: str = "none") -> Layer:
        """``batch`` products of two activations, ``(m x k) @ (k x n) -> (m x n)`` each (attention's
        ``Q K^T`` with ``m`` queries, ``k`` = head dim, ``n`` keys; or ``A V``), ``batch`` = batch x heads.

        Stored as a grouped GEMM, one group per product: ``groups = batch``, ``c = batch*k``,
        ``k = batch*n``, ``p = h = m``, the rest 1. Then ``gemm_m == m``, ``gemm_n == n``,
        ``gemm_k == k`` per group, ``macs == batch*m*n*k``, ``weights == 0`` and
        :attr:`operand_words` ``== batch*k*n`` (the second operand, an activation).

        Raises:
            TypeError, ValueError: as :class:`Layer`; a size < 1 or a product over :data:`MAX_DIM`.
        """
        owner = "Layer.matmul"
        m = _as_int(owner, "m", m, 1)
        n_ = _as_int(owner, "n", n, 1)
        k_ = _as_int(owner, "k", k, 1)
        b = _as_int(owner, "batch", batch, 1)
        for field, value in (("batch*k", b * k_), ("batch*n", b * n_)):
            if value > MAX_DIM:
                raise ValueError(f"{owner} {name!r}: {field} = {value} exceeds {MAX_DIM}")
        return cls(name, "matmul", n=1, k=b * n_, c=b * k_, p=m, q=1, r=1, s=1, h=m, w=1, groups=b, act=act)

    @classmethod
    def elementwise(cls, kind: str, name: str, *, c: int, h: int = 1, w: int = 1, n: int = 1,
                    act: str = "none") -> Layer:
        """One elementwise pass over an ``n x c x h x w`` tensor: ``kind`` is ``"add"``, ``"mul"``,
        ``"softmax"``, ``"norm"``, ``"act"``, ``"concat"`` (the output) or ``"bn"`` (see
        :data:`ELEMENTWISE_OPS`). A ``(B, N, D)`` token tensor is ``n = B``, ``c = D``, ``h = N``.

        Raises:
            ValueError: ``kind`` not one of those, or as :class:`Layer`.
        """
        if kind not in ELEMENTWISE_OPS:
            raise ValueError(f"Layer.elementwise kind must be one of {tuple(ELEMENTWISE_OPS)}, got {_describe(kind)}")
        c, h, w = (_as_int(f"Layer.{kind}", f, v, 1) for f, v in (("c", c), ("h", h), ("w", w)))
        return cls(name, kind, n=n, k=c, c=c, p=h, q=w, r=1, s=1, h=h, w=w, groups=c, act=act)

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
        """True for the multiply-accumulate kinds (:data:`MAC_KINDS`: conv, fc, gemm, matmul)."""
        return self.kind in MAC_KINDS

    @property
    def macs(self) -> int:
        """Multiply-accumulates: ``N*K*(C/groups)*P*Q*R*S``; 0 for the vector kinds."""
        if self.kind not in MAC_KINDS:
            return 0
        return self.n * self.k * (self.c // self.groups) * self.p * self.q * self.r * self.s

    @property
    def ops(self) -> int:
        """Operations: :attr:`macs` for the MAC kinds; vector operations for the others
        (pool and resize ``N*C*P*Q*R*S``, the elementwise kinds ``N*C*H*W`` times
        :data:`ELEMENTWISE_OPS`, nms :func:`~codesign.workload.layer_kinds.nms_ops`)."""
        if self.kind in MAC_KINDS:
            return self.macs
        if self.kind in ("pool", "resize"):
            return self.n * self.c * self.p * self.q * self.r * self.s
        if self.kind == "nms":
            return nms_ops(self.n, self.c, self.h, self.p)
        return self.n * self.c * self.h * self.w * ELEMENTWISE_OPS[self.kind]

    @property
    def weights(self) -> int:
        """Weight count ``K*(C/groups)*R*S`` (no bias); 0 for the vector kinds and for ``"matmul"``,
        whose second operand is an activation (:attr:`operand_words`)."""
        if self.kind not in MAC_KINDS or self.kind == "matmul":
            return 0
        return self.k * (self.c // self.groups) * self.r * self.s

    @property
    def operand_words(self) -> int:
        """Second-operand words of a ``"matmul"`` (an activation, ``K*(C/groups)``); 0 otherwise."""
        if self.kind != "matmul":
            return 0
        return self.k * (self.c // self.groups)

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
        a mul the map and the gate (``N*C*H*W + N*C``), an nms the scores and the boxes
        (``N*C*H + 4*N*H``). A matmul's second operand is :attr:`operand_words`, not counted here."""
        words = self.n * self.c * self.h * self.w
        if self.kind == "add":
            return 2 * words
        if self.kind == "mul":
            return words + self.n * self.c
        if self.kind == "nms":
            return words + NMS_BOX_WORDS * self.n * self.h
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
