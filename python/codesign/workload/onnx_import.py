"""ONNX models -> :class:`~codesign.workload.Workload`: :func:`from_onnx`.

Shapes come from ``onnx.shape_inference``; weights are never read (a model whose weights live in external data
files loads without them). The layers are those :func:`~codesign.workload.from_torch` makes for the same
operations, so a network exported from torch imports to the same MACs.
"""
from __future__ import annotations

import math
import os
import stat
import warnings
from collections import Counter
from typing import Any

from ._checks import _as_int, _describe
from .layer import Layer
from .onnx_fold import fold_shape, fold_value
from .table import Workload, _unique_names
from .tensor_ops import (
    concat_layer,
    elementwise_layer,
    last_channel_dim,
    linear_layer,
    matmul_layer,
    nchw_channel_dim,
    permuted_channel_dim,
    reshaped_channel_dim,
    resize_layer,
)
from .torch_layers import _fit_pad, _pool_layer, _Rec

__all__ = ["from_onnx", "MAX_ONNX_BYTES"]

#: Largest ONNX file :func:`from_onnx` reads by default (protobuf's own limit is 2 GiB).
MAX_ONNX_BYTES: int = 1 << 30

# ONNX activation ops -> ACTIVATIONS (Clip is relu6 when its bounds are 0 and 6, relu when 0 and none)
_ACTS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hswish", "HardSigmoid": "hsigmoid",
         "Gelu": "gelu", "FastGelu": "gelu", "BiasGelu": "gelu", "Swish": "swish", "QuickGelu": "gelu"}
_UNARY = {"LeakyRelu", "Elu", "Selu", "Celu", "Softplus", "Softsign", "Mish", "PRelu", "ThresholdedRelu", "Exp",
          "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Erf", "Pow", "Sin", "Cos", "Floor", "Ceil", "Round", "Sign",
          "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceL2", "CumSum"}
_NORMS = {"LayerNormalization", "GroupNormalization", "InstanceNormalization", "RMSNormalization",
          "SimplifiedLayerNormalization", "SkipLayerNormalization"}
# ops that make a layer whenever their shapes are known
_LAYER_OPS = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Softmax", "LogSoftmax"}
_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}
_LAYER_OPS |= _NORMS | _UNARY
_TRANSPARENT = {"Dropout", "Identity", "Cast"}
_INDEX_TYPES = {6, 7}  # TensorProto INT32, INT64: tensors of shapes and indices
_LAYER_OPS |= {"Concat", "Resize", "Upsample", "NonMaxSuppression"}  # BatchNormalization may fold: no layer
# data movement, shapes and control: no arithmetic, ignored
_MOVE = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Shape", "Gather", "GatherElements", "GatherND",
         "Slice", "Constant", "ConstantOfShape", "Expand", "Split", "Pad", "Tile", "Range", "Size",
         "Equal", "Less", "Greater", "Where", "Not", "And", "Or", "NonZero", "Unique", "ScatterND", "Trilu",
         "DepthToSpace", "SpaceToDepth", "EyeLike", "ArgMax", "ArgMin", "TopK"}


def from_onnx(path: str | os.PathLike[str], *, name: str | None = None, batch: int = 1,
              max_bytes: int = MAX_ONNX_BYTES) -> Workload:
    """The layers of an ONNX model, in graph order, with shapes from ``onnx.shape_inference``.

    Placed: ``Conv`` (groups, dilations, strides, pads, ``auto_pad``; a 2-D convolution), ``Gemm`` and
    ``MatMul`` (a constant second operand is a weight layer, ``"fc"``; two activations a ``"matmul"``),
    ``MaxPool``/``AveragePool``/``GlobalAveragePool``/``GlobalMaxPool``, ``Add``/``Sub``/``Mul``/``Div`` of two
    activations (a residual add, or a squeeze-excite ``"mul"`` by an ``(N, C, 1, 1)`` gate; an operand that is
    a constant folds into the weights), activations (``Relu``, ``Clip`` with bounds 0 and 6 as relu6,
    ``Sigmoid``, ``HardSwish``, ``Gelu``, ``x * Sigmoid(x)`` as swish, ...) fused into the layer before them
    when it feeds nothing else and a stand-alone ``"act"`` pass otherwise, ``Softmax``, ``LayerNormalization``
    and the other norms, and elementwise math (``Exp``, ``Sqrt``, ``Reduce*``, ...) as one pass each.
    ``Concat`` (a ``"concat"`` over its output), ``Resize`` / ``Upsample`` of a 4-D map in nearest or linear mode
    (``"resize"``), ``BatchNormalization`` (folded into the Conv / Gemm before it when that output feeds nothing
    else, else a ``"bn"`` pass) and ``NonMaxSuppression`` (``"nms"``). ``Dropout`` and ``Cast`` are transparent;
    shape and data-movement ops (``Reshape``, ``Transpose``, ``Gather``, ``Slice``, an integer ``Concat`` of
    shapes, ...) are ignored. Any other op is listed in one warning with its count (and MACs where its shapes give
    them: 1-D/3-D and transposed convolutions).

    Args:
        path: the ``.onnx`` file. Weights stored in external files are not read.
        name: the workload name; defaults to the file name without extension.
        batch: the size given to a symbolic first dimension of a graph input (e.g. ``"N"``).
        max_bytes: the largest file read (default :data:`MAX_ONNX_BYTES`, 1 GiB).

    Returns:
        A :class:`Workload` with ``params`` = the element count of every initializer, ``source = "onnx:<path>"``
        and :attr:`Workload.input_shape` the first graph input's shape.

    Raises:
        ValueError: the file is larger than ``max_bytes``, is not an ONNX model, has an input dimension that
            is symbolic beyond the batch, or yields no layer. The message names the file.
        OSError: the file cannot be opened. ImportError: the ``onnx`` package is missing
            (``pip install 'codesign[onnx]'``).
    """
    path_str = os.fspath(path)
    batch = _as_int("from_onnx", "batch", batch, 1)
    max_bytes = _as_int("from_onnx", "max_bytes", max_bytes, 1)
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"from_onnx name must be a non-empty str or None, got {_describe(name)}")
    try:
        import onnx
        from onnx import numpy_helper, shape_inference
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("from_onnx needs the onnx package: pip install 'codesign[onnx]'") from exc
    st = os.stat(path_str)
    if not stat.S_ISREG(st.st_mode):  # a directory, a device (/dev/zero), a pipe: never read without bound
        raise ValueError(f"{path_str}: not a regular file, not an ONNX model")
    size = st.st_size
    if size > max_bytes:
        raise ValueError(f"{path_str}: {size:,} bytes is over the ONNX size limit max_bytes={max_bytes:,}")
    with open(path_str, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:  # a device or a file that grew: never read past the limit
        raise ValueError(f"{path_str}: over the ONNX size limit max_bytes={max_bytes:,}")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types for a non-ONNX file
        raise ValueError(f"{path_str}: not an ONNX model ({type(exc).__name__})") from None
    if not model.graph.node:
        raise ValueError(f"{path_str}: not an ONNX model (no graph nodes)")
    _fix_batch(model, batch, path_str)
    try:
        model = shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{path_str}: ONNX shape inference failed: {str(exc).splitlines()[0][:200]}") from None
    reader = _OnnxReader(model, numpy_helper)
    recs = reader.read()
    if reader.unplaced:
        parts = [f"{op} x{count}" + (f" ({reader.unplaced_macs[op]:,} MACs)" if reader.unplaced_macs.get(op) else "")
                 for op, count in sorted(reader.unplaced.items(), key=lambda kv: (-kv[1], kv[0]))]
        total = sum(reader.unplaced.values())
        warnings.warn(f"from_onnx: {path_str}: {total} operation{'s' * (total != 1)} not placed in the workload: "
                      f"{', '.join(parts)}", stacklevel=2)
    if not recs:
        raise ValueError(f"{path_str}: no layer the ONNX importer can place (ops: "
                         f"{', '.join(sorted({n.op_type for n in model.graph.node}))})")
    if name is None:
        name = os.path.splitext(os.path.basename(path_str))[0] or path_str
    names = _unique_names(r.layer.name for r in recs)
    import dataclasses

    layers = [dataclasses.replace(r.layer, name=nm, act=r.act) for r, nm in zip(recs, names)]
    params = sum(math.prod(t.dims) for t in model.graph.initializer)
    return Workload(name, layers, params=params, source=f"onnx:{path_str}", input_shape=reader.input_shape)


def _fix_batch(model: Any, batch: int, path: str) -> None:
    """Give a symbolic first dimension of each graph input the size ``batch``; any other symbolic input
    dimension is an error."""
    inits = {t.name for t in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in inits or not inp.type.HasField("tensor_type"):
            continue
        for i, dim in enumerate(inp.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                continue
            if i == 0:
                dim.dim_value = batch
            else:
                raise ValueError(f"{path}: input {inp.name!r} dimension {i} is symbolic "
                                 f"({dim.dim_param or '?'}); export the model with a fixed input shape")


class _OnnxReader:
    """One pass over an ONNX graph with inferred shapes."""

    def __init__(self, model: Any, numpy_helper: Any) -> None:
        g = model.graph
        self.g, self.nh = g, numpy_helper
        self.const: dict[str, Any] = {}  # name -> numpy value where known (initializers with data, Constants)
        self.is_const: set[str] = {t.name for t in g.initializer}
        self.shapes: dict[str, tuple[int, ...]] = {}
        for t in g.initializer:
            self.shapes[t.name] = tuple(int(d) for d in t.dims)
            if t.data_location != 1:  # not external
                try:
                    self.const[t.name] = numpy_helper.to_array(t)
                except Exception:  # noqa: BLE001
                    pass
        self.dtypes: dict[str, int] = {t.name: t.data_type for t in g.initializer}
        for vi in list(g.input) + list(g.value_info) + list(g.output):
            tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
            if tt is not None:
                self.dtypes[vi.name] = tt.elem_type
            if tt is not None and tt.HasField("shape"):
                dims = [d.dim_value if d.HasField("dim_value") else 0 for d in tt.shape.dim]
                if all(d > 0 for d in dims):
                    self.shapes[vi.name] = tuple(dims)
        inputs = [i for i in g.input if i.name not in self.is_const]
        self.input_shape = self.shapes.get(inputs[0].name) if inputs else None
        self.users: Counter[str] = Counter(i for n in g.node for i in n.input if i)
        self.users.update(o.name for o in g.output)
        self.recs: list[_Rec] = []
        self.producer: dict[str, int] = {}
        self.cdim: dict[str, int | None] = {i.name: nchw_channel_dim(self.shapes.get(i.name)) for i in inputs}
        self.unplaced: Counter[str] = Counter()
        self.unplaced_macs: Counter[str] = Counter()
        # x * Sigmoid(x) is a swish of x: the Sigmoid is skipped and the Mul fuses "swish" (x feeds both)
        made = {o: node for node in g.node for o in node.output}
        self.swish: dict[int, str] = {}
        self.skip: set[int] = set()
        index = {id(node): i for i, node in enumerate(g.node)}
        for i, node in enumerate(g.node):
            if node.op_type == "Mul" and len(node.input) == 2:
                for v, sg in ((node.input[0], node.input[1]), (node.input[1], node.input[0])):
                    sig = made.get(sg)
                    if sig is not None and sig.op_type == "Sigmoid" and sig.input[0] == v and self.users[sg] == 1:
                        self.swish[i] = v
                        self.skip.add(index[id(sig)])
                        self.users[v] -= 1
                        break

    # ------------------------------------------------------------------ helpers
    def shape(self, name: str) -> tuple[int, ...] | None:
        return self.shapes.get(name)

    def constant(self, name: str) -> bool:
        return name == "" or name in self.is_const

    @staticmethod
    def attrs(node: Any) -> dict[str, Any]:
        from onnx import helper

        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def capture(self, out: str, layer: Layer | None, act: str = "none") -> bool:
        if layer is not None:
            self.producer[out] = len(self.recs)
            rec = _Rec(layer)
            rec.act = act
            self.recs.append(rec)
        return layer is not None

    def activate(self, node: Any, act: str, x: str) -> None:
        src = self.producer.get(x)
        if src is not None and self.users[x] == 1 and self.recs[src].act == "none" \
                and self.recs[src].layer.kind != "concat":  # the Edge TPU's concatenation fuses no activation
            self.recs[src].act = act
            self.producer[node.output[0]] = src
        elif not self.constant(x):
            self.capture(node.output[0], elementwise_layer("act", self.label(node), self.shape(node.output[0]),
                                                           self.cdim.get(x)), act)

    def label(self, node: Any) -> str:
        return node.name or f"{node.op_type}_{node.output[0]}"

    # ------------------------------------------------------------------ the pass
    def read(self) -> list[_Rec]:
        for i, node in enumerate(self.g.node):
            if node.op_type == "Constant":
                self.is_const.add(node.output[0])
                value = self.attrs(node).get("value")
                if value is not None:
                    self.const[node.output[0]] = self.nh.to_array(value)
                continue
            if i in self.skip:
                continue
            ins = [x for x in node.input]
            if ins and all(self.constant(x) for x in ins):  # folds at export time
                self.is_const.update(node.output)
                self.fold(node)
                continue
            x = next((n for n in ins if not self.constant(n)), "")
            self.cdim[node.output[0]] = self.layout(node, x)
            self.place(i, node, x)
        return self.recs

    def fold(self, node: Any) -> None:
        """Values and shapes of a constant node's output that shape inference left unknown (onnx_fold)."""
        out, a = node.output[0], self.attrs(node)
        values = [self.const.get(x) for x in node.input]
        value = fold_value(node.op_type, a, values, self.nh.to_array)
        if value is not None:
            self.const.setdefault(out, value)
        if out not in self.shapes:
            shape = value.shape if value is not None else fold_shape(
                node.op_type, a, [self.shape(x) for x in node.input], values)
            if shape is not None and all(d > 0 for d in shape):
                self.shapes[out] = tuple(int(d) for d in shape)

    def layout(self, node: Any, x: str) -> int | None:
        op, out = node.op_type, self.shape(node.output[0])
        inherited = self.cdim.get(x)
        if op in ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ConvTranspose"):
            return nchw_channel_dim(out)
        if op in ("MatMul", "Gemm"):
            return last_channel_dim(out)
        if op == "Transpose":
            perm = self.attrs(node).get("perm")
            return permuted_channel_dim(inherited, len(self.shape(x) or ()), perm) if perm else None
        if op in ("Reshape", "Flatten", "Squeeze", "Unsqueeze"):
            return reshaped_channel_dim(inherited, self.shape(x), out)
        return inherited

    def place(self, i: int, node: Any, x: str) -> None:
        before = len(self.recs)
        self._place(i, node, x)
        shape_math = node.op_type == "Concat" and self.dtypes.get(node.output[0]) in _INDEX_TYPES
        if len(self.recs) == before and node.op_type in _LAYER_OPS and not shape_math:  # shapes not inferred
            self.unplaced[node.op_type] += 1

    def _place(self, i: int, node: Any, x: str) -> None:
        op, out = node.op_type, node.output[0]
        a = self.attrs(node)
        if op == "Conv":
            self.conv(node, a)
        elif op in ("Gemm", "MatMul"):
            self.gemm(node, a)
        elif op in ("MaxPool", "AveragePool"):
            pads = a.get("pads", [0, 0, 0, 0])
            pad = (pads[0], pads[1]) if len(pads) == 4 and pads[0] == pads[2] and pads[1] == pads[3] else None
            self.capture(out, _pool_layer(self.label(node), self.shape(x), self.shape(out), a.get("kernel_shape"),
                                          a.get("strides", [1, 1]), pad if pad is not None else 0, a.get("dilations", 1),
                                          bool(a.get("ceil_mode", 0))))
        elif op in ("GlobalAveragePool", "GlobalMaxPool"):
            self.capture(out, _pool_layer(self.label(node), self.shape(x), self.shape(out)))
        elif op in _BINARY:
            self.binary(i, node)
        elif op in _ACTS or op == "Clip":
            act = _ACTS.get(op) or self.clip_act(node)
            if act is None:
                self.capture(out, elementwise_layer("act", self.label(node), self.shape(out), self.cdim.get(x)))
            else:
                self.activate(node, act, x)
        elif op in ("Softmax", "LogSoftmax"):
            self.capture(out, elementwise_layer("softmax", self.label(node), self.shape(out), self.cdim.get(x)))
        elif op in _NORMS:
            self.capture(out, elementwise_layer("norm", self.label(node), self.shape(out), self.cdim.get(x)))
        elif op in _UNARY:
            self.capture(out, elementwise_layer("act", self.label(node), self.shape(x), self.cdim.get(x)))
        elif op == "Concat":
            if self.dtypes.get(out) in _INDEX_TYPES:  # shape arithmetic (Shape -> Slice -> Concat), no data
                return
            first = next((v for v in node.input if not self.constant(v)), "")
            shape = self.shape(out) or fold_shape(op, a, [self.shape(v) for v in node.input], [])
            self.capture(out, concat_layer(self.label(node), shape, self.cdim.get(first)))
        elif op in ("Resize", "Upsample"):
            self.capture(out, resize_layer(self.label(node), self.shape(x), self.shape(out), a.get("mode", "nearest")))
        elif op == "BatchNormalization":
            self.batchnorm(node, x)
        elif op == "NonMaxSuppression":
            self.nms(node)
        elif op in _TRANSPARENT:
            src = self.producer.get(x)
            if src is not None and self.users[x] == 1:
                self.producer[out] = src
        elif op in _MOVE:
            return
        else:
            self.unplaced[op] += 1
            macs = self.conv_macs(node, a) if op in ("Conv", "ConvTranspose") else None
            if macs:
                self.unplaced_macs[op] += macs

    def batchnorm(self, node: Any, x: str) -> None:
        """Folded into the conv / fc layer that produced ``x`` when ``x`` feeds nothing else and that layer has no
        activation yet (as the TFLite converter folds it), else a ``"bn"`` pass."""
        src = self.producer.get(x)
        if src is not None and self.users[x] == 1 and self.recs[src].layer.kind in ("conv", "fc", "gemm") \
                and self.recs[src].act == "none":
            self.producer[node.output[0]] = src
        else:
            self.capture(node.output[0], elementwise_layer("bn", self.label(node), self.shape(node.output[0]),
                                                           self.cdim.get(x)))

    def nms(self, node: Any) -> None:
        """``NonMaxSuppression(boxes (B, S, 4), scores (B, C, S), max_output_boxes_per_class, ...)``: an ``"nms"``
        of B images, C classes, S boxes, keeping at most ``max_output_boxes_per_class * C`` (S * C when that
        input is absent or not a constant; ONNX's 0 keeps nothing, stored as 1)."""
        boxes, scores = self.shape(node.input[0]), self.shape(node.input[1]) if len(node.input) > 1 else None
        if boxes is None or scores is None or len(boxes) != 3 or len(scores) != 3:
            return
        n, classes, count = scores
        per_class = count
        if len(node.input) > 2 and node.input[2] in self.const:
            per_class = min(count, int(self.const[node.input[2]].reshape(-1)[0]))
        try:
            layer = Layer.nms(self.label(node), boxes=count, classes=classes, n=n,
                              max_detections=max(1, per_class * classes))
        except (TypeError, ValueError):
            return
        self.capture(node.output[0], layer)

    def clip_act(self, node: Any) -> str | None:
        a = self.attrs(node)
        lo = a.get("min")
        hi = a.get("max")
        if len(node.input) > 1 and node.input[1] in self.const:
            lo = float(self.const[node.input[1]])
        if len(node.input) > 2 and node.input[2] in self.const:
            hi = float(self.const[node.input[2]])
        if lo == 0 and hi == 6:
            return "relu6"
        if lo == 0 and hi is None:
            return "relu"
        return None

    def conv(self, node: Any, a: dict[str, Any]) -> None:
        x, w, out = node.input[0], node.input[1], node.output[0]
        xs, ws, os_ = self.shape(x), self.shape(w), self.shape(out)
        if xs is None or ws is None or os_ is None or len(xs) != 4:
            macs = self.conv_macs(node, a)
            if macs:
                self.unplaced_macs["Conv"] += macs
            return
        n, c, h, wd = xs
        k, p, q = os_[1], os_[2], os_[3]
        r, s = ws[2], ws[3]
        sh, sw = a.get("strides", [1, 1])
        dh, dw = a.get("dilations", [1, 1])
        pads = a.get("pads", [0, 0, 0, 0])
        ph = pads[0] if pads[0] == pads[2] and a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET") else None
        pw = pads[1] if pads[1] == pads[3] and a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET") else None
        layer = Layer(self.label(node), "conv", n=n, k=k, c=c, p=p, q=q, r=r, s=s, h=h, w=wd,
                      stride_h=sh, stride_w=sw, pad_h=_fit_pad(h, p, r, sh, dh, ph), pad_w=_fit_pad(wd, q, s, sw, dw, pw),
                      dilation_h=dh, dilation_w=dw, groups=int(a.get("group", 1)))
        self.capture(out, layer)

    def conv_macs(self, node: Any, a: dict[str, Any]) -> int | None:
        xs, ws, os_ = (self.shape(node.input[0]), self.shape(node.input[1]) if len(node.input) > 1 else None,
                       self.shape(node.output[0]))
        if xs is None or ws is None or os_ is None:
            return None
        if node.op_type == "ConvTranspose":
            return math.prod(xs) * math.prod(ws[1:])
        return math.prod(os_) * math.prod(ws[1:])

    def gemm(self, node: Any, a: dict[str, Any]) -> None:
        A, B, out = node.input[0], node.input[1], node.output[0]
        sa, sb = self.shape(A), self.shape(B)
        if sa is not None and a.get("transA", 0):
            sa = sa[::-1]
        if sb is not None and a.get("transB", 0):
            sb = sb[::-1]
        name = self.label(node)
        if self.constant(B) and not self.constant(A):
            placed = self.capture(out, linear_layer(name, sa, sb, transposed=False))
        elif not self.constant(A) and not self.constant(B):
            placed = self.capture(out, matmul_layer(name, sa, sb))
        else:
            placed = False
        if not placed:  # e.g. a constant on the left: a weight layer of a shape this package does not hold
            self.unplaced[node.op_type] += 1
            if sa is not None and self.shape(out) is not None:
                self.unplaced_macs[node.op_type] += math.prod(self.shape(out)) * sa[-1]

    def binary(self, i: int, node: Any) -> None:
        x, b, out = node.input[0], node.input[1], node.output[0]
        op = node.op_type
        if i in self.swish:
            self.activate(node, "swish", self.swish[i])
            return
        if self.constant(x) or self.constant(b):  # a constant operand folds into the weights
            return
        sa, sb, so = self.shape(x), self.shape(b), self.shape(out)
        if op == "Mul" and sa is not None and sb is not None and len(sa) == len(sb) == 4:
            big, gate = (sa, sb) if math.prod(sa) >= math.prod(sb) else (sb, sa)
            if gate == (big[0], big[1], 1, 1):
                self.capture(out, Layer.mul(self.label(node), c=big[1], h=big[2], w=big[3], n=big[0]))
                return
        self.capture(out, elementwise_layer("add", self.label(node), so, self.cdim.get(x if sa == so else b)))
