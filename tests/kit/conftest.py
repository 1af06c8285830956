"""One kit of the zoo's ``tiny`` model and one ONNX Runtime run of it, shared by the kit tests (a few
seconds in all): single-stream and offline, 0.2 s minimum each, 4 sample batches."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kit_short import short_settings

from fitbench.kit import OnnxRuntimeSUT, create_kit, run_kit


@pytest.fixture(scope="session")
def kit_run(tmp_path_factory) -> tuple[Path, Path]:
    """(kit folder, results folder) of a clean run; tests copy the results before they change anything."""
    root = tmp_path_factory.mktemp("kit")
    kit = create_kit("tiny", root / "kit", scenarios=short_settings("single-stream", "offline"), samples=4)
    run_kit(kit.path, OnnxRuntimeSUT(threads=1), root / "results")
    return kit.path, root / "results"


@pytest.fixture
def results_copy(kit_run, tmp_path) -> Path:
    dst = tmp_path / "results"
    shutil.copytree(kit_run[1], dst)
    return dst
