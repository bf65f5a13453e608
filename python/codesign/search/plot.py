"""Plot of a search: accuracy vs latency and accuracy vs energy (or area), with the Pareto fronts marked; for a
multi-model search (fixed networks, so no accuracy to trade), each network's latency against area.

The y axis says what was measured: "surrogate accuracy" (a formula of MACs and parameters, no training), "proxy
accuracy" (a short Fashion-MNIST training, a ranking signal) or "accuracy" (an evaluator given from Python).

Needs matplotlib (the ``search`` extra); uses the non-interactive Agg backend.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .pareto import nondominated

__all__ = ["plot_trials", "plot_multi_model", "ACCURACY_LABELS"]


ACCURACY_LABELS = {"surrogate": "surrogate accuracy (no training)", "proxy": "proxy accuracy (Fashion-MNIST)"}


def _networks(trials: Sequence[dict[str, Any]]) -> list[str]:
    """The networks of a multi-model search (metrics ``latency_ms.<network>``), in first-seen order."""
    names: list[str] = []
    for t in trials:
        for k in t.get("metrics", {}):
            if k.startswith("latency_ms.") and k[len("latency_ms."):] not in names:
                names.append(k[len("latency_ms."):])
    return names


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = Path(path)
    tmp = out.with_name(out.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, out)
    return out


def _log_x_if_wide(ax: Any, xs: np.ndarray) -> None:
    if xs.size and xs.min() > 0 and xs.max() / xs.min() > 20:
        from matplotlib.ticker import FuncFormatter, LogLocator

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def plot_multi_model(trials: Sequence[dict[str, Any]], path: str | os.PathLike[str], *, title: str = "",
                     target_latency_ms: float | None = None) -> Path:
    """A multi-model search: left, each network's latency (ms) against area (mm^2), one colour per network;
    right, the aggregate latency (the objective's ``latency_ms``) against area with its Pareto front."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    done = [t for t in trials if t.get("status") == "complete" and "area_mm2" in t.get("metrics", {})]
    nets = _networks(done)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    cmap = plt.get_cmap("tab10")
    area = np.array([t["metrics"]["area_mm2"] for t in done], dtype=float)
    for i, n in enumerate(nets):
        lat = np.array([t["metrics"].get(f"latency_ms.{n}", np.nan) for t in done], dtype=float)
        left.scatter(area, lat, s=12, alpha=0.6, color=cmap(i % 10), label=n)
    left.set_ylabel("latency per network (ms)")
    agg = np.array([t["metrics"].get("latency_ms", np.nan) for t in done], dtype=float)
    right.scatter(area, agg, s=14, alpha=0.6, color=cmap(0), label="trials")
    ok = np.isfinite(agg)
    if ok.any():
        pts = np.stack([area[ok], agg[ok]], axis=1)
        f = pts[nondominated(pts, ("min", "min"))]
        f = f[np.argsort(f[:, 0])]
        right.step(f[:, 0], f[:, 1], where="post", color="red", lw=1.5, label="Pareto front")
        right.scatter(f[:, 0], f[:, 1], s=30, color="red", zorder=3)
    if target_latency_ms:
        right.axhline(target_latency_ms, ls="--", color="grey", lw=1, label=f"target {target_latency_ms:g} ms")
    right.set_ylabel("aggregate latency (ms)")
    for ax in (left, right):
        ax.set_xlabel("area (mm$^2$)")
        _log_x_if_wide(ax, area)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle((title + "\n" if title else "") + f"{len(done)} complete trials, {len(trials) - len(done)} "
                 f"infeasible or failed; {len(nets)} networks (fixed: no accuracy to trade)", fontsize=10)
    return _save(fig, path)


def plot_trials(trials: Sequence[dict[str, Any]], path: str | os.PathLike[str], *, title: str = "",
                target_latency_ms: float | None = None, front: Sequence[int] | None = None,
                accuracy_kind: str | None = None, accuracy_label: str | None = None) -> Path:
    """Write a PNG with one panel per trade-off: accuracy vs ``latency_ms`` and accuracy vs ``energy_mj`` (or
    ``area_mm2`` when no trial has energy); a multi-model search goes to :func:`plot_multi_model`.
    ``accuracy_kind``: the search's accuracy (``surrogate``, ``proxy``, ``fixed``, ...), named on the y axis;
    ``accuracy_label`` (e.g. "NB201 cifar10 top-1 (200 ep)") names it in full and wins.

    Complete trials are dots (coloured by search phase when there are several); the 2-D Pareto front of each
    panel is a red staircase (log x axis when the values span more than 20x); ``front`` (trial ids, e.g. the archive over all objectives) are ringed in black;
    ``target_latency_ms`` is a dashed line. Infeasible and failed trials are counted in the title. The y axis is
    ``accuracy_label`` (which signal produced the accuracies, e.g. "NB201 cifar10 top-1 (200 ep)"). Returns the
    path written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if accuracy_kind == "fixed" or _networks(trials):
        return plot_multi_model(trials, path, title=title, target_latency_ms=target_latency_ms)
    done = [t for t in trials if t.get("status") == "complete" and t.get("metrics", {}).get("accuracy") is not None]
    n_bad = len(trials) - len(done)
    second = "energy_mj" if any("energy_mj" in t["metrics"] for t in done) else "area_mm2"
    labels = {"latency_ms": "latency (ms)", "energy_mj": "energy per inference (mJ)", "area_mm2": "area (mm$^2$)"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    phases = sorted({t.get("phase", 0) for t in done})
    cmap = plt.get_cmap("tab10")
    ring = set(front or ())
    for ax, metric in zip(axes, ("latency_ms", second)):
        pts = [(t["metrics"][metric], t["metrics"]["accuracy"], t.get("phase", 0), t["trial"]) for t in done
               if metric in t["metrics"]]
        if pts:
            arr = np.array([(x, y) for x, y, _, _ in pts], dtype=float)
            for ph in phases:
                sel = [i for i, p in enumerate(pts) if p[2] == ph]
                name = next((t.get("phase_name") for t in done if t.get("phase", 0) == ph), None)
                ax.scatter(arr[sel, 0], arr[sel, 1], s=14, alpha=0.6, color=cmap(ph % 10),
                           label=f"phase {ph}: {name}" if len(phases) > 1 else "trials")
            idx = nondominated(arr, ("min", "max"))
            f = arr[idx]
            f = f[np.argsort(f[:, 0])]
            xs, ys = [], []
            for x, y in f:
                if xs:
                    xs.append(x)
                    ys.append(ys[-1])
                xs.append(x)
                ys.append(y)
            ax.plot(xs, ys, "-", color="red", lw=1.5, label="Pareto front (this panel)")
            ax.scatter(f[:, 0], f[:, 1], s=30, color="red", zorder=3)
            ringed = [i for i, p in enumerate(pts) if p[3] in ring]
            if ringed:
                ax.scatter(arr[ringed, 0], arr[ringed, 1], s=70, facecolors="none", edgecolors="black", lw=0.8,
                           zorder=4, label="Pareto archive (all objectives)")
        if metric == "latency_ms" and target_latency_ms:
            ax.axvline(target_latency_ms, ls="--", color="grey", lw=1, label=f"target {target_latency_ms:g} ms")
        if pts:
            _log_x_if_wide(ax, arr[:, 0])
        ax.set_xlabel(labels[metric])
        ax.set_ylabel(accuracy_label or ACCURACY_LABELS.get(accuracy_kind or "", "accuracy"))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle((title + "\n" if title else "") + f"{len(done)} complete trials, {n_bad} infeasible or failed",
                 fontsize=10)
    return _save(fig, path)
