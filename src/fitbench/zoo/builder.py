"""A small ONNX graph builder on top of ``onnx.helper`` for the zoo's model families.

Weights
-------
Every weight is declared with its shape and an initialiser (``he``, ``normal``, ``uniform``,
``ones``, ``zeros``, ``bn_var``...). With ``materialize=False`` (profiling) an initializer carries
only ``dims`` and ``data_type`` and no bytes: ``fitbench.graph.onnx_io.load_model`` (strict ONNX shape
inference) accepts such tensors because it never reads weight data, so YOLOv3 at 2 MP builds in
milliseconds. Such a model cannot be run or passed to ``onnx.checker`` (which requires exactly one
data field); build with ``materialize=True`` for that. Materialised weights are deterministic: each
tensor's values come from a generator seeded by ``(seed, crc32(tensor name))``, so they do not depend
on build order, and are scaled (He / fan-in) so activations stay finite in fp32.

Small integer constants (reshape shapes, axes, scales) are always materialised: shape inference
needs their values.

Parameter counting follows PyTorch: ``parameters`` counts trainable tensors (conv/linear weights and
biases, BN/LN gamma and beta, embeddings); ``buffers`` counts BN running mean and variance, which are
constant inputs of the graph (a profiler counts them as weights) but not parameters.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17


@dataclass(frozen=True)
class WeightSpec:
    """A declared weight: name, shape, how to initialise it, and whether it is a trainable parameter."""

    name: str
    shape: tuple[int, ...]
    init: str
    scale: float
    trainable: bool
    fan_in: int | None = None


class GraphBuilder:
    """Build an ONNX graph op by op; node and tensor names are the layer names given by the caller."""

    def __init__(self, name: str, *, materialize: bool = False, seed: int = 0) -> None:
        self.name = name
        self.opset = OPSET  # a builder may raise it (the LLM family's fused Attention needs opset 23)
        self.materialize = materialize
        self.seed = int(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[WeightSpec] = []
        self.constants: list[TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[str] = []
        self._names: set[str] = set()
        self._const_cache: dict[tuple, str] = {}

    # ------------------------------------------------------------ bookkeeping
    def _unique(self, name: str) -> str:
        if name in self._names:
            raise ValueError(f"duplicate tensor name {name!r}")
        self._names.add(name)
        return name

    @property
    def parameters(self) -> int:
        """Trainable parameter count (PyTorch's convention)."""
        return sum(math.prod(w.shape) for w in self.weights if w.trainable)

    @property
    def buffers(self) -> int:
        """Non-trainable constant elements (BN running statistics)."""
        return sum(math.prod(w.shape) for w in self.weights if not w.trainable)

    def input(self, name: str, shape: Sequence[int], elem_type: int = TensorProto.FLOAT) -> str:
        self.inputs.append(helper.make_tensor_value_info(self._unique(name), elem_type, list(shape)))
        return name

    def output(self, name: str) -> str:
        self.outputs.append(name)
        return name

    def weight(self, name: str, shape: Sequence[int], init: str = "he", scale: float = 1.0,
               trainable: bool = True, fan_in: int | None = None) -> str:
        """Declare a float32 weight. ``init``: he (std sqrt(2/fan_in)), fanin (std sqrt(1/fan_in)),
        normal (std ``scale``), uniform (+-``scale``), ones, zeros, const (all ``scale``), bn_var
        (uniform 0.5..1.5), bn_gamma (uniform 0.5..1.0 times ``scale``), small (normal std 0.05*scale),
        inv_freq (RoPE's ``scale ** (-i / n)``, ``scale`` = theta).
        ``fan_in`` defaults to the product of all dims but the first (PyTorch's layout)."""
        self.weights.append(WeightSpec(self._unique(name), tuple(int(d) for d in shape), init, float(scale),
                                       trainable, fan_in))
        return name

    def const(self, name: str, value, dtype=np.int64) -> str:
        """A small constant that is always materialised (shapes, axes, scales); shared by value."""
        arr = np.asarray(value, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key in self._const_cache:
            return self._const_cache[key]
        self.constants.append(numpy_helper.from_array(arr, self._unique(name)))
        self._const_cache[key] = name
        return name

    def node(self, op: str, inputs: Sequence[str], name: str, outputs: Sequence[str] | None = None,
             domain: str = "", **attrs) -> str:
        """Add a node named ``name``; its single output tensor is also called ``name`` unless given."""
        outs = list(outputs) if outputs is not None else [name]
        for o in outs:
            if o:
                self._unique(o)
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=name, domain=domain or None, **attrs))
        return outs[0]

    # ------------------------------------------------------------ layers
    def conv(self, x: str, cin: int, cout: int, k: int | tuple[int, int], name: str, stride: int | tuple = 1,
             pad: int | tuple | None = None, groups: int = 1, bias: bool = False, dilation: int = 1,
             gain: float = 2.0) -> str:
        """Conv with ``pad`` default k//2 ('same' for odd kernels at stride 1). Weight ``name.weight``."""
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        if pad is None:
            pad = (kh // 2 * dilation, kw // 2 * dilation)
        if isinstance(pad, int):
            pads = [pad, pad, pad, pad]
        elif len(pad) == 2:
            pads = [pad[0], pad[1], pad[0], pad[1]]
        else:
            pads = list(pad)
        w = self.weight(f"{name}.weight", (cout, cin // groups, kh, kw), "he", gain)
        ins = [x, w]
        if bias:
            ins.append(self.weight(f"{name}.bias", (cout,), "zeros"))
        return self.node("Conv", ins, name, kernel_shape=[kh, kw], strides=[sh, sw], pads=pads, group=groups,
                         dilations=[dilation, dilation])

    def bn(self, x: str, c: int, name: str, gamma: float = 1.0, eps: float = 1e-5, frozen: bool = False) -> str:
        """Inference BatchNormalization with sane random statistics; gamma scaled by ``gamma``.

        ``frozen`` makes gamma and beta buffers too (torchvision's ``FrozenBatchNorm2d``, whose four
        tensors are all buffers), so they are not counted as parameters."""
        s = self.weight(f"{name}.weight", (c,), "bn_gamma", gamma, trainable=not frozen)
        b = self.weight(f"{name}.bias", (c,), "small", trainable=not frozen)
        m = self.weight(f"{name}.running_mean", (c,), "small", trainable=False)
        v = self.weight(f"{name}.running_var", (c,), "bn_var", trainable=False)
        return self.node("BatchNormalization", [x, s, b, m, v], name, epsilon=eps)

    def relu(self, x: str, name: str) -> str:
        return self.node("Relu", [x], name)

    def leaky(self, x: str, name: str, alpha: float = 0.1) -> str:
        return self.node("LeakyRelu", [x], name, alpha=alpha)

    def add(self, a: str, b: str, name: str) -> str:
        return self.node("Add", [a, b], name)

    def mul(self, a: str, b: str, name: str) -> str:
        return self.node("Mul", [a, b], name)

    def maxpool(self, x: str, k: int, stride: int, name: str, pads: Sequence[int] | None = None) -> str:
        return self.node("MaxPool", [x], name, kernel_shape=[k, k], strides=[stride, stride],
                         pads=list(pads) if pads is not None else [k // 2] * 4)

    def gap(self, x: str, name: str) -> str:
        return self.node("GlobalAveragePool", [x], name)

    def flatten(self, x: str, name: str, axis: int = 1) -> str:
        return self.node("Flatten", [x], name, axis=axis)

    def reshape(self, x: str, shape: Sequence[int], name: str) -> str:
        return self.node("Reshape", [x, self.const(f"{name}.shape", list(shape))], name)

    def transpose(self, x: str, perm: Sequence[int], name: str) -> str:
        return self.node("Transpose", [x], name, perm=list(perm))

    def concat(self, xs: Sequence[str], axis: int, name: str) -> str:
        return self.node("Concat", list(xs), name, axis=axis)

    def upsample(self, x: str, factor: int, name: str) -> str:
        """Nearest-neighbour Resize by an integer factor on H and W (darknet's upsample)."""
        scales = self.const(f"{name}.scales", [1.0, 1.0, float(factor), float(factor)], np.float32)
        return self.node("Resize", [x, "", scales], name, mode="nearest")

    def linear(self, x: str, fin: int, fout: int, name: str, bias: bool = True, gain: float = 1.0) -> str:
        """MatMul by a [fin, fout] weight (works on any leading dims) plus a bias Add."""
        w = self.weight(f"{name}.weight", (fin, fout), "he", gain, fan_in=fin)
        if not bias:
            return self.node("MatMul", [x, w], name)
        y = self.node("MatMul", [x, w], f"{name}.matmul")
        return self.node("Add", [y, self.weight(f"{name}.bias", (fout,), "zeros")], name)

    def gemm(self, x: str, fin: int, fout: int, name: str, bias: bool = True, gain: float = 1.0) -> str:
        """Gemm on a [N, fin] input with a [fout, fin] weight (PyTorch's Linear layout, transB=1)."""
        ins = [x, self.weight(f"{name}.weight", (fout, fin), "he", gain)]
        if bias:
            ins.append(self.weight(f"{name}.bias", (fout,), "zeros"))
        return self.node("Gemm", ins, name, transB=1)

    def layernorm(self, x: str, c: int, name: str, eps: float = 1e-5) -> str:
        s = self.weight(f"{name}.weight", (c,), "ones")
        b = self.weight(f"{name}.bias", (c,), "zeros")
        return self.node("LayerNormalization", [x, s, b], name, axis=-1, epsilon=eps)

    def gelu(self, x: str, name: str) -> str:
        """Exact GELU 0.5*x*(1+erf(x/sqrt(2))) written with Div/Erf/Add/Mul (Gelu is opset 20)."""
        d = self.node("Div", [x, self.const(f"{name}.sqrt2", math.sqrt(2.0), np.float32)], f"{name}.div")
        e = self.node("Erf", [d], f"{name}.erf")
        a = self.node("Add", [e, self.const(f"{name}.one", 1.0, np.float32)], f"{name}.add")
        m = self.node("Mul", [x, a], f"{name}.mul")
        return self.node("Mul", [m, self.const(f"{name}.half", 0.5, np.float32)], name)

    # ------------------------------------------------------------ finishing
    def _array(self, w: WeightSpec) -> np.ndarray:
        rng = np.random.default_rng([self.seed, zlib.crc32(w.name.encode())])
        shape = w.shape
        fan_in = w.fan_in or (math.prod(shape[1:]) if len(shape) > 1 else 1)
        if w.init in ("he", "fanin"):
            gain = w.scale if w.init == "he" else 1.0
            std = math.sqrt(gain / max(fan_in, 1))
            return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)
        if w.init == "normal":
            return rng.standard_normal(shape, dtype=np.float32) * np.float32(w.scale)
        if w.init == "small":
            return rng.standard_normal(shape, dtype=np.float32) * np.float32(0.05 * w.scale)
        if w.init == "uniform":
            return rng.uniform(-w.scale, w.scale, shape).astype(np.float32)
        if w.init == "bn_var":
            return rng.uniform(0.5, 1.5, shape).astype(np.float32)
        if w.init == "bn_gamma":
            return (rng.uniform(0.5, 1.0, shape) * w.scale).astype(np.float32)
        if w.init == "ones":
            return np.ones(shape, np.float32)
        if w.init == "zeros":
            return np.zeros(shape, np.float32)
        if w.init == "const":
            return np.full(shape, w.scale, np.float32)
        if w.init == "inv_freq":  # RoPE: theta ** (-2i / (2 n)) for i < n, theta = scale
            n = shape[0]
            return (w.scale ** (-np.arange(n, dtype=np.float64) / n)).astype(np.float32)
        raise ValueError(f"unknown initialiser {w.init!r}")

    def _initializer(self, w: WeightSpec) -> TensorProto:
        if self.materialize:
            return numpy_helper.from_array(self._array(w), w.name)
        t = TensorProto()
        t.name = w.name
        t.data_type = TensorProto.FLOAT
        t.dims.extend(w.shape)
        return t

    def finish(self, doc: str = "") -> onnx.ModelProto:
        """Assemble the model; output shapes come from ONNX shape inference on the weightless graph."""
        skeleton = [self._skeleton(w) for w in self.weights]
        graph = helper.make_graph(self.nodes, self.name, self.inputs,
                                  [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in self.outputs],
                                  self.constants + skeleton)
        ir = IR_VERSION if self.opset == OPSET else 10  # IR 10 carries opsets up to 23 (ONNX 1.16)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)], ir_version=ir,
                                  producer_name="fitbench.zoo", doc_string=doc)
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
        infos = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
        del model.graph.output[:]
        for o in self.outputs:
            model.graph.output.append(infos[o])
        if self.materialize:
            del model.graph.initializer[:]
            model.graph.initializer.extend(self.constants + [self._initializer(w) for w in self.weights])
        return model

    def _skeleton(self, w: WeightSpec) -> TensorProto:
        t = TensorProto()
        t.name = w.name
        t.data_type = TensorProto.FLOAT
        t.dims.extend(w.shape)
        return t

