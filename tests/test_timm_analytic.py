"""The analytic workloads of named timm models (codesign.workload.timm_analytic) against the traced ones.

The reference is independent of the analytic path: timm builds each model (random weights) and
:func:`codesign.workload.from_timm` traces it through torch.fx; every Layer field, the parameter count (torch's
``numel`` sum), the name, source and input shape must agree. Those tests skip without timm; the rest need
neither torch nor timm.
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from codesign.workload import Layer
from codesign.workload.block_strings import parse_block, round_channels, scale_stage_depth
from codesign.workload.timm_analytic import ANALYTIC_MODELS, from_timm_analytic, is_analytic

FIELDS = [f.name for f in dataclasses.fields(Layer)]


def _assert_same(analytic, traced):
    assert len(analytic) == len(traced), f"{len(analytic)} layers vs {len(traced)} traced"
    for a, t in zip(analytic.layers, traced.layers):
        diff = {f: (getattr(a, f), getattr(t, f)) for f in FIELDS if getattr(a, f) != getattr(t, f)}
        assert not diff, f"layer {t.name}: (analytic, traced) differ in {diff}"
    assert (analytic.name, analytic.source, analytic.params, analytic.input_shape) == \
        (traced.name, traced.source, traced.params, traced.input_shape)
    assert analytic == traced


@pytest.fixture(scope="module")
def timm_trace():
    pytest.importorskip("timm")
    from codesign.workload import from_timm

    return from_timm


@pytest.mark.slow
@pytest.mark.parametrize("name", ANALYTIC_MODELS)
def test_analytic_equals_traced(name, timm_trace):
    _assert_same(from_timm_analytic(name), timm_trace(name))


# Off the default size: odd sides exercise TF 'SAME' padding (tf_*) and the floor rule; a batch of 2 fills N.
@pytest.mark.parametrize("name,resolution,batch", [
    ("tf_efficientnet_b0", 193, 1), ("tf_mobilenetv3_small_100", (161, 130), 2), ("mobilenetv2_100", 97, 2),
    ("efficientnet_es", 225, 1), ("tf_efficientnet_lite1", 64, 1), ("mobilenet_edgetpu_v2_s", 129, 1),
])
def test_analytic_equals_traced_other_shapes(name, resolution, batch, timm_trace):
    _assert_same(from_timm_analytic(name, resolution=resolution, batch=batch),
                 timm_trace(name, resolution=resolution, batch=batch))


def test_every_analytic_name_is_a_timm_model():
    timm = pytest.importorskip("timm")
    assert [n for n in ANALYTIC_MODELS if not timm.is_model(n)] == []


def test_depth_scaling_matches_timm():
    """timm's decode_arch_def on the EfficientNet-B3 (x1.4) and FBNet-C stages, against scale_stage_depth."""
    builder = pytest.importorskip("timm.models._efficientnet_builder")
    for strings, mult in ((["ir_r2_k3_s2_e6_c24"], 1.4), (["ir_r4_k5_s2_e6_c192"], 1.4),
                          (["ir_r1_k5_s2_e6_c32", "ir_r1_k5_s1_e3_c32", "ir_r1_k5_s1_e6_c32"], 1.8),
                          (["ir_r3_k5_s1_e6_c112", "ir_r1_k5_s1_e3_c112"], 2.2)):
        decoded = builder.decode_arch_def([strings], depth_multiplier=mult)[0]
        ours = scale_stage_depth([parse_block(s).repeat for s in strings], mult)
        assert sum(ours) == len(decoded)
        expanded = [s for s, r in zip(strings, ours) for _ in range(r)]
        assert [d["out_chs"] for d in decoded] == [parse_block(s).out for s in expanded]
        assert [d["exp_ratio"] for d in decoded] == [parse_block(s).exp for s in expanded]


def test_depth_and_channel_rules_by_hand():
    # EfficientNet-B3's 4-block stage: ceil(4 * 1.4) = 6; B2's 1-block: ceil(1.2) = 2; 'round': round(1.2) = 1
    assert scale_stage_depth([4], 1.4) == [6] and scale_stage_depth([1], 1.2) == [2]
    assert scale_stage_depth([1], 1.2, "round") == [1]
    # two strings [1, 3] x 1.5 -> 6 blocks, shared from the last: round(3/4 * 6) = 4 (4.5 halves to even), then 2
    assert scale_stage_depth([1, 3], 1.5) == [2, 4]
    # make_divisible: 35.2 -> int(39.2) // 8 * 8 = 32 (>= 0.9 * 35.2, kept); 38.4 -> int(42.4) // 8 * 8 = 40
    assert round_channels(32, 1.1) == 32 and round_channels(32, 1.2) == 40
    assert round_channels(1280, 0.35) == 448 and round_channels(16, 0.35) == 8  # 448.0; 5.6 -> min 8
    assert round_channels(20, 0) == 20  # zero multiplier: unchanged, as timm


def test_names_and_errors():
    assert is_analytic("mobilenetv2_100") and not is_analytic("resnet50") and not is_analytic(3)
    assert not is_analytic("mobilenetv2_100.ra_in1k")  # a tagged name may have another default size
    assert len(ANALYTIC_MODELS) == len(set(ANALYTIC_MODELS)) >= 40
    with pytest.raises(ValueError, match="'resnet50' is not one of the analytic timm models"):
        from_timm_analytic("resnet50")
    with pytest.raises(TypeError, match="name must be a str"):
        from_timm_analytic(None)
    with pytest.raises(ValueError, match="batch"):
        from_timm_analytic("mobilenetv2_100", batch=0)
    with pytest.raises(ValueError, match="resolution"):
        from_timm_analytic("mobilenetv2_100", resolution=0)


def test_mobilenetv2_by_hand():
    """The MobileNetV2 paper's Table 2 (Sandler et al., CVPR 2018) at 224 px: a 32-channel stride-2 stem, 17
    bottlenecks (the first without expansion), a 1280-channel head at 7x7; 3.4 M parameters in the paper, 3,504,872
    counted by torch on timm's model (BatchNorm scale and shift included)."""
    wl = from_timm_analytic("mobilenetv2_100")
    stem = wl["conv_stem"]
    assert (stem.c, stem.k, stem.p, stem.stride_h, stem.pad_h, stem.act) == (3, 32, 112, 2, 1, "relu6")
    assert sum(1 for layer in wl.layers if layer.name.endswith("conv_pwl")) == 16  # + the first ds block
    assert wl["conv_head"].k == 1280 and wl["conv_head"].p == 7 and wl["classifier"].k == 1000
    # Params: the classifier alone is 1280*1000 + 1000
    assert wl.params == 3_504_872 and wl["classifier"].weights == 1_280_000


def test_no_torch_import():
    code = ("import sys; from codesign.workload.timm_analytic import from_timm_analytic as f; "
            "w = f('efficientnet_b0'); assert len(w) == 124; "
            "bad = [m for m in ('torch', 'timm', 'pandas') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def _cli(*args, env_dir):
    import os

    env = {**os.environ, "CODESIGN_CACHE_DIR": str(env_dir)}
    return subprocess.run([sys.executable, "-m", "codesign.cli", *args], env=env, capture_output=True, text=True,
                          check=True).stdout


def test_cli_evaluate_analytic_table_equals_traced_and_imports_no_torch(tmp_path):
    """``codesign evaluate --network mobilenetv2_100`` takes the analytic path (no torch, no timm, nothing cached)
    and prints the table that the traced workload (``--no-cache``) prints, byte for byte."""
    code = ("import sys; from codesign.cli import main; sys.argv = ['codesign', 'evaluate', '--network', "
            "'mobilenetv2_100']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in ('torch', 'timm') if m in sys.modules]\nassert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                   env={**__import__("os").environ, "CODESIGN_CACHE_DIR": str(tmp_path)})
    analytic = _cli("evaluate", "--network", "mobilenetv2_100", env_dir=tmp_path)
    assert not (tmp_path / "workloads").exists()  # built, not cached
    pytest.importorskip("timm")
    traced = _cli("evaluate", "--network", "mobilenetv2_100", "--no-cache", env_dir=tmp_path)
    assert analytic == traced and "mobilenetv2_100 (input 1x3x224x224)" in analytic
