"""Shared helpers of the three finding scripts: run searches, summarise them, write markdown and plots.

Runs go to ``benchmarks/experiments/runs/`` (git-ignored); reports (``*.md``) and figures (``figures/``) next to
this file. Every search is checkpointed, so an interrupted script picks up where it stopped (``--fresh`` starts
over).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any, Sequence

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs"
FIGURES = HERE / "figures"

from codesign.search.pareto import hypervolume  # noqa: E402
from codesign.search.runner import CONTROLLERS, load_trials, run_search  # noqa: E402


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=int, default=300, help="trials per search")
    p.add_argument("--seeds", type=int, default=5, help="searches per arm (seeds 0..n-1)")
    p.add_argument("--accuracy", default="surrogate",
                   help="accuracy signal: surrogate (MACs/params fit, no training), proxy (Fashion-MNIST), "
                        "nb201:cifar10 (NAS-Bench-201's trained accuracy; --space nb201) or accel-nasbench "
                        "(ImageNet top-1 predictor; --space accel-nasbench)")
    p.add_argument("--space", default="edgetpu", help="network space (edgetpu, nb201, accel-nasbench, ...)")
    p.add_argument("--proxy-steps", type=int, default=40, help="proxy training steps (with --accuracy proxy)")
    p.add_argument("--controller", default="evolution", choices=CONTROLLERS)
    p.add_argument("--population", type=int, default=32, help="regularized evolution: population (tournament = 1/4)")
    p.add_argument("--fresh", action="store_true", help="discard earlier runs of this script")
    return p


def accuracy_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    if args.accuracy == "proxy":
        from codesign.evaluation.proxy import ProxySettings

        return {"accuracy": "proxy", "proxy_settings": ProxySettings(steps=args.proxy_steps, eval_size=500, threads=1)}
    return {"accuracy": args.accuracy}


def accuracy_name(args: argparse.Namespace) -> str:
    if args.accuracy.startswith("nb201"):
        return ("NAS-Bench-201's trained test accuracy of each cell (CIFAR-10, 200 epochs; table lookup, "
                "`codesign.evaluation.NB201Accuracy`): a real accuracy, on the 32x32 CIFAR network")
    if args.accuracy == "accel-nasbench":
        return ("ImageNet top-1 predicted by `codesign.evaluation.AccelNasBench` (gradient boosting fitted on "
                "Accel-NASBench's 4,138 trained networks; see benchmarks/README.md for its held-out rank correlation)")
    if args.accuracy == "proxy":
        return (f"the Fashion-MNIST proxy ({args.proxy_steps} SGD steps of the half-width network at 32x32, "
                f"500 held-out images; a ranking signal, not ImageNet accuracy)")
    return ("the MACs/params surrogate (`SurrogateAccuracy`: a log-linear fit of published ImageNet top-1 to MACs "
            "and parameters; no training; it cannot tell block types apart beyond their size, so it measures how much "
            "network an accelerator runs within a latency, not which network is more accurate)")


def search(folder: Path, *, fresh: bool, **kw: Any) -> list[dict[str, Any]]:
    """Run (or resume, or reuse) one search; return its trials."""
    folder = Path(folder)
    ckpt = folder / "checkpoint.json"
    done = False
    if ckpt.is_file() and not fresh:
        n = json.loads(ckpt.read_text())["n_trials"]
        done = n >= kw["budget"]
        if not done:
            run_search(folder, resume=True, progress=False, plot=False, **kw)
            done = True
    if not done:
        run_search(folder, overwrite=True, progress=False, plot=False, **kw)
    return load_trials(folder)


def tag_of(args: argparse.Namespace) -> str:
    """The run-folder / report tag: accuracy, controller, and the space when it is not the default."""
    acc = args.accuracy.replace(":", "-").replace("@", "-")
    return f"{acc}-{args.controller}" + ("" if args.space == "edgetpu" else f"-{args.space}")


def joint_hardware(top: int, area_mm2: float = 62.0) -> tuple[list, dict]:
    """The hardware set H of NB201's joint truth: the union of the ``top`` fastest configurations of the whole
    ``edgetpu-space`` within ``area_mm2``, for each of two representative cells (a small one and the all-3x3 one), each
    costed on all of them."""
    import time

    import numpy as np

    from codesign import evaluate_batch
    from codesign.cost import MapperOptions
    from codesign.space import EdgeTpuHardwareSpace, NB201Candidate, NB201Space

    sp = NB201Space()
    space = EdgeTpuHardwareSpace()
    all_hw = [space.decode(idx) for idx in np.ndindex(*space.cardinalities)]
    all_hw = [h for h in all_hw if h.area_mm2 <= area_mm2]
    reps = {"small": "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
            "large": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"}
    chosen: dict[int, None] = {}
    info: dict[str, Any] = {"feasible_configs": len(all_hw), "top": top, "per_cell": {}}
    for name, arch in reps.items():
        t = time.perf_counter()
        res = evaluate_batch(sp.workload(NB201Candidate.from_arch_str(arch)), all_hw, threads=0,
                             mapper=MapperOptions(metric="latency"))
        lat = np.where(res.ok, res.total("latency_ms"), np.inf)
        order = np.argsort(lat, kind="stable")[:top]
        info["per_cell"][name] = {"best_ms": round(float(lat[order[0]]), 4), "seconds": round(time.perf_counter() - t, 1)}
        for i in order:
            chosen[int(i)] = None
    return [all_hw[i] for i in chosen], info


def nb201_joint_truth(top: int = 8) -> tuple[Any, dict]:
    """NB201's joint true front (all cells x :func:`joint_hardware`), cached under ``runs/truth/``."""
    import pickle

    path = RUNS / "truth" / f"nb201-joint-top{top}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    from codesign.search.truth import true_front

    hws, info = joint_hardware(top)
    tf = true_front("nb201", hws, "nb201:cifar10")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps((tf, info)))
    return tf, info


def complete(trials: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in trials if t["status"] == "complete"]


def hv(trials: Sequence[dict[str, Any]], ref_ms: float) -> float:
    pts = [(t["metrics"]["accuracy"], t["metrics"]["latency_ms"]) for t in complete(trials)]
    return hypervolume(pts, (0.0, ref_ms), ("max", "min"))


def best_reward(trials: Sequence[dict[str, Any]], n: int | None = None) -> float:
    rs = [t["reward"] for t in complete(trials[:n] if n else trials)]
    return max(rs) if rs else float("nan")


def best_trial(trials: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    c = complete(trials)
    return max(c, key=lambda t: (t["reward"], -t["trial"])) if c else None


def best_under(trials: Sequence[dict[str, Any]], metric: str, target: float, key: str = "accuracy") -> float:
    vals = [t["metrics"][key] for t in complete(trials) if t["metrics"][metric] <= target]
    return max(vals) if vals else float("nan")


def trials_to_reach(trials: Sequence[dict[str, Any]], level: float) -> int | None:
    """1-based number of trials until the best reward first reaches ``level`` (None if never)."""
    best = -math.inf
    for i, t in enumerate(trials):
        if t["reward"] is not None:
            best = max(best, t["reward"])
        if best >= level:
            return i + 1
    return None


def mean_sd(xs: Sequence[float]) -> str:
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:.4g}"
    return f"{statistics.mean(xs):.4g} ± {statistics.stdev(xs):.2g}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(out)


def write_report(name: str, text: str) -> Path:
    path = HERE / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return path


def hw_row(hw: dict[str, Any]) -> list[Any]:
    macs = hw["pe_x"] * hw["pe_y"] * hw["lanes"] * hw["simd"]
    return [f"{hw['pe_x']}x{hw['pe_y']}", hw["lanes"], hw["simd"], macs, f"{hw['pe_mem_kib'] / 1024:g}",
            f"{hw['core_mem_kib']:g}", f"{hw['io_bw_gbps']:g}"]


HW_HEADER = ["PEs", "lanes", "SIMD", "MACs/cycle", "PE mem MiB", "core mem KiB", "I/O GB/s"]
