from __future__ import annotations

import onnx
import pytest

from fitbench.measure import testmodels


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
