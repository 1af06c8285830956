"""Fixtures of the compare tests (the model and chips live in hand_chips.py)."""

from __future__ import annotations

import pytest
from hand_chips import matmul_model


@pytest.fixture(scope="session")
def mm_path(tmp_path_factory):
    return matmul_model(tmp_path_factory.mktemp("mm") / "mm.onnx")
