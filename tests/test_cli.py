"""The codesign command: evaluate output formats, and one-line errors with exit status 2."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import codesign
from codesign.cli import app

DATA = Path(__file__).parent / "data" / "scalesim"
TOPO = str(DATA / "topologies" / "mobilenet.csv")
runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_evaluate_json_matches_python_api():
    r = run("evaluate", "--network", TOPO, "--hw", "systolic", "--rows", "16", "--cols", "8", "--dataflow", "os",
            "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    hw = codesign.SystolicArray(16, 8, "os", name="systolic")
    cost = codesign.evaluate(codesign.from_scalesim_csv(TOPO), hw)
    assert len(doc["layers"]) == len(cost)
    for rec, ref in zip(doc["layers"], cost.layers):
        for key in ("name", "macs", "stall_free_cycles", "stall_cycles", "cycles", "mapping_efficiency", "compute_utilization"):
            assert rec[key] == ref[key]
        assert 0 <= rec["mapping_efficiency"] <= 1 and 0 <= rec["compute_utilization"] <= 1
    for key in ("macs", "cycles", "latency_ms"):
        assert doc["totals"][key] == pytest.approx(cost.totals[key])


def test_evaluate_csv_and_scalesim_cfg(tmp_path):
    out = tmp_path / "r.csv"
    r = run("evaluate", "--network", str(DATA / "topologies" / "alexnet_conv5.csv"), "--hw", str(DATA / "configs" / "google.cfg"),
            "--dataflow", "ws", "--format", "csv", "-o", str(out))
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 1
    assert int(rows[0]["stall_free_cycles"]) == 12418  # SCALE-Sim reports 12417 (cycles numbered from 0)


def test_evaluate_table():
    r = run("evaluate", "--network", TOPO, "--hw", "tiny8x8")
    assert r.exit_code == 0, r.output
    assert "totals" in r.stdout and "latency_ms" in r.stdout


@pytest.mark.parametrize("args, needle", [
    (("--rows", "0"), "rows"),
    (("--cols", "-3"), "cols"),
    (("--dataflow", "rs"), "dataflow"),
    (("--ifmap-sram-kib", "0.001"), "ifmap_sram_kib"),
    (("--bandwidth", "0"), "dram_bw_words_per_cycle"),
    (("--hw", "nonexistent_preset"), "nonexistent_preset"),
    (("--hw", "missing/file.cfg"), "missing/file.cfg"),
    (("--network", "missing/topology.csv"), "missing/topology.csv"),
    (("--format", "xml"), "xml"),
])
def test_bad_input_exit_2(args, needle):
    base = {"--network": TOPO}
    argv = ["evaluate"]
    if "--network" not in args:
        argv += ["--network", base["--network"]]
    r = run(*argv, *args)
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert "Traceback" not in r.output


def test_malformed_csv_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                   "Conv1, 224, 224, 3, 3, 3, zero, 2,\n")
    r = run("evaluate", "--network", str(bad))
    assert r.exit_code == 2
    assert "line 2" in r.output and "zero" in r.output


def test_unknown_timm_network():
    pytest.importorskip("timm")
    r = run("evaluate", "--network", "resnet5O")
    assert r.exit_code == 2 and "resnet5O" in r.output


@pytest.mark.parametrize("args, needle", [
    (("--budget", "0"), "--budget"),
    (("--target-latency-ms", "-1"), "--target-latency-ms"),
    (("--controller", "bayes"), "bayes"),
    (("--mode", "medium"), "medium"),
    (("--controller", "nsga2", "--population", "1"), "--population"),
    (("--fixed-hw", "edgetpu", "--strategy", "joint"), "--fixed-hw"),
    (("--aggregate", "max"), "--networks"),
    (("--network-target", "resnet50=3"), "--networks"),
    (("--networks", "efficientnet_es,resnet50", "--aggregate", "each", "--network-target", "resnet50=-1"), "'-1'"),
    (("--networks", "efficientnet_es,resnet50", "--aggregate", "each", "--network-target", "resnet50=nan"), "'nan'"),
    (("--networks", "efficientnet_es", "--network-target", "mobilenetv2_100=3"), "not one of --networks"),
    (("--networks", "efficientnet_es", "--network-target", "efficientnet_es"), "NAME=MS"),
])
def test_search_bad_input_exit_2(tmp_path, args, needle):
    r = run("search", "--out", str(tmp_path / "s"), *args)
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output


def test_search_tiny_run_and_refuses_to_clobber(tmp_path):
    pytest.importorskip("torch")
    if not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists():
        pytest.skip("dataset-fashion-mnist not installed")
    out = tmp_path / "s"
    r = run("search", "--out", str(out), "--space", "edgetpu", "--accuracy", "proxy", "--budget", "3", "--proxy-steps",
            "5", "--population", "2")
    assert r.exit_code == 0, r.output
    lines = (out / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert (out / "pareto.csv").read_text().startswith("trial,")
    again = run("search", "--out", str(out), "--budget", "3")
    assert again.exit_code == 2 and "--resume" in again.output and "--overwrite" in again.output


def test_search_out_is_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    r = run("search", "--out", str(f), "--accuracy", "surrogate", "--overwrite")
    assert r.exit_code == 2 and "is a file" in r.output and f.read_text() == "x"


def test_evaluate_metric_needs_the_edgetpu_template():
    r = run("evaluate", "--network", TOPO, "--hw", "systolic", "--metric", "energy")
    assert r.exit_code == 2 and "--metric" in r.output and "systolic" in r.output


def test_search_resume_takes_the_recorded_options(tmp_path):
    # The README's "codesign search --resume DIR --budget N" must continue the run with the options it was started
    # with (recorded in command.json), not the defaults; options given again override them.
    out = tmp_path / "s"
    first = ["search", "--space", "edgetpu", "--hw", "edgetpu-space", "--strategy", "joint", "--controller", "ppo",
             "--target-latency-ms", "3", "--mode", "hard", "--accuracy", "surrogate", "--budget", "8",
             "--batch-size", "4", "--seed", "3", "--out", str(out), "--no-progress", "--no-plot"]
    r = run(*first)
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "command.json").read_text())["options"]
    assert rec["controller"] == "ppo" and rec["budget"] == 8 and rec["seed"] == 3 and rec["mode"] == "hard"
    r = run("search", "--resume", str(out), "--budget", "12", "--no-progress", "--no-plot")
    assert r.exit_code == 0, r.output
    assert len((out / "trials.jsonl").read_text().splitlines()) == 12
    assert json.loads((out / "command.json").read_text())["options"]["budget"] == 12
    # the same as one uninterrupted 12-trial run
    straight = tmp_path / "t"
    r = run(*[a if a != "8" else "12" for a in first[:-4]], "--out", str(straight), "--no-progress", "--no-plot")
    assert r.exit_code == 0, r.output
    strip = [{k: v for k, v in json.loads(line).items() if "seconds" not in k}
             for line in (out / "trials.jsonl").read_text().splitlines()]
    ref = [{k: v for k, v in json.loads(line).items() if "seconds" not in k}
           for line in (straight / "trials.jsonl").read_text().splitlines()]
    assert strip == ref
    # an option given again that contradicts the checkpoint is refused, naming it
    r = run("search", "--resume", str(out), "--controller", "evolution")
    assert r.exit_code == 2 and "controller" in r.output
    # a damaged command file is reported, not guessed around
    (out / "command.json").write_text("{not json")
    r = run("search", "--resume", str(out))
    assert r.exit_code == 2 and "command.json" in r.output


@pytest.mark.parametrize("args, option, typed", [(["evaluate", "--pe-x", "abc"], "--pe-x", "abc"),
                                                 (["sweep", "--sample=abc"], "--sample", "abc")])
def test_a_bad_option_value_is_one_line_with_the_value(args, option, typed):
    # typer's own conversion errors were a boxed panel of several lines that did not show the value typed
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "codesign.cli", *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert option in lines[0] and repr(typed) in lines[0]


def test_search_pareto_table_keeps_whole_configuration_names_at_80_columns(tmp_path):
    import csv

    r = CliRunner().invoke(app, ["search", "--out", str(tmp_path / "s"), "--space", "edgetpu", "--hw", "edgetpu-space",
                                 "--accuracy", "surrogate", "--budget", "16", "--no-plot"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert "…" not in r.output and max(len(line) for line in r.output.splitlines()) <= 80
    text = "".join(line.strip() for line in r.output.splitlines())  # a name folded over lines, joined
    front = [int(row["trial"]) for row in csv.DictReader(open(tmp_path / "s" / "pareto.csv"))][:30]
    trials = {t["trial"]: t for t in map(json.loads, (tmp_path / "s" / "trials.jsonl").read_text().splitlines())}
    names = [trials[i]["hw"]["name"] for i in front]
    assert names and all(n in text for n in names)
