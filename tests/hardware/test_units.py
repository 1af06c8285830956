"""Quantities with units (issue 12 and 13): bits are not bytes, a bare number where a unit matters and an
absurd or non-finite value are refused with one line naming the field and the expected units."""

from __future__ import annotations

import math

import pytest
from hw_builders import spec

from fitbench.errors import SpecError
from fitbench.hardware.spec import load_hardware
from fitbench.hardware.units import parse_quantity


@pytest.mark.parametrize("text, kind, expected", [
    ("80 Gb/s", "bandwidth", 80e9 / 8),       # gigabits per second: 10 GB/s
    ("80 Gbps", "bandwidth", 80e9 / 8),
    ("80 GBps", "bandwidth", 80e9),
    ("80 GB/s", "bandwidth", 80e9),
    ("64 Gbit/s", "bandwidth", 64e9 / 8),
    ("100 Mbit/s", "bandwidth", 100e6 / 8),
    ("64 Mb", "size", 64e6 / 8),              # megabits
    ("64 Mbit", "size", 64e6 / 8),
    ("64 MB", "size", 64e6),
    ("64 Mib", "size", 64 * 2**20 / 8),       # mebibits
    ("8 KiB", "size", 8 * 1024),
    ("2 bytes", "size", 2.0),
    ("16 bits", "size", 2.0),
])
def test_bits_are_not_bytes(text, kind, expected):
    assert parse_quantity(text, kind, "f") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("value, kind, field, fragments", [
    (800, "frequency", "clock", ["'clock'", "800 Hz", "MHz"]),           # a bare 800: Hz, 600 s latencies
    ("800", "frequency", "clock", ["'clock'", "MHz"]),
    ("500 Hz", "frequency", "clock", ["'clock'", "1 kHz"]),
    (1e-300, "frequency", "clock", ["'clock'", "1 kHz"]),
    ("200 GHz", "frequency", "clock", ["'clock'", "100 GHz"]),
    (17, "bandwidth", "dram_bandwidth", ["'dram_bandwidth'", "GB/s"]),     # a bare 17: bytes/s
    ("100 B/s", "bandwidth", "dram_bandwidth", ["'dram_bandwidth'", "1 kB/s"]),
    (float("nan"), "frequency", "clock", ["'clock'", "finite"]),
    (float("inf"), "bandwidth", "dram_bandwidth", ["'dram_bandwidth'", "finite"]),
    (float("nan"), "size", "sram", ["'sram'", "finite"]),
    (math.inf, "tops", "peak_tops.int8", ["'peak_tops.int8'", "finite"]),
    ("nan GB/s", "bandwidth", "dram_bandwidth", ["'dram_bandwidth'"]),
    ("inf", "size", "sram", ["'sram'"]),
    (float("nan"), "energy", "energy.per_mac", ["'energy.per_mac'", "finite"]),
    (float("inf"), "time", "layer_overhead", ["'layer_overhead'", "finite"]),
    (5, "time", "layer_overhead", ["'layer_overhead'", "5 s", "1 s", "us"]),     # a bare 5 meant as 5 us
])
def test_bare_absurd_and_non_finite_values_are_one_line(value, kind, field, fragments):
    with pytest.raises(SpecError) as info:
        parse_quantity(value, kind, field)
    msg = str(info.value)
    assert "\n" not in msg
    for f in fragments:
        assert f in msg, msg


@pytest.mark.parametrize("value, kind, expected", [
    (1e9, "frequency", 1e9),        # `fitbench hw show` writes base units: clock_hz: 1000000000.0
    (4.3e9, "bandwidth", 4.3e9),
    (0, "bandwidth", 0.0),          # 0: no DRAM
    ("1 kHz", "frequency", 1e3),
    ("100 GHz", "frequency", 100e9),
    ("1 kB/s", "bandwidth", 1e3),
    (0, "size", 0.0),               # sram: 0 (none)
])
def test_plausible_values_pass(value, kind, expected):
    assert parse_quantity(value, kind, "f") == pytest.approx(expected)


def test_a_spec_with_a_bare_clock_is_refused_naming_the_field():
    with pytest.raises(SpecError, match=r"'clock'.*MHz"):
        load_hardware(spec(clock=800))


def test_a_spec_in_gigabits_reads_bits():
    assert load_hardware(spec(dram_bandwidth="80 Gb/s")).dram_bandwidth == pytest.approx(10e9)


@pytest.mark.parametrize("field, value", [("clock", 1_000_000), ("clock", 1e9), ("sustained_clock", 800)])
def test_any_bare_clock_is_refused_even_a_plausible_one(field, value):
    # 1e9 would read as a plausible 1 GHz; a clock written by hand still needs its unit
    with pytest.raises(SpecError, match=rf"field '{field}': write the unit"):
        load_hardware(spec(**{field: value}))


def test_the_base_unit_field_takes_hz_as_hw_show_writes_it():
    s = load_hardware({k: v for k, v in spec().items() if k != "clock"} | {"clock_hz": 8e8})
    assert s.clock_hz == 8e8


@pytest.mark.parametrize("fields, words", [
    ({"vector_ops_per_cycle": float("nan")}, "vector_ops_per_cycle"),
    ({"macs_per_cycle": {"int8": float("inf")}}, "macs_per_cycle.int8"),
    ({"energy": {"pj_per_mac": float("nan")}}, "energy.pj_per_mac"),
    ({"compute_efficiency": float("nan")}, "compute_efficiency"),
])
def test_non_finite_spec_numbers_are_one_line(fields, words):
    with pytest.raises(SpecError, match=words):
        load_hardware(spec(**fields))
