"""Joint network x hardware space, and its restrictions to one part.

A :class:`Candidate` pairs a network candidate (``arch``) with a hardware configuration (``hw``: a
:class:`codesign.hardware.SystolicArray` or :class:`codesign.hardware.EdgeTpuConfig`). The joint encoding is the
network's decisions followed by the hardware's - one decision sequence, as the co-design controller samples it.

:class:`SubSpace` fixes one part (a network or an accelerator) and searches the other: the candidates are still
joint :class:`Candidate` objects, so every strategy (joint, network-only, hardware-only, phase-wise) shares one
evaluator, one trial format and one Pareto archive.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._base import CategoricalSpace, as_generator
from .hw import HardwareSpace
from .nas import NetworkSpace, NetworkSpaceBase

__all__ = ["Candidate", "JointSpace", "SubSpace", "hw_key"]


def hw_key(hw: Any) -> tuple[Any, ...]:
    """Hashable identity of a hardware configuration (all its fields, via ``to_dict``).

    Remembered per object for frozen dataclasses (the hardware configurations: immutable, so their key cannot
    change; a search asks for the same configuration's key several times per trial)."""
    hit = _HW_KEYS.get(id(hw))
    if hit is not None and hit[0] is hw:
        return hit[1]
    d = hw.to_dict()
    key = tuple(sorted((k, v if not isinstance(v, (list, dict)) else repr(v)) for k, v in d.items()))
    params = getattr(type(hw), "__dataclass_params__", None)
    if params is not None and params.frozen:
        if len(_HW_KEYS) >= _HW_KEYS_MAX:
            _HW_KEYS.clear()
        _HW_KEYS[id(hw)] = (hw, key)  # the object is held, so its id is not reused while remembered
    return key


_HW_KEYS: dict[int, tuple[Any, tuple[Any, ...]]] = {}
_HW_KEYS_MAX = 4096


@dataclass(frozen=True)
class Candidate:
    """One network + hardware design point. Frozen and hashable (usable as a dict key; the hardware part is
    hashed by its fields, since :class:`~codesign.hardware.EdgeTpuConfig` itself is not hashable)."""

    arch: Any
    hw: Any

    def __hash__(self) -> int:
        return hash((self.arch, hw_key(self.hw)))


class JointSpace(CategoricalSpace[Candidate]):
    """Product of a network space and a hardware space, encoded as one decision sequence.

    Args:
        network: any :class:`~codesign.space.nas.NetworkSpaceBase` (default ``NetworkSpace()``).
        hardware: a hardware space (:class:`HardwareSpace`, :class:`~codesign.space.hw.EdgeTpuHardwareSpace`;
            default ``HardwareSpace()``).
        hw_mutation_prob: keyword-only; probability that :meth:`mutate` changes a hardware decision rather
            than a network one (default 0.5; hardware-only mutations are cheap because accuracy is cached per
            network). Within the chosen part one decision is changed, as in :meth:`CategoricalSpace.mutate`.

    ``size == network.size * hardware.size``.
    """

    def __init__(
        self,
        network: NetworkSpaceBase | None = None,
        hardware: CategoricalSpace | None = None,
        *,
        hw_mutation_prob: float = 0.5,
    ) -> None:
        if network is not None and not isinstance(network, NetworkSpaceBase):
            raise ValueError(f"network must be a network space (NetworkSpaceBase), got {network!r}")
        if hardware is not None and (not isinstance(hardware, CategoricalSpace) or isinstance(hardware, NetworkSpaceBase)):
            raise ValueError(f"hardware must be a hardware space (HardwareSpace, EdgeTpuHardwareSpace), got {hardware!r}")
        if isinstance(hw_mutation_prob, bool) or not isinstance(hw_mutation_prob, (int, float)) \
                or not 0 <= hw_mutation_prob <= 1:  # no float(): a huge int would raise OverflowError
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

    @property
    def n_network(self) -> int:
        """Number of network decisions (they come first in the encoding)."""
        return self._n_net

    def _values(self, candidate: Candidate) -> tuple[Any, ...]:
        if not isinstance(candidate, Candidate):
            raise ValueError(f"expected a Candidate, got {type(candidate).__name__}: {candidate!r}")
        return self.network._values(candidate.arch) + self.hardware._values(candidate.hw)

    def _build(self, values: tuple[Any, ...]) -> Candidate:
        return Candidate(
            arch=self.network._build(values[: self._n_net]), hw=self.hardware._build(values[self._n_net :])
        )

    def to_block_strings(self, candidate: Candidate) -> list[list[str]]:
        """The network part's timm block strings (see :meth:`NetworkSpaceBase.to_block_strings`)."""
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

    def restrict(self, *, arch: Any = None, hw: Any = None) -> "SubSpace":
        """The sub-space with the network (``arch``) or the hardware (``hw``) fixed; see :class:`SubSpace`."""
        return SubSpace(self, arch=arch, hw=hw)


class SubSpace(CategoricalSpace[Candidate]):
    """A :class:`JointSpace` with one part fixed: its decisions are the free part's, its candidates joint.

    Args:
        joint: the joint space.
        arch: fix the network to this candidate of ``joint.network`` (searches the hardware), or
        hw: fix the hardware to this configuration (searches the network). Exactly one of the two.
            A fixed configuration need not be a member of ``joint.hardware`` (e.g. the Coral-calibrated
            ``edgetpu`` preset for network-only search); a fixed network must be a member of ``joint.network``.

    :meth:`encode` raises ValueError naming the fixed part if a candidate's fixed part differs.
    """

    def __init__(self, joint: JointSpace, *, arch: Any = None, hw: Any = None) -> None:
        if not isinstance(joint, JointSpace):
            raise ValueError(f"joint must be a JointSpace, got {joint!r}")
        if (arch is None) == (hw is None):
            raise ValueError("give exactly one of arch= (fixed network) or hw= (fixed hardware)")
        self.joint = joint
        self.fixed_arch = None if arch is None else joint.network.validate(arch)
        self.fixed_hw = hw
        if hw is not None and not hasattr(hw, "to_dict"):
            raise ValueError(f"hw must be a hardware configuration, got hw={hw!r}")
        self.free = joint.hardware if arch is not None else joint.network
        self._names = self.free.names
        self._choices = self.free.choices

    @property
    def searches(self) -> str:
        """``"hardware"`` or ``"network"``: the free part."""
        return "hardware" if self.fixed_arch is not None else "network"

    def __repr__(self) -> str:
        fixed = f"arch={self.joint.network.short_name(self.fixed_arch)!r}" if self.fixed_arch is not None \
            else f"hw={getattr(self.fixed_hw, 'name', self.fixed_hw)!r}"
        return f"SubSpace({self.joint!r}, {fixed})"

    def _values(self, candidate: Candidate) -> tuple[Any, ...]:
        if not isinstance(candidate, Candidate):
            raise ValueError(f"expected a Candidate, got {type(candidate).__name__}: {candidate!r}")
        if self.fixed_arch is not None:
            if candidate.arch != self.fixed_arch:
                raise ValueError("candidate's network differs from this sub-space's fixed network (arch)")
            return self.joint.hardware._values(candidate.hw)
        if hw_key(candidate.hw) != hw_key(self.fixed_hw):
            raise ValueError(f"candidate's hardware {getattr(candidate.hw, 'name', '')!r} differs from this "
                             f"sub-space's fixed hardware (hw) {getattr(self.fixed_hw, 'name', '')!r}")
        return self.joint.network._values(candidate.arch)

    def _build(self, values: tuple[Any, ...]) -> Candidate:
        if self.fixed_arch is not None:
            return Candidate(arch=self.fixed_arch, hw=self.joint.hardware._build(values))
        return Candidate(arch=self.joint.network._build(values), hw=self.fixed_hw)

    def mutate_indices(self, indices: Sequence[int], rng: np.random.Generator | int | None = None) -> tuple[int, ...]:
        return self.free.mutate_indices(indices, rng)
