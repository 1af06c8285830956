"""``fitbench hw probe``: measure this CPU with ONNX Runtime micro-benchmarks and write a ``kind: cpu`` spec.

Every figure is **measured here** at the given intra-op thread count (default 1), never a datasheet peak:

* **GEMM rate** per precision — one ``n x n @ n x n`` MatMul (``n^3`` MACs; n = 1024, 512 with ``quick``):
  fp32 always; int8 through MatMulInteger (uint8 x int8 -> int32) when ONNX Runtime runs it here; fp16 is
  measured and kept only when it beats fp32 by 10 % (ONNX Runtime's x86 CPU provider mostly runs fp16 as
  fp32 between Casts, so it is usually not faster). Spec: ``macs_per_cycle`` = MACs/s / clock,
  rounded to a whole number (the spec's field is an integer: at 1 thread a few % of the rate).
* **conv rate** — a chain of three 3x3 convs 64 -> 64 at 56x56 (115.6 M MACs each); **depthwise rate** —
  eight 3x3 depthwise convs of 384 channels at 14x14 (0.68 M MACs each: a MobileNet-v2 middle stage; ONNX
  Runtime runs depthwise convs at 14x14 and 7x7 about a third slower than at 56x56, and MobileNet-v2's
  depthwise layers in the model at 12-17 GMAC/s where a 56x56 chain gives 23 on a 2-vCPU EPYC VM, so the
  smaller size is the representative one). Chained so that the per-call cost
  and ONNX Runtime's NCHWc layout reorders (one pair around a run of convs) are amortised; the per-call
  time is subtracted. Spec: extra engines ``conv`` (runs conv) and ``depthwise`` (runs depthwise).
* **model-shaped matmul rate** — a transformer feed-forward block at batch 1 (128 tokens: 768 -> 3072 -> 768,
  MatMul + bias, 18 MiB of weights): its weights are far beyond a core's L2 and its M is a sequence, as in
  BERT and ViT layers (on a quiet 2-vCPU EPYC VM 46 against 51 GMAC/s for the 512^3 GEMM; under load from
  other tenants it fell further than the small GEMM, whose operands stay in L2). Spec: an extra engine
  ``matmul`` (runs matmul; attention stays on the main engine at the GEMM rate).
* **element-wise rate** — 16 chained ``y + c`` Adds over 256 Ki fp32 elements (1 MiB, cache-resident);
  per call and per-op dispatch subtracted. Spec: ``vector_ops_per_cycle = elements/s / clock``.
* **memory bandwidth** — one ``a + b`` over fp32 vectors of at least 4 x the last-level cache (and 64 MiB)
  each: bytes moved (two read + one written, no write-allocate) / time. Spec: ``dram_bandwidth``,
  ``dram_efficiency 1`` (the figure is already the achieved one).
* **per-op dispatch** — chains of ``N`` one-element Adds: ``(t(200) - t(1)) / 199``. Spec: ``layer_overhead``.
* **per call** — one one-element Add's ``session.run`` time (from Python, as ``fitbench run`` times it).
  Spec: ``inference_overhead``.

Each figure is the **median** over samples, a sample being the mean call time over a ~25 ms slice of calls,
timed round-robin across the figures (a shared machine is noisy: the spread p25-p75 and min-max of the samples
are reported beside it). ``compute_efficiency`` is 1 (the rates are achieved ones), ``sram`` the
last-level cache, ``host_link on-soc``; no TDP. Sessions come from :class:`~.runtimes.onnxruntime.OrtRunner`
(the runtime ``fitbench run`` uses) and the statistics from :func:`~.stats.summarize`.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MeasurementError
from . import probe_models as pm

#: the chain lengths of the dispatch measurement
SHORT_CHAIN, LONG_CHAIN = 1, 200
#: fp16 is kept in the spec only when it is this much faster than fp32
FP16_GAIN = 1.10
#: measurement budget: (total seconds of round-robin timing, max rounds), full and quick
BUDGET = {False: (12.0, 2000), True: (3.0, 500)}


# ------------------------------------------------------------------ pure derivations

def macs_per_cycle(mac_rate: float, clock_hz: float) -> int:
    """MACs per cycle of a measured rate (MACs/s) at ``clock_hz``: ``rate / clock`` rounded half up to a whole
    number (the spec's field is an integer), at least 1."""
    if not (mac_rate > 0 and clock_hz > 0):
        raise ValueError(f"rate and clock must be positive, got {mac_rate} MAC/s at {clock_hz} Hz")
    return max(1, math.floor(mac_rate / clock_hz + 0.5))


def dispatch_overhead(t_short: float, t_long: float, n_short: int = SHORT_CHAIN, n_long: int = LONG_CHAIN) -> float:
    """Per-op dispatch time from two chain lengths: ``(t(n_long) - t(n_short)) / (n_long - n_short)`` (seconds;
    may come out negative on a noisy machine — the caller decides)."""
    if n_long <= n_short:
        raise ValueError(f"the long chain must be longer than the short one, got {n_long} <= {n_short}")
    return (t_long - t_short) / (n_long - n_short)


def net_rate(work: float, seconds: float, fixed_s: float = 0.0) -> float:
    """``work / (seconds - fixed_s)``: a rate with the fixed costs of the call taken out (raises when nothing
    is left, i.e. the fixed costs dominate the measurement)."""
    left = seconds - fixed_s
    if not left > 0:
        raise ValueError(f"the fixed costs ({fixed_s:.3g} s) are not below the measured time ({seconds:.3g} s)")
    return work / left


# ------------------------------------------------------------------ results

@dataclass(frozen=True)
class Figure:
    """One measured figure: ``value`` in ``unit`` from the median call time; the spread of the call times (each
    sample is the mean call time over one slice of ``calls_per_sample`` calls)."""

    name: str
    value: float
    unit: str
    what: str
    median_s: float
    p25_s: float
    p75_s: float
    min_s: float
    max_s: float
    samples: int            # slices timed (each sample = the mean call time over one slice)
    calls_per_sample: int

    @property
    def spread(self) -> float:
        """(p75 - p25) / median of the call times."""
        return (self.p75_s - self.p25_s) / self.median_s if self.median_s > 0 else math.nan


@dataclass
class ProbeResult:
    """What ``probe`` measured and the spec it derives (see the module doc)."""

    cpu_model: str
    clock_hz: float
    clock_source: str
    llc_bytes: int
    llc_source: str
    threads: int
    onnxruntime: str
    date: str
    quick: bool
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def rate(self, name: str) -> float:
        return self.figures[name].value

    @property
    def name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.cpu_model.lower()).strip("-") or "cpu"
        return f"{slug}-{self.threads}t"

    def spec_dict(self) -> dict[str, Any]:
        """The spec's fields (YAML-ready, units written out)."""
        from ..hardware.units import format_bytes

        f = self.figures
        clock = self.clock_hz
        macs = {p: macs_per_cycle(f[f"gemm_{p}"].value, clock) for p in ("fp32", "fp16", "int8") if f"gemm_{p}" in f}
        engines = []
        for eng, cls in (("conv", "conv"), ("depthwise", "depthwise"), ("matmul", "matmul")):
            if eng in f:
                engines.append({"name": eng, "runs": [cls],
                                "macs_per_cycle": {"fp32": macs_per_cycle(f[eng].value, clock)}})
        source = (f"measured by fitbench hw probe on {self.date}, threads {self.threads}, onnxruntime "
                  f"{self.onnxruntime}{' (quick)' if self.quick else ''}: medians of repeated calls on "
                  f"{self.cpu_model}; clock from {self.clock_source}, sram = last-level cache from {self.llc_source}; "
                  "rates are achieved ones, not datasheet peaks")
        fv = format_value
        lines = [f"{x.name}: {fv(x.value, x.unit)} ({x.what}; call time median {fv(x.median_s, 's')}, "
                 f"p25-p75 {fv(x.p25_s, 's')}-{fv(x.p75_s, 's')}, min-max {fv(x.min_s, 's')}-"
                 f"{fv(x.max_s, 's')}, {x.samples} samples of {x.calls_per_sample} calls)" for x in f.values()]
        d: dict[str, Any] = {
            "name": self.name,
            "kind": "cpu",
            "provenance": "custom",
            "source": source,
            "description": "; ".join(lines + self.notes),
            "clock": f"{clock / 1e6:.6g} MHz",
            "macs_per_cycle": macs,
            "compute_efficiency": 1.0,
            "vector_ops_per_cycle": round(f["vector"].value / clock, 4),
            "sram": format_bytes(self.llc_bytes),
            "dram_bandwidth": f"{f['bandwidth'].value / 1e9:.4g} GB/s",
            "dram_efficiency": 1.0,
            "layer_overhead": f"{max(f['dispatch'].value, 0.0) * 1e6:.4g} us",
            "inference_overhead": f"{f['per_call'].value * 1e6:.4g} us",
            "host_link": "on-soc",
        }
        if engines:
            d["engines"] = engines
        return d

    def spec(self):
        """The derived :class:`~fitbench.hardware.spec.HardwareSpec` (validated)."""
        from ..hardware.spec import load_hardware

        return load_hardware(self.spec_dict())

    def to_yaml(self) -> str:
        import yaml

        head = (f"# fitbench hw probe: {self.cpu_model}, {self.threads} thread(s), onnxruntime {self.onnxruntime}, "
                f"{self.date}\n")
        for x in self.figures.values():
            head += (f"#   {x.name:<10} {format_value(x.value, x.unit):>14}   call median "
                     f"{format_value(x.median_s, 's'):>9}  "
                     f"spread (p75-p25)/median {x.spread:.0%}  [{x.samples} x {x.calls_per_sample} calls]\n")
        for n in self.notes:
            head += f"#   note: {n}\n"
        return head + yaml.safe_dump(self.spec_dict(), sort_keys=False, width=110)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["spec"] = self.spec_dict()
        return d


def format_value(value: float, unit: str) -> str:
    from ..hardware.units import format_si

    if unit == "s":
        for scale, u in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {u}"
        return f"{value * 1e9:.3g} ns"
    return format_si(value, unit)


# ------------------------------------------------------------------ this machine

def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo via :func:`.conditions.cpu_info`)."""
    from .conditions import cpu_info

    return str(cpu_info()["cpu_model"] or "cpu").strip()


def cpu_clock() -> tuple[float, str]:
    """(Hz, where from): cpufreq's maximum, else lscpu's 'CPU max MHz', else /proc/cpuinfo's 'cpu MHz'
    (the highest over the cores)."""
    try:
        khz = int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text().strip())
        if khz > 0:
            return khz * 1e3, "cpufreq cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    out = _lscpu()
    m = re.search(r"^CPU max MHz:\s*([\d.]+)", out, re.M)
    if m and float(m.group(1)) > 0:
        return float(m.group(1)) * 1e6, "lscpu 'CPU max MHz'"
    try:
        mhz = [float(x) for x in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text(), re.M)]
    except OSError:
        mhz = []
    if mhz and max(mhz) > 0:
        return max(mhz) * 1e6, "/proc/cpuinfo 'cpu MHz'"
    raise MeasurementError("cannot read this CPU's clock (no cpufreq, lscpu or /proc/cpuinfo figure)")


def last_level_cache() -> tuple[int, str]:
    """(bytes of one instance of the last-level cache, where from): sysfs cache index, else lscpu."""
    best = (0, 0)
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for idx in sorted(base.glob("index*")) if base.is_dir() else []:
        try:
            level = int((idx / "level").read_text())
            kind = (idx / "type").read_text().strip()
            size = _size((idx / "size").read_text().strip())
        except (OSError, ValueError):
            continue
        if kind in ("Unified", "Data") and (level, size) > best:
            best = (level, size)
    if best[1]:
        return best[1], f"sysfs (L{best[0]})"
    for level in ("L3", "L2"):
        m = re.search(rf"^{level} cache:\s*([\d.]+)\s*([KMG]i?B)(?:\s*\((\d+) instances?\))?", _lscpu(), re.M)
        if m:
            total = float(m.group(1)) * {"K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)[0]]
            return int(total / int(m.group(3) or 1)), f"lscpu ({level})"
    raise MeasurementError("cannot read this CPU's last-level cache size (no sysfs cache index or lscpu)")


def _size(text: str) -> int:
    m = re.fullmatch(r"(\d+)\s*([KMG]?)", text)
    if not m:
        raise ValueError(text)
    return int(m.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)]


def _lscpu() -> str:
    import subprocess

    try:
        return subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10,
                              env={**os.environ, "LC_ALL": "C"}).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


# ------------------------------------------------------------------ timing

@dataclass
class _Case:
    name: str
    call: Any
    min_samples: int
    slice_calls: int = 1
    times: list[float] = field(default_factory=list)   # one mean call time per slice


class _Rounds:
    """Micro-benchmarks timed **round-robin**: every round gives each case one slice of calls lasting about
    ``SLICE_S``, and records the slice's **mean** call time as one sample; rounds go on until the budget is
    spent and every case has its minimum of samples. On a shared machine another process's burst then hits
    every figure alike (not whichever ran during it), and a preemption counts by its share of a slice — as it
    does in a model's long call — instead of turning a short call into an outlier or, past half of them, the
    median."""

    SLICE_S = 0.025

    def __init__(self, threads: int, quick: bool, tmp: str) -> None:
        self.threads, self.tmp, self.quick = threads, tmp, quick
        self.total_s, self.max_rounds = BUDGET[quick]
        self.cases: dict[str, _Case] = {}

    def add(self, name: str, model, feeds, min_samples: int = 5) -> None:
        """Load ``model`` at ``threads`` (raises MeasurementError when onnxruntime cannot run it) and warm it up."""
        import onnx

        from .runtimes.onnxruntime import OrtRunner

        path = os.path.join(self.tmp, f"{name}.onnx")
        onnx.save(model, path)
        call = OrtRunner(path, device="cpu", threads=self.threads).make_call(feeds)
        try:
            call()
            t0 = time.perf_counter()
            call()
            first = time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001 - ORT raises its own types for kernels it lacks
            raise MeasurementError(f"onnxruntime could not run it: {exc}") from None
        per_slice = max(1, min(5000, int(self.SLICE_S / max(first, 1e-7))))
        self.cases[name] = _Case(name, call, min_samples, per_slice)

    def run(self) -> dict[str, tuple[list[float], int]]:
        """Per case: (mean call time of each slice, calls per slice)."""
        start = time.perf_counter()
        for _ in range(self.max_rounds):
            done = time.perf_counter() - start >= self.total_s
            if done and all(len(c.times) >= c.min_samples for c in self.cases.values()):
                break
            for c in self.cases.values():
                call, n = c.call, c.slice_calls
                t0 = time.perf_counter_ns()
                for _ in range(n):
                    call()
                c.times.append((time.perf_counter_ns() - t0) * 1e-9 / n)
        return {k: (c.times, c.slice_calls) for k, c in self.cases.items()}


def _figure(name: str, what: str, unit: str, sampled: tuple[list[float], int], value_of) -> Figure:
    from .stats import summarize

    times, per_sample = sampled
    s = summarize([t * 1e3 for t in times])
    med = s.p50_ms / 1e3
    return Figure(name=name, value=float(value_of(med)), unit=unit, what=what, median_s=med, p25_s=s.p25_ms / 1e3,
                  p75_s=s.p75_ms / 1e3, min_s=s.min_ms / 1e3, max_s=s.max_ms / 1e3, samples=s.count,
                  calls_per_sample=per_sample)


def probe(threads: int = 1, quick: bool = False) -> ProbeResult:
    """Measure this CPU at ``threads`` intra-op threads (see the module doc); ``quick``: smaller sizes and
    budgets (a few seconds in all)."""
    from .runtimes import require

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise MeasurementError(f"--threads must be a positive integer, got {threads!r}")
    version = require("onnxruntime")
    clock, clock_src = cpu_clock()
    llc, llc_src = last_level_cache()
    res = ProbeResult(cpu_model=cpu_model(), clock_hz=clock, clock_source=clock_src, llc_bytes=llc, llc_source=llc_src,
                      threads=threads, onnxruntime=version, date=_dt.date.today().isoformat(), quick=quick)
    n = 512 if quick else 1024
    conv_cases = (("conv", 3, 64, 56, False), ("depthwise", 8, 384, 14, True))
    vec_depth, vec_elems = 16, 256 * 1024
    bw_elems = max(4 * llc, 64 * 2**20) // 4
    work: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="fitbench-probe-") as tmp:
        r = _Rounds(threads, quick, tmp)
        r.add("per_call", *pm.add_chain(1, SHORT_CHAIN)[:2])
        r.add("chain", *pm.add_chain(1, LONG_CHAIN)[:2])
        for prec in ("fp32", "int8", "fp16"):
            m, feeds, work[f"gemm_{prec}"] = pm.gemm(n, prec)
            try:
                r.add(f"gemm_{prec}", m, feeds)
            except MeasurementError as exc:
                res.notes.append(f"{prec} GEMM does not run in onnxruntime here ({exc}); the spec gives no {prec} rate")
        for name, depth, ch, size, dw in conv_cases:
            m, feeds, work[name] = pm.conv_chain(channels=ch, size=size, depth=depth, depthwise=dw)
            r.add(name, m, feeds)
        m, feeds, work["matmul"] = pm.ffn_block()
        r.add("matmul", m, feeds)
        m, feeds, work["vector"] = pm.add_chain(vec_elems, vec_depth)
        r.add("vector", m, feeds)
        m, feeds, work["bandwidth"] = pm.stream_add(bw_elems)
        r.add("bandwidth", m, feeds)
        del m, feeds
        times = r.run()

    f = res.figures
    f["per_call"] = _figure("per_call", "one 1-element Add per session.run", "s", times["per_call"], lambda t: t)
    call_s = f["per_call"].value
    f["dispatch"] = _figure("dispatch", f"({LONG_CHAIN}-Add chain - 1-Add chain) / {LONG_CHAIN - 1}, 1 element", "s",
                            times["chain"], lambda t: dispatch_overhead(call_s, t))
    if f["dispatch"].value <= 0:
        res.notes.append("the dispatch figure came out <= 0 (noise); layer_overhead written as 0")
    disp = max(f["dispatch"].value, 0.0)
    for prec in ("fp32", "int8", "fp16"):
        key = f"gemm_{prec}"
        if key in times:
            op = "MatMulInteger (uint8 x int8)" if prec == "int8" else "MatMul"
            f[key] = _figure(key, f"{n}x{n}x{n} {op}", "MAC/s", times[key],
                             lambda t, w=work[key]: net_rate(w, t, call_s + disp))
    fp16, fp32 = f.get("gemm_fp16"), f["gemm_fp32"]
    if fp16 is not None:
        best16, best32 = work["gemm_fp16"] / fp16.min_s, work["gemm_fp32"] / fp32.min_s
        if not (fp16.value >= FP16_GAIN * fp32.value and best16 >= FP16_GAIN * best32):
            del f["gemm_fp16"]
            res.notes.append(f"fp16 MatMul ran at {format_value(fp16.value, 'MAC/s')} (best sample "
                             f"{format_value(best16, 'MAC/s')}), "
                             f"not {FP16_GAIN - 1:.0%} faster than fp32 ({format_value(fp32.value, 'MAC/s')}, best "
                             f"{format_value(best32, 'MAC/s')}): onnxruntime runs fp16 as fp32 between Casts here, so "
                             "the spec gives no fp16 rate")
    for name, depth, ch, size, dw in conv_cases:
        what = f"{depth} chained 3x3 {'depthwise ' if dw else ''}convs {ch}->{ch} at {size}x{size}, batch 1"
        f[name] = _figure(name, what, "MAC/s", times[name],
                          lambda t, w=work[name], d=depth: net_rate(w, t, call_s + d * disp))
    f["matmul"] = _figure("matmul", "a transformer FFN block at batch 1: 128x768 @ 768x3072 + b, @ 3072x768 + b "
                          "(18 MiB of weights)", "MAC/s", times["matmul"],
                          lambda t: net_rate(work["matmul"], t, call_s + 4 * disp))
    f["vector"] = _figure("vector", f"{vec_depth} chained y + c Adds over {vec_elems} fp32 elements", "op/s",
                          times["vector"], lambda t: net_rate(work["vector"], t, call_s + vec_depth * disp))
    f["bandwidth"] = _figure("bandwidth", f"a + b over 2 x {bw_elems * 4 / 2**20:.0f} MiB fp32, bytes = 3 x 4 x "
                             "elements", "B/s", times["bandwidth"], lambda t: net_rate(work["bandwidth"], t, call_s))
    res.notes.append("figures are timed round-robin (one ~25 ms slice of calls each per round; a sample is a slice's "
                     "mean call time), so a burst of load from another process affects all of them alike")
    return res
