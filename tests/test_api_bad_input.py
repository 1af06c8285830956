"""The Python API refuses bad arguments with a one-line FitbenchError (never a TypeError/ValueError from deep
inside), as the CLI does."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import fitbench
from fitbench.errors import FitbenchError, ModelLoadError, ShapeError


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    path = tmp_path_factory.mktemp("api") / "conv.onnx"
    onnx.save(proto, path)
    return str(path)


CASES = [
    ("profile-int-model", lambda m: fitbench.profile(123), ModelLoadError, "got int"),
    ("profile-none-model", lambda m: fitbench.profile(None), ModelLoadError, "got NoneType"),
    ("profile-batch-text", lambda m: fitbench.profile(m, batch="a"), ShapeError, "positive integer, got 'a'"),
    ("profile-batch-float", lambda m: fitbench.profile(m, batch=2.5), ShapeError, "got 2.5"),
    ("profile-batch-bool", lambda m: fitbench.profile(m, batch=True), ShapeError, "got True"),
    ("profile-inputs-list", lambda m: fitbench.profile(m, inputs=["1x3x8x8"]), ShapeError, "inputs must map"),
    ("profile-dims-list", lambda m: fitbench.profile(m, batch=1, dims=[("N", 1)]), ShapeError, "dims must map"),
    ("estimate-path", lambda m: fitbench.estimate(m, "nvidia-t4"), FitbenchError, "needs a profile"),
    ("estimate-batch-text", lambda m: fitbench.estimate(fitbench.profile(m, batch=1), "nvidia-t4", batch="a"),
     FitbenchError, "positive integer"),
    ("measure-batch-text", lambda m: fitbench.measure(m, batch="a"), FitbenchError, "positive integers"),
    ("measure-no-batch", lambda m: fitbench.measure(m, batch=[]), FitbenchError, "positive integers"),
    ("measure-threads-zero", lambda m: fitbench.measure(m, batch=1, threads=0), FitbenchError, "threads"),
    ("measure-timeout-negative", lambda m: fitbench.measure(m, batch=1, timeout_s=-1), FitbenchError, "timeout"),
    ("compare-batch-text", lambda m: fitbench.compare(m, hw="nvidia-t4", batch="a"), FitbenchError,
     "positive integers"),
    ("compare-unknown-runtime", lambda m: fitbench.compare(m, hw="nvidia-t4", batch=1, measure_runtimes=["tf"]),
     FitbenchError, "unknown runtime 'tf'"),
]


@pytest.mark.parametrize("call,error,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_is_a_fitbench_error(model, call, error, fragment):
    with pytest.raises(error) as info:
        call(model)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_numpy_integers_are_integers(model):
    prof = fitbench.profile(model, batch=np.int64(2))
    assert prof.conditions.batch == 2
    assert [p.batch for p in fitbench.estimate(prof, "nvidia-t4", batch=np.int32(2)).points] == [2]
