"""Short settings for every measurement in these tests: ~0.2-0.3 s of timed work each.

(A uniquely named module, not conftest, so that other test folders' conftest.py cannot shadow it.)
"""

FAST = dict(min_count=20, min_duration_s=0.2, warmup_count=2, warmup_s=0.05, threads=1, timeout_s=60)
