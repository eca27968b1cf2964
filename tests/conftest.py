"""Shared fixtures: small data and the optional shared data folder (helpers: _helpers.py)."""

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def panel():
    """12 univariate series of length 32, two classes (sine vs. square wave) plus noise."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 32)
    y = np.array([0, 1] * 6)
    phase = rng.uniform(0, np.pi, size=(12, 1))
    X = np.where(y[:, None] == 0, np.sin(t + phase), np.sign(np.sin(t + phase)))
    X = X + 0.1 * rng.standard_normal(X.shape)
    return X[:, None, :].astype(np.float32), y


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    """Tests of benchmarks/variants.py (the options measurements rejected, kept for the
    benchmarks) are research tests: ``-m research`` runs them, the default run skips them."""
    research = pytest.mark.research
    for item in items:
        if "variants" in getattr(item, "fixturenames", ()):
            item.add_marker(research)
