"""The zoo's Llama-style LLM family (:mod:`fitbench.zoo.llama`) as a PyTorch module, for the torch runtime.

fitbench does not convert ONNX to torch; this is the same architecture written in torch, one graph per
phase, with the ONNX graph's inputs and outputs in the same order and shapes:

* inputs ``input_ids``, ``position_ids`` [batch, tokens] (int64) then, in ``phase=decode``, ``past.N.key``,
  ``past.N.value`` [batch, kv_heads, context, head_dim] for N = 0..layers-1 (positional, as the runtime
  feeds them);
* outputs ``present.N.key``, ``present.N.value`` [batch, kv_heads, tokens + context, head_dim] for N =
  0..layers-1, then ``logits`` [batch, vocab] (the last token's).

Parameters carry the ONNX initializers' names with ``.`` as ``__`` (``model__layers__0__self_attn__q_proj__weight``)
and their layout: linear weights are [in, out] (``x @ W``, the ONNX MatMul), the LM head [vocab, hidden].
:func:`load_onnx_weights` copies a built ONNX model's initializers in, so both runtimes can be checked to
compute the same function. Attention is ``torch.nn.functional.scaled_dot_product_attention`` with grouped
query heads (``enable_gqa``; causal in prefill), RoPE in the rotate-half form, SwiGLU FFN, RMSNorm.
Weights are random (seeded) otherwise: latency does not depend on their values.
"""

from __future__ import annotations

from typing import Any

from ...errors import FitbenchError

PHASES = ("prefill", "decode")


def _key(onnx_name: str) -> str:
    return onnx_name.replace(".", "__")


def config_for(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The zoo preset's configuration with ``params`` applied (phase, prompt, context, batch included)."""
    from ... import zoo

    info = zoo.get(name)
    if info.family != "llm":
        raise FitbenchError(f"{name!r} is not an LLM of the zoo (family llm)")
    cfg = dict(info.defaults)
    unknown = sorted(set(params) - set(cfg) - {"batch"})
    if unknown:
        raise FitbenchError(f"unknown parameter(s) for {info.name}: {', '.join(unknown)}")
    cfg.update(params)
    if int(cfg.get("experts") or 0):
        raise FitbenchError(f"{info.name} is a mixture of experts; the torch runtime runs the dense configurations "
                            "(MoE runs on --runtime onnxruntime)")
    if str(cfg["phase"]) not in PHASES:
        raise FitbenchError(f"phase must be prefill or decode, got {cfg['phase']!r}")
    if int(cfg["heads"]) % int(cfg["kv_heads"]):
        raise FitbenchError(f"heads ({cfg['heads']}) must be a multiple of kv_heads ({cfg['kv_heads']})")
    return cfg


def input_shapes(cfg: dict[str, Any], batch: int) -> dict[str, tuple[int, ...]]:
    """The graph's inputs in feeding order (the ONNX graph's names and shapes)."""
    s = int(cfg["prompt"]) if cfg["phase"] == "prefill" else 1
    shapes: dict[str, tuple[int, ...]] = {"input_ids": (batch, s), "position_ids": (batch, s)}
    if cfg["phase"] == "decode":
        kv = (batch, int(cfg["kv_heads"]), int(cfg["context"]), int(cfg["head_dim"]))
        for i in range(int(cfg["layers"])):
            shapes[f"past.{i}.key"] = kv
            shapes[f"past.{i}.value"] = kv
    return shapes


def input_dtypes(shapes: dict[str, tuple[int, ...]]) -> dict[str, str]:
    return {k: ("int64" if k in ("input_ids", "position_ids") else "float32") for k in shapes}


def build(cfg: dict[str, Any], seed: int = 0):
    """A ``torch.nn.Module`` of the configuration (random weights from ``seed``), in eval mode."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    d, heads, kvh, dh, ffn = (int(cfg[k]) for k in ("hidden", "heads", "kv_heads", "head_dim", "ffn"))
    layers, vocab = int(cfg["layers"]), int(cfg["vocab"])
    tied, bias, eps = bool(cfg["tied"]), bool(cfg["qkv_bias"]), float(cfg["rms_eps"])
    prefill = str(cfg["phase"]) == "prefill"
    a, half = heads * dh, dh // 2
    gen = torch.Generator().manual_seed(int(seed))

    class Llama(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self._names: list[str] = []
            self.add("model.embed_tokens.weight", torch.randn(vocab, d, generator=gen) * 0.02)
            inv = float(cfg["rope_theta"]) ** (-torch.arange(0, half, dtype=torch.float32) * 2.0 / dh)
            self.register_buffer("inv_freq", inv)
            for i in range(layers):
                p = f"model.layers.{i}"
                for n, fin, fout in (("q_proj", d, a), ("k_proj", d, kvh * dh), ("v_proj", d, kvh * dh),
                                     ("o_proj", a, d)):
                    self.linear(f"{p}.self_attn.{n}", fin, fout, bias and n != "o_proj")
                for n, fin, fout in (("gate_proj", d, ffn), ("up_proj", d, ffn), ("down_proj", ffn, d)):
                    self.linear(f"{p}.mlp.{n}", fin, fout, False)
                self.add(f"{p}.input_layernorm.weight", torch.ones(d))
                self.add(f"{p}.post_attention_layernorm.weight", torch.ones(d))
            self.add("model.norm.weight", torch.ones(d))
            if not tied:
                self.add("lm_head.weight", torch.randn(vocab, d, generator=gen) / d ** 0.5)

        def add(self, name: str, value) -> None:
            self.register_parameter(_key(name), nn.Parameter(value, requires_grad=False))
            self._names.append(name)

        def linear(self, name: str, fin: int, fout: int, with_bias: bool) -> None:
            self.add(f"{name}.weight", torch.randn(fin, fout, generator=gen) * (2.0 / fin) ** 0.5)
            if with_bias:
                self.add(f"{name}.bias", torch.zeros(fout))

        def w(self, name: str):
            return getattr(self, _key(name))

        def lin(self, x, name: str, with_bias: bool = False):
            y = x @ self.w(f"{name}.weight")
            return y + self.w(f"{name}.bias") if with_bias else y

        def norm(self, x, name: str):
            return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * self.w(f"{name}.weight")

        @staticmethod
        def rope(x, cos, sin):
            x1, x2 = x[..., :half], x[..., half:]
            return x * cos + torch.cat([-x2, x1], -1) * sin

        def forward(self, input_ids, position_ids, *past):
            b, s = input_ids.shape
            x = F.embedding(input_ids, self.w("model.embed_tokens.weight"))
            f = position_ids.to(x.dtype).unsqueeze(2) * self.inv_freq.to(x.dtype)
            emb = torch.cat([f, f], -1)
            cos, sin = emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)
            presents = []
            for i in range(layers):
                p = f"model.layers.{i}"
                at = f"{p}.self_attn"
                h = self.norm(x, f"{p}.input_layernorm")
                q = self.lin(h, f"{at}.q_proj", bias).view(b, s, heads, dh).transpose(1, 2)
                k = self.lin(h, f"{at}.k_proj", bias).view(b, s, kvh, dh).transpose(1, 2)
                v = self.lin(h, f"{at}.v_proj", bias).view(b, s, kvh, dh).transpose(1, 2)
                q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
                if not prefill:
                    k = torch.cat([past[2 * i], k], 2)
                    v = torch.cat([past[2 * i + 1], v], 2)
                presents += [k, v]
                o = F.scaled_dot_product_attention(q, k, v, is_causal=prefill, enable_gqa=heads != kvh)
                x = x + self.lin(o.transpose(1, 2).reshape(b, s, a), f"{at}.o_proj")
                h = self.norm(x, f"{p}.post_attention_layernorm")
                g = self.lin(h, f"{p}.mlp.gate_proj")
                x = x + self.lin(F.silu(g) * self.lin(h, f"{p}.mlp.up_proj"), f"{p}.mlp.down_proj")
            x = self.norm(x[:, -1], "model.norm")
            head = self.w("model.embed_tokens.weight" if tied else "lm_head.weight")
            return (*presents, x @ head.t())

    return Llama().eval()


def load_onnx_weights(module, proto) -> int:
    """Copy the initializers of a zoo LLM's ONNX graph (same configuration) into ``module``; returns how many
    parameters were copied. A parameter the graph lacks, or a shape mismatch, is an error."""
    import torch
    from onnx import numpy_helper

    init = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    n = 0
    with torch.no_grad():
        for name in module._names:
            if name not in init:
                raise FitbenchError(f"the ONNX graph has no initializer {name!r}")
            p = getattr(module, _key(name))
            value = torch.from_numpy(init[name].copy())
            if tuple(value.shape) != tuple(p.shape):
                raise FitbenchError(f"{name}: ONNX shape {list(value.shape)} != torch shape {list(p.shape)}")
            p.copy_(value)
            n += 1
    return n
