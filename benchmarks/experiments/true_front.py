"""How good is a co-design search? Its front's hypervolume against the TRUE front, on NAS-Bench-201 with real
accuracy (CIFAR-10 test accuracy after 200 epochs, NAS-Bench-201's table).

Two settings, every controller (random, evolution, reinforce, ppo, tpe, nsga2), several seeds:

* fixed hardware: network-only search of the 15,625 cells on the ``edgetpu`` preset (Coral-calibrated); the truth
  enumerates every cell (``codesign.search.truth.true_front``);
* joint: network + hardware on ``edgetpu-space`` (50,000 published configurations, 62 mm^2 area limit). The truth
  enumerates every cell on a hardware set H: the union of the ``--top`` fastest feasible configurations of the
  whole space for each of two representative cells (a small one and the all-3x3 one), costed exhaustively over all 50,000.
  H is "large enough" when the front on the top half of H has the same hypervolume (reported).

Reward: MnasNet soft on latency (target ``--target-ms``). Quality = HV(search front) / HV(true front), accuracy vs
latency, reference (0, the largest latency over the truth's designs). Output: ``true_front.md`` and
``figures/true_front_hv.png``; runs under ``runs/true_front/`` (resumable).

    python benchmarks/experiments/true_front.py --budget 1000 --seeds 3
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FIGURES, RUNS, joint_hardware, mean_sd, nb201_joint_truth, parser, search, table, write_report  # noqa: E402

from codesign.search.truth import hv_curve, true_front  # noqa: E402

CONTROLLERS = ("random", "evolution", "reinforce", "ppo", "tpe", "nsga2")


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(budget=1000, seeds=3)
    p.add_argument("--controllers", default=",".join(CONTROLLERS))
    p.add_argument("--target-ms", type=float, default=1.5, help="latency target of the reward (fixed hardware)")
    p.add_argument("--joint-target-ms", type=float, default=0.8, help="latency target of the joint searches")
    p.add_argument("--top", type=int, default=8, help="joint truth: fastest configurations kept per representative cell")
    p.add_argument("--skip-joint", action="store_true")
    args = p.parse_args()
    controllers = [c for c in args.controllers.split(",") if c]
    at = sorted({n for n in (25, 50, 100, 200, 300, 500, 1000, 2000, 3000) if n <= args.budget}
                | {args.budget})
    out = RUNS / "true_front"
    settings = [("fixed", dict(hw="edgetpu", strategy="network-only", target_latency_ms=args.target_ms))]
    truths = {}
    t = time.perf_counter()
    truths["fixed"] = true_front("nb201", "edgetpu", "nb201:cifar10")
    notes = [f"fixed hardware: all 15,625 cells on `edgetpu`, {truths['fixed'].seconds:.0f} s; true front "
             f"{len(truths['fixed'].front)} designs, HV {truths['fixed'].hypervolume:.4f} "
             f"(reference {truths['fixed'].reference})"]
    if not args.skip_joint:
        truths["joint"], info = nb201_joint_truth(args.top)
        hws = truths["joint"].hws
        half = true_front("nb201", hws[: max(1, len(hws) // 2)], "nb201:cifar10")
        half_hv = truths["joint"].ratio(half.points[half.front])
        notes.append(f"joint: all 15,625 cells x {len(hws)} configurations H ({info['feasible_configs']} of the "
                     f"50,000 within 62 mm^2; the {args.top} fastest for each of 2 representative cells, each costed "
                     f"on all of them: {json.dumps(info['per_cell'])}); {truths['joint'].seconds:.0f} s; true front "
                     f"{len(truths['joint'].front)} designs, HV {truths['joint'].hypervolume:.4f}; the first half "
                     f"of H alone reaches {half_hv:.4f} of it")
        settings.append(("joint", dict(hw="edgetpu-space", strategy="joint", target_latency_ms=args.joint_target_ms,
                                       area_limit_mm2=62.0)))
    curves: dict[tuple[str, str, str], list[list[float]]] = {}
    for setting, kw in settings:
        tf = truths[setting]
        refs = {"nadir": None, "front box": tf.front_box}
        for ctrl in controllers:
            for seed in range(args.seeds):
                folder = out / f"{setting}-{ctrl}-b{args.budget}-s{seed}"
                trials = search(folder, fresh=args.fresh, budget=args.budget, seed=seed, controller=ctrl,
                                space="nb201", accuracy="nb201:cifar10", batch_size=8, population=32,
                                sample_size=8, mode="soft", **kw)
                for rname, ref in refs.items():
                    curves.setdefault((setting, rname, ctrl), []).append(hv_curve(trials, tf, at, ref))
                print(f"{setting} {ctrl} seed {seed}: HV ratio {curves[(setting, 'nadir', ctrl)][-1][-1]:.4f} "
                      f"(front box {curves[(setting, 'front box', ctrl)][-1][-1]:.4f})", file=sys.stderr)
    cols = list(dict.fromkeys(n for n in at if n in (100, 300, 1000, args.budget)))
    rows = []
    for (setting, rname, ctrl), cs in curves.items():
        arr = np.asarray(cs)
        reach = [next((n for n, v in zip(at, c) if v >= 0.95), None) for c in cs]
        rows.append([setting, rname, ctrl, *(mean_sd(list(arr[:, at.index(n)])) for n in cols),
                     ", ".join("-" if r is None else str(r) for r in reach)])
    header = ["setting", "reference", "controller", *(f"HV ratio @{n}" for n in cols), "trials to 0.95 (per seed)"]
    boxes = {k: tuple(round(v, 4) for v in tf.front_box) for k, tf in truths.items()}
    _plot(curves, at, FIGURES / "true_front_hv.png")
    text = "\n".join([
        "# Search quality against the true front (NAS-Bench-201, CIFAR-10, 200 epochs)", "",
        f"Produced by `python benchmarks/experiments/true_front.py --budget {args.budget} --seeds {args.seeds}` "
        f"in {time.perf_counter() - t:.0f} s (searches reused from `runs/` when rerun). Reward: MnasNet soft, "
        f"target {args.target_ms} ms (fixed) / {args.joint_target_ms} ms (joint); batch 8, evolution population 32 "
        f"(tournament 8). Mean ± sd over seeds.", "",
        *(f"- {n}" for n in notes), "",
        "Two references for the hypervolumes: *nadir* = accuracy 0 and the largest latency of any design of the "
        "truth (every design counts; lenient: most of it is earned by any accurate, fast design); *front box* = "
        f"the true front's own worst accuracy and largest latency {boxes} (only the region next to the front "
        "counts, so it tells how close a search came to the front itself).", "",
        table(header, rows), "",
        "![HV ratio vs trials](figures/true_front_hv.png)", ""])
    write_report("true_front", text)


def _plot(curves: dict, at: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    settings = sorted({s for s, _, _ in curves}, key=lambda s: s != "fixed")
    refs = ("nadir", "front box")
    fig, axes = plt.subplots(len(refs), len(settings), figsize=(5.5 * len(settings), 3.8 * len(refs)), squeeze=False)
    for r, ref in enumerate(refs):
        for c, setting in enumerate(settings):
            ax = axes[r][c]
            for ctrl in CONTROLLERS:
                if (setting, ref, ctrl) not in curves:
                    continue
                arr = np.asarray(curves[(setting, ref, ctrl)])
                ax.plot(at, arr.mean(axis=0), marker="o", ms=3, label=ctrl)
                if arr.shape[0] > 1:
                    ax.fill_between(at, arr.min(axis=0), arr.max(axis=0), alpha=0.12)
            ax.axhline(0.95, ls="--", color="grey", lw=1)
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(FixedLocator(at))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_xlabel("trials")
            ax.set_ylabel(f"HV ratio ({ref} reference)")
            ax.set_title(f"NB201 on {'edgetpu (fixed)' if setting == 'fixed' else 'edgetpu-space (joint)'}, {ref}",
                         fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    FIGURES.mkdir(exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
