"""A runtime that crashes, hangs or outgrows memory gives a failed result; the caller goes on."""

from __future__ import annotations

import time

import pytest
from measure_fast import FAST

from fitbench.errors import MeasurementError
from fitbench.measure import measure
from fitbench.measure.worker import FAULT_ENV


def test_segfaulting_child_is_a_failed_result(conv_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "segv")
    r = measure(conv_path, batch=1, **FAST)
    assert r.status == "failed" and not r.ok
    assert "SIGSEGV" in r.cause and "crashed" in r.cause
    assert r.latency is None and r.throughput is None
    assert r.conditions["model_sha256"]  # conditions are still recorded


def test_hanging_child_is_killed_at_the_timeout(conv_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "hang")
    t0 = time.monotonic()
    r = measure(conv_path, batch=1, **{**FAST, "timeout_s": 4})
    elapsed = time.monotonic() - t0
    assert r.status == "failed" and "timed out after 4 s" in r.cause
    assert elapsed < 4 + 10  # killed, not waited for


def test_runaway_memory_is_killed_by_the_guard(conv_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "oom")
    limit = 600 * 2**20
    r = measure(conv_path, batch=1, memory_limit_bytes=limit, **FAST)
    assert r.status == "failed" and r.cause.startswith("out of memory")
    assert r.conditions["memory_limit_bytes"] == limit


def test_child_exception_is_its_cause(conv_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "raise")
    r = measure(conv_path, batch=1, **FAST)
    assert r.status == "failed" and r.cause == "RuntimeError: injected failure (test hook)"


def test_caller_goes_on_after_a_failure(conv_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "segv")
    bad = measure(conv_path, batch=[1], **FAST)
    monkeypatch.delenv(FAULT_ENV)
    good = measure(conv_path, batch=[1], **FAST)
    assert [r.status for r in bad + good] == ["failed", "ok"]


def test_memory_guard_refuses_before_starting(matmul_path):
    # 256x256 fp32 weights = 262144 B; the estimate (5 x weights + 4 x activations + inputs + 200 MiB) > 100 MiB
    with pytest.raises(MeasurementError, match=r"needs about 0\.\d+ GiB .* only 0\.10 GiB is allowed"):
        measure(matmul_path, batch=1, memory_limit_bytes=100 * 2**20, **FAST)


def test_memory_estimate_arithmetic(matmul_path):
    from fitbench.graph.onnx_io import load_model
    from fitbench.measure.memory import ACTIVATION_FACTOR, RUNTIME_ALLOWANCE, WEIGHT_FACTOR, estimate_onnx

    est = estimate_onnx(load_model(matmul_path, batch=8))
    weights = 256 * 256 * 4
    x = y = 8 * 256 * 4              # input and output both live during the MatMul
    assert est["weight_bytes"] == weights
    assert est["peak_activation_bytes"] == x + y
    assert (WEIGHT_FACTOR, ACTIVATION_FACTOR, RUNTIME_ALLOWANCE) == (5, 4, 200 * 2**20)
    assert est["estimate_bytes"] == WEIGHT_FACTOR * weights + ACTIVATION_FACTOR * (x + y) + x + RUNTIME_ALLOWANCE
    assert est["unshaped_tensors"] == []


def test_memory_estimate_names_tensors_it_cannot_size():
    # a custom op's output has no shape: its bytes cannot be counted, so the estimate says which tensor it left out
    from onnx import TensorProto, helper

    from fitbench.graph.onnx_io import load_model
    from fitbench.measure.memory import estimate_onnx

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("Mystery", ["r"], ["y"], name="mystery", domain="custom.ops")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom.ops", 1)])
    est = estimate_onnx(load_model(model))
    assert est["unshaped_tensors"] == ["y"]
    assert est["peak_activation_bytes"] == 4 * 8 * 4 + 4 * 8 * 4  # x and r (fp32) alive at the Relu; y unknown


def test_default_memory_limit_is_half_of_available_capped_and_stated(conv_path, monkeypatch):
    """Not 90 % of available memory (one child reached 20.5 GiB on a shared machine): 50 %, at most 16 GiB,
    and the rule is recorded with the result."""
    from fitbench.measure import memory

    monkeypatch.delenv(memory.LIMIT_ENV, raising=False)
    monkeypatch.setattr(memory, "available_bytes", lambda: 10 * 2**30)
    assert memory.memory_limit() == (5 * 2**30, memory.memory_limit()[1])
    assert "50% of the 10.00 GiB available" in memory.memory_limit()[1]
    monkeypatch.setattr(memory, "available_bytes", lambda: 100 * 2**30)
    assert memory.memory_limit()[0] == 16 * 2**30
    monkeypatch.setenv(memory.LIMIT_ENV, "1.5GiB")
    assert memory.memory_limit() == (int(1.5 * 2**30), "$FITBENCH_MEMORY_LIMIT=1.5GiB")
    assert memory.memory_limit(123 * 2**20)[0] == 123 * 2**20
    monkeypatch.setenv(memory.LIMIT_ENV, "lots")
    with pytest.raises(MeasurementError, match="not a memory size"):
        memory.memory_limit()
    monkeypatch.delenv(memory.LIMIT_ENV)
    monkeypatch.setattr(memory, "available_bytes", lambda: 4 * 2**30)
    r = measure(conv_path, batch=1, **FAST)
    assert r.conditions["memory_limit_bytes"] == 2 * 2**30
    assert r.conditions["memory_limit_rule"].startswith("default: 50% of the 4.00 GiB available")
