"""MACs against published figures and latency on the `edgetpu` and `systolic` presets for vision transformers, hybrid
CNN-transformers and a GPT-2-small block; the import time of the ONNX reader. Prints the markdown table of
benchmarks/README.md ("Workloads beyond CNNs"):

    .venv/bin/python benchmarks/transformer_workloads.py
"""
from __future__ import annotations

import subprocess
import sys
import time
import warnings

import codesign
from codesign.workload import decoder_prefill, decoder_step, from_timm

# Published MACs (the papers' "FLOPs" are multiply-accumulates), attention included; see
# tests/test_transformer_workload.py for the sources.
MODELS = [("vit_tiny_patch16_224", 1.3), ("deit_tiny_patch16_224", 1.3), ("mobilevit_s", 2.0), ("levit_128s", 0.305),
          ("swin_tiny_patch4_window7_224", 4.5), ("efficientvit_b0", 0.10)]


def _row(name: str, wl: codesign.Workload, published: float | None, seconds: float) -> str:
    mm = sum(lay.macs for lay in wl if lay.kind == "matmul")
    etpu = codesign.evaluate(wl, codesign.preset("edgetpu"))
    syst = codesign.evaluate(wl, codesign.preset("systolic"))
    shape = "x".join(map(str, wl.input_shape or ()))
    pub = f"{published:g}" if published else "hand count"
    diff = f"{(wl.macs / 1e9 / published - 1) * 100:+.1f}%" if published else "0.0%"
    mb = sum(c for c, b in zip(etpu["cycles"], etpu["memory_bound"]) if b) / max(etpu["cycles"].sum(), 1)
    return (f"| {name} | {shape} | {wl.macs / 1e9:.4f} | {pub} | {diff} | {mm / wl.macs * 100:.1f}% | {len(wl)} | "
            f"{etpu.totals['latency_ms']:.2f} | {mb * 100:.0f}% | {etpu.totals['streamed_params_bytes'] / 1e6:.2f} | "
            f"{syst.totals['latency_ms']:.2f} | {seconds:.1f} |")


def main() -> None:
    print("| model | input | GMACs | published | diff | matmul share | layers | edgetpu ms | memory-bound share "
          "of edgetpu time | streamed params MB | systolic ms | from_timm s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, pub in MODELS:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wl = from_timm(name)
        print(_row(name, wl, pub, time.perf_counter() - t0), flush=True)
    import torch  # noqa: F401 - the GPT-2 block (tests/test_transformer_workload.py) at 64 tokens, hand-counted
    sys.path.insert(0, "tests")
    for label, wl in (("GPT-2-small block, prefill 64 tokens", decoder_prefill(d_model=768, heads=12, seq_len=64)),
                      ("GPT-2-small (12 blocks), decode 1 token, KV 512",
                       decoder_step(d_model=768, heads=12, kv_len=512, layers=12)),
                      ("GPT-2-small (12 blocks), prefill 512 tokens",
                       decoder_prefill(d_model=768, heads=12, seq_len=512, layers=12))):
        print(_row(label, wl, None, 0.0), flush=True)
    code = "import time; t = time.perf_counter(); import onnx, onnx.shape_inference; print(time.perf_counter() - t)"
    runs = sorted(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
                  for _ in range(5))
    code2 = ("import time; t = time.perf_counter(); import codesign.workload; print(time.perf_counter() - t)")
    base = sorted(float(subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True).stdout)
                  for _ in range(5))
    print(f"\nimport onnx + onnx.shape_inference (what from_onnx adds, lazily): median {runs[2] * 1e3:.0f} ms; "
          f"import codesign.workload (no onnx): median {base[2] * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
