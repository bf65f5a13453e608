"""Cheap deterministic stand-ins for the accuracy evaluator, for search tests (also imported by subprocesses)."""
from __future__ import annotations

import hashlib
import time
from typing import Any


class HashAccuracy:
    """accuracy = 0.5 + 0.4 * (a stable hash of the network's block strings), optionally sleeping ``delay`` seconds
    per call (to make a subprocess search slow enough to kill mid-run). Counts its calls."""

    def __init__(self, space: Any, delay: float = 0.0) -> None:
        self.space = space
        self.delay = delay
        self.calls = 0

    def evaluate(self, arch: Any) -> float:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        key = "|".join(b for st in self.space.to_block_strings(arch) for b in st)
        h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        return 0.5 + 0.4 * h

    def to_dict(self) -> dict[str, Any]:  # the run's configuration: the same with or without delay
        return {"kind": "hash-accuracy"}


class Interrupt(HashAccuracy):
    """Raises KeyboardInterrupt on its n-th call: an interruption in the middle of a batch."""

    def __init__(self, space: Any, n: int) -> None:
        super().__init__(space)
        self.n = n

    def evaluate(self, arch: Any) -> float:
        if self.calls + 1 >= self.n:
            raise KeyboardInterrupt
        return super().evaluate(arch)


def strip_timing(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trial records without their wall-clock fields, for comparing two runs."""
    return [{k: v for k, v in t.items() if "seconds" not in k} for t in trials]


def toy_space(n: int = 8, k: int = 4) -> Any:
    """A small CategoricalSpace for controller tests: ``n`` decisions of ``k`` choices ``10 .. 9 + k`` each; a
    candidate is the tuple of its values."""
    from codesign.space._base import CategoricalSpace

    class Toy(CategoricalSpace[tuple]):
        def __init__(self) -> None:
            self._names = tuple(f"d{i}" for i in range(n))
            self._choices = tuple(tuple(range(10, 10 + k)) for _ in range(n))

        def _values(self, candidate: Any) -> tuple:
            if not isinstance(candidate, tuple):
                raise ValueError(f"not a candidate: {candidate!r}")
            return candidate

        def _build(self, values: Any) -> tuple:
            return tuple(values)

    return Toy()


def drive(ctrl: Any, space: Any, rounds: int, result: Any, n: int = 4) -> list[tuple[int, ...]]:
    """``rounds`` of ask(n) / tell with ``result(candidate)``; the encodings asked, in order."""
    asked = []
    for _ in range(rounds):
        cands = ctrl.ask(n)
        asked.extend(space.encode(c) for c in cands)
        ctrl.tell(cands, [result(c) for c in cands])
    return asked
