"""GPU check, the one prepared script for a lent CUDA machine: the seed's batch effect on real silicon.

ResNet-50 at 224x224 and YOLOv3 at 1920x1088 (1080p letterboxed to a multiple of 32), batch 1 and 64, fp16,
offline scenario, each measured by ``fitbench run --device cuda`` on both runtimes (PyTorch, and ONNX Runtime's
CUDA provider with the fp16 conversion), and printed beside fitbench's estimate for that GPU from the catalog
(the spec picked by the device name, :func:`catalog_spec`): images/s per batch and the batch-64 / batch-1
throughput ratio, measured and estimated.

    PYTHONPATH=src python benchmarks/gpu_check.py [--duration 2] [--h2d] [--json out.json]

Where no CUDA GPU is present it prints one line saying so and exits 0. Exit 1 when a measurement failed.
Host-to-device input copies are outside the timer by default (GPU throughput, ``--no-h2d``); ``--h2d`` puts
them inside. Weights are random (latency does not depend on their values). Sized to finish in ~5 minutes on an
H200 (8 points, each a fresh child: CUDA start, fp16 conversion on ONNX Runtime, 1 s warm-up, ``--duration``);
no model starts past ``--budget`` seconds (420) and a measurement is killed at ``--timeout`` (150), so it stays
within ~8 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# (zoo name, --resolution WIDTHxHEIGHT, profile resolution (H, W))
CASES = [
    ("resnet50", "224x224", (224, 224)),
    ("yolov3", "1920x1088", (1088, 1920)),
]
BATCHES = (1, 64)
RUNTIMES = ("torch", "onnxruntime")
_DROP = {"nvidia", "tesla", "geforce", "gpu", "tensor", "core"}


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\s_\-]+", text.lower()) if t and t not in _DROP]


def catalog_spec(device_name: str, names: list[str]) -> str | None:
    """The catalog spec for a CUDA device name (``torch.cuda.get_device_name``), or ``None``.

    The chip token (``h200``, ``a100``, ``t4``...) must match a spec's; among those, the spec sharing most
    of the name's other tokens wins (``pcie``, ``sxm4``, ``80gb``; "HBM3" names an H100 SXM), ties going
    to the shortest name. E.g. "NVIDIA H200" -> nvidia-h200, "NVIDIA A100-SXM4-80GB" -> nvidia-a100-sxm4-80gb.
    """
    toks = _tokens(device_name)
    if not toks:
        return None
    chip, rest = toks[0], set(toks[1:])
    if "hbm3" in rest:
        rest.add("sxm")
    best, best_key = None, None
    for name in names:
        if not name.startswith("nvidia-"):
            continue
        st = _tokens(name)
        if not st or st[0] != chip:
            continue
        key = (len(rest & set(st[1:])), -len(name))
        if best_key is None or key > best_key:
            best, best_key = name, key
    return best


def gpu_name() -> str | None:
    """The first CUDA device's name (torch; else ``nvidia-smi``), ``None`` where there is none."""
    try:
        import torch

        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(0))
    except ImportError:
        pass
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                                 text=True, timeout=30, check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        if out:
            return out.splitlines()[0].strip()
    return None


def runtimes_with_cuda() -> list[str]:
    from fitbench.measure.runtimes import runtime_status

    return [r["runtime"] for r in runtime_status() if r["runtime"] in RUNTIMES and "cuda" in r["devices"]]


def run_point(model: str, resolution: str, runtime: str, args, out: str,
              wall_s: float = 600.0) -> tuple[list[dict], str]:
    """``fitbench run`` (the CLI, in a subprocess killed after ``wall_s``) at batch 1 and 64; its JSON rows
    and stderr."""
    cmd = [sys.executable, "-m", "fitbench.cli.app", "run", model, "--resolution", resolution,
           "--batch", ",".join(str(b) for b in BATCHES), "--runtime", runtime, "--device", "cuda",
           "--precision", "fp16", "--scenario", "offline", "--min-count", "10",
           "--min-duration", str(args.duration), "--warmup", "1", "--warmup-count", "5",
           "--timeout", str(args.timeout), "--h2d" if args.h2d else "--no-h2d", "--format", "json", "-o", out]
    try:  # two children (batch 1 and 64), each killed at --timeout; the conversion and start-up besides
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=wall_s)
        err = proc.stderr.strip()
    except subprocess.TimeoutExpired:
        err = f"fitbench run did not finish within {wall_s:.0f} s (the script's time budget); killed"
    rows: list[dict] = []
    if os.path.exists(out):
        with open(out) as f:
            data = json.load(f)
        rows = data if isinstance(data, list) else [data]
    return rows, err


def estimates(spec: str) -> dict[str, dict[int, float]]:
    """fitbench's estimated images/s per (model, batch) on ``spec`` at fp16."""
    import fitbench

    est: dict[str, dict[int, float]] = {}
    for model, _, hw in CASES:
        e = fitbench.estimate(fitbench.profile(model, resolution=hw), spec, batch=list(BATCHES), precision="fp16")
        est[model] = {int(p.batch): float(p.throughput_ips) for p in e.points}
    return est


def _ratio(d: dict[int, float]) -> str:
    a, b = d.get(BATCHES[0]), d.get(BATCHES[-1])
    return f"{b / a:.2f}x" if a and b else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ResNet-50 and YOLOv3 at batch 1 and 64, fp16, on CUDA: "
                                             "measured (torch, onnxruntime) beside the catalog estimate")
    ap.add_argument("--duration", type=float, default=2.0, help="minimum timed seconds per measurement")
    ap.add_argument("--timeout", type=float, default=150.0, help="kill one measurement after this many seconds")
    ap.add_argument("--budget", type=float, default=420.0,
                    help="start no further model after this many seconds (the script stays within ~8 minutes)")
    ap.add_argument("--h2d", action="store_true", help="host-to-device copies inside the timer")
    ap.add_argument("--json", default=None, help="also write every row (measured and estimated) here")
    args = ap.parse_args(argv)
    name = gpu_name()
    if name is None:
        print("gpu_check: no CUDA GPU present on this machine; nothing measured")
        return 0
    cuda_rts = runtimes_with_cuda()
    from fitbench.hardware.spec import catalog_names

    spec = catalog_spec(name, catalog_names())
    print(f"gpu_check: {name}; catalog spec {spec or 'none matches'}; runtimes with CUDA here: "
          f"{', '.join(cuda_rts) or 'none'}; fp16, offline, H2D {'inside' if args.h2d else 'outside'} the timer")
    t0 = time.monotonic()
    est = estimates(spec) if spec else {}
    failures = 0
    rows_out: list[dict] = []
    print(f"{'model':9s} {'runtime':12s} {'batch':>5s} {'measured img/s':>15s} {'estimated img/s':>16s}  status")
    tmp = tempfile.mkdtemp(prefix="fitbench-gpu-check-")
    try:
        for runtime in RUNTIMES:
            if runtime not in cuda_rts:
                print(f"{'':9s} {runtime:12s} skipped: no CUDA device for it here (see fitbench runtimes)")
                continue
            for model, res, _ in CASES:
                if time.monotonic() - t0 > args.budget:
                    print(f"{model:9s} {runtime:12s} skipped: past the --budget of {args.budget:g} s")
                    continue
                left = t0 + args.budget + 60 - time.monotonic()  # hard stop a minute past the budget
                rows, err = run_point(model, res, runtime, args, os.path.join(tmp, f"{runtime}-{model}.json"),
                                      wall_s=max(30.0, min(3 * args.timeout + 120, left)))
                got: dict[int, float] = {}
                if not rows:
                    failures += 1
                    print(f"{model:9s} {runtime:12s} failed: {err.splitlines()[-1] if err else 'no result'}")
                for r in rows:
                    b = int(r.get("batch") or 0)
                    e = est.get(model, {}).get(b)
                    ok = r.get("status") == "ok" and r.get("throughput")
                    if ok:
                        got[b] = float(r["throughput"])
                    else:
                        failures += 1
                    print(f"{model:9s} {runtime:12s} {b:5d} {got.get(b, float('nan')):15.1f} "
                          f"{e if e is not None else float('nan'):16.1f}  "
                          + ("ok" if ok else f"failed: {r.get('cause')}"))
                    rows_out.append({"model": model, "runtime": runtime, "batch": b, "gpu": name, "spec": spec,
                                     "measured_ips": got.get(b), "estimated_ips": e, "status": r.get("status"),
                                     "cause": r.get("cause"), "warnings": r.get("warnings")})
                print(f"{model:9s} {runtime:12s} batch-{BATCHES[-1]} / batch-{BATCHES[0]}: measured {_ratio(got)}, "
                      f"estimated {_ratio(est.get(model, {}))}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows_out, f, indent=1)
    print(f"gpu_check: done in {time.monotonic() - t0:.0f} s, {failures} failed measurement(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
