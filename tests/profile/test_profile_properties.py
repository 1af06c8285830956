"""Property tests (hypothesis): scaling laws and invariants the profile must obey."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper
from profile_builders import init, layer, make_model, vi

from fitbench.profile import profile

FEW = settings(max_examples=12, deadline=None)


def random_conv_net(channels: list[int], strides: list[int], kernels: list[int]):
    """Conv chain with 'same' padding (odd kernels), symbolic N, H, W; total stride = prod(strides)."""
    nodes, inits, prev = [], [], "x"
    for i, (cin, cout, s, k) in enumerate(zip(channels[:-1], channels[1:], strides, kernels)):
        inits.append(init(f"w{i}", (cout, cin, k, k)))
        nodes.append(helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], name=f"conv{i}", kernel_shape=[k, k],
                                      strides=[s, s], pads=[k // 2] * 4))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
        prev = f"r{i}"
    return make_model(nodes, [vi("x", ["N", channels[0], "H", "W"])], [prev], inits)


nets = st.integers(1, 4).flatmap(
    lambda depth: st.tuples(
        st.lists(st.integers(1, 8), min_size=depth + 1, max_size=depth + 1),
        st.lists(st.sampled_from([1, 2]), min_size=depth, max_size=depth),
        st.lists(st.sampled_from([1, 3, 5]), min_size=depth, max_size=depth),
    )
)


@FEW
@given(net=nets, batch=st.integers(2, 9))
def test_macs_scale_linearly_with_batch(net, batch):
    model = random_conv_net(*net)
    c0 = net[0][0]
    one = profile(model, inputs={"x": f"1x{c0}x16x16"}).totals
    many = profile(model, inputs={"x": f"{batch}x{c0}x16x16"}).totals
    assert many.macs == batch * one.macs
    assert many.other_ops == batch * one.other_ops
    assert many.weights == one.weights


@FEW
@given(net=nets, i=st.integers(1, 4), j=st.integers(1, 4))
def test_macs_scale_with_hw_on_multiples_of_the_total_stride(net, i, j):
    model = random_conv_net(*net)
    c0, stride = net[0][0], math.prod(net[1])
    base = profile(model, inputs={"x": f"1x{c0}x{stride}x{stride}"}).totals.macs
    scaled = profile(model, inputs={"x": f"1x{c0}x{i * stride}x{j * stride}"}).totals.macs
    assert scaled == i * j * base


@FEW
@given(
    n=st.integers(1, 3), cin_g=st.integers(1, 4), cout_g=st.integers(1, 4), group=st.integers(1, 3),
    k=st.integers(1, 4), s=st.integers(1, 3), pad=st.integers(0, 1), h=st.integers(4, 12), w=st.integers(4, 12),
)
def test_conv_transpose_has_the_macs_of_the_conv_it_transposes(n, cin_g, cout_g, group, k, s, pad, h, w):
    cin, cout = cin_g * group, cout_g * group
    attrs = {"strides": [s, s], "pads": [pad] * 4, "group": group}
    conv = profile(make_model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)],
                              [vi("x", [n, cin, h, w])], ["y"], [init("w", [cout, cin_g, k, k])]))
    y_shape = layer(conv, "conv").output_shapes[0]
    # the transpose maps y's shape back to x's: same weight tensor [Cout, Cin/group, k, k], same stride/pads/group
    convt = profile(make_model([helper.make_node("ConvTranspose", ["y", "w"], ["x2"], name="convt", **attrs)],
                               [vi("y", y_shape)], ["x2"], [init("w", [cout, cin_g, k, k])]))
    assert layer(convt, "convt").macs == layer(conv, "conv").macs == n * cout * math.prod(y_shape[2:]) * cin_g * k * k
    assert layer(convt, "convt").weights == layer(conv, "conv").weights


@st.composite
def random_dags(draw):
    """Relu / Add / Concat nodes over earlier tensors of varying widths (shapes [1, width])."""
    widths = {"x": draw(st.integers(1, 64))}
    nodes = []
    for i in range(draw(st.integers(1, 10))):
        names = sorted(widths)
        kind = draw(st.sampled_from(["Relu", "Concat", "Add"]))
        a = draw(st.sampled_from(names))
        out = f"t{i}"
        if kind == "Relu":
            nodes.append(helper.make_node("Relu", [a], [out], name=f"n{i}"))
            widths[out] = widths[a]
        elif kind == "Concat":
            b = draw(st.sampled_from(names))
            nodes.append(helper.make_node("Concat", [a, b], [out], name=f"n{i}", axis=1))
            widths[out] = widths[a] + widths[b]
        else:
            same = [n for n in names if widths[n] == widths[a]]
            b = draw(st.sampled_from(same))
            nodes.append(helper.make_node("Add", [a, b], [out], name=f"n{i}"))
            widths[out] = widths[a]
    produced = [o for node in nodes for o in node.output]
    outputs = sorted(set([produced[-1]] + draw(st.lists(st.sampled_from(produced), max_size=2))))
    return nodes, widths, outputs


@FEW
@given(dag=random_dags())
def test_peak_live_between_largest_and_sum(dag):
    nodes, widths, outputs = dag
    prof = profile(make_model(nodes, [vi("x", [1, widths["x"]])], outputs))
    t = prof.totals
    size = {name: 4 * w for name, w in widths.items()}
    assert t.largest_activation_bytes == max(size.values())
    assert t.activation_bytes == sum(size.values())
    assert t.largest_activation_bytes <= t.peak_live_activation_bytes <= t.activation_bytes
    # a second, direct computation: at each step, sum the tensors produced by then and still needed
    order = [layer(prof, node.name) for node in nodes]
    assert [x.name for x in order] == [x.name for x in prof.layers]  # already topological
    born = {"x": 0} | {node.output[0]: i for i, node in enumerate(nodes)}
    last = {name: born[name] for name in born}
    for i, node in enumerate(nodes):
        for name in node.input:
            last[name] = max(last[name], i)
    for name in outputs:
        last[name] = len(nodes) - 1
    direct = max(sum(size[n] for n in born if born[n] <= step <= last[n]) for step in range(len(nodes)))
    assert t.peak_live_activation_bytes == direct
