"""The Accel-NASBench space and its accuracy predictor.

Golden data: the package copy ``python/codesign/data/accel_nasbench.csv`` (Accel-NASBench, Ahmad et al. 2024,
``afzalxo/Accel-NASBench``, Apache-2.0; provenance in ``python/codesign/data/README.md``), read in place rather
than copied into ``tests/data/``; its checksum is pinned below so an edit of the table fails here.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesign.space import AccelNasBenchCandidate, AccelNasBenchSpace, network_space
from codesign.space.accel_nasbench import ANB_COLUMNS, decision_matrix, thop_macs

pd = pytest.importorskip("pandas")

SPACE = AccelNasBenchSpace()
DATA_SHA256 = "364edd803a1b69b187b13f72d5650490605c4721600f7836b9fc9e9caf4176da"


@pytest.fixture(scope="module")
def table():
    from codesign.evaluation.accel_nasbench import DATA_PATH, load_accel_nasbench

    assert hashlib.sha256(DATA_PATH.read_bytes()).hexdigest() == DATA_SHA256
    return load_accel_nasbench()


# -- the space -----------------------------------------------------------------------------------------------
def test_decisions_choices_and_size_by_hand():
    assert len(SPACE) == 28
    assert SPACE.names[:5] == ("block0.e", "block0.k", "block0.l", "block0.se", "block1.e")
    assert SPACE.names[-1] == "block6.se"
    assert SPACE.choices[:4] == ((1, 4, 6), (3, 5), (1, 2, 3), (False, True))
    assert SPACE.choices[SPACE.names.index("block5.l")] == (1, 2, 3, 4)
    # per block 3 x 2 x 3 x 2 = 36, block 5 has 4 depths: 48
    assert SPACE.size == 36**6 * 48 == 104_485_552_128
    assert network_space("accel-nasbench") == SPACE or repr(network_space("accel-nasbench")) == repr(SPACE)


def test_reference_is_efficientnet_b0_body():
    ref = SPACE.reference
    assert ref == AccelNasBenchCandidate.efficientnet_b0()
    assert SPACE.to_block_strings(ref) == [
        ["ds_r1_k3_s1_c16_se0.25"], ["ir_r2_k3_s2_e6_c24_se0.25"], ["ir_r2_k5_s2_e6_c40_se0.25"],
        ["ir_r3_k3_s2_e6_c80_se0.25"], ["ir_r3_k5_s1_e6_c112_se0.25"], ["ir_r4_k5_s2_e6_c192_se0.25"],
        ["ir_r1_k3_s1_e6_c320_se0.25"]]
    # EfficientNet-B0's parameter count (timm efficientnet_b0: same shapes, swish instead of ReLU)
    assert SPACE.workload(ref).params == 5_288_548
    assert hash(ref) == hash(AccelNasBenchCandidate.efficientnet_b0())


@given(st.tuples(*[st.integers(0, n - 1) for n in SPACE.cardinalities]))
def test_encode_decode_and_row_round_trip(idx):
    cand = SPACE.decode(idx)
    assert SPACE.encode(cand) == idx
    row = SPACE.to_row(cand)
    assert list(row) == list(ANB_COLUMNS)
    assert all(type(v) is bool for c, v in row.items() if c.endswith("_se"))
    assert all(type(v) is int for c, v in row.items() if not c.endswith("_se"))
    assert SPACE.from_row(row) == cand
    assert SPACE.from_row(pd.Series(row)) == cand


def test_from_row_reads_dataset_rows_and_text(table):
    first = table.iloc[0]
    cand = SPACE.from_row(first)
    # id 1: 6,3,1,False | 1,5,3,False | 6,3,2,False | 6,3,1,False | 4,3,2,False | 6,5,1,False | 4,5,2,False
    assert cand == AccelNasBenchCandidate(e=(6, 1, 6, 6, 4, 6, 4), k=(3, 5, 3, 3, 3, 5, 5), l=(1, 3, 2, 1, 2, 1, 2),
                                          se=(False,) * 7)
    text = {c: str(first[c]) for c in ANB_COLUMNS}  # a CSV read as text: "6", "False"
    text.update({c: int(text[c]) for c in ANB_COLUMNS if not c.endswith("_se")})
    assert SPACE.from_row(text) == cand
    assert SPACE.from_row({**SPACE.to_row(cand), "block0_e": 6.0}) == cand  # an integral float is the int


@pytest.mark.parametrize("change, message", [
    ({"block3_k": 7}, "block3_k"),
    ({"block5_l": 5}, "block5_l"),
    ({"block4_l": 4}, "block4_l"),  # only block 5 has 4 layers
    ({"block0_e": 4.5}, "block0_e"),
    ({"block0_e": True}, "block0_e"),
    ({"block2_se": 1}, "block2_se"),
    ({"block2_se": "yes"}, "block2_se"),
])
def test_from_row_bad_value_names_column_and_value(change, message):
    row = {**SPACE.to_row(SPACE.reference), **change}
    with pytest.raises(ValueError, match=message) as info:
        SPACE.from_row(row)
    assert repr(next(iter(change.values()))) in str(info.value)


def test_from_row_missing_column_and_not_a_row():
    row = SPACE.to_row(SPACE.reference)
    del row["block6_k"]
    with pytest.raises(ValueError, match="block6_k"):
        SPACE.from_row(row)
    with pytest.raises(ValueError, match="mapping"):
        SPACE.from_row([1, 2, 3])
    with pytest.raises(ValueError, match="7 entries"):
        AccelNasBenchCandidate(e=(1,) * 6, k=(3,) * 7, l=(1,) * 7, se=(False,) * 7)
    with pytest.raises(ValueError, match="block0.se"):
        SPACE.encode(AccelNasBenchCandidate(e=(1,) * 7, k=(3,) * 7, l=(1,) * 7, se=(0,) * 7))


def test_thop_macs_by_hand_on_one_block_network():
    from codesign.space.blocks import NetworkDef

    # stem 3x3 s2 3->32 at 224: 112x112x32 out; ds k3 (dw 32) + pw 32->16; head 1x1 16->8; fc 8->10
    nd = NetworkDef((("ds_r1_k3_s1_c16",),), stem_size=32, num_features=8, act="relu")
    wl = nd.workload(num_classes=10)
    hw = 112 * 112
    conv = hw * 32 * 27 + hw * 32 * 9 + hw * 16 * 32 + hw * 8 * 16
    assert wl.macs == conv + 8 * 10
    bn = 4 * hw * (32 + 32 + 16 + 8)   # four BatchNorms (stem, dw, pw, head)
    pool = (hw + 1) * 8                 # global average pool of 8 channels
    assert thop_macs(wl) == conv + 8 * 10 + bn + pool


def test_workload_matches_dataset_macs_and_params_on_sampled_rows(table):
    """The analytic workload itself, row by row, on 120 rows drawn at random (all rows: next test)."""
    rows = table.sample(120, random_state=0)
    for _, row in rows.iterrows():
        cand = SPACE.from_row(row)
        wl = SPACE.workload(cand)
        assert wl.params == round(row["params"] * 1e6)
        assert thop_macs(wl) == pytest.approx(row["macs"] * 1e6, rel=1e-6)
        # the conv/linear MACs alone are what the cost model uses; the dataset's count is 4-12 % higher
        assert 0.85 < wl.macs / (row["macs"] * 1e6) < 0.97


def test_dataset_sizes_match_macs_and_params_on_every_row(table):
    sizes = SPACE.dataset_sizes(decision_matrix(table))
    macs_err = np.abs(sizes[:, 0] / table["macs"].to_numpy() - 1)
    params_err = np.abs(sizes[:, 1] / table["params"].to_numpy() - 1)
    assert len(table) == 4138
    assert macs_err.max() < 1e-6 and params_err.max() < 1e-6  # the issue asks for 1 %


def test_dataset_sizes_equal_the_workload_off_the_dataset():
    rng = np.random.default_rng(3)
    cands = [SPACE.sample(rng) for _ in range(25)]
    df = pd.DataFrame([SPACE.to_row(c) for c in cands])
    sizes = SPACE.dataset_sizes(decision_matrix(df))
    for cand, (macs_m, params_m) in zip(cands, sizes):
        wl = SPACE.workload(cand)
        assert macs_m * 1e6 == pytest.approx(thop_macs(wl), rel=1e-12)
        assert params_m * 1e6 == pytest.approx(wl.params, rel=1e-12)


@pytest.mark.parametrize("cand", [
    AccelNasBenchCandidate.efficientnet_b0(),
    AccelNasBenchCandidate(e=(4, 1, 6, 4, 1, 6, 4), k=(5, 3, 5, 3, 5, 3, 5), l=(3, 1, 3, 2, 1, 4, 3),
                           se=(True, False, True, False, True, False, True)),
    AccelNasBenchCandidate(e=(1, 4, 1, 1, 6, 1, 1), k=(3, 5, 5, 3, 3, 5, 3), l=(2, 3, 1, 1, 2, 1, 2),
                           se=(False, True, True, False, False, True, False)),
])
def test_timm_model_and_workload_agree_layer_by_layer(cand, one_torch_thread):
    pytest.importorskip("timm")
    from codesign.workload import from_torch

    model = SPACE.build_model(cand)
    model.eval()
    traced = from_torch(model, (1, 3, 224, 224))
    ours = SPACE.workload(cand)
    assert [dataclasses.astuple(x) for x in ours.layers] == [dataclasses.astuple(x) for x in traced.layers]
    assert ours.params == traced.params == sum(p.numel() for p in model.parameters())


def test_space_file_type(tmp_path):
    from codesign.space import load_space_file

    p = tmp_path / "s.toml"
    p.write_text('[network]\ntype = "accel-nasbench"\n')
    assert isinstance(load_space_file(p), AccelNasBenchSpace)
    p.write_text('[network]\ntype = "accel-nasbench"\nkernels = [3]\n')
    with pytest.raises(ValueError, match="kernels"):
        load_space_file(p)


# -- the predictor -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def predictor():
    pytest.importorskip("sklearn")
    from codesign.evaluation import AccelNasBench

    return AccelNasBench()


def test_cross_validated_rank_correlation(predictor):
    """Out of fold (5 folds by architecture): the issue's goal is Spearman >= 0.9 on rows not fitted on."""
    cv = predictor.cross_validate(k=5, seed=0)
    assert cv["n"] == 4138 and cv["k"] == 5
    assert cv["spearman"] >= 0.9
    assert cv["kendall"] >= 0.8
    assert cv["rmse"] < 1.0  # top-1 points; the table's std is 3.3


def test_predict_in_sample_and_evaluate(predictor, table):
    pred = predictor.predict(table)
    assert pred.shape == (4138,) and pred.dtype == np.float64
    y = table["val_top1"].to_numpy()
    assert np.sqrt(np.mean((pred - y) ** 2)) < 0.6
    ref = SPACE.reference
    acc = predictor.evaluate(ref)
    assert set(acc) == {"accuracy"}
    assert acc["accuracy"] == pytest.approx(predictor.predict(pd.DataFrame([SPACE.to_row(ref)]))[0] / 100)
    assert 0.6 < acc["accuracy"] < 0.7  # EfficientNet-B0's body on the proxy schedule
    assert predictor.predict(table.iloc[:0]).shape == (0,)
    assert np.array_equal(predictor.predict_candidates([SPACE.from_row(r) for _, r in table.head(5).iterrows()]),
                          pred[:5])


def test_predict_names_missing_and_bad_columns(predictor, table):
    with pytest.raises(ValueError, match=r"block3_se.*block6_l|block6_l.*block3_se"):
        predictor.predict(table.drop(columns=["block3_se", "block6_l"]))
    bad = table.head(3).copy()
    bad["block4_k"] = [3, 7, 5]
    with pytest.raises(ValueError, match=r"block4_k: value 7"):
        predictor.predict(bad)
    bad = table.head(3).copy()
    bad["block1_se"] = [True, "maybe", False]
    with pytest.raises(ValueError, match=r"block1_se.*'maybe'"):
        predictor.predict(bad)
    bad = table.head(2).copy()
    bad["block0_l"] = [1.0, float("nan")]
    with pytest.raises(ValueError, match=r"block0_l: value nan"):
        predictor.predict(bad)
    with pytest.raises(ValueError, match="DataFrame"):
        predictor.predict(SPACE.to_row(SPACE.reference))
    with pytest.raises(ValueError, match="AccelNasBenchCandidate"):
        predictor.evaluate(("not", "a", "candidate"))


def test_to_dict_is_json(predictor):
    d = json.loads(json.dumps(predictor.to_dict()))
    assert d["kind"] == "accel-nasbench" and d["data_sha256"] == DATA_SHA256
    assert d["features"] == predictor.features and d["params"]["random_state"] == 0


def test_bad_settings():
    pytest.importorskip("sklearn")
    from codesign.evaluation import AccelNasBench

    with pytest.raises(ValueError, match="features"):
        AccelNasBench(features="onehot")
    with pytest.raises(ValueError, match="params"):
        AccelNasBench(params={"n_trees": 3})
    with pytest.raises(ValueError, match="params"):
        AccelNasBench(params={"max_iter": -1}).fit()
    with pytest.raises(ValueError, match="k must"):
        AccelNasBench().cross_validate(k=1)


def test_predictions_deterministic_across_processes_and_threads(predictor, table):
    """Same predictions twice, in another process, and with another OpenMP thread count."""
    pred = predictor.predict(table)
    assert np.array_equal(pred, predictor.predict(table))
    digest = hashlib.sha256(pred.tobytes()).hexdigest()
    code = ("import hashlib; from codesign.evaluation import AccelNasBench; "
            "from codesign.evaluation.accel_nasbench import load_accel_nasbench; "
            "print(hashlib.sha256(AccelNasBench().predict(load_accel_nasbench()).tobytes()).hexdigest())")
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == digest


def test_fit_on_a_user_table_and_its_errors(tmp_path, table):
    pytest.importorskip("sklearn")
    from codesign.evaluation import AccelNasBench

    part = table.head(300)
    p = tmp_path / "mine.csv"
    part.to_csv(p, index=False)
    mine = AccelNasBench(data=p)
    assert mine.to_dict()["data"] == str(p.resolve())
    assert mine.predict(part).shape == (300,)
    bad = part.copy()
    bad.loc[bad.index[4], "val_top1"] = float("nan")
    bad.to_csv(p, index=False)
    with pytest.raises(ValueError, match=r"val_top1 has the non-finite value nan \(row 4\)"):
        AccelNasBench(data=p).fit()
    part.drop(columns=["val_top1"]).to_csv(p, index=False)
    with pytest.raises(ValueError, match="lacks the column 'val_top1'"):
        AccelNasBench(data=p).fit()
    with pytest.raises(ValueError, match="no Accel-NASBench table"):
        AccelNasBench(data=tmp_path / "missing.csv")
