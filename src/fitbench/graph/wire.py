"""Drop the payload of large initializers from a serialized ModelProto before parsing it.

Profiling never needs weight bytes, and parsing a model copies every one of them. This walks the
protobuf wire format of ``ModelProto.graph.initializer`` (field numbers from ``onnx.proto``) and
removes the data fields of tensors with more than ``max_elements`` elements, keeping their name,
dims, type and external-data entries. Everything else is copied byte for byte. A malformed
buffer raises ``ValueError``; the caller then parses the original bytes (and reports the error).
"""

from __future__ import annotations

import math

_MODEL_GRAPH = 7  # ModelProto.graph
_GRAPH_INITIALIZER = 5  # GraphProto.initializer
_TENSOR_DIMS = 1  # TensorProto.dims (repeated int64)
# TensorProto float_data, int32_data, string_data, int64_data, raw_data, double_data, uint64_data
_TENSOR_DATA = frozenset({4, 5, 6, 7, 9, 10, 11})


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf: memoryview, start: int, end: int):
    """Yield (field number, wire type, field start, key end, value start, field end)."""
    pos = start
    while pos < end:
        fstart = pos
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        kend = vstart = pos
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, vstart = _varint(buf, pos)
            pos = vstart + length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > end:
            raise ValueError("field runs past its message")
        yield number, wire, fstart, kend, vstart, pos


def _tensor_elements(buf: memoryview, start: int, end: int) -> int:
    dims: list[int] = []
    for number, wire, _, _, vstart, fend in _fields(buf, start, end):
        if number != _TENSOR_DIMS:
            continue
        if wire == 0:
            dims.append(_varint(buf, vstart)[0])
        elif wire == 2:  # packed
            pos = vstart
            while pos < fend:
                d, pos = _varint(buf, pos)
                dims.append(d)
    return math.prod(dims)


def _strip_tensor(buf: memoryview, start: int, end: int) -> bytes:
    return b"".join(buf[f:e] for number, _, f, _, _, e in _fields(buf, start, end) if number not in _TENSOR_DATA)


def _strip_graph(buf: memoryview, start: int, end: int, max_elements: int) -> bytes:
    parts: list = []
    for number, wire, fstart, kend, vstart, fend in _fields(buf, start, end):
        if number == _GRAPH_INITIALIZER and wire == 2 and _tensor_elements(buf, vstart, fend) > max_elements:
            body = _strip_tensor(buf, vstart, fend)
            parts.append(buf[fstart:kend])
            parts.append(_encode_varint(len(body)))
            parts.append(body)
        else:
            parts.append(buf[fstart:fend])
    return b"".join(parts)


def strip_large_initializers(data: bytes | bytearray | memoryview, max_elements: int = 1024) -> bytes:
    """``data`` (a serialized ModelProto) without the payload of initializers above ``max_elements``."""
    buf = memoryview(data)
    parts: list = []
    for number, wire, fstart, kend, vstart, fend in _fields(buf, 0, len(buf)):
        if number == _MODEL_GRAPH and wire == 2:
            graph = _strip_graph(buf, vstart, fend, max_elements)
            parts.append(buf[fstart:kend])
            parts.append(_encode_varint(len(graph)))
            parts.append(graph)
        else:
            parts.append(buf[fstart:fend])
    return b"".join(parts)
