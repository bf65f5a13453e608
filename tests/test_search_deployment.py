"""Networks placed on Edge TPUs inside the search (codesign.search.deployment, issue 14): co-compiled networks share
one device's parameter cache, separately compiled ones reload their cache on every model switch, one device per
network, and pipelining over several devices. Each figure is checked against codesign.edgetpu_deploy (one
configuration at a time) or a closed form worked by hand."""
from __future__ import annotations

import numpy as np
import pytest

from codesign import EdgeTpuConfig, Layer, Workload
from codesign.edgetpu_deploy import cocompile, segment
from codesign.search.deployment import Deployment, cost_deployed
from codesign.cost import MapperOptions, evaluate_edgetpu

# 4 PEs x 64 KiB = 256 KiB on chip (as tests/test_edgetpu_deploy.py)
HW = EdgeTpuConfig(2, 2, 2, 8, core_mem_kib=4, pe_mem_kib=64, io_bw_gbps=1.0, clock_mhz=100, name="small",
                   activation_buffers=1.0)
HWS = [HW, HW.replace(io_bw_gbps=2.0), HW.replace(pe_mem_kib=128)]
MAPPER = MapperOptions()


def fcs(name, n, size):
    return Workload(name, [Layer.fc(f"{name}{i}", in_features=size, out_features=size) for i in range(n)])


A, B = fcs("a", 3, 250), fcs("b", 3, 250)


def test_cocompile_matches_the_compiler_rule_on_each_configuration():
    per, ok, _ = cost_deployed([A, B], HWS, Deployment("cocompile"), mapper=MAPPER, threads=1)
    assert ok.all()
    for j, hw in enumerate(HWS):
        ref = cocompile([A, B], hw)
        assert [m["latency_ms"][j] for m in per] == ref.latency_ms
        assert [m["cached_params_bytes"][j] for m in per] == ref.cached_params_bytes
    # on 256 KiB the second model caches one of its three 62,500-byte layers (test_edgetpu_deploy's hand count)
    assert per[1]["cached_params_bytes"][0] == 62500
    assert per[1]["cached_params_bytes"][2] == 187500  # 512 KiB: both models fit whole


def test_separate_compilation_reloads_the_cache_on_every_switch():
    per, ok, _ = cost_deployed([A, B], HWS, Deployment("separate"), mapper=MAPPER, threads=1)
    for j, hw in enumerate(HWS):
        alone = evaluate_edgetpu(B, hw).totals
        assert per[1]["cached_params_bytes"][j] == alone["cached_params_bytes"] == 187500
        # 187,500 bytes over 1 GB/s = 0.1875 ms, over 2 GB/s 0.09375 ms
        assert per[1]["reload_ms"][j] == pytest.approx(187500 / (hw.io_bw_gbps * 1e9) * 1e3, rel=1e-12)
        assert per[1]["latency_ms"][j] == pytest.approx(alone["latency_ms"] + per[1]["reload_ms"][j], rel=1e-12)
    assert per[1]["reload_ms"][0] == pytest.approx(0.1875)
    # one network alone never switches: no reload
    one, _, _ = cost_deployed([A], HWS, Deployment("separate"), mapper=MAPPER, threads=1)
    assert (one[0]["reload_ms"] == 0).all()


def test_chip_per_model_gives_each_network_the_whole_device():
    per, _, _ = cost_deployed([A, B], HWS, Deployment("chip-per-model"), mapper=MAPPER, threads=1)
    for j, hw in enumerate(HWS):
        assert per[1]["latency_ms"][j] == evaluate_edgetpu(B, hw).totals["latency_ms"]
    assert Deployment("chip-per-model").chips(2) == 2 and Deployment("cocompile", 3).chips(2) == 3


def test_segments_match_segment_and_pipeline():
    wl = fcs("f", 4, 300)
    per, ok, _ = cost_deployed([wl], HWS, Deployment("cocompile", 2), mapper=MAPPER, threads=2)
    for j, hw in enumerate(HWS):
        ref = segment(wl, hw, 2)
        assert per[0]["latency_ms"][j] == pytest.approx(ref.latency_ms, rel=1e-12)
        assert per[0]["throughput_ips"][j] == pytest.approx(ref.throughput_ips, rel=1e-12)
        assert per[0]["streamed_params_bytes"][j] == 0  # each half (180,000 bytes) is cached on its own chip


def test_default_single_network_equals_the_plain_batch():
    from codesign.cost import evaluate_batch

    per, _, _ = cost_deployed([A], HWS, Deployment(), mapper=MAPPER, threads=1)
    res = evaluate_batch(A, HWS, threads=1, mapper=MAPPER)
    for name in ("latency_ms", "energy_mj", "cycles", "utilization", "dram_bytes"):
        assert np.array_equal(per[0][name], res.total(name)), name


def test_a_failing_configuration_names_the_network():
    # half of one byte of core memory holds no weight at all: both networks fail there; the first one is named
    tiny = HW.replace(core_mem_kib=0.001)
    per, ok, reasons = cost_deployed([A, B], [HW, tiny], Deployment(), mapper=MAPPER, threads=1)
    assert ok.tolist() == [True, False]
    assert reasons[0] == "" and reasons[1] == "a: layer 'a0': no legal mapping"


@pytest.mark.parametrize("kw, match", [({"mode": "shared"}, "deploy must be one of"),
                                       ({"num_segments": 0}, "num_segments must be an int >= 1"),
                                       ({"num_segments": 1.5}, "num_segments must be an int >= 1")])
def test_bad_deployment_is_one_line(kw, match):
    with pytest.raises(ValueError, match=match):
        Deployment(**kw)


def test_more_segments_than_layers_is_refused():
    with pytest.raises(ValueError, match="num_segments=5 exceeds the 3 layers"):
        cost_deployed([A], [HW], Deployment("cocompile", 5), mapper=MAPPER, threads=1)


def test_search_multi_model_records_the_placement(tmp_path):
    from codesign.search.runner import run_search

    runs = {}
    for dep in ("cocompile", "separate"):
        out = tmp_path / dep
        run_search(out, budget=8, batch_size=4, population=4, hw="edgetpu-space", networks={"a": A, "b": B},
                   target_latency_ms=1.0, deploy=dep, progress=False, plot=False, threads=1)
        import json

        rows = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
        runs[dep] = [r for r in rows if r["status"] == "complete"]
        cfg = json.loads((out / "checkpoint.json").read_text())["config"]
        assert cfg["deployment"] == {"deploy": dep, "num_segments": 1}
    for co, sep in zip(runs["cocompile"], runs["separate"]):
        assert co["metrics"]["chips"] == sep["metrics"]["chips"] == 1
        assert sep["metrics"]["reload_ms.b"] > 0 and co["metrics"]["reload_ms.b"] == 0


def test_cli_rejects_a_bad_deploy(tmp_path):
    from typer.testing import CliRunner

    from codesign.cli import app

    res = CliRunner().invoke(app, ["search", "--out", str(tmp_path / "r"), "--deploy", "shared",
                                   "--networks", "mobilenetv2_100"])
    assert res.exit_code == 2 and "--deploy must be one of cocompile, separate, chip-per-model" in res.output
    res = CliRunner().invoke(app, ["search", "--out", str(tmp_path / "r"), "--num-segments", "0"])
    assert res.exit_code == 2 and "--num-segments must be >= 1" in res.output
