"""Sweep throughput and memory (figures in benchmarks/README.md, section "Sweeps, mapping studies and peers").

* Edge-TPU-like sweep of the published space (sampled) for MobileNetV2, at 1 and 2 C++ threads, through
  ``codesign.sweep`` with Parquet output: configurations per second, end to end (planning, configuration
  objects, batched calls, Parquet writes, Pareto front).
* Systolic sweep (ResNet-50) at 1 and 2 threads.
* Memory per million result rows: peak RSS of a subprocess writing 1,000,000 rows to Parquet, minus that of one
  writing 100,000 rows with the same chunk size (flat memory means about 0 MB per million rows).
* Mapping study of one layer (the whole map space, ranked).
"""
from __future__ import annotations

import json
import subprocess
import time
import sys
import textwrap

import pytest

import codesign
from codesign import sweep as sw

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def mobilenetv2():
    pytest.importorskip("timm")
    return codesign.from_timm("mobilenetv2_100")


def _sweep_throughput(benchmark, network, space, n, threads, chunk_size, folder):
    """One timed sweep of ``n`` sampled configurations; configurations per wall and per CPU second."""
    counter = iter(range(1000))

    def run():
        return sw.sweep(network, space, sample=n, seed=0, out=folder / f"s{next(counter)}", threads=threads,
                        chunk_size=chunk_size)

    c0 = time.process_time()
    summ = benchmark.pedantic(run, rounds=1, iterations=1)
    cpu = time.process_time() - c0
    benchmark.extra_info.update({"configurations": n, "configs_per_s": n / benchmark.stats.stats.mean,
                                 "cpu_s": cpu, "configs_per_cpu_s": n / cpu})
    assert summ.rows == n
    return summ


@pytest.mark.parametrize("threads", [1, 2])
def test_sweep_edgetpu_space_throughput(benchmark, mobilenetv2, tmp_path, threads):
    summ = _sweep_throughput(benchmark, mobilenetv2, "edgetpu-space", 1000 * threads, threads, 500, tmp_path)
    assert len(summ.pareto)


@pytest.mark.parametrize("threads", [1, 2])
def test_sweep_systolic_space_throughput(benchmark, resnet50, tmp_path, threads):
    _sweep_throughput(benchmark, resnet50, "systolic-space", 5000, threads, 2500, tmp_path)


MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import codesign
    from codesign import sweep as sw
    n_rows, out = int(sys.argv[1]), sys.argv[2]
    nets = [codesign.Workload(f"n{i}", [codesign.Layer.conv("c", c=8 + i, k=16, h=14, w=14, r=3, padding=1)])
            for i in range(10)]
    space = {"base": "systolic", "grid": {"rows": list(range(1, 101)), "cols": list(range(1, 101)),
                                          "dataflow": ["os", "ws", "is"], "dram_bw_words_per_cycle": [4, 8, 16, 32]}}
    t = time.perf_counter()
    summ = sw.sweep(nets, space, sample=n_rows // len(nets), seed=0, out=out, chunk_size=5000, threads=1)
    # VmHWM: this process's peak RSS (ru_maxrss would include the parent's, inherited through fork and exec)
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(json.dumps({"rows": summ.rows, "seconds": time.perf_counter() - t, "max_rss_mb": hwm / 1024}))
""")


def _measure(tmp_path, n_rows):
    script = tmp_path / "mem.py"
    script.write_text(MEMORY_SCRIPT)
    out = subprocess.run([sys.executable, str(script), str(n_rows), str(tmp_path / f"m{n_rows}")], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_sweep_memory_per_million_rows(benchmark, tmp_path):
    small = _measure(tmp_path, 100_000)
    big = benchmark.pedantic(_measure, args=(tmp_path, 1_000_000), rounds=1, iterations=1)
    assert big["rows"] == 1_000_000
    growth = (big["max_rss_mb"] - small["max_rss_mb"]) / 0.9    # MB per million extra rows
    benchmark.extra_info.update({"rss_mb_100k_rows": small["max_rss_mb"], "rss_mb_1m_rows": big["max_rss_mb"],
                                 "rss_growth_mb_per_million_rows": growth, "rows_per_s": 1e6 / big["seconds"]})
    assert growth < 100, (small, big)


def test_map_study_one_layer(benchmark):
    from codesign.mapping_study import map_study, parse_layer

    layer = parse_layer("conv K=64 C=64 P=56 Q=56 R=3 S=3")
    study = benchmark(map_study, layer, codesign.preset("edgetpu"))
    benchmark.extra_info["mappings"] = study.size


def test_sweep_whole_edgetpu_space_side_by_side(benchmark, tmp_path, monkeypatch):
    """The whole published space x MobileNetV2 (built analytically, as `codesign sweep --network mobilenetv2_100`
    does), end to end with Parquet output, beside two references measured in the same run: the same sweep in
    plain id order (a grid and its transpose in different chunks, as before issue 15's plan orders) and one
    batch call on all 50,000 rows (the mapper alone, no chunks). Ratios in extra_info."""
    from codesign import sweep_plan
    from codesign.edgetpu_cost import evaluate_block
    from codesign.hardware_block import edgetpu_block

    wl = sw._load_network("mobilenetv2_100")
    space = sw.load_space("edgetpu-space")

    def timed(fn):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        return out, time.perf_counter() - t, time.process_time() - c

    with monkeypatch.context() as m:
        m.setattr(sweep_plan, "default_order", lambda space: "id")
        _, id_wall, id_cpu = timed(lambda: sw.sweep(wl, space, out=tmp_path / "by_id"))
    ids = sweep_plan.order_ids(space, __import__("numpy").arange(space.size), "pe-pairs")
    block = edgetpu_block(space.base, space.decode(ids), [str(i) for i in ids])
    _, batch_wall, batch_cpu = timed(lambda: evaluate_block(wl, block, totals_only=True))
    c0 = time.process_time()
    summ = benchmark.pedantic(lambda: sw.sweep(wl, space, out=tmp_path / "pairs"), rounds=1, iterations=1)
    wall, cpu = benchmark.stats.stats.mean, time.process_time() - c0
    assert summ.rows == 50_000
    benchmark.extra_info.update({
        "wall_s": wall, "cpu_s": cpu, "id_order_wall_s": id_wall, "id_order_cpu_s": id_cpu,
        "one_batch_wall_s": batch_wall, "one_batch_cpu_s": batch_cpu,
        "speedup_vs_id_order": id_wall / wall, "sweep_over_one_batch": wall / batch_wall})
