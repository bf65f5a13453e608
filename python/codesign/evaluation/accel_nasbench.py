"""Accel-NASBench accuracy: a gradient-boosting predictor of ImageNet top-1 fitted on the benchmark's 4,138 rows.

Accel-NASBench (Ahmad et al., 2024; ``afzalxo/Accel-NASBench``, Apache-2.0) trained 4,138 networks of its
MnasNet-style space (:class:`~codesign.space.accel_nasbench.AccelNasBenchSpace`) on ImageNet with a shortened
(proxy) schedule; the rows ship with codesign (``codesign/data/accel_nasbench.csv``, see the README there).
:class:`AccelNasBench` fits scikit-learn's ``HistGradientBoostingRegressor`` on them and predicts the top-1 of any
of the space's 1.0e11 networks, as the benchmark's own surrogates do (it ships XGBoost ones; its README reports a
test Spearman of 0.99 on a random 10 % split).

Features (``features=``; each a function of the 28 decisions only, so :meth:`AccelNasBench.predict` needs just
the architecture columns):

* ``"raw"``: the 28 decisions as numbers (e, k, l, se as 0/1);
* ``"derived"`` (default): ``"raw"`` plus per block ``e*l``, ``k*l``, ``se*l`` and ``e*k^2*l`` (expansion
  channels x layers, kernel x layers, SE layers, depthwise work) and the totals of layers and SE layers;
* ``"derived+size"``: ``"derived"`` plus the network's ``log`` MACs (thop's count, as the dataset's ``macs``
  column) and ``log`` parameters from the space's analytic workload (an exact additive per-block table).

Model: ``HistGradientBoostingRegressor(max_iter=500, learning_rate=0.05, max_leaf_nodes=15,
early_stopping=False, random_state=0)``, fitted on one thread (``threadpoolctl``), so the fit is the same on any
machine and thread count. Why this model and these features, with the 5-fold numbers of the alternatives:
``benchmarks/README.md``, section "Accel-NASBench predictor" (5-fold, folds by architecture: Spearman 0.988,
Kendall 0.908 for the default).

Use::

    acc = AccelNasBench()                     # the default predictor; fitted once per process on first use
    acc.predict(df)                           # DataFrame with block0_e ... block6_se -> top-1 (%), shape (n,)
    acc.evaluate(candidate)                   # {"accuracy": top-1 / 100}: the search's evaluator interface
    acc.cross_validate(k=5)                   # {"spearman": ..., "kendall": ..., ...} out of fold

The accuracies it predicts are the benchmark's proxy-schedule top-1 (57-67 % for most networks; EfficientNet-B0's
body predicts about 66 %), a ranking signal on ImageNet, not final top-1. Needs numpy, pandas and scikit-learn
(the ``search`` extra).
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from codesign.space.accel_nasbench import ANB_COLUMNS, AccelNasBenchCandidate, AccelNasBenchSpace, decision_matrix

__all__ = ["AccelNasBench", "DATA_PATH", "DEFAULT_PARAMS", "FEATURE_SETS", "arch_folds", "features",
           "load_accel_nasbench", "sklearn_one_thread"]

#: The shipped rows (architecture columns, val_top1, val_top5, macs, params; README.md next to it).
DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "accel_nasbench.csv"
#: Names of the feature sets (see the module docstring).
FEATURE_SETS = ("raw", "derived", "derived+size")
#: The default model's hyper-parameters (scikit-learn ``HistGradientBoostingRegressor``).
DEFAULT_PARAMS: dict[str, Any] = {"max_iter": 500, "learning_rate": 0.05, "max_leaf_nodes": 15,
                                  "early_stopping": False, "random_state": 0}
_TARGET = "val_top1"
_LOCK = threading.Lock()


def load_accel_nasbench(path: str | Path | None = None) -> Any:
    """The Accel-NASBench rows as a pandas DataFrame (default: the shipped :data:`DATA_PATH`)."""
    import pandas as pd

    p = Path(path) if path is not None else DATA_PATH
    if not p.is_file():
        raise FileNotFoundError(f"no Accel-NASBench table at {p}")
    return pd.read_csv(p)


def _data_sha256(path: str | Path) -> str:
    """sha256 of a table's content (memoised per path, size and modification time)."""
    st = Path(path).stat()
    return _sha256_of(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=32)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    del size, mtime_ns  # cache key only
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- features -----------------------------------------------------------------------------------------------
def features(decisions: np.ndarray, feature_set: str) -> np.ndarray:
    """The model's input ``(n, d)`` for the named feature set (:data:`FEATURE_SETS`) from ``(n, 28)``
    decisions."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"features must be one of {FEATURE_SETS}, got features={feature_set!r}")
    if feature_set == "raw":
        return decisions
    e, k, n_layers, se = (decisions[:, i::4] for i in range(4))
    parts = [decisions, e * n_layers, k * n_layers, se * n_layers, e * k * k * n_layers,
             n_layers.sum(axis=1, keepdims=True), (se * n_layers).sum(axis=1, keepdims=True)]
    if feature_set == "derived+size":
        parts.append(np.log(_space().dataset_sizes(decisions)))
    return np.hstack(parts)


def arch_folds(decisions: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index ``(n,)`` in ``0..k-1`` of each row: the distinct architectures (rows of ``decisions``) dealt
    into ``k`` folds in a random order drawn with ``seed``, so that rows of one architecture share a fold."""
    _, arch_id = np.unique(decisions, axis=0, return_inverse=True)
    arch_id = arch_id.ravel()
    n_arch = int(arch_id.max()) + 1 if arch_id.size else 0
    if k > n_arch:
        raise ValueError(f"k={k} exceeds the {n_arch} distinct architectures")
    fold_of_arch = np.empty(n_arch, dtype=int)
    fold_of_arch[np.random.default_rng(seed).permutation(n_arch)] = np.arange(n_arch) % k
    return fold_of_arch[arch_id]


@lru_cache(maxsize=1)
def _space() -> AccelNasBenchSpace:
    return AccelNasBenchSpace()


def _candidate_row(cand: AccelNasBenchCandidate) -> np.ndarray:
    values = _space().to_row(cand).values()  # validates
    return np.asarray([float(v) for v in values], dtype=np.float64)[None, :]


# -- model --------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _threadpools() -> Any:
    """threadpoolctl's view of the loaded thread pools, taken once sklearn's OpenMP runtime is loaded (a
    ``threadpool_limits`` call rescans the libraries, about 4 ms, which would dominate a one-row prediction)."""
    import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime that the controller must see
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def sklearn_one_thread() -> Any:
    """Context manager: OpenMP and BLAS on one thread (a deterministic fit; no OpenMP threads spinning against
    other jobs, which made a one-row prediction take up to seconds on a loaded 2-core machine)."""
    return _threadpools().limit(limits=1)


def _new_model(params: dict[str, Any]) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(**params)


def _fit(x: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> Any:
    model = _new_model(params)
    try:
        with sklearn_one_thread():
            model.fit(x, y)
    except (TypeError, ValueError) as exc:  # sklearn's InvalidParameterError is a ValueError
        raise ValueError(f"params: {exc}") from None
    return model


def _target(df: Any, where: Any) -> np.ndarray:
    """The ``val_top1`` column as float64, checked (present, finite numbers)."""
    if _TARGET not in df.columns:
        raise ValueError(f"{where}: the table lacks the column {_TARGET!r} (top-1 %)")
    try:
        y = df[_TARGET].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: column {_TARGET} must hold numbers") from None
    if not np.isfinite(y).all():
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise ValueError(f"{where}: column {_TARGET} has the non-finite value {float(y[i])!r} (row {df.index[i]!r})")
    return y


@lru_cache(maxsize=8)
def _fitted_default(path: str, sha: str, feature_set: str, params_json: str) -> tuple[Any, float]:
    """(model, fit seconds) for a table / feature set / hyper-parameters (JSON); one fit per process (``sha``
    keys the table's content)."""
    del sha
    df = load_accel_nasbench(path)
    x, y = features(decision_matrix(df), feature_set), _target(df, path)
    t0 = time.perf_counter()
    model = _fit(x, y, json.loads(params_json))
    return model, time.perf_counter() - t0


class AccelNasBench:
    """Predictor of Accel-NASBench ImageNet top-1 (%) from the 28 decisions (see the module docstring).

    Args (keyword-only):
        features: feature set, one of :data:`FEATURE_SETS` (default ``"derived"``).
        params: ``HistGradientBoostingRegressor`` keyword arguments replacing those of :data:`DEFAULT_PARAMS`.
        data: path of a table with the :data:`~codesign.space.accel_nasbench.ANB_COLUMNS` and ``val_top1``
            (default: the shipped :data:`DATA_PATH`).

    The model is fitted on first use (``predict``, ``evaluate``, ``fit``) and shared by every instance with the
    same table content, features and parameters in the process (a fit takes about a second).
    """

    def __init__(self, *, features: str = "derived", params: dict[str, Any] | None = None,
                 data: str | Path | None = None) -> None:
        if features not in FEATURE_SETS:
            raise ValueError(f"features must be one of {FEATURE_SETS}, got features={features!r}")
        if params is not None and not isinstance(params, dict):
            raise ValueError(f"params must be a dict of HistGradientBoostingRegressor arguments, got {params!r}")
        merged = {**DEFAULT_PARAMS, **(params or {})}
        try:
            self._params_key = json.dumps(merged, sort_keys=True)
            _new_model(merged)  # unknown names raise TypeError; values are checked by the first fit
        except TypeError as exc:
            raise ValueError(f"params: {exc}") from None
        self.features = features
        self.params = merged
        self.data = Path(data).resolve() if data is not None else DATA_PATH
        if not self.data.is_file():
            raise ValueError(f"data: no Accel-NASBench table at {self.data}")
        self._model: Any = None
        self.fit_seconds: float | None = None

    def __repr__(self) -> str:
        return f"AccelNasBench(features={self.features!r})"

    # -- fitting -------------------------------------------------------------------------------------------
    def fit(self) -> "AccelNasBench":
        """Fit (or fetch the process's fitted) model on :attr:`data`. Returns self."""
        if self._model is None:
            if not self.data.is_file():
                raise ValueError(f"data: no Accel-NASBench table at {self.data}")
            with _LOCK:
                self._model, self.fit_seconds = _fitted_default(str(self.data), _data_sha256(self.data),
                                                                self.features, self._params_key)
        return self

    # -- prediction ----------------------------------------------------------------------------------------
    def predict(self, df: Any) -> np.ndarray:
        """Top-1 (%) ``(n,)`` float64 of the rows of ``df``, a pandas DataFrame with the dataset's columns
        ``block0_e`` ... ``block6_se`` (others ignored). Raises ValueError naming a missing column, or a column
        whose value is none of its choices (e in 1/4/6, k in 3/5, l in 1-3 (block5: 1-4), se True/False)."""
        x = decision_matrix(df)
        return self._predict(x)

    def _predict(self, decisions: np.ndarray) -> np.ndarray:
        self.fit()
        if decisions.shape[0] == 0:
            return np.zeros(0)
        with sklearn_one_thread():
            return np.asarray(self._model.predict(features(decisions, self.features)), dtype=np.float64)

    def predict_candidates(self, candidates: Any) -> np.ndarray:
        """Top-1 (%) ``(n,)`` of :class:`~codesign.space.accel_nasbench.AccelNasBenchCandidate` objects."""
        rows = [_candidate_row(c) for c in candidates]
        return self._predict(np.vstack(rows) if rows else np.zeros((0, len(ANB_COLUMNS))))

    def evaluate(self, arch: AccelNasBenchCandidate) -> dict[str, float]:
        """``{"accuracy": predicted top-1 / 100}`` (a fraction in [0, 1]) of one candidate: the search's accuracy
        evaluator interface. Raises ValueError for anything that is not a member of the space."""
        top1 = float(self._predict(_candidate_row(arch))[0])
        return {"accuracy": min(max(top1 / 100.0, 0.0), 1.0)}

    # -- description and validation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON description: ``{"kind": "accel-nasbench", "model", "params", "features", "data", "data_sha256",
        "sklearn"}``."""
        import sklearn

        return {"kind": "accel-nasbench", "model": "sklearn.ensemble.HistGradientBoostingRegressor",
                "params": dict(self.params), "features": self.features, "target": _TARGET,
                "data": "codesign/data/accel_nasbench.csv" if self.data == DATA_PATH else str(self.data),
                "data_sha256": _data_sha256(self.data), "sklearn": sklearn.__version__}

    def cross_validate(self, k: int = 5, seed: int = 0) -> dict[str, Any]:
        """Out-of-fold rank correlation of this predictor's recipe on its table: the distinct architectures are
        dealt into ``k`` folds at random (``seed``; an architecture trained twice stays in one fold), each fold
        predicted by a model fitted on the others. Returns ``{"spearman", "kendall", "rmse" (top-1 points),
        "k", "seed", "n", "fit_seconds" (mean per fold)}``."""
        from scipy.stats import kendalltau, spearmanr

        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise ValueError(f"k must be an int >= 2, got k={k!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an int, got seed={seed!r}")
        df = load_accel_nasbench(self.data)
        dec = decision_matrix(df)
        y = _target(df, self.data)
        fold = arch_folds(dec, k, seed)
        x = features(dec, self.features)
        oof = np.empty_like(y)
        seconds = []
        for f in range(k):
            test = fold == f
            t0 = time.perf_counter()
            model = _fit(x[~test], y[~test], self.params)
            seconds.append(time.perf_counter() - t0)
            with sklearn_one_thread():
                oof[test] = model.predict(x[test])
        rho = float(spearmanr(oof, y)[0])
        tau = float(kendalltau(oof, y)[0])
        return {"spearman": rho, "kendall": tau, "rmse": float(math.sqrt(np.mean((oof - y) ** 2))), "k": k,
                "seed": seed, "n": int(y.size), "fit_seconds": float(np.mean(seconds))}
