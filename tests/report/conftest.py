"""Shared, session-scoped comparisons for the report tests (small models, built once).

* ``full``: the zoo's tiny conv net at 64x64 on two hand-made chips and a catalog chip, measured with ONNX
  Runtime, so that every plot of the report has data (input-size curve and latency distribution included).
* ``evil``: a MatMul + Relu model whose node names, and a spec whose source, carry ``<script>``/``<img onerror>``
  markup: the report must show them as text and run none of it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compare"))

from evil_names import EVIL_NODE, EVIL_RELU, EVIL_SOURCE  # noqa: E402
from hand_chips import HOLDER, STREAMER, matmul_model  # noqa: E402


@pytest.fixture(scope="session")
def full_comp():
    from fitbench.compare import compare

    return compare("tiny@64", hw=[STREAMER, HOLDER, "catalog:edge-npu-slow-dram"], batch=[1, 4],
                   baseline="tiny@32:batch=32", precision="int8", measure_runtimes=["onnxruntime"],
                   batch_curve=(1, 4, 16))


@pytest.fixture(scope="session")
def evil_comp(tmp_path_factory):
    from fitbench.compare import compare

    path = matmul_model(tmp_path_factory.mktemp("evil") / "evil.onnx", node_name=EVIL_NODE, relu_name=EVIL_RELU)
    evil = dict(STREAMER, source=EVIL_SOURCE)
    return compare(path, hw=[evil, HOLDER], batch=[1], baseline=f"{path}:batch=32", batch_curve=(1, 32),
                   label=f"evil {EVIL_NODE}")


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory, full_comp, evil_comp):
    from fitbench.report.html import write_html

    d = tmp_path_factory.mktemp("reports")
    write_html(full_comp, d / "full.html")
    write_html(evil_comp, d / "evil.html")
    return d
