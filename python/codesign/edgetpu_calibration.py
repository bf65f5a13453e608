"""Calibration of the Edge TPU's per-op fixed costs on measured latencies (the procedure, not its data).

The device model (:class:`codesign.hardware.EdgeTpuConfig`) is analytical: per layer, the mapped compute, the
vector work, the I/O of streamed parameters and spilled activations, plus a fixed cost per op by kind
(:data:`codesign.hardware.OP_COST_FIELDS`) and one per inference. Latency is linear in the fixed costs::

    latency_ms(net, rig) = base_ms(net) + sum_kind count_kind(net) * op_us[kind] / 1000 + inference_us[rig] / 1000

where ``base_ms`` is the model with every fixed cost at 0 and ``count_kind`` the number of device ops of each
kind. So the fixed costs are fitted by non-negative least squares of the *relative* error, in one solve over
every measured network, with one per-inference cost per measuring rig (the NB201 cells and the Coral table were
measured on different rigs: shared/reference/nasbench/README.md) and the per-op costs shared by all: a handful of
physical constants, never a per-network term. :func:`kfold` judges them on cells the fit did not see.
``benchmarks/edgetpu_calibration/calibrate.py`` runs it on the reference data and prints the tables.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .hardware import OP_COST_FIELDS, EdgeTpuConfig

__all__ = ["OP_KINDS", "Measured", "Fit", "op_counts", "measure_features", "fit_op_costs", "kfold", "spearman",
           "nb201_cells", "coral_workload", "coral_models"]

#: Op kinds in :data:`codesign.hardware.OP_COST_FIELDS` order.
OP_KINDS: tuple[str, ...] = tuple(f[: -len("_op_us")] for f in OP_COST_FIELDS)
# layer kind -> (op kind charged, how many): an un-fused batch norm is two eltwise ops (TFLite's MUL and ADD)
_KIND_OF = {"pool": ("pool", 1), "add": ("eltwise", 1), "mul": ("eltwise", 1), "bn": ("eltwise", 2),
            "act": ("act", 1), "softmax": ("other", 1), "norm": ("other", 1), "matmul": ("other", 1),
            "nms": ("other", 1), "concat": ("concat", 1), "resize": ("resize", 1)}


def _kind(layer: Any) -> tuple[str, int]:
    if layer.kind in ("conv", "fc", "gemm"):
        return ("depthwise" if layer.groups > 1 else "conv"), 1
    return _KIND_OF[layer.kind]


def op_counts(workload: Any, on_host: Sequence[float] | None = None) -> np.ndarray:
    """(len(OP_KINDS),) number of device ops of each kind in ``workload`` (layers with ``on_host`` set are not
    device ops), as the C++ network pass charges them (a ``"bn"`` layer counts two eltwise ops)."""
    counts = np.zeros(len(OP_KINDS))
    for i, layer in enumerate(workload.layers):
        if on_host is not None and on_host[i]:
            continue
        kind, times = _kind(layer)
        counts[OP_KINDS.index(kind)] += times
    return counts


def zero_fixed_costs(hw: EdgeTpuConfig) -> EdgeTpuConfig:
    """``hw`` with every fixed cost (per layer, per op kind, per inference) at 0."""
    return hw.replace(layer_overhead_us=0.0, inference_overhead_us=0.0, **{f: 0.0 for f in OP_COST_FIELDS})


@dataclass(frozen=True)
class Measured:
    """Measured networks of one rig: ``names``, ``latency_ms`` (n,), the model's ``base_ms`` (n,) with every
    fixed cost at 0, and ``counts`` (n, len(OP_KINDS)) of device ops."""

    rig: str
    names: tuple[str, ...]
    latency_ms: np.ndarray
    base_ms: np.ndarray
    counts: np.ndarray

    def subset(self, idx: np.ndarray) -> "Measured":
        return Measured(self.rig, tuple(self.names[i] for i in idx), self.latency_ms[idx], self.base_ms[idx],
                        self.counts[idx])


def measure_features(rig: str, names: Sequence[str], workloads: Sequence[Any], latency_ms: Sequence[float],
                     hw: EdgeTpuConfig) -> Measured:
    """The :class:`Measured` of ``workloads`` measured at ``latency_ms`` on a rig modelled by ``hw`` (its fixed
    costs are ignored: the structure, link and memories give ``base_ms``)."""
    from .cost import evaluate

    bare = zero_fixed_costs(hw)
    base, counts = [], []
    for wl in workloads:
        cost = evaluate(wl, bare)
        base.append(cost.totals["latency_ms"])
        counts.append(op_counts(wl, cost["on_host"]))
    return Measured(rig, tuple(names), np.asarray(latency_ms, float), np.asarray(base), np.asarray(counts))


@dataclass(frozen=True)
class Fit:
    """Fitted fixed costs: ``op_us`` {kind: us per op}, ``inference_us`` {rig: us per inference}."""

    op_us: dict
    inference_us: dict

    def predict(self, m: Measured) -> np.ndarray:
        """(n,) predicted latency_ms of the networks of ``m``."""
        per_op = np.array([self.op_us[k] for k in OP_KINDS])
        return m.base_ms + (m.counts @ per_op + self.inference_us[m.rig]) / 1000.0

    def apply(self, hw: EdgeTpuConfig, rig: str) -> EdgeTpuConfig:
        """``hw`` with these costs (``layer_overhead_us`` 0: the per-op costs hold it)."""
        return hw.replace(layer_overhead_us=0.0, inference_overhead_us=self.inference_us[rig],
                          **{f"{k}_op_us": v for k, v in self.op_us.items()})


def fit_op_costs(sets: Sequence[Measured], weights: Sequence[float] | None = None) -> Fit:
    """Non-negative least squares of the relative error over every network of ``sets``; ``weights[s]``
    multiplies set ``s``'s total weight (default: each set weighs the same in total, whatever its size).

    Raises:
        ValueError: no networks.
    """
    from scipy.optimize import nnls

    sets = list(sets)
    if not sets or not sum(len(s.names) for s in sets):
        raise ValueError("fit_op_costs needs at least one measured network")
    rigs = sorted({s.rig for s in sets})
    weights = [1.0] * len(sets) if weights is None else list(weights)
    rows, rhs = [], []
    for s, w in zip(sets, weights):
        scale = np.sqrt(w / len(s.names)) / s.latency_ms
        a = np.zeros((len(s.names), len(OP_KINDS) + len(rigs)))
        a[:, : len(OP_KINDS)] = s.counts / 1000.0
        a[:, len(OP_KINDS) + rigs.index(s.rig)] = 1.0 / 1000.0
        rows.append(a * scale[:, None])
        rhs.append((s.latency_ms - s.base_ms) * scale)
    x, _ = nnls(np.vstack(rows), np.concatenate(rhs))
    return Fit({k: float(v) for k, v in zip(OP_KINDS, x)},
               {r: float(v) for r, v in zip(rigs, x[len(OP_KINDS):])})


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


def kfold(cells: Measured, others: Sequence[Measured], *, k: int = 5, seed: int = 0) -> list[dict[str, float]]:
    """Fit on (k-1)/k of ``cells`` plus all of ``others``, judge on the held-out 1/k; one dict per fold:
    ``spearman``, ``median_error``, ``max_error`` (relative) on the held-out cells."""
    if k < 2 or k > len(cells.names):
        raise ValueError(f"k must be between 2 and the number of cells ({len(cells.names)}), got k={k}")
    order = np.random.default_rng(seed).permutation(len(cells.names))
    out = []
    for fold in np.array_split(order, k):
        train = np.setdiff1d(order, fold)
        fit = fit_op_costs([cells.subset(train), *others])
        held = cells.subset(fold)
        err = np.abs(fit.predict(held) / held.latency_ms - 1.0)
        out.append({"spearman": spearman(fit.predict(held), held.latency_ms), "median_error": float(np.median(err)),
                    "max_error": float(err.max())})
    return out


# --- the reference data sets -----------------------------------------------------------------------------------
def nb201_cells(csv_path: Any, hw: EdgeTpuConfig, *, rig: str = "eagle") -> Measured:
    """The measured NB201 cells of ``csv_path`` (columns ``arch_str``, ``edgetpu_int8_ms``; tests/data/nasbench/),
    as CIFAR-10 networks (32 px, 10 classes), pruned as compiled (:func:`codesign.space.nb201_net.live_edges`)."""
    import csv

    from .space.nb201 import NB201Candidate, NB201Space

    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    space = NB201Space()
    wls = [space.workload(NB201Candidate.from_arch_str(r["arch_str"])) for r in rows]
    return measure_features(rig, [r["arch_str"] for r in rows], wls, [float(r["edgetpu_int8_ms"]) for r in rows], hw)


def coral_workload(model: str, pytorch_equivalent: str, resolution: int) -> Any:
    """The workload that stands for one Coral benchmark model (torchvision googlenet for Inception v1, else the
    timm model named in ``pytorch_equivalent``, e.g. ``"timm mobilenetv2_100"``); needs torch (and timm)."""
    from .workload import from_timm, from_torch

    if model == "inception_v1":
        import torchvision

        net = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
        return from_torch(net, (1, 3, resolution, resolution), name="googlenet")
    return from_timm(pytorch_equivalent.split()[1], resolution=resolution)


def coral_models(csv_path: Any, column: str, hw: EdgeTpuConfig, *, rig: str,
                 workloads: dict | None = None) -> Measured:
    """The Coral table's models (tests/data/coral/) measured in ``column`` (``usb_accelerator_ms`` or
    ``dev_board_ms``) on a rig modelled by ``hw``. ``workloads``: a cache {model: workload} filled as built."""
    import csv

    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    cache = {} if workloads is None else workloads
    for r in rows:
        if r["model"] not in cache:
            cache[r["model"]] = coral_workload(r["model"], r["pytorch_equivalent"], int(r["input"]))
    return measure_features(rig, [r["model"] for r in rows], [cache[r["model"]] for r in rows],
                            [float(r[column]) for r in rows], hw)
