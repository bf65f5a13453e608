"""Finding 3: different use cases end in different accelerators.

Five arms on the Edge-TPU template's hardware space (area limit ``--area-mm2``, default 62 mm^2), MnasNet soft reward, same controller,
budget and seeds:

* ``latency`` - joint search (``edgetpu`` space x hardware), latency target;
* ``energy`` - joint search, energy-per-inference target instead;
* ``single-model`` - hardware-only search for EfficientNet-EdgeTPU-S, latency target;
* ``multi-model`` - hardware-only search for one accelerator running EfficientNet-EdgeTPU-S, MobileNetV2 and
  ResNet-50 (timm definitions, 224 px), their summed latency against a target;
* ``multi-model-max`` - the same three networks, the slowest one's latency against the single-model target
  (every network must meet its deadline).

The best design of every search is shown side by side, with the mean configuration of each arm's ten best
designs. Because the hardware-only use cases have fixed networks, their exact optimum is also computed without a
search: every one of the template's 50,000 configurations is costed for the three networks (``codesign.sweep``;
cached in ``runs/finding3/sweep-<mapper metric>``), and each use case's best configuration under the area limit
is listed (``--exhaustive-areas``), so the comparison of use cases does not depend on search noise.

    python benchmarks/experiments/finding3_use_cases.py          # surrogate accuracy, 3 seeds x 300 trials
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (HW_HEADER, RUNS, accuracy_kwargs, accuracy_name, best_trial, complete, hw_row, parser,  # noqa: E402
                    search, table, tag_of, write_report)

MULTI = ("efficientnet_es", "mobilenetv2_100", "resnet50")
HW_FIELDS = ("pe_x", "pe_y", "lanes", "simd", "pe_mem_kib", "core_mem_kib", "io_bw_gbps")


def sweep_all(metric: str):
    """Every configuration of ``edgetpu-space`` x the three networks, mapped for ``metric`` (cached on disk)."""
    from codesign.cost import MapperOptions
    from codesign.sweep import read_sweep, sweep

    out = RUNS / "finding3" / f"sweep-{metric}"
    if not (out / "_sweep.json").is_file() or len(list(out.glob("part-*.parquet"))) < 49:
        sweep(list(MULTI), "edgetpu-space", out=out, resume=(out / "_sweep.json").is_file(),
              mapper=MapperOptions(metric=metric), progress=True)
    return read_sweep(out)


def exhaustive(areas: list[float]) -> tuple[str, list[list[str]]]:
    """Each fixed-network use case's optimal configuration, per area limit."""
    lat = sweep_all("latency")
    eng = sweep_all("energy")

    def wide(df, col):
        return df.pivot_table(index="config_id", columns="network", values=col)

    lat_ms, eng_mj = wide(lat, "latency_ms"), wide(eng, "energy_mj")
    area = lat.groupby("config_id")["area_mm2"].first()
    cfg = lat.groupby("config_id")[list(HW_FIELDS)].first()
    cases = [
        ("latency, EfficientNet-EdgeTPU-S", lat_ms["efficientnet_es"], "ms"),
        ("latency, MobileNetV2", lat_ms["mobilenetv2_100"], "ms"),
        ("latency, ResNet-50", lat_ms["resnet50"], "ms"),
        ("latency, 3 models, sum", lat_ms[list(MULTI)].sum(axis=1), "ms"),
        ("latency, 3 models, max", lat_ms[list(MULTI)].max(axis=1), "ms"),
        ("energy, EfficientNet-EdgeTPU-S", eng_mj["efficientnet_es"], "mJ"),
        ("energy, 3 models, sum", eng_mj[list(MULTI)].sum(axis=1), "mJ"),
    ]
    rows = []
    for a in areas:
        ok = area[area <= a].index
        for name, v, unit in cases:
            v = v.reindex(ok).dropna()
            i = v.idxmin()
            h = cfg.loc[i]
            hw = {k: (int(h[k]) if k in ("pe_x", "pe_y", "lanes", "simd") else float(h[k])) for k in HW_FIELDS}
            rows.append([f"{a:g}", name, *hw_row(hw), f"{area[i]:.1f}", f"{v[i]:.3f} {unit}",
                         f"{lat_ms.loc[i, 'efficientnet_es']:.3f}", f"{eng_mj.loc[i, 'efficientnet_es']:.3f}"])
    n_cfg = len(area)
    return (f"{n_cfg:,} configurations x {len(MULTI)} networks, latency-mapped and energy-mapped"), rows


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(seeds=3)
    p.add_argument("--target-ms", type=float, default=3.0, help="latency target of the single-network arms")
    p.add_argument("--target-mj", type=float, default=3.0, help="energy target of the energy arm")
    p.add_argument("--multi-target-ms", type=float, default=8.0, help="summed-latency target of the multi-model arm")
    p.add_argument("--mode", default="soft", choices=("soft", "hard", "abs"),
                   help="reward (default MnasNet soft: every ms or mJ saved counts, so the hardware is pushed)")
    p.add_argument("--area-mm2", type=float, default=62.0, help="area limit of the searches (62: the baseline's)")
    p.add_argument("--arms", default="latency,energy,single-model,multi-model,multi-model-max",
                   help="arms to run (comma-separated)")
    p.add_argument("--exhaustive-areas", default="62,27",
                   help="area limits of the exhaustive use-case optima (comma-separated; '' to skip)")
    args = p.parse_args()
    tag = (f"{tag_of(args)}-{args.mode}-b{args.budget}" + ("" if args.population == 32 else f"-p{args.population}")
           + ("" if args.area_mm2 == 62.0 else f"-a{args.area_mm2:g}"))
    common = dict(hw="edgetpu-space", controller=args.controller, budget=args.budget, batch_size=8,
                  population=args.population, sample_size=max(1, args.population // 4), area_limit_mm2=args.area_mm2, mode=args.mode)
    arms = {
        "latency": dict(space=args.space, strategy="joint", target_latency_ms=args.target_ms, **accuracy_kwargs(args)),
        "energy": dict(space=args.space, strategy="joint", target_latency_ms=None, target_energy_mj=args.target_mj,
                       **accuracy_kwargs(args)),
        "single-model": dict(space=args.space, strategy="hardware-only", target_latency_ms=args.target_ms,
                             **accuracy_kwargs(args)),
        "multi-model": dict(networks=",".join(MULTI), target_latency_ms=args.multi_target_ms, aggregate="sum"),
        "multi-model-max": dict(networks=",".join(MULTI), target_latency_ms=args.target_ms, aggregate="max"),
    }
    arms = {a: arms[a] for a in args.arms.split(",") if a in arms}
    res = {}
    for arm, kw in arms.items():
        res[arm] = []
        for seed in range(args.seeds):
            trials = search(RUNS / "finding3" / tag / f"{arm}-s{seed}", fresh=args.fresh, seed=seed, **common, **kw)
            res[arm].append(trials)
            b = best_trial(trials)
            print(f"{arm} seed {seed}: best {b['hw']['name'] if b else None}", file=sys.stderr)

    best_rows, mean_rows = [], []
    for arm in arms:
        for seed, trials in enumerate(res[arm]):
            b = best_trial(trials)
            if b is None:
                continue
            m = b["metrics"]
            best_rows.append([arm, seed, *hw_row(b["hw"]), f"{m['area_mm2']:.1f}", f"{m['latency_ms']:.3f}",
                              f"{m['energy_mj']:.3f}", f"{m['accuracy']:.4f}", f"{b['reward']:.4f}"])
        top = sorted((t for tr in res[arm] for t in complete(tr)), key=lambda t: -t["reward"])[:10]
        if top:
            mean_rows.append([arm] + [f"{statistics.mean(t['hw'][k] for t in top):.3g}" for k in
                                      ("pe_x", "pe_y", "lanes", "simd")]
                             + [f"{statistics.mean(t['hw']['pe_x'] * t['hw']['pe_y'] * t['hw']['lanes'] * t['hw']['simd'] for t in top):.0f}"]
                             + [f"{statistics.mean(t['hw'][k] for t in top) / d:.3g}" for k, d in
                                (("pe_mem_kib", 1024), ("core_mem_kib", 1), ("io_bw_gbps", 1))]
                             + [f"{statistics.mean(t['metrics']['area_mm2'] for t in top):.1f}",
                                f"{statistics.mean(t['metrics']['latency_ms'] for t in top):.3f}",
                                f"{statistics.mean(t['metrics']['energy_mj'] for t in top):.3f}"])
    areas = [float(a) for a in args.exhaustive_areas.split(",") if a.strip()]
    ex_text = ""
    if areas:
        what, ex_rows = exhaustive(areas)
        ex_text = f"""
## Exact optimum of each fixed-network use case (no search)

{what}; each row is the configuration that minimises the use case's quantity among those within the area limit
(the soft reward's optimum when the networks are fixed: accuracy is constant, so the reward only grows as the
quantity falls). Energy rows use the energy-metric mapper. The last two columns are EfficientNet-EdgeTPU-S's latency
(latency-mapped) and energy (energy-mapped) on that configuration, so the cost of designing for another use case is
visible.

{table(["area limit mm^2", "use case", *HW_HEADER, "area mm^2", "optimum", "ES latency ms", "ES energy mJ"], ex_rows)}
"""
    text = f"""# Finding 3: use cases end in different accelerators

Claim (FACTS.md): different use cases give different designs. Setup: Edge-TPU template hardware space (50,000
configurations, area limit {args.area_mm2:g} mm^2), MnasNet `{args.mode}` reward, controller `{args.controller}`, {args.budget} trials per search,
seeds 0..{args.seeds - 1}. Arms: `latency` - joint search (`{args.space}` space), target {args.target_ms:g} ms; `energy` - joint
search, target {args.target_mj:g} mJ per inference (no latency target; mapper metric energy); `single-model` - hardware
for {"EfficientNet-EdgeTPU-S" if args.space == "edgetpu" else f"the {args.space} space's reference network"}, target {args.target_ms:g} ms; `multi-model` - one accelerator for {", ".join(MULTI)}
(summed latency, target {args.multi_target_ms:g} ms; accuracies fixed, so the reward is latency-only); `multi-model-max` -
the same networks, the slowest one's latency against {args.target_ms:g} ms. Accuracy signal of
the joint arms: {accuracy_name(args)}. Command: `python benchmarks/experiments/finding3_use_cases.py --space {args.space} --accuracy
{args.accuracy} --budget {args.budget} --seeds {args.seeds} --controller {args.controller} --mode {args.mode} --population {args.population}
--area-mm2 {args.area_mm2:g}`.
{ex_text}
## Searches

Best design of every search:

{table(["arm", "seed", *HW_HEADER, "area mm^2", "latency ms", "energy mJ", "accuracy", "reward"], best_rows)}

Mean configuration of each arm's ten best designs (all seeds):

{table(["arm", "PEs x", "PEs y", "lanes", "SIMD", "MACs/cycle", "PE mem MiB", "core mem KiB", "I/O GB/s",
        "area mm^2", "latency ms", "energy mJ"], mean_rows)}
"""
    write_report(f"finding3_{tag}", text)


if __name__ == "__main__":
    main()
