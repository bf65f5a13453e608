"""Accuracy proxy: short training of a scaled-down candidate on Fashion-MNIST.

What the proxy *is*:

* Data: Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; 28x28 grey images, 10 classes), read straight from the
  IDX ``.gz`` files (default ``/usr/share/datasets/fashion-mnist``, Debian package ``dataset-fashion-mnist``;
  override with ``data_dir=`` or the ``CODESIGN_FASHION_MNIST_DIR`` environment variable). The 60 000 training
  images are split once, by a permutation with a fixed seed (``split_seed``), into ``60000 - holdout`` images to
  train on and ``holdout`` held-out images; accuracy is measured on the first ``eval_size`` held-out images.
  The official 10 000 test images are never used by the search.
* Input: each image zero-padded from 28x28 to 32x32 (2 pixels per side; no interpolation), scaled to [0, 1]
  and standardised with the training split's mean and std; 1 input channel. No augmentation.
* Network: the candidate's *block structure* exactly as in the search space (same stage kernels, expansions,
  depths, strides, block types, stem and head layout, ReLU6, BatchNorm) built by
  :meth:`codesign.space.NetworkSpace.build_model` with ``in_chans=1``, ``num_classes=10`` and every channel
  count - stem (32), stages and head (1280) - multiplied by ``channel_scale`` (default 0.5) and rounded to a
  multiple of 8; channels-last memory format (about 1.8x faster on CPU than NCHW here).
* Training: ``steps`` SGD steps (Nesterov momentum 0.9, weight decay 4e-5, lr ``lr`` with linear warm-up over
  the first 5 % of steps then cosine decay to 0), batch ``batch_size``, cross-entropy, seeded (``seed``)
  initialisation and batch order, ``torch.set_num_threads(threads)`` for the duration of the run.
* Result: top-1 accuracy (fraction) on the held-out images, BatchNorm in eval mode.

What the proxy is *not*: ImageNet accuracy, or even converged Fashion-MNIST accuracy. At 32x32 the stride-32
network ends on a 1x1 feature map, so large kernels in late stages see mostly padding; 80 steps (5 120
images, a tenth of an epoch) favour networks that train fast, not those that end best - the 19 networks of a
default search scored 0.63-0.74, where converged Fashion-MNIST models reach ~0.9. It is a cheap,
deterministic ranking signal whose correlation with full training is not established here; treat search
results accordingly.

Cost, measured on the 2-core development machine (torch 2.14 CPU, 2 threads, batch 64, ``channel_scale`` 0.5):
0.02 s (smallest network of the space) to 0.3 s (largest) per training step, MobileNetV2 0.08 s. With the
default :class:`ProxySettings` (80 steps, 1000 held-out images) one evaluation took 5.3-8.4 s, median 7.3 s,
over the 19 networks trained by a default :func:`codesign.search.run_search`; loading the data set adds ~2 s
once. Expect 2-4x longer while other jobs share the cores. Results are cached in memory per (network,
settings): a hardware-only change never retrains.

Only :func:`read_idx` and :func:`load_fashion_mnist` work without torch.
"""
from __future__ import annotations

import gzip
import math
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from codesign.space.nas import NetworkCandidate, NetworkSpace

__all__ = [
    "DEFAULT_DATA_DIR",
    "read_idx",
    "load_fashion_mnist",
    "ProxySettings",
    "ProxyResult",
    "ProxyEvaluator",
]

#: Where Debian's ``dataset-fashion-mnist`` package installs the files.
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
_ENV_DIR = "CODESIGN_FASHION_MNIST_DIR"
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _missing(path: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"Fashion-MNIST file not found: {path}. Install it with `apt-get install dataset-fashion-mnist` "
        f"(files land in {DEFAULT_DATA_DIR}), or point data_dir / ${_ENV_DIR} at a folder holding "
        f"{', '.join(_FILES['train'] + _FILES['test'])}."
    )


def read_idx(path: str | os.PathLike[str], *, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format), gzip-compressed if the name ends in ``.gz``.

    The header is two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions, then each
    dimension as a big-endian uint32. Raises FileNotFoundError naming the path if it is missing and
    ValueError naming the path on a bad magic number, an unexpected ``expected_ndim`` or a size mismatch.

    Returns an array of the stored shape, e.g. ``(60000, 28, 28)`` uint8 for training images.
    """
    p = Path(path)
    if not p.is_file():
        raise _missing(p)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rb") as fh:
        data = fh.read()
    if len(data) < 4:
        raise ValueError(f"{p}: file too short for an IDX header ({len(data)} bytes)")
    zero, code, ndim = int.from_bytes(data[0:2], "big"), data[2], data[3]
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(f"{p}: bad IDX magic number 0x{int.from_bytes(data[0:4], 'big'):08x}")
    if expected_ndim is not None and ndim != expected_ndim:
        raise ValueError(f"{p}: IDX file has {ndim} dimensions, expected {expected_ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{p}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[code])
    n = math.prod(shape) * dtype.itemsize
    if len(data) - header != n:
        raise ValueError(f"{p}: IDX payload has {len(data) - header} bytes, header shape {shape} needs {n}")
    arr = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    return Path(os.environ.get(_ENV_DIR) or DEFAULT_DATA_DIR)


def load_fashion_mnist(split: str = "train", data_dir: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST ``split`` ("train": 60 000 images, "test": 10 000) as ``(images, labels)``:
    images ``(N, 28, 28)`` uint8 (0 = background), labels ``(N,)`` uint8 in 0..9."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got split={split!r}")
    d = _data_dir(data_dir)
    img_name, lbl_name = _FILES[split]
    images = read_idx(d / img_name, expected_ndim=3)
    labels = read_idx(d / lbl_name, expected_ndim=1)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise ValueError(f"{d}: Fashion-MNIST files must hold uint8 data")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{d}: {images.shape[0]} images but {labels.shape[0]} labels in split {split!r}")
    if labels.size and int(labels.max()) > 9:
        raise ValueError(f"{d / lbl_name}: labels outside 0..9 (max {int(labels.max())})")
    return images, labels


@dataclass(frozen=True)
class ProxySettings:
    """Settings of the accuracy proxy (all part of the cache key).

    Attributes:
        steps: SGD steps (>= 1).
        batch_size: images per step.
        lr: peak learning rate.
        weight_decay: L2 weight decay.
        channel_scale: multiplier on every channel count of the candidate (> 0; 1.0 = full width).
        holdout: training images held out for evaluation (1 .. 59 999).
        eval_size: held-out images actually scored (1 .. holdout).
        seed: seed of initialisation and batch order.
        split_seed: seed of the train / held-out permutation.
        threads: torch intra-op threads (capped at the CPU count).
    """

    steps: int = 80
    batch_size: int = 64
    lr: float = 0.05
    weight_decay: float = 4e-5
    channel_scale: float = 0.5
    holdout: int = 10_000
    eval_size: int = 1_000
    seed: int = 0
    split_seed: int = 0
    threads: int = 2
    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"optimizer must be 'sgd' or 'adamw', got optimizer={self.optimizer!r}")
        for name in ("steps", "batch_size", "holdout", "eval_size", "threads"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {name}={v!r}")
        for name in ("seed", "split_seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name} must be a non-negative int, got {name}={v!r}")
        for name in ("lr", "channel_scale"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a positive number, got {name}={v!r}")
        if not (isinstance(self.weight_decay, (int, float)) and math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got weight_decay={self.weight_decay!r}")
        if self.holdout >= 60_000:
            raise ValueError(f"holdout must be < 60000, got holdout={self.holdout}")
        if self.eval_size > self.holdout:
            raise ValueError(f"eval_size must not exceed holdout={self.holdout}, got eval_size={self.eval_size}")

    def key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProxyResult:
    """One proxy evaluation.

    Attributes:
        accuracy: held-out top-1 accuracy, fraction in [0, 1].
        train_loss: mean cross-entropy (nats) over the last 10 % of steps.
        seconds: wall-clock seconds of the evaluation that produced it (build + train + score).
        params: parameters of the proxy network (not of the full-size candidate).
        steps: training steps taken.
        cached: True when returned from the cache instead of computed now.
    """

    accuracy: float
    train_loss: float
    seconds: float
    params: int
    steps: int
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Data:
    """Padded uint8 train / held-out arrays plus normalisation constants."""

    def __init__(self, data_dir: Path, holdout: int, split_seed: int) -> None:
        images, labels = load_fashion_mnist("train", data_dir)
        perm = np.random.default_rng(split_seed).permutation(images.shape[0])
        padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
        tr, ho = perm[: images.shape[0] - holdout], perm[images.shape[0] - holdout:]
        self.train_x, self.train_y = padded[tr], labels[tr].astype(np.int64)
        self.hold_x, self.hold_y = padded[ho], labels[ho].astype(np.int64)
        scaled = self.train_x.astype(np.float32) / 255.0
        self.mean = float(scaled.mean())
        self.std = float(scaled.std())


class ProxyEvaluator:
    """Cached accuracy proxy (see the module docstring for what it measures).

    Args:
        settings: :class:`ProxySettings` (default ``ProxySettings()``); keyword overrides may be given instead,
            e.g. ``ProxyEvaluator(steps=50)``.
        space: network space used to build candidates (default ``NetworkSpace()``).
        data_dir: folder with the Fashion-MNIST ``.gz`` files (default: ``$CODESIGN_FASHION_MNIST_DIR`` or
            :data:`DEFAULT_DATA_DIR`).

    The cache key is (the candidate's timm block strings, settings): two decision tuples that build the same
    network (e.g. width 0.75 and 1.0 both give 16 channels in stage 1) share one entry.
    """

    def __init__(
        self,
        settings: ProxySettings | None = None,
        *,
        space: NetworkSpace | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> None:
        if settings is not None and not isinstance(settings, ProxySettings):
            raise ValueError(f"settings must be a ProxySettings, got {settings!r}")
        base = settings or ProxySettings()
        if overrides:
            unknown = set(overrides) - {f.name for f in fields(ProxySettings)}
            if unknown:
                raise ValueError(f"unknown proxy setting(s): {sorted(unknown)}")
            base = ProxySettings(**{**base.to_dict(), **overrides})
        self.settings = base
        self.space = space if space is not None else NetworkSpace()
        self.data_dir = _data_dir(data_dir)
        self._data: _Data | None = None
        self._cache: dict[tuple[Any, ...], ProxyResult] = {}
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"ProxyEvaluator({self.settings!r}, cached={len(self._cache)})"

    # -- cache ---------------------------------------------------------------------------------------------
    def cache_key(self, arch: NetworkCandidate) -> tuple[Any, ...]:
        blocks = tuple(b for stage in self.space.to_block_strings(arch) for b in stage)
        return (blocks, self.settings.key())

    def cached(self, arch: NetworkCandidate) -> ProxyResult | None:
        """The cached result for ``arch`` under the current settings, or None."""
        return self._cache.get(self.cache_key(arch))

    def cache_state(self) -> list[dict[str, Any]]:
        """JSON-serialisable cache contents (for checkpoints)."""
        return [
            {"blocks": list(k[0]), "settings": list(k[1]), "result": r.to_dict()} for k, r in self._cache.items()
        ]

    def load_cache_state(self, entries: list[dict[str, Any]]) -> None:
        """Add entries produced by :meth:`cache_state` (entries for other settings are kept but unused)."""
        for e in entries:
            key = (tuple(e["blocks"]), tuple(e["settings"]))
            res = dict(e["result"])
            res["cached"] = False
            self._cache[key] = ProxyResult(**res)

    def __len__(self) -> int:
        return len(self._cache)

    # -- evaluation ----------------------------------------------------------------------------------------
    def data(self) -> _Data:
        if self._data is None:
            self._data = _Data(self.data_dir, self.settings.holdout, self.settings.split_seed)
        return self._data

    def evaluate(self, arch: NetworkCandidate) -> ProxyResult:
        """Held-out accuracy of ``arch`` after proxy training (cached per network and settings)."""
        key = self.cache_key(arch)
        hit = self._cache.get(key)
        if hit is not None:
            self.hits += 1
            return ProxyResult(**{**hit.to_dict(), "cached": True})
        self.misses += 1
        res = self._train(arch)
        self._cache[key] = res
        return res

    __call__ = evaluate

    def _train(self, arch: NetworkCandidate) -> ProxyResult:
        import torch
        import torch.nn.functional as F

        s = self.settings
        t0 = time.perf_counter()
        data = self.data()
        prev_threads = torch.get_num_threads()
        torch.set_num_threads(max(1, min(s.threads, os.cpu_count() or 1)))
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s.seed)
                model = self.space.build_model(
                    arch,
                    num_classes=10,
                    in_chans=1,
                    channel_scale=s.channel_scale,
                    num_features=max(8, int(round(1280 * s.channel_scale / 8)) * 8),
                )
                model = model.to(memory_format=torch.channels_last)
                params = int(sum(p.numel() for p in model.parameters()))
                decay, no_decay = [], []
                for p in model.parameters():
                    (no_decay if p.ndim <= 1 else decay).append(p)
                groups = [{"params": decay, "weight_decay": s.weight_decay},
                          {"params": no_decay, "weight_decay": 0.0}]
                if s.optimizer == "sgd":
                    opt = torch.optim.SGD(groups, lr=s.lr, momentum=0.9, nesterov=True)
                else:
                    opt = torch.optim.AdamW(groups, lr=s.lr)
                warm = max(1, int(0.05 * s.steps))

                def lr_at(step: int) -> float:
                    if step < warm:
                        return s.lr * (step + 1) / warm
                    t = (step - warm) / max(1, s.steps - warm)
                    return 0.5 * s.lr * (1.0 + math.cos(math.pi * t))

                rng = np.random.default_rng(s.seed)
                n = data.train_x.shape[0]
                order = rng.permutation(n)
                pos = 0
                tail: list[float] = []
                tail_len = max(1, s.steps // 10)
                model.train()
                for step in range(s.steps):
                    if pos + s.batch_size > n:
                        order = rng.permutation(n)
                        pos = 0
                    idx = order[pos: pos + s.batch_size]
                    pos += s.batch_size
                    x = torch.from_numpy(data.train_x[idx]).unsqueeze(1).float().div_(255.0)
                    x = ((x - data.mean) / data.std).contiguous(memory_format=torch.channels_last)
                    y = torch.from_numpy(data.train_y[idx])
                    for g in opt.param_groups:
                        g["lr"] = lr_at(step)
                    loss = F.cross_entropy(model(x), y)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    if step >= s.steps - tail_len:
                        tail.append(float(loss.detach()))
                model.eval()
                correct = 0
                with torch.no_grad():
                    for start in range(0, s.eval_size, 500):
                        stop = min(s.eval_size, start + 500)
                        x = torch.from_numpy(data.hold_x[start:stop]).unsqueeze(1).float().div_(255.0)
                        x = ((x - data.mean) / data.std).contiguous(memory_format=torch.channels_last)
                        pred = model(x).argmax(dim=1)
                        correct += int((pred == torch.from_numpy(data.hold_y[start:stop])).sum())
        finally:
            torch.set_num_threads(prev_threads)
        train_loss = float(np.mean(tail)) if tail else float("nan")
        return ProxyResult(
            accuracy=correct / s.eval_size,
            train_loss=train_loss,
            seconds=time.perf_counter() - t0,
            params=params,
            steps=s.steps,
        )

    def settings_dict(self) -> Mapping[str, Any]:
        return self.settings.to_dict()
