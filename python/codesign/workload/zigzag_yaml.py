"""ZigZag's workload YAML (``inputs/workload/*.yaml``: a list of layers with ``loop_dims`` / ``loop_sizes``) ->
:class:`~codesign.workload.Workload`: :func:`from_zigzag_yaml`. Facts of the format from ZigZag's own examples.
Needs PyYAML.
"""
from __future__ import annotations

import os
import re
from typing import Any

from .layer import Layer
from .table import Workload, _unique_names

__all__ = ["from_zigzag_yaml"]

_REL_RE = re.compile(r"^\s*i([xy])\s*=\s*(\d+)\s*\*\s*o[xy]\s*\+\s*(\d+)\s*\*\s*f[xy]\s*$")
_POOL = {"Pooling", "MaxPool", "AveragePool", "Pool"}
_ELTWISE = {"Add", "Sub", "Mul", "Eltwise"}


def from_zigzag_yaml(path: str | os.PathLike[str], *, name: str | None = None) -> Workload:
    """Read a ZigZag workload YAML.

    Each entry's ``loop_dims``/``loop_sizes`` give ``B`` (n), ``K``, ``C``, ``G`` (groups: a grouped or depthwise
    convolution has ``c = G*C``, ``k = G*K``), ``OY`` (p), ``OX`` (q), ``FY`` (r), ``FX`` (s); strides and
    dilations come from ``dimension_relations`` (``ix=2*ox+1*fx``: stride 2, dilation 1), padding from
    ``padding: {IY: [top, bottom], IX: [left, right]}`` when present (else none). The input size is then
    ``H = (P-1)*stride + dilation*(R-1) + 1 - 2*pad``. ``operator_type`` ``Pooling`` is a ``"pool"`` layer over
    ``G`` channels, ``Add`` an ``"add"``; any other type is a MAC layer (``"fc"`` when every spatial size is 1).

    Raises:
        ValueError: not a list of layers, a missing or non-positive loop size, a relation that is not of the
            form above, or a regular-file/size/UTF-8 failure (messages name the file and the layer id).
        ImportError: PyYAML is missing.
    """
    from ..zigzag_hardware import _load_yaml

    path_str = os.fspath(path)
    doc = _load_yaml(path_str, "ZigZag workload YAML")
    if not isinstance(doc, list) or not doc or not all(isinstance(e, dict) for e in doc):
        raise ValueError(f"{path_str}: a ZigZag workload YAML is a list of layers (mappings), got "
                         f"{type(doc).__name__}")
    layers = [_layer(path_str, i, e) for i, e in enumerate(doc)]
    names = _unique_names(lay.name for lay in layers)
    import dataclasses

    layers = [lay if lay.name == nm else dataclasses.replace(lay, name=nm) for lay, nm in zip(layers, names)]
    if name is None:
        name = os.path.splitext(os.path.basename(path_str))[0] or path_str
    return Workload(name, layers, source=f"zigzag:{path_str}")


def _layer(path: str, i: int, e: dict[str, Any]) -> Layer:
    where = f"{path}: layer id {e.get('id', i)}"
    dims, sizes = e.get("loop_dims"), e.get("loop_sizes")
    if not isinstance(dims, list) or not isinstance(sizes, list) or len(dims) != len(sizes):
        raise ValueError(f"{where}: loop_dims and loop_sizes must be lists of the same length, got {dims!r}, {sizes!r}")
    size: dict[str, int] = {}
    for d, v in zip(dims, sizes):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{where}: loop size of {d} must be a positive int, got {v!r}")
        size[str(d).upper()] = v
    stride = {"x": 1, "y": 1}
    dil = {"x": 1, "y": 1}
    for rel in e.get("dimension_relations") or []:
        m = _REL_RE.match(str(rel).lower())
        if m is None:
            raise ValueError(f"{where}: dimension relation must read like 'ix=2*ox+1*fx', got {rel!r}")
        stride[m.group(1)], dil[m.group(1)] = int(m.group(2)), int(m.group(3))
    pad = {"y": 0, "x": 0}
    for axis, key in (("y", "IY"), ("x", "IX")):
        p = (e.get("padding") or {}).get(key)
        if isinstance(p, (list, tuple)) and p:
            pad[axis] = int(max(p))
    n, g = size.get("B", 1), size.get("G", 1)
    p, q, r, s = size.get("OY", 1), size.get("OX", 1), size.get("FY", 1), size.get("FX", 1)
    h = (p - 1) * stride["y"] + dil["y"] * (r - 1) + 1 - 2 * pad["y"]
    w = (q - 1) * stride["x"] + dil["x"] * (s - 1) + 1 - 2 * pad["x"]
    name = str(e.get("name") or f"layer{e.get('id', i)}")
    op = str(e.get("operator_type", ""))
    try:
        if op in _POOL:
            return Layer(name, "pool", n=n, k=g, c=g, p=p, q=q, r=r, s=s, h=h, w=w, stride_h=stride["y"],
                         stride_w=stride["x"], pad_h=pad["y"], pad_w=pad["x"], groups=g)
        if op in _ELTWISE:
            return Layer.add(name, c=g * size.get("K", 1), h=p, w=q, n=n)
        k, c = g * size.get("K", 1), g * size.get("C", 1)
        if p == q == r == s == 1:
            return Layer.fc(name, in_features=c, out_features=k, n=n) if g == 1 else \
                Layer(name, "conv", n=n, k=k, c=c, p=1, q=1, r=1, s=1, h=1, w=1, groups=g)
        return Layer(name, "conv", n=n, k=k, c=c, p=p, q=q, r=r, s=s, h=h, w=w, stride_h=stride["y"],
                     stride_w=stride["x"], pad_h=pad["y"], pad_w=pad["x"], dilation_h=dil["y"], dilation_w=dil["x"],
                     groups=g)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
