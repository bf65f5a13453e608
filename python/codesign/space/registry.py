"""Named spaces, and spaces defined in a TOML or YAML file.

Names (``network_space(name)``, ``hardware_space(name)``):

============================  ==================================================================================
name                          space
============================  ==================================================================================
``mobilenetv2``               :class:`~codesign.space.nas.NetworkSpace` with SE (0 / 0.25) and ReLU6 / swish per
                              stage (the issue's MobileNetV2 / MnasNet-style space)
``mobilenetv2-base``          ``NetworkSpace()``: the first search's space (no SE, ReLU6)
``edgetpu``                   :class:`~codesign.space.nas.EdgeTpuNetworkSpace` (IBN / fused IBN per stage)
``edgetpu-gc``                ``EdgeTpuNetworkSpace(blocks=("ibn", "fused", "gc-fused"))``: also the group-conv
                              IBN (GC-IBN, 8 input channels per group) per stage
``fbnet``                     :class:`~codesign.space.nas.FBNetSpace`
``nb201``                     :class:`~codesign.space.nb201.NB201Space` (NAS-Bench-201's 15,625 cells; setting
                              ``dataset`` = cifar10 | cifar100 | imagenet16)
``accel-nasbench``            :class:`~codesign.space.accel_nasbench.AccelNasBenchSpace` (Accel-NASBench's
                              7 MBConv blocks x expansion, kernel, layers, SE on EfficientNet-B0's skeleton)
``edgetpu-space``             :class:`~codesign.space.hw.EdgeTpuHardwareSpace` (the published 50,000 points)
``systolic-space``            :class:`~codesign.space.hw.HardwareSpace` (37,500 systolic arrays)
============================  ==================================================================================

A space file (``.toml``, or ``.yaml`` / ``.yml`` with pyyaml installed) has a ``[network]`` and/or a
``[hardware]`` table; ``type`` names the space and every other key is a keyword argument of its class, e.g.::

    [network]
    type = "edgetpu"            # mobilenetv2 | mobilenetv2-base | edgetpu | edgetpu-gc | fbnet | accel-nasbench
    kernels = [3, 5]
    expansions = [4, 8]
    se_ratios = [0.0, 0.25]
    # blocks = ["ibn", "fused", "gc-fused"]   # opt in to GC-IBN (what edgetpu-gc sets)
    # group_channels = [4, 8]                 # GC-IBN input channels per group; several = a decision per stage

    [hardware]
    type = "edgetpu-space"      # edgetpu-space | systolic-space
    pe_x = [2, 4, 8]
    io_bw_gbps = [10, 20]
    base = "edgetpu-baseline"

:func:`load_space_file` returns a :class:`~codesign.space.joint.JointSpace` when both tables are present, else
the one space. Unknown keys raise ValueError naming them; so does a ``network`` or ``hardware`` that is not a
table, and ``hw_mutation_prob`` in a file that is not joint.

Every setting that takes choices (``kernels``, ``blocks``, ``pe_x``, ...) takes a list, or one value as its only
choice: ``kernels = 3`` is ``kernels = [3]`` and ``blocks = "gc-fused"`` is ``blocks = ["gc-fused"]`` (a string
is one choice, never split into its characters). Int-valued choices (kernels, expansions, group_channels, the
PE counts, ...) must be written as ints (``3``, not ``3.0``). Ranges: ``kernels`` odd in [1, 31],
``expansions`` in [1, 64], ``widths`` (channel multipliers) in [0.05, 8]; hardware choices must be finite and
positive, and the space's extreme designs must be valid configurations (e.g. SRAMs large enough for the
largest array).
"""
from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..datafile import read_document
from ._base import CategoricalSpace
from .accel_nasbench import AccelNasBenchSpace
from .hw import EdgeTpuHardwareSpace, HardwareSpace
from .joint import JointSpace
from .nas import EDGETPU_BLOCKS, EdgeTpuNetworkSpace, FBNetSpace, NetworkSpace, NetworkSpaceBase
from .nb201 import NB201Space

__all__ = ["NETWORK_SPACES", "HARDWARE_SPACES", "network_space", "hardware_space", "load_space_file", "space_from_dict"]


def _mobilenetv2(**kw: Any) -> NetworkSpace:
    kw.setdefault("se_ratios", (0.0, 0.25))
    kw.setdefault("activations", ("relu6", "swish"))
    return NetworkSpace(**kw)


def _edgetpu_gc(**kw: Any) -> EdgeTpuNetworkSpace:
    kw.setdefault("blocks", EDGETPU_BLOCKS)
    return EdgeTpuNetworkSpace(**kw)


#: name -> factory of the network space.
NETWORK_SPACES: dict[str, Any] = {
    "mobilenetv2": _mobilenetv2,
    "mobilenetv2-base": NetworkSpace,
    "edgetpu": EdgeTpuNetworkSpace,
    "edgetpu-gc": _edgetpu_gc,
    "fbnet": FBNetSpace,
    "nb201": NB201Space,
    "accel-nasbench": AccelNasBenchSpace,
}
#: factories that are not classes -> the class whose keyword arguments they take.
_FACTORY_CLASS: dict[Any, type] = {_mobilenetv2: NetworkSpace, _edgetpu_gc: EdgeTpuNetworkSpace}
#: name -> factory of the hardware space.
HARDWARE_SPACES: dict[str, Any] = {
    "edgetpu-space": EdgeTpuHardwareSpace,
    "systolic-space": HardwareSpace,
}


def _make(table: dict[str, Any], name: str, where: str, **kw: Any) -> Any:
    key = str(name).lower()
    if key not in table:
        raise ValueError(f"unknown {where} space {name!r}; known: {', '.join(table)}")
    factory = table[key]
    target = _FACTORY_CLASS.get(factory, factory)
    params = inspect.signature(target.__init__).parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = [k for k in kw if k not in params and not accepts_any]
    if unknown:
        allowed = [p for p in params if p != "self" and params[p].kind is not params[p].VAR_KEYWORD]
        raise ValueError(f"{where} space {name!r} has no setting {unknown[0]!r}; settings: {allowed}")
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in kw.items()}
    return factory(**kw)


def network_space(name: str, **settings: Any) -> NetworkSpaceBase:
    """The named network space (see the module table); ``settings`` are keyword arguments of its class."""
    return _make(NETWORK_SPACES, name, "network", **settings)


def hardware_space(name: str, **settings: Any) -> CategoricalSpace:
    """The named hardware space (see the module table); ``settings`` are keyword arguments of its class."""
    return _make(HARDWARE_SPACES, name, "hardware", **settings)


def space_from_dict(doc: dict[str, Any], *, where: str = "space definition") -> Any:
    """Build the space(s) described by a parsed space file (see the module docstring)."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"{where}: expected a table with 'network' and/or 'hardware', got {type(doc).__name__}")
    unknown = set(doc) - {"network", "hardware", "hw_mutation_prob"}
    if unknown:
        raise ValueError(f"{where}: unknown top-level key(s) {sorted(unknown)}; expected 'network', 'hardware'")
    built: dict[str, Any] = {}
    for part, fn in (("network", network_space), ("hardware", hardware_space)):
        if part in doc:
            if not isinstance(doc[part], Mapping):
                raise ValueError(f"{where}: [{part}] must be a table (mapping) with a 'type' and the space's "
                                 f"settings, got {part}={doc[part]!r}")
            table = dict(doc[part])
            bad_keys = [k for k in table if not isinstance(k, str)]
            if bad_keys:
                raise ValueError(f"{where}: [{part}] setting names must be strings, got {bad_keys[0]!r}")
            if "type" not in table:
                raise ValueError(f"{where}: [{part}] needs a 'type'")
            name = table.pop("type")
            if not isinstance(name, str):
                raise ValueError(f"{where}: [{part}] type must be a space name (a string), got type={name!r}")
            try:
                built[part] = fn(name, **table)
            except (ValueError, TypeError) as exc:
                raise (TypeError if isinstance(exc, TypeError) else ValueError)(f"{where}: [{part}] {exc}") from None
    if not built:
        raise ValueError(f"{where}: defines neither [network] nor [hardware]")
    if len(built) == 2:
        try:
            return JointSpace(built["network"], built["hardware"], hw_mutation_prob=doc.get("hw_mutation_prob", 0.5))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if "hw_mutation_prob" in doc:
        raise ValueError(f"{where}: hw_mutation_prob applies to a joint space, which needs both [network] and "
                         f"[hardware]; this file defines only [{next(iter(built))}]")
    return next(iter(built.values()))


def load_space_file(path: str | os.PathLike[str]) -> Any:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``, needs pyyaml) space file; see the module docstring."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no space file at {p}")
    if p.suffix.lower() not in (".toml", ".yaml", ".yml"):
        raise ValueError(f"{p}: space files must end in .toml, .yaml or .yml, got {p.suffix.lower()!r}")
    doc = read_document(p, kinds=("toml", "yaml"))
    if isinstance(doc, dict) and "grid" in doc and "base" in doc and not ({"network", "hardware"} & set(doc)):
        raise ValueError(f"{p}: this is a sweep space file (base + grid, for codesign sweep); codesign search takes "
                         "a search space file with [network] and/or [hardware] tables (see README, 'Space files')")
    return space_from_dict(doc, where=str(p))
