"""Inputs for a measurement: seeded synthetic tensors shaped from the bound input spec, or the
user's ``.npy`` files (one per input). The batch is always read from the tensor actually fed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import MeasurementError, ShapeError

_DTYPES = {
    "float32": np.float32,
    "float16": np.float16,
    "float64": np.float64,
    "int64": np.int64,
    "int32": np.int32,
    "int8": np.int8,
    "uint8": np.uint8,
    "bool": np.bool_,
    "int16": np.int16,
}


def numpy_dtype(name: str) -> np.dtype:
    """Map an ONNX/IR dtype name to numpy; unsupported ones raise a one-line error."""
    if name not in _DTYPES:
        raise MeasurementError(
            f"input dtype {name!r} is not supported for synthetic inputs; pass a .npy file"
        )
    return np.dtype(_DTYPES[name])


def synthetic(shapes: Mapping[str, tuple[int, ...]], dtypes: Mapping[str, str], seed: int = 0) -> dict:
    """Seeded random inputs: floats ~ N(0,1), integers in {0, 1} (valid token ids), bools random."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        dt = numpy_dtype(dtypes.get(name, "float32"))
        if dt.kind == "f":
            out[name] = rng.standard_normal(shape, dtype=np.float32).astype(dt, copy=False)
        elif dt.kind == "b":
            out[name] = rng.integers(0, 2, size=shape).astype(bool)
        else:
            out[name] = rng.integers(0, 2, size=shape).astype(dt)
    return out


def npy_shapes(files: Mapping[str, str | os.PathLike]) -> dict[str, tuple[int, ...]]:
    """Read the shape of each ``.npy`` file without loading its data; one-line errors."""
    shapes = {}
    for name, path in files.items():
        p = Path(path)
        if not p.is_file():
            raise MeasurementError(f"input file for {name!r} not found: {p}")
        try:
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - numpy raises ValueError / OSError variants
            raise MeasurementError(
                f"input file for {name!r} is not a valid .npy array: {p} ({exc})"
            ) from None
        if not isinstance(arr, np.ndarray) or arr.ndim == 0:
            raise MeasurementError(f"input file for {name!r} must hold an array with a batch dim: {p}")
        shapes[name] = tuple(int(d) for d in arr.shape)
    return shapes


def load_npy(files: Mapping[str, str | os.PathLike]) -> dict[str, np.ndarray]:
    """Load the user's ``.npy`` inputs (contiguous, no pickles)."""
    npy_shapes(files)
    return {name: np.ascontiguousarray(np.load(Path(p), allow_pickle=False)) for name, p in files.items()}


def check_declared(
    declared: Mapping[str, list[int | str | None]], shapes: Mapping[str, tuple[int, ...]]
) -> None:
    """Compare given shapes with the model's declared input dims (ints are fixed, others free).

    A fixed leading dim of 1 is treated as a batch placeholder (it may be rebound)."""
    for name, shape in shapes.items():
        if name not in declared:
            raise ShapeError(
                f"input {name!r}: the model has no such input; its inputs are {sorted(declared)}"
            )
        dims = declared[name]
        if len(dims) != len(shape):
            raise ShapeError(
                f"input {name!r}: the model expects rank {len(dims)} {dims}, got shape {list(shape)}"
            )
        for pos, (want, got) in enumerate(zip(dims, shape, strict=False)):
            if isinstance(want, int) and want > 0 and want != got and not (pos == 0 and want == 1):
                raise ShapeError(
                    f"input {name!r}: dim {pos} must be {want} (model declares {dims}), "
                    f"got shape {list(shape)}"
                )


def check_arrays(arrays: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]]) -> None:
    """Every bound input needs an array of exactly its bound shape."""
    missing = sorted(set(shapes) - set(arrays))
    if missing:
        raise ShapeError(f"no input data for {missing}; give one .npy per model input")
    for name, arr in arrays.items():
        if name in shapes and tuple(arr.shape) != tuple(shapes[name]):
            raise ShapeError(
                f"input {name!r}: array shape {list(arr.shape)} != bound shape {list(shapes[name])}"
            )


def fed_batch(arrays: Mapping[str, np.ndarray]) -> int:
    """The batch actually fed: the leading dim of the first input tensor (1 for a scalar input)."""
    for arr in arrays.values():
        shape = getattr(arr, "shape", ())
        return int(shape[0]) if len(shape) else 1
    return 1
