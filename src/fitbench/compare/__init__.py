"""Which offering is best for MY application? Rank offerings on the user's workload beside the baseline.

``compare(workload, hw=[...], batch=[1], baseline="resnet50@224:batch=32", precision="int8")`` returns
a :class:`Comparison` (rankings, flips with their explanations, the benchmark card; ``to_dict()``,
``to_dataframe()``). For an LLM of the zoo: ``llm_estimate`` (TTFT, TPOT, tokens/s, memory fit on one
offering), ``llm_estimate_many`` and ``measure_llm`` (:mod:`.llm`).
"""

from .engine import (
    DEFAULT_BASELINE,
    add_measurement,
    compare,
    estimate_models,
    resolve_hardware,
    save_comparison,
)
from .llm import LLMEstimate, LLMMeasurement, LLMPoint, llm_estimate, llm_estimate_many, measure_llm
from .ranking import build_rows, find_flips, rank
from .result import Comparison, Figures, Flip, Offering, RankRow
from .workload import Workload, parse_workload

__all__ = [
    "DEFAULT_BASELINE", "Comparison", "Figures", "Flip", "LLMEstimate", "LLMMeasurement", "LLMPoint", "Offering",
    "RankRow", "Workload", "add_measurement", "build_rows", "compare", "estimate_models", "find_flips",
    "llm_estimate", "llm_estimate_many", "measure_llm", "parse_workload", "rank", "resolve_hardware",
    "save_comparison",
]

from .._callable import make_module_callable  # noqa: E402

make_module_callable(__name__, "compare")
