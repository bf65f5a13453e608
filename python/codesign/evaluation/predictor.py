"""An accuracy predictor on candidate encodings, to pre-screen candidates before training them.

Learned predictors of this kind are how NAS cuts training cost (e.g. ChamNet, Dai et al. CVPR 2019: a
Gaussian-process accuracy predictor on the architecture encoding; Once-for-All, Cai et al. ICLR 2020: a 3-layer
MLP on a one-hot encoding; BRP-NAS, Dudziak et al. NeurIPS 2020). Here:

* Features (``featurizer``):
  - ``"blocks"`` (default): per stage, parsed from the candidate's timm block strings (so two decision tuples
    that build the same network get the same features, and cache entries, which store block strings, can be
    used directly): block type one-hot (``ds``, ``ir``, ``er``, other), repeats, kernel, stride, expansion
    (1 for ``ds``), ``log2`` output channels and squeeze-excite ratio -> 10 numbers per stage;
  - ``"onehot"``: the space's categorical encoding (``space.encode``), one-hot per decision.
  Features are standardised with the training set's mean and std.
* Model (``kind``):
  - ``"mlp"`` (default): an ensemble of ``ensemble`` MLPs (``hidden`` ReLU layers, default 64-64), each
    initialised with its own seed and trained full-batch with Adam on the mean squared error of standardised
    targets; the prediction is the ensemble mean and the uncertainty its standard deviation;
  - ``"ridge"``: ridge regression (closed form, numpy; ``alpha`` on standardised features), std 0;
  - ``"gbm"``: gradient-boosted trees (scikit-learn ``HistGradientBoostingRegressor``: 300 rounds, learning
    rate 0.05, 15 leaves, at least ``min(20, max(1, n // 10))`` of the ``n`` training rows per leaf so that small
    caches still split; no early stopping; fitted on one thread, so deterministic), std 0. The model that
    ranks Accel-NASBench's 4,138 trained networks at Spearman 0.99 (:mod:`.accel_nasbench`), for the user's own
    results; it needs scikit-learn (the ``search`` extra).
* :meth:`AccuracyPredictor.screen` keeps the candidates with the highest predicted accuracy (optionally plus
  ``beta`` x std, an upper confidence bound), so only those are proxy-trained.
* :meth:`AccuracyPredictor.cross_validate` gives out-of-fold predictions, the honest way to measure its rank
  correlation on the data it has.

Pre-screening in a search loop (train only the most promising part of each generation)::

    cache = ResultCache("runs/proxy.sqlite")                   # filled by ProxyEvaluator(cache=...)
    pred = AccuracyPredictor(space).fit_cache(cache)           # refit every few generations
    proposals = [space.sample(rng) for _ in range(64)]
    to_train = pred.screen(proposals, 8, beta=1.0)             # optimistic: mean + 1 std

The predictor predicts whatever target it is fitted on (e.g. the Fashion-MNIST proxy accuracy from the
SQLite cache via :meth:`AccuracyPredictor.fit_cache`); it is no better than that target. Measured
(``benchmarks/README.md``): fitted on 40 proxy-trained networks of the 30-decision ``edgetpu`` space it ranked
the 10 held-out ones no better than chance (5-fold Spearman +0.05 MLP, +0.06 ridge); it needs hundreds of
cached results before it is worth screening with. Needs numpy; the MLP needs torch, the GBM scikit-learn.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .proxy import one_torch_thread as _one_thread  # the MLP's matrices are tiny: one thread

__all__ = ["AccuracyPredictor", "block_features", "BLOCK_FEATURES"]

#: Names of the per-stage features of the ``"blocks"`` featurizer.
BLOCK_FEATURES = ("type_ds", "type_ir", "type_er", "type_other", "repeats", "kernel", "stride", "expansion",
                  "log2_channels", "se")
_TOKEN = re.compile(r"^([a-z]+)([0-9.]+)$")


def _fit_gbm(xs: np.ndarray, ys: np.ndarray, seed: int) -> Any:
    """scikit-learn gradient-boosted trees on standardised features / targets, on one thread (deterministic)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from .accel_nasbench import sklearn_one_thread

    model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                                          min_samples_leaf=min(20, max(1, xs.shape[0] // 10)),
                                          early_stopping=False, random_state=seed)
    with sklearn_one_thread():
        model.fit(xs, ys)
    return model


def _parse_block(block: str) -> list[float]:
    parts = block.split("_")
    if len(parts) < 2:
        raise ValueError(f"not a timm block string: {block!r}")
    kind = parts[0]
    vals: dict[str, float] = {}
    for tok in parts[1:]:
        m = _TOKEN.match(tok)
        if m is None:
            continue  # flags such as 'noskip', activation overrides 'nre'
        key, num = m.group(1), m.group(2)
        if key == "s" and len(num) > 1 and "." not in num:
            num = num[0]  # 's22' = stride 2 in both dims
        try:
            vals[key] = float(num)
        except ValueError:
            continue
    if "c" not in vals:
        raise ValueError(f"timm block string without output channels (c..): {block!r}")
    onehot = [float(kind == "ds"), float(kind == "ir"), float(kind == "er"),
              float(kind not in ("ds", "ir", "er"))]
    return onehot + [vals.get("r", 1.0), vals.get("k", 3.0), vals.get("s", 1.0),
                     vals.get("e", 1.0), math.log2(max(1.0, vals["c"])), vals.get("se", 0.0)]


def block_features(blocks: Sequence[str] | Sequence[Sequence[str]], n_stages: int | None = None) -> np.ndarray:
    """Per-stage features (:data:`BLOCK_FEATURES`) of one network's timm block strings, flattened.

    ``blocks``: one string per stage, or timm's ``arch_def`` (a list of lists, one string per stage each;
    several strings in a stage are concatenated as extra stages). ``n_stages``: pad with zeros / require at
    most this many stages. Returns ``(n_stages * 10,)`` float64.
    """
    flat: list[str] = []
    for b in blocks:
        if isinstance(b, str):
            flat.append(b)
        else:
            flat.extend(str(x) for x in b)
    rows = [_parse_block(b) for b in flat]
    if n_stages is not None:
        if len(rows) > n_stages:
            raise ValueError(f"network has {len(rows)} block strings, the predictor was fitted on {n_stages}")
        rows += [[0.0] * len(BLOCK_FEATURES)] * (n_stages - len(rows))
    return np.asarray(rows, dtype=np.float64).ravel()


class AccuracyPredictor:
    """Regressor from candidate to accuracy (see the module docstring).

    Args:
        space: the candidates' space (needed for candidate objects and for ``featurizer="onehot"``; block
            strings alone need none).
        kind: "mlp", "ridge" or "gbm".
        featurizer: "blocks" or "onehot".
        hidden: MLP hidden layer widths.
        ensemble: MLPs in the ensemble (>= 1).
        epochs: full-batch Adam steps per MLP.
        lr: Adam learning rate.
        weight_decay: L2 penalty of the MLP (Adam weight decay).
        alpha: ridge penalty.
        seed: seed of the MLP initialisations.
    """

    def __init__(self, space: Any = None, *, kind: str = "mlp", featurizer: str = "blocks",
                 hidden: Sequence[int] = (64, 64), ensemble: int = 5, epochs: int = 400, lr: float = 3e-3,
                 weight_decay: float = 1e-3, alpha: float = 1.0, seed: int = 0) -> None:
        if kind not in ("mlp", "ridge", "gbm"):
            raise ValueError(f"kind must be 'mlp', 'ridge' or 'gbm', got kind={kind!r}")
        if featurizer not in ("blocks", "onehot"):
            raise ValueError(f"featurizer must be 'blocks' or 'onehot', got featurizer={featurizer!r}")
        if featurizer == "onehot" and space is None:
            raise ValueError("featurizer='onehot' needs the space")
        for name, v in (("ensemble", ensemble), ("epochs", epochs)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {name}={v!r}")
        if not all(isinstance(h, int) and h >= 1 for h in hidden):
            raise ValueError(f"hidden must be positive ints, got hidden={tuple(hidden)!r}")
        if not (lr > 0 and weight_decay >= 0 and alpha >= 0):
            raise ValueError(f"need lr > 0, weight_decay >= 0, alpha >= 0; got {lr}, {weight_decay}, {alpha}")
        self.space = space
        self.kind, self.featurizer = kind, featurizer
        self.hidden, self.ensemble, self.epochs = tuple(hidden), ensemble, epochs
        self.lr, self.weight_decay, self.alpha, self.seed = float(lr), float(weight_decay), float(alpha), seed
        self._fitted = False
        self._n_stages: int | None = None
        self._x_mean = self._x_std = None
        self._y_mean, self._y_std = 0.0, 1.0
        self._members: list[Any] = []
        self._coef: np.ndarray | None = None
        self._gbm: Any = None
        self._train: tuple[np.ndarray, np.ndarray] | None = None  # gbm: standardised training set (state_dict)
        self.n_train = 0

    def __repr__(self) -> str:
        return (f"AccuracyPredictor(kind={self.kind!r}, featurizer={self.featurizer!r}, "
                f"fitted={self._fitted}, n_train={self.n_train})")

    # -- features ------------------------------------------------------------------------------------------
    def _blocks(self, c: Any) -> list[str]:
        if isinstance(c, str):
            return c.split()
        if isinstance(c, (list, tuple)) and all(isinstance(b, str) for b in c):
            return list(c)
        if isinstance(c, dict) and "blocks" in c:
            return list(c["blocks"])
        if self.space is None:
            raise ValueError(f"cannot featurize {c!r} without the space (pass space= or block strings)")
        return [b for stage in self.space.to_block_strings(c) for b in stage]

    def features(self, candidates: Sequence[Any]) -> np.ndarray:
        """Raw (unstandardised) features ``(n, d)`` of candidates (space candidates, block-string lists, a
        space-separated block string, or ``{"blocks": [...]}`` cache dicts)."""
        cands = list(candidates)
        if not cands:
            raise ValueError("no candidates")
        if self.featurizer == "onehot":
            card = self.space.cardinalities
            out = np.zeros((len(cands), int(sum(card))), dtype=np.float64)
            offs = np.concatenate([[0], np.cumsum(card)[:-1]]).astype(int)
            for i, c in enumerate(cands):
                out[i, offs + np.asarray(self.space.encode(c))] = 1.0
            return out
        blocks = [self._blocks(c) for c in cands]
        n = self._n_stages if self._n_stages is not None else max(len(b) for b in blocks)
        return np.stack([block_features(b, n) for b in blocks])

    # -- fitting -------------------------------------------------------------------------------------------
    def fit(self, candidates: Sequence[Any], accuracies: Sequence[float]) -> "AccuracyPredictor":
        """Fit on ``candidates`` and their ``accuracies`` (any real target; NaNs are dropped). Returns self."""
        y = np.asarray(accuracies, dtype=np.float64).ravel()
        cands = list(candidates)
        if len(cands) != y.size:
            raise ValueError(f"{len(cands)} candidates but {y.size} accuracies")
        keep = np.isfinite(y)
        cands = [c for c, k in zip(cands, keep) if k]
        y = y[keep]
        if y.size < 2:
            raise ValueError(f"need at least 2 candidates with finite accuracy to fit, got {y.size}")
        self._n_stages = None
        x = self.features(cands)
        if self.featurizer == "blocks":
            self._n_stages = x.shape[1] // len(BLOCK_FEATURES)
        self._x_mean = x.mean(axis=0)
        sd = x.std(axis=0)
        self._x_std = np.where(sd > 0, sd, 1.0)
        self._y_mean = float(y.mean())
        self._y_std = float(y.std()) if y.std() > 0 else 1.0
        xs = (x - self._x_mean) / self._x_std
        ys = (y - self._y_mean) / self._y_std
        if self.kind == "ridge":
            a = np.hstack([xs, np.ones((xs.shape[0], 1))])
            reg = self.alpha * np.eye(a.shape[1])
            reg[-1, -1] = 0.0  # no penalty on the intercept
            self._coef = np.linalg.solve(a.T @ a + reg, a.T @ ys)
        elif self.kind == "gbm":
            self._gbm = _fit_gbm(xs, ys, self.seed)
            self._train = (xs, ys)
        else:
            self._members = [self._fit_mlp(xs, ys, self.seed + i) for i in range(self.ensemble)]
        self._fitted = True
        self.n_train = int(y.size)
        return self

    def _fit_mlp(self, xs: np.ndarray, ys: np.ndarray, seed: int) -> Any:
        import torch

        with _one_thread(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layers: list[Any] = []
            d = xs.shape[1]
            for h in self.hidden:
                layers += [torch.nn.Linear(d, h), torch.nn.ReLU()]
                d = h
            layers.append(torch.nn.Linear(d, 1))
            net = torch.nn.Sequential(*layers).double()
            opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            xt, yt = torch.from_numpy(xs), torch.from_numpy(ys).unsqueeze(1)
            for _ in range(self.epochs):
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(net(xt), yt)
                loss.backward()
                opt.step()
        net.eval()
        return net

    def fit_cache(self, cache: Any, *, kind: str = "proxy", settings: Any = None,
                  target: str = "accuracy") -> "AccuracyPredictor":
        """Fit on the results stored in a :class:`~codesign.evaluation.cache.ResultCache` (rows of ``kind``,
        stored under exactly ``settings`` when given; ``target`` is the result field to predict)."""
        entries = cache.entries(kind=kind, settings=settings)
        rows = [(e.candidate, e.result.get(target)) for e in entries
                if isinstance(e.candidate, dict) and "blocks" in e.candidate and e.result.get(target) is not None]
        if len(rows) < 2:
            raise ValueError(f"cache {getattr(cache, 'path', cache)} has {len(rows)} usable '{kind}' results; need >= 2")
        return self.fit([c for c, _ in rows], [float(v) for _, v in rows])

    # -- prediction ----------------------------------------------------------------------------------------
    def predict_with_std(self, candidates: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)``, each ``(n,)``, in the target's units; std is the ensemble spread (0 for ridge)."""
        if not self._fitted:
            raise ValueError("predictor is not fitted (call fit or fit_cache first)")
        xs = (self.features(candidates) - self._x_mean) / self._x_std
        if self.kind == "ridge":
            a = np.hstack([xs, np.ones((xs.shape[0], 1))])
            mean = a @ self._coef
            return mean * self._y_std + self._y_mean, np.zeros(xs.shape[0])
        if self.kind == "gbm":
            from .accel_nasbench import sklearn_one_thread

            with sklearn_one_thread():
                mean = self._gbm.predict(xs)
            return mean * self._y_std + self._y_mean, np.zeros(xs.shape[0])
        import torch

        with _one_thread(), torch.no_grad():
            xt = torch.from_numpy(xs)
            preds = np.stack([m(xt).squeeze(1).numpy() for m in self._members]) * self._y_std + self._y_mean
        return preds.mean(axis=0), preds.std(axis=0)

    def predict(self, candidates: Sequence[Any]) -> np.ndarray:
        """Predicted accuracy ``(n,)`` (ensemble mean)."""
        return self.predict_with_std(candidates)[0]

    def screen(self, candidates: Sequence[Any], keep: int | float, *, beta: float = 0.0) -> list[Any]:
        """The ``keep`` candidates (an int, or a fraction in (0, 1]) with the highest ``mean + beta * std``,
        best first. Use it to proxy-train only the promising part of a generation."""
        cands = list(candidates)
        if not cands:
            return []
        if isinstance(keep, float) and not isinstance(keep, bool):
            if not 0 < keep <= 1:
                raise ValueError(f"keep as a fraction must be in (0, 1], got keep={keep}")
            k = max(1, int(math.ceil(keep * len(cands))))
        elif isinstance(keep, int) and not isinstance(keep, bool) and keep >= 1:
            k = min(keep, len(cands))
        else:
            raise ValueError(f"keep must be a positive int or a fraction, got keep={keep!r}")
        mean, std = self.predict_with_std(cands)
        order = np.argsort(-(mean + beta * std), kind="stable")
        return [cands[i] for i in order[:k]]

    def cross_validate(self, candidates: Sequence[Any], accuracies: Sequence[float], *, folds: int = 5,
                       seed: int = 0) -> np.ndarray:
        """Out-of-fold predictions ``(n,)``: each candidate predicted by a copy of this predictor fitted on the
        other folds (random folds with ``seed``). This predictor itself is left as it was."""
        cands = list(candidates)
        y = np.asarray(accuracies, dtype=np.float64)
        n = len(cands)
        if not 2 <= folds <= n:
            raise ValueError(f"folds must be in [2, {n}], got folds={folds}")
        perm = np.random.default_rng(seed).permutation(n)
        out = np.full(n, np.nan)
        for f in range(folds):
            test = perm[f::folds]
            train = np.setdiff1d(perm, test)
            p = AccuracyPredictor(self.space, kind=self.kind, featurizer=self.featurizer, hidden=self.hidden,
                                  ensemble=self.ensemble, epochs=self.epochs, lr=self.lr,
                                  weight_decay=self.weight_decay, alpha=self.alpha, seed=self.seed)
            p.fit([cands[i] for i in train], y[train])
            out[test] = p.predict([cands[i] for i in test])
        return out

    # -- persistence ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-able state (hyper-parameters, standardisation, weights) for checkpoints. For ``kind="gbm"`` the
        trees are not stored but the standardised training set, and :meth:`from_state_dict` refits them (the fit
        is deterministic, so the predictions are the same)."""
        if not self._fitted:
            raise ValueError("predictor is not fitted")
        state: dict[str, Any] = {
            "kind": self.kind, "featurizer": self.featurizer, "hidden": list(self.hidden), "ensemble": self.ensemble,
            "epochs": self.epochs, "lr": self.lr, "weight_decay": self.weight_decay, "alpha": self.alpha,
            "seed": self.seed, "n_stages": self._n_stages, "x_mean": self._x_mean.tolist(),
            "x_std": self._x_std.tolist(), "y_mean": self._y_mean, "y_std": self._y_std, "n_train": self.n_train,
        }
        if self.kind == "ridge":
            state["coef"] = self._coef.tolist()
        elif self.kind == "gbm":
            state["train_x"], state["train_y"] = self._train[0].tolist(), self._train[1].tolist()
        else:
            state["members"] = [{k: v.tolist() for k, v in m.state_dict().items()} for m in self._members]
        return state

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], space: Any = None) -> "AccuracyPredictor":
        """Rebuild a fitted predictor from :meth:`state_dict`."""
        p = cls(space, kind=state["kind"], featurizer=state["featurizer"], hidden=tuple(state["hidden"]),
                ensemble=state["ensemble"], epochs=state["epochs"], lr=state["lr"],
                weight_decay=state["weight_decay"], alpha=state["alpha"], seed=state["seed"])
        p._n_stages = state["n_stages"]
        p._x_mean, p._x_std = np.asarray(state["x_mean"]), np.asarray(state["x_std"])
        p._y_mean, p._y_std = float(state["y_mean"]), float(state["y_std"])
        p.n_train = int(state["n_train"])
        if p.kind == "ridge":
            p._coef = np.asarray(state["coef"])
        elif p.kind == "gbm":
            xs, ys = np.asarray(state["train_x"], dtype=np.float64), np.asarray(state["train_y"], dtype=np.float64)
            p._gbm, p._train = _fit_gbm(xs, ys, p.seed), (xs, ys)
        else:
            import torch

            d = len(state["x_mean"])
            for ms in state["members"]:
                layers: list[Any] = []
                din = d
                for h in p.hidden:
                    layers += [torch.nn.Linear(din, h), torch.nn.ReLU()]
                    din = h
                layers.append(torch.nn.Linear(din, 1))
                net = torch.nn.Sequential(*layers).double()
                net.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in ms.items()})
                net.eval()
                p._members.append(net)
        p._fitted = True
        return p
