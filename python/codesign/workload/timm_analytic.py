"""Named timm models of the EfficientNet family -> :class:`~codesign.workload.Workload` without torch or timm:
:func:`from_timm_analytic`, :func:`is_analytic`, :data:`ANALYTIC_MODELS`.

For the models listed in :data:`ANALYTIC_MODELS` the workload is built from facts about how timm defines them
(block strings, channel and depth multipliers, stem and head sizes, activation, padding, squeeze-excite style,
default input size) by :func:`codesign.workload.effnet.effnet_workload`, in about a millisecond, and equals
``codesign.workload.from_timm(name)`` layer by layer (``tests/test_timm_analytic.py`` traces every listed model
and compares every field). The facts were read from timm 1.0.31's source:

* ``timm/models/efficientnet.py``: the generators ``_gen_mobilenet_v1``, ``_gen_mobilenet_v2``,
  ``_gen_mnasnet_a1`` / ``_gen_mnasnet_b1`` / ``_gen_mnasnet_small``, ``_gen_fbnetc``, ``_gen_spnasnet``,
  ``_gen_efficientnet``, ``_gen_efficientnet_edge``, ``_gen_efficientnet_lite`` and ``_gen_mobilenet_edgetpu``
  (arch_def, stem, head, activation, rounding), the registered model functions (multipliers; ``tf_*``:
  ``pad_type='same'``) and the ``EfficientNet`` class (stem, head, defaults ``num_features=1280``, ReLU);
* ``timm/models/mobilenetv3.py``: ``_gen_mobilenet_v3`` and the ``MobileNetV3`` class (pooled head with a biased
  1x1 conv, ``se_from_exp=True``, SE with ReLU, hard-sigmoid gate and ``round_channels``; ``fix_stem`` below a
  0.75 multiplier);
* ``timm/models/_efficientnet_builder.py``: ``decode_arch_def`` (depth scaling, ``fix_first_last``),
  ``round_channels`` and ``EfficientNetBuilder`` (SE ratio over the expansion ratio);
* the pretrained configs (``default_cfgs``): the default input size of each model's first tag.

Another timm version may define a model differently; :mod:`codesign.workload.cache` keys traced entries by the
timm version, this table does not (it is checked against the installed timm by the tests).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

from ._checks import _as_int, _describe, _pair
from .block_strings import parse_block, round_channels, scale_stage_depth
from .effnet import EffNetStyle, effnet_workload
from .table import Workload

__all__ = ["ANALYTIC_MODELS", "from_timm_analytic", "is_analytic"]

_MNV2 = (("ds_r1_k3_s1_c16",), ("ir_r2_k3_s2_e6_c24",), ("ir_r3_k3_s2_e6_c32",), ("ir_r4_k3_s2_e6_c64",),
         ("ir_r3_k3_s1_e6_c96",), ("ir_r3_k3_s2_e6_c160",), ("ir_r1_k3_s1_e6_c320",))
_MNV1 = (("dsa_r1_k3_s1_c64",), ("dsa_r2_k3_s2_c128",), ("dsa_r2_k3_s2_c256",), ("dsa_r6_k3_s2_c512",),
         ("dsa_r2_k3_s2_c1024",))
_EFFNET = (("ds_r1_k3_s1_e1_c16_se0.25",), ("ir_r2_k3_s2_e6_c24_se0.25",), ("ir_r2_k5_s2_e6_c40_se0.25",),
           ("ir_r3_k3_s2_e6_c80_se0.25",), ("ir_r3_k5_s1_e6_c112_se0.25",), ("ir_r4_k5_s2_e6_c192_se0.25",),
           ("ir_r1_k3_s1_e6_c320_se0.25",))
_LITE = tuple(tuple(s.replace("_se0.25", "") for s in stage) for stage in _EFFNET)
_EDGE = (("er_r1_k3_s1_e4_c24_fc24_noskip",), ("er_r2_k3_s2_e8_c32",), ("er_r4_k3_s2_e8_c48",),
         ("ir_r5_k5_s2_e8_c96",), ("ir_r4_k5_s1_e8_c144",), ("ir_r2_k5_s2_e8_c192",))
_MNAS_A1 = (("ds_r1_k3_s1_e1_c16_noskip",), ("ir_r2_k3_s2_e6_c24",), ("ir_r3_k5_s2_e3_c40_se0.25",),
            ("ir_r4_k3_s2_e6_c80",), ("ir_r2_k3_s1_e6_c112_se0.25",), ("ir_r3_k5_s2_e6_c160_se0.25",),
            ("ir_r1_k3_s1_e6_c320",))
_MNAS_B1 = (("ds_r1_k3_s1_c16_noskip",), ("ir_r3_k3_s2_e3_c24",), ("ir_r3_k5_s2_e3_c40",), ("ir_r3_k5_s2_e6_c80",),
            ("ir_r2_k3_s1_e6_c96",), ("ir_r4_k5_s2_e6_c192",), ("ir_r1_k3_s1_e6_c320_noskip",))
_MNAS_SMALL = (("ds_r1_k3_s1_c8",), ("ir_r1_k3_s2_e3_c16",), ("ir_r2_k3_s2_e6_c16",), ("ir_r4_k5_s2_e6_c32_se0.25",),
               ("ir_r3_k3_s1_e6_c32_se0.25",), ("ir_r3_k5_s2_e6_c88_se0.25",), ("ir_r1_k3_s1_e6_c144",))
_FBNETC = (("ir_r1_k3_s1_e1_c16",), ("ir_r1_k3_s2_e6_c24", "ir_r2_k3_s1_e1_c24"),
           ("ir_r1_k5_s2_e6_c32", "ir_r1_k5_s1_e3_c32", "ir_r1_k5_s1_e6_c32", "ir_r1_k3_s1_e6_c32"),
           ("ir_r1_k5_s2_e6_c64", "ir_r1_k5_s1_e3_c64", "ir_r2_k5_s1_e6_c64"),
           ("ir_r3_k5_s1_e6_c112", "ir_r1_k5_s1_e3_c112"), ("ir_r4_k5_s2_e6_c184",), ("ir_r1_k3_s1_e6_c352",))
_SPNAS = (("ds_r1_k3_s1_c16_noskip",), ("ir_r3_k3_s2_e3_c24",), ("ir_r1_k5_s2_e6_c40", "ir_r3_k3_s1_e3_c40"),
          ("ir_r1_k5_s2_e6_c80", "ir_r3_k3_s1_e3_c80"), ("ir_r1_k5_s1_e6_c96", "ir_r3_k5_s1_e3_c96"),
          ("ir_r4_k5_s2_e6_c192",), ("ir_r1_k3_s1_e6_c320_noskip",))
_MNET_EDGETPU = (("cn_r1_k1_s1_c16",), ("er_r1_k3_s2_e8_c32", "er_r3_k3_s1_e4_c32"),
                 ("er_r1_k3_s2_e8_c48", "er_r3_k3_s1_e4_c48"), ("ir_r1_k3_s2_e8_c96", "ir_r3_k3_s1_e4_c96"),
                 ("ir_r1_k3_s1_e8_c96_noskip", "ir_r3_k3_s1_e4_c96"), ("ir_r1_k5_s2_e8_c160", "ir_r3_k5_s1_e4_c160"),
                 ("ir_r1_k3_s1_e8_c192",))
_MNV3_LARGE = (("ds_r1_k3_s1_e1_c16_nre",), ("ir_r1_k3_s2_e4_c24_nre", "ir_r1_k3_s1_e3_c24_nre"),
               ("ir_r3_k5_s2_e3_c40_se0.25_nre",), ("ir_r1_k3_s2_e6_c80", "ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"),
               ("ir_r2_k3_s1_e6_c112_se0.25",), ("ir_r3_k5_s2_e6_c160_se0.25",), ("cn_r1_k1_s1_c960",))
_MNV3_LARGE_MIN = (("ds_r1_k3_s1_e1_c16",), ("ir_r1_k3_s2_e4_c24", "ir_r1_k3_s1_e3_c24"), ("ir_r3_k3_s2_e3_c40",),
                   ("ir_r1_k3_s2_e6_c80", "ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"), ("ir_r2_k3_s1_e6_c112",),
                   ("ir_r3_k3_s2_e6_c160",), ("cn_r1_k1_s1_c960",))
_MNV3_SMALL = (("ds_r1_k3_s2_e1_c16_se0.25_nre",), ("ir_r1_k3_s2_e4.5_c24_nre", "ir_r1_k3_s1_e3.67_c24_nre"),
               ("ir_r1_k5_s2_e4_c40_se0.25", "ir_r2_k5_s1_e6_c40_se0.25"), ("ir_r2_k5_s1_e3_c48_se0.25",),
               ("ir_r3_k5_s2_e6_c96_se0.25",), ("cn_r1_k1_s1_c576",))
_MNV3_SMALL_MIN = (("ds_r1_k3_s2_e1_c16",), ("ir_r1_k3_s2_e4.5_c24", "ir_r1_k3_s1_e3.67_c24"),
                   ("ir_r1_k3_s2_e4_c40", "ir_r2_k3_s1_e6_c40"), ("ir_r2_k3_s1_e3_c48",), ("ir_r3_k3_s2_e6_c96",),
                   ("cn_r1_k1_s1_c576",))


def _edgetpu_v2(chs: tuple[int, ...], gs: int) -> tuple[tuple[str, ...], ...]:
    """``_gen_mobilenet_edgetpu``'s v2 arch_def for stage channels ``chs`` and group size ``gs``."""
    return ((f"cn_r1_k1_s1_c{chs[0]}",), (f"er_r1_k3_s2_e8_c{chs[1]}", f"er_r1_k3_s1_e4_gs{gs}_c{chs[1]}"),
            (f"er_r1_k3_s2_e8_c{chs[2]}", f"er_r1_k3_s1_e4_gs{gs}_c{chs[2]}", f"er_r1_k3_s1_e4_c{chs[2]}",
             f"er_r1_k3_s1_e4_gs{gs}_c{chs[2]}"),
            (f"er_r1_k3_s2_e8_c{chs[3]}", f"ir_r3_k3_s1_e4_c{chs[3]}"),
            (f"ir_r1_k3_s1_e8_c{chs[4]}", f"ir_r3_k3_s1_e4_c{chs[4]}"),
            (f"ir_r1_k3_s2_e8_c{chs[5]}", f"ir_r3_k3_s1_e4_c{chs[5]}"), (f"ir_r1_k3_s1_e8_c{chs[6]}",))


@dataclass(frozen=True)
class _Recipe:
    """One timm model: its arch_def and the arguments its generator passes to the model class.

    ``stem`` / ``head``: base channels (``head`` 0: no head conv); ``fix_stem``: the stem is not rounded;
    ``head_rounded``: the head is ``round_chs(head)`` (``"max"``: ``max(head, round_chs(head))``, MobileNetV2;
    ``""``: as given); ``fix_first_last``: the first and last stages keep their depth (``decode_arch_def``)."""

    arch: tuple[tuple[str, ...], ...]
    act: str
    stem: int = 32
    head: int = 1280
    fix_stem: bool = False
    head_rounded: str = ""
    fix_first_last: bool = False
    channel: float = 1.0
    depth: float = 1.0
    side: int = 224
    style: EffNetStyle = EffNetStyle()


_MNV3 = EffNetStyle(se_from_exp=True, se_gate="hsigmoid", se_act="relu", pooled_head=True)
_TF = EffNetStyle(pad_same=True)
_TF_MNV3 = replace(_MNV3, pad_same=True)
_R = partial(_Recipe)
_MODELS: dict[str, _Recipe] = {}
for _cm, _tag in ((0.35, "035"), (0.5, "050"), (0.75, "075"), (1.0, "100"), (1.4, "140")):
    _MODELS[f"mobilenetv2_{_tag}"] = _R(_MNV2, "relu6", head_rounded="max", channel=_cm)
for _tag, _cm, _dm in (("110d", 1.1, 1.2), ("120d", 1.2, 1.4)):
    _MODELS[f"mobilenetv2_{_tag}"] = _R(_MNV2, "relu6", fix_stem=True, fix_first_last=True, channel=_cm, depth=_dm)
for _tag, _cm in (("100", 1.0), ("125", 1.25)):
    _MODELS[f"mobilenetv1_{_tag}"] = _R(_MNV1, "relu6", head=0, channel=_cm)
_MODELS["mobilenetv1_100h"] = _R(_MNV1, "relu6", head=1024, head_rounded="max")
for _i, (_cm, _dm, _eff, _tf) in enumerate(((1.0, 1.0, 224, 224), (1.0, 1.1, 240, 240), (1.1, 1.2, 256, 260),
                                            (1.2, 1.4, 288, 300), (1.4, 1.8, 320, 380))):
    _MODELS[f"efficientnet_b{_i}"] = _R(_EFFNET, "swish", head_rounded="round", channel=_cm, depth=_dm, side=_eff)
    _MODELS[f"tf_efficientnet_b{_i}"] = _R(_EFFNET, "swish", head_rounded="round", channel=_cm, depth=_dm, side=_tf,
                                           style=_TF)
for _i, (_cm, _dm, _side) in enumerate(((1.0, 1.0, 224), (1.0, 1.1, 240), (1.1, 1.2, 260), (1.2, 1.4, 300),
                                        (1.4, 1.8, 380))):
    for _pre, _style in (("", EffNetStyle()), ("tf_", _TF)):
        _MODELS[f"{_pre}efficientnet_lite{_i}"] = _R(_LITE, "relu6", fix_stem=True, fix_first_last=True, channel=_cm,
                                                     depth=_dm, side=_side, style=_style)
for _tag, _cm, _dm, _side in (("es", 1.0, 1.0, 224), ("em", 1.0, 1.1, 240), ("el", 1.2, 1.4, 300)):
    for _pre, _style in (("", EffNetStyle()), ("tf_", _TF)):
        _MODELS[f"{_pre}efficientnet_{_tag}"] = _R(_EDGE, "relu", head_rounded="round", channel=_cm, depth=_dm,
                                                   side=_side, style=_style)
for _tag, _cm in (("050", 0.5), ("075", 0.75), ("100", 1.0), ("140", 1.4)):
    _MODELS[f"mnasnet_{_tag}"] = _R(_MNAS_B1, "relu", channel=_cm)
    _MODELS[f"semnasnet_{_tag}"] = _R(_MNAS_A1, "relu", channel=_cm)
_MODELS["mnasnet_small"] = _R(_MNAS_SMALL, "relu", stem=8)
_MODELS["fbnetc_100"] = _R(_FBNETC, "relu", stem=16, head=1984)
_MODELS["spnasnet_100"] = _R(_SPNAS, "relu")
_MODELS["mobilenet_edgetpu_100"] = _R(_MNET_EDGETPU, "relu")
for _tag, _chs, _stem, _k, _gs, _head in (("xs", (16, 32, 48, 96, 144, 160, 192), 32, 3, 64, 1280),
                                          ("s", (24, 48, 64, 128, 160, 192, 256), 64, 5, 64, 1280),
                                          ("m", (32, 64, 80, 160, 192, 240, 320), 64, 5, 64, 1344),
                                          ("l", (32, 64, 96, 192, 240, 256, 384), 64, 7, 128, 1408)):
    _MODELS[f"mobilenet_edgetpu_v2_{_tag}"] = _R(_edgetpu_v2(_chs, _gs), "relu", stem=_stem, head=_head,
                                                 style=EffNetStyle(stem_kernel=_k))
for _pre, _style in (("", _MNV3), ("tf_", _TF_MNV3)):
    for _size, _arch, _min_arch, _head in (("large", _MNV3_LARGE, _MNV3_LARGE_MIN, 1280),
                                           ("small", _MNV3_SMALL, _MNV3_SMALL_MIN, 1024)):
        for _tag, _cm in (("050", 0.5), ("075", 0.75), ("100", 1.0)):
            _MODELS[f"{_pre}mobilenetv3_{_size}_{_tag}"] = _R(_arch, "hswish", stem=16, head=_head,
                                                              fix_stem=_cm < 0.75, channel=_cm, style=_style)
        _MODELS[f"{_pre}mobilenetv3_{_size}_minimal_100"] = _R(_min_arch, "relu", stem=16, head=_head, style=_style)
_MODELS["mobilenetv3_large_150d"] = _R(_MNV3_LARGE, "hswish", stem=16, head=1280, channel=1.5, depth=1.2, side=256,
                                       style=_MNV3)
# timm registers only some of the combinations above
_REGISTERED = frozenset((
    "mobilenetv3_large_075", "mobilenetv3_large_100", "mobilenetv3_small_050", "mobilenetv3_small_075",
    "mobilenetv3_small_100", "mobilenetv3_large_150d", "tf_mobilenetv3_large_075", "tf_mobilenetv3_large_100",
    "tf_mobilenetv3_large_minimal_100", "tf_mobilenetv3_small_075", "tf_mobilenetv3_small_100",
    "tf_mobilenetv3_small_minimal_100"))
_MODELS = {k: v for k, v in _MODELS.items() if "mobilenetv3" not in k or k in _REGISTERED}

#: The timm model names :func:`from_timm_analytic` builds (sorted).
ANALYTIC_MODELS: tuple[str, ...] = tuple(sorted(_MODELS))


def is_analytic(name: object) -> bool:
    """True when :func:`from_timm_analytic` builds ``name`` (a name in :data:`ANALYTIC_MODELS`; a timm name with
    a pretrained tag, ``"mobilenetv2_100.ra_in1k"``, is not, as its default input size may differ)."""
    return isinstance(name, str) and name in _MODELS


def from_timm_analytic(name: str, *, resolution: int | tuple[int, int] | None = None, batch: int = 1) -> Workload:
    """The workload of timm model ``name`` computed from facts about its definition, without torch or timm.

    Equals :func:`codesign.workload.from_timm` ``(name, resolution=resolution, batch=batch)`` (``ops="all"``):
    same name, source ``"timm:<name>"``, layers, parameter count and :attr:`Workload.input_shape`.

    Args:
        name: one of :data:`ANALYTIC_MODELS`.
        resolution: input side in pixels or an ``(H, W)`` pair; None: the model's default (its first pretrained
            config's ``input_size``).
        batch: batch size N.

    Raises:
        ValueError: a name not in :data:`ANALYTIC_MODELS` (use :func:`codesign.workload.from_timm`), a bad
            resolution or batch, or an input too small for the network.
        TypeError: a name that is not a str.
    """
    if not isinstance(name, str):
        raise TypeError(f"from_timm_analytic name must be a str, got {_describe(name)}")
    recipe = _MODELS.get(name)
    if recipe is None:
        raise ValueError(f"from_timm_analytic: {name!r} is not one of the analytic timm models "
                         f"(codesign.workload.timm_analytic.ANALYTIC_MODELS); use codesign.workload.from_timm")
    rh, rw = (recipe.side, recipe.side) if resolution is None else _pair("from_timm", "resolution", resolution, 1)
    batch = _as_int("from_timm", "batch", batch, 1)
    rc = partial(round_channels, multiplier=recipe.channel)
    last = len(recipe.arch) - 1
    stages = []
    for si, strings in enumerate(recipe.arch):
        specs = [parse_block(s) for s in strings]
        depth = 1.0 if recipe.fix_first_last and si in (0, last) else recipe.depth
        reps = scale_stage_depth([s.repeat for s in specs], depth)
        stages.append(tuple(replace(s, repeat=r) for s, r in zip(specs, reps)))
    head = {"": recipe.head, "round": rc(recipe.head), "max": max(recipe.head, rc(recipe.head))}[recipe.head_rounded]
    return effnet_workload(stages, stem_size=recipe.stem if recipe.fix_stem else rc(recipe.stem),
                           num_features=head, act=recipe.act, input_shape=(batch, 3, rh, rw), name=name,
                           source=f"timm:{name}", round_chs=rc, style=recipe.style)
