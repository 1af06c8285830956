"""Array utilisation: how well a layer's GEMM fills a MAC array of ``rows x cols``, ``units`` times over.

Conventions (the estimator's docstring repeats them):

* A layer's MAC work is a set of GEMMs (:class:`fitbench.costs.GemmShape`: ``batch`` products of an
  ``m x k`` by a ``k x n`` matrix). On the array, **rows hold output channels** (``n``) and **columns
  hold the reduction** (``k``). A GEMM is cut into ``ceil(n/rows) x ceil(k/cols)`` tiles; the last tile
  of each dimension is partly empty, so utilisation = ``n/(ceil(n/rows)*rows) x k/(ceil(k/cols)*cols)``.
* With ``direct`` mapping (NVDLA-style direct convolution) the columns hold input channels only
  (``k / kernel taps``) and the kernel taps take successive cycles; with ``im2col`` they hold the
  whole ``Cin x kh x kw`` reduction. A 3-channel first conv fills 3 of 64 columns in direct mode.
* When ``macs_per_cycle`` is a multiple ``units`` of ``rows x cols``, the units split the streamed
  dimension (``m`` x GEMM batch: output pixels x images x groups); a last partial round wastes units:
  factor ``M/(ceil(M/units)*units)``.
* A spec without an array shape gets utilisation 1 (nothing is known about its mapping).
"""

from __future__ import annotations

import numpy as np


def fill(size, tile):
    """Fraction of ``ceil(size/tile)`` tiles of ``tile`` that ``size`` fills (numpy-broadcasting)."""
    size = np.asarray(size, dtype=float)
    tile = np.asarray(tile, dtype=float)
    return size / (np.ceil(size / tile) * tile)


def utilization(m, n, k, rows, cols, units=1):
    """Utilisation of a ``rows x cols`` array (``units`` copies) by an ``(M=m) x k @ k x n`` GEMM."""
    return fill(n, rows) * fill(k, cols) * fill(m, units)
