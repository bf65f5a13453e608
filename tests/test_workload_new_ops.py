"""The op kinds added for the Edge TPU's real graphs (issue 14): concat, resize, un-fused batch norm, NMS.

Layer fields and work by hand; their Edge-TPU costs (vector work, per-op fixed costs, host placement and the host
roofline) worked out by hand on a small configuration.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import codesign
from codesign import EdgeTpuConfig, Layer, Workload, evaluate
from codesign.workload import OP_CODES
from codesign.workload.layer_kinds import ceil_log2, nms_ops

# 2x2 PEs x 2 lanes x 8 SIMD at 100 MHz: 1 us = 100 cycles; the vector units are pes * simd = 32 wide
BARE = EdgeTpuConfig(2, 2, 2, 8, core_mem_kib=4, pe_mem_kib=64, io_bw_gbps=1.0, clock_mhz=100, name="bare")
# 1 GMAC/s and 1 GB/s at 100 MHz: 10 ops and 10 bytes per device cycle; 10 us = 1000 cycles per op
HOST = codesign.hardware.HostCpu("test-host", gmacs=1.0, gbps=1.0, op_us=10.0)


# ============================================================================ fields and work
def test_concat_fields_are_its_output():
    lay = Layer.concat("cat", channels=(64, 128, 32, 32), h=28, w=28)
    # output channels = 64 + 128 + 32 + 32 = 256; stored as one pass over the 1 x 256 x 28 x 28 output
    assert lay.to_row() == (1, 256, 256, 28, 28, 1, 1, 28, 28, 1, 1, 0, 0, 1, 1, 256, 8, 0)
    assert lay.ops == 256 * 28 * 28 == 200_704  # one copy per output element
    assert lay.ifmap_words == lay.ofmap_words == 200_704
    assert lay.macs == lay.weights == 0
    assert Layer.elementwise("concat", "cat", c=256, h=28, w=28) == lay


def test_resize_modes_are_taps_in_r_and_s():
    near = Layer.resize("up", c=16, h=10, w=20, p=20, q=40)
    assert near.to_row() == (1, 16, 16, 20, 40, 1, 1, 10, 20, 1, 1, 0, 0, 1, 1, 16, 9, 0)
    assert near.ops == 16 * 20 * 40 == 12_800  # one read per output pixel
    bil = Layer.resize("up", c=16, h=10, w=20, p=20, q=40, mode="bilinear", n=2)
    assert (bil.r, bil.s, bil.n) == (2, 2, 2)
    assert bil.ops == 2 * 16 * 20 * 40 * 4 == 102_400  # a 2 x 2 neighbourhood per output pixel
    assert bil.ifmap_words == 2 * 16 * 10 * 20 and bil.ofmap_words == 2 * 16 * 20 * 40
    # a bilinear resize of a 1-pixel map is valid: its taps clamp at the border (no window check)
    assert Layer.resize("up1", c=4, h=1, w=1, p=7, q=7, mode="bilinear").ops == 4 * 49 * 4


def test_bn_is_two_ops_per_element():
    lay = Layer.elementwise("bn", "bn", c=32, h=14, w=14, n=2)
    assert lay.to_row() == (2, 32, 32, 14, 14, 1, 1, 14, 14, 1, 1, 0, 0, 1, 1, 32, 10, 0)
    assert lay.ops == 2 * 32 * 14 * 14 * 2 == 25_088


def test_nms_fields_and_work():
    lay = Layer.nms("nms", boxes=1917, max_detections=100, classes=91)
    assert lay.to_row() == (1, 1, 91, 100, 1, 1, 1, 1917, 1, 1, 1, 0, 0, 1, 1, 1, 11, 0)
    # 1917 * 91 threshold compares + 1917 * ceil(log2 1917) = 1917 * 11 sort + 1917 * 100 * 15 IoU tests
    assert ceil_log2(1917) == 11 and ceil_log2(2048) == 11 and ceil_log2(2049) == 12 and ceil_log2(1) == 0
    assert lay.ops == 1917 * 91 + 1917 * 11 + 1917 * 100 * 15 == 3_071_034
    assert lay.ifmap_words == 91 * 1917 + 4 * 1917  # scores and the 4 coordinates of each box
    assert lay.ofmap_words == 100
    assert nms_ops(2, 1, 8, 3) == 2 * (8 + 8 * 3 + 8 * 3 * 15)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="resize", n=1, k=4, c=4, p=8, q=8, r=3, s=3, h=4, w=4, groups=4),
     r"Layer\.r must be 1 \(nearest\) or 2 \(bilinear\) for kind 'resize', got 3"),
    (dict(kind="resize", n=1, k=4, c=4, p=8, q=8, r=1, s=2, h=4, w=4, groups=4),
     r"Layer\.s must equal Layer\.r = 1 for kind 'resize', got 2"),
    (dict(kind="resize", n=1, k=4, c=4, p=8, q=8, r=1, s=1, h=4, w=4, groups=4, stride_h=2),
     r"Layer\.stride_h must be 1 for kind 'resize', got 2"),
    (dict(kind="concat", n=1, k=8, c=8, p=4, q=5, r=1, s=1, h=4, w=4, groups=8),
     r"Layer\.q must equal Layer\.w = 4 for kind 'concat', got 5"),
    (dict(kind="bn", n=1, k=8, c=8, p=4, q=4, r=1, s=1, h=4, w=4, groups=1),
     r"Layer\.groups must equal Layer\.c = 8 for kind 'bn', got 1"),
    (dict(kind="nms", n=1, k=2, c=8, p=4, q=1, r=1, s=1, h=40, w=1, groups=1),
     r"Layer\.k must be 1 for kind 'nms', got 2"),
    (dict(kind="nms", n=1, k=1, c=8, p=4, q=1, r=1, s=1, h=40, w=3, groups=1),
     r"Layer\.w must be 1 for kind 'nms', got 3"),
])
def test_bad_fields_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Layer("x", **kwargs)


def test_bad_constructor_arguments_are_named():
    with pytest.raises(ValueError, match="Layer.resize mode must be one of"):
        Layer.resize("up", c=4, h=4, w=4, p=8, q=8, mode="bicubic")
    with pytest.raises(ValueError, match="Layer.concat channels must be a non-empty sequence"):
        Layer.concat("cat", channels=())
    with pytest.raises(ValueError, match=r"Layer.concat.channels\[1\] must be a positive int, got 0"):
        Layer.concat("cat", channels=(4, 0))
    with pytest.raises(ValueError, match="Layer.h must be a positive int, got 0"):
        Layer.nms("nms", boxes=0, max_detections=4)


def test_new_codes_reach_the_core_unchanged():
    layers = [Layer.concat("cat", channels=(4, 4), h=2, w=2), Layer.resize("up", c=8, h=2, w=2, p=4, q=4),
              Layer.elementwise("bn", "bn", c=8, h=4, w=4), Layer.nms("nms", boxes=16, max_detections=4)]
    table = Workload("w", layers).to_array()
    assert list(table[:, 16]) == [OP_CODES[k] for k in ("concat", "resize", "bn", "nms")] == [8, 9, 10, 11]


# ============================================================================ Edge TPU costs
def _wl() -> Workload:
    return Workload("w", [Layer.conv("c", c=8, k=8, h=16, w=16, r=3, padding=1),
                          Layer.concat("cat", channels=(8, 8), h=16, w=16),
                          Layer.resize("up", c=16, h=16, w=16, p=32, q=32, mode="bilinear"),
                          Layer.elementwise("bn", "bn", c=16, h=32, w=32),
                          Layer.nms("nms", boxes=100, max_detections=10, classes=3)])


def test_vector_work_of_each_kind_on_the_device():
    cost = evaluate(_wl(), BARE)  # no host: every op on the device
    assert list(cost["on_host"]) == [0] * 5
    # ops: concat 16*16*16; resize 16*32*32*4; bn 16*32*32*2; nms 100*3 + 100*7 + 100*10*15
    np.testing.assert_array_equal(cost["ops"][1:], [4096, 65536, 32768, 16000])
    # vector cycles = ceil(ops / 32)
    np.testing.assert_array_equal(cost["vector_cycles"][1:], [128, 2048, 1024, 500])


def test_fixed_costs_by_kind():
    hw = BARE.replace(concat_op_us=1.0, resize_op_us=2.0, eltwise_op_us=4.0, other_op_us=8.0)
    extra = evaluate(_wl(), hw)["overhead_cycles"] - evaluate(_wl(), BARE)["overhead_cycles"]
    # concat 1 us, resize 2 us, bn twice eltwise (a MUL and an ADD) = 8 us, nms (device: no host) other = 8 us
    np.testing.assert_allclose(extra, [0, 100, 200, 800, 800])
    row = hw.to_row()
    names = codesign.hardware.EDGETPU_FIELDS
    assert len(row) == len(names) == codesign._core.EDGETPU_ARCH_FIELD_COUNT == 31
    assert names[-2:] == ("concat_op_cycles", "resize_op_cycles") and row[-2:] == (100.0, 200.0)
    with pytest.raises(ValueError, match="concat_op_us must be a finite number >= 0, got -1"):
        BARE.replace(concat_op_us=-1.0)


def test_nms_runs_on_the_host_by_its_roofline():
    cost = evaluate(_wl(), BARE.replace(host=HOST))
    assert list(cost["on_host"]) == [0, 0, 0, 0, 1]
    # 16000 ops / 10 per cycle = 1600 cycles; bytes: scores 300 + boxes 400 in, 10 out = 710 / 10 = 71 ->
    # compute bound; + 1000 cycles per op; its 700 input bytes cross the 10 bytes/cycle link: 70 cycles
    assert cost["cycles"][4] == pytest.approx(1000 + 1600 + 70)
    assert cost.totals["host_layers"] == 1 and cost.totals["transfer_cycles"] == pytest.approx(70)


def test_resize_of_a_batch_is_not_on_the_device():
    # the Edge TPU maps resizes of 3-D tensors only (Coral's supported-operations table): batch 1
    hw = BARE.replace(host=HOST)
    one = Workload("w", [Layer.conv("c", c=4, k=4, h=8, w=8, r=1), Layer.resize("up", c=4, h=8, w=8, p=16, q=16)])
    two = Workload("w", [Layer.conv("c", c=4, k=4, h=8, w=8, r=1, n=2),
                         Layer.resize("up", c=4, h=8, w=8, p=16, q=16, n=2)])
    assert list(evaluate(one, hw)["on_host"]) == [0, 0]
    assert list(evaluate(two, hw)["on_host"]) == [0, 1]
    # on the host: 2*4*16*16 = 2048 ops / 10 = 204.8 cycles; bytes 512 in + 2048 out = 256 cycles (memory bound)
    assert evaluate(two, hw)["cycles"][1] == pytest.approx(1000 + 256 + 512 / 10)


def test_systolic_model_gives_the_new_kinds_no_mac_cost():
    arr = codesign.preset("tpu-v1-systolic")
    cost = evaluate(_wl(), arr)
    assert cost["macs"][0] > 0
    assert all(math.isclose(v, 0.0) for v in cost["macs"][1:])
