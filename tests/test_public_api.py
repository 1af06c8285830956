"""The public API: everything the CLI does is one importable call (DESIGN.md)."""

import fitbench
import fitbench.compare
import fitbench.measure
import fitbench.profile


def test_submodule_imports_keep_the_functions_callable():
    # importing the submodules binds them as package attributes; they must still be the calls
    assert callable(fitbench.profile) and callable(fitbench.compare) and callable(fitbench.measure)


def test_profile_call_through_the_package():
    # the zoo's tiny net at 64x64: conv1 3->8 3x3 stride 2 (32x32 out), conv2 8->16 3x3 stride 2 (16x16 out),
    # fc 16->10 (the layer-by-layer arithmetic of tests/zoo/test_zoo_figures.py::test_tiny_macs_by_arithmetic)
    one = fitbench.profile("tiny", batch=1)
    three = fitbench.profile("tiny", batch=3)
    assert one.totals.macs == 32 * 32 * 8 * 27 + 16 * 16 * 16 * 72 + 16 * 10
    assert three.totals.macs == 3 * one.totals.macs


def test_lazy_names_resolve():
    # in a fresh interpreter: `import fitbench` loads no engine; each lazy name then resolves to the engine's
    # own function or module (not a stand-in)
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, fitbench\n"
        "assert 'fitbench.hardware.estimator' not in sys.modules and 'fitbench.zoo' not in sys.modules\n"
        "import fitbench.hardware.estimator as est, fitbench.hardware.spec as spec\n"
        "assert fitbench.estimate is est.estimate and fitbench.load_hardware is spec.load_hardware\n"
        "z = fitbench.zoo\n"
        "assert z is sys.modules['fitbench.zoo'] and callable(z.build)\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": src})
    assert proc.returncode == 0, proc.stderr
