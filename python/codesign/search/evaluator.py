"""Evaluating candidates: hardware cost (one batched C++ call per network per generation), accuracy (any
evaluator, cached per network), reward.

:class:`SearchEvaluator` turns a batch of joint :class:`~codesign.space.Candidate` objects into
:class:`~codesign.search.objective.Result` objects:

1. area: ``hw.area_mm2`` above the objective's limit -> ``infeasible`` at once (no cost model, no training);
2. cost: the candidates are grouped by network; each network's 224-px ImageNet workload (built analytically from
   its block strings, cached) is costed on all of its accelerators with **one**
   :func:`codesign.cost.evaluate_batch` call (C++, GIL released, ``threads`` workers); a configuration on which a
   layer has no legal mapping -> ``infeasible`` with the cost model's reason;
3. accuracy: the accuracy evaluator, called once per distinct network (``network_key``) and cached - a
   hardware-only change never retrains - and only for candidates that passed 1 and 2;
4. reward: the :class:`~codesign.search.objective.Objective`.

Whole results are also cached per candidate (network key, hardware fields): a controller that proposes the
same design twice gets the recorded result back.

Accuracy evaluators: any object with ``evaluate(arch)`` returning an object with an ``accuracy`` attribute
(fraction) or a float - :class:`codesign.evaluation.ProxyEvaluator` (Fashion-MNIST proxy training), or
:class:`SurrogateAccuracy` (no training; see its docstring for what it is not). :class:`FixedNetworks` is the
zero-decision "network space" of the multi-model use case (several fixed networks on one accelerator;
:mod:`~codesign.search.fixed_networks`), placed on Edge TPUs as :mod:`~codesign.search.deployment` says.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from codesign.space._base import CategoricalSpace
from codesign.space.joint import Candidate, JointSpace, hw_key
from .fixed_networks import FixedNetworks
from .objective import MultiModelObjective, Objective, Result

__all__ = ["SearchEvaluator", "JointEvaluator", "SurrogateAccuracy", "FixedNetworks", "accuracy_of"]


def accuracy_of(value: Any) -> tuple[float, dict[str, Any]]:
    """(accuracy, extra metrics) from an evaluator's return value (a float, or an object / mapping with
    ``accuracy``; ProxyResult's ``train_loss``, ``params``, ``seconds`` become ``proxy_*`` metrics)."""
    extra: dict[str, Any] = {}
    if isinstance(value, Mapping):
        acc = value["accuracy"]
    elif hasattr(value, "accuracy"):
        acc = value.accuracy
        for src, dst in (("train_loss", "proxy_train_loss"), ("params", "proxy_params"), ("seconds", "proxy_seconds")):
            if hasattr(value, src):
                extra[dst] = getattr(value, src)
    else:
        acc = value
    acc = float(acc)
    if not (math.isfinite(acc) and 0.0 <= acc <= 1.0):
        raise ValueError(f"accuracy evaluator returned accuracy={acc!r}, expected a fraction in [0, 1]")
    return acc, extra


class SurrogateAccuracy:
    """A deterministic accuracy *surrogate*, for smoke runs, tests and benchmarks of the search machinery.

    ``accuracy = clip(0.6038 + 0.0211 ln(MACs / 1e6) + 0.0032 ln(params / 1e6), 0.05, 0.85)``, a least-squares
    fit of published ImageNet top-1 to the multiply-accumulates and parameters of nine networks (MobileNetV2
    0.5/1.0/1.4, MnasNet-A1, FBNet-A/C, EfficientNet-B0, EfficientNet-EdgeTPU-S, ResNet-50; residual 2.4 points
    RMS, 4.8 at most).
    It is *not* an accuracy measurement: it rewards size, ignores block types, kernel sizes, SE and activations
    beyond their MAC and parameter counts, and cannot tell two networks of equal size apart. Use it to exercise
    a search, never to claim that one network is more accurate than another.
    """

    C0, C_MACS, C_PARAMS = 0.6038, 0.0211, 0.0032

    def __init__(self, space: Any = None) -> None:
        self.space = space

    def __repr__(self) -> str:
        return "SurrogateAccuracy()"

    def evaluate(self, arch: Any) -> dict[str, Any]:
        if self.space is None:
            raise ValueError("SurrogateAccuracy needs the network space (SurrogateAccuracy(space))")
        wl = self.space.workload(arch)
        return {"accuracy": self.predict(wl.macs, wl.params)}

    @classmethod
    def predict(cls, macs: float, params: float) -> float:
        """The surrogate for a network of ``macs`` multiply-accumulates and ``params`` parameters."""
        if not (macs > 0 and params > 0):
            raise ValueError(f"macs and params must be positive, got macs={macs!r}, params={params!r}")
        a = cls.C0 + cls.C_MACS * math.log(macs / 1e6) + cls.C_PARAMS * math.log(params / 1e6)
        return float(min(max(a, 0.05), 0.85))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "surrogate", "c0": self.C0, "c_macs": self.C_MACS, "c_params": self.C_PARAMS}


def _hw_space_kind(space: CategoricalSpace) -> str:
    return getattr(space, "kind", "systolic")


class SearchEvaluator:
    """Evaluates batches of joint candidates (see the module docstring).

    Args:
        space: the joint space (its ``network`` builds workloads; a :class:`FixedNetworks` network part makes it
            the multi-model evaluator).
        objective: reward, targets and area limit (a :class:`MultiModelObjective` for :class:`FixedNetworks`).
        accuracy: accuracy evaluator (``evaluate(arch)``); unused for :class:`FixedNetworks`.
        mapper: :class:`codesign.cost.MapperOptions` for Edge-TPU-like hardware (default: the objective's metric:
            ``energy`` when only an energy target is set, ``edp`` for an EDP target, else ``latency``).
        threads: worker threads of the batched cost call (0 = all cores).
        input_shape: network input (default: the network space's ``input_shape`` if it has one, e.g. 32x32 for
            ``nb201``, else ImageNet ``(1, 3, 224, 224)``). num_classes: classifier outputs (default: the space's
            ``num_classes``, else 1000).
        parallel: an :class:`~codesign.search.parallel.AccuracyPool` that evaluates a batch's new networks at
            once (default None: one after another). Results and the cache counts are those of a serial run.
        deployment: a :class:`~codesign.search.deployment.Deployment` (Edge-TPU-like hardware only): how the
            networks are placed on Edge TPUs (default: co-compiled on one device, one segment). A
            non-default one on systolic hardware is a ValueError.
    """

    def __init__(self, space: JointSpace, objective: Objective, accuracy: Any = None, *, mapper: Any = None,
                 threads: int = 0, input_shape: tuple[int, int, int, int] | None = None,
                 num_classes: int | None = None, parallel: Any = None, deployment: Any = None) -> None:
        if not isinstance(space, JointSpace):
            raise ValueError(f"space must be a JointSpace, got {space!r}")
        if not isinstance(objective, Objective):
            raise ValueError(f"objective must be an Objective, got {objective!r}")
        self.space = space
        self.objective = objective
        self.multi = isinstance(space.network, FixedNetworks)
        if self.multi and not isinstance(objective, MultiModelObjective):
            raise ValueError("a FixedNetworks (multi-model) space needs a MultiModelObjective")
        if not self.multi and accuracy is None:
            raise ValueError("accuracy evaluator required (e.g. codesign.evaluation.ProxyEvaluator or SurrogateAccuracy)")
        if accuracy is not None and not (hasattr(accuracy, "evaluate") or callable(accuracy)):
            raise ValueError(f"accuracy must have an evaluate(arch) method or be callable, got {accuracy!r}")
        self.accuracy = accuracy
        if mapper is None and _hw_space_kind(space.hardware) == "edgetpu":
            from codesign.cost import MapperOptions

            t = objective.targets
            metric = "edp" if "edp_mj_ms" in t else ("energy" if "energy_mj" in t and "latency_ms" not in t else "latency")
            mapper = MapperOptions(metric=metric)
        self.mapper = mapper
        self.deployment = _check_deployment(deployment, _hw_space_kind(space.hardware))
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise ValueError(f"threads must be an int >= 0, got threads={threads!r}")
        self.threads = threads
        if input_shape is None:
            input_shape = getattr(space.network, "input_shape", (1, 3, 224, 224))
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes if num_classes is not None else getattr(space.network, "num_classes", 1000)
        self.parallel = parallel
        self._prefetched: dict[Any, tuple[bool, Any]] = {}
        self._workloads: dict[Any, Any] = {}
        self.accuracy_cache: dict[Any, dict[str, Any]] = {}
        self._cache_rows: list[list[Any]] = []  # accuracy_cache in checkpoint form, kept as entries are added
        self._cache_texts: list[str] = []  # each row's JSON text, encoded once
        self._cache_json = ""  # ", ".join of the first _cache_json_n texts
        self._cache_json_n = 0
        self._results: dict[Any, Result] = {}
        self.accuracy_misses = 0
        self.accuracy_hits = 0
        self.cost_calls = 0

    # -- pieces ----------------------------------------------------------------------------------------------
    def network_key(self, arch: Any) -> Any:
        return self.space.network.network_key(arch)

    def workload(self, arch: Any) -> Any:
        """The network's workload (cached per network key)."""
        key = self.network_key(arch)
        wl = self._workloads.get(key)
        if wl is None:
            wl = self.space.network.workload(arch, input_shape=self.input_shape, num_classes=self.num_classes)
            self._workloads[key] = wl
        return wl

    def _workloads_of(self, arch: Any) -> list[tuple[str, Any, Any]]:
        """[(suffix, cache key, workload)] of the networks a candidate runs."""
        if self.multi:
            net = self.space.network
            return [(n, ("fixed", n), net.workloads[n]) for n in net.network_names]
        return [("", self.network_key(arch), self.workload(arch))]

    def evaluate_accuracy(self, arch: Any) -> tuple[dict[str, Any], bool]:
        """({"accuracy": ..., extra}, cached) for a network, from the cache or the accuracy evaluator."""
        key = self.network_key(arch)
        hit = self.accuracy_cache.get(key)
        if hit is not None:
            self.accuracy_hits += 1
            return dict(hit), True
        self.accuracy_misses += 1
        if key in self._prefetched:
            ok, value = self._prefetched.pop(key)
            if not ok:
                raise RuntimeError(value)
        else:
            fn = self.accuracy.evaluate if hasattr(self.accuracy, "evaluate") else self.accuracy
            value = fn(arch)
        acc, extra = accuracy_of(value)
        rec = {"accuracy": acc, **extra}
        self.accuracy_cache[key] = rec
        self._add_cache_row([_jsonable(_listify(key)), _jsonable(rec)])
        return dict(rec), False

    def _add_cache_row(self, row: list[Any]) -> None:
        import json

        self._cache_rows.append(row)
        self._cache_texts.append(json.dumps(row, allow_nan=False))

    def cache_state(self) -> list[list[Any]]:
        """JSON-serialisable accuracy cache (for checkpoints), in insertion order. Kept up to date as entries are
        added, so a checkpoint costs one ``json.dumps`` of it, not a conversion of the whole cache every batch
        (which made a search's cost per trial grow with its budget)."""
        return self._cache_rows

    def cache_state_json(self) -> str:
        """``json.dumps(self.cache_state())``, the same text, from each entry's text encoded once when it was added
        (a checkpoint then costs a copy of the text, not an encoding of every entry each batch)."""
        new = self._cache_texts[self._cache_json_n:]
        if new:
            self._cache_json += (", " if self._cache_json_n else "") + ", ".join(new)
            self._cache_json_n = len(self._cache_texts)
        return f"[{self._cache_json}]"

    def load_cache_state(self, entries: list[list[Any]]) -> None:
        for k, v in entries:
            self.accuracy_cache[_tuplify(k)] = dict(v)
        self._cache_rows, self._cache_texts, self._cache_json, self._cache_json_n = [], [], "", 0
        for k, v in self.accuracy_cache.items():
            self._add_cache_row([_jsonable(_listify(k)), _jsonable(v)])

    def prime(self, records: Sequence[tuple[Candidate, Result]]) -> None:
        """Fill the per-candidate result cache with earlier (candidate, result) pairs (used on resume, so a
        resumed search serves repeated candidates from the cache exactly as an uninterrupted one)."""
        for cand, res in records:
            if res.status != "failed":
                self._results.setdefault((self.network_key(cand.arch), hw_key(cand.hw)), res)

    # -- batch ---------------------------------------------------------------------------------------------
    def evaluate(self, candidates: Sequence[Candidate]) -> list[tuple[Result, dict[str, Any]]]:
        """Evaluate a batch; returns (Result, info) per candidate, info = ``{"seconds", "proxy_cached",
        "cached"}`` (``proxy_cached``: accuracy served by the cache; None when no accuracy was needed)."""
        from codesign.cost import evaluate_batch

        t0 = time.perf_counter()
        n = len(candidates)
        out: list[Any] = [None] * n
        metrics: list[dict[str, Any]] = [{} for _ in range(n)]
        pending: list[int] = []
        keys: list[Any] = []
        for i, cand in enumerate(candidates):
            if not isinstance(cand, Candidate):
                raise ValueError(f"expected a Candidate, got {type(cand).__name__}: {cand!r}")
            key = (self.network_key(cand.arch), hw_key(cand.hw))
            keys.append(key)
            hit = self._results.get(key)
            if hit is not None:
                out[i] = (hit, {"proxy_cached": None, "cached": True})
                continue
            area = float(cand.hw.area_mm2)
            bad = self.objective.area_check(area)
            if bad is not None:
                out[i] = (bad, {"proxy_cached": None, "cached": False})
                continue
            metrics[i]["area_mm2"] = area
            pending.append(i)
        # group by network: one batched cost call per network
        groups: dict[Any, tuple[Any, list[int]]] = {}
        for i in pending:
            try:
                nets = self._workloads_of(candidates[i].arch)
            except Exception as exc:  # noqa: BLE001 - a network that cannot be built is a failed trial
                out[i] = (Result(metrics[i], "failed", f"workload: {type(exc).__name__}: {exc}"),
                          {"proxy_cached": None, "cached": False})
                continue
            for suffix, key, wl in nets:
                groups.setdefault(key, (wl, suffix, []))[2].append(i)
        failed_cost: dict[int, str] = {}
        if self.deployment is not None and (self.multi or not self.deployment.is_default):
            self._cost_deployed(candidates, groups, out, metrics, failed_cost)
            groups = {}
        for key, (wl, suffix, idx) in groups.items():
            idx = [i for i in idx if out[i] is None]
            if not idx:
                continue
            hws = [candidates[i].hw for i in idx]
            self.cost_calls += 1
            try:
                res = evaluate_batch(wl, hws, threads=self.threads, mapper=self.mapper, totals_only=True) \
                    if self.mapper is not None else evaluate_batch(wl, hws, threads=self.threads, totals_only=True)
            except Exception as exc:  # noqa: BLE001
                for i in idx:
                    out[i] = (Result(metrics[i], "failed", f"cost model: {type(exc).__name__}: {exc}"),
                              {"proxy_cached": None, "cached": False})
                continue
            ok = res.ok
            reasons = res.reasons()
            per = _cost_metrics(res, wl)
            tag = f".{suffix}" if suffix else ""
            for j, i in enumerate(idx):
                if not ok[j]:
                    prefix = f"{suffix}: " if suffix else ""
                    failed_cost.setdefault(i, f"{prefix}{reasons[j] or 'cost model failed'}")
                    continue
                for name, arr in per.items():
                    metrics[i][name + tag] = arr[j]
        if self.parallel is not None and not self.multi:
            self._prefetch([candidates[i].arch for i in pending if out[i] is None and i not in failed_cost])
        for i in pending:
            if out[i] is not None:
                continue
            if i in failed_cost:
                m = dict(metrics[i])
                m["constraint_violation"] = 1.0
                out[i] = (Result(m, "infeasible", f"hardware cannot run the network: {failed_cost[i]}"),
                          {"proxy_cached": None, "cached": False})
                continue
            m = metrics[i]
            info: dict[str, Any] = {"cached": False, "proxy_cached": None}
            try:
                if self.multi:
                    net = self.space.network
                    for name in net.network_names:
                        m[f"accuracy.{name}"] = net.accuracies[name]
                else:
                    acc, cached = self.evaluate_accuracy(candidates[i].arch)
                    m.update(acc)
                    info["proxy_cached"] = cached
            except Exception as exc:  # noqa: BLE001
                out[i] = (Result(m, "failed", f"accuracy: {type(exc).__name__}: {exc}"), info)
                continue
            out[i] = (self.objective(m), info)
        secs = (time.perf_counter() - t0) / max(n, 1)
        final = []
        for i, (res, info) in enumerate(out):
            if not info.get("cached") and res.status != "failed":
                self._results[keys[i]] = res
            final.append((res, {**info, "seconds": secs}))
        return final

    def _cost_deployed(self, candidates: Sequence[Candidate], groups: dict[Any, Any], out: list[Any],
                       metrics: list[dict[str, Any]], failed_cost: dict[int, str]) -> None:
        """The cost stage through :func:`~codesign.search.deployment.cost_deployed`: every network of a
        multi-model candidate in one placement (co-compiled networks share the cache), or a single network
        segmented over several Edge TPUs."""
        from .deployment import cost_deployed

        if self.multi:  # every pending candidate runs all the fixed networks, in their given (compile) order
            idx = [i for i in next(iter(groups.values()))[2] if out[i] is None] if groups else []
            jobs = [([wl for wl, _, _ in groups.values()], [sfx for _, sfx, _ in groups.values()], idx)]
        else:
            jobs = [([wl], [""], [i for i in idx if out[i] is None]) for wl, _, idx in groups.values()]
        for wls, suffixes, idx in jobs:
            if not idx:
                continue
            self.cost_calls += 1
            hws = [candidates[i].hw for i in idx]
            try:
                per, ok, reasons = cost_deployed(wls, hws, self.deployment, mapper=self.mapper, threads=self.threads)
            except Exception as exc:  # noqa: BLE001
                for i in idx:
                    out[i] = (Result(metrics[i], "failed", f"cost model: {type(exc).__name__}: {exc}"),
                              {"proxy_cached": None, "cached": False})
                continue
            chips = self.deployment.chips(len(wls))
            for j, i in enumerate(idx):
                if not ok[j]:
                    failed_cost.setdefault(i, reasons[j] or "cost model failed")
                    continue
                metrics[i]["chips"] = chips
                for sfx, m in zip(suffixes, per):
                    tag = f".{sfx}" if sfx else ""
                    for name, arr in m.items():
                        metrics[i][name + tag] = float(arr[j])

    def _prefetch(self, archs: Sequence[Any]) -> None:
        """Evaluate the accuracy of every network among ``archs`` not yet cached, in parallel, in order of first
        appearance; :meth:`evaluate_accuracy` then takes each result as a serial run would compute it."""
        todo: dict[Any, Any] = {}
        for arch in archs:
            key = self.network_key(arch)
            if key not in self.accuracy_cache and key not in self._prefetched:
                todo.setdefault(key, arch)
        for key, outcome in zip(todo, self.parallel.map(self.accuracy, list(todo.values()))):
            self._prefetched[key] = outcome

    def __call__(self, cand: Candidate) -> tuple[Result, dict[str, Any]]:
        """Evaluate one candidate -> (Result, info)."""
        return self.evaluate([cand])[0]


#: The first search's name for the evaluator.
JointEvaluator = SearchEvaluator


def _check_deployment(deployment: Any, hw_kind: str) -> Any:
    """The evaluator's deployment: a Deployment on Edge-TPU-like hardware (default co-compiled, one segment),
    None on systolic arrays (where only the default is allowed)."""
    from .deployment import Deployment

    if deployment is not None and not isinstance(deployment, Deployment):
        raise TypeError(f"deployment must be a codesign.search.deployment.Deployment, got {deployment!r}")
    if hw_kind != "edgetpu":
        if deployment is not None and not deployment.is_default:
            raise ValueError(f"deploy={deployment.mode!r}, num_segments={deployment.num_segments} place networks on "
                             "Edge TPUs: give Edge-TPU-like hardware (e.g. hw='edgetpu-space')")
        return None
    return deployment if deployment is not None else Deployment()


def _cost_metrics(res: Any, wl: Any) -> dict[str, list[Any]]:
    """Per-configuration metrics of a batch result (Edge-TPU-like or systolic)."""
    import numpy as np

    out: dict[str, list[Any]] = {}
    if type(res).__name__ == "EdgeTpuBatchResult":
        from codesign.edgetpu_cost import EDGETPU_TOTALS

        # res.total(name) for each name, with the ok mask taken once: NaN where a layer failed
        tot = np.where(res.ok[:, None], res.totals_array, np.nan)
        col = {name: tot[:, EDGETPU_TOTALS.index(name)] for name in
               ("latency_ms", "energy_pj", "utilization", "cycles", "dram_bytes", "streamed_params_bytes")}
        lat = col["latency_ms"]
        en = col.pop("energy_pj") * 1e-9  # res.total("energy_mj")
        out["latency_ms"] = lat.tolist()
        out["energy_mj"] = en.tolist()
        out["edp_mj_ms"] = (lat * en).tolist()
        for name in ("utilization", "cycles", "dram_bytes", "streamed_params_bytes"):
            out[name] = col[name].tolist()
    else:
        cycles = res.total("cycles")
        out["latency_ms"] = [float(x) for x in res.total("latency_ms")]
        out["cycles"] = [int(x) for x in cycles]
        out["stall_cycles"] = [int(x) for x in res.total("stall_cycles")]
        pes = np.array([h.rows * h.cols for h in res.hws], dtype=float)
        macs = float(wl.macs)
        out["overall_utilization"] = [float(macs / (c * p)) if c > 0 else 0.0 for c, p in zip(cycles, pes)]
        dram = sum(res.total(f) for f in ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes",
                                           "ofmap_dram_reads"))
        out["dram_words"] = [int(x) for x in dram]
    out["macs"] = [int(wl.macs)] * len(res.hws)
    out["params"] = [int(wl.params)] * len(res.hws)
    return out


def _jsonable(x: Any) -> Any:
    from .records import jsonable

    return jsonable(x)


def _listify(x: Any) -> Any:
    if isinstance(x, tuple):
        return {"t": [_listify(v) for v in x]}
    return x


def _tuplify(x: Any) -> Any:
    if isinstance(x, dict) and set(x) == {"t"}:
        return tuple(_tuplify(v) for v in x["t"])
    return x
