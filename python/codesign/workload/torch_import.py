"""torch modules -> :class:`~codesign.workload.Workload`: :func:`from_torch`."""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

from ._checks import _describe
from .fx_capture import _capture_fx
from .fx_graph import _capture_fx_all
from .hook_capture import _capture_hooks, _capture_hooks_all
from .run_capture import _capture_run_all
from .table import Workload, _unique_names
from .torch_layers import _OPS_CHOICES, _check_input_shape, _conv_layer, _linear_layer, _tables

__all__ = ["from_torch"]


def from_torch(module: Any, input_shape: Sequence[int] | Sequence[Sequence[int]] = (1, 3, 224, 224), *,
               name: str | None = None, ops: str = "all") -> Workload:
    """The layers of a torch module, in execution order: every ``nn.Conv2d`` and ``nn.Linear`` call
    and (``ops="all"``) pooling, elementwise ops, matmuls of two activations (attention), softmax, norms
    and stand-alone activations, with activations fused where they can be.

    The module is traced with ``torch.fx`` (Conv2d/Linear subclasses kept as leaves) and shapes are
    propagated with ``torch.fx.passes.shape_prop.ShapeProp`` on a zero input of ``input_shape``.
    If tracing fails (control flow on shapes or values, ...), ``ops="all"`` records one real forward
    pass instead (every torch function and tensor method called, through
    ``torch.overrides.TorchFunctionMode``, read as a traced graph is: it sees what this input runs, not
    the branches it does not take) and warns that it did; forward hooks on module calls are the last
    resort (and ``ops="mac"``'s only fallback), with a warning naming what they cannot see. Either way
    the module runs in eval mode under ``torch.no_grad()`` with the transformer fast path off
    (``torch.backends.mha``), and each submodule's ``training`` flag and the fast-path setting are
    restored afterwards.

    Transformer ops (``ops="all"``): ``torch.matmul``, ``@``, ``torch.bmm`` and ``F.linear`` of two
    input-dependent tensors are ``"matmul"`` layers batched over the broadcast batch dimensions (heads);
    with a parameter as second operand, ``"fc"`` layers. ``F.scaled_dot_product_attention`` is ``Q K^T``,
    softmax and ``A V`` (dense, also when causal). ``nn.MultiheadAttention`` is kept whole and
    decomposed (q/k/v projections, ``Q K^T``, softmax, ``A V``, output projection);
    ``nn.TransformerEncoderLayer``/``DecoderLayer`` and their stacks are traced into. Softmax
    (``F.softmax``, ``Tensor.softmax``, ``nn.Softmax``), norms (``nn.LayerNorm``, ``GroupNorm``,
    ``RMSNorm``, ``F.layer_norm``, timm's norm classes) and elementwise math (``exp``, ``sqrt``,
    reductions over non-spatial dimensions, unlisted activations such as LeakyReLU or Mish) are one
    vector pass each (:data:`ELEMENTWISE_OPS`); add/sub/mul/div of two input-dependent tensors of any
    rank an ``"add"`` pass over the output. Each tensor's layout is followed from the op that made it:
    convolution outputs are NCHW, Linear, matmul and norm outputs channels-last (``(N, H, W, C)`` or
    ``(B, N, D)`` tokens), through ``permute``/``transpose``/``reshape``. Data movement (``stack``, ``view``,
    ``permute``, indexing, ``roll``, ``nn.Embedding``, ...) and ops on constants are ignored; any other
    op with an input-dependent tensor output is counted, and one warning lists those ops with their
    counts and, where their shapes give them (Conv1d, Conv3d, ConvTranspose), MACs.

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
      (and sub, div, and mul other than a gate) of two input-dependent tensors; adds of a Python
      number or of a tensor computed from parameters and buffers alone (a constant, which folds into
      the weights) are ignored;
    * concatenations (``"concat"``, one copy per output element, laid out as the first input that depends on
      the input): ``torch.cat``, ``torch.concat``; resizes (``"resize"``): ``F.interpolate`` and
      ``nn.Upsample`` of a 4-D map, nearest or (bi)linear (other modes are counted, not placed); batch norms
      not folded (``"bn"``): a BatchNorm folds into the conv / linear layer its input carries when that
      layer's output feeds nothing else and has no activation yet (as the TFLite converter folds it), and is
      otherwise a ``"bn"`` pass (after an add, a pool, a concatenation, an activation); non-maximum
      suppression (``"nms"``): ``torchvision.ops.nms`` (the op ``torch.ops.torchvision.nms``; calls with no
      layer between them, as ``batched_nms`` makes one per class, are one class-wise nms);
    * squeeze-excite multiplies (``"mul"``): ``operator.mul``/``imul``, ``torch.mul``,
      ``Tensor.mul``/``mul_`` of an ``(N, C, H, W)`` map by an ``(N, C, 1, 1)`` gate computed
      from the input (not a constant per-channel scale such as ConvNeXt's layer scale);
    * activations, fused into a layer's :attr:`Layer.act`: ``nn.ReLU``, ``ReLU6``, ``SiLU``,
      ``Sigmoid``, ``Hardswish``, ``Hardsigmoid``, ``GELU``, ``Tanh`` (and subclasses), their
      ``F.``/``torch.`` function forms, the tensor methods ``relu``, ``sigmoid``, ``tanh`` (and
      in-place forms), ``x * torch.sigmoid(x)`` (swish), and timm's activation classes
      (``timm.layers.activations*``, by class name: ``Swish``, ``Sigmoid``, ``Tanh``, ``HardSwish``,
      ``HardSigmoid``, ``GELU``, ``GELUTanh``, ``QuickGELU`` and the ``*Me`` forms). An
      activation is fused into the captured layer that produced its input (a concatenation excepted: the
      Edge TPU's takes no fused activation), walking back through a folded
      BatchNorm (``nn.BatchNorm*d``, ``F.batch_norm``), ``Identity``, ``Dropout``, timm's
      ``DropPath``, and ``flatten``/``reshape``/``view``; only when every tensor on that path
      feeds nothing else, and only when that layer's ``act`` is still ``"none"``. Otherwise it
      is a stand-alone ``"act"`` pass. timm's ``BatchNormAct2d`` (which applies its ``.act`` submodule after
      the norm) counts as a BatchNorm followed by the activation of its ``.act`` (``Identity``:
      none). Activations not in :data:`ACTIVATIONS` (Mish, LeakyReLU, ...) and any other
      operation stop the walk.

    For ``ops="all"`` torch.fx keeps as leaves, besides Conv2d/Linear: the pooling modules above,
    activation modules, timm's ``SelectAdaptivePool2d`` and ``BatchNormAct2d`` family (inspected
    rather than traced into) and timm's activation classes, none of which contains a Conv2d or
    Linear, plus MultiheadAttention, softmax, norm and unlisted activation modules; everything else is
    traced into as for ``ops="mac"``. The hook fallback (the last resort) sees module calls only: it captures Conv2d, Linear, the pooling modules and
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

    Not captured: ``F.conv2d`` and other layer types (Conv1d, Conv3d, ConvTranspose2d, einsum, ...:
    the warning lists them). A pooling call whose shapes do not fit a ``"pool"`` layer (a 1-D or 5-D
    input, output channels other than the input's) is skipped.

    Args:
        module: a ``torch.nn.Module``.
        input_shape: the input tensor's shape, e.g. ``(N, C, H, W)``, or several shapes for a module
            with several inputs (passed positionally; ``ops="all"`` only), e.g. a decoder step's token
            ``(B, 1, D)`` and its KV cache ``(B, H, L, D/H)`` twice. Zero tensors; dtype and device follow
            the module's first parameter (float32 on CPU when it has none).
        name: the workload name; defaults to the module's class name.
        ops: ``"all"`` (default) or ``"mac"``, see above.

    Returns:
        A :class:`Workload` with ``params`` = ``sum(p.numel() for p in module.parameters())``,
        ``source = "torch:<class name>"`` and :attr:`Workload.input_shape` the (first) input's shape.

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
    several = (isinstance(input_shape, Sequence) and not isinstance(input_shape, (str, bytes)) and input_shape
               and all(isinstance(s, Sequence) and not isinstance(s, (str, bytes)) for s in input_shape))
    shapes = tuple(_check_input_shape(s) for s in input_shape) if several else (_check_input_shape(input_shape),)
    shape = shapes[0]
    if several and ops != "all":
        raise ValueError(f"from_torch: several inputs ({len(shapes)} shapes) need ops='all', got ops={ops!r}")
    if name is None:
        name = type(module).__name__
    param = next(module.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    examples = tuple(torch.zeros(s, dtype=dtype, device=device) for s in shapes)
    example = examples if several else examples[0]

    if ops == "all":
        return _from_torch_all(module, example, shape, name)

    uncaptured = (torch.nn.Conv1d, torch.nn.Conv3d, torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d,
                  torch.nn.ConvTranspose3d)
    others = sorted({type(m).__name__ for m in module.modules() if isinstance(m, uncaptured)})
    if others:
        warnings.warn(f"from_torch: {name}: layers of type {', '.join(others)} are not captured",
                      stacklevel=2)

    bare = isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))
    records, _ = _trace(module, example, shape, name, bare, _capture_fx, _capture_hooks)

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
    return Workload(name, layers, params=params, source=f"torch:{type(module).__name__}", input_shape=shape)


def _trace(module: Any, example: Any, shape: tuple[int, ...], name: str, bare: bool, fx: Any,
           hooks: Any) -> tuple[Any, str]:
    """Run a capture in eval mode without gradients and without the transformer fast path (which would hide
    the Linears of nn.TransformerEncoderLayer and nn.MultiheadAttention): torch.fx first (``fx``), forward hooks
    (``hooks``) when tracing fails or ``module`` is a bare layer fx would trace into; training flags and the
    fast-path setting are restored afterwards.

    Returns:
        The capture's result, and why torch.fx failed ("" when it did not, or for a bare layer).

    Raises:
        ValueError: the forward pass itself failed (names the module and the input shape).
    """
    import torch

    mha = getattr(torch.backends, "mha", None)
    fastpath = mha.get_fastpath_enabled() if mha is not None else None
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        if mha is not None:
            mha.set_fastpath_enabled(False)
        with torch.no_grad():
            try:
                if bare:
                    raise _BareLayer("a bare layer: fx would trace into its functional call")
                return fx(module, example), ""
            except Exception as fx_exc:  # noqa: BLE001 - any tracing failure falls back to hooks
                why = "" if isinstance(fx_exc, _BareLayer) else f"{type(fx_exc).__name__}: {fx_exc}"
                try:
                    return hooks(module, example), why.splitlines()[0][:160] if why else ""
                except Exception as exc:  # noqa: BLE001
                    raise ValueError(f"from_torch: forward pass of {name} on input_shape={shape} "
                                     f"failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if mha is not None:
            mha.set_fastpath_enabled(fastpath)
        for m, mode in modes:
            m.training = mode


class _BareLayer(Exception):
    """Raised to send a bare layer to the hook capture."""


def _capture_fallback_all(module: Any, example: Any) -> Any:
    """When torch.fx cannot trace: one recorded forward pass (:func:`_capture_run_all`); forward hooks on module
    calls if even that fails (a torch function the recording cannot pass through)."""
    try:
        return _capture_run_all(module, example)
    except Exception:  # noqa: BLE001 - the hook capture is the last resort
        return _capture_hooks_all(module, example)


#: What forward hooks cannot see, said when the fallback is taken.
_HOOKS_BLIND = ("functional calls are not captured: +, -, *, / (residual adds, squeeze-excite), torch.matmul, @ "
                "and F.scaled_dot_product_attention (attention), F.softmax, F.layer_norm, F.gelu and other "
                "activation functions, x.mean(...)")


def _warn_unplaced(name: str, recs: Any) -> None:
    """One warning for the hook fallback (if taken) and one listing the operations not placed, with their counts
    and, where known, MACs."""
    if getattr(recs, "note", "") and recs.path == "run":
        warnings.warn(f"from_torch: {name}: torch.fx could not trace the model ({recs.note}); recorded one forward "
                      f"pass on the example input instead, which sees every torch call on the path that input "
                      f"takes, but not the branches it does not take", stacklevel=4)
    elif getattr(recs, "note", ""):
        warnings.warn(f"from_torch: {name}: torch.fx could not trace the model ({recs.note}); used forward hooks "
                      f"instead, which see module calls only: {_HOOKS_BLIND}", stacklevel=4)
    unplaced = getattr(recs, "unplaced", None)
    if unplaced:
        macs = recs.unplaced_macs
        parts = [f"{op} x{count}" + (f" ({macs[op]:,} MACs)" if macs.get(op) else "")
                 for op, count in sorted(unplaced.items(), key=lambda kv: (-kv[1], kv[0]))]
        total = sum(unplaced.values())
        warnings.warn(f"from_torch: {name}: {total} operation{'s' * (total != 1)} not placed in the workload: "
                      f"{', '.join(parts)}", stacklevel=4)


def _from_torch_all(module: Any, example: Any, shape: tuple[int, ...], name: str) -> Workload:
    """:func:`from_torch` with ``ops="all"`` (arguments already checked)."""
    import torch

    t = _tables()
    recs, why = _trace(module, example, shape, name, t.is_leaf(module), _capture_fx_all, _capture_fallback_all)
    recs.note = why
    _warn_unplaced(name, recs)

    if not recs:
        raise ValueError(f"from_torch: {name} has no nn.Conv2d or nn.Linear call, pooling, residual add, "
                         f"squeeze-excite multiply, matmul, softmax, norm or activation on input_shape={shape}")
    layer_names = _unique_names(rec.layer.name for rec in recs)
    layers = [dataclasses.replace(rec.layer, name=nm, act=rec.act) for rec, nm in zip(recs, layer_names)]
    params = sum(p.numel() for p in module.parameters())
    return Workload(name, layers, params=params, source=f"torch:{type(module).__name__}", input_shape=shape)
