"""Hypothesis profiles for the test suite.

``deterministic`` (the default): every property test draws the same examples on every run (``derandomize``), so
the suite - and CI, which gates every landing on it - passes or fails for a reason in the code, not the draw.
``explore``: fresh random examples each run, to hunt for new failures (``CODESIGN_HYPOTHESIS_PROFILE=explore``,
with ``CODESIGN_FUZZ_EXAMPLES`` for more fuzz inputs); a failure found this way is pinned with ``@example``.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
_profile = os.environ.get("CODESIGN_HYPOTHESIS_PROFILE", "deterministic")
if _profile not in ("deterministic", "explore"):
    raise ValueError(f"CODESIGN_HYPOTHESIS_PROFILE must be 'deterministic' or 'explore', got {_profile!r}")
settings.load_profile(_profile)


@pytest.fixture
def one_torch_thread():
    """torch on one intra-op thread for the test (deterministic float sums; no oversubscription of the 2 cores)."""
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture(autouse=True, scope="session")
def workload_cache_in_tmp(tmp_path_factory):
    """The on-disk workload cache (codesign.workload.cache) in a fresh folder for the session: tests never read
    or write the user's ~/.cache."""
    prev = os.environ.get("CODESIGN_CACHE_DIR")
    os.environ["CODESIGN_CACHE_DIR"] = str(tmp_path_factory.mktemp("workload-cache"))
    yield
    if prev is None:
        os.environ.pop("CODESIGN_CACHE_DIR", None)
    else:
        os.environ["CODESIGN_CACHE_DIR"] = prev
