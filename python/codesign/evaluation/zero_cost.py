"""Zero-cost accuracy proxies: scores of an untrained network from one minibatch (or none).

Each score is meant to rank networks of a space by the accuracy they would reach after training; none of them
trains anything. Higher is better for every score here. Each function works on a copy of the model (the
model's parameters, buffers and mode are left untouched) and returns a Python float.

=============  ========================================================================================  =========
score          definition                                                                                data
=============  ========================================================================================  =========
``synflow``    sum over conv/linear weights of ``theta * dR/dtheta`` where ``R = 1^T f(1)`` is the output     none
               of the network with all weights replaced by their absolute values, BatchNorm and
               activations made identities, fed an all-ones input, in float64. Tanaka, Kunin, Yamins,
               Ganguli, "Pruning neural networks without any data by iteratively conserving synaptic
               flow", NeurIPS 2020; as a NAS proxy (BatchNorm removed) Abdelfattah, Mehrotra, Dudziak,
               Lane, "Zero-Cost Proxies for Lightweight NAS", ICLR 2021.
``naswot``     ``log |det K_H|`` with ``K_H[i, j] = N_A - hamming(c_i, c_j)``, ``c_i`` the binary code of    a batch
               which of the ``N_A`` units before every ReLU-like activation are positive for input ``i``.
               Mellor, Turner, Storkey, Crowley, "Neural Architecture Search without Training",
               ICML 2021.
``jacob_cov``  ``-sum_k (log(s_k + 1e-5) + 1 / (s_k + 1e-5))`` over the eigenvalues ``s_k`` of the         a batch
               correlation matrix of the per-input Jacobians ``d sum(f(x_i)) / d x_i``. Mellor et al.,
               arXiv:2006.04647v1 (2020), the first version of the paper above; as scored by
               Abdelfattah et al. 2021.
``grad_norm``  sum over conv/linear weights of the Euclidean norm of ``dL/dtheta`` (cross-entropy on one    a batch
               labelled batch). Abdelfattah et al., ICLR 2021.
``snip``       sum over conv/linear weights of ``|theta * dL/dtheta|``. Lee, Ajanthan, Torr, "SNIP:       a batch
               Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019; as a NAS proxy
               Abdelfattah et al. 2021.
=============  ========================================================================================  =========

BatchNorm uses batch statistics (train mode) for ``naswot``, ``jacob_cov``, ``grad_norm`` and ``snip``, as a
freshly initialised network is scored in the papers' code. Note: Abdelfattah et al. found that on NAS-Bench-201
synflow ranked best (Spearman ~0.74 on CIFAR-10) and that ``#params`` / FLOPs are strong baselines; on other
spaces the ranking of proxies changes. Measure on your space (``benchmarks/test_bench_accuracy.py``): on 50
networks of the ``edgetpu`` space against the 80-step Fashion-MNIST proxy, synflow, grad_norm and snip ranked
*inversely* (Spearman -0.62, -0.57, -0.53; the proxy favours networks that train fast, not large ones),
NASWOT and jacob_cov near zero (-0.01, -0.24); 0.1-0.5 s per score on one CPU thread.

:class:`ZeroCostEvaluator` scores candidates of a network space as the accuracy proxy would train them (same
scaled-down network, same seeded initialisation, a fixed minibatch of the proxy's training data). Needs torch.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "synflow",
    "naswot",
    "jacob_cov",
    "grad_norm",
    "snip",
    "PROXIES",
    "score_all",
    "ZeroCostResult",
    "ZeroCostEvaluator",
]

_RELU_LIKE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.SiLU, nn.Hardswish, nn.GELU, nn.Mish, nn.ELU, nn.PReLU)
_ACT_NAMES = {"ReLU", "ReLU6", "LeakyReLU", "SiLU", "Swish", "Hardswish", "HardSwish", "GELU", "Mish", "ELU", "PReLU",
              "Sigmoid", "HardSigmoid", "Hardsigmoid", "Tanh", "GELUTanh", "QuickGELU", "Swish", "SwishMe", "HardSwishMe",
              "HardSigmoidMe", "MishMe"}


def _weights(model: nn.Module) -> list[torch.Tensor]:
    """Weights of every Conv (any dim) and Linear layer: the "prunable" parameters the papers score."""
    return [m.weight for m in model.modules()
            if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)) and m.weight is not None]


def _copy(model: nn.Module) -> nn.Module:
    m = copy.deepcopy(model)
    m.zero_grad(set_to_none=True)
    for p in m.parameters():
        p.requires_grad_(True)
    return m


def _check_batch(inputs: torch.Tensor, name: str, min_batch: int = 1) -> None:
    if not isinstance(inputs, torch.Tensor) or inputs.ndim < 2:
        raise ValueError(f"{name}: inputs must be a (N, ...) tensor, got {getattr(inputs, 'shape', inputs)!r}")
    if inputs.shape[0] < min_batch:
        raise ValueError(f"{name} needs a batch of at least {min_batch} inputs, got {inputs.shape[0]}")


def _replace_activations(module: nn.Module) -> None:
    for name, child in list(module.named_children()):
        if isinstance(child, _RELU_LIKE) or isinstance(child, (nn.Sigmoid, nn.Hardsigmoid, nn.Tanh)) or \
                type(child).__name__ in _ACT_NAMES:
            setattr(module, name, nn.Identity())
        else:
            _replace_activations(child)


def synflow(model: nn.Module, input_shape: Sequence[int]) -> float:
    """SynFlow score (Tanaka et al. 2020; Abdelfattah et al. 2021), data-free.

    Args:
        model: the network (not modified).
        input_shape: ``(N, C, H, W)`` (only ``C, H, W`` are used; one all-ones input is scored).

    Returns ``sum_theta theta * dR/dtheta`` (>= 0) with ``R`` the summed output of the linearised,
    all-positive network (see the module docstring). For a network that is positively homogeneous of degree 1
    in each of its ``L`` weight layers this equals ``L * R``.
    """
    shape = tuple(int(v) for v in input_shape)
    if len(shape) < 2 or any(v < 1 for v in shape):
        raise ValueError(f"synflow: input_shape must be (N, C, ...) positive ints, got {tuple(input_shape)!r}")
    m = _copy(model).double()
    _replace_activations(m)
    for mod in m.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            if mod.running_mean is not None:
                mod.running_mean.zero_()
                mod.running_var.fill_(1.0)
            if mod.affine:
                with torch.no_grad():
                    mod.weight.fill_(1.0)
                    mod.bias.zero_()
            mod.eps = 0.0
            mod.track_running_stats = True
    m.eval()
    with torch.no_grad():
        for p in m.parameters():
            p.abs_()
    x = torch.ones((1,) + shape[1:], dtype=torch.float64)
    out = m(x)
    out.sum().backward()
    total = 0.0
    with torch.no_grad():
        for w in _weights(m):
            if w.grad is not None:
                total += float((w * w.grad).sum())
    return total


def naswot(model: nn.Module, inputs: torch.Tensor) -> float:
    """NASWOT score ``log|det K_H|`` (Mellor et al. 2021) from the activation patterns of a batch.

    Args:
        model: the network (not modified); every ReLU-like activation module (ReLU, ReLU6, SiLU, Hardswish,
            GELU, ...) contributes the binary code ``input > 0`` of its input units.
        inputs: ``(N, C, H, W)`` batch, N >= 2.

    Returns the log-determinant of the ``N x N`` kernel; ``-inf`` when two inputs share a code (singular
    kernel). Raises ValueError if the model has no ReLU-like activation module.
    """
    _check_batch(inputs, "naswot", 2)
    m = _copy(model)
    m.train()
    codes: list[torch.Tensor] = []

    def hook(_mod: nn.Module, args: tuple[Any, ...]) -> None:
        codes.append((args[0].detach() > 0).flatten(1).float())

    handles = [mod.register_forward_pre_hook(hook) for mod in m.modules()
               if isinstance(mod, _RELU_LIKE) or type(mod).__name__ in {"Swish", "SwishMe", "HardSwishMe", "MishMe", "GELUTanh"}]
    if not handles:
        raise ValueError("naswot: the model has no ReLU-like activation module to read codes from")
    try:
        with torch.no_grad():
            m(inputs)
    finally:
        for h in handles:
            h.remove()
    c = torch.cat(codes, dim=1).double()
    k = c @ c.t() + (1.0 - c) @ (1.0 - c).t()
    sign, logdet = torch.linalg.slogdet(k)
    if float(sign) <= 0:
        return -math.inf
    return float(logdet)


def jacob_cov(model: nn.Module, inputs: torch.Tensor, *, eps: float = 1e-5) -> float:
    """Jacobian-covariance score (Mellor et al. 2020, v1): ``-sum(log(s + eps) + 1 / (s + eps))`` over the
    eigenvalues ``s`` of the correlation matrix of the rows ``d sum(f(x_i)) / d x_i`` (flattened).

    Args:
        model: the network (not modified).
        inputs: ``(N, C, H, W)`` batch, N >= 2.
        eps: the paper's ``k = 1e-5``.

    Returns a float (higher = Jacobians less correlated across inputs); NaN if a Jacobian row is constant.
    """
    _check_batch(inputs, "jacob_cov", 2)
    m = _copy(model)
    m.train()
    x = inputs.detach().clone().requires_grad_(True)
    y = m(x)
    y.backward(torch.ones_like(y))
    jac = x.grad.detach().reshape(x.shape[0], -1).double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jac)
    if not np.isfinite(corr).all():
        return math.nan
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + eps) + 1.0 / (v + eps)))


def _loss_grads(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> nn.Module:
    _check_batch(inputs, "grad_norm/snip", 1)
    if targets.ndim != 1 or targets.shape[0] != inputs.shape[0]:
        raise ValueError(f"targets must be (N,) class indices matching inputs, got {tuple(targets.shape)}")
    m = _copy(model)
    m.train()
    loss = F.cross_entropy(m(inputs), targets)
    loss.backward()
    return m


def grad_norm(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Sum over conv/linear weight tensors of ``||dL/dtheta||_2`` for the mean cross-entropy ``L`` of the batch
    (Abdelfattah et al. 2021). ``inputs`` ``(N, C, H, W)``, ``targets`` ``(N,)`` int64 class indices."""
    m = _loss_grads(model, inputs, targets)
    return float(sum(float(w.grad.norm()) for w in _weights(m) if w.grad is not None))


def snip(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """SNIP saliency summed over conv/linear weights: ``sum |theta * dL/dtheta|`` (Lee et al. 2019; Abdelfattah
    et al. 2021). Arguments as :func:`grad_norm`."""
    m = _loss_grads(model, inputs, targets)
    with torch.no_grad():
        return float(sum(float((w * w.grad).abs().sum()) for w in _weights(m) if w.grad is not None))


#: name -> function(model, inputs, targets) -> float, in a fixed order.
PROXIES: dict[str, Callable[[nn.Module, torch.Tensor, torch.Tensor], float]] = {
    "synflow": lambda m, x, y: synflow(m, tuple(x.shape)),
    "naswot": lambda m, x, y: naswot(m, x),
    "jacob_cov": lambda m, x, y: jacob_cov(m, x),
    "grad_norm": grad_norm,
    "snip": snip,
}


def score_all(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
              proxies: Sequence[str] = tuple(PROXIES)) -> tuple[dict[str, float], dict[str, float]]:
    """``(scores, seconds)``: each proxy in ``proxies`` on ``model`` with the batch ``(inputs, targets)``, and
    the wall time of each (s). Raises ValueError naming an unknown proxy."""
    unknown = [p for p in proxies if p not in PROXIES]
    if unknown:
        raise ValueError(f"unknown zero-cost proxy {unknown[0]!r}; known: {', '.join(PROXIES)}")
    scores, secs = {}, {}
    for name in proxies:
        t0 = time.perf_counter()
        scores[name] = float(PROXIES[name](model, inputs, targets))
        secs[name] = time.perf_counter() - t0
    return scores, secs


@dataclass(frozen=True)
class ZeroCostResult:
    """Zero-cost scores of one candidate.

    Attributes:
        scores: proxy name -> score (higher = predicted more accurate).
        seconds: proxy name -> wall time (s) of that score.
        params: parameters of the scored (scaled-down proxy) network.
        build_seconds: time to build and initialise the network (s).
        cached: True when read from a cache.
    """

    scores: dict[str, float]
    seconds: dict[str, float]
    params: int
    build_seconds: float
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ZeroCostEvaluator:
    """Zero-cost scores of space candidates, on the network the accuracy proxy would train.

    Args:
        proxy: a :class:`~codesign.evaluation.proxy.ProxyEvaluator` whose space, settings (``channel_scale``,
            ``seed``) and data define the network and its initialisation (default ``ProxyEvaluator()``: the
            search's Fashion-MNIST proxy).
        batch_size: images in the scoring batch (drawn once from the proxy's training split with ``batch_seed``).
        proxies: which scores to compute (default all of :data:`PROXIES`).
        batch_seed: seed of the batch choice.
        cache: a ResultCache (or path) for results, kind ``"zero_cost"``.
    """

    proxy: Any = None
    batch_size: int = 64
    proxies: tuple[str, ...] = tuple(PROXIES)
    batch_seed: int = 0
    cache: Any = None
    _batch: Any = field(default=None, init=False, repr=False)
    _memo: dict[Any, ZeroCostResult] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        from .cache import ResultCache
        from .proxy import ProxyEvaluator

        if self.proxy is None:
            self.proxy = ProxyEvaluator()
        self.proxies = tuple(self.proxies)
        unknown = [p for p in self.proxies if p not in PROXIES]
        if unknown:
            raise ValueError(f"unknown zero-cost proxy {unknown[0]!r}; known: {', '.join(PROXIES)}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ValueError(f"batch_size must be an int >= 2, got batch_size={self.batch_size!r}")
        if self.cache is not None and not isinstance(self.cache, ResultCache):
            self.cache = ResultCache(self.cache)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed scoring batch ``(inputs (B, C, H, W) float32, targets (B,) int64)``."""
        if self._batch is None:
            data = self.proxy.data()
            n = data.train_x.shape[0]
            if n < self.batch_size:
                raise ValueError(f"batch_size={self.batch_size} exceeds the {n} training images")
            idx = np.sort(np.random.default_rng(self.batch_seed).choice(n, size=self.batch_size, replace=False))
            self._batch = (data.batch(data.train_x[idx]).contiguous(), torch.from_numpy(data.train_y[idx]))
        return self._batch

    def _settings(self) -> dict[str, Any]:
        return {"proxy": self.proxy.settings.result_dict(), "data": self.proxy.data_spec.describe(),
                "batch_size": self.batch_size, "batch_seed": self.batch_seed, "proxies": list(self.proxies)}

    def evaluate(self, arch: Any) -> ZeroCostResult:
        """Scores of candidate ``arch`` (memoised per network; cached on disk with ``cache``)."""
        from .proxy import _build_proxy_model, one_torch_thread

        blocks = [b for stage in self.proxy.space.to_block_strings(arch) for b in stage]
        key = tuple(blocks)
        if key in self._memo:
            return ZeroCostResult(**{**self._memo[key].to_dict(), "cached": True})
        if self.cache is not None:
            hit = self.cache.get({"blocks": blocks}, self._settings(), kind="zero_cost")
            if hit is not None:
                res = ZeroCostResult(**{**hit, "cached": True})
                self._memo[key] = res
                return res
        x, y = self.batch()
        data = self.proxy.data()
        s = self.proxy.settings
        t0 = time.perf_counter()
        with one_torch_thread():  # thread-count-independent floats (see proxy's docstring)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s.seed)
                model = _build_proxy_model(self.proxy.space, arch, s, num_classes=data.num_classes,
                                           in_chans=data.in_chans)
            build = time.perf_counter() - t0
            scores, secs = score_all(model, x, y, self.proxies)
        res = ZeroCostResult(scores=scores, seconds=secs, params=int(sum(p.numel() for p in model.parameters())),
                             build_seconds=build)
        if self.cache is not None:
            d = res.to_dict()
            d.pop("cached")
            self.cache.put({"blocks": blocks}, self._settings(), d, kind="zero_cost")
        self._memo[key] = res
        return res

    __call__ = evaluate
