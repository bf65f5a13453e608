"""Search objectives: MnasNet and TuNAS rewards on latency, energy and EDP targets, area as a hard constraint.

MnasNet reward (Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile", CVPR 2019,
Eq. 2)::

    reward(m) = ACC(m) * (LAT(m) / T) ** w,     w = alpha if LAT(m) <= T else beta

with ``T`` the target latency. The paper's *soft* constraint uses ``alpha = beta = -0.07`` (a 2x slower model
should be ~5 % more accurate to get the same reward); the *hard* constraint uses ``alpha = 0, beta = -1``
(no bonus below the target, reward proportional to ``T / LAT`` above it).

TuNAS's absolute-value reward (Bender et al., "Can Weight Sharing Outperform Random Architecture Search? An
Investigation With TuNAS", CVPR 2020, Sec. 3.3)::

    reward(m) = ACC(m) + beta * |LAT(m) / T - 1|,     beta < 0 (default -0.10)

penalises being slower *and* faster than the target, which keeps an RL controller near the target. TuNAS's
``mnas`` reward is the soft MnasNet reward with its beta; its ``mnas_hard`` is ``mode="hard"`` with ``beta``
set to TuNAS's exponent.

The co-design work (FACTS.md) adds energy and area: :class:`Objective` accepts targets on any of latency
(``latency_ms``), energy (``energy_mj``) and energy-delay product (``edp_mj_ms``); each contributes a factor
``(x / T_x) ** w`` (soft / hard) or a term ``beta * |x / T_x - 1|`` (abs). :class:`MultiModelObjective` scores
one accelerator running several networks (sum or max of their latencies against one target, or each network
against its own target).

Area is a hard constraint here: a design whose ``area_mm2`` exceeds the limit is not given a reward but
reported with ``status="infeasible"`` (it is still recorded and told to the search controller, which ranks it
below every feasible design; see :func:`fitness`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SOFT",
    "HARD",
    "STATUSES",
    "Result",
    "Objective",
    "mnas_reward",
    "abs_reward",
    "fitness",
    "MultiModelObjective",
    "TARGET_METRICS",
]

#: (alpha, beta) of the MnasNet soft constraint.
SOFT: tuple[float, float] = (-0.07, -0.07)
#: (alpha, beta) of the MnasNet hard constraint.
HARD: tuple[float, float] = (0.0, -1.0)
#: Metrics an objective can target, in the order the reward multiplies them.
TARGET_METRICS: tuple[str, ...] = ("latency_ms", "energy_mj", "edp_mj_ms")
#: Allowed :attr:`Result.status` values.
STATUSES: tuple[str, ...] = ("complete", "failed", "infeasible")


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {name}={value!r}")
    return float(value)


def mnas_reward(accuracy: float, latency_ms: float, target_ms: float, *, alpha: float = -0.07,
                beta: float = -0.07) -> float:
    """MnasNet reward ``accuracy * (latency_ms / target_ms) ** w`` (Tan et al., CVPR 2019, Eq. 2).

    Args:
        accuracy: top-1 accuracy as a fraction in [0, 1].
        latency_ms: measured or modelled latency, milliseconds (> 0).
        target_ms: target latency ``T``, milliseconds (> 0).
        alpha: exponent used when ``latency_ms <= target_ms`` (soft: -0.07, hard: 0).
        beta: exponent used when ``latency_ms > target_ms`` (soft: -0.07, hard: -1).

    Example: ``mnas_reward(0.8, 20, 10) == 0.8 * 2 ** -0.07 ~= 0.76211``.
    """
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be a fraction in [0, 1], got accuracy={accuracy!r}")
    lat = _positive("latency_ms", latency_ms)
    target = _positive("target_ms", target_ms)
    for name, v in (("alpha", alpha), ("beta", beta)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {name}={v!r}")
    w = alpha if lat <= target else beta
    return float(accuracy) * (lat / target) ** float(w)


def abs_reward(accuracy: float, value: float, target: float, *, beta: float = -0.10) -> float:
    """TuNAS absolute reward ``accuracy + beta * |value / target - 1|`` (Bender et al., CVPR 2020).

    Example: ``abs_reward(0.8, 12, 10) == 0.8 - 0.1 * 0.2 == 0.78``; 8 ms against 10 gives the same 0.78.
    """
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be a fraction in [0, 1], got accuracy={accuracy!r}")
    v = _positive("value", value)
    t = _positive("target", target)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not math.isfinite(beta):
        raise ValueError(f"beta must be a finite number, got beta={beta!r}")
    return float(accuracy) + float(beta) * abs(v / t - 1.0)


@dataclass(frozen=True)
class Result:
    """Outcome of evaluating one candidate.

    Attributes:
        metrics: name -> value, e.g. ``accuracy`` (fraction), ``latency_ms``, ``area_mm2``, ``reward``;
            infeasible results carry ``constraint_violation`` (relative excess, >= 0).
        status: ``"complete"`` (evaluated and feasible), ``"infeasible"`` (violates a hard constraint: area,
            or the hardware cannot run the network) or ``"failed"`` (evaluation raised).
        reason: human-readable explanation for a non-complete status ("" when complete).
    """

    metrics: Mapping[str, Any] = field(default_factory=dict)
    status: str = "complete"
    reason: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got status={self.status!r}")
        if not isinstance(self.metrics, Mapping):
            raise ValueError(f"metrics must be a mapping, got metrics={self.metrics!r}")
        object.__setattr__(self, "metrics", dict(self.metrics))

    @property
    def reward(self) -> float | None:
        """``metrics["reward"]`` if the result is complete, else None."""
        if self.status != "complete":
            return None
        r = self.metrics.get("reward")
        return None if r is None else float(r)

    @property
    def feasible(self) -> bool:
        return self.status == "complete"

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": dict(self.metrics), "status": self.status, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Result":
        return cls(metrics=dict(d.get("metrics", {})), status=d.get("status", "complete"), reason=d.get("reason", ""))


def fitness(result: Result) -> float:
    """Scalar the controllers maximise.

    * complete: ``metrics["reward"]`` (MnasNet rewards are >= 0);
    * infeasible: ``-1 - metrics.get("constraint_violation", 1.0)`` (always < -1, less negative for smaller
      violations, so infeasible designs rank below every feasible one but are ordered among themselves);
    * failed, or complete without a reward: ``-inf``.
    """
    if not isinstance(result, Result):
        raise ValueError(f"expected a Result, got {type(result).__name__}: {result!r}")
    if result.status == "complete":
        r = result.reward
        return -math.inf if r is None or not math.isfinite(r) else r
    if result.status == "infeasible":
        v = result.metrics.get("constraint_violation", 1.0)
        try:
            v = float(v)
        except (TypeError, ValueError):
            v = 1.0
        if not math.isfinite(v) or v < 0:
            v = 1.0
        return -1.0 - v
    return -math.inf


class Objective:
    """Reward on latency / energy / EDP targets with an optional hard area limit.

    Args (keyword-only):
        target_latency_ms: latency target ``T`` in ms, or None.
        target_energy_mj: energy-per-inference target in mJ, or None.
        target_edp_mj_ms: energy-delay-product target in mJ*ms, or None. At least one target is required.
        area_limit_mm2: hard limit on ``area_mm2`` in mm^2, or None for no limit.
        mode: ``"soft"`` (MnasNet, alpha = beta = -0.07), ``"hard"`` (MnasNet, alpha = 0, beta = -1) or
            ``"abs"`` (TuNAS, ``accuracy + abs_beta * sum |x / T_x - 1|``).
        alpha, beta: override the soft/hard exponents (same for every target).
        abs_beta: the TuNAS coefficient (< 0; default -0.10).

    Call :meth:`area_check` before the expensive evaluation and :meth:`__call__` with the measured metrics.
    """

    def __init__(
        self,
        *,
        target_latency_ms: float | None = None,
        area_limit_mm2: float | None = None,
        mode: str = "soft",
        alpha: float | None = None,
        beta: float | None = None,
        target_energy_mj: float | None = None,
        target_edp_mj_ms: float | None = None,
        abs_beta: float = -0.10,
    ) -> None:
        self.targets: dict[str, float] = {}
        for metric, value, name in (("latency_ms", target_latency_ms, "target_latency_ms"),
                                    ("energy_mj", target_energy_mj, "target_energy_mj"),
                                    ("edp_mj_ms", target_edp_mj_ms, "target_edp_mj_ms")):
            if value is not None:
                self.targets[metric] = _positive(name, value)
        if not self.targets and not self._no_target_needed:
            raise ValueError("an objective needs at least one of target_latency_ms, target_energy_mj, target_edp_mj_ms")
        self.target_latency_ms = self.targets.get("latency_ms")
        self.target_energy_mj = self.targets.get("energy_mj")
        self.target_edp_mj_ms = self.targets.get("edp_mj_ms")
        self.area_limit_mm2 = None if area_limit_mm2 is None else _positive("area_limit_mm2", area_limit_mm2)
        if mode not in ("soft", "hard", "abs"):
            raise ValueError(f"mode must be 'soft', 'hard' or 'abs', got mode={mode!r}")
        self.mode = mode
        a, b = HARD if mode == "hard" else SOFT
        self.alpha = float(a if alpha is None else alpha)
        self.beta = float(b if beta is None else beta)
        for name, v in (("alpha", self.alpha), ("beta", self.beta), ("abs_beta", abs_beta)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name} must be finite, got {name}={v!r}")
        if abs_beta >= 0:
            raise ValueError(f"abs_beta must be negative, got abs_beta={abs_beta!r}")
        self.abs_beta = float(abs_beta)

    _no_target_needed = False

    def __repr__(self) -> str:
        t = ", ".join(f"target_{k}={v:g}" for k, v in self.targets.items())
        return f"Objective({t}, area_limit_mm2={self.area_limit_mm2}, mode={self.mode!r}, alpha={self.alpha:g}, " \
               f"beta={self.beta:g}, abs_beta={self.abs_beta:g})"

    @property
    def metrics_needed(self) -> tuple[str, ...]:
        """The metric names :meth:`__call__` reads (besides ``area_mm2`` for the limit)."""
        return ("accuracy",) + tuple(self.targets)

    def to_dict(self) -> dict[str, Any]:
        return {"target_latency_ms": self.target_latency_ms, "target_energy_mj": self.target_energy_mj,
                "target_edp_mj_ms": self.target_edp_mj_ms, "area_limit_mm2": self.area_limit_mm2,
                "mode": self.mode, "alpha": self.alpha, "beta": self.beta, "abs_beta": self.abs_beta}

    def _score(self, accuracy: float, values: Mapping[str, float], targets: Mapping[str, float]) -> float:
        if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0.0 <= accuracy <= 1.0:
            raise ValueError(f"accuracy must be a fraction in [0, 1], got accuracy={accuracy!r}")
        out = float(accuracy)
        for m, t in targets.items():
            if self.mode == "abs":
                out = abs_reward(accuracy, values[m], t, beta=self.abs_beta) - accuracy + out
            else:
                out *= mnas_reward(1.0, values[m], t, alpha=self.alpha, beta=self.beta)
        return out

    def reward(self, accuracy: float, latency_ms: float | None = None, *, energy_mj: float | None = None,
               edp_mj_ms: float | None = None) -> float:
        """The reward of ``accuracy`` at the given metric values (each targeted metric must be given).

        Soft / hard: ``accuracy * prod_x (x / T_x) ** w_x``; abs: ``accuracy + abs_beta * sum_x |x / T_x - 1|``.
        """
        values = {"latency_ms": latency_ms, "energy_mj": energy_mj, "edp_mj_ms": edp_mj_ms}
        for m in self.targets:
            if values[m] is None:
                raise ValueError(f"the objective targets {m} but no {m} was given")
        return self._score(accuracy, values, self.targets)

    def area_check(self, area_mm2: float) -> Result | None:
        """None if ``area_mm2`` is within the limit, else an ``"infeasible"`` :class:`Result` with
        ``metrics = {"area_mm2", "constraint_violation" = area / limit - 1}``."""
        area = _positive("area_mm2", area_mm2)
        if self.area_limit_mm2 is None or area <= self.area_limit_mm2:
            return None
        return Result(
            metrics={"area_mm2": area, "constraint_violation": area / self.area_limit_mm2 - 1.0},
            status="infeasible",
            reason=f"area {area:.3f} mm2 exceeds limit {self.area_limit_mm2:.3f} mm2",
        )

    def _check_area(self, metrics: Mapping[str, Any], out: dict[str, Any]) -> Result | None:
        if self.area_limit_mm2 is None:
            return None
        if "area_mm2" not in metrics:
            raise ValueError(f"metrics lacks 'area_mm2' but the objective has an area limit: {dict(metrics)!r}")
        bad = self.area_check(metrics["area_mm2"])
        if bad is None:
            return None
        out.update(bad.metrics)
        return Result(metrics=out, status="infeasible", reason=bad.reason)

    def __call__(self, metrics: Mapping[str, Any]) -> Result:
        """Score measured metrics (needs ``accuracy`` and every targeted metric; ``area_mm2`` if there is a
        limit).

        Returns a complete :class:`Result` whose metrics gain ``reward`` (and ``<metric>_ok``: within the
        target), or an infeasible one if the area limit is exceeded (metrics kept, plus
        ``constraint_violation``).
        """
        if not isinstance(metrics, Mapping):
            raise ValueError(f"metrics must be a mapping, got metrics={metrics!r}")
        for key in self.metrics_needed:
            if key not in metrics:
                raise ValueError(f"metrics lacks {key!r}: {dict(metrics)!r}")
        out = dict(metrics)
        bad = self._check_area(metrics, out)
        if bad is not None:
            return bad
        for m, t in self.targets.items():
            out[f"{m}_ok"] = bool(float(metrics[m]) <= t)
        out["reward"] = self._score(metrics["accuracy"], metrics, self.targets)
        return Result(metrics=out, status="complete", reason="")


class MultiModelObjective(Objective):
    """One accelerator for several networks (the co-design work's multi-model use case).

    Args (keyword-only):
        networks: the network names (metrics ``latency_ms.<name>``, ``accuracy.<name>`` are read).
        aggregate: ``"sum"`` (total latency of running each once, against ``target_latency_ms``), ``"max"``
            (the slowest network against ``target_latency_ms``) or ``"each"`` (every network against its own
            target in ``targets``; the reward is the mean of the per-network rewards).
        targets: ``{name: target ms}`` for ``aggregate="each"``.
        target_latency_ms, area_limit_mm2, mode, alpha, beta, abs_beta: as :class:`Objective` (latency only).

    For ``sum`` / ``max`` the accuracy is the mean of the networks' accuracies; the aggregated latency is also
    written as ``latency_ms``.
    """

    def __init__(self, *, networks: Sequence[str], aggregate: str = "sum", targets: Mapping[str, float] | None = None,
                 target_latency_ms: float | None = None, **kw: Any) -> None:
        names = [str(n) for n in networks]
        if not names:
            raise ValueError("networks must name at least one network")
        if len(set(names)) != len(names):
            raise ValueError(f"networks has duplicate names: {names}")
        if aggregate not in ("sum", "max", "each"):
            raise ValueError(f"aggregate must be 'sum', 'max' or 'each', got aggregate={aggregate!r}")
        for bad in ("target_energy_mj", "target_edp_mj_ms"):
            if kw.get(bad) is not None:
                raise ValueError(f"MultiModelObjective targets latency only, got {bad}={kw[bad]!r}")
        self.networks = tuple(names)
        self.aggregate = aggregate
        if aggregate == "each":
            if not targets:
                raise ValueError("aggregate='each' needs targets={network: target_ms}")
            missing = [n for n in names if n not in targets]
            if missing:
                raise ValueError(f"targets lacks network(s) {missing}")
            extra = [n for n in targets if n not in names]
            if extra:
                raise ValueError(f"targets names unknown network(s) {extra}")
            self.network_targets = {n: _positive(f"targets[{n!r}]", targets[n]) for n in names}
            self._no_target_needed = True
            super().__init__(target_latency_ms=None, **kw)
        else:
            if target_latency_ms is None:
                raise ValueError(f"aggregate={aggregate!r} needs target_latency_ms")
            self.network_targets = {}
            super().__init__(target_latency_ms=target_latency_ms, **kw)

    def __repr__(self) -> str:
        return (f"MultiModelObjective(networks={self.networks}, aggregate={self.aggregate!r}, "
                f"target_latency_ms={self.target_latency_ms}, targets={self.network_targets}, mode={self.mode!r}, "
                f"area_limit_mm2={self.area_limit_mm2})")

    @property
    def metrics_needed(self) -> tuple[str, ...]:
        return tuple(f"{k}.{n}" for n in self.networks for k in ("accuracy", "latency_ms"))

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update({"networks": list(self.networks), "aggregate": self.aggregate, "targets": dict(self.network_targets)})
        return d

    def __call__(self, metrics: Mapping[str, Any]) -> Result:
        if not isinstance(metrics, Mapping):
            raise ValueError(f"metrics must be a mapping, got metrics={metrics!r}")
        for key in self.metrics_needed:
            if key not in metrics:
                raise ValueError(f"metrics lacks {key!r}: {dict(metrics)!r}")
        out = dict(metrics)
        lats = [float(metrics[f"latency_ms.{n}"]) for n in self.networks]
        accs = [float(metrics[f"accuracy.{n}"]) for n in self.networks]
        out["latency_ms"] = sum(lats) if self.aggregate in ("sum", "each") else max(lats)
        out["accuracy"] = sum(accs) / len(accs)
        if all(f"energy_mj.{n}" in metrics for n in self.networks):
            out["energy_mj"] = sum(float(metrics[f"energy_mj.{n}"]) for n in self.networks)
        bad = self._check_area(metrics, out)
        if bad is not None:
            return bad
        if self.aggregate == "each":
            rewards = [self._score(a, {"latency_ms": lat}, {"latency_ms": self.network_targets[n]})
                       for n, a, lat in zip(self.networks, accs, lats)]
            for n, lat in zip(self.networks, lats):
                out[f"latency_ms_ok.{n}"] = bool(lat <= self.network_targets[n])
            out["latency_ms_ok"] = all(out[f"latency_ms_ok.{n}"] for n in self.networks)
            out["reward"] = sum(rewards) / len(rewards)
        else:
            out["latency_ms_ok"] = bool(out["latency_ms"] <= self.targets["latency_ms"])
            out["reward"] = self._score(out["accuracy"], out, self.targets)
        return Result(metrics=out, status="complete", reason="")
