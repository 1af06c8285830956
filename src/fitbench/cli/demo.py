"""``fitbench demo``: the main job on built-in defaults, no arguments needed.

One application file (a 4-camera edge box, shipped in ``fitbench/compare/apps/edge-4-camera.yaml``) decides
which offering meets its requirements; beside it YOLOv3 at 1920x1080 (batch 1 and 4) against ResNet-50 at
224x224 (batch 32) on every catalog chip,
more zoo models estimated on the same chips, a short real ONNX Runtime measurement of a small model,
everything stored in the embedded SQLite database, and the report written.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from .common import user_errors

DEMO_WORKLOAD = "yolov3@1920x1080"
DEMO_BATCHES = [1, 4]
DEMO_BASELINE = "resnet50@224:batch=32"
DEMO_MORE = ["resnet50@224:batch=1", "mobilenet-v2@224:batch=1", "yolov3-tiny@416:batch=1",
             "bert-base:seq_len=128:batch=1", "unet:batch=1"]
DEMO_MEASURE = ["mobilenet-v2@224:batch=1"]
DEMO_APP = Path(__file__).resolve().parents[1] / "compare" / "apps" / "edge-4-camera.yaml"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)


@user_errors
def demo_cmd(
    output: Path = typer.Option(Path("fitbench-demo"), "--output", "-o", help="folder for the report files"),
    db: str | None = typer.Option(
        None, "--db", help="results database: a SQLite path or postgresql:// URL "
        "(default: $FITBENCH_DB or ~/.fitbench/results.db)"),
    no_measure: bool = typer.Option(False, "--no-measure", help="skip the real ONNX Runtime measurement"),
) -> None:
    """Run the main job on built-in defaults: compare, measure, store, and write the report."""
    from ..compare import compare
    from ..errors import writing
    from ..report.static import print_comparison, terminal_console, write_outputs
    from ..store import open_store

    console = terminal_console()
    t0 = time.perf_counter()
    with writing(output):
        output.mkdir(parents=True, exist_ok=True)
    store = open_store(db)
    from ..compare.app_file import load_application

    app = load_application(DEMO_APP)
    console.print(f"[bold]fitbench demo[/bold]: does any offering meet the {app.name} ({app.describe()})?")
    console.print(f"{DEMO_WORKLOAD} batch {','.join(map(str, DEMO_BATCHES))} vs "
                  f"{DEMO_BASELINE} on the hardware catalog (int8), plus {len(DEMO_MORE)} more zoo models"
                  + ("" if no_measure else f" and a real ONNX Runtime run of {DEMO_MEASURE[0]}"))
    from ..hardware.spec import catalog_names
    from ..validation.calibrate import default_bands

    comp = compare(DEMO_WORKLOAD, hw="catalog:*", batch=DEMO_BATCHES, baseline=DEMO_BASELINE, precision="int8",
                   error_bands=default_bands(catalog_names()), also_estimate=DEMO_MORE,
                   also_measure=[] if no_measure else DEMO_MEASURE, store=store, app=app)
    print_comparison(comp, console)
    files = []
    for name in ("report.html", "report.md", "comparison.csv", "comparison.json"):
        files += write_outputs(comp, output / name)
    elapsed = time.perf_counter() - t0
    console.print(f"stored as sweep [bold]{comp.sweep_id}[/bold] in {store.location}")
    console.print(f"wrote {len(files)} files in {output}/ in {elapsed:.1f} s")
    sys.stdout.write(f"report: {(output / 'report.html').resolve()}\n")
