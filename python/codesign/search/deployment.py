"""How a search candidate's networks are placed on Edge TPUs (issue 14): co-compiled on one device, compiled
apart on one device, one device per network, and each network pipelined over several devices.

The rules are the Edge TPU compiler's, as :mod:`codesign.edgetpu_deploy` documents them:

* ``cocompile`` (the default; Coral docs, "Run multiple models with a single Edge TPU", co-compiling): the
  networks, in the given order, share the device's parameter cache; network ``i`` gets what networks
  ``0..i-1`` left (``reserved_onchip_kib`` grows by the parameter bytes they cached). No reload between models.
* ``separate``: each network compiled on its own, so each gets the whole cache; the same page says that running
  such models in turn makes the device flush its cache and load the next model's parameters on every switch.
  With several networks run in turn (the multi-model use case runs each once per round), every inference pays
  ``reload_ms`` = its cached parameter bytes over the I/O link (``io_bw_gbps``). With one network, nothing.
* ``chip-per-model``: each network on its own Edge TPU (the whole cache, no reload); ``chips`` = networks.
* ``num_segments`` = N (``edgetpu_compiler --num_segments``): each network cut into N consecutive segments of
  even parameter bytes (:func:`codesign.edgetpu_deploy.segment_bounds`), each segment on its own Edge TPU
  (its parameters cached there, its input over the host link); per-inference latency is the sum of the
  segments, ``throughput_ips`` the pipelined rate (1000 / the slowest segment's ms). With ``cocompile``, segment
  k of every network shares chip k's cache, in network order.

Each candidate's metrics per network (suffix ``.<name>`` in the multi-model case): ``latency_ms``, ``energy_mj``,
``edp_mj_ms``, ``cycles``, ``dram_bytes``, ``streamed_params_bytes``, ``cached_params_bytes``, ``utilization``
(cycle-weighted over segments), ``throughput_ips``, ``reload_ms``, ``macs``, ``params``; and ``chips``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DEPLOY_MODES", "Deployment", "cost_deployed"]

#: The placements :class:`Deployment` knows (see the module docstring).
DEPLOY_MODES: tuple[str, ...] = ("cocompile", "separate", "chip-per-model")

_SUMMED = ("latency_ms", "energy_mj", "cycles", "dram_bytes", "streamed_params_bytes", "cached_params_bytes")


@dataclass(frozen=True)
class Deployment:
    """The placement of a candidate's networks on Edge TPUs: ``mode`` (one of :data:`DEPLOY_MODES`) and
    ``num_segments`` (Edge TPUs per network, >= 1).

    Raises:
        ValueError: an unknown mode or a num_segments that is not an int >= 1 (named, with the value).
    """

    mode: str = "cocompile"
    num_segments: int = 1

    def __post_init__(self) -> None:
        if self.mode not in DEPLOY_MODES:
            raise ValueError(f"deploy must be one of {', '.join(DEPLOY_MODES)}, got deploy={self.mode!r}")
        n = self.num_segments
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"num_segments must be an int >= 1, got num_segments={n!r}")

    @property
    def is_default(self) -> bool:
        return self.mode == "cocompile" and self.num_segments == 1

    def chips(self, networks: int) -> int:
        """Edge TPUs used for ``networks`` networks."""
        return self.num_segments * (networks if self.mode == "chip-per-model" else 1)

    def to_dict(self) -> dict[str, Any]:
        return {"deploy": self.mode, "num_segments": int(self.num_segments)}


def _segments(wl: Any, n: int) -> list[Any]:
    """``wl`` cut into ``n`` consecutive workloads of even parameter bytes (``[wl]`` for n = 1)."""
    if n == 1:
        return [wl]
    from codesign.edgetpu_deploy import segment_bounds
    from codesign.workload import Workload

    layers = list(wl.layers)
    if n > len(layers):
        raise ValueError(f"num_segments={n} exceeds the {len(layers)} layers of network {wl.name!r}")
    starts = segment_bounds([float(lay.weights) for lay in layers], n) + [len(layers)]
    return [Workload(f"{wl.name}[seg{k}]", layers[starts[k]:starts[k + 1]]) for k in range(n)]


def cost_deployed(workloads: Sequence[Any], hws: Sequence[Any], deployment: Deployment, *, mapper: Any,
                  threads: int) -> tuple[list[dict[str, np.ndarray]], np.ndarray, list[str]]:
    """Cost ``workloads`` (in compile order) on every Edge-TPU configuration of ``hws`` as ``deployment`` places
    them: one batched cost call per network and segment.

    Returns:
        (per network: {metric: (A,) array}, ok (A,) bool, reasons: per configuration "" or the first failure,
        prefixed with the network's name when there are several).

    Raises:
        ValueError: num_segments above a network's layer count.
    """
    from codesign.cost import evaluate_batch

    hws = list(hws)
    n_cfg = len(hws)
    n_seg = deployment.num_segments
    shared = deployment.mode == "cocompile"
    reserved = np.array([[h.reserved_onchip_kib * 1024.0 for h in hws]] * n_seg)  # (segments, A) bytes, per chip
    ok = np.ones(n_cfg, dtype=bool)
    reasons = [""] * n_cfg
    out: list[dict[str, np.ndarray]] = []
    reloads = deployment.mode == "separate" and len(workloads) > 1
    link_bps = np.array([h.io_bw_gbps * 1e9 for h in hws])
    for wl in workloads:
        sums = {k: np.zeros(n_cfg) for k in _SUMMED}
        reload_ms = np.zeros(n_cfg)
        busy = np.zeros(n_cfg)  # utilization x cycles, summed over segments
        slowest = np.zeros(n_cfg)  # ms of the slowest segment, its reload included
        for k, part in enumerate(_segments(wl, n_seg)):
            run = [h.replace(reserved_onchip_kib=r / 1024.0) for h, r in zip(hws, reserved[k])] if shared else hws
            res = evaluate_batch(part, run, threads=threads, mapper=mapper, totals_only=True)
            for j, why in enumerate(res.reasons()):
                if why and ok[j]:
                    ok[j] = False
                    reasons[j] = f"{wl.name}: {why}" if len(workloads) > 1 else why
            good = res.ok
            tot = {name: np.where(good, res.total(name), 0.0) for name in _SUMMED + ("utilization",)}
            for name in _SUMMED:
                sums[name] += tot[name]
            seg_reload = tot["cached_params_bytes"] / link_bps * 1e3 if reloads else np.zeros(n_cfg)
            reload_ms += seg_reload
            busy += tot["utilization"] * tot["cycles"]
            last_util = tot["utilization"]
            slowest = np.maximum(slowest, tot["latency_ms"] + seg_reload)
            if shared:
                reserved[k] += tot["cached_params_bytes"]
        m = dict(sums)
        m["latency_ms"] = sums["latency_ms"] + reload_ms
        m["reload_ms"] = reload_ms
        m["edp_mj_ms"] = m["latency_ms"] * sums["energy_mj"]
        m["utilization"] = last_util if n_seg == 1 else \
            np.divide(busy, sums["cycles"], out=np.zeros(n_cfg), where=sums["cycles"] > 0)
        m["throughput_ips"] = np.divide(1000.0, slowest, out=np.zeros(n_cfg), where=slowest > 0)
        m["macs"] = np.full(n_cfg, float(wl.macs))
        m["params"] = np.full(n_cfg, float(wl.params))
        out.append(m)
    return out, ok, reasons
