"""Finding 1: the tailored ``edgetpu`` network space gives a better accuracy-latency front on the ``edgetpu``
accelerator than the ``mobilenetv2`` space, at equal search budget.

Network-only search (platform-aware NAS) on the Coral-calibrated ``edgetpu`` preset, one controller, the same
budget and seeds for both spaces, MnasNet soft reward with a latency target. Reported per space (mean ± sd over
seeds): hypervolume of the (accuracy, latency) front with a common reference point, best reward, best accuracy
within the target; plus the fronts of all seeds in one plot.

    python benchmarks/experiments/finding1_spaces.py                       # surrogate accuracy, 5 seeds x 300
    python benchmarks/experiments/finding1_spaces.py --accuracy proxy --budget 40 --seeds 2
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (FIGURES, RUNS, accuracy_kwargs, accuracy_name, best_reward, best_trial, best_under,  # noqa: E402
                    complete, hv, mean_sd, parser, search, table, write_report)

SPACES = ("edgetpu", "mobilenetv2")
COLORS = ("tab:red", "tab:blue", "tab:green", "tab:purple")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--target-ms", type=float, default=4.0, help="latency target on the Coral edgetpu preset")
    p.add_argument("--mode", default="hard", choices=("soft", "hard", "abs"),
                   help="reward: MnasNet hard (default: accuracy up to the target, T/latency beyond), soft, TuNAS abs")
    p.add_argument("--spaces", default=",".join(SPACES),
                   help="network spaces to compare (comma-separated; the last is the reference of the win counts; "
                        "e.g. edgetpu,edgetpu-gc,mobilenetv2)")
    args = p.parse_args()
    spaces = tuple(x.strip() for x in args.spaces.split(",") if x.strip())
    if len(spaces) < 2:
        p.error("--spaces needs at least two spaces")
    target = args.target_ms
    ref = 2 * target
    run_tag = f"{args.accuracy}-{args.controller}-{args.mode}-b{args.budget}" + ("" if args.population == 32 else f"-p{args.population}")
    tag = run_tag + ("" if spaces == SPACES else "-" + "-".join(spaces))
    results: dict[str, list[list[dict]]] = {}
    for space in spaces:
        results[space] = []
        for seed in range(args.seeds):
            trials = search(RUNS / "finding1" / run_tag / f"{space}-s{seed}", fresh=args.fresh, space=space, hw="edgetpu",
                            strategy="network-only", controller=args.controller, budget=args.budget, batch_size=8,
                            population=args.population, sample_size=max(1, args.population // 4), seed=seed, target_latency_ms=target, mode=args.mode, area_limit_mm2=None,
                            **accuracy_kwargs(args))
            results[space].append(trials)
            print(f"{space} seed {seed}: hv {hv(trials, ref):.4f} best {best_reward(trials):.4f}", file=sys.stderr)

    rows = []
    for space in spaces:
        runs = results[space]
        rows.append([f"`{space}`", mean_sd([hv(t, ref) for t in runs]), mean_sd([best_reward(t) for t in runs]),
                     mean_sd([best_under(t, "latency_ms", target) for t in runs]),
                     mean_sd([len(complete(t)) / len(t) for t in runs])])
    base = spaces[-1]
    win_text = " ".join(
        f"The `{s}` space's front has the larger hypervolume than `{base}`'s in "
        f"{sum(hv(a, ref) > hv(b, ref) for a, b in zip(results[s], results[base]))} of {args.seeds} seed pairs."
        for s in spaces[:-1])
    best_rows = []
    for space in spaces:
        b = best_trial(results[space][0])
        if b:
            best_rows.append([f"`{space}`", f"{b['metrics']['accuracy']:.4f}", f"{b['metrics']['latency_ms']:.3f}",
                              f"{b['metrics']['macs'] / 1e6:.0f}", f"{b['metrics'].get('utilization', 0):.2f}",
                              "`" + " ".join(b["blocks"]) + "`"])

    FIGURES.mkdir(exist_ok=True)
    fig_path = FIGURES / f"finding1_{tag}.png"
    _plot(results, fig_path, target, args)
    text = f"""# Finding 1: the tailored space on the Edge TPU

Claim (FACTS.md): the network space must be customised for the hardware - the `edgetpu` space (fused IBN per
stage) gives a better accuracy-latency front on the Edge TPU than the MobileNetV2 / MnasNet-style space.

Setup: network-only search on the Coral-calibrated `edgetpu` preset (4x4 PEs x 4 lanes x 64 SIMD, 8 MiB, USB
link, 800 us host overhead); controller `{args.controller}`; {args.budget} trials per search; seeds 0..{args.seeds - 1};
MnasNet `{args.mode}` reward with target {target:g} ms; latency from the cost model on the 224-px network. Accuracy signal:
{accuracy_name(args)}. Command: `python benchmarks/experiments/finding1_spaces.py --accuracy {args.accuracy}
--budget {args.budget} --seeds {args.seeds} --controller {args.controller} --mode {args.mode} --population {args.population}
--spaces {",".join(spaces)}`.

{table(["space", f"hypervolume (acc x ms, ref 0 / {ref:g} ms)", "best reward", f"best accuracy <= {target:g} ms",
        "feasible share"], rows)}

{win_text}

Best design of seed 0 per space:

{table(["space", "accuracy", "latency ms", "MMACs", "utilization", "blocks"], best_rows)}

![fronts]({fig_path.relative_to(fig_path.parent.parent)})
"""
    write_report(f"finding1_{tag}", text)


def _plot(results, path, target, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from codesign.search.pareto import nondominated

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for space, color in zip(results, COLORS):
        for i, trials in enumerate(results[space]):
            pts = np.array([(t["metrics"]["latency_ms"], t["metrics"]["accuracy"]) for t in complete(trials)])
            if not len(pts):
                continue
            ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.15, color=color)
            f = pts[nondominated(pts, ("min", "max"))]
            f = f[np.argsort(f[:, 0])]
            ax.step(f[:, 0], f[:, 1], where="post", color=color, lw=1, alpha=0.8,
                    label=f"{space}" if i == 0 else None)
    ax.axvline(target, ls="--", color="grey", lw=1)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_xlabel("latency on the Coral-calibrated edgetpu preset (ms)")
    ax.set_ylabel("accuracy (" + args.accuracy + ")")
    ax.set_title(f"network-only search, {args.budget} trials x {args.seeds} seeds per space")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
