"""Co-compilation and segmentation over several Edge TPUs (codesign.edgetpu_deploy, issue 14)."""
from __future__ import annotations

import json

import pytest

from codesign import EdgeTpuConfig, Layer, Workload
from codesign.edgetpu_deploy import cocompile, segment, segment_bounds

# 4 PEs x 64 KiB = 256 KiB on chip
HW = EdgeTpuConfig(2, 2, 2, 8, core_mem_kib=4, pe_mem_kib=64, io_bw_gbps=1.0, clock_mhz=100, name="small",
                   activation_buffers=1.0)


def fcs(name, n, size):
    return Workload(name, [Layer.fc(f"{name}{i}", in_features=size, out_features=size) for i in range(n)])


def test_segment_bounds_by_hand():
    assert segment_bounds([1, 1, 1, 1], 2) == [0, 2]
    assert segment_bounds([10, 0, 0, 10], 2) == [0, 1]   # half the bytes in the first layer
    assert segment_bounds([0, 0, 0], 3) == [0, 1, 2]      # no parameters: by layer count
    with pytest.raises(ValueError, match="num_segments"):
        segment_bounds([1, 2], 3)


def test_cocompiled_models_share_the_cache_in_order():
    # each model: three 250x250 FCs = 187,500 bytes; activations reserve 250 + 250 bytes. The first model caches
    # all of it in 262,144 - 500 bytes; the second gets 262,144 - 187,500 - 500 = 74,144: one 62,500-byte layer
    a, b = fcs("a", 3, 250), fcs("b", 3, 250)
    first, second = cocompile([a, b], HW).cached_params_bytes
    assert first == 187500 and second == 62500
    assert cocompile([b, a], HW).cached_params_bytes == [187500, 62500]
    assert cocompile([b], HW).cached_params_bytes == [187500]


def test_segments_cache_on_their_own_chips():
    # four 300x300 FCs = 360,000 bytes: one chip streams half of them; two chips cache all
    wl = fcs("f", 4, 300)
    one, two = segment(wl, HW, 1), segment(wl, HW, 2)
    assert one.costs[0].totals["streamed_params_bytes"] > 0
    assert all(c.totals["streamed_params_bytes"] == 0 for c in two.costs)
    assert two.starts == (0, 2)
    assert two.latency_ms == pytest.approx(sum(two.segment_ms))
    assert two.throughput_ips == pytest.approx(1000 / max(two.segment_ms))
    assert two.latency_ms < one.latency_ms


def test_cli_num_segments(tmp_path):
    from typer.testing import CliRunner

    from codesign.cli import app

    csv = tmp_path / "t.csv"
    csv.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                   "c1, 16, 16, 3, 3, 8, 16, 1,\nc2, 14, 14, 3, 3, 16, 16, 1,\n")
    res = CliRunner().invoke(app, ["evaluate", "-n", str(csv), "--hw", "edgetpu", "--num-segments", "2", "-f", "json"])
    assert res.exit_code == 0, res.output
    seg = json.loads(res.output)["segments"]
    assert seg["num_segments"] == 2 and len(seg["segments"]) == 2
    bad = CliRunner().invoke(app, ["evaluate", "-n", str(csv), "--hw", "systolic", "--num-segments", "2"])
    assert bad.exit_code == 2 and "num-segments" in bad.output
