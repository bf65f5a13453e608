"""codesign: co-design of neural networks and edge accelerators.

The accelerator model (``codesign.cost``, ``codesign.hardware``, ``codesign.workload``) needs numpy only.
The accuracy side and the search import torch lazily (``pip install codesign[search]``).

Public names are re-exported here and resolved on first use, so ``import codesign`` stays cheap and never
imports torch.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # workload
    "Layer": "codesign.workload",
    "Workload": "codesign.workload",
    "from_scalesim_csv": "codesign.workload",
    "from_torch": "codesign.workload",
    "from_timm": "codesign.workload",
    "from_onnx": "codesign.workload",
    # hardware
    "SystolicArray": "codesign.hardware",
    "EdgeTpuConfig": "codesign.hardware",
    "Technology": "codesign.hardware",
    "preset": "codesign.hardware",
    "from_scalesim_cfg": "codesign.hardware",
    # cost
    "evaluate": "codesign.cost",
    "evaluate_batch": "codesign.cost",
    "LayerCost": "codesign.cost",
    "NetworkCost": "codesign.cost",
    "BatchResult": "codesign.cost",
    "MapperOptions": "codesign.edgetpu_cost",
    "EdgeTpuNetworkCost": "codesign.edgetpu_cost",
    "map_layer": "codesign.edgetpu_cost",
    "map_space": "codesign.edgetpu_cost",
    # sweeps and mapping studies (``codesign.sweep`` is the module, callable as ``codesign.sweep(...)``)
    "load_space": "codesign.sweep",
    "SweepSpace": "codesign.sweep",
    "map_study": "codesign.mapping_study",
    "parse_layer": "codesign.mapping_study",
}

#: Submodules reachable as attributes without an explicit import.
_SUBMODULES = ("cost", "edgetpu_cost", "hardware", "workload", "scalesim", "sweep", "mapping_study", "space", "search", "evaluation")

__all__ = sorted(_EXPORTS) + ["sweep", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"codesign.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'codesign' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
