"""Refit the Edge TPU presets' fixed costs and print the k-fold table (issue 14).

Usage: python benchmarks/edgetpu_calibration/calibrate.py [--k 5] [--seed 0]

Data: tests/data/nasbench/ (500 NB201 cells, Eagle rig), tests/data/coral/ (five Coral models, USB Accelerator
and Dev Board columns). Procedure (codesign.edgetpu_calibration): every network is costed once with the fixed
costs at 0 (mapped compute, vector work, streamed parameters, spilled activations: the analytical part), then
one non-negative least-squares solve of the relative error fits the per-op costs by kind (shared by all rigs)
and a per-inference cost per rig; the cells and the Coral models weigh the same. The Dev Board rig is then fitted
with the per-op costs held: its per-inference cost, and its PCIe link rate from ResNet-50's streamed parameters
(the only model that streams). k-fold: fit on (k-1)/k of the cells plus the Coral models, judge on the rest.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import codesign
from codesign.edgetpu_calibration import Fit, coral_models, fit_op_costs, kfold, nb201_cells, spearman

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


def _errors(fit: Fit, m) -> str:
    p = fit.predict(m)
    e = np.abs(p / m.latency_ms - 1)
    return f"Spearman {spearman(p, m.latency_ms):.3f}, median error {np.median(e):.1%}, max {e.max():.1%}"


def devboard_link(fit: Fit, usb_hw, dev, cache) -> tuple[float, float]:
    """(link GB/s, per-inference us) of the Dev Board rig: a scan of the link rate, the intercept by NNLS."""
    best = None
    for gbps in np.arange(0.30, 0.60, 0.005):
        hw = usb_hw.replace(io_bw_gbps=float(gbps))
        m = coral_models(DATA / "coral" / "edgetpu_latency_calibration.csv", "dev_board_ms", hw, rig="dev",
                         workloads=cache)
        per_op = np.array(list(fit.op_us.values()))
        rest = (m.latency_ms - m.base_ms - m.counts @ per_op / 1000) / m.latency_ms
        inter = max(0.0, float(np.sum(rest / m.latency_ms) / np.sum(1 / m.latency_ms ** 2)) * 1000)
        err = np.sum(((m.base_ms + (m.counts @ per_op + inter) / 1000) / m.latency_ms - 1) ** 2)
        if best is None or err < best[0]:
            best = (err, float(gbps), inter)
    return best[1], best[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    hw = codesign.preset("edgetpu")
    cells = nb201_cells(DATA / "nasbench" / "nb201_edgetpu_latency_calibration.csv", hw)
    cache: dict = {}
    usb = coral_models(DATA / "coral" / "edgetpu_latency_calibration.csv", "usb_accelerator_ms", hw, rig="usb",
                       workloads=cache)
    fit = fit_op_costs([cells, usb])
    print("fitted per-op costs (us):", {k: round(v, 2) for k, v in fit.op_us.items()})
    print("fitted per-inference costs (us):", {k: round(v, 1) for k, v in fit.inference_us.items()})
    print("NB201 cells (in the fit):", _errors(fit, cells))
    print("Coral USB (in the fit):  ", _errors(fit, usb))
    for name, p, y in zip(usb.names, fit.predict(usb), usb.latency_ms):
        print(f"  {name:24s} predicted {p:7.2f} ms  measured {y:6.2f} ms  ratio {p / y:.3f}")
    gbps, inter = devboard_link(fit, hw, None, cache)
    dev_hw = hw.replace(io_bw_gbps=gbps)
    dev = coral_models(DATA / "coral" / "edgetpu_latency_calibration.csv", "dev_board_ms", dev_hw, rig="dev",
                       workloads=cache)
    dev_fit = Fit(fit.op_us, {**fit.inference_us, "dev": inter})
    print(f"Dev Board: link {gbps:.3f} GB/s, per-inference {inter:.1f} us;", _errors(dev_fit, dev))
    for name, p, y in zip(dev.names, dev_fit.predict(dev), dev.latency_ms):
        print(f"  {name:24s} predicted {p:7.2f} ms  measured {y:6.2f} ms  ratio {p / y:.3f}")
    print(f"\n{args.k}-fold on the NB201 cells (fit on {args.k - 1}/{args.k} + the Coral USB models; judged on the rest)")
    print("| fold | Spearman | median error | max error |\n|---|---|---|---|")
    folds = kfold(cells, [usb], k=args.k, seed=args.seed)
    for i, f in enumerate(folds):
        print(f"| {i} | {f['spearman']:.3f} | {f['median_error']:.1%} | {f['max_error']:.1%} |")
    print(f"| mean | {np.mean([f['spearman'] for f in folds]):.3f} | {np.mean([f['median_error'] for f in folds]):.1%} "
          f"| {np.max([f['max_error'] for f in folds]):.1%} (max) |")


if __name__ == "__main__":
    main()
