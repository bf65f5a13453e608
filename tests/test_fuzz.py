"""Fuzzing the public API and the batch entry points with random and malformed input (issue 7).

Contract checked for every input: a call either returns finite, plausible results (counts >= 0, cycles = stall-free
cycles + stalls, MACs equal to the layer's own count, ratios in [0, 1], Edge-TPU cycles >= compute cycles, ...) or
raises ValueError/TypeError whose message names the offending field and its value (MemoryError for a batch
too large for memory). Inputs: zero, negative, enormous and non-integer sizes, NaN/inf, bools, strings, None,
numpy scalars, one-byte SRAMs, zero bandwidths, strides larger than the input, groups that do not divide the
channels, empty workloads, and arrays of the wrong shape, dtype, or memory layout given straight to the C++
batch entry points (``codesign._core``: the entry points the sweeps and the search use).

The number of inputs tried is printed at the end of the pytest run ("codesign fuzz: N inputs ...").
``CODESIGN_FUZZ_EXAMPLES`` (default 150) sets the examples per test; the C++ core has its own fuzz driver
under AddressSanitizer/UBSan (``scripts/sanitize.sh``).
"""
from __future__ import annotations

import collections
import math
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import codesign
from codesign import EdgeTpuConfig, Layer, MapperOptions, SystolicArray, Workload, evaluate, evaluate_batch
from codesign import _core
from codesign.workload import LAYER_FIELDS, MAX_DIM

EXAMPLES = int(os.environ.get("CODESIGN_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COUNTS: collections.Counter = collections.Counter()
STATUS_CODES = range(len(_core.STATUS_NAMES))


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    """Prints how many inputs each fuzz test tried in pytest's terminal summary."""

    class Report:
        def pytest_terminal_summary(self, terminalreporter):
            if COUNTS:
                parts = ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items()))
                terminalreporter.write_line(f"codesign fuzz: {sum(COUNTS.values())} inputs tried ({parts})")

    pm = request.config.pluginmanager
    if not pm.has_plugin("codesign-fuzz-report"):
        pm.register(Report(), "codesign-fuzz-report")
    yield


# --- values ---------------------------------------------------------------------------------------------------
SPECIAL = [0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63), 1.5, 2.0, -0.0, 1e-300, 1e300,
           float("nan"), float("inf"), -float("inf"), True, False, None, "3", "", [1, 2], (4,), b"\x01",
           np.int64(7), np.int32(-3), np.uint64(2**64 - 1), np.float64("nan"), np.float32(2.0), np.bool_(True)]
BAD_VALUES = st.one_of(
    st.sampled_from(SPECIAL),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
)


def renderings(value) -> set[str]:
    """Ways a message may show ``value``."""
    out = {repr(value), str(value)}
    try:
        f = float(value)
        out |= {str(f), f"{f:g}", repr(f)}
        if math.isfinite(f) and f == int(f):
            out.add(str(int(f)))
    except (TypeError, ValueError, OverflowError):
        pass
    return out


#: A value that is fine alone but breaks a constraint with another field may be reported by that field: an array
#: edge (rows, cols) or word size that leaves an SRAM too small is reported as "ifmap_sram_kib=64 is too small: ...
#: one array row/column of 32769 words".
RELATED = {f: ("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib") for f in ("rows", "cols", "word_bytes")}


def assert_names(exc: BaseException, field: str, value) -> None:
    msg = str(exc)
    names = (field,) + RELATED.get(field, ())
    assert any(re.search(rf"(?<![A-Za-z0-9]){re.escape(f)}(?![A-Za-z0-9])", msg) for f in names), \
        f"{field!r} not in {msg!r}"
    assert any(r in msg for r in renderings(value)), f"{value!r} not in {msg!r}"


# --- plausibility of results ---------------------------------------------------------------------------------
def check_systolic(cost: dict, layer: Layer, hw: SystolicArray) -> None:
    for name in codesign.cost.INT_FIELDS:
        assert isinstance(cost[name], int) and cost[name] >= 0, (name, cost[name])
    assert cost["cycles"] == cost["stall_free_cycles"] + cost["stall_cycles"]
    assert cost["macs"] == layer.macs
    for name in codesign.cost.FLOAT_FIELDS:
        assert 0.0 <= cost[name] <= 1.0 + 1e-12, (name, cost[name])
    assert math.isfinite(cost["latency_ms"]) and cost["latency_ms"] >= 0
    if layer.macs:
        assert cost["stall_free_cycles"] * hw.pes >= cost["macs"]
        assert cost["mapping_efficiency"] > 0
        assert cost["folds"] >= 1


def check_edgetpu(rec: dict, layer: Layer | None = None) -> None:
    for name in codesign.cost.EDGETPU_FIELDS:
        v = rec[name]
        assert math.isfinite(v) and v >= 0, (name, v)
    assert rec["utilization"] <= 1.0 + 1e-9
    assert rec["cycles"] >= rec["compute_cycles"] * (1 - 1e-12)
    if layer is not None and layer.kind in ("conv", "fc", "gemm", "matmul"):
        assert rec["macs"] == pytest.approx(layer.macs, rel=1e-12)


# --- strategies of valid objects -------------------------------------------------------------------------------
SIZES = st.one_of(st.integers(1, 40), st.sampled_from([1, 2, 3, 7, 64, 224, 1000, 2**16, 2**20, MAX_DIM]))


@st.composite
def layers(draw, big: bool = True):
    """Valid layers of every kind, from tiny to the largest sizes the model accepts (strides larger than the
    input, huge dilations, depthwise and grouped convs, P/Q not derived from H/W)."""
    size = SIZES if big else st.integers(1, 40)
    kind = draw(st.sampled_from(["conv", "conv", "conv", "fc", "gemm", "pool", "add", "mul", "matmul", "softmax",
                                 "norm", "act"]))
    act = draw(st.sampled_from(codesign.workload.ACTIVATIONS))
    if kind == "fc":
        return Layer.fc("l", in_features=draw(size), out_features=draw(size), n=draw(size), act=act)
    if kind == "gemm":
        return Layer.gemm("l", m=draw(size), n=draw(size), k=draw(size), act=act)
    if kind == "matmul":
        b = draw(st.sampled_from([1, 2, 12, 96]))
        return Layer.matmul("l", m=draw(size), n=draw(st.integers(1, 4096)), k=draw(st.integers(1, 4096)), batch=b,
                            act=act)
    c = draw(size)
    if kind in ("add", "mul"):
        return getattr(Layer, kind)("l", c=c, h=draw(size), w=draw(size), n=draw(st.integers(1, 4)), act=act)
    if kind in ("softmax", "norm", "act"):
        return Layer.elementwise(kind, "l", c=c, h=draw(size), w=draw(size), n=draw(st.integers(1, 4)), act=act)
    g = draw(st.sampled_from([1, 1, c]) if kind == "conv" else st.just(c))
    k = c if kind == "pool" else g * draw(st.integers(1, 8) if g > 1 else size)
    if k > MAX_DIM:
        k = g
    h, w = draw(size), draw(size)
    dil_h, dil_w = draw(st.sampled_from([1, 1, 1, 2, 3, 1000])), draw(st.sampled_from([1, 1, 2]))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    r = draw(st.integers(1, max(1, min(7, (h + 2 * ph - 1) // dil_h + 1))))
    s = draw(st.integers(1, max(1, min(7, (w + 2 * pw - 1) // dil_w + 1))))
    if (r - 1) * dil_h + 1 > h + 2 * ph:
        dil_h = 1
    if (s - 1) * dil_w + 1 > w + 2 * pw:
        dil_w = 1
    return Layer("l", kind, n=draw(st.integers(1, 4)), k=k, c=c, p=draw(size), q=draw(size), r=r, s=s, h=h, w=w,
                 stride_h=draw(st.one_of(st.integers(1, 4), st.sampled_from([100, MAX_DIM]))),
                 stride_w=draw(st.integers(1, 4)), pad_h=ph, pad_w=pw, dilation_h=dil_h, dilation_w=dil_w,
                 groups=g if kind == "conv" else c, act=act)


@st.composite
def systolic_arrays(draw):
    rows, cols = draw(st.sampled_from([1, 2, 8, 32, 128, 1 << 20])), draw(st.sampled_from([1, 3, 16, 256]))
    edge = max(rows, cols)
    word = draw(st.sampled_from([1, 1, 2, 4]))
    min_kib = 2 * edge * word / 1024

    def kib():
        return min_kib * draw(st.sampled_from([1, 1.5, 64, 1e6]))

    return SystolicArray(rows, cols, draw(st.sampled_from(["os", "ws", "is"])), kib(), kib(), kib(),
                         draw(st.sampled_from([1e-9, 0.01, 1, 10, 1e9])), word_bytes=word,
                         clock_mhz=draw(st.sampled_from([1e-3, 1000, 1e9])))


@st.composite
def edgetpu_configs(draw):
    return EdgeTpuConfig(
        pe_x=draw(st.integers(1, 8)), pe_y=draw(st.integers(1, 8)), lanes=draw(st.integers(1, 8)),
        simd=draw(st.sampled_from([1, 8, 64, 512])), core_mem_kib=draw(st.sampled_from([1 / 1024, 0.5, 32, 1e6])),
        pe_mem_kib=draw(st.sampled_from([1 / 1024, 2, 512, 1e6])), global_mem_kib=draw(st.sampled_from([0, 128, 1e9])),
        io_bw_gbps=draw(st.sampled_from([1e-6, 0.5, 10, 1e6])), clock_mhz=draw(st.sampled_from([1, 500, 1e5])),
        data_type=draw(st.sampled_from(["int8", "bf16", "fp32"])),
        layer_overhead_us=draw(st.sampled_from([0, 15, 1e6])), tile_overhead_cycles=draw(st.sampled_from([0, 100])),
        inference_overhead_us=draw(st.sampled_from([0, 800])), activation_buffers=draw(st.sampled_from([0.5, 1, 2, 1e6])),
    )


# --- constructors: malformed fields are named -------------------------------------------------------------------
LAYER_BASE = dict(name="l", kind="conv", n=1, k=8, c=4, p=6, q=6, r=3, s=3, h=8, w=8)
LAYER_ARGS = ("name", "kind", "act") + LAYER_FIELDS[:16]


@FUZZ
@given(field=st.sampled_from(LAYER_ARGS), value=st.one_of(BAD_VALUES, st.integers(0, 12)))
def test_fuzz_layer_fields(field, value):
    COUNTS["Layer"] += 1
    try:
        layer = Layer(**{**LAYER_BASE, field: value})
    except (TypeError, ValueError) as exc:
        assert_names(exc, field, value)
        return
    for f in LAYER_FIELDS[:16]:
        v = getattr(layer, f)
        assert type(v) is int and 0 <= v <= MAX_DIM
    check_systolic(evaluate(layer, SystolicArray(4, 4, "ws")).to_dict(), layer, SystolicArray(4, 4, "ws"))


SYSTOLIC_ARGS = ("rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib",
                 "dram_bw_words_per_cycle", "word_bytes", "clock_mhz", "name")


@FUZZ
@given(field=st.sampled_from(SYSTOLIC_ARGS),
       value=st.one_of(BAD_VALUES, st.sampled_from([1 / 1024, 0.0, 1e-9, "os", "WS", "rs", 3]), st.floats(0, 1e6)))
def test_fuzz_systolic_array_fields(field, value):
    COUNTS["SystolicArray"] += 1
    try:
        hw = SystolicArray(**{field: value})
    except (TypeError, ValueError) as exc:
        assert_names(exc, field, value)
        return
    layer = Layer.conv("c", c=8, k=16, h=10, w=10, r=3)
    try:
        cost = evaluate(layer, hw)
    except ValueError as exc:  # e.g. a bandwidth of 1e-179 words per cycle: stalls beyond int64, named
        assert "layer 'c'" in str(exc) and "overflow" in str(exc), str(exc)
        return
    check_systolic(cost.to_dict(), layer, hw)


EDGETPU_ARGS = ("pe_x", "pe_y", "lanes", "simd", "core_mem_kib", "pe_mem_kib", "global_mem_kib", "io_bw_gbps",
                "clock_mhz", "data_type", "layer_overhead_us", "tile_overhead_cycles", "inference_overhead_us",
                "activation_buffers", "technology")


@FUZZ
@given(field=st.sampled_from(EDGETPU_ARGS),
       value=st.one_of(BAD_VALUES, st.sampled_from([1 / 1024, 0.0, "int8", "int4", 4096, 4097]), st.floats(0, 1e6)))
def test_fuzz_edgetpu_config_fields(field, value):
    COUNTS["EdgeTpuConfig"] += 1
    try:
        hw = EdgeTpuConfig(**{field: value})
    except (TypeError, ValueError) as exc:
        assert_names(exc, field, value)
        return
    wl = Workload("w", [Layer.conv("c", c=8, k=16, h=10, w=10, r=3, act="relu6"), Layer.pool("p", c=16, h=8, w=8, r=2)])
    try:
        cost = evaluate(wl, hw)
    except ValueError as exc:  # a layer that cannot be mapped (named, with the memories) or beyond double range
        assert "layer 'c'" in str(exc) or "layer 'p'" in str(exc), str(exc)
        assert "no legal mapping" in str(exc) or "overflow" in str(exc), str(exc)  # never a bare "invalid architecture"
        return
    for rec in cost.layers:
        check_edgetpu(rec)
    assert math.isfinite(cost.totals["latency_ms"]) and cost.totals["latency_ms"] > 0


MAPPER_ARGS = ("metric", "budget", "patience", "seed", "threads")


@FUZZ
@given(field=st.sampled_from(MAPPER_ARGS), value=st.one_of(BAD_VALUES, st.sampled_from(["energy", "edp", 0, 5])))
def test_fuzz_mapper_options(field, value):
    COUNTS["MapperOptions"] += 1
    try:
        opt = MapperOptions(**{field: value})
        rec = codesign.map_layer(Layer.conv("c", c=8, k=16, h=10, w=10, r=3), codesign.preset("edgetpu"), mapper=opt)
    except (TypeError, ValueError) as exc:
        assert_names(exc, field, value)
        return
    check_edgetpu(rec)


# --- evaluation: plausible results or a named error ---------------------------------------------------------------
@FUZZ
@given(layer=layers(), hw=systolic_arrays())
def test_fuzz_evaluate_systolic(layer, hw):
    COUNTS["evaluate systolic"] += 1
    try:
        cost = evaluate(layer, hw)
    except ValueError as exc:  # only counts beyond int64 (a huge layer, or a bandwidth near zero)
        assert "layer 'l'" in str(exc) and "overflow" in str(exc), str(exc)
        return
    check_systolic(cost.to_dict(), layer, hw)


@FUZZ
@given(layer=layers(), hw=edgetpu_configs(), metric=st.sampled_from(["latency", "energy", "edp"]),
       budget=st.sampled_from([0, 0, 1, 17]))
def test_fuzz_map_layer_edgetpu(layer, hw, metric, budget):
    COUNTS["map_layer edgetpu"] += 1
    opt = MapperOptions(metric=metric, budget=budget, patience=budget // 4, seed=budget)
    try:
        rec = codesign.map_layer(layer, hw, mapper=opt)
    except ValueError as exc:
        assert "layer 'l'" in str(exc), str(exc)
        assert "no legal mapping" in str(exc) or "overflow" in str(exc), str(exc)
        return
    check_edgetpu(rec, layer)
    assert rec["mappings_evaluated"] <= 5 * 5 * 5 * 2 * 36


@FUZZ
@given(lays=st.lists(layers(big=False), min_size=1, max_size=5),
       hws=st.one_of(st.lists(systolic_arrays(), min_size=1, max_size=4), st.lists(edgetpu_configs(), min_size=1, max_size=3)),
       threads=st.sampled_from([0, 1, 2, 5]))
def test_fuzz_evaluate_batch_equals_single_calls(lays, hws, threads):
    COUNTS["evaluate_batch"] += 1
    lays = [Layer(**{**{f: getattr(x, f) for f in LAYER_FIELDS[:16]}, "name": f"l{i}", "kind": x.kind, "act": x.act})
            for i, x in enumerate(lays)]
    res = evaluate_batch(lays, hws, threads=threads)
    assert res.status.shape == (len(hws), len(lays))
    assert set(np.unique(res.status)) <= set(STATUS_CODES)
    for a, hw in enumerate(hws):
        if not res.ok[a]:
            with pytest.raises(ValueError, match="layer 'l"):
                evaluate(lays, hw)
            continue
        single = evaluate(lays, hw)
        batch_net = res.network(a)
        for i, layer in enumerate(lays):
            got, want = batch_net.layer(i), single.layer(i)
            got = got.to_dict() if hasattr(got, "to_dict") else got
            want = want.to_dict() if hasattr(want, "to_dict") else want
            assert got == want
            if isinstance(hw, SystolicArray):
                check_systolic(got, layer, hw)
            else:
                check_edgetpu(got, layer)
        assert math.isfinite(res.total("latency_ms")[a])


@pytest.mark.parametrize("x", [[], (), 42, "conv", None, [None], [1, 2], np.zeros((2, 18), np.int64)])
def test_empty_or_wrong_workloads_are_refused(x):
    COUNTS["empty workloads"] += 1
    for hw in (SystolicArray(), codesign.preset("edgetpu")):
        with pytest.raises(TypeError, match="Layer"):
            evaluate(x, hw)
        with pytest.raises(TypeError, match="Layer"):
            evaluate_batch(x, [hw])
    with pytest.raises(ValueError, match="has no layers"):
        Workload("w", [])


# --- the C++ batch entry points with malformed arrays ------------------------------------------------------------
DTYPES = [np.int64, np.int32, np.uint64, np.int8, np.float64, np.float32, np.bool_, np.complex128]
ROW_VALUES = st.one_of(st.integers(1, 40), st.sampled_from([0, -1, 2**31, 2**31 - 1, 2**62, -(2**63), 2**63 - 1]))


@st.composite
def layer_tables(draw):
    """Layer tables: mostly (L, 16|18) int64 with valid and boundary rows, sometimes other shapes and dtypes,
    often non-contiguous views."""
    if draw(st.integers(0, 4)) == 0:
        dtype = draw(st.sampled_from(DTYPES))
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=20))
        arr = draw(hnp.arrays(dtype, shape))
    else:
        n = draw(st.integers(0, 6))
        rows = [list(draw(layers(big=False)).to_row()) for _ in range(n)]
        for row in rows:
            if draw(st.booleans()):
                row[draw(st.integers(0, 17))] = draw(ROW_VALUES)
        arr = np.array(rows, dtype=np.int64).reshape(n, 18)
        if draw(st.booleans()):
            arr = arr[:, :16]
    return view(draw, arr)


def view(draw, arr):
    how = draw(st.sampled_from(["as is", "as is", "strided", "fortran", "reversed"]))
    if how == "strided" and arr.ndim >= 1:
        big = np.repeat(arr, 2, axis=0)
        return big[::2]
    if how == "fortran":
        return np.asfortranarray(arr)
    if how == "reversed" and arr.ndim >= 1:
        return np.ascontiguousarray(arr[::-1])[::-1]
    return arr


@st.composite
def float_tables(draw, cols, good_rows):
    if draw(st.integers(0, 4)) == 0:
        dtype = draw(st.sampled_from(DTYPES))
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=cols + 2))
        return view(draw, draw(hnp.arrays(dtype, shape)))
    n = draw(st.integers(0, 4))
    rows = [list(draw(st.sampled_from(good_rows))) for _ in range(n)]
    for row in rows:
        if draw(st.booleans()):
            row[draw(st.integers(0, cols - 1))] = draw(st.sampled_from(
                [0.0, -1.0, 0.5, 1e-300, 1e300, float("nan"), float("inf"), -float("inf"), 2.0**53, 1.0]))
    return view(draw, np.array(rows, dtype=np.float64).reshape(n, cols))


SYSTOLIC_ROWS = [h.to_row() for h in (SystolicArray(), SystolicArray(8, 16, "os", 1, 1, 1, 0.5), codesign.preset("google"))]
EDGETPU_ROWS = [h.to_row() for h in (codesign.preset("edgetpu"), codesign.preset("eyeriss-like"), EdgeTpuConfig(2, 2, 2, 8))]
ENERGY_ROWS = [codesign.preset("edgetpu").energy_row(), codesign.preset("eyeriss-like").energy_row()]


def check_core_outputs(status, arrays_, layers_shape, archs_shape):
    A, L = archs_shape[0], layers_shape[0]
    assert status.shape == (A, L) and status.dtype == np.int32
    assert set(np.unique(status)) <= set(STATUS_CODES)
    ok = status == 0
    for arr in arrays_:
        assert arr.shape[:2] == (A, L)
        vals = arr[ok]
        assert np.all(np.isfinite(vals)) and np.all(vals >= 0)


@FUZZ
@given(lay=layer_tables(), archs=float_tables(7, SYSTOLIC_ROWS), threads=st.sampled_from([0, 1, 3]))
def test_fuzz_core_systolic_batch_arrays(lay, archs, threads):
    COUNTS["_core.systolic_batch"] += 1
    try:
        status, ints, floats = _core.systolic_batch(lay, archs, threads)
    except (TypeError, ValueError) as exc:
        assert re.search(r"layers|archs|incompatible function arguments", str(exc)), str(exc)
        return
    check_core_outputs(status, (ints, floats), lay.shape, archs.shape)
    assert np.all(floats[status == 0] <= 1.0 + 1e-12)
    # any memory layout gives the result of the C-contiguous int64/float64 copy
    s2, i2, f2 = _core.systolic_batch(np.ascontiguousarray(lay, np.int64), np.ascontiguousarray(archs, np.float64), 1)
    np.testing.assert_array_equal(status, s2)
    np.testing.assert_array_equal(ints, i2)
    np.testing.assert_array_equal(floats, f2)


@FUZZ
@given(lay=layer_tables(), archs=float_tables(_core.EDGETPU_ARCH_FIELD_COUNT, EDGETPU_ROWS), energy=float_tables(8, ENERGY_ROWS),
       metric=st.integers(-1, 3), budget=st.sampled_from([0, 5, -1]), threads=st.sampled_from([0, 1, 2]))
def test_fuzz_core_edgetpu_batch_arrays(lay, archs, energy, metric, budget, threads):
    COUNTS["_core.edgetpu_batch"] += 1
    try:
        status, values, totals = _core.edgetpu_batch(lay, archs, energy, metric, budget, 0, 3, threads)
    except (TypeError, ValueError) as exc:
        assert re.search(r"layers|archs|energy|metric|budget|incompatible function arguments", str(exc)), str(exc)
        return
    check_core_outputs(status, (values,), lay.shape, archs.shape)
    assert totals.shape == (archs.shape[0], len(_core.EDGETPU_TOTAL_FIELDS))
    assert np.all(np.isfinite(totals)) and np.all(totals >= 0)
    s2, v2, t2 = _core.edgetpu_batch(np.ascontiguousarray(lay, np.int64), np.ascontiguousarray(archs, np.float64),
                                     np.ascontiguousarray(energy, np.float64), metric, budget, 0, 3, 1)
    np.testing.assert_array_equal(status, s2)
    np.testing.assert_array_equal(values, v2)
    np.testing.assert_array_equal(totals, t2)


@FUZZ
@given(lay=layer_tables(), arch=float_tables(_core.EDGETPU_ARCH_FIELD_COUNT, EDGETPU_ROWS), energy=float_tables(8, ENERGY_ROWS),
       flags=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_fuzz_core_map_space_and_layer_arrays(lay, arch, energy, flags):
    COUNTS["_core.edgetpu_map_space/map_layer"] += 1
    one = lambda a: a[0] if a.ndim >= 1 and len(a) else a  # noqa: E731 - 1-D rows (or whatever is there)
    try:
        st_, per, values = _core.edgetpu_map_space(one(lay), one(arch), one(energy), *flags)
    except (TypeError, ValueError) as exc:
        assert re.search(r"layer|arch|energy|incompatible function arguments", str(exc)), str(exc)
        return
    assert st_ in STATUS_CODES and per.shape == (len(values),) and len(values) <= 5 * 5 * 5 * 2 * 36
    ok = values[per == 0]
    assert np.all(np.isfinite(ok)) and np.all(ok >= 0)
    st2, rec = _core.edgetpu_map_layer(one(lay), one(arch), one(energy), *flags)
    assert st2 in STATUS_CODES
    if st2 == 0:
        assert np.all(np.isfinite(rec)) and np.all(rec >= 0)
