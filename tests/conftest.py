"""Shared fixtures for ebm's test suite: a warm Numba cache, headless figures, the tour and the book.

The Numba kernels are ``@njit(cache=True)``: the first call of each type
signature compiles (a second or more) and writes the on-disk cache.  We call
every core function once at session start, in the controlling process before
any pytest-xdist worker exists, so that workers load the cache instead of all
compiling -- and racing to write -- the same files at once.  The tour and the
book (which executes every lecture) are built once per session, for the tests
that read them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket

os.environ.setdefault("MPLBACKEND", "Agg")    # headless: figures render, nothing opens

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")

SEED = 20240601


def _warm_numba_cache() -> None:
    import ebm

    # (2, 3) takes the narrow-row kernels (inner_num == 1 and C < NARROW = 16), (2, 3, 2) the
    # tiles; both are small, so only their serial twins compile here.  The rows kernels (C >= 16)
    # and the parallel twins compile in the tests that first meet them.
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


@pytest.fixture(scope="session")
def tour(tmp_path_factory):
    """``python -m ebm tour``, run once for the whole session (the chapters' tests read its output).

    Returns ``(figures folder, {chapter key: its printed text}, the whole text, exit status)``.  The
    4-2-4 encoder runs 20 seeds per regime here instead of 100 (its statistics at full size are the
    lecture's, and are tested in test_boltzmann.py); everything else runs at full size.
    """
    import contextlib
    import io

    from ebm.chapters import boltzmann
    from ebm.cli import main

    figures = tmp_path_factory.mktemp("tour")
    text = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(text):
        mp.setattr(boltzmann, "ENCODER_SEEDS", 20)
        status = main(["tour", "--figures", str(figures)])
    chapters, current = {}, []
    for line in text.getvalue().splitlines():
        current.append(line)
        stripped = line.strip()
        if stripped.startswith("(") and " took " in stripped and stripped.endswith(" s)"):
            chapters[stripped[1:].split(" took ")[0]] = "\n".join(current)
            current = []
    return figures, chapters, text.getvalue(), status


@contextlib.contextmanager
def only_loopback():
    """Refuse (and record) every connection and name lookup that would leave this machine."""
    attempts = []
    real_connect, real_connect_ex, real_getaddrinfo = (socket.socket.connect, socket.socket.connect_ex,
                                                       socket.getaddrinfo)

    def local(host):
        return host in ("", "localhost", "::1") or str(host).startswith("127.")

    def guard(address):
        if isinstance(address, tuple) and not local(address[0]):
            attempts.append(address)
            raise OSError(f"no network during the build ({address!r})")

    def connect(self, address):
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not local(host):
            attempts.append(host)
            raise socket.gaierror(f"no name lookups during the build ({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
    try:
        yield attempts
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = (real_connect, real_connect_ex,
                                                                               real_getaddrinfo)


@pytest.fixture(scope="session")
def network_guard():
    """:func:`only_loopback`, for a test that checks the guard itself."""
    return only_loopback


@pytest.fixture(scope="session")
def book_build(tmp_path_factory):
    """``python -m ebm book``, built once for the session with every outside connection refused.

    Building it executes the five lectures top to bottom (a failing lecture fails the build, naming
    itself): test_notebooks.py reads that, test_book.py reads the pages.  Returns ``(BookResult,
    the connections and lookups it attempted)``.
    """
    from ebm.book import build_book

    out = tmp_path_factory.mktemp("book") / "book"
    with only_loopback() as attempts:
        result = build_book(out)
    return result, attempts


# --------------------------------------------------------------------------- jitted scalar helpers, element by element


def _elementwise(function):
    """``function`` (an ``@overload``-ed scalar helper of ebm._fastexp) jitted over every element of an array."""
    from numba import njit

    @njit
    def apply(x):
        out = np.empty_like(x)
        flat_x, flat_out = x.reshape(-1), out.reshape(-1)
        for k in range(flat_x.size):
            flat_out[k] = function(flat_x[k])
        return out

    return apply


@pytest.fixture(scope="session")
def log_ge1_array():
    """The jitted ``ebm._fastexp.log_ge1`` applied to every element (float32 or float64)."""
    from ebm._fastexp import log_ge1

    return _elementwise(log_ge1)


@pytest.fixture(scope="session")
def exp_nonpositive_array():
    """The jitted ``ebm._fastexp.exp_nonpositive`` applied to every element (float32 or float64)."""
    from ebm._fastexp import exp_nonpositive

    return _elementwise(exp_nonpositive)
