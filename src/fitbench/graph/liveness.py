"""Tensor lifetimes over a graph's execution order, and the peak bytes alive at once.

A non-constant tensor lives from the step that produces it (graph inputs: step 0) to the last step
that reads it, a read inside a node's subgraph body included; graph outputs live to the last step.
Shared by the profile (activation bytes at a precision) and the measurement memory guard (native bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

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
    spans = ranges.values()
    return _running_peak([s for s, _ in spans], [e for _, e in spans], [nbytes(name) for name in ranges])


def _running_peak(first: list[int], last: list[int], nbytes: list[int]) -> int:
    """Max over the steps of the bytes alive, tensor ``i`` alive from ``first[i]`` to ``last[i]`` (Python ints)."""
    delta = [0] * (max(last) + 2)
    for s, e, b in zip(first, last, nbytes):
        delta[s] += b
        delta[e + 1] -= b
    peak = live = 0
    for d in delta:
        live += d
        peak = max(peak, live)
    return peak


_INT64_SAFE = 2**62  # sums of non-negative byte counts below this cannot overflow numpy's int64


@dataclass(slots=True)
class Lifetimes:
    """The lifetimes of :func:`live_ranges` in columns, as a pass over the nodes records them.

    ``index[name]`` is the tensor's position (the order :func:`live_ranges` lists them in) in ``first`` / ``last``
    (steps) and ``nbytes``; ``unknown`` holds the positions of tensors whose size is unknown (their ``nbytes`` is 0).
    """

    index: dict[str, int]
    first: list[int]
    last: list[int]
    nbytes: list[int]
    unknown: list[int]

    def add(self, name: str, step: int, nbytes: int | None) -> int:
        """Record ``name`` as alive from ``step`` (to ``step`` until a later read moves ``last``), of ``nbytes``
        bytes or of unknown size (``None``); return its position."""
        k = len(self.nbytes)
        self.index[name] = k
        self.first.append(step)
        self.last.append(step)
        if nbytes is None:
            self.unknown.append(k)
            nbytes = 0
        self.nbytes.append(nbytes)
        return k

    def peak(self) -> int:
        """:func:`peak_bytes` of these lifetimes: the max over the steps of the bytes alive at once (numpy's int64
        when no sum can overflow it, Python's ints otherwise)."""
        nbytes = self.nbytes
        if not nbytes:
            return 0
        size = max(self.last) + 2
        if sum(nbytes) < _INT64_SAFE:
            b = np.array(nbytes, dtype=np.int64)
            delta = np.zeros(size, dtype=np.int64)
            np.add.at(delta, np.array(self.first, dtype=np.int64), b)
            np.add.at(delta, np.array(self.last, dtype=np.int64) + 1, -b)
            return max(int(np.cumsum(delta).max()), 0)
        return _running_peak(self.first, self.last, nbytes)
