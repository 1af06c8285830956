"""Decoder-only language models in the Llama style, in two graphs: ``phase=prefill`` and ``phase=decode``.

The family (HF ``LlamaForCausalLM`` / ``MistralForCausalLM`` / ``Qwen2ForCausalLM``, layer by layer):
token embedding; ``layers`` blocks of RMSNorm -> attention with grouped-query heads (``heads`` query heads,
``kv_heads`` key/value heads of ``head_dim``; ``kv_heads == heads`` is MHA, 1 is MQA) and rotary position
embedding (RoPE, rotate-half form) -> residual -> RMSNorm -> SwiGLU FFN (``down(silu(gate(x)) * up(x))``,
width ``ffn``) -> residual; final RMSNorm; LM head (tied to the embedding when ``tied``).

* ``phase=prefill``: the prompt of ``prompt`` tokens in one pass; outputs ``present.N.key`` /
  ``present.N.value`` [batch, kv_heads, prompt, head_dim] (the KV cache it fills) and the last token's
  ``logits`` [batch, vocab] (serving engines compute only the last prompt token's logits).
* ``phase=decode``: ONE new token per sequence with ``context`` tokens already in the cache, given as
  inputs ``past.N.key`` / ``past.N.value`` [batch, kv_heads, context, head_dim] and returned extended by one
  as ``present.N.*``; output ``logits`` [batch, vocab].

Attention (``attention`` parameter): ``fused`` (default) is one ONNX ``Attention`` node per layer
(opset 23; grouped-query from the head counts, ``is_causal`` in prefill), as fused (flash) kernels run
it: the ``tokens x keys`` scores never reach memory; its cost rule counts every score (no causal halving).
``matmul`` writes it as MatMul / Softmax / MatMul, the form plain exports have, whose score tensors are
activations (``heads x prompt^2`` per layer in prefill). Inputs ``input_ids`` and ``position_ids``
[batch, tokens] (int64, as Optimum's exports). Every op is costed: RMSNorm written as Mul / ReduceMean /
Add / Sqrt / Div / Mul, RoPE as Split / Neg / Concat / Mul / Add with cos / sin computed from
``position_ids`` and the ``inv_freq`` buffer (``head_dim / 2`` constants, ``rope_theta ** (-2i / head_dim)``;
a buffer, not a parameter; Llama 3's ``rope_scaling`` changes its values only), SiLU as Sigmoid x Mul.
With ``attention=matmul`` grouped-query attention is a broadcast MatMul over ``[batch, kv_heads,
heads / kv_heads, tokens, head_dim]``: each K/V head is read once, not repeated (``repeat_kv``
materialises copies; fused kernels do not), and prefill has no causal mask (a dense kernel computes all
``prompt x prompt`` scores, the figure counted here).

Per token, closed forms (``d`` = hidden, ``a = heads x head_dim``, ``kv = kv_heads x head_dim``):
parameters per layer ``d (a + 2 kv) + a d + 3 d ffn + 2 d`` (+ ``a + 2 kv`` q/k/v biases for Qwen2);
KV cache ``2 x layers x kv`` elements per token; attention MACs per layer ``2 x heads x head_dim x T``
per query token over ``T`` keys.

**MoE** (``experts`` E > 0, ``top_k`` k; HF ``MixtralForCausalLM``): each layer's FFN is a router
(``d x E``) and E SwiGLU experts (``w1``/``w3``/``w2``), k per token. A graph of T tokens (batch x tokens per
sequence) holds the experts those tokens touch, taken as the expected number of distinct experts under
uniform routing, E (1 - (1 - k/E)^T), rounded (:func:`touched_experts`): k at decode batch 1 (the active
parameters), towards E in prefill. The T x k token-expert rows are dispatched in contiguous chunks (a fixed
stand-in for the router's choice, whose values do not change the cost), so MACs are exact. ``moe_parameters`` gives
the model's total and active counts.

Presets: the ``config.json`` of each model's Hugging Face repository (cited per entry). ``llm-100m``
is a fitbench configuration (100,682,496 parameters) small enough to run with random weights.
Every preset accepts the configuration fields as parameters (``--param layers=2``) to vary it.
"""

from __future__ import annotations

import numpy as np

from ..errors import FitbenchError
from .builder import GraphBuilder
from .registry import register_model

PHASES = ("prefill", "decode")
ATTENTION = ("fused", "matmul")
FUSED_OPSET = 23


def _rmsnorm(g: GraphBuilder, x: str, d: int, name: str, eps: float) -> str:
    """x / sqrt(mean(x^2) + eps) * weight (HF LlamaRMSNorm)."""
    sq = g.mul(x, x, f"{name}.square")
    if g.opset >= 18:  # ReduceMean's axes became an input in opset 18
        ms = g.node("ReduceMean", [sq, g.const("last_axis", [-1])], f"{name}.mean", keepdims=1)
    else:
        ms = g.node("ReduceMean", [sq], f"{name}.mean", axes=[-1], keepdims=1)
    ms = g.add(ms, g.const(f"{name}.eps", eps, np.float32), f"{name}.add_eps")
    r = g.node("Sqrt", [ms], f"{name}.sqrt")
    y = g.node("Div", [x, r], f"{name}.div")
    return g.mul(y, g.weight(f"{name}.weight", (d,), "ones"), name)


def _rope(g: GraphBuilder, x: str, cos: str, sin: str, half: int, name: str) -> str:
    """x * cos + rotate_half(x) * sin, rotate_half(x) = concat(-x2, x1) (HF apply_rotary_pos_emb)."""
    x1, x2 = f"{name}.x1", f"{name}.x2"
    g.node("Split", [x, g.const("rope.split", [half, half])], f"{name}.split", outputs=[x1, x2], axis=-1)
    rot = g.concat([g.node("Neg", [x2], f"{name}.neg"), x1], -1, f"{name}.rotate_half")
    return g.add(g.mul(x, cos, f"{name}.mul_cos"), g.mul(rot, sin, f"{name}.mul_sin"), name)


def build_llama(g: GraphBuilder, p: dict, notes: list) -> None:
    """The family's builder; ``p`` holds the configuration, ``phase``, ``prompt``, ``context`` and ``batch``."""
    phase = str(p["phase"])
    if phase not in PHASES:
        raise FitbenchError(f"phase must be prefill or decode, got {phase!r}")
    d, heads, kvh, dh, ffn = p["hidden"], p["heads"], p["kv_heads"], p["head_dim"], p["ffn"]
    layers, vocab, b = p["layers"], p["vocab"], p["batch"]
    if heads % kvh:
        raise FitbenchError(f"heads ({heads}) must be a multiple of kv_heads ({kvh})")
    if dh % 2:
        raise FitbenchError(f"head_dim must be even for RoPE, got {dh}")
    rep, a, half = heads // kvh, heads * dh, dh // 2
    fused = str(p["attention"]) == "fused"
    if str(p["attention"]) not in ATTENTION:
        raise FitbenchError(f"attention must be fused or matmul, got {p['attention']!r}")
    if fused:
        g.opset = FUSED_OPSET
    s = p["prompt"] if phase == "prefill" else 1
    past = p["context"] if phase == "decode" else 0
    ids = g.input("input_ids", (b, s), elem_type=7)
    pos = g.input("position_ids", (b, s), elem_type=7)
    embed = g.weight("model.embed_tokens.weight", (vocab, d), "normal", 0.02)
    x = g.node("Gather", [embed, ids], "model.embed_tokens")
    # rotary tables, once for all layers: [b, 1, s, dh]
    inv = g.weight("model.rotary_emb.inv_freq", (half,), "inv_freq", float(p["rope_theta"]), trainable=False)
    f = g.node("Cast", [pos], "rotary.cast", to=1)
    f = g.node("Unsqueeze", [f, g.const("axis2", [2])], "rotary.unsqueeze")
    f = g.mul(f, inv, "rotary.freqs")
    emb = g.concat([f, f], -1, "rotary.emb")
    one = g.const("axis1", [1])
    cos = g.node("Unsqueeze", [g.node("Cos", [emb], "rotary.cos_raw"), one], "rotary.cos")
    sin = g.node("Unsqueeze", [g.node("Sin", [emb], "rotary.sin_raw"), one], "rotary.sin")
    scale = g.const("attn.scale", 1.0 / np.sqrt(dh), np.float32)
    eps = float(p["rms_eps"])
    n_exp, top_k = int(p.get("experts", 0)), int(p.get("top_k", 0))
    if n_exp:
        if not 1 <= top_k <= n_exp:
            raise FitbenchError(f"top_k must be between 1 and experts ({n_exp}), got {top_k}")
        touched = touched_experts(n_exp, top_k, b * s)
        notes.append(f"MoE: {n_exp} experts, top-{top_k}; {b * s} token(s) per layer touch {touched} distinct "
                     f"experts (E (1 - (1 - k/E)^T) = {expected_experts(n_exp, top_k, b * s):.3f}, rounded), "
                     "whose weights the graph holds; routing stands in as a fixed contiguous assignment")

    def ffn_block(x: str, name: str) -> str:
        if not n_exp:
            return _mlp(g, x, d, ffn, name, eps)
        return _moe_mlp(g, x, d, ffn, name, eps, n_exp, top_k, b * s, touched)
    bias = bool(p["qkv_bias"])
    for i in range(layers):
        name = f"model.layers.{i}"
        at = f"{name}.self_attn"
        h = _rmsnorm(g, x, d, f"{name}.input_layernorm", eps)
        q = g.linear(h, d, a, f"{at}.q_proj", bias=bias)
        k = g.linear(h, d, kvh * dh, f"{at}.k_proj", bias=bias)
        v = g.linear(h, d, kvh * dh, f"{at}.v_proj", bias=bias)
        q = g.transpose(g.reshape(q, [0, 0, heads, dh], f"{at}.q_split"), [0, 2, 1, 3], f"{at}.q_heads")
        k = g.transpose(g.reshape(k, [0, 0, kvh, dh], f"{at}.k_split"), [0, 2, 1, 3], f"{at}.k_heads")
        v = g.transpose(g.reshape(v, [0, 0, kvh, dh], f"{at}.v_split"), [0, 2, 1, 3], f"{at}.v_heads")
        q = _rope(g, q, cos, sin, half, f"{at}.q_rope")
        k = _rope(g, k, cos, sin, half, f"{at}.k_rope")
        if phase == "decode":
            pk = g.input(f"past.{i}.key", (b, kvh, past, dh))
            pv = g.input(f"past.{i}.value", (b, kvh, past, dh))
            k = g.output(g.concat([pk, k], 2, f"present.{i}.key"))
            v = g.output(g.concat([pv, v], 2, f"present.{i}.value"))
        else:
            k = g.output(g.node("Identity", [k], f"present.{i}.key"))
            v = g.output(g.node("Identity", [v], f"present.{i}.value"))
        if fused:  # ONNX Attention (opset 23): GQA from the head counts, scale 1/sqrt(dh), causal in prefill
            o = g.node("Attention", [q, k, v], f"{at}.attention", is_causal=int(phase == "prefill"))
            o = g.reshape(g.transpose(o, [0, 2, 1, 3], f"{at}.merge_transpose"), [0, 0, a], f"{at}.merge_heads")
            x = g.add(x, g.linear(o, a, d, f"{at}.o_proj", bias=False), f"{name}.add_attn")
            x = ffn_block(x, name)
            continue
        # grouped-query attention: queries [b, kvh, rep, s, dh] against each K/V head once
        qg = g.reshape(q, [0, kvh, rep, s, dh], f"{at}.q_groups")
        kt = g.node("Unsqueeze", [g.transpose(k, [0, 1, 3, 2], f"{at}.k_transpose"), g.const("axis2", [2])],
                    f"{at}.k_groups")
        vg = g.node("Unsqueeze", [v, g.const("axis2", [2])], f"{at}.v_groups")
        sc = g.node("MatMul", [qg, kt], f"{at}.matmul_qk")
        sc = g.mul(sc, scale, f"{at}.scale_qk")
        pr = g.node("Softmax", [sc], f"{at}.softmax", axis=-1)
        o = g.node("MatMul", [pr, vg], f"{at}.matmul_av")
        o = g.reshape(o, [0, heads, s, dh], f"{at}.merge_groups")
        o = g.reshape(g.transpose(o, [0, 2, 1, 3], f"{at}.merge_transpose"), [0, 0, a], f"{at}.merge_heads")
        x = g.add(x, g.linear(o, a, d, f"{at}.o_proj", bias=False), f"{name}.add_attn")
        x = ffn_block(x, name)
    x = _rmsnorm(g, x, d, "model.norm", eps)
    if s > 1:  # prefill: the last prompt token's logits only
        x = g.node("Slice", [x, g.const("last_start", [-1]), g.const("last_end", [s]), g.const("axis1", [1])],
                   "last_token")
    x = g.reshape(x, [-1, d], "model.norm.flatten")
    head = embed if p["tied"] else g.weight("lm_head.weight", (vocab, d), "he", 1.0)
    g.output(g.node("Gemm", [x, head], "lm_head", outputs=["logits"], transB=1))
    if p["tied"]:
        notes.append("the LM head is tied to the token embedding (one table, read whole by the LM head)")


def _mlp(g: GraphBuilder, x: str, d: int, ffn: int, name: str, eps: float) -> str:
    """RMSNorm, then down(silu(gate(h)) * up(h)), plus the residual."""
    mlp = f"{name}.mlp"
    h = _rmsnorm(g, x, d, f"{name}.post_attention_layernorm", eps)
    gate = g.linear(h, d, ffn, f"{mlp}.gate_proj", bias=False)
    act = g.mul(gate, g.node("Sigmoid", [gate], f"{mlp}.sigmoid"), f"{mlp}.silu")
    up = g.linear(h, d, ffn, f"{mlp}.up_proj", bias=False)
    y = g.mul(act, up, f"{mlp}.gate_up")
    return g.add(x, g.linear(y, ffn, d, f"{mlp}.down_proj", bias=False), f"{name}.add_mlp")


def expected_experts(experts: int, top_k: int, tokens: int) -> float:
    """Expected distinct experts that ``tokens`` tokens touch in one layer when each picks ``top_k`` of
    ``experts`` uniformly at random: E x (1 - (1 - k/E)^T) (each expert is missed by one token with
    probability 1 - k/E, independently across tokens). Equals k at T = 1; tends to E."""
    return experts * (1.0 - (1.0 - top_k / experts) ** tokens)


def touched_experts(experts: int, top_k: int, tokens: int) -> int:
    """:func:`expected_experts` rounded to the nearest integer, at least ``top_k`` and at most
    min(experts, tokens x top_k): the experts whose weights a step of ``tokens`` tokens reads."""
    return int(min(max(round(expected_experts(experts, top_k, tokens)), top_k), experts, tokens * top_k))


def moe_parameters(cfg: dict) -> tuple[int, int]:
    """(total, active per token) parameters of a configuration with ``experts`` > 0: every expert counted,
    and only ``top_k`` of them. Closed form per layer: attention ``d (a + 2 kv) + a d`` (+ q/k/v biases),
    router ``d x E``, expert ``3 d ffn``, two norms ``2 d``; plus embedding, final norm, LM head."""
    d, a, kv = cfg["hidden"], cfg["heads"] * cfg["head_dim"], cfg["kv_heads"] * cfg["head_dim"]
    e, k = cfg["experts"], cfg["top_k"]
    shared = d * (a + 2 * kv) + a * d + (a + 2 * kv if cfg["qkv_bias"] else 0) + d * e + 2 * d
    expert = 3 * d * cfg["ffn"]
    outer = cfg["vocab"] * d * (1 if cfg["tied"] else 2) + d
    layers = cfg["layers"]
    return layers * (shared + e * expert) + outer, layers * (shared + k * expert) + outer


def _moe_mlp(g: GraphBuilder, x: str, d: int, ffn: int, name: str, eps: float, experts: int, top_k: int,
             tokens: int, touched: int) -> str:
    """RMSNorm, router (``d x experts`` logits, Softmax), then ``tokens x top_k`` token-expert rows
    dispatched to ``touched`` SwiGLU experts, each expert's ``down(silu(gate(h)) * up(h))`` on its rows, the
    rows summed back over the k slots (gate weights 1/k: the routing weights' values do not change the cost),
    plus the residual; the router's probabilities are an output of the graph.

    Dispatch (a fixed stand-in for the router's choice): the rows are the tokens tiled k times, slot-major
    (row r = token r mod T, slot r // T), split into ``touched`` contiguous chunks of near-equal size, chunk j
    to expert j. A chunk holds at most ceil(k T / touched) <= T rows (``touched`` >= k), so a token's k slots
    reach k distinct experts, and every touched expert gets >= 1 row (``touched`` <= k T). MACs are exact
    (``tokens x k`` expert rows); weight bytes are the touched experts' (MoE serving reads only them). The
    graph's size does not grow with T: no per-row index tensors (a batch-1231 prefill has 1.26 M rows)."""
    mlp = f"{name}.block_sparse_moe"
    h = _rmsnorm(g, x, d, f"{name}.post_attention_layernorm", eps)
    flat = g.reshape(h, [-1, d], f"{mlp}.flatten")
    router = g.node("MatMul", [flat, g.weight(f"{mlp}.gate.weight", (d, experts), "he", 1.0, fan_in=d)],
                    f"{mlp}.gate")
    probs = g.node("Softmax", [router], f"{mlp}.router_softmax", axis=-1)
    rows = tokens * top_k
    slots = g.node("Tile", [flat, g.const(f"{mlp}.repeats", [top_k, 1])], f"{mlp}.dispatch") if top_k > 1 else flat
    sizes = [rows // touched + (1 if j < rows % touched else 0) for j in range(touched)]
    chunks = [f"{mlp}.experts.{j}.rows" for j in range(touched)]
    if touched > 1:
        g.node("Split", [slots, g.const(f"{mlp}.chunk_sizes", sizes)], f"{mlp}.split_rows", outputs=chunks, axis=0)
    else:
        chunks = [slots]
    outs = []
    for j, xj in enumerate(chunks):
        ex = f"{mlp}.experts.{j}"
        gate = g.linear(xj, d, ffn, f"{ex}.w1", bias=False)
        act = g.mul(gate, g.node("Sigmoid", [gate], f"{ex}.sigmoid"), f"{ex}.silu")
        y = g.mul(act, g.linear(xj, d, ffn, f"{ex}.w3", bias=False), f"{ex}.gate_up")
        outs.append(g.linear(y, ffn, d, f"{ex}.w2", bias=False))
    cat = g.concat(outs, 0, f"{mlp}.combine_rows") if len(outs) > 1 else outs[0]
    back = g.reshape(cat, [top_k, tokens, d], f"{mlp}.slots")
    summed = g.node("ReduceSum", [back, g.const(f"{mlp}.slot_axis", [0])], f"{mlp}.sum_slots", keepdims=0)
    summed = g.mul(summed, g.const(f"{mlp}.gate_scale", 1.0 / top_k, np.float32), f"{mlp}.weigh")
    g.output(probs)  # the router's probabilities (HF's router_logits): the router stays on the graph's path
    y = g.node("Reshape", [summed, g.node("Shape", [x], f"{mlp}.shape")], f"{mlp}.unflatten")
    return g.add(x, y, f"{name}.add_mlp")


def _config(layers, hidden, heads, kv_heads, ffn, vocab, *, head_dim=None, tied=False, qkv_bias=False,
            rope_theta=10000.0, rms_eps=1e-5, experts=0, top_k=0) -> dict:
    return {"phase": "decode", "experts": experts, "top_k": top_k, "prompt": 512, "context": 4096,
            "attention": "fused", "layers": layers,
            "hidden": hidden, "heads": heads,
            "kv_heads": kv_heads, "head_dim": head_dim or hidden // heads, "ffn": ffn, "vocab": vocab, "tied": tied,
            "qkv_bias": qkv_bias, "rope_theta": float(rope_theta), "rms_eps": float(rms_eps)}


HELP = {"phase": "prefill (the prompt in one pass) or decode (one token with a KV cache)",
        "prompt": "prefill: prompt tokens", "context": "decode: tokens already in the KV cache",
        "attention": "fused (ONNX Attention, opset 23: no score tensor in memory) or matmul (MatMul/Softmax)",
        "layers": "decoder blocks", "hidden": "model width", "heads": "query heads", "kv_heads": "key/value heads",
        "head_dim": "per-head width", "ffn": "SwiGLU width", "vocab": "vocabulary", "tied": "LM head = embedding",
        "qkv_bias": "biases on q/k/v", "rope_theta": "RoPE base", "rms_eps": "RMSNorm epsilon",
        "experts": "MoE experts per layer (0: a dense FFN)", "top_k": "MoE: experts per token"}

# name -> (configuration, source). Sources: the config.json of each Hugging Face repository.
PRESETS = {
    "llama-3.2-1b": (_config(16, 2048, 32, 8, 8192, 128256, head_dim=64, tied=True, rope_theta=500000.0),
                     "Meta Llama 3.2 1B; huggingface.co/meta-llama/Llama-3.2-1B config.json"),
    "llama-3.2-3b": (_config(28, 3072, 24, 8, 8192, 128256, head_dim=128, tied=True, rope_theta=500000.0),
                     "Meta Llama 3.2 3B; huggingface.co/meta-llama/Llama-3.2-3B config.json"),
    "llama-3.1-8b": (_config(32, 4096, 32, 8, 14336, 128256, rope_theta=500000.0),
                     "Meta Llama 3.1 8B; huggingface.co/meta-llama/Llama-3.1-8B config.json"),
    "mistral-7b": (_config(32, 4096, 32, 8, 14336, 32000),
                   "Mistral 7B v0.1 (arXiv:2310.06825); huggingface.co/mistralai/Mistral-7B-v0.1 config.json"),
    "qwen2.5-0.5b": (_config(24, 896, 14, 2, 4864, 151936, tied=True, qkv_bias=True, rope_theta=1000000.0,
                             rms_eps=1e-6),
                     "Qwen2.5 0.5B; huggingface.co/Qwen/Qwen2.5-0.5B config.json"),
    "mixtral-8x7b": (_config(32, 4096, 32, 8, 14336, 32000, rope_theta=1000000.0, experts=8, top_k=2),
                     "Mixtral 8x7B v0.1 (arXiv:2401.04088: 46.7 B parameters, 12.9 B active); "
                     "huggingface.co/mistralai/Mixtral-8x7B-v0.1 config.json"),
    "llm-100m": (_config(12, 768, 12, 4, 2048, 16384),
                 "fitbench: a 100 M-parameter Llama-style configuration for measuring with random weights"),
}


def _register(name: str, config: dict, source: str) -> None:
    desc = (f"decoder-only LM, {config['layers']} layers, {config['hidden']} wide, "
            f"{config['heads']}/{config['kv_heads']} heads (GQA)")
    if config["experts"]:
        total, active = moe_parameters(config)
        desc += (f", MoE {config['experts']} experts top-{config['top_k']} ({total / 1e9:.1f} B parameters, "
                 f"{active / 1e9:.1f} B active)")
    register_model(name, family="llm", source=source, description=desc,
                   default_input="decode: input_ids 1x1 + KV cache of 4096 tokens; prefill: 512 tokens",
                   defaults=config, param_help=HELP)(build_llama)


for _name, (_cfg, _src) in PRESETS.items():
    _register(_name, _cfg, _src)
