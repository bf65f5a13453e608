"""Training and evaluation of image classifiers as the field trains MobileNet/EfficientNet-class models.

The recipe (the pieces are timm's and torch's, as in timm's ``train.py``):

* optimizer: ``"sgd"`` (SGD, Nesterov momentum 0.9) or ``"rmsprop"`` (timm's ``RMSpropTF``: TensorFlow-style
  RMSProp, decay 0.9, momentum 0.9, eps 1e-3, as used for MnasNet and EfficientNet, Tan & Le 2019), built by
  ``timm.optim.create_optimizer_v2`` so that weight decay skips every 1-d parameter (BatchNorm scales and
  shifts, biases);
* learning rate: ``lr`` (default: the linear scaling rule of Goyal et al. 2017, ``base * global_batch / 256``
  with base 0.1 for SGD and 0.016 for RMSProp), linear warm-up from ``warmup_lr`` over ``warmup_epochs`` then
  cosine decay to ``min_lr`` (Loshchilov & Hutter 2017), updated every step (``timm.scheduler.CosineLRScheduler``);
* loss: cross-entropy with label smoothing (Szegedy et al. 2016; 0.1 by default);
* optional EMA of the weights (``timm.utils.ModelEmaV3``, decay ``ema_decay``, e.g. 0.9998), evaluated
  alongside the raw weights;
* mixed precision on CUDA (``torch.autocast``, bfloat16 by default; float16 with a ``GradScaler``); float32 on CPU;
* top-1 and top-5 accuracy on the evaluation set after every epoch;
* multi-GPU data parallelism under ``torchrun`` (``DistributedDataParallel``, NCCL on GPUs, gloo on CPUs; one
  process per device, ``batch_size`` per process); a single process otherwise;
* a checkpoint (``out_dir/last.pt``: model, optimizer, grad scaler, EMA, epoch, update count, history; its SHA-256
  in ``out_dir/manifest.json``, checked on resume and by :func:`load_checkpoint`) written
  atomically after every epoch, and exact resume: every epoch reseeds torch, numpy and Python's ``random`` and
  the data order from ``(seed, epoch, rank)``, so an interrupted run resumed from its checkpoint ends with the
  same weights as an uninterrupted one (bit-identical on CPU with the same thread count);
* a rich progress bar with images/s, loss and learning rate (rank 0 only), and ``out_dir/metrics.jsonl``.

Units: accuracies are fractions in [0, 1]; losses are mean cross-entropy in nats; times in seconds;
throughput in images per second summed over processes.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset

from ..runlock import holds_run_lock
from . import checkpoint_manifest
from .imagenet import SkipCounter, collate_skip

__all__ = [
    "TrainSettings",
    "EpochRecord",
    "TrainResult",
    "EvalResult",
    "DistInfo",
    "topk_correct",
    "accuracy",
    "init_distributed",
    "build_network",
    "evaluate_classifier",
    "train_classifier",
    "load_checkpoint",
    "load_weights",
    "train_network",
    "evaluate_network",
]

_BASE_LR = {"sgd": 0.1, "rmsprop": 0.016}
_CKPT_VERSION = 1
#: settings that may change between an interrupted run and its resumption
_RESUMABLE_CHANGES = ("epochs", "workers", "log_every")


# -- metrics -------------------------------------------------------------------------------------------------------
def topk_correct(logits: torch.Tensor, target: torch.Tensor, ks: Sequence[int] = (1, 5)) -> list[int]:
    """Number of rows of ``logits`` (shape ``(N, classes)``) whose ``target`` (shape ``(N,)``, int class
    indices) is among the ``k`` highest logits, for each ``k`` in ``ks``. ``k`` above the number of classes
    counts every row as correct (timm's convention). Ties are broken by ``torch.topk``."""
    if logits.ndim != 2 or target.ndim != 1 or logits.shape[0] != target.shape[0]:
        raise ValueError(f"logits must be (N, classes) and target (N,), got {tuple(logits.shape)} and "
                         f"{tuple(target.shape)}")
    if not ks or any(k < 1 for k in ks):
        raise ValueError(f"ks must be positive ints, got ks={tuple(ks)!r}")
    if logits.shape[0] == 0:
        return [0 for _ in ks]
    kmax = min(max(ks), logits.shape[1])
    top = logits.topk(kmax, dim=1).indices  # (N, kmax), best first
    hit = top.eq(target.view(-1, 1))
    return [int(hit[:, : min(k, kmax)].any(dim=1).sum()) for k in ks]


def accuracy(logits: torch.Tensor, target: torch.Tensor, ks: Sequence[int] = (1, 5)) -> list[float]:
    """Top-k accuracies (fractions in [0, 1]) for each ``k`` in ``ks``; see :func:`topk_correct`."""
    n = int(target.shape[0])
    if n == 0:
        raise ValueError("accuracy of an empty batch")
    return [c / n for c in topk_correct(logits, target, ks)]


# -- settings and results ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainSettings:
    """Training hyper-parameters (all stored in checkpoints; see the module docstring for the recipe).

    Attributes:
        epochs: passes over the training set (>= 1).
        batch_size: images per step per process.
        optimizer: "sgd" (Nesterov) or "rmsprop" (TF-style).
        lr: peak learning rate; None: ``base * batch_size * world_size / 256`` (base 0.1 SGD, 0.016 RMSProp).
        momentum: optimizer momentum.
        weight_decay: L2 decay of conv / linear weights (1-d parameters are never decayed).
        warmup_epochs: linear warm-up length in epochs (may be fractional; 0 = none).
        warmup_lr: learning rate at the first step of warm-up.
        min_lr: learning rate at the end of the cosine decay.
        label_smoothing: cross-entropy label smoothing in [0, 1).
        ema_decay: decay of the weight EMA (None = no EMA).
        amp: mixed precision on CUDA (ignored on CPU).
        amp_dtype: "bfloat16" or "float16" (float16 uses a GradScaler).
        grad_clip: clip the global gradient norm to this value (None = no clipping).
        seed: seed of initialisation (when the caller seeds it), data order and augmentation.
        workers: DataLoader worker processes per training process (0 = load in the main process).
        eval_batch_size: evaluation batch size (None = 2 x batch_size).
        channels_last: run in channels-last memory format.
        log_every: progress-bar refresh interval in steps.
    """

    epochs: int = 1
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 4e-5
    warmup_epochs: float = 0.0
    warmup_lr: float = 1e-6
    min_lr: float = 0.0
    label_smoothing: float = 0.1
    ema_decay: float | None = None
    amp: bool = True
    amp_dtype: str = "bfloat16"
    grad_clip: float | None = None
    seed: int = 0
    workers: int = 2
    eval_batch_size: int | None = None
    channels_last: bool = True
    log_every: int = 10

    def __post_init__(self) -> None:
        def pos_int(name: str, v: Any, minimum: int = 1) -> None:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
                raise ValueError(f"{name} must be an int >= {minimum}, got {name}={v!r}")

        pos_int("epochs", self.epochs)
        pos_int("batch_size", self.batch_size)
        pos_int("log_every", self.log_every)
        pos_int("seed", self.seed, 0)
        pos_int("workers", self.workers, 0)
        if self.eval_batch_size is not None:
            pos_int("eval_batch_size", self.eval_batch_size)
        if self.optimizer not in _BASE_LR:
            raise ValueError(f"optimizer must be 'sgd' or 'rmsprop', got optimizer={self.optimizer!r}")
        if self.amp_dtype not in ("bfloat16", "float16"):
            raise ValueError(f"amp_dtype must be 'bfloat16' or 'float16', got amp_dtype={self.amp_dtype!r}")

        def num(name: str, v: Any, lo: float, hi: float = math.inf, lo_open: bool = False) -> None:
            ok = isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and math.isfinite(v)
            if ok:
                ok = (v > lo if lo_open else v >= lo) and v < hi
            if not ok:
                raise ValueError(f"{name} must be a finite number {'>' if lo_open else '>='} {lo}"
                                 f"{'' if hi == math.inf else f' and < {hi}'}, got {name}={v!r}")

        if self.lr is not None:
            num("lr", self.lr, 0.0, lo_open=True)
        num("momentum", self.momentum, 0.0, 1.0)
        num("weight_decay", self.weight_decay, 0.0)
        num("warmup_epochs", self.warmup_epochs, 0.0)
        num("warmup_lr", self.warmup_lr, 0.0)
        num("min_lr", self.min_lr, 0.0)
        num("label_smoothing", self.label_smoothing, 0.0, 1.0)
        if self.ema_decay is not None:
            num("ema_decay", self.ema_decay, 0.0, 1.0, lo_open=True)
        if self.grad_clip is not None:
            num("grad_clip", self.grad_clip, 0.0, lo_open=True)

    def peak_lr(self, world_size: int = 1) -> float:
        """The peak learning rate for ``world_size`` processes (``lr``, or the linear scaling rule)."""
        if self.lr is not None:
            return float(self.lr)
        return _BASE_LR[self.optimizer] * self.batch_size * world_size / 256.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EvalResult:
    """Accuracy of a classifier on an evaluation set.

    Attributes:
        top1, top5: fractions of images whose label is the highest / among the 5 highest logits.
        loss: mean cross-entropy (nats, no label smoothing).
        images: images scored (corrupt ones excluded).
        skipped: corrupt images skipped.
        seconds: wall-clock time of the pass.
        images_per_s: ``images / seconds`` (all processes).
    """

    top1: float
    top5: float
    loss: float
    images: int
    skipped: int
    seconds: float
    images_per_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of :func:`train_classifier` (epochs count from 1).

    ``train_loss`` is the mean smoothed training loss (nats); ``lr`` the learning rate after the last step;
    ``top1``/``top5``/``eval_loss`` are on the evaluation set with the raw weights, ``ema_top1``/``ema_top5``
    with the EMA weights (None without EMA); ``images_per_s`` is training throughput (all processes, data
    loading included); ``seconds`` the epoch's wall time including evaluation.
    """

    epoch: int
    train_loss: float
    lr: float
    top1: float | None
    top5: float | None
    eval_loss: float | None
    ema_top1: float | None
    ema_top5: float | None
    train_images: int
    images_per_s: float
    seconds: float
    skipped: int


@dataclass
class TrainResult:
    """Outcome of :func:`train_classifier`.

    Attributes:
        history: one :class:`EpochRecord` per completed epoch (including epochs before a resume).
        top1, top5: last epoch's evaluation accuracy (raw weights), None without an evaluation set.
        ema_top1, ema_top5: same for the EMA weights (None without EMA).
        best_top1: best ``top1`` over the history (EMA included when present).
        params: parameters of the model.
        seconds: wall time of this call.
        images_per_s: mean training throughput of the epochs run in this call (0 if none ran).
        resumed_from: completed epochs found in the checkpoint (0 for a fresh run).
        skipped: corrupt images skipped in this call.
        checkpoint: path of ``last.pt`` (None without ``out_dir``).
    """

    history: list[EpochRecord]
    top1: float | None
    top5: float | None
    ema_top1: float | None
    ema_top5: float | None
    best_top1: float | None
    params: int
    seconds: float
    images_per_s: float
    resumed_from: int
    skipped: int
    checkpoint: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["checkpoint"] = str(self.checkpoint) if self.checkpoint is not None else None
        return d


# -- distributed ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DistInfo:
    """Process placement: ``rank`` of ``world_size`` processes, ``local_rank`` on this node, the ``device``,
    and whether this call initialised the process group (and so should destroy it)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    initialized_here: bool = False

    @property
    def distributed(self) -> bool:
        return self.world_size > 1 or torch.distributed.is_available() and torch.distributed.is_initialized()

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def check_device(device: str | torch.device | None) -> torch.device | None:
    """``device`` as a torch.device (None stays None), refused with a ValueError naming it when it is not cpu,
    cuda or cuda:N, or when that GPU is not there (``torch.cuda.is_available()``, ``torch.cuda.device_count()``)."""
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"--device {str(device)[:40]!r}: not a device (cpu, cuda or cuda:N)") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {str(device)[:40]!r}: training and evaluation run on cpu or cuda (cuda:N), "
                         f"not {dev.type}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device}: no CUDA GPU is available to this torch "
                             f"({torch.__version__}); use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"--device {device}: there are {torch.cuda.device_count()} CUDA GPU(s) "
                             f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    return dev


def init_distributed(device: str | torch.device | None = None) -> DistInfo:
    """Join the process group ``torchrun`` describes (env ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``,
    ``MASTER_ADDR``, ``MASTER_PORT``), or run as one process when ``WORLD_SIZE`` is unset.

    The backend is NCCL when CUDA is available (device ``cuda:LOCAL_RANK``), gloo otherwise (CPU). ``device``
    forces the device (e.g. "cpu"). An already-initialised group is reused.
    """
    dev = check_device(device)
    env_world = int(os.environ.get("WORLD_SIZE", "1"))
    use_dist = env_world > 1 or "RANK" in os.environ and "MASTER_ADDR" in os.environ
    if not use_dist and not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        if dev is None:
            dev = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
        return DistInfo(device=dev)
    if not torch.distributed.is_available():  # pragma: no cover
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if dev is None:
        dev = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    here = False
    if not torch.distributed.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        torch.distributed.init_process_group(backend=backend)
        here = True
    return DistInfo(torch.distributed.get_rank(), torch.distributed.get_world_size(), local_rank, dev, here)


def _all_reduce(values: Sequence[float], dist: DistInfo) -> list[float]:
    if not dist.distributed:
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64,
                     device=dist.device if dist.device.type == "cuda" else "cpu")
    torch.distributed.all_reduce(t)
    return t.tolist()


# -- networks ------------------------------------------------------------------------------------------------------
def build_network(spec: Any, *, num_classes: int, in_chans: int = 3, space: Any = None,
                  drop_rate: float = 0.0, act: str = "relu6") -> torch.nn.Module:
    """A classifier from ``spec``, with random initial weights (nothing is downloaded).

    ``spec`` is one of: a timm model name (``"efficientnet_es"``, ``"mobilenetv2_100"``, ...); a search
    candidate's timm block strings, one per stage, as a list or one string separated by spaces (e.g. the
    ``blocks`` column of the search's ``pareto.csv``: ``"ds_r1_k3_s1_c16 ir_r2_k3_s2_e6_c24 ..."``), built with
    the spaces' stem (3x3 conv, 32 channels), head (1x1 conv, 1280 channels), BatchNorm and activation ``act``
    ("relu6": the MobileNetV2-style space, "relu": the edgetpu space, "swish", "hswish"; a block's own
    ``_n..`` token overrides it); or a candidate object of ``space`` (built by ``space.build_model``).
    Raises ValueError naming an unknown or malformed spec.
    """
    import timm

    if space is not None and not isinstance(spec, (str, list, tuple)):
        return space.build_model(spec, num_classes=num_classes, in_chans=in_chans)
    blocks: list[str] | None = None
    if isinstance(spec, (list, tuple)):
        blocks = [str(b) for b in spec]
    elif isinstance(spec, str) and ("_r" in spec and "_k" in spec and "_c" in spec):
        blocks = spec.replace(";", " ").replace(",", " ").split()
    if blocks is not None:
        acts = {"relu": "ReLU", "relu6": "ReLU6", "swish": "SiLU", "hswish": "Hardswish"}
        if act not in acts:
            raise ValueError(f"act must be one of {sorted(acts)}, got act={act!r}")
        try:
            from codesign.space.blocks import NetworkDef
        except ImportError:  # pragma: no cover - older trees without codesign.space.blocks
            NetworkDef = None
        try:
            if NetworkDef is not None:
                nd = NetworkDef(tuple((b,) for b in blocks), stem_size=32, num_features=1280, act=act)
                return nd.build_model(num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate)
            import torch.nn as nn
            from timm.models._efficientnet_builder import decode_arch_def
            from timm.models.efficientnet import EfficientNet

            return EfficientNet(decode_arch_def([[b] for b in blocks]), num_classes=num_classes, in_chans=in_chans,
                                num_features=1280, stem_size=32, act_layer=getattr(nn, acts[act]),
                                drop_rate=drop_rate)
        except (ValueError, AssertionError, KeyError, IndexError) as exc:
            raise ValueError(f"network {' '.join(blocks)!r}: not valid timm block strings ({exc})") from None
    if not isinstance(spec, str):
        raise ValueError(f"network must be a timm name, block strings or a candidate, got {spec!r}")
    try:
        return timm.create_model(spec, pretrained=False, num_classes=num_classes, in_chans=in_chans,
                                 drop_rate=drop_rate)
    except RuntimeError as exc:
        if "Unknown model" in str(exc):
            raise ValueError(f"network {spec!r}: unknown timm model") from None
        raise


# -- loops ---------------------------------------------------------------------------------------------------------
class _NullProgress:
    def add_task(self, *a: Any, **k: Any) -> int:
        return 0

    def update(self, *a: Any, **k: Any) -> None:
        pass

    def remove_task(self, *a: Any, **k: Any) -> None:
        pass


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield _NullProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    prog = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[ips]:>7.1f} img/s"), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=False,
    )
    with prog:
        yield prog


def _seed_everything(seed: int, epoch: int, rank: int) -> torch.Generator:
    s = int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)
    return torch.Generator().manual_seed(s)


def _amp(device: torch.device, settings: TrainSettings) -> tuple[bool, torch.dtype]:
    use = bool(settings.amp) and device.type == "cuda"
    dtype = torch.bfloat16 if settings.amp_dtype == "bfloat16" else torch.float16
    return use, dtype


def _to_device(x: torch.Tensor, y: torch.Tensor, device: torch.device, channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    nb = device.type == "cuda"
    x = x.to(device, non_blocking=nb)
    if channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=nb)


def evaluate_classifier(
    model: torch.nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 128,
    workers: int = 2,
    device: str | torch.device | None = None,
    amp: bool = True,
    channels_last: bool = True,
    progress: bool = False,
    dist: DistInfo | None = None,
    skips: SkipCounter | None = None,
    description: str = "eval",
) -> EvalResult:
    """Top-1 / top-5 accuracy and loss of ``model`` (eval mode) on ``dataset`` (an :class:`ImageDataset` or any
    dataset of ``(image (C, H, W), label, path)`` items; corrupt items as ``(None, label, path)``).

    Under torch.distributed each process scores ``dataset[rank::world_size]`` and the counts are summed, so
    every image is scored exactly once. ``amp`` applies on CUDA only (bfloat16 autocast). The model is moved
    to ``device`` (default: where its parameters are, or ``dist.device``).
    """
    dist = dist or DistInfo(device=check_device(device) if device is not None else
                            (next(model.parameters()).device if any(True for _ in model.parameters()) else torch.device("cpu")))
    dev = dist.device if device is None else check_device(device)
    model.to(dev)
    part: Dataset = Subset(dataset, range(dist.rank, len(dataset), dist.world_size)) if dist.world_size > 1 else dataset
    loader = DataLoader(part, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate_skip,
                        pin_memory=dev.type == "cuda", persistent_workers=False)
    skips = skips if skips is not None else SkipCounter()
    use_amp = amp and dev.type == "cuda"
    was_training = model.training
    model.eval()
    c1 = c5 = n = 0
    loss_sum = 0.0
    skipped = 0
    t0 = time.perf_counter()
    with _progress(progress and dist.is_main) as prog, torch.no_grad():
        task = prog.add_task(description, total=len(loader), ips=0.0, info="")
        for x, y, bad in loader:
            skips.add(bad)
            skipped += len(bad)
            if x.numel() == 0:
                prog.update(task, advance=1)
                continue
            x, y = _to_device(x, y, dev, channels_last)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_amp):
                out = model(x)
            out = out.float()
            loss_sum += float(F.cross_entropy(out, y, reduction="sum"))
            a, b = topk_correct(out, y, (1, 5))
            c1, c5, n = c1 + a, c5 + b, n + int(y.shape[0])
            prog.update(task, advance=1, ips=n / max(1e-9, time.perf_counter() - t0))
    model.train(was_training)
    c1, c5, n, loss_sum, skipped = _all_reduce([c1, c5, n, loss_sum, skipped], dist)
    secs = time.perf_counter() - t0
    if n == 0:
        raise ValueError(f"no image could be scored ({int(skipped)} corrupt, {len(dataset)} in the evaluation set)")
    return EvalResult(top1=c1 / n, top5=c5 / n, loss=loss_sum / n, images=int(n), skipped=int(skipped),
                      seconds=secs, images_per_s=n / max(secs, 1e-9))


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`train_classifier` (``last.pt``), checked against the SHA-256 in the
    ``manifest.json`` beside it when there is one. Raises FileNotFoundError or ValueError naming the path."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    checkpoint_manifest.verify(p)
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)  # tensors and plain containers only
    except Exception as exc:
        raise ValueError(f"{p}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        # a bare state_dict
        if isinstance(ckpt, dict) and ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
            return {"model": ckpt}
        raise ValueError(f"{p}: not a codesign checkpoint (no 'model' entry)")
    return ckpt


def load_weights(model: torch.nn.Module, path: str | os.PathLike[str], *, ema: bool = True) -> dict[str, Any]:
    """Load a checkpoint's weights into ``model`` (the EMA weights when present and ``ema``); returns the
    checkpoint dict. Raises ValueError naming the path when the weights do not fit the model."""
    ckpt = load_checkpoint(path)
    state = ckpt.get("ema") if ema and ckpt.get("ema") is not None else ckpt["model"]
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(f"{path}: weights do not fit this network ({first})") from None
    return ckpt


def _write_history(out_dir: Path, history: Sequence[EpochRecord]) -> None:
    tmp = out_dir / f"metrics.jsonl.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in history:
            fh.write(json.dumps(asdict(rec)) + "\n")
    os.replace(tmp, out_dir / "metrics.jsonl")


@holds_run_lock("codesign train", folder_arg="out_dir", main_process_only=True)  # run-folder lock (codesign.runlock)
def train_classifier(
    model: torch.nn.Module,
    train_data: Dataset,
    eval_data: Dataset | None,
    settings: TrainSettings | None = None,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    device: str | torch.device | None = None,
    meta: Mapping[str, Any] | None = None,
    on_epoch_end: Callable[[EpochRecord], None] | None = None,
) -> TrainResult:
    """Train ``model`` on ``train_data`` with the recipe of the module docstring, evaluating on ``eval_data``
    (if given) after every epoch.

    Args:
        model: a classifier mapping ``(N, C, H, W)`` float images to ``(N, classes)`` logits; trained in place
            (the raw, not the EMA, weights).
        train_data, eval_data: datasets of ``(image, label, path)`` items (:class:`~.imagenet.ImageDataset`).
        settings: :class:`TrainSettings` (default ``TrainSettings()``).
        out_dir: folder for ``last.pt`` and ``metrics.jsonl`` (None: no checkpoints).
        resume: continue from ``out_dir/last.pt`` (settings must match, except ``epochs`` and ``workers``; the
            checkpoint's SHA-256 must match ``out_dir/manifest.json``). Without a checkpoint: FileNotFoundError.
        overwrite: start afresh even if ``out_dir/last.pt`` exists (without it, an existing checkpoint and
            ``resume=False`` is an error, so no run is lost by accident).
        progress: show a rich progress bar (rank 0).
        device: force a device; default CUDA (``cuda:LOCAL_RANK`` under torchrun) when available, else CPU.
        meta: JSON-able description stored in the checkpoint (network name, classes, resolution, ...).
        on_epoch_end: called with each :class:`EpochRecord` after its checkpoint is written (rank 0 and others).

    Under ``torchrun`` the process group is joined (and left again if this call created it); every process
    must call this function. Returns a :class:`TrainResult`.
    """
    from timm.optim import create_optimizer_v2
    from timm.scheduler import CosineLRScheduler
    from timm.utils import ModelEmaV3

    s = settings or TrainSettings()
    if not isinstance(s, TrainSettings):
        raise ValueError(f"settings must be a TrainSettings, got {settings!r}")
    t_start = time.perf_counter()
    dist = init_distributed(device)
    try:
        out = Path(out_dir) if out_dir is not None else None
        ckpt_path = out / "last.pt" if out is not None else None
        ckpt: dict[str, Any] | None = None
        if resume and (ckpt_path is None or not ckpt_path.exists()):
            raise FileNotFoundError(f"resume: no checkpoint to resume at {ckpt_path} (start without --resume)"
                                    if ckpt_path is not None else "resume=True needs out_dir")
        if ckpt_path is not None and ckpt_path.exists():
            if resume:
                ckpt = load_checkpoint(ckpt_path)
                old = ckpt.get("settings", {})
                for k, v in s.to_dict().items():
                    if k not in _RESUMABLE_CHANGES and k in old and old[k] != v:
                        raise ValueError(f"{ckpt_path}: checkpoint has {k}={old[k]!r}, resuming with {k}={v!r}; "
                                         f"use the original settings or --overwrite")
            elif not overwrite:
                raise ValueError(f"{ckpt_path} exists: resume it (resume=True / --resume) or start afresh "
                                 f"(overwrite=True / --overwrite)")
        if out is not None and dist.is_main:
            out.mkdir(parents=True, exist_ok=True)

        n_train = len(train_data)
        global_batch = s.batch_size * dist.world_size
        if n_train < global_batch:
            raise ValueError(f"batch_size={s.batch_size} x {dist.world_size} process(es) is larger than the "
                             f"training set ({n_train} images)")
        steps_per_epoch = n_train // global_batch  # drop_last, as timm: no tiny last batch for BatchNorm
        total_steps = steps_per_epoch * s.epochs
        warmup_steps = min(total_steps - 1, int(round(s.warmup_epochs * steps_per_epoch)))
        peak_lr = s.peak_lr(dist.world_size)

        model.to(dist.device)
        if s.channels_last:
            model.to(memory_format=torch.channels_last)
        params = int(sum(p.numel() for p in model.parameters()))
        opt_name = "sgd" if s.optimizer == "sgd" else "rmsproptf"
        opt_kwargs: dict[str, Any] = {"eps": 1e-3} if s.optimizer == "rmsprop" else {}
        optimizer = create_optimizer_v2(model, opt_name, lr=peak_lr, weight_decay=s.weight_decay,
                                        momentum=s.momentum, **opt_kwargs)
        scheduler = CosineLRScheduler(optimizer, t_initial=max(1, total_steps - warmup_steps), lr_min=s.min_lr,
                                      warmup_t=warmup_steps, warmup_lr_init=s.warmup_lr, warmup_prefix=True,
                                      t_in_epochs=False)
        use_amp, amp_dtype = _amp(dist.device, s)
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
        ema = ModelEmaV3(model, decay=s.ema_decay) if s.ema_decay is not None else None
        history: list[EpochRecord] = []
        start_epoch, num_updates = 0, 0
        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            if ckpt.get("scaler"):
                scaler.load_state_dict(ckpt["scaler"])
            if ema is not None and ckpt.get("ema") is not None:
                ema.module.load_state_dict(ckpt["ema"])
            start_epoch, num_updates = int(ckpt["epoch"]), int(ckpt["num_updates"])
            history = [EpochRecord(**r) for r in ckpt.get("history", [])]
        scheduler.step_update(num_updates)

        net: torch.nn.Module = model
        if dist.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            net = DDP(model, device_ids=[dist.device.index] if dist.device.type == "cuda" else None)
        criterion = torch.nn.CrossEntropyLoss(label_smoothing=s.label_smoothing)
        skips = SkipCounter()
        ips_run: list[float] = []
        with _progress(progress and dist.is_main) as prog:
            for epoch in range(start_epoch, s.epochs):
                t_epoch = time.perf_counter()
                gen = _seed_everything(s.seed, epoch, dist.rank)
                if dist.world_size > 1:
                    from torch.utils.data.distributed import DistributedSampler

                    sampler: Any = DistributedSampler(train_data, num_replicas=dist.world_size, rank=dist.rank,
                                                      shuffle=True, seed=s.seed, drop_last=True)
                    sampler.set_epoch(epoch)
                    loader = DataLoader(train_data, batch_size=s.batch_size, sampler=sampler, drop_last=True,
                                        num_workers=s.workers, collate_fn=collate_skip, generator=gen,
                                        pin_memory=dist.device.type == "cuda")
                else:
                    loader = DataLoader(train_data, batch_size=s.batch_size, shuffle=True, drop_last=True,
                                        num_workers=s.workers, collate_fn=collate_skip, generator=gen,
                                        pin_memory=dist.device.type == "cuda")
                net.train()
                task = prog.add_task(f"epoch {epoch + 1}/{s.epochs}", total=len(loader), ips=0.0, info="")
                loss_sum, seen, skipped = 0.0, 0, 0
                t0 = time.perf_counter()
                for step, (x, y, bad) in enumerate(loader):
                    skips.add(bad)
                    skipped += len(bad)
                    if x.numel() == 0:
                        prog.update(task, advance=1)
                        continue
                    x, y = _to_device(x, y, dist.device, s.channels_last)
                    with torch.autocast(device_type=dist.device.type, dtype=amp_dtype, enabled=use_amp):
                        loss = criterion(net(x), y)
                    if not torch.isfinite(loss):
                        raise FloatingPointError(f"training loss is {float(loss)} at epoch {epoch + 1}, step "
                                                 f"{step + 1} (lr {optimizer.param_groups[0]['lr']:.3g}); lower lr")
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    if s.grad_clip is not None:
                        scaler.unscale_(optimizer)
                        torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
                    scaler.step(optimizer)
                    scaler.update()
                    num_updates += 1
                    scheduler.step_update(num_updates)
                    if ema is not None:
                        ema.update(model, step=num_updates)
                    loss_sum += float(loss.detach()) * int(y.shape[0])
                    seen += int(y.shape[0])
                    if (step + 1) % s.log_every == 0 or step + 1 == len(loader):
                        el = time.perf_counter() - t0
                        prog.update(task, completed=step + 1, ips=seen * dist.world_size / max(el, 1e-9),
                                    info=f"loss {loss_sum / max(seen, 1):.3f} lr {optimizer.param_groups[0]['lr']:.2e}")
                train_secs = time.perf_counter() - t0
                loss_sum, seen, skipped = _all_reduce([loss_sum, seen, skipped], dist)
                ips = seen / max(train_secs, 1e-9)
                ips_run.append(ips)
                top1 = top5 = eloss = et1 = et5 = None
                eval_kw = dict(batch_size=s.eval_batch_size or 2 * s.batch_size, workers=s.workers, amp=s.amp,
                               channels_last=s.channels_last, progress=False, dist=dist, skips=skips)
                if eval_data is not None:
                    r = evaluate_classifier(model, eval_data, **eval_kw)
                    top1, top5, eloss = r.top1, r.top5, r.loss
                    if ema is not None:
                        re = evaluate_classifier(ema.module, eval_data, **eval_kw)
                        et1, et5 = re.top1, re.top5
                rec = EpochRecord(epoch=epoch + 1, train_loss=loss_sum / max(seen, 1),
                                  lr=float(optimizer.param_groups[0]["lr"]), top1=top1, top5=top5, eval_loss=eloss,
                                  ema_top1=et1, ema_top5=et5, train_images=int(seen), images_per_s=ips,
                                  seconds=time.perf_counter() - t_epoch, skipped=int(skipped))
                history.append(rec)
                info = f"loss {rec.train_loss:.3f}"
                if top1 is not None:
                    info += f" top1 {top1:.3f} top5 {top5:.3f}"
                if et1 is not None:
                    info += f" ema top1 {et1:.3f}"
                prog.update(task, completed=len(loader), ips=ips, info=info)
                if ckpt_path is not None and dist.is_main:
                    checkpoint_manifest.save({
                        "version": _CKPT_VERSION, "epoch": epoch + 1, "num_updates": num_updates,
                        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scaler": scaler.state_dict() if scaler.is_enabled() else None,
                        "ema": ema.module.state_dict() if ema is not None else None,
                        "settings": s.to_dict(), "history": [asdict(h) for h in history], "meta": dict(meta or {}),
                    }, ckpt_path)
                    _write_history(ckpt_path.parent, history)
                if dist.distributed:
                    torch.distributed.barrier()
                if on_epoch_end is not None:
                    on_epoch_end(rec)
    finally:
        if dist.initialized_here and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    last = history[-1] if history else None
    scores = [v for h in history for v in (h.top1, h.ema_top1) if v is not None]
    return TrainResult(
        history=history, top1=last.top1 if last else None, top5=last.top5 if last else None,
        ema_top1=last.ema_top1 if last else None, ema_top5=last.ema_top5 if last else None,
        best_top1=max(scores) if scores else None, params=params, seconds=time.perf_counter() - t_start,
        images_per_s=float(np.mean(ips_run)) if ips_run else 0.0, resumed_from=start_epoch, skipped=len(skips),
        checkpoint=ckpt_path, settings=s.to_dict(),
    )


# -- folder-level entry points (the CLI's train / eval) ------------------------------------------------------------
def _split_data(data: str | os.PathLike[str], *, resolution: int, classes: Any, max_per_class: int | None,
                holdout_per_class: int, split_seed: int, eval_split: str, crop_pct: float,
                ) -> tuple[Any, Dataset | None, tuple[str, ...], str]:
    from .imagenet import ImageDataset, build_transform, find_split_dirs, scan_eval_folder, scan_image_folder

    if eval_split not in ("auto", "holdout", "val", "none"):
        raise ValueError(f"eval_split must be auto, holdout, val or none, got eval_split={eval_split!r}")
    train_dir, val_dir = find_split_dirs(data)
    split = scan_image_folder(train_dir, classes=classes, max_per_class=max_per_class,
                              holdout_per_class=holdout_per_class, split_seed=split_seed)
    if eval_split == "auto":
        eval_split = "holdout" if holdout_per_class else ("val" if val_dir is not None else "none")
    if eval_split == "holdout" and not split.heldout:
        raise ValueError("eval_split='holdout' needs holdout_per_class > 0")
    if eval_split == "val" and val_dir is None:
        raise ValueError(f"{data}: no val/ folder to evaluate on (use a held-out split from train instead)")
    train_ds = ImageDataset(split.train, build_transform(resolution, train=True), split.classes)
    eval_tf = build_transform(resolution, train=False, crop_pct=crop_pct)
    eval_ds: Dataset | None = None
    if eval_split == "holdout":
        eval_ds = ImageDataset(split.heldout, eval_tf, split.classes)
    elif eval_split == "val":
        eval_ds = ImageDataset(scan_eval_folder(val_dir, split.classes), eval_tf, split.classes)
    return train_ds, eval_ds, split.classes, eval_split


def train_network(
    network: Any,
    data: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    resolution: int = 224,
    classes: int | Sequence[str] | None = None,
    max_per_class: int | None = None,
    holdout_per_class: int = 0,
    split_seed: int = 0,
    eval_split: str = "auto",
    crop_pct: float = 0.875,
    settings: TrainSettings | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    device: str | torch.device | None = None,
    space: Any = None,
    act: str = "relu6",
    on_epoch_end: Callable[[EpochRecord], None] | None = None,
) -> TrainResult:
    """Train ``network`` (see :func:`build_network`, ``act`` for block strings; random init seeded with ``settings.seed``) on the
    ImageNet-layout folder ``data`` at ``resolution`` px, with an optional class subset, per-class cap and a
    held-out split from train (see :func:`codesign.evaluation.imagenet.scan_image_folder`).

    ``eval_split``: "holdout" (the held-out training images), "val" (``data/val``), "none", or "auto" (holdout
    when ``holdout_per_class`` > 0, else val when present, else none). The checkpoint's ``meta`` records the
    network, classes, resolution and split, which :func:`evaluate_network` reads back.
    """
    from .imagenet import check_resolution

    s = settings or TrainSettings()
    train_ds, eval_ds, class_names, used = _split_data(
        data, resolution=resolution, classes=classes, max_per_class=max_per_class,
        holdout_per_class=holdout_per_class, split_seed=split_seed, eval_split=eval_split, crop_pct=crop_pct)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        model = build_network(network, num_classes=len(class_names), space=space, act=act)
    name = network if isinstance(network, str) else " ".join(network) if isinstance(network, (list, tuple)) else repr(network)
    check_resolution(model, resolution, name=f"network {name!r}")
    meta = {"network": name, "act": act, "classes": list(class_names), "resolution": resolution, "crop_pct": crop_pct,
            "max_per_class": max_per_class, "holdout_per_class": holdout_per_class, "split_seed": split_seed,
            "eval_split": used, "data": str(Path(data).resolve())}
    return train_classifier(model, train_ds, eval_ds, s, out_dir=out_dir, resume=resume, overwrite=overwrite,
                            progress=progress, device=device, meta=meta, on_epoch_end=on_epoch_end)


def evaluate_network(
    network: Any,
    data: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    resolution: int | None = None,
    crop_pct: float | None = None,
    split: str = "val",
    classes: int | Sequence[str] | None = None,
    max_per_class: int | None = None,
    batch_size: int = 64,
    workers: int = 2,
    device: str | torch.device | None = None,
    ema: bool = True,
    progress: bool = True,
    space: Any = None,
    act: str | None = None,
) -> EvalResult:
    """Top-1 / top-5 of ``network`` on an ImageNet-layout folder.

    ``checkpoint``: weights from :func:`train_classifier` (EMA weights if present and ``ema``) or a bare
    state_dict; its ``meta`` supplies the class list, resolution, crop and held-out split when not given.
    Without a checkpoint the network has random weights (chance accuracy: useful for timing and checks only).
    ``split``: "val" (``data/val``, or ``data`` itself when it has no ``train/``), "holdout" (the held-out
    training images of the checkpoint's split) or "train". ``act``: activation of a block-string network
    (default: the checkpoint's, else "relu6").
    """
    from .imagenet import (ImageDataset, build_transform, check_resolution, find_split_dirs, scan_eval_folder,
                           scan_image_folder)

    if split not in ("val", "holdout", "train"):
        raise ValueError(f"split must be val, holdout or train, got split={split!r}")
    meta: dict[str, Any] = {}
    ckpt = None
    if checkpoint is not None:
        ckpt = load_checkpoint(checkpoint)
        meta = dict(ckpt.get("meta") or {})
    res = int(resolution if resolution is not None else meta.get("resolution", 224))
    crop = float(crop_pct if crop_pct is not None else meta.get("crop_pct", 0.875))
    train_dir, val_dir = find_split_dirs(data)
    class_names: Sequence[str] | None = meta.get("classes")
    if split == "holdout" or split == "train":
        hold = int(meta.get("holdout_per_class", 0) or 0)
        if split == "holdout" and hold == 0:
            raise ValueError("split='holdout' needs a checkpoint trained with a held-out split (holdout_per_class > 0)")
        sc = scan_image_folder(train_dir, classes=list(class_names) if class_names else classes,
                               max_per_class=max_per_class if max_per_class is not None else meta.get("max_per_class"),
                               holdout_per_class=hold, split_seed=int(meta.get("split_seed", 0)))
        class_names = sc.classes
        samples = sc.heldout if split == "holdout" else sc.train
    else:
        folder = val_dir if val_dir is not None else (train_dir if train_dir == Path(data) else None)
        if folder is None:
            raise ValueError(f"{data}: no val/ folder (use split='holdout' or 'train')")
        if class_names is None:
            sc = scan_image_folder(folder, classes=classes, max_per_class=max_per_class)
            class_names, samples = sc.classes, sc.train
        else:
            samples = scan_eval_folder(folder, class_names)
            if max_per_class is not None:
                per: dict[int, int] = {}
                kept = []
                for pth, lab in samples:
                    if per.get(lab, 0) < max_per_class:
                        kept.append((pth, lab))
                        per[lab] = per.get(lab, 0) + 1
                samples = tuple(kept)
    name = network if isinstance(network, str) else repr(network)
    model = build_network(network, num_classes=len(class_names), space=space,
                          act=act or meta.get("act") or "relu6")
    if ckpt is not None:
        load_weights(model, checkpoint, ema=ema)  # type: ignore[arg-type]
    check_resolution(model, res, name=f"network {name!r}")
    ds = ImageDataset(samples, build_transform(res, train=False, crop_pct=crop), class_names)
    dist = init_distributed(device)
    try:
        model.to(dist.device).to(memory_format=torch.channels_last)
        return evaluate_classifier(model, ds, batch_size=batch_size, workers=workers, progress=progress, dist=dist)
    finally:
        if dist.initialized_here and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
