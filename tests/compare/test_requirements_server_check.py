"""``compare --requirements --measure``'s server check: a machine meets the application only when its LoadGen
server run is within the latency bound AND the measurement is VALID by fitbench's rules (LoadGen's verdict, not
stopped early, the queries asked for, enough latencies for the percentile) -- LoadGen's VALID alone is not enough.

``measure`` is replaced by a stand-in returning the figures of a finished run, so each row checks the verdict
logic on one condition; the validity itself is computed by :func:`fitbench.measure.validity.assess`.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import fitbench.measure as measure_mod
from fitbench.compare.requirements import Application, server_check
from fitbench.measure.validity import assess

MS = 1e-3
BOUND_MS = 40.0  # the budget (50 ms) less the host stages (none) -- see APP


class FakeRun:
    """What server_check reads of a MeasureResult."""

    def __init__(self, p90_ms, count, min_count, loadgen="VALID", partial=None):
        self.ok, self.cause = True, ""
        self.samples, self.queries_per_s = count, 20.0
        self.loadgen = {"result_validity": loadgen, "figures": {}}
        self.validity = assess("server", count=count, min_count=min_count, loadgen=loadgen, partial=partial)
        self._p90 = p90_ms

    def to_dict(self, include_logs=True):
        return {"latency": {"p90_ms": self._p90}}


APP = Application(qps=20, latency_budget_s=BOUND_MS * MS, percentile=90)
W = SimpleNamespace(model="tiny", inputs=None, dims=None, params={})


@pytest.mark.parametrize("run, meets, said", [
    (FakeRun(BOUND_MS / 2, 200, 100), True, "meets."),
    (FakeRun(BOUND_MS * 2, 200, 100), False, "does not meet."),                          # over the bound
    (FakeRun(BOUND_MS / 2, 200, 100, loadgen="INVALID"), False, "LoadGen INVALID"),      # LoadGen's verdict
    (FakeRun(BOUND_MS / 2, 80, 100, partial="timed out"), False, "partial result (timed out)"),  # stopped early
    (FakeRun(BOUND_MS / 2, 80, 100), False, "80 of the 100 queries"),                     # fewer than asked for
], ids=["within-valid", "over-bound", "loadgen-invalid", "partial", "too-few-queries"])
def test_server_check_needs_a_valid_measurement(monkeypatch, run, meets, said):
    monkeypatch.setattr(measure_mod, "measure", lambda *a, **k: run)
    out = server_check(W, "onnxruntime", APP)
    assert out["meets"] is meets
    assert said in out["sentence"]
    assert out["sentence"].endswith("meets." if meets else "does not meet.")
