"""The accelerator model works with numpy alone: importing and using it never imports torch."""
import subprocess
import sys
import textwrap


def test_cost_model_does_not_import_torch():
    code = textwrap.dedent("""
        import sys
        import codesign
        from codesign import Layer, Workload, SystolicArray, evaluate, evaluate_batch, preset, scalesim
        wl = Workload("w", [Layer.conv("c", c=8, k=16, h=8, w=8, r=3, padding=1), Layer.fc("f", in_features=16, out_features=4)])
        evaluate(wl, SystolicArray()).totals
        evaluate(wl, preset("edgetpu")).totals
        evaluate_batch(wl, [SystolicArray(), SystolicArray(rows=8)]).total("cycles")
        import codesign.cli
        heavy = sorted(m for m in ("torch", "timm", "torchvision", "pandas", "matplotlib") if m in sys.modules)
        print(",".join(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", out.stdout
