"""Joint network x hardware space.

A :class:`Candidate` pairs a :class:`~codesign.space.nas.NetworkCandidate` (``arch``) with a
:class:`codesign.hardware.SystolicArray` (``hw``). Its encoding is the network's 28 indices followed by the
hardware's 7 (names: the network space's ``"stage{i}.{field}"`` then the hardware fields).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._base import CategoricalSpace, as_generator
from .hw import HardwareSpace
from .nas import NetworkCandidate, NetworkSpace

if TYPE_CHECKING:  # pragma: no cover
    from codesign.hardware import SystolicArray

__all__ = ["Candidate", "JointSpace"]


@dataclass(frozen=True)
class Candidate:
    """One network + hardware design point. Frozen and hashable (usable as a dict key)."""

    arch: NetworkCandidate
    hw: "SystolicArray"


class JointSpace(CategoricalSpace[Candidate]):
    """Product of a :class:`NetworkSpace` and a :class:`HardwareSpace`.

    Args:
        network: network space (default ``NetworkSpace()``).
        hardware: hardware space (default ``HardwareSpace()``).
        hw_mutation_prob: keyword-only; probability that :meth:`mutate` changes a hardware decision rather
            than a network one (default 0.5; hardware-only mutations are cheap because accuracy is cached per
            network). Within the chosen part one decision is changed, as in
            :meth:`CategoricalSpace.mutate`.

    ``size == network.size * hardware.size``.
    """

    def __init__(
        self,
        network: NetworkSpace | None = None,
        hardware: HardwareSpace | None = None,
        *,
        hw_mutation_prob: float = 0.5,
    ) -> None:
        if network is not None and not isinstance(network, NetworkSpace):
            raise ValueError(f"network must be a NetworkSpace, got {network!r}")
        if hardware is not None and not isinstance(hardware, HardwareSpace):
            raise ValueError(f"hardware must be a HardwareSpace, got {hardware!r}")
        if not 0.0 <= float(hw_mutation_prob) <= 1.0:
            raise ValueError(f"hw_mutation_prob must be in [0, 1], got hw_mutation_prob={hw_mutation_prob!r}")
        self.network = network if network is not None else NetworkSpace()
        self.hardware = hardware if hardware is not None else HardwareSpace()
        self.hw_mutation_prob = float(hw_mutation_prob)
        overlap = set(self.network.names) & set(self.hardware.names)
        if overlap:  # pragma: no cover - the default names never overlap
            raise ValueError(f"network and hardware decision names overlap: {sorted(overlap)}")
        self._names = self.network.names + self.hardware.names
        self._choices = self.network.choices + self.hardware.choices
        self._n_net = len(self.network.names)

    def __repr__(self) -> str:
        return f"JointSpace({self.network!r}, {self.hardware!r}, hw_mutation_prob={self.hw_mutation_prob})"

    def _values(self, candidate: Candidate) -> tuple[Any, ...]:
        if not isinstance(candidate, Candidate):
            raise ValueError(f"expected a Candidate, got {type(candidate).__name__}: {candidate!r}")
        return self.network._values(candidate.arch) + self.hardware._values(candidate.hw)

    def _build(self, values: tuple[Any, ...]) -> Candidate:
        return Candidate(
            arch=self.network._build(values[: self._n_net]), hw=self.hardware._build(values[self._n_net :])
        )

    def to_block_strings(self, candidate: Candidate) -> list[list[str]]:
        """The network part's timm block strings (see :meth:`NetworkSpace.to_block_strings`)."""
        self.validate(candidate)
        return self.network.to_block_strings(candidate.arch)

    def split(self, indices: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Joint encoding -> (network indices, hardware indices)."""
        indices = tuple(indices)
        if len(indices) != len(self._names):
            raise ValueError(f"indices has length {len(indices)}, expected {len(self._names)}")
        return indices[: self._n_net], indices[self._n_net :]

    def mutate_indices(self, indices: Sequence[int], rng: np.random.Generator | int | None = None) -> tuple[int, ...]:
        """Change exactly one decision: a hardware one with probability ``hw_mutation_prob``, else a
        network one (falls back to the other part if the chosen part has nothing to change)."""
        g = as_generator(rng)
        net, hw = self.split(self.encode(self.decode(indices)))
        hw_free = any(n > 1 for n in self.hardware.cardinalities)
        net_free = any(n > 1 for n in self.network.cardinalities)
        if not (hw_free or net_free):
            raise ValueError("space has no decision with more than one choice; nothing to mutate")
        use_hw = bool(g.random() < self.hw_mutation_prob)
        if use_hw and not hw_free:
            use_hw = False
        elif not use_hw and not net_free:
            use_hw = True
        if use_hw:
            return net + self.hardware.mutate_indices(hw, g)
        return self.network.mutate_indices(net, g) + hw
