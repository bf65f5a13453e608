"""Zero-cost proxies: hand-computed values on tiny networks, no side effects, and the space evaluator."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")
nn = torch.nn

from codesign.evaluation.cache import ResultCache  # noqa: E402
from codesign.evaluation.proxy import DEFAULT_DATA_DIR, ProxyEvaluator, _data_dir  # noqa: E402
from codesign.evaluation.zero_cost import (  # noqa: E402
    PROXIES,
    ZeroCostEvaluator,
    grad_norm,
    jacob_cov,
    naswot,
    score_all,
    snip,
    synflow,
)
from codesign.space import NetworkCandidate  # noqa: E402

HAVE_DATA = (_data_dir(None) / "train-images-idx3-ubyte.gz").is_file()
SMALL = NetworkCandidate(kernel=(3,) * 7, expansion=(1,) * 7, depth=(1,) * 7, width=(0.5,) * 7)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def two_layer(w1, w2, act=nn.ReLU):
    m = nn.Sequential(nn.Linear(w1.shape[1], w1.shape[0], bias=False), act(), nn.Linear(w2.shape[1], w2.shape[0], bias=False))
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor(w1, dtype=torch.float32))
        m[2].weight.copy_(torch.tensor(w2, dtype=torch.float32))
    return m


def test_synflow_is_layers_times_synaptic_flow():
    w1 = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.0]])
    w2 = np.array([[2.0, -1.0, 4.0]])
    r = float(np.ones(1) @ np.abs(w2) @ np.abs(w1) @ np.ones(2))  # |W1| 1 = (3, 3.5, 1); R = 2*3 + 3.5 + 4*1
    assert r == 13.5
    # R is degree-1 homogeneous in each layer, so sum(theta * dR/dtheta) = R per layer: 2 R in all
    assert synflow(two_layer(w1, w2), (4, 2)) == pytest.approx(2 * r)
    # ReLU6 would clip the all-positive signal; synflow linearises activations, so the score is the same
    assert synflow(two_layer(w1, w2, nn.ReLU6), (1, 2)) == pytest.approx(2 * r)
    # BatchNorm is made an identity (Abdelfattah et al. 2021 score synflow without BN)
    conv = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 1, bias=False))
    plain = nn.Sequential(conv[0], nn.ReLU(), nn.Flatten(), conv[4])
    with torch.no_grad():
        conv[1].running_var.fill_(9.0)
        conv[1].weight.fill_(5.0)
    assert synflow(conv, (1, 1, 2, 2)) == pytest.approx(synflow(plain, (1, 1, 2, 2)))


def test_naswot_on_hand_made_codes():
    relu = nn.Sequential(nn.ReLU())
    # codes [1,0,1] and [1,1,0]: Hamming distance 2 of N_A = 3 units -> K = [[3, 1], [1, 3]], det 8
    x = torch.tensor([[1.0, -1.0, 2.0], [3.0, 1.0, -1.0]])
    assert naswot(relu, x) == pytest.approx(math.log(8.0))
    # three inputs: codes 110, 011, 000 -> K = [[3,1,1],[1,3,1],[1,1,3]], det 20
    x3 = torch.tensor([[1.0, 1.0, -1.0], [-1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])
    assert naswot(relu, x3) == pytest.approx(math.log(20.0))
    # equal codes: singular kernel
    assert naswot(relu, torch.tensor([[1.0, -1.0], [2.0, -5.0]])) == -math.inf
    # an in-place activation still reports its input codes
    assert naswot(nn.Sequential(nn.ReLU(inplace=True)), x.clone()) == pytest.approx(math.log(8.0))
    with pytest.raises(ValueError, match="no ReLU-like activation"):
        naswot(nn.Linear(3, 2), x)
    with pytest.raises(ValueError, match="at least 2"):
        naswot(relu, x[:1])


def test_jacob_cov_of_a_linear_model():
    # a linear map has the same Jacobian for every input: the correlation matrix is all ones,
    # eigenvalues N (once) and 0 (N - 1 times)
    lin = nn.Linear(6, 3)
    n, k = 4, 1e-5
    want = -((math.log(n + k) + 1 / (n + k)) + (n - 1) * (math.log(k) + 1 / k))
    assert jacob_cov(lin, torch.randn(n, 6)) == pytest.approx(want, rel=1e-6)
    # independent Jacobians (a ReLU net on different inputs) score higher: eigenvalues nearer 1
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 3))
    assert jacob_cov(net, torch.randn(n, 6)) > want


def test_grad_norm_and_snip_match_the_hand_gradient():
    torch.manual_seed(0)
    lin = nn.Linear(3, 4, bias=False)
    x = torch.randn(5, 3)
    y = torch.tensor([0, 1, 2, 3, 1])
    w = lin.weight.detach().double().numpy()
    z = x.double().numpy() @ w.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(4)[y.numpy()]
    grad = (p - onehot).T @ x.double().numpy() / 5  # d mean-CE / dW
    assert grad_norm(lin, x, y) == pytest.approx(np.linalg.norm(grad), rel=1e-5)
    assert snip(lin, x, y) == pytest.approx(np.abs(w * grad).sum(), rel=1e-5)
    with pytest.raises(ValueError, match="targets"):
        grad_norm(lin, x, y[:3])


def test_proxies_leave_the_model_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU6(inplace=True), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 3))
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    scores, secs = score_all(model, x, y)
    assert list(scores) == list(PROXIES) and all(math.isfinite(v) for v in scores.values()), scores
    assert all(s >= 0 for s in secs.values())
    assert not model.training and all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    with pytest.raises(ValueError, match="unknown zero-cost proxy 'zen'"):
        score_all(model, x, y, ["zen"])


@pytest.mark.skipif(not HAVE_DATA, reason=f"Fashion-MNIST not in {DEFAULT_DATA_DIR}")
def test_space_evaluator_is_deterministic_and_cached(tmp_path):
    proxy = ProxyEvaluator(threads=1)
    z = ZeroCostEvaluator(proxy, batch_size=16, cache=tmp_path / "zc.sqlite")
    x, y = z.batch()
    assert x.shape == (16, 1, 32, 32) and y.shape == (16,) and y.dtype == torch.int64
    r = z.evaluate(SMALL)
    assert set(r.scores) == set(PROXIES) and all(math.isfinite(v) for v in r.scores.values()), r.scores
    assert r.params > 0 and not r.cached
    assert z.evaluate(SMALL).cached
    # a fresh evaluator on the same cache file does not recompute; one without it recomputes the same values
    again = ZeroCostEvaluator(proxy, batch_size=16, cache=ResultCache(tmp_path / "zc.sqlite")).evaluate(SMALL)
    assert again.cached and again.scores == r.scores
    fresh = ZeroCostEvaluator(proxy, batch_size=16, proxies=("synflow", "naswot")).evaluate(SMALL)
    assert fresh.scores == {k: r.scores[k] for k in ("synflow", "naswot")}
    with pytest.raises(ValueError, match="batch_size"):
        ZeroCostEvaluator(proxy, batch_size=1)
