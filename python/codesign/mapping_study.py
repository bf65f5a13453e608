"""Mapping studies: one layer's whole map space on one accelerator, ranked; and plots of sweep results.

>>> layer = parse_layer("conv K=64 C=64 P=56 Q=56 R=3 S=3")
>>> study = map_study(layer, codesign.preset("edgetpu"), metric="energy", top=5)
>>> study.best["mapping"], study.top[["mapping", "cycles", "energy_pj"]]
>>> study.space.to_parquet("mapspace.parquet")              # every legal mapping, costed and ranked

On an Edge-TPU-like configuration the map space is the mapper's (:func:`codesign.map_space`: spatial unrolling
over PE columns/rows, lanes and SIMD units, weight and activation tiles, tile-loop order, lane stationarity).
On a systolic array a layer's mapping is fixed by the dataflow, so its "map space" is the three dataflows
(``os``, ``ws``, ``is``) with their folds.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["parse_layer", "MapStudy", "map_study", "plot_sweep", "read_table", "LAYER_KINDS"]

#: Kinds ``parse_layer`` accepts, and the fields each takes (upper case; sizes in elements).
LAYER_KINDS = {
    "conv": ("N", "K", "C", "P", "Q", "R", "S", "H", "W", "STRIDE", "PAD", "DILATION", "GROUPS"),
    "dwconv": ("N", "K", "C", "P", "Q", "R", "S", "H", "W", "STRIDE", "PAD", "DILATION"),
    "fc": ("N", "K", "C"),
    "gemm": ("M", "N", "K"),
}
_ALIASES = {"G": "GROUPS", "U": "STRIDE", "PADDING": "PAD", "DIL": "DILATION", "B": "N"}


def _input_size(out: int, stride: int, kern: int, dil: int, pad: int) -> int:
    """The input size giving ``out`` outputs under PyTorch's floor rule: ``out * stride`` ("same" padding, as
    TensorFlow and timm networks have it) when that works, else the smallest input that does."""
    same = out * stride
    if (same + 2 * pad - dil * (kern - 1) - 1) // stride + 1 == out:
        return same
    return (out - 1) * stride + (kern - 1) * dil + 1 - 2 * pad


def parse_layer(spec: str, *, name: str | None = None) -> Any:
    """A :class:`codesign.Layer` from text such as ``"conv K=64 C=64 P=56 Q=56 R=3 S=3"``.

    Kinds and fields (case-insensitive; ``key=value`` separated by spaces or commas):

    * ``conv``: ``K C`` and either ``P Q`` (output size) or ``H W`` (input size); ``R S`` (default 1; S
      defaults to R), ``N`` (1), ``stride`` (1), ``pad`` (default ``(R-1)//2``, "same" padding for odd
      filters), ``dilation`` (1), ``groups`` (1). Given ``P``, the input is ``H = P*stride`` when PyTorch's
      output rule gives ``P`` back from it (same padding), else the smallest ``H`` that does; given ``H``,
      ``P`` follows PyTorch's rule.
    * ``dwconv``: a depthwise conv (``groups = C = K``; give ``C`` or ``K``), other fields as ``conv``.
    * ``fc``: ``C`` inputs, ``K`` outputs, ``N`` rows.   * ``gemm``: ``M x K`` times ``K x N``.

    Raises:
        ValueError: an unknown kind or field, a non-integer value, a missing size, or a shape the layer
        model rejects; the message names the field and the value.
    """
    from .workload import Layer

    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"--layer must be text such as 'conv K=64 C=64 P=56 Q=56 R=3 S=3', got {spec!r}")
    tokens = [t for t in re.split(r"[\s,]+", spec.strip()) if t]
    kind = "conv"
    if "=" not in tokens[0]:
        kind = tokens.pop(0).lower()
        if kind not in LAYER_KINDS:
            raise ValueError(f"--layer {spec!r}: unknown kind {kind!r}; kinds: {', '.join(LAYER_KINDS)}")
    allowed = LAYER_KINDS[kind]
    f: dict[str, int] = {}
    for tok in tokens:
        if tok.count("=") != 1:
            raise ValueError(f"--layer {spec!r}: expected key=value, got {tok!r}")
        key, raw = tok.split("=")
        key = _ALIASES.get(key.strip().upper(), key.strip().upper())
        if key == "NAME":
            name = raw
            continue
        if key not in allowed:
            raise ValueError(f"--layer {spec!r}: unknown field {key!r} for {kind}; fields: {', '.join(allowed)}")
        if key in f:
            raise ValueError(f"--layer {spec!r}: {key} given twice")
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"--layer {spec!r}: {key} must be an integer, got {raw!r}") from None
        if value < (0 if key == "PAD" else 1):
            raise ValueError(f"--layer {spec!r}: {key} must be >= {0 if key == 'PAD' else 1}, got {value}")
        f[key] = value
    name = name or kind

    def need(*keys: str) -> None:
        missing = [k for k in keys if k not in f]
        if missing:
            raise ValueError(f"--layer {spec!r}: {kind} needs {' and '.join(missing)}")

    try:
        if kind == "fc":
            need("K", "C")
            return Layer.fc(name, in_features=f["C"], out_features=f["K"], n=f.get("N", 1))
        if kind == "gemm":
            need("M", "N", "K")
            return Layer.gemm(name, m=f["M"], n=f["N"], k=f["K"])
        if kind == "dwconv":
            if "C" not in f and "K" not in f:
                raise ValueError(f"--layer {spec!r}: dwconv needs C (= K)")
            c = f.get("C", f.get("K"))
            if f.get("K", c) != c:
                raise ValueError(f"--layer {spec!r}: dwconv needs K = C, got K={f['K']} C={c}")
            f["C"] = f["K"] = f["GROUPS"] = c
        else:
            need("K", "C")
        r = f.get("R", 1)
        s = f.get("S", r)
        st, dil = f.get("STRIDE", 1), f.get("DILATION", 1)
        pad_h = f.get("PAD", (r - 1) // 2)
        pad_w = f.get("PAD", (s - 1) // 2)
        groups = f.get("GROUPS", 1)
        if "P" in f or "Q" in f:
            p = f.get("P", f.get("Q"))
            q = f.get("Q", p)
            h = f.get("H", _input_size(p, st, r, dil, pad_h))
            w = f.get("W", _input_size(q, st, s, dil, pad_w))
            for key, v in (("H", h), ("W", w)):
                if v < 1:
                    raise ValueError(f"--layer {spec!r}: the input {key} = {v} implied by the output size, "
                                     f"stride, filter and pad is < 1; give {key} or a smaller pad")
            return Layer(name, "conv", n=f.get("N", 1), k=f["K"], c=f["C"], p=p, q=q, r=r, s=s, h=h, w=w,
                         stride_h=st, stride_w=st, pad_h=pad_h, pad_w=pad_w, dilation_h=dil, dilation_w=dil,
                         groups=groups)
        if "H" not in f and "W" not in f:
            raise ValueError(f"--layer {spec!r}: conv needs P and Q (output size) or H and W (input size)")
        h = f.get("H", f.get("W"))
        w = f.get("W", h)
        return Layer.conv(name, c=f["C"], k=f["K"], h=h, w=w, r=r, s=s, stride=st, padding=(pad_h, pad_w),
                          dilation=dil, groups=groups, n=f.get("N", 1))
    except TypeError as exc:
        raise ValueError(f"--layer {spec!r}: {exc}") from None
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith("--layer") else f"--layer {spec!r}: {msg}") from None


@dataclass
class MapStudy:
    """The map space of one layer on one accelerator, ranked by ``metric``.

    Attributes:
        layer, hw, metric: the inputs. space: pandas DataFrame of every legal mapping, best first, with
        ``rank`` (1 = best), ``mapping`` (text), ``cycles``, ``latency_ms`` and, on Edge-TPU-like
        configurations, ``energy_pj``, ``edp_pj_cycles`` and every field of :func:`codesign.map_space`.
        best: the first row as a dict. mapper_best: on Edge-TPU-like configurations, the mapper's own
        choice (:func:`codesign.map_layer`), which equals ``best`` for an exhaustive mapper without a
        ``dataflow`` filter.
    """

    layer: Any
    hw: Any
    metric: str
    space: Any
    mapper_best: dict[str, Any] | None = None

    @property
    def size(self) -> int:
        return len(self.space)

    @property
    def best(self) -> dict[str, Any]:
        return self.space.iloc[0].to_dict()

    def top(self, k: int = 10) -> Any:
        return self.space.head(k)


_SORT = {"latency": ("cycles", "energy_pj"), "energy": ("energy_pj", "cycles"), "edp": ("edp_pj_cycles", "cycles")}


def map_study(layer: Any, hw: Any, *, metric: str = "latency", dataflow: str | None = None,
              mapper: Any = None) -> MapStudy:
    """Every legal mapping of ``layer`` on ``hw``, costed and ranked by ``metric`` (latency, energy, edp; ties
    broken by the other of latency/energy, then by map-space order).

    ``dataflow``: on a systolic array, evaluate only that dataflow (default: all three); on an Edge-TPU-like
    configuration, keep only mappings whose lanes are ``ws`` (weight-stationary) or ``os``
    (output-stationary). ``mapper``: the options of the mapper run beside the ranking (default: the complete map
    space, the one ranked, with ``metric``).

    Raises:
        ValueError: an unknown metric or dataflow, energy on a systolic array (it has no energy model), or a
        layer with no legal mapping.
    """
    import pandas as pd

    from .cost import MapperOptions, evaluate, map_layer, map_space

    if metric not in _SORT:
        raise ValueError(f"--metric must be latency, energy or edp, got {metric!r}")
    kind = type(hw).__name__
    if kind == "SystolicArray":
        if metric != "latency":
            raise ValueError(f"--metric {metric}: systolic arrays have no energy model; use latency "
                             "(or an Edge-TPU-like --hw such as edgetpu)")
        flows = ("os", "ws", "is") if dataflow is None else (dataflow,)
        for d in flows:
            if d not in ("os", "ws", "is"):
                raise ValueError(f"--dataflow must be os, ws or is, got {d!r}")
        rows = []
        for d in flows:
            rec = evaluate(layer, hw.replace(dataflow=d)).to_dict()
            rec["dataflow"] = d
            rec["mapping"] = (f"{d}: Sr={rec['sr']} Sc={rec['sc']} T={rec['t']}, "
                              f"{rec['row_folds']}x{rec['col_folds']} folds")
            rows.append(rec)
        df = pd.DataFrame(rows)
        df["order_in_space"] = np.arange(len(df))
        df = df.sort_values(["cycles", "order_in_space"], kind="stable").reset_index(drop=True)
        df.insert(0, "rank", np.arange(1, len(df) + 1))
        lead = ["rank", "mapping", "cycles", "latency_ms"]
        return MapStudy(layer, hw, metric, df[lead + [c for c in df.columns if c not in lead]])
    if kind != "EdgeTpuConfig":
        raise TypeError(f"hw must be a codesign.EdgeTpuConfig or codesign.SystolicArray, got {kind}")
    if dataflow is not None and dataflow not in ("ws", "os"):
        raise ValueError(f"--dataflow on an Edge-TPU-like configuration selects the lanes' stationarity: ws or os, "
                         f"got {dataflow!r}")
    mapper = mapper or MapperOptions(metric=metric, space="complete")  # the space listed is the complete one
    space = map_space(layer, hw, constraints=mapper.constraints)
    df = pd.DataFrame({k: v for k, v in space.items()})
    df["order_in_space"] = np.arange(len(df))
    df["latency_ms"] = df["cycles"] / (hw.clock_mhz * 1e3)
    df["edp_pj_cycles"] = df["energy_pj"] * df["cycles"]
    df["lanes_stationarity"] = np.where(df["inner"] == 0, "ws", "os")
    if dataflow is not None:
        df = df[df["lanes_stationarity"] == dataflow]
        if not len(df):
            raise ValueError(f"--dataflow {dataflow}: no legal mapping of {layer.name!r} has {dataflow} lanes")
    first, second = _SORT[metric]
    df = df.sort_values([first, second, "order_in_space"], kind="stable").reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    lead = ["rank", "mapping", "cycles", "latency_ms", "energy_pj", "edp_pj_cycles", "utilization"]
    df = df[lead + [c for c in df.columns if c not in lead]]
    best = map_layer(layer, hw, mapper=mapper)
    best["latency_ms"] = best["cycles"] / (hw.clock_mhz * 1e3)
    best["edp_pj_cycles"] = best["energy_pj"] * best["cycles"]
    return MapStudy(layer, hw, metric, df, mapper_best=best)


# ============================================================================================================
# Plots
# ============================================================================================================
def plot_sweep(df: Any, x: str, *, y: Sequence[str] | None = None, out: str | os.PathLike[str] = "sweep.png",
               network: str | None = None, title: str | None = None, logy: bool | None = None) -> Path:
    """Draw each metric in ``y`` against the swept parameter ``x`` (one panel per metric, one colour per network):
    every configuration as a faint dot, the best (minimum) and the median at each ``x`` value as lines.
    Works on sweep results (:func:`codesign.sweep.read_sweep`) and on map spaces (``codesign map --all``).

    ``y`` defaults to latency_ms and energy_mj when present (cycles and energy_pj for map spaces).
    Writes a PNG (matplotlib, Agg backend) and returns its path.

    Raises:
        ValueError: ``x`` or a ``y`` not a column (the columns are listed), a non-numeric ``y``, an unknown
        network, or no rows to plot.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import pandas as pd

    cols = [str(c) for c in df.columns]
    if x not in df.columns:
        raise ValueError(f"--x {x!r} is not a column; columns: {', '.join(cols)}")
    if y is None:
        pairs = (("latency_ms", "energy_mj"), ("cycles", "energy_pj"), ("latency_ms",), ("cycles",))
        y = next((list(p) for p in pairs if all(c in df.columns for c in p)), None)
        if y is None:
            raise ValueError(f"give --y: no latency_ms/energy_mj or cycles/energy_pj columns; columns: {', '.join(cols)}")
    y = list(y)
    for c in y:
        if c not in df.columns:
            raise ValueError(f"--y {c!r} is not a column; columns: {', '.join(cols)}")
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise ValueError(f"--y {c!r} is not numeric")
    if "ok" in df.columns:
        df = df[df["ok"].astype(bool)]
    if network is not None:
        if "network" not in df.columns or network not in set(df["network"]):
            have = sorted(set(df["network"])) if "network" in df.columns else []
            raise ValueError(f"--network {network!r} is not in the results; networks: {', '.join(have) or 'none'}")
        df = df[df["network"] == network]
    if not len(df):
        raise ValueError("no rows to plot (every configuration failed, or the filter kept none)")
    groups = list(df.groupby("network", sort=False)) if "network" in df.columns else [("", df)]
    categorical = not pd.api.types.is_numeric_dtype(df[x])
    cats = sorted(set(df[x].astype(str))) if categorical else None
    fig, axes = plt.subplots(1, len(y), figsize=(5.2 * len(y), 4.2), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], y):
        for gi, (net, part) in enumerate(groups):
            color = colors[gi % len(colors)]
            xs = part[x].astype(str).map({c: i for i, c in enumerate(cats)}) if categorical else part[x]
            vals = part[metric].astype(float)
            rng = np.random.default_rng(0)
            jitter = rng.uniform(-0.15, 0.15, len(part)) if categorical else 0.0
            ax.scatter(np.asarray(xs, dtype=float) + jitter, vals, s=4, alpha=0.15, color=color, linewidths=0)
            agg = pd.DataFrame({"x": np.asarray(xs, dtype=float), "v": vals.to_numpy()}).groupby("x")["v"]
            best, med = agg.min(), agg.median()
            label = f"{net} " if net else ""
            ax.plot(best.index, best.to_numpy(), "-o", color=color, ms=3, label=f"{label}best")
            ax.plot(med.index, med.to_numpy(), "--", color=color, lw=1, label=f"{label}median")
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
        if categorical:
            ax.set_xticks(range(len(cats)))
            ax.set_xticklabels(cats)
        finite = df[metric].astype(float)
        finite = finite[np.isfinite(finite) & (finite > 0)]
        use_log = logy if logy is not None else (len(finite) > 0 and finite.max() / finite.min() > 100)
        if use_log:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title or f"{', '.join(y)} vs {x} ({len(df):,} rows)")
    fig.tight_layout()
    path = Path(out)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def read_table(path: str | os.PathLike[str]) -> Any:
    """A results table from a Parquet dataset (directory), a Parquet file or a CSV file."""
    from .sweep import read_sweep

    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p}: no such file or directory")
    return read_sweep(p)
