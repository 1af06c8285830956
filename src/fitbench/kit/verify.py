"""``verify_kit``: check a supplier's results folder against the kit, one :class:`Check` per rule.

The checks, in order: the kit is intact (every file matches ``kit.json``); the results manifest is intact
and answers this kit (its ``kit_id``); every results file matches ``results.json``, none missing or added;
the model the SUT ran is the kit's (sha256); every kit scenario has both LoadGen logs; per scenario LoadGen
says ``VALID`` (summary and detail log), the settings LoadGen ran with equal the kit's (scenario, min and
max duration, min query count, server QPS / latency bound / percentile, samples per query), and every
figure of the summary equals the detail log's; the outputs of the sample set are within the tolerance of
the precision the SUT declared; the required conditions are reported.

The kit's identity and the results' file hashes are checked first: when they fail nothing else can be
trusted, so no later check runs. A folder that cannot be read at all (missing, not a kit, a manifest that
is not JSON or was edited) raises :class:`KitError` instead. A verified result is stored (when a store is
given) as one ``measure`` row per scenario with ``conditions["provenance"] == PROVENANCE``; a rejected
one stores nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..measure.scenarios import detail_log_records
from ..store.record import SUPPLIER_VERIFIED as PROVENANCE  # "supplier-measured, verified"
from .manifest import RESULTS_FORMAT, RESULTS_MANIFEST, check_files, read_manifest
from .run import DETAIL, SUMMARY, load_kit

LOADGEN_NAMES = {"single-stream": "SingleStream", "multi-stream": "MultiStream", "server": "Server",
                 "offline": "Offline"}
# summary label -> detail log key (percentile lines are matched by pattern below)
_SUMMARY_KEYS = {
    "Scenario": "effective_scenario", "Mode": "effective_test_mode", "Result is": "result_validity",
    "Min latency (ns)": "result_min_latency_ns", "Max latency (ns)": "result_max_latency_ns",
    "Mean latency (ns)": "result_mean_latency_ns",
    "QPS w/ loadgen overhead": "result_qps_with_loadgen_overhead",
    "QPS w/o loadgen overhead": "result_qps_without_loadgen_overhead",
    "Samples per second": "result_samples_per_second",
    "Completed samples per second": "result_completed_samples_per_sec",
    "Scheduled samples per second": "result_scheduled_samples_per_sec",
    "samples_per_query": "effective_samples_per_query", "target_qps": "effective_target_qps",
    "target_latency (ns)": "effective_target_latency_ns", "min_duration (ms)": "effective_min_duration_ms",
    "max_duration (ms)": "effective_max_duration_ms", "min_query_count": "effective_min_query_count",
}
# "90.00 percentile latency (ns)" (additional stats) and "90.0th percentile latency (ns)" (the headline)
_PCT = re.compile(r"^(\d+(?:\.\d+)?)(?:th)? percentile latency \(ns\)$")


@dataclass
class Check:
    """One rule: its name, whether it holds, and what was found (one line)."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


@dataclass
class Verification:
    """The verdict on a results folder, every check, the figures read from LoadGen and what was stored."""

    kit_id: str
    kit_name: str
    verified: bool
    checks: list[Check]
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    device: str | None = None
    precision: str | None = None
    hardware: str | None = None
    stored_ids: list[int] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "VERIFIED" if self.verified else "REJECTED"

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.ok]

    def lines(self) -> list[str]:
        tail = (f"verdict: VERIFIED ({PROVENANCE})" if self.verified
                else f"verdict: REJECTED ({len(self.reasons)} check(s) failed)")
        return [c.line() for c in self.checks] + [tail]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"], d["reasons"] = self.verdict, self.reasons
        return d


def parse_summary(text: str) -> dict[str, str]:
    """``label : value`` lines of ``mlperf_log_summary.txt`` -> ``{label: value}`` (the first of a label)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        label = " ".join(label.split())
        if sep and label and not label.startswith(("*", "=")) and label not in out:
            out[label] = value.strip()
    return out


def _unit(text: str) -> float:
    """The value of one unit in the last digit written: "27.62" -> 0.01, "187820" -> 1."""
    mantissa, _, exp = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exp) if exp.lstrip("+-").isdigit() else 0))


def _same(a: Any, b: Any) -> bool:
    """Equal as LoadGen writes them: integers exactly; other numbers to the coarser of the two roundings (the
    summary prints "27.62" where the detail log has 27.625, or 20854.55 where it has 20854.6: they may differ
    by one unit of the last digit written); text (and booleans) as text."""
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).strip().lower() == str(b).strip().lower()
    sa, sb = str(a).strip(), str(b).strip()
    try:
        x, y = float(sa), float(sb)
    except ValueError:
        return sa == sb
    if x.is_integer() and y.is_integer():
        return x == y
    return abs(x - y) <= max(_unit(repr(x) if isinstance(a, float) else sa),
                             _unit(repr(y) if isinstance(b, float) else sb)) * (1 + 1e-9)


def summary_vs_detail(summary: Mapping[str, str], detail: Mapping[str, Any]) -> list[str]:
    """Every summary figure that disagrees with the detail log, as ``label: summary X, detail log Y``."""
    bad = []
    if "Result is" not in summary:
        bad.append("the summary has no 'Result is' line")
    for label, value in summary.items():
        m = _PCT.match(label)
        key = f"result_{float(m.group(1)):.2f}_percentile_latency_ns" if m else _SUMMARY_KEYS.get(label)
        if key is None or key not in detail:
            continue
        if not _same(value, detail[key]):
            bad.append(f"{label}: summary {value}, detail log {detail[key]}")
    return bad


def settings_vs_kit(cfg: Mapping[str, Any], detail: Mapping[str, Any]) -> list[str]:
    """Every setting LoadGen ran with (its ``requested_*`` / ``effective_scenario`` records) that differs from
    the kit's scenario ``cfg``, as ``what: log X, kit Y``."""
    name = LOADGEN_NAMES[cfg["scenario"]]
    want: list[tuple[str, str, Any]] = [
        ("scenario", "requested_scenario", name), ("scenario run", "effective_scenario", name),
        ("test mode", "requested_test_mode", "PerformanceOnly"),
        ("min duration (ms)", "requested_min_duration_ms", cfg["min_duration_ms"]),
        ("max duration (ms)", "requested_max_duration_ms", cfg["max_duration_ms"]),
        ("min query count", "requested_min_query_count", cfg["min_query_count"]),
    ]
    if cfg["scenario"] == "server":
        want += [("target QPS", "requested_server_target_qps", cfg["target_qps"]),
                 ("latency bound (ns)", "requested_server_target_latency_ns", int(cfg["target_latency_ms"] * 1e6)),
                 ("latency percentile", "requested_server_target_latency_percentile", cfg["latency_percentile"] / 100)]
    if cfg["scenario"] == "multi-stream":
        want.append(("samples per query", "requested_multi_stream_samples_per_query", cfg["samples_per_query"]))
    bad = []
    for what, key, value in want:
        got = detail.get(key)
        if got is None:
            bad.append(f"{what}: not in the detail log, kit {value}")
        elif not _same(got, value):
            bad.append(f"{what}: log {got}, kit {value}")
    return bad


def output_errors(kit_dir: Path, kit: Mapping[str, Any], res_dir: Path, results: Mapping[str, Any],
                  tolerance: float) -> tuple[list[str], list[str]]:
    """(problems, per-output findings) of the SUT's outputs against the kit's reference outputs."""
    problems, found = [], []
    files = [f"outputs/output{j}.npy" for j in range(len(kit["outputs"]))]  # the layout run_kit writes
    missing = [f for f in files if not (res_dir / f).is_file()]
    if missing:
        return [f"no {missing[0]} for output {kit['outputs'][files.index(missing[0])]['name']!r}"], []
    for o, rel in zip(kit["outputs"], files):
        ref = np.load(kit_dir / o["file"], allow_pickle=False)
        try:
            got = np.load(res_dir / rel, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - a corrupt .npy of the supplier's
            problems.append(f"{o['name']}: {rel} is not a readable .npy ({exc})")
            continue
        if got.shape != ref.shape:
            problems.append(f"{o['name']}: shape {list(got.shape)}, reference {list(ref.shape)}")
            continue
        if ref.dtype.kind in "fc":
            scale = float(np.max(np.abs(ref))) or 1.0
            with np.errstate(invalid="ignore"):
                err = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64)))) / scale
            if not math.isfinite(err) or err > tolerance:
                problems.append(f"{o['name']}: max|y - ref| / max|ref| = {err:.3g} > tolerance {tolerance:g}")
            else:
                found.append(f"{o['name']} {err:.2g} <= {tolerance:g}")
        else:
            wrong = int(np.count_nonzero(got != ref))
            if wrong:
                problems.append(f"{o['name']}: {wrong} integer value(s) differ from the reference (exact match)")
            else:
                found.append(f"{o['name']} exact")
    return problems, found


def figures(cfg: Mapping[str, Any], detail: Mapping[str, Any], batch: int) -> dict[str, Any]:
    """The headline figures of one scenario from LoadGen's detail log (seconds, inferences per second;
    one inference = one item of a batch, one LoadGen sample = one batch).

    Throughput: offline = samples per second x B; server = completed samples per second x B; single-stream
    = B / mean latency; multi-stream = samples per query x B / mean query latency. ``latency_s`` is the
    median (p50) of LoadGen's per-query latency, as ``fitbench compare`` ranks measured runtimes."""
    def ns(key: str) -> float | None:
        v = detail.get(key)
        return None if v is None else float(v) / 1e9

    mean = ns("result_mean_latency_ns")
    sc = cfg["scenario"]
    if sc == "offline":
        thr = float(detail.get("result_samples_per_second") or 0) * batch or None
    elif sc == "server":
        thr = float(detail.get("result_completed_samples_per_sec") or 0) * batch or None
    elif sc == "multi-stream":
        thr = cfg["samples_per_query"] * batch / mean if mean else None
    else:
        thr = batch / mean if mean else None
    return {"scenario": sc, "batch": batch, "throughput_ips": thr,
            "latency_s": ns("result_50.00_percentile_latency_ns"),
            "latency_p50_s": ns("result_50.00_percentile_latency_ns"),
            "latency_p90_s": ns("result_90.00_percentile_latency_ns"),
            "latency_p99_s": ns("result_99.00_percentile_latency_ns"), "latency_mean_s": mean,
            "queries": detail.get("result_query_count"), "result_validity": detail.get("result_validity"),
            "loadgen_version": detail.get("loadgen_version"),
            "loadgen": {k: v for k, v in detail.items() if k.startswith("result_")}}


def verify_kit(kit_dir: str | Path, results_dir: str | Path, *, store: Any = None,
               hardware: str | None = None) -> Verification:
    """Check ``results_dir`` against the kit at ``kit_dir``; store the verified figures in ``store``.

    ``hardware`` names the offering the results are of (a catalog or spec name, so that ``fitbench
    compare`` shows them beside that chip's estimate); by default the device name the SUT reported."""
    kit_dir, res_dir = Path(kit_dir), Path(results_dir)
    kit = load_kit(kit_dir)  # a missing, truncated or edited kit is one line (KitError)
    results = read_manifest(res_dir, RESULTS_MANIFEST, RESULTS_FORMAT, "results folder")
    checks = [Check("kit", True, f"{kit['name']}: {len(kit['files'])} files match kit.json (kit {kit['digest'][:12]})")]
    ver = Verification(kit_id=kit["digest"], kit_name=kit["name"], verified=False, checks=checks)
    if results.get("kit_id") != kit["digest"]:
        checks.append(Check("same kit", False, f"the results answer kit {str(results.get('kit_id'))[:12]} "
                            f"({results.get('kit_name')}), not this kit {kit['digest'][:12]} ({kit['name']})"))
        return ver
    checks.append(Check("same kit", True, f"results.json answers kit {kit['digest'][:12]}"))
    problems = check_files(res_dir, results, RESULTS_MANIFEST, "the results folder")
    if problems:
        checks.append(Check("files", False, "; ".join(problems)))
        return ver
    checks.append(Check("files", True, f"{len(results['files'])} files match results.json"))
    sha = results.get("model_sha256")
    checks.append(Check("model", sha == kit["model"]["sha256"],
                        f"sha256 {str(sha)[:16]}… is the kit's" if sha == kit["model"]["sha256"] else
                        f"the SUT ran model sha256 {sha}, the kit's is {kit['model']['sha256']}"))
    ran = {s.get("scenario"): s for s in results.get("scenarios") or []}
    want = [c["scenario"] for c in kit["scenarios"]]
    missing = [s for s in want if s not in ran]
    extra = [s for s in ran if s not in want]
    checks.append(Check("scenarios", not missing and not extra,
                        ("ran " + ", ".join(want)) if not missing and not extra else
                        "; ".join(([f"missing {', '.join(missing)}"] if missing else []) +
                                  ([f"not in the kit: {', '.join(map(str, extra))}"] if extra else []))))
    for cfg in kit["scenarios"]:
        s = ran.get(cfg["scenario"])
        if s is None:
            continue
        folder = res_dir / cfg["scenario"]  # the layout run_kit writes (never a path read from the manifest)
        paths = [folder / SUMMARY, folder / DETAIL]
        if not all(p.is_file() for p in paths):
            checks.append(Check(f"{cfg['scenario']} logs", False, f"{folder.name}/ lacks {SUMMARY} or {DETAIL}"))
            continue
        summary = parse_summary(paths[0].read_text(encoding="utf-8", errors="replace"))
        detail = detail_log_records(paths[1].read_text(encoding="utf-8", errors="replace"))
        validity = (summary.get("Result is"), detail.get("result_validity"))
        valid = validity == ("VALID", "VALID")
        why = "" if valid else "; ".join(f"{k}: NO" for k, v in summary.items() if v.upper() == "NO")
        checks.append(Check(f"{cfg['scenario']} LoadGen result", valid,
                            "VALID" if valid else f"summary {validity[0]}, detail log {validity[1]}"
                            + (f" ({why})" if why else "")))
        bad = settings_vs_kit(cfg, detail)
        checks.append(Check(f"{cfg['scenario']} settings", not bad, "; ".join(bad) if bad else
                            f"{LOADGEN_NAMES[cfg['scenario']]}, min {cfg['min_duration_ms']} ms, "
                            f"max {cfg['max_duration_ms']} ms, min {cfg['min_query_count']} queries as the kit"))
        bad = summary_vs_detail(summary, detail)
        checks.append(Check(f"{cfg['scenario']} summary", not bad, "; ".join(bad) if bad else
                            "every figure of the summary equals the detail log's"))
        ver.figures[cfg["scenario"]] = figures(cfg, detail, int(kit["batch"]))
    cond = results.get("conditions") or {}
    precision = str(cond.get("precision") or (results.get("sut") or {}).get("precision") or "")
    ver.device, ver.precision = cond.get("device"), precision
    if precision not in kit["tolerance"]:
        checks.append(Check("outputs", False, f"the SUT declares precision {precision!r}; the kit accepts "
                            f"{', '.join(kit['tolerance'])}"))
    else:
        bad, found = output_errors(kit_dir, kit, res_dir, results, float(kit["tolerance"][precision]))
        checks.append(Check("outputs", not bad, "; ".join(bad) if bad else
                            f"{kit['samples']['count']} sample batches at {precision}: " + ", ".join(found)))
    lacking = [k for k in kit.get("required_conditions", []) if cond.get(k) in (None, "")]
    checks.append(Check("conditions", not lacking, f"missing {', '.join(lacking)}" if lacking else
                        ", ".join(f"{k}={cond[k]}" for k in kit.get("required_conditions", []))))
    ver.verified = all(c.ok for c in checks)
    ver.hardware = hardware or ver.device
    if ver.verified and store is not None:
        ver.stored_ids = store_verified(ver, kit, results, store)
    return ver


def store_verified(ver: Verification, kit: Mapping[str, Any], results: Mapping[str, Any], store: Any) -> list[int]:
    """One ``measure`` row per scenario of a verified result (provenance in the conditions)."""
    from ..store import ResultRecord, open_store

    st = open_store(store) if isinstance(store, str) or hasattr(store, "__fspath__") else store
    cond = results.get("conditions") or {}
    now = dt.datetime.now(dt.timezone.utc)
    kit_info = {"kit_id": kit["digest"], "name": kit["name"], "model": kit["model"], "batch": kit["batch"],
                "inputs": {k: {"shape": v["shape"], "dtype": v["dtype"]} for k, v in kit["inputs"].items()},
                "tolerance": kit["tolerance"]}
    ids = []
    for cfg in kit["scenarios"]:
        fig = ver.figures.get(cfg["scenario"])
        if fig is None:
            continue
        rec = ResultRecord(
            kind="measure", model=kit["model"]["name"], model_sha256=kit["model"]["sha256"], batch=int(kit["batch"]),
            precision=ver.precision, hardware=str(ver.hardware)[:255], runtime=str(cond.get("sdk") or "supplier")[:64],
            conditions={"provenance": PROVENANCE, "scenario": cfg["scenario"], "kit": kit_info, "settings": cfg,
                        "device": ver.device, "supplier_conditions": cond, "sut": results.get("sut"),
                        "results_created_at": results.get("created_at"), "verification": ver.lines()},
            metrics=fig, finished_at=now)
        ids.append(st.put(rec))
    return ids
