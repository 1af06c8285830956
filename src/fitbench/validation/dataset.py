"""The published-figures dataset: chips' published throughput or latency for zoo models, each with its source.

The shipped file (``data/published.yaml``, made by ``scripts/extract_mlperf_v11.py``) holds MLPerf Inference
v1.1 CLOSED results of single-accelerator systems and the NVDLA primer's ResNet-50 table; it is the calibration
set. A point is (chip, model, zoo params, batch, precision, scenario, metric, value, source, notes):

* ``chip``: a catalog name (``fitbench hw list``); a chip the catalog lacks is kept and reported as skipped.
* ``model`` and ``params``: a zoo name and its parameters (``resolution: WIDTHxHEIGHT`` or ``seq_len: N``).
* ``batch``: samples per inference call as the submission states it (``batch_stated: false`` when the
  figure's scenario or a stated convention gave it instead; the notes say which).
* ``scenario``: ``offline | single-stream | server | multi-stream`` (MLPerf LoadGen's).
* ``metric``: ``throughput_ips`` (samples per second, > 0) or ``latency_s`` (seconds per query, > 0; for
  single-stream the 90th percentile).
* ``source``: required; ``repository`` + ``path`` (optionally ``commit``) or ``document`` + ``table``.
* ``effective`` (optional): the work the submission really did where it differs from the nominal input,
  with its reason and source: ``params`` (zoo parameters that override ``params`` for the estimate), ``why``
  and ``source``. MLPerf's BERT submissions drop the padding of SQuAD's 384-token inputs (NVIDIA's TensorRT
  code: "we truncate the padded part of the input sequences"; Qualcomm's ``packed-bert``), so a batched
  BERT point is estimated at the mean real sequence length, not at 384.
* ``split`` (optional): ``calibration`` (the default: the shipped calibration set, MLPerf v1.1 + NVDLA) or
  ``holdout``: a figure kept out of every fit (issue 11's rule: nothing is fitted on other published figures).
  :func:`calibration_points` is what calibration and leave-model-out see; ``fitbench validate`` reports the
  hold-out points' error in a section of their own, never in the calibration-set statistics.
* ``metric: tokens_per_s`` (hold-out LLM points only): output tokens per second over the run, as MLPerf's LLM
  summaries report it ("Tokens per second"). Such a point needs ``llm``: the benchmark's ``prompt`` (mean input
  tokens) and ``output`` (mean output tokens) with their ``source``, the ``kv_precision`` (default fp16) and
  ``batch_rule``: ``stated`` (``batch`` concurrent sequences) or ``max-fit`` (an unstated Offline batch: the
  largest batch whose weights and KV cache fit the chip's memory, :func:`fitbench.compare.llm.llm_estimate`'s
  ``max_batch``). **Formula**: B sequences are prefilled together and then decoded for ``output`` steps with a
  KV cache of ``prompt + output / 2`` tokens (the mean over the decode), so
  ``tokens/s = B x output / (TTFT(B) + output x TPOT(B))``, TTFT and TPOT from ``llm_estimate`` at
  ``prompt`` and that context.

A point without a source, with an unknown scenario, precision or metric, or with a value that is not a
positive finite number is a one-line :class:`DatasetError` naming the file and the point.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .._checks import parse_resolution
from ..errors import FitbenchError
from ..yaml_file import read_yaml

DATASET = Path(__file__).parent / "data" / "published.yaml"
SCENARIOS = ("offline", "single-stream", "server", "multi-stream")
METRICS = ("throughput_ips", "latency_s", "tokens_per_s")
SPLITS = ("calibration", "holdout")
PRECISIONS = ("int8", "fp16", "bf16", "fp32")


class DatasetError(FitbenchError):
    """The published-figures dataset file is missing, malformed, or holds an invalid point."""


class Source(BaseModel):
    """Where a figure was published: a repository and a path in it, or a document and its table."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    repository: str | None = None
    path: str | None = None
    commit: str | None = None
    document: str | None = None
    table: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Source:
        if not ((self.repository and self.path) or (self.document and self.table)):
            raise ValueError("a source needs repository and path, or document and table")
        return self

    def label(self) -> str:
        """One line: ``repository/path`` or ``document, table``."""
        if self.repository and self.path:
            return f"{self.repository}: {self.path}"
        return f"{self.document}, {self.table}"


class EffectiveWorkload(BaseModel):
    """What a submission really computed where it differs from the nominal input: zoo ``params`` overriding the
    point's for the estimate, ``why``, and the ``source`` of the figures used."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    params: dict[str, Any]
    why: str
    source: Source

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any]) -> dict[str, Any]:
        if not v:
            raise ValueError("needs at least one zoo parameter")
        if "resolution" in v:
            parse_resolution(str(v["resolution"]), "effective.params.resolution")
        return v

    @field_validator("why")
    @classmethod
    def _why(cls, v: str) -> str:
        if not str(v).strip():
            raise ValueError("must say why the effective workload differs")
        return str(v).strip()


class LLMWorkload(BaseModel):
    """The token lengths of an LLM benchmark (mean input ``prompt`` and mean ``output`` tokens per sample), with
    their ``source``; ``batch_rule`` and ``kv_precision`` as the module doc states."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    prompt: int
    output: int
    kv_precision: Literal["int8", "fp16", "bf16", "fp32"] = "fp16"
    batch_rule: Literal["stated", "max-fit"] = "stated"
    why: str = ""
    source: Source

    @field_validator("prompt", "output")
    @classmethod
    def _tokens(cls, v: int) -> int:
        if v <= 0:
            raise ValueError(f"must be a positive number of tokens, got {v}")
        return v

    @property
    def context(self) -> int:
        """The mean KV-cache length over the decode: ``prompt + output // 2`` tokens."""
        return self.prompt + self.output // 2


class PublishedPoint(BaseModel):
    """One published figure. ``value`` is in samples/s (``throughput_ips``), seconds (``latency_s``) or output
    tokens/s (``tokens_per_s``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    chip: str
    model: str
    params: dict[str, Any] = {}
    batch: int
    batch_stated: bool = True
    precision: Literal["int8", "fp16", "bf16", "fp32"]
    scenario: Literal["offline", "single-stream", "server", "multi-stream"]
    metric: Literal["throughput_ips", "latency_s", "tokens_per_s"]
    value: float
    source: Source
    system: str = ""
    notes: str = ""
    effective: EffectiveWorkload | None = None
    split: Literal["calibration", "holdout"] = "calibration"
    llm: LLMWorkload | None = None

    @model_validator(mode="after")
    def _llm(self) -> PublishedPoint:
        if self.metric == "tokens_per_s" and self.llm is None:
            raise ValueError("a tokens_per_s point needs llm: {prompt, output, source} (the benchmark's lengths)")
        if self.llm is not None and self.metric != "tokens_per_s":
            raise ValueError("llm: is for tokens_per_s points only")
        if self.metric == "tokens_per_s" and self.split != "holdout":
            raise ValueError("a tokens_per_s point must be split: holdout (the calibration set is MLPerf v1.1 + "
                             "NVDLA only)")
        return self

    @property
    def is_holdout(self) -> bool:
        return self.split == "holdout"

    @field_validator("chip", "model")
    @classmethod
    def _name(cls, v: str) -> str:
        if not str(v).strip():
            raise ValueError("must not be empty")
        return str(v).strip()

    @field_validator("batch")
    @classmethod
    def _batch(cls, v: int) -> int:
        if v <= 0:
            raise ValueError(f"must be a positive integer, got {v}")
        return v

    @field_validator("value")
    @classmethod
    def _value(cls, v: float) -> float:
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"must be a positive finite number, got {v}")
        return v

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any]) -> dict[str, Any]:
        if "resolution" in v:
            parse_resolution(str(v["resolution"]), "params.resolution")  # WIDTHxHEIGHT, checked here
        return v

    def estimate_params(self) -> dict[str, Any]:
        """The zoo parameters the point is estimated at: ``params`` with ``effective.params`` over them."""
        return {**self.params, **(self.effective.params if self.effective else {})}

    def zoo_params(self) -> dict[str, Any]:
        """The zoo keyword arguments of the estimate (:meth:`estimate_params`): ``resolution`` as (height, width),
        the rest as given."""
        out = self.estimate_params()
        if "resolution" in out:
            out["resolution"] = parse_resolution(str(out["resolution"]), "params.resolution")
        return out

    def input_label(self) -> str:
        """``224x224`` or ``seq 384`` (WIDTHxHEIGHT as cameras state it), or ``default``."""
        parts = [str(self.params["resolution"])] if "resolution" in self.params else []
        parts += [f"seq {self.params['seq_len']}"] if "seq_len" in self.params else []
        parts += [f"{k}={v}" for k, v in sorted(self.params.items()) if k not in ("resolution", "seq_len")]
        if self.effective:
            parts.append("as " + ", ".join(f"{k}={v}" for k, v in sorted(self.effective.params.items())))
        if self.llm:
            parts.append(f"in {self.llm.prompt} / out {self.llm.output} tokens")
        return ", ".join(parts) or "default"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "point"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "missing (every point needs one)" if loc == "source" else "missing"
        elif err["type"] == "literal_error":
            msg = f"{err.get('input')!r} is not one of {msg.split('Input should be ', 1)[-1]}"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_points(data: Any, where: str) -> list[PublishedPoint]:
    """Points from parsed YAML (``{"points": [...]}`` or a bare list); ``where`` names the file in errors."""
    items = data.get("points") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise DatasetError(f"dataset {where}: expected a list of points (or a mapping with 'points:')")
    out = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise DatasetError(f"dataset {where}: point {i} is not a mapping of fields")
        label = f"point {i} ({item.get('chip', '?')} / {item.get('model', '?')})"
        try:
            out.append(PublishedPoint.model_validate(item))
        except ValidationError as exc:
            raise DatasetError(f"dataset {where}: {label}: {_one_line(exc)}") from None
        except FitbenchError as exc:
            raise DatasetError(f"dataset {where}: {label}: {exc}") from None
    return out


def calibration_points(points: list[PublishedPoint]) -> list[PublishedPoint]:
    """The points calibration and leave-model-out may use: every point but the hold-outs (``split: holdout``)."""
    return [p for p in points if not p.is_holdout]


def holdout_points(points: list[PublishedPoint]) -> list[PublishedPoint]:
    """The hold-out points (``split: holdout``): reported by ``validate``, never fitted on."""
    return [p for p in points if p.is_holdout]


def load_dataset(path: str | Path | None = None) -> list[PublishedPoint]:
    """The published points of ``path`` (a YAML file), or of the shipped dataset when ``path`` is None."""
    if path is None:
        return list(_shipped())
    p = Path(path)
    try:
        data = read_yaml(p, "dataset")
    except FitbenchError as exc:
        raise DatasetError(str(exc)) from None
    return parse_points(data, str(p))


@lru_cache(maxsize=1)
def _shipped() -> tuple[PublishedPoint, ...]:
    return tuple(parse_points(read_yaml(DATASET, "dataset"), "fitbench/validation/data/published.yaml"))
