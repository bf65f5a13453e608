"""Fashion-MNIST IDX reader, the accuracy proxy and the network -> Workload path."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from codesign.evaluation.proxy import (
    DEFAULT_DATA_DIR,
    ProxyEvaluator,
    ProxySettings,
    _data_dir,
    load_fashion_mnist,
    read_idx,
)
from codesign.space import NetworkCandidate, NetworkSpace

HAVE_DATA = (_data_dir(None) / "train-images-idx3-ubyte.gz").is_file()
needs_data = pytest.mark.skipif(
    not HAVE_DATA, reason=f"Fashion-MNIST not in {DEFAULT_DATA_DIR}: apt-get install dataset-fashion-mnist"
)
NET = NetworkSpace()
#: the cheapest network of the space (all stages depthwise-separable, one block, half width)
SMALL = NetworkCandidate(kernel=(3,) * 7, expansion=(1,) * 7, depth=(1,) * 7, width=(0.5,) * 7)


def write_idx(path, arr: np.ndarray, *, code: int = 0x08, gz: bool = True) -> None:
    header = struct.pack(">HBB", 0, code, arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape)
    data = header + arr.tobytes()
    if gz:
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


# -- IDX reader ----------------------------------------------------------------------------------------------------
def test_read_idx_hand_made(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", arr)
    write_idx(tmp_path / "a.raw", arr, gz=False)
    for name in ("a.gz", "a.raw"):
        out = read_idx(tmp_path / name)
        assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
        np.testing.assert_array_equal(out, arr)
    big = np.array([1, -2, 70000], dtype=">i4")
    write_idx(tmp_path / "b.gz", big, code=0x0C)
    np.testing.assert_array_equal(read_idx(tmp_path / "b.gz"), [1, -2, 70000])


def test_read_idx_errors(tmp_path):
    missing = tmp_path / "nope-idx3-ubyte.gz"
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist") as info:
        read_idx(missing)
    assert str(missing) in str(info.value)
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as fh:
        fh.write(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match=r"bad IDX magic number 0x01020801"):
        read_idx(bad)
    arr = np.zeros((2, 2), dtype=np.uint8)
    write_idx(tmp_path / "two.gz", arr)
    with pytest.raises(ValueError, match="2 dimensions, expected 3"):
        read_idx(tmp_path / "two.gz", expected_ndim=3)
    trunc = tmp_path / "trunc.raw"
    trunc.write_bytes(struct.pack(">HBBI", 0, 8, 1, 10) + b"\x00" * 9)
    with pytest.raises(ValueError, match="payload has 9 bytes"):
        read_idx(trunc)


def test_load_fashion_mnist_missing_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist("train", tmp_path)
    with pytest.raises(ValueError, match="split='valid'"):
        load_fashion_mnist("valid", tmp_path)


@needs_data
def test_fashion_mnist_files():
    x, y = load_fashion_mnist("train")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    assert set(np.unique(y).tolist()) == set(range(10))
    assert np.bincount(y).tolist() == [6000] * 10  # Fashion-MNIST is balanced
    xt, yt = load_fashion_mnist("test")
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)


# -- settings ------------------------------------------------------------------------------------------------------
def test_proxy_settings_validation():
    with pytest.raises(ValueError, match="steps"):
        ProxySettings(steps=0)
    with pytest.raises(ValueError, match="eval_size"):
        ProxySettings(holdout=100, eval_size=200)
    with pytest.raises(ValueError, match="optimizer"):
        ProxySettings(optimizer="lbfgs")
    with pytest.raises(ValueError, match="lr"):
        ProxySettings(lr=-1.0)
    with pytest.raises(ValueError, match="unknown proxy setting"):
        ProxyEvaluator(stepz=3)
    assert ProxyEvaluator(steps=7).settings.steps == 7


def test_cache_key_is_the_network_not_the_decisions():
    ev = ProxyEvaluator()
    a = NetworkCandidate.mobilenet_v2()
    # stage-1 width 0.75 rounds 12 -> 16 channels, the same network as width 1.0
    b = NetworkCandidate(a.kernel, a.expansion, a.depth, (0.75,) + a.width[1:])
    assert NET.encode(a) != NET.encode(b)
    assert ev.cache_key(a) == ev.cache_key(b)
    assert ev.cache_key(a) != ProxyEvaluator(steps=5).cache_key(a)


# -- network -> torch model -> Workload -----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [None, 4])
def test_workload_layers_match_torch_model(seed):
    torch = pytest.importorskip("torch")
    pytest.importorskip("timm")
    cand = NetworkCandidate.mobilenet_v2() if seed is None else NET.sample(seed)
    model = NET.build_model(cand)
    mac_modules = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    wl = NET.workload(cand)
    mac_layers = [layer for layer in wl.layers if layer.kind in ("conv", "fc", "gemm")]
    assert len(mac_layers) == len(mac_modules)
    assert wl.weights == sum(m.weight.numel() for m in mac_modules)
    assert wl.params == sum(p.numel() for p in model.parameters())
    # depthwise convs appear with groups == channels, one per block
    assert sum(1 for layer in mac_layers if layer.groups > 1) == cand.num_blocks
    if seed is None:
        # MobileNetV2 1.0 at 224 px: 52 convs + 1 classifier; ~300 M MACs (Sandler et al. 2018: 300 M)
        assert len(mac_layers) == 53
        assert 295e6 < wl.macs < 305e6


# -- training ---------------------------------------------------------------------------------------------------------
@needs_data
def test_proxy_training_beats_chance_and_caches():
    pytest.importorskip("torch")
    pytest.importorskip("timm")
    ev = ProxyEvaluator(steps=50, eval_size=1000)
    r = ev.evaluate(SMALL)
    assert r.steps == 50 and not r.cached
    assert r.accuracy > 0.3  # chance is 0.1
    assert np.isfinite(r.train_loss) and r.params > 0 and r.seconds > 0
    again = ev.evaluate(SMALL)
    assert again.cached and again.accuracy == r.accuracy
    assert (ev.hits, ev.misses, len(ev)) == (1, 1, 1)
    # the cache survives a JSON round trip (checkpoints)
    ev2 = ProxyEvaluator(steps=50, eval_size=1000)
    ev2.load_cache_state(ev.cache_state())
    assert ev2.evaluate(SMALL).accuracy == r.accuracy and ev2.misses == 0


@needs_data
def test_proxy_is_deterministic():
    pytest.importorskip("timm")
    a = ProxyEvaluator(steps=5, eval_size=200).evaluate(SMALL)
    b = ProxyEvaluator(steps=5, eval_size=200).evaluate(SMALL)
    assert a.accuracy == b.accuracy and a.train_loss == b.train_loss
