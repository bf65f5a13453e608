"""Network search spaces: MobileNetV2 / MnasNet-style, the Edge-TPU-tailored space, and FBNet's.

Every network space is a :class:`NetworkSpaceBase`: a fixed-length sequence of named categorical decisions
(:class:`~codesign.space._base.CategoricalSpace`) whose candidates map to a :class:`~codesign.space.blocks.NetworkDef`
(timm block strings + stem + head), from which both the PyTorch model (timm's EfficientNet builder) and the
cost model's :class:`~codesign.workload.Workload` are built (:meth:`NetworkSpaceBase.build_model`,
:meth:`NetworkSpaceBase.workload`; the two agree layer by layer, see :mod:`codesign.space.blocks`).

``mobilenetv2`` (:class:`NetworkSpace`) - MnasNet's per-stage ("block-wise") factorisation (Tan et al., "MnasNet:
Platform-Aware Neural Architecture Search for Mobile", CVPR 2019) on MobileNetV2's macro-architecture (Sandler et
al., CVPR 2018): stem 3x3 conv 32 ch stride 2, seven stages with MobileNetV2's base channels 16/24/32/64/96/160/320,
strides 1/2/2/2/1/2/1 and depths 1/2/3/4/3/3/1, head 1x1 conv 1280, pool, classifier, ReLU6. Per stage:

============  =====================================  ==============================================
decision      choices (default)                      meaning
============  =====================================  ==============================================
kernel        3, 5, 7                                depthwise kernel size of every block in the stage
expansion     1, 3, 6                                inverted-residual expansion ratio
depth         1 .. min(4, default depth + 1)         number of blocks in the stage (fewer = skipped layers)
width         0.5, 0.75, 1.0, 1.25                   multiplier on the stage's base output channels
se            0 (0, 0.25 in the named space)         squeeze-excite ratio (of the block input channels)
act           relu6 (relu6, swish in the named space) the stage's activation
============  =====================================  ==============================================

A decision with a single choice is not part of the encoding (its value is fixed), so ``NetworkSpace()`` is the
28-decision space of the first search (2.4e14 networks) and ``network_space("mobilenetv2")`` the issue's
42-decision space with optional SE and ReLU6 / swish per stage (7.0e18 networks). Blocks are depthwise IBN
(timm ``ir``), or for expansion 1 MobileNetV2's depthwise-separable block (``ds``). MobileNetV2 itself is
:meth:`NetworkCandidate.mobilenet_v2`, a member.

``edgetpu`` (:class:`EdgeTpuNetworkSpace`) - the space tailored to the Edge TPU (Gupta & Akin, "Accelerator-aware
Neural Network Design using AutoML", 2020; FACTS.md): EfficientNet-EdgeTPU-S's macro-architecture (stem 32 ch,
six stages with base channels 24/32/48/96/144/192, strides 1/2/2/2/1/2, head 1280, ReLU), and per stage the
*block type* - IBN (1x1 expansion + KxK depthwise, timm ``ir``) or fused IBN (one KxK full conv replaces the
pair, timm ``er``) - plus kernel 3/5, expansion 2/4/6/8, depth 1 .. default + 1 (at most 6) and width
0.5-1.25. SE and swish, which run poorly on such arrays, are off by default (pass ``se_ratios`` / ``activations``
to allow them). Stage 1 keeps EfficientNet-EdgeTPU-S's conventions (no residual; a fused block's expansion is
computed from its output channels, timm's ``fc``). EfficientNet-EdgeTPU-S is
:meth:`EdgeTpuNetCandidate.efficientnet_edgetpu_s`, a member whose block strings are timm's ``efficientnet_es``.

``edgetpu-gc`` (``EdgeTpuNetworkSpace(blocks=("ibn", "fused", "gc-fused"))``) - the same space with a third block
type, the *group-convolution IBN* (GC-IBN, ``"gc-fused"``) of the later Edge-TPU work (Akin et al., "Searching for
Efficient Neural Architectures for On-Device ML on Edge TPUs", CVPR 2022 workshops; MobileNetEdgeTPUV2, TF model
garden ``official/projects/edgetpu/vision``, its ``ibn_fused_grouped`` block): a fused IBN whose KxK expansion
conv is a *group* convolution, so it keeps the fused block's one dense-ish KxK conv (which maps onto the array far
better than a depthwise conv) at a fraction of its MACs and weights. Grouping rule: every group takes ``g``
*input* channels (``group_channels``, default 8) and, the expansion being ``e``, gives ``g * e`` expansion
channels, i.e. ``groups = in / g``; the block string is timm's ``er`` with ``gs{g * e}`` (timm counts its
``group_size`` on conv_exp's output, ``mid = in * e``, hence ``groups = mid / (g * e) = in / g``).
MobileNetEdgeTPUV2 instead fixes the *output* channels per group (64), which does not divide every width and
expansion here (e.g. 16 x 2 = 32 expansion channels; with expansion 6 the groups need not divide the input
either), so this space fixes the input channels per group. Every stage's
channels (and the stem's, and any ``channel_scale``'d version) are multiples of 8, so any ``g`` dividing 8
(1, 2, 4, 8) divides every block's input and expansion channels exactly - no rounding, and the whole model keeps
one group width. A GC-IBN block in stage 1 computes its expansion from its input (the 32-channel stem), not with
the fused block's ``fc``: with ``fc`` the expansion would be ``c1 * e`` and ``c1 / g`` groups (3 for 24
channels) need not divide the stem's 32 channels. With one ``group_channels`` value (the default, and
``edgetpu-gc``) the width is fixed and not a decision, so ``edgetpu-gc`` has the same 30 decisions as ``edgetpu``
and the indices of ``"ibn"`` / ``"fused"`` are unchanged (EfficientNet-EdgeTPU-S encodes the same in both); pass
several (``group_channels=(4, 8)``) to search it per stage (decision ``stage{i}.group``, after ``stage{i}.block``).
The default ``edgetpu`` space is unchanged: GC-IBN is opt-in.

``fbnet`` (:class:`FBNetSpace`) - the space of FBNet (Wu et al., "FBNet: Hardware-Aware Efficient ConvNet Design
via Differentiable Neural Architecture Search", CVPR 2019) as used by HW-NAS-Bench (Li et al., ICLR 2021): stem
3x3 conv 16 ch stride 2, 22 searchable layers in stages of output channels 16/24/32/64/112/184/352 with 1/4/4/4/4/4/1
layers and strides 1/2/2/2/1/2/1, head 1x1 conv 1984, pool, classifier, ReLU. Each layer picks one of 9 ops:
kernel 3 or 5 x {expansion 1, expansion 1 with 2 groups, expansion 3, expansion 6}, or ``skip`` (identity where
shapes allow, else a 1x1 conv + BN + ReLU with the layer's stride, as FBNet's ``Identity``). 9^22 = 9.8e20
networks.

Only :meth:`NetworkSpaceBase.build_model` needs torch and timm (imported lazily).
"""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from ._base import CategoricalSpace, _typed_key, checked_choices, not_a_choice, py_scalar
from .blocks import ACT_TOKENS, BlockSpec, NetworkDef

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from codesign.workload import Workload

__all__ = [
    "STAGE_CHANNELS",
    "STAGE_STRIDES",
    "STAGE_DEPTHS",
    "NUM_STAGES",
    "EDGETPU_STAGES",
    "EDGETPU_BLOCKS",
    "GC_GROUP_CHANNELS",
    "FBNET_LAYERS",
    "FBNET_OPS",
    "NetworkCandidate",
    "NetworkSpace",
    "NetworkSpaceBase",
    "EdgeTpuNetCandidate",
    "EdgeTpuNetworkSpace",
    "FBNetCandidate",
    "FBNetSpace",
    "round_to_multiple",
    "WIDTH_RANGE",
    "KERNEL_MAX",
    "EXPANSION_MAX",
]

T = TypeVar("T")

#: MobileNetV2 base output channels per stage (Sandler et al. 2018, Table 2).
STAGE_CHANNELS: tuple[int, ...] = (16, 24, 32, 64, 96, 160, 320)
#: Stride of the first block of each stage.
STAGE_STRIDES: tuple[int, ...] = (1, 2, 2, 2, 1, 2, 1)
#: MobileNetV2's number of blocks per stage.
STAGE_DEPTHS: tuple[int, ...] = (1, 2, 3, 4, 3, 3, 1)
NUM_STAGES = len(STAGE_CHANNELS)

#: EfficientNet-EdgeTPU-S per stage: (repeats, kernel, stride, expansion, out channels, block) (FACTS.md; timm
#: ``efficientnet_es``).
EDGETPU_STAGES: tuple[tuple[int, int, int, int, int, str], ...] = (
    (1, 3, 1, 4, 24, "fused"),
    (2, 3, 2, 8, 32, "fused"),
    (4, 3, 2, 8, 48, "fused"),
    (5, 5, 2, 8, 96, "ibn"),
    (4, 5, 1, 8, 144, "ibn"),
    (2, 5, 2, 8, 192, "ibn"),
)

#: FBNet's 22 searchable layers on ImageNet: (stage, output channels, stride) (shared/reference/fbnet/).
FBNET_LAYERS: tuple[tuple[int, int, int], ...] = tuple(
    (stage, cout, stride if i == 0 else 1)
    for stage, (cout, n, stride) in enumerate(((16, 1, 1), (24, 4, 2), (32, 4, 2), (64, 4, 2), (112, 4, 1),
                                               (184, 4, 2), (352, 1, 1)))
    for i in range(n)
)
#: FBNet's 9 ops: name -> (kernel, expansion, groups), None for skip (shared/reference/fbnet/fbnet_ops.csv order).
FBNET_OPS: dict[str, tuple[int, int, int] | None] = {
    "k3_e1": (3, 1, 1), "k3_e1_g2": (3, 1, 2), "k3_e3": (3, 3, 1), "k3_e6": (3, 6, 1),
    "k5_e1": (5, 1, 1), "k5_e1_g2": (5, 1, 2), "k5_e3": (5, 3, 1), "k5_e6": (5, 6, 1),
    "skip": None,
}

_ACTS = tuple(ACT_TOKENS.values())


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


# =====================================================================================================
# base class
# =====================================================================================================
class NetworkSpaceBase(CategoricalSpace[T]):
    """A network search space: decisions -> :class:`~codesign.space.blocks.NetworkDef` -> model / workload.

    Subclasses implement :meth:`network_def` and :attr:`reference` (a named member) and set :attr:`kind`.
    """

    kind: str = "network"

    @abstractmethod
    def network_def(self, candidate: T) -> NetworkDef:
        """The candidate's network definition (validated)."""

    @property
    @abstractmethod
    def reference(self) -> T:
        """A well-known member of the space (MobileNetV2, EfficientNet-EdgeTPU-S, ...)."""

    def to_block_strings(self, candidate: T) -> list[list[str]]:
        """timm ``arch_def`` of the candidate: one list of block strings per stage."""
        return self._network_def(candidate).block_strings()

    def network_key(self, candidate: T) -> tuple[Any, ...]:
        """Hashable identity of the network built (two decision tuples can build the same network)."""
        return self._network_def(candidate).key()

    def _network_def(self, candidate: T) -> NetworkDef:
        """:meth:`network_def`, remembered per space for candidates seen before (by the type and value of every
        field, as :meth:`encode` remembers them): a search keys, names and builds each candidate several times."""
        key = _typed_key(candidate)
        cache = self.__dict__.setdefault("_network_def_cache", {})
        if key is not None:
            hit = cache.get(key)
            if hit is not None:
                return hit
        out = self.network_def(candidate)
        if key is not None:
            if len(cache) >= 4096:
                cache.clear()
            cache[key] = out
        return out

    def build_model(
        self,
        candidate: T,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        channel_scale: float = 1.0,
        num_features: int | None = None,
        stem_size: int | None = None,
        drop_rate: float = 0.0,
    ) -> "torch.nn.Module":
        """The candidate as a timm ``EfficientNet`` (see :meth:`codesign.space.blocks.NetworkDef.build_model`).

        Args:
            candidate: a member of this space.
            num_classes: classifier outputs (1000 for ImageNet). in_chans: input channels.
            channel_scale: extra multiplier on every stage's channels and the stem (rounded to multiples of 8;
                1.0 builds the candidate exactly). Used by accuracy proxies.
            num_features: channels of the final 1x1 head conv (default: the space's).
            stem_size: stem conv channels before ``channel_scale`` (default: the space's).
            drop_rate: dropout before the classifier.

        Returns a ``torch.nn.Module`` mapping ``(N, in_chans, H, W)`` to ``(N, num_classes)`` logits.
        """
        for name, v in (("num_features", num_features), ("stem_size", stem_size)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"{name} must be a positive int, got {name}={v!r}")
        nd = self.network_def(candidate)
        if stem_size is not None:
            nd = nd.replace(stem_size=stem_size)
        return nd.build_model(num_classes=num_classes, in_chans=in_chans, channel_scale=channel_scale,
                              num_features=num_features, drop_rate=drop_rate)

    def workload(
        self,
        candidate: T,
        *,
        input_shape: tuple[int, int, int, int] = (1, 3, 224, 224),
        num_classes: int = 1000,
        name: str | None = None,
    ) -> "Workload":
        """The candidate's :class:`~codesign.workload.Workload` for the cost model, computed analytically
        (about 1 ms; equal layer by layer to ``codesign.workload.from_torch(self.build_model(candidate))``).

        Default: ImageNet inference, input ``(1, 3, 224, 224)``, 1000 classes.
        """
        if len(tuple(input_shape)) != 4:
            raise ValueError(f"input_shape must be (N, C, H, W), got input_shape={input_shape!r}")
        return self._network_def(candidate).workload(input_shape=tuple(input_shape), num_classes=num_classes,
                                                    name=name or self.short_name(candidate))

    def short_name(self, candidate: T) -> str:
        """Compact readable id of the candidate."""
        self.validate(candidate)
        return "-".join(f"{v}" for v in self.encode(candidate))


_ACT_SHORT = {"swish": "sw", "relu": "re", "relu6": "r6", "hswish": "hs"}


def _se_act_suffix(se: float, act: str, default_act: str) -> str:
    """The short-name tail of a stage: ``se{ratio}`` when it has SE, and its activation when not the space's
    default (``sw``, ``re``, ``r6``, ``hs``)."""
    return (f"se{se:g}" if se else "") + ("" if act == default_act else _ACT_SHORT[act])


#: Largest allowed kernel size (``kernels``) and expansion ratio (``expansions``): far beyond any published space
#: (kernels 3-7, expansions 1-8), and small enough that every layer stays within the cost model's ranges.
KERNEL_MAX = 31
EXPANSION_MAX = 64
#: Allowed channel multipliers (``widths``): at 0.05 the widest stage (320 channels) still has 16, at 8 it has
#: 2560; beyond these the rounded channel counts stop meaning anything (every stage at the 8-channel floor, or
#: layers too large for the cost model).
WIDTH_RANGE: tuple[float, float] = (0.05, 8.0)


def _odd_kernel(field: str, k: Any) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= KERNEL_MAX or k % 2 == 0:
        raise ValueError(f"{field} must be odd ints in [1, {KERNEL_MAX}], got kernel={k!r}")


def _expansion(field: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= EXPANSION_MAX:
        raise ValueError(f"{field} must be ints in [1, {EXPANSION_MAX}], got expansion={v!r}")


def _width(field: str, v: Any) -> None:
    lo, hi = WIDTH_RANGE
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise ValueError(f"{field} must be numbers in [{lo:g}, {hi:g}] (channel multipliers), got width={v!r}")


def _se(field: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
        raise ValueError(f"{field} must be in [0, 1), got se={v!r}")


def _act(field: str, v: Any) -> None:
    if v not in _ACTS:
        raise ValueError(f"{field} must be among {_ACTS}, got act={v!r}")


def _as_tuple(cls_name: str, field: str, value: Any, n: int) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{cls_name}.{field} must be a sequence of {n} values, got {value!r}")
    try:
        value = tuple(py_scalar(v) for v in value)  # numpy scalars -> Python ones (the block strings want ints)
    except TypeError:
        raise ValueError(f"{cls_name}.{field} must be a sequence of {n} values, got {value!r}") from None
    if len(value) != n:
        raise ValueError(f"{cls_name}.{field} must have {n} entries (one per stage), got {len(value)}: {value!r}")
    return value


class _StagedSpace(NetworkSpaceBase[T]):
    """Per-stage decisions ``stage{i}.{field}``; fields with one choice are fixed, not encoded."""

    _fields: tuple[str, ...]  # all per-stage fields, in order
    _field_choices: list[dict[str, tuple[Any, ...]]]  # per stage: field -> choices
    _cand_cls: type
    _num_stages: int

    def _setup(self) -> None:
        names: list[str] = []
        choices: list[tuple[Any, ...]] = []
        self._slots: list[tuple[int, str]] = []
        for s in range(self._num_stages):
            for f in self._fields:
                opts = self._field_choices[s][f]
                if len(opts) > 1 or f in self._always:
                    names.append(f"stage{s + 1}.{f}")
                    choices.append(opts)
                    self._slots.append((s, f))
        self._names = tuple(names)
        self._choices = tuple(choices)

    _always: tuple[str, ...] = ()

    def _values(self, candidate: T) -> tuple[Any, ...]:
        if not isinstance(candidate, self._cand_cls):
            raise ValueError(f"expected a {self._cand_cls.__name__}, got {type(candidate).__name__}: {candidate!r}")
        for s in range(self._num_stages):
            for f in self._fields:
                opts = self._field_choices[s][f]
                if (s, f) not in self._slot_set and not _in(getattr(candidate, f)[s], opts):
                    raise ValueError(not_a_choice(f"stage{s + 1}.{f}", getattr(candidate, f)[s], opts))
        return tuple(getattr(candidate, f)[s] for s, f in self._slots)

    @property
    def _slot_set(self) -> set[tuple[int, str]]:
        cache = self.__dict__.get("_slot_set_cache")
        if cache is None:
            cache = set(self._slots)
            self.__dict__["_slot_set_cache"] = cache
        return cache

    def _build(self, values: tuple[Any, ...]) -> T:
        per: dict[str, list[Any]] = {f: [self._field_choices[s][f][0] for s in range(self._num_stages)]
                                     for f in self._fields}
        for (s, f), v in zip(self._slots, values):
            per[f][s] = v
        return self._cand_cls(**{f: tuple(per[f]) for f in self._fields})


def _in(value: Any, options: Sequence[Any]) -> bool:
    from ._base import _same

    return any(_same(value, o) for o in options)


# =====================================================================================================
# mobilenetv2
# =====================================================================================================
_MNV2_FIELDS = ("kernel", "expansion", "depth", "width", "se", "act")


@dataclass(frozen=True)
class NetworkCandidate:
    """One network of the MobileNetV2-style space: per-stage tuples of length 7 (stage 1 first).

    Attributes:
        kernel: depthwise kernel size per stage (pixels, odd).
        expansion: expansion ratio per stage.
        depth: number of blocks per stage.
        width: output-channel multiplier per stage.
        se: squeeze-excite ratio per stage (0 = none; default all 0).
        act: activation per stage, ``"relu6"`` or ``"swish"`` (default all ReLU6).

    Frozen and hashable; lists passed in are converted to tuples. Membership in a particular
    :class:`NetworkSpace` is checked by :meth:`NetworkSpace.validate`, not here.
    """

    kernel: tuple[int, ...]
    expansion: tuple[int, ...]
    depth: tuple[int, ...]
    width: tuple[float, ...]
    se: tuple[float, ...] = (0.0,) * NUM_STAGES
    act: tuple[str, ...] = ("relu6",) * NUM_STAGES

    def __post_init__(self) -> None:
        for field in _MNV2_FIELDS:
            object.__setattr__(self, field, _as_tuple("NetworkCandidate", field, getattr(self, field), NUM_STAGES))

    @classmethod
    def mobilenet_v2(cls) -> "NetworkCandidate":
        """MobileNetV2 1.0: kernels 3, expansion 1 then 6, depths 1,2,3,4,3,3,1, width 1.0, ReLU6, no SE."""
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


class NetworkSpace(_StagedSpace[NetworkCandidate]):
    """MobileNetV2 / MnasNet-style space (see the module docstring).

    Args (keyword-only): choices shared by all stages. Each takes a list (or tuple) of values, or one value as
    the only choice (``kernels=3`` is ``kernels=(3,)``; a string is one choice, never split into characters).
        kernels: depthwise kernel sizes (odd ints in [1, 31]). Default (3, 5, 7).
        expansions: expansion ratios (ints in [1, 64]). Default (1, 3, 6).
        widths: channel multipliers, in :data:`WIDTH_RANGE` ([0.05, 8]). Default (0.5, 0.75, 1.0, 1.25).
        max_depth: cap on blocks per stage; stage i may use 1 .. min(max_depth, STAGE_DEPTHS[i] + 1). Default 4.
        se_ratios: squeeze-excite ratios in [0, 1) (0 = none). Default (0.0,): no SE, not a decision.
        activations: among "relu", "relu6", "swish", "hswish". Default ("relu6",): not a decision.

    With the defaults ``size == 36**7 * (2*3*4*4*4*4*2) == 240_734_712_102_912`` (28 decisions); the named space
    ``network_space("mobilenetv2")`` adds ``se_ratios=(0.0, 0.25)``, ``activations=("relu6", "swish")``.
    """

    kind = "mobilenetv2"
    _cand_cls = NetworkCandidate
    _fields = _MNV2_FIELDS
    _num_stages = NUM_STAGES
    _always = ("kernel", "expansion", "depth", "width")

    def __init__(
        self,
        *,
        kernels: Sequence[int] = (3, 5, 7),
        expansions: Sequence[int] = (1, 3, 6),
        widths: Sequence[float] = (0.5, 0.75, 1.0, 1.25),
        max_depth: int = 4,
        se_ratios: Sequence[float] = (0.0,),
        activations: Sequence[str] = ("relu6",),
    ) -> None:
        self.kernels = checked_choices("kernels", kernels, _odd_kernel)
        self.expansions = checked_choices("expansions", expansions, _expansion)
        self.widths = tuple(float(w) for w in checked_choices("widths", widths, _width))
        self.se_ratios = tuple(float(v) for v in checked_choices("se_ratios", se_ratios, _se))
        self.activations = checked_choices("activations", activations, _act)
        if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
            raise ValueError(f"max_depth must be a positive int, got max_depth={max_depth!r}")
        self.max_depth = max_depth
        self.depth_choices: tuple[tuple[int, ...], ...] = tuple(
            tuple(range(1, min(max_depth, d + 1) + 1)) for d in STAGE_DEPTHS
        )
        self._field_choices = [
            {"kernel": self.kernels, "expansion": self.expansions, "depth": self.depth_choices[s],
             "width": self.widths, "se": self.se_ratios, "act": self.activations}
            for s in range(NUM_STAGES)
        ]
        self._setup()

    def __repr__(self) -> str:
        extra = ""
        if self.se_ratios != (0.0,) or self.activations != ("relu6",):
            extra = f", se_ratios={self.se_ratios}, activations={self.activations}"
        return (
            f"NetworkSpace(kernels={self.kernels}, expansions={self.expansions}, widths={self.widths}, "
            f"max_depth={self.max_depth}{extra})"
        )

    @property
    def reference(self) -> NetworkCandidate:
        """MobileNetV2 1.0 (when its choices are in the space)."""
        return self.validate(NetworkCandidate.mobilenet_v2())

    def network_def(self, candidate: NetworkCandidate) -> NetworkDef:
        self.validate(candidate)
        stages = []
        for s in range(NUM_STAGES):
            e = candidate.expansion[s]
            act = candidate.act[s]
            stages.append((BlockSpec(
                type="ds" if e == 1 else "ir", repeat=candidate.depth[s], kernel=candidate.kernel[s],
                stride=STAGE_STRIDES[s], out=candidate.channels[s], exp=float(e), se=float(candidate.se[s]),
                act=None if act == "relu6" else act,
            ).to_string(),))
        return NetworkDef(tuple(stages), stem_size=32, num_features=1280, act="relu6", name=self.short_name(candidate))

    def to_block_strings(self, candidate: NetworkCandidate) -> list[list[str]]:
        """timm ``arch_def``: one list holding one block string per stage (7 lists), e.g. for MobileNetV2
        ``[["ds_r1_k3_s1_c16"], ["ir_r2_k3_s2_e6_c24"], ..., ["ir_r1_k3_s1_e6_c320"]]``; a stage with SE gets
        ``_se0.25``, a swish stage ``_nsw``."""
        return self._network_def(candidate).block_strings()

    def short_name(self, candidate: NetworkCandidate) -> str:
        """Compact readable id: per stage ``k{kernel}e{expansion}d{depth}w{width}`` (plus ``se``/``sw`` when
        set), joined by ``-``."""
        self.validate(candidate)
        out = []
        for s in range(NUM_STAGES):
            out.append(f"k{candidate.kernel[s]}e{candidate.expansion[s]}d{candidate.depth[s]}"
                       f"w{candidate.width[s]:g}" + _se_act_suffix(candidate.se[s], candidate.act[s], "relu6"))
        return "-".join(out)


# =====================================================================================================
# edgetpu
# =====================================================================================================
_ETPU_FIELDS = ("block", "group", "kernel", "expansion", "depth", "width", "se", "act")
_ETPU_N = len(EDGETPU_STAGES)
#: Block types of the Edge-TPU spaces: IBN (timm ``ir``), fused IBN (``er``), group-conv IBN (``er`` + ``gs``).
EDGETPU_BLOCKS: tuple[str, ...] = ("ibn", "fused", "gc-fused")
_BLOCKS = EDGETPU_BLOCKS[:2]  # the default edgetpu space's
#: Default input channels per group of a GC-IBN block's expansion conv.
GC_GROUP_CHANNELS = 8
#: Allowed input channels per group: the divisors of 8, which divide every (multiple-of-8) channel count.
_GC_GROUP_CHOICES = (1, 2, 4, 8)
_SHORT_BLOCK = {"ibn": "i", "fused": "f", "gc-fused": "g"}


@dataclass(frozen=True)
class EdgeTpuNetCandidate:
    """One network of the Edge-TPU-tailored spaces: per-stage tuples of length 6.

    Attributes:
        block: ``"ibn"`` (1x1 expansion + depthwise KxK), ``"fused"`` (one full KxK conv) or ``"gc-fused"``
            (group-conv IBN: the fused block's KxK conv as a group conv; ``edgetpu-gc`` only) per stage.
        kernel, expansion, depth, width: as in :class:`NetworkCandidate`.
        se: squeeze-excite ratio per stage (default 0). act: activation per stage (default ReLU).
        group: input channels per group of a ``"gc-fused"`` stage's expansion conv (``groups = in / group``;
            default :data:`GC_GROUP_CHANNELS` = 8); ignored by the other block types.
    """

    block: tuple[str, ...]
    kernel: tuple[int, ...]
    expansion: tuple[int, ...]
    depth: tuple[int, ...]
    width: tuple[float, ...]
    se: tuple[float, ...] = (0.0,) * _ETPU_N
    act: tuple[str, ...] = ("relu",) * _ETPU_N
    group: tuple[int, ...] = (GC_GROUP_CHANNELS,) * _ETPU_N

    def __post_init__(self) -> None:
        for field in _ETPU_FIELDS:
            object.__setattr__(self, field, _as_tuple("EdgeTpuNetCandidate", field, getattr(self, field), _ETPU_N))

    @classmethod
    def efficientnet_edgetpu_s(cls) -> "EdgeTpuNetCandidate":
        """EfficientNet-EdgeTPU-S (FACTS.md; timm ``efficientnet_es``)."""
        return cls(
            block=tuple(b for *_, b in EDGETPU_STAGES),
            kernel=tuple(k for _, k, *_ in EDGETPU_STAGES),
            expansion=tuple(e for _, _, _, e, *_ in EDGETPU_STAGES),
            depth=tuple(r for r, *_ in EDGETPU_STAGES),
            width=(1.0,) * _ETPU_N,
        )

    @property
    def channels(self) -> tuple[int, ...]:
        """Output channels per stage: ``round_to_multiple(base * width, 8)``."""
        return tuple(round_to_multiple(st[4] * float(w)) for st, w in zip(EDGETPU_STAGES, self.width))


class EdgeTpuNetworkSpace(_StagedSpace[EdgeTpuNetCandidate]):
    """The Edge-TPU-tailored space, optionally with group-conv IBN blocks (see the module docstring).

    Args (keyword-only): choices shared by all stages. Each takes a list (or tuple) of values, or one value as
    the only choice (``group_channels=4`` is ``(4,)``, ``blocks="ibn"`` is ``("ibn",)``).
        blocks: block types among "ibn", "fused", "gc-fused" (:data:`EDGETPU_BLOCKS`). Default ("ibn", "fused");
            ``network_space("edgetpu-gc")`` allows all three.
        group_channels: input channels per group of a "gc-fused" block's expansion conv, among 1, 2, 4, 8 (the
            divisors of 8, so they divide every channel count of the space at every width and ``channel_scale``).
            Default (8,): fixed, not a decision; several values make ``stage{i}.group`` a decision (only with
            "gc-fused" in ``blocks``), unused in stages of another block type (such encodings build the same
            network; :meth:`network_key` tells).
        kernels: odd ints in [1, 31], default (3, 5). expansions: ints in [1, 64], default (2, 4, 6, 8).
        widths: in [0.05, 8], default (0.5, 0.75, 1.0, 1.25).
        max_depth: stage i may use 1 .. min(max_depth, default depth + 1) blocks. Default 6.
        se_ratios: default (0.0,). activations: default ("relu",).

    Default size: (2*2*4*4)^6 * (2*3*5*6*5*3) = 185_542_587_187_200 (30 decisions: 5 per stage). With
    ``blocks=("ibn", "fused", "gc-fused")`` (``edgetpu-gc``): (3*2*4*4)^6 * 2700 = 2_113_446_032_179_200, the same
    30 decisions.
    """

    kind = "edgetpu"
    _cand_cls = EdgeTpuNetCandidate
    _fields = _ETPU_FIELDS
    _num_stages = _ETPU_N
    _always = ("block", "kernel", "expansion", "depth", "width")

    def __init__(
        self,
        *,
        blocks: Sequence[str] = _BLOCKS,
        group_channels: Sequence[int] = (GC_GROUP_CHANNELS,),
        kernels: Sequence[int] = (3, 5),
        expansions: Sequence[int] = (2, 4, 6, 8),
        widths: Sequence[float] = (0.5, 0.75, 1.0, 1.25),
        max_depth: int = 6,
        se_ratios: Sequence[float] = (0.0,),
        activations: Sequence[str] = ("relu",),
    ) -> None:
        def _block(field: str, v: Any) -> None:
            if v not in EDGETPU_BLOCKS:
                raise ValueError(f"{field} must be among {EDGETPU_BLOCKS}, got block={v!r}")

        def _group(field: str, v: Any) -> None:
            if isinstance(v, bool) or not isinstance(v, int) or v not in _GC_GROUP_CHOICES:
                raise ValueError(f"{field} must be among {_GC_GROUP_CHOICES} (input channels per group; they must "
                                 f"divide every channel count, which are multiples of 8), got group={v!r}")

        self.blocks = checked_choices("blocks", blocks, _block)
        self.group_channels = checked_choices("group_channels", group_channels, _group)
        if len(self.group_channels) > 1 and "gc-fused" not in self.blocks:
            raise ValueError(f"group_channels={self.group_channels} is a decision only for 'gc-fused' blocks, "
                             f"which blocks={self.blocks} does not allow")
        self.kernels = checked_choices("kernels", kernels, _odd_kernel)
        self.expansions = checked_choices("expansions", expansions, _expansion)
        self.widths = tuple(float(w) for w in checked_choices("widths", widths, _width))
        self.se_ratios = tuple(float(v) for v in checked_choices("se_ratios", se_ratios, _se))
        self.activations = checked_choices("activations", activations, _act)
        if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
            raise ValueError(f"max_depth must be a positive int, got max_depth={max_depth!r}")
        self.max_depth = max_depth
        self.depth_choices = tuple(tuple(range(1, min(max_depth, st[0] + 1) + 1)) for st in EDGETPU_STAGES)
        self._field_choices = [
            {"block": self.blocks, "group": self.group_channels, "kernel": self.kernels,
             "expansion": self.expansions, "depth": self.depth_choices[s], "width": self.widths,
             "se": self.se_ratios, "act": self.activations}
            for s in range(_ETPU_N)
        ]
        self._setup()

    def __repr__(self) -> str:
        # the default space's repr is unchanged (search checkpoints compare it on resume)
        gc = ""
        if "gc-fused" in self.blocks or self.group_channels != (GC_GROUP_CHANNELS,):
            gc = f", group_channels={self.group_channels}"
        return (f"EdgeTpuNetworkSpace(blocks={self.blocks}{gc}, kernels={self.kernels}, expansions={self.expansions}, "
                f"widths={self.widths}, max_depth={self.max_depth}, se_ratios={self.se_ratios}, "
                f"activations={self.activations})")

    @property
    def reference(self) -> EdgeTpuNetCandidate:
        """EfficientNet-EdgeTPU-S (its ``group``, unused, set to the first ``group_channels`` choice)."""
        es = EdgeTpuNetCandidate.efficientnet_edgetpu_s()
        if self.group_channels[0] != GC_GROUP_CHANNELS:
            es = replace(es, group=(self.group_channels[0],) * _ETPU_N)
        return self.validate(es)

    def network_def(self, candidate: EdgeTpuNetCandidate) -> NetworkDef:
        self.validate(candidate)
        stages = []
        chans = candidate.channels
        for s in range(_ETPU_N):
            block = candidate.block[s]
            act = candidate.act[s]
            e = candidate.expansion[s]
            stages.append((BlockSpec(
                type="ir" if block == "ibn" else "er", repeat=candidate.depth[s], kernel=candidate.kernel[s],
                stride=EDGETPU_STAGES[s][2], out=chans[s], exp=float(e),
                se=float(candidate.se[s]), act=None if act == "relu" else act,
                # stage 1: EfficientNet-EdgeTPU-S's fc for fused IBN only (module docstring: not for GC-IBN)
                force_in=chans[s] if (s == 0 and block == "fused") else 0, noskip=s == 0,
                # GC-IBN: group inputs `group` channels wide; timm counts gs on conv_exp's output, in * e
                group_size=candidate.group[s] * e if block == "gc-fused" else 0,
            ).to_string(),))
        return NetworkDef(tuple(stages), stem_size=32, num_features=1280, act="relu", name=self.short_name(candidate))

    def short_name(self, candidate: EdgeTpuNetCandidate) -> str:
        """Per stage ``{f|i|g<group>}k{kernel}e{expansion}d{depth}w{width}`` joined by ``-`` (f = fused IBN,
        i = IBN, g8 = GC-IBN with 8 input channels per group)."""
        self.validate(candidate)
        out = []
        for s in range(_ETPU_N):
            b = candidate.block[s]
            out.append(f"{_SHORT_BLOCK[b]}{candidate.group[s] if b == 'gc-fused' else ''}k{candidate.kernel[s]}"
                       f"e{candidate.expansion[s]}d{candidate.depth[s]}w{candidate.width[s]:g}"
                       + _se_act_suffix(candidate.se[s], candidate.act[s], "relu"))
        return "-".join(out)


# =====================================================================================================
# fbnet
# =====================================================================================================
_FB_N = len(FBNET_LAYERS)


@dataclass(frozen=True)
class FBNetCandidate:
    """One network of the FBNet space: ``ops``, one op name (:data:`FBNET_OPS`) per searchable layer (22)."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        ops = _as_tuple("FBNetCandidate", "ops", self.ops, _FB_N)
        object.__setattr__(self, "ops", tuple(str(o) for o in ops))

    @classmethod
    def uniform(cls, op: str = "k3_e6") -> "FBNetCandidate":
        """Every layer the same op (``"k3_e6"``: a MobileNetV2-like body)."""
        if op not in FBNET_OPS:
            raise ValueError(f"op must be one of {list(FBNET_OPS)}, got op={op!r}")
        return cls(ops=(op,) * _FB_N)


class FBNetSpace(NetworkSpaceBase[FBNetCandidate]):
    """FBNet's 22-layer, 9-op space (see the module docstring). Decisions ``layer{i}.op``, i = 0..21.

    Args (keyword-only):
        ops: allowed op names (subset of :data:`FBNET_OPS`), a list or one name. Default all nine.
    """

    kind = "fbnet"

    def __init__(self, *, ops: Sequence[str] = tuple(FBNET_OPS)) -> None:
        def _op(field: str, v: Any) -> None:
            if v not in FBNET_OPS:
                raise ValueError(f"{field} must be among {list(FBNET_OPS)}, got op={v!r}")

        self.ops = checked_choices("ops", ops, _op)
        self._names = tuple(f"layer{i}.op" for i in range(_FB_N))
        self._choices = tuple(self.ops for _ in range(_FB_N))

    def __repr__(self) -> str:
        return f"FBNetSpace(ops={self.ops})"

    def _values(self, candidate: FBNetCandidate) -> tuple[Any, ...]:
        if not isinstance(candidate, FBNetCandidate):
            raise ValueError(f"expected a FBNetCandidate, got {type(candidate).__name__}: {candidate!r}")
        return candidate.ops

    def _build(self, values: tuple[Any, ...]) -> FBNetCandidate:
        return FBNetCandidate(ops=tuple(values))

    @property
    def reference(self) -> FBNetCandidate:
        """Every layer ``k3_e6`` (if allowed, else every layer the first allowed op)."""
        op = "k3_e6" if "k3_e6" in self.ops else self.ops[0]
        return FBNetCandidate.uniform(op)

    def network_def(self, candidate: FBNetCandidate) -> NetworkDef:
        self.validate(candidate)
        stages: dict[int, list[str]] = {}
        cin = 16
        for (stage, cout, stride), op in zip(FBNET_LAYERS, candidate.ops):
            spec = FBNET_OPS[op]
            if spec is None:
                if cin != cout or stride != 1:
                    stages.setdefault(stage, []).append(f"cn_r1_k1_s{stride}_c{cout}")
            else:
                k, e, g = spec
                text = f"ir_r1_k{k}_s{stride}_e{e}_c{cout}" + (f"_pg{g}" if g > 1 else "")
                stages.setdefault(stage, []).append(text)
            cin = cout
        arch = tuple(tuple(stages[s]) for s in sorted(stages))
        return NetworkDef(arch, stem_size=16, num_features=1984, act="relu", name=self.short_name(candidate))

    def short_name(self, candidate: FBNetCandidate) -> str:
        """The 22 op names joined by ``-``."""
        self.validate(candidate)
        return "-".join(candidate.ops)
