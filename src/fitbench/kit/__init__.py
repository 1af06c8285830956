"""The benchmark kit: the buyer's own benchmark, run by the supplier, verified when it comes back.

- :func:`create_kit` writes a self-contained kit folder (and ``.tar.gz``): the model and its sha256, a
  seeded sample set, LoadGen settings per scenario, reference outputs with a tolerance per precision, the
  rules for the supplier, and a manifest hashing every file (:mod:`.create`, :mod:`.manifest`).
- :func:`run_kit` runs it through MLPerf LoadGen on a supplier's SUT (:mod:`.sut`, :mod:`.run`).
- :func:`verify_kit` checks the returned results against the kit, one :class:`Check` per rule, and stores a
  verified result as ``supplier-measured, verified`` (:mod:`.verify`).
"""

from .create import TOLERANCES, Kit, create_kit, scenario_settings
from .manifest import KitError
from .run import KitRun, run_kit
from .sut import InputSpec, OnnxRuntimeSUT, SystemUnderTest, TorchSUT, builtin_sut, load_sut
from .verify import PROVENANCE, Check, Verification, verify_kit

__all__ = [
    "PROVENANCE", "TOLERANCES", "Check", "InputSpec", "Kit", "KitError", "KitRun", "OnnxRuntimeSUT",
    "SystemUnderTest", "TorchSUT", "Verification", "builtin_sut", "create_kit", "load_sut", "run_kit",
    "scenario_settings", "verify_kit",
]  # fmt: skip
