"""Hardening (issue 7): thread safety, limits (memory, mapper time, Ctrl-C), malformed SCALE-Sim files.

* Several Python threads calling the batch entry points at once get exactly the serial results; the GIL is
  released while the C++ core works (another Python thread keeps running).
* A batch whose results cannot fit in memory is refused up front (MemoryError naming the sizes) instead of
  being killed by the kernel; the mapper's time per layer is bounded even on the largest layers the model
  accepts; Ctrl-C (SIGINT) stops a long batch within about a second (the core works in chunks and checks for
  signals between them).
* Malformed SCALE-Sim topology CSVs and .cfg files are answered with a ValueError naming the file and line.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import codesign
from codesign import EdgeTpuConfig, Layer, MapperOptions, SystolicArray, Workload, evaluate, evaluate_batch
from codesign.hardware import read_scalesim_cfg
from codesign.workload import MAX_DIM, from_scalesim_csv

DATA = Path(__file__).parent / "data" / "scalesim"


def _workload() -> Workload:
    return Workload("w", [
        Layer.conv("c1", c=3, k=32, h=56, w=56, r=3, stride=2, padding=1, act="relu6"),
        Layer.conv("dw", c=32, k=32, h=28, w=28, r=3, padding=1, groups=32, act="hswish"),
        Layer.pool("pool", c=32, h=28, w=28, r=2),
        Layer.conv("pw", c=32, k=64, h=14, w=14, r=1),
        Layer.add("add", c=64, h=14, w=14),
        Layer.fc("fc", in_features=64, out_features=10),
    ])


SYSTOLIC = [SystolicArray(r, c, d, s, s, s, bw) for r in (4, 16, 64) for c in (8, 32) for d in ("os", "ws", "is")
            for s in (1, 64) for bw in (0.5, 16.0)] * 25  # 1,800 arrays x 6 layers: threads and chunks really used
EDGE = [EdgeTpuConfig(px, py, ln, sd, core_mem_kib=cm, pe_mem_kib=pm) for px in (1, 4) for py in (2, 4)
        for ln in (1, 4) for sd in (8, 64) for cm in (4, 32) for pm in (64, 2048)]


# --- thread safety ----------------------------------------------------------------------------------------------
def test_concurrent_python_threads_equal_serial():
    """Six Python threads run systolic batches, Edge-TPU batches and single-layer mappings at once, each with
    the core's own threads as well; every result equals the serial one bit for bit."""
    wl = _workload()
    layer = wl["pw"]
    serial_sys = evaluate_batch(wl, SYSTOLIC, threads=1)
    serial_edge = evaluate_batch(wl, EDGE, threads=1)
    serial_map = codesign.map_layer(layer, EDGE[5], mapper=MapperOptions(metric="energy"))
    serial_space = codesign.map_space(layer, EDGE[7])
    out: dict = {}
    errors: list = []
    barrier = threading.Barrier(6)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for rep in range(2):
                if i % 3 == 0:
                    out[i, rep] = evaluate_batch(wl, SYSTOLIC, threads=2)
                elif i % 3 == 1:
                    out[i, rep] = evaluate_batch(wl, EDGE, threads=2)
                else:
                    out[i, rep] = (codesign.map_layer(layer, EDGE[5], mapper=MapperOptions(metric="energy")),
                                   codesign.map_space(layer, EDGE[7]))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for (i, _), res in out.items():
        if i % 3 == 0:
            np.testing.assert_array_equal(res.status, serial_sys.status)
            np.testing.assert_array_equal(res.ints, serial_sys.ints)
            np.testing.assert_array_equal(res.floats, serial_sys.floats)
        elif i % 3 == 1:
            np.testing.assert_array_equal(res.status, serial_edge.status)
            np.testing.assert_array_equal(res.values, serial_edge.values)
            np.testing.assert_array_equal(res.totals_array, serial_edge.totals_array)
        else:
            assert res[0] == serial_map
            for k, v in serial_space.items():
                np.testing.assert_array_equal(res[1][k], v)


def test_core_threads_and_chunks_do_not_change_results():
    wl = _workload()
    ref = evaluate_batch(wl, SYSTOLIC, threads=1)
    for threads in (2, 7, 0, 10**6):  # absurd thread counts are capped, not obeyed
        res = evaluate_batch(wl, SYSTOLIC, threads=threads)
        np.testing.assert_array_equal(res.ints, ref.ints)
        np.testing.assert_array_equal(res.floats, ref.floats)
    ref_e = evaluate_batch(wl, EDGE, threads=1)
    res_e = evaluate_batch(wl, EDGE, threads=10**6)
    np.testing.assert_array_equal(res_e.values, ref_e.values)


def test_gil_is_released_during_batch_work():
    """A batch long enough to take a while runs in one thread; the main thread keeps executing Python."""
    slow = Layer("slow", "conv", n=1, k=4, c=4, p=2**20, q=1, r=2**18, s=1, h=2**22, w=1, dilation_h=2)
    done = threading.Event()
    ticks = 0

    def run() -> None:  # distinct layer rows: the batch reduces each row to its terms once, whatever the arrays
        evaluate_batch([dataclasses.replace(slow, name=f"slow{i}") for i in range(200)], [SystolicArray()], threads=1)
        done.set()

    t = threading.Thread(target=run)
    t0 = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
    t.join()
    assert time.perf_counter() - t0 > 0.05  # it did take a while
    assert ticks > 1000


# --- limits ---------------------------------------------------------------------------------------------------
def test_batch_too_large_for_memory_is_refused_up_front():
    wl = [Layer.gemm("g", m=8, n=8, k=8)] * 50_000
    hws = [SystolicArray()] * 200_000  # 1e10 (array, layer) results: about 1.8 TiB
    t0 = time.perf_counter()
    with pytest.raises(MemoryError, match=r"200000 architectures x 50000 layers need .* TiB.* batches of at most \d+"):
        evaluate_batch(wl, hws)
    with pytest.raises(MemoryError, match=r"200000 architectures x 50000 layers .* batches of at most \d+"):
        evaluate_batch(wl, [codesign.preset("edgetpu")] * 200_000)
    assert time.perf_counter() - t0 < 20  # refused before any work (building the rows is most of it)
    # straight to the core: refused before the outputs are allocated
    with pytest.raises(MemoryError, match="systolic_batch: 100000 architectures x 100000 layers"):
        codesign._core.systolic_batch(np.zeros((100000, 18), np.int64), np.zeros((100000, 7)), 1)


def test_batch_below_the_limit_still_runs():
    res = evaluate_batch(_workload(), SYSTOLIC[:10])
    assert res.ok.all()


@pytest.mark.parametrize("layer", [
    Layer("huge", "conv", n=MAX_DIM, k=MAX_DIM, c=MAX_DIM, p=MAX_DIM, q=MAX_DIM, r=1, s=1, h=MAX_DIM, w=MAX_DIM),
    Layer("dilated", "conv", n=1, k=64, c=64, p=2**22, q=1, r=2**20, s=1, h=2**24, w=1, dilation_h=2),
    Layer("strided", "conv", n=1, k=1, c=1, p=MAX_DIM, q=MAX_DIM, r=1, s=1, h=1, w=1, stride_h=MAX_DIM, stride_w=2),
    Layer("depthwise", "conv", n=1, k=2**30, c=2**30, p=2**10, q=2**10, r=3, s=3, h=2**10, w=2**10, groups=2**30),
    Layer.gemm("gemm", m=MAX_DIM, n=MAX_DIM, k=MAX_DIM),
], ids=lambda x: x.name)
def test_time_per_layer_is_bounded_on_the_largest_layers(layer):
    """Every layer the model accepts costs at most about 2^24 steps on the systolic model, and the mapper at most
    its compact space (250 spatial unrollings x 9 tilings x 6 orders and lane choices) or 2^20 nodes of the
    complete one: well under a second each here (5 s allowed for a loaded machine)."""
    hws = [SystolicArray(), codesign.preset("edgetpu"), EdgeTpuConfig(8, 4, 8, 128, core_mem_kib=1e6, pe_mem_kib=1e7)]
    for hw in hws:
        for metric, space in itertools.product(("latency", "energy", "edp"), ("compact", "complete")):
            if isinstance(hw, SystolicArray) and (metric != "latency" or space != "compact"):
                continue
            t0 = time.perf_counter()
            try:
                if isinstance(hw, SystolicArray):
                    evaluate(layer, hw)
                else:
                    rec = codesign.map_layer(layer, hw, mapper=MapperOptions(metric=metric, space=space))
                    assert rec["mappings_evaluated"] <= rec["map_space_size"]
            except ValueError as exc:  # overflow or no legal mapping: named
                assert f"layer {layer.name!r}" in str(exc)
            assert time.perf_counter() - t0 < 5.0, (layer.name, hw.name, metric)


CTRL_C_SCRIPT = textwrap.dedent("""
    import dataclasses, signal, sys, time
    # Python's own Ctrl-C handler, whatever disposition this process inherited (a parent that ignores SIGINT,
    # as some test runners and process pools leave it, would hand down SIG_IGN and no KeyboardInterrupt at all)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import codesign
    from codesign import Layer, SystolicArray, evaluate_batch
    kind = sys.argv[1]
    # A valid layer whose input-reuse count takes tens of ms: a batch of many is minutes of C++ work.
    slow = Layer("slow", "conv", n=1, k=4, c=4, p=2**22, q=1, r=2**20, s=1, h=2**24, w=1, dilation_h=2)
    hw = SystolicArray() if kind == "systolic" else codesign.preset("edgetpu-baseline")

    def batch(n, threads):
        if kind == "systolic":  # the systolic batch reduces a layer to its terms once: n distinct layer rows
            return evaluate_batch([dataclasses.replace(slow, name=f"slow{i}") for i in range(n)], [hw], threads=threads)
        # distinct configurations: the mapper's memo would map one repeated configuration's layer only once
        return evaluate_batch(slow, [hw.replace(clock_mhz=400 + i / 64) for i in range(n)], threads=threads)

    t = time.perf_counter()
    batch(4, 1)
    n = int(120 / max((time.perf_counter() - t) / 4, 1e-6)) + 8  # about two minutes of work
    print("ready", n, flush=True)
    batch(n, 2)
    print("finished", flush=True)
""")


@pytest.mark.parametrize("kind", ["systolic", "edgetpu"])
def test_ctrl_c_stops_a_long_batch_promptly(kind, tmp_path):
    script = tmp_path / "long_batch.py"
    script.write_text(CTRL_C_SCRIPT)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(script), kind], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("ready"), (line, proc.stderr.read() if proc.poll() is not None else "")
        time.sleep(1.0)  # well inside the batch
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        elapsed = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "finished" not in out
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in err, err[-2000:]
    assert elapsed < 5.0, f"took {elapsed:.2f} s to stop"


# --- malformed SCALE-Sim files ----------------------------------------------------------------------------------
HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


@pytest.mark.parametrize("content, match", [
    (b"", r"no layers found"),
    (HEADER.encode(), r"no layers found"),
    (b"conv1, 224, 224, 3, 3, 3, 64, 1,\n", r"line 1: expected the header row"),
    ((HEADER + "conv1, 224, 224, 3, 3, 3\n").encode(), r"line 2: column 'Num Filter' is missing"),
    ((HEADER + "c1, 8, 8, 3, 3, 3, 4, 1,\nc2, 224, 224, 3.5, 3, 3, 64, 1,\n").encode(),
     r"line 3: column 'Filter Height' must be a positive integer, got '3.5'"),
    ((HEADER + "conv1, 224, 224, 3, 3, 0, 64, 1,\n").encode(), r"line 2: column 'Channels' .* got '0'"),
    ((HEADER + "conv1, 224, 224, 3, 3, -3, 64, 1,\n").encode(), r"line 2: column 'Channels' .* got '-3'"),
    ((HEADER + "conv1, 224, 224, 3, 3, 99999999999999999999, 64, 1,\n").encode(),
     r"line 2: column 'Channels' .* got '99999999999999999999'"),
    ((HEADER + "conv1, 2, 2, 3, 3, 3, 64, 1,\n").encode(), r"line 2: column 'Filter Height' must be <= IFMAP Height"),
    ((HEADER + "conv1, nan, 224, 3, 3, 3, 64, 1,\n").encode(), r"line 2: column 'IFMAP Height' .* got 'nan'"),
    ((HEADER + "conv1, 224, 224, 3, 3, 3\x00, 64, 1,\n").encode(), r"line 2: column 'Channels'"),
    ((HEADER + "conv\xe9, 224, 224, 3, 3, 3, 64, 1,\n").encode("latin-1"), r"line 2: not UTF-8 text"),
    ((HEADER + "conv1, 224, 224, 3, 3, 3, 64, " + "1" * 200_000 + "\n").encode(), r"line 2: malformed CSV"),
    ((HEADER + ",224, 224, 3, 3, 3, 64, 1,\n").encode(), r"line 2: column 'Layer name' must be a non-empty"),
    (b"Layer, M, N, K,\ng1, 8, 0, 8,\n", r"line 2: column 'N' .* got '0'"),
])
def test_malformed_scalesim_csv_names_file_and_line(tmp_path, content, match):
    path = tmp_path / "topology.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        from_scalesim_csv(path)
    assert str(path) in str(info.value)


def test_scalesim_csv_stride_larger_than_input_is_costed(tmp_path):
    """Not malformed: SCALE-Sim's ceil rule gives one output row; the cost is finite and plausible."""
    path = tmp_path / "stride.csv"
    path.write_text(HEADER + "conv1, 4, 4, 3, 3, 3, 64, 100,\n")
    wl = from_scalesim_csv(path)
    cost = evaluate(wl, SystolicArray())
    assert cost.totals["cycles"] > 0 and cost.layers[0]["macs"] == wl.macs


GOOD_CFG = (DATA / "configs" / "google.cfg").read_text()


@pytest.mark.parametrize("content, match", [
    ("", r"missing section \[architecture_presets\]"),
    ("ArrayHeight: 8\n", r"line 1: malformed SCALE-Sim config: no \[section\] header before 'ArrayHeight: 8'"),
    (GOOD_CFG.replace("ArrayHeight", "ArrayHeigt"), r"missing key 'ArrayHeight' in \[architecture_presets\] \(the section starts at line 4\)"),
    (GOOD_CFG.replace("ArrayHeight:    256", "ArrayHeight:    25x6"), r"line 5: \[architecture_presets\] ArrayHeight must be int, got '25x6'"),
    (GOOD_CFG.replace("ArrayWidth:     256", "ArrayWidth:     0"), r"line 6: \[architecture_presets\] ArrayWidth: cols must be between 1 and \d+, got 0"),
    (GOOD_CFG.replace("Bandwidth : 10", "Bandwidth : inf"), r"line 14: \[architecture_presets\] Bandwidth must be a finite number, got 'inf'"),
    (GOOD_CFG.replace("Bandwidth : 10", "Bandwidth : 1e400"), r"line 14: .*Bandwidth must be a finite number, got '1e400'"),
    (GOOD_CFG.replace("Bandwidth : 10", "Bandwidth : nan"), r"line 14: .*Bandwidth must be a finite number, got 'nan'"),
    (GOOD_CFG.replace("Bandwidth : 10", "Bandwidth : 0"), r"line 14: .*Bandwidth: dram_bw_words_per_cycle must be a finite number > 0, got 0"),
    (GOOD_CFG.replace("Dataflow : os", "Dataflow : rs"), r"line 13: .*Dataflow: dataflow must be one of os, ws, is, got 'rs'"),
    (GOOD_CFG.replace("IfmapSramSzkB:    6144", "IfmapSramSzkB:    0.001"), r"line 7: .*IfmapSramSzkB: ifmap_sram_kib=0.001 is too small"),
    (GOOD_CFG.replace("IfmapSramSzkB:    6144", "IfmapSramSzkB:    nan"), r"line 7: .*ifmap_sram_kib must be a finite number > 0, got nan"),
    (GOOD_CFG + "\n[architecture_presets]\nArrayHeight: 8\n", r"line 39: malformed SCALE-Sim config: section \[architecture_presets\] appears twice"),
    (GOOD_CFG.replace("ArrayHeight:    256", "ArrayHeight:    256\nArrayHeight: 8"), r"line 6: malformed SCALE-Sim config: key 'ArrayHeight' appears twice in \[architecture_presets\]"),
    (GOOD_CFG.replace("IfmapSRAMBankBandwidth: 10", "IfmapSRAMBankBandwidth: abc"), r"line 20: \[layout\] IfmapSRAMBankBandwidth must be int, got 'abc'"),
    (GOOD_CFG.replace("InterfaceBandwidth: USER", "InterfaceBandwidth: FAST"), r"line 36: \[run_presets\] InterfaceBandwidth must be USER or CALC"),
    (GOOD_CFG.replace("ArrayHeight:    256", "ArrayHeight:    %(foo)s"), r"line 5: \[architecture_presets\] ArrayHeight: Bad value substitution"),
])
def test_malformed_scalesim_cfg_names_file_and_line(tmp_path, content, match):
    path = tmp_path / "accelerator.cfg"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        read_scalesim_cfg(path)
    assert str(path) in str(info.value)
    assert str(info.value).count(str(path)) == 1  # named once, not repeated


def test_scalesim_cfg_not_utf8_or_missing(tmp_path):
    path = tmp_path / "latin.cfg"
    path.write_bytes(GOOD_CFG.replace("run_name", "run_n\xe9me").encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin.cfg: line 2: not UTF-8 text"):
        read_scalesim_cfg(path)
    with pytest.raises(FileNotFoundError, match="nope.cfg"):
        read_scalesim_cfg(tmp_path / "nope.cfg")
    with pytest.raises(FileNotFoundError):
        read_scalesim_cfg(tmp_path)  # a folder
    big = tmp_path / "big.cfg"
    big.write_bytes(b"#" * (1 << 24) + b"\n")
    with pytest.raises(ValueError, match="larger than 16 MiB"):
        read_scalesim_cfg(big)


def test_good_scalesim_cfgs_still_read_the_same():
    for cfg in sorted((DATA / "configs").glob("*.cfg")):
        c = read_scalesim_cfg(cfg)
        assert c.array.rows >= 1 and c.interface in ("USER", "CALC") and c.ifmap_bw >= 1


@pytest.mark.parametrize("change, field", [
    ({"leak_mw_per_kib": float("nan")}, "Technology.leak_mw_per_kib"),
    ({"sram_mm2_per_kib": -1.0}, "Technology.sram_mm2_per_kib"),
    ({"fixed_mm2": float("inf")}, "Technology.fixed_mm2"),
    ({"sram_ref_kib": 0.0}, "Technology.sram_ref_kib"),
    ({"mac_pj": {}}, "Technology.mac_pj"),
    ({"mac_mm2": {"int8": 1.0, "bf16": 1.0, "fp32": -2.0}}, "Technology.mac_mm2['fp32']"),
    ({"mac_pj": {"int8": "x", "bf16": 1.0, "fp32": 1.0}}, "Technology.mac_pj['int8']"),
])
def test_technology_constants_are_checked(change, field):
    # a NaN or negative technology constant used to reach the models (NaN energy, negative area)
    import dataclasses

    tech = codesign.preset("edgetpu").technology
    with pytest.raises((ValueError, TypeError)) as err:
        dataclasses.replace(tech, **change)
    assert str(err.value).startswith(field) and "\n" not in str(err.value)


def test_batch_names_the_item_that_is_not_hardware():
    wl = codesign.from_scalesim_csv(Path(__file__).parent / "data" / "scalesim" / "topologies" / "alexnet_conv5.csv")
    with pytest.raises(TypeError, match=r"hws\[1\] must be a SystolicArray or an EdgeTpuConfig, got int"):
        codesign.evaluate_batch(wl, [codesign.preset("edgetpu"), 3])
    res = codesign.evaluate_batch(wl, [codesign.preset("google")], totals_only=True)
    with pytest.raises(ValueError, match="per-layer records were not kept"):
        res.field("cycles")
