"""Sweeps: spaces and files, the where-filter, sampling, rows equal to evaluate_batch, Parquet/CSV output,
resume after a real SIGKILL, Pareto fronts, a Dask LocalCluster with 2 workers, and the CLI (exit 2 on bad input)."""
from __future__ import annotations

import inspect
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import codesign
from codesign import sweep as sw
from codesign import sweep_plan
from codesign.cli import app as codesign_app

ROOT = Path(__file__).resolve().parent.parent


def needs_parquet(out_name: str = "") -> None:
    """Parquet output needs pyarrow; CSV output does not."""
    if not out_name.endswith(".csv"):
        pytest.importorskip("pyarrow")


def small_net(name="tiny"):
    L = codesign.Layer
    return codesign.Workload(name, [
        L.conv("c1", c=3, k=16, h=32, w=32, r=3, stride=2, padding=1, act="relu"),
        L.conv("dw", c=16, k=16, h=16, w=16, r=3, padding=1, groups=16),
        L.conv("pw", c=16, k=32, h=16, w=16, r=1),
        L.fc("fc", in_features=32, out_features=10),
    ])


def other_net():
    L = codesign.Layer
    return codesign.Workload("other", [L.conv("a", c=8, k=24, h=20, w=20, r=5, padding=2),
                                       L.conv("b", c=24, k=24, h=20, w=20, r=3, stride=2, padding=1)])


EDGE = {"name": "small-edge", "base": "edgetpu-baseline", "grid": {
    "pe_x": [1, 2, 4], "pe_y": [1, 4], "simd": [16, 64], "lanes": [1, 4], "core_mem_kib": [8, 32],
    "pe_mem_kib": [1024, 2048], "io_bw_gbps": [5, 20]}}         # 192 configurations
SYS = {"name": "small-sys", "base": "systolic", "grid": {
    "rows": [8, 32, 128], "cols": [8, 64], "dataflow": ["os", "ws", "is"], "ifmap_sram_kib": [0.125, 64],
    "dram_bw_words_per_cycle": [4, 16]}}                      # 72; 0.125 KiB cannot hold 2 rows of 128 words


# ------------------------------------------------------------------------------------------------ spaces
def test_builtin_spaces_and_decode_order():
    edge = sw.load_space("edgetpu-space")
    assert edge.size == 50_000 and edge.kind == "edgetpu"
    assert sw.load_space("systolic-space").size == 37_500
    space = sw.load_space(EDGE)
    combos = list(itertools.product(*space.grid.values()))   # C order: the last field varies fastest
    ids = np.array([0, 1, 7, 100, 191])
    dec = space.decode(ids)
    for j, i in enumerate(ids):
        assert tuple(dec[k][j] for k in space.fields) == combos[i]
    hw = space.config(100)
    assert hw == codesign.preset("edgetpu-baseline").replace(name=hw.name, **dict(zip(space.fields, combos[100])))
    with pytest.raises(ValueError, match="config_id 192"):
        space.decode([192])


def test_space_files_yaml_toml_and_errors(tmp_path):
    pytest.importorskip("yaml")
    y = tmp_path / "s.yaml"
    y.write_text("base: edgetpu-baseline\nfixed: {io_bw_gbps: 20}\ngrid:\n  pe_x: [1, 2]\n"
                 "  pe_mem_kib: {start: 512, stop: 2048, step: 512}\n")
    t = tmp_path / "s.toml"
    t.write_text('base = "edgetpu-baseline"\n[fixed]\nio_bw_gbps = 20\n[grid]\npe_x = [1, 2]\n'
                 'pe_mem_kib = [512, 1024, 1536, 2048]\n')
    a, b = sw.load_space(y), sw.load_space(t)
    assert a.name == "s" and a.size == b.size == 8 and a.base.io_bw_gbps == 20.0
    assert a.grid["pe_mem_kib"] == (512, 1024, 1536, 2048) and a.grid == b.grid
    bad = {
        "grid:\n  pe_x: [1]\n": "missing 'base'",
        "base: nope\ngrid: {pe_x: [1]}\n": "unknown hardware preset 'nope'",
        "base: edgetpu\ngrid: {pex: [1, 2]}\n": "unknown edgetpu field 'pex'",
        "base: edgetpu\ngrid: {pe_x: [1, 1]}\n": "pe_x lists the value 1 twice",
        "base: edgetpu\ngrid: {pe_x: [0, 2]}\n": "pe_x=0 is invalid",
        "base: edgetpu\ngrid: {pe_x: []}\n": "pe_x has no values",
        "base: edgetpu\ngrid: {simd: [16, x]}\n": "mixes strings and numbers",
        "base: edgetpu\nfixed: {lanes: -1}\ngrid: {pe_x: [1]}\n": "lanes",
        "base: edgetpu\ngrid: [pe_x]\n": "'grid' must map",
        "base: [edgetpu\n": "s.yaml: not valid YAML: line 2, column 1",
    }
    for text, needle in bad.items():
        y.write_text(text)
        with pytest.raises(ValueError, match=needle.replace("[", r"\[").replace("(", r"\(")):
            sw.load_space(y)
    with pytest.raises(ValueError, match="unknown space 'edgetpu-spce'"):
        sw.load_space("edgetpu-spce")
    with pytest.raises(ValueError, match="not found"):
        sw.load_space(tmp_path / "missing.yaml")


def test_codesign_sweep_is_callable():
    import codesign.sweep as module

    df = module(small_net(), EDGE, sample=3, seed=0)          # the module itself calls sweep()
    assert len(df) == 3 and df.equals(sw.sweep(small_net(), EDGE, sample=3, seed=0))


# ------------------------------------------------------------------------------------------------ where
def test_where_matches_python_semantics():
    space = sw.load_space(SYS)
    ids = np.arange(space.size)
    exprs = {
        "rows * cols <= 1024 and dataflow in ('ws', 'os')":
            lambda h: h.rows * h.cols <= 1024 and h.dataflow in ("ws", "os"),
        "not (rows == 8 or dram_bw_words_per_cycle > 4) and cols // 8 % 2 == 0":
            lambda h: not (h.rows == 8 or h.dram_bw_words_per_cycle > 4) and h.cols // 8 % 2 == 0,
        "8 < rows <= 128 and dataflow != 'is' and -cols < -10 and ofmap_sram_kib == 64":
            lambda h: 8 < h.rows <= 128 and h.dataflow != "is" and -h.cols < -10 and h.ofmap_sram_kib == 64,
        "rows / cols >= 2 or rows ** 2 == 64 and dataflow not in ['os']":
            lambda h: h.rows / h.cols >= 2 or h.rows ** 2 == 64 and h.dataflow not in ["os"],
    }
    for expr, ref in exprs.items():
        keep = sweep_plan._predicate(space, expr)(ids)
        vals = space.decode(ids)
        want = []
        for j in range(space.size):
            h = SimpleNamespace(**space.constants(), **{k: v[j].item() if hasattr(v[j], "item") else v[j]
                                                       for k, v in vals.items()})
            want.append(ref(h))
        assert keep.tolist() == want, expr
        assert sw.plan_size(space, where=expr) == sum(want)


@pytest.mark.parametrize("expr, needle", [
    ("__import__('os').system('true')", "Call is not allowed"),
    ("pe_x.real > 1", "Attribute is not allowed"),
    ("pe_x[0] > 1", "Subscript is not allowed"),
    ("(lambda: 1)() > 0", "not allowed"),
    ("pex > 2", "unknown field 'pex'"),
    ("pe_x + 1", "must be a condition"),
    ("pe_x >", "syntax error at the end .column 7"),  # Python says offset 0 for an expression cut short
    ("pe_x == = 3", "syntax error at column 9"),
    ("pe_x in simd", "'in' needs a list of constants"),
    ("pe_x @ simd > 1", "MatMult is not allowed"),
    ("", "non-empty"),
])
def test_where_rejects_unsafe_or_bad_expressions(expr, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        sw.plan_size("edgetpu-space", where=expr)


def test_where_huge_power_is_refused_not_wrapped():
    for expr in ("pe_x ** 99999999999 >= 0", "9 ** 9 ** 9 > 0"):
        with pytest.raises(ValueError, match="a power has more than 65536 bits"):
            sw.plan_size("edgetpu-space", where=expr)


def test_where_integer_arithmetic_is_exact():
    """pe_x ** 64 wrapped to 0 in int64 (issue 16): the filter kept no configuration."""
    space = sw.load_space("edgetpu-space")
    assert sw.plan_size(space, where="pe_x ** 64 > 1") == sw.plan_size(space, where="pe_x >= 2") > 0
    assert sw.plan_size(space, where="pe_x * 2 ** 62 > 2 ** 62") == sw.plan_size(space, where="pe_x >= 2")
    assert sw.plan_size(space, where="-(pe_x * 2 ** 63) < 0") == space.size
    with pytest.raises(ValueError, match="divides by zero"):
        sw.plan_size(space, where="simd // (pe_x - 1) > 1")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-40, 40), min_size=1, max_size=6), st.integers(-3, 70), st.integers(-5, 5),
       st.sampled_from(["+", "-", "*", "//", "%", "**"]), st.sampled_from(["<", "<=", "==", "!=", ">", ">="]),
       st.integers(-(1 << 70), 1 << 70))
def test_where_matches_python_integers(xs, k, m, op, cmp, c):
    from codesign.where import compile_where

    x = np.array(xs, dtype=np.int64)
    right = f"({k})" if op == "**" else f"(x * {m} + {k})"
    expr = f"x {op} {right} {cmp} {c}"
    want = []
    for v in xs:
        r = k if op == "**" else v * m + k
        if op in ("//", "%") and r == 0:
            with pytest.raises(ValueError, match="divides by zero"):
                compile_where(expr, ["x"])({"x": x}, len(xs))
            return
        if op == "**" and v == 0 and r < 0:  # Python: ZeroDivisionError
            with pytest.raises(ValueError, match="divides by zero"):
                compile_where(expr, ["x"])({"x": x}, len(xs))
            return
        want.append(bool(eval(expr, {}, {"x": v})))  # noqa: S307 - the reference, on plain ints
    assert compile_where(expr, ["x"])({"x": x}, len(xs)).tolist() == want, expr


def test_sample_is_seeded_distinct_and_filtered():
    space = sw.load_space("edgetpu-space")
    expr = "pe_x * pe_y <= 8 and simd >= 64"
    a = sw.make_plan(space, where=expr, sample=300, seed=3)._ids
    b = sw.make_plan(space, where=expr, sample=300, seed=3)._ids
    c = sw.make_plan(space, where=expr, sample=300, seed=4)._ids
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    by_id = sw.make_plan(space, where=expr, sample=300, seed=3, order="id")._ids
    assert len(set(a.tolist())) == 300 and np.all(np.diff(by_id) > 0) and set(by_id.tolist()) == set(a.tolist())
    assert sweep_plan._predicate(space, expr)(a).all()
    n = sw.plan_size(space, where=expr)
    with pytest.raises(ValueError, match=f"--sample {n + 1} exceeds the {n:,} configurations that satisfy --where"):
        sw.make_plan(space, where=expr, sample=n + 1)
    for bad, needle in (({"sample": 0}, "--sample must be"), ({"chunk_size": 0}, "--chunk-size must be"),
                        ({"seed": -1}, "--seed must be"),
                        ({"where": "pe_x > 8"}, "--where 'pe_x > 8' keeps none of the 50,000 configurations")):
        with pytest.raises(ValueError, match=needle):
            sw.make_plan(space, **bad)


# ------------------------------------------------------------------------------------------------ rows
def test_edgetpu_rows_equal_evaluate_batch():
    nets = [small_net(), other_net()]
    space = sw.load_space(EDGE)
    df = sw.sweep(nets, space, where="pe_x * pe_y >= 2", chunk_size=50)
    keep = sweep_plan._predicate(space, "pe_x * pe_y >= 2")(np.arange(space.size))
    ids = sweep_plan.order_ids(space, np.flatnonzero(keep), "pe-pairs")
    assert len(df) == 2 * ids.size and not df.duplicated(["config_id", "network"]).any()
    for wl in nets:
        part = df[df.network == wl.name].reset_index(drop=True)
        assert np.array_equal(part.config_id.to_numpy(), ids)        # plan order, no gap, no duplicate
        hws = [space.config(i) for i in ids]
        res = codesign.evaluate_batch(wl, hws)
        for col in ("latency_ms", "energy_mj", "cycles", "utilization", "dram_bytes", "streamed_params_bytes"):
            assert np.array_equal(part[col].to_numpy(), res.total(col), equal_nan=True), col
        assert np.array_equal(part.ok.to_numpy(), res.ok)
        assert part.area_mm2.tolist() == [h.area_mm2 for h in hws]
        assert np.allclose(part.edp_mj_ms, res.total("energy_mj") * res.total("latency_ms"), equal_nan=True)
        for k in space.fields:
            assert part[k].tolist() == [getattr(h, k) for h in hws]


def test_systolic_rows_equal_evaluate_batch_and_invalid_configs_are_rows():
    wl = small_net()
    space = sw.load_space(SYS)
    df = sw.sweep(wl, space, chunk_size=16)
    assert len(df) == space.size
    bad = df[~df.ok]
    assert len(bad) and bad.reason.str.contains("ifmap_sram_kib=0.125 is too small").all()
    assert bad.latency_ms.isna().all() and bad.area_mm2.isna().all()
    good = df[df.ok]
    hws = [space.config(i) for i in good.config_id]
    res = codesign.evaluate_batch(wl, hws)
    assert np.array_equal(good.latency_ms.to_numpy(), res.total("latency_ms"))
    assert np.array_equal(good.stall_cycles.to_numpy(), res.total("stall_cycles"))
    dram = sum(res.total(f) for f in ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes", "ofmap_dram_reads"))
    assert np.array_equal(good.dram_bytes.to_numpy(), dram)
    # every configuration the class rejects is flagged, every one it accepts is evaluated
    for i, ok in zip(df.config_id, df.ok):
        try:
            space.config(i)
            assert ok
        except ValueError:
            assert not ok


# ------------------------------------------------------------------------------------------------ Pareto
def brute_front(y):
    n = len(y)
    keep = []
    for i in range(n):
        if np.isnan(y[i]).any():
            keep.append(False)
            continue
        dom = any(not np.isnan(y[j]).any() and np.all(y[j] <= y[i]) and np.any(y[j] < y[i]) for j in range(n))
        keep.append(not dom)
    return np.array(keep, dtype=bool)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3).flatmap(lambda m: st.lists(
    st.lists(st.one_of(st.integers(0, 6).map(float), st.just(float("nan"))), min_size=m, max_size=m),
    min_size=1, max_size=700)))
def test_pareto_mask_equals_brute_force(rows):
    y = np.array(rows, dtype=float)
    assert np.array_equal(sw.pareto_mask(y), brute_front(y))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4).map(float), st.one_of(st.integers(0, 4).map(float), st.just(float("nan"))),
                          st.booleans()), min_size=1, max_size=300), st.integers(1, 80))
def test_running_front_fed_in_chunks_equals_brute_force(rows, chunk):
    df = pd.DataFrame({"config_id": range(len(rows)), "network": "n", "a": [r[0] for r in rows],
                       "b": [r[1] for r in rows], "ok": [r[2] for r in rows]})
    front = sw.ParetoFront(("a", "b"))
    for start in range(0, len(df), chunk):   # chunks of any size: rows the front dominates are dropped early
        front.update(df.iloc[start:start + chunk])
    ok = df[df.ok]
    want = sorted(ok.config_id[brute_front(ok[["a", "b"]].to_numpy())]) if len(ok) else []
    got = sorted(front.frame.config_id) if len(front.frame) else []
    assert got == want


def test_sweep_pareto_is_exactly_the_nondominated_rows(tmp_path):
    needs_parquet()
    nets = [small_net(), other_net()]
    space = sw.load_space(EDGE)
    summ = sw.sweep(nets, space, out=tmp_path / "p", chunk_size=40)
    full = sw.read_sweep(tmp_path / "p")
    front = summ.pareto
    assert len(front) and set(front.network) == {"tiny", "other"}
    objs = list(summ.objectives)
    assert objs == ["latency_ms", "energy_mj", "area_mm2"]
    for net in ("tiny", "other"):
        part = full[(full.network == net) & full.ok]
        y = part[objs].to_numpy()
        want = set(part.config_id[brute_front(y)])
        got = front[front.network == net]
        assert set(got.config_id) == want                       # non-dominated rows, and only those
        for row in got[objs].to_numpy():                         # none dominated by any row of the sweep
            assert not (np.all(y <= row, axis=1) & np.any(y < row, axis=1)).any()
    on_disk = pd.read_csv(summ.pareto_path)
    assert on_disk.config_id.tolist() == front.config_id.tolist()
    assert sw.pareto_front(full).config_id.tolist() == front.config_id.tolist()


# ------------------------------------------------------------------------------------------------ output + resume
@pytest.mark.parametrize("name", ["out_dir", "out.csv"])
def test_output_files_equal_in_memory_and_guard_existing(tmp_path, name):
    needs_parquet(name)
    space = sw.load_space(EDGE)
    ref = sw.sweep(small_net(), space, sample=100, seed=1, chunk_size=30)
    out = tmp_path / name
    summ = sw.sweep(small_net(), space, sample=100, seed=1, chunk_size=30, out=out)
    assert (summ.format, summ.rows, summ.chunks, summ.chunks_computed) == (
        "csv" if name.endswith(".csv") else "parquet", 100, 4, 4)
    pd.testing.assert_frame_equal(sw.read_sweep(out), ref, check_dtype=False)
    if name == "out_dir":
        by_id = ref.sort_values("config_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(pd.read_parquet(out).sort_values("config_id").reset_index(drop=True), by_id,
                                      check_dtype=False)
    with pytest.raises(ValueError, match="already holds a sweep: --resume to continue it, --overwrite"):
        sw.sweep(small_net(), space, sample=100, seed=1, chunk_size=30, out=out)
    with pytest.raises(ValueError, match=r"another specification \(sample: 101 here, 100"):
        sw.sweep(small_net(), space, sample=101, seed=1, chunk_size=30, out=out, resume=True)
    with pytest.raises(ValueError, match="another specification"):
        sw.sweep(other_net(), space, sample=100, seed=1, chunk_size=30, out=out, resume=True)
    again = sw.sweep(small_net(), space, sample=100, seed=1, chunk_size=30, out=out, resume=True)
    assert (again.chunks_computed, again.chunks_skipped) == (0, 4)
    again = sw.sweep(small_net(), space, sample=100, seed=1, chunk_size=30, out=out, overwrite=True)
    assert again.chunks_computed == 4
    pd.testing.assert_frame_equal(sw.read_sweep(out), ref, check_dtype=False)


def kill_script() -> str:
    """A sweep script that imports codesign only (fast to start), slowed down to 0.15 s per chunk."""
    return "\n".join(["import sys, time", "import codesign", "from codesign import sweep as sw",
                      inspect.getsource(small_net), inspect.getsource(other_net), f"EDGE = {EDGE!r}",
                      "sw.sweep([small_net(), other_net()], EDGE, out=sys.argv[1], chunk_size=8,",
                      "         on_chunk=lambda k, n: time.sleep(0.15))", ""])


def _chunks_done(out: Path) -> int:
    if out.suffix == ".csv":
        j = out.with_name(out.name + ".sweep.json")
        return json.loads(j.read_text())["chunks_done"] if j.exists() else 0
    return len(list(out.glob("part-*.parquet")))


@pytest.mark.parametrize("name", ["killed", "killed.csv"])
def test_resume_after_sigkill_equals_uninterrupted(tmp_path, name):
    needs_parquet(name)
    out = tmp_path / name
    script = tmp_path / "run.py"
    script.write_text(kill_script())
    proc = subprocess.Popen([sys.executable, str(script), str(out)], cwd=tmp_path)
    try:
        deadline = time.time() + 60
        while _chunks_done(out) < 3 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    done_before = _chunks_done(out)
    assert 3 <= done_before < 24                                  # 192 configurations / 8 = 24 chunks
    if out.suffix == ".csv":                                       # as if killed half-way through appending
        with open(out, "a") as f:
            f.write("999,tiny,1,1,16,1,8")
    else:                                                          # as if killed half-way through a write
        (out / ".part-000023.parquet.tmp").write_bytes(b"PAR1 half a file")
    seen = []
    summ = sw.sweep([small_net(), other_net()], EDGE, out=out, chunk_size=8, resume=True,
                    on_chunk=lambda k, n: seen.append(k))
    assert summ.chunks_skipped == done_before and summ.chunks_computed == 24 - done_before
    assert seen == list(range(done_before, 24))                    # nothing recomputed
    got = sw.read_sweep(out)
    ref = sw.sweep([small_net(), other_net()], EDGE, chunk_size=8)
    assert not got.duplicated(["config_id", "network"]).any()
    pd.testing.assert_frame_equal(got, ref, check_dtype=False)
    full = sw.sweep([small_net(), other_net()], EDGE, out=tmp_path / ("ref" + out.suffix), chunk_size=8)
    pd.testing.assert_frame_equal(summ.pareto, full.pareto)


# ------------------------------------------------------------------------------------------------ Dask
def test_dask_two_workers_identical(tmp_path):
    """--workers 2 (a LocalCluster of 2 processes) and --scheduler tcp://... (a cluster of 2 workers started here)
    give exactly the single-process rows, in the same order."""
    distributed = pytest.importorskip("dask.distributed")
    nets = [small_net(), other_net()]
    ref = sw.sweep(nets, EDGE, where="lanes * simd >= 64", chunk_size=20)
    summ = sw.sweep(nets, EDGE, where="lanes * simd >= 64", chunk_size=20, workers=2, out=tmp_path / "d.csv")
    pd.testing.assert_frame_equal(sw.read_sweep(tmp_path / "d.csv"), ref, check_dtype=False)
    assert summ.chunks_computed == summ.chunks and len(summ.pareto)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=":0") as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        got = sw.sweep(nets, EDGE, where="lanes * simd >= 64", chunk_size=20, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(got, ref)


# ------------------------------------------------------------------------------------------------ CLI
def run(*args):
    return CliRunner().invoke(codesign_app, [str(a) for a in args])


def test_cli_sweep_writes_results_and_prints_pareto(tmp_path):
    topo = ROOT / "tests" / "data" / "scalesim" / "topologies" / "mobilenet_conv24_conv26.csv"
    space = tmp_path / "s.json"
    space.write_text(json.dumps(EDGE))
    out = tmp_path / "r.csv"
    r = run("sweep", "-n", topo, "--space", space, "--where", "pe_x >= 2", "--sample", 40, "--seed", 2,
            "--out", out, "--chunk-size", 16, "--no-progress")
    assert r.exit_code == 0, r.output
    assert "40 configurations x 1 network(s) = 40 rows in 3 chunks" in r.stdout
    assert "Pareto-optimal configurations" in r.stdout
    df = sw.read_sweep(out)
    assert len(df) == 40 and (df.pe_x >= 2).all()
    front = pd.read_csv(tmp_path / "r.pareto.csv")
    assert set(front.config_id) <= set(df.config_id) and str(front.config_id.iloc[0]) in r.stdout
    r = run("sweep", "-n", topo, "--space", space, "--where", "pe_x >= 2", "--sample", 40, "--seed", 2,
            "--out", out, "--chunk-size", 16, "--no-progress", "--resume")
    assert r.exit_code == 0 and "(0 computed, 3 resumed)" in r.stdout


@pytest.mark.parametrize("args, needle", [
    (("--space", "nope"), "unknown space 'nope'"),
    (("--where", "__import__('os')"), "Call is not allowed"),
    (("--where", "pe_q > 1"), "unknown field 'pe_q'"),
    (("--sample", "0"), "--sample must be an int >= 1"),
    (("--sample", "60000"), "--sample 60000 exceeds the 50,000"),
    (("--chunk-size", "0"), "--chunk-size must be"),
    (("--workers", "2", "--scheduler", "tcp://x:1"), "not both"),
    (("--scheduler", "localhost"), "--scheduler must be an address"),
    (("--metric", "speed"), "metric must be one of"),
    (("--objectives", "latency_ms,joules"), "unknown metric 'joules'"),
    (("--format", "xlsx"), "--format must be parquet or csv"),
    (("--network", "missing.csv"), "--network 'missing.csv': no such file"),
])
def test_cli_sweep_bad_input_exit_2(tmp_path, args, needle):
    topo = ROOT / "tests" / "data" / "scalesim" / "topologies" / "mobilenet_conv24_conv26.csv"
    base = ["sweep", "--out", tmp_path / "o", "--no-progress"]
    if "--network" not in args:
        base += ["-n", topo]
    r = run(*base, *args)
    assert r.exit_code == 2, r.output
    assert needle in " ".join(r.output.split())


def test_sweep_of_an_analytic_timm_model_imports_no_torch():
    # MobileNetV2 is built from its block strings (codesign.workload.timm_analytic): a sweep needs neither torch nor
    # timm, nor their 800 MB (the sweep used to import timm before asking the workload cache).
    import subprocess
    import sys
    code = ("import sys, codesign.sweep as s; df = s.sweep('mobilenetv2_100', sample=8, seed=0); "
            "print(len(df), 'torch' in sys.modules, 'timm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["False", "False"], out.stdout


@pytest.mark.parametrize("expr, needle", [("pe_x > 'a'", "cannot compare a number with text"),
                                          ("(pe_x - 9) ** 0.5 > 0", "a negative number to a fractional power")])
def test_where_type_and_domain_errors_are_one_line(expr, needle):
    space = sw.load_space("edgetpu-space")
    with pytest.raises(ValueError, match=re.escape(needle)):
        sweep_plan._predicate(space, expr)(np.arange(100))
