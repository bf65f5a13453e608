"""``from_torch(ops="all")`` from one real forward pass, for models torch.fx cannot trace (control flow on shapes
or values): every torch function and tensor method called is recorded through ``torch.overrides.TorchFunctionMode``
and the calls of the modules torch.fx would keep whole through forward hooks, into an fx graph with the real
shapes, which :class:`codesign.workload.fx_graph._GraphReader` then reads as it reads a traced one.

What it sees is what this input runs: a branch the example input does not take is not recorded.
"""
from __future__ import annotations

import operator
from typing import Any

from .fx_graph import _GraphReader, _Recs
from .torch_layers import _tables

# dunder tensor methods -> the operator functions the graph reader knows
_DUNDER = {"__add__": operator.add, "__radd__": operator.add, "__iadd__": operator.iadd,
           "__sub__": operator.sub, "__rsub__": operator.sub, "__isub__": operator.isub,
           "__mul__": operator.mul, "__rmul__": operator.mul, "__imul__": operator.imul,
           "__truediv__": operator.truediv, "__rtruediv__": operator.truediv, "__itruediv__": operator.itruediv,
           "__matmul__": operator.matmul, "__rmatmul__": operator.matmul, "__getitem__": operator.getitem}


def _capture_run_all(module: Any, example: Any) -> _Recs:
    """The layers of ``module`` on ``example`` from one forward pass (see the module docstring)."""
    import torch
    from torch import fx
    from torch.fx.passes.shape_prop import _extract_tensor_metadata
    from torch.overrides import TorchFunctionMode

    t = _tables()
    graph = fx.Graph()
    owner = torch.nn.Module()
    node_of: dict[int, tuple[Any, Any]] = {}  # id(tensor) -> (tensor, node)
    stack: list[tuple[str, type]] = []  # enclosing module calls (qualname, class)
    leaf_depth = [0]  # > 0 inside a module kept whole, or while recording (whose own torch calls are not the model's)
    names = {id(m): q for q, m in module.named_modules()}
    consts = [0]

    def meta(node: Any, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            node.meta["tensor_meta"] = _extract_tensor_metadata(value)
            node_of[id(value)] = (value, node)
        node.meta["nn_module_stack"] = {q: (q, cls) for q, cls in stack if q}

    def as_arg(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            entry = node_of.get(id(x))
            if entry is not None and entry[0] is x:
                return entry[1]
            consts[0] += 1  # a parameter, buffer or tensor made without the input: a constant
            owner.register_buffer(f"_const{consts[0]}", x.detach(), persistent=False)
            node = graph.get_attr(f"_const{consts[0]}")
            meta(node, x)
            return node
        if isinstance(x, (tuple, list)):
            return type(x)(as_arg(v) for v in x)
        if isinstance(x, dict):
            return {k: as_arg(v) for k, v in x.items()}
        return x

    def record(op: str, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        leaf_depth[0] += 1
        try:
            _record(op, target, args, kwargs, out)
        finally:
            leaf_depth[0] -= 1

    def _record(op: str, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        node = graph.create_node(op, target, as_arg(tuple(args)), as_arg(dict(kwargs)))
        if isinstance(out, torch.Tensor):
            meta(node, out)
        elif isinstance(out, (tuple, list)):
            meta(node, None)
            for i, v in enumerate(out):  # tuple outputs (split, chunk, MHA): one getitem each
                if isinstance(v, torch.Tensor):
                    item = graph.create_node("call_function", operator.getitem, (node, i), {})
                    meta(item, v)

    class _Mode(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if leaf_depth[0] or getattr(func, "__name__", "") in ("__get__", "__set__", "size", "dim"):
                return out
            name = getattr(func, "__name__", "")
            if name in _DUNDER:
                target, op = _DUNDER[name], "call_function"
                if name.startswith("__r") and name not in ("__rsub__", "__rtruediv__"):
                    args = (args[1], args[0]) + tuple(args[2:])
                elif name in ("__rsub__", "__rtruediv__"):
                    args = (args[1], args[0])
            elif _is_method(func):
                target, op = name, "call_method"
            else:
                target, op = func, "call_function"
            record(op, target, args, kwargs, out)
            return out

    def pre_hook(sub: Any, args: tuple[Any, ...]) -> None:
        stack.append((names.get(id(sub), ""), type(sub)))
        if t.is_leaf(sub):
            leaf_depth[0] += 1

    def hook(sub: Any, args: tuple[Any, ...], out: Any) -> None:
        if t.is_leaf(sub):
            leaf_depth[0] -= 1
            if not leaf_depth[0]:
                qual = names.get(id(sub), "") or type(sub).__name__
                if qual not in dict(owner.named_modules()):
                    _attach(owner, qual, sub)
                stack.pop()
                record("call_module", qual, args, {}, out)
                return
        stack.pop()

    examples = example if isinstance(example, tuple) else (example,)
    for i, x in enumerate(examples):
        meta(graph.placeholder(f"x{i}"), x)
    handles = [h for sub in module.modules()
               for h in (sub.register_forward_pre_hook(pre_hook), sub.register_forward_hook(hook))]
    try:
        with _Mode():
            module(*examples)
    finally:
        for h in handles:
            h.remove()
    gm = fx.GraphModule(owner, graph)
    recs = _GraphReader(gm, t, torch).read()
    recs.path = "run"
    return recs


def _is_method(func: Any) -> bool:
    import torch

    qual = getattr(func, "__qualname__", "") or ""
    return qual.startswith(("Tensor.", "TensorBase.", "_TensorBase.")) or getattr(torch.Tensor, getattr(
        func, "__name__", ""), None) is func


def _attach(owner: Any, qual: str, sub: Any) -> None:
    """Register ``sub`` under the dotted name ``qual`` in ``owner`` (so that ``get_submodule`` finds it)."""
    import torch

    parts = qual.split(".")
    node = owner
    for part in parts[:-1]:
        if not hasattr(node, part) or not isinstance(getattr(node, part), torch.nn.Module):
            node.add_module(part, torch.nn.Module())
        node = getattr(node, part)
    node.add_module(parts[-1], sub)
