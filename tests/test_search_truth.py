"""Search with real accuracy (NAS-Bench-201 lookups), the search loop driven step by step, the true front and the
hypervolume ratio, and the parallel (Dask) evaluation equal to the serial one."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from codesign.evaluation import NB201Accuracy
from codesign.search import Search, load_trials, run_search
from codesign.search.pareto import nondominated
from codesign.search.truth import _front2, hv_curve, true_front
from codesign.space import NB201Candidate, NB201Space

KW = dict(space="nb201", hw="edgetpu", strategy="network-only", accuracy="nb201:cifar10", budget=24, batch_size=8,
          population=8, sample_size=3, progress=False, plot=False, target_latency_ms=1.5)


def _strip(trials):
    return [{k: v for k, v in t.items() if k != "seconds"} for t in trials]


def test_nb201_search_records_the_table_accuracy(tmp_path):
    s = run_search(tmp_path / "a", **KW)
    trials = load_trials(tmp_path / "a")
    table = NB201Accuracy("cifar10", 200)
    for t in trials:
        cell = NB201Candidate.from_arch_str(t["blocks"][0])
        assert t["metrics"]["accuracy"] == pytest.approx(table.lookup(cell) / 100)
        assert t["hw"]["name"] == "edgetpu"
    assert s.accuracy_signal == "NB201 cifar10 top-1 (200 ep)"
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["accuracy_signal"] == s.accuracy_signal
    # the workload is the 32x32 CIFAR network, not a 224-px one
    assert trials[0]["metrics"]["macs"] == NB201Space().workload(NB201Candidate.from_arch_str(trials[0]["blocks"][0])).macs


def test_search_steps_drive_the_same_run(tmp_path):
    ref = run_search(tmp_path / "loop", **KW)
    opts = {k: v for k, v in KW.items() if k not in ("progress", "plot")}
    from codesign.search.runner import run_search as _rs  # noqa: F401  (same defaults as run_search)
    import inspect

    defaults = {k: p.default for k, p in inspect.signature(run_search).parameters.items()
                if p.default is not inspect.Parameter.empty}
    kw = {**defaults, **opts}
    for k in ("progress", "plot", "workers", "scheduler"):
        kw.pop(k)
    s = Search(tmp_path / "steps", **kw)
    s.open()
    n_batches = 0
    while not s.done:
        cands = s.ask()
        s.tell(cands, s.evaluate(cands))
        s.checkpoint()
        n_batches += 1
    s.close()
    summary = s.finish()
    assert n_batches == 3
    assert _strip(load_trials(tmp_path / "steps")) == _strip(load_trials(tmp_path / "loop"))
    assert summary.best["trial"] == ref.best["trial"]
    assert (tmp_path / "steps" / "pareto.csv").read_text() == (tmp_path / "loop" / "pareto.csv").read_text()


def test_incremental_archive_equals_a_rebuild(tmp_path):
    from codesign.search.pareto import EDGETPU_OBJECTIVES, ParetoArchive

    s = run_search(tmp_path / "r", **{**KW, "budget": 40})
    trials = load_trials(tmp_path / "r")
    rebuilt = ParetoArchive(EDGETPU_OBJECTIVES)
    for t in trials:
        if t["status"] == "complete":
            rebuilt.add(t["metrics"], t)
    assert [t["trial"] for t in s.pareto] == [t["trial"] for t, _ in rebuilt.front()]


@pytest.mark.parametrize("accuracy, words", [("nb201:cifar10", "--space nb201"),
                                             ("accel-nasbench", "--space accel-nasbench"),
                                             ("imagenet", "accuracy must be one of")])
def test_accuracy_signal_must_fit_the_space(tmp_path, accuracy, words):
    with pytest.raises(ValueError, match=words):
        run_search(tmp_path / "x", **{**KW, "space": "edgetpu", "accuracy": accuracy})
    with pytest.raises(ValueError, match="dataset='cifar10'"):  # a space object built for another dataset
        run_search(tmp_path / "y", **{**KW, "space": NB201Space(), "accuracy": "nb201:cifar100"})


def test_named_nb201_space_follows_the_accuracy_dataset(tmp_path):
    run_search(tmp_path / "in16", **{**KW, "accuracy": "nb201:imagenet16@12", "budget": 8})
    t = load_trials(tmp_path / "in16")[0]
    cell = NB201Candidate.from_arch_str(t["blocks"][0])
    assert t["metrics"]["accuracy"] == pytest.approx(NB201Accuracy("imagenet16", 12).lookup(cell) / 100)
    assert t["metrics"]["macs"] == NB201Space(dataset="imagenet16").workload(cell).macs


def test_auto_accuracy_is_the_table_on_nb201(tmp_path):
    s = run_search(tmp_path / "auto", **{**KW, "accuracy": "auto", "budget": 8})
    assert s.config["accuracy"]["kind"] == "nb201"


# -- true front --------------------------------------------------------------------------------------------
SUB = list(itertools.islice(NB201Space().candidates(), 0, 15625, 61))  # 257 cells


def test_true_front_is_the_brute_force_front_and_scores_itself_one():
    tf = true_front("nb201", "edgetpu", "nb201:cifar10", candidates=SUB, processes=1)
    assert tf.metrics == ("accuracy", "latency_ms") and len(tf.points) == len(SUB)
    brute = nondominated(tf.points, ("max", "min"))
    assert sorted(tf.front.tolist()) == sorted(brute.tolist())
    assert tf.ratio(tf.points[tf.front]) == pytest.approx(1.0)
    assert tf.ratio(tf.points) == pytest.approx(1.0)
    some = tf.points[::5]
    assert 0 < tf.ratio(some) <= 1.0
    # accuracy is the table's, latency the cost model's
    table = NB201Accuracy()
    i = int(tf.front[0])
    assert tf.points[i, 0] == pytest.approx(table.lookup(tf.networks[tf.design_net[i]]) / 100)


def test_true_front_does_not_depend_on_the_process_count():
    a = true_front("nb201", "edgetpu", "nb201:cifar10", candidates=SUB[:120], processes=1)
    b = true_front("nb201", ["edgetpu"], "nb201:cifar10", candidates=SUB[:120], processes=2)
    assert np.array_equal(a.points, b.points) and np.array_equal(a.front, b.front)


def test_joint_truth_is_network_major_over_the_hardware_list():
    from codesign import preset

    hws = [preset("edgetpu"), preset("edgetpu-baseline")]
    tf = true_front("nb201", hws, "nb201:cifar10", candidates=SUB[:20], metrics=("latency_ms", "energy_mj"),
                    processes=1)
    assert len(tf.points) + tf.infeasible == 40
    assert tf.metrics == ("accuracy", "latency_ms", "energy_mj")
    assert set(tf.design_hw.tolist()) <= {0, 1}


def test_front2_keeps_ties_and_drops_dominated():
    pts = np.array([[0.9, 2.0], [0.9, 2.0], [0.8, 1.0], [0.85, 3.0], [0.95, 5.0], [0.8, 1.5]])
    assert _front2(pts).tolist() == [0, 1, 2, 4]


def test_hv_curve_is_monotone_in_trials(tmp_path):
    run_search(tmp_path / "c", **{**KW, "budget": 32})
    trials = load_trials(tmp_path / "c")
    tf = true_front("nb201", "edgetpu", "nb201:cifar10", candidates=SUB, processes=1)
    curve = hv_curve(trials, tf, [4, 8, 16, 32])
    assert all(a <= b + 1e-12 for a, b in zip(curve, curve[1:]))


# -- parallel evaluation ----------------------------------------------------------------------------------
class _SlowLookup:
    """A picklable accuracy evaluator (the table lookup, as a worker process sees it)."""

    def __init__(self):
        self.table = NB201Accuracy()

    def evaluate(self, arch):
        return self.table.evaluate(arch)

    def to_dict(self):
        return {"kind": "test-lookup"}


@pytest.mark.slow
def test_parallel_search_equals_serial(tmp_path):
    pytest.importorskip("dask.distributed")
    serial = run_search(tmp_path / "serial", **{**KW, "accuracy": _SlowLookup()})
    par = run_search(tmp_path / "par", **{**KW, "accuracy": _SlowLookup()}, workers=2)
    assert _strip(load_trials(tmp_path / "par")) == _strip(load_trials(tmp_path / "serial"))
    assert par.trained_networks == serial.trained_networks
    with pytest.raises(ValueError, match="workers or scheduler"):
        run_search(tmp_path / "bad", **KW, workers=2, scheduler="tcp://localhost:1")


@pytest.mark.parametrize("space, accuracy", [("nb201", "nb201:cifar100"), ("accel-nasbench", "accel-nasbench")])
@pytest.mark.parametrize("hw, strategy, controller", [("systolic-space", "joint", "random"),
                                                      ("edgetpu-space", "hw-then-net", "evolution"),
                                                      ("edgetpu-space", "net-then-hw", "reinforce"),
                                                      ("systolic", "network-only", "ppo")])
def test_tabular_spaces_run_on_every_hardware_kind_and_strategy(tmp_path, space, accuracy, hw, strategy, controller):
    s = run_search(tmp_path / "x", space=space, hw=hw, strategy=strategy, controller=controller, accuracy=accuracy,
                   budget=8, batch_size=4, population=4, sample_size=2, progress=False, plot=False,
                   target_latency_ms="auto")
    assert s.n_trials == 8 and s.n_complete >= 1
    trials = load_trials(tmp_path / "x")
    assert all(0 < t["metrics"]["accuracy"] < 1 for t in trials if t["status"] == "complete")


def test_front_box_is_stricter_and_still_one_for_the_truth():
    tf = true_front("nb201", "edgetpu", "nb201:cifar10", candidates=SUB, processes=1)
    box = tf.front_box
    assert tf.ratio(tf.points[tf.front], box) == pytest.approx(1.0)
    some = tf.points[::5]
    assert tf.ratio(some, box) <= tf.ratio(some) + 1e-12
    # a design just off the front: full credit under the nadir is impossible, and under the box it scores less
    worst_front_acc = box[0]
    assert all(p[0] >= worst_front_acc for p in tf.points[tf.front])


def test_true_front_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="candidates must hold"):
        true_front("nb201", "edgetpu", "nb201:cifar10", candidates=[])
    with pytest.raises(ValueError, match="hw must be"):
        true_front("nb201", [], "nb201:cifar10")
    with pytest.raises(ValueError, match="--space nb201"):
        true_front("edgetpu", "edgetpu", "nb201:cifar10")
