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
an uninterrupted one would have.
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


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {name}={value!r}")
    return int(value)


def _f_to_json(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def _f_from_json(x: float | None) -> float:
    return -math.inf if x is None else float(x)


class _Controller(Generic[T]):
    """Common ask/tell bookkeeping: the space, the generator, counters and the best result so far."""

    kind = "controller"

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
        """Restore a snapshot from :meth:`state_dict` (the space must have the same decision names)."""
        if not isinstance(state, dict):
            raise ValueError(f"state must be a dict, got {type(state).__name__}")
        if state.get("kind") != self.kind:
            raise ValueError(f"state kind={state.get('kind')!r} does not match controller kind {self.kind!r}")
        if list(state.get("names", [])) != list(self.space.names):
            raise ValueError("state names do not match this controller's space decision names")
        if state.get("hyper", {}) != self._hyper():
            raise ValueError(f"state hyper={state.get('hyper')!r} differs from this controller's {self._hyper()!r}")
        rng_state = state["rng"]
        bg = getattr(np.random, rng_state["bit_generator"])()
        bg.state = rng_state
        self._rng = np.random.Generator(bg)
        self.seed = state.get("seed")
        self.n_asked = _check_int("n_asked", state["n_asked"], 0)
        self.n_told = _check_int("n_told", state["n_told"], 0)
        best = state.get("best")
        self._best = None if best is None else (tuple(int(i) for i in best[0]), _f_from_json(best[1]))
        if self._best is not None:
            self.space.decode(self._best[0])


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

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        pop = [(tuple(int(i) for i in e), _f_from_json(f)) for e, f in state.get("population", [])]
        for e, _ in pop:
            self.space.decode(e)
        if len(pop) > self.population_size:
            raise ValueError(f"state population has {len(pop)} members, more than population_size={self.population_size}")
        self._population = pop


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
