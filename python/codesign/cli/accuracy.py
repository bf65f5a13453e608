"""The accuracy commands of ``codesign``: ``train`` and ``eval`` on ImageNet-layout folders.

``register(app)`` adds them to the main Typer app. Both need torch, torchvision and timm; bad input (a missing
or malformed data folder, an empty class folder, a resolution the network cannot take, an unknown network, a
checkpoint that does not fit) gets one line naming the path or value, and exit status 2. Under ``torchrun``
both run data-parallel (one process per GPU).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from ._common import error_line
from ._common import fail as _fail

__all__ = ["register"]

_err = Console(stderr=True)




def _classes(value: Optional[str]) -> Any:
    if value is None:
        return None
    v = value.strip()
    if v.isdigit():
        return int(v)
    names = [c.strip() for c in v.split(",") if c.strip()]
    if not names:
        _fail(f"--classes must be a number or comma-separated class folder names, got {value!r}")
    return names


def _main_process() -> bool:
    import os

    return int(os.environ.get("RANK", "0")) == 0


def _print_eval(res: Any, title: str, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(res.to_dict()) + "\n")
        return
    table = Table(title=title, show_header=False, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("top-1", f"{res.top1:.4f}")
    table.add_row("top-5", f"{res.top5:.4f}")
    table.add_row("loss (nats)", f"{res.loss:.4f}")
    table.add_row("images", f"{res.images:,}")
    table.add_row("corrupt images skipped", f"{res.skipped:,}")
    table.add_row("images/s", f"{res.images_per_s:,.1f}")
    table.add_row("seconds", f"{res.seconds:.2f}")
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add the ``train`` and ``eval`` commands to ``app``."""

    @app.command("train")
    def train(
        network: str = typer.Option(..., "--network", "-n", help="timm model name (random init) or a candidate's "
                                    "block strings, e.g. 'ds_r1_k3_s1_c16 ir_r2_k3_s2_e6_c24 ...'"),
        data: Path = typer.Option(..., "--data", help="ImageNet-layout folder: DATA/train/<class>/*, DATA/val/<class>/*"),
        out: Path = typer.Option(Path("runs/train"), "--out", help="folder for last.pt and metrics.jsonl"),
        act: str = typer.Option("relu6", help="activation of a block-string network: relu6 (mobilenetv2 space), "
                                "relu (edgetpu space), swish, hswish"),
        resolution: int = typer.Option(224, help="input resolution (px)"),
        epochs: int = typer.Option(1, help="epochs"),
        batch_size: int = typer.Option(64, help="images per step per process"),
        opt: str = typer.Option("sgd", "--opt", help="sgd (Nesterov) or rmsprop (TF-style)"),
        lr: Optional[float] = typer.Option(None, help="peak learning rate (default: 0.1 (sgd) or 0.016 (rmsprop) "
                                           "x global batch / 256)"),
        weight_decay: float = typer.Option(4e-5, help="weight decay (not on BN / bias)"),
        warmup_epochs: float = typer.Option(0.0, help="linear warm-up epochs before the cosine decay"),
        label_smoothing: float = typer.Option(0.1, help="label smoothing"),
        ema_decay: Optional[float] = typer.Option(None, help="keep an EMA of the weights with this decay (e.g. 0.9998)"),
        amp: bool = typer.Option(True, "--amp/--no-amp", help="bfloat16 mixed precision on CUDA"),
        classes: Optional[str] = typer.Option(None, help="class subset: a number (chosen with --split-seed) or "
                                              "comma-separated class folder names"),
        max_per_class: Optional[int] = typer.Option(None, help="training images per class (cap)"),
        holdout_per_class: int = typer.Option(0, help="training images per class held out for evaluation"),
        eval_split: str = typer.Option("auto", help="auto, holdout, val or none"),
        split_seed: int = typer.Option(0, help="seed of the class subset and held-out split"),
        seed: int = typer.Option(0, help="seed of initialisation, data order and augmentation"),
        workers: int = typer.Option(2, help="data-loading worker processes per training process"),
        device: Optional[str] = typer.Option(None, help="cpu, cuda, cuda:1 ... (default: CUDA when available)"),
        resume: bool = typer.Option(False, "--resume", help="continue from OUT/last.pt"),
        overwrite: bool = typer.Option(False, "--overwrite", help="start afresh even if OUT/last.pt exists"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar with images/s"),
        fmt: str = typer.Option("table", "--format", "-f", help="table or json"),
    ) -> None:
        """Train a network on an ImageNet-layout folder (SGD/RMSProp, warm-up + cosine, label smoothing, EMA,
        AMP, DDP under torchrun), checkpointing every epoch; report top-1/top-5 per epoch."""
        if fmt not in ("table", "json"):
            _fail(f"--format must be table or json, got {fmt!r}")
        try:
            from ..evaluation.training import TrainSettings, check_device, train_network
        except ImportError as exc:
            _fail(f"train needs torch, torchvision and timm (pip install 'codesign[train]'): {exc}")
            return
        try:
            check_device(device)
            settings = TrainSettings(epochs=epochs, batch_size=batch_size, optimizer=opt, lr=lr,
                                     weight_decay=weight_decay, warmup_epochs=warmup_epochs,
                                     label_smoothing=label_smoothing, ema_decay=ema_decay, amp=amp, seed=seed,
                                     workers=workers)
            res = train_network(network, data, out_dir=out, resolution=resolution, classes=_classes(classes),
                                max_per_class=max_per_class, holdout_per_class=holdout_per_class,
                                split_seed=split_seed, eval_split=eval_split, settings=settings, resume=resume,
                                overwrite=overwrite, progress=progress, device=device, act=act)
        except (ValueError, OSError, FloatingPointError) as exc:
            _fail(error_line(exc))
            return
        if not _main_process():
            return
        if fmt == "json":
            sys.stdout.write(json.dumps(res.to_dict()) + "\n")
            return
        table = Table(title=f"{network} on {data} at {resolution} px", header_style="bold")
        for col in ("epoch", "train loss", "lr", "top-1", "top-5", "EMA top-1", "images/s", "s"):
            table.add_column(col, justify="right")

        def f(v: Any, spec: str = ".4f") -> str:
            return "-" if v is None else format(v, spec)

        for h in res.history:
            table.add_row(str(h.epoch), f(h.train_loss), f(h.lr, ".3g"), f(h.top1), f(h.top5), f(h.ema_top1),
                          f(h.images_per_s, ",.1f"), f(h.seconds, ".1f"))
        con = Console()
        con.print(table)
        con.print(f"checkpoint: {res.checkpoint}; {res.params:,} parameters; {res.skipped} corrupt images skipped"
                  + (f"; resumed after epoch {res.resumed_from}" if res.resumed_from else ""))

    @app.command("eval")
    def evaluate_cmd(
        network: str = typer.Option(..., "--network", "-n", help="timm model name or a candidate's block strings"),
        data: Path = typer.Option(..., "--data", help="ImageNet-layout folder (DATA/val/<class>/*) or a class folder root"),
        checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", "-c", help="weights (codesign train's last.pt "
                                                  "or a state_dict); without it the weights are random"),
        act: Optional[str] = typer.Option(None, help="activation of a block-string network (default: the "
                                          "checkpoint's, else relu6)"),
        split: str = typer.Option("val", help="val, holdout (the checkpoint's held-out split) or train"),
        resolution: Optional[int] = typer.Option(None, help="input resolution (default: the checkpoint's, or 224)"),
        crop_pct: Optional[float] = typer.Option(None, help="centre crop fraction (default 0.875 = 224/256)"),
        classes: Optional[str] = typer.Option(None, help="class subset when there is no checkpoint"),
        max_per_class: Optional[int] = typer.Option(None, help="images per class (cap)"),
        batch_size: int = typer.Option(64, help="images per batch"),
        workers: int = typer.Option(2, help="data-loading worker processes"),
        device: Optional[str] = typer.Option(None, help="cpu, cuda, ... (default: CUDA when available)"),
        ema: bool = typer.Option(True, "--ema/--no-ema", help="use the checkpoint's EMA weights when present"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar with images/s"),
        fmt: str = typer.Option("table", "--format", "-f", help="table or json"),
    ) -> None:
        """Top-1 / top-5 accuracy of a network (timm model or search candidate) on an ImageNet-layout folder."""
        if fmt not in ("table", "json"):
            _fail(f"--format must be table or json, got {fmt!r}")
        for name, v in (("--batch-size", batch_size), ("--resolution", resolution if resolution is not None else 8)):
            if v < 1:
                _fail(f"{name} must be >= 1, got {v}")
        try:
            from ..evaluation.training import check_device, evaluate_network
        except ImportError as exc:
            _fail(f"eval needs torch, torchvision and timm (pip install 'codesign[train]'): {exc}")
            return
        try:
            check_device(device)
            res = evaluate_network(network, data, checkpoint=checkpoint, resolution=resolution, crop_pct=crop_pct,
                                   split=split, classes=_classes(classes), max_per_class=max_per_class,
                                   batch_size=batch_size, workers=workers, device=device, ema=ema, progress=progress,
                                   act=act)
        except (ValueError, OSError) as exc:
            _fail(error_line(exc))
            return
        if not _main_process():
            return
        weights = f"weights {checkpoint}" if checkpoint else "random weights"
        _print_eval(res, f"{network} on {data} ({split}), {weights}", fmt)
