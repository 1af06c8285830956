"""Short LoadGen settings for the kit tests: 0.2 s and 32 queries per scenario (a few seconds in all)."""

from __future__ import annotations

from fitbench.kit import scenario_settings

SHORT = {"min_duration_s": 0.2, "min_queries": 32}


def short_settings(*names: str, **kw) -> list[dict]:
    return [scenario_settings(n, **{**SHORT, **kw}) for n in names]
