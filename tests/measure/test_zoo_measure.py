"""Measuring zoo models by name."""

from __future__ import annotations

import hashlib

import pytest
from measure_fast import FAST

from fitbench import zoo
from fitbench.measure import measure


def test_zoo_tiny_by_name_per_batch():
    rs = measure("tiny", batch=[1, 2], **FAST)
    assert [r.status for r in rs] == ["ok", "ok"], [r.cause for r in rs]
    assert [r.batch for r in rs] == [1, 2]
    for r, b in zip(rs, (1, 2)):
        built = zoo.build("tiny", batch=b, materialize_weights=True)
        name, shape = next(iter(built.input_shapes.items()))
        assert r.conditions["fed_shapes"] == {name: [b, *list(shape)[1:]]}
        assert r.conditions["model_sha256"] == hashlib.sha256(built.proto.SerializeToString()).hexdigest()


@pytest.mark.slow
def test_resnet50_small_single_stream_and_offline():
    for scenario in ("single-stream", "offline"):
        r = measure("resnet50", resolution=(64, 64), batch=1, scenario=scenario,
                    **{**FAST, "min_count": 5, "min_duration_s": 0.3, "warmup_count": 1})
        assert r.ok, r.cause
        assert r.conditions["fed_shapes"] == {next(iter(r.conditions["input_shapes"])): [1, 3, 64, 64]}
        assert r.throughput == pytest.approx(r.samples / r.wall_s)
