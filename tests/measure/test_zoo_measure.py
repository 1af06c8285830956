"""Measuring zoo models by name."""

from __future__ import annotations

import hashlib

import pytest
from measure_fast import FAST

from fitbench import zoo
from fitbench.measure import measure


def test_zoo_tiny_by_name_per_batch():
    rs = measure("tiny", batch=[1, 2], **FAST)
    assert [r.status for r in rs] == ["ok", "ok"], [r.cause for r in rs]
    assert [r.batch for r in rs] == [1, 2]
    for r, b in zip(rs, (1, 2)):
        built = zoo.build("tiny", batch=b, materialize_weights=True)
        name, shape = next(iter(built.input_shapes.items()))
        assert r.conditions["fed_shapes"] == {name: [b, *list(shape)[1:]]}
        assert r.conditions["model_sha256"] == hashlib.sha256(built.proto.SerializeToString()).hexdigest()


@pytest.mark.slow
def test_resnet50_small_single_stream_and_offline():
    for scenario in ("single-stream", "offline"):
        r = measure("resnet50", resolution=(64, 64), batch=1, scenario=scenario,
                    **{**FAST, "min_count": 5, "min_duration_s": 0.3, "warmup_count": 1})
        assert r.ok, r.cause
        assert r.conditions["fed_shapes"] == {next(iter(r.conditions["input_shapes"])): [1, 3, 64, 64]}
        assert r.throughput == pytest.approx(r.samples / r.wall_s)


# --input reads as in ``fitbench profile`` (model_source.build_zoo): one NxCxHxW input of a zoo image
# model, named or bare, sets its resolution HxW and batch N (--batch wins over N), with a note.
# tiny ends in GAP + fc(16 -> classes=10), so its output is [N, 10] at any resolution.
@pytest.mark.parametrize(
    "inputs, batch, fed, out",
    [
        ({"input": "1x3x64x64"}, None, [1, 3, 64, 64], [[1, 10]]),
        ({"": "2x3x48x40"}, None, [2, 3, 48, 40], [[2, 10]]),
        ({"input": "1x3x64x64"}, 3, [3, 3, 64, 64], [[3, 10]]),
    ],
)
def test_zoo_input_sets_resolution_and_batch_like_profile(inputs, batch, fed, out):
    from fitbench.profile import profile

    r = measure("tiny", inputs=inputs, batch=batch, quick=True, **FAST)
    assert r.ok, r.cause
    assert r.conditions["fed_shapes"] == {"input": fed}
    assert r.conditions["input_shapes"] == {"input": fed}
    assert r.conditions["output_shapes"] == out
    assert r.batch == fed[0]
    built = zoo.build("tiny", batch=fed[0], resolution=(fed[2], fed[3]), materialize_weights=True)
    assert r.conditions["model_sha256"] == hashlib.sha256(built.proto.SerializeToString()).hexdigest()
    note = f"--input set the zoo model's --resolution {fed[3]}x{fed[2]}"
    assert note in r.conditions["notes"]
    prof = profile("tiny", inputs=inputs, batch=batch)
    assert prof.conditions.input_shapes == {"input": fed} and note in prof.conditions.notes


def test_onnx_file_bare_input_binds_its_only_input(conv_path):
    # testmodels.tiny_convnet: one input ``x`` [N, 3, 32, 32]; the file itself runs (same sha256)
    r = measure(str(conv_path), inputs={"": "2x3x32x32"}, **FAST)
    assert r.ok, r.cause
    assert r.conditions["fed_shapes"] == {"x": [2, 3, 32, 32]}
    assert r.conditions["output_shapes"] == [[2, 10]]
    assert r.conditions["model_sha256"] == hashlib.sha256(conv_path.read_bytes()).hexdigest()
    assert not any("--input set" in n for n in r.conditions["notes"])


def test_torch_zoo_input_sets_resolution():
    pytest.importorskip("torch")
    r = measure("tiny-convnet", runtime="torch", inputs={"": "2x3x40x40"}, **FAST)
    assert r.ok, r.cause
    assert r.conditions["fed_shapes"] == {"input": [2, 3, 40, 40]}
    assert r.conditions["output_shapes"] == [[2, 10]]
    assert "--input set the zoo model's --resolution 40x40" in r.conditions["notes"]


@pytest.mark.parametrize("runtime", ["torch", "onnxruntime"])
def test_module_bare_input_is_named_after_forward(runtime):
    # nn.Sequential.forward(self, input): a bare --input binds ``input``, as the ONNX export names it
    pytest.importorskip("torch")
    r = measure("fitbench.measure.runtimes.torch_models:tiny_convnet", runtime=runtime,
                inputs={"": "2x3x32x32"}, **FAST)
    assert r.ok, r.cause
    assert r.conditions["fed_shapes"] == {"input": [2, 3, 32, 32]}
    assert r.conditions["output_shapes"] == [[2, 10]]
