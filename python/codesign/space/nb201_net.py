"""NAS-Bench-201 networks: the PyTorch model and the analytic workload of one cell string.

Both follow one layout (:mod:`codesign.space.nb201` gives the skeleton and the cell): the module tree and the
execution order below are what names and orders the workload's layers.

=====================================  ========================================================================
module path                            what
=====================================  ========================================================================
``stem.0`` / ``stem.1``                3x3 conv (no bias) / BN
``cells.{n}`` (n = 0..16)              stage cells ``0-4``, ``6-10``, ``12-16``; reductions ``5`` and ``11``
``cells.{n}.edges.e{j}{i}``            the op of edge ``j <- i``: ReLU-conv-BN (conv at ``.1``) or avg pool
``cells.{n}.conv_a`` / ``.conv_b``     reduction: ReLU-3x3 conv stride 2-BN, ReLU-3x3 conv-BN
``cells.{n}.downsample.0`` / ``.1``    reduction shortcut: 2x2 average pool stride 2, 1x1 conv
``lastact.0`` / ``.1``                 BN, ReLU
``global_pooling``, ``classifier``     adaptive average pool to 1x1, linear
=====================================  ========================================================================

The analytic side replays the graph that ``torch.fx`` traces from that model (one node per module call, add
and multiply) and applies :func:`codesign.workload.from_torch`'s capture rules to it: a convolution, pool, add or
linear layer per call; BatchNorm passes its input's layer through when that input is a conv's output that feeds
nothing else, and is a ``bn`` pass otherwise (the last cell's sum before ``lastact``); a ReLU is
fused into the layer that produced its input under the same condition, else it is a stand-alone ``act`` pass; a
multiply by the constant 0 (a node with no incoming edge) is no layer.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from .nb201 import CELLS_PER_STAGE, NB201_EDGES, STAGE_CHANNELS

__all__ = ["build_nb201", "nb201_workload", "cell_layout", "incoming", "live_edges"]

_CONV_K = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


def cell_layout() -> list[tuple[str, int]]:
    """[(``"cell"`` or ``"reduction"``, stage channels)] of ``cells.0`` ... ``cells.16``."""
    out: list[tuple[str, int]] = []
    for s, c in enumerate(STAGE_CHANNELS):
        if s:
            out.append(("reduction", c))
        out.extend(("cell", c) for _ in range(CELLS_PER_STAGE))
    return out


def live_edges(ops: Sequence[str]) -> tuple[bool, ...]:
    """Per edge (arch-string order): whether its op runs in the compiled cell.

    An edge runs when its op is not ``none``, its source node is not all zeros (a node is zeros when no edge
    that runs feeds it) and its target reaches the cell output (node 3). Ops on zeros and ops whose result no
    one reads are what a graph compiler (the TFLite converter behind the Edge TPU compiler, ``torch.fx`` dead
    code elimination) removes; on the 500 measured NB201 cells (shared/reference/nasbench/) the device latency
    follows the pruned cell: a linear fit on the pruned cells' op counts ranks them at Spearman 0.98, on the
    unpruned ones at 0.88 (benchmarks/edgetpu_calibration/).
    """
    return _live_edges(tuple(ops))


@lru_cache(maxsize=4096)
def _live_edges(ops: tuple[str, ...]) -> tuple[bool, ...]:
    nonzero = {0}
    for j in (1, 2, 3):
        if any(jj == j and op != "none" and i in nonzero for (jj, i), op in zip(NB201_EDGES, ops)):
            nonzero.add(j)
    live = {3} if 3 in nonzero else set()
    for (j, i), op in sorted(zip(NB201_EDGES, ops), key=lambda e: -e[0][0]):
        if j in live and op != "none" and i in nonzero:
            live.add(i)
    return tuple(op != "none" and i in nonzero and j in live for (j, i), op in zip(NB201_EDGES, ops))


def incoming(ops: Sequence[str], j: int, *, pruned: bool = True) -> list[tuple[int, str]]:
    """[(from node, op)] of the edges into node ``j`` that run, in arch-string order: the terms of node ``j``'s
    sum, in the order both the model and the workload add them. ``pruned``: only the edges of
    :func:`live_edges`; else every edge that is not ``none`` (the benchmark's literal cell)."""
    return list(_incoming(tuple(ops), j, pruned))


@lru_cache(maxsize=16384)
def _incoming(ops: tuple[str, ...], j: int, pruned: bool) -> tuple[tuple[int, str], ...]:
    # every cell of a network asks again for the same cell: remembered (a search builds a workload per new cell)
    runs = _live_edges(ops) if pruned else tuple(op != "none" for op in ops)
    return tuple((i, op) for ((jj, i), op), r in zip(zip(NB201_EDGES, ops), runs) if jj == j and r)


def _scaled(c: int, channel_scale: float) -> int:
    return max(1, int(round(c * channel_scale)))


# =====================================================================================================
# PyTorch model
# =====================================================================================================
def build_nb201(ops: Sequence[str], *, num_classes: int, in_chans: int = 3, channel_scale: float = 1.0,
                pruned: bool = True) -> Any:
    """The NAS-Bench-201 network of the cell ``ops`` (a ``torch.nn.Module``; needs torch); ``pruned``: only the
    edges that run (:func:`live_edges`)."""
    import torch
    from torch import nn

    if not (isinstance(channel_scale, (int, float)) and not isinstance(channel_scale, bool)
            and 0 < channel_scale <= 8):
        raise ValueError(f"channel_scale must be in (0, 8], got channel_scale={channel_scale!r}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got num_classes={num_classes!r}")
    ops = tuple(ops)

    def relu_conv_bn(cin: int, cout: int, k: int, stride: int) -> nn.Sequential:
        return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
                             nn.BatchNorm2d(cout))

    class Cell(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.edges = nn.ModuleDict()
            for j in (1, 2, 3):
                for i, op in incoming(ops, j, pruned=pruned):
                    if op in _CONV_K:
                        self.edges[f"e{j}{i}"] = relu_conv_bn(c, c, _CONV_K[op], 1)
                    elif op == "avg_pool_3x3":
                        self.edges[f"e{j}{i}"] = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            nodes = [x]
            for j in (1, 2, 3):
                total = None
                for i, op in incoming(ops, j, pruned=pruned):
                    term = nodes[i] if op == "skip_connect" else self.edges[f"e{j}{i}"](nodes[i])
                    total = term if total is None else total + term
                nodes.append(x * 0.0 if total is None else total)
            return nodes[3]

    class Reduction(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.conv_a = relu_conv_bn(cin, cout, 3, 2)
            self.conv_b = relu_conv_bn(cout, cout, 3, 1)
            self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2, padding=0),
                                            nn.Conv2d(cin, cout, 1, bias=False))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            basic = self.conv_b(self.conv_a(x))
            return self.downsample(x) + basic

    class NB201Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c0 = _scaled(STAGE_CHANNELS[0], channel_scale)
            self.stem = nn.Sequential(nn.Conv2d(in_chans, c0, 3, padding=1, bias=False), nn.BatchNorm2d(c0))
            cells: list[nn.Module] = []
            prev = c0
            for kind, c in cell_layout():
                c = _scaled(c, channel_scale)
                cells.append(Reduction(prev, c) if kind == "reduction" else Cell(c))
                prev = c
            self.cells = nn.Sequential(*cells)
            self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU(inplace=False))
            self.global_pooling = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(prev, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.lastact(self.cells(self.stem(x)))
            return self.classifier(self.global_pooling(x).flatten(1))

    return NB201Net()


# =====================================================================================================
# analytic workload
# =====================================================================================================
def nb201_workload(ops: Sequence[str], input_shape: tuple[int, ...], num_classes: int, name: str, *,
                   pruned: bool = True) -> Any:
    """The :class:`~codesign.workload.Workload` of the network of cell ``ops`` on ``input_shape`` (N, C, H, W);
    ``pruned``: only the edges that run (:func:`live_edges`). Built by :mod:`codesign.space.nb201_workload`
    (the capture rules of this module's docstring, replayed on the model's graph)."""
    from .nb201_workload import nb201_workload as build

    return build(ops, input_shape, num_classes, name, pruned=pruned)
