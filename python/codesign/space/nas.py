"""MobileNetV2-style network search space.

The space follows the per-stage ("block-wise") factorisation of MnasNet (Tan et al., CVPR 2019) on top of the
MobileNetV2 macro-architecture (Sandler et al., CVPR 2018): a fixed stem (3x3 conv, 32 channels, stride 2),
seven stages, and a fixed head (1x1 conv to 1280 channels, global average pool, linear classifier). Each stage
keeps MobileNetV2's base output channels and stride and chooses four things:

============  =====================================  ==============================================
decision      choices                                meaning
============  =====================================  ==============================================
kernel        3, 5, 7                                depthwise kernel size of every block in the stage
expansion     1, 3, 6                                inverted-residual expansion ratio
depth         1 .. min(4, default depth + 1)         number of blocks in the stage
width         0.5, 0.75, 1.0, 1.25                   multiplier on the stage's base output channels
============  =====================================  ==============================================

MobileNetV2's stages (base channels / stride / default depth) are 16/1/1, 24/2/2, 32/2/3, 64/2/4, 96/1/3,
160/2/3 and 320/1/1, so the depth choices per stage are {1,2}, {1,2,3}, {1..4}, {1..4}, {1..4}, {1..4}, {1,2}.
Output channels are ``round_to_multiple(base * width, 8)`` (the MobileNet rounding rule: nearest multiple of 8,
at least 8, never more than 10 % below the exact value).

Decisions are named ``"stage{i}.{kernel|expansion|depth|width}"`` with ``i`` in 1..7, ordered stage by stage.
MobileNetV2 itself is :meth:`NetworkCandidate.mobilenet_v2` and lies inside the space.

Block strings use timm's EfficientNet builder notation (``timm/models/_efficientnet_builder.py``): a stage with
expansion 1 becomes ``ds_r{depth}_k{kernel}_s{stride}_c{channels}`` (depthwise-separable block: depthwise conv,
BN, ReLU6, pointwise conv, BN - exactly MobileNetV2's t=1 bottleneck; timm's ``ir`` block with ``e1`` would add
a redundant 1x1 expansion conv), otherwise ``ir_r{depth}_k{kernel}_s{stride}_e{expansion}_c{channels}``. The
stride applies to the first block of the stage only.

Only :meth:`NetworkSpace.build_model` and :meth:`NetworkSpace.workload` need torch and timm (imported lazily).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._base import CategoricalSpace

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from codesign.workload import Workload

__all__ = [
    "STAGE_CHANNELS",
    "STAGE_STRIDES",
    "STAGE_DEPTHS",
    "NUM_STAGES",
    "NetworkCandidate",
    "NetworkSpace",
    "round_to_multiple",
]

#: MobileNetV2 base output channels per stage (Sandler et al. 2018, Table 2).
STAGE_CHANNELS: tuple[int, ...] = (16, 24, 32, 64, 96, 160, 320)
#: Stride of the first block of each stage.
STAGE_STRIDES: tuple[int, ...] = (1, 2, 2, 2, 1, 2, 1)
#: MobileNetV2's number of blocks per stage.
STAGE_DEPTHS: tuple[int, ...] = (1, 2, 3, 4, 3, 3, 1)
NUM_STAGES = len(STAGE_CHANNELS)

_FIELDS = ("kernel", "expansion", "depth", "width")


def round_to_multiple(value: float, divisor: int = 8, *, min_value: int | None = None) -> int:
    """Round ``value`` channels to a multiple of ``divisor`` (MobileNet rule).

    Rounds to the nearest multiple (halves up), never below ``min_value`` (default ``divisor``), and adds one
    more ``divisor`` if rounding lost more than 10 % of ``value``. E.g. ``round_to_multiple(12) == 16``,
    ``round_to_multiple(18) == 24``, ``round_to_multiple(120) == 120``.
    """
    if divisor <= 0:
        raise ValueError(f"divisor must be positive, got {divisor}")
    if not value > 0:
        raise ValueError(f"value must be positive, got {value}")
    floor = divisor if min_value is None else min_value
    out = max(floor, int(value + divisor / 2) // divisor * divisor)
    if out < 0.9 * value:
        out += divisor
    return int(out)


@dataclass(frozen=True)
class NetworkCandidate:
    """One network of the space: per-stage tuples of length 7 (stage 1 first).

    Attributes:
        kernel: depthwise kernel size per stage (pixels, odd).
        expansion: expansion ratio per stage.
        depth: number of blocks per stage.
        width: output-channel multiplier per stage.

    Frozen and hashable; lists passed in are converted to tuples. Membership in a particular
    :class:`NetworkSpace` is checked by :meth:`NetworkSpace.validate`, not here.
    """

    kernel: tuple[int, ...]
    expansion: tuple[int, ...]
    depth: tuple[int, ...]
    width: tuple[float, ...]

    def __post_init__(self) -> None:
        for field in _FIELDS:
            value = getattr(self, field)
            try:
                value = tuple(value)
            except TypeError:
                raise ValueError(f"NetworkCandidate.{field} must be a sequence of {NUM_STAGES} values, got {value!r}") from None
            if len(value) != NUM_STAGES:
                raise ValueError(f"NetworkCandidate.{field} must have {NUM_STAGES} entries (one per stage), got {len(value)}: {value!r}")
            object.__setattr__(self, field, value)

    @classmethod
    def mobilenet_v2(cls) -> "NetworkCandidate":
        """MobileNetV2 1.0: kernels 3, expansion 1 then 6, depths 1,2,3,4,3,3,1, width 1.0."""
        return cls(
            kernel=(3,) * NUM_STAGES,
            expansion=(1,) + (6,) * (NUM_STAGES - 1),
            depth=STAGE_DEPTHS,
            width=(1.0,) * NUM_STAGES,
        )

    @property
    def channels(self) -> tuple[int, ...]:
        """Output channels per stage: ``round_to_multiple(base * width, 8)``."""
        return tuple(round_to_multiple(c * float(w)) for c, w in zip(STAGE_CHANNELS, self.width))

    @property
    def num_blocks(self) -> int:
        """Total number of blocks over all stages."""
        return int(sum(self.depth))


def _fmt_block(kind: str, depth: int, kernel: int, stride: int, expansion: int, channels: int) -> str:
    if kind == "ds":
        return f"ds_r{depth}_k{kernel}_s{stride}_c{channels}"
    return f"ir_r{depth}_k{kernel}_s{stride}_e{expansion}_c{channels}"


class NetworkSpace(CategoricalSpace[NetworkCandidate]):
    """MobileNetV2-style space of 28 categorical decisions (4 per stage x 7 stages); see the module docstring.

    Args (keyword-only): choices shared by all stages.
        kernels: depthwise kernel sizes (odd ints >= 1). Default (3, 5, 7).
        expansions: expansion ratios (ints >= 1). Default (1, 3, 6).
        widths: channel multipliers (> 0). Default (0.5, 0.75, 1.0, 1.25).
        max_depth: cap on blocks per stage; stage i may use 1 .. min(max_depth, STAGE_DEPTHS[i] + 1). Default 4.

    With the defaults ``size == 36**7 * (2*3*4*4*4*4*2) == 240_734_712_102_912``.
    """

    def __init__(
        self,
        *,
        kernels: Sequence[int] = (3, 5, 7),
        expansions: Sequence[int] = (1, 3, 6),
        widths: Sequence[float] = (0.5, 0.75, 1.0, 1.25),
        max_depth: int = 4,
    ) -> None:
        kernels = tuple(kernels)
        expansions = tuple(expansions)
        widths = tuple(float(w) for w in widths)
        for k in kernels:
            if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0:
                raise ValueError(f"kernels must be odd positive ints, got kernel={k!r}")
        for e in expansions:
            if isinstance(e, bool) or not isinstance(e, int) or e < 1:
                raise ValueError(f"expansions must be positive ints, got expansion={e!r}")
        for w in widths:
            if not w > 0:
                raise ValueError(f"widths must be positive, got width={w!r}")
        if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
            raise ValueError(f"max_depth must be a positive int, got max_depth={max_depth!r}")
        for field, vals in (("kernels", kernels), ("expansions", expansions), ("widths", widths)):
            if not vals:
                raise ValueError(f"{field} must not be empty")
            if len(set(vals)) != len(vals):
                raise ValueError(f"{field} has duplicate choices: {vals!r}")
        self.kernels = kernels
        self.expansions = expansions
        self.widths = widths
        self.max_depth = max_depth
        self.depth_choices: tuple[tuple[int, ...], ...] = tuple(
            tuple(range(1, min(max_depth, d + 1) + 1)) for d in STAGE_DEPTHS
        )
        names: list[str] = []
        choices: list[tuple[Any, ...]] = []
        for s in range(NUM_STAGES):
            for field, opts in zip(_FIELDS, (kernels, expansions, self.depth_choices[s], widths)):
                names.append(f"stage{s + 1}.{field}")
                choices.append(opts)
        self._names = tuple(names)
        self._choices = tuple(choices)

    def __repr__(self) -> str:
        return (
            f"NetworkSpace(kernels={self.kernels}, expansions={self.expansions}, widths={self.widths}, "
            f"max_depth={self.max_depth})"
        )

    # -- CategoricalSpace hooks ----------------------------------------------------------------------------
    def _values(self, candidate: NetworkCandidate) -> tuple[Any, ...]:
        if not isinstance(candidate, NetworkCandidate):
            raise ValueError(f"expected a NetworkCandidate, got {type(candidate).__name__}: {candidate!r}")
        out: list[Any] = []
        for s in range(NUM_STAGES):
            out.extend((candidate.kernel[s], candidate.expansion[s], candidate.depth[s], candidate.width[s]))
        return tuple(out)

    def _build(self, values: tuple[Any, ...]) -> NetworkCandidate:
        per = [values[i::4] for i in range(4)]
        return NetworkCandidate(
            kernel=tuple(int(v) for v in per[0]),
            expansion=tuple(int(v) for v in per[1]),
            depth=tuple(int(v) for v in per[2]),
            width=tuple(float(v) for v in per[3]),
        )

    # -- network views -------------------------------------------------------------------------------------
    def to_block_strings(self, candidate: NetworkCandidate) -> list[list[str]]:
        """timm ``arch_def``: one list holding one block string per stage (7 lists), e.g. for MobileNetV2
        ``[["ds_r1_k3_s1_c16"], ["ir_r2_k3_s2_e6_c24"], ..., ["ir_r1_k3_s1_e6_c320"]]``."""
        self.validate(candidate)
        out = []
        for s in range(NUM_STAGES):
            e = candidate.expansion[s]
            out.append([
                _fmt_block("ds" if e == 1 else "ir", candidate.depth[s], candidate.kernel[s], STAGE_STRIDES[s], e,
                           candidate.channels[s])
            ])
        return out

    def build_model(
        self,
        candidate: NetworkCandidate,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        channel_scale: float = 1.0,
        num_features: int = 1280,
        stem_size: int = 32,
        drop_rate: float = 0.0,
    ) -> "torch.nn.Module":
        """Build the candidate as a timm ``EfficientNet`` (ReLU6, BatchNorm, MobileNetV2 stem and head).

        Args:
            candidate: a member of this space.
            num_classes: classifier outputs (1000 for ImageNet).
            in_chans: input channels (3 for RGB, 1 for Fashion-MNIST).
            channel_scale: extra multiplier on every stage's channels and the stem (rounded to multiples of 8
                with :func:`round_to_multiple`); 1.0 builds the candidate exactly. Used by the accuracy proxy.
            num_features: channels of the final 1x1 head conv (MobileNetV2: 1280).
            stem_size: stem conv channels before ``channel_scale`` (MobileNetV2: 32).
            drop_rate: dropout before the classifier.

        Returns a ``torch.nn.Module`` mapping ``(N, in_chans, H, W)`` float tensors to ``(N, num_classes)``
        logits. Needs ``torch`` and ``timm``.
        """
        for field, v in (("num_classes", num_classes), ("in_chans", in_chans), ("num_features", num_features),
                         ("stem_size", stem_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{field} must be a positive int, got {field}={v!r}")
        if not channel_scale > 0:
            raise ValueError(f"channel_scale must be positive, got channel_scale={channel_scale!r}")
        import torch.nn as nn
        from timm.models._efficientnet_builder import decode_arch_def
        from timm.models.efficientnet import EfficientNet

        arch_def = self.to_block_strings(candidate)
        scale = float(channel_scale)

        def round_chs(chs: float) -> int:
            return round_to_multiple(chs * scale) if scale != 1.0 else int(chs)

        return EfficientNet(
            decode_arch_def(arch_def),
            num_classes=num_classes,
            num_features=num_features,
            in_chans=in_chans,
            stem_size=stem_size,
            round_chs_fn=round_chs,
            act_layer=nn.ReLU6,
            drop_rate=drop_rate,
        )

    def workload(
        self,
        candidate: NetworkCandidate,
        *,
        input_shape: tuple[int, int, int, int] = (1, 3, 224, 224),
        num_classes: int = 1000,
        name: str | None = None,
    ) -> "Workload":
        """The candidate's :class:`codesign.workload.Workload` (every Conv2d and Linear with real shapes) via
        :func:`codesign.workload.from_torch` on the full-size model built by :meth:`build_model`.

        Default: ImageNet inference, input ``(1, 3, 224, 224)``, 1000 classes - the cost side of the search.
        """
        if len(tuple(input_shape)) != 4:
            raise ValueError(f"input_shape must be (N, C, H, W), got input_shape={input_shape!r}")
        from codesign.workload import from_torch

        model = self.build_model(candidate, num_classes=num_classes, in_chans=int(input_shape[1]))
        model.eval()
        return from_torch(model, input_shape=tuple(input_shape), name=name or self.short_name(candidate))

    def short_name(self, candidate: NetworkCandidate) -> str:
        """Compact readable id: per stage ``k{kernel}e{expansion}d{depth}w{width}``, joined by ``-``."""
        self.validate(candidate)
        return "-".join(
            f"k{k}e{e}d{d}w{w:g}"
            for k, e, d, w in zip(candidate.kernel, candidate.expansion, candidate.depth, candidate.width)
        )
