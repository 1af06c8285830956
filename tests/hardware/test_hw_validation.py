"""The estimator against a published table: the NVDLA primer's INT8 ResNet-50 frames/s per configuration.

Source: NVDLA primer, "Example Area and Performance with NVDLA" (nvdla/doc doc/primer.rst,
http://nvdla.org/primer.html): # MACs, convolution buffer, SDRAM bandwidth -> INT8 ResNet-50 frames/s
("estimates for NVDLA configurations optimized for ResNet-50 ... no on-chip SRAM").
Not published there, and assumed here: a 1 GHz clock; the MAC array split as atomic-K (rows, output
channels) x atomic-C (columns, input channels) following nv_large (32 x 64) and nv_small (8 x 8); the
Caffe ResNet-50 (v1) graph. The two smallest configurations come out ~1.5x optimistic; the rest within
+-20 %. This test keeps that agreement from silently degrading.
"""

from __future__ import annotations

import pytest

from fitbench.hardware.estimator import estimate

# macs, CBUF KiB, SDRAM GB/s, published INT8 ResNet-50 frames/s, assumed array (K x C)
PRIMER = [
    (2048, 512, 20, 269, "32x64"),
    (1024, 256, 15, 153, "16x64"),
    (512, 256, 10, 93, "16x32"),
    (256, 256, 5, 46, "8x32"),
    (128, 256, 2, 20, "8x16"),
    (64, 128, 1, 7.3, "8x8"),
    (32, 128, 0.5, 3.6, "4x8"),
]


@pytest.mark.parametrize("macs, cbuf_kib, gbps, published_fps, array", PRIMER)
def test_nvdla_primer_resnet50_table(resnet50_v1, macs, cbuf_kib, gbps, published_fps, array):
    hw = {"name": f"nvdla-{macs}", "source": "NVDLA primer table (clock and array split assumed)", "guess": True,
          "clock": "1 GHz", "macs_per_cycle": {"int8": macs}, "array": array, "array_mapping": "direct",
          "sram": f"{cbuf_kib} KiB", "dram_bandwidth": f"{gbps} GB/s", "winograd": "none", "overlap": True}
    fps = estimate(resnet50_v1, hw, batch=1).point(1).throughput_ips
    ratio = fps / published_fps
    if macs >= 128:
        assert 0.85 <= ratio <= 1.25, f"{macs} MACs: estimated {fps:.1f} fps vs published {published_fps}"
    else:
        assert 1.0 <= ratio <= 1.6, f"{macs} MACs: estimated {fps:.1f} fps vs published {published_fps}"


def test_nvdla_primer_ordering(resnet50_v1):
    """Bigger configurations are faster, as in the published table."""
    fps = []
    for macs, cbuf, gbps, _, array in PRIMER:
        hw = {"name": "n", "source": "primer", "clock": "1 GHz", "macs_per_cycle": {"int8": macs}, "array": array,
              "sram": f"{cbuf} KiB", "dram_bandwidth": f"{gbps} GB/s"}
        fps.append(estimate(resnet50_v1, hw).point(1).throughput_ips)
    assert fps == sorted(fps, reverse=True)
