"""``run_kit``: run a kit's scenarios through MLPerf LoadGen on a supplier's SUT and write the results folder.

The LoadGen side is :mod:`fitbench.measure.scenarios` (the same single-stream / multi-stream / server /
offline drivers as ``fitbench run``): each LoadGen sample is one ``sut.predict`` call on one batch, the
next batch of the kit's sample set in turn. Before the timed runs the SUT predicts every sample batch once
(the accuracy pass, written to ``outputs/``); each scenario then warms up for the kit's warm-up count, whose
call times set LoadGen's expected latency (:func:`expected_latency`).

Layout of a results folder::

    results.json                 the manifest: kit_id answered, SUT, conditions, scenarios, file hashes
    outputs/outputN.npy          the SUT's outputs of the sample set, shaped like the kit's reference/
    SCENARIO/mlperf_log_summary.txt, SCENARIO/mlperf_log_detail.txt   LoadGen's own logs
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import FitbenchError
from ..measure import scenarios as sc
from .manifest import KIT_FORMAT, KIT_MANIFEST, RESULTS_FORMAT, RESULTS_MANIFEST, KitError, check_files, read_manifest
from .manifest import write_manifest as _write_manifest
from .sut import InputSpec, normalise_outputs

SUMMARY, DETAIL = "mlperf_log_summary.txt", "mlperf_log_detail.txt"


@dataclass
class ScenarioRun:
    scenario: str
    folder: str
    result_validity: str | None
    queries: int
    samples: int
    wall_s: float


@dataclass
class KitRun:
    """What ``run_kit`` wrote: the results folder, the kit it answers, each scenario's LoadGen verdict."""

    path: Path
    kit_id: str
    device: str
    precision: str
    scenarios: list[ScenarioRun] = field(default_factory=list)
    missing_conditions: list[str] = field(default_factory=list)


def load_kit(kit_dir: str | Path) -> dict[str, Any]:
    """Read a kit folder's manifest and check every file against it; a bad kit is one-line :class:`KitError`."""
    doc = read_manifest(kit_dir, KIT_MANIFEST, KIT_FORMAT, "kit")
    problems = check_files(kit_dir, doc, KIT_MANIFEST, "kit")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise KitError(f"kit {kit_dir}: {problems[0]}{more}")
    return doc


def load_samples(kit_dir: Path, doc: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.load(kit_dir / v["file"], allow_pickle=False) for k, v in doc["inputs"].items()}


def loadgen_settings(cfg: Mapping[str, Any], expected_latency_s: float, seed: int = 0) -> sc.Settings:
    """A kit scenario's settings as :class:`fitbench.measure.scenarios.Settings`."""
    return sc.Settings(min_count=int(cfg["min_query_count"]), min_duration_s=cfg["min_duration_ms"] / 1000,
                       max_duration_s=cfg["max_duration_ms"] / 1000, expected_latency_s=expected_latency_s,
                       samples_per_query=int(cfg.get("samples_per_query", 8)), seed=seed)


def expected_latency(cfg: Mapping[str, Any], warm: list[float]) -> float:
    """LoadGen's expected latency from the warm-up call times (seconds): their median; for offline half the
    fastest, i.e. twice the best rate seen. Offline's one query holds expected rate x min duration samples:
    a warm-up that ran slow (a busy machine) would make it end before the minimum duration, and LoadGen
    would call the run INVALID; asking for more only makes the run longer."""
    if not warm:
        return 1e-3
    return min(warm) / 2 if cfg["scenario"] == "offline" else sorted(warm)[len(warm) // 2]


def run_scenario(call: Callable[[], Any], cfg: Mapping[str, Any], settings: sc.Settings) -> sc.RunRecord:
    """One LoadGen run of the kit scenario ``cfg`` (server: at the kit's QPS and latency bound, no search)."""
    name = cfg["scenario"]
    if name == "single-stream":
        return sc.single_stream(call, settings)
    if name == "multi-stream":
        return sc.multi_stream(call, settings)
    if name == "offline":
        return sc.offline(call, settings)
    return sc.server(call, settings, cfg["target_qps"], cfg["target_latency_ms"], int(cfg["latency_percentile"]))


def _guard(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call the supplier's code; its failure becomes one line naming the method."""
    try:
        return fn(*args)
    except FitbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - the supplier's SDK can raise anything
        raise KitError(f"the SUT failed in {what}: {type(exc).__name__}: {' '.join(str(exc).split())}") from None


def run_kit(kit_dir: str | Path, sut: Any, out: str | Path) -> KitRun:
    """Run every scenario of the kit at ``kit_dir`` on ``sut`` and write the results folder ``out``."""
    kit_dir, out = Path(kit_dir), Path(out)
    doc = load_kit(kit_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise KitError(f"results folder {out} already exists and is not empty; give a new folder")
    samples = load_samples(kit_dir, doc)
    specs = {k: InputSpec(tuple(v["shape"]), v["dtype"]) for k, v in doc["inputs"].items()}
    out_names = [o["name"] for o in doc["outputs"]]
    n = int(doc["samples"]["count"])
    batches = [{k: np.ascontiguousarray(v[i]) for k, v in samples.items()} for i in range(n)]
    precision = str(getattr(sut, "precision", "fp32")).lower()
    if precision not in doc["precisions"]:
        raise KitError(f"the SUT runs at {precision}; this kit accepts {', '.join(doc['precisions'])}")
    _guard("load()", sut.load, str(kit_dir / doc["model"]["file"]), specs)
    device = str(_guard("device_name()", sut.device_name))
    predict = sut.predict
    made = False
    try:
        out.mkdir(parents=True, exist_ok=True)
        made = True
        (out / "outputs").mkdir()
        # the accuracy pass: every sample batch once, outputs kept
        got: list[list[np.ndarray]] = [[] for _ in out_names]
        for b in batches:
            for j, arr in enumerate(normalise_outputs(_guard("predict()", predict, b), out_names)):
                got[j].append(arr)
        for j, arrs in enumerate(got):
            np.save(out / "outputs" / f"output{j}.npy", np.stack(arrs), allow_pickle=False)
        runs = []
        for cfg in doc["scenarios"]:
            feed = itertools.cycle(batches)

            def call(feed=feed):
                return predict(next(feed))

            warm = []
            for _ in range(int(cfg.get("warmup_count", 10))):
                t0 = time.perf_counter()
                _guard("predict()", call)
                warm.append(time.perf_counter() - t0)
            expected = expected_latency(cfg, warm)
            rec = _guard("predict()", run_scenario, call, cfg, loadgen_settings(cfg, expected))
            folder = out / cfg["scenario"]
            folder.mkdir()
            (folder / SUMMARY).write_text(rec.loadgen.get("summary_log", ""), encoding="utf-8")
            (folder / DETAIL).write_text(rec.loadgen.get("detail_log", ""), encoding="utf-8")
            runs.append(ScenarioRun(cfg["scenario"], cfg["scenario"], rec.loadgen.get("result_validity"),
                                    rec.queries, rec.samples, rec.wall_s))
        cond = {"device": device, "precision": precision}
        extra = getattr(sut, "conditions", None)
        if callable(extra):
            cond.update({str(k): v for k, v in (_guard("conditions()", extra) or {}).items()})
        from ..measure.conditions import host_conditions

        host = host_conditions()
        results = {
            "format": RESULTS_FORMAT,
            "kit_id": doc["digest"],
            "kit_name": doc["name"],
            "model_sha256": doc["model"]["sha256"],
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "fitbench_version": __version__,
            "sut": {"class": f"{type(sut).__module__}.{type(sut).__qualname__}", "device": device,
                    "precision": precision},
            "conditions": cond,
            "host": {k: host.get(k) for k in ("cpu_model", "cpu_count_logical", "os", "python", "hostname")},
            "scenarios": [{"scenario": r.scenario, "folder": r.folder, "result_validity": r.result_validity}
                          for r in runs],
            "outputs": [f"outputs/output{j}.npy" for j in range(len(out_names))],
        }
        from ..store import jsonable

        _write_manifest(out, RESULTS_MANIFEST, jsonable(results))  # the SUT's conditions may hold numpy values
    except BaseException:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    missing = [k for k in doc.get("required_conditions", []) if cond.get(k) in (None, "")]
    return KitRun(path=out, kit_id=doc["digest"], device=device, precision=precision, scenarios=runs,
                  missing_conditions=missing)
