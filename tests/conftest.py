"""Shared fixtures for the softmax-with-loss test suite.

The Numba kernels are ``@njit(cache=True)``: the first call of each type
signature compiles (a second or more) and writes the on-disk cache.  We call
every core function once at session start, in the controlling process before
any pytest-xdist worker exists, so that workers load the cache instead of all
compiling -- and racing to write -- the same files at once.
"""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("MPLBACKEND", "Agg")    # headless: figures render, nothing opens

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")

SEED = 20240601


def _warm_numba_cache() -> None:
    import ebm

    # (2, 3) takes the kernels' row path (inner_num == 1); (2, 3, 2) the tiled path.
    base = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    cases = [(base, np.array([0, 2])), (np.stack([base, -base], axis=-1), np.array([[0, 1], [2, 2]]))]
    # Read-only arrays are a signature of their own; the tests use them in float64 only.
    signatures = [(np.float32, True), (np.float64, True), (np.float64, False)]
    for (data, label), (dtype, writeable) in itertools.product(cases, signatures):
        x = data.astype(dtype)
        x.flags.writeable = writeable
        top = ebm.softmax_forward(x)
        top.flags.writeable = writeable
        ebm.softmax_backward(top, top)
        for ignore_label in (None, 2):
            _, prob = ebm.softmax_loss_forward(x, label, ignore_label=ignore_label)
            prob.flags.writeable = writeable
            ebm.softmax_loss_backward(prob, label, ignore_label=ignore_label)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    # Under pytest-xdist this runs in the controller (it has no ``workerinput``)
    # before the workers are started; without xdist it is simply the session start.
    if not hasattr(session.config, "workerinput"):
        _warm_numba_cache()


@pytest.fixture
def rng():
    """A freshly seeded generator for each test: results never depend on test order."""
    return np.random.default_rng(SEED)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
