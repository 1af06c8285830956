"""The catalog's real chips against their datasheets.

Each expected figure is written as the arithmetic from the published number (TOPS = tera-operations per
second, a MAC counted as 2 ops; NVIDIA's sparse figures, marked * in their tables, halved to dense), with
its source beside it. Peak TOPS are at the spec's ``clock`` (the boost clock), not the sustained clock.
"""

from __future__ import annotations

import pytest

from fitbench.hardware.spec import catalog, catalog_names, load_hardware

MIB = 2**20

# name -> {precision: datasheet TOPS (dense)}
PUBLISHED = {
    # NVIDIA T4 datasheet: 130 INT8 TOPS, 65 FP16 TFLOPS, 8.1 FP32 TFLOPS (Turing has no sparsity)
    "nvidia-t4": {"int8": 130, "fp16": 65, "fp32": 8.1},
    # NVIDIA A2 datasheet: INT8 36 | 72* TOPS, FP16/BF16 18 | 36* TFLOPS, FP32 4.5 TFLOPS
    "nvidia-a2": {"int8": 72 / 2, "fp16": 36 / 2, "bf16": 36 / 2, "fp32": 4.5},
    # NVIDIA A10 datasheet: INT8 250 | 500* TOPS, BF16/FP16 125 | 250* TFLOPS, FP32 31.2 TFLOPS
    "nvidia-a10": {"int8": 500 / 2, "fp16": 250 / 2, "bf16": 250 / 2, "fp32": 31.2},
    # NVIDIA A30 datasheet: INT8 330 | 661* TOPS, BF16/FP16 165 | 330* TFLOPS, FP32 10.3 TFLOPS
    "nvidia-a30": {"int8": 330, "fp16": 330 / 2, "bf16": 330 / 2, "fp32": 10.3},
    # NVIDIA L4 datasheet: INT8 485* TOPS, FP16/BF16 242* TFLOPS (sparse only), FP32 30.3 TFLOPS
    "nvidia-l4": {"int8": 485 / 2, "fp16": 242 / 2, "bf16": 242 / 2, "fp32": 30.3},
    # NVIDIA A100 datasheet (40GB PCIe and 80GB SXM columns): INT8 624 | 1248*, FP16/BF16 312 | 624*, FP32 19.5
    "nvidia-a100-pcie-40gb": {"int8": 1248 / 2, "fp16": 624 / 2, "bf16": 624 / 2, "fp32": 19.5},
    "nvidia-a100-sxm4-80gb": {"int8": 1248 / 2, "fp16": 624 / 2, "bf16": 624 / 2, "fp32": 19.5},
    "nvidia-a100-pcie-80gb": {"int8": 1248 / 2, "fp16": 624 / 2, "bf16": 624 / 2, "fp32": 19.5},
    # NVIDIA H100 datasheet, PCIe column: INT8 3,026* TOPS, FP16/BF16 1,513* TFLOPS, FP32 51 TFLOPS
    "nvidia-h100-pcie": {"int8": 3026 / 2, "fp16": 1513 / 2, "bf16": 1513 / 2, "fp32": 51},
    # NVIDIA H100 datasheet, SXM column: INT8 3,958* TOPS, FP16/BF16 1,979* TFLOPS, FP32 67 TFLOPS
    "nvidia-h100-sxm": {"int8": 3958 / 2, "fp16": 1979 / 2, "bf16": 1979 / 2, "fp32": 67},
    # NVIDIA H200 datasheet, SXM column: the same compute figures as H100 SXM
    "nvidia-h200": {"int8": 3958 / 2, "fp16": 1979 / 2, "bf16": 1979 / 2, "fp32": 67},
    # Jetson AGX Orin technical brief: GPU 170 sparse INT8 TOPS, 5.3 FP32 TFLOPS; FP16 = INT8 / 2 (Ampere TC)
    "jetson-agx-orin-gpu": {"int8": 170 / 2, "fp16": 170 / 2 / 2, "fp32": 5.3},
    # Jetson AGX Orin technical brief: both DLAs 105 sparse INT8 TOPS; FP16 = INT8 / 2 (guessed, Xavier's ratio)
    "jetson-agx-orin-dla": {"int8": 105 / 2, "fp16": 105 / 2 / 2},
    # Jetson Orin Nano data sheet (8GB): 40 sparse / 20 dense INT8 TOPS; FP32 = 1024 cores x 2 x 625 MHz
    "jetson-orin-nano": {"int8": 40 / 2, "fp16": 20 / 2, "fp32": 1024 * 2 * 625e6 / 1e12},
    # Jetson AGX Xavier data sheet: 64 Tensor Cores x 64 FP16 FMA x 2 x 1377 MHz; INT8 twice; 512 cores FP32
    "jetson-agx-xavier-gpu": {"int8": 2 * 64 * 64 * 2 * 1377e6 / 1e12, "fp16": 64 * 64 * 2 * 1377e6 / 1e12,
                              "fp32": 512 * 2 * 1377e6 / 1e12},
    # Jetson Xavier NX data sheet: 48 Tensor Cores x 64 x 2 x 1100 MHz = 6.76 FP16; INT8 13.5; 384 x 2 x 1.1 GHz
    "jetson-xavier-nx-gpu": {"int8": 2 * 48 * 64 * 2 * 1100e6 / 1e12, "fp16": 48 * 64 * 2 * 1100e6 / 1e12,
                             "fp32": 384 * 2 * 1100e6 / 1e12},
    # Hailo-8 product brief: 26 TOPS; Hailo-8L: 13 TOPS
    "hailo-8": {"int8": 26},
    "hailo-8l": {"int8": 13},
    # Coral Accelerator Module datasheet: 4 TOPS peak (int8)
    "coral-edge-tpu": {"int8": 4},
    # Qualcomm Cloud AI SDK, Architecture page, AI 100 Pro SKU: INT8 375 TOPS, FP16 125 TFLOPS
    "qualcomm-cloud-ai-100-pro": {"int8": 375, "fp16": 125},
    # FuriosaAI Warboy docs: 64 TOPS INT8 (2 PEs x 32 TOPS)
    "furiosa-warboy": {"int8": 2 * 32},
    # Flex Logix: 4 tiles, 4K MACs; 933 MHz (guessed) -> 2 x 4096 x 0.933 GHz; BF16 at half rate
    "flex-logix-inferx-x1": {"int8": 2 * 4096 * 933e6 / 1e12, "bf16": 4096 * 933e6 / 1e12},
    # Intel Core Ultra (Meteor Lake) NPU: 11 TOPS INT8; FP16 at half rate (guessed)
    "intel-core-ultra-npu": {"int8": 11, "fp16": 11 / 2},
}

# name -> (on-chip buffer bytes, DRAM bytes/s or None) from the sources in each spec
MEMORY = {
    "nvidia-t4": (4 * MIB, 320e9),                 # Turing whitepaper 4 MB L2; datasheet 320 GB/s
    "nvidia-l4": (48 * MIB, 300e9),                # Ada whitepaper 48 MB L2; datasheet 300 GB/s
    "nvidia-a100-sxm4-80gb": (40 * MIB, 2039e9),   # A100 datasheet 80GB SXM: 2,039 GB/s
    "nvidia-a100-pcie-80gb": (40 * MIB, 1935e9),   # A100 datasheet 80GB PCIe: 1,935 GB/s
    "nvidia-h200": (50 * MIB, 4.8e12),             # H200 datasheet: 4.8 TB/s HBM3e
    "jetson-agx-orin-gpu": (4 * MIB, 204.8e9),     # Orin brief 4 MB L2; datasheet 256-bit LPDDR5 204.8 GB/s
    "hailo-8": (32 * MIB, None),                   # no external DRAM (Hailo); SRAM size guessed
    "coral-edge-tpu": (8 * MIB, 5e9 * 8 / 10 / 8),  # Coral compiler docs ~8 MB SRAM; USB 3.0 5 Gb/s, 8b/10b
    "qualcomm-cloud-ai-100-pro": (16 * 9 * MIB, 137e9),  # 16 cores x (8 MiB VTCM + 1 MiB L2); SDK 137 GB/s
    "furiosa-warboy": (32 * MIB, 66e9),            # Warboy docs: 32 MB SRAM, 66 GB/s
    "intel-core-ultra-npu": (4 * MIB, 120e9),      # "4K4M" config; ark 120 GB/s
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_peak_tops_is_the_datasheet_figure(name):
    spec = load_hardware(name)
    for precision, tops in PUBLISHED[name].items():
        # peak_tops rounds to whole MACs/cycle, hence the small tolerance
        assert spec.peak_tops(precision) == pytest.approx(tops, rel=1e-3), (name, precision)
    assert sorted(spec.macs_per_cycle) == sorted(PUBLISHED[name])


@pytest.mark.parametrize("name", sorted(MEMORY))
def test_on_chip_buffer_and_dram_bandwidth(name):
    spec = load_hardware(name)
    sram, dram = MEMORY[name]
    assert spec.sram_bytes == sram
    if dram is None:
        assert not spec.has_dram
    else:
        assert spec.dram_bandwidth == pytest.approx(dram)


def test_real_chips_are_in_the_catalog_next_to_the_old_entries():
    names = set(catalog_names())
    assert set(PUBLISHED) <= names
    assert {"nvidia-a100-40gb", "nvdla-nv-large", "nvdla-nv-small", "edge-npu-slow-dram"} <= names


def test_every_catalog_spec_names_its_source():
    for spec in catalog():
        assert spec.source.strip(), spec.name
        assert len(spec.source) > 40, spec.name   # a document and a table, not a word


# name -> (kind, host link preset, board/module power in W) from each spec's datasheet
BOARD = {
    "nvidia-t4": ("gpu", "pcie3x16", 70),            # T4 datasheet: PCIe Gen3 x16, 70 W
    "nvidia-a2": ("gpu", "pcie4x8", 60),             # A2 datasheet: PCIe Gen4 x8, 40-60 W (max taken)
    "nvidia-a10": ("gpu", "pcie4x16", 150),
    "nvidia-a30": ("gpu", "pcie4x16", 165),
    "nvidia-l4": ("gpu", "pcie4x16", 72),
    "nvidia-a100-pcie-40gb": ("gpu", "pcie4x16", 250),
    "nvidia-a100-sxm4-80gb": ("gpu", "pcie4x16", 400),   # NVLink between GPUs, PCIe Gen4 to the host
    "nvidia-a100-pcie-80gb": ("gpu", "pcie4x16", 300),
    "nvidia-h100-pcie": ("gpu", "pcie5x16", 350),    # 300-350 W configurable (max taken)
    "nvidia-h100-sxm": ("gpu", "pcie5x16", 700),
    "nvidia-h200": ("gpu", "pcie5x16", 700),
    "jetson-agx-orin-gpu": ("gpu", "on-soc", 60),    # AGX Orin 64GB: 15-60 W, MAXN taken
    "jetson-agx-orin-dla": ("npu", "on-soc", 60),
    "jetson-orin-nano": ("gpu", "on-soc", 15),       # Orin Nano 8GB data sheet: 7-15 W
    "jetson-agx-xavier-gpu": ("gpu", "on-soc", 30),  # 10 / 15 / 30 W modes
    "jetson-xavier-nx-gpu": ("gpu", "on-soc", 20),   # 10 / 15 / 20 W modes
    "hailo-8": ("dataflow", "pcie3x4", 2.5),         # Hailo-8: 2.5 W typical; M.2 M-key PCIe Gen3 x4
    "coral-edge-tpu": ("npu", "usb3", 4 / 2),        # 4 TOPS at 2 TOPS per watt; USB 3.0
    "qualcomm-cloud-ai-100-pro": ("npu", "pcie4x8", 75),
    "furiosa-warboy": ("npu", "pcie4x8", None),      # card power not in the pages read (guessed)
    "flex-logix-inferx-x1": ("dataflow", "pcie3x4", None),
    "intel-core-ultra-npu": ("npu", "on-soc", 28),   # Core Ultra 7 155H processor base power (the package)
    # NVDLA: an SoC block; kind stays generic (the primer's table it is checked on is an ideal analytical model)
    "nvdla-nv-large": ("generic", "on-soc", None),
    "nvdla-nv-small": ("generic", "on-soc", None),
}

# NVIDIA GPUs: (SMs from the whitepapers, CUDA cores per SM for that architecture)
SMS = {
    "nvidia-t4": (40, 64),                # Turing TU104: 64 FP32 cores per SM -> 2560
    "nvidia-a2": (10, 128),               # Ampere GA107: 128 per SM -> 1280
    "nvidia-a10": (72, 128),              # GA102 -> 9216
    "nvidia-a30": (56, 64),               # GA100: 64 per SM -> 3584
    "nvidia-l4": (58, 128),               # Ada AD104 -> 7424
    "nvidia-a100-pcie-40gb": (108, 64),   # GA100 -> 6912
    "nvidia-a100-sxm4-80gb": (108, 64),
    "nvidia-a100-pcie-80gb": (108, 64),
    "nvidia-h100-pcie": (114, 128),       # Hopper GH100 -> 14592
    "nvidia-h100-sxm": (132, 128),        # -> 16896
    "nvidia-h200": (132, 128),
    "jetson-agx-orin-gpu": (16, 128),     # Orin technical brief: 2 GPCs, 16 SMs, 2048 cores
    "jetson-orin-nano": (8, 128),         # 1024 cores
    "jetson-agx-xavier-gpu": (8, 64),     # Volta: 64 per SM -> 512
    "jetson-xavier-nx-gpu": (6, 64),      # -> 384
}


@pytest.mark.parametrize("name", sorted(BOARD))
def test_kind_host_link_and_power(name):
    spec = load_hardware(name)
    kind, link, tdp = BOARD[name]
    assert spec.kind == kind
    assert spec.host_link is not None and spec.host_link.name == link
    if tdp is not None:
        assert spec.tdp_w == pytest.approx(tdp)


@pytest.mark.parametrize("name", sorted(SMS))
def test_gpu_sm_count_tile_and_cuda_cores(name):
    spec = load_hardware(name)
    sms, per_sm = SMS[name]
    assert spec.sm_count == sms
    assert spec.vector_ops_per_cycle == sms * per_sm     # CUDA cores as element ops per cycle (nvidia-t4 style)
    assert spec.tile == (128, 128) and "tile" in spec.guessed   # the usual cuBLAS/TensorRT CTA tile, a guess


def test_sustained_clocks():
    # the GPUs' base clocks (TechPowerUp GPU database) are written in the sources but not used as sustained:
    # the MLPerf v1.1 calibration points imply clocks near boost, so compute runs at `clock` for every NVIDIA part
    for name in SMS:
        spec = load_hardware(name)
        assert spec.sustained_clock_hz is None, name
    assert "885 MHz base" in load_hardware("nvidia-a10").source
    # the Intel NPU: 1.16 GHz measured under load (Chips and Cheese), below the 11 TOPS / (2 x 4096 MACs) clock
    npu = load_hardware("intel-core-ultra-npu")
    assert npu.sustained_clock_hz == pytest.approx(1.16e9)
    assert npu.clock_hz == pytest.approx(11e12 / (2 * 4096), rel=1e-3)


def test_cores_and_split_where_the_architecture_is_published():
    assert (load_hardware("qualcomm-cloud-ai-100-pro").cores, load_hardware("qualcomm-cloud-ai-100-pro").split) \
        == (16, "batch")             # 16 AI cores (Qualcomm SDK); one inference per core (guessed)
    assert load_hardware("furiosa-warboy").cores == 2                         # 2 PEs of 32 TOPS (Furiosa docs)
    assert load_hardware("hailo-8").split == "pipeline"                       # dataflow: layers stream
    assert load_hardware("flex-logix-inferx-x1").cores == 4                   # 4 nnMAX tiles (Flex Logix)
    assert load_hardware("flex-logix-inferx-x1").winograd == "expanded-on-chip"   # Winograd hardware, published
    assert load_hardware("jetson-agx-orin-dla").cores == 2                    # two NVDLA 2.0 engines


def test_list_prices_where_public():
    assert load_hardware("coral-edge-tpu").price_usd == pytest.approx(59.99)  # Coral USB Accelerator
    assert load_hardware("nvidia-h100-sxm").price_usd is None                 # no public list price
