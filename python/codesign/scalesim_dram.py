"""SCALE-Sim v3's DRAM read counts for the ifmap and filter operands, in closed form.

Source: the read buffers of pip ``scalesim==3.0.0`` (SCALE-Sim v3), read from its installed wheel:
``scalesim/memory/read_buffer.py`` (USER interface bandwidth), ``scalesim/memory/read_buffer_estimate_bw.py``
(CALC), and the prefetch / demand matrices of ``scalesim/compute/systolic_compute_{os,ws,is}.py``. The formulas and
wording below are ours; shared/reference/scalesim/MODEL.md s.6 describes the same buffers.

Notation (per operand, words = 1 byte): ``W`` SRAM words, ``A = ceil(W/2)`` active half, ``F = W - A`` prefetch
half, ``bw`` its bank bandwidth (USER), ``n`` non-null entries of the operand matrix (im2col entries whose tap lies
inside the ifmap; ``K*N`` for the filter), ``seq`` the length of its fold-padded prefetch sequence, and ``passes``
how many times the demand stream walks the operand (below).

USER mode. SCALE-Sim cuts the prefetch sequence's non-null entries into ``S = floor(n/eps) + 1`` sets of
``eps = ceil(W/100)`` entries (the last one partial or empty); ``a = min(ceil(A/eps), S)`` consecutive sets
(cyclically) are resident. A demanded address found in no resident set moves the window on by
``p = min(ceil(F/eps), S - a)`` sets, as often as needed, and each move fetches ``ceil(F/bw)`` lines of ``bw``
words; the first fill fetches ``min(ceil(A/bw), ceil(seq/bw))`` lines. So::

    dram_reads = bw * (min(ceil(A/bw), ceil(seq/bw)) + k * ceil(F/bw))

with ``k`` the number of window moves. If every non-null set is resident (``ceil(n/eps) <= ceil(A/eps)``) then
``k = 0``. Otherwise, when each pass demands the entries in prefetch order (below) and no address repeats, the
set index only walks forward: unwrap the ring so that pass ``q`` set ``t`` sits at ``x = q*S + t``; the window
is ``[E - a, E)`` with ``E = a`` at the start, every move adds ``p`` to ``E``, and a move happens exactly when
the walk reaches ``E`` (``p <= a``, so one move re-covers the set just entered). The walk ends at
``x_max = (passes - 1)*S + floor((n - 1)/eps)``, hence::

    k = ceil((x_max + 1 - a) / p)

(the unwrapped and cyclic windows agree because ``S - a >= 2`` whenever not everything is resident).

CALC mode. Demanded addresses not yet seen in the current epoch are added, ``floor(W/100)`` to a set; when the
50th set of the epoch is full all are counted as read and the epoch starts empty. So DRAM reads = additions:
``u`` (the distinct words) while ``u < 50*floor(W/100)``, the first epoch then never filling. Without repeated
addresses inside a pass, and with every pass the same sequence of ``n`` distinct addresses, any
``n`` consecutive demands are distinct: if ``n >= 50*floor(W/100)`` every demand is an addition
(``passes * n``), else only the first pass adds (``n``).

Demand streams (``rf``/``cf`` row/column folds; column fold outer, row fold inner):

* os ifmap: ``cf`` passes of the whole ifmap; in prefetch order iff ``rf == 1`` (else the prefetch reads
  anti-diagonals across row-fold boundaries, the demand finishes one fold before the next).
* os filter: each column fold's block repeated ``rf`` times; ``rf`` passes in prefetch order iff ``cf == 1``.
  CALC also exact when every block holds ``>= 50*floor(W/100)`` words (then every demand is an addition).
* ws ifmap, is filter: ``cf`` passes; in prefetch order iff ``rf == 1`` (``K <= rows``).
* ws filter, is ifmap: one pass, each row-fold block read with its rows reversed; in prefetch order iff ``K == 1``.

Outside these regimes (the USER window then depends on where set boundaries fall inside a fold's reordered
block, or repeated im2col addresses can hit older sets) the figure is not comparable: :func:`operand_dram_reads`
returns ``None`` and a reason instead of a wrong number.
"""
from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["DramReads", "operand_dram_reads", "ifmap_entries"]

_CALC_SETS = 50  # read_buffer_estimate_bw.py: active sets per epoch (active_buf_frac 0.5 of 100 sets)


class DramReads(NamedTuple):
    """One operand's SCALE-Sim DRAM read count (words), or None with the reason it is not comparable."""

    reads: int | None
    fits: bool  # every non-null entry (USER) / distinct word (CALC) resident in the active half
    reason: str  # "" when ``reads`` is exact


def _valid_taps(out: int, taps: int, stride: int, size: int) -> int:
    """Filter taps over ``out`` output positions that land inside an ifmap side of ``size`` (no padding)."""
    return sum(min(taps, size - e * stride) for e in range(out) if e * stride < size)


def ifmap_entries(layer) -> tuple[int, bool]:
    """(non-null im2col ifmap entries of one group, whether no ifmap address repeats) as SCALE-Sim builds them."""
    if layer.kind == "gemm":
        return layer.gemm_m * layer.gemm_k, True
    ch = layer.gemm_k // (layer.r * layer.s)
    n = _valid_taps(layer.p, layer.r, layer.stride_h, layer.h) * _valid_taps(layer.q, layer.s, layer.stride_w,
                                                                              layer.w) * ch
    dup_free = (layer.p == 1 or layer.stride_h >= layer.r) and (layer.q == 1 or layer.stride_w >= layer.s)
    return n, dup_free


def _streams(dataflow: str, gemm: tuple[int, int, int], rows: int, cols: int):
    """Per operand: (passes, demand in prefetch order, smallest block of a block-repeat stream or None)."""
    m, n, k = gemm
    sr, sc = {"os": (m, n), "ws": (k, n), "is": (k, m)}[dataflow]
    rf, cf = math.ceil(sr / rows), math.ceil(sc / cols)
    if dataflow == "os":
        last_cols = n - (cf - 1) * cols
        return {"ifmap": (cf, rf == 1, None), "filter": (rf, cf == 1, k * min(cols, last_cols))}
    if dataflow == "ws":
        return {"ifmap": (cf, rf == 1, None), "filter": (1, k == 1, None)}
    return {"ifmap": (1, k == 1, None), "filter": (cf, rf == 1, None)}


def operand_dram_reads(operand: str, dataflow: str, gemm: tuple[int, int, int], rows: int, cols: int, *,
                       interface: str, words: int, bw: int, seq: int, entries: int, distinct: int,
                       dup_free: bool) -> DramReads:
    """SCALE-Sim 3.0.0's DRAM reads of one operand of one (single-group) layer.

    Args:
        operand: ``"ifmap"`` or ``"filter"``.
        dataflow: ``"os"``, ``"ws"`` or ``"is"``.
        gemm: ``(M, N, K)`` = (output pixels P*Q, filters, R*S*C).
        rows, cols: PE array rows and columns.
        interface: ``"USER"`` or ``"CALC"``.
        words: the operand's SRAM size in words.
        bw: its DRAM bandwidth in words/cycle (USER: the bank bandwidth; unused in CALC).
        seq: length of its fold-padded prefetch sequence (nulls included; USER only).
        entries: non-null entries of its operand matrix (see :func:`ifmap_entries`).
        distinct: distinct addresses of its operand matrix (CALC only).
        dup_free: no address occurs twice in the operand matrix (always true for the filter).

    Returns:
        :class:`DramReads`; ``reads`` is None (with ``reason``) outside the regimes in the module docstring.
    """
    passes, in_order, min_block = _streams(dataflow, gemm, rows, cols)[operand]
    if interface == "CALC":
        window = _CALC_SETS * (words // 100)
        if distinct < window:  # the first epoch never fills: each distinct word is read once
            return DramReads(distinct, True, "")
        if not dup_free:
            return DramReads(None, False, "CALC: repeated im2col addresses make epoch ends depend on demand order")
        block_repeats = dataflow == "os" and operand == "filter" and not in_order and passes > 1
        if not block_repeats or min_block >= window:
            return DramReads(passes * entries, False, "")  # any `window` consecutive demands are distinct
        return DramReads(None, False, "CALC: column-fold filter blocks smaller than an epoch are re-read "
                                      "depending on where epochs end inside a block")
    eps = math.ceil(words / 100)
    active, prefetch = math.ceil(words / 2), words - math.ceil(words / 2)
    first = min(math.ceil(active / bw), math.ceil(seq / bw))
    if math.ceil(entries / eps) <= math.ceil(active / eps):
        return DramReads(bw * first, True, "")
    if not dup_free:
        return DramReads(None, False, "USER: repeated im2col addresses can hit older resident sets")
    if not in_order:
        return DramReads(None, False, "USER: demand leaves prefetch order inside folds (skew across row folds or "
                                      "reversed row blocks); window moves then depend on set boundaries")
    sets = entries // eps + 1
    a = min(math.ceil(active / eps), sets)
    p = min(math.ceil(prefetch / eps), sets - a)
    x_max = (passes - 1) * sets + (entries - 1) // eps
    moves = math.ceil((x_max + 1 - a) / p)
    return DramReads(bw * (first + moves * math.ceil(prefetch / bw)), False, "")

