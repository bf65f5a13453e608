"""Accuracy-side benchmarks (figures in benchmarks/README.md, section "Accuracy signals").

* ``test_proxy_cost``: CPU cost of one accuracy-proxy evaluation (default settings, 80 steps) on sampled
  networks of the default search space and of the ``edgetpu`` space.
* ``test_zero_cost_cost``: CPU cost of each zero-cost proxy on one network.
* ``test_rank_correlation_study``: on ``CODESIGN_BENCH_N`` (default 50) networks sampled from the
  ``CODESIGN_BENCH_SPACE`` space (default ``edgetpu``; the MobileNetV2-style ``NetworkSpace`` if that is
  missing), the Spearman and Kendall rank correlation of every cheap signal (zero-cost proxies, parameter
  count, full-size MACs, the accuracy predictor's out-of-fold prediction) with the proxy-trained accuracy,
  and each signal's cost per candidate. With ``CODESIGN_BENCH_SEEDS=2`` the proxy is trained a second time with
  another seed, which measures how well the proxy agrees with itself (the ceiling for any cheap signal).
  With ``CODESIGN_BENCH_REF_STEPS=400`` the first ``CODESIGN_BENCH_REF_N`` (default 15) networks are also
  trained for that many steps, and every signal, the 80-step proxy included, is correlated with that longer
  training on that subset (is the proxy itself a good ranking of longer training?).

Not CI tests: the study trains 50+ networks (about 45 s each on a loaded 2-core machine for the edgetpu
space). Results are kept in a SQLite cache (``CODESIGN_BENCH_CACHE``, default
``~/.cache/codesign/bench_accuracy.sqlite``) so reruns and larger N only train what is new, and written as
JSON to ``CODESIGN_BENCH_OUT`` (default ``<tmp>/codesign_accuracy_study.json``). Run::

    CODESIGN_BENCH_N=50 python -m pytest benchmarks/test_bench_accuracy.py -k study -s
    python benchmarks/test_bench_accuracy.py            # the study alone, printing the table
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

N = int(os.environ.get("CODESIGN_BENCH_N", "50"))
SPACE = os.environ.get("CODESIGN_BENCH_SPACE", "edgetpu")
SEEDS = int(os.environ.get("CODESIGN_BENCH_SEEDS", "1"))
REF_STEPS = int(os.environ.get("CODESIGN_BENCH_REF_STEPS", "0"))
REF_N = int(os.environ.get("CODESIGN_BENCH_REF_N", "15"))
THREADS = int(os.environ.get("CODESIGN_BENCH_THREADS", "1"))
CACHE = Path(os.environ.get("CODESIGN_BENCH_CACHE", str(Path.home() / ".cache" / "codesign" / "bench_accuracy.sqlite")))
OUT = Path(os.environ.get("CODESIGN_BENCH_OUT", str(Path(tempfile.gettempdir()) / "codesign_accuracy_study.json")))


def get_space(name: str = SPACE) -> Any:
    """The named network space (``codesign.space.registry``), else the MobileNetV2-style ``NetworkSpace``."""
    try:
        from codesign.space.registry import network_space

        return network_space(name)
    except Exception:  # registry or space not there (yet)
        from codesign.space import NetworkSpace

        return NetworkSpace()


def _needs_fmnist() -> None:
    from codesign.evaluation.proxy import _data_dir

    if not (_data_dir(None) / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")


def sample_unique(space: Any, n: int, seed: int = 0) -> list[Any]:
    """``n`` candidates building ``n`` different networks (block strings), sampled uniformly with ``seed``."""
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    while len(out) < n:
        c = space.sample(rng)
        key = tuple(b for s in space.to_block_strings(c) for b in s)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def run_study(n: int = N, space_name: str = SPACE, seeds: int = SEEDS, threads: int = THREADS,
              cache_path: Path = CACHE, progress: bool = True, ref_steps: int = REF_STEPS,
              ref_n: int = REF_N) -> dict[str, Any]:
    """The rank-correlation study (see the module docstring); returns the JSON-able results."""
    import torch

    from codesign.evaluation import AccuracyPredictor, ProxyEvaluator, ZeroCostEvaluator, kendall, spearman
    from codesign.evaluation.cache import ResultCache

    torch.set_num_threads(threads)
    space = get_space(space_name)
    cache = ResultCache(cache_path)
    cands = sample_unique(space, n)
    proxies = [ProxyEvaluator(space=space, threads=threads, seed=s, cache=cache) for s in range(seeds)]
    zc = ZeroCostEvaluator(proxies[0], batch_size=64, cache=cache)
    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    for i, c in enumerate(cands):
        row: dict[str, Any] = {"blocks": [b for s in space.to_block_strings(c) for b in s]}
        for s, p in enumerate(proxies):
            r = p.evaluate(c)
            row[f"proxy_acc_seed{s}"] = r.accuracy
            row[f"proxy_seconds_seed{s}"] = r.seconds
            row["proxy_params"] = r.params
        z = zc.evaluate(c)
        row.update({f"zc_{k}": v for k, v in z.scores.items()})
        row.update({f"zc_seconds_{k}": v for k, v in z.seconds.items()})
        row["zc_build_seconds"] = z.build_seconds
        t0 = time.perf_counter()
        row["macs"] = float(space.workload(c).macs)
        row["macs_seconds"] = time.perf_counter() - t0
        rows.append(row)
        if progress:
            print(f"[{i + 1}/{n}] acc {row['proxy_acc_seed0']:.3f} ({row['proxy_seconds_seed0']:.1f} s) "
                  f"synflow {row['zc_synflow']:.3g} naswot {row['zc_naswot']:.1f} "
                  f"elapsed {time.perf_counter() - t_start:.0f} s", flush=True)
    acc = np.array([r["proxy_acc_seed0"] for r in rows])
    signals: dict[str, tuple[np.ndarray, float]] = {}
    for name in zc.proxies:
        vals = np.array([r[f"zc_{name}"] for r in rows])
        cost = statistics.median(r[f"zc_seconds_{name}"] + r["zc_build_seconds"] for r in rows)
        signals[name] = (vals, cost)
    signals["params"] = (np.array([r["proxy_params"] for r in rows], dtype=float),
                         statistics.median(r["zc_build_seconds"] for r in rows))
    signals["macs"] = (np.array([r["macs"] for r in rows]), statistics.median(r["macs_seconds"] for r in rows))
    for kind, feat in (("mlp", "blocks"), ("ridge", "onehot")):
        t0 = time.perf_counter()
        pred = AccuracyPredictor(space, kind=kind, featurizer=feat, seed=0).cross_validate(cands, acc, folds=min(5, n))
        signals[f"predictor_{kind}_{feat}_cv5"] = (pred, (time.perf_counter() - t0) / n)
    if seeds > 1:
        signals["proxy_seed1"] = (np.array([r["proxy_acc_seed1"] for r in rows]),
                                  statistics.median(r["proxy_seconds_seed1"] for r in rows))
    table = {name: {"spearman": spearman(v, acc), "kendall": kendall(v, acc), "seconds_per_candidate": cost}
             for name, (v, cost) in signals.items()}
    reference: dict[str, Any] = {}
    if ref_steps > 0:
        m = min(ref_n, n)
        ref = ProxyEvaluator(space=space, threads=threads, steps=ref_steps, cache=cache)
        ref_acc = []
        for i, c in enumerate(cands[:m]):
            r = ref.evaluate(c)
            ref_acc.append(r.accuracy)
            rows[i]["ref_acc"], rows[i]["ref_seconds"] = r.accuracy, r.seconds
            if progress:
                print(f"[ref {i + 1}/{m}] {ref_steps} steps: acc {r.accuracy:.3f} ({r.seconds:.1f} s)", flush=True)
        ra = np.array(ref_acc)
        ref_signals = {"proxy_seed0": (acc, statistics.median(r["proxy_seconds_seed0"] for r in rows))}
        ref_signals.update(signals)
        reference = {
            "steps": ref_steps, "n": m,
            "accuracy": {"min": float(ra.min()), "median": float(np.median(ra)), "max": float(ra.max())},
            "seconds_median": statistics.median(r["ref_seconds"] for r in rows[:m]),
            "signals": {name: {"spearman": spearman(v[:m], ra), "kendall": kendall(v[:m], ra)}
                        for name, (v, _) in ref_signals.items()},
        }
    result = {
        "reference": reference,
        "space": repr(space), "n": n, "threads": threads, "seeds": seeds,
        "proxy_settings": proxies[0].settings.to_dict(),
        "proxy_accuracy": {"min": float(acc.min()), "median": float(np.median(acc)), "max": float(acc.max())},
        "proxy_seconds_median": statistics.median(r["proxy_seconds_seed0"] for r in rows),
        "signals": table, "rows": rows, "wall_seconds": time.perf_counter() - t_start,
    }
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [f"{result['n']} networks of {result['space'].split('(')[0]}; proxy accuracy "
             f"{result['proxy_accuracy']['min']:.3f}-{result['proxy_accuracy']['max']:.3f} "
             f"(median {result['proxy_accuracy']['median']:.3f}), proxy cost median "
             f"{result['proxy_seconds_median']:.1f} s", "",
             "| signal | Spearman | Kendall | cost per candidate |", "|---|---:|---:|---:|"]
    for name, s in result["signals"].items():
        lines.append(f"| {name} | {s['spearman']:+.3f} | {s['kendall']:+.3f} | {s['seconds_per_candidate'] * 1e3:,.0f} ms |")
    ref = result.get("reference") or {}
    if ref:
        lines += ["", f"Against {ref['steps']}-step training of the first {ref['n']} networks (accuracy "
                      f"{ref['accuracy']['min']:.3f}-{ref['accuracy']['max']:.3f}, median {ref['seconds_median']:.0f} s each):",
                  "", "| signal | Spearman | Kendall |", "|---|---:|---:|"]
        for name, s in ref["signals"].items():
            lines.append(f"| {name} | {s['spearman']:+.3f} | {s['kendall']:+.3f} |")
    return "\n".join(lines)


# -- pytest entry points -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch_one_thread():
    torch = pytest.importorskip("torch")
    pytest.importorskip("timm")
    prev = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield torch
    torch.set_num_threads(prev)


@pytest.mark.parametrize("space_name", ["mobilenetv2-base", "edgetpu"])
def test_proxy_cost(benchmark, torch_one_thread, space_name):
    """One default proxy evaluation (80 steps of batch 64 + 1000 held-out images), 3 sampled networks."""
    _needs_fmnist()
    from codesign.evaluation import ProxyEvaluator

    space = get_space(space_name)
    ev = ProxyEvaluator(space=space, threads=THREADS)
    ev.data()  # loading Fashion-MNIST (~2 s) is paid once per evaluator, not per network
    cands = iter(sample_unique(space, 3, seed=1))
    res = benchmark.pedantic(lambda: ev.evaluate(next(cands)), rounds=3, iterations=1)
    benchmark.extra_info["accuracy"] = res.accuracy
    benchmark.extra_info["space"] = repr(space)


@pytest.mark.parametrize("name", ["synflow", "naswot", "jacob_cov", "grad_norm", "snip"])
def test_zero_cost_cost(benchmark, torch_one_thread, name):
    """One zero-cost score (batch 64 of Fashion-MNIST, half-width proxy network) of the space's reference."""
    _needs_fmnist()
    from codesign.evaluation import ProxyEvaluator
    from codesign.evaluation.proxy import _build_proxy_model
    from codesign.evaluation.zero_cost import PROXIES, ZeroCostEvaluator

    space = get_space()
    z = ZeroCostEvaluator(ProxyEvaluator(space=space, threads=THREADS), batch_size=64)
    x, y = z.batch()
    data = z.proxy.data()
    ref = getattr(space, "reference", None) or sample_unique(space, 1)[0]
    model = _build_proxy_model(space, ref, z.proxy.settings, num_classes=data.num_classes, in_chans=data.in_chans)
    value = benchmark.pedantic(PROXIES[name], args=(model, x, y), rounds=3, iterations=1)
    benchmark.extra_info["score"] = value


def test_rank_correlation_study(torch_one_thread):
    """>= 50 networks: rank correlation of each cheap signal with proxy-trained accuracy (minutes to an hour)."""
    _needs_fmnist()
    result = run_study()
    OUT.write_text(json.dumps(result, indent=1, default=float))
    print("\n" + markdown(result) + f"\n(results: {OUT})")
    assert result["n"] == N and len(result["rows"]) == N
    for name, s in result["signals"].items():
        assert -1.0 <= s["spearman"] <= 1.0 or np.isnan(s["spearman"]), name


if __name__ == "__main__":
    res = run_study()
    OUT.write_text(json.dumps(res, indent=1, default=float))
    print(markdown(res))
    print(f"results: {OUT}")
