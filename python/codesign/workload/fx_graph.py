"""``from_torch(ops="all")`` through torch.fx: every layer of the traced graph, activations fused, the layout of
each tensor followed, and the operations that could not be placed counted (:class:`_Recs`)."""
from __future__ import annotations

import math
from collections import Counter
from typing import Any

from .layer import Layer
from .tensor_ops import (
    concat_layer,
    elementwise_layer,
    last_channel_dim,
    linear_layer,
    matmul_layer,
    mha_layers,
    nchw_channel_dim,
    permuted_channel_dim,
    reshaped_channel_dim,
    resize_layer,
    sdpa_layers,
    se_layer,
    transposed_channel_dim,
)
from .torch_layers import (
    _ACT_METHODS,
    _ADD_METHODS,
    _DIV_METHODS,
    _MATMUL_METHODS,
    _META_METHODS,
    _MOVE_METHODS,
    _MUL_METHODS,
    _SOFTMAX_METHODS,
    _SPATIAL_REDUCE_METHODS,
    _SUB_METHODS,
    _TRANSPARENT_METHODS,
    _UNARY_METHODS,
    _conv_layer,
    _gpool_out,
    _is_nms,
    _linear_layer,
    _pool_layer,
    _Rec,
    _spatial_dims_ok,
    _tables,
    _vector_layer,
)

_REDUCE_METHODS = frozenset({"mean", "amax", "amin", "sum"})
_BINARY_LABELS = {"iadd": "add", "add_": "add", "isub": "sub", "sub_": "sub", "imul": "mul", "mul_": "mul",
                  "truediv": "div", "itruediv": "div", "div_": "div"}
_RESHAPE_METHODS = frozenset({"view", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "view_as"})
# the layers a batch norm right after them folds into (the TFLite converter folds it into their weights and bias)
_BN_FOLDS_INTO = frozenset({"conv", "fc", "gemm"})


class _Recs(list):
    """The captured layers (:class:`_Rec`, in execution order) and what capture could not place.

    Attributes:
        unplaced: operation label -> number of calls not captured (they have a value that depends on the input
            and are neither data movement nor a constant).
        unplaced_macs: operation label -> MACs of those calls, where their shapes give them.
        path: ``"fx"`` or ``"hooks"``.
        note: why the hook fallback was taken (empty for fx).
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.unplaced: Counter[str] = Counter()
        self.unplaced_macs: Counter[str] = Counter()
        self.path = path
        self.note = ""


def _concrete_args(module: Any, inputs: int = 1) -> dict[str, Any]:
    """The root forward's parameters after the first ``inputs`` that have defaults (masks, flags), kept at their
    defaults so that tracing does not turn ``src_mask=None`` into a placeholder."""
    import inspect

    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params[inputs:]
            if p.default is not inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _capture_fx_all(module: Any, example: Any) -> _Recs:
    """Every captured call of ``module`` in execution order, with activations fused, via torch.fx."""
    import torch
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    t = _tables()

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
            if t.is_leaf(m):
                return True
            if t.is_traced_container(m):
                return False
            return super().is_leaf_module(m, qualname)

    examples = example if isinstance(example, tuple) else (example,)
    graph = _Tracer().trace(module, concrete_args=_concrete_args(module, len(examples)) or None)
    gm = fx.GraphModule(module, graph)
    ShapeProp(gm).propagate(*examples)
    return _GraphReader(gm, t, torch).read()


class _GraphReader:
    """One pass over a shape-propagated fx graph (see :func:`codesign.workload.from_torch`)."""

    def __init__(self, gm: Any, t: Any, torch: Any) -> None:
        from torch import fx

        self.gm, self.t, self.torch, self.Node = gm, t, torch, fx.Node
        self.recs = _Recs("fx")
        self.producer: dict[Any, int] = {}  # node -> index of the captured layer whose output it carries
        self.cdim: dict[Any, int | None] = {}  # node -> its channel dimension
        self.placed: set[Any] = set()
        # Nodes whose value depends on the module's input; an op with an operand that does not (a parameter or
        # buffer, e.g. a layer scale) is a constant that folds into the weights.
        self.variable: set[Any] = set()
        for node in gm.graph.nodes:
            if node.op == "placeholder" or any(i in self.variable for i in node.all_input_nodes):
                self.variable.add(node)
        # x * sigmoid(x) is a swish of x: find those before the sigmoid is seen on its own.
        self.swish_of: dict[Any, Any] = {}
        self.skipped: set[Any] = set()
        for node in gm.graph.nodes:
            if self.is_op(node, t.mul_functions, _MUL_METHODS) and len(node.args) == 2:
                a, b = node.args
                for x, sg in ((a, b), (b, a)):
                    if (isinstance(sg, self.Node) and isinstance(x, self.Node) and self.act_of(sg) == "sigmoid"
                            and sg.args and sg.args[0] is x and self.data_users(sg) == [node]):
                        self.swish_of[node] = (x, sg)
                        self.skipped.add(sg)
                        break

    # ------------------------------------------------------------------ helpers
    def shape(self, x: Any) -> tuple[int, ...] | None:
        if not isinstance(x, self.Node):
            return None
        meta = x.meta.get("tensor_meta")
        return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None

    def data_users(self, x: Any) -> list[Any]:
        return [u for u in x.users if not (u.op == "call_function" and u.target is getattr)
                and not (u.op == "call_method" and u.target in _META_METHODS)]

    @staticmethod
    def arg(node: Any, i: int, key: str, default: Any = None) -> Any:
        return node.args[i] if len(node.args) > i else node.kwargs.get(key, default)

    @staticmethod
    def is_op(node: Any, functions: Any, methods: Any) -> bool:
        return ((node.op == "call_function" and node.target in functions)
                or (node.op == "call_method" and node.target in methods))

    def fn_name(self, node: Any, label: str) -> str:
        stack = node.meta.get("nn_module_stack") or {}
        if not stack:
            return label
        key, value = list(stack.items())[-1]
        sc = str(value[0]) if isinstance(value, tuple) and value else str(key)
        return f"{sc}.{label}" if sc else label

    def act_of(self, node: Any) -> str | None:
        if node.op == "call_module":
            role, detail = self.t.role(self.gm.get_submodule(node.target))
            return detail if role == "act" else None
        if node.op == "call_function":
            return self.t.act_functions.get(node.target)
        if node.op == "call_method":
            return _ACT_METHODS.get(node.target)
        return None

    def label(self, node: Any) -> str:
        if node.op == "call_module":
            return type(self.gm.get_submodule(node.target)).__name__
        target = node.target
        return target if isinstance(target, str) else getattr(target, "__name__", str(target))

    def source(self, x: Any, exclude: Any = None) -> int | None:
        """The captured layer ``x`` carries, when ``x`` feeds nothing else."""
        if not isinstance(x, self.Node) or x not in self.producer:
            return None
        users = [u for u in self.data_users(x) if u is not exclude]
        return self.producer[x] if len(users) == 1 else None

    def capture(self, node: Any, *layers: Layer | None) -> None:
        self.placed.add(node)
        for layer in layers:
            if layer is not None:
                self.producer[node] = len(self.recs)
                self.recs.append(_Rec(layer))

    def activate(self, node: Any, act: str, x: Any, exclude: Any = None) -> None:
        """Fuse ``act`` into the layer ``x`` carries; when it cannot be, a stand-alone ``"act"`` pass."""
        self.placed.add(node)
        src = self.source(x, exclude)
        # the Edge TPU's concatenation takes no fused activation (Coral's supported-operations table)
        if src is not None and self.recs[src].act == "none" and self.recs[src].layer.kind != "concat":
            self.recs[src].act = act
            self.producer[node] = src
        elif x in self.variable:
            name = self.fn_name(node, act) if node.op != "call_module" else str(node.target)
            before = len(self.recs)
            self.capture(node, elementwise_layer("act", name, self.shape(node), self.cdim.get(x)))
            if len(self.recs) > before:
                self.recs[-1].act = act

    def passthrough(self, node: Any, x: Any) -> None:
        self.placed.add(node)
        src = self.source(x)
        if src is not None:
            self.producer[node] = src

    def vector(self, node: Any, kind: str, name: str, x: Any) -> None:
        """A vector pass of ``kind`` over ``node``'s output, laid out as its input ``x``."""
        self.placed.add(node)
        if x in self.variable:
            self.capture(node, elementwise_layer(kind, name, self.shape(node), self.cdim.get(x)))

    def batchnorm(self, node: Any, x: Any, act: str | None) -> None:
        """A batch norm, then ``act`` (``"none"``; timm's BatchNormAct2d applies its ``.act``: an activation, or
        None for one not in ACTIVATIONS, its own pass). Folded into the conv / fc layer its input carries when
        that layer feeds nothing else and has no activation yet, as the TFLite converter folds it; otherwise a
        ``"bn"`` pass over the output (after an add, a pool, a concatenation, an activation, the input)."""
        name = str(node.target) if node.op == "call_module" else self.fn_name(node, "batch_norm")
        src = self.source(x)
        if src is not None and self.recs[src].layer.kind in _BN_FOLDS_INTO and self.recs[src].act == "none":
            if act == "none":
                self.passthrough(node, x)
            elif act is None:
                self.vector(node, "act", name, x)
            else:
                self.activate(node, act, x)
            return
        self.placed.add(node)
        if x not in self.variable:
            return
        before = len(self.recs)
        self.capture(node, elementwise_layer("bn", name, self.shape(node), self.cdim.get(x)),
                     elementwise_layer("act", name, self.shape(node), self.cdim.get(x)) if act is None else None)
        if act not in (None, "none") and len(self.recs) > before:
            self.recs[-1].act = act

    def concat(self, node: Any) -> None:
        """``torch.cat`` / ``concat`` of tensors one of which depends on the input: a ``"concat"`` pass over the
        output, laid out as the first such tensor."""
        self.placed.add(node)
        tensors = self.arg(node, 0, "tensors")
        tensors = list(tensors) if isinstance(tensors, (list, tuple)) else []
        first = next((v for v in tensors if isinstance(v, self.Node) and v in self.variable), None)
        if first is not None:
            self.capture(node, concat_layer(self.fn_name(node, "cat"), self.shape(node), self.cdim.get(first)))

    def resize(self, node: Any, x: Any, mode: Any) -> None:
        """``F.interpolate`` / ``nn.Upsample`` of a 4-D map, nearest or (bi)linear: a ``"resize"``; other modes
        and ranks are not placed (counted)."""
        if x not in self.variable:
            self.placed.add(node)
            return
        name = str(node.target) if node.op == "call_module" else self.fn_name(node, "interpolate")
        layer = resize_layer(name, self.shape(x), self.shape(node), mode)
        if layer is not None:
            self.capture(node, layer)

    def nms(self, node: Any) -> None:
        """``torch.ops.torchvision.nms(boxes (B, 4), scores (B,), iou)`` (``torchvision.ops.nms``): an ``"nms"``
        of B boxes, one class, keeping the boxes this input kept (at least 1). Calls with no layer captured
        between them are one class-wise NMS, as ``torchvision.ops.batched_nms`` runs one call per class: classes
        = the calls, boxes = the most of one call, max_detections = the boxes kept by all."""
        self.placed.add(node)
        boxes, out = self.shape(self.arg(node, 0, "boxes")), self.shape(node)
        if not boxes or not boxes[0]:
            return
        kept = max(1, out[0]) if out else boxes[0]
        prev = self.recs[-1].layer if self.recs else None
        try:
            if prev is not None and prev.kind == "nms" and self.recs[-1].act == "none":
                self.recs[-1].layer = Layer.nms(prev.name, boxes=max(prev.h, boxes[0]), classes=prev.c + 1,
                                                max_detections=prev.p + kept)
                self.producer[node] = len(self.recs) - 1
            else:
                self.capture(node, Layer.nms(self.fn_name(node, "nms"), boxes=boxes[0], max_detections=kept))
        except (TypeError, ValueError):
            self.placed.discard(node)

    # ------------------------------------------------------------------ the pass
    def read(self) -> _Recs:
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                shp = self.shape(node)
                self.cdim[node] = 1 if shp is not None and len(shp) == 4 else last_channel_dim(shp)
                continue
            if node.op not in ("call_module", "call_function", "call_method") or node in self.skipped:
                continue
            x = node.args[0] if node.args else next(iter(node.kwargs.values()), None)
            self.cdim[node] = self.layout(node, x)
            if node.op == "call_module":
                self.module_call(node, x)
            else:
                self.function_call(node, x)
            if (node not in self.placed and node in self.variable and self.shape(node) is not None
                    and not self.is_move(node)):
                self.recs.unplaced[self.label(node)] += 1
        return self.recs

    def layout(self, node: Any, x: Any) -> int | None:
        """The channel dimension of ``node``'s output."""
        out = self.shape(node)
        inherited = self.cdim.get(x) if isinstance(x, self.Node) else last_channel_dim(out)
        if node.op == "call_module":
            role, _ = self.t.role(self.gm.get_submodule(node.target))
            sub = self.gm.get_submodule(node.target)
            if role in ("pool", "gpool") or isinstance(sub, self.torch.nn.Conv2d):
                return nchw_channel_dim(out)
            if role in ("mac", "mha"):
                return last_channel_dim(out)
            return inherited
        target, ndim = node.target, len(self.shape(x) or ())
        if node.op == "call_function" and target in self.t.concat_functions:  # laid out as its first tensor
            tensors = self.arg(node, 0, "tensors")
            first = next((v for v in tensors if isinstance(v, self.Node)), None) \
                if isinstance(tensors, (list, tuple)) else None
            return self.cdim.get(first) if first is not None else last_channel_dim(out)
        if target in ("permute",) or target is self.torch.permute:
            dims = node.args[1:] if node.op == "call_method" else (self.arg(node, 1, "dims"),)
            dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
            return permuted_channel_dim(inherited, ndim, dims)
        if target == "transpose" or target is self.torch.transpose:
            return transposed_channel_dim(inherited, ndim, self.arg(node, 1, "dim0"), self.arg(node, 2, "dim1"))
        if target in _RESHAPE_METHODS or target in (self.torch.flatten, self.torch.reshape):
            return reshaped_channel_dim(inherited, self.shape(x), out)
        if (self.is_op(node, self.t.matmul_functions, _MATMUL_METHODS)
                or target in (self.t.linear_function, self.t.sdpa_function)):
            return last_channel_dim(out)
        return inherited if out is None or self.shape(x) is None or len(out) == ndim else last_channel_dim(out)

    def is_move(self, node: Any) -> bool:
        if node.op == "call_module":
            return self.t.role(self.gm.get_submodule(node.target))[0] in ("move", "transparent")
        if node.op == "call_method":
            return node.target in _MOVE_METHODS or node.target in _TRANSPARENT_METHODS
        return node.target in self.t.move_functions or node.target in self.t.transparent_functions

    def module_call(self, node: Any, x: Any) -> None:
        t, torch = self.t, self.torch
        qualname = str(node.target)
        sub = self.gm.get_submodule(node.target)
        role, detail = t.role(sub)
        shape = self.shape
        if role == "mac":
            x = node.args[0] if node.args else node.kwargs.get("input")
            in_shape, out_shape = shape(x), shape(node)
            if in_shape is None or out_shape is None:
                raise RuntimeError(f"no shape recorded for {node.target}")
            make = _conv_layer if isinstance(sub, torch.nn.Conv2d) else _linear_layer
            self.capture(node, make(qualname, sub, in_shape, out_shape))
        elif role == "pool":
            if isinstance(sub, (torch.nn.AdaptiveAvgPool2d, torch.nn.AdaptiveMaxPool2d)):
                self.capture(node, _pool_layer(qualname, shape(x), shape(node)))
            else:
                self.capture(node, _pool_layer(qualname, shape(x), shape(node), sub.kernel_size, sub.stride,
                                               sub.padding, getattr(sub, "dilation", 1),
                                               getattr(sub, "ceil_mode", False)))
        elif role == "gpool":
            if detail:
                self.capture(node, _pool_layer(qualname, shape(x), _gpool_out(shape(x), shape(node))))
            else:
                self.passthrough(node, x)
        elif role == "act":
            self.activate(node, detail, x)
        elif role == "normact":  # a batch norm and the activation of its .act (None: unlisted, its own pass)
            self.batchnorm(node, x, detail)
        elif role == "bn":
            self.batchnorm(node, x, "none")
        elif role == "resize":
            self.resize(node, x, detail)
        elif role == "transparent":
            self.passthrough(node, x)
        elif role == "mha":
            q = node.args[0] if node.args else node.kwargs.get("query")
            k = self.arg(node, 1, "key", q)
            v = self.arg(node, 2, "value", k)
            self.capture(node, *mha_layers(qualname, sub, shape(q), shape(k), shape(v)))
        elif role in ("softmax", "norm"):
            self.vector(node, role, qualname, x)
        elif role == "unary":
            self.vector(node, "act", qualname, x)
        elif role == "other":
            macs = t.unplaced_macs(sub, shape(x), shape(node))
            if macs is not None and node in self.variable:
                self.recs.unplaced_macs[self.label(node)] += macs

    def function_call(self, node: Any, x: Any) -> None:
        t, shape, variable, arg = self.t, self.shape, self.variable, self.arg
        target = node.target
        fn = node.op == "call_function"
        if fn and target in t.concat_functions:
            self.concat(node)
        elif fn and target in t.resize_functions:
            pos, default = t.resize_functions[target]
            self.resize(node, x, default if pos is None else arg(node, pos, "mode", default))
        elif fn and target in t.bn_functions:
            self.batchnorm(node, x, "none")
        elif fn and _is_nms(target):
            self.nms(node)
        elif fn and target in t.pool_functions:
            label, params = t.pool_functions[target]
            values = [arg(node, i + 1, p) for i, p in enumerate(params)]
            if label.startswith("adaptive"):
                self.capture(node, _pool_layer(self.fn_name(node, label), shape(x), shape(node)))
            else:
                kernel, stride, padding, ceil_mode = values[0], values[1], values[2], values[-1]
                dilation = values[3] if len(values) > 4 and values[3] is not None else 1
                self.capture(node, _pool_layer(self.fn_name(node, label), shape(x), shape(node), kernel, stride,
                                               0 if padding is None else padding, dilation, bool(ceil_mode)))
        elif self.is_op(node, t.spatial_reduce_functions, _SPATIAL_REDUCE_METHODS) or (
                node.op == "call_method" and target in _REDUCE_METHODS) or (fn and target is self.torch.sum):
            in_shape = shape(x)
            label = self.label(node)
            if in_shape is not None and _spatial_dims_ok(arg(node, 1, "dim"), len(in_shape)) \
                    and label in ("mean", "amax"):
                self.capture(node, _pool_layer(self.fn_name(node, label), in_shape, shape(node)))
            elif x in variable:  # a reduction over other dimensions: one pass over its input
                self.placed.add(node)
                self.capture(node, elementwise_layer("act", self.fn_name(node, label), in_shape, self.cdim.get(x)))
        elif (self.is_op(node, t.add_functions, _ADD_METHODS) or self.is_op(node, t.sub_functions, _SUB_METHODS)
              or self.is_op(node, t.mul_functions, _MUL_METHODS) or self.is_op(node, t.div_functions, _DIV_METHODS)):
            self.binary(node, x)
        elif self.is_op(node, t.matmul_functions, _MATMUL_METHODS) or (fn and target is t.linear_function):
            self.matmul(node, x)
        elif fn and target is t.sdpa_function and t.sdpa_function is not None:
            q, k, v = x, arg(node, 1, "key"), arg(node, 2, "value")
            self.capture(node, *sdpa_layers(self.fn_name(node, "sdpa"), shape(q), shape(k), shape(v)))
        elif self.is_op(node, t.softmax_functions, _SOFTMAX_METHODS):
            self.vector(node, "softmax", self.fn_name(node, "softmax"), x)
        elif fn and target in t.norm_functions:
            self.vector(node, "norm", self.fn_name(node, self.label(node)), x)
        elif self.is_op(node, t.unary_functions, _UNARY_METHODS):
            self.vector(node, "act", self.fn_name(node, self.label(node)), x)
        else:
            act = self.act_of(node)
            if act is not None:
                self.activate(node, act, x)
            elif self.is_op(node, t.transparent_functions, _TRANSPARENT_METHODS):
                self.passthrough(node, x)

    def binary(self, node: Any, x: Any) -> None:
        """add, sub, mul, div: a residual add; a squeeze-excite gate; any other op of two input-dependent
        tensors as an ``"add"`` pass over the output; an operand that is a constant folds into the weights."""
        self.placed.add(node)
        if node in self.swish_of:
            inp, sg = self.swish_of[node]
            self.activate(node, "swish", inp, exclude=sg)
            return
        b = self.arg(node, 1, "other")
        if x not in self.variable or b not in self.variable:
            return
        sa, sb, out = self.shape(x), self.shape(b), self.shape(node)
        label = _BINARY_LABELS.get(self.label(node), self.label(node))
        if self.is_op(node, self.t.mul_functions, _MUL_METHODS) and sa is not None and sb is not None \
                and len(sa) == len(sb) == 4:
            cd = self.cdim.get(x) or 1
            big, gate = (sa, sb) if math.prod(sa) >= math.prod(sb) else (sb, sa)
            if all(g == (d if i in (0, cd) else 1) for i, (g, d) in enumerate(zip(gate, big))):
                self.capture(node, _vector_layer("mul", self.fn_name(node, "mul"), big) if cd == 1 else
                             se_layer(self.fn_name(node, "mul"), big, cd))
                return
        if out is not None:
            self.capture(node, elementwise_layer("add", self.fn_name(node, label), out,
                                                 self.cdim.get(x if sa == out else b)))

    def matmul(self, node: Any, a: Any) -> None:
        """``a @ b`` (matmul, bmm, ``@``) or ``F.linear(a, w)``: two input-dependent operands make a
        ``"matmul"``; a constant second operand (a parameter) makes an ``"fc"``."""
        self.placed.add(node)
        linear = node.op == "call_function" and node.target is self.t.linear_function
        b = self.arg(node, 1, "weight" if linear else "other")
        sa, sb = self.shape(a), self.shape(b)
        name = self.fn_name(node, "linear" if linear else "matmul")
        if a not in self.variable and b not in self.variable:
            return
        if b in self.variable and a in self.variable:
            if linear and sb is not None and len(sb) >= 2:
                sb = tuple(sb[:-2]) + (sb[-1], sb[-2])
            self.capture(node, matmul_layer(name, sa, sb))
        elif a in self.variable:
            self.capture(node, linear_layer(name, sa, sb, transposed=linear))
        else:  # a constant times an activation: a weight on the left, not a layer shape of this package
            self.placed.discard(node)
            out = self.shape(node)
            if out is not None and sa is not None:
                self.recs.unplaced_macs[self.label(node)] += math.prod(out) * sa[-1]
