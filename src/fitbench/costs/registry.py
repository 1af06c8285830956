"""The op-cost registry: one pure function per op family, looked up by (domain, op_type).

Conventions (every rule follows them)
-------------------------------------
* **MAC** = one multiply-accumulate. Only matrix-like work (convolutions, matrix products,
  recurrent gates, attention products) produces MACs. FLOPs = 2 x MACs.
* **other_ops** counts element operations that are not MACs: bias adds, batch-norm, activations,
  pooling, element-wise, softmax, normalisation, resize. Each rule's docstring states its count.
* A rule that cannot cost a node (unknown shape, data-dependent trip count) raises
  :class:`Uncostable` with the reason; an op with no rule at all is *uncosted*. Neither is ever
  counted as zero silently. A node whose shapes contradict each other raises :class:`InvalidModel`:
  the model is invalid, and profiling it is an error.
* ``OpCost.gemm`` describes the MAC work as GEMMs (``batch`` independent ``m x k @ k x n``
  products, MACs = batch*m*n*k) so the estimator can map it onto a MAC array.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..graph.ir import Graph, Node

Shape = tuple[int, ...]


@dataclass(frozen=True)
class GemmShape:
    """``batch`` independent products of an ``m x k`` by a ``k x n`` matrix: batch*m*n*k MACs."""

    batch: int
    m: int
    n: int
    k: int

    @property
    def macs(self) -> int:
        return self.batch * self.m * self.n * self.k


@dataclass(slots=True)  # no per-instance __dict__: a 10^6-node graph holds one per node
class OpCost:
    """What a rule returns for one node. ``rule`` names the rule (``conv``, ``matmul``...)."""

    rule: str
    macs: int = 0
    other_ops: int = 0
    gemms: tuple[GemmShape, ...] = ()
    winograd_eligible: bool = False
    kernel: tuple[int, ...] = ()
    # inputs that are never weights even when constant (shapes, axes, indices, scales of Resize...)
    non_weight_inputs: frozenset[int] = frozenset()
    notes: list[str] = field(default_factory=list)


class Uncostable(Exception):
    """Raised by a rule that recognises the op but cannot cost this node (reason in the message)."""


class InvalidModel(Uncostable):
    """Raised by a rule whose node contradicts its own shapes (a Conv kernel expecting 5 input channels on a
    3-channel input, MatMul inner dims that differ): the model is invalid, which is an error, never an
    uncosted (let alone zero-cost) layer."""


class CostContext:
    """Read-only view of a node and its tensors for a cost rule."""

    def __init__(self, node: Node, graph: Graph) -> None:
        self.node = node
        self.graph = graph

    @property
    def attrs(self) -> dict:
        return self.node.attributes

    def attr(self, key: str, default=None):
        return self.node.attributes.get(key, default)

    def has_input(self, i: int) -> bool:
        return i < len(self.node.inputs) and bool(self.node.inputs[i])

    def in_shape(self, i: int) -> Shape:
        """Shape of input ``i``; raises :class:`Uncostable` when unknown."""
        if not self.has_input(i):
            raise Uncostable(f"input {i} is missing")
        t = self.graph.tensor(self.node.inputs[i])
        if t is None or t.shape is None:
            raise Uncostable(f"shape of input {self.node.inputs[i]!r} is unknown")
        return t.shape

    def out_shape(self, i: int = 0) -> Shape:
        t = self.graph.tensor(self.node.outputs[i]) if i < len(self.node.outputs) else None
        if t is None or t.shape is None:
            name = self.node.outputs[i] if i < len(self.node.outputs) else f"#{i}"
            raise Uncostable(f"shape of output {name!r} is unknown")
        return t.shape

    def out_elements(self, i: int = 0) -> int:
        return math.prod(self.out_shape(i))

    def in_elements(self, i: int) -> int:
        return math.prod(self.in_shape(i))

    def value(self, i: int) -> np.ndarray | None:
        """The value of a small constant input, or ``None`` when not known statically."""
        if not self.has_input(i):
            return None
        return self.graph.constant_values.get(self.node.inputs[i])


Rule = Callable[[CostContext], OpCost]

_RULES: dict[tuple[str, str], Rule] = {}


def register(*op_types: str, domain: str = "") -> Callable[[Rule], Rule]:
    """Register ``fn`` as the cost rule of ``op_types`` in ``domain`` ('' = the ONNX domain)."""

    def deco(fn: Rule) -> Rule:
        for op in op_types:
            _RULES[(domain, op)] = fn
        return fn

    return deco


def lookup(domain: str, op_type: str) -> Rule | None:
    domain = "" if domain in ("", "ai.onnx") else domain
    rule = _RULES.get((domain, op_type))
    if rule is None and domain == "com.microsoft":
        rule = _RULES.get(("", op_type))
    return rule


def registered_ops() -> list[tuple[str, str]]:
    return sorted(_RULES)
