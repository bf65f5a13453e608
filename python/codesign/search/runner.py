"""The co-design search loop: strategies, checkpoints, resume, outputs.

:func:`run_search` repeats ask -> evaluate -> reward -> tell with a controller (regularized evolution, random
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

import csv
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codesign.runlock import holds_run_lock
from codesign.space._base import CategoricalSpace
from codesign.space.joint import Candidate, JointSpace, SubSpace
from codesign.space.nas import NetworkSpaceBase

from .evaluator import FixedNetworks, SearchEvaluator, SurrogateAccuracy
from .evolution import RandomSearch, RegularizedEvolution
from .objective import MultiModelObjective, Objective, fitness
from .optuna_sampler import OptunaSampler
from .pareto import DEFAULT_OBJECTIVES, EDGETPU_OBJECTIVES, ParetoArchive, hypervolume
from .policy import PPO, Reinforce

__all__ = ["SearchEvaluator", "JointEvaluator", "SearchSummary", "run_search", "load_trials", "DEFAULTS",
           "STRATEGIES", "CONTROLLERS", "make_controller", "resolve_spaces", "AUTO"]

from .evaluator import JointEvaluator  # noqa: E402  (re-export, the first search's name)

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
#: Strategy names of :func:`run_search`.
STRATEGIES: tuple[str, ...] = ("joint", "network-only", "hardware-only", "net-then-hw", "hw-then-net")
#: Controller names of :func:`run_search` / :func:`make_controller`.
CONTROLLERS: tuple[str, ...] = ("evolution", "random", "reinforce", "ppo", "tpe", "nsga2")
#: Per hardware-space kind: (default latency target ms, default area limit mm^2). Edge-TPU-like: 3 ms (the issue's
#: example) and 62 mm^2 (the template baseline's 61.2 mm^2, rounded up, so the baseline is feasible).
_HW_DEFAULTS = {"systolic": (5.0, 6.0), "edgetpu": (3.0, 62.0)}
#: Marker for "the default of the hardware space's kind" (see :data:`_HW_DEFAULTS`).
AUTO = "auto"

_CHECKPOINT_VERSION = 2


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


def make_controller(name: str, space: CategoricalSpace, *, seed: int = 0, population: int = 8, sample_size: int = 3,
                    options: Mapping[str, Any] | None = None) -> Any:
    """A controller by name (:data:`CONTROLLERS`) over ``space``; ``options`` are extra keyword arguments
    (e.g. ``{"lr": 0.1}`` for reinforce / ppo, ``{"clip": 0.1}`` for ppo, ``{"n_startup_trials": 5}`` for tpe).

    ``tpe`` / ``nsga2`` are :class:`~codesign.search.optuna_sampler.OptunaSampler` (need optuna); nsga2's
    ``population_size`` is ``population`` unless ``options`` sets it."""
    opts = dict(options or {})
    if name == "evolution":
        return RegularizedEvolution(space, population_size=population, sample_size=min(sample_size, population),
                                    seed=seed, **opts)
    if name == "random":
        return RandomSearch(space, seed=seed, **opts)
    if name == "reinforce":
        return Reinforce(space, seed=seed, **opts)
    if name == "ppo":
        return PPO(space, seed=seed, **opts)
    if name == "tpe":
        return OptunaSampler(space, sampler="tpe", seed=seed, **opts)
    if name == "nsga2":
        opts.setdefault("population_size", population)
        return OptunaSampler(space, sampler="nsga2", seed=seed, **opts)
    raise ValueError(f"controller must be one of {', '.join(CONTROLLERS)}, got controller={name!r}")


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

    @property
    def feasible_fraction(self) -> float:
        return self.n_complete / self.n_trials if self.n_trials else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["feasible_fraction"] = self.feasible_fraction
        return _jsonable(d)


#: Longest trial line and largest checkpoint read (a trial is about 2 KiB; a checkpoint of 100,000 trials' cache a
#: few tens of MiB).
_MAX_LINE = 1 << 20
_MAX_CHECKPOINT = 256 << 20


def load_trials(path: str | os.PathLike[str], limit: int | None = None) -> list[dict[str, Any]]:
    """Read ``trials.jsonl`` (a file, or a folder holding one) into a list of trial records.

    ``limit``: read only the first ``limit`` records (resume reads as many as the checkpoint holds, so a line
    half-written by a kill after the last checkpoint is never parsed).

    Raises:
        FileNotFoundError: no such file. ValueError: a malformed line (the message names the file and line).
    """
    p = Path(path)
    if p.is_dir():
        p = p / "trials.jsonl"
    if not p.is_file():
        raise FileNotFoundError(f"no trials file at {p}")
    out: list[dict[str, Any]] = []
    with open(p, encoding="utf-8", errors="replace") as fh:
        # bounded lines (issue 16): a file without newlines is refused, never read whole into memory
        for lineno, line in enumerate(iter(lambda: fh.readline(_MAX_LINE + 1), ""), 1):
            if limit is not None and len(out) >= limit:
                break
            if len(line) > _MAX_LINE:
                raise ValueError(f"{p}:{lineno}: a line longer than {_MAX_LINE:,} characters is not a trial record")
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{p}:{lineno}: malformed trial record ({exc.msg})") from None
            if not isinstance(rec, dict):
                raise ValueError(f"{p}:{lineno}: a trial record must be a JSON object, got {type(rec).__name__}")
            out.append(rec)
    return out


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """Load and check a checkpoint file; every problem is a ValueError naming the file."""
    if path.stat().st_size > _MAX_CHECKPOINT:  # bounded (issue 16): refused before it is read
        raise ValueError(f"{path}: {path.stat().st_size:,} bytes, more than a checkpoint holds ({_MAX_CHECKPOINT:,})")
    try:
        with open(path, encoding="utf-8") as fh:
            ckpt = json.load(fh)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text (JSON) checkpoint file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: malformed checkpoint ({exc.msg}); it may be truncated") from None
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path}: a checkpoint must be a JSON object, got {type(ckpt).__name__}")
    if ckpt.get("version") != _CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {ckpt.get('version')!r} is not {_CHECKPOINT_VERSION}")
    required = {"version": int, "config": dict, "n_trials": int, "batch": int, "phase": int, "phase_ends": list,
                "phase_fixed": list, "controller": dict}
    for key, kind in required.items():
        if key not in ckpt:
            raise ValueError(f"{path}: checkpoint lacks the key {key!r}")
        if not isinstance(ckpt[key], kind) or isinstance(ckpt[key], bool):
            raise ValueError(f"{path}: checkpoint key {key!r} must be {kind.__name__}, got {ckpt[key]!r:.80}")
    unknown = sorted(set(ckpt) - set(required) - {"accuracy_cache"})
    if unknown:
        raise ValueError(f"{path}: unknown checkpoint keys {unknown}")
    if ckpt["n_trials"] < 0 or ckpt["batch"] < 0 or ckpt["phase"] < 0:
        raise ValueError(f"{path}: n_trials, batch and phase must be >= 0, got {ckpt['n_trials']}, {ckpt['batch']}, {ckpt['phase']}")
    return ckpt


_UNSET = object()  # a configuration key one side lacks


def _short(value: Any, width: int = 60) -> str:
    r = "unset" if value is _UNSET else repr(value)
    return r if len(r) <= width else r[: width - 3] + "..."


def _config_differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two run configurations: ``"key: checkpoint X, now Y"`` per differing
    key, values truncated to 60 characters (one level into dicts of the same ``kind``:
    ``"objective.target_latency_ms: ..."``). The accuracy description is stored under ``proxy`` or ``accuracy``
    (by kind); to the user both are "accuracy settings"."""
    acc_keys = ("proxy", "accuracy")

    def get(cfg: Mapping[str, Any], key: str) -> Any:
        if key == "accuracy settings":
            return next((cfg[k] for k in acc_keys if k in cfg), _UNSET)
        return cfg.get(key, _UNSET)

    keys = sorted({"accuracy settings" if k in acc_keys else k for k in set(saved) | set(now)})
    out = []
    for key in keys:
        old, new = get(saved, key), get(now, key)
        if old == new:
            continue
        if isinstance(old, Mapping) and isinstance(new, Mapping) and old.get("kind") == new.get("kind"):
            for sub in sorted(set(old) | set(new), key=str):
                o, n = old.get(sub, _UNSET), new.get(sub, _UNSET)
                if o != n:
                    label = f"{key} ({sub})" if key == "accuracy settings" else f"{key}.{sub}"
                    out.append(f"{label}: checkpoint {_short(o)}, now {_short(n)}")
        else:
            out.append(f"{key}: checkpoint {_short(old)}, now {_short(new)}")
    if not out:  # e.g. a checkpoint naming both accuracy keys
        out = [f"{k}: checkpoint {_short(saved.get(k, _UNSET))}, now {_short(now.get(k, _UNSET))}"
               for k in sorted(set(saved) | set(now)) if saved.get(k, _UNSET) != now.get(k, _UNSET)]
    return out


def _checkpoint_phase_state(path: Path, ckpt: dict[str, Any], strategy: str, phase_kinds: Sequence[str],
                            budget: int, joint: JointSpace) -> tuple[int, list[int], list[Any], int]:
    """(phase, phase_ends, phase_fixed, batch) of a checkpoint, checked against the strategy and the budget of
    the resumed run; every problem is a ValueError naming the file and the key."""
    n_phases = len(phase_kinds)
    n_trials, batch, phase = ckpt["n_trials"], ckpt["batch"], ckpt["phase"]
    if batch > n_trials:
        raise ValueError(f"{path}: checkpoint key 'batch' must be an int in [0, n_trials={n_trials}] (a batch holds "
                         f"at least one trial), got {batch!r}")
    if not 0 <= phase < n_phases:
        raise ValueError(f"{path}: checkpoint key 'phase' must be an int in [0, {n_phases - 1}] for "
                         f"strategy={strategy!r} ({n_phases} phase{'s' if n_phases > 1 else ''}), got {phase!r}")
    ends = ckpt["phase_ends"]
    if len(ends) != n_phases or any(isinstance(e, bool) or not isinstance(e, int) for e in ends) \
            or ends[0] < 1 or any(a >= b for a, b in zip(ends, ends[1:])):
        raise ValueError(f"{path}: checkpoint key 'phase_ends' must list {n_phases} increasing positive trial "
                         f"counts (strategy={strategy!r}), got {ends!r:.80}")
    if phase > 0 and n_trials < ends[phase - 1]:
        raise ValueError(f"{path}: checkpoint key 'phase' is {phase}, but n_trials={n_trials} has not reached the "
                         f"end of phase {phase - 1} (phase_ends={ends!r:.80})")
    if phase < n_phases - 1 and n_trials > ends[phase]:
        raise ValueError(f"{path}: checkpoint key 'phase' is {phase}, but n_trials={n_trials} is past its end "
                         f"(phase_ends={ends!r:.80})")
    phase_ends = [int(e) for e in ends[:-1]] + [budget]
    if n_phases > 1 and ends[-2] >= budget and n_trials < budget:
        raise ValueError(f"{path}: the checkpoint's phase {n_phases - 2} ends at trial {ends[-2]} "
                         f"(phase_ends={ends!r:.80}), so budget={budget} is too small to resume it")
    fixed = ckpt["phase_fixed"]
    if len(fixed) != n_phases:
        raise ValueError(f"{path}: checkpoint key 'phase_fixed' must list {n_phases} items (one per phase of "
                         f"strategy={strategy!r}), got {fixed!r:.80}")
    for i, (k, fx) in enumerate(zip(phase_kinds, fixed)):
        if fx is None:
            continue
        sub = {"network": joint.hardware, "hardware": joint.network}.get(k)
        bad = sub is None or not isinstance(fx, list)
        if not bad:
            try:
                sub.decode(fx)
            except (ValueError, TypeError):
                bad = True
        if bad:
            what = "null (a joint phase fixes nothing)" if sub is None else \
                f"null or an encoding of the {'hardware' if k == 'network' else 'network'} space"
            raise ValueError(f"{path}: checkpoint key 'phase_fixed'[{i}] must be {what}, got {fx!r:.80}")
    return phase, phase_ends, list(fixed), batch


def _write_json_atomic(path: Path, obj: Any) -> None:
    try:  # serialised before the temporary file is opened: a NaN never leaves a half-written .tmp (issue 16)
        text = json.dumps(obj, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"cannot write {path}: {exc} (a NaN or infinite value); the previous file is kept") from None
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _archive(trials: list[dict[str, Any]], objectives: Sequence[tuple[str, str]]) -> ParetoArchive:
    archive = ParetoArchive(objectives)
    for t in trials:
        if t["status"] == "complete" and all(n in t["metrics"] for n, _ in objectives):
            archive.add(t["metrics"], t)
    return archive


def _write_pareto(path: Path, archive: ParetoArchive, hw_names: Sequence[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["trial", *archive.names, "reward", *hw_names, "network", "blocks"])
        for t, m in archive.front():
            hw = t["hw"]
            w.writerow([t["trial"], *(m[n] for n in archive.names), t["reward"], *(hw.get(n) for n in hw_names),
                        t.get("network", ""), " ".join(t["blocks"])])
    os.replace(tmp, path)


def _positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {name}={v!r}")
    return v


def resolve_spaces(space: Any = None, hw: Any = None, *,
                   hw_mutation_prob: float | None = None) -> tuple[JointSpace, Any]:
    """(joint space, fixed hardware or None) from :func:`run_search`'s ``space`` and ``hw`` arguments.

    ``space``: None (``NetworkSpace()``, the first search's), a name (``mobilenetv2``, ``mobilenetv2-base``,
    ``edgetpu``, ``edgetpu-gc``, ``fbnet``), a ``.toml``/``.yaml`` space file (with ``[network]``, or both
    ``[network]`` and ``[hardware]``), a network space or a :class:`JointSpace`.
    ``hw``: None (``HardwareSpace()``, systolic arrays), a hardware-space name (``edgetpu-space``,
    ``systolic-space``), a space file with only ``[hardware]``, a hardware space, or a fixed accelerator: a
    preset name (``edgetpu``, ``edgetpu-baseline``, ``systolic``, ...) or a configuration, returned as the second
    element (its space is the default space of its kind).
    ``hw_mutation_prob``: None takes a joint space's (or a joint space file's) own value, else 0.5.
    """
    from codesign.hardware import EdgeTpuConfig, SystolicArray, preset
    from codesign.space.hw import EdgeTpuHardwareSpace, HardwareSpace
    from codesign.space.registry import HARDWARE_SPACES, load_space_file, network_space

    def is_file(x: Any) -> bool:
        return isinstance(x, (str, os.PathLike)) and str(x).lower().endswith((".toml", ".yaml", ".yml"))

    fixed = None
    net: Any = space
    if is_file(space):
        net = load_space_file(space)
        if isinstance(net, CategoricalSpace) and not isinstance(net, (NetworkSpaceBase, JointSpace)):
            raise ValueError(f"space file {str(space)!r} defines only [hardware]: give it as hw (--hw {space}) and "
                             f"the network space as space (--space)")
    elif isinstance(space, str):
        net = network_space(space)
    if isinstance(net, JointSpace):
        if hw is not None:
            raise ValueError("space is already a joint space (it defines its hardware); leave hw unset")
        prob = net.hw_mutation_prob if hw_mutation_prob is None else hw_mutation_prob
        return JointSpace(net.network, net.hardware, hw_mutation_prob=prob), None
    if hw_mutation_prob is None:
        hw_mutation_prob = 0.5
    if is_file(hw):
        hws_file = load_space_file(hw)
        if not isinstance(hws_file, CategoricalSpace) or isinstance(hws_file, (NetworkSpaceBase, JointSpace)):
            raise ValueError(f"hw file {str(hw)!r} must define only [hardware] (a hardware space); got "
                             f"{type(hws_file).__name__}")
        hw = hws_file
    if net is None:
        from codesign.space.nas import NetworkSpace

        net = NetworkSpace()
    if not isinstance(net, NetworkSpaceBase):
        raise ValueError(f"space must be a network space name, file or object, got space={space!r}")
    if hw is None:
        hws: Any = HardwareSpace()
    elif isinstance(hw, str) and hw.lower() in HARDWARE_SPACES:
        hws = HARDWARE_SPACES[hw.lower()]()
    elif isinstance(hw, str):
        try:
            fixed = preset(hw)
        except ValueError:
            raise ValueError(f"hw={hw!r} is neither a hardware space ({', '.join(HARDWARE_SPACES)}) nor a preset") from None
        hws = EdgeTpuHardwareSpace() if isinstance(fixed, EdgeTpuConfig) else HardwareSpace()
    elif isinstance(hw, (EdgeTpuConfig, SystolicArray)):
        fixed = hw
        hws = EdgeTpuHardwareSpace() if isinstance(fixed, EdgeTpuConfig) else HardwareSpace()
    elif isinstance(hw, CategoricalSpace):
        hws = hw
    else:
        raise ValueError(f"hw must be a hardware space name or object, a preset name or a configuration, got hw={hw!r}")
    return JointSpace(net, hws, hw_mutation_prob=hw_mutation_prob), fixed


def _fixed_networks(networks: Any, accuracies: Mapping[str, float] | None) -> FixedNetworks:
    """FixedNetworks from timm names / Workloads / a name -> Workload mapping."""
    if isinstance(networks, FixedNetworks):
        return networks
    if isinstance(networks, Mapping):
        return FixedNetworks(dict(networks), accuracies)
    if isinstance(networks, str):
        networks = [n for n in networks.split(",") if n.strip()]
    items: dict[str, Any] = {}
    for n in networks:
        if isinstance(n, str):
            from codesign.workload import from_timm

            items[n.strip()] = from_timm(n.strip())
        elif hasattr(n, "to_array"):
            items[n.name] = n
        else:
            raise ValueError(f"networks must be timm model names or Workloads, got {n!r}")
    return FixedNetworks(items, accuracies)


def _resolve_accuracy(accuracy: Any, joint: JointSpace, proxy_settings: Any, proxy_steps: int,
                      data_dir: Any) -> tuple[Any, Any]:
    """(evaluator, JSON description for the configuration)."""
    if isinstance(joint.network, FixedNetworks):
        return None, {"kind": "fixed", "accuracies": joint.network.accuracies}
    if accuracy == "proxy":
        from codesign.evaluation.proxy import ProxyEvaluator, ProxySettings

        if proxy_settings is None:
            proxy_settings = ProxySettings(steps=_positive_int("proxy_steps", proxy_steps))
        elif not isinstance(proxy_settings, ProxySettings):
            raise ValueError(f"proxy_settings must be a ProxySettings, got {proxy_settings!r}")
        return (ProxyEvaluator(proxy_settings, space=joint.network, data_dir=data_dir),
                {"kind": "proxy", **proxy_settings.to_dict()})
    if accuracy == "surrogate":
        ev = SurrogateAccuracy(joint.network)
        return ev, ev.to_dict()
    if isinstance(accuracy, str):
        raise ValueError(f"accuracy must be 'proxy', 'surrogate' or an evaluator object, got accuracy={accuracy!r}")
    if not (hasattr(accuracy, "evaluate") or callable(accuracy)):
        raise ValueError(f"accuracy must have an evaluate(arch) method, got accuracy={accuracy!r}")
    desc = accuracy.to_dict() if hasattr(accuracy, "to_dict") else {"kind": type(accuracy).__name__,
                                                                   "repr": repr(accuracy)}
    return accuracy, desc


def _phases(strategy: str, budget: int, split: float) -> list[tuple[str, int]]:
    """[(phase kind, cumulative trial count at which it ends)]."""
    b1 = min(max(1, int(round(budget * split))), budget - 1) if budget > 1 else budget
    return {
        "joint": [("joint", budget)],
        "network-only": [("network", budget)],
        "hardware-only": [("hardware", budget)],
        "net-then-hw": [("network", b1), ("hardware", budget)],
        "hw-then-net": [("hardware", b1), ("network", budget)],
    }[strategy]


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
    accuracy: Any = "proxy",
    controller_options: Mapping[str, Any] | None = None,
    networks: Any = None,
    network_accuracies: Mapping[str, float] | None = None,
    aggregate: str = "sum",
    network_targets: Mapping[str, float] | None = None,
    plot: bool = True,
    threads: int = 0,
    mapper: Any = None,
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
        accuracy: ``"proxy"`` (Fashion-MNIST proxy, :mod:`codesign.evaluation.proxy`), ``"surrogate"``
            (:class:`~codesign.search.evaluator.SurrogateAccuracy`, no training) or an evaluator object with
            ``evaluate(arch)``.
        networks: multi-model use case: timm model names (comma-separated string or list), Workloads or a
            ``{name: Workload}`` mapping; the search is then over the hardware only. network_accuracies: their
            accuracies (default 1.0). aggregate: ``"sum"``, ``"max"`` or ``"each"`` (with ``network_targets``).
        plot: draw ``search.png`` at the end (needs matplotlib).
        threads: worker threads of the batched cost calls (0 = all cores). mapper: Edge-TPU mapper options.

    Returns a :class:`SearchSummary`. With the first search's defaults (32 trials, population 8, 80 proxy steps)
    a search took 142 s on the 2-core development machine.
    """
    budget = _positive_int("budget", budget)
    if time_limit_s is not None and (isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float))
                                     or not time_limit_s > 0):
        raise ValueError(f"time_limit_s must be a positive number or None, got time_limit_s={time_limit_s!r}")
    population = _positive_int("population", population)
    batch_size = _positive_int("batch_size", batch_size)
    sample_size = _positive_int("sample_size", sample_size)
    if controller not in CONTROLLERS:
        raise ValueError(f"controller must be one of {', '.join(CONTROLLERS)}, got controller={controller!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got strategy={strategy!r}")
    if isinstance(phase_split, bool) or not isinstance(phase_split, (int, float)) or not 0 < phase_split < 1:
        raise ValueError(f"phase_split must be in (0, 1), got phase_split={phase_split!r}")

    # -- spaces ------------------------------------------------------------------------------------------------
    if networks is not None:
        if space is not None:
            raise ValueError("networks= (multi-model) fixes the networks; leave space unset")
        if strategy not in ("joint", "hardware-only"):
            raise ValueError(f"networks= (multi-model) searches the hardware only; strategy={strategy!r} is not allowed")
        joint, preset_hw = resolve_spaces(None, hw, hw_mutation_prob=hw_mutation_prob)
        if preset_hw is not None:
            raise ValueError("networks= (multi-model) searches the hardware; hw must be a hardware space")
        joint = JointSpace(_fixed_networks(networks, network_accuracies), joint.hardware, hw_mutation_prob=1.0)
        strategy = "hardware-only"
    else:
        joint, preset_hw = resolve_spaces(space, hw, hw_mutation_prob=hw_mutation_prob)
    kind = getattr(joint.hardware, "kind", "systolic")
    if preset_hw is not None:
        if strategy != "network-only":
            raise ValueError(f"hw={getattr(preset_hw, 'name', hw)!r} is a fixed accelerator: use strategy='network-only' "
                             f"(or give a hardware space such as 'edgetpu-space' for strategy={strategy!r})")
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
            raise ValueError(f"the network space's reference network is not a member ({exc}); pass fixed_arch") from None
    elif fixed_arch is not None:
        joint.network.validate(fixed_arch)

    # -- objective -------------------------------------------------------------------------------------------
    lat_default, area_default = _HW_DEFAULTS.get(kind, (5.0, None))
    if target_latency_ms == AUTO:
        target_latency_ms = None if (target_energy_mj is not None or target_edp_mj_ms is not None) else lat_default
    if area_limit_mm2 == AUTO:
        area_limit_mm2 = area_default
    if (target_energy_mj is not None or target_edp_mj_ms is not None) and kind != "edgetpu":
        raise ValueError("energy and EDP targets need the Edge-TPU-like hardware (hw='edgetpu-space' or an "
                         "Edge-TPU preset): the systolic model reports no energy")
    if isinstance(joint.network, FixedNetworks):
        objective: Objective = MultiModelObjective(
            networks=joint.network.network_names, aggregate=aggregate, targets=network_targets,
            target_latency_ms=target_latency_ms if aggregate != "each" else None, area_limit_mm2=area_limit_mm2,
            mode=mode, abs_beta=abs_beta)
    else:
        objective = Objective(target_latency_ms=target_latency_ms, target_energy_mj=target_energy_mj,
                              target_edp_mj_ms=target_edp_mj_ms, area_limit_mm2=area_limit_mm2, mode=mode,
                              abs_beta=abs_beta)
    acc_eval, acc_desc = _resolve_accuracy(accuracy, joint, proxy_settings, proxy_steps, data_dir)
    evaluator = SearchEvaluator(joint, objective, acc_eval, mapper=mapper, threads=threads)
    objectives = EDGETPU_OBJECTIVES if kind == "edgetpu" else DEFAULT_OBJECTIVES

    config = _jsonable({
        "population": population, "sample_size": sample_size, "batch_size": batch_size, "seed": seed,
        # multi-model search mutates hardware only (1.0); its record keeps the argument, as checkpoints always did
        "hw_mutation_prob": joint.hw_mutation_prob if networks is None else
        (0.5 if hw_mutation_prob is None else hw_mutation_prob), "controller": controller,
        "controller_options": dict(controller_options or {}), "objective": objective.to_dict(),
        "proxy" if acc_desc.get("kind") == "proxy" else "accuracy": acc_desc, "space": repr(joint),
        "strategy": strategy, "phase_split": phase_split,
        "fixed_hw": fixed_hw.to_dict() if fixed_hw is not None else None,
        "fixed_arch": list(joint.network.encode(fixed_arch)) if fixed_arch is not None else None,
        "mapper": repr(evaluator.mapper) if evaluator.mapper is not None else None,
    })

    out = Path(out_dir)
    trials_path, pareto_path, ckpt_path = out / "trials.jsonl", out / "pareto.csv", out / "checkpoint.json"
    if resume and not ckpt_path.is_file():
        raise FileNotFoundError(f"resume=True but there is no checkpoint at {ckpt_path}")
    out.mkdir(parents=True, exist_ok=True)
    trials: list[dict[str, Any]] = []
    phase_ends = [end for _, end in _phases(strategy, budget, phase_split)]
    phase_kinds = [k for k, _ in _phases(strategy, budget, phase_split)]
    phase = 0
    phase_fixed: list[Any] = [None] * len(phase_kinds)
    ctrl_state = None
    batch_no = 0
    if resume:
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"resume=True but there is no checkpoint at {ckpt_path}")
        ckpt = _read_checkpoint(ckpt_path)
        if ckpt["config"] != config:
            diffs = _config_differences(ckpt["config"], config)
            more = f"; and {len(diffs) - 3} more" if len(diffs) > 3 else ""
            raise ValueError(f"{ckpt_path}: the configuration differs from the checkpoint: {'; '.join(diffs[:3])}"
                             f"{more} - resume with the options of the run that made it")
        phase, phase_ends, phase_fixed, batch_no = _checkpoint_phase_state(ckpt_path, ckpt, strategy, phase_kinds,
                                                                           budget, joint)
        n_saved = int(ckpt["n_trials"])
        trials = load_trials(trials_path, limit=n_saved) if trials_path.is_file() else []
        if len(trials) != n_saved:
            raise ValueError(f"{trials_path} holds {len(trials)} trials, the checkpoint {n_saved}")
        ctrl_state = ckpt["controller"]
        try:
            evaluator.load_cache_state(ckpt.get("accuracy_cache", []))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"{ckpt_path}: malformed accuracy cache in the checkpoint ({exc!r:.200})") from None
    elif ckpt_path.exists() and not overwrite:
        raise FileExistsError(f"{ckpt_path} exists; pass resume=True to continue or overwrite=True to start afresh")
    # trials.jsonl mirrors the checkpoint (drops lines of a batch interrupted before its checkpoint)
    with open(trials_path, "w", encoding="utf-8") as fh:
        for t in trials:
            fh.write(json.dumps(t, allow_nan=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())

    def phase_space(p: int) -> CategoricalSpace:
        k = phase_kinds[p]
        if k == "joint":
            return joint
        fx = phase_fixed[p]
        if k == "network":
            hw_fixed = fixed_hw if fx is None else joint.hardware.decode(fx)
            return SubSpace(joint, hw=hw_fixed)
        arch = fixed_arch if fx is None else joint.network.decode(fx)
        return SubSpace(joint, arch=arch)

    def new_controller(p: int) -> Any:
        return make_controller(controller, phase_space(p), seed=seed + p, population=population,
                               sample_size=sample_size, options=controller_options)

    ctrl = new_controller(phase)
    if ctrl_state is not None:
        try:
            ctrl.load_state_dict(ctrl_state)
        except ValueError as exc:
            raise ValueError(f"{ckpt_path}: malformed controller state in the checkpoint (key 'controller'): "
                             f"{str(exc):.300}") from None
        except (KeyError, TypeError, IndexError, AttributeError) as exc:  # pragma: no cover - load checks every field
            raise ValueError(f"{ckpt_path}: malformed controller state in the checkpoint (key 'controller'): "
                             f"{exc!r:.300}") from None
    cur_space = ctrl.space
    if trials:  # resumed: the candidate cache as the uninterrupted run had it
        from .objective import Result

        primed = []
        for t in trials:
            arch = joint.network.decode(t["net_encoding"])
            hw_c = joint.hardware.decode(t["hw_encoding"]) if t["hw_encoding"] is not None else fixed_hw
            primed.append((Candidate(arch, hw_c), Result(t["metrics"], t["status"], t["reason"])))
        evaluator.prime(primed)

    def encode_or_none(sp: CategoricalSpace, x: Any) -> list[int] | None:
        try:
            return list(sp.encode(x))
        except ValueError:
            return None

    def record(cand: Candidate, result: Any, info: dict[str, Any], p: int) -> dict[str, Any]:
        f = fitness(result)
        decisions = dict(joint.network.decisions(cand.arch))
        hw_enc = encode_or_none(joint.hardware, cand.hw)
        if hw_enc is not None:
            decisions.update(joint.hardware.decisions(cand.hw))
        else:
            decisions.update({n: getattr(cand.hw, n, None) for n in joint.hardware.names})
        return {
            "trial": len(trials),
            "batch": batch_no,
            "phase": p,
            "phase_name": phase_kinds[p],
            "decisions": _jsonable(decisions),
            "encoding": list(cur_space.encode(cand)),
            "net_encoding": list(joint.network.encode(cand.arch)),
            "hw_encoding": hw_enc,
            "blocks": [b for st in joint.network.to_block_strings(cand.arch) for b in st],
            "network": joint.network.short_name(cand.arch),
            "hw": _jsonable(cand.hw.to_dict()),
            "metrics": _jsonable(result.metrics),
            "reward": result.reward,
            "fitness": None if not math.isfinite(f) else f,
            "status": result.status,
            "reason": result.reason,
            "seconds": info["seconds"],
            "proxy_cached": info["proxy_cached"],
            "cached": info["cached"],
        }

    t_start = time.perf_counter()
    misses_before, hits_before = evaluator.accuracy_misses, evaluator.accuracy_hits
    counts = {s: sum(1 for t in trials if t["status"] == s) for s in ("complete", "infeasible", "failed")}
    best_reward = max((t["reward"] for t in trials if t["reward"] is not None), default=None)

    bar = None
    task = None
    if progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from codesign.progress import PlainProgress

        console = Console(stderr=True)
        # issue 16: off a terminal the bar would draw nothing until the end; write a plain line per batch instead
        bar = PlainProgress() if not console.is_terminal else Progress(
            TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), TextColumn("feasible {task.fields[feasible]}"),
            TextColumn("{task.fields[rate]} trials/s"), TimeElapsedColumn(),
            console=console, transient=False,
        )
        bar.start()
        task = bar.add_task("search", total=budget, completed=len(trials), best="-", feasible="-", rate="-")
    n_start = len(trials)

    def refresh() -> None:
        if bar is None:
            return
        n = len(trials)
        el = time.perf_counter() - t_start
        bar.update(
            task, completed=min(n, budget),
            best="-" if best_reward is None else f"{best_reward:.4f}",
            feasible=f"{counts['complete'] / n:.0%}" if n else "-",
            rate=f"{(n - n_start) / el:.2f}" if el > 0 else "-",
        )

    def checkpoint() -> None:
        _write_json_atomic(ckpt_path, {
            "version": _CHECKPOINT_VERSION,
            "config": config,
            "n_trials": len(trials),
            "batch": batch_no,
            "phase": phase,
            "phase_ends": phase_ends,
            "phase_fixed": phase_fixed,
            "controller": ctrl.state_dict(),
            "accuracy_cache": _jsonable(evaluator.cache_state()),
        })

    stopped_early = False
    refresh()
    try:
        with open(trials_path, "a", encoding="utf-8") as fh:
            while len(trials) < budget:
                if time_limit_s is not None and time.perf_counter() - t_start >= time_limit_s:
                    stopped_early = True
                    break
                if len(trials) >= phase_ends[phase]:
                    # next phase: fix the part the finished phase searched to its best design
                    done = [t for t in trials if t["phase"] == phase]
                    best_t = max(done, key=lambda t: (t["fitness"] if t["fitness"] is not None else -math.inf,
                                                      -t["trial"]))
                    phase += 1
                    if phase_kinds[phase] == "hardware":
                        phase_fixed[phase] = best_t["net_encoding"]
                    else:
                        phase_fixed[phase] = best_t["hw_encoding"]
                    ctrl = new_controller(phase)
                    cur_space = ctrl.space
                cands = ctrl.ask(min(batch_size, phase_ends[phase] - len(trials)))
                results = evaluator.evaluate(cands)
                for cand, (result, info) in zip(cands, results):
                    rec = record(cand, result, info, phase)
                    trials.append(rec)
                    counts[result.status] += 1
                    if result.reward is not None and (best_reward is None or result.reward > best_reward):
                        best_reward = result.reward
                    fh.write(json.dumps(rec, allow_nan=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                ctrl.tell(cands, [r for r, _ in results])
                batch_no += 1
                checkpoint()
                _write_pareto(pareto_path, _archive(trials, objectives), joint.hardware.names)
                refresh()
    finally:
        if bar is not None:
            bar.stop()

    archive = _archive(trials, objectives)
    _write_pareto(pareto_path, archive, joint.hardware.names)
    complete = [t for t in trials if t["reward"] is not None]
    best = max(complete, key=lambda t: t["reward"]) if complete else None
    target = objective.target_latency_ms
    lats = [t["metrics"]["latency_ms"] for t in complete if "latency_ms" in t["metrics"]]
    ref_ms = 2.0 * target if target else (1.1 * max(lats) if lats else 1.0)
    hv = hypervolume([(t["metrics"]["accuracy"], t["metrics"]["latency_ms"]) for t in complete
                      if "latency_ms" in t["metrics"] and "accuracy" in t["metrics"]], (0.0, ref_ms), ("max", "min"))
    under = [t["reward"] for t in complete
             if all(t["metrics"].get(k, True) for k in t["metrics"] if k.endswith("_ok"))]
    plot_path = None
    if plot and trials:
        try:
            from .plot import plot_trials

            plot_path = str(plot_trials(trials, out / "search.png", target_latency_ms=target,
                                        front=[t["trial"] for t, _ in archive.front()],
                                        accuracy_kind=acc_desc.get("kind"),  # issue 16: the y label says which
                                        title=f"{strategy} search, {controller}, {repr(joint.network).split('(')[0]} on "
                                              f"{repr(joint.hardware).split('(')[0]}"))
        except ImportError:  # pragma: no cover - matplotlib missing
            plot_path = None
    summary = SearchSummary(
        out_dir=str(out),
        n_trials=len(trials),
        n_complete=counts["complete"],
        n_infeasible=counts["infeasible"],
        n_failed=counts["failed"],
        best=best,
        pareto=[t for t, _ in archive.front()],
        seconds=time.perf_counter() - t_start,
        trained_networks=evaluator.accuracy_misses - misses_before,
        proxy_cache_hits=evaluator.accuracy_hits - hits_before,
        trials_path=str(trials_path),
        pareto_path=str(pareto_path),
        checkpoint_path=str(ckpt_path),
        config=config,
        stopped_early=stopped_early,
        plot_path=plot_path,
        hypervolume=hv,
        hv_reference_ms=ref_ms,
        best_under_target=max(under) if under else None,
        strategy=strategy,
    )
    _write_json_atomic(out / "summary.json", summary.to_dict())
    return summary
