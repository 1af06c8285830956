"""``create_kit``: the buyer's benchmark as a self-contained folder (and a ``.tar.gz``) for a supplier.

Layout of a kit folder::

    kit.json            the manifest (see :mod:`.manifest`): model, inputs, settings, tolerances, file hashes
    README.md           the rules, written for the supplier (:mod:`.readme`)
    model.onnx          the model, runnable (a zoo model with seeded random weights)
    samples/inputN.npy  the accuracy sample set of input N: shape (samples, *batch shape)
    reference/outputN.npy  ONNX Runtime's outputs of the sample set (fp32, CPU): shape (samples, *output shape)
    loadgen/user.conf   the LoadGen settings in MLPerf's user.conf form (what kit.json states, for a
                        supplier driving LoadGen from its own harness)

One LoadGen *sample* is one ``predict`` call on one batch (B items); the kit's batch is the leading dim
of every input. Tolerances compare a supplier's outputs with the reference as the largest absolute
difference over the largest absolute reference value, per output (``max|y - ref| / max|ref|``);
integer outputs must match exactly.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import FitbenchError
from .manifest import KIT_FORMAT, KIT_MANIFEST, KitError, write_manifest

#: default tolerance per precision, as max|y - ref| / max|ref| (see the module doc); a convention of this
#: kit, stated in it: fp32 allows reordered sums and fused kernels, fp16 / bf16 their rounding (bf16 has an
#: 8-bit significand), int8 a quantised model that is still the same model
TOLERANCES = {"fp32": 1e-3, "fp16": 1e-2, "bf16": 4e-2, "int8": 1e-1}
#: settings of a full kit run (MLPerf's own minimum is 600 s; a buyer may ask for it with --min-duration)
DEFAULT_MIN_DURATION_S = 10.0
DEFAULT_MIN_QUERIES = {"single-stream": 1024, "multi-stream": 662, "server": 1024, "offline": 1}
DEFAULT_SAMPLES = 16
WARMUP_COUNT = 10


@dataclass
class Kit:
    """A created kit: its folder, archive, identity and manifest."""

    path: Path
    archive: Path | None
    kit_id: str
    manifest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "archive": None if self.archive is None else str(self.archive),
                "kit_id": self.kit_id, "manifest": self.manifest}


def scenario_settings(scenario: str, *, min_duration_s: float | None = None, max_duration_s: float | None = None,
                      min_queries: int | None = None, target_qps: float | None = None,
                      latency_bound_ms: float | None = None, percentile: int = 99,
                      samples_per_query: int = 8) -> dict[str, Any]:
    """The LoadGen settings of one kit scenario (durations in ms, as LoadGen's logs state them)."""
    from ..measure.scenarios import canonical_scenario

    sc = canonical_scenario(scenario)
    min_d = DEFAULT_MIN_DURATION_S if min_duration_s is None else float(min_duration_s)
    max_d = max(2 * min_d, min_d + 60.0) if max_duration_s is None else float(max_duration_s)
    count = DEFAULT_MIN_QUERIES[sc] if min_queries is None else int(min_queries)
    if min_d <= 0 or max_d <= 0 or count < 1:
        raise FitbenchError(f"kit settings must be positive: min duration {min_d} s, max duration {max_d} s, "
                            f"min queries {count}")
    out: dict[str, Any] = {"scenario": sc, "min_duration_ms": int(round(min_d * 1000)),
                           "max_duration_ms": int(round(max_d * 1000)), "min_query_count": count,
                           "warmup_count": WARMUP_COUNT}
    if sc == "server":
        if not target_qps or not latency_bound_ms or target_qps <= 0 or latency_bound_ms <= 0:
            raise FitbenchError("the server scenario needs the application's load and budget: --target-qps and "
                                "--latency-bound (ms)")
        out.update({"target_qps": float(target_qps), "target_latency_ms": float(latency_bound_ms),
                    "latency_percentile": int(percentile)})
    if sc == "multi-stream":
        out["samples_per_query"] = int(samples_per_query)
    return out


def _user_conf(model: str, scenarios: Sequence[Mapping[str, Any]]) -> str:
    names = {"single-stream": "SingleStream", "multi-stream": "MultiStream", "server": "Server",
             "offline": "Offline"}
    lines = ["# LoadGen settings of this kit in MLPerf's user.conf form (kit.json is the reference).",
             "# durations in ms; one LoadGen sample = one predict() call on one batch"]
    for s in scenarios:
        key = f"{model}.{names[s['scenario']]}"
        lines += [f"{key}.min_duration = {s['min_duration_ms']}", f"{key}.max_duration = {s['max_duration_ms']}",
                  f"{key}.min_query_count = {s['min_query_count']}"]
        if s["scenario"] == "server":
            lines += [f"{key}.target_qps = {s['target_qps']:g}", f"{key}.target_latency = {s['target_latency_ms']:g}",
                      f"{key}.target_latency_percentile = {s['latency_percentile'] / 100:g}"]
        if s["scenario"] == "multi-stream":
            lines.append(f"{key}.samples_per_query = {s['samples_per_query']}")
    return "\n".join(lines) + "\n"


def _user_samples(files: Mapping[str, str]) -> dict[str, np.ndarray]:
    """The user's .npy sample files: each (samples, *batch shape) or one batch (*batch shape)."""
    out = {}
    for name, path in files.items():
        p = Path(path)
        if not p.is_file():
            raise KitError(f"sample file for {name!r} not found: {p}")
        try:
            arr = np.load(p, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - numpy raises ValueError / OSError variants
            raise KitError(f"sample file for {name!r} is not a valid .npy array: {p} ({exc})") from None
        out[name] = arr
    return out


def create_kit(
    model: Any,
    out: str | Path,
    *,
    scenarios: Sequence[str | Mapping[str, Any]] = ("single-stream", "offline"),
    inputs: Mapping[str, Any] | None = None,
    batch: int | None = None,
    dims: Mapping[str, int] | None = None,
    samples: int = DEFAULT_SAMPLES,
    sample_files: Mapping[str, str] | None = None,
    seed: int = 0,
    precisions: Sequence[str] = tuple(TOLERANCES),
    tolerances: Mapping[str, float] | None = None,
    name: str | None = None,
    archive: bool = True,
    **zoo_params: Any,
) -> Kit:
    """Write a kit for ``model`` (ONNX path, ``onnx.ModelProto``, zoo name or ``pkg.mod:factory``) into ``out``.

    ``scenarios`` are scenario names (default settings) or dicts from :func:`scenario_settings`. The sample
    set is ``samples`` seeded synthetic batches (floats ~ N(0,1), as ``fitbench run`` feeds) or the user's
    ``sample_files`` ({input name: .npy}). ``out`` must not exist or be an empty folder.
    """
    from ..measure.inputs import numpy_dtype, synthetic
    from ..measure.prepare import prepare_onnx
    from ..measure.runtimes.onnxruntime import OrtRunner

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise KitError(f"kit folder {out} already exists and is not empty; give a new folder")
    settings = [scenario_settings(s) if isinstance(s, str) else dict(s) for s in scenarios]
    if not settings:
        raise FitbenchError("a kit needs at least one scenario")
    if len({s["scenario"] for s in settings}) != len(settings):
        raise FitbenchError("a kit runs each scenario once; a scenario is named twice")
    tol = dict(TOLERANCES)
    tol.update({str(k).lower(): float(v) for k, v in (tolerances or {}).items()})
    precisions = [str(p).lower() for p in precisions]
    bad = [p for p in precisions if p not in tol]
    if bad:
        raise FitbenchError(f"unknown precision {bad[0]!r}; use fp32, fp16, bf16 or int8")
    given = _user_samples(sample_files) if sample_files else None
    if given is not None:
        # the sample files fix the shapes: (samples, *batch shape)
        inputs = {k: "x".join(str(d) for d in (v.shape[1:] if v.ndim > 1 else v.shape)) for k, v in given.items()}
    elif samples < 1:
        raise FitbenchError(f"a kit needs at least one accuracy sample, got {samples}")
    prep = prepare_onnx(model, batch=batch, inputs=inputs, input_files=None, dims=dims, name=name,
                        zoo_params={k: v for k, v in zoo_params.items() if v is not None})
    try:
        out.mkdir(parents=True, exist_ok=True)
        for sub in ("samples", "reference", "loadgen"):
            (out / sub).mkdir()
        shutil.copyfile(prep.job_model["model_path"], out / "model.onnx")
        shapes = {k: tuple(int(d) for d in v) for k, v in prep.shapes.items()}
        if given is not None:
            arrays = {}
            for k, v in given.items():
                v = v[None] if v.ndim == len(shapes.get(k, ())) else v
                if k not in shapes or tuple(v.shape[1:]) != shapes[k]:
                    raise KitError(f"sample file for {k!r} has shape {list(v.shape)}; the model takes "
                                   f"{list(shapes.get(k, ()))} per batch (give samples x that)")
                arrays[k] = np.ascontiguousarray(v.astype(numpy_dtype(prep.dtypes[k]), copy=False))
            counts = {len(v) for v in arrays.values()}
            if len(counts) != 1 or set(arrays) != set(shapes):
                raise KitError(f"sample files must give every input ({sorted(shapes)}) the same number of samples")
            n = counts.pop()
            source = "the buyer's .npy files"
        else:
            n = int(samples)
            per = [synthetic(shapes, prep.dtypes, seed + i) for i in range(n)]
            arrays = {k: np.stack([p[k] for p in per]) for k in shapes}
            source = f"synthetic: sample i drawn with numpy default_rng(seed + i), seed {seed}; floats ~ N(0,1)"
        runner = OrtRunner(str(out / "model.onnx"), threads=1)
        out_names = [o.name for o in runner.session.get_outputs()]
        refs: list[list[np.ndarray]] = [[] for _ in out_names]
        for i in range(n):
            res = runner.session.run(None, {k: v[i] for k, v in arrays.items()})
            for j, r in enumerate(res):
                refs[j].append(np.asarray(r))
        input_doc = {}
        for i, (k, v) in enumerate(arrays.items()):
            np.save(out / "samples" / f"input{i}.npy", v, allow_pickle=False)
            input_doc[k] = {"shape": list(shapes[k]), "dtype": str(v.dtype), "file": f"samples/input{i}.npy"}
        output_doc = []
        for j, k in enumerate(out_names):
            ref = np.stack(refs[j])
            np.save(out / "reference" / f"output{j}.npy", ref, allow_pickle=False)
            output_doc.append({"name": k, "shape": list(ref.shape[1:]), "dtype": str(ref.dtype),
                               "file": f"reference/output{j}.npy"})
        first = next(iter(shapes.values()), (1,))
        kit_batch = int(first[0]) if first else 1
        from ..measure.conditions import host_conditions

        host = host_conditions()
        doc: dict[str, Any] = {
            "format": KIT_FORMAT,
            "name": f"{prep.name} b{kit_batch}",
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "fitbench_version": __version__,
            "model": {"file": "model.onnx", "name": prep.name, "sha256": None, "notes": list(prep.notes),
                      "source": model if isinstance(model, str) else type(model).__name__},
            "batch": kit_batch,
            "inputs": input_doc,
            "outputs": output_doc,
            "samples": {"count": n, "seed": seed, "source": source},
            "scenarios": settings,
            "precisions": precisions,
            "tolerance": {p: tol[p] for p in precisions},
            "tolerance_rule": "per output: max|y - ref| / max|ref| over the sample set <= tolerance of the "
                              "precision the SUT declares; integer outputs must match exactly",
            "reference": {"runtime": "onnxruntime", "runtime_version": runner.info()["runtime_version"],
                          "device": "cpu", "threads": 1, "cpu_model": host.get("cpu_model")},
            "required_conditions": list(_required()),
        }
        from .manifest import sha256_file
        from .readme import supplier_readme

        doc["model"]["sha256"] = sha256_file(out / "model.onnx")
        (out / "loadgen" / "user.conf").write_text(_user_conf(prep.name, settings), encoding="utf-8")
        (out / "README.md").write_text(supplier_readme(doc), encoding="utf-8")
        doc = write_manifest(out, KIT_MANIFEST, doc)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        prep.cleanup()
    tar_path = None
    if archive:
        tar_path = out.parent / (out.name + ".tar.gz")
        with tarfile.open(tar_path, "w:gz") as tar:
            tar.add(out, arcname=out.name)
    return Kit(path=out, archive=tar_path, kit_id=doc["digest"], manifest=doc)


def _required() -> tuple[str, ...]:
    from .sut import REQUIRED_CONDITIONS

    return REQUIRED_CONDITIONS
