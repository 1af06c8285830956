"""Hold-out LLM points: a published ``tokens_per_s`` figure estimated with :func:`fitbench.compare.llm.llm_estimate`.

The formula is the dataset's (:mod:`fitbench.validation.dataset`): B sequences prefilled together (TTFT at
``prompt`` tokens), then ``output`` decode steps with a KV cache of ``prompt + output // 2`` tokens (TPOT), so
``tokens/s = B x output / (TTFT + output x TPOT)``. B is the point's ``batch`` (``batch_rule: stated``) or the
largest batch whose weights and KV cache fit the chip's memory (``batch_rule: max-fit``, ``max_batch`` at that
context). The point's ``precision`` is the weight precision.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LLMHoldoutEstimate:
    """The prediction in output tokens/s and the figures it came from (seconds, sequences)."""

    tokens_per_s: float | None
    batch: int
    ttft_s: float | None
    tpot_s: float | None
    reason: str = ""


def tokens_per_s(ttft_s: float, tpot_s: float, batch: int, output: int) -> float:
    """``batch x output / (ttft_s + output x tpot_s)``: output tokens per second of one prefill + decode round."""
    return batch * output / (ttft_s + output * tpot_s)


def estimate_llm_point(point, spec) -> LLMHoldoutEstimate:
    """Predict ``point`` (a ``tokens_per_s`` :class:`~fitbench.validation.dataset.PublishedPoint`) on ``spec``."""
    from ..compare.llm import llm_estimate, llm_profiles

    w = point.llm
    params = point.estimate_params()
    prof = llm_profiles(point.model, prompt=w.prompt, context=w.context, precision=point.precision,
                        kv_precision=w.kv_precision, **params)
    batch = point.batch
    if w.batch_rule == "max-fit":
        first = llm_estimate(prof, spec, batch=1)
        if not first.max_batch:
            why = "no dram_capacity in the spec" if first.max_batch is None else "the weights do not fit"
            return LLMHoldoutEstimate(None, 0, None, None, f"max-fit batch: {why}")
        batch = first.max_batch
    est = llm_estimate(prof, spec, batch=batch)
    p = est.point(batch)
    if p.ttft_s is None or p.tpot_s is None:
        return LLMHoldoutEstimate(None, batch, p.ttft_s, p.tpot_s, "the prefill or decode estimate is infeasible")
    if p.fits_memory is False:
        return LLMHoldoutEstimate(None, batch, p.ttft_s, p.tpot_s,
                                  f"weights + KV cache at batch {batch} do not fit {spec.name}'s memory")
    return LLMHoldoutEstimate(tokens_per_s(p.ttft_s, p.tpot_s, batch, w.output), batch, p.ttft_s, p.tpot_s)

