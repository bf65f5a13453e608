"""Accel-NASBench predictor benchmarks (figures in benchmarks/README.md, section "Accel-NASBench predictor").

* ``test_default_fit`` / ``test_evaluate_one``: the time of one fit of the default predictor on the 4,138 rows
  and of one ``evaluate(candidate)`` call (the search's per-candidate cost).
* ``test_model_selection``: 5-fold out-of-fold Spearman, Kendall and RMSE (folds by architecture, seed 0; the
  folds of ``AccelNasBench.cross_validate``) of each model / feature-set alternative considered, and its mean
  fit time per fold; the table is printed and written as JSON to ``CODESIGN_BENCH_OUT`` (default
  ``<tmp>/codesign_accel_nasbench_models.json``). About 2-4 minutes on a loaded 2-core machine. Run::

    python -m pytest benchmarks/test_bench_accel_nasbench.py --benchmark-only
    python benchmarks/test_bench_accel_nasbench.py        # the model-selection table alone
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pandas")

HGB_A = {"max_iter": 500, "learning_rate": 0.05, "max_leaf_nodes": 15, "early_stopping": False, "random_state": 0}
HGB_B = {**HGB_A, "max_iter": 800, "l2_regularization": 1.0}
HGB_C = {**HGB_A, "max_iter": 1500, "learning_rate": 0.03, "l2_regularization": 1.0, "min_samples_leaf": 10}
GBR = {"n_estimators": 600, "learning_rate": 0.05, "max_depth": 4, "subsample": 0.8, "random_state": 0}
#: (label, model kind, keyword arguments, feature set) of each alternative
ALTERNATIVES: list[tuple[str, str, dict[str, Any], str]] = [
    ("ridge (alpha 1)", "ridge", {"alpha": 1.0}, "raw"),
    ("ridge (alpha 1)", "ridge", {"alpha": 1.0}, "derived+size"),
    *[(f"HGB {n}", "hgb", p, f) for n, p in (("A (default)", HGB_A), ("B", HGB_B), ("C", HGB_C))
      for f in ("raw", "derived", "derived+size")],
    ("GBR", "gbr", GBR, "raw"),
    ("GBR", "gbr", GBR, "derived"),
]


def _model(kind: str, params: dict[str, Any]) -> Any:
    from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge

    return {"ridge": Ridge, "hgb": HistGradientBoostingRegressor, "gbr": GradientBoostingRegressor}[kind](**params)


def model_selection(k: int = 5, seed: int = 0) -> list[dict[str, Any]]:
    from scipy.stats import kendalltau, spearmanr
    from threadpoolctl import threadpool_limits

    from codesign.evaluation.accel_nasbench import arch_folds, features, load_accel_nasbench
    from codesign.space.accel_nasbench import decision_matrix

    df = load_accel_nasbench()
    dec = decision_matrix(df)
    y = df["val_top1"].to_numpy(dtype=np.float64)
    fold = arch_folds(dec, k, seed)
    rows = []
    for label, kind, params, fset in ALTERNATIVES:
        x = features(dec, fset)
        oof = np.empty_like(y)
        seconds = []
        for f in range(k):
            test = fold == f
            model = _model(kind, params)
            t0 = time.perf_counter()
            with threadpool_limits(limits=1):
                model.fit(x[~test], y[~test])
                seconds.append(time.perf_counter() - t0)
                oof[test] = model.predict(x[test])
        rows.append({"model": label, "features": fset, "n_features": int(x.shape[1]),
                     "spearman": float(spearmanr(oof, y)[0]), "kendall": float(kendalltau(oof, y)[0]),
                     "rmse": float(np.sqrt(np.mean((oof - y) ** 2))), "fit_s": float(np.mean(seconds))})
        print(f"{label:18s} {fset:13s} spearman {rows[-1]['spearman']:.4f} kendall {rows[-1]['kendall']:.4f} "
              f"rmse {rows[-1]['rmse']:.3f} fit {rows[-1]['fit_s']:.2f} s", flush=True)
    return rows


def test_default_fit(benchmark):
    from codesign.evaluation.accel_nasbench import DEFAULT_PARAMS, _fit, features, load_accel_nasbench
    from codesign.space.accel_nasbench import decision_matrix

    df = load_accel_nasbench()
    x, y = features(decision_matrix(df), "derived"), df["val_top1"].to_numpy(dtype=np.float64)
    benchmark.pedantic(_fit, args=(x, y, DEFAULT_PARAMS), rounds=3, iterations=1)


def test_evaluate_one(benchmark):
    from codesign.evaluation import AccelNasBench
    from codesign.space import AccelNasBenchSpace

    space = AccelNasBenchSpace()
    acc = AccelNasBench().fit()
    cands = [space.sample(i) for i in range(50)]
    benchmark(lambda: [acc.evaluate(c) for c in cands])


def test_model_selection():
    rows = model_selection()
    default = Path(tempfile.gettempdir()) / "codesign_accel_nasbench_models.json"
    out = Path(os.environ.get("CODESIGN_BENCH_OUT", default))
    out.write_text(json.dumps(rows, indent=1))
    chosen = next(r for r in rows if r["model"] == "HGB A (default)" and r["features"] == "derived")
    assert chosen["spearman"] >= 0.9


if __name__ == "__main__":
    model_selection()
