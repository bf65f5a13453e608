"""timm's block-string notation for the EfficientNet family: :class:`BlockSpec`, :func:`parse_block`,
:func:`format_block`, and the channel and depth rules timm applies to them (:func:`make_divisible`,
:func:`round_channels`, :func:`scale_stage_depth`).

A network of this family is written, as timm writes it (``timm/models/_efficientnet_builder.py``,
``_decode_block_str`` and ``decode_arch_def``), as an ``arch_def``: one list of block strings per stage, e.g.
``[["ds_r1_k3_s1_c16"], ["ir_r2_k3_s2_e6_c24"], ...]`` for MobileNetV2. The block types understood here:

=====  ==========================================================================================
type   block (timm class in ``timm/models/_efficientnet_blocks.py``)
=====  ==========================================================================================
ds     depthwise-separable: KxK depthwise, (SE), 1x1 projection (``DepthwiseSeparableConv``)
dsa    the same with an activation after the projection and never a residual (MobileNetV1)
ir     inverted bottleneck, IBN / MBConv: 1x1 expansion, KxK depthwise, (SE), 1x1 projection
       (``InvertedResidual``)
er     fused IBN ("edge residual"): KxK full expansion conv, (SE), 1x1 projection (``EdgeResidual``)
cn     one KxK conv + BN + act (``ConvBnAct``)
=====  ==========================================================================================

Options: ``r`` repeats, ``k`` kernel, ``s`` stride (first block of the stage only), ``e`` expansion, ``c`` output
channels, ``se`` squeeze-excite ratio, ``n{re,r6,sw,hs}`` activation override (ReLU, ReLU6, swish, hard-swish;
otherwise the model's), ``fc`` forced input channels of a fused block's expansion, ``gs`` group size,
``noskip`` / ``skip``, and codesign's own ``pg{g}`` (grouped 1x1 convs of an ``ir`` block, see
:mod:`codesign.space.blocks`). ``gs{N}`` is timm's ``group_size`` (channels per group), counted as timm counts it:
on the *input* of a ``ds`` block's depthwise conv and of a ``cn`` conv, on the *output* of an ``ir`` block's
depthwise conv and of an ``er`` block's expansion conv. Without ``gs`` each type gets timm's default (``ds``/``ir``
depthwise, ``er``/``cn`` dense); ``gs0`` means that default for ``er``/``cn`` and is refused for ``ds``/``ir``,
where timm would build a dense KxK conv that :class:`BlockSpec` cannot express. timm's other options (mixed
kernels ``k3.5``, CondConv ``cc``, space-to-depth ``d``, expansion/projection kernels ``a``/``p``, the ``uir``,
``mha`` and ``mqa`` blocks) are refused by :func:`parse_block` with a ValueError naming the option.

Only the standard library is imported here.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["ACT_TOKENS", "BlockSpec", "format_block", "make_divisible", "parse_block", "round_channels",
           "scale_stage_depth"]

#: timm activation tokens (``_n{token}``) <-> codesign activation names (:data:`codesign.workload.ACTIVATIONS`).
ACT_TOKENS: dict[str, str] = {"re": "relu", "r6": "relu6", "sw": "swish", "hs": "hswish"}
_ACT_TO_TOKEN = {v: k for k, v in ACT_TOKENS.items()}
_BLOCK_TYPES = ("ds", "dsa", "ir", "er", "cn")
_NUM_RE = re.compile(r"^([a-z]+)(\d.*)$")


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None, round_limit: float = 0.9) -> int:
    """timm's channel rounding (``timm.layers.make_divisible``): nearest multiple of ``divisor`` (halves up),
    at least ``min_value`` (default ``divisor``), plus one ``divisor`` if that lost more than 10 %."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return int(new_v)


@dataclass(frozen=True)
class BlockSpec:
    """One parsed block string (see the module docstring for the meaning of each option).

    Attributes:
        type: ``"ds"``, ``"dsa"``, ``"ir"``, ``"er"`` or ``"cn"``.
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

    Accepts the subset of timm's notation described in the module docstring (the types ds/dsa/ir/er/cn).
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
    if kw.get("group_size") == 0 and btype in ("ds", "dsa", "ir"):
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


def round_channels(channels: int, multiplier: float = 1.0, divisor: int = 8) -> int:
    """timm's ``round_channels`` (``timm/models/_efficientnet_builder.py``): ``channels`` unchanged for a zero
    multiplier, else :func:`make_divisible` of ``channels * multiplier`` (so even ``multiplier=1.0`` rounds a
    count that is not a multiple of ``divisor``)."""
    if not multiplier:
        return channels
    return make_divisible(channels * multiplier, divisor)


def scale_stage_depth(repeats: Sequence[int], multiplier: float, trunc: str = "ceil") -> list[int]:
    """timm's per-stage depth scaling (``_scale_stage_depth`` in ``timm/models/_efficientnet_builder.py``): the
    stage's total repeat count ``sum(repeats)`` times ``multiplier``, truncated up (``"ceil"``, EfficientNet's
    rule) or rounded (``"round"``), then shared out over the stage's block strings from the last to the first,
    each ``max(1, round(r / remaining * remaining_scaled))`` (Python's round: halves to even).

    Returns one repeat count per block string; ValueError for an empty stage or an unknown ``trunc``."""
    if not repeats:
        raise ValueError("scale_stage_depth repeats must be a non-empty sequence of ints, got []")
    total = sum(repeats)
    if trunc == "ceil":
        left_scaled = int(math.ceil(total * multiplier))
    elif trunc == "round":
        left_scaled = max(1, round(total * multiplier))
    else:
        raise ValueError(f"scale_stage_depth trunc must be 'ceil' or 'round', got {trunc!r}")
    left = total
    out: list[int] = []
    for r in reversed(repeats):
        scaled = max(1, round(r / left * left_scaled))
        out.append(scaled)
        left -= r
        left_scaled -= scaled
    return out[::-1]
