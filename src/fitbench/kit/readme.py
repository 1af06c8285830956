"""The README a kit carries for the supplier: what is timed, what counts as a run, what to return."""

from __future__ import annotations

from typing import Any


def _scenario_line(s: dict[str, Any]) -> str:
    count = (f"one query of at least {s['min_query_count']} samples" if s["scenario"] == "offline"
             else f"at least {s['min_query_count']} queries")
    text = (f"- **{s['scenario']}**: {count} and {s['min_duration_ms'] / 1000:g} s "
            f"(LoadGen stops at {s['max_duration_ms'] / 1000:g} s)")
    if s["scenario"] == "server":
        text += (f"; Poisson arrivals at {s['target_qps']:g} queries/s, p{s['latency_percentile']} latency "
                 f"bound {s['target_latency_ms']:g} ms")
    if s["scenario"] == "multi-stream":
        text += f"; {s['samples_per_query']} samples per query"
    return text


def supplier_readme(doc: dict[str, Any]) -> str:
    """Markdown for the supplier, from the kit manifest ``doc`` (before its file hashes are added)."""
    def dims(shape: list[int]) -> str:
        return "x".join(str(d) for d in shape)

    inputs = "\n".join(f"  - `{k}`: {dims(v['shape'])} {v['dtype']}" for k, v in doc["inputs"].items())
    outputs = "\n".join(f"  - `{o['name']}`: {dims(o['shape'])} {o['dtype']}" for o in doc["outputs"])
    scen = "\n".join(_scenario_line(s) for s in doc["scenarios"])
    tol = ", ".join(f"{p} {v:g}" for p, v in doc["tolerance"].items())
    return f"""# Benchmark kit: {doc['name']}

You are asked to run this buyer's own model on your offering and return the LoadGen logs. The kit is
checked by `fitbench kit verify` when it comes back; a run that breaks a rule below is rejected.

## The workload
- model: `model.onnx`, sha256 `{doc['model']['sha256']}`
- batch **{doc['batch']}** (the leading dim of every input)
- inputs (one batch):
{inputs}
- outputs (one batch):
{outputs}

## What is timed
One LoadGen sample is one `predict()` call on one batch of {doc['batch']}: from the moment your SUT is handed the
host (numpy) inputs to the moment its host outputs are ready. Host-to-device copies and the return copy are
inside the timer, as an application pays them. Each query feeds the next batch of the sample set in turn.
Warm-up ({doc['scenarios'][0]['warmup_count']} calls) is not timed; nothing else is excluded.

## What counts as a run
{scen}

LoadGen must say `Result is : VALID`. Run the settings exactly as stated: a different scenario, duration,
count or bound is rejected.

## Accuracy
Your outputs of the {doc['samples']['count']} sample batches in `samples/` are compared with `reference/`
(ONNX Runtime, fp32, CPU): {doc['tolerance_rule']}.
Tolerances: {tol}. Declare the precision you run at (your SUT's `precision`); a quantised model is
accepted when it is still this model within its tolerance.

## How to run it
Wrap your SDK in a small Python class (`load`, `predict`, `device_name`, optionally `conditions`; see
fitbench's docs/kit.md) and run

    pip install fitbench
    fitbench kit run THIS_FOLDER --sut my_sut.py:MySUT -o results/

or check the pipeline first with `--runtime onnxruntime`. Report the conditions as the device reports them:
{', '.join(doc['required_conditions'])} (write "not reported" where the device cannot say).

## What to return
The whole `results/` folder as written (`results.json`, the LoadGen logs of each scenario, `outputs/`),
unedited: every file is hashed in `results.json`. Do not edit this kit either: `kit.json` hashes every file.
"""
