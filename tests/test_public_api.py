"""The public API: everything the CLI does is one importable call (DESIGN.md)."""

import fitbench
import fitbench.compare
import fitbench.measure
import fitbench.profile


def test_submodule_imports_keep_the_functions_callable():
    # importing the submodules binds them as package attributes; they must still be the calls
    assert callable(fitbench.profile) and callable(fitbench.compare) and callable(fitbench.measure)


def test_profile_call_through_the_package():
    # tiny zoo model at batch 1 and at batch 3: MACs scale exactly with the batch
    one = fitbench.profile("tiny", batch=1)
    three = fitbench.profile("tiny", batch=3)
    assert one.totals.macs > 0
    assert three.totals.macs == 3 * one.totals.macs


def test_lazy_names_resolve():
    for name in ("estimate", "load_hardware", "zoo"):
        assert getattr(fitbench, name) is not None
