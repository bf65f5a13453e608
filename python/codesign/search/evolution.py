"""Search controllers with an ask/tell interface: regularized evolution and random search.

Regularized ("aging") evolution (Real, Aggarwal, Huang, Le, "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019, Algorithm 1):

1. fill a population of ``P`` random candidates;
2. repeat: draw ``S`` members uniformly without replacement (tournament), mutate the fittest into a child,
   evaluate it, append it to the population and remove the *oldest* member (not the worst).

Here step 2 is split into :meth:`RegularizedEvolution.ask` (returns children of tournament winners, or random
candidates while fewer than ``P`` have been asked) and :meth:`RegularizedEvolution.tell` (appends evaluated
candidates in the order given and ages out the oldest). Fitness is :func:`codesign.search.objective.fitness`
of each :class:`~codesign.search.objective.Result` (reward; infeasible < -1; failed = -inf).

Both controllers own a seeded :class:`numpy.random.Generator` and serialise their complete state with
:meth:`state_dict` (a JSON-serialisable dict) / :meth:`load_state_dict`, so a resumed search asks exactly what
an uninterrupted one would have. :meth:`load_state_dict` checks every field before it changes anything: a malformed
state raises ValueError naming the field and the value and leaves the controller as it was.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from codesign.space._base import CategoricalSpace

from .objective import Result, fitness

__all__ = ["RegularizedEvolution", "RandomSearch"]

T = TypeVar("T")


def _check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {name}={value!r:.80}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an int in [{minimum}, {maximum}], got {name}={value!r:.80}")
    return int(value)


# -- checks of a state dict's fields: every problem is a ValueError naming the field and the value --------------
#: numpy bit generators a state's ``rng`` may name.
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def _state_key(state: dict[str, Any], key: str, where: str = "state") -> Any:
    if key not in state:
        raise ValueError(f"{where}[{key!r}] is missing")
    return state[key]


def _state_int(field: str, value: Any, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum \
            or (maximum is not None and value > maximum):
        rng = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{field} must be an int {rng}, got {value!r:.80}")
    return int(value)


def _state_float(field: str, value: Any, *, none_is: float | None = None) -> float:
    """A finite number (JSON null -> ``none_is`` when given, e.g. -inf for a failed fitness)."""
    if value is None and none_is is not None:
        return none_is
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        what = "a finite number" + (" or null" if none_is is not None else "")
        raise ValueError(f"{field} must be {what}, got {value!r:.80}")
    return float(value)


def _state_list(field: str, value: Any, length: int | None = None) -> list[Any]:
    if not isinstance(value, (list, tuple)) or (length is not None and len(value) != length):
        what = "a list" if length is None else f"a list of {length} items"
        raise ValueError(f"{field} must be {what}, got {value!r:.80}")
    return list(value)


def _state_encoding(space: CategoricalSpace[Any], field: str, value: Any) -> tuple[int, ...]:
    """A list of choice indices of ``space`` (checked by decoding it)."""
    if not isinstance(value, (list, tuple)) or any(isinstance(i, bool) or not isinstance(i, (int, np.integer))
                                                   for i in value):
        raise ValueError(f"{field} must be a list of {len(space)} choice indices, got {value!r:.80}")
    enc = tuple(int(i) for i in value)
    try:
        space.decode(enc)
    except ValueError as exc:
        raise ValueError(f"{field} is not an encoding of this space: {exc}") from None
    return enc


def _state_rng(field: str, value: Any) -> np.random.Generator:
    """A numpy Generator restored from a ``bit_generator.state`` dict."""
    name = value.get("bit_generator") if isinstance(value, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"{field} must be a numpy bit generator state (a dict whose 'bit_generator' is one of "
                         f"{', '.join(_BIT_GENERATORS)}), got {value!r:.80}")
    bg = getattr(np.random, name)()
    try:
        bg.state = value
    except (KeyError, TypeError, ValueError, OverflowError, IndexError, AttributeError) as exc:
        raise ValueError(f"{field} is not a valid {name} state ({type(exc).__name__}: {exc}), got "
                         f"{value!r:.80}") from None
    return np.random.Generator(bg)


def _f_to_json(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


class _Controller(Generic[T]):
    """Common ask/tell bookkeeping: the space, the generator, counters and the best result so far."""

    kind = "controller"
    #: largest seed a state may record (None: no limit).
    _max_seed: int | None = None

    def __init__(self, space: CategoricalSpace[T], *, seed: int | None = 0) -> None:
        if not isinstance(space, CategoricalSpace):
            raise ValueError(f"space must be a CategoricalSpace, got {space!r}")
        if seed is not None:
            _check_int("seed", seed, 0)
        self.space = space
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.n_asked = 0
        self.n_told = 0
        self._best: tuple[tuple[int, ...], float] | None = None

    # -- ask / tell ----------------------------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[T]:
        """Return ``n`` candidates to evaluate next."""
        n = _check_int("n", n, 0)
        out = [self.space.decode(self._propose()) for _ in range(n)]
        self.n_asked += n
        return out

    def _propose(self) -> tuple[int, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def tell(self, candidates: Sequence[T], results: Sequence[Result]) -> None:
        """Report evaluated candidates (any order, any number; need not come from :meth:`ask`)."""
        candidates = list(candidates)
        results = list(results)
        if len(candidates) != len(results):
            raise ValueError(f"got {len(candidates)} candidates but {len(results)} results")
        for c, r in zip(candidates, results):
            enc = self.space.encode(c)
            f = fitness(r)
            if self._best is None or f > self._best[1]:
                self._best = (enc, f)
            self._observe(enc, f)
            self.n_told += 1

    def _observe(self, encoding: tuple[int, ...], fit: float) -> None:
        pass

    @property
    def best(self) -> tuple[T, float] | None:
        """(candidate, fitness) of the fittest candidate told so far (first one on ties), or None."""
        if self._best is None:
            return None
        return self.space.decode(self._best[0]), self._best[1]

    # -- state ---------------------------------------------------------------------------------------------
    def _hyper(self) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable snapshot of the full controller state (hyperparameters, generator, counters,
        best, population)."""
        return {
            "kind": self.kind,
            "names": list(self.space.names),
            "seed": self.seed,
            "hyper": self._hyper(),
            "rng": self._rng.bit_generator.state,
            "n_asked": self.n_asked,
            "n_told": self.n_told,
            "best": None if self._best is None else [list(self._best[0]), _f_to_json(self._best[1])],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a snapshot from :meth:`state_dict` (the space must have the same decision names).

        Every field is checked before anything changes: a malformed state raises ValueError naming the field and
        the value and leaves the controller as it was."""
        parsed = self._parse_state(state)
        self._apply_state(parsed)

    def _parse_state(self, state: Any) -> dict[str, Any]:
        """Check ``state`` and convert it into the values :meth:`_apply_state` sets; changes nothing."""
        if not isinstance(state, dict):
            raise ValueError(f"state must be a dict, got {type(state).__name__}")
        kind = _state_key(state, "kind")
        if kind != self.kind:
            raise ValueError(f"state['kind']={kind!r:.80} does not match controller kind {self.kind!r}")
        names = _state_key(state, "names")
        if not isinstance(names, (list, tuple)) or list(names) != list(self.space.names):
            raise ValueError(f"state['names'] does not match this controller's space decision names: "
                             f"{names!r:.80} vs {list(self.space.names)!r:.80}")
        hyper = _state_key(state, "hyper")
        if hyper != self._hyper():
            raise ValueError(f"state['hyper']={hyper!r:.200} differs from this controller's {self._hyper()!r:.200}")
        seed = _state_key(state, "seed")
        if seed is not None:
            seed = _state_int("state['seed']", seed, 0, self._max_seed)
        n_told = _state_int("state['n_told']", _state_key(state, "n_told"))
        best = _state_key(state, "best")
        if best is not None:
            b = _state_list("state['best']", best, 2)
            best = (_state_encoding(self.space, "state['best'][0]", b[0]),
                    _state_float("state['best'][1]", b[1], none_is=-math.inf))
        if (best is None) != (n_told == 0):
            raise ValueError(f"state['best'] must be null exactly when nothing was told (n_told={n_told}), "
                             f"got {state['best']!r:.80}")
        return {
            "seed": seed,
            "rng": _state_rng("state['rng']", _state_key(state, "rng")),
            "n_asked": _state_int("state['n_asked']", _state_key(state, "n_asked")),
            "n_told": n_told,
            "best": best,
        }

    def _apply_state(self, parsed: dict[str, Any]) -> None:
        """Set the values of :meth:`_parse_state` (cannot fail)."""
        self.seed = parsed["seed"]
        self._rng = parsed["rng"]
        self.n_asked = parsed["n_asked"]
        self.n_told = parsed["n_told"]
        self._best = parsed["best"]


class RegularizedEvolution(_Controller[T]):
    """Regularized (aging) evolution, Real et al. AAAI 2019 (see module docstring).

    Args:
        space: any :class:`~codesign.space.CategoricalSpace` (e.g. :class:`~codesign.space.JointSpace`);
            children come from ``space.mutate_indices`` (exactly one decision changed).
        population_size: ``P``, members kept (oldest removed first). Default 16.
        sample_size: ``S``, tournament size (``1 <= S <= P``). Default 4.
        seed: seed of the controller's own generator.
    """

    kind = "regularized_evolution"

    def __init__(
        self,
        space: CategoricalSpace[T],
        *,
        population_size: int = 16,
        sample_size: int = 4,
        seed: int | None = 0,
    ) -> None:
        super().__init__(space, seed=seed)
        self.population_size = _check_int("population_size", population_size, 1)
        self.sample_size = _check_int("sample_size", sample_size, 1)
        if self.sample_size > self.population_size:
            raise ValueError(
                f"sample_size={sample_size} must not exceed population_size={population_size}"
            )
        # (encoding, fitness), oldest first
        self._population: list[tuple[tuple[int, ...], float]] = []

    def __repr__(self) -> str:
        return (
            f"RegularizedEvolution(population_size={self.population_size}, sample_size={self.sample_size}, "
            f"seed={self.seed}, n_asked={self.n_asked}, n_told={self.n_told})"
        )

    @property
    def population(self) -> list[tuple[T, float]]:
        """Current members as (candidate, fitness), oldest first."""
        return [(self.space.decode(e), f) for e, f in self._population]

    def _hyper(self) -> dict[str, Any]:
        return {"population_size": self.population_size, "sample_size": self.sample_size}

    def ask(self, n: int = 1) -> list[T]:
        """``n`` candidates: random ones until ``population_size`` have been asked in total (or while the
        population is empty), afterwards each is a one-decision mutation of the winner of an independent
        tournament of ``sample_size`` members drawn without replacement."""
        n = _check_int("n", n, 0)
        out = []
        for _ in range(n):
            if self.n_asked < self.population_size or not self._population:
                enc = tuple(int(self._rng.integers(k)) for k in self.space.cardinalities)
            else:
                enc = self.space.mutate_indices(self._tournament(), self._rng)
            out.append(self.space.decode(enc))
            self.n_asked += 1
        return out

    def _tournament(self) -> tuple[int, ...]:
        k = min(self.sample_size, len(self._population))
        picks = self._rng.choice(len(self._population), size=k, replace=False)
        # fittest wins; on a tie the younger member (larger index) wins
        best = max((int(i) for i in picks), key=lambda i: (self._population[i][1], i))
        return self._population[best][0]

    def _observe(self, encoding: tuple[int, ...], fit: float) -> None:
        self._population.append((encoding, fit))
        while len(self._population) > self.population_size:
            self._population.pop(0)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["population"] = [[list(e), _f_to_json(f)] for e, f in self._population]
        return state

    def _parse_state(self, state: Any) -> dict[str, Any]:
        parsed = super()._parse_state(state)
        pop = _state_list("state['population']", _state_key(state, "population"))
        if len(pop) > min(self.population_size, parsed["n_told"]):
            raise ValueError(f"state['population'] has {len(pop)} members, more than population_size="
                             f"{self.population_size} or n_told={parsed['n_told']}")
        members = []
        for i, m in enumerate(pop):
            e, f = _state_list(f"state['population'][{i}]", m, 2)
            members.append((_state_encoding(self.space, f"state['population'][{i}][0]", e),
                            _state_float(f"state['population'][{i}][1]", f, none_is=-math.inf)))
        parsed["population"] = members
        return parsed

    def _apply_state(self, parsed: dict[str, Any]) -> None:
        super()._apply_state(parsed)
        self._population = parsed["population"]


class RandomSearch(_Controller[T]):
    """Uniform random search with the same ask/tell/state interface (a baseline).

    Args:
        space: any :class:`~codesign.space.CategoricalSpace`.
        seed: seed of the controller's own generator.
    """

    kind = "random_search"

    def __init__(self, space: CategoricalSpace[T], *, seed: int | None = 0) -> None:
        super().__init__(space, seed=seed)

    def __repr__(self) -> str:
        return f"RandomSearch(seed={self.seed}, n_asked={self.n_asked}, n_told={self.n_told})"

    def _propose(self) -> tuple[int, ...]:
        return tuple(int(self._rng.integers(k)) for k in self.space.cardinalities)
