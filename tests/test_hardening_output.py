"""Hardening, round 2 (issue 16): no silent wrong answer (overflow alike in both models, options that cannot
apply refused), one policy for output folders, and output a person can read (80 columns, pipes, plot labels)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import codesign
from codesign.cli import app

DATA = Path(__file__).resolve().parent / "data" / "scalesim" / "topologies"
BIG = 2**31 - 1


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


# ------------------------------------------------------------------------------------------------ overflow alike
@pytest.mark.parametrize("layer", [codesign.Layer.gemm("g", m=BIG, n=BIG, k=BIG),
                                   codesign.Layer.conv("c", c=BIG, k=BIG, h=2, w=2, r=1)])
def test_overflow_reported_alike_by_both_models(layer):
    wl = codesign.Workload("w", [layer])
    msgs = []
    for hw in (codesign.SystolicArray(), codesign.preset("edgetpu")):
        with pytest.raises(ValueError, match="cycle or access counts overflow int64") as ei:
            codesign.evaluate(wl, hw)
        msgs.append(str(ei.value).rsplit(" on ", 1)[0])
    assert msgs[0] == msgs[1]
    batch = codesign.evaluate_batch(wl, [codesign.preset("edgetpu")])
    assert not batch.ok[0] and batch.reasons() == [f"layer {layer.name!r}: overflow"]


def test_map_of_an_overflowing_layer_is_refused():
    r = invoke("map", "--layer", f"gemm M={BIG} N={BIG} K={BIG}", "--hw", "edgetpu")
    assert r.exit_code == 2 and "overflow int64 on edgetpu" in r.output, r.output


def test_counts_below_the_limit_are_untouched():
    wl = codesign.Workload("w", [codesign.Layer.gemm("g", m=4096, n=4096, k=4096)])
    assert codesign.evaluate(wl, codesign.preset("edgetpu")).totals["macs"] == 4096**3


# ------------------------------------------------------------------------------------------------ options refused
@pytest.mark.parametrize("mapper", [codesign.MapperOptions(metric="energy"), codesign.MapperOptions(budget=8)])
def test_mapper_on_a_systolic_array_is_refused(mapper):
    wl = codesign.Workload("w", [codesign.Layer.fc("f", in_features=8, out_features=8)])
    with pytest.raises(ValueError, match="SystolicArray's dataflow fixes its mapping"):
        codesign.evaluate(wl, codesign.SystolicArray(), mapper=mapper)
    with pytest.raises(ValueError, match="SystolicArray's dataflow fixes its mapping"):
        codesign.evaluate_batch(wl, [codesign.SystolicArray()], mapper=mapper)
    with pytest.raises(TypeError, match="MapperOptions"):
        codesign.evaluate(wl, codesign.SystolicArray(), mapper="foo")
    codesign.evaluate(wl, codesign.SystolicArray(), mapper=codesign.MapperOptions())  # the default: nothing to refuse


@pytest.mark.parametrize("opt", [["--metric", "energy"], ["--budget", "4"], ["--patience", "2"], ["--mapper-seed", "1"]])
def test_sweep_mapper_options_on_systolic_space_refused(tmp_path, opt):
    pytest.importorskip("pandas")
    r = invoke("sweep", "-n", DATA / "alexnet_conv5.csv", "--space", "systolic-space", "--sample", "2",
               "--out", tmp_path / "o.csv", "--no-progress", *opt)
    assert r.exit_code == 2 and "systolic-space holds systolic arrays" in r.output, r.output


# ------------------------------------------------------------------------------------------------ output folders
def test_missing_output_folders_are_made_by_every_command(tmp_path):
    topo = DATA / "alexnet_conv5.csv"
    for fmt in ("table", "csv", "json"):
        out = tmp_path / fmt / "deep" / f"e.{fmt}"
        r = invoke("evaluate", "-n", topo, "-f", fmt, "-o", out)
        assert r.exit_code == 0 and out.stat().st_size > 0, r.output
    pytest.importorskip("pandas")
    r = invoke("map", "--layer", "fc C=16 K=8", "--hw", "systolic", "--all", "--out", tmp_path / "m" / "x" / "s.csv")
    assert r.exit_code == 0 and (tmp_path / "m" / "x" / "s.csv").exists(), r.output
    r = invoke("sweep", "-n", topo, "--space", "systolic-space", "--sample", "3", "--out", tmp_path / "s" / "y" / "w.csv",
               "--no-progress")
    assert r.exit_code == 0 and (tmp_path / "s" / "y" / "w.csv").exists(), r.output


# ------------------------------------------------------------------------------------------------ 80 columns
def _piped(*args: str) -> str:
    """The CLI's stdout through a pipe, as a person running ``codesign ... | less`` sees it."""
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("COLUMNS", "LINES")}
    r = subprocess.run([sys.executable, "-m", "codesign.cli", *args], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("│").split("│")] for line in text.splitlines() if line.startswith("│")]


NUMBER = re.compile(r"^(-|nan|-?[\d,]+(\.\d+)?([eE][-+]\d+)?[kMGTPE]?)$")


@pytest.mark.parametrize("hw", ["systolic", "edgetpu"])
def test_evaluate_in_a_pipe_fits_80_columns_and_never_splits_a_number(hw):
    out = _piped("evaluate", "-n", str(DATA / "Resnet50.csv"), "--hw", hw)
    lines = out.splitlines()
    assert max(len(ln) for ln in lines) <= 80, max(lines, key=len)
    rows = _table_rows(out)
    per_layer = [r for r in rows if len(r) > 2]
    assert len(per_layer) == 54  # one line per layer of ResNet-50's topology: nothing folded onto a second line
    for r in per_layer:
        assert r[0] and all(NUMBER.match(c) or c in ("memory", "compute") for c in r[1:]), r
    assert "more columns (" in out and "--wide" in out


def test_evaluate_wide_shows_every_column_in_full():
    out = _piped("evaluate", "-n", str(DATA / "alexnet_conv5.csv"), "--wide")
    head = next(line for line in out.splitlines() if "layer" in line)
    for h in ("row folds", "ifmap SRAM rd", "ofmap DRAM wr", "ms"):
        assert h in head
    row = _table_rows(out)[0]
    assert row[1] == "107,053,056" and len(row) == 15  # full numbers, every column


def test_short_numbers_by_hand():
    from codesign.cli.layer_tables import short

    assert [short(v) for v in (0, 99_999, 100_000, 999_999, 107_053_056, 3.345e9, 0.56281, 1e21, None)] == [
        "0", "99,999", "100k", "1M", "107M", "3.35G", "0.563", "1e+21", "-"]


# ------------------------------------------------------------------------------------------------ progress
def test_search_prints_a_plain_line_per_batch_off_a_terminal(tmp_path):
    r = subprocess.run([sys.executable, "-m", "codesign.cli", "search", "--accuracy", "surrogate", "--budget", "12",
                        "--batch-size", "4", "--no-plot", "--out", str(tmp_path / "s")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("search: ")]
    assert [ln.split(",")[0] for ln in lines] == ["search: 0/12 trials", "search: 4/12 trials", "search: 8/12 trials",
                                                 "search: 12/12 trials"], r.stderr
    assert "best reward" in lines[-1] and "trials/s" in lines[-1]


# ------------------------------------------------------------------------------------------------ plot labels
def _labels(monkeypatch, fn, *args, **kw) -> list[tuple[str, str]]:
    pytest.importorskip("matplotlib")
    import matplotlib.figure

    seen: list[tuple[str, str]] = []
    real = matplotlib.figure.Figure.savefig

    def spy(self, *a, **k):
        seen.extend((ax.get_xlabel(), ax.get_ylabel()) for ax in self.axes)
        return real(self, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    fn(*args, **kw)
    return seen


def _trial(i, metrics):
    return {"trial": i, "status": "complete", "phase": 0, "metrics": metrics}


def test_plot_says_surrogate_accuracy(monkeypatch, tmp_path):
    from codesign.search.plot import plot_trials

    trials = [_trial(i, {"accuracy": 0.7 + i / 100, "latency_ms": 1.0 + i, "energy_mj": 2.0 + i}) for i in range(4)]
    labels = _labels(monkeypatch, plot_trials, trials, tmp_path / "p.png", accuracy_kind="surrogate")
    assert [y for _, y in labels] == ["surrogate accuracy (no training)"] * 2
    labels = _labels(monkeypatch, plot_trials, trials, tmp_path / "q.png", accuracy_kind="proxy")
    assert labels[0][1] == "proxy accuracy (Fashion-MNIST)"


def test_multi_model_plot_shows_each_networks_latency(monkeypatch, tmp_path):
    from codesign.search.plot import plot_trials

    trials = [_trial(i, {"accuracy": 1.0, "latency_ms": 3.0 + i, "latency_ms.a": 1.0 + i, "latency_ms.b": 2.0,
                         "area_mm2": 5.0 + i}) for i in range(4)]
    labels = _labels(monkeypatch, plot_trials, trials, tmp_path / "m.png", accuracy_kind="fixed")
    assert labels == [("area (mm$^2$)", "latency per network (ms)"), ("area (mm$^2$)", "aggregate latency (ms)")]


# ------------------------------------------------------------------------------------------------ preset names
def test_preset_names_say_their_model_and_old_names_still_work():
    from codesign.hardware import EDGETPU_PRESETS, PRESET_ALIASES, PRESETS

    for old, new in PRESET_ALIASES.items():
        assert codesign.preset(old) == codesign.preset(new)
        assert new.endswith("-systolic") == (new in PRESETS) and new.endswith("-template") == (new in EDGETPU_PRESETS)
    assert isinstance(codesign.preset("tpu-v1-systolic"), codesign.SystolicArray)
    assert isinstance(codesign.preset("eyeriss-template"), codesign.EdgeTpuConfig)
    with pytest.raises(ValueError, match="systolic arrays: .*eyeriss-systolic.*Edge-TPU-like template: .*tpu-v1-template"):
        codesign.preset("eyeris")


@pytest.mark.parametrize("args", [["map", "--layer", "fc C=16 K=8", "--hw", "systolic", "--budget", "5"],
                                  ["map", "--layer", "fc C=16 K=8", "--hw", "systolic", "--seed", "3"],
                                  ["evaluate", "-n", str(DATA / "alexnet_conv5.csv"), "--seed", "3"]])
def test_mapper_sampling_options_on_a_systolic_array_refused(args):
    pytest.importorskip("pandas")
    r = invoke(*args)
    assert r.exit_code == 2 and "systolic array" in r.output, r.output


def test_sweep_prints_plain_lines_off_a_terminal(tmp_path):
    pytest.importorskip("pandas")
    r = subprocess.run([sys.executable, "-m", "codesign.cli", "sweep", "-n", str(DATA / "alexnet_conv5.csv"),
                        "--space", "edgetpu-space", "--sample", "600", "--chunk-size", "200",
                        "--out", str(tmp_path / "s.csv")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "configurations, " in ln]
    assert lines[0].startswith("edgetpu-space x 1 network(s): 0/600 configurations")
    assert lines[-1].startswith("edgetpu-space x 1 network(s): 600/600 configurations"), r.stderr


def test_plain_progress_throttles_but_always_writes_the_last_line():
    import io

    from codesign.progress import PlainProgress

    buf = io.StringIO()
    p = PlainProgress("sweep", "configurations", file=buf, min_interval_s=3600)
    p.start()
    p.add_task("sweep", total=30, completed=0)
    for _ in range(3):
        p.advance(p.task_ids[0], 10)
    p.stop()
    assert [ln.split(",")[0] for ln in buf.getvalue().splitlines()] == ["sweep: 0/30 configurations",
                                                                        "sweep: 30/30 configurations"]


def test_sweep_and_map_tables_fit_80_columns_in_a_pipe(tmp_path):
    pd = pytest.importorskip("pandas")
    out = _piped("sweep", "-n", str(DATA / "alexnet_conv5.csv"), "--space", "edgetpu-space", "--sample", "300",
                 "--out", str(tmp_path / "s.csv"), "--top", "5", "--no-progress")
    assert max(len(ln) for ln in out.splitlines()) <= 80, out
    front = pd.read_csv(tmp_path / "s.pareto.csv").head(5)
    rows = [r for r in _table_rows(out) if r[0]]
    assert [int(r[0]) for r in rows] == front.config_id.tolist()  # ids whole, in order
    assert all(NUMBER.match(c) for r in rows for c in r[1:]), rows
    out = _piped("map", "--layer", "conv K=64 C=64 P=56 Q=56 R=3 S=3", "--hw", "edgetpu", "--top", "3")
    assert max(len(ln) for ln in out.splitlines()) <= 80, out
    assert "not shown at this width" in out
    heading = " ".join(ln for ln in out.splitlines() if ln.startswith("┃"))
    assert "pJ" in heading and "pj" not in heading and "text" not in heading, heading  # units as written
    best = next(i for i, ln in enumerate(out.splitlines()) if ln.startswith("best: "))
    assert out.splitlines()[best + 1].split() == ["cycles", "28,225,", "energy", "493,008,614", "pJ"]
    assert "mapping: dims on pe_x/pe_y/lanes/simd, tile counts > 1, tile order, ws/os lanes" in out
    assert "mapper's pick" not in out  # the complete space: its pick is the table's best
    out = _piped("map", "--layer", "conv K=64 C=64 P=56 Q=56 R=3 S=3", "--hw", "edgetpu", "--top", "3", "--space",
                 "compact")
    pick = out.splitlines()[next(i for i, ln in enumerate(out.splitlines()) if ln.startswith("mapper's pick")) + 1]
    assert pick.strip() == "P/Q/K/C tiles K12 P4 order=input ws", pick  # what evaluate maps, beside the lattice


def test_narrow_headings_write_units_as_units():
    from codesign.cli._common import _heading

    assert [_heading(c) for c in ("energy_pj", "energy_mj", "pe_mem_kib", "io_bw_gbps", "area_mm2", "latency_ms",
                                  "utilization", "config_id")] == [
        "energy pJ", "energy mJ", "pe mem KiB", "io bw GB/s", "area mm²", "latency ms", "util.", "config id"]
