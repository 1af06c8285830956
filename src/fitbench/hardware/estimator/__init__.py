"""The analytical estimator (v2): latency, throughput and DRAM traffic of a profiled model on a hardware spec.

Every number follows from the spec and the profile; where the spec is silent the documented default of
its ``kind`` applies (:mod:`fitbench.hardware.defaults`) and the estimate's ``notes`` say so. There is no
per-chip efficiency factor. The model, per layer at (sub-)batch ``B`` (per-sample figures = profile
figures / profile batch); the stages are :class:`~fitbench.hardware.estimator.model.CostModel`'s methods:

**Layers** (:mod:`.workload`). Views cost nothing; element-wise and normalisation nodes fuse into the
layer before them; every layer has an op class (conv, depthwise, matmul, attention, recurrent,
elementwise, normalization, data-movement); uncosted nodes are listed, never timed as 0.

**Engines** (:mod:`.engines`). A layer runs on the first extra engine whose ``runs`` lists its class,
else on the main engine (the top-level MAC array and vector unit) when its ``runs`` lists it, else on the
**fallback**: ``(2 x MACs + other ops) x B / fallback ops/s`` plus its tensors over the host link both
ways (``(in + out) x B / link bandwidth + 2 x link latency``); bound ``fallback``.

**1. Mapping.** Each GEMM (``m x k @ k x n``) is cut into tiles of the engine's array (rows hold
output channels, columns the reduction: input channels with ``direct`` mapping, ``Cin x kh x kw`` with
``im2col``); utilisation = ``n/(ceil(n/rows) rows) x k/(ceil(k/cols) cols) x M/(ceil(M/units) units)``
(:mod:`fitbench.hardware.mapping`). A spec without an array takes its kind's default array (whose rows
hold a grouped conv's groups side by side), or utilisation 1 for ``generic``. GPUs with ``sm_count``:
output tiles ``tile_m x tile_n`` run one per SM in waves: utilisation = ``M x N / (waves x SMs x
tile_m x tile_n)``, ``waves = ceil(ceil(M/tile_m) ceil(N/tile_n) / SMs)``. Recurrent layers map one
step (``M`` = the batch), since their steps depend on each other. Winograd F(m x m, 3 x 3) divides an
eligible layer's MACs by ``9m^2/(m+2)^2`` on the main engine.

**2. Compute.** ``compute = max(B x effective MACs / (MACs/cycle x clock x compute_efficiency x
utilisation), B x other ops / (vector ops/cycle x clock))`` (on a ``cpu``, whose cores do both, the
sum) — ``clock`` is the ``sustained_clock`` when given; a spatial split over ``cores`` multiplies the
rates by ``split_efficiency``. A layout op that is a copy (``layout_ops: copy``) moves one element per
vector op; a view is free.

**3. Residency.** Weights stored (``expanded-in-dram`` Winograd kernels 16/9 larger). Three candidate
plans keep resident the layers that save the most DRAM time per byte (greedy), up to all of ``SRAM - the
smallest working strip``, up to ``SRAM - the largest layer's activations``, or none; the fastest plan wins
per spec and is reported
``resident``, ``partial`` or ``streamed`` (each layer says whether its weights stay). Persistent
**state** (a KV cache) stays on chip when ``B x state`` fits beside the resident weights; otherwise the
layers that read it read it from DRAM (bound ``state``).

**4. Traffic.** Activations get ``SRAM - resident weights - on-chip state``. A resident layer whose
``B x (in + out)`` does not fit spills (reads its input, writes its output). A streamed layer reads its
weights once per sub-batch (a recurrent layer once per step; an embedding only its gathered rows) and
runs in the cheaper of (a) weight slices of ``budget - minimal strip``, the input re-read per slice
(``W + p x B x in + B x out``) or (b) activation strips of ``budget - one output channel's weights``, the
weights re-read per strip (``p x W``, plus ``B x (in + out)`` when ``p > 1``). The *minimal strip* is the
kernel's input rows plus one output row of one image.

**5. Time and bounds.** DRAM time = bytes / (``dram_bandwidth`` x ``dram_efficiency``); a separate
``weight_bandwidth`` loads weights beside activations and state (max), else they share (sum). Layer time
= ``max(compute, memory)`` with ``overlap`` (else the sum) + ``layer_overhead x steps`` (executed layers
only). The layer's bound is the largest of compute, weights, activations, state, overhead, fallback.

**Cores.** ``split: spatial`` — one image over all cores at ``split_efficiency``; ``batch`` — one image
per core: a batch of ``B`` runs ``ceil(B / cores)`` images per core on ``1/cores`` of the rates and SRAM,
the active cores sharing the DRAM; ``pipeline`` — layers assigned to cores in order as contiguous stages
(balanced to minimise the slowest), weights resident on their core, frames streamed: ``latency(B) =
sum of stage times + (B - 1) x slowest stage`` per context, a model too big for the cores' SRAM running in
contexts that each pay ``context_reload`` + their weights over DRAM.

**Latency** ``(B) = inference_overhead + host link (the graph's inputs and outputs, state excluded,
one transfer each way) + sum over sub-batches of layer times``; ``throughput = B / latency``. A batch runs
as sub-batches of the size (1, a power of two dividing B, or B) that finishes soonest.

**Totals.** DRAM bytes per inference = traffic / B; ``mac_utilization`` = executed MACs per second /
the datasheet peak; ``effective_tops`` = 2 x dense MACs x throughput / 1e12 (can exceed the peak with
Winograd); energy = effective MACs x pJ/MAC + SRAM bytes x pJ/B + DRAM bytes x pJ/B + static W x latency.
"""

from .api import ENERGY_TERMS, ESTIMATOR_VERSION, estimate, estimate_many
from .bounds import BOUND_COLORS, BOUND_LIST, BOUND_WORDS, BOUNDS, Bound
from .columns import COLUMNS, SPEC_COLUMNS, WINOGRAD_CHOICES, WINOGRAD_CODES, resolve_winograd, spec_params
from .model import sub_batches
from .results import Estimate, EstimatePoint, LayerEstimate
from .workload import FUSABLE_RULES, VIEW_OPS, LayerTable, layer_table

__all__ = [
    "BOUNDS", "BOUND_COLORS", "BOUND_LIST", "BOUND_WORDS", "Bound", "COLUMNS", "ENERGY_TERMS", "ESTIMATOR_VERSION",
    "Estimate", "EstimatePoint", "FUSABLE_RULES", "LayerEstimate", "LayerTable", "SPEC_COLUMNS", "VIEW_OPS",
    "WINOGRAD_CHOICES", "WINOGRAD_CODES", "estimate", "estimate_many", "layer_table", "resolve_winograd",
    "spec_params", "sub_batches",
]
