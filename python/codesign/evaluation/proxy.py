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
  initialisation and batch order, on one torch intra-op thread (restored afterwards; see *Same result on any
  machine* below).
* Result: top-1 accuracy (fraction) on the held-out images, BatchNorm in eval mode.

What the proxy is *not*: ImageNet accuracy, or even converged Fashion-MNIST accuracy. At 32x32 the stride-32
network ends on a 1x1 feature map, so large kernels in late stages see mostly padding; 80 steps (5 120
images, a tenth of an epoch) favour networks that train fast, not those that end best - the 19 networks of a
default search scored 0.63-0.74, where converged Fashion-MNIST models reach ~0.9. It is a cheap,
deterministic ranking signal whose correlation with full training is not established here; treat search
results accordingly.

Same result on any machine: training and scoring always run on one torch intra-op thread, whatever
``settings.threads``, ``torch.get_num_threads()``, ``OMP_NUM_THREADS`` or the CPU count, so one network and one
:class:`ProxySettings` give the same accuracy bit for bit (``tests/test_proxy.py`` compares 1 and 2 threads, and a
subprocess under another ``OMP_NUM_THREADS``). With more threads torch's CPU kernels split their reductions by
thread count: batch-norm statistics and their gradients (every BatchNorm in channels-last, and those on 1x1
feature maps in NCHW) and the weight gradient of convolution backward (oneDNN) sum in a thread-dependent order.
The last-bit differences grow over SGD steps: one network scored 0.7020 with 2 threads and 0.7360 with 1. One
thread is also the fast choice on a shared machine (a spinning OpenMP worker made a 2-thread training 6-15x
slower while another job held the second core); run candidates in parallel through the search's workers
instead. ``torch.use_deterministic_algorithms`` does not help here: it governs ops with atomics or
nondeterministic CUDA kernels, not the thread split of CPU reductions. Kernels chosen by the CPU's instruction
set (AVX2 vs AVX-512) may still differ between machine types; that is not covered.

Cost on one thread (``benchmarks/test_bench_proxy_threads.py``, default settings, other jobs on both cores): 19.8 s
for a sampled network and 21.0 s for MobileNetV2, against 392 s and 451 s with 2 threads in the same run. Earlier
figures, measured with 2 threads on a quieter machine (torch 2.14 CPU, batch 64, ``channel_scale`` 0.5):
0.02 s (smallest network of the space) to 0.3 s (largest) per training step, MobileNetV2 0.08 s. With the
default :class:`ProxySettings` (80 steps, 1000 held-out images) one evaluation took 5.3-8.4 s, median 7.3 s,
over the 19 networks trained by a default :func:`codesign.search.run_search`; loading the data set adds ~2 s
once. Expect 2-4x longer while other jobs share the cores. Results are cached in memory per (network,
settings): a hardware-only change never retrains. On the ``edgetpu`` network space (fused IBN blocks; 50
sampled networks, 1 thread, the machine shared with other jobs) one evaluation took 8-72 s, median 22.5 s.

How reliable it is (``benchmarks/test_bench_accuracy.py``, 50 ``edgetpu`` networks): retrained with another
``seed``, the proxy ranks the networks with Spearman 0.645 (Kendall 0.487) against itself; mean absolute
change of accuracy 0.020 (max 0.09) on an accuracy range of 0.60-0.76. Differences below a few points of
accuracy between two networks are noise.

Other data (same training recipe, :class:`ProxyEvaluator` ``data=``):

* :class:`FashionMNISTData` ``(resolution, in_chans)``: Fashion-MNIST adapted to a candidate's input: the
  padded 32x32 images resized (bilinear, antialiased, per batch) to ``resolution`` and repeated over
  ``in_chans`` channels. The default ``FashionMNISTData()`` is exactly the proxy described above.
* :class:`ImageFolderData` ``(root, resolution, classes, max_per_class, holdout_per_class, split_seed)``: any
  ImageFolder / ImageNet-layout folder (``root/train/<class>/*`` or ``root/<class>/*``), e.g. a 100-class
  ImageNet subset. Every image is decoded once (JPEG draft mode), its shorter side resized to ``resolution``
  and centre-cropped, and kept in memory as uint8 (``N x 3 x r x r`` bytes: 26 000 images at 64 px = 320 MB);
  ``holdout_per_class`` images per class are held out (:func:`codesign.evaluation.imagenet.scan_image_folder`),
  the held-out order is shuffled and the first ``eval_size`` are scored. Inputs are standardised per channel
  with the training split's statistics; training adds random horizontal flips. Corrupt images are skipped
  with a warning and counted (``ImageFolderData.skipped`` after loading). ``settings.holdout`` and
  ``settings.split_seed`` do not apply (the folder's own split does).

Disk cache: ``ProxyEvaluator(cache="proxy.sqlite")`` (or a :class:`codesign.evaluation.cache.ResultCache`)
also stores every result in SQLite keyed by the candidate's block strings, the settings and the data
description, shared safely by concurrent processes and later runs; the in-memory cache stays in front of it.

Only :func:`read_idx` and :func:`load_fashion_mnist` work without torch.
"""
from __future__ import annotations

import contextlib
import gzip
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from codesign.evaluation.cache import ResultCache

from codesign.space.nas import NetworkCandidate, NetworkSpace

__all__ = [
    "DEFAULT_DATA_DIR",
    "read_idx",
    "load_fashion_mnist",
    "ProxySettings",
    "ProxyResult",
    "ProxyEvaluator",
    "FashionMNISTData",
    "ImageFolderData",
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


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block and restore the previous count afterwards (also on an
    exception). Torch's CPU reductions split work by thread count, so this is what makes a training's floats
    independent of the machine (module docstring)."""
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


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
        threads: threads decoding the images of an :class:`ImageFolderData` (capped at the CPU count). Training
            always runs on one torch intra-op thread, so this does not change any result and is not part of
            :meth:`key`.
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
    threads: int = 1
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
        if self.channel_scale > 8:
            raise ValueError(f"channel_scale must be <= 8 (a multiplier on every channel count), "
                             f"got channel_scale={self.channel_scale!r}")
        if not (isinstance(self.weight_decay, (int, float)) and math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got weight_decay={self.weight_decay!r}")
        if self.holdout >= 60_000:
            raise ValueError(f"holdout must be < 60000, got holdout={self.holdout}")
        if self.eval_size > self.holdout:
            raise ValueError(f"eval_size must not exceed holdout={self.holdout}, got eval_size={self.eval_size}")

    def key(self) -> tuple[Any, ...]:
        """The settings that determine a result (every field but ``threads``), in field order."""
        return tuple(getattr(self, f.name) for f in fields(self) if f.name != "threads")

    def result_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without ``threads`` (the disk cache's key)."""
        return {k: v for k, v in self.to_dict().items() if k != "threads"}

    def with_epochs(self, epochs: float, train_images: int | None = None) -> "ProxySettings":
        """A copy training for ``epochs`` passes over ``train_images`` images (default: Fashion-MNIST's
        ``60000 - holdout``): ``steps = ceil(epochs * train_images / batch_size)``. E.g. one Fashion-MNIST epoch
        with the defaults is 782 steps."""
        n = 60_000 - self.holdout if train_images is None else train_images
        if not (isinstance(epochs, (int, float)) and not isinstance(epochs, bool) and epochs > 0):
            raise ValueError(f"epochs must be > 0, got epochs={epochs!r}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"train_images must be a positive int, got train_images={n!r}")
        steps = max(1, math.ceil(epochs * n / self.batch_size))
        return ProxySettings(**{**self.to_dict(), "steps": steps})

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
    """Train / held-out uint8 image arrays (``(N, H, W)`` grey or ``(N, C, H, W)``) with int64 labels and the
    normalisation constants (a float, or a ``(1, C, 1, 1)`` array per channel)."""

    train_x: np.ndarray
    train_y: np.ndarray
    hold_x: np.ndarray
    hold_y: np.ndarray
    mean: Any
    std: Any
    in_chans: int = 1
    num_classes: int = 10
    flip: bool = False
    skipped: int = 0
    resize: int | None = None

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

    def batch(self, x: np.ndarray, flip: np.ndarray | None = None) -> "torch.Tensor":
        """uint8 images -> standardised float32 ``(B, in_chans, H, W)`` channels-last tensor."""
        import torch

        t = torch.from_numpy(x)
        if t.ndim == 3:
            t = t.unsqueeze(1)
        t = t.float().div_(255.0)
        if flip is not None and flip.any():
            t[torch.from_numpy(flip)] = t[torch.from_numpy(flip)].flip(-1)
        if self.resize is not None and t.shape[-1] != self.resize:
            import torch.nn.functional as F

            t = F.interpolate(t, size=(self.resize, self.resize), mode="bilinear", antialias=True, align_corners=False)
        if isinstance(self.mean, float):
            t = (t - self.mean) / self.std
        else:
            t = (t - torch.from_numpy(self.mean)) / torch.from_numpy(self.std)
        if t.shape[1] != self.in_chans:
            t = t.expand(-1, self.in_chans, -1, -1)
        return t.contiguous(memory_format=torch.channels_last)


def _positive(name: str, v: Any, *, allow_none: bool = False, minimum: int = 1) -> None:
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {name}={v!r}")


@dataclass(frozen=True)
class FashionMNISTData:
    """Fashion-MNIST for the proxy, adapted to a candidate's input.

    Attributes:
        resolution: input height = width in px (32: the 28x28 images zero-padded, no interpolation; other
            values: the padded images resized bilinearly with antialiasing, batch by batch, and standardised
            with the statistics of the 32x32 training images).
        in_chans: input channels (the grey image repeated; 1 or 3 typically).
        data_dir: folder of the IDX files (None: the evaluator's ``data_dir``).
    """

    resolution: int = 32
    in_chans: int = 1
    data_dir: str | None = None

    def __post_init__(self) -> None:
        _positive("resolution", self.resolution, minimum=8)
        _positive("in_chans", self.in_chans)

    def key(self) -> tuple[Any, ...] | None:
        """Part of the proxy's cache key; None for the default proxy (so its keys stay as they always were)."""
        if (self.resolution, self.in_chans) == (32, 1):
            return None
        return ("fashion-mnist", self.resolution, self.in_chans)

    def describe(self) -> dict[str, Any]:
        return {"name": "fashion-mnist", "resolution": self.resolution, "in_chans": self.in_chans}

    def load(self, data_dir: Path, settings: "ProxySettings") -> _Data:
        d = _Data(Path(self.data_dir) if self.data_dir is not None else data_dir, settings.holdout,
                  settings.split_seed)
        d.in_chans = self.in_chans
        if self.resolution != 32:
            d.resize = self.resolution
        return d


@dataclass(frozen=True)
class ImageFolderData:
    """An ImageFolder / ImageNet-layout folder as proxy data (see the module docstring).

    Attributes:
        root: ``root/train/<class>/*`` (``root/val`` is ignored) or ``root/<class>/*``.
        resolution: training and evaluation resolution in px (shorter side resized, then centre-cropped).
        classes: None (all), an int n (n classes chosen with ``split_seed``) or class-folder names.
        max_per_class: cap on training images per class.
        holdout_per_class: images per class held out for scoring.
        split_seed: seed of class choice and per-class split.
    """

    root: str
    resolution: int = 64
    classes: int | tuple[str, ...] | None = None
    max_per_class: int | None = None
    holdout_per_class: int = 10
    split_seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", str(self.root))
        if isinstance(self.classes, (list, tuple)):
            object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        _positive("resolution", self.resolution, minimum=8)
        _positive("max_per_class", self.max_per_class, allow_none=True)
        _positive("holdout_per_class", self.holdout_per_class)

    def key(self) -> tuple[Any, ...]:
        return ("image-folder", str(Path(self.root).resolve()), self.resolution, self.classes, self.max_per_class,
                self.holdout_per_class, self.split_seed)

    def describe(self) -> dict[str, Any]:
        return {"name": "image-folder", "root": str(Path(self.root).resolve()), "resolution": self.resolution,
                "classes": list(self.classes) if isinstance(self.classes, tuple) else self.classes,
                "max_per_class": self.max_per_class, "holdout_per_class": self.holdout_per_class,
                "split_seed": self.split_seed}

    def load(self, data_dir: Path, settings: "ProxySettings") -> _Data:
        from concurrent.futures import ThreadPoolExecutor
        import warnings

        from PIL import Image

        from .imagenet import find_split_dirs, load_image, scan_image_folder

        train_dir, _ = find_split_dirs(self.root)
        split = scan_image_folder(train_dir, classes=self.classes, max_per_class=self.max_per_class,
                                  holdout_per_class=self.holdout_per_class, split_seed=self.split_seed)
        r = self.resolution

        def decode(path: str) -> np.ndarray | None:
            try:
                img = load_image(path, draft=r)
            except (OSError, ValueError, Image.DecompressionBombError):
                return None
            w, h = img.size
            s_ = r / min(w, h)
            nw, nh = max(r, round(w * s_)), max(r, round(h * s_))
            img = img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=None)
            left, top = (nw - r) // 2, (nh - r) // 2
            img = img.crop((left, top, left + r, top + r))
            return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)

        def load_all(samples: tuple[tuple[str, int], ...]) -> tuple[np.ndarray, np.ndarray, list[str]]:
            with ThreadPoolExecutor(max_workers=max(1, min(settings.threads, os.cpu_count() or 1))) as ex:
                arrays = list(ex.map(decode, [p for p, _ in samples]))
            bad = [p for (p, _), a in zip(samples, arrays) if a is None]
            keep = [(a, y) for a, (_, y) in zip(arrays, samples) if a is not None]
            x = np.stack([a for a, _ in keep]) if keep else np.zeros((0, 3, r, r), np.uint8)
            return x, np.array([y for _, y in keep], dtype=np.int64), bad

        d = _Data.__new__(_Data)
        d.train_x, d.train_y, bad_tr = load_all(split.train)
        d.hold_x, d.hold_y, bad_ho = load_all(split.heldout)
        for p in bad_tr + bad_ho:
            warnings.warn(f"skipping corrupt image {p}", RuntimeWarning, stacklevel=2)
        d.skipped = len(bad_tr) + len(bad_ho)
        if d.train_x.shape[0] == 0 or d.hold_x.shape[0] == 0:
            raise ValueError(f"{train_dir}: no decodable image in the {'training' if not d.train_x.shape[0] else 'held-out'} split")
        scaled = d.train_x.astype(np.float32) / 255.0
        d.mean = scaled.mean(axis=(0, 2, 3)).reshape(1, 3, 1, 1).astype(np.float32)
        d.std = scaled.std(axis=(0, 2, 3)).reshape(1, 3, 1, 1).astype(np.float32).clip(min=1e-3)
        d.in_chans, d.num_classes, d.flip = 3, split.num_classes, True
        return d


class ProxyEvaluator:
    """Cached accuracy proxy (see the module docstring for what it measures).

    Args:
        settings: :class:`ProxySettings` (default ``ProxySettings()``); keyword overrides may be given instead,
            e.g. ``ProxyEvaluator(steps=50)``.
        space: network space used to build candidates (default ``NetworkSpace()``).
        data_dir: folder with the Fashion-MNIST ``.gz`` files (default: ``$CODESIGN_FASHION_MNIST_DIR`` or
            :data:`DEFAULT_DATA_DIR`).
        data: the proxy data: None (``FashionMNISTData()``, the default proxy), a :class:`FashionMNISTData`, an
            :class:`ImageFolderData`, or a folder path (read as ``ImageFolderData(path)``).
        cache: a :class:`~codesign.evaluation.cache.ResultCache` or a path to one (SQLite): results are also
            looked up in and written to it (kind ``"proxy"``), so concurrent searches and later runs share them.

    The cache key is (the candidate's timm block strings, settings[, data]): two decision tuples that build the
    same network (e.g. width 0.75 and 1.0 both give 16 channels in stage 1) share one entry. The data part is
    left out for the default Fashion-MNIST proxy.
    """

    def __init__(
        self,
        settings: ProxySettings | None = None,
        *,
        space: NetworkSpace | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        data: "FashionMNISTData | ImageFolderData | str | os.PathLike[str] | None" = None,
        cache: ResultCache | str | os.PathLike[str] | None = None,
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
        if data is None:
            data = FashionMNISTData()
        elif isinstance(data, (str, os.PathLike)):
            data = ImageFolderData(str(data))
        elif not isinstance(data, (FashionMNISTData, ImageFolderData)):
            raise ValueError(f"data must be a FashionMNISTData, an ImageFolderData or a folder path, got {data!r}")
        self.data_spec = data
        self.disk_cache = ResultCache(cache) if isinstance(cache, (str, os.PathLike)) else cache
        if self.disk_cache is not None and not isinstance(self.disk_cache, ResultCache):
            raise ValueError(f"cache must be a ResultCache or a path, got {cache!r}")
        self._data: _Data | None = None
        self._cache: dict[tuple[Any, ...], ProxyResult] = {}
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0

    def __repr__(self) -> str:
        return f"ProxyEvaluator({self.settings!r}, cached={len(self._cache)})"

    # -- cache ---------------------------------------------------------------------------------------------
    def cache_key(self, arch: NetworkCandidate) -> tuple[Any, ...]:
        blocks = tuple(b for stage in self.space.to_block_strings(arch) for b in stage)
        extra = self.data_spec.key()
        return (blocks, self.settings.key()) if extra is None else (blocks, self.settings.key(), extra)

    def disk_key(self, arch: NetworkCandidate) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(candidate, settings)`` under which results go to the SQLite cache: the block strings, and the
        settings plus the data description."""
        blocks = [b for stage in self.space.to_block_strings(arch) for b in stage]
        return {"blocks": blocks}, {**self.settings.result_dict(), "data": self.data_spec.describe()}

    def cached(self, arch: NetworkCandidate) -> ProxyResult | None:
        """The cached result for ``arch`` under the current settings, or None."""
        return self._cache.get(self.cache_key(arch))

    def cache_state(self) -> list[dict[str, Any]]:
        """JSON-serialisable cache contents (for checkpoints)."""
        out = []
        for k, r in self._cache.items():
            e: dict[str, Any] = {"blocks": list(k[0]), "settings": list(k[1]), "result": r.to_dict()}
            if len(k) > 2:
                e["data"] = list(k[2])
            out.append(e)
        return out

    def load_cache_state(self, entries: list[dict[str, Any]]) -> None:
        """Add entries produced by :meth:`cache_state` (entries for other settings are kept but unused)."""
        for e in entries:
            key: tuple[Any, ...] = (tuple(e["blocks"]), tuple(e["settings"]))
            if e.get("data") is not None:
                key = key + (_tuplify(e["data"]),)
            res = dict(e["result"])
            res["cached"] = False
            self._cache[key] = ProxyResult(**res)

    def __len__(self) -> int:
        return len(self._cache)

    # -- evaluation ----------------------------------------------------------------------------------------
    def data(self) -> _Data:
        """The loaded data (loaded on first use)."""
        if self._data is None:
            self._data = self.data_spec.load(self.data_dir, self.settings)
            if self.settings.eval_size > self._data.hold_x.shape[0] and isinstance(self.data_spec, FashionMNISTData):
                raise ValueError(f"eval_size={self.settings.eval_size} exceeds the {self._data.hold_x.shape[0]} "
                                 f"held-out images")
        return self._data

    @property
    def skipped_images(self) -> int:
        """Corrupt images skipped while loading the data (0 before loading)."""
        return 0 if self._data is None else int(self._data.skipped)

    def evaluate(self, arch: NetworkCandidate) -> ProxyResult:
        """Held-out accuracy of ``arch`` after proxy training (cached per network and settings, in memory and,
        with ``cache=``, on disk)."""
        key = self.cache_key(arch)
        hit = self._cache.get(key)
        if hit is not None:
            self.hits += 1
            return ProxyResult(**{**hit.to_dict(), "cached": True})
        if self.disk_cache is not None:
            cand, sett = self.disk_key(arch)
            stored = self.disk_cache.get(cand, sett, kind="proxy")
            if stored is not None:
                res = ProxyResult(**{k: v for k, v in stored.items() if k in _RESULT_FIELDS and k != "cached"})
                self._cache[key] = res
                self.hits += 1
                self.disk_hits += 1
                return ProxyResult(**{**res.to_dict(), "cached": True})
        self.misses += 1
        res = self._train(arch)
        if self.disk_cache is not None:
            cand, sett = self.disk_key(arch)
            self.disk_cache.put(cand, sett, {k: v for k, v in res.to_dict().items() if k != "cached"}, kind="proxy")
            stored = self.disk_cache.get(cand, sett, kind="proxy")
            if stored is not None:  # another process stored it first: agree on its result
                res = ProxyResult(**{k: v for k, v in stored.items() if k in _RESULT_FIELDS and k != "cached"})
        self._cache[key] = res
        return res

    __call__ = evaluate

    def _train(self, arch: NetworkCandidate) -> ProxyResult:
        import torch
        import torch.nn.functional as F

        s = self.settings
        t0 = time.perf_counter()
        data = self.data()
        with one_torch_thread():
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s.seed)
                model = _build_proxy_model(self.space, arch, s, num_classes=data.num_classes,
                                           in_chans=data.in_chans)
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
                flip_rng = np.random.default_rng([s.seed, 1]) if data.flip else None
                n = data.train_x.shape[0]
                if n < s.batch_size:
                    raise ValueError(f"batch_size={s.batch_size} exceeds the {n} training images of the proxy data")
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
                    flips = flip_rng.random(len(idx)) < 0.5 if flip_rng is not None else None
                    x = data.batch(data.train_x[idx], flips)
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
                n_eval = min(s.eval_size, data.hold_x.shape[0])
                with torch.no_grad():
                    for start in range(0, n_eval, 500):
                        stop = min(n_eval, start + 500)
                        x = data.batch(data.hold_x[start:stop])
                        pred = model(x).argmax(dim=1)
                        correct += int((pred == torch.from_numpy(data.hold_y[start:stop])).sum())
        train_loss = float(np.mean(tail)) if tail else float("nan")
        return ProxyResult(
            accuracy=correct / n_eval,
            train_loss=train_loss,
            seconds=time.perf_counter() - t0,
            params=params,
            steps=s.steps,
        )

    def settings_dict(self) -> Mapping[str, Any]:
        return self.settings.to_dict()


_RESULT_FIELDS = {f.name for f in fields(ProxyResult)}


def _tuplify(v: Any) -> Any:
    """JSON lists back to (nested) tuples, so keys read from a checkpoint are hashable and equal the originals."""
    return tuple(_tuplify(x) for x in v) if isinstance(v, (list, tuple)) else v


def _build_proxy_model(space: Any, arch: Any, s: ProxySettings, *, num_classes: int, in_chans: int) -> Any:
    """The proxy network: ``space.build_model`` at ``channel_scale`` with the head scaled too (when the space's
    ``build_model`` takes ``num_features``)."""
    import inspect

    kwargs: dict[str, Any] = {"num_classes": num_classes, "in_chans": in_chans, "channel_scale": s.channel_scale}
    try:
        accepts = inspect.signature(space.build_model).parameters
    except (TypeError, ValueError):  # pragma: no cover
        accepts = {}
    if "num_features" in accepts:
        kwargs["num_features"] = max(8, int(round(1280 * s.channel_scale / 8)) * 8)
    return space.build_model(arch, **kwargs)
