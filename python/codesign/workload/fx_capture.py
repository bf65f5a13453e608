"""Capture through torch.fx: trace the module, propagate shapes (ShapeProp), read the layers off the graph."""
from __future__ import annotations

from typing import Any

from .layer import Layer
from .torch_layers import (
    _ACT_METHODS,
    _ADD_METHODS,
    _META_METHODS,
    _MUL_METHODS,
    _SPATIAL_REDUCE_METHODS,
    _TRANSPARENT_METHODS,
    _conv_layer,
    _gpool_out,
    _linear_layer,
    _pool_layer,
    _Rec,
    _spatial_dims_ok,
    _tables,
    _vector_layer,
)


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
