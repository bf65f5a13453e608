"""Seconds per network of the Fashion-MNIST proxy (figures in benchmarks/README.md, section "Accuracy proxy"):
today's training on one torch intra-op thread beside the former default of two threads (the same training loop
with torch.set_num_threads(2), measured in the same run). Default ProxySettings (80 steps), two networks of the
default space."""
from __future__ import annotations

import contextlib

import pytest

from codesign.evaluation import proxy as P
from codesign.space import NetworkCandidate, NetworkSpace

pytestmark = pytest.mark.skipif(not (P._data_dir(None) / "train-images-idx3-ubyte.gz").is_file(),
                                reason="needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
NETS = {"sample0": NetworkSpace().sample(0), "mobilenet_v2": NetworkCandidate.mobilenet_v2()}


@contextlib.contextmanager
def _two_threads():
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


@pytest.mark.parametrize("net", list(NETS))
def test_proxy_seconds_per_network(benchmark, net, monkeypatch):
    pytest.importorskip("timm")
    arch = NETS[net]
    one = benchmark.pedantic(lambda: P.ProxyEvaluator().evaluate(arch), rounds=1, iterations=1)
    monkeypatch.setattr(P, "one_torch_thread", _two_threads)
    two = P.ProxyEvaluator().evaluate(arch)
    benchmark.extra_info.update({"one_thread_s": one.seconds, "two_threads_s": two.seconds,
                                 "speedup_vs_two_threads": two.seconds / one.seconds,
                                 "accuracy_one_thread": one.accuracy, "accuracy_two_threads": two.accuracy})
