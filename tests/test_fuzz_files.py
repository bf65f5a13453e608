"""Fuzzing the CLI's file inputs (issue 16): random and mutated SCALE-Sim topology CSVs and cfgs, sweep and search
space files, search checkpoints and command.json, sweep chunk lists and journals, training checkpoints.

Contract for every input: the command succeeds (exit 0), or it exits 2 with exactly one line, ``error: ...``;
never a traceback, another exit status, or an exception escaping the command. Each example runs under a time
limit (``HANG_S``) so that a hang fails the test rather than stalling CI. Inputs are built from real files by
byte flips, insertions of special tokens (huge, negative, NaN, non-UTF-8, markup), deletions, duplications and
truncations; every file is a few KiB, and the readers' size limits (SECURITY.md) keep memory bounded.

``CODESIGN_FUZZ_EXAMPLES`` (default 150) scales the examples per test, as in tests/test_fuzz.py.
"""
from __future__ import annotations

import collections
import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from codesign.cli import app

ROOT = Path(__file__).resolve().parent
TOPO = ROOT / "data" / "scalesim" / "topologies" / "alexnet_conv5.csv"
MOBILENET = ROOT / "data" / "scalesim" / "topologies" / "mobilenet.csv"
CFG = ROOT / "data" / "scalesim" / "configs" / "google.cfg"
SCALE = int(os.environ.get("CODESIGN_FUZZ_EXAMPLES", "150")) / 150
HANG_S = 60


def fuzz(n: int):
    return settings(max_examples=max(3, int(n * SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


TOKENS = [b"0", b"-1", b"2147483648", b"9223372036854775808", b"1e308", b"nan", b"inf", b"-inf", b"", b",", b"\n",
          b"\r\n", b"\x00", b"\xff\xfe", b"\"", b"[", b"]", b"{", b"}", b"=", b"[bold]x[/]", b"\t", b"a" * 300,
          b"#", b":", b"- ", b"true", b"null", b"1.5", b"-0", b"0x10", "é".encode()]


@st.composite
def mutated(draw, base: bytes) -> bytes:
    """``base`` after 0 to 6 random edits (flip, insert a token, delete, duplicate, truncate), or random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=2048))
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 6))):  # 0: the base file itself, which must succeed
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup", "truncate", "replace_digit"]))
        pos = draw(st.integers(0, max(0, len(data))))
        if op == "flip" and data:
            data[min(pos, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 40))]
        elif op == "dup":
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 200))]
        elif op == "truncate":
            del data[pos:]
        elif op == "replace_digit":
            digits = [i for i, c in enumerate(data) if 48 <= c <= 57]
            if digits:
                i = digits[draw(st.integers(0, len(digits) - 1))]
                data[i:i + 1] = draw(st.sampled_from([b"9999999999999999999", b"-5", b"0", b"nan", b"1e400"]))
    return bytes(data)


@contextmanager
def time_limit(seconds: int):
    def boom(*_):
        raise TimeoutError(f"no answer within {seconds} s (a hang?)")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


SEEN: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def check(args) -> int:
    """Run the CLI; assert exit 0, or exit 2 with one line ``error: ...``. Returns the exit code (also counted
    in SEEN under the command's name)."""
    with time_limit(HANG_S):
        r = CliRunner().invoke(app, [str(a) for a in args])
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise AssertionError(f"{args}: {type(r.exception).__name__}: {r.exception}") from r.exception
    assert r.exit_code in (0, 2), (args, r.exit_code, r.output[-2000:])
    if r.exit_code == 2:
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), (args, r.output[-2000:])
        assert "Traceback" not in r.output
    SEEN[str(args[0]) + (" --resume" if "--resume" in map(str, args) else "")][r.exit_code] += 1
    return r.exit_code


@pytest.fixture(scope="module", autouse=True)
def _both_outcomes_seen():
    """Each command met inputs it accepted and inputs it refused: the fuzz reached past the first check."""
    yield
    for command, codes in SEEN.items():
        assert codes[2] > 0, (command, dict(codes))
        assert codes[0] > 0, (command, dict(codes))


@contextmanager
def scratch():
    d = Path(tempfile.mkdtemp(prefix="codesign-fuzz-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ SCALE-Sim inputs
@fuzz(150)
@given(st.data())
def test_topology_csv(data):
    base = (TOPO if data.draw(st.booleans()) else MOBILENET).read_bytes()
    with scratch() as d:
        f = d / "t.csv"
        f.write_bytes(data.draw(mutated(base)))
        check(["evaluate", "-n", f, "--hw", data.draw(st.sampled_from(["systolic", "edgetpu"])), "-f", "json"])


@fuzz(100)
@given(st.data())
def test_cfg(data):
    with scratch() as d:
        f = d / "h.cfg"
        f.write_bytes(data.draw(mutated(CFG.read_bytes())))
        check(["evaluate", "-n", TOPO, "--hw", f, "-f", "csv"])


# ------------------------------------------------------------------------------------------------ space files
SWEEP_SPACES = {
    ".yaml": b"name: s\nbase: systolic\nfixed: {clock_mhz: 500}\ngrid:\n  rows: [8, 16]\n  cols: {start: 8, stop: 32, step: 8}\n  dataflow: [os, ws]\n",
    ".toml": b"name = 's'\nbase = 'edgetpu-baseline'\n[grid]\npe_x = [1, 2]\nsimd = [16, 64]\n",
    ".json": b'{"name": "s", "base": "systolic", "grid": {"rows": [8, 16], "ifmap_sram_kib": [1, 64]}}',
}


@fuzz(90)
@given(st.data())
def test_sweep_space_file(data):
    suffix = data.draw(st.sampled_from(sorted(SWEEP_SPACES)))
    with scratch() as d:
        f = d / f"s{suffix}"
        f.write_bytes(data.draw(mutated(SWEEP_SPACES[suffix])))
        check(["sweep", "-n", TOPO, "--space", f, "--sample", "3", "--out", d / "o.csv", "--no-progress"])


SEARCH_SPACE = (b"[network]\ntype = 'edgetpu'\nkernels = [3, 5]\n\n[hardware]\ntype = 'edgetpu-space'\n"
                b"pe_x = [2, 4]\nsimd = [32, 64]\n")


@fuzz(30)
@given(st.data())
def test_search_space_file(data):
    with scratch() as d:
        f = d / "s.toml"
        f.write_bytes(data.draw(mutated(SEARCH_SPACE)))
        check(["search", "--space", f, "--accuracy", "surrogate", "--budget", "2", "--batch-size", "2",
               "--out", d / "o", "--no-progress", "--no-plot"])


# ------------------------------------------------------------------------------------------------ run folders
SEARCH = ["search", "--accuracy", "surrogate", "--budget", "4", "--batch-size", "2", "--no-progress", "--no-plot"]


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "run"
    assert CliRunner().invoke(app, [*SEARCH, "--out", str(out)]).exit_code == 0
    return out


@fuzz(40)
@given(data=st.data())
def test_search_checkpoint_and_command_file(search_run, data):
    name = data.draw(st.sampled_from(["checkpoint.json", "command.json", "trials.jsonl"]))
    with scratch() as d:
        run = d / "run"
        shutil.copytree(search_run, run)
        (run / name).write_bytes(data.draw(mutated((run / name).read_bytes())))
        check(["search", "--resume", run, "--budget", "6", "--no-progress", "--no-plot"])


@pytest.fixture(scope="module")
def sweep_runs(tmp_path_factory):
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    d = tmp_path_factory.mktemp("sweep")
    space = d / "s.json"
    space.write_bytes(SWEEP_SPACES[".json"])
    for out in ("p", "c.csv"):
        args = ["sweep", "-n", TOPO, "--space", space, "--chunk-size", "1", "--out", d / out, "--no-progress"]
        assert CliRunner().invoke(app, [str(a) for a in args]).exit_code == 0
    return d


@fuzz(50)
@given(data=st.data())
def test_sweep_manifests_and_chunks(sweep_runs, data):
    target = data.draw(st.sampled_from(["p/_sweep.json", "p/_chunks.jsonl", "p/part-000001.parquet", "c.csv",
                                        "c.csv.sweep.json"]))
    with scratch() as d:
        shutil.copytree(sweep_runs, d, dirs_exist_ok=True)
        (d / target).write_bytes(data.draw(mutated((d / target).read_bytes())))
        out = d / target.split("/")[0] if "/" in target else d / "c.csv"
        check(["sweep", "-n", TOPO, "--space", d / "s.json", "--chunk-size", "1", "--out", out, "--resume",
               "--no-progress"])
        if "/" in target:
            check(["plot", out, "--x", "rows", "--out", d / "p.png"])


@pytest.fixture(scope="module")
def train_run(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("timm")
    import torch

    from codesign.evaluation.training import TrainSettings, train_classifier

    class Tiny:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.full((3, 4, 4), float(i)), i % 2, f"i{i}"

    out = tmp_path_factory.mktemp("train") / "t"
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 2))
    train_classifier(model, Tiny(), None, TrainSettings(batch_size=2, workers=0, epochs=1), out_dir=out,
                     progress=False, device="cpu")
    return out


@fuzz(30)
@given(data=st.data())
def test_training_checkpoint_and_manifest(train_run, data):
    from codesign.evaluation.training import load_checkpoint

    name = data.draw(st.sampled_from(["last.pt", "manifest.json"]))
    with scratch() as d:
        shutil.copytree(train_run, d / "t")
        p = d / "t" / name
        p.write_bytes(data.draw(mutated(p.read_bytes())))
        with time_limit(HANG_S):
            try:
                ckpt = load_checkpoint(d / "t" / "last.pt")
            except (ValueError, FileNotFoundError) as exc:
                assert "\n" not in str(exc) and str(d) in str(exc), str(exc)
            else:
                assert isinstance(ckpt, dict) and "model" in ckpt
