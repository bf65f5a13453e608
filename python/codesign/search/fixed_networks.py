"""The multi-model use case's network "space": several fixed networks run on one accelerator, no decisions."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from codesign.space.nas import NetworkSpaceBase

__all__ = ["FixedNetworks"]


class _Fixed:
    """The single candidate of :class:`FixedNetworks`."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Fixed) and other.names == self.names

    def __hash__(self) -> int:
        return hash(("FixedNetworks", self.names))

    def __repr__(self) -> str:
        return f"FixedNetworks({list(self.names)})"


class FixedNetworks(NetworkSpaceBase[Any]):
    """A network "space" with no decisions: several fixed networks run on one accelerator (multi-model use
    case). Its one candidate stands for all of them; :class:`SearchEvaluator` costs each.

    Args:
        networks: ``{name: Workload}`` (or a sequence of workloads, named by ``Workload.name``).
        accuracies: ``{name: top-1 fraction}`` used in the reward (default 1.0 each: the reward then depends on
            latency only).
    """

    kind = "fixed"

    def __init__(self, networks: Mapping[str, Any] | Sequence[Any], accuracies: Mapping[str, float] | None = None) -> None:
        if isinstance(networks, Mapping):
            items = list(networks.items())
        else:
            items = [(getattr(w, "name", None), w) for w in networks]
        if not items:
            raise ValueError("networks must hold at least one workload")
        for name, wl in items:
            if not name or not hasattr(wl, "to_array"):
                raise ValueError(f"networks must map names to Workload objects, got {name!r}: {wl!r}")
        names = tuple(str(n) for n, _ in items)
        if len(set(names)) != len(names):
            raise ValueError(f"network names must be unique, got {list(names)}")
        self.workloads = dict(zip(names, (w for _, w in items)))
        acc = dict(accuracies or {})
        unknown = [n for n in acc if n not in self.workloads]
        if unknown:
            raise ValueError(f"accuracies names unknown network(s) {unknown}")
        self.accuracies = {n: float(acc.get(n, 1.0)) for n in names}
        for n, a in self.accuracies.items():
            if not 0.0 <= a <= 1.0:
                raise ValueError(f"accuracies[{n!r}] must be a fraction in [0, 1], got {a!r}")
        self.network_names = names
        self._names = ()
        self._choices = ()
        self._cand = _Fixed(names)

    def __repr__(self) -> str:
        return f"FixedNetworks({list(self.network_names)})"

    def _values(self, candidate: Any) -> tuple[Any, ...]:
        if candidate != self._cand:
            raise ValueError(f"expected {self._cand!r}, got {candidate!r}")
        return ()

    def _build(self, values: tuple[Any, ...]) -> Any:
        return self._cand

    @property
    def reference(self) -> Any:
        return self._cand

    def network_def(self, candidate: Any) -> Any:  # pragma: no cover - not a single network
        raise ValueError("FixedNetworks holds several networks; use .workloads")

    def network_key(self, candidate: Any) -> tuple[Any, ...]:
        return ("fixed",) + self.network_names

    def to_block_strings(self, candidate: Any) -> list[list[str]]:
        return [[n] for n in self.network_names]

    def short_name(self, candidate: Any) -> str:
        return "+".join(self.network_names)
