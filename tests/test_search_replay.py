"""The search loop's shortcuts (issue 15) change no result: a search whose NB201 workloads come from the
node-by-node builder (tests/nb201_reference.py) records the same trials, front and checkpoint as one on the fast
builder; the checkpoint's spliced accuracy-cache text is the JSON encoder's; pareto.csv, written only when the front
changes, always holds the current front; remembered hardware keys are the computed ones."""
from __future__ import annotations

import dataclasses
import json

import pytest

from codesign.search import Search, load_trials, run_search
from codesign.search.records import write_pareto
from codesign.space import NB201Space
from codesign.space.joint import hw_key
from nb201_reference import reference_nb201_workload


class _ReferenceNB201(NB201Space):
    """NB201 with the workloads of the node-by-node builder."""

    def workload(self, candidate, *, input_shape=None, num_classes=None, name=None, pruned=True):
        self.validate(candidate)
        return reference_nb201_workload(candidate.ops, input_shape or self.input_shape,
                                        num_classes or self.num_classes, name or f"nb201[{self.short_name(candidate)}]",
                                        pruned=pruned)

    def __repr__(self) -> str:
        return super().__repr__()


def _strip(trials):
    return [{k: v for k, v in t.items() if k != "seconds"} for t in trials]


def _checkpoint(path):
    ck = json.loads((path / "checkpoint.json").read_text())
    ck["config"].pop("space")  # the space's repr names its class
    return ck


@pytest.mark.parametrize("kw", [
    dict(hw="edgetpu", strategy="network-only", controller="evolution", budget=120, batch_size=8),
    dict(hw="edgetpu-space", strategy="joint", controller="random", budget=64, batch_size=16),
    dict(hw="systolic-space", strategy="net-then-hw", controller="evolution", budget=64, batch_size=16),
], ids=["network-only", "joint", "net-then-hw"])
def test_fast_builder_and_loop_give_the_trials_of_the_reference_builder(tmp_path, kw):
    common = dict(accuracy="nb201:cifar10", progress=False, plot=False, seed=7, **kw)
    run_search(tmp_path / "fast", space=NB201Space(), **common)
    run_search(tmp_path / "ref", space=_ReferenceNB201(), **common)
    fast, ref = load_trials(tmp_path / "fast"), load_trials(tmp_path / "ref")
    assert len(fast) == kw["budget"] and _strip(fast) == _strip(ref)
    assert (tmp_path / "fast" / "pareto.csv").read_text() == (tmp_path / "ref" / "pareto.csv").read_text()
    assert _checkpoint(tmp_path / "fast") == _checkpoint(tmp_path / "ref")


def test_checkpoint_text_is_the_encoders_and_pareto_csv_the_current_front(tmp_path):
    import inspect

    defaults = {k: p.default for k, p in inspect.signature(run_search).parameters.items()
                if p.default is not inspect.Parameter.empty}
    for k in ("progress", "plot", "workers", "scheduler"):
        defaults.pop(k)
    kw = {**defaults, "space": "nb201", "hw": "edgetpu", "strategy": "network-only", "accuracy": "nb201:cifar10",
          "budget": 80, "batch_size": 8, "population": 16}
    s = Search(tmp_path / "s", **kw)
    s.open()
    unchanged = 0
    while not s.done:
        cands = s.ask()
        before = [t["trial"] for t, _ in s.archive.front()]
        s.tell(cands, s.evaluate(cands))
        unchanged += before == [t["trial"] for t, _ in s.archive.front()]
        s.checkpoint()
        text = (tmp_path / "s" / "checkpoint.json").read_text()
        ck = json.loads(text)
        assert text == json.dumps(ck)  # byte for byte what json.dumps of the whole checkpoint writes
        assert ck["accuracy_cache"] == s.evaluator.cache_state()
        assert len(ck["accuracy_cache"]) == len(s.evaluator.accuracy_cache)
        write_pareto(tmp_path / "now.csv", s.archive, s.joint.hardware.names)
        assert (tmp_path / "s" / "pareto.csv").read_text() == (tmp_path / "now.csv").read_text()
    s.close()
    assert unchanged  # some batches left the front as it was (the file was not rewritten then)


def test_remembered_hw_keys_are_the_computed_ones():
    from codesign.hardware import preset

    def computed(hw):
        d = hw.to_dict()
        return tuple(sorted((k, v if not isinstance(v, (list, dict)) else repr(v)) for k, v in d.items()))

    base = preset("edgetpu")
    for i in range(3000):  # more than the memory holds: it is cleared and refilled
        hw = dataclasses.replace(base, clock_mhz=100.0 + i)
        assert hw_key(hw) == computed(hw) and hw_key(hw) == computed(hw)
    assert hw_key(base) == hw_key(dataclasses.replace(base)) == computed(base)
    assert hw_key(base) != hw_key(dataclasses.replace(base, clock_mhz=1.0))


def test_remembered_network_defs_and_shared_conv_layers_build_the_same_workloads():
    from codesign.space import network_space
    from codesign.workload import effnet

    warm = network_space("edgetpu")
    cands = [warm.sample(i) for i in range(12)] + [warm.reference]
    first = [(warm.network_key(c), warm.to_block_strings(c), warm.workload(c)) for c in cands]
    again = [(warm.network_key(c), warm.to_block_strings(c), warm.workload(c)) for c in cands]  # from memory
    effnet._CONVS.clear()
    cold = network_space("edgetpu")  # a new space: no remembered definitions, no shared layers
    fresh = [(cold.network_key(c), cold.to_block_strings(c), cold.workload(c)) for c in cands]
    for (k1, b1, w1), (k2, b2, w2), (k3, b3, w3) in zip(first, again, fresh):
        assert k1 == k2 == k3 and b1 == b2 == b3
        assert w1 == w2 == w3 and w1.params == w3.params and w1.to_array().tolist() == w3.to_array().tolist()
    assert len({k for k, _, _ in first}) > 1
    bad = dataclasses.replace(warm.reference, kernel=(4,) * len(warm.reference.kernel))
    for _ in range(2):  # an invalid candidate is refused every time, never remembered
        with pytest.raises(ValueError):
            warm.network_key(bad)
