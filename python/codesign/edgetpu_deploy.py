"""Deploying networks on Edge TPUs as the Edge TPU compiler does: several models co-compiled on one device, and
one model segmented over several devices (pipelining).

**Co-compilation** (Coral docs, "Run multiple models with multiple Edge TPUs" / "co-compiling"; compiler reports in
google-coral/edgetpu issues #458 and #518): the models passed to one compiler run share the device's parameter
cache; the first model caches its parameters first, each later one gets what remains (a model compiled after a
cache-filling one streams all its parameters: issue #518's second model reports 0 B cached). So
:func:`cocompile` costs model ``i`` with ``reserved_onchip_kib`` = the parameter bytes models ``0..i-1`` cached.

**Segmentation** (Coral docs, "Pipeline a model with multiple Edge TPUs"; ``edgetpu_compiler --num_segments N``):
the graph is cut into N consecutive segments, each compiled for its own Edge TPU, so each segment's parameters
are cached on its own chip. :func:`segment` cuts where the parameter bytes of the segments are most even (the
compiler's default splits by parameter size), costs each segment on its own device (its first layer reading its
input from the host link, as the pipeline's segments hand tensors over through the host), and reports the
per-inference latency (the sum of the segments) and the pipelined throughput (one inference per slowest
segment).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .hardware import EdgeTpuConfig

__all__ = ["CoCompiled", "Segmented", "cocompile", "segment", "segment_bounds"]


@dataclass(frozen=True)
class CoCompiled:
    """Per model (in compile order): its :class:`~codesign.cost.EdgeTpuNetworkCost` with the cache it was left.
    ``latency_ms``: per-model latency; ``cached_params_bytes``: per-model cached bytes."""

    costs: tuple

    @property
    def latency_ms(self) -> list[float]:
        return [c.totals["latency_ms"] for c in self.costs]

    @property
    def cached_params_bytes(self) -> list[float]:
        return [c.totals["cached_params_bytes"] for c in self.costs]


def cocompile(workloads: Sequence[Any], hw: EdgeTpuConfig, *, mapper: Any = None) -> CoCompiled:
    """Cost ``workloads`` co-compiled on one device ``hw``, in the given (compile) order.

    Raises:
        ValueError: no workloads, or a layer with no legal mapping. TypeError: ``hw`` not an EdgeTpuConfig.
    """
    from .cost import evaluate_edgetpu

    if not isinstance(hw, EdgeTpuConfig):
        raise TypeError(f"hw must be a codesign.EdgeTpuConfig, got {type(hw).__name__}")
    if not len(workloads):
        raise ValueError("cocompile needs at least one workload")
    costs, reserved = [], hw.reserved_onchip_kib * 1024.0
    for wl in workloads:
        cost = evaluate_edgetpu(wl, hw.replace(reserved_onchip_kib=reserved / 1024.0), mapper=mapper)
        costs.append(cost)
        reserved += cost.totals["cached_params_bytes"]
    return CoCompiled(tuple(costs))


def segment_bounds(param_bytes: Sequence[float], n: int) -> list[int]:
    """Start indices of ``n`` consecutive, non-empty segments of layers whose parameter bytes are ``param_bytes``,
    cut where the running sum crosses k/n of the total (k = 1..n-1).

    Raises:
        ValueError: ``n`` below 1 or above the number of layers.
    """
    L = len(param_bytes)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= L:
        raise ValueError(f"num_segments must be an int between 1 and the number of layers ({L}), got {n!r}")
    cum = np.cumsum(np.asarray(param_bytes, float))
    total = cum[-1] if L else 0.0
    starts = [0]
    for k in range(1, n):
        cut = int(np.searchsorted(cum, total * k / n, side="left")) + 1 if total > 0 else (k * L) // n
        cut = min(max(cut, starts[-1] + 1), L - (n - k))
        starts.append(cut)
    return starts


@dataclass(frozen=True)
class Segmented:
    """One model on ``len(costs)`` Edge TPUs: per-segment costs and layer ranges; ``latency_ms`` per inference
    (segments in sequence), ``throughput_ips`` pipelined (inferences per second: 1 / the slowest segment)."""

    costs: tuple
    starts: tuple

    @property
    def segment_ms(self) -> list[float]:
        return [c.totals["latency_ms"] for c in self.costs]

    @property
    def latency_ms(self) -> float:
        return float(sum(self.segment_ms))

    @property
    def throughput_ips(self) -> float:
        return 1000.0 / max(self.segment_ms)


def segment(workload: Any, hw: EdgeTpuConfig, num_segments: int, *, mapper: Any = None) -> Segmented:
    """Cost ``workload`` segmented over ``num_segments`` Edge TPUs like ``hw`` (see the module docstring).

    Raises:
        ValueError: a bad ``num_segments`` (named), or a layer with no legal mapping.
    """
    from .cost import evaluate_edgetpu
    from .workload import Workload

    layers = list(workload.layers)
    starts = segment_bounds([float(lay.weights) for lay in layers], num_segments)
    costs = []
    for k, s in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(layers)
        part = Workload(f"{workload.name}[seg{k}]", layers[s:end])
        costs.append(evaluate_edgetpu(part, hw, mapper=mapper))
    return Segmented(tuple(costs), tuple(starts))
