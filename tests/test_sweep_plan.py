"""Sweep plan orders (codesign.sweep_plan): the "pe-pairs" order visits every id once, puts a grid beside its
transpose, is the same streamed and sorted, and changes no result; a journal written before orders existed
resumes in id order."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign import Layer, Workload
from codesign import sweep as sw
from codesign import sweep_plan
from codesign.hardware import preset

PE = (1, 2, 3, 4, 6, 8)


def small_space(pe_x, pe_y, first: bool):
    grid = {"pe_x": tuple(pe_x), "simd": (32, 64), "pe_y": tuple(pe_y), "io_bw_gbps": (5.0, 10.0, 20.0)}
    if first:  # the pe fields leading or apart: strides differ
        grid = {"pe_y": tuple(pe_y), "pe_x": tuple(pe_x), "simd": (32, 64), "io_bw_gbps": (5.0, 10.0, 20.0)}
    return sw.SweepSpace("small", preset("edgetpu-baseline"), grid)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(PE), min_size=1, max_size=4, unique=True),
       st.lists(st.sampled_from(PE), min_size=1, max_size=4, unique=True), st.booleans(),
       st.integers(1, 64))
def test_pe_pairs_is_a_permutation_with_mirrors_adjacent(pe_x, pe_y, first, block):
    space = small_space(pe_x, pe_y, first)
    old = sweep_plan._BLOCK
    sweep_plan._BLOCK = block  # small blocks: a pair's ids cut across blocks
    try:
        streamed = np.concatenate(list(sweep_plan._ordered_blocks(space, "pe-pairs", None)))
    finally:
        sweep_plan._BLOCK = old
    assert sorted(streamed.tolist()) == list(range(space.size))
    assert np.array_equal(streamed, sweep_plan.order_ids(space, np.arange(space.size), "pe-pairs"))
    v = space.decode(streamed)
    lo, hi = np.minimum(v["pe_x"], v["pe_y"]), np.maximum(v["pe_x"], v["pe_y"])
    key = list(zip(lo.tolist(), hi.tolist()))
    assert key == sorted(key)  # pairs ascending
    # the other fields equal, a grid's transpose right after it
    for i in np.flatnonzero((v["pe_x"] > v["pe_y"]) & np.isin(v["pe_y"], pe_x) & np.isin(v["pe_x"], pe_y)):
        assert v["pe_x"][i - 1] == v["pe_y"][i] and v["pe_y"][i - 1] == v["pe_x"][i]
        assert v["simd"][i - 1] == v["simd"][i] and v["io_bw_gbps"][i - 1] == v["io_bw_gbps"][i]


def test_default_order_and_refusals():
    assert sweep_plan.default_order(sw.load_space("edgetpu-space")) == "pe-pairs"
    assert sweep_plan.default_order(sw.load_space("systolic-space")) == "id"
    one = sw.SweepSpace("one", preset("edgetpu-baseline"), {"pe_x": (1, 2)})
    assert sweep_plan.default_order(one) == "id"
    with pytest.raises(ValueError, match="plan order must be id for space 'one', got 'pe-pairs'"):
        sweep_plan.make_plan(one, order="pe-pairs")
    with pytest.raises(ValueError, match="plan order must be id or pe-pairs for space 'edgetpu-space', got 'x'"):
        sweep_plan.make_plan(sw.load_space("edgetpu-space"), order="x")


def test_chunks_hold_the_filtered_ids_in_order():
    space = sw.load_space("edgetpu-space")
    where = "pe_x * pe_y <= 8 and lanes >= 2"
    plan = sweep_plan.make_plan(space, where=where, chunk_size=700)
    got = np.concatenate([ids for _, ids in plan.chunks()])
    keep = sweep_plan._predicate(space, where)(np.arange(space.size))
    assert plan.total == got.size == int(keep.sum())
    assert np.array_equal(got, sweep_plan.order_ids(space, np.flatnonzero(keep), "pe-pairs"))


def net():
    return Workload("n", [Layer.conv("c", c=16, k=32, h=14, w=14, r=3, padding=1),
                          Layer.fc("f", in_features=64, out_features=10)])


def test_order_changes_no_result_and_old_journals_resume_in_id_order(tmp_path):
    space = sw.SweepSpace("tiny", preset("edgetpu-baseline"),
                          {"pe_x": (1, 2, 4), "pe_y": (1, 2, 4), "lanes": (1, 4), "io_bw_gbps": (5.0, 20.0)})
    ref = sw.sweep(net(), space).sort_values("config_id").reset_index(drop=True)
    assert ref["config_id"].tolist() == list(range(space.size))
    # by id, straight from evaluate_chunk
    by_id = sw.evaluate_chunk(space, [net()], np.arange(space.size))
    assert ref.equals(by_id)
    # a new sweep records its order, and its chunks follow it
    out = tmp_path / "sweep"
    sw.sweep(net(), space, out=out, chunk_size=10)
    assert json.loads((out / "_sweep.json").read_text())["order"] == "pe-pairs"
    rows = sw.read_sweep(out)
    assert rows["config_id"].tolist() == sweep_plan.order_ids(space, np.arange(space.size), "pe-pairs").tolist()
    assert rows.sort_values("config_id").reset_index(drop=True).equals(ref)


def test_a_journal_from_before_plan_orders_resumes_in_id_order(tmp_path, monkeypatch):
    space = sw.SweepSpace("tiny", preset("edgetpu-baseline"), {"pe_x": (1, 2, 4), "pe_y": (1, 2, 4), "lanes": (1, 4)})
    ref = sw.evaluate_chunk(space, [net()], np.arange(space.size))
    for name in ("sweep", "sweep.csv"):
        out = tmp_path / name

        def stop(k, n):
            if k == 1:
                raise KeyboardInterrupt

        with monkeypatch.context() as m:  # the sweep as written before orders existed: id order, no "order" key
            m.setattr(sweep_plan, "default_order", lambda space: "id")
            with pytest.raises(KeyboardInterrupt):
                sw.sweep(net(), space, out=out, chunk_size=5, on_chunk=stop)
        journal = out / "_sweep.json" if out.is_dir() else tmp_path / f"{name}.sweep.json"
        doc = json.loads(journal.read_text())
        spec = doc if out.is_dir() else doc["manifest"]
        assert spec.pop("order") == "id"
        journal.write_text(json.dumps(doc))
        summary = sw.sweep(net(), space, out=out, chunk_size=5, resume=True)
        assert summary.chunks_skipped == 2
        got = sw.read_sweep(out)
        assert got["config_id"].tolist() == list(range(space.size))
        for col in ("latency_ms", "energy_mj", "ok"):
            assert got[col].tolist() == ref[col].tolist()
