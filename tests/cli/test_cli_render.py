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
