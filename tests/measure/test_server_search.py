"""The server scenario's peak-QPS search judges each trial only on a percentile it has enough samples for.

``scenarios.server`` (one LoadGen run) is replaced by a fake whose latencies are chosen here, so the
search logic is checked without timing anything.
"""

from __future__ import annotations

import pytest

from fitbench.measure import scenarios
from fitbench.measure.scenarios import RunRecord, Settings, server_search
from fitbench.measure.stats import MIN_SAMPLES


def fake_server(completed: int, latency_ms: float, asked: list):
    """Every run completes ``completed`` queries of ``latency_ms`` each over 1 s, whatever was asked."""

    def run(call, s, qps, target_latency_ms, percentile):
        asked.append(s.min_count)
        return RunRecord([int(latency_ms * 1e6)] * completed, completed, completed, 1.0)

    return run


SETTINGS = Settings(min_count=20, min_duration_s=0.1, max_duration_s=1.0, expected_latency_s=1e-3)


@pytest.mark.parametrize("percentile", [90, 99])
def test_each_trial_asks_for_the_samples_its_percentile_needs(monkeypatch, percentile):
    asked: list[int] = []
    monkeypatch.setattr(scenarios, "server", fake_server(MIN_SAMPLES[percentile], 1.0, asked))
    peak, trials, best = server_search(lambda: None, SETTINGS, 10.0, percentile=percentile, max_trials=3)
    assert asked == [MIN_SAMPLES[percentile]] * 3  # 64 for p90, 662 for p99: not the 20 of the settings
    assert all(t["latency_ms"] == 1.0 and t["meets_bound"] for t in trials)
    # no trial failed: the rate rose by 1.5x each time from half the calibrated capacity (1 / 1 ms)
    assert [t["target_qps"] for t in trials] == pytest.approx([500, 750, 1125])
    assert peak == pytest.approx(1125) and best is not None
    assert [t["achieved_qps"] for t in trials] == [MIN_SAMPLES[percentile]] * 3  # completed / 1 s of wall


def test_a_trial_stopped_short_of_662_samples_has_no_p99_and_does_not_meet_the_bound(monkeypatch):
    # LoadGen stopped at max duration after 661 queries: p99 (nearest rank 655 of 661) would be 1 ms and
    # pass the 10 ms bound, but 661 < 662 samples cannot support a p99 figure
    monkeypatch.setattr(scenarios, "server", fake_server(MIN_SAMPLES[99] - 1, 1.0, []))
    peak, trials, best = server_search(lambda: None, SETTINGS, 10.0, percentile=99, max_trials=2)
    assert [(t["latency_ms"], t["meets_bound"], t["count"]) for t in trials] == [(None, False, 661)] * 2
    assert peak is None and best is None


def test_a_run_with_no_wall_time_has_no_achieved_rate(monkeypatch):
    monkeypatch.setattr(scenarios, "server", lambda call, s, qps, t, p: RunRecord([], 0, 0, 0.0))
    _, trials, _ = server_search(lambda: None, SETTINGS, 10.0, percentile=90, max_trials=1)
    assert trials[0]["achieved_qps"] is None and trials[0]["latency_ms"] is None  # unknown, not 0
