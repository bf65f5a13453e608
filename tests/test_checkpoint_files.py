"""Malformed search checkpoints and trial files are answered with an error naming the file (issue 7)."""
from __future__ import annotations

import json

import pytest

from codesign.search.runner import load_trials, run_search


def _resume(out):
    return run_search(out, budget=6, population=2, resume=True, progress=False, accuracy="surrogate")


@pytest.fixture()
def finished(tmp_path):
    out = tmp_path / "run"
    run_search(out, budget=4, population=2, progress=False, accuracy="surrogate")
    return out


@pytest.mark.parametrize("mutate, needle", [
    (lambda t: t[: len(t) // 2], "malformed checkpoint"),
    (lambda t: "[1, 2]", "must be a JSON object"),
    (lambda t: json.dumps({**json.loads(t), "version": 99}), "version"),
    (lambda t: json.dumps({k: v for k, v in json.loads(t).items() if k != "controller"}), "'controller'"),
    (lambda t: json.dumps({**json.loads(t), "n_trials": "four"}), "'n_trials'"),
    (lambda t: json.dumps({**json.loads(t), "surprise": 1}), "unknown checkpoint keys"),
    (lambda t: json.dumps({**json.loads(t), "controller": {"bogus": 1}}), "controller state"),
])
def test_malformed_checkpoint_names_the_file(finished, mutate, needle):
    ckpt = finished / "checkpoint.json"
    ckpt.write_text(mutate(ckpt.read_text()))
    with pytest.raises(ValueError, match=needle) as info:
        _resume(finished)
    assert "checkpoint.json" in str(info.value)


def test_half_written_trial_line_after_the_checkpoint_is_ignored(finished):
    trials = finished / "trials.jsonl"
    with open(trials, "a") as fh:
        fh.write('{"trial": 4, "metr')  # a kill in the middle of writing the next batch
    summary = _resume(finished)
    assert summary.n_trials == 6
    assert [t["trial"] for t in load_trials(trials)] == list(range(6))


def test_garbled_trial_line_names_file_and_line(tmp_path):
    p = tmp_path / "trials.jsonl"
    p.write_text('{"trial": 0}\n{oops\n')
    with pytest.raises(ValueError, match=r"trials.jsonl:2"):
        load_trials(p)
