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


# ============================================================================ capture: torch
def _tiny_module(with_nms: bool):
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from torch import nn
    import torch.nn.functional as F

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 8, 3, padding=1)
            self.bn_a = nn.BatchNorm2d(8)  # right after a conv: folded, no layer
            self.b = nn.Conv2d(3, 4, 1)
            self.bn_cat = nn.BatchNorm2d(12)  # after the concatenation: an un-fused batch norm
            self.up = nn.Upsample(scale_factor=2, mode="bilinear")

        def forward(self, x, boxes=None, scores=None):
            y = torch.cat([F.relu(self.bn_a(self.a(x))), self.b(x)], dim=1)
            z = F.interpolate(self.up(F.relu(self.bn_cat(y))), size=(32, 32), mode="nearest")
            if boxes is None:
                return z
            return z, torchvision.ops.nms(boxes, scores, 0.5)

    return Tiny().eval()


TINY_ROWS = [
    ("a", "conv", "relu", (1, 8, 3, 8, 8, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 0, 1)),  # bn_a folded, relu fused
    ("b", "conv", "none", (1, 4, 3, 8, 8, 1, 1, 8, 8, 1, 1, 0, 0, 1, 1, 1, 0, 0)),
    ("cat", "concat", "none", (1, 12, 12, 8, 8, 1, 1, 8, 8, 1, 1, 0, 0, 1, 1, 12, 8, 0)),  # 8 + 4 channels
    ("bn_cat", "bn", "relu", (1, 12, 12, 8, 8, 1, 1, 8, 8, 1, 1, 0, 0, 1, 1, 12, 10, 1)),
    ("up", "resize", "none", (1, 12, 12, 16, 16, 2, 2, 8, 8, 1, 1, 0, 0, 1, 1, 12, 9, 0)),  # bilinear x2
    ("interpolate", "resize", "none", (1, 12, 12, 32, 32, 1, 1, 16, 16, 1, 1, 0, 0, 1, 1, 12, 9, 0)),  # nearest
]


def _rows(wl):
    return [(lay.name, lay.kind, lay.act, lay.to_row()) for lay in wl.layers]


def test_torch_capture_of_cat_upsample_bn():
    from codesign.workload import from_torch

    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")  # traced by torch.fx: no warning, nothing unplaced
        wl = from_torch(_tiny_module(False), (1, 3, 8, 8))
    assert _rows(wl) == TINY_ROWS


def test_torch_capture_of_nms_from_a_recorded_run():
    from codesign.workload import from_torch

    # nms cannot be traced by torch.fx: one recorded forward pass, which sees the same layers, then the nms. The
    # inputs are zeros: degenerate boxes, none overlaps another (IoU 0/0 is no overlap), all 10 kept
    with pytest.warns(UserWarning, match="recorded one forward pass"):
        wl = from_torch(_tiny_module(True), [(1, 3, 8, 8), (10, 4), (10,)])
    rows = _rows(wl)
    assert rows[:-1] == TINY_ROWS
    assert rows[-1] == ("nms", "nms", "none", (1, 1, 1, 10, 1, 1, 1, 10, 1, 1, 1, 0, 0, 1, 1, 1, 11, 0))


def test_torch_consecutive_nms_calls_are_one_classwise_nms():
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from codesign.workload import from_torch

    class PerClass(torch.nn.Module):  # torchvision's batched_nms does this for many boxes: one nms per class
        def forward(self, x, boxes):
            s = x.flatten()
            return [torchvision.ops.nms(boxes[: 6 - c], s[c * 6: c * 6 + 6 - c], 0.5) for c in range(3)]

    with pytest.warns(UserWarning, match="recorded one forward pass"):
        wl = from_torch(PerClass(), [(1, 18), (6, 4)])
    # 3 calls of 6, 5 and 4 (zero) boxes, each keeping all: one nms of 3 classes, 6 boxes, 6 + 5 + 4 detections
    assert _rows(wl) == [("nms", "nms", "none", (1, 1, 3, 15, 1, 1, 1, 6, 1, 1, 1, 0, 0, 1, 1, 1, 11, 0))]


def test_googlenet_concatenations_sum_their_branches():
    torchvision = pytest.importorskip("torchvision")
    from codesign.workload import from_torch

    net = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    wl = from_torch(net, (1, 3, 224, 224))
    cats = [lay for lay in wl.layers if lay.kind == "concat"]
    assert [lay.name for lay in cats] == [f"inception{b}.cat" for b in ("3a", "3b", "4a", "4b", "4c", "4d", "4e",
                                                                         "5a", "5b")]
    for lay in cats:
        block = getattr(net, lay.name.split(".")[0])
        # branch1 1x1, branch2 3x3 (after a 1x1), branch3 "5x5" (a 3x3 in torchvision), branch4 pool projection
        widths = [block.branch1.conv.out_channels, block.branch2[1].conv.out_channels,
                  block.branch3[1].conv.out_channels, block.branch4[1].conv.out_channels]
        assert lay.c == lay.k == lay.groups == sum(widths)
        by_name = {x.name: x for x in wl.layers}
        assert lay.h == by_name[f"{lay.name.split('.')[0]}.branch1.conv"].p
    assert [lay.c for lay in cats] == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    assert not any(lay.kind == "bn" for lay in wl.layers)  # every BN follows a conv: folded


def test_ssdlite_costs_with_its_nms_on_the_host():
    pytest.importorskip("torchvision")
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    from codesign.workload import from_torch

    model = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
    with pytest.warns(UserWarning) as rec:
        wl = from_torch(model, (1, 3, 320, 320))
    assert not any("nms" in str(w.message) or "interpolate" in str(w.message) for w in rec
                   if "not placed" in str(w.message))
    kinds = [lay.kind for lay in wl.layers]
    assert kinds.count("nms") == 1 and kinds[-1] == "nms" and kinds[0] == "resize"  # the transform's resize
    nms = wl.layers[-1]
    assert nms.c == 90  # one nms call per foreground class (torchvision's batched_nms on many boxes)
    cost = evaluate(wl, codesign.preset("edgetpu"))
    assert cost.totals["host_layers"] >= 1 and cost["on_host"][-1] == 1 and cost["on_host"][0] == 0
    assert cost.totals["host_cycles"] > 0 and cost.totals["latency_ms"] > 0


# ============================================================================ capture: ONNX
def _onnx_model(path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    def f32(name, shape, value=1.0):
        return numpy_helper.from_array(np.full(shape, value, np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "wa"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv_a"),
        helper.make_node("BatchNormalization", ["a", "s8", "b8", "m8", "v8"], ["abn"], name="bn_a"),  # folded
        helper.make_node("Relu", ["abn"], ["ar"], name="relu_a"),
        helper.make_node("Conv", ["x", "wb"], ["b"], kernel_shape=[1, 1], name="conv_b"),
        helper.make_node("Concat", ["ar", "b"], ["cat"], axis=1, name="cat"),
        helper.make_node("BatchNormalization", ["cat", "s12", "b12", "m12", "v12"], ["cbn"], name="bn_cat"),
        helper.make_node("Relu", ["cbn"], ["cr"], name="relu_cat"),
        helper.make_node("Resize", ["cr", "", "scales"], ["up"], mode="linear", name="up"),
        helper.make_node("NonMaxSuppression", ["boxes", "scores", "maxout", "iou", "sth"], ["sel"], name="nms"),
    ]
    inits = [f32("wa", (8, 3, 3, 3)), f32("wb", (4, 3, 1, 1)), *[f32(f"{k}8", (8,)) for k in "sbmv"],
             *[f32(f"{k}12", (12,)) for k in "sbmv"],
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
             numpy_helper.from_array(np.array([5], np.int64), "maxout"), f32("iou", (1,), 0.5), f32("sth", (1,), 0.0)]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8]),
                        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 100, 4]),
                        helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 3, 100])],
        [helper.make_tensor_value_info("up", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("sel", TensorProto.INT64, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def test_onnx_concat_resize_bn_nms(tmp_path):
    from codesign.workload import from_onnx

    path = tmp_path / "tiny.onnx"
    _onnx_model(str(path))
    rows = _rows(from_onnx(path))
    assert rows == [
        ("conv_a", "conv", "relu", (1, 8, 3, 8, 8, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 0, 1)),
        ("conv_b", "conv", "none", (1, 4, 3, 8, 8, 1, 1, 8, 8, 1, 1, 0, 0, 1, 1, 1, 0, 0)),
        ("cat", "concat", "none", (1, 12, 12, 8, 8, 1, 1, 8, 8, 1, 1, 0, 0, 1, 1, 12, 8, 0)),
        ("bn_cat", "bn", "relu", (1, 12, 12, 8, 8, 1, 1, 8, 8, 1, 1, 0, 0, 1, 1, 12, 10, 1)),
        ("up", "resize", "none", (1, 12, 12, 16, 16, 2, 2, 8, 8, 1, 1, 0, 0, 1, 1, 12, 9, 0)),
        # 1 image, 3 classes, 100 boxes, at most 5 per class = 15 kept
        ("nms", "nms", "none", (1, 1, 3, 15, 1, 1, 1, 100, 1, 1, 1, 0, 0, 1, 1, 1, 11, 0)),
    ]


def test_onnx_upsample_and_unplaced_resize_modes(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from codesign.workload import from_onnx

    scales = numpy_helper.from_array(np.array([1, 1, 2, 3], np.float32), "scales")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 5, 5])
    up = helper.make_node("Upsample", ["x", "scales"], ["y"], mode="nearest", name="up")  # opset 9 (deprecated)
    path = tmp_path / "up.onnx"
    graph = helper.make_graph([up], "up", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [scales])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)]), path)
    assert _rows(from_onnx(path)) == [
        ("up", "resize", "none", (2, 4, 4, 10, 15, 1, 1, 5, 5, 1, 1, 0, 0, 1, 1, 4, 9, 0))]
    # a cubic resize is no resize this package models: counted, not placed
    cubic = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="cubic", name="cubic")
    graph = helper.make_graph([cubic], "cubic", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [scales])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(ValueError, match="no layer"), pytest.warns(UserWarning, match="Resize x1"):
        from_onnx(path)
