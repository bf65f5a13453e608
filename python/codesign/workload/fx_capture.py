"""``from_torch(ops="mac")`` through torch.fx: the Conv2d and Linear calls of the traced graph (``ops="all"`` is
:mod:`codesign.workload.fx_graph`)."""
from __future__ import annotations

from typing import Any



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
