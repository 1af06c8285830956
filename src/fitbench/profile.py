"""Profile a model at the application's real shapes: per-layer and total costs.

Conventions
-----------
* **MAC** = one multiply-accumulate; **FLOPs** = 2 x MACs. Bias, BN, activations, pooling,
  element-wise, softmax and normalisation are ``other_ops`` (see :mod:`fitbench.costs`).
* **Weights** = elements of every constant tensor (initializers and ``Constant`` outputs) a node
  consumes, except inputs used only as shapes, axes or indices; a tensor shared by several nodes
  counts once (at its first consumer). ``weight_bytes`` uses the weight precision for float
  tensors and the native size for integer tensors (already-quantized weights stay 1 byte).
* **Activations** = every non-constant tensor, graph inputs included (tensors computed from
  constants only, such as a dequantised kernel, are folded by runtimes and are neither); float tensors take the
  activation precision, integer tensors their native size. *Largest activation* = the largest
  single tensor; *peak live* = the maximum, over the execution order, of the bytes of tensors alive
  at once (a tensor lives from the step that produces it to its last consumer; graph inputs from
  step 0, graph outputs to the end).
* **Winograd F(m x m, 3 x 3)** applies to 2-D convolutions with a 3x3 kernel, stride 1, dilation
  1, group 1. With eligible MAC fraction f and per-layer reduction r = 9m^2/(m+2)^2 (2.25 for m=2,
  4 for m=4) the Amdahl speed-up is 1/((1-f) + f/r). Storing eligible kernels expanded grows them
  by (m+2)^2/9 (16/9 for m=2); ``winograd_weight_growth_f2`` is the whole model's weight growth.
* Ops without a rule, and nodes a rule cannot cost, are listed in ``uncosted`` (their ``macs`` and
  ``other_ops`` are ``None``) and never counted as zero; ``strict=True`` makes them an error.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import __version__
from ._callable import make_module_callable
from ._gc import paused_gc
from .costs import CostContext, GemmShape, InvalidModel, OpCost, Uncostable, lookup
from .costs.data import DATA_MOVEMENT
from .errors import FitbenchError, ModelLoadError, ShapeError, UncostedOpError
from .graph.ir import Graph, Model, Tensor
from .graph.liveness import Lifetimes, live_ranges, names_read_in
from .precision import Precision

WINOGRAD_F2 = 9 * 2**2 / (2 + 2) ** 2  # 2.25
WINOGRAD_F4 = 9 * 4**2 / (4 + 2) ** 2  # 4.0
WINOGRAD_GROWTH_F2 = (2 + 2) ** 2 / 9  # 16/9


@dataclass
class ModelInfo:
    name: str
    path: str | None
    sha256: str
    opset: int


@dataclass
class Conditions:
    """Everything the numbers depend on."""

    input_shapes: dict[str, list[int]]
    batch: int
    weight_precision: str
    activation_precision: str
    fitbench_version: str = __version__
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TensorRef:
    name: str
    shape: list[int]
    bytes: int


@dataclass(slots=True)  # no per-instance __dict__: a 10^6-node graph holds one per node
class LayerCost:
    """One node. ``macs``/``other_ops`` are ``None`` when the node is uncosted."""

    name: str
    op_type: str
    input_shapes: list[list[int] | None]
    output_shapes: list[list[int] | None]
    macs: int | None
    other_ops: int | None
    weights: int
    weight_bytes: int
    input_activation_bytes: int
    output_activation_bytes: int
    winograd_eligible: bool
    rule: str
    gemms: list[GemmShape] = field(default_factory=list)
    kernel: list[int] = field(default_factory=list)
    domain: str = ""
    inputs: list[str] = field(default_factory=list)    # tensor names ("" for an omitted optional input)
    outputs: list[str] = field(default_factory=list)

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else 2 * self.macs


@dataclass
class UncostedOp:
    op_type: str
    domain: str
    count: int
    nodes: list[str]
    reason: str


@dataclass
class Totals:
    """Whole-model totals at the bound batch (MACs, elements and bytes as in the module doc)."""

    macs: int
    flops: int
    other_ops: int
    weights: int
    weight_bytes: int
    activation_bytes: int
    largest_activation_bytes: int
    largest_activation_tensor: TensorRef | None
    peak_live_activation_bytes: int
    winograd_eligible_macs: int
    winograd_eligible_weights: int
    winograd_mac_fraction: float
    winograd_speedup_f2: float
    winograd_speedup_f4: float
    winograd_weight_growth_f2: float
    layer_count: int
    uncosted_count: int
    op_mix: dict[str, int] = field(default_factory=dict)
    input_bytes: dict[str, int] = field(default_factory=dict)    # graph inputs (activation bytes at the batch)
    output_bytes: dict[str, int] = field(default_factory=dict)   # graph outputs


@dataclass
class Profile:
    model: ModelInfo
    conditions: Conditions
    totals: Totals
    layers: list[LayerCost]
    uncosted: list[UncostedOp]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON schema documented in the README (what ``dataclasses.asdict`` gives, plus each layer's
        ``flops``; the layers are converted field by field: ``asdict``'s generic deep copy cost ~300 us a layer)."""
        head = asdict(Profile(self.model, self.conditions, self.totals, [], self.uncosted))
        head["layers"] = [_layer_dict(x) for x in self.layers]
        return {k: head[k] for k in ("model", "conditions", "totals", "layers", "uncosted")}

    def _dict_without_layers(self) -> dict[str, Any]:
        """:meth:`to_dict` less its ``layers`` (the order of the other keys kept)."""
        head = asdict(Profile(self.model, self.conditions, self.totals, [], self.uncosted))
        return {k: head[k] for k in ("model", "conditions", "totals", "uncosted")}

    def to_json(self, indent: int | None = 2) -> str:
        """JSON of :meth:`to_dict`. With ``indent``, each layer is one line (json's C encoder writes compact
        text only; its pure-Python indenting encoder took ~250 us a layer)."""
        if indent is None:
            with paused_gc():
                return json.dumps(self.to_dict())
        with paused_gc():
            d = self._dict_without_layers()
            uncosted = d.pop("uncosted")
            enc = json.JSONEncoder().encode
            pad = " " * indent
            body = json.dumps(d, indent=indent)[:-2]  # without the closing "\n}"
            # one layer's dict at a time: the dicts of a 10^6-layer profile all at once took ~1 GB
            layers = self.layers
            layer_text = (f"[\n{pad}{pad}" + f",\n{pad}{pad}".join(enc(_layer_dict(x)) for x in layers)
                          + f"\n{pad}]") if layers else "[]"
        tail = json.dumps({"uncosted": uncosted}, indent=indent)[2:-2]  # '  "uncosted": [...]'
        return f'{body},\n{pad}"layers": {layer_text},\n{tail}\n}}'

    def to_dataframe(self):
        """One row per layer (pandas is imported lazily)."""
        import pandas as pd

        rows = []
        for layer in self.layers:
            row = asdict(layer)
            row.pop("gemms")
            row["input_shapes"] = json.dumps(row["input_shapes"])
            row["output_shapes"] = json.dumps(row["output_shapes"])
            row["kernel"] = "x".join(str(k) for k in row["kernel"])
            row["flops"] = layer.flops
            rows.append(row)
        return pd.DataFrame(rows)

    def per_sample(self, value: int | float) -> float:
        """Divide a batch total by the profile's batch."""
        return value / max(self.conditions.batch, 1)


def _layer_dict(x: LayerCost) -> dict[str, Any]:
    """``asdict(x)`` plus ``flops``, without the deep copy's per-value dispatch (lists are copied)."""
    return {
        "name": x.name, "op_type": x.op_type,
        "input_shapes": [None if v is None else list(v) for v in x.input_shapes],
        "output_shapes": [None if v is None else list(v) for v in x.output_shapes],
        "macs": x.macs, "other_ops": x.other_ops, "weights": x.weights, "weight_bytes": x.weight_bytes,
        "input_activation_bytes": x.input_activation_bytes, "output_activation_bytes": x.output_activation_bytes,
        "winograd_eligible": x.winograd_eligible, "rule": x.rule,
        "gemms": [{"batch": g.batch, "m": g.m, "n": g.n, "k": g.k} for g in x.gemms],
        "kernel": list(x.kernel), "domain": x.domain, "inputs": list(x.inputs), "outputs": list(x.outputs),
        "flops": None if x.macs is None else 2 * x.macs,
    }


def amdahl_speedup(fraction: float, reduction: float) -> float:
    """1 / ((1 - f) + f / r)."""
    return 1.0 / ((1.0 - fraction) + fraction / reduction)


# ------------------------------------------------------------------ engine

_PER_ELEMENT: dict[tuple[str, int], float] = {}  # (dtype, id of the Precision member) -> bytes per element


def _tensor_bytes(t: Tensor | None, prec: Precision) -> int:
    if t is None or t.shape is None:
        return 0
    key = (t.dtype, id(prec))  # Precision members are singletons; hashing the enum itself is a Python call
    per = _PER_ELEMENT.get(key)
    if per is None:
        per = _PER_ELEMENT[key] = prec.bytes if t.is_float else t.native_bytes_per_element
    return math.prod(t.shape) * per


def _shapes(graph: Graph, names) -> list[list[int] | None]:
    out = []
    for n in names:
        t = graph.tensor(n)
        out.append(None if t is None or t.shape is None else list(t.shape))
    return out


MAX_DEPTH = 64  # subgraphs (If / Loop / Scan bodies) nested deeper than this are refused
MAX_NODES = 5_000_000  # nodes in the whole model, subgraphs included: above this the model is refused

_MISSING = object()
_NONDETERMINISTIC = ("RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli")
_NOT_FOLDED = frozenset({*_NONDETERMINISTIC, "Constant"})  # ops whose outputs are never constant-derived


def constant_derived(graph: Graph) -> set[str]:
    """Tensors computed from constants only (e.g. ``DequantizeLinear(int8 kernel)``, ``Cast(fp16 W)``).

    A runtime folds them once: they are neither activations (nothing flows through them per
    inference) nor extra weights (the constants they come from are counted where the graph reads
    them, at their stored size).
    """
    derived: set[str] = set()
    get = graph.tensors.get
    skip = (*_NONDETERMINISTIC, "Constant")
    for node in graph.nodes:
        if node.subgraphs or node.op_type in skip:
            continue
        any_input = False
        for x in node.inputs:
            if not x:
                continue
            if x not in derived:
                t = get(x)
                if t is None or not t.constant:
                    break  # a non-constant input (the usual case): the outputs are activations
            any_input = True
        else:
            if any_input:
                derived.update(o for o in node.outputs if o)
    return derived


def _names_read_by_subgraphs(graph: Graph) -> set[str]:
    names: set[str] = set()
    for node in graph.nodes:
        for sub in node.subgraphs.values():
            names |= names_read_in(sub)
    return names


def shape_only_tensors(graph: Graph, non_weights: list[frozenset[int]]) -> set[str]:
    """Tensors used only as shapes, axes, indices or initial states, directly or through other ops.

    A tensor is shape-only when it has consumers and every one either reads it at a non-weight
    position (``OpCost.non_weight_inputs``: Reshape's shape, Unsqueeze's axes, an LSTM's initial
    state...) or produces shape-only tensors only (the ``Concat``/``Unsqueeze`` chains exporters
    build shapes with). Constants that are shape-only are not weights.
    """
    # One backward pass: the nodes are in execution order, so every consumer of a node's outputs is visited
    # before the node itself. A use is "ok" when it reads at a non-weight position or feeds a node whose outputs
    # are all shape-only; a tensor is shape-only when it has a use, no other kind of use, and is not pinned.
    if not any(non_weights):
        return set()  # no read at a non-weight position: every use is a weight use (nothing is shape-only)
    pinned = set(graph.outputs) | _names_read_by_subgraphs(graph)
    used: set[str] = set()  # tensors with at least one use
    weight_use: set[str] = set()  # tensors with a use that is not "ok"
    shape_only: set[str] = set()
    nodes = graph.nodes
    for idx in range(len(nodes) - 1, -1, -1):
        node = nodes[idx]
        outputs_shape_only = None  # True when every named output is shape-only (None: no named output)
        for o in node.outputs:
            if o:
                if o in used and o not in weight_use and o not in pinned:
                    shape_only.add(o)
                    if outputs_shape_only is None:
                        outputs_shape_only = True
                else:
                    outputs_shape_only = False
        inputs = node.inputs
        used.update(inputs)
        if outputs_shape_only and not node.subgraphs:
            continue  # every read feeds shape-only outputs
        non_weight = non_weights[idx]
        if non_weight:
            weight_use.update(name for pos, name in enumerate(inputs) if pos not in non_weight)
        else:
            weight_use.update(inputs)
    used.discard("")
    for name, t in graph.tensors.items():
        if t.constant and name in used and name not in weight_use and name not in pinned:
            shape_only.add(name)
    return shape_only


_UNKEYED = object()  # a tensor that keeps its node's rule result out of the cache


def _tensor_key(t: Tensor | None, value: np.ndarray | None) -> Any:
    """What a cost rule can read of one tensor (its shape, dtype, constant flag, small constant value), hashable;
    ``_UNKEYED`` when the shape is unknown (the rule fails on it) or the value holds Python objects."""
    if t is None or t.shape is None:
        return _UNKEYED
    if value is None:
        return (t.shape, t.dtype, t.constant)
    if value.dtype.hasobject:
        return _UNKEYED
    return (t.shape, t.dtype, t.constant, value.dtype.str, value.shape, value.tobytes())


def _attrs_key(attrs: dict[str, Any]) -> tuple | None:
    """The attributes as a hashable key (floats by their exact hex, so -0.0, 0.0 and 0 differ), or ``None`` when one
    is not an int, float, string or list of those (a tensor, a graph...)."""
    out = []
    for name, v in attrs.items():
        tv = type(v)
        if tv is int or tv is str:
            out.append((name, v))
        elif tv is float:
            out.append((name, "f", v.hex()))
        elif tv is list:
            items = []
            for x in v:
                tx = type(x)
                if tx is int or tx is str:
                    items.append(x)
                elif tx is float:
                    items.append(("f", x.hex()))
                else:
                    return None
            out.append((name, "l", tuple(items)))
        else:
            return None
    return tuple(out)


class _Coster:
    cache_rules = True  # False: every node's rule runs (the tests compare the two)

    def __init__(self, weight_prec: Precision, act_prec: Precision) -> None:
        self.wp, self.ap = weight_prec, act_prec
        self.derived: dict[int, set[str]] = {}  # id(graph) -> constant_derived(graph)
        self.lifetimes: dict[int, Lifetimes] = {}  # id(graph) -> its activations' lifetimes, recorded while costing
        # id(graph) -> (node costs, non-weight inputs, shape-only tensors): each (sub)graph's rules run once
        self._rules: dict[int, tuple[list[tuple[OpCost | None, str]], list[frozenset[int]], set[str]]] = {}
        self._totals: dict[int, tuple[int, int, list[str]]] = {}  # id(body) -> cost_subgraph's answer
        self._graphs: list[Graph] = []  # keeps every costed graph alive, so its id is never reused
        self.nodes = 0  # nodes costed so far, subgraphs included (bounded by MAX_NODES)
        self.depth = 0  # current subgraph nesting (bounded by MAX_DEPTH)
        self._lookup: dict[tuple[str, str], Any] = {}  # (domain, op type) -> its rule (or None), looked up once
        # (domain, op type, attributes, each input's and output's shape / dtype / constant flag / small value)
        # -> the rule's (OpCost, ""): a rule reads nothing else, so nodes with equal keys cost the same (never
        # for nodes with subgraphs, unknown shapes or attributes that are not plain values: see _attrs_key)
        self._cache: dict[tuple, tuple[OpCost, str]] = {}

    def _node_rules(self, graph: Graph):
        """Every node's rule result for ``graph``, computed once per graph however often it is reached."""
        got = self._rules.get(id(graph))
        if got is None:
            self.nodes += len(graph.nodes)
            if self.nodes > MAX_NODES:
                raise ModelLoadError(f"the model has more than {MAX_NODES:,} nodes (subgraphs included): refused "
                                     "rather than profiled for hours")
            self._graphs.append(graph)
            sub = self.cost_subgraph  # one bound method for every node's context (not kept on self: a cycle)
            cache, cost_node, cached = self._cache, self._cost_node, self.cache_rules
            parts: dict[str, Any] = {}  # constant-valued tensor -> its part of a cache key, made once per graph
            parts_get, tget, cget = parts.get, graph.tensors.get, graph.constant_values.get
            costs = []
            for node in graph.nodes:
                key = None
                attrs = node.attributes
                if cached and not node.subgraphs and (ak := _attrs_key(attrs) if attrs else ()) is not None:
                    key = [node.domain, node.op_type, ak]
                    for names in (node.inputs, node.outputs):
                        for name in names:
                            if not name:
                                key.append(None)
                                continue
                            t = tget(name)
                            if t is None or t.shape is None:
                                break  # an unknown shape: the rule fails, and is not cached
                            if cget(name) is None:
                                key.append((t.shape, t.dtype, t.constant))  # what _tensor_key gives, inline
                                continue
                            part = parts_get(name)
                            if part is None:
                                part = parts[name] = _tensor_key(t, cget(name))
                            if part is _UNKEYED:
                                break
                            key.append(part)
                        else:
                            key.append(len(names))  # where the inputs end and the outputs start
                            continue
                        key = None
                        break
                if key is None:
                    costs.append(cost_node(node, graph, sub))
                    continue
                key = tuple(key)
                got = cache.get(key)
                if got is None:
                    got = cost_node(node, graph, sub)
                    if got[0] is not None:  # only successes are kept (a failure is costed again, and fails again)
                        cache[key] = got
                costs.append(got)
            non_weights = [
                cost.non_weight_inputs if cost else DATA_MOVEMENT.get(node.op_type, frozenset())
                for node, (cost, _) in zip(graph.nodes, costs)
            ]
            got = self._rules[id(graph)] = (costs, non_weights, shape_only_tensors(graph, non_weights))
        return got

    def cost_graph(
        self, graph: Graph, seen_weights: set[str] | None = None
    ) -> tuple[list[LayerCost], dict[tuple[str, str], UncostedOp]]:
        """Cost every node; ``seen_weights`` (shared across subgraphs) makes a weight count once."""
        layers: list[LayerCost] = []
        uncosted: dict[tuple[str, str], UncostedOp] = {}
        seen_weights = set() if seen_weights is None else seen_weights
        # constant_derived(graph), grown on the way: a node's outputs are derived when it reads constant or derived
        # tensors only (decided after its inputs, before its outputs: producers come first in execution order)
        derived = self.derived.setdefault(id(graph), set())
        skip_fold = _NOT_FOLDED
        costs, non_weights, shape_only = self._node_rules(graph)
        get = graph.tensors.get  # the per-node work below is the cost of a 10^6-node graph: kept lean
        act_bytes: dict[str, int] = {}  # bytes of activations read that have no lifetime (outer-scope ones)
        ap, wp = self.ap, self.wp
        # The lifetimes of live_ranges(graph, derived), recorded on the way (no second walk over the nodes):
        # index[name] -> position in first/last/nbytes; unknown: positions of tensors of unknown shape (0 bytes)
        life = self.lifetimes[id(graph)] = Lifetimes({}, [], [], [], [])
        index, first, last, nbytes, unknown = life.index, life.first, life.last, life.nbytes, life.unknown
        index_get = index.get
        prod = math.prod
        tensors: list[Tensor | None] = []  # by lifetime position: a read finds its tensor without a lookup by name
        per_act: dict[str, int] = {}  # dtype -> activation bytes per element
        for name in graph.inputs:  # graph inputs live from step 0
            if name not in index:
                t = get(name) if name else None
                tensors.append(t)
                life.add(name, 0, None if t is None or t.shape is None else _tensor_bytes(t, ap))

        for step, (node, (cost, reason), non_weight) in enumerate(zip(graph.nodes, costs, non_weights)):
            weights = weight_bytes = act_in = 0
            inputs = node.inputs
            input_shapes: list[list[int] | None] = []
            folded = True  # every named input read so far is constant or derived
            for i, name in enumerate(inputs):
                k = index_get(name)
                if k is not None:
                    last[k] = step  # steps only grow: the last read so far is this one
                    t = tensors[k]
                else:
                    t = get(name) if name else None
                if t is None:
                    input_shapes.append(None)
                    if name:
                        folded = False
                    continue
                shape = t.shape
                input_shapes.append(None if shape is None else list(shape))
                if name in derived:
                    continue
                if i and inputs.index(name) < i:
                    continue  # a tensor read twice by one node (Add(x, x)) is one input
                if t.constant:
                    if i in non_weight or name in shape_only or name in seen_weights:
                        continue
                    seen_weights.add(name)
                    weights += t.elements or 0
                    weight_bytes += _tensor_bytes(t, wp)
                elif k is not None:
                    folded = False
                    act_in += nbytes[k]
                else:
                    folded = False
                    b = act_bytes.get(name)
                    if b is None:
                        b = act_bytes[name] = _tensor_bytes(t, ap)
                    act_in += b
            if folded and not node.subgraphs and node.op_type not in skip_fold and any(inputs):
                derived.update(o for o in node.outputs if o)
            for sub in node.subgraphs.values():
                for name in names_read_in(sub):  # a body reading an outer tensor keeps it alive
                    k = index_get(name)
                    if k is not None:
                        last[k] = step
            for sub in node.subgraphs.values():
                # parameters read inside a body (its own or from the enclosing scope) belong to this node
                self._enter(node)
                try:
                    sub_layers, _ = self.cost_graph(sub, seen_weights)
                finally:
                    self.depth -= 1
                weights += sum(x.weights for x in sub_layers)
                weight_bytes += sum(x.weight_bytes for x in sub_layers)
            act_out = 0
            output_shapes: list[list[int] | None] = []
            for o in node.outputs:
                t = get(o) if o else None
                if t is None:
                    output_shapes.append(None)
                    if o and o not in index and o not in derived:  # a tensor without a type: alive, size unknown
                        tensors.append(None)
                        life.add(o, step, None)
                    continue
                shape = t.shape
                output_shapes.append(None if shape is None else list(shape))
                if not t.constant and o not in derived:
                    k = len(nbytes)
                    if index.setdefault(o, k) == k:  # produced here: lives from this step
                        tensors.append(t)
                        first.append(step)
                        last.append(step)
                        if shape is None:
                            unknown.append(k)
                            nbytes.append(0)
                        else:
                            per = per_act.get(t.dtype)  # _tensor_bytes(t, ap), without the call
                            if per is None:
                                per = per_act[t.dtype] = ap.bytes if t.is_float else t.native_bytes_per_element
                            b = prod(shape) * per
                            nbytes.append(b)
                            act_out += b
                    else:
                        act_out += nbytes[index[o]]
            if cost is None:
                key = (node.domain, node.op_type)
                entry = uncosted.setdefault(key, UncostedOp(node.op_type, node.domain, 0, [], reason))
                entry.count += 1
                entry.nodes.append(node.name)
                if reason not in entry.reason.split("; "):
                    entry.reason += "; " + reason
            # positional, in the field order (keywords cost ~1 us more per layer): name, op_type, input_shapes,
            # output_shapes, macs, other_ops, weights, weight_bytes, input_activation_bytes,
            # output_activation_bytes, winograd_eligible, rule, gemms, kernel, domain, inputs, outputs
            if cost is None:
                layers.append(LayerCost(node.name, node.op_type, input_shapes, output_shapes, None, None,
                                        int(weights), int(weight_bytes), int(act_in), int(act_out), False,
                                        "uncosted", [], [], node.domain, list(inputs), list(node.outputs)))
            else:
                layers.append(LayerCost(node.name, node.op_type, input_shapes, output_shapes, cost.macs,
                                        cost.other_ops, int(weights), int(weight_bytes), int(act_in),
                                        int(act_out), cost.winograd_eligible, cost.rule,
                                        list(cost.gemms) if cost.gemms else [],
                                        list(cost.kernel) if cost.kernel else [],
                                        node.domain, list(inputs), list(node.outputs)))
        end = max(len(graph.nodes) - 1, 0)
        for name in graph.outputs:  # graph outputs live to the last step
            k = index_get(name)
            if k is not None:
                last[k] = end
        return layers, uncosted

    def _cost_node(self, node, graph: Graph, cost_subgraph=None) -> tuple[OpCost | None, str]:
        """Run the node's rule: (cost, "") or (None, why it is uncosted)."""
        key = (node.domain, node.op_type)
        rule = self._lookup.get(key, _MISSING)
        if rule is _MISSING:
            rule = self._lookup[key] = lookup(*key)
        if rule is None:
            return None, "no cost rule for this op"
        ctx = CostContext(node, graph)
        ctx.cost_subgraph = cost_subgraph or self.cost_subgraph  # type: ignore[attr-defined]
        try:
            cost = rule(ctx)
        except InvalidModel as exc:  # the node contradicts its own shapes: an invalid model, not a zero cost
            raise ShapeError(f"invalid model: node {node.name!r} ({node.op_type}): {exc}") from None
        except Uncostable as exc:
            return None, str(exc)
        except (IndexError, KeyError, ValueError, TypeError, ZeroDivisionError) as exc:
            return None, f"malformed node ({type(exc).__name__}: {exc})"
        # Python ints and bool once per rule result (not once per layer: results are shared through the cache)
        cost.macs, cost.other_ops = int(cost.macs), int(cost.other_ops)
        cost.winograd_eligible = bool(cost.winograd_eligible)
        return cost, ""

    def _enter(self, node) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ModelLoadError(f"subgraphs nested more than {MAX_DEPTH} deep (at node {node.name[:80]!r}): "
                                 "refused rather than profiled for hours")

    def cost_subgraph(self, graph: Graph) -> tuple[int, int, list[str]]:
        """(MACs, other ops, uncosted op types) of a body: its rules only, run once per body (a body reached
        twice -- through its node's rule and through the weight count -- is not costed twice, which made the
        work double per nesting level)."""
        got = self._totals.get(id(graph))
        if got is None:
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise ModelLoadError(f"subgraphs nested more than {MAX_DEPTH} deep: refused rather than "
                                         "profiled for hours")
                costs, _, _ = self._node_rules(graph)
            finally:
                self.depth -= 1
            macs = sum(int(c.macs) for c, _ in costs if c is not None)
            other = sum(int(c.other_ops) for c, _ in costs if c is not None)
            kinds = list(dict.fromkeys(n.op_type for n, (c, _) in zip(graph.nodes, costs) if c is None))
            got = self._totals[id(graph)] = (macs, other, kinds)
        return got


def _liveness(
    graph: Graph, prec: Precision, derived: set[str] | None = None, lifetimes: Lifetimes | None = None
) -> tuple[int, TensorRef | None, int, list[str]]:
    """Return (peak live bytes, largest tensor, sum of all activation bytes, activations of unknown shape).

    A tensor whose shape is unknown has no byte count: it is left out of the three figures and named in
    the fourth, so the caller can say the figures are lower bounds (never a silent 0). ``lifetimes``: the ones
    the coster recorded for ``graph`` at ``prec`` (then the nodes are not walked again).
    """
    if lifetimes is None:
        lifetimes = _lifetimes(graph, prec, constant_derived(graph) if derived is None else derived)
    nbytes, unknown = lifetimes.nbytes, lifetimes.unknown
    names = list(lifetimes.index)
    total = sum(nbytes)
    largest: TensorRef | None = None
    if len(unknown) < len(nbytes):
        top = max(nbytes)
        pos = nbytes.index(top)  # the first of the largest, as in the execution order
        if top == 0 and unknown:  # the first tensor of 0 bytes may be one of unknown size
            skip = set(unknown)
            pos = next(i for i, b in enumerate(nbytes) if i not in skip)
        t = graph.tensors[names[pos]]
        largest = TensorRef(names[pos], list(t.shape), top)
    return lifetimes.peak(), largest, total, [names[i] for i in unknown]


def _lifetimes(graph: Graph, prec: Precision, derived: set[str]) -> Lifetimes:
    """:func:`live_ranges` of ``graph`` with each tensor's bytes at ``prec``, as :class:`Lifetimes`."""
    life = Lifetimes({}, [], [], [], [])
    get = graph.tensors.get
    for name, (s, e) in live_ranges(graph, derived).items():
        t = get(name) if name else None
        k = life.add(name, s, None if t is None or t.shape is None else _tensor_bytes(t, prec))
        life.last[k] = e
    return life


def profile_model(
    model: Model,
    precision: str | Precision = "fp32",
    weight_precision: str | Precision | None = None,
    activation_precision: str | Precision | None = None,
    strict: bool = False,
    params: dict[str, Any] | None = None,
) -> Profile:
    """Profile an already-loaded :class:`~fitbench.graph.ir.Model`."""
    base = Precision.parse(precision)
    wp = Precision.parse(weight_precision) if weight_precision else base
    ap = Precision.parse(activation_precision) if activation_precision else base
    if ap.weight_only:  # int4 is a weight format: its activations are fp16 unless given (W4A16)
        if activation_precision and Precision.parse(activation_precision).weight_only:
            raise FitbenchError(f"{ap.value} is a weight format; activations are int8, fp16, bf16 or fp32")
        ap = Precision.FP16
    coster = _Coster(wp, ap)
    with paused_gc():
        layers, uncosted_map = coster.cost_graph(model.graph)
    uncosted = list(uncosted_map.values())
    if strict and uncosted:
        listing = ", ".join(f"{u.op_type} x{u.count} ({u.reason})" for u in uncosted)
        raise UncostedOpError(f"uncosted ops (strict mode): {listing}")
    peak, largest, act_total, unshaped = _liveness(model.graph, ap, coster.derived.get(id(model.graph)),
                                                   coster.lifetimes.get(id(model.graph)))
    macs = elig_macs = elig_weights = weights = weight_bytes = other_ops = 0
    op_mix: dict[str, int] = defaultdict(int)
    for x in layers:  # one pass: a 10^6-node graph has 10^6 layers
        m = x.macs or 0
        macs += m
        other_ops += x.other_ops or 0
        weights += x.weights
        weight_bytes += x.weight_bytes
        op_mix[x.op_type] += 1
        if x.winograd_eligible:
            elig_macs += m
            # kernel elements of eligible convs (Cout x Cin x 3 x 3 = gemm n x k); biases do not grow
            elig_weights += sum(g.batch * g.n * g.k for g in x.gemms)
    frac = elig_macs / macs if macs else 0.0
    totals = Totals(
        macs=macs,
        flops=2 * macs,
        other_ops=other_ops,
        weights=weights,
        weight_bytes=weight_bytes,
        activation_bytes=act_total,
        largest_activation_bytes=largest.bytes if largest else 0,
        largest_activation_tensor=largest,
        peak_live_activation_bytes=peak,
        winograd_eligible_macs=elig_macs,
        winograd_eligible_weights=elig_weights,
        winograd_mac_fraction=frac,
        winograd_speedup_f2=amdahl_speedup(frac, WINOGRAD_F2),
        winograd_speedup_f4=amdahl_speedup(frac, WINOGRAD_F4),
        winograd_weight_growth_f2=(weights + elig_weights * (WINOGRAD_GROWTH_F2 - 1)) / weights if weights else 1.0,
        layer_count=len(layers),
        uncosted_count=sum(u.count for u in uncosted),
        op_mix=dict(sorted(op_mix.items(), key=lambda kv: -kv[1])),
        input_bytes={n: _tensor_bytes(model.graph.tensor(n), ap) for n in model.graph.inputs
                     if n and not model.graph.is_constant(n)},
        output_bytes={n: _tensor_bytes(model.graph.tensor(n), ap) for n in model.graph.outputs if n},
    )
    conditions = Conditions(
        input_shapes={k: list(v) for k, v in model.input_shapes.items()},
        batch=model.batch,
        weight_precision=wp.value,
        activation_precision=ap.value,
        notes=list(model.notes) + ([
            f"{len(unshaped)} activation tensor(s) have no known shape ({', '.join(unshaped[:5])}"
            f"{' ...' if len(unshaped) > 5 else ''}): their bytes are not in the activation, largest and "
            "peak-live figures, which are lower bounds"] if unshaped else []),
        params=dict(params or {}),
    )
    path = None if model.tags.get("kind") in ("zoo", "memory", "torch") else model.source
    info = ModelInfo(name=model.source, path=path, sha256=model.sha256, opset=model.opset)
    return Profile(model=info, conditions=conditions, totals=totals, layers=layers, uncosted=uncosted)


def profile(
    model,
    inputs: dict | None = None,
    batch: int | None = None,
    precision: str | Precision = "fp32",
    weight_precision: str | Precision | None = None,
    activation_precision: str | Precision | None = None,
    strict: bool = False,
    dims: dict[str, int] | None = None,
    example_inputs=None,
    **zoo_params: Any,
) -> Profile:
    """Profile ``model`` at the given shapes, batch and precision.

    ``model`` is an ONNX path, an ``onnx.ModelProto``, a zoo name (``"yolov3"``, with zoo
    parameters such as ``resolution=(1080, 1920)`` or ``seq_len=384``), a PyTorch ``nn.Module``
    (with ``example_inputs`` or ``inputs`` shapes) or a ``"package.module:factory"`` string.
    """
    from .model_source import resolve_model

    with paused_gc():  # millions of acyclic objects for a large graph: the collector's passes were half the time
        loaded, params = resolve_model(model, inputs=inputs, batch=batch, dims=dims, example_inputs=example_inputs,
                                       **zoo_params)
        return profile_model(loaded, precision, weight_precision, activation_precision, strict, params=params)


make_module_callable(__name__, "profile")
