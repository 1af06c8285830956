"""LLM measurement: the torch implementation of the zoo's Llama family, TTFT/TPOT on both runtimes stored beside
the estimate, and LoadGen's server scenario with token latencies (TTFT / TPOT bounds).

Expectations: the torch module computes the ONNX graph's function (same weights copied in, outputs compared
with onnxruntime's); shapes from the configuration (``[batch, kv_heads, context, head_dim]``); TPOT =
(completion - first token) / (n_tokens - 1) written out here; LoadGen's verdicts for bounds far above and
far below sleeps of known length.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from typer.testing import CliRunner

from fitbench import zoo
from fitbench.cli.app import _register, app
from fitbench.errors import FitbenchError

_register()
SMALL = {"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 2, "head_dim": 16, "ffn": 96, "vocab": 256}
TINY = {**SMALL, "layers": 1}


@pytest.mark.parametrize("phase,extra", [("prefill", {"prompt": 8}), ("decode", {"context": 5})])
@pytest.mark.parametrize("tied,bias", [(False, False), (True, True)])
def test_torch_llama_computes_the_onnx_graph(phase, extra, tied, bias):
    import onnxruntime as ort
    import torch

    from fitbench.measure.runtimes import torch_llama as tl

    b = 2
    m = zoo.build("llm-100m", phase=phase, batch=b, materialize_weights=True, tied=tied, qkv_bias=bias,
                  **extra, **SMALL)
    cfg = tl.config_for("llm-100m", {"phase": phase, "tied": tied, "qkv_bias": bias, **extra, **SMALL})
    mod = tl.build(cfg)
    # per layer: q, k, v, o, gate, up, down weights + 2 norms (+ q/k/v biases); embedding, final norm, LM head
    per_layer = 7 + 2 + (3 if bias else 0)
    assert tl.load_onnx_weights(mod, m.proto) == 2 * per_layer + 2 + (0 if tied else 1)
    shapes = tl.input_shapes(cfg, b)
    s = 8 if phase == "prefill" else 1
    want = {"input_ids": (b, s), "position_ids": (b, s)}
    if phase == "decode":
        want |= {f"past.{i}.{kv}": (b, 2, 5, 16) for i in range(2) for kv in ("key", "value")}
    assert shapes == want
    assert [i.name for i in m.proto.graph.input if i.name in want] == list(want)
    rng = np.random.default_rng(0)
    feeds = {"input_ids": rng.integers(0, 256, (b, s)).astype(np.int64),
             "position_ids": (np.arange(s)[None].repeat(b, 0) + (5 if phase == "decode" else 0)).astype(np.int64),
             **{k: rng.standard_normal(v).astype(np.float32) for k, v in shapes.items() if k.startswith("past.")}}
    sess = ort.InferenceSession(m.proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    ref = sess.run(None, feeds)
    with torch.no_grad():
        got = mod(*[torch.from_numpy(v) for v in feeds.values()])
    assert len(got) == len(names) == 2 * 2 + 1  # present.N.key / value for 2 layers, then logits
    for name, r, t in zip(names, ref, got, strict=True):
        assert tuple(t.shape) == r.shape, name
        np.testing.assert_allclose(t.numpy(), r, rtol=1e-4, atol=1e-5, err_msg=name)
    kv_len = 8 if phase == "prefill" else 5 + 1
    assert got[0].shape == (b, 2, kv_len, 16) and got[-1].shape == (b, 256)


def test_torch_llama_rejects_unknown_parameters():
    from fitbench.measure.runtimes import torch_llama as tl

    with pytest.raises(FitbenchError, match="unknown parameter"):
        tl.config_for("llm-100m", {"routing": 8})
    with pytest.raises(FitbenchError, match="mixture of experts"):
        tl.config_for("mixtral-8x7b", {})
    with pytest.raises(FitbenchError, match="not an LLM"):
        tl.config_for("resnet50", {})


def test_measure_ttft_and_tpot_on_torch():
    from fitbench.compare.llm import measure_llm

    m = measure_llm("llm-100m", batch=2, prompt=16, context=32, runtime="torch", min_count=8, min_duration_s=0.05,
                    warmup_count=1, warmup_s=0.0, **TINY)
    assert m.runtime == "torch" and m.ttft_p50_s > 0 and m.tpot_p50_s > 0
    assert m.tokens_per_s == pytest.approx(2 / m.tpot_p50_s)
    c = m.decode["conditions"]
    assert c["runtime"] == "torch" and c["input_shapes"]["past.0.key"] == [2, 2, 32, 16]
    assert c["input_dtypes"]["input_ids"] == "int64" and c["input_dtypes"]["past.0.value"] == "float32"
    # the module returns present.0.key, present.0.value (context + 1 tokens), then the logits
    assert c["output_shapes"] == [[2, 2, 33, 16], [2, 2, 33, 16], [2, 256]]
    assert m.prefill["conditions"]["input_shapes"] == {"input_ids": [2, 16], "position_ids": [2, 16]}
    assert len(c["model_sha256"]) == 64 and c["model_sha256"] != m.prefill["conditions"]["model_sha256"]


def test_llm_run_stores_measurements_beside_the_estimate(tmp_path):
    from fitbench.compare.llm_run import llm_run, store_llm_run
    from fitbench.store import open_store

    spec = {"name": "hand-cpu", "source": "test", "clock": "1 GHz", "macs_per_cycle": {"fp32": 100},
            "sram": "1 MiB", "dram_bandwidth": "10 GB/s"}
    run = llm_run("llm-100m", ["onnxruntime"], batch=1, prompt=16, context=32, hw=spec, threads=1,
                  min_count=8, min_duration_s=0.05, warmup_count=1, warmup_s=0.0, **TINY)
    assert run.hardware == "hand-cpu" and run.estimate.precision == "fp32" and run.estimate.kv_precision == "fp32"
    # fp32 KV cache: 2 x layers x kv_heads x head_dim x 4 bytes per token
    assert run.estimate.kv_bytes_per_token == 2 * 1 * 2 * 16 * 4
    row = run.rows()[0]
    assert row["tpot_ratio"] == pytest.approx(row["tpot_s"] / row["estimate_tpot_s"])
    assert row["ttft_ratio"] == pytest.approx(row["ttft_s"] / row["estimate_ttft_s"])
    db = tmp_path / "r.db"
    sweep = store_llm_run(run, str(db), command="test")
    st = open_store(str(db))
    recs = {r.kind: r for r in st.query(sweep_id=sweep)}
    est, meas = recs["estimate"], recs["measure"]
    assert est.hardware == "hand-cpu" and est.conditions["spec"]["name"] == "hand-cpu"
    assert est.metrics["tpot_s"] == row["estimate_tpot_s"]
    assert meas.runtime == "onnxruntime" and meas.metrics["tpot_s"] == row["tpot_s"]
    c = meas.conditions
    for key in ("model_sha256", "prefill_model_sha256", "runtime_version", "threads", "cpu_model"):
        assert c[key], key
    assert (c["prompt"], c["context"], c["batch"], c["threads"], meas.precision) == (16, 32, 1, 1, "fp32")
    assert c["estimated_on"] == "hand-cpu"


def test_tpot_convention():
    from fitbench.measure.llm_server import summarize, tpot_of

    # first token at 10 ms after arrival, 4 more tokens 2 ms apart: TPOT = (18 - 10) / (5 - 1) = 2 ms
    assert tpot_of(0, 10_000_000, 18_000_000, 5) == 2_000_000
    assert tpot_of(0, 10, 10, 1) is None
    recs = [{"arrival_ns": 0, "first_ns": (i + 1) * 1_000_000, "done_ns": (i + 1) * 1_000_000 + 4 * 3_000_000}
            for i in range(100)]
    s = summarize(recs, 5)
    # TTFT 1..100 ms: nearest-rank p50 = the 50th = 50 ms, p90 = 90 ms; TPOT 3 ms each; 100 x 5 tokens over 112 ms
    assert (s["ttft_p50_ms"], s["ttft_p90_ms"], s["tpot_p50_ms"]) == (50.0, 90.0, 3.0)
    assert s["ttft_p99_ms"] is None  # fewer samples than p99 needs
    assert s["tokens_per_s"] == pytest.approx(500 / 0.112)


@pytest.mark.parametrize("tpot_ms,valid", [(100.0, "VALID"), (0.2, "INVALID")])
def test_loadgen_server_with_token_bounds(tpot_ms, valid):
    from fitbench.measure.llm_server import loadgen_token_figures, serve, summarize

    # prefill sleeps 2 ms, each decode step 1 ms, 3 tokens per request, at 50 requests/s (a 20 % busy server)
    recs, logs = serve(lambda: time.sleep(0.002), lambda: time.sleep(0.001), qps=50.0, output_tokens=3,
                       ttft_ns=int(1e9), tpot_ns=int(tpot_ms * 1e6), min_count=500, min_duration_s=1.0,
                       max_duration_s=30.0)
    assert logs["result_validity"] == valid
    lg, ours = loadgen_token_figures(logs["figures"]), summarize(recs, 3)
    assert ours["count"] >= 500 and ours["tpot_p50_ms"] >= 1.0 and ours["ttft_p50_ms"] >= 2.0
    assert lg["tpot_p50_ms"] >= 1.0 and lg["ttft_p50_ms"] >= 2.0
    # LoadGen's and fitbench's own TPOT medians agree (LoadGen timestamps the same calls, from C++)
    assert lg["tpot_p50_ms"] == pytest.approx(ours["tpot_p50_ms"], rel=0.25)
    if valid == "INVALID":
        assert "TPOT" in logs["summary_log"]


def test_measure_server_records_the_conditions():
    from fitbench.measure.llm_server import measure_server

    r = measure_server("llm-100m", runtime="onnxruntime", prompt=8, context=16, output_tokens=3, ttft_ms=1000.0,
                       tpot_ms=500.0, min_count=16, min_duration_s=0.2, warmup_count=1, **TINY)
    c = r["conditions"]
    assert r["result_validity"] in ("VALID", "INVALID") and r["measured"]["count"] >= 16
    assert (c["prompt"], c["context"], c["output_tokens"], c["ttft_bound_ms"], c["tpot_bound_ms"]) == (
        8, 16, 3, 1000.0, 500.0)
    assert c["input_shapes"]["decode"]["past.0.key"] == [1, 2, 16, 16]
    assert c["input_shapes"]["prefill"]["input_ids"] == [1, 8]
    assert c["runtime_version"] and c["cpu_model"] and len(c["model_sha256"]) == 64


@pytest.mark.parametrize("args,message", [
    (["resnet50", "--llm"], "needs a zoo LLM"),
    (["llm-100m", "--llm", "--scenario", "server"], "needs both --ttft and --tpot"),
    (["llm-100m", "--llm", "--batch", "1,2"], "one --batch at a time"),
    (["llm-100m", "--llm", "--scenario", "offline"], "single-stream"),
    (["llm-100m", "--llm", "--scenario", "server", "--ttft", "1s", "--tpot", "0"], "--tpot must be positive"),
])
def test_cli_llm_bad_input(args, message):
    res = CliRunner().invoke(app, ["run", *args])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output


def test_cli_llm_server_stores_the_run(tmp_path):
    import json

    from fitbench.store import open_store

    db = tmp_path / "r.db"
    small = [f"--param={k}={v}" for k, v in TINY.items()]
    res = CliRunner().invoke(app, ["run", "llm-100m", "--llm", "--scenario", "server", "--quick", "--prompt", "8",
                                   "--context", "16", "--output-tokens", "3", "--ttft", "1s", "--tpot", "500ms",
                                   "--min-count", "16", "--min-duration", "0.2", "--warmup-count", "1",
                                   "--db", str(db), "--format", "json", *small])
    assert res.exit_code == 0, res.output
    run = json.loads(res.output)[0]
    assert run["conditions"]["percentile"] == 90 and run["conditions"]["output_tokens"] == 3
    rec = open_store(str(db)).query(kind="measure")[0]
    assert rec.runtime == "onnxruntime" and rec.status == ("ok" if run["result_validity"] == "VALID" else "invalid")
    assert rec.conditions["ttft_bound_ms"] == 1000.0 and rec.conditions["tpot_bound_ms"] == 500.0
