"""Candidate evaluation: the accuracy side.

* :mod:`.proxy` - the search's accuracy proxy (short training on Fashion-MNIST or any ImageFolder), cached;
* :mod:`.cache` - the SQLite result cache shared by processes and runs;
* :mod:`.imagenet` - ImageNet-layout folders, class subsets, held-out splits, standard transforms;
* :mod:`.training` - training / evaluation loops (SGD/RMSProp, warm-up + cosine, label smoothing, EMA, AMP,
  DDP, checkpoints and resume, top-1/top-5), behind ``codesign train`` and ``codesign eval``;
* :mod:`.zero_cost` - zero-cost proxies (synflow, NASWOT, jacob_cov, grad_norm, snip);
* :mod:`.predictor` - an accuracy predictor on candidate encodings, for pre-screening;
* :mod:`.stats` - Spearman and Kendall rank correlations;
* :mod:`.nb201` - NAS-Bench-201's trained accuracies of all 15,625 cells (table lookup);
* :mod:`.accel_nasbench` - Accel-NASBench's ImageNet top-1, predicted from its 4,138 trained networks.

Importing this package needs numpy only; the names of the torch-based modules are resolved on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

from .cache import CacheEntry, ResultCache
from .proxy import (
    DEFAULT_DATA_DIR,
    FashionMNISTData,
    ImageFolderData,
    ProxyEvaluator,
    ProxyResult,
    ProxySettings,
    load_fashion_mnist,
    read_idx,
)
from .stats import kendall, spearman

_LAZY = {
    "AccuracyPredictor": ".predictor",
    "AccelNasBench": ".accel_nasbench",
    "ZeroCostEvaluator": ".zero_cost",
    "ZeroCostResult": ".zero_cost",
    "TrainSettings": ".training",
    "TrainResult": ".training",
    "EvalResult": ".training",
    "train_classifier": ".training",
    "evaluate_classifier": ".training",
    "train_network": ".training",
    "evaluate_network": ".training",
    "build_network": ".training",
    "topk_correct": ".training",
    "accuracy": ".training",
    "build_transform": ".imagenet",
    "scan_image_folder": ".imagenet",
    "ImageDataset": ".imagenet",
    "NB201Accuracy": ".nb201",
    "parse_nb201_spec": ".nb201",
}

__all__ = sorted([
    "DEFAULT_DATA_DIR", "ProxyEvaluator", "ProxyResult", "ProxySettings", "load_fashion_mnist", "read_idx",
    "FashionMNISTData", "ImageFolderData", "ResultCache", "CacheEntry", "spearman", "kendall", *_LAZY,
])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'codesign.evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
