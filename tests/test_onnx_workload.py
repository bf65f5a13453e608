"""codesign.from_onnx: ZigZag's ONNX workloads against the same networks from timm, exports of a small ViT and of a
torchvision detection model against from_torch, conv attributes, warnings and bounded reading."""
from __future__ import annotations

import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest

from codesign.workload import LAYER_FIELDS, from_onnx, from_timm, from_torch

onnx = pytest.importorskip("onnx")
DATA = Path(__file__).parent / "data" / "onnx"


def _rows(wl, kinds=("conv", "fc", "gemm", "matmul")):
    return [(lay.kind,) + lay.to_row()[:16] for lay in wl if lay.kind in kinds]


@pytest.mark.parametrize("onnx_name, timm_name", [("resnet18", "resnet18"), ("mobilenetv2", "mobilenetv2_100")])
def test_zigzag_onnx_equals_timm(onnx_name, timm_name):
    pytest.importorskip("timm")
    wl = from_onnx(DATA / f"{onnx_name}.onnx")
    ref = from_timm(timm_name)
    assert wl.macs == ref.macs  # resnet18 1,814,073,344; mobilenetv2 300,774,272
    assert _rows(wl) == _rows(ref)  # every conv and the classifier, field for field
    assert Counter(lay.kind for lay in wl) == Counter(lay.kind for lay in ref)
    assert [lay.act for lay in wl if lay.is_mac] == [lay.act for lay in ref if lay.is_mac]  # relu / relu6 fused
    assert wl.input_shape == (1, 3, 224, 224) and wl.source.startswith("onnx:")


def _export(module, x, path):
    import torch

    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), dynamo=False, opset_version=17)
    return path


def test_vit_export_equals_from_torch(tmp_path):
    timm = pytest.importorskip("timm")
    torch = pytest.importorskip("torch")
    vit = timm.create_model("vit_tiny_patch16_224", depth=2, img_size=64, num_classes=10)
    wl = from_onnx(_export(vit, torch.zeros(1, 3, 64, 64), tmp_path / "vit.onnx"))
    ref = from_torch(vit, (1, 3, 64, 64))
    assert wl.macs == ref.macs
    assert _rows(wl) == _rows(ref)  # patch conv, qkv, QK^T and AV per head, projections, MLP, head
    assert sum(lay.kind == "matmul" for lay in wl) == 4
    assert Counter(lay.kind for lay in wl)["softmax"] == 2 and Counter(lay.kind for lay in wl)["norm"] == 5


def test_detection_export_equals_from_torch(tmp_path):
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    det = torchvision.models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                     width_mult=0.5)

    class Dense(torch.nn.Module):  # backbone and heads (the post-processing has no layers)
        def __init__(self):
            super().__init__()
            self.backbone, self.head = det.backbone, det.head

        def forward(self, x):
            out = self.head(list(self.backbone(x).values()))
            return out["bbox_regression"], out["cls_logits"]

    net = Dense()
    wl = from_onnx(_export(net, torch.zeros(1, 3, 320, 320), tmp_path / "ssd.onnx"))
    ref = from_torch(net, (1, 3, 320, 320))
    kinds = ("conv", "fc", "add", "mul", "pool")
    assert _rows(wl, kinds) == _rows(ref, kinds)  # depthwise convs, SE pools and multiplies, residual adds
    assert [lay.act for lay in wl] == [lay.act for lay in ref]  # hardswish, relu, hardsigmoid fused


def test_conv_groups_dilation_padding(tmp_path):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=2, dilation=2, groups=4), nn.ReLU(),
                        nn.Conv2d(16, 16, (1, 5), padding=(0, 2)), nn.MaxPool2d(3, 2, 1), nn.Flatten(),
                        nn.Linear(16 * 4 * 4, 10), nn.Softmax(dim=-1))
    wl = from_onnx(_export(net, torch.zeros(2, 8, 15, 15), tmp_path / "c.onnx"))
    ref = from_torch(net, (2, 8, 15, 15))
    rows = [(lay.kind, lay.act) + lay.to_row()[:16] for lay in wl]
    assert rows == [(lay.kind, lay.act) + lay.to_row()[:16] for lay in ref]
    first = dict(zip(LAYER_FIELDS, wl[0].to_row()))
    assert (first["groups"], first["dilation_h"], first["pad_h"], first["stride_h"], first["p"]) == (4, 2, 2, 2, 8)


def _tiny_model(tmp_path, extra_op):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 6], [0.0] * 48)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="proj"),
             helper.make_node("MatMul", ["m", "mt"], ["s"], name="scores"),
             helper.make_node("Transpose", ["m"], ["mt"], perm=[0, 2, 1], name="t"),
             helper.make_node("Softmax", ["s"], ["p"], axis=-1, name="softmax"),
             helper.make_node(extra_op, ["p"], ["y"], name="odd", axis=-1)]
    nodes[1], nodes[2] = nodes[2], nodes[1]
    graph = helper.make_graph(nodes, "tiny", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "tiny.onnx"
    onnx.save(model, str(path))
    return path


def test_matmul_of_weights_and_of_activations_and_unknown_ops(tmp_path):
    path = _tiny_model(tmp_path, "Hardmax")
    with pytest.warns(UserWarning, match=r"tiny\.onnx: 1 operation not placed in the workload: Hardmax x1"):
        wl = from_onnx(path, batch=3)
    assert [(lay.name, lay.kind) for lay in wl] == [("proj", "fc"), ("scores", "matmul"), ("softmax", "softmax")]
    assert wl["proj"].n == 3 * 4 and wl.weights == wl.params == 48
    mm = wl["scores"]  # (3, 4, 6) @ (3, 6, 4): batch 3
    assert (mm.groups, mm.gemm_m, mm.gemm_k, mm.gemm_n) == (3, 4, 6, 4) and mm.weights == 0
    assert wl.input_shape == (3, 4, 8)


def test_bounded_reading_and_bad_files(tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("layer,M,N,K\n")
    with pytest.raises(ValueError, match=r"notes\.onnx: not an ONNX model") as exc:
        from_onnx(text)
    assert "\n" not in str(exc.value)
    with pytest.raises(ValueError, match=r"resnet18\.onnx: 18,600 bytes is over the ONNX size limit max_bytes=1,000"):
        from_onnx(DATA / "resnet18.onnx", max_bytes=1000)
    with pytest.raises(ValueError, match="not a regular file"):
        from_onnx("/dev/zero")
    with pytest.raises(ValueError, match="not a regular file"):
        from_onnx(tmp_path)
    with pytest.raises(FileNotFoundError):
        from_onnx(tmp_path / "missing.onnx")


def test_cli_evaluate_onnx(tmp_path):
    exe = [sys.executable, "-m", "codesign.cli"]
    out = subprocess.run(exe + ["evaluate", "--network", str(DATA / "resnet18.onnx"), "--hw", "edgetpu-baseline",
                                "--format", "csv"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "/layer1/layer1.0/conv1/Conv" in out.stdout and len(out.stdout.splitlines()) == 31 + 1
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01garbage")
    out = subprocess.run(exe + ["evaluate", "--network", str(bad)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "bad.onnx: not an ONNX model" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
