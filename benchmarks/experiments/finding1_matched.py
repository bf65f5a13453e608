"""Finding 1 without a search: proxy-train random networks of both spaces at matched Edge-TPU latency.

The search-based check (``finding1_spaces.py --accuracy proxy``) mixes two things at small budgets: how good the
networks of a space are, and how fast a controller finds them. This script removes the controller. For each space
it draws networks uniformly (seeded) until it has ``--per-space`` of them whose latency on the Coral-calibrated
``edgetpu`` preset lies in the band ``[--lo-ms, --hi-ms]``, trains each with the Fashion-MNIST proxy (cached in
``runs/finding1/matched/proxy.sqlite``, so a rerun trains nothing twice) and compares the accuracy of the two
samples: mean, median, a one-sided permutation test of the mean difference (20,000 relabellings), and the
probability that a random ``edgetpu`` network beats a random ``mobilenetv2`` one (the common-language effect
size, ties counted half). The MACs and parameters of the samples are reported alongside, because at matched latency
they are what the two spaces trade.

    python benchmarks/experiments/finding1_matched.py --per-space 20 --steps 80
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import FIGURES, RUNS, table, write_report  # noqa: E402

from codesign.cost import evaluate  # noqa: E402
from codesign.evaluation.proxy import ProxyEvaluator, ProxySettings  # noqa: E402
from codesign.hardware import preset  # noqa: E402
from codesign.space import network_space  # noqa: E402

SPACES = ("edgetpu", "mobilenetv2")


def draw(space_name: str, n: int, lo: float, hi: float, seed: int, max_draws: int = 20_000) -> list[dict]:
    """``n`` distinct networks of the space with latency in ``[lo, hi]`` ms on the ``edgetpu`` preset."""
    space = network_space(space_name)
    hw = preset("edgetpu")
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    seen: set[tuple[int, ...]] = set()
    draws = 0
    while len(out) < n:
        draws += 1
        if draws > max_draws:
            raise SystemExit(f"{space_name}: only {len(out)} of {n} networks in [{lo}, {hi}] ms after {max_draws} draws")
        cand = space.sample(rng)
        enc = space.encode(cand)
        if enc in seen:
            continue
        seen.add(enc)
        wl = space.workload(cand)
        tot = evaluate(wl, hw).totals
        if lo <= tot["latency_ms"] <= hi:
            out.append({"candidate": cand, "encoding": list(enc), "latency_ms": float(tot["latency_ms"]),
                        "macs": int(wl.macs), "params": int(wl.params), "utilization": float(tot["utilization"]),
                        "blocks": [b for st in space.to_block_strings(cand) for b in st]})
    print(f"{space_name}: {n} networks in band after {draws} draws", file=sys.stderr)
    return out


def permutation_p(a: list[float], b: list[float], rounds: int = 20_000, seed: int = 0) -> float:
    """One-sided p-value of mean(a) - mean(b) >= observed under random relabelling."""
    x = np.asarray(a + b)
    obs = np.mean(a) - np.mean(b)
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(rounds):
        perm = rng.permutation(x)
        if np.mean(perm[: len(a)]) - np.mean(perm[len(a):]) >= obs - 1e-12:
            hits += 1
    return (hits + 1) / (rounds + 1)


def prob_superiority(a: list[float], b: list[float]) -> float:
    wins = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    return wins / (len(a) * len(b))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-space", type=int, default=20, help="networks per space in the latency band")
    p.add_argument("--lo-ms", type=float, default=2.5, help="latency band, lower end (ms on the edgetpu preset)")
    p.add_argument("--hi-ms", type=float, default=4.0, help="latency band, upper end")
    p.add_argument("--steps", type=int, default=80, help="proxy training steps")
    p.add_argument("--proxy-seeds", type=int, default=1, help="proxy trainings per network (seeds 0..n-1), averaged")
    p.add_argument("--seed", type=int, default=0, help="seed of the network draws")
    args = p.parse_args()
    folder = RUNS / "finding1" / "matched"
    folder.mkdir(parents=True, exist_ok=True)
    cache = folder / "proxy.sqlite"
    train_s = 0.0
    samples = {s: draw(s, args.per_space, args.lo_ms, args.hi_ms, args.seed) for s in SPACES}
    for s in SPACES:
        ev = [ProxyEvaluator(ProxySettings(steps=args.steps, eval_size=1000, threads=1, seed=k),
                             space=network_space(s), cache=cache) for k in range(args.proxy_seeds)]
        for i, rec in enumerate(samples[s]):
            res = [e.evaluate(rec["candidate"]) for e in ev]
            accs = [r.accuracy for r in res]
            train_s += sum(r.seconds for r in res)
            rec["accuracy"] = float(np.mean(accs))
            rec["accuracies"] = accs
            print(f"{s} {i}: {rec['latency_ms']:.2f} ms {rec['macs'] / 1e6:.0f} MMACs acc {rec['accuracy']:.4f}",
                  file=sys.stderr, flush=True)
    minutes = train_s / 60
    (folder / f"samples-n{args.per_space}-s{args.steps}-k{args.proxy_seeds}.json").write_text(json.dumps(
        {s: [{k: v for k, v in r.items() if k != "candidate"} for r in samples[s]] for s in SPACES}, indent=1))

    acc = {s: [r["accuracy"] for r in samples[s]] for s in SPACES}
    rows = []
    for s in SPACES:
        rs = samples[s]
        rows.append([f"`{s}`", len(rs), f"{statistics.mean(acc[s]):.4f} ± {statistics.stdev(acc[s]):.4f}",
                     f"{statistics.median(acc[s]):.4f}", f"{max(acc[s]):.4f}",
                     f"{statistics.median(r['latency_ms'] for r in rs):.2f}",
                     f"{statistics.median(r['macs'] for r in rs) / 1e6:.0f}",
                     f"{statistics.median(r['params'] for r in rs) / 1e6:.2f}",
                     f"{statistics.median(r['utilization'] for r in rs):.2f}"])
    pval = permutation_p(acc["edgetpu"], acc["mobilenetv2"])
    ps = prob_superiority(acc["edgetpu"], acc["mobilenetv2"])
    diff = statistics.mean(acc["edgetpu"]) - statistics.mean(acc["mobilenetv2"])
    fig = FIGURES / f"finding1_matched-n{args.per_space}-s{args.steps}.png"
    _plot(samples, fig, args)
    holds = "holds" if pval < 0.05 and diff > 0 else "is not shown"
    text = f"""# Finding 1 at matched latency, proxy-trained (no search)

Claim (FACTS.md): the `edgetpu` space (fused IBN per stage) holds better networks for the Edge TPU than the
MobileNetV2 / MnasNet-style space. Here: {args.per_space} networks drawn uniformly from each space (seed {args.seed}) whose
latency on the Coral-calibrated `edgetpu` preset is in [{args.lo_ms:g}, {args.hi_ms:g}] ms, each trained by the
Fashion-MNIST proxy ({args.steps} SGD steps of the half-width network at 32x32, batch 64; accuracy on 1,000
held-out training images; {args.proxy_seeds} proxy seed(s) averaged). The proxy is a ranking signal, not ImageNet accuracy;
the latency is the cost model's, on the 224-px ImageNet network. Command: `python
benchmarks/experiments/finding1_matched.py --per-space {args.per_space} --lo-ms {args.lo_ms:g} --hi-ms {args.hi_ms:g} --steps
{args.steps} --proxy-seeds {args.proxy_seeds} --seed {args.seed}` (the {len(SPACES) * args.per_space * args.proxy_seeds} trainings took {minutes:.0f} minutes on the 2-core machine, shared with other jobs;\nresults are cached, so a rerun only redraws and reports).

{table(["space", "networks", "proxy accuracy mean ± sd", "median", "best", "median latency ms", "median MMACs",
        "median params M", "median utilization"], rows)}

Difference of means (`edgetpu` - `mobilenetv2`): {diff:+.4f}; one-sided permutation p = {pval:.2g} (20,000 relabellings); a random
`edgetpu` network beats a random `mobilenetv2` one with probability {ps:.2f}. At this scale the finding **{holds}**
(threshold p < 0.05).

![accuracy vs latency]({fig.relative_to(FIGURES.parent).as_posix()})
"""
    write_report(f"finding1_matched-n{args.per_space}-s{args.steps}-k{args.proxy_seeds}", text)


def _plot(samples: dict[str, list[dict]], path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIGURES.mkdir(exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for s, marker in zip(SPACES, ("o", "s")):
        rs = samples[s]
        axes[0].scatter([r["latency_ms"] for r in rs], [r["accuracy"] for r in rs], marker=marker, label=s, alpha=0.7)
        axes[1].scatter([r["macs"] / 1e6 for r in rs], [r["accuracy"] for r in rs], marker=marker, label=s, alpha=0.7)
    axes[0].set_xlabel("latency on the edgetpu preset (ms)")
    axes[1].set_xlabel("MMACs (224 px)")
    axes[1].set_xscale("log")
    for ax in axes:
        ax.set_ylabel(f"Fashion-MNIST proxy accuracy ({args.steps} steps)")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
