"""Human-readable figures in the terminal tables: times in a unit that keeps them short."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.cli.render import duration

_register()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.263365, "263.4 ms"),        # 263.365 ms
        (2.106923, "2.107 s"),         # was printed as '2106.923 ms'
        (0.0233230, "23.32 ms"),       # was printed as '23323.0 µs'
        (0.0047002, "4.700 ms"),
        (4.7e-6, "4.700 µs"),
        (1.0, "1.000 s"),
        (1e-3, "1.000 ms"),
        (0.0, "0.000 µs"),
        (None, "—"),
    ],
)
def test_duration_picks_the_unit(seconds, text):
    assert duration(seconds) == text


def test_estimate_tables_print_no_four_digit_milli_or_micro_seconds():
    # yolov3 at 1920x1080 on the slow-DRAM NPU: batch 8 takes about 2.1 s and its slowest layer about 23 ms
    res = CliRunner().invoke(app, ["estimate", "yolov3", "--resolution", "1920x1080", "--hw", "edge-npu-slow-dram",
                                   "--batch", "1,8"])
    assert res.exit_code == 0, res.output
    assert re.search(r"\d{4,}\.\d+ (ms|µs)", res.output) is None, res.output
    assert re.search(r"\b2\.1\d\d s\b", res.output), res.output


def test_profile_json_to_a_file_still_says_a_batch_was_not_applied(tmp_path):
    # a file exported at a static batch of 2 cannot take --batch 8: the JSON records it in its notes, and the
    # terminal must say it too (the command printed nothing and the user believed the file held batch 8)
    import json

    model, out = tmp_path / "b2.onnx", tmp_path / "p.json"
    res = CliRunner().invoke(app, ["zoo", "export", "tiny", "--batch", "2", "-o", str(model)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["profile", str(model), "--batch", "8", "--format", "json", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "note: batch 8 not applied" in res.stderr
    assert json.loads(out.read_text())["conditions"]["batch"] == 2
    res = CliRunner().invoke(app, ["profile", str(model), "--batch", "8", "--format", "json"])
    assert json.loads(res.stdout)["conditions"]["batch"] == 2  # stdout stays pure JSON
