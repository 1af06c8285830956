"""The bounds a layer or an estimate can have: one registry used by the estimator, compare and report.

A layer's *bound* is the term that takes the largest share of its time; an estimate's bound is the one
whose layers take the largest share of the latency. Each bound has a short word for sentences, a colour
for plots, and the clause a rank-flip sentence uses when an offering drops because of it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    name: str
    word: str       # "held back by <word>"
    color: str      # plots
    meaning: str    # one line for docs and legends


BOUND_LIST: tuple[Bound, ...] = (
    Bound("compute", "compute", "#4c78a8", "the engine's MAC or vector work at its mapped utilisation"),
    Bound("weights", "weight traffic", "#e45756", "weights streamed from DRAM"),
    Bound("activations", "activation traffic", "#f58518", "activations spilled to DRAM"),
    Bound("state", "KV-cache/state traffic", "#b279a2", "persistent state (KV cache, recurrent state) read from DRAM"),
    Bound("overhead", "per-layer overhead", "#9d755d", "fixed cost per executed layer (launch, dispatch, per step)"),
    Bound("call", "per-call overhead", "#bab0ac", "fixed cost per inference call (runtime, driver, sync)"),
    Bound("link", "host-link transfers", "#72b7b2", "the graph's inputs and outputs over the host link"),
    Bound("fallback", "host fallback", "#eeca3b", "layers no engine runs, on the host, tensors over the link"),
)
BOUNDS: tuple[str, ...] = tuple(b.name for b in BOUND_LIST)
BOUND_INDEX = {b: i for i, b in enumerate(BOUNDS)}
BOUND_WORDS = {b.name: b.word for b in BOUND_LIST}
BOUND_COLORS = {b.name: b.color for b in BOUND_LIST}
