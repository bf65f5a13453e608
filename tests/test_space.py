"""Search spaces: sizes worked by hand, encode/decode round trips, mutation, validation, block strings."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.space import (
    HW_FIELDS,
    Candidate,
    HardwareSpace,
    JointSpace,
    NetworkCandidate,
    NetworkSpace,
    round_to_multiple,
)

NET = NetworkSpace()
HW = HardwareSpace()
JOINT = JointSpace()


def indices_for(space):
    return st.tuples(*[st.integers(0, n - 1) for n in space.cardinalities])


# -- sizes -------------------------------------------------------------------------------------------------
def test_network_space_size_by_hand():
    # per stage: 3 kernels x 3 expansions x 4 widths = 36; depths 2,3,4,4,4,4,2 choices
    assert NET.depth_choices == ((1, 2), (1, 2, 3), (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), (1, 2))
    assert NET.size == 36**7 * 2 * 3 * 4 * 4 * 4 * 4 * 2
    assert NET.size == 240_734_712_102_912
    assert len(NET.names) == 28
    assert NET.names[:4] == ("stage1.kernel", "stage1.expansion", "stage1.depth", "stage1.width")
    assert NET.names[-1] == "stage7.width"


def test_hardware_space_size_by_hand():
    # rows 5 x cols 5 x dataflow 3 x three SRAMs 5*5*5 x bandwidth 4
    assert HW.size == 5 * 5 * 3 * 5 * 5 * 5 * 4 == 37_500
    assert HW.names == HW_FIELDS
    assert HW.names == ("rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib",
                        "dram_bw_words_per_cycle")


def test_joint_space_size_and_names():
    assert JOINT.size == 240_734_712_102_912 * 37_500
    assert JOINT.names == NET.names + HW.names
    assert len(JOINT.names) == 35


def test_custom_space_sizes():
    small = NetworkSpace(kernels=(3,), expansions=(6,), widths=(1.0,), max_depth=1)
    assert small.size == 1
    assert NetworkSpace(kernels=(3, 5), expansions=(6,), widths=(1.0,), max_depth=1).size == 2**7
    assert HardwareSpace(rows=(8,), cols=(8, 16), dataflows=("ws",), ifmap_sram_kib=(64,), filter_sram_kib=(64,),
                         ofmap_sram_kib=(64,), dram_bw_words_per_cycle=(8, 16)).size == 4


# -- rounding and block strings ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [(8, 8), (12, 16), (16 * 0.5, 8), (18, 24), (20, 24), (24 * 1.25, 32), (120, 120), (400, 400), (3, 8), (44, 48)],
)
def test_round_to_multiple(value, expected):
    assert round_to_multiple(value) == expected


def test_round_to_multiple_bad_input():
    with pytest.raises(ValueError, match="value"):
        round_to_multiple(0)
    with pytest.raises(ValueError, match="divisor"):
        round_to_multiple(10, 0)


def test_mobilenet_v2_block_strings():
    c = NetworkCandidate.mobilenet_v2()
    assert NET.to_block_strings(c) == [
        ["ds_r1_k3_s1_c16"],
        ["ir_r2_k3_s2_e6_c24"],
        ["ir_r3_k3_s2_e6_c32"],
        ["ir_r4_k3_s2_e6_c64"],
        ["ir_r3_k3_s1_e6_c96"],
        ["ir_r3_k3_s2_e6_c160"],
        ["ir_r1_k3_s1_e6_c320"],
    ]
    assert c.num_blocks == 17


def test_block_strings_hand_made_candidate():
    c = NetworkCandidate(
        kernel=(5, 7, 3, 5, 7, 3, 5),
        expansion=(3, 1, 6, 3, 1, 6, 3),
        depth=(2, 1, 3, 4, 1, 2, 2),
        width=(0.75, 0.5, 1.25, 1.0, 0.75, 0.5, 1.25),
    )
    # channels: 16*.75=12->16, 24*.5=12->16, 32*1.25=40, 64, 96*.75=72, 160*.5=80, 320*1.25=400
    assert c.channels == (16, 16, 40, 64, 72, 80, 400)
    assert [s[0] for s in NET.to_block_strings(c)] == [
        "ir_r2_k5_s1_e3_c16",
        "ds_r1_k7_s2_c16",  # expansion 1 -> depthwise-separable block in any stage
        "ir_r3_k3_s2_e6_c40",
        "ir_r4_k5_s2_e3_c64",
        "ds_r1_k7_s1_c72",
        "ir_r2_k3_s2_e6_c80",
        "ir_r2_k5_s1_e3_c400",
    ]
    assert NET.short_name(c).startswith("k5e3d2w0.75-k7e1d1w0.5-")


def test_block_strings_parse_with_timm():
    timm_builder = pytest.importorskip("timm.models._efficientnet_builder")
    c = NET.sample(3)
    args = timm_builder.decode_arch_def(NET.to_block_strings(c))
    assert [len(stage) for stage in args] == list(c.depth)
    for s, stage in enumerate(args):
        assert all(b["out_chs"] == c.channels[s] for b in stage)
        assert stage[0]["stride"] == (1, 2, 2, 2, 1, 2, 1)[s]
        assert all(b["dw_kernel_size"] == c.kernel[s] for b in stage)
        assert all(b["block_type"] == ("ds" if c.expansion[s] == 1 else "ir") for b in stage)


def test_mobilenet_v2_matches_timm_parameter_count():
    timm = pytest.importorskip("timm")
    ours = NET.build_model(NetworkCandidate.mobilenet_v2())
    ref = timm.create_model("mobilenetv2_100", pretrained=False)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters()) == 3_504_872


# -- round trips -----------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(indices_for(NET))
def test_network_encode_decode_round_trip(idx):
    c = NET.decode(idx)
    assert NET.encode(c) == idx
    assert NET.decode(NET.encode(c)) == c
    assert NET.validate(c) is c


@settings(max_examples=60, deadline=None)
@given(indices_for(HW))
def test_hardware_encode_decode_round_trip(idx):
    hw = HW.decode(idx)
    assert HW.encode(hw) == idx
    assert HW.decode(HW.encode(hw)) == hw
    assert hw.area_mm2 > 0
    fields = HW.fields(hw)
    assert fields["word_bytes"] == 1 and fields["clock_mhz"] == 1000.0


@settings(max_examples=40, deadline=None)
@given(indices_for(JOINT))
def test_joint_encode_decode_round_trip(idx):
    c = JOINT.decode(idx)
    assert isinstance(c, Candidate)
    assert JOINT.encode(c) == idx
    assert JOINT.split(idx) == (NET.encode(c.arch), HW.encode(c.hw))
    assert hash(JOINT.decode(idx)) == hash(c) and JOINT.decode(idx) == c
    assert JOINT.to_block_strings(c) == NET.to_block_strings(c.arch)


def test_hardware_encode_ignores_name_but_checks_fixed_fields():
    from codesign.hardware import SystolicArray

    hw = SystolicArray(rows=32, cols=16, dataflow="os", ifmap_sram_kib=64, filter_sram_kib=128, ofmap_sram_kib=32,
                       dram_bw_words_per_cycle=8, name="whatever")
    assert HW.encode(hw) == (2, 1, 0, 1, 2, 0, 1)
    assert HW.decode(HW.encode(hw)).name == "32x16-os-i64-f128-o32-bw8"
    with pytest.raises(ValueError, match="clock_mhz"):
        HW.encode(hw.replace(clock_mhz=500.0))
    with pytest.raises(ValueError, match="rows=12"):
        HW.validate(hw.replace(rows=12))
    with pytest.raises(ValueError, match="dram_bw_words_per_cycle=10"):
        HW.validate(hw.replace(dram_bw_words_per_cycle=10.0))


# -- sampling and mutation -----------------------------------------------------------------------------------
def test_sample_is_deterministic_for_a_seed():
    a = [JOINT.sample(np.random.default_rng(7)) for _ in range(2)]
    assert a[0] == a[1]
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    assert [JOINT.encode(JOINT.sample(g1)) for _ in range(5)] == [JOINT.encode(JOINT.sample(g2)) for _ in range(5)]
    assert JOINT.sample(1) != JOINT.sample(2)


def _n_diff(a, b):
    return sum(x != y for x, y in zip(a, b))


@settings(max_examples=60, deadline=None)
@given(indices_for(NET), st.integers(0, 2**32 - 1))
def test_network_mutate_changes_exactly_one_decision(idx, seed):
    c = NET.decode(idx)
    m = NET.mutate(c, np.random.default_rng(seed))
    assert _n_diff(NET.encode(c), NET.encode(m)) == 1
    NET.validate(m)


@settings(max_examples=60, deadline=None)
@given(indices_for(JOINT), st.integers(0, 2**32 - 1))
def test_joint_mutate_changes_exactly_one_decision(idx, seed):
    c = JOINT.decode(idx)
    m = JOINT.mutate(c, np.random.default_rng(seed))
    assert _n_diff(JOINT.encode(c), JOINT.encode(m)) == 1


def test_joint_mutate_respects_hw_mutation_prob():
    g = np.random.default_rng(0)
    hw_only = JointSpace(hw_mutation_prob=1.0)
    net_only = JointSpace(hw_mutation_prob=0.0)
    c = JOINT.sample(g)
    for _ in range(30):
        m = hw_only.mutate(c, g)
        assert m.arch == c.arch and m.hw != c.hw
        m = net_only.mutate(c, g)
        assert m.hw == c.hw and m.arch != c.arch
    # with 0.5 both parts get mutated over many draws
    parts = {("hw" if JOINT.mutate(c, g).arch == c.arch else "net") for _ in range(50)}
    assert parts == {"hw", "net"}


def test_mutation_covers_every_decision():
    g = np.random.default_rng(0)
    c = NET.sample(g)
    changed = set()
    for _ in range(600):
        a, b = NET.encode(c), NET.encode(NET.mutate(c, g))
        changed.add(next(i for i in range(len(a)) if a[i] != b[i]))
    assert changed == set(range(len(NET.names)))


def test_mutate_with_a_single_candidate_space_raises():
    small = NetworkSpace(kernels=(3,), expansions=(6,), widths=(1.0,), max_depth=1)
    with pytest.raises(ValueError, match="nothing to mutate"):
        small.mutate(small.sample(0), 0)


# -- validation ------------------------------------------------------------------------------------------------
def test_validate_names_the_bad_decision():
    good = NetworkCandidate.mobilenet_v2()
    with pytest.raises(ValueError, match=r"stage2\.kernel=4"):
        NET.validate(dataclasses.replace(good, kernel=(3, 4, 3, 3, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"stage1\.depth=3"):
        NET.validate(dataclasses.replace(good, depth=(3, 2, 3, 4, 3, 3, 1)))
    with pytest.raises(ValueError, match=r"stage7\.width=2\.0"):
        NET.validate(dataclasses.replace(good, width=(1.0,) * 6 + (2.0,)))
    with pytest.raises(ValueError, match="NetworkCandidate"):
        NET.validate("not a candidate")


def test_candidate_length_checked():
    with pytest.raises(ValueError, match=r"kernel must have 7 entries"):
        NetworkCandidate(kernel=(3, 3), expansion=(6,) * 7, depth=(1,) * 7, width=(1.0,) * 7)


def test_decode_errors():
    with pytest.raises(ValueError, match="length 3"):
        NET.decode((0, 0, 0))
    bad = [0] * 28
    bad[2] = 2  # stage1.depth has only 2 choices
    with pytest.raises(ValueError, match=r"stage1\.depth index 2 out of range"):
        NET.decode(bad)
    bad[2] = 0.5
    with pytest.raises(ValueError, match=r"stage1\.depth index must be an int"):
        NET.decode(bad)


def test_space_constructor_errors():
    with pytest.raises(ValueError, match="kernel=4"):
        NetworkSpace(kernels=(3, 4))
    with pytest.raises(ValueError, match="max_depth"):
        NetworkSpace(max_depth=0)
    with pytest.raises(ValueError, match="dataflow='xs'"):
        HardwareSpace(dataflows=("ws", "xs"))
    with pytest.raises(ValueError, match="rows"):
        HardwareSpace(rows=(8, 8))
    with pytest.raises(ValueError, match="hw_mutation_prob"):
        JointSpace(hw_mutation_prob=1.5)


def test_candidates_are_frozen_and_hashable():
    c = JOINT.sample(0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.arch = None  # type: ignore[misc]
    assert len({c, JOINT.decode(JOINT.encode(c))}) == 1
    assert {c: 1}[JOINT.decode(JOINT.encode(c))] == 1


def test_spaces_import_without_torch():
    import subprocess
    import sys

    code = ("import sys, codesign.space, codesign.search.runner, codesign.search.evolution,"
            " codesign.search.pareto, codesign.evaluation.proxy;"
            "print(any(m in sys.modules for m in ('torch', 'timm')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# =====================================================================================================
# issue 4: the named spaces, block strings -> model / workload, the Edge-TPU hardware space, space files
# =====================================================================================================
from pathlib import Path  # noqa: E402

from codesign.space import (  # noqa: E402
    EDGETPU_BLOCKS,
    EDGETPU_HW_CHOICES,
    EDGETPU_HW_FIELDS,
    FBNET_LAYERS,
    FBNET_OPS,
    FBNetSpace,
    BlockSpec,
    EdgeTpuHardwareSpace,
    EdgeTpuNetCandidate,
    EdgeTpuNetworkSpace,
    FBNetCandidate,
    NetworkDef,
    SubSpace,
    hardware_space,
    load_space_file,
    network_space,
    parse_block,
)

ETPU = network_space("edgetpu")
ETPU_GC = network_space("edgetpu-gc")
#: the GC-IBN space with the group width a decision too (input channels per group 1, 2, 4 or 8)
ETPU_GC_G = EdgeTpuNetworkSpace(blocks=EDGETPU_BLOCKS, group_channels=(1, 2, 4, 8))
MNV2 = network_space("mobilenetv2")
FBNET = network_space("fbnet")
ETPU_HW = hardware_space("edgetpu-space")
FBNET_REF = Path("/work/shared/reference/fbnet")

#: timm's efficientnet_es arch_def (timm/models/efficientnet.py, _gen_efficientnet_edge)
ES_ARCH = [["er_r1_k3_s1_e4_c24_fc24_noskip"], ["er_r2_k3_s2_e8_c32"], ["er_r4_k3_s2_e8_c48"],
           ["ir_r5_k5_s2_e8_c96"], ["ir_r4_k5_s1_e8_c144"], ["ir_r2_k5_s2_e8_c192"]]


def _layers(wl):
    return [dataclasses.astuple(layer) for layer in wl.layers]


def test_named_space_sizes_by_hand():
    # edgetpu: per stage block 2 x kernel 2 x expansion 4 x width 4 = 64; depths 1..d+1 (<= 6) for d = 1,2,4,5,4,2
    assert ETPU.depth_choices == ((1, 2), (1, 2, 3), (1, 2, 3, 4, 5), (1, 2, 3, 4, 5, 6), (1, 2, 3, 4, 5), (1, 2, 3))
    assert ETPU.size == 64**6 * 2 * 3 * 5 * 6 * 5 * 3 == 185_542_587_187_200
    assert len(ETPU.names) == 30 and ETPU.names[:5] == ("stage1.block", "stage1.kernel", "stage1.expansion",
                                                        "stage1.depth", "stage1.width")
    # mobilenetv2 (issue's): the first space x SE {0, 0.25} x act {relu6, swish} per stage
    assert len(MNV2.names) == 42 and MNV2.names[4:6] == ("stage1.se", "stage1.act")
    assert MNV2.size == NET.size * 4**7
    assert FBNET.size == 9**22 and FBNET.names[0] == "layer0.op" and len(FBNET.names) == 22
    assert ETPU_HW.size == 5 * 5 * 4 * 4 * 5 * 5 * 5 == 50_000
    assert ETPU_HW.names == EDGETPU_HW_FIELDS


def test_efficientnet_edgetpu_s_is_a_member_and_round_trips():
    es = EdgeTpuNetCandidate.efficientnet_edgetpu_s()
    assert ETPU.reference == es
    assert ETPU.to_block_strings(es) == ES_ARCH
    enc = ETPU.encode(es)
    assert ETPU.decode(enc) == es and ETPU.encode(ETPU.decode(enc)) == enc
    # stage 1: fused, k3, e4 (index 1 of 2,4,6,8), depth 1, width 1.0
    assert enc[:5] == (1, 0, 1, 0, 2)
    assert ETPU.decisions(es)["stage4.block"] == "ibn" and ETPU.decisions(es)["stage6.depth"] == 2


def test_efficientnet_edgetpu_s_workload_equals_timm_model():
    timm = pytest.importorskip("timm")
    from codesign.workload import from_torch

    ref = timm.create_model("efficientnet_es")
    ref.eval()
    ours = ETPU.workload(ETPU.reference)
    traced = from_torch(ref, (1, 3, 224, 224))
    assert _layers(ours) == _layers(traced)
    assert ours.params == traced.params == sum(p.numel() for p in ref.parameters()) == 5_438_392


@pytest.mark.parametrize("space, cand", [
    (MNV2, NetworkCandidate(kernel=(3, 5, 7, 3, 5, 7, 3), expansion=(1, 3, 6, 6, 1, 3, 6), depth=(1, 2, 2, 1, 3, 1, 2),
                            width=(1.0, 0.5, 0.75, 1.25, 1.0, 0.5, 1.0), se=(0.25, 0, 0.25, 0, 0.25, 0.25, 0),
                            act=("swish", "relu6", "swish", "swish", "relu6", "relu6", "swish"))),
    (ETPU, EdgeTpuNetCandidate(block=("ibn", "fused", "ibn", "fused", "ibn", "fused"), kernel=(5, 3, 5, 3, 3, 5),
                               expansion=(2, 4, 6, 8, 2, 4), depth=(2, 1, 2, 1, 2, 1),
                               width=(0.5, 1.25, 0.75, 0.5, 1.0, 0.75))),
    # GC-IBN: stage 1 a GC-IBN block (no fc; input = 32-channel stem), every expansion and width
    (ETPU_GC, EdgeTpuNetCandidate(block=("gc-fused", "gc-fused", "fused", "gc-fused", "ibn", "gc-fused"),
                                  kernel=(3, 5, 3, 5, 3, 5), expansion=(2, 4, 6, 8, 4, 6), depth=(2, 3, 2, 2, 1, 2),
                                  width=(0.5, 0.75, 1.0, 1.25, 0.5, 1.0))),
    # stage 1 a fused block with fc, then GC-IBN blocks of 1, 2, 4, 8 input channels per group
    (ETPU_GC_G, EdgeTpuNetCandidate(block=("fused", "gc-fused", "gc-fused", "ibn", "gc-fused", "gc-fused"),
                                    kernel=(3, 3, 5, 5, 3, 5), expansion=(4, 6, 8, 2, 2, 4), depth=(1, 2, 2, 1, 2, 1),
                                    width=(0.75, 1.25, 0.5, 1.0, 0.75, 1.25), group=(8, 1, 2, 8, 4, 8))),
    (FBNET, FBNetCandidate(ops=("skip", "k5_e1_g2", "skip", "k3_e3", "skip", "skip", "k3_e1_g2", "k5_e6", "skip",
                                "k3_e6", "skip", "k5_e3", "k3_e1", "skip", "k5_e1", "skip", "k3_e1_g2", "skip",
                                "k5_e6", "k3_e3", "skip", "skip"))),
])
def test_model_and_workload_agree_layer_by_layer(space, cand):
    """The torch model (timm's builder from the block strings) and the analytic workload are one definition."""
    pytest.importorskip("timm")
    from codesign.workload import from_torch

    model = space.build_model(cand)
    model.eval()
    traced = from_torch(model, (1, 3, 224, 224))
    ours = space.workload(cand)
    assert _layers(ours) == _layers(traced)
    assert ours.params == traced.params == sum(p.numel() for p in model.parameters())
    # the accuracy proxy's scaled-down variant agrees too
    small = space.build_model(cand, num_classes=10, in_chans=1, channel_scale=0.5, num_features=640)
    small.eval()
    nd = space.network_def(cand)
    assert _layers(nd.workload(input_shape=(1, 1, 32, 32), num_classes=10, channel_scale=0.5, num_features=640)) == \
        _layers(from_torch(small, (1, 1, 32, 32)))


def test_mobilenetv2_space_se_and_swish_block_strings():
    c = dataclasses.replace(NetworkCandidate.mobilenet_v2(), se=(0.25,) + (0.0,) * 6,
                            act=("relu6", "swish") + ("relu6",) * 5)
    assert MNV2.to_block_strings(c)[:2] == [["ds_r1_k3_s1_c16_se0.25"], ["ir_r2_k3_s2_e6_c24_nsw"]]
    assert MNV2.reference == NetworkCandidate.mobilenet_v2()
    wl = MNV2.workload(c)
    assert wl["blocks.0.0.se.conv_expand"].act == "sigmoid" and wl["blocks.0.0.se.conv_reduce"].k == 8  # 32 in * 0.25
    assert wl["blocks.1.0.conv_pw"].act == "swish" and wl["conv_stem"].act == "relu6"
    # the first space does not hold SE or swish, and says which decision is wrong
    with pytest.raises(ValueError, match=r"stage1\.se=0\.25"):
        NET.validate(c)
    with pytest.raises(ValueError, match="act"):
        NetworkSpace(activations=("relu6", "gelu"))


def test_fbnet_space_follows_the_reference_tables():
    assert [(s, c, st) for s, c, st in FBNET_LAYERS][:6] == [(0, 16, 1), (1, 24, 2), (1, 24, 1), (1, 24, 1),
                                                             (1, 24, 1), (2, 32, 2)]
    assert len(FBNET_LAYERS) == 22 and list(FBNET_OPS) == ["k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2",
                                                           "k5_e3", "k5_e6", "skip"]
    if (FBNET_REF / "fbnet_layers.csv").is_file():
        import csv

        with open(FBNET_REF / "fbnet_layers.csv") as fh:
            rows = [r for r in csv.DictReader(fh) if r["dataset"] == "ImageNet"]
        assert [(int(r["stage"]), int(r["cout"]), int(r["stride"])) for r in rows] == list(FBNET_LAYERS)
        with open(FBNET_REF / "fbnet_ops.csv") as fh:
            ops = list(csv.DictReader(fh))
        for r in ops:
            spec = FBNET_OPS[r["op_name"]]
            assert (spec is None) == (r["is_skip"] == "1")
            if spec is not None:
                assert spec == (int(r["kernel"]), int(r["expansion"]), int(r["group"]))
    # skip: identity where shapes allow (layer 0: 16 -> 16, stride 1), else a 1x1 conv with the stride
    c = FBNetCandidate(ops=("skip",) * 22)
    assert FBNET.to_block_strings(c) == [["cn_r1_k1_s2_c24"], ["cn_r1_k1_s2_c32"], ["cn_r1_k1_s2_c64"],
                                         ["cn_r1_k1_s1_c112"], ["cn_r1_k1_s2_c184"], ["cn_r1_k1_s1_c352"]]
    wl = FBNET.workload(FBNetCandidate.uniform("k3_e1_g2"))
    assert wl["blocks.1.0.conv_pw"].groups == 2 and wl["blocks.1.0.conv_pwl"].groups == 2
    assert wl["conv_stem"].k == 16 and wl["conv_head"].k == 1984
    with pytest.raises(ValueError, match="op="):
        FBNetCandidate.uniform("k7_e6")
    with pytest.raises(ValueError, match=r"layer3\.op='k9'"):
        FBNET.validate(FBNetCandidate(ops=("skip",) * 3 + ("k9",) + ("skip",) * 18))


@pytest.mark.parametrize("text", ["ir_r2_k3_s2_e6_c24_se0.25", "er_r1_k3_s1_e4_c24_fc24_noskip", "ds_r1_k3_s1_c16",
                                  "cn_r1_k1_s2_c24", "ir_r1_k5_s1_e3_c40_nsw", "ir_r1_k3_s1_e1_c16_pg2",
                                  "er_r2_k5_s2_e8_c32_gs16"])
def test_block_strings_round_trip_and_match_timm(text):
    spec = parse_block(text)
    assert parse_block(spec.to_string()) == spec
    builder = pytest.importorskip("timm.models._efficientnet_builder")
    args, reps = builder._decode_block_str(text)
    assert reps == spec.repeat and args["out_chs"] == spec.out and args["stride"] == spec.stride
    assert args["block_type"] == spec.type


def test_block_string_errors_name_the_token():
    with pytest.raises(ValueError, match="'zz'"):
        parse_block("zz_r1_k3_s1_c8")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['q'\]"):
        parse_block("ir_r1_k3_s1_e6_c8_q3")
    with pytest.raises(ValueError, match="'e'"):
        parse_block("ir_r1_k3_s1_c8")
    with pytest.raises(ValueError, match="pw_groups"):
        BlockSpec("er", 1, 3, 1, 8, exp=4.0, pw_groups=2)
    with pytest.raises(ValueError, match="stage 1 is empty"):
        NetworkDef((("ds_r1_k3_s1_c16",), ()))
    with pytest.raises(ValueError, match="channel_scale"):
        NetworkDef((("ds_r1_k3_s1_c16",),)).workload(channel_scale=0)


@settings(max_examples=40, deadline=None)
@given(indices_for(ETPU_HW))
def test_edgetpu_hardware_encode_decode_round_trip(idx):
    hw = ETPU_HW.decode(idx)
    assert ETPU_HW.encode(hw) == idx and ETPU_HW.decode(ETPU_HW.encode(hw)) == hw
    assert hw.clock_mhz == 500.0 and hw.data_type == "int8" and hw.inference_overhead_us == 0.0
    import codesign  # the template keeps the Edge TPU's fitted per-op costs (issue 14)

    coral = codesign.preset("edgetpu")
    assert (hw.conv_op_us, hw.pool_op_us, hw.eltwise_op_us) == (coral.conv_op_us, coral.pool_op_us, coral.eltwise_op_us)
    assert hw.macs_per_cycle == hw.pe_x * hw.pe_y * hw.lanes * hw.simd


def test_edgetpu_hardware_space_published_values_and_baseline():
    assert EDGETPU_HW_CHOICES == {"pe_x": (1, 2, 4, 6, 8), "pe_y": (1, 2, 4, 6, 8), "lanes": (1, 2, 4, 8),
                                  "simd": (16, 32, 64, 128), "pe_mem_kib": (512, 1024, 2048, 3072, 4096),
                                  "core_mem_kib": (8, 16, 32, 64, 128), "io_bw_gbps": (5, 10, 15, 20, 25)}
    base = ETPU_HW.default
    assert (base.pe_x, base.pe_y, base.lanes, base.simd, base.pe_mem_kib, base.core_mem_kib, base.io_bw_gbps) == \
        (4, 4, 4, 64, 2048.0, 32.0, 10.0)
    assert base.macs_per_cycle == 4096 and base.name == "4x4x4x64-pe2048-core32-io10"
    assert ETPU_HW.encode(base) == (2, 2, 2, 2, 2, 2, 1)
    import codesign

    with pytest.raises(ValueError, match="inference_overhead_us"):
        ETPU_HW.encode(codesign.preset("edgetpu"))  # Coral preset: USB host overhead, not in the template space
    with pytest.raises(ValueError, match="pe_x=3"):
        ETPU_HW.validate(base.replace(pe_x=3))
    with pytest.raises(ValueError, match="unknown Edge-TPU hardware decision"):
        EdgeTpuHardwareSpace(rows=(8,))
    with pytest.raises(ValueError, match="lanes choices must be ints"):
        EdgeTpuHardwareSpace(lanes=(1.5,))


def test_joint_edgetpu_space_hashes_and_restricts():
    joint = JointSpace(ETPU, ETPU_HW)
    assert len(joint.names) == 37 and joint.size == ETPU.size * 50_000
    c = joint.sample(3)
    assert {c: 1}[joint.decode(joint.encode(c))] == 1  # EdgeTpuConfig is unhashable; Candidate hashes its fields
    net_only = joint.restrict(hw=ETPU_HW.default)
    assert isinstance(net_only, SubSpace) and net_only.names == ETPU.names and net_only.searches == "network"
    m = net_only.sample(1)
    assert m.hw == ETPU_HW.default and net_only.decode(net_only.encode(m)) == m
    hw_only = joint.restrict(arch=ETPU.reference)
    assert hw_only.names == ETPU_HW.names and hw_only.sample(0).arch == ETPU.reference
    with pytest.raises(ValueError, match="fixed hardware"):
        net_only.encode(c)
    with pytest.raises(ValueError, match="exactly one"):
        SubSpace(joint)


def test_space_file_toml(tmp_path):
    p = tmp_path / "space.toml"
    p.write_text('[network]\ntype = "edgetpu"\nkernels = [3]\nexpansions = [4, 8]\n\n'
                 '[hardware]\ntype = "edgetpu-space"\npe_x = [2, 4]\nio_bw_gbps = [10, 20]\n')
    joint = load_space_file(p)
    assert isinstance(joint, JointSpace) and isinstance(joint.network, EdgeTpuNetworkSpace)
    assert joint.network.kernels == (3,) and "stage1.kernel" in joint.network.names
    assert joint.hardware.choices[0] == (2, 4) and joint.hardware.size == 2 * 5 * 4 * 4 * 5 * 5 * 2
    p.write_text('[network]\ntype = "fbnet"\nops = ["k3_e6", "skip"]\n')
    assert load_space_file(p).size == 2**22
    p.write_text('[network]\ntype = "edgetpu"\nkernel = [3]\n')
    with pytest.raises(ValueError, match="no setting 'kernel'"):
        load_space_file(p)
    p.write_text('[netwrk]\ntype = "edgetpu"\n')
    with pytest.raises(ValueError, match="netwrk"):
        load_space_file(p)
    with pytest.raises(ValueError, match="unknown network space 'mnasnet'"):
        network_space("mnasnet")


def test_space_file_yaml(tmp_path):
    pytest.importorskip("yaml")
    p = tmp_path / "space.yaml"
    p.write_text("network:\n  type: mobilenetv2\n  kernels: [3, 5]\nhardware:\n  type: systolic-space\n  rows: [16, 32]\n")
    joint = load_space_file(p)
    assert joint.network.kernels == (3, 5) and joint.hardware.choices[0] == (16, 32)


def test_sampled_members_build_workloads_fast():
    import time

    t0 = time.perf_counter()
    for space in (ETPU, ETPU_GC, MNV2, FBNET):
        for seed in range(5):
            wl = space.workload(space.sample(seed))
            assert wl.macs > 0 and wl.layers[-1].name == "classifier"
    assert time.perf_counter() - t0 < 6.0  # analytic: ~1 ms each (torch tracing takes ~1 s)


# =====================================================================================================
# group-convolution IBN (GC-IBN): the edgetpu-gc space
# =====================================================================================================
def _gc_like(cand, blocks):
    return dataclasses.replace(cand, block=blocks)


def test_edgetpu_gc_space_size_and_names():
    # per stage block 3 x kernel 2 x expansion 4 x width 4 = 96; depths as edgetpu: 2*3*5*6*5*3 = 2700
    assert ETPU_GC.blocks == ("ibn", "fused", "gc-fused") and ETPU_GC.group_channels == (8,)
    assert ETPU_GC.size == 96**6 * 2 * 3 * 5 * 6 * 5 * 3 == 2_113_446_032_179_200
    assert ETPU_GC.names == ETPU.names and len(ETPU_GC.names) == 30  # the group width is fixed: not a decision
    assert ETPU_GC.choices[0] == ("ibn", "fused", "gc-fused")
    # with several group widths, stage{i}.group follows stage{i}.block
    assert ETPU_GC_G.names[:3] == ("stage1.block", "stage1.group", "stage1.kernel") and len(ETPU_GC_G.names) == 36
    assert ETPU_GC_G.size == ETPU_GC.size * 4**6
    # the default edgetpu space is unchanged, repr included (search checkpoints compare it on resume)
    assert ETPU.blocks == ("ibn", "fused") and ETPU.size == 185_542_587_187_200
    assert repr(ETPU) == ("EdgeTpuNetworkSpace(blocks=('ibn', 'fused'), kernels=(3, 5), expansions=(2, 4, 6, 8), "
                          "widths=(0.5, 0.75, 1.0, 1.25), max_depth=6, se_ratios=(0.0,), activations=('relu',))")
    assert "group_channels=(8,)" in repr(ETPU_GC)


def test_efficientnet_edgetpu_s_is_a_member_of_edgetpu_gc_and_round_trips():
    es = EdgeTpuNetCandidate.efficientnet_edgetpu_s()
    assert ETPU_GC.reference == es
    enc = ETPU_GC.encode(es)
    assert enc == ETPU.encode(es)  # "ibn" / "fused" keep their indices
    assert ETPU_GC.decode(enc) == es and ETPU_GC.encode(ETPU_GC.decode(enc)) == enc
    assert ETPU_GC.to_block_strings(es) == ES_ARCH
    assert ETPU_GC.network_key(es) == ETPU.network_key(es)
    # in the space with a group decision too (the unused group value is the first choice there)
    ref = ETPU_GC_G.reference
    assert ref.block == es.block and ref.group == (1,) * 6
    assert ETPU_GC_G.decode(ETPU_GC_G.encode(ref)) == ref and ETPU_GC_G.to_block_strings(ref) == ES_ARCH


@settings(max_examples=40, deadline=None)
@given(indices_for(ETPU_GC_G))
def test_edgetpu_gc_encode_decode_round_trip_and_workload(idx):
    c = ETPU_GC_G.decode(idx)
    assert ETPU_GC_G.encode(c) == idx and ETPU_GC_G.decode(ETPU_GC_G.encode(c)) == c
    wl = ETPU_GC_G.workload(c, input_shape=(1, 3, 64, 64))  # every member divides exactly (no ValueError)
    for s in range(6):
        if c.block[s] == "gc-fused":
            layer = wl[f"blocks.{s}.0.conv_exp"]
            assert layer.c // layer.groups == c.group[s] and layer.k // layer.groups == c.group[s] * c.expansion[s]


def test_gc_ibn_block_strings_and_short_name():
    es = EdgeTpuNetCandidate.efficientnet_edgetpu_s()
    c = _gc_like(es, ("gc-fused", "gc-fused", "fused", "ibn", "ibn", "gc-fused"))
    # gs = (input channels per group) x expansion; stage 1 GC-IBN: no fc, its expansion comes from the stem's 32
    assert [st[0] for st in ETPU_GC.to_block_strings(c)] == [
        "er_r1_k3_s1_e4_c24_gs32_noskip", "er_r2_k3_s2_e8_c32_gs64", "er_r4_k3_s2_e8_c48", "ir_r5_k5_s2_e8_c96",
        "ir_r4_k5_s1_e8_c144", "er_r2_k5_s2_e8_c192_gs64"]
    assert ETPU_GC.short_name(c).startswith("g8k3e4d1w1-g8k3e8d2w1-fk3e8d4w1-ik5e8d5w1-")
    wl = ETPU_GC.workload(c)
    assert wl["blocks.0.0.conv_exp"].groups == 32 // 8 and wl["blocks.0.0.conv_exp"].k == 32 * 4
    assert wl["blocks.1.0.conv_exp"].groups == 24 // 8 and wl["blocks.1.1.conv_exp"].groups == 32 // 8
    assert wl["blocks.2.0.conv_exp"].groups == 1


def test_gc_ibn_block_macs_and_params_by_hand():
    """One GC-IBN block worked by hand: 32 ch in and out, kernel 3, expansion 4, 8 input channels per group
    (G = 32 / 8 = 4 groups), stride 1, 56x56 (a 112x112 input; the stem halves it)."""
    es = EdgeTpuNetCandidate.efficientnet_edgetpu_s()
    c = dataclasses.replace(es, block=("gc-fused",) + es.block[1:], width=(1.25,) + es.width[1:])  # 24*1.25 -> 32
    assert ETPU_GC.to_block_strings(c)[0] == ["er_r1_k3_s1_e4_c32_gs32_noskip"]
    wl = ETPU_GC.workload(c, input_shape=(1, 3, 112, 112))
    exp, pwl = wl["blocks.0.0.conv_exp"], wl["blocks.0.0.conv_pwl"]
    hw = 56 * 56
    G, mid = 4, 32 * 4
    # conv_exp: 128 filters of (32 / 4) x 3 x 3; conv_pwl: 32 filters of 128 x 1 x 1
    exp_w, pwl_w = mid * (32 // G) * 3 * 3, 32 * mid
    assert (exp.c, exp.k, exp.groups, exp.r, exp.p, exp.q) == (32, 128, 4, 3, 56, 56)
    assert exp_w == 9_216 and pwl_w == 4_096
    assert exp.weights == exp_w and pwl.weights == pwl_w
    assert exp.macs == hw * exp_w == 28_901_376 and pwl.macs == hw * pwl_w == 12_845_056
    block_macs = sum(layer.macs for layer in wl.layers if layer.name.startswith("blocks.0.0."))
    assert block_macs == 41_746_432
    block_params = exp_w + 2 * mid + pwl_w + 2 * 32  # conv weights + BatchNorm scale and shift
    assert block_params == 13_632
    # the same block fused (dense 3x3 expansion): 4x the expansion weights and MACs, the rest equal
    f = ETPU_GC.workload(dataclasses.replace(c, block=("fused",) + c.block[1:]), input_shape=(1, 3, 112, 112))
    assert f["blocks.0.0.conv_exp"].groups == 1 and f["blocks.0.0.conv_exp"].macs == G * exp.macs
    assert f.params - wl.params == (G - 1) * exp_w == 27_648
    timm = pytest.importorskip("timm")  # noqa: F841
    model = ETPU_GC.build_model(c)
    assert sum(p.numel() for p in model.blocks[0][0].parameters()) == block_params
    assert model.blocks[0][0].conv_exp.groups == G


def test_gc_ibn_invalid_values_name_the_field():
    with pytest.raises(ValueError, match="block='gc'"):
        EdgeTpuNetworkSpace(blocks=("ibn", "gc"))
    with pytest.raises(ValueError, match="group=16"):
        EdgeTpuNetworkSpace(blocks=EDGETPU_BLOCKS, group_channels=(8, 16))
    with pytest.raises(ValueError, match="group=3"):
        EdgeTpuNetworkSpace(blocks=EDGETPU_BLOCKS, group_channels=(3,))
    with pytest.raises(ValueError, match="group_channels"):
        EdgeTpuNetworkSpace(group_channels=(4, 8))  # a group decision without gc-fused blocks
    es = EdgeTpuNetCandidate.efficientnet_edgetpu_s()
    gc = _gc_like(es, ("fused", "gc-fused") + es.block[2:])
    with pytest.raises(ValueError, match=r"stage2\.block='gc-fused'"):
        ETPU.validate(gc)  # the default space has no GC-IBN
    with pytest.raises(ValueError, match=r"stage3\.group=4"):
        ETPU_GC.validate(dataclasses.replace(gc, group=(8, 8, 4, 8, 8, 8)))
    with pytest.raises(ValueError, match=r"stage1\.group=16"):
        ETPU_GC_G.validate(dataclasses.replace(gc, group=(16,) + (8,) * 5))
    with pytest.raises(ValueError, match="group must have 6 entries"):
        EdgeTpuNetCandidate(block=es.block, kernel=es.kernel, expansion=es.expansion, depth=es.depth, width=es.width,
                            group=(8,))


def test_grouped_er_block_strings_are_checked_like_timm():
    """timm asserts gs divides conv_exp's output (mid = in * e) and torch that the groups divide its input;
    the analytic workload raises ValueError for both, naming the block (it used to floor-divide silently)."""
    with pytest.raises(ValueError, match=r"blocks\.0\.0 .*gs48 does not divide the 128"):
        NetworkDef((("er_r1_k3_s1_e4_c24_gs48",),)).workload()
    with pytest.raises(ValueError, match=r"gs32 gives 3 groups, which do not divide the conv's 32 input"):
        NetworkDef((("er_r1_k3_s1_e3_c24_gs32",),)).workload()
    with pytest.raises(ValueError, match="gs0"):
        parse_block("ir_r1_k3_s1_e6_c16_gs0")  # a dense KxK conv in timm, not expressible here
    assert parse_block("er_r1_k3_s1_e4_c24_gs0") == parse_block("er_r1_k3_s1_e4_c24")  # timm's default: dense
    wl = NetworkDef((("er_r2_k3_s2_e4_c32_gs32",),)).workload()  # 32 -> 128 in 4 groups, then 32 -> 128 again
    assert wl["blocks.0.0.conv_exp"].groups == 4 and wl["blocks.0.1.conv_exp"].groups == 4


def test_edgetpu_cost_model_runs_gc_ibn_and_it_saves_macs():
    import codesign

    es = EdgeTpuNetCandidate.efficientnet_edgetpu_s()
    gc = _gc_like(es, ("gc-fused",) * 3 + es.block[3:])  # EfficientNet-EdgeTPU-S's fused stages as GC-IBN
    wl_f, wl_g = ETPU_GC.workload(es), ETPU_GC.workload(gc)
    assert any(layer.kind == "conv" and 1 < layer.groups < layer.c for layer in wl_g.layers)
    assert wl_g.macs < wl_f.macs and wl_g.params < wl_f.params
    for preset in ("edgetpu", "edgetpu-baseline"):
        hw = codesign.preset(preset)
        rf, rg = codesign.evaluate(wl_f, hw), codesign.evaluate(wl_g, hw)
        for r in (rf, rg):
            assert np.isfinite(r.totals["latency_ms"]) and r.totals["latency_ms"] > 0
        grouped = [i for i, layer in enumerate(wl_g.layers) if layer.name == "blocks.1.0.conv_exp"][0]
        assert rg.layer(grouped)["cycles"] > 0


def test_space_file_gc_ibn(tmp_path):
    p = tmp_path / "space.toml"
    p.write_text('[network]\ntype = "edgetpu"\nblocks = ["ibn", "fused", "gc-fused"]\ngroup_channels = [4, 8]\n')
    sp = load_space_file(p)
    assert sp.blocks == EDGETPU_BLOCKS and sp.group_channels == (4, 8) and "stage6.group" in sp.names
    p.write_text('[network]\ntype = "edgetpu-gc"\nkernels = [3]\n')
    sp = load_space_file(p)
    assert sp.blocks == EDGETPU_BLOCKS and sp.kernels == (3,) and sp.size == ETPU_GC.size // 2**6
    p.write_text('[network]\ntype = "edgetpu-gc"\ngroups = [4]\n')
    with pytest.raises(ValueError, match="no setting 'groups'"):
        load_space_file(p)
    p.write_text('[network]\ntype = "edgetpu"\nblocks = ["ibn", "grouped"]\n')
    with pytest.raises(ValueError, match="block='grouped'"):
        load_space_file(p)


# =====================================================================================================
# validation of space settings, space files and candidates (fresh-user report)
# =====================================================================================================
def test_a_single_value_is_one_choice(tmp_path):
    """Policy: a setting that takes choices takes a list, or one value as its only choice (was: TypeError
    "'int' object is not iterable"), in the constructors, network_space / hardware_space and space files alike."""
    gc = network_space("edgetpu-gc", group_channels=4)
    assert gc.group_channels == (4,) and gc.reference.group == (4,) * 6
    assert network_space("edgetpu", kernels=3).kernels == (3,)
    one = NetworkSpace(kernels=5, expansions=6, widths=1.0, se_ratios=0, activations="swish")
    assert one.size == 2 * 3 * 4 * 4 * 4 * 4 * 2 and one.activations == ("swish",)  # only the depths vary
    assert NetworkSpace(kernels=5).kernels == (5,) and NetworkSpace(widths=1).widths == (1.0,)
    assert FBNetSpace(ops="skip").ops == ("skip",)
    assert hardware_space("edgetpu-space", pe_x=4).choices[0] == (4,)
    assert HardwareSpace(rows=32, dataflows="ws").choices[:3] == ((32,), (8, 16, 32, 64, 128), ("ws",))
    # numpy arrays and scalars are lists of / single Python values
    assert hardware_space("edgetpu-space", pe_x=np.array([2, 4])).choices[0] == (2, 4)
    assert type(NetworkSpace(kernels=np.array([3, 5])).kernels[0]) is int
    p = tmp_path / "space.toml"
    p.write_text('[network]\ntype = "edgetpu"\nblocks = ["gc-fused"]\ngroup_channels = 4\nkernels = 3\n')
    sp = load_space_file(p)
    assert sp.blocks == ("gc-fused",) and sp.group_channels == (4,) and sp.kernels == (3,)
    p.write_text('[network]\ntype = "edgetpu"\ngroup_channels = 0\n')
    with pytest.raises(ValueError, match=r"\[network\] group_channels must be among .*got group=0"):
        load_space_file(p)
    # a mapping or a set is refused, naming the setting
    with pytest.raises(ValueError, match=r"kernels must be a list of choices .*mapping: kernels=\{'a': 3\}"):
        NetworkSpace(kernels={"a": 3})
    with pytest.raises(ValueError, match=r"pe_x must be a list of choices .*set"):
        EdgeTpuHardwareSpace(pe_x={2, 4})


def test_a_string_is_one_choice_not_its_characters(tmp_path):
    assert EdgeTpuNetworkSpace(blocks="gc-fused").blocks == ("gc-fused",)
    with pytest.raises(ValueError, match="got kernel='three'"):  # was: got kernel='t'
        EdgeTpuNetworkSpace(kernels="three")
    with pytest.raises(ValueError, match="got block='gc'"):  # was: got block='g'
        EdgeTpuNetworkSpace(blocks="gc")
    with pytest.raises(ValueError, match="got dataflow='wso'"):
        HardwareSpace(dataflows="wso")
    with pytest.raises(ValueError, match="got act='swsh'"):
        NetworkSpace(activations="swsh")
    p = tmp_path / "space.toml"
    p.write_text('[network]\ntype = "edgetpu"\nblocks = "gc-fused"\n')
    assert load_space_file(p).blocks == ("gc-fused",)
    p.write_text('[network]\ntype = "edgetpu"\nkernels = "three"\n')
    with pytest.raises(ValueError, match=r"\[network\] kernels .*got kernel='three'"):
        load_space_file(p)


@pytest.mark.parametrize("text, shown", [
    ("network = 5", "network=5"),
    ("network = [1, 2]", r"network=\[1, 2\]"),
    ('network = "edgetpu"', "network='edgetpu'"),
    ('hardware = "edgetpu-space"', "hardware='edgetpu-space'"),
    ('[[network]]\ntype = "edgetpu"', r"network=\[\{'type': 'edgetpu'\}\]"),
])
def test_space_file_part_must_be_a_table(tmp_path, text, shown):
    p = tmp_path / "space.toml"
    p.write_text(text + "\n")
    with pytest.raises(ValueError, match=rf"\[(network|hardware)\] must be a table \(mapping\).*got {shown}"):
        load_space_file(p)


def test_space_dict_keys_type_and_hw_mutation_prob_checked():
    from codesign.space import space_from_dict

    with pytest.raises(ValueError, match="setting names must be strings, got 1"):
        space_from_dict({"network": {"type": "edgetpu", 1: 2}})  # YAML allows int keys (was: TypeError)
    with pytest.raises(ValueError, match="type must be a space name .*got type=5"):
        space_from_dict({"network": {"type": 5}})
    with pytest.raises(ValueError, match="hw_mutation_prob applies to a joint space"):
        space_from_dict({"network": {"type": "edgetpu"}, "hw_mutation_prob": 0.2})  # was silently ignored
    with pytest.raises(ValueError, match="space definition: hw_mutation_prob must be in"):
        space_from_dict({"network": {"type": "edgetpu"}, "hardware": {"type": "edgetpu-space"},
                         "hw_mutation_prob": "x"})
    joint = space_from_dict({"network": {"type": "edgetpu"}, "hardware": {"type": "edgetpu-space"},
                             "hw_mutation_prob": 0.2})
    assert joint.hw_mutation_prob == 0.2


@pytest.mark.parametrize("widths", [(float("inf"),), (float("nan"),), (1e9,), (1e-9,), (0.0,), (-1.0,), (9.0,),
                                    (0.04,), (True,), ("1.0",)])
def test_widths_must_be_finite_and_in_range(widths, tmp_path):
    for cls in (NetworkSpace, EdgeTpuNetworkSpace):
        with pytest.raises(ValueError, match=r"widths must be numbers in \[0.05, 8\].*got width="):
            cls(widths=widths)
    assert EdgeTpuNetworkSpace(widths=(0.05, 8)).widths == (0.05, 8.0)  # the range's ends are allowed
    p = tmp_path / "space.toml"
    p.write_text('[network]\ntype = "mobilenetv2"\nwidths = [inf]\n')  # was: OverflowError in round_to_multiple
    with pytest.raises(ValueError, match=r"\[network\] widths must be numbers in \[0.05, 8\].*got width=inf"):
        load_space_file(p)


def test_kernels_and_expansions_have_sane_ranges():
    with pytest.raises(ValueError, match=r"kernels must be odd ints in \[1, 31\], got kernel=33"):
        EdgeTpuNetworkSpace(kernels=(3, 33))
    with pytest.raises(ValueError, match=r"expansions must be ints in \[1, 64\], got expansion=1000000000"):
        NetworkSpace(expansions=(10**9,))  # was: every trial failed on Layer.k > 2**31 - 1
    with pytest.raises(ValueError, match="got expansion=4.0"):
        EdgeTpuNetworkSpace(expansions=(2, 4.0))
    with pytest.raises(ValueError, match="got group=8.0"):
        EdgeTpuNetworkSpace(blocks=EDGETPU_BLOCKS, group_channels=(8.0,))
    assert EdgeTpuNetworkSpace(kernels=31, expansions=64).kernels == (31,)


def test_validate_is_type_strict_for_int_choices():
    """A float equal to an int choice is not that choice (network_def refused it, and expansion 4.0 named the
    network e4.0, another cache key than e4); a bool is not an int; numpy ints are ints."""
    es = ETPU_GC.reference
    for field, bad, shown in (("kernel", 3.0, "kernel=3.0"), ("depth", 1.0, "depth=1.0"),
                              ("expansion", 4.0, "expansion=4.0"), ("kernel", True, "kernel=True")):
        cand = dataclasses.replace(es, **{field: (bad,) + getattr(es, field)[1:]})
        with pytest.raises(ValueError, match=rf"stage1\.{shown} is not one of the allowed choices .*they are ints"):
            ETPU_GC.validate(cand)
        with pytest.raises(ValueError, match=rf"stage1\.{shown}"):
            ETPU_GC.short_name(cand)
    gc = dataclasses.replace(es, block=("gc-fused",) * 6, group=(8.0,) * 6)
    with pytest.raises(ValueError, match=r"stage1\.group=8\.0 .*they are ints"):
        ETPU_GC.validate(gc)  # the fixed (not encoded) group width is checked the same way
    with pytest.raises(ValueError, match=r"stage1\.group=8\.0"):
        ETPU_GC_G.encode(gc)
    mnv2 = NetworkCandidate.mobilenet_v2()
    with pytest.raises(ValueError, match=r"stage1\.expansion=1\.0"):
        NET.validate(dataclasses.replace(mnv2, expansion=(1.0,) + mnv2.expansion[1:]))
    # numpy ints are ints (and become Python ints, so network_def and the names work)
    np_es = dataclasses.replace(es, kernel=tuple(np.int64(k) for k in es.kernel),
                                depth=tuple(np.int32(d) for d in es.depth))
    assert type(np_es.kernel[0]) is int and np_es == es
    assert ETPU_GC.encode(np_es) == ETPU_GC.encode(es) and ETPU_GC.network_def(np_es) == ETPU_GC.network_def(es)
    # a float choice still takes an equal int (width 1 is width 1.0) and names the network the same
    assert ETPU_GC.short_name(dataclasses.replace(es, width=(1,) * 6)) == ETPU_GC.short_name(es)
    # hardware: numpy ints are ints there too
    hw = HW.default
    assert HW.encode(hw) == HW.encode(dataclasses.replace(hw, rows=np.int64(32)))


@pytest.mark.parametrize("kw, match", [
    ({"io_bw_gbps": [float("inf")]}, r"io_bw_gbps choices must be finite positive numbers, got io_bw_gbps=inf"),
    ({"io_bw_gbps": [float("nan")]}, r"io_bw_gbps=nan"),
    ({"pe_mem_kib": []}, r"pe_mem_kib must have at least one choice"),
    ({"pe_x": [4.0]}, r"pe_x choices must be ints >= 1, got pe_x=4.0"),
    ({"pe_x": [True]}, r"pe_x=True"),
    ({"simd": ["64"]}, r"simd=\'64\'"),
    ({"simd": [[64]]}, r"simd=\[64\]"),  # was: TypeError unhashable type
    ({"pe_x": [10**6]}, r"invalid design \(pe_x must be between 1 and 4096, got 1000000\)"),  # was: at decode
    ({"core_mem_kib": [1e15]}, r"core_mem_kib must be below 1e12 KiB"),
])
def test_edgetpu_hardware_space_choices_checked(kw, match):
    with pytest.raises(ValueError, match=match):
        EdgeTpuHardwareSpace(**kw)


@pytest.mark.parametrize("kw, match", [
    ({"rows": [[8]]}, r"rows choices must be ints >= 1, got rows=\[8\]"),  # was: TypeError unhashable type
    ({"rows": [8.0]}, r"rows=8.0"),
    ({"dataflows": ["ws", 1]}, r"got dataflow=1"),
    ({"ifmap_sram_kib": [float("inf")]}, r"ifmap_sram_kib choices must be finite positive numbers, got .*=inf"),
    ({"ifmap_sram_kib": [1e300]}, r"ifmap_sram_kib must be below 9e15 words"),
    ({"dram_bw_words_per_cycle": [0]}, r"dram_bw_words_per_cycle=0"),
    ({"rows": [4096], "ofmap_sram_kib": [1]}, r"invalid design \(ofmap_sram_kib=1 is too small"),
    ({"clock_mhz": float("inf")}, r"clock_mhz must be a finite positive number"),
    ({"word_bytes": 10**6}, r"word_bytes must be between 1 and 16"),
])
def test_systolic_hardware_space_choices_checked(kw, match):
    with pytest.raises(ValueError, match=match):
        HardwareSpace(**kw)


def test_hardware_space_file_errors_name_the_setting(tmp_path):
    p = tmp_path / "space.toml"
    p.write_text('[hardware]\ntype = "edgetpu-space"\npe_x = 4\nio_bw_gbps = 10\n')
    assert load_space_file(p).size == 5 * 4 * 4 * 5 * 5
    p.write_text('[hardware]\ntype = "edgetpu-space"\nio_bw_gbps = [inf]\n')
    with pytest.raises(ValueError, match=r"\[hardware\] io_bw_gbps choices must be finite positive numbers"):
        load_space_file(p)
    p.write_text('[hardware]\ntype = "systolic-space"\nrows = [8, 16.0]\n')
    with pytest.raises(ValueError, match=r"\[hardware\] rows choices must be ints >= 1, got rows=16.0"):
        load_space_file(p)


def test_channel_scale_is_bounded():
    from codesign.evaluation.proxy import ProxySettings

    space = network_space("edgetpu")
    for bad in (1e9, 0.0, -1.0, float("inf"), True):
        with pytest.raises(ValueError, match="channel_scale"):
            space.network_def(space.reference).workload(channel_scale=bad)
    with pytest.raises(ValueError, match="channel_scale"):
        ProxySettings(channel_scale=9.0)
    assert space.network_def(space.reference).workload(channel_scale=8.0).macs > 0


def test_encode_memory_keeps_types_strict():
    # encode remembers candidates by the type and value of every field: a value equal but of another type (the
    # float 3.0 for the int kernel 3, True for 1) is still refused after the int one was encoded
    good = ETPU.reference
    first = ETPU.encode(good)
    assert ETPU.encode(dataclasses.replace(good)) == first  # an equal candidate: the remembered indices
    as_float = dataclasses.replace(good, kernel=tuple(float(k) for k in good.kernel))
    with pytest.raises(ValueError, match="kernel"):
        ETPU.encode(as_float)
    as_numpy = dataclasses.replace(good, kernel=tuple(np.int64(k) for k in good.kernel))
    assert ETPU.encode(as_numpy) == first  # numpy ints are ints
    import pickle
    assert "_encode_cache" not in pickle.loads(pickle.dumps(ETPU)).__dict__
