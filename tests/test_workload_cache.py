"""The on-disk workload cache: exact round trip, keys, corrupt entries, concurrent writers, and a cached
`codesign evaluate` that never imports torch."""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import warnings

import pytest

from codesign.workload import cache as wc
from codesign.workload import Layer, Workload


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "workloads"


def every_kind() -> Workload:
    """One layer of each kind, with padding, dilation, groups, rectangular sizes and every activation used once."""
    return Workload("toy", [
        Layer.conv("stem", c=3, k=8, h=17, w=23, r=3, s=5, stride=2, padding=(1, 2), act="relu6"),
        Layer("dw", "conv", 1, 8, 8, 9, 12, 3, 3, 9, 12, pad_h=2, pad_w=2, dilation_h=2, dilation_w=2, groups=8,
              act="swish"),
        Layer.pool("pool", c=8, h=9, w=12, r=2, stride=2),
        Layer.add("res", c=8, h=4, w=6, act="relu"),
        Layer.mul("se", c=8, h=4, w=6, act="sigmoid"),
        Layer.fc("head", in_features=192, out_features=10, n=2, act="gelu"),
        Layer.gemm("attn", m=7, n=5, k=3, act="tanh"),
    ], params=12345, source="timm:toy")


def key(**kw):
    return wc.entry_key("toy_net", **kw)


def test_round_trip_is_exact():
    wl = every_kind()
    assert wc.load(key()) is None  # no entry yet
    path = wc.store(key(), wl)
    assert path is not None and path.is_file()
    back = wc.load(key())
    assert back == wl and back is not wl
    assert back.layers == wl.layers and back.params == 12345 and back.source == "timm:toy"
    assert (back.to_array() == wl.to_array()).all()
    assert [layer.kind for layer in back] == ["conv", "conv", "pool", "add", "mul", "fc", "gemm"]


def test_key_holds_what_determines_a_workload(monkeypatch):
    k = key()
    assert k["model"] == "toy_net" and k["resolution"] == "default" and k["batch"] == 1 and k["ops"] == "all"
    assert {"codesign", "torch", "timm", "capture_code", "format"} <= set(k)
    assert key(resolution=224)["resolution"] == [224, 224] and key(resolution=(224, 224)) == key(resolution=224)
    paths = {wc.entry_path(k), wc.entry_path(key(resolution=192)), wc.entry_path(key(resolution=(224, 192))),
             wc.entry_path(key(batch=2)), wc.entry_path(key(ops="mac")), wc.entry_path(wc.entry_key("other")),
             wc.entry_path(key(resolution=224))}
    assert len(paths) == 7
    wc.store(k, every_kind())
    monkeypatch.setattr(wc, "_version", lambda dist: "9.9" if dist == "timm" else None)
    assert wc.load(key()) is None  # another timm version: another entry
    monkeypatch.setattr(wc, "_code_hash", "edited")
    assert wc.entry_key("toy_net")["capture_code"] == "edited"
    for bad, err in (({"resolution": 0}, ValueError), ({"batch": 1.5}, TypeError), ({"batch": True}, TypeError),
                     ({"ops": "conv"}, ValueError), ({"resolution": (1, 2, 3)}, ValueError)):
        with pytest.raises(err, match=next(iter(bad))):
            key(**bad)


def test_cache_dir_env_and_xdg(monkeypatch, tmp_path):
    assert wc.cache_dir() == tmp_path / "cache" / "workloads"
    monkeypatch.delenv("CODESIGN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert wc.cache_dir() == tmp_path / "xdg" / "codesign" / "workloads"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: relative paths are invalid
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert wc.cache_dir() == tmp_path / "home" / ".cache" / "codesign" / "workloads"


@pytest.mark.parametrize("content", [
    "", "{not json", json.dumps({"key": {}, "workload": {}}), "[1, 2]",
    "BAD_LAYER",  # a valid document whose first layer has a zero size
    "SHORT_ROW",
], ids=["empty", "truncated", "other-key", "not-a-dict", "bad-layer", "short-row"])
def test_corrupt_entry_is_ignored_with_a_warning_and_rebuilt(monkeypatch, content):
    k = key()
    path = wc.store(k, every_kind())
    if content in ("BAD_LAYER", "SHORT_ROW"):
        doc = json.loads(path.read_text())
        if content == "BAD_LAYER":
            doc["workload"]["layers"][0][2] = 0
        else:
            doc["workload"]["layers"][0] = doc["workload"]["layers"][0][:5]
        content = json.dumps(doc)
    path.write_text(content)
    with pytest.warns(RuntimeWarning, match="corrupt workload cache entry .*rebuilding"):
        assert wc.load(k) is None
    calls = []
    monkeypatch.setattr(wc._workload, "from_timm", lambda name, **kw: calls.append(name) or every_kind())
    with pytest.warns(RuntimeWarning, match="corrupt"):
        assert wc.from_timm("toy_net") == every_kind()
    assert calls == ["toy_net"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wc.load(k) == every_kind()  # overwritten with a whole entry


def test_from_timm_traces_once_and_no_cache_always_traces(monkeypatch, cache_in_tmp):
    calls = []

    def fake(name, *, resolution, batch, ops):
        calls.append((name, resolution, batch, ops))
        return every_kind()

    monkeypatch.setattr(wc._workload, "from_timm", fake)
    assert wc.from_timm("toy_net", resolution=96, batch=2) == every_kind()
    assert wc.from_timm("toy_net", resolution=96, batch=2) == every_kind()
    assert calls == [("toy_net", 96, 2, "all")]
    assert wc.from_timm("toy_net", resolution=96, batch=2, cache=False) == every_kind()
    assert len(calls) == 2
    assert len(list(cache_in_tmp.glob("*.json"))) == 1

    def failing(name, **kw):
        raise ValueError(f"from_timm: unknown timm model name {name!r}")

    monkeypatch.setattr(wc._workload, "from_timm", failing)
    with pytest.raises(ValueError, match="unknown timm model"):
        wc.from_timm("nope_net")
    assert len(list(cache_in_tmp.glob("*.json"))) == 1  # failures are not cached


def test_unwritable_cache_dir_warns_and_still_returns(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("CODESIGN_CACHE_DIR", str(blocker))  # a file where the folder should be
    monkeypatch.setattr(wc._workload, "from_timm", lambda name, **kw: every_kind())
    with pytest.warns(RuntimeWarning, match="not writable"):
        assert wc.from_timm("toy_net") == every_kind()


def _writer(env_dir: str, rounds: int) -> None:
    os.environ["CODESIGN_CACHE_DIR"] = env_dir
    wl = every_kind()
    for _ in range(rounds):
        wc.store(wc.entry_key("toy_net"), wl)


def test_concurrent_writers_never_expose_a_partial_entry(tmp_path):
    env_dir = str(tmp_path / "cache")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(env_dir, 150)) for _ in range(3)]
    for p in procs:
        p.start()
    seen = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn read would warn "corrupt"
        while any(p.is_alive() for p in procs):
            got = wc.load(key())
            if got is not None:
                assert got == every_kind()
                seen += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert wc.load(key()) == every_kind()
    assert not list((tmp_path / "cache" / "workloads").glob("*.tmp"))  # no temporary file left behind


def test_real_timm_network_round_trips():
    pytest.importorskip("timm")
    from codesign.workload import from_timm

    # resnet18: not one of the analytic models (timm_analytic), so the cache traces and stores it
    traced = from_timm("resnet18", resolution=96)
    first = wc.from_timm("resnet18", resolution=96)
    again = wc.from_timm("resnet18", resolution=96)
    assert traced == first == again and len(again) > 20


_CLI = """
import sys
from codesign.cli import main
sys.argv = ["codesign", "evaluate", "--network", "resnet18", "--format", "json"]
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
assert "torch" not in sys.modules and "timm" not in sys.modules, "a cached evaluate imported torch"
"""


def test_cached_cli_evaluate_never_imports_torch(tmp_path):
    """An entry stored under resnet18's key (not an analytic model; a toy workload, so the test needs no torch) is what `codesign
    evaluate` uses, and the run never imports torch or timm; --no-cache ignores it."""
    wc.store(wc.entry_key("resnet18"), every_kind())
    env = {**os.environ, "CODESIGN_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", _CLI], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["name"] for r in doc["layers"]] == every_kind().names


def test_cli_no_cache_ignores_the_entry(tmp_path):
    pytest.importorskip("timm")
    from typer.testing import CliRunner

    from codesign.cli import app

    wc.store(wc.entry_key("resnet5O"), every_kind())  # a name timm does not know
    ok = CliRunner().invoke(app, ["evaluate", "--network", "resnet5O", "--format", "json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["layers"][0]["name"] == "stem"
    fresh = CliRunner().invoke(app, ["evaluate", "--network", "resnet5O", "--no-cache"])
    assert fresh.exit_code == 2 and "unknown timm model name" in fresh.output
