"""Published-figures validation: the dataset of published chip figures (each with its source) and
``validate``, which scores the estimator against them."""

from __future__ import annotations

from .dataset import DatasetError, PublishedPoint, Source, load_dataset
from .stats import ErrorStats, error_factor, error_stats, spearman
from .validate import PointResult, Ranking, ValidationReport, validate

__all__ = ["DatasetError", "ErrorStats", "PointResult", "PublishedPoint", "Ranking", "Source", "ValidationReport",
           "error_factor", "error_stats", "load_dataset", "spearman", "validate"]
