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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

# The block-string grammar and the analytic builder live in codesign.workload (they also build named timm
# models, codesign.workload.timm_analytic); re-exported here, as before.
from codesign.workload.block_strings import ACT_TOKENS, BlockSpec, format_block, make_divisible, parse_block
from codesign.workload.effnet import effnet_workload

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from codesign.workload import Workload

__all__ = ["BlockSpec", "NetworkDef", "ACT_TOKENS", "make_divisible", "parse_block", "format_block"]

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
        shape = tuple(input_shape)
        if len(shape) != 4 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape):
            raise ValueError(f"input_shape must be four positive ints (N, C, H, W), got input_shape={input_shape!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got num_classes={num_classes!r}")
        rc = _round_fn(channel_scale)
        nf = self.num_features if num_features is None else int(num_features)
        return effnet_workload(self._blocks, stem_size=rc(self.stem_size), num_features=nf, act=self.act,
                               input_shape=shape, name=name or self.name, source=f"codesign.space:{self.name}",
                               num_classes=num_classes, round_chs=rc)

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
