from __future__ import annotations

import onnx
import pytest

from fitbench.measure import testmodels

# short settings for every measurement in these tests: ~0.2-0.3 s of timed work each
FAST = dict(min_count=20, min_duration_s=0.2, warmup_count=2, warmup_s=0.05, threads=1, timeout_s=60)


@pytest.fixture(scope="session")
def conv_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("models") / "tiny_convnet.onnx"
    onnx.save(testmodels.tiny_convnet(), p)
    return p


@pytest.fixture(scope="session")
def matmul_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("models") / "matmul.onnx"
    onnx.save(testmodels.matmul_model(n=256), p)
    return p
