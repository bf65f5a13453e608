"""timm block strings -> a network definition -> a PyTorch model *and* a :class:`~codesign.workload.Workload`.

A network of the search spaces is written, as timm writes its EfficientNet family
(``timm/models/_efficientnet_builder.py``), as an ``arch_def``: one list of block strings per stage, e.g.
EfficientNet-EdgeTPU-S::

    [["er_r1_k3_s1_e4_c24_fc24_noskip"], ["er_r2_k3_s2_e8_c32"], ["er_r4_k3_s2_e8_c48"],
     ["ir_r5_k5_s2_e8_c96"], ["ir_r4_k5_s1_e8_c144"], ["ir_r2_k5_s2_e8_c192"]]

The block types understood here (the ones the search spaces use) are

=====  ==========================================================================================
type   block (timm class)
=====  ==========================================================================================
ds     depthwise-separable: KxK depthwise, (SE), 1x1 projection (``DepthwiseSeparableConv``)
ir     inverted bottleneck, IBN / MBConv: 1x1 expansion, KxK depthwise, (SE), 1x1 projection
       (``InvertedResidual``)
er     fused IBN ("edge residual"): KxK full expansion conv, (SE), 1x1 projection (``EdgeResidual``)
cn     one KxK conv + BN + act (``ConvBnAct``)
=====  ==========================================================================================

with the options ``r`` repeats, ``k`` kernel, ``s`` stride (first block of the stage only), ``e`` expansion,
``c`` output channels, ``se`` squeeze-excite ratio, ``n{re,r6,sw,hs}`` activation override (ReLU, ReLU6,
swish, hard-swish; otherwise the model's), ``fc`` forced input channels of a fused block's expansion,
``gs`` group size, ``noskip`` / ``skip``. ``gs{N}`` is timm's ``group_size``: the number of channels per group
of the block's grouped conv, counted as timm counts them - on the *input* of a ``ds`` block's depthwise conv and
of a ``cn`` conv, on the *output* of an ``ir`` block's depthwise conv and of an ``er`` block's expansion conv (for
``er``, ``groups = mid // N`` with ``mid`` the expansion channels, ``make_divisible(in * e)``; timm's
``EdgeResidual`` computes it from ``conv_exp``'s output channels). ``N`` must divide the channels it is counted
on and the resulting group count must divide the conv's other side too (an ``er`` block's *input* channels);
:meth:`NetworkDef.workload` checks both and raises ValueError naming the block (timm only asserts the first,
torch the second). ``gs`` is not rescaled by ``channel_scale``, as in timm, so a grouped block must divide at
every scale it is built at. Without ``gs`` each type gets timm's default (``ds``/``ir`` depthwise, ``er``/``cn``
dense); ``gs0`` means that default for ``er``/``cn`` and is refused for ``ds``/``ir``, where timm would build a
dense KxK conv that :class:`BlockSpec` cannot express. A grouped ``er`` block is the group-convolution IBN
(GC-IBN) of the Edge-TPU spaces (:class:`~codesign.space.nas.EdgeTpuNetworkSpace`).
One option is codesign's own and ignored by timm: ``pg{g}``
builds the 1x1 convolutions of an ``ir`` block as group convolutions with ``g`` groups, followed (after the
expansion's activation) by a channel shuffle, as FBNet's ``k*_e1_g2`` ops (Wu et al., CVPR 2019);
:meth:`NetworkDef.build_model` patches those blocks after timm has built the model.

:class:`NetworkDef` is the single definition both views are built from:

* :meth:`NetworkDef.build_model` - the ``torch.nn.Module`` (timm's ``EfficientNet`` class from
  ``decode_arch_def(arch_def)``; needs torch and timm);
* :meth:`NetworkDef.workload` - the :class:`~codesign.workload.Workload` computed analytically in pure
  Python (no torch, ~1 ms), layer for layer what :func:`codesign.workload.from_torch` reports for that model
  (same names, shapes, paddings, groups, fused activations, pooling / add / multiply layers and parameter
  count); ``tests/test_space.py`` checks this equality on members of every space.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from codesign.workload import Workload

__all__ = ["BlockSpec", "NetworkDef", "ACT_TOKENS", "make_divisible", "parse_block", "format_block"]

#: timm activation tokens (``_n{token}``) <-> codesign activation names (:data:`codesign.workload.ACTIVATIONS`).
ACT_TOKENS: dict[str, str] = {"re": "relu", "r6": "relu6", "sw": "swish", "hs": "hswish"}
_ACT_TO_TOKEN = {v: k for k, v in ACT_TOKENS.items()}
_BLOCK_TYPES = ("ds", "ir", "er", "cn")
_NUM_RE = re.compile(r"^([a-z]+)(\d.*)$")


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None, round_limit: float = 0.9) -> int:
    """timm's channel rounding (``timm.layers.make_divisible``): nearest multiple of ``divisor`` (halves up),
    at least ``min_value`` (default ``divisor``), plus one ``divisor`` if that lost more than 10 %."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return int(new_v)


def _get_padding(kernel: int, stride: int, dilation: int = 1) -> int:
    """timm's symmetric padding for ``pad_type=''`` (``timm.layers.padding.get_padding``)."""
    return ((stride - 1) + dilation * (kernel - 1)) // 2


@dataclass(frozen=True)
class BlockSpec:
    """One parsed block string (see the module docstring for the meaning of each option).

    Attributes:
        type: ``"ds"``, ``"ir"``, ``"er"`` or ``"cn"``.
        repeat: blocks in the stage built from this string (``r``).
        kernel: KxK kernel of the depthwise (ds, ir), expansion (er) or only (cn) conv.
        stride: stride of the first of the ``repeat`` blocks.
        out: output channels (``c``).
        exp: expansion ratio (``e``; ir and er only, else 1.0).
        se: squeeze-excite ratio relative to the block input (``se``; 0 = none).
        act: activation override (a codesign activation name) or None for the model's.
        noskip: no residual connection even where shapes allow one.
        skip: a cn block with a residual connection (``skip``).
        force_in: er only: expansion channels computed from this instead of the input channels (``fc``).
        group_size: ``gs``: channels per group of the depthwise (ir, ds), expansion (er) or only (cn) conv,
            counted on that conv's output for ir and er (``groups = mid // gs``), on its input for ds and cn;
            0 = timm's default (ir/ds depthwise, er/cn dense).
        pw_groups: ``pg``: groups of an ir block's two 1x1 convs (1 = dense; FBNet's g2 ops use 2).
    """

    type: str
    repeat: int
    kernel: int
    stride: int
    out: int
    exp: float = 1.0
    se: float = 0.0
    act: str | None = None
    noskip: bool = False
    skip: bool = False
    force_in: int = 0
    group_size: int = 0
    pw_groups: int = 1

    def __post_init__(self) -> None:
        if self.type not in _BLOCK_TYPES:
            raise ValueError(f"block type must be one of {_BLOCK_TYPES}, got type={self.type!r}")
        for name in ("repeat", "kernel", "stride", "out", "pw_groups"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"block {name} must be a positive int, got {name}={v!r}")
        for name in ("force_in", "group_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"block {name} must be an int >= 0, got {name}={v!r}")
        if not (isinstance(self.exp, (int, float)) and self.exp > 0):
            raise ValueError(f"block exp must be positive, got exp={self.exp!r}")
        if not (isinstance(self.se, (int, float)) and 0 <= self.se < 1):
            raise ValueError(f"block se must be in [0, 1), got se={self.se!r}")
        if self.act is not None and self.act not in _ACT_TO_TOKEN:
            raise ValueError(f"block act must be one of {sorted(_ACT_TO_TOKEN)} or None, got act={self.act!r}")
        if self.pw_groups > 1 and self.type != "ir":
            raise ValueError(f"pw_groups applies to 'ir' blocks only, got type={self.type!r}, pw_groups={self.pw_groups}")
        object.__setattr__(self, "exp", float(self.exp))
        object.__setattr__(self, "se", float(self.se))

    def to_string(self) -> str:
        """The timm block string, e.g. ``"ir_r2_k3_s2_e6_c24_se0.25_nsw"``."""
        parts = [self.type, f"r{self.repeat}", f"k{self.kernel}", f"s{self.stride}"]
        if self.type in ("ir", "er"):
            parts.append(f"e{self.exp:g}")
        parts.append(f"c{self.out}")
        if self.force_in:
            parts.append(f"fc{self.force_in}")
        if self.se:
            parts.append(f"se{self.se:g}")
        if self.act is not None:
            parts.append(f"n{_ACT_TO_TOKEN[self.act]}")
        if self.group_size:
            parts.append(f"gs{self.group_size}")
        if self.pw_groups > 1:
            parts.append(f"pg{self.pw_groups}")
        if self.noskip:
            parts.append("noskip")
        if self.skip:
            parts.append("skip")
        return "_".join(parts)

    __str__ = to_string


@lru_cache(maxsize=4096)
def parse_block(text: str) -> BlockSpec:
    """Parse a timm block string into a :class:`BlockSpec`; ValueError naming the bad token.

    Accepts the subset of timm's notation described in the module docstring (the types ds/ir/er/cn).
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"block string must be a non-empty str, got {text!r}")
    ops = text.split("_")
    btype, ops = ops[0], ops[1:]
    if btype not in _BLOCK_TYPES:
        raise ValueError(f"block string {text!r}: block type {btype!r} is not one of {_BLOCK_TYPES}")
    kw: dict[str, Any] = {"type": btype}
    seen: dict[str, str] = {}
    for op in ops:
        if op == "noskip":
            kw["noskip"] = True
        elif op == "skip":
            kw["skip"] = True
        elif op.startswith("n") and op[1:] in ACT_TOKENS:
            kw["act"] = ACT_TOKENS[op[1:]]
        else:
            m = _NUM_RE.match(op)
            if not m:
                raise ValueError(f"block string {text!r}: cannot parse option {op!r}")
            seen[m.group(1)] = m.group(2)
    try:
        for key, name, conv in (("r", "repeat", int), ("k", "kernel", int), ("s", "stride", int), ("c", "out", int),
                                ("e", "exp", float), ("se", "se", float), ("fc", "force_in", int),
                                ("gs", "group_size", int), ("pg", "pw_groups", int)):
            if key in seen:
                kw[name] = conv(seen.pop(key))
    except ValueError:
        raise ValueError(f"block string {text!r}: option {key!r} is not a number") from None
    if seen:
        raise ValueError(f"block string {text!r}: unknown option(s) {sorted(seen)}")
    if kw.get("group_size") == 0 and btype in ("ds", "ir"):
        raise ValueError(f"block string {text!r}: 'gs0' (a dense KxK conv in timm's {btype!r} block) is not supported; "
                         f"omit 'gs' for the depthwise default")
    for key, name in (("r", "repeat"), ("k", "kernel"), ("s", "stride"), ("c", "out")):
        if name not in kw:
            raise ValueError(f"block string {text!r} lacks the {key!r} ({name}) option")
    if btype in ("ir", "er") and "exp" not in kw:
        raise ValueError(f"block string {text!r} lacks the 'e' (expansion) option")
    return BlockSpec(**kw)


def format_block(spec: BlockSpec) -> str:
    """Inverse of :func:`parse_block`."""
    return spec.to_string()


#: codesign activation name -> torch.nn class name (resolved lazily).
_TORCH_ACTS = {"relu": "ReLU", "relu6": "ReLU6", "swish": "SiLU", "hswish": "Hardswish"}


@dataclass(frozen=True)
class NetworkDef:
    """A whole network: stem conv, stages of timm block strings, 1x1 head conv, global pool, classifier.

    Attributes:
        arch_def: one tuple of block strings per stage (timm's ``arch_def``; empty stages are not allowed).
        stem_size: stem conv output channels (3x3, stride 2).
        num_features: head conv channels (0: no head conv, as timm).
        act: the model's activation (``"relu"``, ``"relu6"``, ``"swish"`` or ``"hswish"``): stem, head and
            every block without an override.
        name: a readable name (used for the workload).
    """

    arch_def: tuple[tuple[str, ...], ...]
    stem_size: int = 32
    num_features: int = 1280
    act: str = "relu"
    name: str = "network"
    _blocks: tuple[tuple[BlockSpec, ...], ...] = field(default=(), init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        try:
            arch = tuple(tuple(stage) for stage in self.arch_def)
        except TypeError:
            raise ValueError(f"arch_def must be a sequence of sequences of block strings, got {self.arch_def!r}") from None
        if not arch:
            raise ValueError("arch_def must have at least one stage")
        for i, stage in enumerate(arch):
            if not stage:
                raise ValueError(f"arch_def stage {i} is empty")
        object.__setattr__(self, "arch_def", arch)
        object.__setattr__(self, "_blocks", tuple(tuple(parse_block(s) for s in stage) for stage in arch))
        for name in ("stem_size",):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {name}={v!r}")
        if isinstance(self.num_features, bool) or not isinstance(self.num_features, int) or self.num_features < 0:
            raise ValueError(f"num_features must be an int >= 0, got num_features={self.num_features!r}")
        if self.act not in _TORCH_ACTS:
            raise ValueError(f"act must be one of {sorted(_TORCH_ACTS)}, got act={self.act!r}")

    # -- views ---------------------------------------------------------------------------------------------
    @property
    def blocks(self) -> tuple[tuple[BlockSpec, ...], ...]:
        """The parsed block strings, per stage."""
        return self._blocks

    def block_strings(self) -> list[list[str]]:
        """timm ``arch_def`` as lists (what ``timm.models._efficientnet_builder.decode_arch_def`` takes)."""
        return [list(stage) for stage in self.arch_def]

    def flat_blocks(self) -> tuple[str, ...]:
        """All block strings in order (a hashable key of the network body)."""
        return tuple(s for stage in self.arch_def for s in stage)

    def key(self) -> tuple[Any, ...]:
        """Hashable identity of the network: body, stem, head, activation."""
        return (self.flat_blocks(), self.stem_size, self.num_features, self.act)

    # -- analytic workload ---------------------------------------------------------------------------------
    def workload(
        self,
        *,
        input_shape: Sequence[int] = (1, 3, 224, 224),
        num_classes: int = 1000,
        channel_scale: float = 1.0,
        num_features: int | None = None,
        name: str | None = None,
    ) -> "Workload":
        """The network's :class:`~codesign.workload.Workload`, computed without torch.

        Equals ``from_torch(self.build_model(...), input_shape)`` layer by layer for the same arguments:
        every conv / linear layer (act fused), SE global-mean pools and multiplies, residual adds, the head's
        global pool, and the parameter count (conv weights, BatchNorm scale and shift, SE conv biases,
        classifier weights and bias).

        Args:
            input_shape: ``(N, C, H, W)`` of the input.
            num_classes: classifier outputs.
            channel_scale: multiplier on the stem and every block's channels (rounded to multiples of 8), as
                :meth:`build_model`.
            num_features: override of :attr:`num_features`.
            name: workload name (default :attr:`name`).
        """
        from codesign.workload import Layer, Workload

        shape = tuple(input_shape)
        if len(shape) != 4 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape):
            raise ValueError(f"input_shape must be four positive ints (N, C, H, W), got input_shape={input_shape!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got num_classes={num_classes!r}")
        n, cin, h, w = shape
        rc = _round_fn(channel_scale)
        nf = self.num_features if num_features is None else int(num_features)
        layers: list[Any] = []
        params = 0

        def conv(lname: str, c: int, k: int, h_: int, w_: int, r: int, stride: int, groups: int, act: str,
                 *, bn: bool = True, bias: bool = False) -> tuple[int, int]:
            nonlocal params
            pad = _get_padding(r, stride)
            layer = Layer.conv(lname, c=c, k=k, h=h_, w=w_, r=r, stride=stride, padding=pad, groups=groups, n=n,
                               act=act)
            layers.append(layer)
            params += k * (c // groups) * r * r + (2 * k if bn else 0) + (k if bias else 0)
            return layer.p, layer.q

        def grouped(prefix: str, spec: BlockSpec, counted: int, other: int, side: str, default: int) -> int:
            """timm's ``num_groups(spec.group_size, counted)``, checked: ``gs`` divides ``counted`` (the channels
            timm counts groups on) and the group count divides ``other``, the conv's ``side`` channels."""
            gs = spec.group_size
            if not gs:
                return default
            if counted % gs:
                raise ValueError(f"{prefix} ({spec.to_string()!r}): group_size gs{gs} does not divide the {counted} "
                                 f"channels timm counts groups on")
            g = counted // gs
            if other % g:
                raise ValueError(f"{prefix} ({spec.to_string()!r}): group_size gs{gs} gives {g} groups, which do not "
                                 f"divide the conv's {other} {side} channels")
            return g

        def se_block(prefix: str, chs: int, h_: int, w_: int, rd_ratio: float, act: str) -> None:
            rd = round(chs * rd_ratio)
            layers.append(Layer.global_pool(f"{prefix}.se.mean", c=chs, h=h_, w=w_, n=n))
            conv(f"{prefix}.se.conv_reduce", chs, rd, 1, 1, 1, 1, 1, act, bn=False, bias=True)
            conv(f"{prefix}.se.conv_expand", rd, chs, 1, 1, 1, 1, 1, "sigmoid", bn=False, bias=True)
            layers.append(Layer.mul(f"{prefix}.se.mul", c=chs, h=h_, w=w_, n=n))

        stem = rc(self.stem_size)
        h, w = conv("conv_stem", cin, stem, h, w, 3, 2, 1, self.act)
        chs = stem
        for si, stage in enumerate(self._blocks):
            bi = 0
            for spec in stage:
                for rep in range(spec.repeat):
                    prefix = f"blocks.{si}.{bi}"
                    stride = spec.stride if bi == 0 else 1
                    act = spec.act or self.act
                    out = rc(spec.out)
                    in_chs = chs
                    h_in, w_in = h, w
                    if spec.type == "ds":
                        groups = grouped(prefix, spec, in_chs, in_chs, "output", in_chs)
                        h, w = conv(f"{prefix}.conv_dw", in_chs, in_chs, h, w, spec.kernel, stride, groups, act)
                        if spec.se:
                            se_block(prefix, in_chs, h, w, spec.se, act)
                        conv(f"{prefix}.conv_pw", in_chs, out, h, w, 1, 1, 1, "none")
                        has_skip = stride == 1 and in_chs == out and not spec.noskip
                    elif spec.type == "ir":
                        mid = make_divisible(in_chs * spec.exp)
                        g = spec.pw_groups
                        conv(f"{prefix}.conv_pw", in_chs, mid, h, w, 1, 1, g, act)
                        groups = grouped(prefix, spec, mid, mid, "input", mid)
                        h, w = conv(f"{prefix}.conv_dw", mid, mid, h, w, spec.kernel, stride, groups, act)
                        if spec.se:
                            se_block(prefix, mid, h, w, spec.se / spec.exp, act)
                        conv(f"{prefix}.conv_pwl", mid, out, h, w, 1, 1, g, "none")
                        has_skip = in_chs == out and stride == 1 and not spec.noskip
                    elif spec.type == "er":
                        base = rc(spec.force_in) if spec.force_in else in_chs
                        mid = make_divisible(base * spec.exp)
                        groups = grouped(prefix, spec, mid, in_chs, "input", 1)  # timm: from conv_exp's output
                        h, w = conv(f"{prefix}.conv_exp", in_chs, mid, h, w, spec.kernel, stride, groups, act)
                        if spec.se:
                            se_block(prefix, mid, h, w, spec.se / spec.exp, act)
                        conv(f"{prefix}.conv_pwl", mid, out, h, w, 1, 1, 1, "none")
                        has_skip = in_chs == out and stride == 1 and not spec.noskip
                    else:  # cn
                        groups = grouped(prefix, spec, in_chs, out, "output", 1)
                        h, w = conv(f"{prefix}.conv", in_chs, out, h, w, spec.kernel, stride, groups, act)
                        has_skip = spec.skip and stride == 1 and in_chs == out
                    if has_skip:
                        layers.append(Layer.add(f"{prefix}.add", c=out, h=h, w=w, n=n))
                    del h_in, w_in
                    chs = out
                    bi += 1
        if nf > 0:
            h, w = conv("conv_head", chs, nf, h, w, 1, 1, 1, self.act)
            chs = nf
        layers.append(Layer.global_pool("global_pool", c=chs, h=h, w=w, n=n))
        layers.append(Layer.fc("classifier", in_features=chs, out_features=num_classes, n=n))
        params += chs * num_classes + num_classes
        return Workload(name or self.name, layers, params=params, source=f"codesign.space:{self.name}")

    # -- torch model ---------------------------------------------------------------------------------------
    def build_model(
        self,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        channel_scale: float = 1.0,
        num_features: int | None = None,
        drop_rate: float = 0.0,
    ) -> "torch.nn.Module":
        """The network as a timm ``EfficientNet`` built from :attr:`arch_def` by timm's builder (BatchNorm,
        :attr:`act`), with FBNet-style grouped 1x1 convolutions and channel shuffles patched in where a
        block has ``pg{g}``. Needs torch and timm.

        Args:
            num_classes: classifier outputs. in_chans: input channels.
            channel_scale: multiplier on the stem and every block's channels (and ``fc``), rounded to multiples
                of 8 (1.0 builds the network exactly).
            num_features: override of :attr:`num_features`. drop_rate: dropout before the classifier.
        """
        for fname, v in (("num_classes", num_classes), ("in_chans", in_chans)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{fname} must be a positive int, got {fname}={v!r}")
        import torch.nn as nn
        from timm.models._efficientnet_builder import decode_arch_def
        from timm.models.efficientnet import EfficientNet

        rc = _round_fn(channel_scale)
        model = EfficientNet(
            decode_arch_def(self.block_strings()),
            num_classes=num_classes,
            num_features=self.num_features if num_features is None else int(num_features),
            in_chans=in_chans,
            stem_size=self.stem_size,
            round_chs_fn=rc,
            act_layer=getattr(nn, _TORCH_ACTS[self.act]),
            drop_rate=drop_rate,
        )
        for si, stage in enumerate(self._blocks):
            bi = 0
            for spec in stage:
                for _ in range(spec.repeat):
                    if spec.pw_groups > 1:
                        _group_pointwise(model.blocks[si][bi], spec.pw_groups)
                    bi += 1
        return model

    def replace(self, **changes: Any) -> "NetworkDef":
        return replace(self, **changes)


#: Largest channel multiplier of a built network (a proxy shrinks networks; 8x is far beyond any published width).
MAX_CHANNEL_SCALE = 8.0


def _round_fn(channel_scale: float) -> Any:
    if isinstance(channel_scale, bool) or not isinstance(channel_scale, (int, float)) or not channel_scale > 0 \
            or not math.isfinite(channel_scale) or channel_scale > MAX_CHANNEL_SCALE:
        raise ValueError(f"channel_scale must be a number in (0, {MAX_CHANNEL_SCALE:g}], got "
                         f"channel_scale={channel_scale!r}")
    scale = float(channel_scale)
    if scale == 1.0:
        return lambda chs: int(chs)
    from .nas import round_to_multiple

    return lambda chs: round_to_multiple(chs * scale)


def _group_pointwise(block: Any, groups: int) -> None:
    """Make an InvertedResidual's 1x1 convs grouped and shuffle channels after the expansion's activation."""
    import torch.nn as nn

    for attr in ("conv_pw", "conv_pwl"):
        old = getattr(block, attr)
        if old.in_channels % groups or old.out_channels % groups:
            raise ValueError(f"pw_groups={groups} does not divide the {attr} channels "
                             f"{old.in_channels} -> {old.out_channels}")
        setattr(block, attr, nn.Conv2d(old.in_channels, old.out_channels, 1, bias=False, groups=groups))
    block.bn1 = nn.Sequential(block.bn1, nn.ChannelShuffle(groups))
