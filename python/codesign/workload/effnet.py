"""EfficientNet-family networks -> :class:`~codesign.workload.Workload`, analytically: :func:`effnet_workload`.

The network is a stem conv, stages of block strings (:mod:`codesign.workload.block_strings`), a head and a
classifier, laid out as timm lays out its ``EfficientNet`` class (``timm/models/efficientnet.py``) and its
``MobileNetV3`` class (``timm/models/mobilenetv3.py``), with the blocks of ``timm/models/_efficientnet_blocks.py``
built as ``EfficientNetBuilder`` (``timm/models/_efficientnet_builder.py``) builds them. The result is, layer for
layer, what :func:`codesign.workload.from_torch` reports for that timm model (same names, N,K,C,P,Q,R,S, strides,
paddings, groups, fused activations, pooling / add / multiply layers and parameter count); the tests check it
against traced timm models (``tests/test_timm_analytic.py``) and against the search spaces' models
(``tests/test_space.py``). Pure Python: about a millisecond per network, no torch.

The two model classes differ in the parts :class:`EffNetStyle` names: padding (timm's ``pad_type=''``:
symmetric ``((stride - 1) + (k - 1)) // 2``; ``'same'``, the TensorFlow ports: TF 'SAME' padding, static where the
stride is 1 and the kernel odd, else the input padded inside the conv to ``ceil(H / stride)`` outputs), the
squeeze-excite reduction (EfficientNet: ``round(chs * se / e)``, SE ratio relative to the block input;
MobileNetV3: ``make_divisible(chs * se)`` on the expanded channels, ReLU and a hard-sigmoid gate) and the head
(EfficientNet: 1x1 conv + BN + act, then the global pool; MobileNetV3: the global pool, then a 1x1 conv with a
bias and the activation, no BN).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .block_strings import BlockSpec, make_divisible
from .layer import Layer
from .table import Workload

__all__ = ["EffNetStyle", "effnet_workload"]


@dataclass(frozen=True)
class EffNetStyle:
    """The parts of the model around the blocks that differ between timm's model classes.

    Attributes:
        pad_same: TensorFlow 'SAME' padding (timm's ``pad_type='same'``, the ``tf_*`` ports); False: timm's
            symmetric default.
        se_from_exp: MobileNetV3's squeeze-excite: ratio relative to the expanded channels, reduced channels
            rounded by :func:`~codesign.workload.block_strings.make_divisible`; False: EfficientNet's
            ``round(chs * se / e)``.
        se_gate: activation of the SE expand conv (``"sigmoid"``; MobileNetV3 ``"hsigmoid"``).
        se_act: activation of the SE reduce conv; None: the block's (MobileNetV3 forces ``"relu"``).
        pooled_head: MobileNetV3's head (global pool, then a 1x1 conv with bias and the model activation);
            False: EfficientNet's (1x1 conv + BN + act, then the global pool).
        stem_kernel: the stem conv's kernel (stride 2).
    """

    pad_same: bool = False
    se_from_exp: bool = False
    se_gate: str = "sigmoid"
    se_act: str | None = None
    pooled_head: bool = False
    stem_kernel: int = 3


#: Convolution layers made, by (name, sizes, activation): layers are immutable, so networks share them.
_CONVS: dict[tuple[Any, ...], Layer] = {}
_CONVS_MAX = 50_000


def _geometry(size: int, kernel: int, stride: int, same: bool) -> tuple[int, int]:
    """(pad, out) of one spatial dimension, as timm pads (``timm/layers/padding.py``: ``get_padding``,
    ``is_static_pad``, ``get_same_padding``) and as :func:`~codesign.workload.from_torch` reports a conv that pads
    inside its forward (the smallest symmetric pad covering every window computed)."""
    if not same or (stride == 1 and (kernel - 1) % 2 == 0):
        pad = ((stride - 1) + (kernel - 1)) // 2 if not same else (kernel - 1) // 2
        return pad, (size + 2 * pad - kernel) // stride + 1
    out = -(-size // stride)  # TF 'SAME': ceil(size / stride) outputs
    if (size - kernel) // stride + 1 == out:
        return 0, out
    total = max((out - 1) * stride + kernel - size, 0)
    return (total + 1) // 2, out


def _groups(prefix: str, spec: BlockSpec, counted: int, other: int, side: str, default: int) -> int:
    """timm's ``num_groups(spec.group_size, counted)``, checked: ``gs`` divides ``counted`` (the channels timm
    counts groups on) and the group count divides ``other``, the conv's ``side`` channels (ValueError naming the
    block otherwise)."""
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


def effnet_workload(stages: Sequence[Sequence[BlockSpec]], *, stem_size: int, num_features: int, act: str,
                    input_shape: Sequence[int], name: str, source: str, num_classes: int = 1000,
                    round_chs: Callable[[int], int] = int, style: EffNetStyle = EffNetStyle()) -> Workload:
    """The :class:`Workload` of an EfficientNet-family network, computed without torch.

    Args:
        stages: the parsed block strings per stage, each :attr:`BlockSpec.repeat` already the final count
            (after :func:`~codesign.workload.block_strings.scale_stage_depth`).
        stem_size: the stem conv's output channels, already rounded (timm rounds it unless ``fix_stem``).
        num_features: the head conv's channels (0: no head conv, as timm's EfficientNet).
        act: the model activation (:data:`~codesign.workload.ACTIVATIONS`): stem, head and every block without an
            override.
        input_shape: ``(N, C, H, W)`` of the input.
        name, source: the workload's name and source.
        num_classes: classifier outputs.
        round_chs: timm's ``round_chs_fn``, applied to every block's ``c`` and ``fc``.
        style: the model class's conventions (:class:`EffNetStyle`).

    Returns:
        A :class:`Workload` with ``input_shape`` and the parameter count (conv weights, BatchNorm scale and shift,
        conv biases, classifier weights and bias).

    Raises:
        ValueError: a group size that does not divide a block's channels, or an input too small for a conv (from
            :class:`Layer`).
    """
    n, cin, h, w = (int(v) for v in input_shape)
    layers: list[Layer] = []
    params = 0

    def conv(lname: str, c: int, k: int, h_: int, w_: int, r: int, stride: int, groups: int, act_: str,
             *, bn: bool = True, bias: bool = False) -> tuple[int, int]:
        nonlocal params
        ph, p = _geometry(h_, r, stride, style.pad_same)
        pw, q = _geometry(w_, r, stride, style.pad_same)
        key = (lname, n, k, c, p, q, r, h_, w_, stride, ph, pw, groups, act_)
        layer = _CONVS.get(key)
        if layer is None:  # validated once; the same conv of another network of a search is the same Layer
            layer = Layer(lname, "conv", n=n, k=k, c=c, p=p, q=q, r=r, s=r, h=h_, w=w_, stride_h=stride,
                          stride_w=stride, pad_h=ph, pad_w=pw, groups=groups, act=act_)
            if len(_CONVS) >= _CONVS_MAX:
                _CONVS.clear()
            _CONVS[key] = layer
        layers.append(layer)
        params += k * (c // groups) * r * r + (2 * k if bn else 0) + (k if bias else 0)
        return p, q

    def se_block(prefix: str, chs: int, h_: int, w_: int, spec: BlockSpec, block_act: str) -> None:
        if style.se_from_exp:
            rd = make_divisible(chs * spec.se)
        else:
            rd = round(chs * (spec.se / (spec.exp if spec.type in ("ir", "er") else 1.0)))
        layers.append(Layer.global_pool(f"{prefix}.se.mean", c=chs, h=h_, w=w_, n=n))
        conv(f"{prefix}.se.conv_reduce", chs, rd, 1, 1, 1, 1, 1, style.se_act or block_act, bn=False, bias=True)
        conv(f"{prefix}.se.conv_expand", rd, chs, 1, 1, 1, 1, 1, style.se_gate, bn=False, bias=True)
        layers.append(Layer.mul(f"{prefix}.se.mul", c=chs, h=h_, w=w_, n=n))

    h, w = conv("conv_stem", cin, stem_size, h, w, style.stem_kernel, 2, 1, act)
    chs = stem_size
    for si, stage in enumerate(stages):
        bi = 0
        for spec in stage:
            for _ in range(spec.repeat):
                prefix = f"blocks.{si}.{bi}"
                stride = spec.stride if bi == 0 else 1
                bact = spec.act or act
                out = round_chs(spec.out)
                in_chs = chs
                if spec.type in ("ds", "dsa"):
                    groups = _groups(prefix, spec, in_chs, in_chs, "output", in_chs)
                    h, w = conv(f"{prefix}.conv_dw", in_chs, in_chs, h, w, spec.kernel, stride, groups, bact)
                    if spec.se:
                        se_block(prefix, in_chs, h, w, spec, bact)
                    conv(f"{prefix}.conv_pw", in_chs, out, h, w, 1, 1, 1, bact if spec.type == "dsa" else "none")
                    has_skip = spec.type == "ds" and stride == 1 and in_chs == out and not spec.noskip
                elif spec.type == "ir":
                    mid = make_divisible(in_chs * spec.exp)
                    g = spec.pw_groups
                    conv(f"{prefix}.conv_pw", in_chs, mid, h, w, 1, 1, g, bact)
                    groups = _groups(prefix, spec, mid, mid, "input", mid)
                    h, w = conv(f"{prefix}.conv_dw", mid, mid, h, w, spec.kernel, stride, groups, bact)
                    if spec.se:
                        se_block(prefix, mid, h, w, spec, bact)
                    conv(f"{prefix}.conv_pwl", mid, out, h, w, 1, 1, g, "none")
                    has_skip = in_chs == out and stride == 1 and not spec.noskip
                elif spec.type == "er":
                    base = round_chs(spec.force_in) if spec.force_in else in_chs
                    mid = make_divisible(base * spec.exp)
                    groups = _groups(prefix, spec, mid, in_chs, "input", 1)  # timm: from conv_exp's output
                    h, w = conv(f"{prefix}.conv_exp", in_chs, mid, h, w, spec.kernel, stride, groups, bact)
                    if spec.se:
                        se_block(prefix, mid, h, w, spec, bact)
                    conv(f"{prefix}.conv_pwl", mid, out, h, w, 1, 1, 1, "none")
                    has_skip = in_chs == out and stride == 1 and not spec.noskip
                else:  # cn
                    groups = _groups(prefix, spec, in_chs, out, "output", 1)
                    h, w = conv(f"{prefix}.conv", in_chs, out, h, w, spec.kernel, stride, groups, bact)
                    has_skip = spec.skip and stride == 1 and in_chs == out
                if has_skip:
                    layers.append(Layer.add(f"{prefix}.add", c=out, h=h, w=w, n=n))
                chs = out
                bi += 1
    if style.pooled_head:
        layers.append(Layer.global_pool("global_pool", c=chs, h=h, w=w, n=n))
        conv("conv_head", chs, num_features, 1, 1, 1, 1, 1, act, bn=False, bias=True)
        chs = num_features
    else:
        if num_features > 0:
            h, w = conv("conv_head", chs, num_features, h, w, 1, 1, 1, act)
            chs = num_features
        layers.append(Layer.global_pool("global_pool", c=chs, h=h, w=w, n=n))
    layers.append(Layer.fc("classifier", in_features=chs, out_features=num_classes, n=n))
    params += chs * num_classes + num_classes
    return Workload(name, layers, params=params, source=source, input_shape=(n, cin, int(input_shape[2]),
                                                                                int(input_shape[3])))

