"""GPU check: the seed's batch effect, measured. ResNet-50 at 224x224 and YOLOv3 at 1920x1088,
batch 1 and 64, PyTorch fp16 on CUDA, offline scenario; prints throughput (images/s) per batch
and the ratio of batch 64 to batch 1.

Where no CUDA GPU is present it says so and exits 0.

    PYTHONPATH=src python benchmarks/gpu_check.py [--duration 2] [--h2d]

Host-to-device input copies are outside the timer by default (GPU throughput); ``--h2d`` puts
them inside (what an application that feeds from host memory sees). Weights are random: latency
does not depend on weight values.
"""

from __future__ import annotations

import argparse
import sys

CASES = [
    ("resnet50", (224, 224)),
    ("yolov3", (1088, 1920)),   # 1920x1088: 1080p rounded up to a multiple of 32
]
BATCHES = (1, 64)


def main() -> int:
    ap = argparse.ArgumentParser(description="ResNet-50 and YOLOv3 throughput at batch 1 and 64 on CUDA (fp16)")
    ap.add_argument("--duration", type=float, default=2.0, help="minimum timed seconds per measurement")
    ap.add_argument("--h2d", action="store_true", help="host-to-device copies inside the timer")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("gpu_check: torch is not installed (pip install 'fitbench[torch]'); no GPU measured")
        return 0
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU present on this machine; nothing measured")
        return 0

    from fitbench.measure import measure

    print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"fp16, offline scenario, H2D copy {'inside' if args.h2d else 'outside'} the timer")
    print(f"{'model':10s} {'input (HxW)':12s} {'batch':>5s} {'images/s':>10s} {'p50 ms/batch':>13s} "
          f"{'samples':>8s}  status")
    failures = 0
    for name, res in CASES:
        tput = {}
        for b in BATCHES:
            r = measure(name, runtime="torch", device="cuda", precision="fp16", batch=b, resolution=res,
                        scenario="offline", min_count=10, min_duration_s=args.duration, warmup_count=5,
                        warmup_s=1.0, include_h2d=args.h2d, timeout_s=300)
            if not r.ok:
                failures += 1
                print(f"{name:10s} {res[0]}x{res[1]:<7d} {b:5d} {'':>10s} {'':>13s} {'':>8s}  failed: {r.cause}")
                continue
            tput[b] = r.throughput
            print(f"{name:10s} {res[0]}x{res[1]:<7d} {b:5d} {r.throughput:10.1f} {r.latency.p50_ms:13.3f} "
                  f"{r.samples:8d}  ok" + (f" ({'; '.join(r.warnings)})" if r.warnings else ""))
        if len(tput) == 2:
            print(f"{name:10s} batch-64 / batch-1 throughput: {tput[64] / tput[1]:.2f}x")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
