"""Zoo profiles shared by the hardware tests (each profiled once per session)."""

from __future__ import annotations

import pytest

from fitbench.profile import profile

# ------------------------------------------------------------------ zoo profiles (once per session)

def _zoo_profile(name: str, **params):
    # the zoo is part of fitbench: a broken zoo must fail these tests, never skip them
    return profile(name, precision="int8", **params)


@pytest.fixture(scope="session")
def resnet50():
    """ResNet-50 v1.5 (stride on the 3x3), 224x224, INT8."""
    return _zoo_profile("resnet50")


@pytest.fixture(scope="session")
def resnet50_v1():
    """ResNet-50 v1 (stride on the first 1x1), 224x224, INT8."""
    return _zoo_profile("resnet50-v1")


@pytest.fixture(scope="session")
def yolov3_1080p():
    """YOLOv3 at 1920x1080 (the zoo pads H to a multiple of 32), INT8."""
    return _zoo_profile("yolov3", resolution=(1080, 1920))
