"""The joint network + hardware search loop.

:func:`run_search` repeats ask -> evaluate -> reward -> tell with a :class:`RegularizedEvolution` (or
:class:`RandomSearch`) controller over a :class:`~codesign.space.JointSpace`:

1. area: ``hw.area_mm2`` above ``area_limit_mm2`` -> ``infeasible`` result at once (no training);
2. latency: :func:`codesign.cost.evaluate` of the candidate's ImageNet workload (input ``(1, 3, 224, 224)``,
   1000 classes, built once per network with :func:`codesign.workload.from_torch`) on the array;
   a ValueError (the array cannot run a layer) -> ``infeasible``;
3. accuracy: the Fashion-MNIST proxy (:class:`codesign.evaluation.ProxyEvaluator`), cached per network, so a
   hardware-only mutation costs milliseconds;
4. reward: MnasNet reward (Tan et al., CVPR 2019, Eq. 2) with the latency target (:class:`Objective`).

Files written to ``out_dir``:

* ``trials.jsonl`` - one JSON object per trial: ``trial`` (0-based id), ``batch``, ``decisions``
  (decision name -> value), ``encoding`` (choice indices), ``blocks`` (timm block strings), ``hw``
  (SystolicArray fields), ``metrics``, ``reward`` (null unless complete), ``fitness``, ``status``, ``reason``,
  ``seconds``, ``proxy_cached``;
* ``pareto.csv`` - the feasible trials on the (accuracy max, latency_ms min, area_mm2 min) Pareto front;
* ``checkpoint.json`` - configuration, controller state, all trials and the proxy cache, rewritten atomically
  (temp file + ``os.replace``) after every batch; ``run_search(..., resume=True)`` continues from it;
* ``summary.json`` - the :class:`SearchSummary` at the end.
"""
from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codesign.space.joint import Candidate, JointSpace

from .evolution import RandomSearch, RegularizedEvolution
from .objective import Objective, Result, fitness
from .pareto import DEFAULT_OBJECTIVES, ParetoArchive

__all__ = ["JointEvaluator", "SearchSummary", "run_search", "load_trials", "DEFAULTS"]

#: Defaults of :func:`run_search`, chosen so that a default search takes under 5 minutes on 2 CPU cores.
DEFAULTS: dict[str, Any] = {
    "budget": 32,
    "population": 8,
    "sample_size": 3,
    "batch_size": 4,
    "target_latency_ms": 5.0,
    "area_limit_mm2": 6.0,
    "seed": 0,
    "proxy_steps": 80,
    "hw_mutation_prob": 0.5,
    "mode": "soft",
}

_CHECKPOINT_VERSION = 1
PARETO_COLUMNS = (
    "trial", "accuracy", "latency_ms", "area_mm2", "reward",
    "rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib", "dram_bw_words_per_cycle",
    "blocks",
)


def _jsonable(x: Any) -> Any:
    """Floats that are not finite -> None; numpy scalars -> Python; containers recursively."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item):
        return _jsonable(x.item())
    return x


class JointEvaluator:
    """Evaluates joint candidates: area check, latency on the cost model, proxy accuracy, reward.

    Args:
        space: the joint space.
        objective: reward and area limit.
        proxy: the accuracy proxy (any object with ``evaluate(arch) -> ProxyResult``; default a
            :class:`~codesign.evaluation.ProxyEvaluator` with default settings).

    Workloads are cached per network (timm block strings) in memory.
    """

    def __init__(self, space: JointSpace, objective: Objective, proxy: Any = None) -> None:
        self.space = space
        self.objective = objective
        if proxy is None:
            from codesign.evaluation.proxy import ProxyEvaluator

            proxy = ProxyEvaluator(space=space.network)
        self.proxy = proxy
        self._workloads: dict[tuple[str, ...], Any] = {}

    def workload(self, arch: Any) -> Any:
        """The network's 224-px ImageNet :class:`~codesign.workload.Workload` (cached)."""
        key = tuple(b for stage in self.space.network.to_block_strings(arch) for b in stage)
        wl = self._workloads.get(key)
        if wl is None:
            wl = self.space.network.workload(arch)
            self._workloads[key] = wl
        return wl

    def __call__(self, cand: Candidate) -> tuple[Result, dict[str, Any]]:
        """Evaluate one candidate -> (Result, info) where info has ``proxy_cached`` and ``seconds``."""
        t0 = time.perf_counter()
        info: dict[str, Any] = {"proxy_cached": None}
        self.space.validate(cand)
        hw = cand.hw
        area = float(hw.area_mm2)
        bad = self.objective.area_check(area)
        if bad is not None:
            info["seconds"] = time.perf_counter() - t0
            return bad, info
        metrics: dict[str, Any] = {"area_mm2": area}
        try:
            wl = self.workload(cand.arch)
            metrics["macs"] = int(wl.macs)
            metrics["params"] = int(wl.params)
        except Exception as exc:  # noqa: BLE001 - any failure to build the network is a failed trial
            info["seconds"] = time.perf_counter() - t0
            return Result(metrics, "failed", f"workload: {type(exc).__name__}: {exc}"), info
        from codesign.cost import evaluate

        try:
            totals = evaluate(wl, hw).totals
        except ValueError as exc:
            metrics["constraint_violation"] = 1.0
            info["seconds"] = time.perf_counter() - t0
            return Result(metrics, "infeasible", f"hardware cannot run the network: {exc}"), info
        except Exception as exc:  # noqa: BLE001
            info["seconds"] = time.perf_counter() - t0
            return Result(metrics, "failed", f"cost model: {type(exc).__name__}: {exc}"), info
        metrics["latency_ms"] = float(totals["latency_ms"])
        metrics["cycles"] = int(totals["cycles"])
        for key in ("stall_cycles", "compute_utilization", "overall_utilization", "dram_bytes"):
            if key in totals:
                metrics[key] = totals[key]
        try:
            pr = self.proxy.evaluate(cand.arch)
        except Exception as exc:  # noqa: BLE001
            info["seconds"] = time.perf_counter() - t0
            return Result(metrics, "failed", f"accuracy proxy: {type(exc).__name__}: {exc}"), info
        metrics["accuracy"] = float(pr.accuracy)
        metrics["proxy_train_loss"] = float(pr.train_loss)
        metrics["proxy_params"] = int(pr.params)
        metrics["proxy_seconds"] = float(pr.seconds)
        info["proxy_cached"] = bool(pr.cached)
        result = self.objective(metrics)
        info["seconds"] = time.perf_counter() - t0
        return result, info


@dataclass
class SearchSummary:
    """Outcome of :func:`run_search`.

    Attributes:
        out_dir: output folder.
        n_trials: trials recorded (including those of earlier runs when resumed).
        n_complete, n_infeasible, n_failed: trials per status.
        best: the trial record with the highest reward (None if no trial is complete).
        pareto: trial records on the (accuracy, latency_ms, area_mm2) front, best accuracy first.
        seconds: wall-clock seconds of this call.
        trained_networks: proxy trainings run in this call; proxy_cache_hits: evaluations served by the cache.
        trials_path, pareto_path, checkpoint_path: files in ``out_dir``.
        config: the configuration checked on resume. stopped_early: True if ``time_limit_s`` ended the run.
    """

    out_dir: str
    n_trials: int
    n_complete: int
    n_infeasible: int
    n_failed: int
    best: dict[str, Any] | None
    pareto: list[dict[str, Any]]
    seconds: float
    trained_networks: int
    proxy_cache_hits: int
    trials_path: str
    pareto_path: str
    checkpoint_path: str
    config: dict[str, Any] = field(default_factory=dict)
    stopped_early: bool = False

    @property
    def feasible_fraction(self) -> float:
        return self.n_complete / self.n_trials if self.n_trials else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["feasible_fraction"] = self.feasible_fraction
        return _jsonable(d)


def load_trials(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read ``trials.jsonl`` (a file, or a folder holding one) into a list of trial records."""
    p = Path(path)
    if p.is_dir():
        p = p / "trials.jsonl"
    if not p.is_file():
        raise FileNotFoundError(f"no trials file at {p}")
    with open(p, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, allow_nan=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _pareto(trials: list[dict[str, Any]]) -> ParetoArchive:
    archive = ParetoArchive(DEFAULT_OBJECTIVES)
    for t in trials:
        if t["status"] == "complete":
            archive.add(t["metrics"], t)
    return archive


def _write_pareto(path: Path, archive: ParetoArchive) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(PARETO_COLUMNS)
        for t, m in archive.front():
            hw = t["hw"]
            w.writerow([
                t["trial"], m["accuracy"], m["latency_ms"], m["area_mm2"], t["reward"],
                hw["rows"], hw["cols"], hw["dataflow"], hw["ifmap_sram_kib"], hw["filter_sram_kib"],
                hw["ofmap_sram_kib"], hw["dram_bw_words_per_cycle"], " ".join(t["blocks"]),
            ])
    os.replace(tmp, path)


def _positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {name}={v!r}")
    return v


def run_search(
    out_dir: str | os.PathLike[str],
    *,
    budget: int = DEFAULTS["budget"],
    population: int = DEFAULTS["population"],
    target_latency_ms: float = DEFAULTS["target_latency_ms"],
    area_limit_mm2: float | None = DEFAULTS["area_limit_mm2"],
    seed: int = DEFAULTS["seed"],
    proxy_steps: int = DEFAULTS["proxy_steps"],
    progress: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    sample_size: int = DEFAULTS["sample_size"],
    batch_size: int = DEFAULTS["batch_size"],
    hw_mutation_prob: float = DEFAULTS["hw_mutation_prob"],
    mode: str = DEFAULTS["mode"],
    controller: str = "evolution",
    proxy_settings: Any = None,
    data_dir: str | os.PathLike[str] | None = None,
    time_limit_s: float | None = None,
) -> SearchSummary:
    """Joint network + hardware search (see the module docstring).

    Args:
        out_dir: folder for ``trials.jsonl``, ``pareto.csv``, ``checkpoint.json`` and ``summary.json``.
        budget: total trials (including those of a resumed run).
        population: regularized-evolution population size ``P`` (the first ``P`` trials are random).
        target_latency_ms: MnasNet latency target ``T`` in ms (224-px ImageNet inference on the array).
        area_limit_mm2: hard area limit in mm^2 (None: no limit).
        seed: seed of the controller (the proxy's training seed is ``proxy_settings.seed``, default 0).
        proxy_steps: proxy training steps per network (ignored if ``proxy_settings`` is given).
        progress: show a rich progress bar on stderr (best reward, feasible share, trials/s).
        resume: continue from ``out_dir/checkpoint.json`` (the configuration must match except ``budget``).
        overwrite: start afresh even if ``out_dir`` holds a checkpoint (otherwise FileExistsError).
        sample_size: tournament size ``S``. batch_size: candidates asked per batch (checkpoint granularity).
        hw_mutation_prob: probability that a mutation changes the hardware rather than the network.
        mode: "soft" or "hard" MnasNet exponents. controller: "evolution" or "random".
        proxy_settings: a :class:`codesign.evaluation.ProxySettings` overriding ``proxy_steps``.
        data_dir: Fashion-MNIST folder (default: the Debian package's).
        time_limit_s: stop asking for new batches once this many seconds have passed in this call (the
            running batch finishes; ``SearchSummary.stopped_early`` tells; ``resume=True`` can continue).
            None (default): run the whole budget.

    Returns a :class:`SearchSummary`. With the defaults (32 trials, population 8, 80 proxy steps) a search
    took 142 s on the 2-core development machine (19 proxy trainings, 9 cache hits, 4 area-infeasible
    trials); time grows with CPU contention (2-3x seen on a shared machine), ``time_limit_s`` caps it.
    """
    from codesign.evaluation.proxy import ProxyEvaluator, ProxySettings

    budget = _positive_int("budget", budget)
    if time_limit_s is not None and (isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float))
                                     or not time_limit_s > 0):
        raise ValueError(f"time_limit_s must be a positive number or None, got time_limit_s={time_limit_s!r}")
    population = _positive_int("population", population)
    batch_size = _positive_int("batch_size", batch_size)
    sample_size = _positive_int("sample_size", sample_size)
    if controller not in ("evolution", "random"):
        raise ValueError(f"controller must be 'evolution' or 'random', got controller={controller!r}")
    if proxy_settings is None:
        proxy_settings = ProxySettings(steps=_positive_int("proxy_steps", proxy_steps))
    elif not isinstance(proxy_settings, ProxySettings):
        raise ValueError(f"proxy_settings must be a ProxySettings, got {proxy_settings!r}")
    objective = Objective(target_latency_ms=target_latency_ms, area_limit_mm2=area_limit_mm2, mode=mode)
    space = JointSpace(hw_mutation_prob=hw_mutation_prob)
    if controller == "evolution":
        ctrl: Any = RegularizedEvolution(space, population_size=population, sample_size=min(sample_size, population),
                                         seed=seed)
    else:
        ctrl = RandomSearch(space, seed=seed)
    proxy = ProxyEvaluator(proxy_settings, space=space.network, data_dir=data_dir)
    evaluator = JointEvaluator(space, objective, proxy)

    config = _jsonable({
        "population": population, "sample_size": sample_size, "batch_size": batch_size, "seed": seed,
        "hw_mutation_prob": hw_mutation_prob, "controller": controller, "objective": objective.to_dict(),
        "proxy": proxy_settings.to_dict(), "space": repr(space),
    })

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trials_path, pareto_path, ckpt_path = out / "trials.jsonl", out / "pareto.csv", out / "checkpoint.json"
    trials: list[dict[str, Any]] = []
    if resume:
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"resume=True but there is no checkpoint at {ckpt_path}")
        with open(ckpt_path, encoding="utf-8") as fh:
            ckpt = json.load(fh)
        if ckpt.get("version") != _CHECKPOINT_VERSION:
            raise ValueError(f"{ckpt_path}: checkpoint version {ckpt.get('version')!r} is not {_CHECKPOINT_VERSION}")
        if ckpt["config"] != config:
            diff = sorted(k for k in set(config) | set(ckpt["config"]) if config.get(k) != ckpt["config"].get(k))
            raise ValueError(f"{ckpt_path}: configuration differs from the checkpoint in {diff}")
        ctrl.load_state_dict(ckpt["controller"])
        proxy.load_cache_state(ckpt.get("proxy_cache", []))
        trials = list(ckpt["trials"])
    elif ckpt_path.exists() and not overwrite:
        raise FileExistsError(f"{ckpt_path} exists; pass resume=True to continue or overwrite=True to start afresh")
    # trials.jsonl always mirrors the checkpoint (drops lines of a batch interrupted before its checkpoint)
    with open(trials_path, "w", encoding="utf-8") as fh:
        for t in trials:
            fh.write(json.dumps(t, allow_nan=False) + "\n")

    t_start = time.perf_counter()
    trained_before = proxy.misses
    hits_before = proxy.hits
    counts = {s: sum(1 for t in trials if t["status"] == s) for s in ("complete", "infeasible", "failed")}
    best_reward = max((t["reward"] for t in trials if t["reward"] is not None), default=None)
    batch_no = max((t["batch"] for t in trials), default=-1) + 1

    bar = None
    task = None
    if progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(
            TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), TextColumn("feasible {task.fields[feasible]}"),
            TextColumn("{task.fields[rate]} trials/s"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=False,
        )
        bar.start()
        task = bar.add_task("search", total=budget, completed=len(trials), best="-", feasible="-", rate="-")

    def refresh() -> None:
        if bar is None:
            return
        n = len(trials)
        el = time.perf_counter() - t_start
        done_now = n - n_start
        bar.update(
            task, completed=min(n, budget),
            best="-" if best_reward is None else f"{best_reward:.4f}",
            feasible=f"{counts['complete'] / n:.0%}" if n else "-",
            rate=f"{done_now / el:.2f}" if el > 0 else "-",
        )

    n_start = len(trials)
    stopped_early = False
    refresh()
    try:
        with open(trials_path, "a", encoding="utf-8") as fh:
            while len(trials) < budget:
                if time_limit_s is not None and time.perf_counter() - t_start >= time_limit_s:
                    stopped_early = True
                    break
                cands = ctrl.ask(min(batch_size, budget - len(trials)))
                results = []
                for cand in cands:
                    result, info = evaluator(cand)
                    results.append(result)
                    f = fitness(result)
                    rec = {
                        "trial": len(trials),
                        "batch": batch_no,
                        "decisions": _jsonable(space.decisions(cand)),
                        "encoding": list(space.encode(cand)),
                        "blocks": [b for st in space.network.to_block_strings(cand.arch) for b in st],
                        "hw": _jsonable(cand.hw.to_dict()),
                        "metrics": _jsonable(result.metrics),
                        "reward": result.reward,
                        "fitness": None if not math.isfinite(f) else f,
                        "status": result.status,
                        "reason": result.reason,
                        "seconds": info["seconds"],
                        "proxy_cached": info["proxy_cached"],
                    }
                    trials.append(rec)
                    counts[result.status] += 1
                    if result.reward is not None and (best_reward is None or result.reward > best_reward):
                        best_reward = result.reward
                    fh.write(json.dumps(rec, allow_nan=False) + "\n")
                    fh.flush()
                    refresh()
                ctrl.tell(cands, results)
                batch_no += 1
                _write_json_atomic(ckpt_path, {
                    "version": _CHECKPOINT_VERSION,
                    "config": config,
                    "controller": ctrl.state_dict(),
                    "trials": trials,
                    "proxy_cache": _jsonable(proxy.cache_state()),
                })
                _write_pareto(pareto_path, _pareto(trials))
    finally:
        if bar is not None:
            bar.stop()

    archive = _pareto(trials)
    _write_pareto(pareto_path, archive)
    complete = [t for t in trials if t["reward"] is not None]
    best = max(complete, key=lambda t: t["reward"]) if complete else None
    summary = SearchSummary(
        out_dir=str(out),
        n_trials=len(trials),
        n_complete=counts["complete"],
        n_infeasible=counts["infeasible"],
        n_failed=counts["failed"],
        best=best,
        pareto=[t for t, _ in archive.front()],
        seconds=time.perf_counter() - t_start,
        trained_networks=proxy.misses - trained_before,
        proxy_cache_hits=proxy.hits - hits_before,
        trials_path=str(trials_path),
        pareto_path=str(pareto_path),
        checkpoint_path=str(ckpt_path),
        config=config,
        stopped_early=stopped_early,
    )
    _write_json_atomic(out / "summary.json", summary.to_dict())
    return summary
