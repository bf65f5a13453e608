"""Policy-gradient controllers over one decision sequence: REINFORCE and PPO.

The policy is the one the NAS literature's RL controllers reduce to when the decisions are independent: one
categorical distribution per decision, ``pi_i = softmax(theta_i)`` with a logit vector ``theta_i`` per
decision, all starting uniform (``theta = 0``). A candidate is one draw from every decision - network and
hardware decisions in one sequence for a joint space, as the co-design work samples them (FACTS.md). The
log-probability of a candidate is the sum of its decisions' log-probabilities, and its gradient with respect to
``theta_i`` is ``onehot(a_i) - pi_i``.

* :class:`Reinforce` - REINFORCE (Williams 1992) with a moving-average baseline, as in TuNAS (Bender et al.,
  CVPR 2020: baseline momentum 0.95, Adam). Every told candidate's advantage is ``R - b`` with ``b`` the
  baseline *before* the candidate is added to it; one Adam step per :meth:`tell` ascends the mean of
  ``A * grad log pi``.
* :class:`PPO` - proximal policy optimisation with the clipped surrogate (Schulman et al., "Proximal Policy
  Optimization Algorithms", 2017), the controller MnasNet used (Tan et al., CVPR 2019): advantages ``R - b``
  (same moving-average baseline), then ``epochs`` Adam steps on
  ``mean(min(r * A, clip(r, 1 - eps, 1 + eps) * A))`` with ``r = pi(a) / pi_old(a)`` and ``pi_old`` the policy
  that sampled the batch (recorded at :meth:`ask`), plus an optional entropy bonus.

Rewards: :func:`~codesign.search.objective.fitness` of each result - the reward when complete, ``-1 - violation``
when infeasible (capped below at ``-2``), ``failure_reward`` (default -2) when failed. The TuNAS / MnasNet
learning rates (3e-4 Adam over tens of thousands of samples) are far too small for the hundreds of samples of
a search here; the default ``lr`` is 0.05 (an Adam step moves each logit by about ``lr``).

Both own a seeded :class:`numpy.random.Generator` and serialise their full state (logits, Adam moments,
baseline, pending samples, generator) with :meth:`state_dict` / :meth:`load_state_dict`, so a resumed search
asks exactly what an uninterrupted one would.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from codesign.space._base import CategoricalSpace

from .evolution import _check_int, _Controller, _state_encoding, _state_float, _state_int, _state_key, _state_list
from .objective import Result, fitness

__all__ = ["PolicyGradient", "Reinforce", "PPO", "CategoricalPolicy"]

T = TypeVar("T")

#: Largest Adam learning rate of the policy controllers: an Adam step moves each logit by about ``lr``, so past
#: a few units the policy is deterministic after one step, and near 1e308 the logits overflow to inf and NaN.
MAX_LR = 100.0


def _check_float(name: str, value: Any, lo: float | None = None, hi: float | None = None, *,
                 lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {name}={value!r}")
    v = float(value)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {name}={value!r}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be <= {hi}, got {name}={value!r}")
    return v


class CategoricalPolicy:
    """Independent categorical distributions, one per decision, with an Adam optimiser on the logits.

    Args:
        cardinalities: number of choices per decision.
        lr: Adam learning rate. betas, eps: Adam's constants.
    """

    def __init__(self, cardinalities: Sequence[int], *, lr: float = 0.05, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.cards = tuple(int(n) for n in cardinalities)
        self.offsets = np.concatenate([[0], np.cumsum(self.cards)]).astype(int)
        n = int(self.offsets[-1])
        self.theta = np.zeros(n)
        self.m = np.zeros(n)
        self.v = np.zeros(n)
        self.t = 0
        self.lr = lr
        self.betas = betas
        self.eps = eps

    def probs(self) -> list[np.ndarray]:
        """Per decision, the probability of each choice."""
        out = []
        for i in range(len(self.cards)):
            z = self.theta[self.offsets[i]:self.offsets[i + 1]]
            e = np.exp(z - z.max())
            out.append(e / e.sum())
        return out

    def sample(self, rng: np.random.Generator) -> tuple[int, ...]:
        """One draw from every decision (one uniform number per decision, inverse CDF)."""
        out = []
        for p in self.probs():
            u = rng.random()
            out.append(int(min(np.searchsorted(np.cumsum(p), u, side="right"), len(p) - 1)))
        return tuple(out)

    def log_prob(self, enc: Sequence[int], probs: list[np.ndarray] | None = None) -> float:
        probs = probs or self.probs()
        return float(sum(math.log(max(p[a], 1e-300)) for p, a in zip(probs, enc)))

    def grad_log_prob(self, enc: Sequence[int], probs: list[np.ndarray] | None = None) -> np.ndarray:
        """d log pi(enc) / d theta (concatenated over decisions)."""
        probs = probs or self.probs()
        g = -np.concatenate(probs)
        for i, a in enumerate(enc):
            g[self.offsets[i] + int(a)] += 1.0
        return g

    def grad_entropy(self, probs: list[np.ndarray] | None = None) -> np.ndarray:
        """d H / d theta, H the sum of the decisions' entropies (nats)."""
        probs = probs or self.probs()
        parts = []
        for p in probs:
            logp = np.log(np.maximum(p, 1e-300))
            h = -(p * logp).sum()
            parts.append(-p * (logp + h))
        return np.concatenate(parts)

    def entropy(self) -> float:
        return float(sum(-(p * np.log(np.maximum(p, 1e-300))).sum() for p in self.probs()))

    def ascend(self, grad: np.ndarray) -> None:
        """One Adam step *up* the gradient."""
        b1, b2 = self.betas
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad * grad
        mh = self.m / (1 - b1 ** self.t)
        vh = self.v / (1 - b2 ** self.t)
        self.theta = self.theta + self.lr * mh / (np.sqrt(vh) + self.eps)

    def state_dict(self) -> dict[str, Any]:
        return {"theta": self.theta.tolist(), "m": self.m.tolist(), "v": self.v.tolist(), "t": self.t}

    def load_state_dict(self, state: dict[str, Any], where: str = "state") -> None:
        """Restore :meth:`state_dict`; a malformed one raises ValueError naming the field and changes nothing."""
        self._apply_state(self._parse_state(state, where))

    def _parse_state(self, state: Any, where: str = "state") -> dict[str, Any]:
        if not isinstance(state, dict):
            raise ValueError(f"{where} must be a dict, got {state!r:.80}")
        n = int(self.offsets[-1])
        out: dict[str, Any] = {}
        for key in ("theta", "m", "v"):
            field = f"{where}[{key!r}]"
            raw = _state_list(field, _state_key(state, key, where), n)
            out[key] = np.array([_state_float(f"{field}[{i}]", x) for i, x in enumerate(raw)], dtype=float)
        if (out["v"] < 0).any():
            raise ValueError(f"{where}['v'] (Adam's second moments) must be >= 0, got {state['v']!r:.80}")
        out["t"] = _state_int(f"{where}['t']", _state_key(state, "t", where))
        return out

    def _apply_state(self, parsed: dict[str, Any]) -> None:
        self.theta, self.m, self.v, self.t = parsed["theta"], parsed["m"], parsed["v"], parsed["t"]


class PolicyGradient(_Controller[T]):
    """Shared machinery of :class:`Reinforce` and :class:`PPO` (see the module docstring).

    Args:
        space: any :class:`~codesign.space.CategoricalSpace`.
        lr: Adam learning rate on the logits (default 0.05).
        baseline_momentum: moving-average baseline ``b <- m b + (1 - m) R`` (default 0.95, TuNAS).
        entropy_weight: weight of an entropy bonus (default 0: none).
        failure_reward: reward of a failed trial (default -2). infeasible_floor: lowest reward of an infeasible
            one (default -2).
        seed: seed of the controller's own generator.
    """

    kind = "policy_gradient"

    def __init__(self, space: CategoricalSpace[T], *, lr: float = 0.05, baseline_momentum: float = 0.95,
                 entropy_weight: float = 0.0, failure_reward: float = -2.0, infeasible_floor: float = -2.0,
                 seed: int | None = 0) -> None:
        super().__init__(space, seed=seed)
        self.lr = _check_float("lr", lr, 0.0, MAX_LR, lo_open=True)
        self.baseline_momentum = _check_float("baseline_momentum", baseline_momentum, 0.0, 1.0)
        if self.baseline_momentum >= 1.0:
            raise ValueError(f"baseline_momentum must be < 1, got baseline_momentum={baseline_momentum!r}")
        self.entropy_weight = _check_float("entropy_weight", entropy_weight, 0.0)
        self.failure_reward = _check_float("failure_reward", failure_reward)
        self.infeasible_floor = _check_float("infeasible_floor", infeasible_floor)
        self.policy = CategoricalPolicy(space.cardinalities, lr=self.lr)
        self.baseline: float | None = None
        self._pending: dict[tuple[int, ...], list[float]] = {}  # encoding -> log-probs at ask time

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self.lr, "baseline_momentum": self.baseline_momentum, "entropy_weight": self.entropy_weight,
                "failure_reward": self.failure_reward, "infeasible_floor": self.infeasible_floor}

    def probabilities(self) -> dict[str, dict[Any, float]]:
        """``{decision name: {choice: probability}}`` of the current policy."""
        return {name: {c: float(p) for c, p in zip(choices, probs)}
                for name, choices, probs in zip(self.space.names, self.space.choices, self.policy.probs())}

    def mode(self) -> T:
        """The most probable candidate (argmax of every decision)."""
        return self.space.decode(tuple(int(np.argmax(p)) for p in self.policy.probs()))

    def ask(self, n: int = 1) -> list[T]:
        """``n`` independent draws from the current policy."""
        n = _check_int("n", n, 0)
        probs = self.policy.probs()
        out = []
        for _ in range(n):
            enc = self.policy.sample(self._rng)
            self._pending.setdefault(enc, []).append(self.policy.log_prob(enc, probs))
            out.append(self.space.decode(enc))
        self.n_asked += n
        return out

    def rl_reward(self, result: Result) -> float:
        """The scalar the policy maximises (see the module docstring)."""
        f = fitness(result)
        if not math.isfinite(f):
            return self.failure_reward
        return max(f, self.infeasible_floor) if result.status == "infeasible" else f

    def tell(self, candidates: Sequence[T], results: Sequence[Result]) -> None:
        candidates = list(candidates)
        results = list(results)
        if len(candidates) != len(results):
            raise ValueError(f"got {len(candidates)} candidates but {len(results)} results")
        super().tell(candidates, results)  # best-so-far and counters
        if not candidates:
            return
        encs = [self.space.encode(c) for c in candidates]
        rewards = [self.rl_reward(r) for r in results]
        old = []
        for e in encs:
            lst = self._pending.get(e)
            if lst:
                old.append(lst.pop(0))
                if not lst:
                    del self._pending[e]
            else:
                old.append(self.policy.log_prob(e))
        adv = []
        for r in rewards:
            if self.baseline is None:
                self.baseline = r
            adv.append(r - self.baseline)
            self.baseline = self.baseline_momentum * self.baseline + (1 - self.baseline_momentum) * r
        self._update(encs, np.asarray(adv), np.asarray(old))

    def _update(self, encs: list[tuple[int, ...]], adv: np.ndarray, old_logp: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["policy"] = self.policy.state_dict()
        state["baseline"] = self.baseline
        state["pending"] = [[list(e), lps] for e, lps in self._pending.items()]
        return state

    def _parse_state(self, state: Any) -> dict[str, Any]:
        parsed = super()._parse_state(state)
        parsed["policy"] = self.policy._parse_state(_state_key(state, "policy"), "state['policy']")
        b = _state_key(state, "baseline")
        parsed["baseline"] = None if b is None else _state_float("state['baseline']", b)
        pending: dict[tuple[int, ...], list[float]] = {}
        for i, item in enumerate(_state_list("state['pending']", _state_key(state, "pending"))):
            field = f"state['pending'][{i}]"
            e, lps = _state_list(field, item, 2)
            enc = _state_encoding(self.space, f"{field}[0]", e)
            if enc in pending:
                raise ValueError(f"{field}[0] repeats the pending encoding {list(enc)}")
            lps = _state_list(f"{field}[1]", lps)
            if not lps:
                raise ValueError(f"{field}[1] must list at least one log-probability, got []")
            pending[enc] = [_state_float(f"{field}[1][{j}]", x) for j, x in enumerate(lps)]
        parsed["pending"] = pending
        return parsed

    def _apply_state(self, parsed: dict[str, Any]) -> None:
        super()._apply_state(parsed)
        self.policy._apply_state(parsed["policy"])
        self.baseline = parsed["baseline"]
        self._pending = parsed["pending"]


class Reinforce(PolicyGradient[T]):
    """REINFORCE with a moving-average baseline (Williams 1992; TuNAS, Bender et al. CVPR 2020).

    Args: see :class:`PolicyGradient`.
    """

    kind = "reinforce"

    def __repr__(self) -> str:
        return f"Reinforce(lr={self.lr}, baseline_momentum={self.baseline_momentum}, seed={self.seed}, " \
               f"n_asked={self.n_asked}, n_told={self.n_told})"

    def _update(self, encs: list[tuple[int, ...]], adv: np.ndarray, old_logp: np.ndarray) -> None:
        probs = self.policy.probs()
        g = np.zeros_like(self.policy.theta)
        for e, a in zip(encs, adv):
            g += a * self.policy.grad_log_prob(e, probs)
        g /= len(encs)
        if self.entropy_weight:
            g += self.entropy_weight * self.policy.grad_entropy(probs)
        self.policy.ascend(g)


class PPO(PolicyGradient[T]):
    """PPO with the clipped surrogate objective (Schulman et al. 2017), as MnasNet's controller.

    Args (besides :class:`PolicyGradient`'s):
        clip: ``eps`` of the clipped ratio (default 0.2).
        epochs: Adam steps per :meth:`tell` batch (default 4).
        normalize_advantages: divide the batch's advantages by their standard deviation (default True).
    """

    kind = "ppo"

    def __init__(self, space: CategoricalSpace[T], *, clip: float = 0.2, epochs: int = 4,
                 normalize_advantages: bool = True, **kw: Any) -> None:
        super().__init__(space, **kw)
        self.clip = _check_float("clip", clip, 0.0, lo_open=True)
        self.epochs = _check_int("epochs", epochs, 1)
        self.normalize_advantages = bool(normalize_advantages)

    def __repr__(self) -> str:
        return f"PPO(lr={self.lr}, clip={self.clip}, epochs={self.epochs}, seed={self.seed}, " \
               f"n_asked={self.n_asked}, n_told={self.n_told})"

    def _hyper(self) -> dict[str, Any]:
        h = super()._hyper()
        h.update({"clip": self.clip, "epochs": self.epochs, "normalize_advantages": self.normalize_advantages})
        return h

    def _update(self, encs: list[tuple[int, ...]], adv: np.ndarray, old_logp: np.ndarray) -> None:
        if self.normalize_advantages and len(adv) > 1:
            sd = float(adv.std())
            if sd > 1e-12:
                adv = adv / sd
        for _ in range(self.epochs):
            probs = self.policy.probs()
            g = np.zeros_like(self.policy.theta)
            for e, a, lp_old in zip(encs, adv, old_logp):
                ratio = math.exp(self.policy.log_prob(e, probs) - lp_old)
                clipped = (a > 0 and ratio > 1 + self.clip) or (a < 0 and ratio < 1 - self.clip)
                if not clipped:
                    g += a * ratio * self.policy.grad_log_prob(e, probs)
            g /= len(encs)
            if self.entropy_weight:
                g += self.entropy_weight * self.policy.grad_entropy(probs)
            self.policy.ascend(g)
