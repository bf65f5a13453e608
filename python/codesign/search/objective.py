"""Search objective: the MnasNet multi-objective reward plus an area constraint.

MnasNet reward (Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile", CVPR 2019,
Eq. 2)::

    reward(m) = ACC(m) * (LAT(m) / T) ** w,     w = alpha if LAT(m) <= T else beta

with ``T`` the target latency. The paper's *soft* constraint uses ``alpha = beta = -0.07`` (a 2x slower model
should be ~5 % more accurate to get the same reward); the *hard* constraint uses ``alpha = 0, beta = -1``
(no bonus below the target, reward proportional to ``T / LAT`` above it).

Area is a hard constraint here: a design whose ``area_mm2`` exceeds the limit is not given a reward but
reported with ``status="infeasible"`` (it is still recorded and told to the search controller, which ranks it
below every feasible design; see :func:`fitness`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SOFT",
    "HARD",
    "STATUSES",
    "Result",
    "Objective",
    "mnas_reward",
    "fitness",
]

#: (alpha, beta) of the MnasNet soft constraint.
SOFT: tuple[float, float] = (-0.07, -0.07)
#: (alpha, beta) of the MnasNet hard constraint.
HARD: tuple[float, float] = (0.0, -1.0)
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
    """MnasNet reward with a latency target and an optional hard area limit.

    Args (keyword-only):
        target_latency_ms: target ``T`` in milliseconds (> 0).
        area_limit_mm2: hard limit on ``area_mm2`` in mm^2, or None for no limit.
        mode: ``"soft"`` (alpha = beta = -0.07) or ``"hard"`` (alpha = 0, beta = -1); ignored for an exponent
            given explicitly.
        alpha, beta: override the exponents.

    Call :meth:`area_check` before the expensive evaluation and :meth:`__call__` with the measured metrics.
    """

    def __init__(
        self,
        *,
        target_latency_ms: float,
        area_limit_mm2: float | None = None,
        mode: str = "soft",
        alpha: float | None = None,
        beta: float | None = None,
    ) -> None:
        self.target_latency_ms = _positive("target_latency_ms", target_latency_ms)
        self.area_limit_mm2 = None if area_limit_mm2 is None else _positive("area_limit_mm2", area_limit_mm2)
        if mode not in ("soft", "hard"):
            raise ValueError(f"mode must be 'soft' or 'hard', got mode={mode!r}")
        self.mode = mode
        a, b = SOFT if mode == "soft" else HARD
        self.alpha = float(a if alpha is None else alpha)
        self.beta = float(b if beta is None else beta)
        for name, v in (("alpha", self.alpha), ("beta", self.beta)):
            if not math.isfinite(v):
                raise ValueError(f"{name} must be finite, got {name}={v!r}")

    def __repr__(self) -> str:
        return (
            f"Objective(target_latency_ms={self.target_latency_ms:g}, area_limit_mm2={self.area_limit_mm2}, "
            f"mode={self.mode!r}, alpha={self.alpha:g}, beta={self.beta:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"target_latency_ms": self.target_latency_ms, "area_limit_mm2": self.area_limit_mm2,
                "mode": self.mode, "alpha": self.alpha, "beta": self.beta}

    def reward(self, accuracy: float, latency_ms: float) -> float:
        """:func:`mnas_reward` with this objective's target and exponents."""
        return mnas_reward(accuracy, latency_ms, self.target_latency_ms, alpha=self.alpha, beta=self.beta)

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

    def __call__(self, metrics: Mapping[str, Any]) -> Result:
        """Score measured metrics (needs ``accuracy`` and ``latency_ms``; ``area_mm2`` if there is a limit).

        Returns a complete :class:`Result` whose metrics gain ``reward``, or an infeasible one if the area
        limit is exceeded (metrics kept, plus ``constraint_violation``).
        """
        if not isinstance(metrics, Mapping):
            raise ValueError(f"metrics must be a mapping, got metrics={metrics!r}")
        for key in ("accuracy", "latency_ms"):
            if key not in metrics:
                raise ValueError(f"metrics lacks {key!r}: {dict(metrics)!r}")
        out = dict(metrics)
        if self.area_limit_mm2 is not None:
            if "area_mm2" not in metrics:
                raise ValueError(f"metrics lacks 'area_mm2' but the objective has an area limit: {dict(metrics)!r}")
            bad = self.area_check(metrics["area_mm2"])
            if bad is not None:
                out.update(bad.metrics)
                return Result(metrics=out, status="infeasible", reason=bad.reason)
        out["reward"] = self.reward(metrics["accuracy"], metrics["latency_ms"])
        return Result(metrics=out, status="complete", reason="")
