"""The ``codesign search`` command (``register(app)`` adds it): network + accelerator co-design search.

Bad input is answered with one line on stderr naming the option and the value, and exit status 2.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from ._common import error_line
from ._common import fail as _fail
from ._common import fmt as _fmt

err = Console(stderr=True)

#: The options of a search that ``command.json`` in its folder records, so that ``--resume DIR`` continues it with
#: them: any of these not given again on the command line comes from the file (those given, e.g. a larger
#: ``--budget``, win). Display and per-session options (``--plot``, ``--progress``, ``--threads``,
#: ``--time-limit-s``) are not recorded.
RECORDED_OPTIONS: tuple[str, ...] = (
    "space", "hw", "strategy", "controller", "target_latency_ms", "target_energy_mj", "target_edp", "mode",
    "area_limit_mm2", "budget", "batch_size", "population", "sample_size", "lr", "accuracy", "proxy_steps",
    "networks", "aggregate", "network_target", "fixed_hw", "phase_split", "seed", "deploy", "num_segments")
COMMAND_FILE = "command.json"
_INT_OPTIONS = ("budget", "batch_size", "population", "sample_size", "proxy_steps", "seed", "num_segments")
_FLOAT_OPTIONS = ("target_energy_mj", "target_edp", "lr", "phase_split")


def _check_recorded(path: Path, key: str, value: Any) -> None:
    """A recorded option has the type its command-line option has (else one line naming the file and key)."""
    if key in _INT_OPTIONS:
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif key in _FLOAT_OPTIONS:
        ok = (value is None and key != "phase_split") or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                                          and math.isfinite(value))
        kind = "a finite number"
    elif key == "network_target":
        ok, kind = value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value)), "a list of text"
    else:
        ok, kind = value is None or isinstance(value, str), "text"
    if not ok:
        _fail(f"{path}: option {key!r} must be {kind}, got {json.dumps(value)[:60]}; correct or delete the file")


def _read_command(folder: Path) -> dict[str, Any]:
    """The options recorded in ``folder/command.json`` ({} if the folder has none, e.g. a search started from
    Python)."""
    path = Path(folder) / COMMAND_FILE
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > 1 << 20:
            raise ValueError("larger than 1 MiB")
        doc = json.loads(path.read_text(encoding="utf-8"))
        opts = doc["options"]
        if not isinstance(opts, dict):
            raise TypeError("options is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _fail(f"--resume {folder}: {path} is not a codesign search command file ({exc}); delete it to resume "
              f"with the options given on the command line")
    for k, v in opts.items():
        if k in RECORDED_OPTIONS:
            _check_recorded(path, k, v)
    return {k: v for k, v in opts.items() if k in RECORDED_OPTIONS}


def _write_command(folder: Path, opts: dict[str, Any]) -> None:
    """Record the search's options atomically (a killed run never leaves half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / COMMAND_FILE
    tmp = folder / f".{COMMAND_FILE}.tmp"
    doc = {"command": "codesign search", "options": {k: opts[k] for k in RECORDED_OPTIONS}}
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _number_or_auto(name: str, text: Optional[str]) -> Any:
    if text is None or text.lower() == "auto":
        return "auto"
    if text.lower() in ("none", "off", "no"):
        return None
    try:
        v = float(text)
    except ValueError:
        _fail(f"{name} must be a number, 'auto' or 'none', got {text!r}")
    if not (v > 0 and math.isfinite(v)):
        _fail(f"{name} must be > 0, got {text}")
    return v


def search_command(
    ctx: typer.Context,
    space: str = typer.Option("accel-nasbench", "--space",
                              help="network space: accel-nasbench, nb201 (NAS-Bench-201 cells), mobilenetv2, mobilenetv2-base, edgetpu, edgetpu-gc (with group-conv IBN), fbnet, or a .toml/.yaml file"),
    hw: Optional[str] = typer.Option(None, "--hw",
                                     help="hardware space (edgetpu-space, the default; systolic-space) or a fixed preset "
                                          "(edgetpu, edgetpu-baseline, systolic, ...) for --strategy network-only; "
                                          "unset when the --space file defines \\[hardware]"),
    strategy: str = typer.Option("joint", "--strategy",
                                 help="joint, network-only, hardware-only, net-then-hw or hw-then-net"),
    controller: str = typer.Option("evolution", "--controller", help="evolution, random, reinforce, ppo, tpe or nsga2 "
                                                                     "(tpe / nsga2 need optuna)"),
    target_latency_ms: Optional[str] = typer.Option(None, "--target-latency-ms",
                                                    help="latency target, ms (default auto: 3 on edgetpu-space, "
                                                         "5 on systolic-space; 'none' for no latency target)"),
    target_energy_mj: Optional[float] = typer.Option(None, "--target-energy-mj", help="energy target, mJ per inference"),
    target_edp: Optional[float] = typer.Option(None, "--target-edp", help="energy-delay-product target, mJ*ms"),
    mode: str = typer.Option("soft", "--mode", help="reward: soft / hard (MnasNet) or abs (TuNAS)"),
    area_limit_mm2: Optional[str] = typer.Option(None, "--area-limit-mm2",
                                                 help="hard area limit, mm^2 (default auto: 62 on edgetpu-space, "
                                                      "6 on systolic-space; 'none' for no limit)"),
    budget: Optional[int] = typer.Option(None, "--budget",
                                         help="number of trials (all phases); default 200, or 32 when the accuracy "
                                              "is the proxy (each new network is trained)"),
    batch_size: int = typer.Option(8, "--batch-size", help="candidates per batch (checkpoint after each)"),
    population: int = typer.Option(16, "--population", help="regularized evolution / nsga2: population size"),
    sample_size: int = typer.Option(4, "--sample-size", help="regularized evolution: tournament size"),
    lr: Optional[float] = typer.Option(None, "--lr", help="reinforce / ppo: learning rate (default 0.05)"),
    accuracy: str = typer.Option("auto", "--accuracy",
                                 help="auto (the space's trained accuracies: nb201 and accel-nasbench; else proxy), "
                                      "nb201:cifar10|cifar100|imagenet16[@12] (NAS-Bench-201 table), accel-nasbench "
                                      "(ImageNet top-1 predictor), proxy (Fashion-MNIST training, cached) or surrogate "
                                      "(no training; a MACs/params fit, not an accuracy)"),
    proxy_steps: int = typer.Option(80, "--proxy-steps", help="proxy: training steps per network"),
    networks: Optional[str] = typer.Option(None, "--networks",
                                           help="multi-model: comma-separated timm names run on one accelerator "
                                                "(hardware search)"),
    aggregate: str = typer.Option("sum", "--aggregate", help="multi-model: sum, max or each (with --network-target)"),
    network_target: Optional[List[str]] = typer.Option(None, "--network-target",
                                                       help="multi-model: NAME=MS per-network latency target (repeat)"),
    deploy: str = typer.Option("cocompile", "--deploy",
                               help="Edge TPU: cocompile (networks share one device's parameter cache), separate "
                                    "(compiled apart: cache reloaded per model switch) or chip-per-model"),
    num_segments: int = typer.Option(1, "--num-segments",
                                     help="Edge TPU: each network pipelined over N devices (edgetpu_compiler "
                                          "--num_segments)"),
    fixed_hw: Optional[str] = typer.Option(None, "--fixed-hw",
                                           help="accelerator of network-only phases (preset; default the space's "
                                                "baseline)"),
    phase_split: float = typer.Option(0.5, "--phase-split", help="phase-wise strategies: share of the first phase"),
    seed: int = typer.Option(0, "--seed", help="controller seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="output folder (default runs/search)"),
    resume: Optional[Path] = typer.Option(None, "--resume",
                                          help="continue the search checkpointed in this folder, with its recorded "
                                               "options (command.json); options given again override them, e.g. "
                                               "a larger --budget"),
    overwrite: bool = typer.Option(False, "--overwrite", help="start afresh even if the folder holds a checkpoint"),
    time_limit_s: Optional[float] = typer.Option(None, "--time-limit-s", help="stop (checkpointed) after this long"),
    threads: int = typer.Option(0, "--threads", help="cost-model threads (0 = all cores)"),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="write search.png"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show the progress bar"),
    workers: Optional[int] = typer.Option(None, "--workers",
                                          help="evaluate accuracies on a Dask LocalCluster of N processes (same "
                                               "trials as a serial run)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                            help="evaluate accuracies on the Dask scheduler at tcp://HOST:PORT"),
) -> None:
    """Search a network and an accelerator together (or one of them): trials.jsonl, pareto.csv, search.png and a
    checkpoint after every batch in --out; --resume DIR continues after an interruption.

    Latency and energy come from the cost model on the 224-px ImageNet network; accuracy from the Fashion-MNIST
    proxy (a cheap ranking signal, not ImageNet accuracy) or the surrogate (no training at all).
    """
    params = dict(ctx.params)
    # by name: typer may bring its own click, whose ParameterSource is another enum
    given = {k for k in params if getattr(ctx.get_parameter_source(k), "name", "") not in ("DEFAULT", "DEFAULT_MAP")}
    if resume is not None:
        for k, v in _read_command(resume).items():
            if k not in given:
                params[k] = v
    _search(given=given, **params)


def _search(*, given: set[str], space: str, hw: Optional[str], strategy: str, controller: str,
            target_latency_ms: Optional[str], target_energy_mj: Optional[float], target_edp: Optional[float], mode: str,
            area_limit_mm2: Optional[str], budget: Optional[int], batch_size: int, population: int, sample_size: int,
            lr: Optional[float], accuracy: str, proxy_steps: int, networks: Optional[str], aggregate: str,
            network_target: Optional[List[str]], fixed_hw: Optional[str], phase_split: float, seed: int,
            out: Optional[Path], resume: Optional[Path], overwrite: bool, time_limit_s: Optional[float], threads: int,
            plot: bool, progress: bool, workers: Optional[int] = None, scheduler: Optional[str] = None,
            deploy: str = "cocompile", num_segments: int = 1) -> None:
    if budget is None:
        trains = accuracy == "proxy" or (accuracy == "auto" and space.lower() not in ("nb201", "accel-nasbench")
                                         and networks is None)
        budget = 32 if trains else 200
    recorded = dict(space=space, hw=hw, strategy=strategy, controller=controller, target_latency_ms=target_latency_ms,
                    target_energy_mj=target_energy_mj, target_edp=target_edp, mode=mode,
                    area_limit_mm2=area_limit_mm2, budget=budget, batch_size=batch_size, population=population,
                    sample_size=sample_size, lr=lr, accuracy=accuracy, proxy_steps=proxy_steps, networks=networks,
                    aggregate=aggregate, network_target=list(network_target) if network_target else None,
                    fixed_hw=fixed_hw, phase_split=phase_split, seed=seed, deploy=deploy, num_segments=num_segments)
    for name, value in (("--budget", budget), ("--batch-size", batch_size), ("--population", population),
                        ("--sample-size", sample_size), ("--proxy-steps", proxy_steps)):
        if value < 1:
            _fail(f"{name} must be >= 1, got {value}")
    for name, value in (("--target-energy-mj", target_energy_mj), ("--target-edp", target_edp),
                        ("--time-limit-s", time_limit_s), ("--lr", lr)):
        if value is not None and not value > 0:
            _fail(f"{name} must be > 0, got {value}")
    if threads < 0:
        _fail(f"--threads must be >= 0, got {threads}")
    from ..search.policy import MAX_LR

    for name, value in (("--lr", lr), ("--target-energy-mj", target_energy_mj), ("--target-edp", target_edp),
                        ("--time-limit-s", time_limit_s)):
        if value is not None and not math.isfinite(value):
            _fail(f"{name} must be a finite number, got {value}")
    if "lr" in given and controller not in ("reinforce", "ppo"):
        _fail(f"--lr applies to --controller reinforce and ppo (their policy's Adam step), not {controller}")
    if lr is not None and lr > MAX_LR:
        _fail(f"--lr must be <= {MAX_LR:g} (an Adam step moves each policy logit by about lr), got {lr:g}")
    from ..search.runner import CONTROLLERS, STRATEGIES

    if strategy not in STRATEGIES:
        _fail(f"--strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if controller not in CONTROLLERS:
        _fail(f"--controller must be one of {', '.join(CONTROLLERS)}, got {controller!r}")
    if mode not in ("soft", "hard", "abs"):
        _fail(f"--mode must be soft, hard or abs, got {mode!r}")
    if accuracy not in ("auto", "proxy", "surrogate", "accel-nasbench"):
        if accuracy.lower().startswith("nb201"):
            from ..evaluation.nb201 import parse_nb201_spec

            try:
                parse_nb201_spec(accuracy.lower())
            except ValueError as exc:
                _fail(f"--accuracy: {exc}")
        else:
            _fail(f"--accuracy must be auto, nb201:DATASET[@EPOCHS], accel-nasbench, proxy or surrogate, got "
                  f"{accuracy!r}")
    if workers is not None and workers < 1:
        _fail(f"--workers must be >= 1, got {workers}")
    if workers is not None and scheduler is not None:
        _fail("give --workers or --scheduler, not both")
    if scheduler is not None and "://" not in scheduler:
        _fail(f"--scheduler must be an address such as tcp://HOST:8786, got {scheduler!r}")
    from ..search.deployment import DEPLOY_MODES

    if deploy not in DEPLOY_MODES:
        _fail(f"--deploy must be one of {', '.join(DEPLOY_MODES)}, got {deploy!r}")
    if num_segments < 1:
        _fail(f"--num-segments must be >= 1, got {num_segments}")
    if aggregate not in ("sum", "max", "each"):
        _fail(f"--aggregate must be sum, max or each, got {aggregate!r}")
    if not 0 < phase_split < 1:
        _fail(f"--phase-split must be in (0, 1), got {phase_split}")
    if controller == "nsga2" and population < 2:
        _fail(f"--population must be >= 2 for --controller nsga2 (its generation size), got {population}")
    if networks is None:
        for opt, name in (("network_target", "--network-target"), ("aggregate", "--aggregate")):
            if opt in given:
                _fail(f"{name} applies to multi-model search: give the networks with --networks")
    if fixed_hw is not None and strategy not in ("network-only", "net-then-hw"):
        _fail(f"--fixed-hw applies to --strategy network-only and net-then-hw (the phases that search the network "
              f"on a fixed accelerator), got --strategy {strategy}")
    targets = None
    if network_target:
        targets = {}
        names = [n.strip() for n in networks.split(",")] if networks else []
        for item in network_target:
            name, sep, ms = item.partition("=")
            name = name.strip()
            try:
                value = float(ms)
            except ValueError:
                value = math.nan
                sep = ""
            if not sep or not name:
                _fail(f"--network-target must be NAME=MS, got {item!r}")
            if not (math.isfinite(value) and value > 0):
                _fail(f"--network-target {name}: the latency target must be a positive number of ms, got {ms!r}")
            if name not in names:
                _fail(f"--network-target {name}: not one of --networks ({', '.join(names)})")
            targets[name] = value
    if resume is not None and out is not None and Path(out) != Path(resume):
        _fail(f"--resume {resume} and --out {out} name different folders; give one")
    folder = resume if resume is not None else (out if out is not None else Path("runs/search"))
    if folder.exists() and not folder.is_dir():
        _fail(f"{'--resume' if resume is not None else '--out'} {folder} is a file, not a folder")
    lat = _number_or_auto("--target-latency-ms", target_latency_ms)
    area = _number_or_auto("--area-limit-mm2", area_limit_mm2)
    try:
        from ..search.runner import run_search
    except ImportError as exc:  # pragma: no cover - numpy-only install
        _fail(f"search needs the search extra (pip install 'codesign[search]'): {exc}")
        return
    if hw is None:
        hw = "edgetpu-space"
        if space.lower().endswith((".toml", ".yaml", ".yml")) and networks is None:
            from ..space import JointSpace, load_space_file

            try:
                if isinstance(load_space_file(space), JointSpace):
                    hw = None
            except (ValueError, OSError) as exc:
                msg = error_line(exc)
                _fail(msg if msg.startswith(str(space)) else f"--space {space}: {msg}")  # the path once
    kwargs: dict[str, Any] = dict(
        budget=budget, batch_size=batch_size, population=population, sample_size=sample_size, seed=seed,
        controller=controller, controller_options={"lr": lr} if lr is not None and controller in ("reinforce", "ppo")
        else None, strategy=strategy, mode=mode, target_latency_ms=lat, target_energy_mj=target_energy_mj,
        target_edp_mj_ms=target_edp, area_limit_mm2=area, accuracy=accuracy, proxy_steps=proxy_steps,
        phase_split=phase_split, fixed_hw=fixed_hw, resume=resume is not None, overwrite=overwrite,
        time_limit_s=time_limit_s, threads=threads, plot=plot, progress=progress, hw=hw, workers=workers,
        scheduler=scheduler, deploy=deploy, num_segments=num_segments,
    )
    if networks is not None:
        kwargs.update(networks=networks, aggregate=aggregate, network_targets=targets)
    else:
        kwargs["space"] = space
    from ..runlock import run_lock

    lock = contextlib.ExitStack()  # one writer per run folder (codesign.runlock), taken before anything is written
    try:
        lock.enter_context(run_lock(folder, "codesign search", create=resume is None))
    except (ValueError, OSError) as exc:
        _fail(f"--resume {folder}: no search there" if isinstance(exc, FileNotFoundError) else
              (str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
    with lock:
        fresh = resume is None and (overwrite or not (folder / "checkpoint.json").exists())
        if fresh:  # record the options first, so that a run killed at any point can be resumed with them
            try:
                _write_command(folder, recorded)
            except OSError as exc:
                _fail(f"--out {folder}: cannot write there ({exc.strerror or exc})")
        try:
            summary = run_search(folder, **kwargs)
        except KeyboardInterrupt:
            if resume is not None:
                _write_command(folder, recorded)
            err.print(f"interrupted: every finished batch is checkpointed in {folder}; continue with "
                      f"codesign search --resume {folder}", highlight=False, soft_wrap=True)
            raise typer.Exit(130)
        except FileExistsError:
            _fail(f"{folder} holds a search already: continue it with --resume {folder}, or start afresh with --overwrite")
            return
        except ImportError as exc:  # e.g. --controller tpe / nsga2 without optuna
            _fail(str(exc).splitlines()[0])
            return
        except FileNotFoundError as exc:
            if resume is not None:
                _fail(f"--resume {resume}: no checkpoint there ({exc})")
            _fail(str(exc).splitlines()[0])
            return
        except (ValueError, TypeError, OSError, KeyError) as exc:
            text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else error_line(exc)
            _fail(text.splitlines()[0] if text else type(exc).__name__)
            return
        if resume is not None:  # the resumed run was accepted: its options (e.g. a larger --budget) are now the run's
            _write_command(folder, recorded)
    console = Console()
    console.print(f"accuracy: {summary.accuracy_signal}", highlight=False)
    console.print(f"[bold]{summary.n_trials}[/] trials ({summary.n_complete} complete, {summary.n_infeasible} infeasible, "
                  f"{summary.n_failed} failed); this session: {summary.seconds:.0f} s, {summary.trained_networks} accuracy "
                  f"evaluations, {summary.proxy_cache_hits} cache hits"
                  + ("; stopped by --time-limit-s (continue with --resume)" if summary.stopped_early else ""))
    if networks is not None:
        console.print("multi-model search: the networks are fixed, so every design has accuracy 1 and the reward "
                      "measures latency (and energy) only; a reward above 1 means faster than the target")
    if summary.best is not None:
        b = summary.best
        console.print(f"best reward {b['reward']:.4f}: trial {b['trial']}, accuracy {b['metrics'].get('accuracy', 0):.4f}, "
                      f"latency {b['metrics'].get('latency_ms', float('nan')):.4g} ms, hw {b['hw'].get('name', '')}, "
                      f"network {b.get('network', '')}")
    if summary.pareto:
        cols = ["trial", "accuracy", "latency_ms", "energy_mj", "area_mm2", "reward", "hw"]
        # no vertical rules, so that a configuration name (4x6x8x128-pe512-core128-io25) fits beside the numbers at
        # 80 columns; a longer one folds onto a second line rather than losing its tail
        table = Table(title="Pareto front", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for col in cols:
            table.add_column(col, justify="left", overflow="fold") if col == "hw" else table.add_column(col, justify="right")
        for rec in summary.pareto[:30]:
            m = rec.get("metrics", {})
            table.add_row(str(rec.get("trial", "")), *(_fmt(m.get(c)) for c in cols[1:5]), _fmt(rec.get("reward")),
                          str(rec.get("hw", {}).get("name", "")))
        console.print(table)
        if len(summary.pareto) > 30:
            console.print(f"... {len(summary.pareto) - 30} more in {summary.pareto_path}")
    console.print(f"trials: {summary.trials_path}\nPareto front: {summary.pareto_path}"
                  + (f"\nplot: {summary.plot_path}" if summary.plot_path else ""))


def register(app: typer.Typer) -> None:
    """Add the ``search`` command to ``app``."""
    app.command("search")(search_command)
