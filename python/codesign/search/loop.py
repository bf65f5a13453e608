"""The search loop as an object: resolve -> open -> (ask -> evaluate -> tell -> archive -> checkpoint)* -> finish.

:class:`Search` holds one co-design search (see :mod:`codesign.search.runner` for the strategies and the files it
writes). Each step is a method a test can drive on its own::

    s = Search("runs/x", budget=64, space="nb201", hw="edgetpu-space", accuracy="nb201:cifar10")
    s.open()                                  # fresh run, or resume=True: reload trials, controller, caches
    while not s.done:
        cands = s.ask()                       # next batch from the controller (switching phase when due)
        results = s.evaluate(cands)           # area, batched cost, accuracy (cached per network)
        s.tell(cands, results)                # trial records -> trials.jsonl, controller update
        s.checkpoint()                        # atomic checkpoint.json, pareto.csv
    summary = s.finish()                      # pareto.csv, search.png, summary.json

:meth:`run` is that loop, with a progress display and the time limit. The Pareto archive is kept incrementally
(one :meth:`~codesign.search.pareto.ParetoArchive.add` per complete trial), so the overhead per trial does not
grow with the budget.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codesign.space._base import CategoricalSpace
from codesign.space.joint import Candidate, JointSpace, SubSpace

from .evaluator import FixedNetworks, SearchEvaluator
from .objective import MultiModelObjective, Objective, Result, fitness
from .pareto import DEFAULT_OBJECTIVES, EDGETPU_OBJECTIVES, ParetoArchive, hypervolume
from .records import (CHECKPOINT_VERSION, checkpoint_phase_state, config_differences, hw_record_parts, jsonable,
                      load_trials, read_checkpoint, write_json_atomic, write_pareto)
from .resolve import (CONTROLLERS, accuracy_label, fixed_networks, make_controller, phases, positive_int,
                      resolve_accuracy, resolve_spaces)

__all__ = ["Search", "STRATEGIES", "AUTO", "HW_DEFAULTS"]

#: Strategy names (see :mod:`codesign.search.runner`).
STRATEGIES: tuple[str, ...] = ("joint", "network-only", "hardware-only", "net-then-hw", "hw-then-net")
#: Per hardware-space kind: (default latency target ms, default area limit mm^2). Edge-TPU-like: 3 ms and 62 mm^2
#: (the template baseline's 61.2 mm^2, rounded up, so the baseline is feasible).
HW_DEFAULTS = {"systolic": (5.0, 6.0), "edgetpu": (3.0, 62.0)}
#: Marker for "the default of the hardware space's kind" (see :data:`HW_DEFAULTS`).
AUTO = "auto"


def _check_options(budget: int, population: int, batch_size: int, sample_size: int, controller: str,
                   strategy: str, phase_split: float, time_limit_s: Any) -> None:
    for name, v in (("budget", budget), ("population", population), ("batch_size", batch_size),
                    ("sample_size", sample_size)):
        positive_int(name, v)
    if time_limit_s is not None and (isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float))
                                     or not time_limit_s > 0):
        raise ValueError(f"time_limit_s must be a positive number or None, got time_limit_s={time_limit_s!r}")
    if controller not in CONTROLLERS:
        raise ValueError(f"controller must be one of {', '.join(CONTROLLERS)}, got controller={controller!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got strategy={strategy!r}")
    if isinstance(phase_split, bool) or not isinstance(phase_split, (int, float)) or not 0 < phase_split < 1:
        raise ValueError(f"phase_split must be in (0, 1), got phase_split={phase_split!r}")


class Search:
    """One co-design search; the keyword arguments are :func:`~codesign.search.runner.run_search`'s (see there).

    Construction resolves everything that can be checked without touching ``out_dir`` (spaces, fixed designs,
    objective, accuracy evaluator, the run's configuration); :meth:`open` then starts or resumes the run folder.
    """

    def __init__(self, out_dir: str | os.PathLike[str], *, budget: int, population: int, target_latency_ms: Any,
                 area_limit_mm2: Any, seed: int, proxy_steps: int, resume: bool, overwrite: bool, sample_size: int,
                 batch_size: int, hw_mutation_prob: float | None, mode: str, controller: str, proxy_settings: Any,
                 data_dir: Any, time_limit_s: float | None, space: Any, hw: Any, strategy: str, fixed_hw: Any,
                 fixed_arch: Any, phase_split: float, target_energy_mj: float | None,
                 target_edp_mj_ms: float | None, abs_beta: float, accuracy: Any,
                 controller_options: Mapping[str, Any] | None, networks: Any,
                 network_accuracies: Mapping[str, float] | None, aggregate: str,
                 network_targets: Mapping[str, float] | None, threads: int, mapper: Any,
                 parallel: Any = None, deploy: str = "cocompile", num_segments: int = 1) -> None:
        _check_options(budget, population, batch_size, sample_size, controller, strategy, phase_split, time_limit_s)
        self.out = Path(out_dir)
        self.budget, self.population, self.batch_size = budget, population, batch_size
        self.sample_size, self.seed, self.controller_name = sample_size, seed, controller
        self.controller_options = dict(controller_options or {})
        self.time_limit_s, self.resume, self.overwrite = time_limit_s, resume, overwrite
        self.strategy = strategy
        if isinstance(space, str) and space.lower() == "nb201" and isinstance(accuracy, str) \
                and accuracy.lower().startswith("nb201"):  # the named space, built for the accuracy's dataset
            from codesign.evaluation.nb201 import parse_nb201_spec
            from codesign.space.nb201 import NB201Space

            space = NB201Space(dataset=parse_nb201_spec(accuracy.lower())[0])
        self.joint, self.fixed_hw, self.fixed_arch = self._resolve_designs(space, hw, networks, network_accuracies,
                                                                           hw_mutation_prob, fixed_hw, fixed_arch)
        if networks is not None:
            self.strategy = "hardware-only"
        self.kind = getattr(self.joint.hardware, "kind", "systolic")
        self.objective = self._objective(target_latency_ms, area_limit_mm2, target_energy_mj, target_edp_mj_ms,
                                         mode, abs_beta, aggregate, network_targets)
        acc_eval, self.accuracy_desc = resolve_accuracy(accuracy, self.joint, proxy_settings, proxy_steps, data_dir)
        from .deployment import Deployment

        deployment = Deployment(deploy, num_segments)
        self.evaluator = SearchEvaluator(self.joint, self.objective, acc_eval, mapper=mapper, threads=threads,
                                         parallel=parallel, deployment=deployment)
        self.objectives = EDGETPU_OBJECTIVES if self.kind == "edgetpu" else DEFAULT_OBJECTIVES
        self.phase_kinds = [k for k, _ in phases(self.strategy, budget, phase_split)]
        self.config = jsonable({
            "population": population, "sample_size": sample_size, "batch_size": batch_size, "seed": seed,
            # multi-model search mutates hardware only (1.0); its record keeps the argument, as checkpoints did
            "hw_mutation_prob": self.joint.hw_mutation_prob if networks is None else
            (0.5 if hw_mutation_prob is None else hw_mutation_prob), "controller": controller,
            "controller_options": self.controller_options, "objective": self.objective.to_dict(),
            "proxy" if self.accuracy_desc.get("kind") == "proxy" else "accuracy": self.accuracy_desc,
            "space": repr(self.joint), "strategy": self.strategy, "phase_split": phase_split,
            "fixed_hw": self.fixed_hw.to_dict() if self.fixed_hw is not None else None,
            "fixed_arch": list(self.joint.network.encode(self.fixed_arch)) if self.fixed_arch is not None else None,
            "mapper": repr(self.evaluator.mapper) if self.evaluator.mapper is not None else None,
            # recorded where it changes the costs (several networks share a device, or segments)
            **({"deployment": deployment.to_dict()} if networks is not None or not deployment.is_default else {}),
        })
        self.phase_ends = [end for _, end in phases(self.strategy, budget, phase_split)]
        self.trials_path = self.out / "trials.jsonl"
        self.pareto_path = self.out / "pareto.csv"
        self.ckpt_path = self.out / "checkpoint.json"
        self.trials: list[dict[str, Any]] = []
        self.phase = 0
        self.phase_fixed: list[Any] = [None] * len(self.phase_kinds)
        self.batch_no = 0
        self.archive = ParetoArchive(self.objectives)
        self.counts = {"complete": 0, "infeasible": 0, "failed": 0}
        self.best_reward: float | None = None
        self.ctrl: Any = None
        self._fh: Any = None
        self._front_changed = True  # the archive changed since pareto.csv was last written
        self._hw_memo: dict[int, tuple[Any, ...]] = {}

    # -- resolve ---------------------------------------------------------------------------------------------
    def _resolve_designs(self, space: Any, hw: Any, networks: Any, network_accuracies: Any,
                         hw_mutation_prob: float | None, fixed_hw: Any, fixed_arch: Any) -> tuple[JointSpace, Any, Any]:
        """(joint space, accelerator of network-only phases, network of hardware-only phases)."""
        strategy = self.strategy
        if networks is not None:
            if space is not None:
                raise ValueError("networks= (multi-model) fixes the networks; leave space unset")
            if strategy not in ("joint", "hardware-only"):
                raise ValueError(f"networks= (multi-model) searches the hardware only; strategy={strategy!r} is not "
                                 f"allowed")
            joint, preset_hw = resolve_spaces(None, hw, hw_mutation_prob=hw_mutation_prob)
            if preset_hw is not None:
                raise ValueError("networks= (multi-model) searches the hardware; hw must be a hardware space")
            joint = JointSpace(fixed_networks(networks, network_accuracies), joint.hardware, hw_mutation_prob=1.0)
            strategy = "hardware-only"
        else:
            joint, preset_hw = resolve_spaces(space, hw, hw_mutation_prob=hw_mutation_prob)
        if preset_hw is not None:
            if strategy != "network-only":
                raise ValueError(f"hw={getattr(preset_hw, 'name', hw)!r} is a fixed accelerator: use "
                                 f"strategy='network-only' (or give a hardware space such as 'edgetpu-space' for "
                                 f"strategy={strategy!r})")
            if fixed_hw is None:
                fixed_hw = preset_hw
        if isinstance(fixed_hw, str):
            from codesign.hardware import preset

            fixed_hw = preset(fixed_hw)
        if fixed_hw is None and strategy in ("network-only", "net-then-hw"):
            fixed_hw = getattr(joint.hardware, "default", None)
            if fixed_hw is None:
                raise ValueError("the hardware space has no default configuration; pass fixed_hw")
        if fixed_arch is None and strategy in ("hardware-only", "hw-then-net"):
            try:
                fixed_arch = joint.network.reference
            except ValueError as exc:
                raise ValueError(f"the network space's reference network is not a member ({exc}); pass "
                                 f"fixed_arch") from None
        elif fixed_arch is not None:
            joint.network.validate(fixed_arch)
        return joint, fixed_hw, fixed_arch

    def _objective(self, target_latency_ms: Any, area_limit_mm2: Any, target_energy_mj: float | None,
                   target_edp_mj_ms: float | None, mode: str, abs_beta: float, aggregate: str,
                   network_targets: Mapping[str, float] | None) -> Objective:
        lat_default, area_default = HW_DEFAULTS.get(self.kind, (5.0, None))
        if target_latency_ms == AUTO:
            target_latency_ms = None if (target_energy_mj is not None or target_edp_mj_ms is not None) \
                else lat_default
        if area_limit_mm2 == AUTO:
            area_limit_mm2 = area_default
        if (target_energy_mj is not None or target_edp_mj_ms is not None) and self.kind != "edgetpu":
            raise ValueError("energy and EDP targets need the Edge-TPU-like hardware (hw='edgetpu-space' or an "
                             "Edge-TPU preset): the systolic model reports no energy")
        if isinstance(self.joint.network, FixedNetworks):
            return MultiModelObjective(
                networks=self.joint.network.network_names, aggregate=aggregate, targets=network_targets,
                target_latency_ms=target_latency_ms if aggregate != "each" else None, area_limit_mm2=area_limit_mm2,
                mode=mode, abs_beta=abs_beta)
        return Objective(target_latency_ms=target_latency_ms, target_energy_mj=target_energy_mj,
                         target_edp_mj_ms=target_edp_mj_ms, area_limit_mm2=area_limit_mm2, mode=mode,
                         abs_beta=abs_beta)

    @property
    def accuracy_label(self) -> str:
        """Which accuracy signal this run uses, in words (for plots and tables)."""
        return accuracy_label(self.accuracy_desc)

    # -- open --------------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Start the run folder afresh, or (``resume=True``) reload its checkpoint, trials and caches."""
        if self.resume and not self.ckpt_path.is_file():
            raise FileNotFoundError(f"resume=True but there is no checkpoint at {self.ckpt_path}")
        self.out.mkdir(parents=True, exist_ok=True)
        ctrl_state = None
        if self.resume:
            ctrl_state = self._load_checkpoint()
        elif self.ckpt_path.exists() and not self.overwrite:
            raise FileExistsError(f"{self.ckpt_path} exists; pass resume=True to continue or overwrite=True to start "
                                  f"afresh")
        # trials.jsonl mirrors the checkpoint (drops lines of a batch interrupted before its checkpoint)
        with open(self.trials_path, "w", encoding="utf-8") as fh:
            for t in self.trials:
                fh.write(json.dumps(t, allow_nan=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.ctrl = self._new_controller(self.phase)
        if ctrl_state is not None:
            try:
                self.ctrl.load_state_dict(ctrl_state)
            except ValueError as exc:
                raise ValueError(f"{self.ckpt_path}: malformed controller state in the checkpoint (key 'controller'): "
                                 f"{str(exc):.300}") from None
            except (KeyError, TypeError, IndexError, AttributeError) as exc:  # pragma: no cover - load checks all
                raise ValueError(f"{self.ckpt_path}: malformed controller state in the checkpoint (key 'controller'): "
                                 f"{exc!r:.300}") from None
        for t in self.trials:
            self._account(t)
        if self.trials:  # resumed: the candidate cache as the uninterrupted run had it
            self.evaluator.prime([(self._candidate_of(t), Result(t["metrics"], t["status"], t["reason"]))
                                  for t in self.trials])
        self._fh = open(self.trials_path, "a", encoding="utf-8")

    def _load_checkpoint(self) -> Any:
        ckpt = read_checkpoint(self.ckpt_path)
        if ckpt["config"] != self.config:
            diffs = config_differences(ckpt["config"], self.config)
            more = f"; and {len(diffs) - 3} more" if len(diffs) > 3 else ""
            raise ValueError(f"{self.ckpt_path}: the configuration differs from the checkpoint: {'; '.join(diffs[:3])}"
                             f"{more} - resume with the options of the run that made it")
        self.phase, self.phase_ends, self.phase_fixed, self.batch_no = checkpoint_phase_state(
            self.ckpt_path, ckpt, self.strategy, self.phase_kinds, self.budget, self.joint)
        n_saved = int(ckpt["n_trials"])
        self.trials = load_trials(self.trials_path, limit=n_saved) if self.trials_path.is_file() else []
        if len(self.trials) != n_saved:
            raise ValueError(f"{self.trials_path} holds {len(self.trials)} trials, the checkpoint {n_saved}")
        try:
            self.evaluator.load_cache_state(ckpt.get("accuracy_cache", []))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"{self.ckpt_path}: malformed accuracy cache in the checkpoint ({exc!r:.200})") from None
        return ckpt["controller"]

    def _candidate_of(self, t: Mapping[str, Any]) -> Candidate:
        arch = self.joint.network.decode(t["net_encoding"])
        hw = self.joint.hardware.decode(t["hw_encoding"]) if t["hw_encoding"] is not None else self.fixed_hw
        return Candidate(arch, hw)

    def _phase_space(self, p: int) -> CategoricalSpace:
        k = self.phase_kinds[p]
        if k == "joint":
            return self.joint
        fx = self.phase_fixed[p]
        if k == "network":
            return SubSpace(self.joint, hw=self.fixed_hw if fx is None else self.joint.hardware.decode(fx))
        return SubSpace(self.joint, arch=self.fixed_arch if fx is None else self.joint.network.decode(fx))

    def _new_controller(self, p: int) -> Any:
        return make_controller(self.controller_name, self._phase_space(p), seed=self.seed + p,
                               population=self.population, sample_size=self.sample_size,
                               options=self.controller_options)

    # -- the steps ---------------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return len(self.trials) >= self.budget

    def ask(self) -> list[Candidate]:
        """The next batch of candidates (first moving to the next phase when this one has used its share)."""
        if self.ctrl is None:
            raise RuntimeError("call open() before ask()")
        if len(self.trials) >= self.phase_ends[self.phase]:
            self._next_phase()
        return self.ctrl.ask(min(self.batch_size, self.phase_ends[self.phase] - len(self.trials)))

    def _next_phase(self) -> None:
        """Fix the part the finished phase searched to its best design and start the next phase's controller."""
        done = [t for t in self.trials if t["phase"] == self.phase]
        best = max(done, key=lambda t: (t["fitness"] if t["fitness"] is not None else -math.inf, -t["trial"]))
        self.phase += 1
        key = "net_encoding" if self.phase_kinds[self.phase] == "hardware" else "hw_encoding"
        self.phase_fixed[self.phase] = best[key]
        self.ctrl = self._new_controller(self.phase)

    def evaluate(self, candidates: Sequence[Candidate]) -> list[tuple[Result, dict[str, Any]]]:
        """(Result, info) per candidate (:meth:`SearchEvaluator.evaluate`)."""
        return self.evaluator.evaluate(candidates)

    def tell(self, candidates: Sequence[Candidate], results: Sequence[tuple[Result, dict[str, Any]]]) -> None:
        """Record the batch's trials (trials.jsonl, fsynced), update the archive and tell the controller."""
        for cand, (result, info) in zip(candidates, results):
            rec = self._record(cand, result, info)
            self.trials.append(rec)
            self._account(rec)
            self._fh.write(json.dumps(rec, allow_nan=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.ctrl.tell(list(candidates), [r for r, _ in results])
        self.batch_no += 1

    def _account(self, t: Mapping[str, Any]) -> None:
        self.counts[t["status"]] += 1
        if t["reward"] is not None and (self.best_reward is None or t["reward"] > self.best_reward):
            self.best_reward = t["reward"]
        if t["status"] == "complete" and all(n in t["metrics"] for n, _ in self.objectives):
            if self.archive.add(t["metrics"], t):
                self._front_changed = True

    def _record(self, cand: Candidate, result: Result, info: Mapping[str, Any]) -> dict[str, Any]:
        joint = self.joint
        f = fitness(result)
        decisions = dict(joint.network.decisions(cand.arch))
        hw_enc, hw_decisions, hw_dict = hw_record_parts(joint.hardware, cand.hw, self._hw_memo)
        decisions.update(hw_decisions)
        return {
            "trial": len(self.trials),
            "batch": self.batch_no,
            "phase": self.phase,
            "phase_name": self.phase_kinds[self.phase],
            "decisions": jsonable(decisions),
            "encoding": list(self.ctrl.space.encode(cand)),
            "net_encoding": list(joint.network.encode(cand.arch)),
            "hw_encoding": hw_enc,
            "blocks": [b for st in joint.network.to_block_strings(cand.arch) for b in st],
            "network": joint.network.short_name(cand.arch),
            "hw": hw_dict,
            "metrics": jsonable(result.metrics),
            "reward": result.reward,
            "fitness": None if not math.isfinite(f) else f,
            "status": result.status,
            "reason": result.reason,
            "seconds": info["seconds"],
            "proxy_cached": info["proxy_cached"],
            "cached": info["cached"],
        }

    def checkpoint(self) -> None:
        """Write checkpoint.json atomically (after the batch's trial lines are on disk), then pareto.csv."""
        write_json_atomic(self.ckpt_path, {
            "version": CHECKPOINT_VERSION,
            "config": self.config,
            "n_trials": len(self.trials),
            "batch": self.batch_no,
            "phase": self.phase,
            "phase_ends": self.phase_ends,
            "phase_fixed": self.phase_fixed,
            "controller": self.ctrl.state_dict(),
        }, last=("accuracy_cache", self.evaluator.cache_state_json()))  # kept as JSON text, entry by entry
        if self._front_changed or not self.pareto_path.exists():  # else the file holds this front already
            write_pareto(self.pareto_path, self.archive, self.joint.hardware.names)
            self._front_changed = False

    # -- the loop ----------------------------------------------------------------------------------------------
    def run(self, *, progress: bool = True, plot: bool = True) -> Any:
        """open(), the batches until the budget (or the time limit), finish(); returns the SearchSummary."""
        self.open()
        t_start = time.perf_counter()
        misses, hits = self.evaluator.accuracy_misses, self.evaluator.accuracy_hits
        display = _Progress(self, progress)
        stopped_early = False
        try:
            while not self.done:
                if self.time_limit_s is not None and time.perf_counter() - t_start >= self.time_limit_s:
                    stopped_early = True
                    break
                cands = self.ask()
                results = self.evaluate(cands)
                self.tell(cands, results)
                self.checkpoint()
                display.update()
        finally:
            display.stop()
            self.close()
        return self.finish(seconds=time.perf_counter() - t_start, stopped_early=stopped_early, plot=plot,
                           trained=self.evaluator.accuracy_misses - misses,
                           cache_hits=self.evaluator.accuracy_hits - hits)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finish(self, *, seconds: float = 0.0, stopped_early: bool = False, plot: bool = True, trained: int = 0,
               cache_hits: int = 0) -> Any:
        """pareto.csv, search.png (``plot``), summary.json; returns the :class:`SearchSummary`."""
        from .runner import SearchSummary

        write_pareto(self.pareto_path, self.archive, self.joint.hardware.names)
        complete = [t for t in self.trials if t["reward"] is not None]
        best = max(complete, key=lambda t: t["reward"]) if complete else None
        target = self.objective.target_latency_ms
        lats = [t["metrics"]["latency_ms"] for t in complete if "latency_ms" in t["metrics"]]
        ref_ms = 2.0 * target if target else (1.1 * max(lats) if lats else 1.0)
        hv = hypervolume([(t["metrics"]["accuracy"], t["metrics"]["latency_ms"]) for t in complete
                          if "latency_ms" in t["metrics"] and "accuracy" in t["metrics"]], (0.0, ref_ms),
                         ("max", "min"))
        under = [t["reward"] for t in complete
                 if all(t["metrics"].get(k, True) for k in t["metrics"] if k.endswith("_ok"))]
        plot_path = self._plot(target) if plot and self.trials else None
        summary = SearchSummary(
            out_dir=str(self.out), n_trials=len(self.trials), n_complete=self.counts["complete"],
            n_infeasible=self.counts["infeasible"], n_failed=self.counts["failed"], best=best,
            pareto=[t for t, _ in self.archive.front()], seconds=seconds, trained_networks=trained,
            proxy_cache_hits=cache_hits, trials_path=str(self.trials_path), pareto_path=str(self.pareto_path),
            checkpoint_path=str(self.ckpt_path), config=self.config, stopped_early=stopped_early,
            plot_path=plot_path, hypervolume=hv, hv_reference_ms=ref_ms,
            best_under_target=max(under) if under else None, strategy=self.strategy,
            accuracy_signal=self.accuracy_label)
        write_json_atomic(self.out / "summary.json", summary.to_dict())
        return summary

    def _plot(self, target: float | None) -> str | None:
        try:
            from .plot import plot_trials
        except ImportError:  # pragma: no cover - matplotlib missing
            return None
        title = (f"{self.strategy} search, {self.controller_name}, {repr(self.joint.network).split('(')[0]} on "
                 f"{repr(self.joint.hardware).split('(')[0]}")
        try:
            return str(plot_trials(self.trials, self.out / "search.png", target_latency_ms=target,
                                   front=[t["trial"] for t, _ in self.archive.front()], title=title,
                                   accuracy_kind=self.accuracy_desc.get("kind"), accuracy_label=self.accuracy_label))
        except ImportError:  # pragma: no cover - matplotlib missing
            return None


class _Progress:
    """The search's progress on stderr: a rich bar on a terminal, else :class:`codesign.progress.PlainProgress`
    (a plain line per batch)."""

    def __init__(self, search: Search, enabled: bool) -> None:
        self.search = search
        self.t0 = time.perf_counter()
        self.n0 = len(search.trials)
        self.bar: Any = None
        if not enabled:
            return
        from rich.console import Console

        console = Console(stderr=True)
        if console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(),
                TextColumn("best {task.fields[best]}"), TextColumn("feasible {task.fields[feasible]}"),
                TextColumn("{task.fields[rate]} trials/s"), TimeElapsedColumn(), console=console, transient=False)
        else:
            from codesign.progress import PlainProgress

            self.bar = PlainProgress()
        self.bar.start()
        self.task = self.bar.add_task("search", total=search.budget, completed=self.n0, **self._fields())

    def _fields(self) -> dict[str, str]:
        s = self.search
        n = len(s.trials)
        el = time.perf_counter() - self.t0
        return {"best": "-" if s.best_reward is None else f"{s.best_reward:.4f}",
                "feasible": f"{s.counts['complete'] / n:.0%}" if n else "-",
                "rate": f"{(n - self.n0) / el:.2f}" if el > 0 and n > self.n0 else "-"}

    def update(self) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=min(len(self.search.trials), self.search.budget), **self._fields())

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
