"""One writer per run folder (codesign.runlock): a second search, sweep or training on the same folder is refused
with one line naming the holder, and a lock left by a killed process never blocks a resume."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codesign.cli import app
from codesign.runlock import RunFolderInUse, lock_path, run_lock

ROOT = Path(__file__).resolve().parent.parent
TOPO = ROOT / "tests" / "data" / "scalesim" / "topologies" / "alexnet_conv5.csv"


class Holder:
    """A separate process that holds a folder's lock until it is killed."""

    def __init__(self, folder: Path, *, is_file: bool = False):
        code = textwrap.dedent(f"""
            import sys, time
            from codesign.runlock import run_lock
            with run_lock({str(folder)!r}, "holder test", is_file={is_file!r}):
                print("locked", flush=True)
                time.sleep(120)
        """)
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def __enter__(self) -> "Holder":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.kill()


def one_error_line(r) -> str:
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("error:"), r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return lines[0]


def test_second_holder_is_refused_naming_pid_host_and_start(tmp_path):
    with Holder(tmp_path / "run") as h:
        with pytest.raises(RunFolderInUse) as ei:
            with run_lock(tmp_path / "run"):
                pass
        msg = str(ei.value)
        assert f"pid {h.proc.pid}" in msg and socket.gethostname() in msg and " UTC" in msg, msg
        assert "\n" not in msg


def test_lock_of_a_killed_holder_never_blocks(tmp_path):
    h = Holder(tmp_path / "run")
    h.kill()  # SIGKILL: no cleanup ran, the lock file stays
    assert lock_path(tmp_path / "run").exists()
    with run_lock(tmp_path / "run", "after kill") as p:
        assert f'"pid": {os.getpid()}' in p.read_text()


def test_reentrant_in_one_thread_refused_in_another(tmp_path):
    got: list[BaseException | None] = []
    with run_lock(tmp_path / "r"):
        with run_lock(tmp_path / "r"):  # the CLI takes it, then the library call it makes
            pass

        def other() -> None:
            try:
                with run_lock(tmp_path / "r"):
                    got.append(None)
            except RunFolderInUse as exc:
                got.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert isinstance(got[0], RunFolderInUse)
    with run_lock(tmp_path / "r"):  # released after the outer block
        pass


def test_resume_of_a_missing_folder_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        with run_lock(tmp_path / "typo", create=False):
            pass
    assert not (tmp_path / "typo").exists()


SEARCH = ["search", "--accuracy", "surrogate", "--budget", "4", "--batch-size", "2", "--no-progress", "--no-plot"]


def test_search_refused_while_another_writes_the_folder(tmp_path):
    out = tmp_path / "s"
    with Holder(out):
        r = CliRunner().invoke(app, [*SEARCH, "--out", str(out)])
        line = one_error_line(r)
        assert "in use by pid" in line
        assert not (out / "command.json").exists() and not (out / "trials.jsonl").exists()


def test_search_resume_after_a_killed_holder(tmp_path):
    out = tmp_path / "s"
    r = CliRunner().invoke(app, [*SEARCH, "--out", str(out)])
    assert r.exit_code == 0, r.output
    Holder(out).kill()
    r = CliRunner().invoke(app, [*SEARCH[:3], "--budget", "6", "--resume", str(out), "--no-progress", "--no-plot"])
    assert r.exit_code == 0, r.output
    ids = [line.split('"trial": ')[1].split(",")[0] for line in (out / "trials.jsonl").read_text().splitlines()]
    assert ids == [str(i) for i in range(6)]


def test_two_searches_started_together_leave_one_consistent_run(tmp_path):
    out = tmp_path / "s"
    cmd = [sys.executable, "-m", "codesign.cli", *SEARCH[:3], "--budget", "12", "--batch-size", "2", "--no-progress",
           "--no-plot", "--out", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    res = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in res)
    assert codes == [0, 2], res  # the second is refused (in use, or: holds a search already)
    loser = next(e for c, e in res if c == 2)
    assert len(loser.strip().splitlines()) == 1 and "Traceback" not in loser
    lines = (out / "trials.jsonl").read_text().splitlines()
    assert [int(ln.split('"trial": ')[1].split(",")[0]) for ln in lines] == list(range(12))


@pytest.mark.parametrize("name", ["sw", "sw.csv"])
def test_sweep_refused_while_another_writes(tmp_path, name):
    pytest.importorskip("pandas")
    if not name.endswith(".csv"):
        pytest.importorskip("pyarrow")
    out = tmp_path / name
    with Holder(out, is_file=name.endswith(".csv")):
        r = CliRunner().invoke(app, ["sweep", "-n", str(TOPO), "--space", "systolic-space", "--sample", "4",
                                     "--out", str(out), "--no-progress"])
        line = one_error_line(r)
        assert "in use by pid" in line, line
    assert not out.exists() or not any(p.name.startswith("part-") for p in out.iterdir())


def test_training_refused_while_another_writes(tmp_path):
    torch = pytest.importorskip("torch")
    from torch.utils.data import TensorDataset

    from codesign.evaluation.training import TrainSettings, train_classifier

    data = TensorDataset(torch.zeros(4, 3, 8, 8), torch.zeros(4, dtype=torch.long))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 2))
    with Holder(tmp_path / "t"):
        with pytest.raises(RunFolderInUse, match="in use by pid"):
            train_classifier(model, data, None, TrainSettings(epochs=1, batch_size=2, workers=0),
                             out_dir=tmp_path / "t", progress=False, device="cpu")
    assert not (tmp_path / "t" / "last.pt").exists()
