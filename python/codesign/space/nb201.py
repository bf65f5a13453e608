"""The NAS-Bench-201 cell space (``nb201``): 15,625 cells on NAS-Bench-201's fixed skeleton.

NAS-Bench-201 (Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search", ICLR
2020; NATS-Bench's topology space, Dong et al., TPAMI 2021) trains every cell of a small space to convergence, so
a search on it can be scored against ground truth (:class:`codesign.evaluation.NB201Accuracy`).

**Cell.** A DAG of 4 nodes; node 0 is the cell input, node ``j`` (1..3) is the sum of one operation on every
earlier node ``i < j``: 6 edges, each one of 5 operations (``5**6 = 15,625`` cells):

=================  ====================================================================================
op                 what it computes (C channels in and out, stride 1)
=================  ====================================================================================
``none``           zeros (the edge is absent; costs nothing)
``skip_connect``   identity
``nor_conv_1x1``   ReLU -> 1x1 conv (no bias) -> BatchNorm
``nor_conv_3x3``   ReLU -> 3x3 conv, padding 1 (no bias) -> BatchNorm
``avg_pool_3x3``   3x3 average pooling, stride 1, padding 1, padded cells not counted
=================  ====================================================================================

The cell output is node 3. A node with no incoming edge other than ``none`` holds zeros (as NAS-Bench-201's own
``Zero`` op computes them). By default (``pruned=True``) the networks are built as a graph compiler leaves them:
ops on an all-zero node and ops whose result never reaches node 3 are removed
(:func:`codesign.space.nb201_net.live_edges`); the measured Edge TPU latencies of NB201 cells follow that pruned
graph. ``pruned=False`` builds the benchmark's literal cell, in which those ops still run.

**Arch string** (the benchmark's own notation, edge order of the decisions)::

    |op~0|+|op~0|op~1|+|op~0|op~1|op~2|          node 1 <- 0 | node 2 <- 0, 1 | node 3 <- 0, 1, 2

**Skeleton** (NAS-Bench-201 paper, Sec. 2.1 and Fig. 1): stem 3x3 conv 3 -> 16 channels + BN; three stages of 5
cells at 16, 32 and 64 channels; between stages a residual reduction block (ResNet basic block: ReLU-3x3 conv
stride 2-BN, ReLU-3x3 conv-BN, shortcut 2x2 average pooling stride 2 then 1x1 conv, summed); then BN + ReLU,
global average pooling and a linear classifier. Input 32x32 (CIFAR-10/100, 10/100 classes) or 16x16
(ImageNet16-120, 120 classes), per the ``dataset`` setting.

:meth:`NB201Space.workload` builds the cost model's :class:`~codesign.workload.Workload` analytically (no torch),
layer for layer what :func:`codesign.workload.from_torch` captures from :meth:`NB201Space.build_model`
(tests/test_nb201.py checks it): convolutions, pooling, residual adds (one ``add`` layer per ``+``), with a ReLU
fused into the layer that produced its input when that output feeds nothing else, else a stand-alone activation
pass (as ``from_torch`` places activations). The model itself is ours, written from the paper's description.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._base import not_a_choice
from .nas import NetworkSpaceBase

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from codesign.workload import Workload

__all__ = ["NB201_OPS", "NB201_EDGES", "NB201_DATASETS", "NB201Candidate", "NB201Space"]

#: The five operations, in NAS-Bench-201's order.
NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: The six edges (to node, from node), in the arch string's order.
NB201_EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
#: dataset -> (input side in pixels, classes).
NB201_DATASETS: dict[str, tuple[int, int]] = {"cifar10": (32, 10), "cifar100": (32, 100), "imagenet16": (16, 120)}
#: Channels of the three stages and cells per stage (the paper's N = 5).
STAGE_CHANNELS: tuple[int, int, int] = (16, 32, 64)
CELLS_PER_STAGE = 5
_SHORT = {"none": "x", "skip_connect": "s", "nor_conv_1x1": "1", "nor_conv_3x3": "3", "avg_pool_3x3": "p"}


@dataclass(frozen=True)
class NB201Candidate:
    """One NAS-Bench-201 cell: the operation on each of the six edges (:data:`NB201_EDGES` order)."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        ops = self.ops
        if isinstance(ops, str) or not isinstance(ops, Sequence) or len(ops) != len(NB201_EDGES):
            raise ValueError(f"NB201Candidate.ops must be {len(NB201_EDGES)} operation names, got ops={ops!r}")
        object.__setattr__(self, "ops", tuple(ops))
        for (j, i), op in zip(NB201_EDGES, self.ops):
            if not isinstance(op, str) or op not in NB201_OPS:
                raise ValueError(not_a_choice(f"edge {j}<-{i}", op, NB201_OPS))

    @property
    def arch_str(self) -> str:
        """The benchmark's arch string, ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
        nodes = []
        for j in (1, 2, 3):
            nodes.append("|" + "|".join(f"{op}~{i}" for (jj, i), op in zip(NB201_EDGES, self.ops) if jj == j) + "|")
        return "+".join(nodes)

    @classmethod
    def from_arch_str(cls, text: str) -> "NB201Candidate":
        """Parse an arch string; ValueError naming the part that is wrong."""
        if not isinstance(text, str):
            raise ValueError(f"an NB201 arch string must be a str, got {text!r}")
        nodes = text.strip().split("+")
        if len(nodes) != 3:
            raise ValueError(f"an NB201 arch string has 3 nodes separated by '+', got {len(nodes)} in {text!r}")
        ops: list[str] = []
        for j, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")):
                raise ValueError(f"node {j} of {text!r} must be written |op~i|...|, got {node!r}")
            parts = node[1:-1].split("|")
            if len(parts) != j:
                raise ValueError(f"node {j} of {text!r} must have {j} edge(s), got {len(parts)}: {node!r}")
            for i, part in enumerate(parts):
                op, sep, src = part.partition("~")
                if sep != "~" or src != str(i):
                    raise ValueError(f"edge {i} of node {j} in {text!r} must be 'op~{i}', got {part!r}")
                ops.append(op)
        return cls(tuple(ops))

    def __str__(self) -> str:
        return self.arch_str


class NB201Space(NetworkSpaceBase[NB201Candidate]):
    """The NAS-Bench-201 cell space (see the module docstring): 6 decisions ``node{j}.in{i}`` with the 5 ops each.

    Args:
        dataset: ``"cifar10"`` (default), ``"cifar100"`` or ``"imagenet16"``: sets the input size (32 or 16 px)
            and the classifier's outputs (10, 100, 120) of :meth:`workload` and :meth:`build_model`.
        ops: allowed operations (default all five; a subset restricts every edge).
    """

    kind = "nb201"

    def __init__(self, *, dataset: str = "cifar10", ops: Sequence[str] = NB201_OPS) -> None:
        from ._base import checked_choices

        if dataset not in NB201_DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(NB201_DATASETS)}, got dataset={dataset!r}")

        def _op(field: str, v: Any) -> None:
            if v not in NB201_OPS:
                raise ValueError(f"{field} must be among {NB201_OPS}, got op={v!r}")

        self.dataset = dataset
        self.ops = checked_choices("ops", ops, _op)
        self._names = tuple(f"node{j}.in{i}" for j, i in NB201_EDGES)
        self._choices = tuple(self.ops for _ in NB201_EDGES)

    def __repr__(self) -> str:
        extra = "" if self.ops == NB201_OPS else f", ops={list(self.ops)}"
        return f"NB201Space(dataset={self.dataset!r}{extra})"

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """The network input ``(1, 3, H, W)`` of :attr:`dataset`."""
        side = NB201_DATASETS[self.dataset][0]
        return (1, 3, side, side)

    @property
    def num_classes(self) -> int:
        return NB201_DATASETS[self.dataset][1]

    # -- CategoricalSpace ------------------------------------------------------------------------------------
    def _values(self, candidate: NB201Candidate) -> tuple[Any, ...]:
        if not isinstance(candidate, NB201Candidate):
            raise ValueError(f"expected an NB201Candidate, got {type(candidate).__name__}: {candidate!r}")
        return candidate.ops

    def _build(self, values: tuple[Any, ...]) -> NB201Candidate:
        return NB201Candidate(tuple(values))

    def candidates(self) -> Iterator[NB201Candidate]:
        """Every cell of the space, in encoding order (15,625 with all five ops)."""
        for ops in itertools.product(self.ops, repeat=len(NB201_EDGES)):
            yield NB201Candidate(ops)

    @property
    def reference(self) -> NB201Candidate:
        """The ResNet cell ``|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|``
        (a basic block: two 3x3 convs and the identity shortcut) when its ops are allowed, else the first cell."""
        ref = NB201Candidate(("nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "none", "skip_connect"))
        try:
            return self.validate(ref)
        except ValueError:
            return next(self.candidates())

    # -- NetworkSpaceBase ------------------------------------------------------------------------------------
    def network_def(self, candidate: NB201Candidate) -> Any:
        raise ValueError("an NB201 cell is not a timm block-string network; use workload() and build_model()")

    def to_block_strings(self, candidate: NB201Candidate) -> list[list[str]]:
        """The arch string, as the one "block" of the network (for records that list block strings)."""
        self.validate(candidate)
        return [[candidate.arch_str]]

    def network_key(self, candidate: NB201Candidate) -> tuple[Any, ...]:
        self.validate(candidate)
        return ("nb201", self.dataset, candidate.ops)

    def short_name(self, candidate: NB201Candidate) -> str:
        """Compact id: one character per edge, nodes separated by ``|`` (x none, s skip, 1 / 3 conv, p pool)."""
        self.validate(candidate)
        c = [_SHORT[o] for o in candidate.ops]
        return f"{c[0]}|{''.join(c[1:3])}|{''.join(c[3:])}"

    def workload(self, candidate: NB201Candidate, *, input_shape: tuple[int, int, int, int] | None = None,
                 num_classes: int | None = None, name: str | None = None, pruned: bool = True) -> "Workload":
        """The network's :class:`~codesign.workload.Workload`, built analytically (equal layer by layer to
        ``from_torch(self.build_model(candidate, pruned=pruned), input_shape)``). Defaults: the dataset's input
        and classes; ``pruned``: without the ops a compiler removes (see the module docstring)."""
        from .nb201_net import nb201_workload

        self.validate(candidate)
        shape = self.input_shape if input_shape is None else tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(f"input_shape must be (N, C, H, W), got input_shape={input_shape!r}")
        return nb201_workload(candidate.ops, shape, self.num_classes if num_classes is None else num_classes,
                              name or f"nb201[{self.short_name(candidate)}]", pruned=pruned)

    def build_model(self, candidate: NB201Candidate, *, num_classes: int | None = None, in_chans: int = 3,
                    channel_scale: float = 1.0, pruned: bool = True, **_: Any) -> "torch.nn.Module":
        """The cell's network as a ``torch.nn.Module`` mapping ``(N, in_chans, H, W)`` to ``(N, classes)``
        logits (needs torch). ``channel_scale`` multiplies the stage channels (rounded, at least 1); ``pruned``:
        without the ops a compiler removes (see the module docstring)."""
        from .nb201_net import build_nb201

        self.validate(candidate)
        return build_nb201(candidate.ops, num_classes=self.num_classes if num_classes is None else num_classes,
                           in_chans=in_chans, channel_scale=channel_scale, pruned=pruned)
