"""Candidate evaluation. :mod:`.proxy` (Fashion-MNIST accuracy proxy) imports torch only when training."""
from __future__ import annotations

from .proxy import (
    DEFAULT_DATA_DIR,
    ProxyEvaluator,
    ProxyResult,
    ProxySettings,
    load_fashion_mnist,
    read_idx,
)

__all__ = ["DEFAULT_DATA_DIR", "ProxyEvaluator", "ProxyResult", "ProxySettings", "load_fashion_mnist", "read_idx"]
