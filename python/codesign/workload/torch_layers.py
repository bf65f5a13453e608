"""torch module calls -> :class:`~codesign.workload.Layer`: the shape rules shared by the torch.fx and the
forward-hook captures, and the tables of the modules and functions they recognise (built once torch is
imported)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._checks import _describe
from .layer import Layer


def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise ValueError(f"from_torch input_shape must be a sequence of positive ints, "
                         f"got {_describe(input_shape)}")
    if len(input_shape) == 0:
        raise ValueError("from_torch input_shape must be a sequence of positive ints, got ()")
    out = []
    for i, d in enumerate(input_shape):
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"from_torch input_shape[{i}] must be a positive int, got {_describe(d)} "
                             f"in input_shape={tuple(input_shape)!r}")
        out.append(int(d))
    return tuple(out)


def _fit_pad(size: int, out: int, kern: int, st: int, dil: int, pad: int | None) -> int:
    """``pad`` when PyTorch's floor rule with it gives ``out``; otherwise (string padding such as
    "same"/"valid", padding applied inside forward as timm's Conv2dSame / MaxPool2dSame do, or a
    pool's ceil_mode) the smallest symmetric pad whose padded input covers every window computed."""
    if pad is None or (size + 2 * pad - dil * (kern - 1) - 1) // st + 1 != out:
        total = max((out - 1) * st + dil * (kern - 1) + 1 - size, 0)
        pad = (total + 1) // 2
    return int(pad)


def _conv_layer(name: str, m: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Layer:
    if len(in_shape) not in (3, 4) or len(out_shape) != len(in_shape):
        raise ValueError(f"from_torch: Conv2d {name!r} got input shape {in_shape} and output shape "
                         f"{out_shape}; expected (N, C, H, W) or (C, H, W)")
    n = in_shape[0] if len(in_shape) == 4 else 1
    c, h, w = in_shape[-3:]
    k, p, q = out_shape[-3:]
    r, s = m.kernel_size
    sh, sw = m.stride
    dh, dw = m.dilation
    pads = []
    for size, out, kern, st, dil, i in ((h, p, r, sh, dh, 0), (w, q, s, sw, dw, 1)):
        pad = m.padding[i] if isinstance(m.padding, (tuple, list)) else None
        pads.append(_fit_pad(size, out, kern, st, dil, pad))
    return Layer(name, "conv", n=n, k=k, c=c, p=p, q=q, r=r, s=s, h=h, w=w,
                 stride_h=sh, stride_w=sw, pad_h=pads[0], pad_w=pads[1],
                 dilation_h=dh, dilation_w=dw, groups=m.groups)


def _linear_layer(name: str, m: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Layer:
    n = math.prod(in_shape[:-1]) if len(in_shape) > 1 else 1
    if not in_shape or in_shape[-1] != m.in_features:
        raise ValueError(f"from_torch: Linear {name!r} got input shape {in_shape}, expected last "
                         f"dimension in_features = {m.in_features}")
    return Layer.fc(name, in_features=m.in_features, out_features=m.out_features, n=n)


# ---------------------------------------------------------------------- ops="all": vector ops, activations
#
# The pieces below extend the MAC-only capture above (which ops="mac" keeps, unchanged) with pooling,
# residual adds, squeeze-excite multiplies and activation fusion. Modules are recognised by type (and,
# for timm's, by defining module and class name, so that timm need not be imported).

_OPS_CHOICES = ("all", "mac")

# timm activation classes (timm.layers.activations, activations_me), by class name.
_TIMM_ACT_NAMES = {
    "Swish": "swish", "SwishMe": "swish", "SwishJit": "swish",
    "Sigmoid": "sigmoid", "Tanh": "tanh",
    "HardSwish": "hswish", "HardSwishMe": "hswish", "HardSwishJit": "hswish",
    "HardSigmoid": "hsigmoid", "HardSigmoidMe": "hsigmoid", "HardSigmoidJit": "hsigmoid",
    "GELU": "gelu", "GELUTanh": "gelu", "QuickGELU": "gelu",
}
# tensor methods (call_method targets)
_ACT_METHODS = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid",
                "tanh": "tanh", "tanh_": "tanh"}
_TRANSPARENT_METHODS = frozenset({"flatten", "reshape", "view", "contiguous"})
_ADD_METHODS = frozenset({"add", "add_"})
_MUL_METHODS = frozenset({"mul", "mul_"})
_SPATIAL_REDUCE_METHODS = {"mean": "mean", "amax": "amax"}
# uses of a node that only read its metadata (x.ndim, x.shape, x.size(), ...), not its values
_META_METHODS = frozenset({"size", "dim", "numel", "type", "get_device"})
# tensor methods of the transformer ops
_SUB_METHODS = frozenset({"sub", "sub_"})
_DIV_METHODS = frozenset({"div", "div_"})
_MATMUL_METHODS = frozenset({"matmul", "bmm", "__matmul__"})
_SOFTMAX_METHODS = frozenset({"softmax", "log_softmax"})
# elementwise math on one tensor, costed as a stand-alone "act" pass (act "none")
_UNARY_METHODS = frozenset({"exp", "exp_", "sqrt", "rsqrt", "neg", "abs", "pow", "pow_", "clamp", "clamp_",
                            "erf", "log", "reciprocal", "square", "sin", "cos", "masked_fill", "masked_fill_"})
# data movement and metadata: ignored without a warning (no arithmetic, or a lookup)
_MOVE_METHODS = frozenset({"size", "dim", "numel", "type", "get_device", "view", "view_as", "reshape", "permute",
                           "transpose", "contiguous", "flatten", "unflatten", "unsqueeze", "squeeze", "expand",
                           "expand_as", "repeat", "split", "chunk", "unbind", "narrow", "to", "float", "half",
                           "bfloat16", "clone", "detach", "t", "roll", "flip", "new_zeros", "new_ones", "new_empty",
                           "repeat_interleave", "index_select", "gather", "type_as", "__getitem__", "item",
                           "long", "int", "bool", "fill_", "zero_", "copy_", "tolist", "mT", "T", "reshape_as",
                           "requires_grad_", "cpu", "cuda", "double", "unfold", "select", "slice", "movedim",
                           "swapaxes", "tile", "masked_select"})
# nn modules of the data-movement kind (ignored) and unlisted elementwise activations ("act" layers, act "none")
_MOVE_MODULE_NAMES = frozenset({"Embedding", "Flatten", "Unflatten", "ZeroPad2d", "ConstantPad2d",
                                "ReflectionPad2d", "ReplicationPad2d", "PixelShuffle", "PixelUnshuffle",
                                "ChannelShuffle", "Identity"})


def _is_nms(target: Any) -> bool:
    """True for ``torch.ops.torchvision.nms`` (the op ``torchvision.ops.nms`` and ``batched_nms`` call), as an
    overload packet or an overload; found by name, so that torchvision need not be imported."""
    name = getattr(target, "_qualified_op_name", None)
    if name is None:
        name = getattr(getattr(target, "_overloadpacket", None), "_qualified_op_name", None)
    return name == "torchvision::nms"


def _is_timm_class(m: Any, part: str) -> bool:
    mod = type(m).__module__ or ""
    return mod.startswith("timm.") and part in mod


class _TorchTables:
    """Lookup tables built once torch is imported."""

    def __init__(self) -> None:
        import operator

        import torch
        import torch.nn.functional as F
        nn = torch.nn

        self.nn = nn
        self.act_modules = [(nn.ReLU, "relu"), (nn.ReLU6, "relu6"), (nn.SiLU, "swish"),
                            (nn.Sigmoid, "sigmoid"), (nn.Hardswish, "hswish"),
                            (nn.Hardsigmoid, "hsigmoid"), (nn.GELU, "gelu"), (nn.Tanh, "tanh")]
        funcs = {"relu": ["relu", "relu_"], "relu6": ["relu6"], "swish": ["silu"],
                 "sigmoid": ["sigmoid"], "hswish": ["hardswish"], "hsigmoid": ["hardsigmoid"],
                 "gelu": ["gelu"], "tanh": ["tanh"]}
        self.act_functions: dict[Any, str] = {}
        for act, fnames in funcs.items():
            for fname in fnames:
                for owner in (F, torch):
                    fn = getattr(owner, fname, None)
                    if fn is not None:
                        self.act_functions[fn] = act
        for fname, act in (("sigmoid_", "sigmoid"), ("tanh_", "tanh")):
            if hasattr(torch, fname):
                self.act_functions[getattr(torch, fname)] = act
        self.transparent_functions = {F.dropout, F.dropout2d, torch.flatten, torch.reshape}
        # a batch norm: folded into the conv before it, else a "bn" pass (fx_graph._GraphReader.batchnorm)
        self.bn_functions = {F.batch_norm}
        self.concat_functions = {f for f in (torch.cat, torch.concat, getattr(torch, "concatenate", None))
                                 if f is not None}
        # F.interpolate and its deprecated aliases: mode argument position and default
        self.resize_functions = {F.interpolate: (3, "nearest"), F.upsample: (3, "nearest"),
                                 F.upsample_nearest: (None, "nearest"), F.upsample_bilinear: (None, "bilinear")}
        self.add_functions = {operator.add, operator.iadd, torch.add}
        self.mul_functions = {operator.mul, operator.imul, torch.mul}
        self.spatial_reduce_functions = {torch.mean: "mean", torch.amax: "amax"}
        # functional pools: label and parameter names after the input
        self.pool_functions = {
            F.max_pool2d: ("max_pool2d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode")),
            F.avg_pool2d: ("avg_pool2d", ("kernel_size", "stride", "padding", "ceil_mode")),
            F.adaptive_avg_pool2d: ("adaptive_avg_pool2d", ("output_size",)),
            F.adaptive_max_pool2d: ("adaptive_max_pool2d", ("output_size",)),
        }
        self.pool_modules = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
        self.transparent_modules = (nn.Identity, nn.modules.dropout._DropoutNd, nn.Flatten)
        self.bn_modules = (nn.modules.batchnorm._BatchNorm,)
        self.resize_modules = (nn.Upsample,)  # and its subclasses UpsamplingNearest2d / UpsamplingBilinear2d
        # transformer ops
        self.sub_functions = {operator.sub, operator.isub, torch.sub}
        self.div_functions = {operator.truediv, operator.itruediv, torch.div}
        self.matmul_functions = {operator.matmul, torch.matmul, torch.bmm}
        self.sdpa_function = getattr(F, "scaled_dot_product_attention", None)
        self.linear_function = F.linear
        self.softmax_functions = {F.softmax, torch.softmax, F.log_softmax, torch.log_softmax}
        self.norm_functions = {f for f in (F.layer_norm, F.group_norm, getattr(F, "rms_norm", None),
                                           torch.layer_norm, F.instance_norm) if f is not None}
        self.unary_functions = {torch.exp, torch.sqrt, torch.rsqrt, torch.neg, torch.abs, torch.pow, torch.clamp,
                                torch.erf, torch.log, torch.reciprocal, torch.square, torch.sin, torch.cos,
                                F.leaky_relu, F.elu, F.mish, F.softplus, F.hardtanh, F.selu, F.celu, F.silu,
                                torch.masked_fill}
        self.unary_functions -= set(self.act_functions)
        self.move_functions = {operator.getitem, getattr, torch.stack, torch.roll,
                               torch.permute, torch.transpose, torch.flatten, torch.reshape, torch.squeeze,
                               torch.unsqueeze, torch.split, torch.chunk, torch.unbind, torch.narrow, F.pad,
                               torch.zeros_like, torch.ones_like, torch.gather, torch.index_select, F.embedding,
                               torch.tile, torch.flip, torch.where, torch.movedim}
        self.softmax_modules = (nn.Softmax, nn.LogSoftmax)
        self.norm_modules = tuple(c for c in (nn.LayerNorm, nn.GroupNorm, getattr(nn, "RMSNorm", None),
                                              nn.modules.instancenorm._InstanceNorm) if c is not None)
        self.unary_modules = (nn.LeakyReLU, nn.ELU, nn.Mish, nn.Softplus, nn.Hardtanh, nn.PReLU, nn.SELU,
                              nn.CELU)
        self.conv_modules = (nn.Conv1d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
        self.traced_containers = (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer, nn.TransformerEncoder,
                                  nn.TransformerDecoder, nn.Transformer)

    def act_of_module(self, m: Any) -> str | None:
        """The activation a module applies, or None when it is not one of :data:`ACTIVATIONS`."""
        for cls in type(m).__mro__:
            for act_cls, act in self.act_modules:
                if cls is act_cls:
                    return act
        if _is_timm_class(m, ".activations"):
            return _TIMM_ACT_NAMES.get(type(m).__name__)
        return None

    def has_mac_descendant(self, m: Any) -> bool:
        return any(isinstance(sub, (self.nn.Conv2d, self.nn.Linear)) for sub in m.modules())

    def role(self, m: Any) -> tuple[str, Any]:
        """What capture does with a module call: ``(role, detail)``.

        Roles: ``mac`` (Conv2d, Linear), ``pool`` (torch pools and subclasses such as timm's
        MaxPool2dSame), ``gpool`` (timm SelectAdaptivePool2d; detail: its pool type), ``act``
        (detail: the activation), ``normact`` (timm BatchNormAct2d family; detail: the activation of
        its ``.act``, ``"none"`` for Identity, None for an unlisted one), ``bn`` (BatchNorm1d/2d/3d),
        ``resize`` (nn.Upsample and subclasses; detail: the mode), ``transparent``
        (Identity, Dropout, DropPath, Flatten), ``mha`` (nn.MultiheadAttention, decomposed
        by :func:`~codesign.workload.tensor_ops.mha_layers`), ``softmax``, ``norm`` (LayerNorm, GroupNorm,
        RMSNorm, InstanceNorm and timm's norm classes but BatchNorm), ``unary`` (an elementwise activation not
        in :data:`ACTIVATIONS`: LeakyReLU, ELU, Mish, ...), ``move`` (Embedding, padding, pixel shuffle: no
        arithmetic) and ``other``.
        """
        nn = self.nn
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            return "mac", None
        if isinstance(m, self.pool_modules):
            return "pool", None
        name = type(m).__name__
        if name == "SelectAdaptivePool2d" and _is_timm_class(m, "") and not self.has_mac_descendant(m):
            return "gpool", str(getattr(m, "pool_type", "avg") or "")
        if "BatchNormAct" in name and _is_timm_class(m, "") and isinstance(getattr(m, "act", None), nn.Module) \
                and not self.has_mac_descendant(m):
            act_mod = m.act
            return "normact", ("none" if isinstance(act_mod, nn.Identity) else self.act_of_module(act_mod))
        act = self.act_of_module(m)
        if act is not None:
            return "act", act
        if isinstance(m, self.bn_modules):
            return "bn", None
        if isinstance(m, self.resize_modules):
            return "resize", str(m.mode)
        if isinstance(m, self.transparent_modules):
            return "transparent", None
        if name in ("DropPath", "DropBlock2d") and _is_timm_class(m, ""):
            return "transparent", None
        if isinstance(m, nn.MultiheadAttention):
            return "mha", None
        if isinstance(m, self.softmax_modules):
            return "softmax", None
        if (isinstance(m, self.norm_modules) or (_is_timm_class(m, ".norm") and "BatchNorm" not in name
                                                 and "Norm" in name)) and not self.has_mac_descendant(m):
            return "norm", None
        if isinstance(m, self.unary_modules) or (_is_timm_class(m, ".activations") and not self.has_mac_descendant(m)):
            return "unary", None  # an unlisted activation (Mish, PReLU, ...): its own pass, a fusion barrier
        if name in _MOVE_MODULE_NAMES and type(m).__module__.startswith("torch.nn"):
            return "move", None
        return "other", None

    def is_leaf(self, m: Any) -> bool:
        """Module calls the all-ops fx tracer keeps whole."""
        role, _ = self.role(m)
        if role in ("mac", "pool", "gpool", "normact", "act", "mha", "softmax", "norm", "unary", "bn", "resize"):
            return True
        return _is_timm_class(m, ".activations") and not self.has_mac_descendant(m)

    def is_traced_container(self, m: Any) -> bool:
        """torch.nn modules the fx tracer traces into (by default it keeps every torch.nn module whole): the
        transformer layers, whose eval-mode fast path would otherwise hide their Linears."""
        return isinstance(m, self.traced_containers)

    def unplaced_macs(self, m: Any, in_shape: tuple[int, ...] | None, out_shape: tuple[int, ...] | None) -> int | None:
        """MACs of a convolution module that is not captured (Conv1d, Conv3d, ConvTranspose*), from its shapes;
        None for any other module or missing shapes."""
        if not isinstance(m, self.conv_modules) or in_shape is None or out_shape is None:
            return None
        taps = math.prod(m.kernel_size) if isinstance(m.kernel_size, tuple) else int(m.kernel_size)
        if isinstance(m, (self.nn.ConvTranspose1d, self.nn.ConvTranspose2d, self.nn.ConvTranspose3d)):
            return math.prod(in_shape) * (m.out_channels // m.groups) * taps
        return math.prod(out_shape) * (m.in_channels // m.groups) * taps


_TABLES: _TorchTables | None = None


def _tables() -> _TorchTables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _TorchTables()
    return _TABLES


class _Rec:
    """A captured layer and the activation fused into it."""

    __slots__ = ("layer", "act")

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.act = "none"


def _spatial_dims_ok(dims: Any, ndim: int) -> bool:
    """True when ``dims`` names exactly the two spatial dimensions of an (N, C, H, W) tensor."""
    if ndim != 4:
        return False
    if isinstance(dims, int):
        return False
    try:
        normalized = {int(d) % 4 for d in dims}
    except (TypeError, ValueError):
        return False
    return normalized == {2, 3} and len(list(dims)) == 2


def _pool_layer(name: str, in_shape: tuple[int, ...] | None, out_shape: tuple[int, ...] | None,
                kernel: Any = None, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                ceil_mode: Any = False) -> Layer | None:
    """A ``"pool"`` layer from real shapes; ``kernel=None`` is an adaptive pool. None when the shapes
    are not (N, C, H, W) -> (N, C, P, Q) (or unbatched, or a global pool flattened to (N, C))."""
    if in_shape is None or out_shape is None or len(in_shape) not in (3, 4):
        return None
    n = in_shape[0] if len(in_shape) == 4 else 1
    c, h, w = in_shape[-3:]
    if len(out_shape) == len(in_shape):
        k, p, q = out_shape[-3:]
    elif len(in_shape) == 4 and tuple(out_shape) == (n, c):  # flattened global pool
        k, p, q = c, 1, 1
    else:
        return None
    if k != c or (len(in_shape) == 4 and out_shape[0] != n):
        return None

    def pair(v: Any, default: Any) -> tuple[int, int]:
        if v is None or (isinstance(v, (tuple, list)) and len(v) == 0):
            v = default
        if isinstance(v, (tuple, list)):
            return (int(v[0]), int(v[-1]))
        return (int(v), int(v))

    if kernel is None:  # adaptive: PyTorch's windows [floor(i*H/P), ceil((i+1)*H/P)); see from_torch
        dims = []
        for size, out in ((h, p), (w, q)):
            if out == 1:
                dims.append((size, size))
            elif size % out == 0:
                dims.append((size // out, size // out))
            else:
                dims.append((-(-size // out), max(size // out, 1)))
        (r, sh), (s, sw) = dims
        ph = pw = 0
        dh = dw = 1
    else:
        r, s = pair(kernel, 1)
        sh, sw = pair(stride, (r, s))
        dh, dw = pair(dilation, 1)
        ph0, pw0 = pair(padding, 0)
        pads = []
        for size, out, kern, st, dil, pad in ((h, p, r, sh, dh, ph0), (w, q, s, sw, dw, pw0)):
            floor_out = (size + 2 * pad - dil * (kern - 1) - 1) // st + 1
            if ceil_mode and out == floor_out + 1:
                pads.append(pad)  # the last window overhangs the padded input, as Layer allows
            else:
                pads.append(_fit_pad(size, out, kern, st, dil, pad))
        ph, pw = pads
    try:
        return Layer(name, "pool", n=n, k=c, c=c, p=p, q=q, r=r, s=s, h=h, w=w,
                     stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, dilation_h=dh, dilation_w=dw,
                     groups=c)
    except (TypeError, ValueError):
        return None


def _gpool_out(in_shape: tuple[int, ...] | None, out_shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The output shape of timm's SelectAdaptivePool2d as one pool sees it: its ``catavgmax``
    type concatenates an avg and a max pool (2C channels); flattened outputs are 1 x 1."""
    if in_shape is None or out_shape is None or len(in_shape) != 4:
        return out_shape
    n, c = in_shape[:2]
    p, q = (out_shape[2], out_shape[3]) if len(out_shape) == 4 else (1, 1)
    return (n, c, p, q)


def _vector_layer(kind: str, name: str, shape: tuple[int, ...]) -> Layer | None:
    """An add/mul layer over a tensor of ``shape``: (N, C, H, W) or (N, C)."""
    if len(shape) == 4:
        n, c, h, w = shape
    elif len(shape) == 2:
        (n, c), h, w = shape, 1, 1
    else:
        return None
    try:
        return Layer(name, kind, n=n, k=c, c=c, p=h, q=w, r=1, s=1, h=h, w=w, groups=c)
    except (TypeError, ValueError):
        return None
