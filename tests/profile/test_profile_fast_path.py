"""The lean large-graph path gives exactly the Profile the straightforward algorithms give.

The reference functions below are the pre-optimisation implementations (fitbench 7dfc7fa..37e3cab), kept here
verbatim as the specification: shape-only tensors by an explicit consumer map, live ranges with ``max`` per
read, liveness bytes recomputed per tensor, the execution order from a full dependency list. Each test profiles a
model with the shipped functions and again with the reference ones patched in, and compares the whole Profile
(totals, every layer's MACs / other ops / weights / bytes, peak live bytes, uncosted list) for equality.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import fitbench.graph.onnx_io as onnx_io
import fitbench.profile as prof_mod
from fitbench.errors import ShapeError
from fitbench.graph.ir import Graph
from fitbench.graph.liveness import names_read_in, peak_bytes
from fitbench.precision import Precision
from fitbench.profile import TensorRef, _names_read_by_subgraphs, constant_derived, profile

_A = onnx.AttributeProto
_subgraph_outer_refs = onnx_io._subgraph_outer_refs


def ref_shape_only_tensors(graph: Graph, non_weights: list[frozenset[int]]) -> set[str]:
    """Tensors used only as shapes, axes, indices or initial states, directly or through other ops.

    A tensor is shape-only when it has consumers and every one either reads it at a non-weight
    position (``OpCost.non_weight_inputs``: Reshape's shape, Unsqueeze's axes, an LSTM's initial
    state...) or produces shape-only tensors only (the ``Concat``/``Unsqueeze`` chains exporters
    build shapes with). Constants that are shape-only are not weights.
    """
    consumers: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for idx, node in enumerate(graph.nodes):
        for pos, name in enumerate(node.inputs):
            if name:
                consumers[name].append((idx, pos))
    pinned = set(graph.outputs) | _names_read_by_subgraphs(graph)
    shape_only: set[str] = set()
    outputs_shape_only = [False] * len(graph.nodes)

    def decide(name: str) -> bool:
        uses = consumers.get(name)
        return bool(uses) and name not in pinned and all(
            pos in non_weights[idx] or outputs_shape_only[idx] for idx, pos in uses
        )

    for idx in range(len(graph.nodes) - 1, -1, -1):
        node = graph.nodes[idx]
        outs = [o for o in node.outputs if o]
        for o in outs:
            if decide(o):
                shape_only.add(o)
        outputs_shape_only[idx] = bool(outs) and not graph.nodes[idx].subgraphs and all(o in shape_only for o in outs)
    for name, t in graph.tensors.items():
        if t.constant and name not in shape_only and decide(name):
            shape_only.add(name)
    return shape_only



def ref_tensor_bytes(t, prec: Precision) -> int:
    if t is None or t.shape is None:
        return 0
    per = prec.bytes if t.is_float else t.native_bytes_per_element
    return math.prod(t.shape) * per


def ref_live_ranges(graph: Graph, skip: Collection[str] = ()) -> dict[str, tuple[int, int]]:
    """``{tensor: (first step, last step)}`` for every non-constant tensor not in ``skip``."""
    steps = len(graph.nodes)
    start: dict[str, int] = {}
    end: dict[str, int] = {}
    for name in graph.inputs:
        start[name] = end[name] = 0
    for step, node in enumerate(graph.nodes):
        reads = list(node.inputs)
        for sub in node.subgraphs.values():  # a body reading an outer tensor keeps it alive
            reads.extend(names_read_in(sub))
        for name in reads:
            if name in start:
                end[name] = max(end[name], step)
        for name in node.outputs:
            if name and not graph.is_constant(name) and name not in skip:
                start.setdefault(name, step)
                end.setdefault(name, step)
    for name in graph.outputs:
        if name in start:
            end[name] = max(steps - 1, 0)
    return {name: (s, end[name]) for name, s in start.items()}



def ref_liveness(
    graph: Graph, prec: Precision, derived: set[str] | None = None, known_bytes=None  # ignored: computed afresh
) -> tuple[int, TensorRef | None, int, list[str]]:
    """Return (peak live bytes, largest tensor, sum of all activation bytes, activations of unknown shape).

    A tensor whose shape is unknown has no byte count: it is left out of the three figures and named in
    the fourth, so the caller can say the figures are lower bounds (never a silent 0).
    """
    derived = constant_derived(graph) if derived is None else derived
    ranges = ref_live_ranges(graph, derived)
    largest: TensorRef | None = None
    total = 0
    unknown: list[str] = []
    for name in ranges:
        t = graph.tensor(name)
        if t is None or t.shape is None:
            unknown.append(name)
        b = ref_tensor_bytes(t, prec)
        total += b
        if t is not None and t.shape is not None and (largest is None or b > largest.bytes):
            largest = TensorRef(name, list(t.shape), b)
    peak = peak_bytes(ranges, lambda name: ref_tensor_bytes(graph.tensor(name), prec))
    return peak, largest, total, unknown



def ref_topological_nodes(graph: onnx.GraphProto, outer_names: set[str]) -> list[onnx.NodeProto]:
    """Return nodes in execution order; error on a cycle or an input nobody produces."""
    available = set(outer_names)
    available.update(i.name for i in graph.input)
    available.update(t.name for t in graph.initializer)
    available.add("")
    own = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    producers: dict[str, int] = {}
    for idx, node in enumerate(graph.node):
        for out in node.output:
            if not out:
                continue
            if out in producers or out in own:
                first = graph.node[producers[out]].name if out in producers else "a graph input or initializer"
                raise ShapeError(
                    f"tensor {out!r} is produced twice: by {first!r} and by node {node.name or node.op_type!r}; "
                    "an ONNX graph assigns every tensor once"
                )
            producers[out] = idx
    deps: list[set[int]] = []
    graph_attr = (_A.GRAPH, _A.GRAPHS)
    in_order = True
    for idx, node in enumerate(graph.node):
        needed = node.input
        attrs = node.attribute
        if attrs and any(a.type in graph_attr for a in attrs):
            needed = set(needed) | _subgraph_outer_refs(node)
        d = set()
        for name in needed:
            p = producers.get(name)
            if p is not None:
                d.add(p)
                in_order = in_order and p < idx
            elif name not in available:
                raise ShapeError(
                    f"node {node.name or node.op_type!r} ({node.op_type}) reads {name!r}, which no node, "
                    "graph input or initializer produces"
                )
        deps.append(d)
    if in_order:
        return list(graph.node)  # already in execution order (the usual case)
    order: list[int] = []
    state = [0] * len(graph.node)  # 0 new, 1 on stack, 2 done
    for start in range(len(graph.node)):
        if state[start]:
            continue
        stack = [(start, iter(sorted(deps[start])))]
        state[start] = 1
        while stack:
            idx, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[idx] = 2
                order.append(idx)
            elif state[nxt] == 1:
                n = graph.node[nxt]
                raise ShapeError(f"the graph has a cycle through node {n.name or n.op_type!r} ({n.op_type})")
            elif state[nxt] == 0:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(deps[nxt]))))
    return [graph.node[i] for i in order]



def _patched(monkeypatch) -> None:
    monkeypatch.setattr(prof_mod, "shape_only_tensors", ref_shape_only_tensors)
    monkeypatch.setattr(prof_mod, "_liveness", ref_liveness)
    monkeypatch.setattr(onnx_io, "_topological_nodes",
                        lambda g, outer, fields=None: (ref_topological_nodes(g, outer), None))


def _both(model, monkeypatch, **kw):
    fast = profile(model, **kw).to_dict()
    with monkeypatch.context() as m:
        _patched(m)
        ref = profile(model, **kw).to_dict()
    return fast, ref


@pytest.mark.parametrize("name", ["resnet50", "yolov3", "bert-base"])
def test_zoo_profiles_are_unchanged(name: str, monkeypatch):
    fast, ref = _both(name, monkeypatch)
    assert fast["totals"]["peak_live_activation_bytes"] > 0 and fast["totals"]["macs"] > 0
    assert fast == ref


def test_a_quantized_precision_and_batch_are_unchanged(monkeypatch):
    fast, ref = _both("bert-base", monkeypatch, precision="int8", batch=2)
    assert fast == ref


def _large(n: int) -> onnx.ModelProto:
    """A generated graph with what the fast paths must get right: a shape-only chain (Shape -> Gather ->
    Unsqueeze -> Concat -> Reshape), a shared weight, a tensor read twice by one node, a tensor read far
    later (long live range) and MatMuls between element-wise runs."""
    w = numpy_helper.from_array(np.ones((16, 16), np.float32), "w")
    b = numpy_helper.from_array(np.ones((1, 16), np.float32), "b")
    idx = numpy_helper.from_array(np.array(1, np.int64), "one")
    ax = numpy_helper.from_array(np.array([0], np.int64), "ax")
    minus = numpy_helper.from_array(np.array([-1], np.int64), "minus")
    nodes, x = [], "x"
    for i in range(n):
        k = i % 5
        out = f"t{i}"
        if k == 0:
            nodes.append(helper.make_node("MatMul", [x, "w"], [out], name=f"m{i}"))
        elif k == 1:
            nodes.append(helper.make_node("Add", [x, x], [out], name=f"a{i}"))
        elif k == 2:
            nodes += [helper.make_node("Shape", [x], [f"s{i}"], name=f"sh{i}"),
                      helper.make_node("Gather", [f"s{i}", "one"], [f"g{i}"], name=f"ga{i}", axis=0),
                      helper.make_node("Unsqueeze", [f"g{i}", "ax"], [f"u{i}"], name=f"un{i}"),
                      helper.make_node("Concat", ["minus", f"u{i}"], [f"c{i}"], name=f"co{i}", axis=0),
                      helper.make_node("Reshape", [x, f"c{i}"], [out], name=f"re{i}")]
        elif k == 3:
            nodes.append(helper.make_node("Add", [x, "b"], [out], name=f"b{i}"))
        else:
            nodes.append(helper.make_node("Relu", [x], [out], name=f"r{i}"))
        x = out
    nodes.append(helper.make_node("Add", [x, "x"], ["y"], name="last"))  # "x" lives to the end
    g = helper.make_graph(nodes, "large", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])], [w, b, idx, ax, minus])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def test_a_generated_large_graph_is_unchanged(monkeypatch):
    n = 5_000
    fast, ref = _both(_large(n), monkeypatch)
    t = fast["totals"]
    assert t["layer_count"] == n + 4 * (n // 5) + 1
    assert t["macs"] == (n // 5) * 16 * 16  # [1,16] x [16,16] per MatMul
    assert t["weights"] == 16 * 16 + 16  # w and b once each; the shape constants are not weights
    assert fast == ref


def test_the_chain_benchmark_graph_is_unchanged(monkeypatch):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from profile_large import chain

    fast, ref = _both(chain(20_000), monkeypatch)
    assert fast["totals"]["other_ops"] == 16 * 20_000
    assert fast["totals"]["peak_live_activation_bytes"] == 2 * 16 * 4  # one step's input and output, fp32 [1, 16]
    assert fast == ref


def test_profiling_leaves_no_cyclic_garbage():
    """A paused collector's survivors skip the scan on resume (fitbench._gc), so whatever profiling allocates must
    be freed by reference counting alone: a collection right after finds nothing to collect."""
    import gc

    profile("bert-base")
    gc.collect()
    for model in ("bert-base", "resnet50", _large(200)):
        profile(model)
        assert gc.collect() == 0


def test_layer_fields_by_name():
    """Layers are built positionally on the fast path: each field checked by name on known nodes (fp32, [1, 16]
    activations of 64 bytes, a [16, 16] weight of 1024 bytes), and an op without a rule."""
    m = _large(10)
    extra = helper.make_node("Mystery", ["t9"], ["z"], name="odd", domain="local")
    m.graph.node.append(extra)
    m.opset_import.append(helper.make_opsetid("local", 1))
    layers = {x.name: x for x in profile(m).layers}
    mm = layers["m0"]
    assert (mm.op_type, mm.domain, mm.inputs, mm.outputs) == ("MatMul", "", ["x", "w"], ["t0"])
    assert (mm.input_shapes, mm.output_shapes) == ([[1, 16], [16, 16]], [[1, 16]])
    assert (mm.macs, mm.other_ops, mm.weights, mm.weight_bytes) == (16 * 16, 0, 16 * 16, 16 * 16 * 4)
    assert (mm.input_activation_bytes, mm.output_activation_bytes, mm.winograd_eligible) == (64, 64, False)
    assert mm.gemms and mm.gemms[0].macs == 16 * 16 and mm.kernel == []
    add = layers["a1"]  # Add(t0, t0): one input of 64 bytes
    assert (add.macs, add.other_ops, add.input_activation_bytes, add.output_activation_bytes) == (0, 16, 64, 64)
    assert add.rule == "elementwise" and add.weights == 0
    odd = layers["odd"]
    assert (odd.macs, odd.other_ops, odd.rule, odd.domain, odd.gemms) == (None, None, "uncosted", "local", [])
    assert (odd.input_activation_bytes, odd.output_shapes) == (64, [None])


# ------------------------------------------------------------------ lifetimes recorded while costing


def _control_flow_and_unknown() -> onnx.ModelProto:
    """What the lifetimes recorded in the costing pass must get right besides a chain: a Loop whose body reads an
    outer activation ("early", otherwise dead after step 1) and an outer weight, an op without shape inference
    (its output has no known shape, and so has what reads it), an initializer also listed as a graph input, a
    Constant node, a graph output produced early, a tensor read twice by one node."""
    body = helper.make_graph(
        [helper.make_node("MatMul", ["xin", "wb"], ["xm"], name="body_mm"),
         helper.make_node("Add", ["xm", "early"], ["xo"], name="body_add"),
         helper.make_node("Identity", ["cin"], ["cout"], name="body_cond")],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cin", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("xin", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("cout", TensorProto.BOOL, []),
         helper.make_tensor_value_info("xo", TensorProto.FLOAT, [2, 4])])
    nodes = [
        helper.make_node("Relu", ["x"], ["early"], name="early"),
        helper.make_node("Add", ["early", "early"], ["t1"], name="twice"),
        helper.make_node("Constant", [], ["k"], name="const", value=numpy_helper.from_array(
            np.ones((2, 4), np.float32))),
        helper.make_node("Mul", ["t1", "k"], ["t2"], name="mul"),
        helper.make_node("Add", ["t2", "w_in"], ["out_early"], name="add_w"),
        helper.make_node("Mystery", ["t2"], ["odd"], name="odd", domain="local"),
        helper.make_node("Relu", ["odd"], ["odd2"], name="after_odd"),
        helper.make_node("Loop", ["M", "", "t2"], ["y"], name="loop", body=body),
        helper.make_node("Relu", ["y"], ["z"], name="last"),
    ]
    w_in = numpy_helper.from_array(np.ones((2, 4), np.float32), "w_in")
    g = helper.make_graph(
        nodes, "cf", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4]),
                      helper.make_tensor_value_info("w_in", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 4]),
         helper.make_tensor_value_info("out_early", TensorProto.FLOAT, [2, 4]),
         helper.make_tensor_value_info("odd2", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(3, np.int64), "M"), numpy_helper.from_array(np.ones((4, 4), np.float32),
                                                                                      "wb"), w_in])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    m.ir_version = 8
    return m


def _derived_model() -> onnx.ModelProto:
    """Tensors computed from constants only: a dequantised int8 kernel, a cast fp16 weight, a chain of two (the cast
    times a constant), a Relu of a Constant node's output; and what is not one: a random tensor like a constant."""
    f = lambda v, n, dt=np.float32: numpy_helper.from_array(np.full((4, 4), v, dt), n)  # noqa: E731
    inits = [f(1, "wq", np.int8), numpy_helper.from_array(np.array(0.5, np.float32), "scale"),
             numpy_helper.from_array(np.array(0, np.int8), "zp"), f(1, "w16", np.float16), f(2, "c2")]
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "scale", "zp"], ["wdq"], name="dq"),
        helper.make_node("Cast", ["w16"], ["wc"], name="cast", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["wc", "c2"], ["wcc"], name="mulc"),
        helper.make_node("Constant", [], ["kc"], name="kc", value=f(3, "kcv")),
        helper.make_node("Relu", ["kc"], ["kr"], name="relk"),
        helper.make_node("RandomNormalLike", ["c2"], ["rn"], name="rnd"),
        helper.make_node("MatMul", ["x", "wdq"], ["h1"], name="mm"),
        helper.make_node("Add", ["h1", "wcc"], ["h2"], name="add1"),
        helper.make_node("Add", ["h2", "kr"], ["h3"], name="add2"),
        helper.make_node("Add", ["h3", "rn"], ["y"], name="add3"),
    ]
    g = helper.make_graph(nodes, "derived", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _lifetime_models():
    return [("resnet50", "resnet50"), ("bert-base", "bert-base"), ("large", _large(200)),
            ("control-flow", _control_flow_and_unknown()), ("derived", _derived_model())]


@pytest.mark.parametrize("which", ["resnet50", "bert-base", "large", "control-flow", "derived"])
def test_lifetimes_recorded_while_costing_are_live_ranges(which):
    """The costing pass records exactly ``live_ranges(graph, constant_derived(graph))``: the same tensors in the same
    order, the same first and last steps, each one's bytes at the activation precision, the unknown-size ones."""
    from fitbench.graph.liveness import live_ranges
    from fitbench.model_source import resolve_model

    model, _ = resolve_model(dict(_lifetime_models())[which])
    g = model.graph
    coster = prof_mod._Coster(Precision.FP32, Precision.FP16)
    coster.cost_graph(g)
    life = coster.lifetimes[id(g)]
    assert coster.derived[id(g)] == constant_derived(g)  # grown while costing, equal to the separate pass
    if which == "derived":
        assert constant_derived(g) == {"wdq", "wc", "wcc", "kr"}
    ranges = ref_live_ranges(g, constant_derived(g))
    assert live_ranges(g, constant_derived(g)) == ranges
    assert list(life.index) == list(ranges)
    assert list(zip(life.first, life.last)) == list(ranges.values())
    unknown = [n for n in ranges if g.tensor(n) is None or g.tensor(n).shape is None]
    assert [list(ranges)[i] for i in life.unknown] == unknown
    assert life.nbytes == [ref_tensor_bytes(g.tensor(n), Precision.FP16) for n in ranges]
    assert life.peak() == peak_bytes(ranges, lambda n: ref_tensor_bytes(g.tensor(n), Precision.FP16))
    if which == "control-flow":
        assert unknown == ["odd", "odd2"]
        assert [n.name for n in g.nodes].index("loop") == 7
        assert ranges["early"] == (0, 7)  # read by the Loop's body, at step 7 (by a node last at step 1)
        assert ranges["out_early"][1] == len(g.nodes) - 1  # a graph output lives to the end


def test_a_graph_with_constant_derived_tensors_is_unchanged(monkeypatch):
    fast, ref = _both(_derived_model(), monkeypatch)
    t = fast["totals"]
    # weights where the graph reads them, floats at the weight precision (fp32) and integers at their native size:
    # wq (16 x 1 byte), scale (4), zp (1), w16 (16 x 4), c2 (16 x 4; once, though the Mul and the RandomNormalLike
    # read it), the Constant kc (16 x 4)
    assert t["weight_bytes"] == 16 + 4 + 1 + 64 + 64 + 64
    # activations: x, rn, h1, h2, h3, y of [4, 4] fp32 (64 bytes each); the derived wdq / wc / wcc / kr are not
    assert t["activation_bytes"] == 6 * 64
    assert fast == ref


def test_a_control_flow_graph_with_unknown_shapes_is_unchanged(monkeypatch):
    fast, ref = _both(_control_flow_and_unknown(), monkeypatch)
    t = fast["totals"]
    # live at the Loop (step 7): early (read in its body), t2, out_early (a graph output) and y, each [2, 4] fp32
    # = 32 bytes; the unknown-size odd / odd2 count 0. Seven activations of known size in all; x is the first.
    assert t["peak_live_activation_bytes"] == 4 * 32
    assert t["activation_bytes"] == 7 * 32
    assert t["largest_activation_tensor"] == {"name": "x", "shape": [2, 4], "bytes": 32}
    assert any("no known shape" in n for n in fast["conditions"]["notes"])
    assert fast == ref


def test_peak_past_int64_is_exact():
    """Byte counts whose sums pass int64 take Python's ints: two overlapping tensors of 2^62 bytes and a later one."""
    from fitbench.graph.liveness import Lifetimes

    big = 2**62
    life = Lifetimes({"a": 0, "b": 1, "c": 2}, [0, 1, 3], [2, 2, 3], [big, big, 5], [])
    assert life.peak() == 2 * big
    assert Lifetimes({"a": 0, "b": 1}, [0, 1], [0, 1], [3, 4], []).peak() == 4
    assert Lifetimes({}, [], [], [], []).peak() == 0


# ------------------------------------------------------------------ the rule cache


def _uncached(monkeypatch):
    """No node's rule result is cached (every rule runs)."""
    monkeypatch.setattr(prof_mod._Coster, "cache_rules", False)


def _zoo_cases():
    from fitbench.zoo import list_models

    cases = [(e.name, {}) for e in list_models()]
    return cases + [("llama-3.2-1b", {"phase": "prefill", "prompt": 64}), ("bert-base", {"precision": "int8"}),
                    ("llama-3.2-1b", {"precision": "int4"})]


@pytest.mark.parametrize("name, kw", _zoo_cases(), ids=lambda v: v if isinstance(v, str) else None)
def test_the_rule_cache_gives_the_profile_without_it_on_every_zoo_model(name, kw, monkeypatch):
    cached = profile(name, **kw).to_dict()
    with monkeypatch.context() as m:
        _uncached(m)
        plain = profile(name, **kw).to_dict()
    assert cached == plain


def test_the_rule_cache_is_used_and_shares_nothing_mutable():
    """bert-base's 12 equal encoder blocks: far fewer cache entries than costed nodes; layers that share an OpCost
    get their own gemm and kernel lists."""
    from fitbench.model_source import resolve_model

    model, _ = resolve_model("bert-base")
    coster = prof_mod._Coster(Precision.FP32, Precision.FP32)
    layers, _ = coster.cost_graph(model.graph)
    assert 0 < len(coster._cache) < len(model.graph.nodes) // 4
    mm = [x for x in layers if x.op_type == "MatMul" and x.gemms]
    assert len(mm) > 12
    assert len({id(x.gemms) for x in mm}) == len(mm)
    costs, _, _ = coster._node_rules(model.graph)
    assert all(isinstance(c.gemms, tuple) and isinstance(c.kernel, tuple) for c, _ in costs if c is not None)


def _value_op_model() -> onnx.ModelProto:
    """Nodes of one test op on the same [2, 8] shapes that differ only in a small constant's values, an attribute
    (an int, or a float's sign), an omitted optional input, or an input's constant flag."""
    consts = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
              (("c12", [1, 2]), ("c21", [2, 1]), ("c12b", [1, 2]), ("c30", [3, 0]))]
    specs = [  # (node, inputs, attributes)
        ("n1", ["x", "c12"], {"k": 1}),
        ("n2", ["x", "c21"], {"k": 1}),         # other values, same shape
        ("n3", ["x", "c12"], {"k": 2}),         # other attribute
        ("n4", ["x", "c12", ""], {"k": 1}),     # an omitted optional input
        ("n5", ["x", "c12", "x"], {"k": 1}),    # a third input
        ("n6", ["x", "c12b"], {"k": 1}),        # another tensor with n1's values: may share n1's entry
        ("n7", ["x", "c30"], {"k": 1, "f": -0.0}),
        ("n8", ["x", "c30"], {"k": 1, "f": 0.0}),
        ("n9", ["x", "c30"], {"k": 1}),         # no f at all
        ("n10", ["x", "ic"], {"k": 1}),         # a graph input of c12's shape: not constant, no value
    ]
    nodes = [helper.make_node("ValueOp", ins, [f"y_{name}"], name=name, domain="test.cache", **attrs)
             for name, ins, attrs in specs]
    outs = [helper.make_tensor_value_info(f"y_{name}", TensorProto.FLOAT, [2, 8]) for name, _, _ in specs]
    g = helper.make_graph(nodes, "values", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8]),
                                            helper.make_tensor_value_info("ic", TensorProto.INT64, [2])],
                          outs, consts)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("test.cache", 1)])
    m.ir_version = 8
    return m


def test_nodes_that_differ_only_in_constant_values_or_attributes_do_not_share_a_cache_entry(monkeypatch):
    """A test rule reading what a rule may read -- a small constant's values, attributes, whether an optional input
    is present -- gives each node its own count, cache or not: other_ops = 10 x value[0] + value[1] + 100 x k
    (+1000 when input 2 is present, +5000 when f is -0.0, +7000 when input 1 has no known value)."""
    import math as _math

    from fitbench.costs import registry

    def value_op(ctx):
        v = ctx.value(1)
        base = 7000 if v is None else 10 * int(v[0]) + int(v[1])
        other = base + 100 * ctx.attr("k") + (1000 if ctx.has_input(2) else 0)
        if _math.copysign(1.0, ctx.attr("f", 1.0)) < 0:
            other += 5000
        return registry.OpCost(rule="value-op", other_ops=other + 0 * ctx.out_elements(0))

    monkeypatch.setitem(registry._RULES, ("test.cache", "ValueOp"), value_op)
    want = {"n1": 112, "n2": 121, "n3": 212, "n4": 112, "n5": 1112, "n6": 112, "n7": 5130, "n8": 130, "n9": 130,
            "n10": 7100}
    got = {x.name: x.other_ops for x in profile(_value_op_model()).layers}
    assert got == want
    from fitbench.model_source import resolve_model

    model, _ = resolve_model(_value_op_model())
    coster = prof_mod._Coster(Precision.FP32, Precision.FP32)
    coster.cost_graph(model.graph)
    assert len(coster._cache) == 9  # ten nodes; only n6 (equal values in another tensor) shares n1's entry
    with monkeypatch.context() as m:
        _uncached(m)
        assert {x.name: x.other_ops for x in profile(_value_op_model()).layers} == want


def test_reshape_and_slice_with_equal_shapes_but_other_constants_get_their_own_entries():
    """Reshape [4, 4] by (4, 4) and by (-1, 4), Slice rows 0:2 and 2:4 of [4, 4]: equal input and output shapes,
    other constant values, so other cache keys (and the same MACs and other ops as without the cache)."""
    from fitbench.model_source import resolve_model

    i64 = lambda v, n: numpy_helper.from_array(np.array(v, np.int64), n)  # noqa: E731
    consts = [i64([4, 4], "s44"), i64([-1, 4], "sm14"), i64([0], "st0"), i64([2], "st2"), i64([2], "en2"),
              i64([4], "en4")]
    nodes = [helper.make_node("Reshape", ["x", "s44"], ["r1"], name="r1"),
             helper.make_node("Reshape", ["r1", "sm14"], ["r2"], name="r2"),
             helper.make_node("Slice", ["r2", "st0", "en2"], ["a"], name="s1"),
             helper.make_node("Slice", ["r2", "st2", "en4"], ["b"], name="s2"),
             helper.make_node("Add", ["a", "b"], ["y"], name="add")]
    g = helper.make_graph(nodes, "rs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], consts)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    model, _ = resolve_model(m)
    coster = prof_mod._Coster(Precision.FP32, Precision.FP32)
    coster.cost_graph(model.graph)
    kinds = [key[1] for key in coster._cache]
    assert kinds.count("Reshape") == 2 and kinds.count("Slice") == 2
    assert profile(m).totals.other_ops == 2 * 4  # the Add of two [2, 4] halves; data movement counts none


def test_liveness_without_recorded_lifetimes_walks_the_graph_to_the_same_figures():
    from fitbench.model_source import resolve_model

    model, _ = resolve_model(_control_flow_and_unknown())
    g = model.graph
    coster = prof_mod._Coster(Precision.FP32, Precision.FP32)
    coster.cost_graph(g)
    recorded = prof_mod._liveness(g, Precision.FP32, coster.derived[id(g)], coster.lifetimes[id(g)])
    assert prof_mod._liveness(g, Precision.FP32) == recorded == ref_liveness(g, Precision.FP32)
    assert recorded[0] == 4 * 32 and recorded[3] == ["odd", "odd2"]  # as in the test above
