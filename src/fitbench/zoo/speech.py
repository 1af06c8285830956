"""A DeepSpeech2-style speech recogniser: the seed's example of a model with few convolutions.

Amodei et al. 2016, "Deep Speech 2" (arXiv:1512.02595), in the configuration of deepspeech.pytorch:
a spectrogram of 161 frequency bins (16 kHz audio, 20 ms windows) and 100 frames per second (10 ms
hop, centred: ``frames = 100 * audio_seconds + 1``) goes through

* ``conv.0``: Conv2d(1, 32, (41, 11), stride (2, 2), pad (20, 5)) + BN + Hardtanh(0, 20),
* ``conv.1``: Conv2d(32, 32, (21, 11), stride (2, 1), pad (10, 5)) + BN + Hardtanh(0, 20),
* ``rnns.0..N-1``: bidirectional LSTM (or GRU) layers of ``hidden`` units whose two directions are
  summed; every layer but the first normalises its input with BatchNorm1d,
* ``fc``: BatchNorm1d + Linear(hidden, 29 characters), then Softmax.

Input ``spectrogram`` [batch, 1, 161, frames]; output ``probs`` [frames', batch, 29] with
frames' = ceil(frames / 2).
"""

from __future__ import annotations

from .builder import GraphBuilder
from .registry import register_model

FREQ_BINS = 161
FRAMES_PER_SECOND = 100
CHARACTERS = 29


def spectrogram_frames(audio_seconds: float) -> int:
    """Frames of a centred STFT with a 10 ms hop: 1 + samples // hop."""
    return 1 + int(round(audio_seconds * 16000)) // 160


def _hardtanh(g: GraphBuilder, x: str, name: str) -> str:
    import numpy as np

    return g.node("Clip", [x, g.const("hardtanh.min", 0.0, np.float32), g.const("hardtanh.max", 20.0, np.float32)],
                  name)


def _seq_bn(g: GraphBuilder, x: str, c: int, name: str) -> str:
    """BatchNorm1d over the features of a [T, B, C] sequence (via [B, C, T])."""
    y = g.transpose(x, [1, 2, 0], f"{name}.to_bct")
    y = g.bn(y, c, name)
    return g.transpose(y, [2, 0, 1], f"{name}.to_tbc")


@register_model("deepspeech2", family="speech", source="Amodei et al. 2016 (arXiv:1512.02595); deepspeech.pytorch",
                description="DeepSpeech2-style: 2 convs + bi-RNN stack + FC", default_input="10 s of 16 kHz audio",
                defaults={"audio_seconds": 10.0, "rnn": "lstm", "layers": 5, "hidden": 1024},
                param_help={"audio_seconds": "utterance length in seconds", "rnn": "lstm or gru",
                            "layers": "recurrent layers", "hidden": "units per direction"})
def deepspeech2(g: GraphBuilder, p: dict, notes: list) -> None:
    from ..errors import FitbenchError

    kind = p["rnn"].upper()
    if kind not in ("LSTM", "GRU"):
        raise FitbenchError(f"deepspeech2: rnn must be lstm or gru, got {p['rnn']!r}")
    frames = spectrogram_frames(p["audio_seconds"])
    if frames < 2:
        raise FitbenchError(f"deepspeech2: audio_seconds {p['audio_seconds']} gives fewer than 2 frames")
    p["frames"] = frames
    hidden, b = p["hidden"], p["batch"]
    x = g.input("spectrogram", (b, 1, FREQ_BINS, frames))
    x = g.bn(g.conv(x, 1, 32, (41, 11), "conv.0", stride=(2, 2), pad=(20, 5)), 32, "conv.1")
    x = _hardtanh(g, x, "conv.2")
    x = g.bn(g.conv(x, 32, 32, (21, 11), "conv.3", stride=(2, 1), pad=(10, 5)), 32, "conv.4")
    x = _hardtanh(g, x, "conv.5")
    freq = (FREQ_BINS + 2 * 20 - 41) // 2 + 1
    freq = (freq + 2 * 10 - 21) // 2 + 1
    feat = 32 * freq
    x = g.reshape(x, [0, feat, -1], "conv.flatten")  # [B, C*F, T]
    x = g.transpose(x, [2, 0, 1], "conv.to_tbc")  # [T, B, C*F]
    gates = 4 if kind == "LSTM" else 3
    bound = hidden ** -0.5
    for i in range(p["layers"]):
        name = f"rnns.{i}"
        fin = feat if i == 0 else hidden
        if i > 0:
            x = _seq_bn(g, x, fin, f"{name}.batch_norm")
        w = g.weight(f"{name}.rnn.weight_ih", (2, gates * hidden, fin), "uniform", bound)
        r = g.weight(f"{name}.rnn.weight_hh", (2, gates * hidden, hidden), "uniform", bound)
        bias = g.weight(f"{name}.rnn.bias", (2, 2 * gates * hidden), "uniform", bound)
        attrs = {"linear_before_reset": 1} if kind == "GRU" else {}
        y = g.node(kind, [x, w, r, bias], f"{name}.rnn", outputs=[f"{name}.rnn"], hidden_size=hidden,
                   direction="bidirectional", **attrs)
        # [T, 2, B, H] -> sum of the two directions -> [T, B, H]
        x = g.node("ReduceSum", [y, g.const("axis1", [1])], f"{name}.sum_directions", keepdims=0)
    x = _seq_bn(g, x, hidden, "fc.0")
    x = g.linear(x, hidden, CHARACTERS, "fc.1", bias=False, gain=1.0)
    g.output(g.node("Softmax", [x], "probs", axis=-1))
