"""Tensor lifetimes over a graph's execution order, and the peak bytes alive at once.

A non-constant tensor lives from the step that produces it (graph inputs: step 0) to the last step
that reads it, a read inside a node's subgraph body included; graph outputs live to the last step.
Shared by the profile (activation bytes at a precision) and the measurement memory guard (native bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from .ir import Graph


def names_read_in(graph: Graph) -> set[str]:
    """Every tensor name the nodes of ``graph`` (and their bodies) read."""
    names: set[str] = set()
    for node in graph.nodes:
        names.update(node.inputs)
        for sub in node.subgraphs.values():
            names |= names_read_in(sub)
    return names


def live_ranges(graph: Graph, skip: Collection[str] = ()) -> dict[str, tuple[int, int]]:
    """``{tensor: (first step, last step)}`` for every non-constant tensor not in ``skip``."""
    steps = len(graph.nodes)
    start: dict[str, int] = {}
    end: dict[str, int] = {}
    for name in graph.inputs:
        start[name] = end[name] = 0
    get = graph.tensors.get
    for step, node in enumerate(graph.nodes):
        reads = node.inputs
        if node.subgraphs:  # a body reading an outer tensor keeps it alive
            reads = list(reads)
            for sub in node.subgraphs.values():
                reads.extend(names_read_in(sub))
        for name in reads:
            if name in start:
                end[name] = step  # steps only grow: the last read so far is this one
        for name in node.outputs:
            if name and name not in start and name not in skip:
                t = get(name)
                if not (t and t.constant):
                    start[name] = end[name] = step
    for name in graph.outputs:
        if name in start:
            end[name] = max(steps - 1, 0)
    return {name: (s, end[name]) for name, s in start.items()}


def peak_bytes(ranges: dict[str, tuple[int, int]], nbytes: Callable[[str], int]) -> int:
    """Max over the steps of the summed ``nbytes`` of the tensors alive at that step."""
    if not ranges:
        return 0
    delta = [0] * (max(e for _, e in ranges.values()) + 2)
    for name, (s, e) in ranges.items():
        b = nbytes(name)
        delta[s] += b
        delta[e + 1] -= b
    peak = live = 0
    for d in delta:
        live += d
        peak = max(peak, live)
    return peak
