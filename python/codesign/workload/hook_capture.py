"""Capture through forward hooks, the fallback when torch.fx cannot trace a module: module calls only."""
from __future__ import annotations

from typing import Any

from .layer import Layer
from .fx_graph import _Recs
from .tensor_ops import elementwise_layer, last_channel_dim, mha_layers, nchw_channel_dim, resize_layer
from .torch_layers import _conv_layer, _gpool_out, _linear_layer, _pool_layer, _Rec, _tables


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


def _capture_hooks_all(module: Any, example: Any) -> _Recs:
    """:func:`_capture_fx_all` from forward hooks: sees module calls only (Conv2d, Linear, pooling
    modules, timm SelectAdaptivePool2d, activation modules, BatchNorm (folded into the conv before it, else a
    ``"bn"`` pass), BatchNormAct2d (always folded), Upsample, Identity, Dropout, DropPath, Flatten,
    MultiheadAttention, Softmax, the norms). An activation is fused when
    its input tensor is, through transparent modules, the unmodified output of a captured layer (a
    tensor changed in place since, e.g. by ``x += shortcut``, is not); otherwise it is an ``"act"``
    pass. 4-D tensors are taken as NCHW unless a Linear made them (channels last). Calls of other
    modules without submodules are counted in :attr:`_Recs.unplaced`."""
    t = _tables()
    names: dict[int, str] = {}
    for qualname, sub in module.named_modules():
        names.setdefault(id(sub), qualname or type(sub).__name__)
    inside: set[int] = set()  # submodules of modules handled whole (their pool, their act)
    for sub in module.modules():
        if t.role(sub)[0] in ("gpool", "normact", "mha", "norm", "softmax", "unary"):
            inside.update(id(m) for m in sub.modules() if m is not sub)
    recs = _Recs("hooks")
    cdims: dict[int, int | None] = {}  # id(tensor) -> its channel dimension, where a layer made it
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

    def capture(y: Any, *layers: Layer | None) -> None:
        for layer in layers:
            if layer is not None:
                recs.append(_Rec(layer))
                mark(y, len(recs) - 1)

    def cdim_of(x: Any) -> int | None:
        shape = tuple(x.shape) if hasattr(x, "shape") else None
        return cdims.get(id(x), 1 if shape is not None and len(shape) == 4 else last_channel_dim(shape))

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
            cdims[id(output)] = (nchw_channel_dim(out_shape) if isinstance(sub, t.nn.Conv2d)
                                 else last_channel_dim(out_shape))
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
            else:
                before = len(recs)
                capture(output, elementwise_layer("act", name, out_shape, cdim_of(args[0])))
                if len(recs) > before:
                    recs[-1].act = detail
        elif role == "transparent" or role == "gpool" or (role == "normact" and detail == "none"):
            mark(output, src)
        elif role == "bn":  # folded into the conv / fc before it, else a "bn" pass (as _GraphReader.batchnorm)
            if src is not None and recs[src].layer.kind in ("conv", "fc") and recs[src].act == "none":
                mark(output, src)
            else:
                capture(output, elementwise_layer("bn", name, out_shape, cdim_of(args[0])))
        elif role == "resize":
            capture(output, resize_layer(name, in_shape, out_shape, detail))
        elif role == "mha":
            q = args[0] if args else None
            k = args[1] if len(args) > 1 else q
            v = args[2] if len(args) > 2 else k
            capture(output[0] if isinstance(output, tuple) else output,
                    *mha_layers(name, sub, *(tuple(a.shape) if hasattr(a, "shape") else None for a in (q, k, v))))
        elif role in ("softmax", "norm", "unary") or role == "normact":
            capture(output, elementwise_layer("act" if role in ("unary", "normact") else role, name, out_shape,
                                              cdim_of(args[0]) if args else None))
        elif role == "other" and out_shape is not None:
            recs.unplaced[type(sub).__name__] += 1
            macs = t.unplaced_macs(sub, in_shape, out_shape)
            if macs is not None:
                recs.unplaced_macs[type(sub).__name__] += macs

    handles = []
    for sub in module.modules():
        role = t.role(sub)[0]
        if id(sub) in inside or (role == "other" and next(sub.children(), None) is not None) or role == "move":
            continue
        handles.append(sub.register_forward_pre_hook(pre_hook))
        handles.append(sub.register_forward_hook(hook))
    try:
        module(*(example if isinstance(example, tuple) else (example,)))
    finally:
        for handle in handles:
            handle.remove()
    return recs
