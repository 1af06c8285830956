"""The sweep file (YAML), validated with pydantic, and its expansion into points.

Format
------
.. code-block:: yaml

    name: camera-edge            # the sweep id in the database (default: the file's stem)
    kinds: [estimate]            # any of: profile, estimate, measure (``kind: estimate`` works too)
    models:
      - yolov3                   # a zoo name (or "pkg.module:factory")
      - zoo: yolov3              # a zoo model with fixed parameters and a grid of varied ones
        params: {num_classes: 80}
        grid: {resolution: [1920x1080, [416, 416]]}   # WIDTHxHEIGHT as the CLI, or [H, W]
      - path: models/my.onnx     # a file (relative to the sweep file); input sizes as alternatives
        label: my-detector
        inputs: [{images: 1x3x640x640}, {images: 1x3x1280x1280}]
    batch: [1, 2, 4]
    precision: [int8, fp16]
    hardware: [edge-npu-slow-dram, ./chips/my-chip.yaml]   # estimate points: catalog names or files (a file
                                                           # is stored under its spec's ``name``)
    runtime: [onnxruntime]                                 # measure points
    scenario: [single-stream]                              # measure points
    options:                                               # per kind, passed to the engine
      measure: {quick: true, timeout_s: 1800}

The grid is the product, per kind, of every model variant (model x its ``grid`` x its ``inputs``) x
``batch`` x ``precision`` x (``hardware`` for estimate | ``runtime`` x ``scenario`` for measure);
profile points take neither hardware nor runtime. Scalars are accepted where lists are expected.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import _checks
from ..errors import FitbenchError, SpecError
from ..model_ref import looks_like_file
from ..precision import Precision
from .points import Point, known_kinds

MAX_POINTS = 100_000  # a grid larger than this is refused before expansion unless the caller allows it (--yes)


class GridTooLargeError(SpecError):
    """The grid has more points than :data:`MAX_POINTS` and the caller did not allow it."""


def _listify(value: Any) -> Any:
    return value if isinstance(value, list) or value is None else [value]


def _listify_names(value: Any) -> Any:
    """:func:`_listify`, and a string item ``"a,b"`` is two items, as ``--hw a,b`` is on the command line."""
    value = _listify(value)
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for v in value:
        out.extend([x.strip() for x in v.split(",") if x.strip()] if isinstance(v, str) and "," in v else [v])
    return out


@lru_cache(maxsize=1024)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    st = os.stat(path)
    return _file_sha256(str(path), st.st_mtime_ns, st.st_size)


def _resolution(value: Any) -> list[int]:
    """A zoo resolution in either form the tools take: ``"1920x1080"`` (WIDTHxHEIGHT, as the CLI's
    ``--resolution``), ``[1080, 1920]`` ([H, W], as the Python API) or ``224`` (square) -> ``[H, W]``, so that
    the forms of one size key one point."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_checks.is_positive_int(v) for v in value):
        return [int(value[0]), int(value[1])]
    if _checks.is_positive_int(value):
        return [int(value), int(value)]
    if isinstance(value, str):
        try:
            h, w = _checks.parse_resolution(value, "resolution", square=True)
        except FitbenchError as exc:
            raise ValueError(str(exc)) from None
        return [h, w]
    raise ValueError(f"resolution expects WIDTHxHEIGHT like 1920x1080 or [HEIGHT, WIDTH], got {value!r}")


def _is_path(text: str) -> bool:
    """A model or spec file (resolved against the sweep file's folder, so nothing is looked up on disk here)."""
    return looks_like_file(text, (".onnx", ".yaml", ".yml"), on_disk=False)


class ModelEntry(BaseModel):
    """One model of the sweep: a zoo name / factory, or a file, with its parameter grid and input sizes."""

    model_config = ConfigDict(extra="forbid")

    zoo: str | None = None
    path: str | None = None
    label: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    inputs: list[dict[str, str]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"path": value} if _is_path(value) and ":" not in value else {"zoo": value}
        return value

    @field_validator("grid")
    @classmethod
    def _grid_lists(cls, value: dict[str, Any]) -> dict[str, list[Any]]:
        for key, values in value.items():
            if not values:
                raise ValueError(f"grid parameter {key!r} has no values")
        if "resolution" in value:
            value = {**value, "resolution": [_resolution(v) for v in value["resolution"]]}
        return value

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "resolution" in value:
            value = {**value, "resolution": _resolution(value["resolution"])}
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ModelEntry:
        if (self.zoo is None) == (self.path is None):
            raise ValueError("a model entry needs exactly one of 'zoo' or 'path'")
        clash = set(self.params) & set(self.grid)
        if clash:
            raise ValueError(f"parameter(s) {sorted(clash)} are both fixed (params) and varied (grid)")
        if self.inputs is not None and not self.inputs:
            raise ValueError("'inputs' lists alternatives; give at least one or leave it out")
        return self

    def display_name(self) -> str:
        if self.label:
            return self.label
        return self.zoo if self.zoo is not None else Path(self.path or "").stem


class SweepSpec(BaseModel):
    """A validated sweep file. ``base_dir`` resolves relative paths (the sweep file's folder)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    kinds: list[str] = Field(validation_alias="kinds")
    models: list[ModelEntry] = Field(min_length=1)
    batch: list[int] = Field(default_factory=lambda: [1], min_length=1)
    precision: list[str] = Field(default_factory=lambda: ["fp32"], min_length=1)
    hardware: list[str] = Field(default_factory=list)
    runtime: list[str] = Field(default_factory=list)
    scenario: list[str] = Field(default_factory=lambda: ["single-stream"], min_length=1)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    base_dir: str = Field(default=".", exclude=True)
    # model files must lie inside base_dir (the sweep file's folder) unless this is set (--allow-outside)
    allow_outside: bool = Field(default=True, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kind" in data:
            data = dict(data)
            if "kinds" in data:
                raise ValueError("give 'kind' or 'kinds', not both")
            data["kinds"] = data.pop("kind")
        return data

    _wrap = field_validator("models", "batch", mode="before")(_listify)
    _wrap_names = field_validator("kinds", "precision", "hardware", "runtime", "scenario", mode="before")(
        _listify_names
    )

    @field_validator("batch")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(b <= 0 for b in value):
            raise ValueError(f"batch sizes must be positive, got {value}")
        return value

    @field_validator("precision")
    @classmethod
    def _precisions(cls, value: list[str]) -> list[str]:
        try:
            return [Precision.parse(p).value for p in value]
        except FitbenchError as exc:  # pydantic reports ValueError; keep the one-line message
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        if self.name is not None and (len(self.name) > 255 or any(ord(c) < 32 for c in self.name)):
            raise ValueError("'name' must be at most 255 characters with no control characters (it is the "
                             "sweep's id in the database)")
        unknown = [k for k in self.kinds if k not in known_kinds()]
        if unknown:
            raise ValueError(f"unknown point kind(s) {unknown}; known: {', '.join(known_kinds())}")
        if not self.kinds:
            raise ValueError("'kinds' is empty: name at least one of " + ", ".join(known_kinds()))
        if "estimate" in self.kinds and not self.hardware:
            raise ValueError("estimate points need 'hardware' (catalog names or spec files)")
        if "measure" in self.kinds and not self.runtime:
            raise ValueError("measure points need 'runtime' (e.g. onnxruntime)")
        extra = set(self.options) - set(self.kinds)
        if extra:
            raise ValueError(f"options for kind(s) {sorted(extra)} that the sweep does not run")
        return self

    @property
    def sweep_id(self) -> str:
        return self.name or "sweep"

    # ------------------------------------------------------------------ expansion
    def _resolve(self, path: str, what: str, confine: bool = False) -> Path:
        p = Path(path).expanduser()
        if not p.is_absolute():
            p = Path(self.base_dir) / p
        if confine and not self.allow_outside:
            root = Path(self.base_dir).resolve()
            if not p.resolve().is_relative_to(root):
                raise SpecError(f"{what} file {path} is outside the sweep file's folder {root}; move it there or "
                                "pass --allow-outside to use it")
        if not p.is_file():
            raise SpecError(f"{what} file not found: {path} (looked at {p})")
        return p.resolve()

    def _model_variants(self) -> list[dict[str, Any]]:
        out = []
        for entry in self.models:
            base: dict[str, Any] = {"name": entry.display_name()}
            if entry.zoo is not None:
                base["zoo"] = entry.zoo
            else:
                path = self._resolve(entry.path or "", "model", confine=True)
                base["path"] = str(path)
                base["sha256"] = file_sha256(path)
            keys = sorted(entry.grid)
            for combo in itertools.product(*(entry.grid[k] for k in keys)):
                params = {**entry.params, **dict(zip(keys, combo))}
                for inputs in entry.inputs or [None]:
                    variant = dict(base, params=params)
                    if inputs is not None:
                        variant["inputs"] = dict(inputs)
                    out.append(variant)
        return out

    def _hardware(self) -> list[dict[str, Any]]:
        out = []
        for hw in self.hardware:
            if _is_path(hw):
                from ..hardware.spec import load_hardware

                path = self._resolve(hw, "hardware spec")
                loaded = load_hardware(str(path))  # a bad spec fails here, before any point runs
                # the spec's own name (what results are filtered by), and every field of it, so that a result
                # can be reproduced after the YAML is edited; the file's sha256 keys the content
                out.append({"name": loaded.name, "path": str(path), "sha256": file_sha256(path),
                            "spec": loaded.model_dump(mode="json")})
            else:
                out.append({"name": hw})
        return out

    def size(self) -> int:
        """The number of grid combinations (before duplicates are removed), computed without expanding."""
        variants = 0
        for entry in self.models:
            combos = 1
            for values in entry.grid.values():
                combos *= len(values)
            variants += combos * len(entry.inputs or [None])
        per_kind = {"estimate": len(self.hardware), "measure": len(self.runtime) * len(self.scenario)}
        common = variants * len(self.batch) * len(self.precision)
        return sum(common * per_kind.get(kind, 1) for kind in self.kinds)

    def check_size(self, limit: int | None = MAX_POINTS) -> int:
        """The grid size; :class:`GridTooLargeError` (one line) above ``limit`` (``None``: no limit)."""
        n = self.size()
        if limit is not None and n > limit:
            raise GridTooLargeError(f"sweep {self.sweep_id!r} has {n:,} points, more than the {limit:,} allowed "
                                    "without --yes; check the grid, or pass --yes to run it anyway")
        return n

    def expand(self, limit: int | None = MAX_POINTS) -> list[Point]:
        """Every point of the grid, in a stable order, duplicates removed (same key = same point).

        The grid's size is checked first (:meth:`check_size`): a grid over ``limit`` is refused before any
        point is built."""
        self.check_size(limit)
        variants = self._model_variants()
        hardware = self._hardware() if "estimate" in self.kinds else []
        points: dict[str, Point] = {}
        for kind in self.kinds:
            opts = self.options.get(kind, {})
            if kind == "estimate":
                axes: list[dict[str, Any]] = [{"hardware": hw} for hw in hardware]
            elif kind == "measure":
                axes = [{"runtime": r, "scenario": s} for r in self.runtime for s in self.scenario]
            else:
                axes = [{}]
            for model, batch, precision, axis in itertools.product(variants, self.batch, self.precision, axes):
                p = Point(kind=kind, model=model, batch=batch, precision=precision, options=opts, **axis)
                points.setdefault(p.key, p)
        return list(points.values())

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _format_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def parse_sweep(data: Any, base_dir: str | os.PathLike[str] = ".", default_name: str | None = None,
                allow_outside: bool = True) -> SweepSpec:
    """Validate a sweep given as a dict (already-parsed YAML). ``allow_outside=False``: model files must lie
    inside ``base_dir`` (what :func:`load_sweep` asks for a file)."""
    if not isinstance(data, dict):
        raise SpecError("a sweep file must be a mapping with at least 'kinds' and 'models'")
    if default_name and not data.get("name"):
        data = {**data, "name": default_name}
    try:
        return SweepSpec.model_validate({**data, "base_dir": str(base_dir), "allow_outside": allow_outside})
    except ValidationError as exc:
        raise SpecError(f"invalid sweep: {_format_error(exc)}") from None


def load_sweep(path: str | os.PathLike[str], allow_outside: bool = False) -> SweepSpec:
    """Read and validate a sweep YAML file (relative paths in it are relative to the file). Model files
    outside the file's folder (``../``, ``/etc/passwd``, a link out) are refused unless ``allow_outside``:
    a sweep file from elsewhere must not make fitbench read, hash and store any file it can reach."""
    from ..yaml_file import read_yaml

    p = Path(path)
    data = read_yaml(p, "sweep")
    return parse_sweep(data, base_dir=p.resolve().parent, default_name=p.stem, allow_outside=allow_outside)
