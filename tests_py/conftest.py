"""Shared fixtures: seeded data, the bundled real data sets, backends to test."""
import numpy as np
import pytest

import mfs

# CUDA is tested where a GPU is present; elsewhere its tests skip with a reason.
HAS_GPU = mfs.cuda_device_count() > 0
BACKENDS = ["c", "python"] + (["cuda"] if HAS_GPU else [])


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="no CUDA device on this machine")
    for item in items:
        if "cuda" in item.keywords and not HAS_GPU:
            item.add_marker(skip)


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param
