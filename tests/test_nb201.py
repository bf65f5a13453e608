"""NAS-Bench-201: the cell space, its networks (torch model vs analytic workload), the accuracy table."""
from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest

from codesign.evaluation import NB201Accuracy, parse_nb201_spec
from codesign.space import NB201_OPS, NB201Candidate, NB201Space, network_space

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "nasbench" / "nb201_accuracy.csv.gz"
ALL3 = NB201Candidate(("nor_conv_3x3",) * 6)


def test_space_enumerates_every_cell_once():
    sp = NB201Space()
    cells = list(sp.candidates())
    assert sp.size == len(cells) == 5 ** 6 == 15625
    assert len({c.arch_str for c in cells}) == 15625
    assert all(sp.decode(sp.encode(c)) == c for c in cells[::997])
    assert network_space("nb201") .size == 15625


def test_arch_string_round_trip_and_format():
    s = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    c = NB201Candidate.from_arch_str(s)
    assert c.ops == ("nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "none", "skip_connect")
    assert c.arch_str == s and str(c) == s
    assert NB201Space().reference == c


@pytest.mark.parametrize("bad, words", [
    ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|", "3 nodes"),
    ("|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|", "op~0"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "'conv'"),
    ("nor_conv_3x3~0+|none~0|none~1|+|none~0|none~1|none~2|", "node 1"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "2 edge"),
])
def test_bad_arch_strings_name_the_part(bad, words):
    with pytest.raises(ValueError, match=words):
        NB201Candidate.from_arch_str(bad)


def test_all_conv3x3_cell_by_hand():
    """The largest cell (every edge a 3x3 conv) on CIFAR-10, counted by hand:
    stage cells: 3 stages x 5 cells x 6 convs; each conv C*C*9*P*Q = 16*16*9*32*32 = 32*32*9*16*16 = 64*64*9*8*8
    = 2,359,296 MACs -> 212,336,640; stem 3*16*9*1024 = 442,368; each reduction conv_a 1,179,648 + conv_b
    2,359,296 + shortcut 1x1 131,072 = 3,670,016 (x2); classifier 64*10 = 640. Total 220,119,680 (NAS-Bench-201
    reports 220.11 MFLOPs and 1.53 M parameters for this cell)."""
    wl = NB201Space().workload(ALL3)
    assert wl.macs == 212_336_640 + 442_368 + 2 * 3_670_016 + 640 == 220_119_680
    # params: convs (stem 432, 90 cell convs, reductions) + BN (2 per channel) + linear 650
    convs = 432 + 30 * (16 * 16 * 9 + 32 * 32 * 9 + 64 * 64 * 9) + (16 * 32 * 9 + 32 * 32 * 9 + 16 * 32) \
        + (32 * 64 * 9 + 64 * 64 * 9 + 32 * 64)
    bns = 2 * (16 + 30 * (16 + 32 + 64) + 2 * 32 + 2 * 64 + 64)
    assert wl.params == convs + bns + 650 == 1_531_546


def test_imagenet16_is_16px_and_120_classes():
    sp = NB201Space(dataset="imagenet16")
    wl = sp.workload(ALL3)
    assert wl["stem.0"].h == 16 and wl["classifier"].k == 120
    assert wl.macs == (220_119_680 - 640 - 442_368) // 4 + 3 * 16 * 9 * 256 + 64 * 120


def _cells_for_model_check():
    sp = NB201Space()
    rng = np.random.default_rng(201)
    fixed = [sp.reference] + [NB201Candidate((op,) * 6) for op in NB201_OPS]
    # a zero node feeding later ops; a node that is an alias of the input
    fixed += [NB201Candidate.from_arch_str("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"),
              NB201Candidate.from_arch_str("|skip_connect~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|skip_connect~1|none~2|")]
    return fixed + [sp.sample(rng) for _ in range(8)]


@pytest.mark.parametrize("cell", _cells_for_model_check(), ids=lambda c: NB201Space().short_name(c))
def test_torch_model_and_analytic_workload_agree_layer_by_layer(cell):
    pytest.importorskip("torch")
    from codesign.workload import from_torch

    sp = NB201Space()
    wl = sp.workload(cell)
    model = sp.build_model(cell).eval()
    ref = from_torch(model, (1, 3, 32, 32))
    assert [(lay.name, lay.to_row()) for lay in wl.layers] == [(lay.name, lay.to_row()) for lay in ref.layers]
    assert wl.params == ref.params == sum(p.numel() for p in model.parameters())
    import torch

    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_packaged_table_is_the_reference_table():
    if not SHARED.is_file():
        pytest.skip("shared reference not present")
    with gzip.open(SHARED, "rt") as fh:
        rows = list(csv.DictReader(fh))
    acc = NB201Accuracy("cifar100", 12)
    for r in rows[::1553]:
        assert acc.lookup(r["arch_str"]) == pytest.approx(float(r["c100_test_12ep"]), abs=1e-9)


def test_lookup_values_and_specs():
    resnet = NB201Space().reference
    assert NB201Accuracy().lookup(resnet) == pytest.approx(93.85, abs=0.01)  # table row of the ResNet cell
    assert NB201Accuracy().evaluate(resnet)["accuracy"] == pytest.approx(0.9385, abs=1e-4)
    assert NB201Accuracy().lookup(NB201Candidate(("none",) * 6)) == pytest.approx(10.0, abs=0.01)  # chance
    assert parse_nb201_spec("nb201") == ("cifar10", 200)
    assert parse_nb201_spec("nb201:cifar100@12") == ("cifar100", 12)
    assert parse_nb201_spec("nb201:imagenet16") == ("imagenet16", 200)
    for bad, words in (("nb201:mnist", "dataset"), ("nb201:cifar10@50", "epochs"), ("nb201:cifar10@x", "epochs"),
                       ("nb201cifar", "nb201:DATASET")):
        with pytest.raises(ValueError, match=words):
            parse_nb201_spec(bad)
    with pytest.raises(ValueError, match="not an NB201 cell"):
        NB201Accuracy().lookup("|conv~0|")


def test_space_settings_are_checked():
    with pytest.raises(ValueError, match="dataset"):
        NB201Space(dataset="mnist")
    with pytest.raises(ValueError, match="ops"):
        NB201Space(ops=("none", "conv5x5"))
    small = NB201Space(ops=("skip_connect", "nor_conv_3x3"))
    assert small.size == 64 and len(list(small.candidates())) == 64
    with pytest.raises(ValueError, match="edge 1<-0"):
        NB201Candidate(("conv",) + ("none",) * 5)


@pytest.mark.parametrize("arch, runs", [
    # node 1 is zeros: the 1x1 conv and the pool on it go; node 2 = skip(0), node 3 = conv3(node 2)
    ("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
     (False, True, False, False, False, True)),
    # node 3 reads node 0 only: nodes 1 and 2 are dead, so their edges go
    ("|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|",
     (False, False, False, True, False, False)),
    # node 3 is zeros: nothing runs
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|", (False,) * 6),
    ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
     (True, False, True, True, False, True)),
])
def test_pruned_cells_keep_only_the_edges_that_run(arch, runs):
    from codesign.space.nb201_net import live_edges

    cell = NB201Candidate.from_arch_str(arch)
    assert live_edges(cell.ops) == runs
    pruned, full = NB201Space().workload(cell), NB201Space().workload(cell, pruned=False)
    convs = sum(op in ("nor_conv_1x1", "nor_conv_3x3") for op, r in zip(cell.ops, runs) if r)
    every = sum(op in ("nor_conv_1x1", "nor_conv_3x3") for op in cell.ops)
    # 15 stage cells; the skeleton's convs (stem, 2 x 3 in the reductions) and the classifier stay
    assert sum(lay.kind == "conv" for lay in pruned.layers) == 15 * convs + 7
    assert sum(lay.kind == "conv" for lay in full.layers) == 15 * every + 7
