"""Transformers with attention written as MatMul / Softmax (so every cost rule is exercised).

* ``vit-b16``: Dosovitskiy et al. 2020 (arXiv:2010.11929), torchvision ``vit_b_16``: 16x16 patches,
  12 layers, width 768, 12 heads, MLP 3072; torchvision: 17.56 GMAC (attention included),
  86,567,656 parameters at 224x224. Other resolutions (multiples of 16; others are padded up) get a
  position embedding sized for their patch grid (in practice interpolated from the 14x14 one).
* ``bert-base``: Devlin et al. 2018 (arXiv:1810.04805), bert-base-uncased: 12 layers, 768, 12 heads,
  FFN 3072, vocab 30522, 512 positions, with the pooler. 109,482,240 parameters, of which the 12
  encoder layers hold 85,054,464. Inputs ``input_ids`` and ``token_type_ids`` ([batch, seq_len]);
  no attention mask (every token attends every token).
* ``bert-large``: MLPerf Inference's BERT-Large (mlcommons/inference ``language/bert``: ``bert_config.json``
  = 24 layers, 1024, 16 heads, FFN 4096, vocab 30522, 512 positions; ``BertForQuestionAnswering``): the
  same builder, with the SQuAD span head (``qa_outputs``, 1024 -> 2 per token, no pooler) instead of the
  pooler; outputs ``start_logits`` and ``end_logits`` [batch, seq_len]. MLPerf runs it at 384 tokens. Its
  ``input_mask`` input is left out, as for bert-base.
* ``gpt2-small-decode``: Radford et al. 2019, GPT-2 small (124,439,808 parameters, LM head tied to
  the token embedding): ONE generation step for one new token per sequence, with a KV cache of
  ``kv_len`` past tokens per layer given as inputs ``past.N.key`` / ``past.N.value``
  ([batch, 12, kv_len, 64]) and returned extended by one as ``present.N.key`` / ``present.N.value``;
  output ``logits`` [batch, 50257] (node ``lm_head``).

Names follow the reference modules: ``encoder.layers.3.self_attention.q``, ``...attn.matmul_qk``,
``...attn.softmax``, ``...mlp.fc1``; ``encoder.layer.3.attention.self.query`` for BERT; ``h.3.attn.c_attn``
for GPT-2. GELU is the exact erf form written with Div/Erf/Add/Mul (the Gelu op needs opset 20);
GPT-2's tanh approximation is replaced by it (same cost class, 'other ops').
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import FitbenchError
from .builder import GraphBuilder
from .registry import pad_to_multiple, register_model


def _heads(g: GraphBuilder, x: str, heads: int, dh: int, name: str, perm: list[int]) -> str:
    """[B, S, heads*dh] -> [B, heads, S, dh] (perm 0,2,1,3) or [B, heads, dh, S] (perm 0,2,3,1)."""
    return g.transpose(g.reshape(x, [0, 0, heads, dh], f"{name}.split_heads"), perm, f"{name}.transpose")


def _attention(g: GraphBuilder, q: str, k: str, v: str, heads: int, dh: int, name: str) -> str:
    """softmax(q k^T / sqrt(dh)) v with q [B,h,Sq,dh], k [B,h,dh,Sk], v [B,h,Sk,dh] -> [B, Sq, h*dh]."""
    s = g.node("MatMul", [q, k], f"{name}.matmul_qk")
    s = g.node("Mul", [s, g.const(f"{name}.scale", 1.0 / math.sqrt(dh), np.float32)], f"{name}.scale_qk")
    a = g.node("Softmax", [s], f"{name}.softmax", axis=-1)
    o = g.node("MatMul", [a, v], f"{name}.matmul_av")
    o = g.transpose(o, [0, 2, 1, 3], f"{name}.merge_transpose")
    return g.reshape(o, [0, 0, heads * dh], f"{name}.merge_heads")


def _mhsa(g: GraphBuilder, x: str, d: int, heads: int, name: str, q: str = "q", k: str = "k", v: str = "v",
          o: str = "out_proj", attn: str = "attn") -> str:
    dh = d // heads
    qt = _heads(g, g.linear(x, d, d, f"{name}.{q}", gain=1.0), heads, dh, f"{name}.{q}", [0, 2, 1, 3])
    kt = _heads(g, g.linear(x, d, d, f"{name}.{k}", gain=1.0), heads, dh, f"{name}.{k}", [0, 2, 3, 1])
    vt = _heads(g, g.linear(x, d, d, f"{name}.{v}", gain=1.0), heads, dh, f"{name}.{v}", [0, 2, 1, 3])
    return g.linear(_attention(g, qt, kt, vt, heads, dh, f"{name}.{attn}"), d, d, f"{name}.{o}", gain=1.0)


# ------------------------------------------------------------------ ViT-B/16

@register_model("vit-b16", family="transformer",
                source="Dosovitskiy et al. 2020 (arXiv:2010.11929); torchvision vit_b_16",
                description="ViT-B/16", default_input="1x3x224x224",
                defaults={"resolution": (224, 224), "classes": 1000}, param_help={"classes": "output classes"})
def vit_b16(g: GraphBuilder, p: dict, notes: list) -> None:
    d, heads, mlp, layers, patch = 768, 12, 3072, 12, 16
    h, w = pad_to_multiple(p, patch, notes, "ViT needs a multiple of the 16-pixel patch")
    n = (h // patch) * (w // patch)
    x = g.input("input", (p["batch"], 3, h, w))
    x = g.conv(x, 3, d, patch, "conv_proj", stride=patch, pad=0, bias=True, gain=1.0)
    x = g.transpose(g.reshape(x, [0, d, -1], "patches.flatten"), [0, 2, 1], "patches.transpose")
    # the class token, expanded to the batch without pinning it: shape [B, 1, d] from Shape(x)
    bdim = g.node("Slice", [g.node("Shape", [x], "patches.shape"), g.const("start0", [0]), g.const("end1", [1])],
                  "batch_dim")
    shape = g.node("Concat", [bdim, g.const("one_d", [1, d])], "class_token.shape", axis=0)
    cls = g.node("Expand", [g.weight("class_token", (1, 1, d), "small"), shape], "class_token.expand")
    x = g.concat([cls, x], 1, "class_token.concat")
    x = g.add(x, g.weight("encoder.pos_embedding", (1, n + 1, d), "small"), "encoder.pos_add")
    for i in range(layers):
        name = f"encoder.layers.{i}"
        y = g.layernorm(x, d, f"{name}.ln_1", eps=1e-6)
        x = g.add(x, _mhsa(g, y, d, heads, f"{name}.self_attention"), f"{name}.add_1")
        y = g.layernorm(x, d, f"{name}.ln_2", eps=1e-6)
        y = g.linear(g.gelu(g.linear(y, d, mlp, f"{name}.mlp.fc1"), f"{name}.mlp.gelu"), mlp, d, f"{name}.mlp.fc2",
                     gain=1.0)
        x = g.add(x, y, f"{name}.add_2")
    x = g.layernorm(x, d, "encoder.ln", eps=1e-6)
    x = g.node("Gather", [x, g.const("index0", 0)], "class_token.take", axis=1)
    g.output(g.gemm(x, d, p["classes"], "heads.head", gain=1.0))


# ------------------------------------------------------------------ BERT-base

BERT_VOCAB, BERT_POSITIONS = 30522, 512


@register_model("bert-base", family="transformer", source="Devlin et al. 2018 (arXiv:1810.04805); bert-base-uncased",
                description="BERT-base encoder + pooler", default_input="input_ids 1x128 (int64)",
                defaults={"seq_len": 128}, param_help={"seq_len": "tokens per sequence (<= 512)"})
def bert_base(g: GraphBuilder, p: dict, notes: list) -> None:
    _bert(g, p, "bert-base", d=768, heads=12, ffn=3072, layers=12, head="pooler")


@register_model("bert-large", family="transformer",
                source="Devlin et al. 2018 (arXiv:1810.04805); MLPerf reference language/bert (SQuAD v1.1)",
                description="BERT-Large encoder + SQuAD span head (MLPerf Inference)",
                default_input="input_ids 1x384 (int64)",
                defaults={"seq_len": 384}, param_help={"seq_len": "tokens per sequence (<= 512)"})
def bert_large(g: GraphBuilder, p: dict, notes: list) -> None:
    _bert(g, p, "bert-large", d=1024, heads=16, ffn=4096, layers=24, head="squad")


def _bert(g: GraphBuilder, p: dict, model: str, d: int, heads: int, ffn: int, layers: int, head: str) -> None:
    """The BERT encoder (post-LayerNorm) with ``head`` = ``pooler`` (tanh dense on [CLS]; outputs
    ``last_hidden_state`` and ``pooler_output``) or ``squad`` (``qa_outputs``, a dense d -> 2 on every token,
    split into ``start_logits`` and ``end_logits`` [batch, seq_len], as BertForQuestionAnswering)."""
    s, b = p["seq_len"], p["batch"]
    if s > BERT_POSITIONS:
        raise FitbenchError(f"{model}: seq_len {s} exceeds its {BERT_POSITIONS} position embeddings")
    ids = g.input("input_ids", (b, s), elem_type=7)
    types = g.input("token_type_ids", (b, s), elem_type=7)
    x = g.node("Gather", [g.weight("embeddings.word_embeddings", (BERT_VOCAB, d), "normal", 0.02), ids],
               "embeddings.word_embeddings.gather")
    t = g.node("Gather", [g.weight("embeddings.token_type_embeddings", (2, d), "normal", 0.02), types],
               "embeddings.token_type_embeddings.gather")
    pos = g.node("Slice", [g.weight("embeddings.position_embeddings", (BERT_POSITIONS, d), "normal", 0.02),
                           g.const("start0", [0]), g.const("seq_end", [s])], "embeddings.position_embeddings.slice")
    x = g.add(g.add(x, t, "embeddings.add_type"), pos, "embeddings.add_position")
    x = g.layernorm(x, d, "embeddings.LayerNorm", eps=1e-12)
    for i in range(layers):
        name = f"encoder.layer.{i}"
        a = _mhsa(g, x, d, heads, f"{name}.attention", q="self.query", k="self.key", v="self.value",
                  o="output.dense", attn="self.attn")
        x = g.layernorm(g.add(a, x, f"{name}.attention.output.add"), d, f"{name}.attention.output.LayerNorm",
                        eps=1e-12)
        y = g.gelu(g.linear(x, d, ffn, f"{name}.intermediate.dense"), f"{name}.intermediate.gelu")
        y = g.linear(y, ffn, d, f"{name}.output.dense", gain=1.0)
        x = g.layernorm(g.add(y, x, f"{name}.output.add"), d, f"{name}.output.LayerNorm", eps=1e-12)
    if head == "squad":
        logits = g.linear(x, d, 2, "qa_outputs", gain=1.0)
        start, end = "qa_outputs.start", "qa_outputs.end"
        g.node("Split", [logits, g.const("qa_split", [1, 1])], "qa_outputs.split", outputs=[start, end], axis=-1)
        axes = g.const("last_axis", [-1])
        g.output(g.node("Squeeze", [start, axes], "start_logits"))
        g.output(g.node("Squeeze", [end, axes], "end_logits"))
        return
    g.output(g.node("Identity", [x], "last_hidden_state"))
    cls = g.node("Gather", [x, g.const("index0", 0)], "pooler.take_cls", axis=1)
    g.output(g.node("Tanh", [g.gemm(cls, d, d, "pooler.dense", gain=1.0)], "pooler_output"))


def bert_encoder_layer_params(d: int = 768, ffn: int = 3072) -> int:
    """Parameters of one BERT encoder layer: 4 d x d projections with bias, the FFN, 2 LayerNorms."""
    return 4 * (d * d + d) + (d * ffn + ffn) + (ffn * d + d) + 2 * 2 * d


# ------------------------------------------------------------------ GPT-2 small, one decode step

GPT2_VOCAB, GPT2_POSITIONS = 50257, 1024


@register_model("gpt2-small-decode", family="transformer", source="Radford et al. 2019 (GPT-2); HF gpt2 (124M)",
                description="GPT-2 small, one decode step with a KV cache",
                default_input="input_ids 1x1 + KV cache of 1023 tokens", defaults={"kv_len": 1023},
                aliases={"seq_len": "kv_len"},
                param_help={"kv_len": "tokens already in the KV cache (kv_len + 1 <= 1024); --seq-len sets it"})
def gpt2_small_decode(g: GraphBuilder, p: dict, notes: list) -> None:
    d, heads, layers = 768, 12, 12
    dh = d // heads
    L, b = p["kv_len"], p["batch"]
    if L + 1 > GPT2_POSITIONS:
        raise FitbenchError(f"gpt2-small-decode: kv_len {L} + 1 new token exceeds its {GPT2_POSITIONS} positions")
    ids = g.input("input_ids", (b, 1), elem_type=7)
    wte = g.weight("wte", (GPT2_VOCAB, d), "normal", 0.02)
    x = g.node("Gather", [wte, ids], "wte.gather")
    pos = g.node("Gather", [g.weight("wpe", (GPT2_POSITIONS, d), "normal", 0.01), g.const("position", [L])],
                 "wpe.gather", axis=0)
    x = g.add(x, pos, "embeddings.add")
    split = g.const("qkv_split", [d, d, d])
    for i in range(layers):
        name = f"h.{i}"
        past_k = g.input(f"past.{i}.key", (b, heads, L, dh))
        past_v = g.input(f"past.{i}.value", (b, heads, L, dh))
        y = g.layernorm(x, d, f"{name}.ln_1")
        qkv = g.linear(y, d, 3 * d, f"{name}.attn.c_attn", gain=1.0)
        q, k, v = (f"{name}.attn.{t}" for t in "qkv")
        g.node("Split", [qkv, split], f"{name}.attn.split", outputs=[q, k, v], axis=-1)
        q = _heads(g, q, heads, dh, f"{name}.attn.q", [0, 2, 1, 3])
        k = _heads(g, k, heads, dh, f"{name}.attn.k", [0, 2, 1, 3])
        v = _heads(g, v, heads, dh, f"{name}.attn.v", [0, 2, 1, 3])
        pk = g.output(g.concat([past_k, k], 2, f"present.{i}.key"))
        pv = g.output(g.concat([past_v, v], 2, f"present.{i}.value"))
        kt = g.transpose(pk, [0, 1, 3, 2], f"{name}.attn.k_transpose")
        a = _attention(g, q, kt, pv, heads, dh, f"{name}.attn")
        x = g.add(x, g.linear(a, d, d, f"{name}.attn.c_proj", gain=1.0 / layers), f"{name}.add_1")
        y = g.layernorm(x, d, f"{name}.ln_2")
        y = g.gelu(g.linear(y, d, 4 * d, f"{name}.mlp.c_fc"), f"{name}.mlp.gelu")
        x = g.add(x, g.linear(y, 4 * d, d, f"{name}.mlp.c_proj", gain=1.0 / layers), f"{name}.add_2")
    x = g.layernorm(x, d, "ln_f")
    x = g.reshape(x, [-1, d], "ln_f.flatten")
    # the LM head is tied to the token embedding: logits = h @ wte^T (Gemm transB, no extra weights)
    g.output(g.node("Gemm", [x, wte], "lm_head", outputs=["logits"], transB=1))
