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
