"""The fast NB201 workload builder (codesign.space.nb201_workload) against the node-by-node builder it replaced
(tests/nb201_reference.py, commit 05c5412) and against hand-counted closed forms of MACs, parameters and convs."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.space import NB201_OPS, NB201Candidate, NB201Space
from codesign.space.nb201_net import live_edges, nb201_workload
from nb201_reference import reference_nb201_workload

ALL_CELLS = list(itertools.product(NB201_OPS, repeat=6))
_K = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


def _same(ops, shape=(1, 3, 32, 32), classes=10, pruned=True):
    new = nb201_workload(ops, shape, classes, "net", pruned=pruned)
    ref = reference_nb201_workload(ops, shape, classes, "net", pruned=pruned)
    assert new == ref  # name, params, source and every layer's every field (name, kind, act, sizes)
    assert (new.macs, new.params, new.ops) == (ref.macs, ref.params, ref.ops)
    assert [(lay.name, lay.kind, lay.act) for lay in new.layers] == \
        [(lay.name, lay.kind, lay.act) for lay in ref.layers]
    arr = new.to_array()  # the rows the cost model reads
    assert not arr.flags.writeable and arr.dtype == np.int64
    assert arr.tolist() == [list(lay.to_row()) for lay in ref.layers]
    return new, ref


@pytest.mark.parametrize("ops", ALL_CELLS[::31] + [("none",) * 6, ("skip_connect",) * 6])
def test_fast_builder_equals_the_node_by_node_builder(ops):
    _same(ops)


@settings(max_examples=150, deadline=None)
@given(ops=st.tuples(*[st.sampled_from(NB201_OPS)] * 6), pruned=st.booleans(),
       shape=st.sampled_from([(1, 3, 32, 32), (1, 3, 16, 16), (2, 3, 32, 32), (1, 1, 17, 23), (1, 3, 9, 9)]),
       classes=st.sampled_from([10, 100, 120, 1]))
def test_fast_builder_equals_the_node_by_node_builder_on_any_input(ops, pruned, shape, classes):
    _same(ops, shape, classes, pruned)


def test_every_cell_by_hand_counted_macs_params_and_convs():
    """Closed forms on all 15,625 cells (CIFAR, 32x32, 10 classes): a live conv edge of kernel k in a stage of c
    channels on an s x s map costs c*c*k*k*s*s MACs in each of the stage's 5 cells; the skeleton (stem 3->16 3x3 on
    32x32, the reductions' 3x3 stride-2 conv, 3x3 conv and 1x1 shortcut, the 64->10 classifier) is fixed."""
    stages = ((16, 32), (32, 16), (64, 8))
    stem = 3 * 16 * 9 * 32 * 32
    red_macs = sum(p * c * 9 * s * s + c * c * 9 * s * s + p * c * s * s for p, c, s in ((16, 32, 16), (32, 64, 8)))
    red_params = sum(p * c * 9 + c * c * 9 + p * c + 4 * c for p, c in ((16, 32), (32, 64)))
    for ops in ALL_CELLS:
        convs = [_K[op] for op, live in zip(ops, live_edges(ops)) if live and op in _K]
        wl = nb201_workload(ops, (1, 3, 32, 32), 10, "net")
        kk = sum(k * k for k in convs)
        assert wl.macs == stem + red_macs + 64 * 10 + 5 * sum(c * c * kk * s * s for c, s in stages), ops
        assert wl.params == 3 * 16 * 9 + 2 * 16 + red_params + 5 * sum(c * c * kk + 2 * c * len(convs)
                                                                        for c, _ in stages) + 2 * 64 + 650, ops
        assert sum(lay.kind == "conv" for lay in wl.layers) == 15 * len(convs) + 7, ops


@pytest.mark.parametrize("hw_name", ["edgetpu", "systolic"])
def test_cost_totals_equal_on_both_builders(hw_name):
    from codesign.cost import evaluate_batch
    from codesign.hardware import preset

    hw = preset(hw_name)
    sp = NB201Space()
    rng = np.random.default_rng(15)
    for cell in [sp.reference, NB201Candidate(("nor_conv_3x3",) * 6)] + [sp.sample(rng) for _ in range(6)]:
        new, ref = _same(cell.ops)
        a = evaluate_batch(new, [hw], totals_only=True)
        b = evaluate_batch(ref, [hw], totals_only=True)
        fields = ("latency_ms", "energy_mj", "cycles") if hw_name == "edgetpu" else ("latency_ms", "cycles")
        for f in fields:
            assert np.array_equal(a.total(f), b.total(f)), (cell, f)


def test_layers_are_shared_between_workloads_and_stay_immutable():
    one = nb201_workload(("nor_conv_3x3",) * 6, (1, 3, 32, 32), 10, "a")
    two = nb201_workload(("nor_conv_3x3",) * 5 + ("none",), (1, 3, 32, 32), 10, "b")
    assert one["stem.0"] is two["stem.0"]
    with pytest.raises(AttributeError):
        one["stem.0"].name = "x"  # frozen: sharing is safe


def test_threads_building_at_once_get_the_serial_workloads():
    from concurrent.futures import ThreadPoolExecutor

    import codesign.space.nb201_workload as fast

    cells = ALL_CELLS[5::97]
    shape = (3, 3, 24, 24)  # a shape no other test builds: its layer memory starts empty here
    fast._context.cache_clear()
    with ThreadPoolExecutor(4) as pool:
        par = list(pool.map(lambda ops: nb201_workload(ops, shape, 7, "net"), cells))
    for ops, wl in zip(cells, par):
        ref = reference_nb201_workload(ops, shape, 7, "net")
        assert wl == ref and wl.to_array().tolist() == [list(lay.to_row()) for lay in ref.layers]
