"""Tests for codesign.workload: Layer / Workload, the SCALE-Sim CSV reader, the torch and timm importers.

Expected values are worked by hand (closed forms in the comments) or taken from published figures
(sources cited next to each). Tests that need torch or timm skip when those are not installed.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codesign.workload import (
    ACTIVATIONS,
    LAYER_FIELDS,
    LAYER_KINDS,
    MAX_DIM,
    OP_CODES,
    Layer,
    Workload,
    from_scalesim_csv,
    from_timm,
    from_torch,
)

TOPO = Path(__file__).parent / "data" / "scalesim" / "topologies"
#: Layer lists of timm models as from_timm gave them before ops= existed (name, kind, the 16 integer
#: columns), written by that version of the code: ops="mac" must reproduce them exactly.
MAC_GOLDENS = Path(__file__).parent / "data" / "workload" / "timm_mac_layers.json"
INT_FIELDS = LAYER_FIELDS[:16]


# ============================================================================ Layer: closed forms

def test_layer_fields_order_is_the_cpp_contract():
    assert LAYER_FIELDS == ("n", "k", "c", "p", "q", "r", "s", "h", "w", "stride_h", "stride_w",
                            "pad_h", "pad_w", "dilation_h", "dilation_w", "groups", "op", "act")
    assert LAYER_KINDS == ("conv", "fc", "gemm", "pool", "add", "mul", "matmul", "softmax", "norm", "act",
                           "concat", "resize", "bn", "nms")
    # the C++ enum Op (cpp/include/codesign/workload/layer.hpp): Mac, Pool, Add, Mul, MatMul, Softmax, Norm, Act,
    # then (appended, never renumbered) Concat, Resize, Bn, Nms
    assert OP_CODES == {"conv": 0, "fc": 0, "gemm": 0, "pool": 1, "add": 2, "mul": 3, "matmul": 4, "softmax": 5,
                        "norm": 6, "act": 7, "concat": 8, "resize": 9, "bn": 10, "nms": 11}
    assert ACTIVATIONS == ("none", "relu", "relu6", "hswish", "hsigmoid", "sigmoid", "swish", "gelu",
                           "tanh")


def test_conv_stride_pad_dilation_groups():
    # c=16, k=32, 28x28 input, 3x3 filter, stride 2, pad 1, dilation 2, 4 groups.
    # P = floor((28 + 2*1 - 2*(3-1) - 1)/2) + 1 = floor(25/2) + 1 = 13
    lay = Layer.conv("c", c=16, k=32, h=28, w=28, r=3, stride=2, padding=1, dilation=2, groups=4)
    assert (lay.p, lay.q) == (13, 13)
    assert lay.s == 3 and lay.kind == "conv"
    # per group: C/g = 4 input channels; MACs = N*K*(C/g)*P*Q*R*S = 1*32*4*169*9
    assert lay.macs == 194_688
    assert lay.weights == 32 * 4 * 9 == 1152
    assert (lay.gemm_m, lay.gemm_n, lay.gemm_k) == (169, 8, 36)
    assert lay.ifmap_words == 16 * 28 * 28
    assert lay.ofmap_words == 32 * 169
    assert not lay.is_depthwise
    assert lay.to_row() == (1, 32, 16, 13, 13, 3, 3, 28, 28, 2, 2, 1, 1, 2, 2, 4, 0, 0)


def test_conv_asymmetric_pairs_and_batch():
    # 3x5 filter, stride (2,1), padding (0,2), dilation (1,3), batch 2, 10x20 input:
    # P = floor((10 + 0 - 1*2 - 1)/2) + 1 = floor(7/2) + 1 = 4
    # Q = floor((20 + 4 - 3*4 - 1)/1) + 1 = 11 + 1 = 12
    lay = Layer.conv("a", c=8, k=6, h=10, w=20, r=3, s=5, stride=(2, 1), padding=(0, 2),
                     dilation=(1, 3), n=2)
    assert (lay.p, lay.q) == (4, 12)
    assert lay.macs == 2 * 6 * 8 * 4 * 12 * 3 * 5 == 69_120
    assert lay.gemm_m == 2 * 4 * 12
    assert lay.to_row() == (2, 6, 8, 4, 12, 3, 5, 10, 20, 2, 1, 0, 2, 1, 3, 1, 0, 0)


def test_depthwise():
    # MobileNet-style 3x3 depthwise, stride 2, pad 1, on 112x112x32:
    # P = floor((112 + 2 - 2 - 1)/2) + 1 = 55 + 1 = 56
    lay = Layer.conv("dw", c=32, k=32, h=112, w=112, r=3, stride=2, padding=1, groups=32)
    assert (lay.p, lay.q) == (56, 56)
    assert lay.is_depthwise
    assert lay.macs == 32 * 56 * 56 * 9 == 903_168
    assert lay.weights == 32 * 9
    assert (lay.gemm_m, lay.gemm_n, lay.gemm_k) == (56 * 56, 1, 9)
    # depth multiplier 2 is still depthwise (one input channel per group)
    assert Layer.conv("dw2", c=8, k=16, h=5, w=5, r=3, groups=8).is_depthwise


def test_fc():
    lay = Layer.fc("fc", in_features=512, out_features=1000, n=4)
    assert lay.kind == "fc"
    assert lay.to_row() == (4, 1000, 512, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0)
    assert lay.macs == 4 * 512 * 1000 == 2_048_000
    assert lay.weights == 512_000
    assert (lay.gemm_m, lay.gemm_n, lay.gemm_k) == (4, 1000, 512)


def test_gemm():
    # (M x K) @ (K x N) with M=128, N=64, K=32: Layer.k holds GEMM N, Layer.c holds GEMM K.
    lay = Layer.gemm("mm", m=128, n=64, k=32)
    assert lay.kind == "gemm"
    assert (lay.n, lay.k, lay.c, lay.p, lay.q, lay.h, lay.w, lay.r, lay.s) == (1, 64, 32, 128, 1, 128, 1, 1, 1)
    assert (lay.gemm_m, lay.gemm_n, lay.gemm_k) == (128, 64, 32)
    assert lay.macs == 128 * 64 * 32 == 262_144
    assert lay.ifmap_words == 128 * 32 and lay.ofmap_words == 128 * 64


def test_numpy_ints_are_coerced_and_layer_is_frozen():
    lay = Layer("x", "conv", n=np.int64(1), k=np.int32(4), c=np.uint8(2), p=3, q=3, r=1, s=1, h=3, w=3)
    assert type(lay.k) is int and type(lay.c) is int and type(lay.n) is int
    assert lay == Layer("x", "conv", n=1, k=4, c=2, p=3, q=3, r=1, s=1, h=3, w=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lay.k = 5  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(lay)) == lay


# ============================================================================ Layer: pool, add, mul, act

def test_pool_closed_form():
    # ResNet stem max pool: 3x3, stride 2, pad 1 on 112x112x64:
    # P = floor((112 + 2*1 - 3)/2) + 1 = floor(111/2) + 1 = 56
    lay = Layer.pool("mp", c=64, h=112, w=112, r=3, stride=2, padding=1, mode="max")
    assert (lay.kind, lay.p, lay.q, lay.s, lay.k, lay.groups) == ("pool", 56, 56, 3, 64, 64)
    assert lay.ops == 64 * 56 * 56 * 9 == 1_806_336  # N*C*P*Q*R*S
    assert lay.macs == 0 and lay.weights == 0
    assert lay.ifmap_words == 64 * 112 * 112 and lay.ofmap_words == 64 * 56 * 56
    assert not lay.is_depthwise and not lay.is_mac  # stored depthwise, but not a depthwise conv
    assert lay.to_row() == (1, 64, 64, 56, 56, 3, 3, 112, 112, 2, 2, 1, 1, 1, 1, 64, 1, 0)
    # stride defaults to the window (2, 3): P = floor((7 - 2)/2) + 1 = 3, Q = floor((9 - 3)/3) + 1 = 3
    lay = Layer.pool("ap", c=3, h=7, w=9, r=2, s=3, n=2)
    assert (lay.p, lay.q, lay.stride_h, lay.stride_w) == (3, 3, 2, 3)
    assert lay.ops == 2 * 3 * 3 * 3 * 2 * 3 == 324
    # mode is checked, not stored
    assert Layer.pool("x", c=3, h=7, w=9, r=2, s=3, n=2, mode="max") == Layer.pool("x", c=3, h=7, w=9, r=2, s=3, n=2)


def test_global_pool_add_mul_closed_forms():
    gp = Layer.global_pool("gp", c=1280, h=7, w=7)
    assert gp == Layer.pool("gp", c=1280, h=7, w=7, r=7, stride=7)
    assert gp.to_row() == (1, 1280, 1280, 1, 1, 7, 7, 7, 7, 7, 7, 0, 0, 1, 1, 1280, 1, 0)
    assert gp.ops == 1280 * 49 == 62_720
    # residual add of two 56x56x24 maps with the ReLU that follows it
    add = Layer.add("add", c=24, h=56, w=56, act="relu")
    assert add.to_row() == (1, 24, 24, 56, 56, 1, 1, 56, 56, 1, 1, 0, 0, 1, 1, 24, 2, 1)
    assert add.ops == 24 * 56 * 56 == 75_264 and add.macs == 0 and add.weights == 0
    assert add.ifmap_words == 2 * 75_264 and add.ofmap_words == 75_264  # two inputs, one output
    # SE scaling, batch 2: (2, 96, 56, 56) map times a (2, 96, 1, 1) gate
    mul = Layer.mul("se", c=96, h=56, w=56, n=2)
    assert mul.to_row() == (2, 96, 96, 56, 56, 1, 1, 56, 56, 1, 1, 0, 0, 1, 1, 96, 3, 0)
    assert mul.ops == 2 * 96 * 56 * 56 == 602_112
    assert mul.ifmap_words == 602_112 + 2 * 96 and mul.ofmap_words == 602_112
    # MAC kinds: ops == macs
    conv = Layer.conv("c", c=8, k=16, h=8, w=8, r=3, padding=1, act="swish")
    assert conv.ops == conv.macs == 16 * 8 * 64 * 9
    assert conv.to_row()[16:] == (0, 6) and (conv.op_code, conv.act_code) == (0, 6)
    wl = Workload("w", [conv, gp, add, mul])
    assert wl.macs == conv.macs
    assert wl.ops == conv.macs + 62_720 + 75_264 + 602_112
    assert wl.weights == conv.weights
    arr = wl.to_array()
    assert arr.shape == (4, 18)
    assert arr[:, LAYER_FIELDS.index("op")].tolist() == [0, 1, 2, 3]
    assert arr[:, LAYER_FIELDS.index("act")].tolist() == [6, 0, 1, 0]


def test_act_codes_and_validation():
    for code, act in enumerate(ACTIVATIONS):
        assert Layer.fc("f", in_features=2, out_features=3, act=act).to_row()[-1] == code
    assert Layer.gemm("g", m=2, n=3, k=4).act == "none"
    with pytest.raises(ValueError, match=r"^Layer\.act must be one of \(.*\), got 'silu'$"):
        Layer("x", "conv", **_valid_fields(), act="silu")
    with pytest.raises(ValueError, match=r"Layer\.act .*got 'ReLU'"):
        Layer.conv("x", c=1, k=1, h=3, w=3, r=1, act="ReLU")
    with pytest.raises(ValueError, match=r"Layer\.act .*got 'mish'"):
        Layer.add("x", c=1, h=3, w=3, act="mish")
    with pytest.raises(TypeError, match=r"Layer\.act .*got None \(NoneType\)"):
        Layer("x", "conv", **_valid_fields(), act=None)  # type: ignore[arg-type]
    lay = Layer("x", "conv", **_valid_fields(), act="relu6")
    assert dataclasses.replace(lay, act="none").act == "none"
    assert pickle.loads(pickle.dumps(lay)) == lay and lay != dataclasses.replace(lay, act="none")


def test_vector_kind_fields_must_agree():
    def fields(**kw):
        return {**dict(n=1, k=4, c=4, p=5, q=5, r=1, s=1, h=5, w=5, groups=4), **kw}

    Layer("ok", "add", **fields())
    with pytest.raises(ValueError, match=r"Layer\.k must equal Layer\.c = 4 for kind 'add', got 8"):
        Layer("x", "add", **fields(k=8))
    with pytest.raises(ValueError, match=r"Layer\.groups must equal Layer\.c = 4 for kind 'mul', got 1"):
        Layer("x", "mul", **fields(groups=1))
    with pytest.raises(ValueError, match=r"Layer\.r must be 1 for kind 'mul', got 3"):
        Layer("x", "mul", **fields(r=3))
    with pytest.raises(ValueError, match=r"Layer\.pad_w must be 0 for kind 'add', got 1"):
        Layer("x", "add", **fields(pad_w=1))
    with pytest.raises(ValueError, match=r"Layer\.q must equal Layer\.w = 5 for kind 'add', got 4"):
        Layer("x", "add", **fields(q=4))
    with pytest.raises(ValueError, match=r"Layer\.k must equal Layer\.c = 4 for kind 'pool', got 2"):
        Layer("x", "pool", **fields(k=2, groups=2))
    with pytest.raises(ValueError, match=r"Layer\.add\.c must be a positive int, got 0"):
        Layer.add("x", c=0, h=5, w=5)
    with pytest.raises(ValueError, match=r"Layer\.n must be a positive int, got -1"):
        Layer.add("x", c=1, h=5, w=5, n=-1)
    with pytest.raises(ValueError, match=r"Layer\.pool\.c must be a positive int, got 0"):
        Layer.global_pool("x", c=0, h=5, w=5)
    with pytest.raises(TypeError, match=r"Layer\.mul\.h must be a positive int, got 5\.0"):
        Layer.mul("x", c=2, h=5.0, w=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"mode must be 'avg' or 'max', got 'min'"):
        Layer.pool("x", c=2, h=5, w=5, r=2, mode="min")
    with pytest.raises(ValueError, match=r"padding\[1\] = 2 must be at most half the window s = 3"):
        Layer.pool("x", c=2, h=5, w=5, r=3, padding=(1, 2))
    with pytest.raises(ValueError, match=r"output rows P = .* < 1 for h=2, pad_h=0, r=3"):
        Layer.pool("x", c=2, h=2, w=5, r=3)
    with pytest.raises(ValueError, match=r"Layer\.pool\.r must be a positive int, got 0"):
        Layer.pool("x", c=2, h=2, w=5, r=0)


@settings(max_examples=40, deadline=None)
@given(c=st.integers(1, 3), n=st.integers(1, 2), h=st.integers(1, 12), w=st.integers(1, 12),
       r=st.integers(1, 4), s=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2))
def test_pool_output_size_matches_torch(c, n, h, w, r, s, sh, sw, ph, pw):
    torch = pytest.importorskip("torch")
    assume(2 * ph <= r and 2 * pw <= s and r <= h + 2 * ph and s <= w + 2 * pw)
    lay = Layer.pool("x", c=c, h=h, w=w, r=r, s=s, stride=(sh, sw), padding=(ph, pw), n=n)
    out = torch.nn.functional.max_pool2d(torch.zeros(n, c, h, w), (r, s), (sh, sw), (ph, pw))
    assert tuple(out.shape) == (lay.n, lay.k, lay.p, lay.q)


# ============================================================================ Layer: validation

def _valid_fields() -> dict:
    return dict(n=1, k=8, c=4, p=6, q=6, r=3, s=3, h=8, w=8, stride_h=1, stride_w=1,
                pad_h=0, pad_w=0, dilation_h=1, dilation_w=1, groups=2)


def test_error_message_names_field_and_value():
    with pytest.raises(ValueError, match=r"^Layer\.k must be a positive int, got -3$"):
        Layer("x", "conv", **{**_valid_fields(), "k": -3})
    with pytest.raises(ValueError, match=r"Layer\.pad_w must be a non-negative int, got -1"):
        Layer("x", "conv", **{**_valid_fields(), "pad_w": -1})
    with pytest.raises(TypeError, match=r"Layer\.h must be a positive int, got 8\.0 \(float\)"):
        Layer("x", "conv", **{**_valid_fields(), "h": 8.0})
    with pytest.raises(TypeError, match=r"Layer\.groups .*True \(bool\)"):
        Layer("x", "conv", **{**_valid_fields(), "groups": True})


def test_groups_must_divide_channels():
    with pytest.raises(ValueError, match=r"Layer\.c must be divisible by Layer\.groups = 3, got 4"):
        Layer("x", "conv", **{**_valid_fields(), "groups": 3, "k": 9})
    with pytest.raises(ValueError, match=r"Layer\.k must be divisible by Layer\.groups = 4, got 6"):
        Layer("x", "conv", **{**_valid_fields(), "groups": 4, "k": 6})


def test_filter_larger_than_padded_input():
    # 5x5 filter on a 3x3 input: needs pad >= 1 to fit
    with pytest.raises(ValueError, match=r"Layer\.r = 5 .* padded input h \+ 2\*pad_h = 3 \+ 2\*0 = 3"):
        Layer("x", "conv", n=1, k=1, c=1, p=1, q=1, r=5, s=1, h=3, w=3)
    Layer("x", "conv", n=1, k=1, c=1, p=1, q=1, r=5, s=1, h=3, w=3, pad_h=1)  # fits
    # dilation counts: (3-1)*2 + 1 = 5 > 4
    with pytest.raises(ValueError, match=r"Layer\.s = 3 .*dilation_w = 2"):
        Layer("x", "conv", n=1, k=1, c=1, p=1, q=1, r=1, s=3, h=4, w=4, dilation_w=2)


def test_conv_output_smaller_than_one():
    with pytest.raises(ValueError, match=r"P = .* = 0 < 1 for h=2, pad_h=0, r=3"):
        Layer.conv("x", c=1, k=1, h=2, w=9, r=3)
    with pytest.raises(ValueError, match=r"Q = .* < 1 for w=4, pad_w=0, s=3, dilation_w=2"):
        Layer.conv("x", c=1, k=1, h=9, w=4, r=3, dilation=(1, 2))
    with pytest.raises(ValueError, match=r"stride must be an int or a pair"):
        Layer.conv("x", c=1, k=1, h=9, w=9, r=3, stride=(1, 2, 3))


def test_kind_and_name_and_size_limit():
    with pytest.raises(ValueError, match=r"Layer\.kind must be one of .*, got 'attn'"):
        Layer("x", "attn", **_valid_fields())
    with pytest.raises(TypeError, match=r"Layer\.name must be a str"):
        Layer(3, "conv", **_valid_fields())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Layer\.name must be a non-empty"):
        Layer("", "conv", **_valid_fields())
    with pytest.raises(ValueError, match=r"Layer\.n must be <= 2\*\*31 - 1"):
        Layer("x", "conv", **{**_valid_fields(), "n": 2**31})
    assert Layer("x", "conv", **{**_valid_fields(), "n": MAX_DIM}).n == MAX_DIM


def test_kind_fields_must_agree():
    with pytest.raises(ValueError, match=r"Layer\.stride_h must be 1 for kind 'fc', got 2"):
        Layer("x", "fc", n=3, k=2, c=3, p=1, q=1, r=1, s=1, h=1, w=1, stride_h=2)
    with pytest.raises(ValueError, match=r"Layer\.p must be 1 for kind 'fc', got 6"):
        Layer("x", "fc", **_valid_fields())
    with pytest.raises(ValueError, match=r"Layer\.h must equal Layer\.p .* for kind 'gemm', got 7"):
        Layer("x", "gemm", n=1, k=2, c=3, p=6, q=1, r=1, s=1, h=7, w=1)


_BAD_VALUES = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=MAX_DIM + 1, max_value=2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.just(np.float64(2.0)),
    st.just(np.bool_(True)),
    st.just([1]),
)


@settings(max_examples=100, deadline=None)
@given(field=st.sampled_from(INT_FIELDS + ("zero",)), bad=_BAD_VALUES, data=st.data())
def test_invalid_field_always_raises_value_or_type_error(field, bad, data):
    fields = _valid_fields()
    if field == "zero":  # zero is invalid for every field except the pads
        field = data.draw(st.sampled_from([f for f in INT_FIELDS if not f.startswith("pad")]))
        bad = 0
    fields[field] = bad
    with pytest.raises((ValueError, TypeError)) as info:
        Layer("x", "conv", **fields)
    assert f"Layer.{field}" in str(info.value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["c", "k", "h", "w", "r", "s", "stride", "padding",
                                        "dilation", "groups", "n"]),
                       st.one_of(st.integers(-3, 40), st.tuples(st.integers(-1, 5), st.integers(-1, 5)),
                                 st.floats(0, 5), st.none()),
                       min_size=11))
def test_conv_builder_raises_only_value_or_type_error(kwargs):
    try:
        lay = Layer.conv("x", **kwargs)
    except (ValueError, TypeError):
        return
    assert lay.p >= 1 and lay.q >= 1 and lay.macs > 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(cg=st.integers(1, 3), kg=st.integers(1, 3), groups=st.integers(1, 3), n=st.integers(1, 2),
       h=st.integers(1, 14), w=st.integers(1, 14), r=st.integers(1, 5), s=st.integers(1, 5),
       sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
       dh=st.integers(1, 3), dw=st.integers(1, 3))
def test_conv_output_size_matches_torch(cg, kg, groups, n, h, w, r, s, sh, sw, ph, pw, dh, dw):
    torch = pytest.importorskip("torch")
    assume((r - 1) * dh + 1 <= h + 2 * ph and (s - 1) * dw + 1 <= w + 2 * pw)
    c, k = cg * groups, kg * groups
    lay = Layer.conv("x", c=c, k=k, h=h, w=w, r=r, s=s, stride=(sh, sw), padding=(ph, pw),
                     dilation=(dh, dw), groups=groups, n=n)
    out = torch.nn.functional.conv2d(torch.zeros(n, c, h, w), torch.zeros(k, cg, r, s),
                                     stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=groups)
    assert tuple(out.shape) == (lay.n, lay.k, lay.p, lay.q)
    assert lay.weights == torch.zeros(k, cg, r, s).numel()


# ============================================================================ Workload

def _small_workload() -> Workload:
    return Workload("net", [Layer.conv("conv1", c=3, k=8, h=8, w=8, r=3, padding=1),
                            Layer.conv("dw", c=8, k=8, h=8, w=8, r=3, padding=1, groups=8),
                            Layer.fc("fc", in_features=8, out_features=10)])


def test_workload_sequence_and_totals():
    wl = _small_workload()
    assert len(wl) == 3 and wl.names == ["conv1", "dw", "fc"]
    assert wl[0].name == "conv1" and wl[-1].name == "fc" and wl[np.int64(1)].name == "dw"
    assert wl["dw"] is wl[1]
    assert "fc" in wl and "nope" not in wl and wl[0] in wl
    assert [lay.name for lay in wl] == wl.names
    # conv1: 8*3*64*9 = 13824; dw: 8*64*9 = 4608; fc: 80
    assert wl.macs == 13824 + 4608 + 80
    assert wl.weights == 216 + 72 + 80
    assert wl.params == wl.weights  # default
    assert Workload("n", wl.layers, params=1234).params == 1234
    assert "Workload(name='net', layers=3" in repr(wl)
    assert pickle.loads(pickle.dumps(wl)) == wl


def test_workload_lookup_errors():
    wl = _small_workload()
    with pytest.raises(KeyError, match="no layer named 'dw2'.*close matches: dw"):
        wl["dw2"]
    with pytest.raises(IndexError, match="has 3 layers, index 3"):
        wl[3]
    with pytest.raises(TypeError, match="indices must be int or str"):
        wl[1.0]  # type: ignore[index]


def test_workload_to_array_cached_read_only():
    wl = _small_workload()
    arr = wl.to_array()
    assert arr.dtype == np.int64 and arr.shape == (3, 18)
    assert arr is wl.to_array()
    assert not arr.flags.writeable
    with pytest.raises(ValueError):
        arr[0, 0] = 5
    assert tuple(arr[1]) == wl[1].to_row()
    assert arr[:, LAYER_FIELDS.index("groups")].tolist() == [1, 8, 1]


def test_workload_validation():
    with pytest.raises(ValueError, match=r"^Workload 'empty' has no layers$"):
        Workload("empty", [])
    lay = Layer.fc("a", in_features=2, out_features=2)
    with pytest.raises(ValueError, match="layer name 'a' is used by layers 0 and 1"):
        Workload("dup", [lay, lay])
    with pytest.raises(TypeError, match=r"Workload\.layers\[1\] must be a Layer, got 'b'"):
        Workload("w", [lay, "b"])
    with pytest.raises(ValueError, match=r"Workload\.params must be .* got -1"):
        Workload("w", [lay], params=-1)
    with pytest.raises(TypeError, match=r"Workload\.params"):
        Workload("w", [lay], params=1.5)  # type: ignore[arg-type]
    wl = Workload("w", [lay])
    with pytest.raises(AttributeError):
        wl.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        wl.layers = ()  # type: ignore[misc]


def test_workload_import_does_not_import_torch():
    import codesign

    pkg_root = str(Path(codesign.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": pkg_root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = ("import sys, codesign.workload as w; "
            "assert w.Layer.gemm('g', m=2, n=3, k=4).macs == 24; "
            "bad = [m for m in ('torch', 'timm', 'pandas') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# ============================================================================ SCALE-Sim CSV

def test_scalesim_subsets():
    # AlexNet Conv5: 13x13x384 ifmap, 3x3 filter, 256 filters, stride 1, no padding -> 11x11 output.
    alex = from_scalesim_csv(TOPO / "alexnet_conv5.csv")
    assert alex.name == "alexnet_conv5" and len(alex) == 1
    conv5 = alex["Conv5"]
    assert (conv5.p, conv5.q, conv5.pad_h, conv5.pad_w) == (11, 11, 0, 0)
    assert conv5.macs == 121 * 3456 * 256 == 107_053_056  # P * (R*S*C) * N
    # MobileNet Conv24: 14x14, 3x3, stride 2 -> ceil((14 - 3 + 2)/2) = 7 (PyTorch's floor rule gives 6)
    mob = from_scalesim_csv(TOPO / "mobilenet_conv24_conv26.csv")
    assert mob.names == ["Conv24", "Conv26"]
    assert (mob["Conv24"].p, mob["Conv24"].q) == (7, 7)
    assert (mob["Conv26"].p, mob["Conv26"].q) == (3, 3)  # ceil((7 - 3 + 2)/2) = 3
    # depthwise written as Num Filter = 1: stays a 1-filter conv over all channels
    assert (mob["Conv24"].k, mob["Conv24"].c, mob["Conv24"].groups) == (1, 512, 1)
    assert mob["Conv24"].macs == 49 * 9 * 512
    fc = from_scalesim_csv(TOPO / "resnet18_fc.csv")["FC"]
    assert fc.to_row() == (1, 1000, 512, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0)
    # GEMM format, CRLF line endings: M=128, N=64, K=128
    tr = from_scalesim_csv(TOPO / "transformer_attn_qk_v.csv", name="attn")
    assert tr.name == "attn" and tr.names == ["SD_MatMul_QK_00", "SD_MatMul_V_00"]
    qk = tr[0]
    assert qk.kind == "gemm" and (qk.gemm_m, qk.gemm_n, qk.gemm_k) == (128, 64, 128)
    assert qk.macs == 128 * 64 * 128
    assert tr.source.endswith("transformer_attn_qk_v.csv")


def test_scalesim_im2col_size_matches_scalesim_run():
    # SCALE-Sim's own runs (shared/reference/scalesim/runs/google_is_*/DETAILED_ACCESS_REPORT.csv):
    # with the input-stationary dataflow "SRAM IFMAP Reads" = P*Kw, the im2col ifmap size, which is
    # gemm_m * gemm_k here. It confirms the ceil output rule on real tool output.
    reads = {("alexnet_conv5.csv", 0): 418_176, ("mobilenet_conv24_conv26.csv", 0): 225_792,
             ("mobilenet_conv24_conv26.csv", 1): 82_944, ("resnet18_fc.csv", 0): 512}
    for (fname, i), expected in reads.items():
        lay = from_scalesim_csv(TOPO / fname)[i]
        assert lay.gemm_m * lay.gemm_k == expected, (fname, i)


def test_scalesim_full_topologies():
    mob = from_scalesim_csv(TOPO / "mobilenet.csv")
    assert len(mob) == 27 and mob.names[0] == "Conv1" and mob.names[-1] == "Conv27"
    # Conv1: 224x224x3, 3x3, 32 filters, stride 2 -> ceil(223/2) = 112
    assert (mob["Conv1"].p, mob["Conv1"].macs) == (112, 112 * 112 * 27 * 32)
    # Resnet50.csv: extra columns (ignored), a blank ',,,,' line (skipped), no final newline
    res = from_scalesim_csv(TOPO / "Resnet50.csv")
    assert len(res) == 54 and res.names[0] == "Conv1" and res.names[-1] == "FC6"
    # the file's own "Eh, Ew" columns say Conv1 gives 110 x 110: ceil((224 - 7 + 2)/2) = 110
    assert (res["Conv1"].p, res["Conv1"].q) == (110, 110)
    # 1x1 stride-2 shortcut on 56x56: ceil((56 - 1 + 2)/2) = 29 (PyTorch with no padding: 28)
    assert res["CB3s"].p == 29
    assert res["FC6"].macs == 2048 * 1000
    assert res.to_array().shape == (54, 18)
    assert not res.to_array()[:, 16:].any()  # op conv, act none


def test_scalesim_dp_layer_becomes_grouped_conv(tmp_path):
    f = tmp_path / "dp.csv"
    f.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                 "  DP1 , 16, 16, 3, 3, 32, 2, 1,\n"
                 "\n"
                 "Conv2, 14, 14, 1, 1, 64, 8, 1\n")  # no trailing comma: the stride is still read
    wl = from_scalesim_csv(f)
    dp = wl["DP1"]  # name stripped
    # SCALE-Sim runs 32 layers of C=1, N=2 each: total MACs 32 * 14*14 * 9 * 2
    assert (dp.c, dp.k, dp.groups) == (32, 64, 32)
    assert dp.macs == 32 * 14 * 14 * 9 * 2
    assert wl["Conv2"].to_row() == (1, 8, 64, 14, 14, 1, 1, 14, 14, 1, 1, 0, 0, 1, 1, 1, 0, 0)


def test_scalesim_repeated_names_made_unique(tmp_path):
    f = tmp_path / "rep.csv"
    f.write_text("Layer,M,N,K,\nmm,4,4,4,\nmm,2,2,2,\nmm,1,1,1,\n")
    assert from_scalesim_csv(f).names == ["mm", "mm#2", "mm#3"]


_CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


@pytest.mark.parametrize("row, column, value", [
    ("Conv2, 14, 14, 3, 3, 64,", "Num Filter", ""),          # missing fields
    ("Conv2, 14, 14, 3, 3, 64, 8", "Strides", ""),           # one short
    ("Conv2, 14, 1.5, 3, 3, 64, 8, 1,", "IFMAP Width", "1.5"),
    ("Conv2, 14, 14, 3, 3, sixty, 8, 1,", "Channels", "sixty"),
    ("Conv2, 14, 14, 3, 3, 64, 0, 1,", "Num Filter", "0"),
    ("Conv2, 14, 14, 3, 3, 64, 8, -2,", "Strides", "-2"),
    ("Conv2, 14, 14, 3, , 64, 8, 1,", "Filter Width", ""),
    ("Conv2, 2, 14, 3, 3, 64, 8, 1,", "Filter Height", "3"),  # filter taller than the ifmap
    (", 14, 14, 3, 3, 64, 8, 1,", "Layer name", ""),
])
def test_scalesim_malformed_conv_rows(tmp_path, row, column, value):
    f = tmp_path / "bad.csv"
    f.write_text(_CONV_HEADER + "Conv1, 14, 14, 3, 3, 64, 8, 1,\n" + row + "\n")
    with pytest.raises(ValueError) as info:
        from_scalesim_csv(f)
    msg = str(info.value)
    assert str(f) in msg and "line 3" in msg and f"column {column!r}" in msg
    if value:
        assert repr(value) in msg


def test_scalesim_malformed_gemm_and_files(tmp_path):
    f = tmp_path / "g.csv"
    f.write_text("Layer,M,N,K,\nok,1,2,3,\n\nbad,4,x,5,\n")
    with pytest.raises(ValueError, match=r"line 4: column 'N' must be a positive integer, got 'x'"):
        from_scalesim_csv(f)
    f.write_text("Layer,M,N,K,\nbad,4,5,\n")
    with pytest.raises(ValueError, match=r"line 2: column 'K' is missing"):
        from_scalesim_csv(f)
    f.write_text("Layer,M,N,K,\n")
    with pytest.raises(ValueError, match="no layers found"):
        from_scalesim_csv(f)
    f.write_text("Conv1,224,224,3,3,3,32,2,\nConv2,112,112,3,3,32,1,1,\n")  # header forgotten
    with pytest.raises(ValueError, match=r"line 1: expected the header row, got the layer row 'Conv1,224"):
        from_scalesim_csv(f)
    f.write_text("name,a,b\nx,1,2\n")
    with pytest.raises(ValueError, match=r"line 1: header must be"):
        from_scalesim_csv(f)
    with pytest.raises(OSError):
        from_scalesim_csv(tmp_path / "missing.csv")


# ============================================================================ torch

def test_from_torch_small_sequential():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1, groups=16),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )
    net.train()
    wl = from_torch(net, (2, 3, 32, 30), name="tiny")
    assert net.training and net[1].training  # mode restored
    assert wl.name == "tiny" and wl.source == "torch:Sequential"
    assert wl.names == ["0", "3", "4", "6"]
    # conv 0: P = floor((32 + 2 - 2 - 1)/2) + 1 = 16, Q = floor((30 + 2 - 2 - 1)/2) + 1 = 15;
    # the ReLU after its BatchNorm is fused into it
    assert wl["0"] == Layer("0", "conv", n=2, k=16, c=3, p=16, q=15, r=3, s=3, h=32, w=30,
                            stride_h=2, stride_w=2, pad_h=1, pad_w=1, act="relu")
    # AdaptiveAvgPool2d(1) on 16 x 15: a global pool
    assert wl["4"] == Layer.global_pool("4", c=16, h=16, w=15, n=2)
    mac = from_torch(net, (2, 3, 32, 30), name="tiny", ops="mac")
    assert mac.names == ["0", "3", "6"] and mac["0"].act == "none"
    assert mac.layers == tuple(dataclasses.replace(lay, act="none") for lay in wl if lay.kind != "pool")
    assert wl["3"] == Layer("3", "conv", n=2, k=16, c=16, p=16, q=15, r=3, s=3, h=16, w=15,
                            pad_h=1, pad_w=1, groups=16)
    assert wl["3"].is_depthwise
    assert wl["6"] == Layer.fc("6", in_features=16, out_features=10, n=2)
    # params: conv 432 (no bias) + BN 32 + dw 144 + 16 bias + linear 160 + 10
    assert wl.params == 432 + 32 + 160 + 170 == sum(p.numel() for p in net.parameters())
    assert wl.weights == 432 + 144 + 160


def test_from_torch_fallback_reuse_and_linear_leading_dims():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Branchy(nn.Module):  # data-dependent branch: torch.fx cannot trace it, one forward pass is recorded
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(4, 4, 3, padding="same")
            self.b = nn.Conv2d(4, 8, 1)
            self.head = nn.Linear(4, 6)

        def forward(self, x):
            x = self.a(self.a(x))  # the same module twice
            if x.abs().sum() >= 0:  # always true, but only known at run time
                x = x
            else:
                x = self.b(x)
            return self.head(x.permute(0, 2, 3, 1))  # (N, H, W, C) -> Linear over C

    with pytest.warns(UserWarning, match=r"Branchy: torch\.fx could not trace the model \(TraceError.*recorded one "
                                         r"forward pass.*not the branches it does not take"):
        wl = from_torch(Branchy(), (1, 4, 8, 8))
    # the recorded pass holds the branch condition's work (abs, sum: one pass each), not the branch not taken
    assert wl.names == ["a", "a#2", "abs", "sum", "head"]
    assert [wl["abs"].kind, wl["abs"].ops, wl["sum"].ops] == ["act", 4 * 8 * 8, 4 * 8 * 8]
    assert wl["a#2"].to_row() == wl["a"].to_row() == (1, 4, 4, 8, 8, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 0, 0)
    assert wl["head"].n == 1 * 8 * 8 and wl["head"].macs == 64 * 4 * 6


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_from_torch_string_and_dynamic_padding():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    # 'same' with an even 4x4 filter: real padding is 1 top, 2 bottom (total 3): recorded as 2
    wl = from_torch(nn.Sequential(nn.Conv2d(2, 2, 4, padding="same")), (1, 2, 8, 8))
    assert (wl[0].p, wl[0].q, wl[0].pad_h, wl[0].pad_w) == (8, 8, 2, 2)
    wl = from_torch(nn.Sequential(nn.Conv2d(2, 2, (3, 1), padding="valid")), (1, 2, 8, 8))
    assert (wl[0].p, wl[0].q, wl[0].pad_h, wl[0].pad_w) == (6, 8, 0, 0)
    timm_layers = pytest.importorskip("timm.layers")
    # timm's Conv2dSame pads inside forward (module.padding == 0): 225 -> ceil(225/2) = 113 rows,
    # total pad = (113-1)*2 + 3 - 225 = 2 -> 1 each side; 224 -> 112, total 1 -> recorded 1
    conv = timm_layers.Conv2dSame(3, 8, 3, stride=2)
    wl = from_torch(nn.Sequential(conv), (1, 3, 225, 224))
    assert (wl[0].h, wl[0].w, wl[0].p, wl[0].q, wl[0].pad_h, wl[0].pad_w) == (225, 224, 113, 112, 1, 1)


def test_from_torch_errors():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(3, 4, 3))
    with pytest.raises(TypeError, match="must be a torch.nn.Module, got"):
        from_torch(lambda x: x)
    for bad in [(1, 3, 0, 8), (1, 3, -8, 8), (1, 3, 8.0, 8), "1,3,8,8", 8, ()]:
        with pytest.raises(ValueError, match="input_shape"):
            from_torch(net, bad)
    with pytest.raises(ValueError, match=r"forward pass of Sequential on input_shape=\(1, 2, 8, 8\) failed"):
        from_torch(net, (1, 2, 8, 8))  # wrong channel count
    # a bare layer works too; it is named after its class
    wl = from_torch(nn.Conv2d(3, 8, 3, stride=2), (3, 9, 9))  # unbatched input: n = 1
    assert wl.names == ["Conv2d"] and wl[0].to_row()[:5] == (1, 8, 3, 4, 4)
    with pytest.raises(ValueError, match="no nn.Conv2d or nn.Linear"):
        from_torch(nn.Sequential(nn.Identity()), (1, 3, 8, 8))
    # a lone activation is a stand-alone "act" pass (one op per element, plus the activation's own)
    wl = from_torch(nn.Sequential(nn.GELU()), (2, 3, 8, 8))
    assert [(lay.kind, lay.act, lay.ops) for lay in wl] == [("act", "gelu", 2 * 3 * 8 * 8)]


# ============================================================================ timm (published totals)

@pytest.fixture(scope="module")
def timm_mod():
    pytest.importorskip("torch")
    return pytest.importorskip("timm")


_TIMM_CACHE: dict = {}


def _timm(name: str, ops: str) -> Workload:
    """from_timm(name, ops=ops), built once per test session (workloads are immutable)."""
    if (name, ops) not in _TIMM_CACHE:
        _TIMM_CACHE[name, ops] = from_timm(name, ops=ops)
    return _TIMM_CACHE[name, ops]


def test_from_timm_mobilenetv2(timm_mod):
    wl = _timm("mobilenetv2_100", "mac")
    assert wl.source == "timm:mobilenetv2_100" and wl.name == "mobilenetv2_100"
    # Sandler et al. 2018 (MobileNetV2), Table 4: 300M multiply-adds at 224x224.
    assert wl.macs == pytest.approx(300e6, rel=0.02)
    # Params: the paper's Table 4 says 3.4M, but the model it describes (also torchvision's
    # mobilenet_v2 docs: 3,504,872, and timm's model card: 3.5M) has 3.5M with the 1000-class head.
    assert wl.params == pytest.approx(3.5e6, rel=0.02)
    assert len(wl) == 53  # stem + 17 blocks (1x2 + 16x3 convs) + 1x1 head conv + classifier
    first = wl[0]
    assert (first.c, first.k, first.r, first.stride_h, first.pad_h, first.p) == (3, 32, 3, 2, 1, 112)
    assert sum(lay.is_depthwise for lay in wl) == 17
    assert wl[-1].kind == "fc" and (wl[-1].c, wl[-1].k) == (1280, 1000)


def test_from_timm_resnet50(timm_mod):
    wl = _timm("resnet50", "all")
    # He et al. 2016 (Table 1: 3.8e9 FLOPs, counted as multiply-adds, without the stride fix);
    # torchvision's ResNet50_Weights.IMAGENET1K_V1 docs: 4.09 GFLOPS (multiply-adds), 25,557,032 params.
    assert wl.macs == pytest.approx(4.1e9, rel=0.02)
    assert wl.params == pytest.approx(25.6e6, rel=0.02)
    assert sum(lay.is_mac for lay in wl) == 54  # 1 stem + 16 bottlenecks x 3 + 4 downsample convs + fc
    assert wl["conv1"].to_row() == (1, 64, 3, 112, 112, 7, 7, 224, 224, 2, 2, 3, 3, 1, 1, 1, 0, 1)
    assert wl["fc"].to_row()[:3] == (1, 1000, 2048)


def test_from_timm_efficientnet_es_and_mnasnet(timm_mod):
    # Plausible-range checks (timm model cards: efficientnet_es 5.4M params / 1.8 GMACs,
    # mnasnet_100 4.4M params / 0.3 GMACs at 224x224).
    es = from_timm("efficientnet_es")
    assert 5.2e6 < es.params < 5.6e6 and 1.6e9 < es.macs < 2.0e9
    # EfficientNet-EdgeTPU: early stages are fused (a full 3x3 conv, no depthwise)
    assert es["blocks.0.0.conv_exp"].r == 3 and es["blocks.0.0.conv_exp"].groups == 1
    assert any(lay.is_depthwise for lay in es)
    mn224 = from_timm("mnasnet_100")
    assert 4.2e6 < mn224.params < 4.6e6 and 0.28e9 < mn224.macs < 0.34e9
    # resolution and batch reach the input: 96x64 (both divisible by the total stride 32, so every
    # feature map shrinks exactly by 3/7 x 2/7) at batch 2
    mn = from_timm("mnasnet_100", resolution=(96, 64), batch=2)
    assert mn[0].n == 2 and (mn[0].h, mn[0].w) == (96, 64)
    assert mn.names == mn224.names and mn.params == mn224.params

    def conv_fc(wl):
        return (sum(lay.macs for lay in wl if lay.kind == "conv"),
                sum(lay.macs for lay in wl if lay.kind == "fc"))

    (conv, fc), (conv224, fc224) = conv_fc(mn), conv_fc(mn224)
    assert conv * 49 == conv224 * 2 * 6  # conv MACs scale with batch x pixels
    assert fc == 2 * fc224 == 2 * 1280 * 1000  # the classifier only with batch


def test_from_timm_unknown_name(timm_mod):
    with pytest.raises(ValueError, match=r"unknown timm model name 'resnet5O'.*close matches:.*resnet50"):
        from_timm("resnet5O")
    with pytest.raises(ValueError, match=r"from_timm\.batch must be a positive int, got 0"):
        from_timm("resnet50", batch=0)


# ============================================================================ torch: ops="all"

def _tail(wl: Workload) -> list[tuple[str, str, str]]:
    return [(lay.name, lay.kind, lay.act) for lay in wl]


def test_from_torch_all_ops_functional_forms():
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.c2 = nn.Conv2d(8, 8, 3, padding=1)
            self.c3 = nn.Conv2d(8, 8, 1)
            self.c4 = nn.Conv2d(8, 8, 1)
            self.fc = nn.Linear(8, 4)
            self.scale = nn.Parameter(torch.ones(1, 8, 1, 1))

        def forward(self, x):
            x = F.relu(self.bn1(self.c1(x)))         # fused into c1 through the BatchNorm
            x = F.max_pool2d(x, 3, 2, 1)             # 16x16 -> 8x8
            y = self.c2(x)
            y = y * torch.sigmoid(y)                 # swish, fused into c2
            z = self.c3(y)
            z = z + z.sigmoid()                      # c3's output feeds two ops: a stand-alone sigmoid; an add
            z = z + 1.0                              # a Python number: ignored
            z = z * self.scale                       # a constant per-channel scale: ignored
            g = z.mean((2, 3), keepdim=True)         # SE squeeze: a global pool
            z = z * torch.sigmoid(self.c4(g))        # SE excite: sigmoid fused into c4, then a mul
            z = F.avg_pool2d(z, 2, ceil_mode=True)   # 8x8 -> 4x4
            z = torch.mean(z, dim=[-1, -2])          # global pool flattened to (N, C)
            return torch.tanh(self.fc(z.flatten(1)))

    wl = from_torch(Net(), (2, 3, 16, 16))
    assert _tail(wl) == [("c1", "conv", "relu"), ("max_pool2d", "pool", "none"), ("c2", "conv", "swish"),
                         ("c3", "conv", "none"), ("sigmoid", "act", "sigmoid"), ("add", "add", "none"),
                         ("mean", "pool", "none"),
                         ("c4", "conv", "sigmoid"), ("mul", "mul", "none"), ("avg_pool2d", "pool", "none"),
                         ("mean#2", "pool", "none"), ("fc", "fc", "tanh")]
    # P = floor((16 + 2 - 3)/2) + 1 = 8
    assert wl["max_pool2d"] == Layer.pool("max_pool2d", c=8, h=16, w=16, r=3, stride=2, padding=1, n=2)
    assert wl["add"] == Layer.add("add", c=8, h=8, w=8, n=2)
    assert wl["mean"] == Layer.global_pool("mean", c=8, h=8, w=8, n=2)
    assert wl["mul"] == Layer.mul("mul", c=8, h=8, w=8, n=2)
    assert wl["avg_pool2d"] == Layer.pool("avg_pool2d", c=8, h=8, w=8, r=2, n=2)
    assert wl["mean#2"] == Layer.global_pool("mean#2", c=8, h=4, w=4, n=2)
    # the MAC layers alone, activations cleared, are exactly ops="mac"
    mac = from_torch(Net(), (2, 3, 16, 16), ops="mac")
    assert mac.layers == tuple(dataclasses.replace(lay, act="none") for lay in wl if lay.is_mac)
    assert wl.macs == mac.macs
    # vector ops: 2*8*8*8*9 (max pool) + 4 * 2*8*64 (sigmoid pass, add, SE mean, SE mul) + 2*8*16*4 + 2*8*16
    assert wl.ops - wl.macs == 9216 + 4 * 1024 + 1024 + 256


def test_from_torch_all_ops_modules_and_timm_layers():
    torch = pytest.importorskip("torch")
    timm_layers = pytest.importorskip("timm.layers")
    from timm.layers.activations import GELU, HardSigmoid, Swish
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), timm_layers.BatchNormAct2d(8, act_layer=nn.ReLU6),   # 0, 1
        nn.Conv2d(8, 8, 3, padding=1, groups=8), timm_layers.BatchNormAct2d(8, apply_act=False),
        nn.Hardswish(),                                                                     # 2-4
        nn.Conv2d(8, 8, 1), Swish(),                                                        # 5, 6
        nn.MaxPool2d(3, 2, 1, ceil_mode=True),                                              # 7
        nn.Conv2d(8, 8, 1), nn.Dropout(), HardSigmoid(),                                    # 8-10
        nn.AvgPool2d(2, ceil_mode=True),                                                    # 11
        nn.AdaptiveAvgPool2d(2),                                                            # 12
        nn.Conv2d(8, 8, 1), nn.Identity(), nn.Tanh(), nn.ReLU(),                            # 13-16
        timm_layers.SelectAdaptivePool2d(pool_type="avg", flatten=True),                    # 17
        nn.Linear(8, 4), GELU(),                                                            # 18, 19
    )
    wl = from_torch(net, (1, 3, 16, 16))
    assert _tail(wl) == [("0", "conv", "relu6"), ("2", "conv", "hswish"), ("5", "conv", "swish"),
                         ("7", "pool", "none"), ("8", "conv", "hsigmoid"), ("11", "pool", "none"),
                         ("12", "pool", "none"), ("13", "conv", "tanh"),
                         ("16", "act", "relu"), ("17", "pool", "none"),
                         ("18", "fc", "gelu")]  # the ReLU after the Tanh: a stand-alone pass
    # ceil_mode: 16 -> ceil((16 + 2 - 3)/2) + 1 = 9 (floor: 8); the module's pad 1 is kept
    assert wl["7"].to_row() == (1, 8, 8, 9, 9, 3, 3, 16, 16, 2, 2, 1, 1, 1, 1, 8, 1, 0)
    # 9 -> ceil((9 - 2)/2) + 1 = 5; adaptive 5 -> 2: window ceil(5/2) = 3, stride floor(5/2) = 2
    assert (wl["11"].p, wl["11"].pad_h) == (5, 0)
    assert wl["12"].to_row()[:11] == (1, 8, 8, 2, 2, 3, 3, 5, 5, 2, 2)
    assert wl["17"] == Layer.global_pool("17", c=8, h=2, w=2)
    # the same module with forward hooks (as when torch.fx fails) finds the same: all are modules
    from codesign.workload import _capture_hooks_all
    with torch.no_grad():
        recs = _capture_hooks_all(net.eval(), torch.zeros(1, 3, 16, 16))
    assert [(r.layer.name, r.layer.kind, r.act) for r in recs] == _tail(wl)
    # pool type "": an identity, not a pool; the activation walks back through it
    net2 = nn.Sequential(nn.Conv2d(3, 4, 1), timm_layers.SelectAdaptivePool2d(pool_type=""), nn.SiLU())
    assert _tail(from_torch(net2, (1, 3, 4, 4))) == [("0", "conv", "swish")]
    # "catavgmax" concatenates avg and max (2C outputs): still one global pool over the C inputs
    net3 = nn.Sequential(nn.Conv2d(3, 4, 1), timm_layers.SelectAdaptivePool2d(pool_type="catavgmax", flatten=True))
    assert from_torch(net3, (2, 3, 5, 6))[1] == Layer.global_pool("1", c=4, h=5, w=6, n=2)


def test_from_torch_all_ops_hook_fallback():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Branchy(nn.Module):  # data-dependent branch: torch.fx cannot trace it
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.act1 = nn.ReLU(inplace=True)
            self.pool = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
            self.bn2 = nn.BatchNorm2d(8)
            self.act2 = nn.ReLU(inplace=True)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.drop = nn.Dropout()
            self.fc = nn.Linear(8, 4)
            self.gate = nn.Sigmoid()

        def forward(self, x):
            x = self.pool(self.act1(self.bn1(self.conv1(x))))
            shortcut = x if x.sum() > -1 else -x
            y = self.bn2(self.conv2(x))
            y += shortcut      # in place: the ReLU that follows belongs to this add (unseen by hooks)
            y = self.act2(y)
            y = y * y.mean((2, 3), keepdim=True)   # functional: unseen by hooks
            return self.gate(self.fc(self.drop(self.gap(y).flatten(1))))

    # torch.fx fails; one recorded forward pass sees the functional ops too: the in-place add (the ReLU that
    # follows fused into it), the SE mean and multiply, and the branch condition's sum
    with pytest.warns(UserWarning, match="recorded one forward pass"):
        wl = from_torch(Branchy(), (1, 3, 8, 8))
    assert _tail(wl) == [("conv1", "conv", "relu"), ("pool", "pool", "none"), ("sum", "act", "none"),
                         ("conv2", "conv", "none"), ("add", "add", "relu"), ("mean", "pool", "none"),
                         ("mul", "mul", "none"), ("gap", "pool", "none"), ("fc", "fc", "sigmoid")]
    # the last resort, forward hooks on module calls, sees no functional op: the ReLU after the unseen in-place
    # add cannot be fused, a stand-alone pass
    from codesign.workload import _capture_hooks_all
    with torch.no_grad():
        recs = _capture_hooks_all(Branchy().eval(), torch.zeros(1, 3, 8, 8))
    assert [(r.layer.name, r.layer.kind, r.act) for r in recs] == [
        ("conv1", "conv", "relu"), ("pool", "pool", "none"), ("conv2", "conv", "none"), ("act2", "act", "relu"),
        ("gap", "pool", "none"), ("fc", "fc", "sigmoid")]
    assert wl["pool"] == Layer.pool("pool", c=8, h=8, w=8, r=2)
    assert [lay.name for lay in from_torch(Branchy(), (1, 3, 8, 8), ops="mac")] == ["conv1", "conv2", "fc"]
    # a bare pooling module is captured too (named after its class); P = floor((9 + 2 - 3)/2) + 1 = 5
    wl = from_torch(nn.MaxPool2d(3, 2, 1), (1, 4, 9, 9))
    assert wl.layers == (Layer.pool("MaxPool2d", c=4, h=9, w=9, r=3, stride=2, padding=1),)


def test_from_torch_ops_argument_errors():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(3, 4, 3))
    for bad in ["MAC", "vector", None, 1]:
        with pytest.raises(ValueError, match=r"from_torch ops must be one of \('all', 'mac'\), got"):
            from_torch(net, (1, 3, 8, 8), ops=bad)
    with pytest.raises(ValueError, match=r"no nn\.Conv2d or nn\.Linear call, pooling, residual add"):
        from_torch(nn.Sequential(nn.Identity(), nn.Flatten()), (1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"from_timm ops must be one of"):
        from_timm("resnet50", ops="everything")


# ============================================================================ timm: ops="all" / "mac"

@pytest.mark.parametrize("name", ["mobilenetv2_100", "resnet50", "efficientnet_b0"])
def test_from_timm_mac_reproduces_previous_layers(timm_mod, name):
    import json

    golden = json.loads(MAC_GOLDENS.read_text())[name]
    mac = _timm(name, "mac")
    assert [[lay.name, lay.kind, list(lay.to_row()[:16])] for lay in mac] == golden["layers"]
    assert all(lay.act == "none" for lay in mac)
    assert (mac.macs, mac.params) == (golden["macs"], golden["params"])
    # ops="all" holds the same MAC layers in the same order, only with activations fused
    full = _timm(name, "all")
    assert tuple(dataclasses.replace(lay, act="none") for lay in full if lay.is_mac) == mac.layers
    assert (full.macs, full.params, full.weights) == (mac.macs, mac.params, mac.weights)


def test_from_timm_mobilenetv2_all_ops(timm_mod):
    wl = _timm("mobilenetv2_100", "all")
    kinds = [lay.kind for lay in wl]
    assert (kinds.count("conv"), kinds.count("fc"), kinds.count("add"), kinds.count("pool"),
            kinds.count("mul"), len(wl)) == (52, 1, 10, 1, 0, 64)
    # residuals: stride-1 blocks with equal in/out channels, stages of 1, 2, 3, 4, 3, 3, 1 blocks
    adds = [lay for lay in wl if lay.kind == "add"]
    assert [a.name for a in adds] == ["blocks.1.1.add", "blocks.2.1.add", "blocks.2.2.add", "blocks.3.1.add",
                                      "blocks.3.2.add", "blocks.3.3.add", "blocks.4.1.add", "blocks.4.2.add",
                                      "blocks.5.1.add", "blocks.5.2.add"]
    assert adds[0] == Layer.add("blocks.1.1.add", c=24, h=56, w=56)
    assert wl[-2] == Layer.global_pool("global_pool", c=1280, h=7, w=7)
    assert wl[-3].name == "conv_head" and wl[-1].name == "classifier"
    # ReLU6 on every conv but the 17 linear-bottleneck projections: stem + block 0's depthwise +
    # 16 x (expand + depthwise) + head = 35
    relu6 = [lay.name for lay in wl if lay.act == "relu6"]
    assert len(relu6) == 35 and all(wl[nm].kind == "conv" for nm in relu6)
    assert relu6[:3] == ["conv_stem", "blocks.0.0.conv_dw", "blocks.1.0.conv_pw"] and relu6[-1] == "conv_head"
    projections = [lay.name for lay in wl if lay.kind == "conv" and lay.act == "none"]
    assert projections == ["blocks.0.0.conv_pw"] + [f"blocks.{s}.{b}.conv_pwl" for s, n in
                                                   enumerate([1, 2, 3, 4, 3, 3, 1]) for b in range(n)][1:]
    assert all(lay.act == "none" for lay in wl if lay.kind != "conv")
    assert wl.macs == pytest.approx(300e6, rel=0.02)
    # vector ops: the adds 56*56*24 + 2*28*28*32 + 3*14*14*64 + 2*14*14*96 + 2*7*7*160, the pool 7*7*1280
    assert wl.ops - wl.macs == 75_264 + 50_176 + 37_632 + 37_632 + 15_680 + 62_720


def test_from_timm_resnet50_all_ops(timm_mod):
    wl = _timm("resnet50", "all")
    kinds = [lay.kind for lay in wl]
    assert (kinds.count("conv"), kinds.count("fc"), kinds.count("add"), kinds.count("pool"),
            kinds.count("mul"), len(wl)) == (53, 1, 16, 2, 0, 72)
    # stem: conv 7x7/2 + BN + ReLU, then max pool 3x3/2 pad 1: 112 -> 56
    assert wl[0].name == "conv1" and wl[0].act == "relu"
    assert wl[1] == Layer.pool("maxpool", c=64, h=112, w=112, r=3, stride=2, padding=1)
    # each bottleneck: conv1, conv2 with ReLU, conv3 (+ downsample) without; the ReLU after the add
    adds = [lay for lay in wl if lay.kind == "add"]
    assert all(a.act == "relu" for a in adds) and adds[0] == Layer.add("layer1.0.add", c=256, h=56, w=56,
                                                                        act="relu")
    assert [a.c for a in adds] == [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    assert [lay.name for lay in wl if lay.act == "relu" and lay.kind == "conv"] == ["conv1"] + [
        f"layer{i}.{b}.conv{j}" for i, n in enumerate([3, 4, 6, 3], 1) for b in range(n) for j in (1, 2)]
    assert all(lay.act == "none" for lay in wl if lay.name.endswith(("conv3", "downsample.0")))
    assert wl[-2] == Layer.global_pool("global_pool", c=2048, h=7, w=7) and wl[-1].name == "fc"
    assert wl[-1].act == "none"


def test_from_timm_efficientnet_b0_all_ops(timm_mod):
    wl = _timm("efficientnet_b0", "all")
    kinds = [lay.kind for lay in wl]
    assert (kinds.count("conv"), kinds.count("fc"), kinds.count("add"), kinds.count("pool"),
            kinds.count("mul"), len(wl)) == (81, 1, 9, 17, 16, 124)
    # every block has squeeze-excite: mean -> conv_reduce (swish) -> conv_expand (sigmoid) -> mul
    muls = [i for i, lay in enumerate(wl) if lay.kind == "mul"]
    for i in muls:
        se = wl[i].name[: -len(".mul")]
        assert [lay.name for lay in wl.layers[i - 3:i + 1]] == [f"{se}.mean", f"{se}.conv_reduce",
                                                                f"{se}.conv_expand", f"{se}.mul"]
        pool, reduce_, expand, mul = wl.layers[i - 3:i + 1]
        assert (pool.r, pool.s, pool.p, pool.q) == (mul.h, mul.w, 1, 1) and pool.c == mul.c == expand.k
        assert (reduce_.act, expand.act) == ("swish", "sigmoid")
    assert wl["blocks.1.0.se.mul"] == Layer.mul("blocks.1.0.se.mul", c=96, h=56, w=56)
    # swish on the stem, every expand and depthwise conv, every SE reduce and the head: 49;
    # the 16 projections (conv_pw of block 0, conv_pwl of the others) have none
    swish = [lay.name for lay in wl if lay.act == "swish"]
    assert len(swish) == 49 and swish[0] == "conv_stem" and swish[-1] == "conv_head"
    assert sorted(lay.name.rsplit(".", 1)[-1] for lay in wl if lay.kind == "conv" and lay.act == "none") == \
        ["conv_pw"] + ["conv_pwl"] * 15
    # residuals: stages of 1, 2, 2, 3, 3, 4, 1 blocks -> 0 + 1 + 1 + 2 + 2 + 3 + 0 = 9
    assert [lay.name for lay in wl if lay.kind == "add"] == [
        "blocks.1.1.add", "blocks.2.1.add", "blocks.3.1.add", "blocks.3.2.add", "blocks.4.1.add",
        "blocks.4.2.add", "blocks.5.1.add", "blocks.5.2.add", "blocks.5.3.add"]
    assert wl[-2] == Layer.global_pool("global_pool", c=1280, h=7, w=7)
