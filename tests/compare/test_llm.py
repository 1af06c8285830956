"""LLM workloads: the Llama-style zoo family, int4 weights, KV-cache bytes, TTFT / TPOT and memory fit.

Every expectation is arithmetic written here from the configurations (config.json of each Hugging Face
repository) or a published figure, never a value copied from the code's output.
"""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from fitbench import zoo
from fitbench.cli.app import _register, app
from fitbench.compare.llm import kv_bytes_per_token, llm_estimate, llm_profiles
from fitbench.errors import FitbenchError, SpecError
from fitbench.hardware.estimator import estimate
from fitbench.hardware.spec import load_hardware
from fitbench.precision import Precision
from fitbench.profile import profile

_register()

# (layers, hidden, heads, kv_heads, head_dim, ffn, vocab, tied, qkv_bias) from each config.json
CONFIGS = {
    "llama-3.2-1b": (16, 2048, 32, 8, 64, 8192, 128256, True, False),
    "llama-3.2-3b": (28, 3072, 24, 8, 128, 8192, 128256, True, False),
    "llama-3.1-8b": (32, 4096, 32, 8, 128, 14336, 128256, False, False),
    "mistral-7b": (32, 4096, 32, 8, 128, 14336, 32000, False, False),
    "qwen2.5-0.5b": (24, 896, 14, 2, 64, 4864, 151936, True, True),
    "llm-100m": (12, 768, 12, 4, 64, 2048, 16384, False, False),
}
# published parameter counts (model cards / the models' safetensors totals, rounded as the cards give them)
PUBLISHED_B = {"llama-3.2-1b": 1.24, "llama-3.2-3b": 3.21, "llama-3.1-8b": 8.03, "mistral-7b": 7.24,
               "qwen2.5-0.5b": 0.49, "llm-100m": 0.10}


def linear_params(name: str) -> int:
    """Weights of the q, k, v, o projections and the SwiGLU FFN of all layers (the per-token MAC work)."""
    L, d, h, kvh, dh, ffn, _, _, _ = CONFIGS[name]
    a, kv = h * dh, kvh * dh
    return L * (d * (a + 2 * kv) + a * d + 3 * d * ffn)


def params(name: str) -> int:
    L, d, h, kvh, dh, ffn, V, tied, bias = CONFIGS[name]
    norms = L * 2 * d + d
    biases = L * (h * dh + 2 * kvh * dh) if bias else 0
    return linear_params(name) + norms + biases + V * d * (1 if tied else 2)


def hand_spec(**extra) -> dict:
    """An ideal chip bound by its 100 GB/s DRAM: compute 10^16 MAC/s, weights always streamed, 1 MiB SRAM."""
    return {"name": "hand-bw", "source": "test: a bandwidth-bound chip", "clock": "1 GHz",
            "macs_per_cycle": {"fp16": 10**7, "int8": 10**7}, "sram": "1 MiB", "dram_bandwidth": "100 GB/s",
            "residency": "streamed", **extra}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_parameter_counts_closed_form_and_published(name):
    m = zoo.build(name)
    assert m.parameters == params(name)
    assert m.parameters / 1e9 == pytest.approx(PUBLISHED_B[name], abs=0.006)


def test_published_exact_counts():
    # Llama-3.2-1B 1,235,814,400 and Llama-3.1-8B 8,030,261,248 (the HF safetensors totals)
    assert params("llama-3.2-1b") == 1_235_814_400
    assert params("llama-3.1-8b") == 8_030_261_248


def test_int4_group_scale_bytes():
    # 128-element groups, one fp16 scale each: 4 + 16/128 = 4.125 bits
    assert Precision.parse("int4").bytes == 4.125 / 8 == 0.5 + 2 / 128
    p = profile("llm-100m", weight_precision="int4", activation_precision="fp16")
    n = p.totals.weights  # parameters + RoPE's inv_freq (32) + RMSNorm's eps (a 0-d constant)
    assert n == params("llm-100m") + 32 + 1
    assert p.totals.weight_bytes == pytest.approx(n * 0.5 + n / 128 * 2, abs=len(p.layers))
    assert profile("llm-100m", precision="int8").totals.weight_bytes == n
    assert profile("llm-100m", precision="fp16").totals.weight_bytes == 2 * n


@pytest.mark.parametrize("name", ["llama-3.1-8b", "llama-3.2-1b", "qwen2.5-0.5b", "mistral-7b"])
def test_kv_cache_bytes_per_token_gqa(name):
    L, _, _, kvh, dh, *_ = CONFIGS[name]
    per_token = 2 * L * kvh * dh * 2  # K and V, fp16
    assert kv_bytes_per_token(zoo.build(name, context=1).params) == per_token
    ctx = 256
    p = profile(name, context=ctx, activation_precision="fp16", weight_precision="int4")
    past = {k: v for k, v in p.totals.input_bytes.items() if k.startswith("past.")}
    assert len(past) == 2 * L and sum(past.values()) == per_token * ctx
    assert estimate(p, hand_spec()).points[0].state_bytes_per_sequence == per_token * ctx


def test_kv_cache_figures_people_quote():
    # Llama-3.1-8B fp16: 128 KiB per token, 512 MiB per sequence at 4096 tokens (GQA with 8 KV heads: a
    # calculator that ignores GQA says 4x more, 2 x 32 x 4096 x 2 = 512 KiB per token)
    assert 2 * 32 * 8 * 128 * 2 == 128 * 1024
    assert kv_bytes_per_token(zoo.build("llama-3.1-8b", context=1).params) * 4096 == 512 * 2**20


@pytest.mark.parametrize("name", ["llm-100m", "qwen2.5-0.5b", "llama-3.2-1b"])
def test_prefill_and_decode_macs_by_arithmetic(name):
    L, d, h, _, dh, _, V, _, _ = CONFIGS[name]
    P, C = 64, 300
    pre = profile(name, phase="prefill", prompt=P).totals.macs
    dec = profile(name, phase="decode", context=C).totals.macs
    # projections and FFN per token; QK^T and PV over every key (no causal mask); the LM head on one token
    assert pre == P * linear_params(name) + 2 * L * h * dh * P * P + V * d
    assert dec == linear_params(name) + 2 * L * h * dh * (C + 1) + V * d
    # the rule of thumb: FLOPs ~ 2 x params x tokens plus the attention terms
    assert 2 * pre == pytest.approx(2 * P * params(name), rel=0.35)


def test_bandwidth_bound_decode_tokens_per_s():
    """tokens/s = bandwidth / bytes per token: every streamed weight plus the KV cache, once per token."""
    L, d, _, kvh, dh, _, V, _, _ = CONFIGS["llm-100m"]
    C = 1024
    e = llm_estimate("llm-100m", hand_spec(), batch=1, prompt=32, context=C, precision="int4")
    n = params("llm-100m") + 32 + 1
    w_int4 = n * 0.515625
    # the untied embedding table is storage: a decode step reads one row of it (d fp16 activations)
    streamed = w_int4 - V * d * 0.515625 + d * 2
    kv = 2 * L * kvh * dh * 2 * C
    per_token = streamed + kv
    assert e.points[0].decode_dram_bytes_per_token == pytest.approx(per_token, rel=2e-3)
    assert e.points[0].tokens_per_s == pytest.approx(100e9 / per_token, rel=2e-3)
    assert e.points[0].decode_bound == "weights"
    assert e.points[0].tpot_s == pytest.approx(per_token / 100e9, rel=2e-3)


def test_int8_weights_keep_an_fp16_kv_cache():
    """W8 with an fp16 KV cache (the default kv_precision): weights 1 byte each, the KV cache 2 bytes per
    element, not W8A8's 1 (tokens/s = bandwidth / bytes per token again)."""
    L, d, _, kvh, dh, _, V, _, _ = CONFIGS["llm-100m"]
    C = 1024
    e = llm_estimate("llm-100m", hand_spec(), batch=1, prompt=32, context=C, precision="int8")
    n = params("llm-100m") + 32 + 1
    streamed = n - V * d + d * 2          # the embedding table is storage: one row of d fp16 activations
    kv = 2 * L * kvh * dh * 2 * C         # fp16: 2 bytes per element
    per_token = streamed + kv
    assert e.points[0].decode_dram_bytes_per_token == pytest.approx(per_token, rel=2e-3)
    assert e.points[0].tokens_per_s == pytest.approx(100e9 / per_token, rel=2e-3)
    assert e.kv_precision == "fp16"


def test_batch_shares_the_weights_not_the_kv_cache():
    L, d, _, kvh, dh, _, V, _, _ = CONFIGS["llm-100m"]
    C, B = 1024, 8
    e = llm_estimate("llm-100m", hand_spec(), batch=[1, B], prompt=32, context=C, precision="int4")
    n = params("llm-100m") + 32 + 1
    streamed = n * 0.515625 - V * d * 0.515625
    kv = 2 * L * kvh * dh * 2 * C
    step = streamed + B * (kv + d * 2)  # one pass of the weights, every sequence's cache
    assert e.point(B).tpot_s == pytest.approx(step / 100e9, rel=2e-3)
    assert e.point(B).tokens_per_s == pytest.approx(B * 100e9 / step, rel=2e-3)
    assert e.point(B).tokens_per_s_per_sequence == pytest.approx(100e9 / step, rel=2e-3)


def test_tied_lm_head_streams_the_embedding_table():
    """Llama-3.2-1B ties its LM head to the 128256 x 2048 embedding: a decode step reads it whole, once."""
    p = profile("llama-3.2-1b", context=16, weight_precision="int8", activation_precision="fp16")
    pt = estimate(p, hand_spec(), state_inputs=[k for k in p.totals.input_bytes if k.startswith("past.")]).points[0]
    n = params("llama-3.2-1b") + 32 + 1  # int8: one byte per weight
    assert pt.dram_weight_bytes_per_inference == pytest.approx(n + 2048 * 2, rel=1e-4)  # + the gathered row
    lm = next(x for x in pt.layers if x.name == "lm_head")
    assert lm.dram_weight_bytes == 128256 * 2048


def test_ttft_and_tpot_are_the_phase_latencies():
    spec = hand_spec()
    prof = llm_profiles("llm-100m", prompt=128, context=512, precision="int8")
    e = llm_estimate(prof, spec, batch=[1, 4])
    for b in (1, 4):
        assert e.point(b).ttft_s == estimate(prof.prefill, spec, batch=b,
                                             state_inputs=[k for k in prof.prefill.totals.output_bytes
                                                           if k.startswith("present.")]).points[0].latency_s
    assert e.prompt == 128 and e.context == 512 and e.precision == "int8" and e.kv_precision == "fp16"


def test_largest_batch_that_fits_the_memory():
    L, d, _, kvh, dh, _, V, _, _ = CONFIGS["llm-100m"]
    C = 2048
    e = llm_estimate("llm-100m", hand_spec(dram_capacity="1 GB"), batch=[1, 64], prompt=16, context=C,
                     precision="fp16")
    w = (params("llm-100m") + 33) * 2
    kv_seq = 2 * L * kvh * dh * 2 * C  # 25,165,824 bytes
    assert e.max_batch == math.floor((1e9 - w) / kv_seq) == 31
    assert e.point(1).fits_memory and not e.point(64).fits_memory
    assert e.point(64).memory_bytes == w + 64 * kv_seq
    assert llm_estimate("llm-100m", hand_spec(), batch=1, prompt=16, context=C).max_batch is None


def test_catalog_capacities_and_a_bad_capacity():
    assert load_hardware("nvidia-t4").dram_capacity == 16e9  # T4 datasheet: 16 GB GDDR6
    assert load_hardware("nvidia-a100-40gb").dram_capacity == 40e9
    with pytest.raises(SpecError, match="dram_capacity"):
        load_hardware(hand_spec(dram_capacity="0 GB"))
    with pytest.raises(SpecError, match="dram_capacity"):
        load_hardware(hand_spec(dram_capacity="lots"))


def test_int4_macs_run_at_the_activation_rate():
    p = profile("llm-100m", context=8, precision="int4")
    assert p.conditions.activation_precision == "fp16"  # int4 alone means W4A16
    e = estimate(p, hand_spec(macs_per_cycle={"int8": 10**7}))
    assert e.conditions["precision"] == "int4" and e.conditions["mac_precision"] == "int8"
    with pytest.raises(FitbenchError, match="weight format"):
        profile("llm-100m", context=8, activation_precision="int4")


@pytest.mark.parametrize("kwargs, message", [
    ({"phase": "train"}, "phase"), ({"heads": 12, "kv_heads": 5}, "kv_heads"), ({"head_dim": 63}, "even"),
])
def test_bad_llm_parameters(kwargs, message):
    with pytest.raises(FitbenchError, match=message):
        zoo.build("llm-100m", **kwargs)


def test_cli_llm_estimate_json(tmp_path):
    spec = tmp_path / "hand.yaml"
    spec.write_text(json.dumps(hand_spec(dram_capacity="1 GB")))
    res = CliRunner().invoke(app, ["estimate", "llm-100m", "--hw", str(spec), "--prompt", "32", "--context", "2048",
                                   "--batch", "1,8", "--precision", "fp16", "--format", "json"])
    assert res.exit_code == 0, res.output
    (e,) = json.loads(res.stdout)
    assert e["max_batch"] == 31 and [p["batch"] for p in e["points"]] == [1, 8]
    assert e["kv_bytes_per_token"] == 2 * 12 * 4 * 64 * 2
    table = CliRunner().invoke(app, ["estimate", "llm-100m", "--hw", str(spec), "--prompt", "32", "--context",
                                     "2048", "--batch", "1", "--precision", "int4"])
    assert table.exit_code == 0 and "TTFT" in table.stdout and "hand-bw" in table.stdout


@pytest.mark.parametrize("args, message", [
    (["estimate", "llm-100m", "--hw", "nvidia-t4", "--context", "0"], "context"),
    (["estimate", "llm-100m", "--hw", "nvidia-t4", "--kv-precision", "int4"], "weight format"),
    (["estimate", "tiny", "--hw", "nvidia-t4", "--prompt", "5"], "--prompt"),
    (["estimate", "tiny"], "--hw"),
    (["estimate", "llm-100m", "--hw", "nvidia-t4", "--seq-len", "5"], "--context"),
])
def test_cli_llm_bad_input_is_one_line(args, message):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def _chip(name: str, macs: int, sram: str, bw: str) -> dict:
    return {"name": name, "source": "test: hand-built", "clock": "1 GHz",
            "macs_per_cycle": {"int8": macs, "fp16": macs}, "sram": sram, "dram_bandwidth": bw, "dram_capacity": "4 GB"}


def test_compare_ranks_an_llm_on_decode_tokens_and_explains_the_flip():
    """A 100-TMAC/s chip on 20 GB/s wins ResNet-50 at batch 32 and loses chat decode to a 10-TMAC/s chip on
    400 GB/s: decode streams the int4 weights once per token."""
    from fitbench.compare import compare

    tops, bw = _chip("tops-chip", 100_000, "8 MiB", "20 GB/s"), _chip("bw-chip", 10_000, "1 MiB", "400 GB/s")
    c = compare("llm-100m:batch=1:context=1024:prompt=64", hw=[tops, bw], precision="int4", batch_curve=(),
                label="chat, batch 1, 1k context")
    ranks = {r.offering: (r.workload_rank, r.baseline_rank, r.tops_rank) for r in c.rows}
    assert ranks == {"tops-chip": (2, 1, 1), "bw-chip": (1, 2, 2)}
    drop = next(f for f in c.flips if f.offering == "tops-chip")
    assert drop.cause == "weights" and "of weights per token over 20 GB/s" in drop.sentence
    # the ranked figure is the decode step: tokens/s = 1 / TPOT at batch 1, and the side table has TTFT
    side = {e["hardware"]: e for e in c.llm}
    row = next(r for r in c.rows if r.offering == "bw-chip")
    assert row.workload_throughput_ips == pytest.approx(side["bw-chip"]["points"][0]["tokens_per_s"])
    assert side["bw-chip"]["prompt"] == 64 and side["bw-chip"]["context"] == 1024
    assert all(e["points"][0]["ttft_s"] > 0 and e["points"][0]["decode_bound"] for e in c.llm)
    assert side["bw-chip"]["max_batch"] == math.floor((4e9 - side["bw-chip"]["weight_bytes"])
                                                      / (2 * 12 * 4 * 64 * 2 * 1024))


def test_fused_and_matmul_attention_cost_the_same_macs_but_not_the_same_memory():
    P = 256
    h = CONFIGS["llm-100m"][2]
    fused = profile("llm-100m", phase="prefill", prompt=P, precision="fp16")
    plain = profile("llm-100m", phase="prefill", prompt=P, precision="fp16", attention="matmul")
    assert fused.totals.macs == plain.totals.macs
    # MatMul/Softmax keeps the scores: heads x P x P fp16 values per layer; the fused op never stores them
    assert plain.totals.largest_activation_bytes == h * P * P * 2
    assert fused.totals.largest_activation_bytes < h * P * P * 2
    assert fused.model.opset == 23 and plain.model.opset == 17


def test_fused_and_matmul_decode_steps_compute_the_same_logits():
    import numpy as np
    import onnxruntime as ort

    small = {"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 2, "head_dim": 16, "ffn": 96, "vocab": 256,
             "context": 5}
    rng = np.random.default_rng(0)
    feeds = None
    outs = []
    for attention in ("fused", "matmul"):
        m = zoo.build("llm-100m", materialize_weights=True, attention=attention, **small)
        if feeds is None:
            feeds = {"input_ids": np.array([[7]], dtype=np.int64), "position_ids": np.array([[5]], dtype=np.int64),
                     **{k: rng.standard_normal(v).astype(np.float32) for k, v in m.input_shapes.items()
                        if k.startswith("past.")}}
        sess = ort.InferenceSession(m.proto.SerializeToString(), providers=["CPUExecutionProvider"])
        outs.append(sess.run(["logits", "present.1.value"], feeds))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_measure_ttft_and_tpot_on_onnxruntime():
    from fitbench.compare.llm import measure_llm

    small = {"layers": 1, "hidden": 64, "heads": 4, "kv_heads": 2, "head_dim": 16, "ffn": 96, "vocab": 256}
    m = measure_llm("llm-100m", batch=2, prompt=16, context=32, min_count=8, min_duration_s=0.05, warmup_count=1,
                    warmup_s=0.0, **small)
    assert m.ttft_p50_s > 0 and m.tpot_p50_s > 0 and m.tokens_per_s == pytest.approx(2 / m.tpot_p50_s)
    assert m.samples["prefill"] >= 8 and m.samples["decode"] >= 8
    shapes = m.decode["conditions"]["input_shapes"]
    assert shapes["past.0.key"] == [2, 2, 32, 16] and m.prefill["conditions"]["input_shapes"]["input_ids"] == [2, 16]
    with pytest.raises(FitbenchError, match="not an LLM"):
        measure_llm("tiny")


def test_the_markdown_report_shows_the_llm_table(tmp_path):
    from fitbench.compare import compare
    from fitbench.report.static import markdown

    c = compare("llm-100m:batch=1:context=256:prompt=32", hw=[hand_spec(dram_capacity="1 GB")], precision="int8",
                batch_curve=())
    md = markdown(c)
    assert "## LLM: prompt 32, context 256, batch 1, weights int8, KV cache fp16" in md
    llm_part = md.split("## LLM:")[1].split("## Rank flips")[0]
    row = next(line for line in llm_part.splitlines() if line.startswith("| hand-bw | "))
    # memory fit: floor((1 GB - weights) / (2 x 12 x 4 x 64 x 2 B x 256 tokens))
    assert row.endswith(f" | {math.floor((1e9 - (params('llm-100m') + 33)) / (2 * 12 * 4 * 64 * 2 * 256))} |")


def test_cli_tokens_per_s_against_context_length(tmp_path):
    spec = tmp_path / "hand.yaml"
    spec.write_text(json.dumps(hand_spec()))
    res = CliRunner().invoke(app, ["estimate", "llm-100m", "--hw", str(spec), "--prompt", "16", "--context",
                                   "256,4096", "--batch", "1", "--precision", "int4", "--format", "json"])
    assert res.exit_code == 0, res.output
    short, long_ = json.loads(res.stdout)
    kv = 2 * 12 * 4 * 64 * 2
    assert (short["context"], long_["context"]) == (256, 4096)
    assert long_["kv_bytes_per_sequence"] == kv * 4096
    # bandwidth-bound: the longer cache costs its extra bytes at 100 GB/s per token
    extra = kv * (4096 - 256) / 100e9
    assert long_["points"][0]["tpot_s"] - short["points"][0]["tpot_s"] == pytest.approx(extra, rel=2e-3)
    table = CliRunner().invoke(app, ["estimate", "llm-100m", "--hw", str(spec), "--prompt", "16", "--context",
                                     "256,4096", "--precision", "int4"])
    assert table.exit_code == 0 and "context" in table.stdout


def test_the_html_report_draws_the_phase_split(tmp_path):
    from fitbench.compare import compare
    from fitbench.report.figures import all_figures, llm_phases
    from fitbench.report.static import write_outputs

    c = compare("llm-100m:batch=1:context=256:prompt=32", hw=[hand_spec()], precision="int8", batch_curve=(1, 4))
    fig = llm_phases(c)
    (prefill, decode) = fig["data"]
    e = c.llm[0]["points"][0]
    assert prefill["y"] == [e["ttft_s"] * 1e3] and decode["y"] == [e["tpot_s"] * 1e3]
    assert "llm-phases" in [fid for fid, _, _ in all_figures(c)]
    (path,) = write_outputs(c, tmp_path / "r.html")
    assert "Prefill (TTFT) vs decode (TPOT)" in path.read_text()
