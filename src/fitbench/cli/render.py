"""The CLI renderers' names for the one formatter module, :mod:`fitbench.format` (its docstring states the
convention: memory sizes binary, bandwidth and traffic decimal)."""

from __future__ import annotations

from .. import format as fmt

si = fmt.count  # counts (MACs, weights as elements): 1234567 -> '1.23 M'
size = fmt.mem  # memory sizes (weights, activations, SRAM): binary, '784 KiB'
traffic = fmt.traffic  # bytes moved per inference (DRAM traffic): decimal, '419 MB'
rate = fmt.rate  # bandwidth: decimal, '17 GB/s'
duration = fmt.duration
number = fmt.number  # plain figures (inf/s): thousands separated from 1,000 up, as in compare
shape = fmt.shape


def num(value: float | int | None, spec: str) -> str:
    """``format(value, spec)``, or '—' when the value is unknown (None), e.g. the throughput of a graph
    whose every layer is uncosted."""
    return fmt.UNKNOWN if value is None else format(value, spec)
