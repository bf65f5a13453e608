"""The analytic workload of a NAS-Bench-201 network, built fast (a search builds one per new cell).

The layers are those :func:`codesign.workload.from_torch` captures from :func:`codesign.space.nb201_net.build_nb201`
(the rules are in :mod:`codesign.space.nb201_net`'s docstring): in the model's fx graph each node becomes a layer,
is folded (a BN into the conv before it), fused (a ReLU into the layer that produced its input) or vanishes (a
multiply by 0, a flatten). The graph is a chain of blocks - stem, 15 stage cells and 2 reductions, tail - and a
block's nodes see the rest of the graph only through its input node (how many users it has; the MAC kind and the
activation of the layer that produced it) and through the users its output node has in later blocks. So the
capture is run block by block on the block's own nodes (:func:`_run_block`), remembered per (block template,
those boundary values): a network of one cell needs 3 to 5 such runs, not a pass over its ~400 nodes.

A layer is identified by its block, its name inside the block, its role (which constructor and sizes) and its
activation; its :class:`~codesign.workload.Layer` (a prototype validated by the constructor, copied with its name)
and its :meth:`~codesign.workload.Layer.to_row` are made once per input shape and number of classes and shared by
every workload that holds the layer (layers are immutable), so a workload costs a lookup per layer and one
row gather for its array.

The networks are equal, layer for layer and row for row, to the node-by-node builder this replaced
(tests/nb201_reference.py; tests/test_nb201_builder.py compares the two, and checks closed forms on every cell).
About 0.13 ms per new cell, against 2.5 ms node by node.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from .nb201 import CELLS_PER_STAGE, STAGE_CHANNELS

__all__ = ["nb201_workload"]

_CONV_K = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}
# node kinds of the replayed graph
_INPUT, _CONV, _BN, _RELU, _POOL, _ADD, _MUL0, _GPOOL, _FLATTEN, _FC = range(10)
_MAKES_LAYER = frozenset((_CONV, _POOL, _ADD, _GPOOL, _FC))  # always a layer of their own
# one template node: (kind, input refs, name inside the block, role); a ref < 0 is the block's input
_Node = tuple[int, tuple[int, ...], str, str]


def _cell_template(ops: tuple[str, ...], pruned: bool) -> tuple[tuple[_Node, ...], int, int, int]:
    """(nodes, output ref, 3x3-equivalent conv weight count per c**2, BNs) of one stage cell: its graph nodes in
    execution order (as the model runs them), the node that is the cell's output (-1: the cell input itself)."""
    from .nb201_net import incoming

    nodes: list[_Node] = []
    refs = [-1]
    adds = 0
    kk = bns = 0

    def node(kind: int, inputs: tuple[int, ...], name: str = "", role: str = "") -> int:
        nodes.append((kind, inputs, name, role))
        return len(nodes) - 1

    for j in (1, 2, 3):
        total = None
        for i, op in incoming(ops, j, pruned=pruned):
            edge = f"edges.e{j}{i}"
            if op == "skip_connect":
                term = refs[i]
            elif op == "avg_pool_3x3":
                term = node(_POOL, (refs[i],), edge, "pool3")
            else:
                k = _CONV_K[op]
                r = node(_RELU, (refs[i],), f"{edge}.0", "act")
                y = node(_CONV, (r,), f"{edge}.1", f"conv{k}")
                term = node(_BN, (y,), f"{edge}.2", "bn")
                kk += k * k
                bns += 1
            if total is None:
                total = term
            else:  # the cell's adds share one module name: from_torch numbers the repeats #2, #3
                adds += 1
                total = node(_ADD, (total, term), "add" if adds == 1 else f"add#{adds}", "add")
        refs.append(node(_MUL0, (-1,)) if total is None else total)
    return tuple(nodes), refs[3], kk, bns


def _reduction_template() -> tuple[_Node, ...]:
    return ((_RELU, (-1,), "conv_a.0", "act_in"), (_CONV, (0,), "conv_a.1", "conv_a"), (_BN, (1,), "conv_a.2", "bn"),
            (_RELU, (2,), "conv_b.0", "act"), (_CONV, (3,), "conv_b.1", "conv_b"), (_BN, (4,), "conv_b.2", "bn"),
            (_POOL, (-1,), "downsample.0", "down_pool"), (_CONV, (6,), "downsample.1", "down_conv"),
            (_ADD, (7, 5), "add", "add"))


class _Context:
    """The blocks of the skeleton for one input shape and number of classes, and the memory of their layers:
    ``layer(block, name, act)`` -> (the Layer, its row)."""

    def __init__(self, n: int, cin: int, h: int, w: int, num_classes: int) -> None:
        from codesign.workload import Layer

        self.n, self.num_classes = n, num_classes
        # per block: (prefix, kind, channels in, channels, (h, w) in, (h, w) out)
        self.blocks: list[tuple[str, str, int, int, tuple[int, int], tuple[int, int]]] = []
        c0 = STAGE_CHANNELS[0]
        stem = Layer.conv("stem.0", c=cin, k=c0, h=h, w=w, r=3, stride=1, padding=1, n=n)
        self.stem_block = ("", "stem", cin, c0, (h, w), (stem.p, stem.q))
        hw, prev, idx = (stem.p, stem.q), c0, 0
        for s, c in enumerate(STAGE_CHANNELS):
            if s:
                a = Layer.conv("a", c=prev, k=c, h=hw[0], w=hw[1], r=3, stride=2, padding=1, n=n)
                self.blocks.append((f"cells.{idx}.", "reduction", prev, c, hw, (a.p, a.q)))
                hw, idx = (a.p, a.q), idx + 1
            for _ in range(CELLS_PER_STAGE):
                self.blocks.append((f"cells.{idx}.", "cell", c, c, hw, hw))
                idx += 1
            prev = c
        self.tail_block = ("", "tail", prev, prev, hw, hw)
        self._memo: dict[tuple[int, str, str, str], tuple[Any, int]] = {}
        self._rows: list[tuple[int, ...]] = []  # row i: the to_row() of the i-th layer made
        self.macs: list[int] = []  # ... and its macs
        self._table: Any = None  # self._rows as an int64 array, rebuilt when rows were added
        self._lock = threading.Lock()

    def layer(self, block: int, name: str, role: str, act: str) -> tuple[Any, int]:
        """(the layer, the index of its row in :meth:`table`) of ``name`` in ``block`` with activation ``act``."""
        key = (block, name, role, act)
        hit = self._memo.get(key)
        if hit is None:
            b = self.stem_block if block < 0 else self.tail_block if block >= len(self.blocks) else self.blocks[block]
            prefix, _, cin, c, (h, w), (h2, w2) = b
            ctor, dims = _layer_spec(role, cin, c, h, w, h2, w2, self.n, self.num_classes)
            lay = _clone(_proto(ctor, dims), name=prefix + name, act=act)
            with self._lock:  # rows are only appended; a row's index is fixed once given
                hit = self._memo.get(key)
                if hit is None:
                    self._rows.append(lay.to_row())
                    self.macs.append(lay.macs)
                    hit = self._memo[key] = (lay, len(self._rows) - 1)
        return hit

    def table(self) -> Any:
        """Every row made so far, an int64 array (at least as many rows as indices :meth:`layer` has given)."""
        import numpy as np

        tab = self._table
        if tab is None or len(tab) < len(self._rows):
            with self._lock:
                tab = self._table = np.array(self._rows, dtype=np.int64)
        return tab


def _layer_spec(role: str, cin: int, c: int, h: int, w: int, h2: int, w2: int, n: int,
                num_classes: int) -> tuple[str, tuple[tuple[str, int], ...]]:
    """(constructor, sorted keyword sizes) of a role's layer in a block of ``cin -> c`` channels on ``h x w``
    (``h2 x w2`` after a reduction's strided conv)."""
    if role in ("conv1", "conv3"):
        k = int(role[-1])
        d = dict(c=c, k=c, h=h, w=w, r=k, stride=1, padding=k // 2, n=n)
    elif role == "stem":
        d = dict(c=cin, k=c, h=h, w=w, r=3, stride=1, padding=1, n=n)
    elif role == "conv_a":
        d = dict(c=cin, k=c, h=h, w=w, r=3, stride=2, padding=1, n=n)
    elif role == "conv_b":
        d = dict(c=c, k=c, h=h2, w=w2, r=3, stride=1, padding=1, n=n)
    elif role == "down_conv":
        d = dict(c=cin, k=c, h=(h - 2) // 2 + 1, w=(w - 2) // 2 + 1, r=1, stride=1, padding=0, n=n)
    elif role == "down_pool":
        return "pool", tuple(sorted(dict(c=cin, h=h, w=w, r=2, stride=2, n=n).items()))
    elif role == "pool3":
        return "pool", tuple(sorted(dict(c=c, h=h, w=w, r=3, stride=1, padding=1, n=n).items()))
    elif role == "add":
        return "add", tuple(sorted(dict(c=c, h=h2, w=w2, n=n).items()))
    elif role in ("act", "bn", "act_in", "bn_stem", "act_b"):
        kind = "bn" if role.startswith("bn") else "act"
        # act_in: a reduction's first ReLU (on its input, cin channels at h x w); a conv's BN is on its output
        cc, hh, ww = (cin, h, w) if role == "act_in" else (c, h2, w2)
        return kind, tuple(sorted(dict(c=cc, h=hh, w=ww, n=n).items()))
    elif role == "gpool":
        return "global_pool", tuple(sorted(dict(c=c, h=h, w=w, n=n).items()))
    elif role == "fc":
        return "fc", tuple(sorted(dict(in_features=c, out_features=num_classes, n=n).items()))
    else:  # pragma: no cover - the templates name only the roles above
        raise AssertionError(role)
    return "conv", tuple(sorted(d.items()))


@lru_cache(maxsize=4096)
def _proto(ctor: str, dims: tuple[tuple[str, int], ...]) -> Any:
    """A validated layer of constructor ``ctor`` (a :class:`Layer` classmethod, or an elementwise kind) and
    sizes ``dims``, named ``proto``."""
    from codesign.workload import Layer

    if ctor in ("act", "bn"):
        return Layer.elementwise(ctor, "proto", **dict(dims))
    return getattr(Layer, ctor)("proto", **dict(dims))


@lru_cache(maxsize=1)
def _layer_fields() -> tuple[str, ...]:
    import dataclasses

    from codesign.workload import Layer

    return tuple(f.name for f in dataclasses.fields(Layer))


def _clone(layer: Any, **changes: Any) -> Any:
    """A copy of a valid layer with other ``name`` / ``act`` (which keep it valid), without re-validating."""
    out = object.__new__(type(layer))
    for f in _layer_fields():
        object.__setattr__(out, f, changes[f] if f in changes else getattr(layer, f))
    return out


@lru_cache(maxsize=16)
def _context(n: int, cin: int, h: int, w: int, num_classes: int) -> _Context:
    return _Context(n, cin, h, w, num_classes)


class _Template:
    """A block's nodes as flat tuples: kinds, first input (a local index, -1 the block's input, -2 none), users
    of each node inside the block, uses of the block's input, (name, role) per node; and the output node."""

    __slots__ = ("kinds", "first", "users", "input_uses", "where", "out", "n")

    def __init__(self, nodes: tuple[_Node, ...], out: int | None) -> None:
        self.kinds = tuple(k for k, _, _, _ in nodes)
        self.first = tuple(ins[0] if ins else -2 for _, ins, _, _ in nodes)
        users = [0] * len(nodes)
        self.input_uses = 0
        for _, ins, _, _ in nodes:
            for r in ins:
                if r < 0:
                    self.input_uses += 1
                else:
                    users[r] += 1
        self.users = tuple(users)
        self.where = tuple((nm, role) for _, _, nm, role in nodes)
        self.n = len(nodes)
        self.out = len(nodes) - 1 if out is None else out  # -1: the block's input passes through


@lru_cache(maxsize=32768)
def _cell(ops: tuple[str, ...], pruned: bool) -> tuple[_Template, int, int]:
    """(template, 3x3-equivalent conv weights per c**2, BNs) of the stage cell ``ops``."""
    nodes, out, kk, bns = _cell_template(ops, pruned)
    return _Template(nodes, out), kk, bns


_STEM = _Template(((_INPUT, (), "", ""), (_CONV, (0,), "stem.0", "stem"), (_BN, (1,), "stem.1", "bn")), None)
_TAIL = _Template(((_BN, (-1,), "lastact.0", "bn"), (_RELU, (0,), "lastact.1", "act"),
                   (_GPOOL, (1,), "global_pooling", "gpool"), (_FLATTEN, (2,), "", ""),
                   (_FC, (3,), "classifier", "fc")), None)
_REDUCTION = _Template(_reduction_template(), 8)


def nb201_workload(ops: Sequence[str], input_shape: tuple[int, ...], num_classes: int, name: str, *,
                   pruned: bool = True) -> Any:
    """The :class:`~codesign.workload.Workload` of the network of cell ``ops`` on ``input_shape`` (N, C, H, W);
    ``pruned``: only the edges that run (:func:`~codesign.space.nb201_net.live_edges`)."""
    from codesign.workload.table import _workload_with_rows

    n, cin, h, w = (int(v) for v in input_shape)
    ctx = _context(n, cin, h, w, int(num_classes))
    cell, cell_kk, cell_bns = _cell(tuple(ops), bool(pruned))
    last = len(ctx.blocks)
    temps = [_STEM] + [_REDUCTION if kind == "reduction" else cell for _, kind, _, _, _, _ in ctx.blocks] + [_TAIL]
    # users of each block's input node and the uses of each block's output by later blocks
    owner = 0  # the block whose output node is the current input (the stem's at first)
    total = [temps[0].users[temps[0].out]] + [0] * (last + 1)  # users of block i's output node
    own = list(total)  # ... of which inside block i
    inputs_of = [0] * (last + 2)
    for i in range(1, last + 2):
        t = temps[i]
        inputs_of[i] = owner
        total[owner] += t.input_uses
        if t.out >= 0:
            owner = i
            total[i] = own[i] = t.users[t.out]
    # the capture, block by block (each block's part remembered per template and boundary state)
    blocks: list[int] = []
    acts: list[str] = []
    names: list[tuple[str, str]] = []
    p_at, p_state = -1, None  # the current input's producer layer (its global index) and (is_mac, act)
    for i, t in enumerate(temps):
        b = i - 1
        key = (t, total[inputs_of[i]] if i else 0, total[i] - own[i], p_state)
        res = _BLOCKS.get(key)
        if res is None:
            if len(_BLOCKS) >= _BLOCKS_MAX:
                _BLOCKS.clear()
            res = _BLOCKS[key] = _run_block(t, key[1], key[2], p_state)
        where, block_acts, fused, x_act, out_state = res
        if fused:
            acts[p_at] = "relu"
        base = len(acts)
        acts.extend(block_acts)
        names.extend(where)
        blocks.extend([b] * len(where))
        if p_state is not None:
            p_state = (p_state[0], x_act)
        if t.out >= 0:
            if out_state is None:
                p_at, p_state = -1, None
            elif out_state[0] >= 0:
                p_at, p_state = base + out_state[0], out_state[1:]
            # else: the output's producer is the input's (p_at, p_state as updated)
    params = cin * STAGE_CHANNELS[0] * 9 + 2 * STAGE_CHANNELS[0]
    for _, kind, bc_in, bc, _, _ in ctx.blocks:
        if kind == "reduction":
            params += bc_in * bc * 9 + bc * bc * 9 + bc_in * bc + 4 * bc
        else:
            params += cell_kk * bc * bc + 2 * bc * cell_bns
    c_last = ctx.tail_block[3]
    params += 2 * c_last + c_last * ctx.num_classes + ctx.num_classes
    layers: list[Any] = []
    rows: list[int] = []
    layer = ctx.layer
    for b, (nm, role), act in zip(blocks, names, acts):
        lay, row = layer(b, nm, role, act)
        layers.append(lay)
        rows.append(row)
    macs = ctx.macs
    return _workload_with_rows(name, layers, ctx.table()[rows], params=params, source="nb201",
                               macs=sum([macs[i] for i in rows]))


_BLOCKS: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_BLOCKS_MAX = 100_000  # entries of a few hundred bytes


def _run_block(t: _Template, users_x: int, out_ext: int, p_state: tuple[bool, str] | None
               ) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...], bool, str | None, tuple[Any, ...] | None]:
    """from_torch's capture rules (as :mod:`codesign.space.nb201_net` states them) on one block's nodes, given
    what they see of the rest of the graph: ``users_x`` users of the block's input node, ``out_ext`` users of
    its output node in later blocks, ``p_state`` (is a MAC layer, activation) of the layer that produced the
    input, None when none did.

    Returns (the block's layers' (name, role), their activations, whether a ReLU was fused into the input's
    producer, that producer's activation afterwards, the output's producer: None, (-1,) for the input's, or
    (index among the block's layers, is a MAC layer, activation))."""
    users = list(t.users)
    if t.out >= 0:
        users[t.out] += out_ext
    x_mac, x_act = p_state if p_state is not None else (False, None)
    fused = False
    emitted: list[int] = []
    acts: list[str] = []
    is_mac: list[bool] = []
    producer: dict[int, int] = {} if p_state is None else {-1: -1}  # node -> layer; -1: the input's producer
    for nd, kind in enumerate(t.kinds):
        if kind in _MAKES_LAYER:
            producer[nd] = len(emitted)
            emitted.append(nd)
            acts.append("none")
            is_mac.append(kind == _CONV or kind == _FC)
            continue
        xi = t.first[nd]
        p = producer.get(xi)
        one_user = (users_x if xi == -1 else users[xi]) == 1 if xi != -2 else False
        p_act = None if p is None else (x_act if p == -1 else acts[p])
        if kind == _BN:  # folded into a conv / fc whose output feeds nothing else, else a "bn" pass
            p_mac = p is not None and (x_mac if p == -1 else is_mac[p])
            if p is not None and one_user and p_mac and p_act == "none":
                producer[nd] = p
            else:
                producer[nd] = len(emitted)
                emitted.append(nd)
                acts.append("none")
                is_mac.append(False)
        elif kind == _FLATTEN:
            if p is not None and one_user:
                producer[nd] = p
        elif kind == _RELU:  # fused into the layer its input carries, else a stand-alone act pass
            if p is not None and one_user and p_act == "none":
                if p == -1:
                    x_act, fused = "relu", True
                else:
                    acts[p] = "relu"
                producer[nd] = p
            else:
                producer[nd] = len(emitted)
                emitted.append(nd)
                acts.append("relu")
                is_mac.append(False)
    if t.out < 0:
        out_state = None
    else:
        p = producer.get(t.out)
        out_state = None if p is None else (-1,) if p == -1 else (p, is_mac[p], acts[p])
    return tuple(t.where[nd] for nd in emitted), tuple(acts), fused, x_act, out_state
