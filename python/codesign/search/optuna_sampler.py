"""Optuna-backed baseline controllers: TPE and NSGA-II behind the same ask/tell/state interface.

* **TPE** - the tree-structured Parzen estimator (Bergstra, Bardenet, Bengio, Kegl, "Algorithms for
  Hyper-Parameter Optimization", NeurIPS 2011): after ``n_startup_trials`` random trials, the trials told so far
  are split at a quantile of their values into a "good" and a "bad" set, a Parzen (kernel) density is fitted to
  each, and the next candidate is the one of a few draws from the good density that maximises the ratio
  good / bad (expected improvement). Here :class:`optuna.samplers.TPESampler`, by default multivariate (one joint
  density over all decisions, optuna 5's default for one objective) and with the constant liar (trials asked but
  not yet told count as bad ones, so a batch asked at once is spread out rather than ``n`` copies of one guess).
* **NSGA-II** - the non-dominated sorting genetic algorithm (Deb, Pratap, Agarwal, Meyarivan, "A fast and elitist
  multiobjective genetic algorithm: NSGA-II", IEEE TEVC 2002): generations of ``population_size`` trials, the
  first random, each later one bred (uniform crossover, mutation) from parents chosen by non-dominated rank and
  crowding distance among the previous generations. Here :class:`optuna.samplers.NSGAIISampler`. With the one
  objective used here (see below) the rank is the fitness order, so it acts as an elitist genetic algorithm; the
  multi-objective use (accuracy up, latency down) is not wired in.

Every decision of the :class:`~codesign.space.CategoricalSpace` is an optuna parameter named after the decision,
a :class:`optuna.distributions.CategoricalDistribution` over the choice *indices* ``range(len(choices))``;
:meth:`OptunaSampler.ask` decodes the sampled indices into candidates. The study maximises one value per trial,
:func:`~codesign.search.objective.fitness` of its :class:`~codesign.search.objective.Result`: the reward when
complete, ``-1 - constraint_violation`` when infeasible. A failed trial (fitness ``-inf``) is told as
``failure_value`` (default -3: like an infeasible design 200 % over its limit) rather than as an optuna FAIL,
because TPE and NSGA-II ignore failed trials and would keep sampling near them; both samplers only use the order
of the values, so the floor's magnitude matters only relative to infeasible values. Candidates told that were
never asked (:meth:`tell` takes any) are added with :meth:`optuna.study.Study.add_trial`; a told candidate that
was asked is matched to the oldest pending trial with the same encoding.

State and exact resume: an optuna study and its sampler's ``numpy.random.RandomState`` are not JSON, and a pickle
is tied to the optuna version and the process. :meth:`OptunaSampler.state_dict` therefore records the sampler's
seed, the hyperparameters and the complete ask/tell history (every asked encoding, every told trial number and
value, every told-but-not-asked encoding and value, in order). :meth:`OptunaSampler.load_state_dict` builds a
fresh in-memory study with the same seeded sampler and replays that history; as the samplers are deterministic
functions of their seed and the trials, the replayed asks are the recorded ones (checked: a difference, e.g. from
another optuna version, raises ValueError) and the restored controller asks exactly what the uninterrupted one
would, also between an ask and its tell. The replay runs on a study of its own, installed only once the whole
history has replayed, so a failed load leaves the controller as it was. Replaying costs one ask per recorded trial
(milliseconds each).

optuna is optional: importing this module needs numpy only; constructing a controller imports optuna and raises an
ImportError naming the ``search`` extra if it is missing.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, Iterator, TypeVar

import numpy as np

from codesign.space._base import CategoricalSpace

from .evolution import _check_int, _Controller, _state_encoding, _state_float, _state_int, _state_key, _state_list
from .objective import Result, fitness

__all__ = ["OptunaSampler", "SAMPLERS"]

T = TypeVar("T")

#: Sampler names of :class:`OptunaSampler`.
SAMPLERS: tuple[str, ...] = ("tpe", "nsga2")
_TPE_DEFAULTS = {"n_startup_trials": 10, "multivariate": True, "constant_liar": True}
_NSGA2_DEFAULTS = {"population_size": 50, "mutation_prob": None, "crossover_prob": 0.9}
_MAX_SEED = 2**32 - 1  # numpy.random.RandomState's limit
_MAX_POPULATION = 10**6  # NSGA-II's generation size: far above any budget this package runs


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise ImportError(
            "the tpe / nsga2 controllers need optuna: pip install 'codesign[search]' (or pip install optuna)"
        ) from exc
    return optuna


class OptunaSampler(_Controller[T]):
    """TPE or NSGA-II from optuna as an ask/tell controller (see the module docstring).

    Args:
        space: any :class:`~codesign.space.CategoricalSpace` (decision names must be distinct).
        sampler: ``"tpe"`` (Bergstra et al. 2011) or ``"nsga2"`` (Deb et al. 2002).
        n_startup_trials: TPE: random trials before the Parzen estimators are used (default 10).
        multivariate: TPE: one joint density over all decisions (default True).
        constant_liar: TPE: pending trials count as bad ones while a batch is asked (default True).
        population_size: NSGA-II: trials per generation, 2 to 10**6 (default 50; the runner passes
            ``population``).
        mutation_prob: NSGA-II: probability that a parameter of a child is mutated (default None: optuna's
            ``1 / number of parameters``).
        crossover_prob: NSGA-II: probability that a child comes from crossover (default 0.9).
        failure_value: the value told for a failed trial (finite; default -3).
        seed: seed of the optuna sampler (0 <= seed < 2**32; None: drawn from the OS, then recorded in the state).

    Options of the other sampler must stay unset (ValueError otherwise).
    """

    _max_seed = _MAX_SEED

    def __init__(
        self,
        space: CategoricalSpace[T],
        *,
        sampler: str = "tpe",
        n_startup_trials: int | None = None,
        multivariate: bool | None = None,
        constant_liar: bool | None = None,
        population_size: int | None = None,
        mutation_prob: float | None = None,
        crossover_prob: float | None = None,
        failure_value: float = -3.0,
        seed: int | None = 0,
    ) -> None:
        super().__init__(space, seed=seed)
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got sampler={sampler!r}")
        if seed is not None and seed > _MAX_SEED:
            raise ValueError(f"seed must be < 2**32 for an optuna sampler, got seed={seed!r}")
        names = list(space.names)
        if len(set(names)) != len(names):
            raise ValueError(f"the space's decision names must be distinct to name optuna parameters: {names}")
        if isinstance(failure_value, bool) or not isinstance(failure_value, (int, float, np.floating)) \
                or not math.isfinite(failure_value):
            raise ValueError(f"failure_value must be a finite number, got failure_value={failure_value!r}")
        self.sampler = sampler
        self.kind = f"optuna_{sampler}"
        self.failure_value = float(failure_value)
        tpe_given = {"n_startup_trials": n_startup_trials, "multivariate": multivariate, "constant_liar": constant_liar}
        ga_given = {"population_size": population_size, "mutation_prob": mutation_prob,
                    "crossover_prob": crossover_prob}
        own, other = (tpe_given, ga_given) if sampler == "tpe" else (ga_given, tpe_given)
        for k, v in other.items():
            if v is not None:
                raise ValueError(f"{k} is not an option of sampler={sampler!r}, got {k}={v!r}")
        defaults = _TPE_DEFAULTS if sampler == "tpe" else _NSGA2_DEFAULTS
        opts = {k: defaults[k] if v is None else v for k, v in own.items()}
        if sampler == "tpe":
            opts["n_startup_trials"] = _check_int("n_startup_trials", opts["n_startup_trials"], 0)
            for k in ("multivariate", "constant_liar"):
                if not isinstance(opts[k], bool):
                    raise ValueError(f"{k} must be a bool, got {k}={opts[k]!r}")
        else:
            opts["population_size"] = _check_int("population_size", opts["population_size"], 2, _MAX_POPULATION)
            for k in ("mutation_prob", "crossover_prob"):
                v = opts[k]
                if v is None and k == "mutation_prob":
                    continue
                if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0.0 <= v <= 1.0:
                    raise ValueError(f"{k} must be a probability in [0, 1], got {k}={v!r}")
                opts[k] = float(v)
        self.options: dict[str, Any] = opts
        self._optuna = _import_optuna()
        self._optuna.logging.set_verbosity(self._optuna.logging.WARNING)
        self._sampler_seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (_MAX_SEED + 1))
        dist = self._optuna.distributions.CategoricalDistribution
        self._dists = {n: dist(tuple(range(k))) for n, k in zip(names, space.cardinalities)}
        self._reset()

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return f"OptunaSampler(sampler={self.sampler!r}, {opts}, seed={self.seed}, n_asked={self.n_asked}, " \
               f"n_told={self.n_told})"

    # -- optuna plumbing -----------------------------------------------------------------------------------
    @contextmanager
    def _quiet(self) -> Iterator[None]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            yield

    def _new_study(self, sampler_seed: int) -> Any:
        s = self._optuna.samplers
        if self.sampler == "tpe":
            sampler = s.TPESampler(seed=sampler_seed, **self.options)
        else:
            sampler = s.NSGAIISampler(seed=sampler_seed, **self.options)
        with self._quiet():
            return self._optuna.create_study(direction="maximize", sampler=sampler)

    def _reset(self) -> None:
        self.study = self._new_study(self._sampler_seed)
        self._pending: list[tuple[int, tuple[int, ...]]] = []  # (trial number, encoding), oldest first
        self._history: list[list[Any]] = []  # ["a", enc] | ["t", number, value] | ["x", enc, value]

    def _ask_one(self, study: Any = None) -> tuple[int, tuple[int, ...]]:
        with self._quiet():
            trial = (self.study if study is None else study).ask(self._dists)
        return trial.number, tuple(int(trial.params[n]) for n in self.space.names)

    def _tell_asked(self, number: int, value: float, study: Any = None) -> None:
        with self._quiet():
            (self.study if study is None else study).tell(number, value)

    def _add_told(self, enc: tuple[int, ...], value: float, study: Any = None) -> None:
        ft = self._optuna.trial.create_trial(params=dict(zip(self.space.names, enc)), distributions=self._dists,
                                             value=value)
        with self._quiet():
            (self.study if study is None else study).add_trial(ft)

    def _value(self, result: Result) -> float:
        f = fitness(result)
        return f if math.isfinite(f) else self.failure_value

    # -- ask / tell ----------------------------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[T]:
        """``n`` candidates from the sampler (asked one after another; with TPE's constant liar each sees the
        earlier ones as pending)."""
        n = _check_int("n", n, 0)
        out = []
        for _ in range(n):
            number, enc = self._ask_one()
            self._pending.append((number, enc))
            self._history.append(["a", list(enc)])
            out.append(self.space.decode(enc))
        self.n_asked += n
        return out

    def tell(self, candidates: Sequence[T], results: Sequence[Result]) -> None:
        """Report evaluated candidates: an asked one finishes its oldest pending trial with the same encoding,
        any other is added as a finished trial. Values: see the module docstring."""
        candidates = list(candidates)
        results = list(results)
        if len(candidates) != len(results):
            raise ValueError(f"got {len(candidates)} candidates but {len(results)} results")
        encs = [self.space.encode(c) for c in candidates]  # validate all before changing anything
        values = [self._value(r) for r in results]
        super().tell(candidates, results)  # best-so-far and counters
        for enc, v in zip(encs, values):
            for i, (number, penc) in enumerate(self._pending):
                if penc == enc:
                    del self._pending[i]
                    self._tell_asked(number, v)
                    self._history.append(["t", number, v])
                    break
            else:
                self._add_told(enc, v)
                self._history.append(["x", list(enc), v])

    @property
    def pending(self) -> list[T]:
        """Candidates asked but not yet told, oldest first."""
        return [self.space.decode(e) for _, e in self._pending]

    # -- state ---------------------------------------------------------------------------------------------
    def _hyper(self) -> dict[str, Any]:
        return {"sampler": self.sampler, **self.options, "failure_value": self.failure_value}

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable snapshot: the base controller state plus the sampler seed and the ask/tell history
        (replayed by :meth:`load_state_dict`)."""
        state = super().state_dict()
        state["optuna"] = {"sampler_seed": self._sampler_seed, "history": [list(h) for h in self._history]}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a snapshot by replaying its history on a fresh study with the recorded sampler seed.

        Raises ValueError (naming the field) if the snapshot is malformed or the replay asks other candidates than
        were recorded; the replay runs on a study of its own, so a failed load leaves the controller as it was."""
        super().load_state_dict(state)

    def _parse_state(self, state: Any) -> dict[str, Any]:
        parsed = super()._parse_state(state)
        ost = _state_key(state, "optuna")
        if not isinstance(ost, dict):
            raise ValueError(f"state['optuna'] must be a dict with sampler_seed and history, got {ost!r:.80}")
        seed = _state_int("state['optuna']['sampler_seed']", _state_key(ost, "sampler_seed", "state['optuna']"),
                          0, _MAX_SEED)
        history = _state_list("state['optuna']['history']", _state_key(ost, "history", "state['optuna']"))
        study = self._new_study(seed)
        pending: list[tuple[int, tuple[int, ...]]] = []
        replayed: list[list[Any]] = []
        n_asked = n_told = 0
        for k, op in enumerate(history):
            field = f"state['optuna']['history'][{k}]"
            tag = op[0] if isinstance(op, list) and op else None
            if tag not in ("a", "t", "x"):
                raise ValueError(f"{field} must be ['a', encoding], ['t', trial number, value] or "
                                 f"['x', encoding, value], got {op!r:.80}")
            if tag == "a":
                _state_list(field, op, 2)
                want = _state_encoding(self.space, f"{field}[1]", op[1])
                number, enc = self._ask_one(study)
                if enc != want:
                    raise ValueError(
                        f"replaying the optuna history diverged at trial {number} ({field}): the sampler asked "
                        f"{list(enc)}, the state recorded {list(want)} (another optuna version?)")
                pending.append((number, enc))
                replayed.append(["a", list(enc)])
                n_asked += 1
            elif tag == "t":
                _state_list(field, op, 3)
                number = _state_int(f"{field}[1]", op[1])
                v = _state_float(f"{field}[2]", op[2])
                idx = [i for i, (num, _) in enumerate(pending) if num == number]
                if not idx:
                    raise ValueError(f"{field} tells trial {number}, which is not pending")
                del pending[idx[0]]
                self._tell_asked(number, v, study)
                replayed.append(["t", number, v])
                n_told += 1
            else:
                _state_list(field, op, 3)
                enc = _state_encoding(self.space, f"{field}[1]", op[1])
                v = _state_float(f"{field}[2]", op[2])
                self._add_told(enc, v, study)
                replayed.append(["x", list(enc), v])
                n_told += 1
        if (n_asked, n_told) != (parsed["n_asked"], parsed["n_told"]):
            raise ValueError(f"state['optuna']['history'] holds {n_asked} asks and {n_told} tells, the state counts "
                             f"n_asked={parsed['n_asked']}, n_told={parsed['n_told']}")
        parsed["optuna"] = (seed, study, pending, replayed)
        return parsed

    def _apply_state(self, parsed: dict[str, Any]) -> None:
        super()._apply_state(parsed)
        self._sampler_seed, self.study, self._pending, self._history = parsed["optuna"]
