"""Peers' formats in the package: ZigZag's workload and hardware YAML, and the size/line limits of every reader."""
from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from codesign.hardware import from_zigzag_yaml as hardware_from_zigzag
from codesign.workload import from_scalesim_csv, from_zigzag_yaml

yaml = pytest.importorskip("yaml")
ZZ = Path(__file__).parent / "data" / "zigzag"


def test_zigzag_workload_yaml_macs_are_zigzags_loop_products():
    path = ZZ / "resnet18_from_github_3.8.5.yaml"
    doc = yaml.safe_load(path.read_text())
    wl = from_zigzag_yaml(path)
    assert len(wl) == len(doc)
    for lay, e in zip(wl, doc):
        if e["operator_type"].startswith("Conv"):  # Conv, Conv_downsample; ZigZag's MACs: the product of the loop sizes
            assert lay.macs == math.prod(e["loop_sizes"]), e["id"]
        elif e["operator_type"] == "Add":
            assert lay.kind == "add" and lay.ops == math.prod(e["loop_sizes"])
        else:
            assert lay.kind == "pool" and lay.ops == math.prod(e["loop_sizes"])
    conv1 = wl[0]  # ix=2*ox+1*fx: stride 2; 112 outputs of a 7-tap filter -> 229 input rows without padding
    assert (conv1.stride_h, conv1.p, conv1.r, conv1.h) == (2, 112, 7, 229)
    alex = from_zigzag_yaml(ZZ / "alexnet_conv1_own.yaml")[0]
    assert (alex.k, alex.c, alex.p, alex.r, alex.stride_h, alex.h) == (96, 3, 55, 11, 4, 227)


def test_zigzag_hardware_yaml():
    cfg = hardware_from_zigzag(ZZ / "hardware_edge_tpu_like.yaml", ZZ / "mapping_edge_tpu_like.yaml")
    # edge_tpu_like: a 4 x 4 x 8 x 8 array (OX, OY, K, C), 32 KiB weight memory, 2 MiB activation memory
    assert (cfg.pe_x, cfg.pe_y, cfg.lanes, cfg.simd) == (4, 4, 8, 8)
    assert cfg.core_mem_kib == 32 and cfg.pe_mem_kib == 128


def test_peer_readers_fail_fast_on_devices_and_junk(tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"^/dev/zero: not a regular file \(a SCALE-Sim topology CSV must be one\)$"):
        from_scalesim_csv("/dev/zero")
    with pytest.raises(ValueError, match="not a regular file"):
        from_zigzag_yaml("/dev/zero")
    with pytest.raises(ValueError, match="not a regular file"):
        hardware_from_zigzag("/dev/zero", ZZ / "mapping_edge_tpu_like.yaml")
    assert time.perf_counter() - t0 < 5  # no unbounded read (a generous bound: the point is not to hang)
    big = tmp_path / "big.csv"
    big.write_text("Layer, M, N, K,\n" + "g, 1, 1, 1,\n" * 100_001)
    with pytest.raises(ValueError, match="more than the SCALE-Sim topology CSV limit of 100,000 lines"):
        from_scalesim_csv(big)
    junk = tmp_path / "junk.yaml"
    junk.write_text("- id: 0\n  loop_dims: [B, K]\n  loop_sizes: [1]\n")
    with pytest.raises(ValueError, match=r"junk\.yaml: layer id 0: loop_dims and loop_sizes must be lists of the "
                                         r"same length"):
        from_zigzag_yaml(junk)
    junk.write_text("a: [1,\n")
    with pytest.raises(ValueError, match=r"junk\.yaml: line \d+: not a valid ZigZag workload YAML"):
        from_zigzag_yaml(junk)
    with pytest.raises(ValueError, match="not a ZigZag hardware YAML that codesign can read"):
        hardware_from_zigzag(ZZ / "resnet18_from_github_3.8.5.yaml", ZZ / "mapping_edge_tpu_like.yaml")
