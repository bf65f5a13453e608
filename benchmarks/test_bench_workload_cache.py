"""The main job through the workload cache (figures in benchmarks/README.md, section "The main job"):
``codesign evaluate --network mobilenetv2_100`` as a user runs it (a subprocess), traced (``--no-cache``, what
every call did before the cache) and read back from the cache, side by side in one run: wall seconds and peak RSS.
Goal: the cached call < 0.5 s and < 100 MiB, the first call no slower than a traced one."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
pytestmark = pytest.mark.skipif(TIME is None, reason="needs GNU time for peak RSS")
CLI = [str(Path(sys.executable).with_name("codesign")), "evaluate", "--network", "mobilenetv2_100"]


def _run(args: list[str], cache_dir: Path) -> tuple[float, float, str]:
    """(wall s, peak RSS MiB, stdout) of one CLI call."""
    env = {**os.environ, "CODESIGN_CACHE_DIR": str(cache_dir)}
    out = subprocess.run([TIME, "-f", "%e %M", *args], env=env, capture_output=True, text=True, check=True)
    wall, kib = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) / 1024, out.stdout


def test_evaluate_cached_vs_traced(benchmark, tmp_path):
    pytest.importorskip("timm")
    traced_s, traced_mib, traced_out = _run(CLI + ["--no-cache"], tmp_path)
    first_s, first_mib, first_out = _run(CLI, tmp_path)  # traces and writes the entry
    cached = benchmark.pedantic(_run, args=(CLI, tmp_path), rounds=3, iterations=1)
    cached_s, cached_mib, cached_out = cached
    assert cached_out == first_out == traced_out  # the same table
    benchmark.extra_info.update({
        "traced_s": traced_s, "traced_mib": traced_mib, "first_call_s": first_s, "first_call_mib": first_mib,
        "cached_s": cached_s, "cached_mib": cached_mib, "speedup": traced_s / cached_s,
        "first_over_traced": first_s / traced_s,
    })
