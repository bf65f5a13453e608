"""Rank correlations on hand-made data, block-string features, and the accuracy predictor."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from codesign.evaluation.cache import ResultCache
from codesign.evaluation.predictor import BLOCK_FEATURES, AccuracyPredictor, block_features
from codesign.evaluation.stats import kendall, rankdata, spearman
from codesign.space import NetworkCandidate, NetworkSpace

NET = NetworkSpace()


# -- rank correlation ---------------------------------------------------------------------------------------------
def test_rank_correlations_by_hand():
    # one swapped pair of 4: Spearman 1 - 6 * 2 / (4 * 15) = 0.8; Kendall (5 - 1) / 6
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert kendall([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert kendall([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    # monotone transforms do not change ranks
    x = np.array([0.3, 0.1, 0.9, 0.5, 0.7])
    assert spearman(x, np.exp(10 * x)) == pytest.approx(1.0) and kendall(x, x ** 3) == pytest.approx(1.0)
    # ties: average ranks; tau-b = (C - D) / sqrt((n0 - tx)(n0 - ty)) = (4 - 0) / sqrt(5 * 5)
    assert rankdata([10, 20, 20, 30]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert kendall([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(4 / 5)
    r1, r2 = np.array([1, 2.5, 2.5, 4]), np.array([1, 2, 3.5, 3.5])
    assert spearman([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(np.corrcoef(r1, r2)[0, 1])
    # NaN pairs are dropped; constant input is undefined
    assert spearman([1, 2, np.nan, 3], [1, 2, 5, 3]) == pytest.approx(1.0)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3])) and math.isnan(kendall([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="equal lengths"):
        spearman([1, 2], [1, 2, 3])


# -- features -------------------------------------------------------------------------------------------------------
def test_block_features():
    f = block_features(["ir_r2_k5_s2_e6_c24_se0.25", "ds_r1_k3_s1_c16", "er_r3_k3_s22_e4_c32_noskip"])
    assert f.shape == (3 * len(BLOCK_FEATURES),)
    rows = f.reshape(3, -1)
    assert rows[0].tolist() == [0, 1, 0, 0, 2, 5, 2, 6, math.log2(24), 0.25]
    assert rows[1].tolist() == [1, 0, 0, 0, 1, 3, 1, 1, 4, 0]
    assert rows[2].tolist() == [0, 0, 1, 0, 3, 3, 2, 4, 5, 0]
    assert block_features([["ds_r1_k3_s1_c16"]], n_stages=2).tolist()[10:] == [0.0] * 10
    with pytest.raises(ValueError, match="output channels"):
        block_features(["ir_r1_k3_s1_e6"])
    with pytest.raises(ValueError, match="fitted on 1"):
        block_features(["ds_r1_k3_s1_c16", "ds_r1_k3_s1_c16"], n_stages=1)


def test_equal_networks_get_equal_features():
    a = NetworkCandidate.mobilenet_v2()
    b = NetworkCandidate(a.kernel, a.expansion, a.depth, (0.75,) + a.width[1:])  # 12 -> 16 channels, same network
    p = AccuracyPredictor(NET)
    np.testing.assert_array_equal(p.features([a]), p.features([b]))
    assert not np.array_equal(AccuracyPredictor(NET, featurizer="onehot").features([a]),
                              AccuracyPredictor(NET, featurizer="onehot").features([b]))


# -- predictor --------------------------------------------------------------------------------------------------------
def synthetic(n, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    cands = [NET.sample(rng) for _ in range(n)]
    y = np.array([0.5 + 0.02 * sum(c.depth) - 0.004 * sum(c.kernel) + 0.05 * float(np.mean(c.width))
                  + 0.03 * float(np.mean(np.array(c.expansion) > 1) * np.mean(c.width)) for c in cands])
    return cands, y + rng.normal(0, noise, n)


def test_ridge_recovers_a_linear_target():
    cands, y = synthetic(120)
    # width enters through log2(channels), so use the onehot encoding, in which this target is almost linear
    p = AccuracyPredictor(NET, kind="ridge", featurizer="onehot", alpha=1e-3).fit(cands[:100], y[:100])
    pred = p.predict(cands[100:])
    assert spearman(pred, y[100:]) > 0.95
    assert np.abs(pred - y[100:]).max() < 0.02
    mean, std = p.predict_with_std(cands[100:])
    np.testing.assert_array_equal(std, 0.0)


def test_mlp_ensemble_ranks_held_out_candidates():
    pytest.importorskip("torch")
    cands, y = synthetic(140, seed=1, noise=0.003)
    p = AccuracyPredictor(NET, ensemble=2, epochs=150, seed=0).fit(cands[:110], y[:110])
    mean, std = p.predict_with_std(cands[110:])
    assert mean.shape == std.shape == (30,) and (std > 0).all()
    assert spearman(mean, y[110:]) > 0.8 and kendall(mean, y[110:]) > 0.6
    # same seed, same predictor
    a, b = (AccuracyPredictor(NET, ensemble=1, epochs=20, seed=5).fit(cands[:110], y[:110]) for _ in range(2))
    np.testing.assert_array_equal(a.predict(cands[110:]), b.predict(cands[110:]))
    # JSON round trip
    back = AccuracyPredictor.from_state_dict(json.loads(json.dumps(p.state_dict())), NET)
    np.testing.assert_allclose(back.predict(cands[110:]), mean, rtol=1e-12)
    # block strings work without the space
    blocks = [[b for s in NET.to_block_strings(c) for b in s] for c in cands[110:]]
    np.testing.assert_allclose(AccuracyPredictor.from_state_dict(p.state_dict()).predict(blocks), mean)


def test_screen_keeps_the_predicted_best():
    cands, y = synthetic(60, seed=2)
    p = AccuracyPredictor(NET, kind="ridge").fit(cands, y)
    pred = p.predict(cands)
    top = p.screen(cands, 5)
    assert top == [cands[i] for i in np.argsort(-pred, kind="stable")[:5]]
    assert len(p.screen(cands, 0.25)) == 15 and len(p.screen(cands, 1000)) == 60
    with pytest.raises(ValueError, match="keep"):
        p.screen(cands, 0)
    with pytest.raises(ValueError, match="keep"):
        p.screen(cands, 1.5)


def test_cross_validation_and_fit_from_cache(tmp_path):
    cands, y = synthetic(40, seed=3)
    oof = AccuracyPredictor(NET, kind="ridge").cross_validate(cands, y, folds=4)
    assert oof.shape == (40,) and np.isfinite(oof).all()
    assert spearman(oof, y) > 0.7
    cache = ResultCache(tmp_path / "c.sqlite")
    for c, acc in zip(cands, y):
        blocks = [b for s in NET.to_block_strings(c) for b in s]
        cache.put({"blocks": blocks}, {"steps": 80}, {"accuracy": float(acc), "train_loss": 1.0})
    cache.put({"blocks": ["ds_r1_k3_s1_c16"]}, {"steps": 5}, {"accuracy": 0.1})  # other settings: left out
    p = AccuracyPredictor(kind="ridge").fit_cache(cache, settings={"steps": 80})
    assert p.n_train == len({tuple(b for s in NET.to_block_strings(c) for b in s) for c in cands})
    assert spearman(p.predict([{"blocks": [b for s in NET.to_block_strings(c) for b in s]} for c in cands]), y) > 0.8


def test_predictor_errors():
    with pytest.raises(ValueError, match="kind"):
        AccuracyPredictor(kind="xgboost")
    with pytest.raises(ValueError, match="needs the space"):
        AccuracyPredictor(featurizer="onehot")
    p = AccuracyPredictor(NET, kind="ridge")
    with pytest.raises(ValueError, match="not fitted"):
        p.predict([NET.sample(0)])
    with pytest.raises(ValueError, match="2 candidates but 3"):
        p.fit([NET.sample(0), NET.sample(1)], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="at least 2"):
        p.fit([NET.sample(0), NET.sample(1)], [0.1, float("nan")])
    with pytest.raises(ValueError, match="without the space"):
        AccuracyPredictor(kind="ridge").features([NET.sample(0)])


def test_gbm_ranks_held_out_candidates_and_round_trips():
    pytest.importorskip("sklearn")
    # a target with an exclusive-or of two decisions, which no linear model of the features can express
    rng = np.random.default_rng(4)
    cands = [NET.sample(rng) for _ in range(300)]
    y = np.array([0.6 + 0.05 * float((c.depth[3] > 2) != (c.kernel[2] == 5)) + 0.002 * sum(c.depth)
                  for c in cands])
    train, test = slice(0, 240), slice(240, 300)
    gbm = AccuracyPredictor(NET, kind="gbm").fit(cands[train], y[train])
    ridge = AccuracyPredictor(NET, kind="ridge").fit(cands[train], y[train])
    mean, std = gbm.predict_with_std(cands[test])
    np.testing.assert_array_equal(std, 0.0)
    assert spearman(mean, y[test]) > 0.85
    assert spearman(mean, y[test]) > spearman(ridge.predict(cands[test]), y[test])
    # deterministic, and the JSON state refits the same trees
    np.testing.assert_array_equal(AccuracyPredictor(NET, kind="gbm").fit(cands[train], y[train]).predict(cands[test]),
                                  mean)
    back = AccuracyPredictor.from_state_dict(json.loads(json.dumps(gbm.state_dict())), NET)
    np.testing.assert_array_equal(back.predict(cands[test]), mean)
    # small caches still split (min_samples_leaf scales with n) and cross-validate
    oof = AccuracyPredictor(NET, kind="gbm").cross_validate(cands[:40], y[:40], folds=4)
    assert np.isfinite(oof).all() and np.unique(oof).size > 4
