"""Mapping studies: layer text, ranked map spaces equal to the mapper and the cost model, ``codesign map`` (top-k,
--all to Parquet, exit 2 on bad input) and ``codesign plot`` (PNG)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import codesign
from codesign import sweep as sw
from codesign.cli.mapping import register
from codesign.mapping_study import map_study, parse_layer, plot_sweep

L = codesign.Layer


def run(*args):
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    return CliRunner().invoke(app, [str(a) for a in args])


# ------------------------------------------------------------------------------------------------ layer text
@pytest.mark.parametrize("text, want", [
    ("conv K=64 C=64 P=56 Q=56 R=3 S=3", L.conv("conv", c=64, k=64, h=56, w=56, r=3, padding=1)),
    ("K=64, C=32, H=57, W=57, R=3, stride=2", L.conv("conv", c=32, k=64, h=57, w=57, r=3, stride=2, padding=1)),
    ("conv K=16 C=3 P=112 R=3 stride=2", L.conv("conv", c=3, k=16, h=224, w=224, r=3, stride=2, padding=1)),
    ("conv K=8 C=8 P=10 Q=12 R=1 pad=0 N=4", L.conv("conv", c=8, k=8, h=10, w=12, r=1, n=4)),
    ("conv K=64 C=64 P=28 R=3 groups=4", L.conv("conv", c=64, k=64, h=28, w=28, r=3, padding=1, groups=4)),
    ("dwconv C=96 P=56 R=3 stride=2 name=dw1", L.conv("dw1", c=96, k=96, h=112, w=112, r=3, stride=2, padding=1,
                                                     groups=96)),
    ("fc C=1280 K=1000", L.fc("fc", in_features=1280, out_features=1000)),
    ("gemm M=128 N=64 K=256", L.gemm("gemm", m=128, n=64, k=256)),
])
def test_parse_layer(text, want):
    got = parse_layer(text)
    assert got == want
    assert (got.p, got.q) == (want.p, want.q)


@pytest.mark.parametrize("text, needle", [
    ("conv K=64 C=64 P=56 Z=3", "unknown field 'Z' for conv"),
    ("conv K=64 C=x P=56", "C must be an integer, got 'x'"),
    ("conv K=0 C=4 P=5", "K must be >= 1, got 0"),
    ("conv C=4 P=5", "conv needs K"),
    ("conv K=4 C=4", "needs P and Q (output size) or H and W"),
    ("conv K=6 C=4 P=5 groups=4", "Layer.k must be divisible by Layer.groups = 4, got 6"),
    ("matmul M=3", "unknown kind 'matmul'"),
    ("dwconv C=8 K=16 P=4", "dwconv needs K = C"),
    ("conv K=4 C=4 P=5 K=5", "K given twice"),
    ("conv K=4 C=4 P=1 R=1 pad=3", "implied by the output size"),
    ("", "--layer must be text"),
])
def test_parse_layer_errors_name_the_field(text, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        parse_layer(text)


# ------------------------------------------------------------------------------------------------ map study
LAYER = L.conv("c", c=32, k=48, h=28, w=28, r=3, padding=1)


@pytest.mark.parametrize("metric, key, other", [("latency", "cycles", "energy_pj"), ("energy", "energy_pj", "cycles"),
                                                ("edp", "edp_pj_cycles", "cycles")])
def test_edgetpu_study_ranks_the_whole_map_space_and_best_is_the_mappers(metric, key, other):
    hw = codesign.preset("edgetpu-baseline")
    study = map_study(LAYER, hw, metric=metric)
    ref = codesign.map_space(LAYER, hw)
    assert study.size == len(ref["cycles"]) > 100
    df = study.space
    assert sorted(df["mapping"]) == sorted(ref["mapping"])
    assert df["rank"].tolist() == list(range(1, study.size + 1))
    v = df[[key, other]].to_numpy()
    assert all(tuple(v[i]) <= tuple(v[i + 1]) for i in range(len(v) - 1))     # ranked by metric, then the other
    assert np.allclose(df["edp_pj_cycles"], df["energy_pj"] * df["cycles"])
    best, mb = study.best, study.mapper_best
    assert best[key] == pytest.approx(mb[key]) and best[other] == pytest.approx(mb[other])
    assert best[key] == pytest.approx(min(ref[key] if key != "edp_pj_cycles" else ref["energy_pj"] * ref["cycles"]))


def test_edgetpu_study_dataflow_filter_and_systolic_dataflows():
    hw = codesign.preset("edgetpu")
    for flow in ("ws", "os"):
        s = map_study(LAYER, hw, dataflow=flow)
        assert (s.space["lanes_stationarity"] == flow).all() and s.best["mapping"].endswith(flow)
    sa = codesign.preset("systolic")
    s = map_study(LAYER, sa)
    assert sorted(s.space["dataflow"]) == ["is", "os", "ws"]
    for rec in s.space.to_dict("records"):
        cost = codesign.evaluate(LAYER, sa.replace(dataflow=rec["dataflow"]))
        assert rec["cycles"] == cost.cycles and rec["row_folds"] == cost.row_folds
    assert s.space["cycles"].is_monotonic_increasing
    assert map_study(LAYER, sa, dataflow="is").space["dataflow"].tolist() == ["is"]
    with pytest.raises(ValueError, match="systolic arrays have no energy model"):
        map_study(LAYER, sa, metric="energy")
    with pytest.raises(ValueError, match="lanes' stationarity: ws or os, got 'is'"):
        map_study(LAYER, hw, dataflow="is")
    with pytest.raises(ValueError, match="--metric must be latency, energy or edp"):
        map_study(LAYER, hw, metric="area")


# ------------------------------------------------------------------------------------------------ CLI map
def test_cli_map_json_top_k_and_all_to_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    text = "conv K=64 C=64 P=56 Q=56 R=3 S=3"
    out = tmp_path / "ms.parquet"
    r = run("map", "--layer", text, "--hw", "edgetpu", "--metric", "energy", "--top", 4, "--format", "json",
            "--all", "--out", out)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    best = codesign.map_layer(parse_layer(text), codesign.preset("edgetpu"),
                              mapper=codesign.MapperOptions(metric="energy", space="complete"))
    assert doc["best"]["mapping"] == best["mapping"] and doc["best"]["energy_pj"] == pytest.approx(best["energy_pj"])
    assert len(doc["top"]) == 4 and [t["rank"] for t in doc["top"]] == [1, 2, 3, 4]
    space = pd.read_parquet(out)
    assert len(space) == doc["map_space_size"] == len(codesign.map_space(parse_layer(text), codesign.preset("edgetpu"))["cycles"])
    r = run("map", "--layer", text, "--hw", "systolic", "--rows", 16)
    assert r.exit_code == 0, r.output
    said = " ".join(r.stdout.split())  # sentences wrap at the console's 80 columns
    assert "3 legal mappings" in said and "best: os" in said


@pytest.mark.parametrize("args, needle", [
    (("--layer", "conv K=64 C=64 P=56 Z=3"), "unknown field 'Z'"),
    (("--layer", "conv K=4 C=4 P=4", "--hw", "nope"), "unknown hardware preset 'nope'"),
    (("--layer", "conv K=4 C=4 P=4", "--hw", "systolic", "--metric", "energy"), "no energy model"),
    (("--layer", "conv K=4 C=4 P=4", "--hw", "systolic", "--pe-x", "2"), "--pe-x does not apply"),
    (("--layer", "conv K=4 C=4 P=4", "--dataflow", "rs"), "got 'rs'"),
    (("--layer", "conv K=4 C=4 P=4", "--format", "xml"), "--format must be table, csv or json"),
    (("--layer", "conv K=4 C=4 P=4", "--top", "0"), "--top must be >= 1"),
])
def test_cli_map_bad_input_exit_2(args, needle):
    r = run("map", *args)
    assert r.exit_code == 2, r.output
    assert needle in " ".join(r.output.split())


# ------------------------------------------------------------------------------------------------ plot
def test_plot_sweep_and_map_space_png(tmp_path):
    pytest.importorskip("pyarrow")
    pytest.importorskip("matplotlib")
    net = codesign.Workload("n", [LAYER, L.fc("fc", in_features=48, out_features=10)])
    space = {"base": "edgetpu-baseline", "grid": {"pe_x": [1, 2, 4], "simd": [16, 64], "io_bw_gbps": [5, 20]}}
    sw.sweep(net, space, out=tmp_path / "s")
    r = run("plot", tmp_path / "s", "--x", "pe_x", "--out", tmp_path / "p.png")
    assert r.exit_code == 0, r.output
    png = (tmp_path / "p.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    sys_df = sw.sweep(net, {"base": "systolic", "grid": {"dataflow": ["os", "ws", "is"], "rows": [8, 16]}})
    assert plot_sweep(sys_df, "dataflow", y=["latency_ms", "cycles"], out=tmp_path / "d.png").stat().st_size > 10_000
    ms = map_study(LAYER, codesign.preset("edgetpu")).space
    assert plot_sweep(ms, "tiles_k", out=tmp_path / "m.png").exists()
    with pytest.raises(ValueError, match="--x 'nope' is not a column; columns: config_id"):
        plot_sweep(sys_df, "nope")
    with pytest.raises(ValueError, match="--y 'network' is not numeric"):
        plot_sweep(sys_df, "rows", y=["network"])
    with pytest.raises(ValueError, match="--network 'x' is not in the results; networks: n"):
        plot_sweep(sys_df, "rows", network="x")
    r = run("plot", tmp_path / "missing", "--x", "pe_x")
    assert r.exit_code == 2 and "no such file" in r.output
    r = run("plot", tmp_path / "s", "--x", "pex")
    assert r.exit_code == 2 and "--x 'pex' is not a column" in r.output
