"""Finding 2: joint search beats the phase-wise and fixed-hardware baselines at equal budget.

On the `edgetpu` network space x the Edge-TPU template's hardware space (area limit: the baseline's 62 mm^2),
MnasNet soft reward with a latency target, the same controller, budget and seeds for every strategy:

* ``joint`` - network and hardware decisions in one sequence;
* ``net-then-hw`` / ``hw-then-net`` - the phase-wise baselines (half the budget each phase);
* ``network-only`` - on the template baseline (4x4x4x64, 2 MiB, 32 KiB, 10 GB/s), i.e. platform-aware NAS;
* ``hardware-only`` - for EfficientNet-EdgeTPU-S.

Reported (mean ± sd over seeds): hypervolume of the (accuracy, latency) front, best reward, best reward among
designs within the target, how many searches end with a best-reward design that violates the target, and how
many trials joint search needs to reach each baseline's final best reward.

    python benchmarks/experiments/finding2_joint.py                  # surrogate accuracy, 5 seeds x 300 trials
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (FIGURES, HW_HEADER, RUNS, accuracy_kwargs, accuracy_name, best_reward, best_trial,  # noqa: E402
                    complete, hv, hw_row, mean_sd, nb201_joint_truth, parser, search, table, tag_of,
                    trials_to_reach, write_report)

STRATEGIES = ("joint", "net-then-hw", "hw-then-net", "network-only", "hardware-only")


def best_within(trials, target):
    rs = [t["reward"] for t in complete(trials) if t["metrics"]["latency_ms"] <= target]
    return max(rs) if rs else float("nan")


def main() -> None:
    global STRATEGIES
    p = parser(__doc__)
    p.add_argument("--target-ms", type=float, default=3.0, help="latency target")
    p.add_argument("--mode", default="hard", choices=("soft", "hard", "abs"),
                   help="reward: MnasNet hard (default: accuracy up to the target, T/latency beyond), soft, TuNAS abs")
    p.add_argument("--lr", type=float, default=None, help="reinforce / ppo learning rate (default the controller's)")
    p.add_argument("--strategies", default=",".join(STRATEGIES),
                   help="strategies to run (comma-separated, joint first), e.g. joint,hw-then-net for a long budget")
    args = p.parse_args()
    chosen = tuple(x.strip() for x in args.strategies.split(",") if x.strip())
    if not chosen or chosen[0] != "joint" or len(chosen) < 2 or not set(chosen) <= set(STRATEGIES):
        p.error(f"--strategies must start with joint and name at least one of {', '.join(STRATEGIES[1:])}")
    report_suffix = "" if chosen == STRATEGIES else "-" + "-".join(chosen)
    STRATEGIES = chosen
    target, ref = args.target_ms, 2 * args.target_ms
    tag = f"{tag_of(args)}-{args.mode}-b{args.budget}" + ("" if args.population == 32 else f"-p{args.population}") \
        + ("" if args.lr is None else f"-lr{args.lr:g}")
    ctrl_opts = {"lr": args.lr} if args.lr is not None else None
    lr_flag = "" if args.lr is None else f" --lr {args.lr:g}"
    res: dict[str, list[list[dict]]] = {}
    for strategy in STRATEGIES:
        res[strategy] = []
        for seed in range(args.seeds):
            trials = search(RUNS / "finding2" / tag / f"{strategy}-s{seed}", fresh=args.fresh, space=args.space,
                            hw="edgetpu-space", strategy=strategy, controller=args.controller, budget=args.budget,
                            batch_size=8, population=args.population, sample_size=max(1, args.population // 4), seed=seed, target_latency_ms=target, mode=args.mode,
                            area_limit_mm2=62.0, controller_options=ctrl_opts, **accuracy_kwargs(args))
            res[strategy].append(trials)
            print(f"{strategy} seed {seed}: hv {hv(trials, ref):.4f} best {best_reward(trials):.4f}", file=sys.stderr)

    truth = nb201_joint_truth()[0] if args.space == "nb201" and args.accuracy.startswith("nb201:cifar10") else None
    rows = []
    for s in STRATEGIES:
        runs = res[s]
        viol = sum(1 for t in runs if (b := best_trial(t)) is not None and b["metrics"]["latency_ms"] > target)
        rows.append([f"`{s}`", mean_sd([hv(t, ref) for t in runs]), mean_sd([best_reward(t) for t in runs]),
                     mean_sd([best_within(t, target) for t in runs]), f"{viol} / {len(runs)}",
                     mean_sd([len(complete(t)) / len(t) for t in runs])]
                    + ([mean_sd([truth.ratio(t) for t in runs])] if truth is not None else []))
    speed = []
    for s in STRATEGIES[1:]:
        need = []
        for j, b in zip(res["joint"], res[s]):
            n = trials_to_reach(j, best_reward(b))
            need.append(n)
        reached = [n for n in need if n is not None]
        speed.append([f"`{s}`", f"{len(reached)} / {len(need)}",
                      mean_sd([float(n) for n in reached]) if reached else "-",
                      f"{args.budget / (sum(reached) / len(reached)):.2f}x" if reached else "-"])
    wins = {s: sum(hv(a, ref) > hv(b, ref) for a, b in zip(res["joint"], res[s])) for s in STRATEGIES[1:]}
    hw_rows = []
    for s in STRATEGIES:
        b = best_trial(res[s][0])
        if b:
            hw_rows.append([f"`{s}`", *hw_row(b["hw"]), f"{b['metrics']['area_mm2']:.1f}",
                            f"{b['metrics']['latency_ms']:.3f}", f"{b['metrics']['accuracy']:.4f}", f"{b['reward']:.4f}"])
    FIGURES.mkdir(exist_ok=True)
    fig = FIGURES / f"finding2_{tag}{report_suffix}.png"
    _plot(res, fig, args)
    text = f"""# Finding 2: joint search vs phase-wise and fixed-hardware baselines

Claim (FACTS.md): joint search beats separate or alternating search (about 2x fewer samples; 1 instead of 3
latency-target violations per 4 searches).

Setup: `{args.space}` network space x Edge-TPU template hardware space (50,000 configurations; area limit 62 mm^2 = the
template baseline's area); MnasNet `{args.mode}` reward, target {target:g} ms (latency on the 224-px network from the cost
model; energy recorded, not rewarded); controller `{args.controller}` (population {args.population}, tournament {max(1, args.population // 4)} for evolution),
{args.budget} trials per search, seeds 0..{args.seeds - 1}, phase-wise strategies split the budget in half. Accuracy
signal: {accuracy_name(args)}. Command: `python benchmarks/experiments/finding2_joint.py --space {args.space} --accuracy {args.accuracy}
--budget {args.budget} --seeds {args.seeds} --controller {args.controller} --mode {args.mode} --population {args.population}{lr_flag}{" --strategies " + ",".join(STRATEGIES) if report_suffix else ""}`.

{table(["strategy", f"hypervolume (ref 0 / {ref:g} ms)", "best reward", f"best reward <= {target:g} ms",
        "best design violates target", "feasible share"]
       + (["HV ratio vs the joint true front"] if truth is not None else []), rows)}

Joint search's hypervolume is larger than the baseline's in: {", ".join(f"`{s}` {w}/{args.seeds}" for s, w in wins.items())}
seed pairs.

Samples joint search needs to reach each baseline's final best reward (same seed):

{table(["baseline", "joint reached it", "joint trials needed", "sample efficiency (budget / trials)"], speed)}

Best design of seed 0 per strategy:

{table(["strategy", *HW_HEADER, "area mm^2", "latency ms", "accuracy", "reward"], hw_rows)}

![best reward so far]({fig.relative_to(fig.parent.parent)})
"""
    write_report(f"finding2_{tag}{report_suffix}", text)


def _plot(res, path, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s, color in zip(STRATEGIES, ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple")):
        curves = []
        for trials in res[s]:
            best, curve = -np.inf, []
            for t in trials:
                if t["reward"] is not None:
                    best = max(best, t["reward"])
                curve.append(best)
            curves.append(curve)
        arr = np.array(curves, dtype=float)
        arr[~np.isfinite(arr)] = np.nan
        x = np.arange(1, arr.shape[1] + 1)
        ax.plot(x, np.nanmean(arr, axis=0), color=color, label=s)
        ax.fill_between(x, np.nanmin(arr, axis=0), np.nanmax(arr, axis=0), color=color, alpha=0.12)
    ax.set_xlabel("trials")
    ax.set_ylabel("best reward so far (mean, min-max over seeds)")
    ax.set_title(f"{args.space} space x Edge-TPU template, {args.controller}, {args.accuracy} accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    lows = [ln.get_ydata()[len(ln.get_ydata()) // 10] for ln in ax.get_lines()]
    lows = [v for v in lows if np.isfinite(v)]
    if lows:
        ax.set_ylim(bottom=min(lows) - 0.01)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
