"""Hardening, round 2 (issue 16): every file error is one line naming the file, checkpoints are checked, and
options that cannot apply are refused. Each test here failed on the code before the fix."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codesign.cli import app

DATA = Path(__file__).resolve().parent / "data" / "scalesim"
TOPO = DATA / "topologies" / "alexnet_conv5.csv"
CFG = DATA / "configs" / "google.cfg"


def one_line(r, *needles: str) -> str:
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("error:"), r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def invoke(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


# ------------------------------------------------------------------------------------------------ unreadable files
def _as_nobody(args: list[str]) -> subprocess.CompletedProcess:
    """Run the CLI so that a mode-000 file cannot be read: as user nobody (setpriv) when this is root."""
    cmd = [sys.executable, "-m", "codesign.cli", *args]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv: a mode-000 file stays readable")
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HOME": "/tmp"}, timeout=120)


@pytest.mark.parametrize("kind", ["topology", "cfg", "space", "sweep-space"])
def test_unreadable_file_is_one_line_naming_it(kind):
    tmp_path = Path(tempfile.mkdtemp(prefix="codesign-perm-", dir="/tmp"))  # pytest's folders are root-only
    tmp_path.chmod(0o777)
    locked = tmp_path / {"topology": "t.csv", "cfg": "h.cfg", "space": "s.toml", "sweep-space": "w.toml"}[kind]
    src = {"topology": TOPO, "cfg": CFG}.get(kind)
    locked.write_bytes(src.read_bytes() if src else b"[network]\nspace = 'edgetpu'\n")
    locked.chmod(0)
    out = tmp_path / "out"
    args = {"topology": ["evaluate", "-n", locked],
            "cfg": ["evaluate", "-n", TOPO, "--hw", locked],
            "space": ["search", "--space", locked, "--accuracy", "surrogate", "--out", out],
            "sweep-space": ["sweep", "-n", TOPO, "--space", locked, "--out", out, "--no-progress"]}[kind]
    r = _as_nobody([str(a) for a in args])
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert str(locked) in lines[0] and "Permission denied" in lines[0], lines[0]
    locked.chmod(0o600)
    shutil.rmtree(tmp_path, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ devices
@pytest.mark.parametrize("command", ["train", "eval"])
@pytest.mark.parametrize("device, needle", [("tpu", "not a device"), ("mps", "run on cpu or cuda"),
                                            ("cuda:99", "cuda:99")])
def test_device_is_checked_up_front(tmp_path, command, device, needle):
    torch = pytest.importorskip("torch")
    if device == "cuda:99" and not torch.cuda.is_available():
        needle = "no CUDA GPU is available"
    one_line(invoke(command, "-n", "resnet18", "--data", tmp_path / "none", "--device", device), "--device", needle)


def test_cuda_without_a_gpu_is_one_line(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    one_line(invoke("train", "-n", "resnet18", "--data", tmp_path, "--device", "cuda"), "no CUDA GPU is available")


# ------------------------------------------------------------------------------------------------ extras
@pytest.mark.parametrize("args, module", [(["map", "--layer", "fc C=16 K=8"], "pandas"),
                                          (["plot", "x.csv", "--x", "pe_x"], "pandas"),
                                          (["plot", "x.csv", "--x", "pe_x"], "matplotlib"),
                                          (["sweep", "-n", str(TOPO), "--out", "o.csv"], "pandas"),
                                          (["sweep", "-n", str(TOPO), "--out", "o"], "pyarrow")])
def test_commands_name_the_extra_they_need(monkeypatch, args, module):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    one_line(invoke(*args), f"needs {module}", f"pip install 'codesign[{args[0]}]'")


def test_each_command_extra_is_declared():
    import tomllib

    extras = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for command, needs in {"map": ["pandas"], "plot": ["pandas", "matplotlib"], "sweep": ["pandas", "pyarrow"],
                           "train": ["torch", "timm"], "search": ["torch", "optuna"]}.items():
        names = {d.split("[")[0].split(">")[0].split("=")[0] for d in extras[command]}
        assert set(needs) <= names, (command, names)


def test_license_file_is_the_declared_apache_2():
    root = Path(__file__).resolve().parent.parent
    import tomllib

    assert tomllib.loads((root / "pyproject.toml").read_text())["project"]["license"] == {"text": "Apache-2.0"}
    text = (root / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text


# ------------------------------------------------------------------------------------------------ command.json
@pytest.mark.parametrize("key, value, kind", [("budget", "ten", "an integer"), ("lr", "fast", "a finite number"),
                                              ("space", 3, "text"), ("network_target", "a=1", "a list of text"),
                                              ("seed", True, "an integer")])
def test_wrong_typed_command_file_is_one_line(tmp_path, key, value, kind):
    out = tmp_path / "s"
    base = ["search", "--accuracy", "surrogate", "--budget", "2", "--batch-size", "2", "--no-progress", "--no-plot"]
    assert invoke(*base, "--out", out).exit_code == 0
    doc = json.loads((out / "command.json").read_text())
    doc["options"][key] = value
    (out / "command.json").write_text(json.dumps(doc))
    one_line(invoke("search", "--resume", out, "--no-progress", "--no-plot"), "command.json", repr(key), kind)


# ------------------------------------------------------------------------------------------------ search options
@pytest.mark.parametrize("args, needle", [
    (["--controller", "ppo", "--lr", "1e308"], "--lr must be <= 100"),
    (["--controller", "evolution", "--lr", "0.1"], "--lr applies to --controller reinforce and ppo"),
    (["--target-energy-mj", "inf"], "--target-energy-mj must be a finite number"),
    (["--area-limit-mm2", "inf"], "--area-limit-mm2 must be > 0"),
])
def test_hyperparameters_refused_up_front(tmp_path, args, needle):
    out = tmp_path / "s"
    one_line(invoke("search", "--accuracy", "surrogate", "--budget", "4", "--out", out, "--no-progress", *args), needle)
    assert not out.exists()  # refused before the folder is made


def test_ppo_lr_bound_in_the_library():
    from codesign.search.policy import PPO
    from codesign.space import CategoricalSpace  # noqa: F401  (the space type the controllers take)

    from search_fakes import toy_space

    with pytest.raises(ValueError, match="lr must be <= 100"):
        PPO(toy_space(), lr=1e308)


# ------------------------------------------------------------------------------------------------ space files
def test_space_file_formats_are_told_apart(tmp_path):
    sweep_file = tmp_path / "w.yaml"
    sweep_file.write_text("base: systolic\ngrid: {rows: [8, 16]}\n")
    search_file = tmp_path / "s.toml"
    search_file.write_text("[network]\nspace = 'edgetpu'\n")
    one_line(invoke("search", "--space", sweep_file, "--accuracy", "surrogate", "--out", tmp_path / "o"),
             "w.yaml: this is a sweep space file")
    one_line(invoke("sweep", "-n", TOPO, "--space", search_file, "--out", tmp_path / "o.csv", "--no-progress"),
             "s.toml: this is a search space file")


@pytest.mark.parametrize("text, needle", [(b"[network\nspace = 1\n", "line 1, column"),
                                          (b"\xff\xfe[x]", "line 1: byte 0 is not UTF-8")])
def test_malformed_sweep_space_names_the_file(tmp_path, text, needle):
    f = tmp_path / "bad.toml"
    f.write_bytes(text)
    one_line(invoke("sweep", "-n", TOPO, "--space", f, "--out", tmp_path / "o.csv", "--no-progress"),
             "bad.toml", needle)


@pytest.mark.parametrize("name, text, needle", [
    ("d.yaml", "base: edgetpu-baseline\ngrid:\n  pe_x: [1, 2]\ngrid:\n  simd: [16]\n",
     "not valid YAML: line 4, column 1: the key 'grid' is given twice"),
    ("d.yaml", "base: edgetpu-baseline\ngrid: {pe_x: [1, 2], pe_x: [4]}\n", "the key 'pe_x' is given twice"),
    ("d.json", '{"base": "edgetpu-baseline", "grid": {"pe_x": [1]}, "grid": {"simd": [16]}}',
     "not valid JSON: the key 'grid' is given twice"),
    ("f.yaml", "base: edgetpu-baseline\nfixed: {pe_x: 4}\ngrid:\n  pe_x: [1, 2]\n",
     "pe_x is both fixed and swept"),
    ("f.yaml", "base: edgetpu-baseline\nfixed: [1]\ngrid:\n  pe_x: [1, 2]\n",
     "'fixed' must be a mapping of field: value, got [1]"),
    ("n.yaml", "base: edgetpu-baseline\ngrid:\n  clock_mhz: [1e300]\n", "without a dot as text; write 1.0e+300"),
    ("n.yaml", "base: edgetpu-baseline\ngrid:\n  io_bw_gbps: [1e-3, 10]\n",
     "mixes strings and numbers: ('1e-3', 10) (the file gave the text '1e-3': YAML reads an exponent without a dot"),
    ("n.yaml", "base: edgetpu-baseline\ngrid:\n  pe_x: [\"4\"]\n", "write the number without quotes"),
])
def test_space_file_mistakes_are_one_line(tmp_path, name, text, needle):
    f = tmp_path / name
    f.write_text(text)
    one_line(invoke("sweep", "-n", TOPO, "--space", f, "--out", tmp_path / "o.csv", "--no-progress"), name, needle)


def test_oversized_space_file_is_refused_before_reading(tmp_path):
    from codesign.datafile import MAX_BYTES, read_document

    f = tmp_path / "big.json"
    with open(f, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)
    with pytest.raises(ValueError, match="big.json: .* more than a space file may hold"):
        read_document(f)


def test_binary_csv_given_to_plot_names_the_file(tmp_path):
    pytest.importorskip("pandas")
    f = tmp_path / "r.csv"
    f.write_bytes(bytes(range(256)) * 4)
    one_line(invoke("plot", f, "--x", "pe_x"), "r.csv: not a ")


# ------------------------------------------------------------------------------------------------ training files
class _Tiny:
    """4 images of 8x8 in 2 classes, as (image, label, path) items."""

    def __init__(self):
        import torch

        g = torch.Generator().manual_seed(0)
        self.x = torch.rand(8, 3, 8, 8, generator=g)

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return self.x[i], i % 2, f"img{i}"


def _train(out, **kw):
    import torch

    from codesign.evaluation.training import TrainSettings, train_classifier

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 2))
    return train_classifier(model, _Tiny(), None, TrainSettings(batch_size=4, workers=0, **kw), out_dir=out,
                            progress=False, device="cpu")


@pytest.fixture
def trained(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("timm")
    _train(tmp_path / "t", epochs=1)
    return tmp_path / "t"


def test_checkpoint_listed_with_its_checksum(trained):
    import hashlib

    doc = json.loads((trained / "manifest.json").read_text())
    entry = doc["files"]["last.pt"]
    data = (trained / "last.pt").read_bytes()
    assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def test_damaged_checkpoint_is_refused_by_name(trained):
    from codesign.evaluation.training import TrainSettings, load_checkpoint, train_classifier

    p = trained / "last.pt"
    data = bytearray(p.read_bytes())
    data[-200] ^= 0x01  # inside the zip: torch.load may still read it
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"last\.pt: damaged or changed since it was written"):
        load_checkpoint(p)
    import torch

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 2))
    with pytest.raises(ValueError, match=r"last\.pt: damaged"):
        train_classifier(model, _Tiny(), None, TrainSettings(batch_size=4, workers=0, epochs=2), out_dir=trained,
                         resume=True, progress=False, device="cpu")


def test_checkpoint_valid_between_rename_and_manifest(trained):
    """Killed after the rename, before the manifest's final write: the pending digest matches."""
    from codesign.evaluation import checkpoint_manifest as cm
    from codesign.evaluation.training import load_checkpoint

    doc = json.loads((trained / "manifest.json").read_text())
    entry = doc["files"]["last.pt"]
    doc["files"]["last.pt"] = {"sha256": "0" * 64, "bytes": 1, "pending": entry}
    (trained / "manifest.json").write_text(json.dumps(doc))
    cm.verify(trained / "last.pt")
    assert load_checkpoint(trained / "last.pt")["epoch"] == 1


def test_resume_without_a_checkpoint_is_an_error(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("timm")
    from codesign.evaluation.training import TrainSettings, train_classifier
    import torch

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 2))
    with pytest.raises(FileNotFoundError, match="none: nothing to resume there"):
        train_classifier(model, _Tiny(), None, TrainSettings(batch_size=4, workers=0), out_dir=tmp_path / "none",
                         resume=True, progress=False, device="cpu")
    assert not (tmp_path / "none").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no checkpoint to resume at .*empty/last\.pt"):
        train_classifier(model, _Tiny(), None, TrainSettings(batch_size=4, workers=0), out_dir=tmp_path / "empty",
                         resume=True, progress=False, device="cpu")


def test_search_checkpoint_write_with_nan_keeps_the_previous_file(tmp_path):
    from codesign.search.records import write_json_atomic as _write_json_atomic

    p = tmp_path / "checkpoint.json"
    _write_json_atomic(p, {"n_trials": 1})
    with pytest.raises(ValueError, match=r"cannot write .*checkpoint\.json: .*the previous file is kept"):
        _write_json_atomic(p, {"n_trials": float("nan")})
    assert json.loads(p.read_text()) == {"n_trials": 1} and sorted(x.name for x in tmp_path.iterdir()) == [p.name]


def test_trials_file_without_newlines_is_refused_not_read_whole(tmp_path):
    from codesign.search.records import _MAX_LINE, load_trials

    p = tmp_path / "trials.jsonl"
    p.write_text("x" * (_MAX_LINE + 10))
    with pytest.raises(ValueError, match=r"trials\.jsonl:1: a line longer than"):
        load_trials(p)


def test_oversized_search_checkpoint_is_refused_before_reading(tmp_path):
    from codesign.search.records import _MAX_CHECKPOINT
    from codesign.search.records import read_checkpoint as _read_checkpoint

    p = tmp_path / "checkpoint.json"
    with open(p, "wb") as fh:
        fh.truncate(_MAX_CHECKPOINT + 1)
    with pytest.raises(ValueError, match="more than a checkpoint holds"):
        _read_checkpoint(p)


# ------------------------------------------------------------------- messages that named the wrong thing (new-user check)
@pytest.mark.parametrize("args, needle", [
    (["evaluate", "-n", "/dev/null"], "--network '/dev/null': not a regular file"),
    (["evaluate", "-n", TOPO, "--hw", "/dev/null"], "--hw '/dev/null': not a regular file"),
    (["evaluate", "-n", "/no/such/topology.csv"], "--network '/no/such/topology.csv': no such file"),
    (["sweep", "-n", "", "--sample", "2", "--no-progress"], "--network must be a timm model name or a SCALE-Sim"),
    (["sweep", "-n", TOPO, "--mapper-seed", "-1", "--no-progress"], "--mapper-seed must be between 0 and 2**63 - 1"),
    (["evaluate", "-n", TOPO, "--hw", "systolic", "--metric", "energy"], "(got --metric energy)"),
    (["map", "--layer", "fc C=16 K=8", "--hw", "edgetpu", "--all", "--out", "/tmp/codesign-ms.txt"],
     "--all writes Parquet (.parquet) or CSV (.csv), not '.txt'"),
    (["map", "--layer", "conv N=8 K=256 C=256 P=56 Q=56 R=3 S=3", "--hw", "edgetpu"],
     "more than max_mappings = 2,000,000 legal mappings, too many to list: narrow it with constraints (CLI: -c pe_x=K"),
    (["evaluate", "-n", TOPO, "--hw", "edgetpu", "--budget", "1"], "holds none that fits on edgetpu"),
    (["map", "--layer", "fc C=16 K=8", "--hw", "edgetpu", "--seed", "-1"], "--seed must be between 0 and 2**63 - 1"),
    (["map", "--layer", "fc C=16 K=8", "--hw", "edgetpu", "--budget", "-3"], "--budget must be between 0 and"),
])
def test_cli_messages_name_the_option(tmp_path, args, needle):
    one_line(invoke(*args, *(["--out", tmp_path / "o"] if args[0] == "sweep" else [])), needle)


@pytest.mark.parametrize("exists", [False, True])
def test_resume_with_overwrite_is_the_conflict_whether_or_not_the_folder_exists(tmp_path, exists):
    out = tmp_path / "run"
    if exists:
        out.mkdir()
    one_line(invoke("sweep", "-n", TOPO, "--sample", "2", "--out", out, "--resume", "--overwrite", "--no-progress"),
             "give --resume or --overwrite, not both")
