"""The mapper's layer memo (issue 15) is exact: a batch with it gives every output column bit for bit as the same
batch mapped layer by layer without it, on a sample of the published 50,000-configuration space x three networks x
three metrics, and whatever the thread count. Its key (cpp/src/mapper/layer_memo.hpp) leaves out the I/O bandwidth
only for layers that move no DRAM bytes: configurations that differ in io_bw_gbps alone share those layers."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest

from codesign import _core, from_scalesim_csv
from codesign.cost import _layers_array
from codesign.sweep import load_space

TOPO = Path(__file__).parent / "data" / "scalesim" / "topologies"
NETWORKS = ["mobilenet.csv", "Resnet50.csv", "alexnet_conv5.csv"]


def _sample_configs(n: int, seed: int = 3):
    space = load_space("edgetpu-space")
    grid = space.grid
    rng = np.random.default_rng(seed)
    keys = list(grid)
    rows = []
    for _ in range(n // 5):  # groups of five that differ in io_bw_gbps alone, as the space's last axis does
        pick = {k: grid[k][rng.integers(len(grid[k]))] for k in keys if k != "io_bw_gbps"}
        rows += [space.base.replace(**pick, io_bw_gbps=bw) for bw in grid["io_bw_gbps"]]
    return rows


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("network", NETWORKS)
def test_memo_is_exact(network):
    hws = _sample_configs(60)
    archs = np.asarray([h.to_row() for h in hws])
    energy = np.asarray([hws[0].energy_row()])
    layers, _ = _layers_array(from_scalesim_csv(TOPO / network))
    for metric, threads in itertools.product((0, 1, 2), (1, 2)):
        with_memo = _core.edgetpu_batch(layers, archs, energy, metric, 0, 0, 0, threads, None, False, True)
        without = _core.edgetpu_batch(layers, archs, energy, metric, 0, 0, 0, 1, None, False, False)
        assert _digest(*with_memo) == _digest(*without), (network, metric, threads)


def test_memo_key_leaves_out_io_bandwidth_only_where_no_dram_bytes_move():
    # Two configurations that differ only in io_bw_gbps: layers with DRAM traffic change, the others are equal
    hws = _sample_configs(5)[:2]
    archs = np.asarray([h.to_row() for h in hws])
    energy = np.asarray([hws[0].energy_row()])
    layers, _ = _layers_array(from_scalesim_csv(TOPO / "Resnet50.csv"))
    _, values, _ = _core.edgetpu_batch(layers, archs, energy, 0, 0, 0, 0, 1, None, False, True)
    names = list(_core.EDGETPU_OUT_FIELDS)
    dram = values[:, :, [names.index(f) for f in ("dram_w_bytes", "dram_i_bytes", "dram_o_bytes")]].sum(axis=2)
    quiet = dram[0] == 0
    assert quiet.any() and (~quiet).any()
    np.testing.assert_array_equal(values[0, quiet], values[1, quiet])
    io = names.index("io_cycles")
    assert (values[0, ~quiet, io] != values[1, ~quiet, io]).all()


def _golden_module():
    import importlib.util
    path = Path(__file__).parent / "data" / "mapper_golden" / "make_digests.py"
    spec = importlib.util.spec_from_file_location("make_digests", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("threads, memo", [(1, True), (2, True), (1, False)])
def test_mapper_reproduces_the_pre_rework_mapper(threads, memo):
    # Digests written by the mapper of commit aa073fa (tests/data/mapper_golden/make_digests.py): the best-first
    # compact search, scoring without full records, the mirror rule and the memo across chunks change no output
    # column on grids with pe_x <= pe_y, nor cycles or energy on their transposes, for three networks and three
    # metrics.
    import json
    mod = _golden_module()
    want = json.loads((Path(mod.__file__).parent / "edgetpu_digests.json").read_text())
    got = mod.digests(threads=threads, memo=memo)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key]["status"] == want[key]["status"], key
        bad = [n for n, a, b in zip(_core.EDGETPU_OUT_FIELDS, got[key]["values"], want[key]["values"]) if a != b]
        assert not bad, (key, bad)
        bad = [n for n, a, b in zip(_core.EDGETPU_TOTAL_FIELDS, got[key]["totals"], want[key]["totals"]) if a != b]
        assert not bad, (key, bad)
        assert got[key]["transposed"] == want[key]["transposed"], key  # cycles and energy on transposed grids


def test_a_grid_and_its_transpose_get_mirrored_mappings():
    # pe_x > pe_y is mapped as its transpose and mirrored back: every per-layer column equal once map_pe_x and
    # map_pe_y are swapped (mappings_evaluated included: it is the transposed grid's search)
    hws = [h for h in _sample_configs(40, seed=9) if h.pe_x != h.pe_y]
    archs = np.asarray([h.to_row() for h in hws] + [h.replace(pe_x=h.pe_y, pe_y=h.pe_x).to_row() for h in hws])
    energy = np.asarray([hws[0].energy_row()])
    names = list(_core.EDGETPU_OUT_FIELDS)
    px, py = names.index("map_pe_x"), names.index("map_pe_y")
    for network in NETWORKS:
        layers, _ = _layers_array(from_scalesim_csv(TOPO / network))
        for metric in (0, 1, 2):
            st, v, tot = _core.edgetpu_batch(layers, archs, energy, metric, 0, 0, 0, 2, None, False, True)
            a, b = v[:len(hws)], v[len(hws):].copy()
            b[:, :, [px, py]] = b[:, :, [py, px]]
            assert np.array_equal(st[:len(hws)], st[len(hws):])
            assert np.array_equal(a, b), (network, metric)
            assert np.array_equal(tot[:len(hws)], tot[len(hws):]), (network, metric)


def test_totals_only_equals_the_full_batch():
    hws = _sample_configs(30, seed=5)
    hws += [h.replace(pe_x=h.pe_y, pe_y=h.pe_x) for h in hws]
    archs = np.asarray([h.to_row() for h in hws])
    energy = np.asarray([hws[0].energy_row()])
    layers, _ = _layers_array(from_scalesim_csv(TOPO / "mobilenet.csv"))
    st, values, tot = _core.edgetpu_batch(layers, archs, energy, 0, 0, 0, 0, 2, None, False, True)
    st2, none, tot2 = _core.edgetpu_batch(layers, archs, energy, 0, 0, 0, 0, 2, None, False, True, True)
    assert none is None
    assert np.array_equal(st, st2) and np.array_equal(tot, tot2)
    # and the totals are the per-layer sums (cycles also hold the per-inference cost)
    assert np.allclose(tot[:, 2], values[:, :, 17].sum(axis=1), rtol=1e-12)
