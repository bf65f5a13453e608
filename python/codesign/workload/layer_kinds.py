"""What each :attr:`~codesign.workload.Layer.kind` requires of a layer's integer fields, the work of the kinds
that are not plain elementwise passes (resize, non-maximum suppression), and the constructors of the concat,
resize and nms kinds (:class:`~codesign.workload.Layer` inherits them). The C++ core
(cpp/include/codesign/workload/layer.hpp, ``vector_ops``) uses the same formulas."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._checks import _as_int, _describe

if TYPE_CHECKING:
    from .layer import Layer

#: Interpolation taps per axis of a ``"resize"`` layer by mode, stored in ``r`` and ``s`` (``r == s``):
#: nearest reads one input pixel per output pixel, bilinear a 2 x 2 neighbourhood (4 multiply-accumulates).
RESIZE_TAPS: dict[str, int] = {"nearest": 1, "bilinear": 2}

#: Operations per IoU test of two boxes in non-maximum suppression (codesign's estimate: the intersection's
#: corners 4 min/max, its area 2 subtractions, 2 clamps and a multiply, the union an add and a subtraction, the
#: test ``inter > threshold * union`` a multiply and a compare, and the suppression flag's read and write).
NMS_IOU_OPS: int = 15

#: Input words per box of a ``"nms"`` layer besides its class scores (the 4 coordinates).
NMS_BOX_WORDS: int = 4

_ELEMENTWISE_LIKE_ONES = ("r", "s", "stride_h", "stride_w", "dilation_h", "dilation_w")
_PADS = ("pad_h", "pad_w")


def ceil_log2(x: int) -> int:
    """``ceil(log2(x))`` for ``x >= 1`` (0 for 1), exactly, in integers."""
    return (x - 1).bit_length()


def nms_ops(n: int, classes: int, boxes: int, max_detections: int) -> int:
    """Operations of non-maximum suppression of ``n`` images: per image ``boxes * classes`` score-threshold
    compares, ``boxes * ceil(log2 boxes)`` to sort the survivors and ``boxes * max_detections *``
    :data:`NMS_IOU_OPS` for the greedy IoU tests of each kept box against the others (the worst case, in which
    every box passes the threshold; the TFLite detection post-processing and torchvision's ``nms`` follow this
    greedy scheme)."""
    return n * (boxes * classes + boxes * ceil_log2(boxes) + boxes * max_detections * NMS_IOU_OPS)


def _require(layer: Any, ones: Sequence[str], zeros: Sequence[str]) -> None:
    for field in ones:
        if getattr(layer, field) != 1:
            raise ValueError(f"Layer.{field} must be 1 for kind {layer.kind!r}, got {getattr(layer, field)}")
    for field in zeros:
        if getattr(layer, field) != 0:
            raise ValueError(f"Layer.{field} must be 0 for kind {layer.kind!r}, got {getattr(layer, field)}")


def _same(layer: Any, field: str, other: str) -> None:
    if getattr(layer, field) != getattr(layer, other):
        raise ValueError(f"Layer.{field} must equal Layer.{other} = {getattr(layer, other)} for kind "
                         f"{layer.kind!r}, got {getattr(layer, field)}")


def check_kind_fields(layer: Any, mac_kinds: Sequence[str]) -> None:
    """Raise ValueError naming the field and the value when ``layer``'s fields contradict its kind.

    fc: every spatial field 1; gemm and matmul: ``n = q = r = s = w = 1``, ``h = p``, unit strides; pool:
    per-channel (``k == groups == c``); the elementwise kinds (add, mul, softmax, norm, act, concat, bn): also a
    unit window, stride and dilation, no padding, ``p = h``, ``q = w``; resize: per-channel, unit stride and
    dilation, no padding, ``r == s`` in :data:`RESIZE_TAPS` values (any ``p``, ``q``); nms: ``k = groups = 1``,
    ``w = q = 1``, unit window, stride and dilation, no padding.
    """
    kind = layer.kind
    if kind == "fc":
        _require(layer, ("p", "q", "r", "s", "h", "w", "stride_h", "stride_w", "dilation_h", "dilation_w",
                         "groups"), _PADS)
    elif kind in ("gemm", "matmul"):
        _require(layer, ("n", "q", "r", "s", "w", "stride_h", "stride_w", "dilation_h", "dilation_w")
                 + (("groups",) if kind == "gemm" else ()), _PADS)
        if layer.h != layer.p:
            raise ValueError(f"Layer.h must equal Layer.p (= {'GEMM' if kind == 'gemm' else kind} M = "
                             f"{layer.p}) for kind {kind!r}, got {layer.h}")
    elif kind == "nms":
        _require(layer, ("k", "groups", "w", "q") + _ELEMENTWISE_LIKE_ONES, _PADS)
    elif kind not in mac_kinds:
        for field in ("k", "groups"):
            _same(layer, field, "c")
        if kind == "resize":
            _require(layer, ("stride_h", "stride_w", "dilation_h", "dilation_w"), _PADS)
            if layer.r not in RESIZE_TAPS.values():
                raise ValueError(f"Layer.r must be 1 (nearest) or 2 (bilinear) for kind 'resize', got {layer.r}")
            _same(layer, "s", "r")
        elif kind != "pool":
            _require(layer, _ELEMENTWISE_LIKE_ONES, _PADS)
            _same(layer, "p", "h")
            _same(layer, "q", "w")


class _KindConstructors:
    """:meth:`Layer.concat`, :meth:`Layer.resize` and :meth:`Layer.nms` (a base of :class:`Layer`)."""

    __slots__ = ()

    @classmethod
    def concat(cls, name: str, *, channels: Sequence[int], h: int = 1, w: int = 1, n: int = 1,
               act: str = "none") -> Layer:
        """The concatenation of ``n x channels[i] x h x w`` maps along the channels: a ``"concat"`` pass over
        the ``n x sum(channels) x h x w`` output, one copy per output element.

        Raises:
            TypeError, ValueError: ``channels`` empty or not positive ints, or as :class:`Layer`.
        """
        if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or not channels:
            raise ValueError(f"Layer.concat channels must be a non-empty sequence of positive ints, "
                             f"got {_describe(channels)}")
        c = sum(_as_int("Layer.concat", f"channels[{i}]", v, 1) for i, v in enumerate(channels))
        return cls.elementwise("concat", name, c=c, h=h, w=w, n=n, act=act)

    @classmethod
    def resize(cls, name: str, *, c: int, h: int, w: int, p: int, q: int, mode: str = "nearest",
               n: int = 1, act: str = "none") -> Layer:
        """Nearest or bilinear resampling (``F.interpolate``, ``nn.Upsample``, TFLite ResizeNearestNeighbor /
        ResizeBilinear) of an ``n x c x h x w`` map to ``n x c x p x q``.

        Stored per-channel (``k = groups = c``), ``r = s`` = :data:`RESIZE_TAPS` of ``mode`` (1 nearest, 2
        bilinear: a 2 x 2 neighbourhood, 4 multiply-accumulates), unit stride; ``ops = n*c*p*q*r*s``.

        Raises:
            ValueError: ``mode`` not in :data:`RESIZE_TAPS`, or as :class:`Layer`.
        """
        if mode not in RESIZE_TAPS:
            raise ValueError(f"Layer.resize mode must be one of {tuple(RESIZE_TAPS)}, got {_describe(mode)}")
        c = _as_int("Layer.resize", "c", c, 1)
        t = RESIZE_TAPS[mode]
        return cls(name, "resize", n=n, k=c, c=c, p=p, q=q, r=t, s=t, h=h, w=w, groups=c, act=act)

    @classmethod
    def nms(cls, name: str, *, boxes: int, max_detections: int, classes: int = 1, n: int = 1) -> Layer:
        """Non-maximum suppression (detection post-processing: TFLite_Detection_PostProcess,
        ``torchvision.ops.nms`` / ``batched_nms``) of ``n`` images of ``boxes`` candidate boxes with
        ``classes`` scores each, keeping at most ``max_detections``.

        Stored as ``c = classes``, ``h = boxes``, ``p = max_detections``, ``k = groups = w = q = 1``;
        :attr:`ifmap_words` = scores and boxes, :attr:`ofmap_words` = ``n*max_detections``. The Edge TPU
        never runs it (its compiler leaves the post-processing on the CPU). Raises as :class:`Layer`.
        """
        return cls(name, "nms", n=n, k=1, c=classes, p=max_detections, q=1, r=1, s=1, h=boxes, w=1)
