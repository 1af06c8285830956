"""The validity rules (fitbench.measure.validity), on figures stated in the test: no child process."""

from __future__ import annotations

import pytest

from fitbench.measure.validity import assess, loadgen_reasons, store_status, validity_of

SUMMARY_INVALID = """Result is : INVALID
  Min duration satisfied : Yes
  Min queries satisfied : NO
  Early stopping satisfied: NO
"""


def test_a_five_query_run_loadgen_cut_short_is_invalid_for_three_stated_reasons():
    v = assess("single-stream", count=5, min_count=64, loadgen="INVALID", loadgen_summary=SUMMARY_INVALID)
    assert v.verdict == "INVALID" and not v.valid
    assert v.reasons == [
        "LoadGen result INVALID: Min queries satisfied : NO, Early stopping satisfied: NO",
        "5 of the 64 queries asked for completed",
        "5 latencies, fewer than the 64 a p90 needs",
    ]
    assert v.reportable == {"p50": True, "p90": False, "p99": False}
    assert v.summary().startswith("INVALID: LoadGen result INVALID")


def test_a_quick_run_of_64_queries_is_valid_with_a_p90_and_no_p99():
    v = assess("single-stream", count=64, min_count=64, loadgen="VALID")
    assert (v.verdict, v.reasons) == ("VALID", [])
    assert v.reportable == {"p50": True, "p90": True, "p99": False}  # p99 from 662 samples
    assert assess("single-stream", count=662, min_count=64, loadgen="VALID").reportable["p99"] is True
    assert assess("single-stream", count=661, min_count=64, loadgen="VALID").reportable["p99"] is False


def test_the_p90_rule_applies_to_latency_scenarios_not_offline():
    # offline is a throughput figure: 20 samples of the 20 asked for, LoadGen VALID, is valid
    assert assess("offline", count=20, min_count=20, loadgen="VALID").valid
    for sc in ("single-stream", "multi-stream", "server"):
        v = assess(sc, count=63, min_count=20, loadgen="VALID")
        assert v.reasons == ["63 latencies, fewer than the 64 a p90 needs"]


def test_without_loadgen_fitbench_rules_alone_judge():
    # the direct timed loop has no LoadGen verdict: 100 of 1024 queries is short on fitbench's own count rule
    v = assess("single-stream", count=100, min_count=1024, loadgen=None)
    assert v.loadgen is None and v.reasons == ["100 of the 1024 queries asked for completed"]
    assert assess("single-stream", count=1024, min_count=1024, loadgen=None).valid


def test_a_partial_run_is_invalid_first_of_all():
    v = assess("offline", count=300, min_count=1024, loadgen=None, partial="timed out after 60 s")
    assert v.reasons[0] == "partial result (timed out after 60 s)"
    assert v.reasons[1] == "300 of the 1024 queries asked for completed"


def test_no_latency_figures_is_invalid():
    assert assess("server", count=0, min_count=662).reasons == ["no latency figures"]


def test_loadgen_reasons_are_the_no_lines():
    assert loadgen_reasons(SUMMARY_INVALID) == ["Min queries satisfied : NO", "Early stopping satisfied: NO"]
    assert loadgen_reasons(None) == []


def test_validity_from_a_result_dict_and_the_store_status():
    d = {"status": "ok", "scenario": "single-stream", "latency": {"count": 5, "p50_ms": 1.0},
         "loadgen": {"result_validity": "VALID"}, "conditions": {"settings": {"min_count": 5,
                                                                              "min_count_effective": 5}}}
    v = validity_of(d)
    assert v.reasons == ["5 latencies, fewer than the 64 a p90 needs"]
    assert store_status(d) == ("invalid", "5 latencies, fewer than the 64 a p90 needs")
    # a stated validity is read back as stated (a stored row keeps the verdict it was judged with)
    assert validity_of({**d, "validity": v.to_dict()}) == v
    ok = dict(d, latency={"count": 64, "p50_ms": 1.0})
    assert store_status(ok) == ("ok", None)
    assert store_status({"status": "failed", "cause": "timed out"}) == ("failed", "timed out")
    assert validity_of({"status": "failed"}) is None


@pytest.mark.parametrize("count, verdict", [(63, "INVALID"), (64, "VALID")])
def test_the_boundary_of_the_p90_rule(count, verdict):
    assert assess("single-stream", count=count, min_count=1, loadgen="VALID").verdict == verdict
