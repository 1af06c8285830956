"""LLM check: TTFT and TPOT of a zoo LLM (default ``llm-100m``, random weights) measured on ONNX Runtime or torch
(single-stream, LoadGen, quick settings), with the analytical estimate of the same two graphs on a spec
beside it when ``--hw`` is given. Writes JSON (``-o``) with every condition of both runs.

    PYTHONPATH=src python benchmarks/llm_ttft_tpot.py [--batch 1] [--prompt 128] [--context 512]
        [--threads 2] [--hw SPEC.yaml] [-o result.json] [--db results.db]

``--db`` stores the measurement as one ``measure`` record (metrics: ``ttft_p50_s``, ``tpot_p50_s``,
``tokens_per_s``...; conditions: the decode run's plus ``prompt``, ``context``, the prefill run's and the
machine's load average while it ran, since a shared machine slows both phases).

Weights are random (fp32 as built; the runtime does not convert): the latency does not depend on their
values. Token ids are 0/1 and the KV cache is random, so the figures are speed only.
"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description="TTFT / TPOT of a zoo LLM on ONNX Runtime, beside the estimate")
    ap.add_argument("--model", default="llm-100m")
    ap.add_argument("--runtime", default="onnxruntime", help="onnxruntime or torch (fitbench run --llm runs both)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--hw", default=None, help="a spec to estimate the same graphs on (fp32 weights and KV)")
    ap.add_argument("--full", action="store_true", help="full-length measurements (default: quick)")
    ap.add_argument("-o", "--output", default=None)
    ap.add_argument("--db", default=None, help="store the result here (SQLite path or postgresql:// URL)")
    args = ap.parse_args()
    import os

    from fitbench.compare.llm import llm_estimate, measure_llm

    m = measure_llm(args.model, batch=args.batch, prompt=args.prompt, context=args.context, quick=not args.full,
                    threads=args.threads, runtime=args.runtime)
    load = os.getloadavg()
    out = {"measured": {k: v for k, v in m.to_dict().items() if k not in ("prefill", "decode")},
           "load_average_1_5_15": list(load), "runs": {"prefill": m.prefill, "decode": m.decode}}
    line = (f"{args.model} on {m.runtime}, batch {m.batch}, prompt {m.prompt}, context {m.context}: "
            f"TTFT p50 {m.ttft_p50_s * 1e3:.2f} ms, TPOT p50 {m.tpot_p50_s * 1e3:.2f} ms, "
            f"{m.tokens_per_s:.1f} tokens/s")
    if args.hw:
        e = llm_estimate(args.model, args.hw, batch=args.batch, prompt=args.prompt, context=args.context,
                         precision="fp32", kv_precision="fp32")
        p = e.points[0]
        out["estimate"] = e.to_dict()
        line += (f"; estimate on {e.hardware}: TTFT {p.ttft_s * 1e3:.2f} ms, TPOT {p.tpot_s * 1e3:.2f} ms"
                 if p.ttft_s and p.tpot_s else f"; estimate on {e.hardware}: infeasible")
    print(line + f" (load average {load[0]:.1f} on {os.cpu_count()} CPUs)")
    if args.db:
        from fitbench.store import ResultRecord, open_store

        metrics = {k: v for k, v in out["measured"].items() if k not in ("conditions",)}
        cond = {**m.conditions, "prompt": m.prompt, "context": m.context, "phases": "prefill (TTFT), decode (TPOT)",
                "prefill_conditions": m.prefill.get("conditions"), "load_average_1_5_15": list(load)}
        st = open_store(args.db)
        st.put(ResultRecord(kind="measure", model=f"{args.model} ttft/tpot", batch=m.batch, precision="fp32",
                            runtime=m.runtime, conditions=cond, metrics=metrics))
        print(f"stored in {st.location}")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(out, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
