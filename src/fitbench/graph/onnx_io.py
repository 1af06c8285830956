"""Load an ONNX model, bind the user's shapes, run ONNX shape inference, build the IR.

Weight bytes are never needed: external data files are never opened (a model with 10 GB of
external weights profiles from its graph), embedded initializers above ``SMALL_CONSTANT_ELEMENTS``
are dropped from the wire format before parsing (:mod:`fitbench.graph.wire`), and shape
inference runs on a skeleton whose large initializers are typed graph inputs. Only small
constants (shapes, axes, trip counts) are read. The file's sha256 is computed while it is
processed. External-data locations must stay inside the model's own folder.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

from .._checks import is_positive_int
from ..errors import ModelLoadError, ShapeError
from .ir import Graph, Model, Node, Tensor
from .shape_values import fold_shape_values
from .wire import strip_large_initializers

INT64_MAX = 2**63 - 1
SMALL_CONSTANT_ELEMENTS = 1024
#: files up to this size are parsed whole (weights included: at most ~2x this in memory); the wire-level strip of
#: large initializers walks every graph field in Python (~1 us a node), which a small file does not need
STRIP_ABOVE_BYTES = 64 * 2**20


@functools.cache
def _dtype_name(elem_type: int) -> str:
    if elem_type == onnx.TensorProto.BFLOAT16:
        return "bfloat16"
    if elem_type == 0:
        return "undefined"
    try:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))
    except Exception:  # noqa: BLE001 - exotic types (float8, int4) keep their ONNX name
        return onnx.TensorProto.DataType.Name(elem_type).lower()


# ---------------------------------------------------------------- reading files

PROTOBUF_LIMIT = 2**31 - 1  # bytes: protobuf cannot parse a larger message, so neither can ONNX


def _available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


class _ReadAndHash:
    """Map a file into memory (no copy) and sha256 it from disk in 1 MiB blocks, in a background thread.

    ``wait_read()`` returns a read-only view of the mapped file at once; hashlib releases the GIL while it
    hashes, so hashing overlaps parsing, shape inference and costing in the caller's thread. Neither the
    view nor the hash holds the file in the process's own memory: a large file costs page cache, not RSS.
    """

    def __init__(self, path: Path) -> None:
        import mmap

        self._digest = ""
        self._error: OSError | None = None
        try:
            with open(path, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot read the model file: {getattr(exc, 'strerror', None) or exc}") from None
        self.data = memoryview(self._map)
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        h = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except OSError as exc:
            self._error = exc
        self._digest = h.hexdigest()

    def wait_read(self) -> memoryview:
        return self.data

    def release(self) -> None:
        """Unmap the file (after parsing; the hash thread reads the file on its own). Views still held (by
        a traceback's frames) keep the mapping until they are collected."""
        try:
            self.data.release()
            self._map.close()
        except BufferError:
            pass

    def hexdigest(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise ModelLoadError(f"cannot read the model file: {self._error.strerror or self._error}")
        return self._digest


def _check_size(p: Path, size: int, whole: bool) -> None:
    """Refuse, before reading, a file protobuf cannot parse or one that would not fit in memory."""
    if size > PROTOBUF_LIMIT:
        raise ModelLoadError(f"{p} is {size / 2**30:.1f} GiB: an ONNX file over 2 GiB cannot be parsed "
                             "(protobuf's limit); keep the weights as external data (onnx.save_model(..., "
                             "save_as_external_data=True))")
    need = 2 * size if whole else 0  # a full parse holds the file's bytes and the parsed message
    available = _available_memory()
    if need > available:
        raise ModelLoadError(f"{p} is {size / 2**30:.1f} GiB: parsing it whole needs about "
                             f"{need / 2**30:.1f} GiB of memory, more than the {available / 2**30:.1f} GiB "
                             "available")


def _read_model_file(path: str | os.PathLike, strip: bool = True) -> tuple[onnx.ModelProto, _ReadAndHash]:
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"model file not found: {p}")
    if p.is_dir():
        raise ModelLoadError(f"model path is a folder, not an ONNX file: {p}")
    size = p.stat().st_size
    if size == 0:
        raise ModelLoadError(f"model file is empty: {p}")
    _check_size(p, size, whole=not strip)
    sha = _ReadAndHash(p)  # hashing overlaps parsing, shape inference and costing
    data = sha.wait_read()
    try:
        model = onnx.ModelProto()
        try:
            # parse the graph without the bytes of large initializers (profiling never needs them)
            strip = strip and size > STRIP_ABOVE_BYTES
            model.ParseFromString(strip_large_initializers(data, SMALL_CONSTANT_ELEMENTS) if strip else data)
        except Exception:  # noqa: BLE001 - malformed: let protobuf parse it all and say what is wrong
            if strip:
                _check_size(p, size, whole=True)
            model.ParseFromString(data)
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and friends
        raise ModelLoadError(f"{p} is not a valid ONNX file (corrupt or truncated protobuf: {exc})") from None
    finally:
        sha.release()
    if not model.HasField("graph") or (len(model.graph.node) == 0 and len(model.graph.output) == 0):
        raise ModelLoadError(f"{p} is not a valid ONNX file (no graph found)")
    check_external_data(model, p.parent)
    return model, sha


def read_model_file(path: str | os.PathLike) -> tuple[onnx.ModelProto, str]:
    """Parse a whole ONNX file (embedded weights kept, so the result still runs; external data files are
    not read); return it and the file's sha256."""
    model, sha = _read_model_file(path, strip=False)
    return model, sha.hexdigest()


def _iter_node_tensors(nodes):
    for node in nodes:
        attrs = node.attribute
        if not attrs:  # most nodes: one length check (a 10^6-node graph)
            continue
        for attr in attrs:
            if attr.type == onnx.AttributeProto.TENSOR:
                yield attr.t
            elif attr.type == onnx.AttributeProto.TENSORS:
                yield from attr.tensors
            elif attr.type == onnx.AttributeProto.SPARSE_TENSOR:
                yield attr.sparse_tensor.values
                yield attr.sparse_tensor.indices
            elif attr.type == onnx.AttributeProto.SPARSE_TENSORS:
                for sp in attr.sparse_tensors:
                    yield sp.values
                    yield sp.indices
            elif attr.type == onnx.AttributeProto.GRAPH:
                yield from _iter_graph_tensors(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _iter_graph_tensors(g)


def _iter_graph_tensors(graph: onnx.GraphProto):
    """Every tensor of ``graph`` that may carry external data: initializers, sparse initializers (values and
    indices), tensor, tensor-list and sparse-tensor attributes, in subgraphs too."""
    yield from graph.initializer
    for sp in graph.sparse_initializer:
        yield sp.values
        yield sp.indices
    yield from _iter_node_tensors(graph.node)


def _iter_model_tensors(model: onnx.ModelProto):
    """:func:`_iter_graph_tensors` of the main graph, plus every tensor in the model's local functions."""
    yield from _iter_graph_tensors(model.graph)
    for fn in model.functions:
        yield from _iter_node_tensors(fn.node)


def check_external_data(model: onnx.ModelProto, base_dir: Path) -> None:
    """Refuse external-data locations that escape the model's folder (``../``, absolute, links) or hold a
    NUL byte, wherever the tensor is: initializers, sparse initializers, (sparse) tensor and tensor-list
    attributes, subgraphs and function bodies."""
    root = base_dir.resolve()
    for tensor in _iter_model_tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        name = (tensor.name or "(unnamed)")[:80]
        location = next((e.value for e in tensor.external_data if e.key == "location"), None)
        if not location:
            raise ModelLoadError(f"tensor {name!r} has external data without a location")
        if "\x00" in location:
            raise ModelLoadError(f"tensor {name!r}: external data location {location[:80]!r} holds a NUL byte")
        try:
            target = (root / location).resolve()
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"tensor {name!r}: bad external data location {location[:80]!r}: {exc}") from None
        if os.path.isabs(location) or not target.is_relative_to(root):
            raise ModelLoadError(
                f"tensor {name!r}: external data location {location[:80]!r} escapes the model's folder {root}"
            )


# ---------------------------------------------------------------- graph checks

#: one node's fields as read once from its proto: (name, op_type, domain, inputs, outputs, attributes or None)
NodeFields = tuple[str, str, str, tuple[str, ...], tuple[str, ...], Any]


def read_node_fields(graph: onnx.GraphProto) -> list[NodeFields]:
    """Every node's :data:`NodeFields`, each proto field read once (a repeated field costs ~1 us to read: a
    10^6-node graph is read here once, not in every pass)."""
    return _node_fields(graph.node)


def _node_fields(nodes) -> list[NodeFields]:
    """:data:`NodeFields` of ``nodes``, in their order."""
    return [(n.name, n.op_type, n.domain, tuple(n.input), tuple(n.output), n.attribute or None) for n in nodes]


def _topological_nodes(
    graph: onnx.GraphProto, outer_names: set[str], fields: list[NodeFields] | None = None
) -> tuple[Sequence[onnx.NodeProto], list[NodeFields] | None]:
    """Return nodes in execution order; error on a cycle or an input nobody produces. Second: each node's
    :data:`NodeFields` (``fields`` when given, else read here) when the stored order is an execution order (so
    that the caller does not read them again), else None."""
    available = set(outer_names)
    available.update(i.name for i in graph.input)
    available.update(t.name for t in graph.initializer)
    available.add("")
    own = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    fields = read_node_fields(graph) if fields is None else fields
    if _in_order(fields, available):
        return graph.node, fields  # already in execution order (the usual case), every read produced before it
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
    in_order = True
    for idx, node in enumerate(graph.node):
        needed = node.input
        attrs = node.attribute
        if attrs and _has_graph_attr(attrs):
            needed = set(needed) | _attrs_outer_refs(attrs)
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
        return list(graph.node), None  # already in execution order
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
    return [graph.node[i] for i in order], None


def _in_order(fields: list[NodeFields], available: set[str]) -> bool:
    """True when every node reads only names available before it and no tensor is produced twice (the stored
    order is an execution order). One pass, no dependency lists; on False the full check (which names the
    problem, or sorts) runs."""
    produced: set[str] = set()
    add = produced.add
    for _, _, _, inputs, outputs, attrs in fields:
        needed: tuple[str, ...] | set[str] = inputs
        if attrs is not None and _has_graph_attr(attrs):
            needed = set(inputs) | _attrs_outer_refs(attrs)
        for name in needed:
            if name not in produced and name not in available:
                return False
        for out in outputs:
            if out:
                if out in produced or out in available:  # twice, or shadowing an outer name: the full check
                    return False
                add(out)
    return True


def _has_graph_attr(attrs) -> bool:
    return any(a.type == _A.GRAPH or a.type == _A.GRAPHS for a in attrs)


def _subgraph_outer_refs(node: onnx.NodeProto) -> set[str]:
    """Names a node's subgraphs read from the enclosing scope."""
    return _attrs_outer_refs(node.attribute)


def _attrs_outer_refs(attributes) -> set[str]:
    """Names the subgraphs among a node's ``attributes`` read from the enclosing scope."""
    refs: set[str] = set()
    for attr in attributes:
        if attr.type != onnx.AttributeProto.GRAPH and attr.type != onnx.AttributeProto.GRAPHS:
            continue
        graphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for g in graphs:
            local = {i.name for i in g.input} | {t.name for t in g.initializer}
            for n in g.node:
                local.update(n.output)
            for n in g.node:
                refs.update(x for x in n.input if x and x not in local)
                refs.update(r for r in _subgraph_outer_refs(n) if r not in local)
    return refs


# ---------------------------------------------------------------- shape binding

def parse_dims(dims: Sequence[int] | str, what: str) -> tuple[int, ...]:
    """``"1x3x224x224"`` (or a sequence) -> a tuple of positive dims whose product fits in int64."""
    if isinstance(dims, str):
        parts = dims.lower().replace(",", "x").split("x")
        try:
            dims = [int(p) for p in parts if p.strip()]
        except ValueError:
            raise ShapeError(f"{what}: dims must be integers like 1x3x224x224, got {dims!r}") from None
    out = tuple(int(d) for d in dims)
    for d in out:
        if d <= 0:
            raise ShapeError(f"{what}: every dim must be a positive integer, got {list(out)}")
    if math.prod(out) > INT64_MAX:
        raise ShapeError(f"{what}: the shape {list(out)} has more than 2^63-1 elements")
    return out


def _skeleton(model: onnx.ModelProto, in_place: bool = False) -> tuple[onnx.ModelProto, list[onnx.TensorProto]]:
    """A copy of ``model`` without the bytes of its large initializers, for binding and inference.

    Initializers with more than ``SMALL_CONSTANT_ELEMENTS`` elements (or external data) become
    graph inputs of the same type and shape, so shape inference sees them without their bytes (and
    serialising the model for inference is cheap, even past protobuf's 2 GB limit). Small constants
    (shapes, axes, trip counts) keep their values. Returns the skeleton and data-less stubs of the
    moved initializers. The caller's model is not modified, unless ``in_place`` (a model the caller parsed
    for this purpose only): it is then the skeleton itself, and nothing is copied.
    """
    def large(t: onnx.TensorProto) -> bool:
        return math.prod(t.dims) > SMALL_CONSTANT_ELEMENTS or t.data_location == onnx.TensorProto.EXTERNAL

    def stub(t: onnx.TensorProto) -> onnx.TensorProto:
        return onnx.TensorProto(name=t.name, dims=list(t.dims), data_type=t.data_type)

    src = model.graph
    if in_place or model.ByteSize() <= STRIP_ABOVE_BYTES:  # no weights to speak of: one deep copy in C
        if in_place:
            skeleton = model
        else:
            skeleton = onnx.ModelProto()
            skeleton.CopyFrom(model)
        graph = skeleton.graph
        moved = [t for t in graph.initializer if large(t)]
        if moved:
            kept = onnx.GraphProto()
            kept.initializer.extend(t for t in graph.initializer if not large(t))
            stubs = [stub(t) for t in moved]
            del moved
            del graph.initializer[:]
            graph.initializer.extend(kept.initializer)
        else:
            stubs = []
    else:  # large weights inside: copy the graph piece by piece, leaving their bytes out
        skeleton = onnx.ModelProto(ir_version=model.ir_version, producer_name=model.producer_name,
                                   producer_version=model.producer_version, domain=model.domain,
                                   model_version=model.model_version)
        skeleton.opset_import.extend(model.opset_import)
        skeleton.functions.extend(model.functions)
        graph = skeleton.graph
        graph.name = src.name
        graph.node.extend(src.node)
        graph.input.extend(src.input)
        graph.output.extend(src.output)
        graph.value_info.extend(src.value_info)
        graph.sparse_initializer.extend(src.sparse_initializer)
        stubs = []
        for t in src.initializer:
            if not large(t):
                graph.initializer.append(t)
            else:
                stubs.append(stub(t))
    listed = {i.name for i in graph.input}
    for t in stubs:
        if t.name not in listed:
            graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    return skeleton, stubs


def _name_nodes(graph: onnx.GraphProto, fields: list[NodeFields] | None = None) -> list[NodeFields] | None:
    """Give every unnamed node the name ``<op_type>_<index>`` (kept unique). With ``fields``
    (:func:`read_node_fields` of ``graph``), the names are read from them and returned in them too."""
    if fields is None:
        used = {n.name for n in graph.node if n.name}
        for idx, node in enumerate(graph.node):
            if not node.name:
                name = f"{node.op_type}_{idx}"
                while name in used:
                    name += "_"
                node.name = name
                used.add(name)
        return None
    unnamed = [idx for idx, f in enumerate(fields) if not f[0]]
    if unnamed:
        used = {f[0] for f in fields if f[0]}
        nodes = graph.node
        for idx in unnamed:
            f = fields[idx]
            name = f"{f[1]}_{idx}"
            while name in used:
                name += "_"
            nodes[idx].name = name
            used.add(name)
            fields[idx] = (name, *f[1:])
    return fields


def bind_shapes(
    model: onnx.ModelProto,
    inputs: Mapping[str, Sequence[int] | str] | None = None,
    batch: int | None = None,
    dims: Mapping[str, int] | None = None,
) -> tuple[onnx.ModelProto, dict[str, tuple[int, ...]], int]:
    """Bind graph-input shapes and run strict ONNX shape inference; the result still runs.

    Returns a copy of ``model`` (weights included) with the bound input shapes and the inferred
    value_info, the bound input shapes and the batch; see :func:`_bind_and_infer` for the rules.
    """
    inferred, bound, bound_batch, _, _, _ = _bind_and_infer(model, inputs, batch, dims)
    full = onnx.ModelProto()
    full.CopyFrom(model)
    graph = full.graph
    for inp in graph.input:
        if inp.name in bound:
            inp.type.tensor_type.shape.ClearField("dim")
            for v in bound[inp.name]:
                inp.type.tensor_type.shape.dim.add().dim_value = v
    del graph.value_info[:]
    graph.value_info.extend(inferred.graph.value_info)
    del graph.output[:]
    graph.output.extend(inferred.graph.output)
    return full, bound, bound_batch


def _bind_and_infer(
    model: onnx.ModelProto,
    inputs: Mapping[str, Sequence[int] | str] | None = None,
    batch: int | None = None,
    dims: Mapping[str, int] | None = None,
    owned: bool = False,
) -> tuple[onnx.ModelProto, dict[str, tuple[int, ...]], int, list[str], dict | None, list[NodeFields]]:
    """Bind graph-input shapes and run strict ONNX shape inference on the weightless skeleton.

    ``inputs[name]`` gives an input's whole shape; ``batch`` then sets the leading dim of every
    input whose leading dim is symbolic or 1 (explicit ``inputs`` shapes included), and the name of
    a symbolic leading dim everywhere it appears; ``dims`` binds named symbolic dims. A symbolic
    dim left unbound is an error naming each one. ``batch`` that no input takes (every leading dim
    is static and not 1) is not applied, and a note says so. Returns the inferred skeleton (large
    initializers as data-less stubs), the bound input shapes, the batch (``batch`` when an input
    took it, else the leading dim of the first input), the notes, and the main graph's value types as
    :func:`build_graph` reads them (or None), so that a large graph's value infos are read once, and every
    node's :data:`NodeFields` (the returned graph's nodes are the skeleton's, in the same order). ``owned``:
    ``model`` was parsed for this call only and becomes the skeleton (no copy).
    """
    if not isinstance(inputs or {}, Mapping):
        raise ShapeError(f"inputs must map input names to shapes like {{'images': '1x3x224x224'}}, got {inputs!r}")
    if not isinstance(dims or {}, Mapping):
        raise ShapeError(f"dims must map symbolic dim names to sizes like {{'seq': 128}}, got {dims!r}")
    inputs = dict(inputs or {})
    dims = dict(dims or {})
    if batch is not None and not is_positive_int(batch):
        raise ShapeError(f"--batch must be a positive integer, got {batch!r}")
    model, stubs = _skeleton(model, in_place=owned)
    graph = model.graph
    # name unnamed nodes so that inference errors and layers say which node (same names as the IR)
    fields = _name_nodes(graph, read_node_fields(graph))
    init_names = {t.name for t in graph.initializer} | {t.name for t in stubs}
    graph_inputs = [i for i in graph.input if i.name not in init_names]
    known = {i.name for i in graph_inputs}
    if "" in inputs:  # --input DIMS without a name: the model's only input
        if len(graph_inputs) != 1:
            raise ShapeError(f"--input without a name needs a model with one input; this one has {sorted(known)}: "
                             f"give NAME=DIMS")
        inputs[graph_inputs[0].name] = inputs.pop("")
    for name in inputs:
        if name not in known:
            raise ShapeError(f"--input {name}: the model has no such input; its inputs are {sorted(known)}")

    # the symbolic name of a leading dim bound by --batch binds that name everywhere else too
    if batch is not None:
        for inp in graph_inputs:
            d0 = inp.type.tensor_type.shape.dim
            if d0 and d0[0].dim_param:
                dims.setdefault(d0[0].dim_param, int(batch))
    bound: dict[str, tuple[int, ...]] = {}
    unbound: list[tuple[str, int, str]] = []
    changed = False
    for inp in graph_inputs:
        ttype = inp.type.tensor_type
        if not ttype.HasField("shape"):
            if inp.name not in inputs:
                raise ShapeError(f"input {inp.name!r} has no shape in the model; give it with --input {inp.name}=DIMS")
            ttype.shape.SetInParent()
        cur = list(ttype.shape.dim)
        if inp.name in inputs:
            new = parse_dims(inputs[inp.name], f"--input {inp.name}")
            if cur and len(new) != len(cur):
                raise ShapeError(f"--input {inp.name}: the model's input has rank {len(cur)}, got {len(new)} dims")
            if batch is not None and len(new) > 0:
                if new[0] not in (1, int(batch)):
                    raise ShapeError(f"--batch {batch} contradicts --input {inp.name}={'x'.join(map(str, new))} "
                                     f"(batch {new[0]}); give the batch once")
                new = (int(batch),) + new[1:]
        else:
            new_list: list[int] = []
            for pos, d in enumerate(cur):
                if d.HasField("dim_value") and d.dim_value > 0:
                    value = d.dim_value
                    if pos == 0 and batch is not None and value == 1:
                        value = int(batch)
                    new_list.append(value)
                elif pos == 0 and batch is not None:
                    new_list.append(int(batch))
                elif d.HasField("dim_value"):
                    raise ShapeError(
                        f"input {inp.name}[{pos}] is {d.dim_value} in the model: dims must be positive; "
                        f"bind the shape with --input {inp.name}=DIMS"
                    )
                elif d.dim_param and d.dim_param in dims:
                    new_list.append(int(dims[d.dim_param]))
                else:
                    unbound.append((inp.name, pos, d.dim_param))
                    new_list.append(1)
            new = parse_dims(new_list, f"input {inp.name}")
        old = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in cur)
        if old != new:
            changed = True
            ttype.shape.ClearField("dim")
            for v in new:
                ttype.shape.dim.add().dim_value = v
        bound[inp.name] = new
    notes: list[str] = []
    if batch is not None and bound and not any(v and v[0] == int(batch) for v in bound.values()):
        listing = ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in bound.items())
        notes.append(f"batch {batch} not applied: no input has a symbolic or size-1 leading dim ({listing}); "
                     "give the shapes with --input NAME=DIMS")
        batch = None
    if unbound:
        raise ShapeError(_unbound_message(unbound))
    if changed:
        # stale shapes recorded at export time would contradict the new binding
        del graph.value_info[:]
        for out in graph.output:
            if out.type.tensor_type.HasField("shape"):
                out.type.tensor_type.ClearField("shape")
    try:
        inferred = shape_inference.infer_shapes(model, check_type=False, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises InferenceError / ValidationError
        pin = _find_batch_pin(model, int(batch)) if batch is not None and changed else None
        raise ShapeError((f"{pin}. " if pin else "") + summarise_inference_error(str(exc), bound)) from None
    if any(f[1] == "Loop" for f in fields):
        inferred = _loop_output_hints(model, inferred)
    types: dict = {}
    inferred = _fold_and_reinfer(model, inferred, out_types=types, fields=fields)
    # the large initializers come back as data-less stubs (dims and type only)
    stub_names = {t.name for t in stubs}
    kept = [i for i in inferred.graph.input if i.name not in stub_names]
    del inferred.graph.input[:]
    inferred.graph.input.extend(kept)
    inferred.graph.initializer.extend(stubs)
    first = next(iter(bound.values()), ())
    return (inferred, bound, (int(batch) if batch is not None else (first[0] if first else 1)), notes, types or None,
            fields)


# ---------------------------------------------------------------- IR construction

def _value_shape(vi: onnx.ValueInfoProto) -> tuple[tuple[int, ...] | None, str]:
    """(static shape or None, dtype name) of a value info."""
    tt = vi.type.tensor_type
    dtype = _dtype_name(tt.elem_type)
    if not tt.HasField("shape"):
        return None, dtype
    dims = tt.shape.dim
    shape = tuple([d.dim_value for d in dims])
    if shape and min(shape) <= 0:  # 0: symbolic or unknown (dim_value unset) -- check exactly
        if not all(d.HasField("dim_value") and d.dim_value >= 0 for d in dims):
            return None, dtype
    return shape, dtype


_A = onnx.AttributeProto


def _attr_value(attr: onnx.AttributeProto):
    kind = attr.type
    if kind == _A.INTS:  # the common cases first, without onnx.helper's generic path
        return list(attr.ints)
    if kind == _A.INT:
        return attr.i
    if kind == _A.FLOAT:
        return attr.f
    if kind == _A.STRING:
        return attr.s.decode("utf-8", "replace")
    if kind == _A.TENSOR:
        return attr.t
    if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
        return None
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode("utf-8", "replace") for v in value]
    return value


def _constant_node_tensor(node: onnx.NodeProto) -> tuple[tuple[int, ...], str, np.ndarray | None]:
    return _constant_tensor(node.attribute)


def _constant_tensor(attributes) -> tuple[tuple[int, ...], str, np.ndarray | None]:
    """(shape, dtype, small value or None) of a ``Constant`` node with these attributes."""
    for attr in attributes:
        if attr.name == "value":
            t = attr.t
            arr = None
            if math.prod(t.dims) <= SMALL_CONSTANT_ELEMENTS and t.data_location != onnx.TensorProto.EXTERNAL:
                arr = numpy_helper.to_array(t)
            return tuple(int(d) for d in t.dims), _dtype_name(t.data_type), arr
        v = helper.get_attribute_value(attr)
        arr = np.asarray(v)
        if attr.name in ("value_float", "value_floats"):
            arr = arr.astype(np.float32)
        elif attr.name in ("value_int", "value_ints"):
            arr = arr.astype(np.int64)
        return tuple(arr.shape), str(arr.dtype), arr
    return (), "float32", None


def build_graph(graph: onnx.GraphProto, outer: Mapping[str, Tensor] | None = None,
                outer_values: Mapping[str, np.ndarray] | None = None,
                types: Mapping[str, tuple[tuple[int, ...] | None, str]] | None = None,
                fields: list[NodeFields] | None = None) -> Graph:
    """Build the typed IR of one (sub)graph from an inferred GraphProto.

    A subgraph sees the enclosing scope: its ``tensors`` and ``constant_values`` include the outer
    ones (so a nested Loop can read a trip count defined outside it). ``types``: :func:`_value_types` of
    ``graph`` when the caller has it already (it is then not read again); ``fields``: :func:`read_node_fields`
    of ``graph``'s nodes, or of the skeleton it was inferred from (the same nodes in the same order; a node with
    subgraphs is then read from ``graph``, whose bodies carry their inferred value infos).
    """
    outer = dict(outer or {})
    tensors: dict[str, Tensor] = dict(outer)
    constant_values: dict[str, np.ndarray] = dict(outer_values or {})
    for t in graph.initializer:
        tensors[t.name] = Tensor(t.name, tuple(int(d) for d in t.dims), _dtype_name(t.data_type), True)
        if math.prod(t.dims) <= SMALL_CONSTANT_ELEMENTS and t.data_location != onnx.TensorProto.EXTERNAL:
            arr = _array_or_none(t)
            if arr is not None:
                constant_values[t.name] = arr
    if types is None:
        types = _value_types(graph)
    for name, (shape, dtype) in types.items():
        prev = tensors.get(name)
        if prev is not None and (prev.constant or (prev.shape is not None and shape is None)):
            continue
        tensors[name] = Tensor(name, shape, dtype, False)
    read_ahead = fields is not None  # the caller's fields (read from the skeleton, before inference)
    ordered, fields = _topological_nodes(graph, set(outer), fields)
    read_ahead = read_ahead and fields is not None
    if fields is None:  # the nodes were sorted: read each one's fields in the new order
        fields = _node_fields(ordered)
    nodes: list[Node] = []
    used_names: set[str] = set()
    graph_type = onnx.AttributeProto.GRAPH
    for idx, (name, op_type, domain, inputs, outputs, attrs) in enumerate(fields):  # the per-node work
        name = name or f"{op_type}_{idx}"
        if name in used_names:
            name = f"{name}_{idx}"
        used_names.add(name)
        if op_type == "Constant" and domain in ("", "ai.onnx"):
            shape, dtype, arr = _constant_tensor(attrs or ())
            tensors[outputs[0]] = Tensor(outputs[0], shape, dtype, True)
            if arr is not None:
                constant_values[outputs[0]] = arr
        for out in outputs:
            if out and out not in tensors:
                tensors[out] = Tensor(out, None, "undefined", False)
        subgraphs: dict[str, Graph] = {}
        attributes: dict = {}
        if attrs is not None:
            if read_ahead and _has_graph_attr(attrs):
                # fields read before inference hold the bodies as stored; ``graph``'s node (the same one, at the
                # same index) holds them with their inferred value infos
                attrs = graph.node[idx].attribute
            for attr in attrs:
                if attr.type == graph_type:
                    subgraphs[attr.name] = build_graph(attr.g, tensors, constant_values)
            attributes = {a.name: _attr_value(a) for a in attrs}
        nodes.append(Node(name, op_type, domain or "", inputs, outputs, attributes, subgraphs))
    if outer:
        own = {k: v for k, v in tensors.items() if k not in outer or v is not outer.get(k)}
        tensors = {**outer, **own}
    init_names = {t.name for t in graph.initializer}
    return Graph(
        name=graph.name or "graph",
        nodes=nodes,
        tensors=tensors,
        inputs=[i.name for i in graph.input if i.name not in init_names],
        outputs=[o.name for o in graph.output],
        constant_values=constant_values,
    )


def _reshape_pin(node_name: str, src: Sequence[int] | None, dst: Sequence[int] | None, shape_value,
                 batch: int | None) -> str | None:
    """Why this Reshape cannot run at the bound shapes, or None."""
    if src is None or dst is None:
        return None
    if math.prod(src) != math.prod(dst):
        return (f"node {node_name!r} (Reshape) produces {list(dst)} from {list(src)}: a constant shape in the graph "
                "pins a dim (often the batch); the model cannot run at these input shapes")
    literal_one = shape_value is not None and shape_value.size > 0 and int(shape_value.reshape(-1)[0]) == 1
    if batch and batch > 1 and literal_one and src and dst and src[0] == batch and dst[0] == 1:
        return (f"node {node_name!r} (Reshape) folds the batch of {batch} into {list(dst)} (its constant shape "
                f"starts with 1): the graph pins the batch to 1; export the model with a dynamic batch")
    return None


def _check_shapes(graph: Graph, batch: int | None = None) -> None:
    for t in graph.tensors.values():
        if t.shape is None:
            continue
        if t.shape and min(t.shape) < 0:
            raise ShapeError(f"tensor {t.name!r} has a negative dim {list(t.shape)}")
        if math.prod(t.shape) > INT64_MAX:
            raise ShapeError(f"tensor {t.name!r} with shape {list(t.shape)} has more than 2^63-1 elements")
    for node in graph.nodes:
        if node.op_type != "Reshape" or len(node.inputs) < 2:
            continue
        src, dst = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        why = _reshape_pin(node.name, src.shape if src else None, dst.shape if dst else None,
                           graph.constant_values.get(node.inputs[1]), batch)
        if why:
            raise ShapeError(why)


def _inferred_shapes(graph: onnx.GraphProto) -> dict[str, tuple[int, ...] | None]:
    return {vi.name: _value_shape(vi)[0] for vi in [*graph.input, *graph.value_info, *graph.output]}


def _value_types(graph: onnx.GraphProto) -> dict[str, tuple[tuple[int, ...] | None, str]]:
    """``{name: (shape, dtype)}`` of the inputs, value infos and outputs, by :func:`build_graph`'s rule (a later
    entry wins unless its shape is unknown and an earlier one's is known). A type is decoded once per distinct
    serialized TypeProto (one C call a value instead of ~10 field reads: most tensors of a graph share a few
    types)."""
    out: dict[str, tuple[tuple[int, ...] | None, str]] = {}
    decoded: dict[bytes, tuple[tuple[int, ...] | None, str]] = {}
    get = out.get
    for part in (graph.input, graph.value_info, graph.output):
        for vi in part:
            key = vi.type.SerializeToString()
            got = decoded.get(key)
            if got is None:
                got = decoded[key] = _value_shape(vi)
            name = vi.name
            prev = get(name)
            if prev is not None and prev[0] is not None and got[0] is None:
                continue
            out[name] = got
    return out


def _missing_shapes(fields: list[NodeFields], shapes: Mapping[str, tuple[int, ...] | None]) -> bool:
    """Whether some node output has no known shape in ``shapes``."""
    get = shapes.get
    return any(o and get(o) is None for f in fields for o in f[4])


def _missing_types(fields: list[NodeFields], types: Mapping[str, tuple[tuple[int, ...] | None, str]]) -> bool:
    """:func:`_missing_shapes` over :func:`_value_types`' answer."""
    get = types.get
    for f in fields:
        for o in f[4]:
            if o:
                got = get(o)
                if got is None or got[0] is None:
                    return True
    return False


def _small_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Values of the small initializers and Constant nodes (shapes, axes, indices)."""
    values: dict[str, np.ndarray] = {}
    for t in graph.initializer:
        if math.prod(t.dims) <= SMALL_CONSTANT_ELEMENTS and t.data_location != onnx.TensorProto.EXTERNAL:
            arr = _array_or_none(t)
            if arr is not None:
                values[t.name] = arr
    for n in graph.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            try:
                _, _, arr = _constant_node_tensor(n)
            except Exception:  # noqa: BLE001 - a Constant without readable data
                arr = None
            if arr is not None:
                values[n.output[0]] = arr
    return values


def _array_or_none(t: onnx.TensorProto) -> np.ndarray | None:
    """The value of a small tensor, or None when its data is absent (dims-only tensors)."""
    try:
        arr = numpy_helper.to_array(t)
    except Exception:  # noqa: BLE001 - no data, or data that does not match the dims
        return None
    return arr if arr.size == math.prod(t.dims) else None


def _loop_output_hints(skeleton: onnx.ModelProto, inferred: onnx.ModelProto) -> onnx.ModelProto:
    """Give Loop outputs the shapes ONNX inference leaves out, then infer again.

    ONNX does not give a loop-carried output a shape (it could change between iterations). When the
    body returns the state with the shape it received, the output keeps that shape; a scan output
    of a loop with a constant trip count M is [M, *body output]. The hints are added to the
    skeleton's value_info (the skeleton is this module's private copy).
    """
    loops = [n for n in inferred.graph.node if n.op_type == "Loop" and n.domain in ("", "ai.onnx")]
    if not loops:
        return inferred
    shapes = _inferred_shapes(inferred.graph)
    for t in inferred.graph.initializer:
        shapes.setdefault(t.name, tuple(t.dims))
    values = _small_values(inferred.graph)
    hints = []
    for node in loops:
        body = next((a.g for a in node.attribute if a.name == "body"), None)
        if body is None:
            continue
        body_shapes = _inferred_shapes(body)
        carried = len(node.input) - 2
        trip = values.get(node.input[0]) if node.input and node.input[0] else None
        for k, out in enumerate(node.output):
            if not out or shapes.get(out) is not None or k + 1 >= len(body.output):
                continue
            body_out = body.output[k + 1]
            out_shape = body_shapes.get(body_out.name)
            elem = body_out.type.tensor_type.elem_type
            if out_shape is None or not elem:
                continue
            if k < carried:
                if shapes.get(node.input[2 + k]) != out_shape:
                    continue
                shape = list(out_shape)
            elif trip is not None and trip.size == 1:
                shape = [int(trip.reshape(-1)[0]), *out_shape]
            else:
                continue
            hints.append(helper.make_tensor_value_info(out, elem, shape))
    if not hints:
        return inferred
    skeleton.graph.value_info.extend(hints)
    try:
        return shape_inference.infer_shapes(skeleton, check_type=False, strict_mode=True, data_prop=True)
    except Exception:  # noqa: BLE001 - keep what the plain inference gave
        del skeleton.graph.value_info[len(skeleton.graph.value_info) - len(hints):]
        return inferred


def _fold_and_reinfer(skeleton: onnx.ModelProto, inferred: onnx.ModelProto, rounds: int = 4,
                      out_types: dict | None = None, fields: list[NodeFields] | None = None) -> onnx.ModelProto:
    """Where inference left tensors without shapes, fold the shape arithmetic and infer again.

    The returned model keeps the skeleton's nodes (every node stays a layer); only the shapes
    come from inference on a copy whose folded tensors are constants. When nothing was missing,
    ``out_types`` (if given) receives :func:`_value_types` of the returned graph. ``fields``: the skeleton's
    :func:`read_node_fields`, when the caller has them.
    """
    types = _value_types(inferred.graph)
    if fields is None:
        fields = read_node_fields(skeleton.graph)
    if not _missing_types(fields, types):
        if out_types is not None:
            out_types.update(types)
        return inferred
    shapes = {k: v[0] for k, v in types.items()}
    known = _small_values(skeleton.graph)
    folded: dict[str, np.ndarray] = {}
    best = inferred
    for _ in range(rounds):
        new = fold_shape_values(skeleton.graph.node, {**known, **folded}, shapes)
        if not new:
            break
        folded.update(new)
        trial = onnx.ModelProto()
        trial.CopyFrom(skeleton)
        drop = [all(o in folded for o in n.output if o) for n in trial.graph.node]
        kept = [n for n, d in zip(trial.graph.node, drop) if not d]
        removed_outputs = {o for n, d in zip(trial.graph.node, drop) if d for o in n.output if o}
        del trial.graph.node[:]
        trial.graph.node.extend(kept)
        trial.graph.initializer.extend(numpy_helper.from_array(folded[o], o) for o in removed_outputs)
        try:
            result = shape_inference.infer_shapes(trial, check_type=False, strict_mode=True, data_prop=True)
        except Exception:  # noqa: BLE001 - keep what the plain inference gave
            break
        shapes = _inferred_shapes(result.graph)
        for o in removed_outputs:
            arr = folded[o]
            shapes[o] = tuple(arr.shape)
            result.graph.value_info.append(helper.make_tensor_value_info(
                o, helper.np_dtype_to_tensor_dtype(arr.dtype), list(arr.shape)))
        folded_names = {t.name for t in trial.graph.initializer} & removed_outputs
        inits = [t for t in result.graph.initializer if t.name not in folded_names]
        del result.graph.initializer[:]
        result.graph.initializer.extend(inits)
        del result.graph.node[:]
        result.graph.node.extend(skeleton.graph.node)
        best = result
        if not _missing_shapes(fields, shapes):
            break
    return best


def _unbound_message(unbound: list[tuple[str, int, str]]) -> str:
    """``unbound dynamic dims: x[0] (N), x[2] (height); bind them with --batch N, --dim height=...`` -- the option
    that binds each: ``--batch`` for a leading dim, ``--dim NAME=...`` for a named one, ``--input`` otherwise."""
    listing = ", ".join(f"{name}[{pos}] ({label or '?'})" for name, pos, label in unbound)
    ways = []
    if any(pos == 0 for _, pos, _ in unbound):
        ways.append("--batch N")
    named = list(dict.fromkeys(label for _, pos, label in unbound if pos > 0 and label))
    if named:
        ways.append(" ".join(f"--dim {label}=..." for label in named))
    inputs = list(dict.fromkeys(name for name, _, _ in unbound))
    ways.append(("or the whole shape with " if ways else "") + " ".join(f"--input {n}=DIMS" for n in inputs))
    return f"unbound dynamic dims: {listing}; bind them with {', '.join(ways)}"


_INFERENCE_ENTRY = re.compile(r"\(op_type:\s*(?P<op>[^,]+),\s*node name:\s*(?P<node>[^)]*)\):\s*(?P<msg>.*?)"
                              r"(?=\(op_type:|\Z)", re.S)
_MERGE_DIMS = re.compile(r"Inferred=(?P<a>-?\d+)\s+Declared=(?P<b>-?\d+)\s+Dimension=(?P<dim>\d+)")
#: the total stride of YOLO-style detectors (and of most 5-stage backbones): a route (Concat) or a residual Add
#: joining an upsampled branch to an earlier one needs the input's height and width to be multiples of it
NETWORK_STRIDE = 32


def summarise_inference_error(text: str, bound: Mapping[str, tuple[int, ...]] | None = None) -> str:
    """ONNX's shape-inference error (one entry per failing node, often thousands of characters) -> one line:
    the first failing node, its op, the mismatch, how many more nodes failed, and -- when a Concat (a YOLO
    route) or an Add disagrees on a spatial dim of a 4-D tensor -- the hint that the input's height or width
    must be a multiple of the network's stride, with the nearest larger one."""
    entries = list(_INFERENCE_ENTRY.finditer(text))
    if not entries:
        flat = " ".join(text.split())
        return "shape inference failed: " + (flat if len(flat) <= 300 else flat[:297] + "...")
    first = entries[0]
    op, node = first["op"].strip(), first["node"].strip()
    msg = " ".join(re.sub(r"\[\w+Error\]", "", first["msg"]).split()).rstrip(" .")
    out = f"shape inference failed at node {node!r} ({op}): "
    merge = _MERGE_DIMS.search(msg)
    if merge:
        dim = int(merge["dim"])
        side = {2: "height", 3: "width"}.get(dim) if _rank4(bound) else None
        out += (f"its inputs disagree on dim {dim}" + (f" ({side})" if side else "")
                + f": {merge['a']} vs {merge['b']}")
        if side and op in ("Concat", "Add", "Sum"):
            value = _rank4(bound)[dim]
            multiple = -(-value // NETWORK_STRIDE) * NETWORK_STRIDE
            if multiple == value:
                multiple += NETWORK_STRIDE
            out += (f"; the input {side} ({value}) must be a multiple of {NETWORK_STRIDE} (the network's stride), "
                    f"e.g. {multiple}")
    else:
        out += msg if len(msg) <= 200 else msg[:197] + "..."
    if len(entries) > 1:
        out += f" (and {len(entries) - 1} more node(s) fail from there)"
    return out


def _rank4(bound: Mapping[str, tuple[int, ...]] | None) -> tuple[int, ...] | None:
    """The first bound 4-D (NCHW) input shape, if any."""
    return next((v for v in (bound or {}).values() if len(v) == 4), None)


def _find_batch_pin(model: onnx.ModelProto, batch: int) -> str | None:
    """After strict inference failed at a re-bound batch: a Reshape that pins the batch, if any."""
    try:
        partial = shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception:  # noqa: BLE001 - best effort only
        return None
    graph = partial.graph
    shapes = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        shapes[vi.name] = _value_shape(vi)[0]
    values = _small_values(graph)
    for n in graph.node:
        if n.op_type == "Reshape" and len(n.input) > 1:
            why = _reshape_pin(n.name, shapes.get(n.input[0]), shapes.get(n.output[0]), values.get(n.input[1]), batch)
            if why:
                return why
    return None


def load_model(
    source: str | os.PathLike | onnx.ModelProto,
    inputs: Mapping[str, Sequence[int] | str] | None = None,
    batch: int | None = None,
    dims: Mapping[str, int] | None = None,
    name: str | None = None,
) -> Model:
    """Read (if a path), bind shapes, infer, and build the :class:`Model` IR."""
    if isinstance(source, onnx.ModelProto):
        proto = source
        sha = hashlib.sha256(proto.SerializeToString()).hexdigest()
        src_name = name or proto.graph.name or "model"
    else:
        proto, hasher = _read_model_file(source)
        src_name = name or str(source)
    inferred, bound, bound_batch, notes, types, fields = _bind_and_infer(
        proto, inputs, batch, dims, owned=not isinstance(source, onnx.ModelProto))
    del proto  # with owned, the skeleton itself; freed with ``inferred``'s nodes read
    graph = build_graph(inferred.graph, types=types, fields=fields)
    _check_shapes(graph, bound_batch if batch is not None and not notes else None)
    if not isinstance(source, onnx.ModelProto):
        sha = hasher.hexdigest()
    opset = next((o.version for o in inferred.opset_import if o.domain in ("", "ai.onnx")), 0)
    return Model(source=src_name, sha256=sha, opset=int(opset), graph=graph, input_shapes=bound, batch=bound_batch,
                 notes=notes)
