"""Hardware specs: units, validation errors (one line naming the field and what is allowed), the catalog."""

from __future__ import annotations

import math

import pytest
from hw_builders import spec

from fitbench.errors import SpecError, UnknownNameError
from fitbench.hardware.spec import HardwareSpec, catalog, load_hardware
from fitbench.hardware.units import parse_quantity


@pytest.mark.parametrize("text, kind, expected", [
    ("8 MiB", "size", 8 * 2**20),
    ("512 KiB", "size", 512 * 1024),
    ("2 GB", "size", 2e9),
    ("1024", "size", 1024),
    (4096, "size", 4096),
    ("17 GB/s", "bandwidth", 17e9),
    ("900 GiB/s", "bandwidth", 900 * 2**30),
    ("1555 GB/s", "bandwidth", 1555e9),
    ("64 Gbit/s", "bandwidth", 64e9 / 8),
    ("933 MHz", "frequency", 933e6),
    ("1.5 GHz", "frequency", 1.5e9),
    ("4 TOPS", "tops", 4.0),
    ("65 TFLOPS", "tops", 65.0),
    ("500 GOPS", "tops", 0.5),
    ("0.2 pJ", "energy", 0.2),
    ("1.5 nJ", "energy", 1500.0),
    ("300 mW", "power", 0.3),
    ("2 W", "power", 2.0),
])
def test_units(text, kind, expected):
    assert parse_quantity(text, kind, "f") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text, kind", [("8 MiBs", "size"), ("fast", "bandwidth"), ("-1 GB/s", "bandwidth"),
                                        ("3 GHz/s", "frequency"), ("4 TOPZ", "tops"), (True, "size")])
def test_bad_units(text, kind):
    with pytest.raises(SpecError, match="field 'f'"):
        parse_quantity(text, kind, "f")


def test_spec_parses_units_and_derives_peak():
    s = load_hardware(spec(sram="8 MiB", dram_bandwidth="17 GB/s", clock="933 MHz", macs_per_cycle={"int8": 2048}))
    assert s.sram_bytes == 8 * 2**20
    assert s.dram_bandwidth == 17e9
    assert s.clock_hz == 933e6
    assert s.peak_tops("int8") == pytest.approx(2 * 2048 * 933e6 / 1e12)


def test_peak_tops_given_becomes_macs_per_cycle():
    s = load_hardware(spec(macs_per_cycle=None, peak_tops={"int8": "4 TOPS"}, clock="1 GHz"))
    assert s.macs_per_cycle == {"int8": 4e12 // (2 * 1e9)}
    assert s.peak_tops("int8") == pytest.approx(4.0)


@pytest.mark.parametrize("overrides, fragments", [
    ({"winograd": "yes"}, ["'winograd'", "none", "expanded-in-dram", "expanded-on-chip"]),
    ({"sramm": "1 MiB"}, ["'sramm'", "allowed fields"]),
    ({"source": ""}, ["'source'", "required"]),
    ({"macs_per_cycle": {"int4": 64}}, ["macs_per_cycle", "'int4'", "int8, fp16, bf16, fp32"]),
    ({"macs_per_cycle": {"int8": 0}}, ["macs_per_cycle.int8", "positive integer"]),
    ({"array": "32x48"}, ["'array'", "1024", "32x48"]),
    ({"array": "32by64"}, ["'array'", "ROWSxCOLS"]),
    ({"sram": "lots"}, ["'sram'", "MiB"]),
    ({"dram_efficiency": 1.5}, ["'dram_efficiency'", "(0, 1]"]),
    ({"winograd_tile": 3}, ["'winograd_tile'", "2", "4"]),
    ({"overlap": "maybe"}, ["'overlap'", "true or false"]),
    ({"max_batch": 0}, ["'max_batch'", "positive"]),
    ({"array_mapping": "diagonal"}, ["'array_mapping'", "direct", "im2col"]),
    ({"energy": {"per_flop": "1 pJ"}}, ["'energy'", "per_mac"]),
    ({"clock": None}, ["'clock'", "required"]),
    ({"weight_bandwidth": "1 GB/s", "dram_bandwidth": "none"}, ["'weight_bandwidth'", "dram_bandwidth"]),
])
def test_bad_spec_is_one_clear_line(overrides, fragments):
    with pytest.raises(SpecError) as info:
        load_hardware(spec(**overrides))
    msg = str(info.value)
    assert "\n" not in msg
    assert "'unit'" in msg  # names the spec
    for frag in fragments:
        assert frag in msg


def test_yaml_file_round_trip(tmp_path):
    path = tmp_path / "chip.yaml"
    path.write_text("name: my-chip\nsource: my datasheet\nclock: 800 MHz\nmacs_per_cycle: {int8: 1024}\n"
                    "sram: 4 MiB\ndram_bandwidth: 12.8 GB/s\nwinograd: expanded-in-dram\n")
    s = load_hardware(path)
    assert (s.name, s.sram_bytes, s.dram_bandwidth, s.winograd) == ("my-chip", 4 * 2**20, 12.8e9, "expanded-in-dram")
    assert load_hardware(str(path)) == s
    assert s.path == str(path)


def test_yaml_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsource: y\nclock: 1 GHz\nmacs_per_cycle: {int8: 8}\nsram: 1 MiB\nwinograd: maybe\n")
    with pytest.raises(SpecError, match="bad.yaml.*winograd"):
        load_hardware(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_hardware(broken)
    with pytest.raises(SpecError, match="not found"):
        load_hardware(tmp_path / "missing.yaml")


def test_unknown_catalog_name_lists_the_catalog():
    with pytest.raises(UnknownNameError, match="edge-npu-slow-dram"):
        load_hardware("no-such-chip")


def test_catalog_prefix_and_objects():
    s = load_hardware("catalog:nvdla-nv-large")
    assert s is load_hardware("nvdla-nv-large")
    assert load_hardware(s) is s
    assert isinstance(s, HardwareSpec)


def test_catalog_every_spec_has_a_source_and_marks_guesses():
    specs = catalog()
    kinds = {s.provenance for s in specs}
    assert {"archetype", "public"} <= kinds
    names = {s.name for s in specs}
    assert {"edge-npu-slow-dram", "edge-large-sram", "all-on-chip", "datacenter-bigbatch"} <= names
    for s in specs:
        assert len(s.source) > 20, s.name
        if s.provenance == "archetype":
            assert s.guess, f"{s.name}: archetype numbers are illustrative and must be marked as a guess"
        for g in s.guessed:
            assert g in HardwareSpec.model_fields, (s.name, g)
    assert not load_hardware("all-on-chip").has_dram


# Published figures, written out with their sources.
@pytest.mark.parametrize("name, precision, tops", [
    ("nvidia-t4", "int8", 130.0),          # T4 datasheet: 130 INT8 TOPS
    ("nvidia-t4", "fp16", 65.0),           # 65 FP16 TFLOPS
    ("nvidia-a100-40gb", "int8", 624.0),   # A100 datasheet: 624 INT8 TOPS dense
    ("nvidia-a100-40gb", "fp16", 312.0),
    ("nvdla-nv-large", "int8", 2 * 64 * 32 * 1e9 / 1e12),   # atomic-C 64 x atomic-K 32 MACs at the guessed 1 GHz
    ("nvdla-nv-small", "int8", 2 * 8 * 8 * 1e9 / 1e12),
    ("edge-npu-slow-dram", "int8", 2 * 4096 * 1e9 / 1e12),
])
def test_catalog_peaks(name, precision, tops):
    assert load_hardware(name).peak_tops(precision) == pytest.approx(tops, rel=1e-4)


def test_catalog_public_configs():
    large, small = load_hardware("nvdla-nv-large"), load_hardware("nvdla-nv-small")
    assert large.sram_bytes == 16 * 64 * 512      # CBUF_BANK_NUMBER_16 x WIDTH_64 B x DEPTH_512
    assert small.sram_bytes == 32 * 8 * 512       # CBUF_BANK_NUMBER_32 x WIDTH_8 B x DEPTH_512
    assert large.macs_per_cycle == {"int8": 64 * 32} and small.macs_per_cycle == {"int8": 8 * 8}
    # NVDLA primer's example table: 2048 MACs / 512 KB -> 20 GB/s; 64 MACs / 128 KB -> 1 GB/s
    assert large.dram_bandwidth == 20e9 and small.dram_bandwidth == 1e9
    assert "clock_hz" in large.guessed and "clock_hz" in small.guessed
    t4, a100 = load_hardware("nvidia-t4"), load_hardware("nvidia-a100-40gb")
    assert t4.dram_bandwidth == 320e9 and a100.dram_bandwidth == 1555e9


def test_missing_precision_is_a_clear_error():
    with pytest.raises(SpecError, match="no MAC rate for fp32; it supports: int8"):
        load_hardware("nvdla-nv-large").peak_tops("fp32")


def test_spec_hash_changes_with_numbers():
    a, b = load_hardware(spec()), load_hardware(spec(sram="32 MiB"))
    assert a.spec_hash() != b.spec_hash() and len(a.spec_hash()) == 64
    assert math.isclose(a.peak_tops("int8"), b.peak_tops("int8"))
