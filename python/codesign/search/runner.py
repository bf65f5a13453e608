"""The co-design search loop: strategies, checkpoints, resume, outputs.

:func:`run_search` (the loop itself is :class:`~codesign.search.loop.Search`) repeats ask -> evaluate -> reward -> tell
with a controller (regularized evolution, random
search, REINFORCE, PPO, or optuna's TPE / NSGA-II as baselines) over a joint network x hardware space, following
one of the strategies of the co-design work (FACTS.md):

==================  ==============================================================================================
strategy            what is searched
==================  ==============================================================================================
``joint``           network and hardware decisions in one sequence, one controller
``network-only``    the network on a fixed accelerator (platform-aware NAS; default the hardware space's
                    baseline, e.g. the Edge-TPU template baseline; ``fixed_hw="edgetpu"`` for the Coral device)
``hardware-only``   the accelerator for a fixed network (default the network space's reference, e.g.
                    EfficientNet-EdgeTPU-S)
``net-then-hw``     phase-wise: ``phase_split`` of the budget network-only on the fixed accelerator, then the
                    rest hardware-only for the best network found
``hw-then-net``     phase-wise: hardware-only for the reference network first, then network-only on the best
                    accelerator found
==================  ==============================================================================================

``networks=[...]`` is the multi-model use case: several fixed networks on one accelerator (hardware search),
their latencies summed, maxed, or each held to its own target (:class:`~codesign.search.objective.MultiModelObjective`).

Every trial is evaluated by :class:`~codesign.search.evaluator.SearchEvaluator`: area check, one batched cost
call per network per batch, accuracy once per distinct network (cached, also across a resume), reward.

Files written to ``out_dir``:

* ``trials.jsonl`` - one JSON object per trial: ``trial`` (0-based id), ``batch``, ``phase`` and
  ``phase_name``, ``decisions`` (decision name -> value, network then hardware), ``encoding`` (choice indices in
  the phase's controller space), ``net_encoding`` / ``hw_encoding`` (in the network / hardware space; None when
  the fixed hardware is not a member), ``blocks`` (timm block strings), ``network`` (short name), ``hw`` (the
  configuration's fields), ``metrics``, ``reward`` (null unless complete), ``fitness``, ``status``
  (``complete`` / ``infeasible`` / ``failed``), ``reason``, ``seconds``, ``proxy_cached`` (accuracy from the
  cache), ``cached`` (whole result from the candidate cache);
* ``pareto.csv`` - the complete trials on the Pareto front over accuracy (max), latency, energy (Edge-TPU-like
  hardware) and area (min);
* ``checkpoint.json`` - configuration, trial count, phase state, controller state and accuracy cache, written
  atomically (temp file, fsync, ``os.replace``) after every batch, once that batch's trial lines are on disk;
  ``run_search(..., resume=True)`` truncates ``trials.jsonl`` to the checkpoint's count and continues exactly
  as an uninterrupted run would (also after SIGKILL); a checkpoint that is malformed or does not fit the run
  (another configuration, a phase or batch out of range, a corrupted controller state) is a ValueError naming the
  file and the key;
* ``search.png`` - accuracy vs latency and vs energy (or area), fronts marked (needs matplotlib);
* ``summary.json`` - the :class:`SearchSummary` at the end.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from codesign.runlock import holds_run_lock

from .evaluator import JointEvaluator, SearchEvaluator
from .loop import AUTO, STRATEGIES, Search
from .records import jsonable, load_trials
from .resolve import ACCURACY_SIGNALS, CONTROLLERS, make_controller, resolve_spaces

__all__ = ["SearchEvaluator", "JointEvaluator", "SearchSummary", "Search", "run_search", "load_trials", "DEFAULTS",
           "STRATEGIES", "CONTROLLERS", "ACCURACY_SIGNALS", "make_controller", "resolve_spaces", "AUTO"]

#: Defaults of :func:`run_search`, chosen so that a default search is short on 2 CPU cores: with the Fashion-MNIST
#: proxy (spaces without trained accuracies) its 32 trials train about 19 distinct networks at 6-20 s each, 2-6
#: minutes (benchmarks/README.md, accuracy signals); ``codesign search --out DIR`` (Accel-NASBench predictor,
#: 200 trials) took 8.7 s.
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


@dataclass
class SearchSummary:
    """Outcome of :func:`run_search`.

    Attributes:
        out_dir: output folder.
        n_trials: trials recorded (including those of earlier runs when resumed).
        n_complete, n_infeasible, n_failed: trials per status.
        best: the trial record with the highest reward (None if no trial is complete).
        pareto: trial records on the Pareto front, best accuracy first.
        seconds: wall-clock seconds of this call.
        trained_networks: accuracy evaluations run in this call; proxy_cache_hits: evaluations served by the cache.
        trials_path, pareto_path, checkpoint_path: files in ``out_dir``; plot_path: the PNG (None if not drawn).
        config: the configuration checked on resume. stopped_early: True if ``time_limit_s`` ended the run.
        hypervolume: 2-D hypervolume of (accuracy max, latency_ms min) over complete trials, reference
            (0, ``hv_reference_ms``). best_under_target: the best reward among complete trials within every
            target (None if none). strategy: the strategy name.
        accuracy_signal: which accuracy signal produced the accuracies, in words.
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
    plot_path: str | None = None
    hypervolume: float = 0.0
    hv_reference_ms: float = 0.0
    best_under_target: float | None = None
    strategy: str = "joint"
    accuracy_signal: str = ""

    @property
    def feasible_fraction(self) -> float:
        return self.n_complete / self.n_trials if self.n_trials else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["feasible_fraction"] = self.feasible_fraction
        return jsonable(d)



@holds_run_lock("codesign search", folder_arg="out_dir")  # run-folder lock (codesign.runlock): one writer
def run_search(
    out_dir: str | os.PathLike[str],
    *,
    budget: int = DEFAULTS["budget"],
    population: int = DEFAULTS["population"],
    target_latency_ms: Any = AUTO,
    area_limit_mm2: Any = AUTO,
    seed: int = DEFAULTS["seed"],
    proxy_steps: int = DEFAULTS["proxy_steps"],
    progress: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    sample_size: int = DEFAULTS["sample_size"],
    batch_size: int = DEFAULTS["batch_size"],
    hw_mutation_prob: float | None = None,
    mode: str = DEFAULTS["mode"],
    controller: str = "evolution",
    proxy_settings: Any = None,
    data_dir: str | os.PathLike[str] | None = None,
    time_limit_s: float | None = None,
    space: Any = None,
    hw: Any = None,
    strategy: str = "joint",
    fixed_hw: Any = None,
    fixed_arch: Any = None,
    phase_split: float = 0.5,
    target_energy_mj: float | None = None,
    target_edp_mj_ms: float | None = None,
    abs_beta: float = -0.10,
    accuracy: Any = "auto",
    controller_options: Mapping[str, Any] | None = None,
    networks: Any = None,
    network_accuracies: Mapping[str, float] | None = None,
    aggregate: str = "sum",
    network_targets: Mapping[str, float] | None = None,
    deploy: str = "cocompile",
    num_segments: int = 1,
    plot: bool = True,
    threads: int = 0,
    mapper: Any = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> SearchSummary:
    """Co-design search (see the module docstring).

    Args:
        out_dir: folder for ``trials.jsonl``, ``pareto.csv``, ``checkpoint.json``, ``search.png``,
            ``summary.json``.
        budget: total trials (including those of a resumed run and of every phase).
        population: regularized-evolution population size ``P`` (the first ``P`` trials are random).
        target_latency_ms: latency target ``T`` in ms; ``"auto"``: 5 ms on systolic arrays, 3 ms on the
            Edge-TPU-like template, none when another target is given; None: no latency target.
        area_limit_mm2: hard area limit in mm^2; ``"auto"``: 6 (systolic), 62 (Edge-TPU-like: the baseline's
            area); None: no limit.
        seed: seed of the controller (phase ``i`` uses ``seed + i``).
        proxy_steps: proxy training steps per network (``accuracy="proxy"``; ignored if ``proxy_settings``).
        progress: show a rich progress bar on stderr (best reward, feasible share, trials/s).
        resume: continue from ``out_dir/checkpoint.json`` (the configuration must match except ``budget``).
        overwrite: start afresh even if ``out_dir`` holds a checkpoint (otherwise FileExistsError).
        sample_size: tournament size ``S``. batch_size: candidates asked per batch (checkpoint granularity).
        hw_mutation_prob: probability that a joint mutation changes the hardware rather than the network (None: a
            joint space file's own value, else 0.5).
        mode: ``"soft"`` / ``"hard"`` (MnasNet) or ``"abs"`` (TuNAS, with ``abs_beta``).
        controller: ``"evolution"``, ``"random"``, ``"reinforce"``, ``"ppo"``, or the optuna baselines ``"tpe"``
            / ``"nsga2"`` (need optuna; ``population`` is NSGA-II's generation size); controller_options: extra
            keyword arguments of its class.
        proxy_settings: a :class:`codesign.evaluation.ProxySettings` overriding ``proxy_steps``.
        data_dir: Fashion-MNIST folder (default: the Debian package's).
        time_limit_s: stop asking for new batches once this many seconds have passed in this call (the
            running batch finishes; ``SearchSummary.stopped_early`` tells; ``resume=True`` can continue).
        space: network space (name, file, object) or joint space; see :func:`resolve_spaces`. Default: the first
            search's MobileNetV2-style space.
        hw: hardware space or fixed accelerator; see :func:`resolve_spaces`. Default: systolic arrays.
        strategy: one of :data:`STRATEGIES` (see the module docstring).
        fixed_hw: the accelerator of network-only phases (a configuration or preset name; default ``hw`` when
            that is a fixed accelerator, else the hardware space's ``default``).
        fixed_arch: the network of hardware-only phases (a candidate of the network space; default its
            ``reference``).
        phase_split: share of the budget given to the first phase of a phase-wise strategy.
        target_energy_mj, target_edp_mj_ms: energy / EDP targets (Edge-TPU-like hardware only).
        accuracy: ``"auto"`` (default: the space's own trained accuracies for ``nb201`` and ``accel-nasbench``,
            else the proxy), ``"nb201:DATASET[@EPOCHS]"`` (NAS-Bench-201's trained accuracy, table lookup; ``nb201``
            space), ``"accel-nasbench"`` (ImageNet top-1 predicted from Accel-NASBench; ``accel-nasbench``
            space), ``"proxy"`` (Fashion-MNIST proxy, :mod:`codesign.evaluation.proxy`), ``"surrogate"``
            (:class:`~codesign.search.evaluator.SurrogateAccuracy`, no training) or an evaluator object with
            ``evaluate(arch)``; see :data:`~codesign.search.resolve.ACCURACY_SIGNALS`.
        networks: multi-model use case: timm model names (comma-separated string or list), Workloads or a
            ``{name: Workload}`` mapping; the search is then over the hardware only. network_accuracies: their
            accuracies (default 1.0). aggregate: ``"sum"``, ``"max"`` or ``"each"`` (with ``network_targets``).
        deploy, num_segments: how the networks are placed on Edge TPUs (Edge-TPU-like hardware only;
            :mod:`codesign.search.deployment`): ``"cocompile"`` (default: one device, the networks share its
            parameter cache in the given order), ``"separate"`` (compiled apart: each inference reloads the
            model's cached parameters when several run in turn) or ``"chip-per-model"``; ``num_segments`` Edge
            TPUs per network (pipelined: latency per inference, ``throughput_ips``).
        plot: draw ``search.png`` at the end (needs matplotlib).
        threads: worker threads of the batched cost calls (0 = all cores). mapper: Edge-TPU mapper options.
        workers: evaluate each batch's new networks' accuracies on a Dask LocalCluster of that many worker
            processes; scheduler: ``tcp://HOST:PORT`` of a running Dask scheduler instead. The trials equal a
            serial run's (each accuracy evaluation is deterministic and results are gathered in order).

    Returns a :class:`SearchSummary`. With the first search's defaults (32 trials, population 8, 80 proxy steps)
    a search took 142 s on the 2-core development machine.
    """
    options = {k: v for k, v in locals().items() if k not in ("out_dir", "progress", "plot", "workers", "scheduler")}
    from .parallel import accuracy_pool

    with accuracy_pool(workers=workers, scheduler=scheduler) as parallel:
        return Search(out_dir, parallel=parallel, **options).run(progress=progress, plot=plot)
