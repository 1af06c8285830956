"""The requirement verdict in every output: terminal, Markdown (+ PNGs), CSV beside the figures, JSON round trip.

Chips and application from tests/compare/test_requirements.py (hand arithmetic there): b meets at batch 3 with
2 chips and 6 W; a fails the 8 W budget by 2 W; c fails the 48 ms budget by 17 ms.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compare"))

from hand_chips import matmul_model  # noqa: E402
from test_requirements import A, B, C, camera_app  # noqa: E402


@pytest.fixture(scope="module")
def req_comp(tmp_path_factory):
    from fitbench.compare import compare

    mm = matmul_model(tmp_path_factory.mktemp("reqout") / "mm.onnx")
    return compare(mm, hw=[A, B, C], baseline=f"{mm}:batch=64", batch_curve=(1,),
                   app=camera_app(power_w=8.0, max_chips=4))


def test_markdown_csv_json_carry_the_verdict(req_comp, tmp_path):
    from fitbench.compare import Comparison
    from fitbench.report.static import write_outputs

    md_files = write_outputs(req_comp, tmp_path / "r.md")
    md = (tmp_path / "r.md").read_text()
    assert md.index("## Meets your requirements?") < md.index("## Rankings")
    row_b = next(line for line in md.splitlines() if line.startswith("| 1 | b |"))
    assert "| meets | 3 | 40 ms |" in row_b
    assert "2 W (25%) over the 8 W budget" in md
    assert {p.name for p in md_files} >= {"r-req-latency.png", "r-req-chips.png"}
    assert all(p.stat().st_size > 1000 for p in md_files if p.suffix == ".png")

    csv_files = write_outputs(req_comp, tmp_path / "r.csv")
    assert [p.name for p in csv_files] == ["r.csv", "r-requirements.csv"]
    df = pd.read_csv(tmp_path / "r-requirements.csv").set_index("offering")
    assert df.loc["b", "batch"] == 3 and df.loc["b", "chips"] == 2 and df.loc["b", "power_w"] == pytest.approx(6)
    assert df.loc["a", "verdict"] == "fails" and df.loc["a", "power_margin"] == pytest.approx(-2)
    assert df.loc["c", "latency_margin"] == pytest.approx(-17.001e-3)

    write_outputs(req_comp, tmp_path / "r.json")
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["requirements"]["winner"] == "b"
    back = Comparison.from_dict(d).requirements
    assert back.verdict("b").check("latency").margin == pytest.approx(8e-3)
    assert back.application.rate == 200 and back.picks[0].offering == "c"


def test_terminal_prints_the_verdict_first(req_comp):
    import io

    from rich.console import Console

    from fitbench.report.static import print_comparison

    buf = io.StringIO()
    print_comparison(req_comp, Console(file=buf, width=200))
    text = buf.getvalue()
    assert text.index("Meets your requirements?") < text.index("Your workload:")
    assert "b meets the requirements at the lowest power: batch 3, 2 chips, 6 W" in text
    assert "queueing model:" in text


def test_demo_application_file_is_valid():
    from fitbench.cli.demo import DEMO_APP
    from fitbench.compare.app_file import load_application

    app = load_application(DEMO_APP)
    assert (app.streams, app.fps, app.latency_budget_s, app.max_chips) == (4, 30, 0.1, 4)
    assert app.model == "yolov3" and app.resolution == (1080, 1920)
