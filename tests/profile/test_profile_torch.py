"""PyTorch input: nn.Module (API) and package.module:factory (API and CLI), same IR as ONNX."""

from __future__ import annotations

import json
import textwrap

import pytest
from profile_builders import run_cli

from fitbench.profile import profile

torch = pytest.importorskip("torch")
nn = torch.nn

FACTORY = textwrap.dedent(
    """
    import torch.nn as nn

    def build():
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2, padding=1))
    """
)


def net_macs(n: int, h: int, w: int) -> int:
    return n * 8 * h * w * 3 * 9 + n * 4 * (h // 2) * (w // 2) * 8 * 9


def test_module_with_example_inputs():
    module = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2, padding=1))
    prof = profile(module, example_inputs=torch.zeros(1, 3, 32, 32))
    assert prof.totals.macs == net_macs(1, 32, 32)
    assert prof.totals.weights == sum(p.numel() for p in module.parameters())
    assert prof.model.path is None and prof.model.name == "Sequential"


def test_module_with_input_shapes_and_rebatch():
    module = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2, padding=1))
    prof = profile(module, inputs={"x": "1x3x16x16"}, batch=4)
    assert prof.conditions.input_shapes == {"x": [4, 3, 16, 16]}
    assert prof.totals.macs == net_macs(4, 16, 16)


def test_module_with_unnamed_input_dims_names_the_input_after_forward():
    # --input 1x3x16x16 (no name) on a PyTorch factory: the input is named as forward names it ("input" for a
    # Sequential), not "onnx::Conv_0"
    module = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2, padding=1))
    prof = profile(module, inputs={"": "2x3x16x16"})
    assert prof.conditions.input_shapes == {"input": [2, 3, 16, 16]}
    assert prof.totals.macs == net_macs(2, 16, 16)


def test_bidirectional_lstm_from_torch():
    seq, batch, inp, hidden = 7, 2, 5, 4
    module = nn.LSTM(inp, hidden, bidirectional=True)
    prof = profile(module, example_inputs=torch.zeros(seq, batch, inp))
    lstm = [x for x in prof.layers if x.op_type == "LSTM"]
    assert len(lstm) == 1
    assert lstm[0].macs == 2 * seq * batch * 4 * hidden * (inp + hidden)
    # the exporter's zero initial states are not parameters
    assert prof.totals.weights == sum(p.numel() for p in module.parameters())


def test_factory_from_the_api_and_the_cli(tmp_path, monkeypatch):
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    prof = profile("mypkg.mod:build", inputs={"x": "1x3x32x32"})
    assert prof.totals.macs == net_macs(1, 32, 32)
    result = run_cli("profile", "mypkg.mod:build", "--input", "x=2x3x32x32", "--format", "json",
                     env_extra={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["totals"]["macs"] == net_macs(2, 32, 32)
    assert data["conditions"]["input_shapes"] == {"x": [2, 3, 32, 32]}
    assert data["model"]["name"] == "mypkg.mod:build"


class AttentionBlock(nn.Module):
    """Self-attention + MLP written with reshapes (the exporter bakes the batch into them)."""

    def __init__(self, d: int = 32, heads: int = 4, ff: int = 64) -> None:
        super().__init__()
        self.d, self.heads = d, heads
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.up, self.down = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, tokens):
        b, n, d = tokens.shape
        q, k, v = self.qkv(tokens).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-1, -2)).softmax(-1) @ v
        x = tokens + self.out(a.transpose(1, 2).reshape(b, n, d))
        return x + self.down(torch.relu(self.up(x)))


def test_attention_block_macs_and_rebatch():
    d, ff, s = 32, 64, 10
    block = AttentionBlock(d, 4, ff)
    one = profile(block, example_inputs=torch.zeros(1, s, d))
    # projections q,k,v and out: 4 d^2 per token; scores and context: 2 s d per token; MLP: 2 d ff per token
    per_sample = 4 * s * d * d + 2 * s * s * d + 2 * s * d * ff
    assert one.totals.macs == per_sample
    assert one.uncosted == []
    eight = profile(block, example_inputs=torch.zeros(1, s, d), batch=8)
    assert eight.conditions.input_shapes == {"tokens": [8, s, d]}
    assert eight.totals.macs == 8 * per_sample


def test_bad_dims_for_a_torch_factory(tmp_path, monkeypatch):
    from fitbench.errors import ShapeError

    (tmp_path / "facmod.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ShapeError, match="integers"):
        profile("facmod:build", inputs={"x": "1xAx32x32"})


@pytest.mark.filterwarnings("ignore")
def test_dynamic_axes_export_of_attention_profiles_at_any_batch(tmp_path):
    d, ff, s = 32, 64, 10
    block = AttentionBlock(d, 4, ff).eval()
    path = tmp_path / "block.onnx"
    torch.onnx.export(block, (torch.zeros(1, s, d),), str(path), dynamo=False, input_names=["tokens"],
                      dynamic_axes={"tokens": {0: "batch", 1: "seq"}}, opset_version=17)
    per_sample = 4 * s * d * d + 2 * s * s * d + 2 * s * d * ff
    prof = profile(path, batch=4, dims={"seq": s})
    assert prof.uncosted == []
    assert prof.totals.macs == 4 * per_sample


class MixedNet(nn.Module):
    """Strided, dilated+grouped, depthwise, transposed and 1-D convolutions, then a Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=2, dilation=2, groups=4)
        self.dw = nn.Conv2d(32, 32, 5, padding=2, groups=32, bias=False)
        self.up = nn.ConvTranspose2d(32, 8, 4, stride=2, padding=1)
        self.c3 = nn.Conv1d(8, 12, 3)
        self.fc = nn.Linear(12 * 30, 10)

    def forward(self, x):
        x = self.up(self.dw(torch.relu(self.c2(torch.relu(self.c1(x))))))
        return self.fc(self.c3(x.mean(dim=2)).flatten(1))


@pytest.mark.parametrize("build,shape", [(MixedNet, (2, 3, 32, 32)), (lambda: AttentionBlock(32, 4, 64), (3, 10, 32))],
                         ids=["mixed-convs", "attention-block"])
def test_macs_agree_with_pytorch_flop_counter(build, shape):
    """A second, independent method: PyTorch's FlopCounterMode (2 FLOPs per MAC) on the same module."""
    from torch.utils.flop_counter import FlopCounterMode

    module, x = build().eval(), torch.zeros(*shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    prof = profile(module, example_inputs=x)
    assert prof.uncosted == []
    assert 2 * prof.totals.macs == counter.get_total_flops()
