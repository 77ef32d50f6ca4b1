"""Shared fixtures for ebm's test suite: a warm Numba cache, headless figures, the tour and the book.

The Numba kernels are ``@njit(cache=True)``: the first call of each type
signature compiles (a second or more) and writes the on-disk cache.  At session
start, before any pytest-xdist worker exists, child processes (``WARM_JOBS``, one
per core at a time) call every core function with the signatures the tests use --
each twin of each kernel family, and the 4-2-4 encoder's kernel -- so that the workers, and
the kernels that run the lectures, load the cache instead of each compiling the
same kernels (a cold parallel twin takes tens of seconds).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import sys

# jsonschema (through nbformat and nbconvert) takes rfc3987_syntax, when installed, for one optional
# format check no notebook uses, and building its parsers costs about 4 s a process: the test processes
# treat it as absent.  tests/import_shims/rfc3987_syntax.py says more.
sys.modules.setdefault("rfc3987_syntax", None)

collect_ignore = ["import_shims"]  # stand-ins for packages, not tests (nor doctests)

os.environ.setdefault("MPLBACKEND", "Agg")  # headless: figures render, nothing opens

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")

SEED = 20240601


#: One shape per kernel family (axis 1) as ebm.softmax_loss picks them.
WARM_SHAPES = {"narrow": [(37, 5)], "rows": [(6, 16), (2, 4099)], "tiles": [(2, 5, 3, 4)]}
#: The warm step's jobs, each one child process, the longest first (two run at a time on two cores).
WARM_JOBS = [
    ("serial", "narrow"),
    ("parallel", "narrow"),
    ("parallel", "rows"),
    ("parallel", "tiles"),
    ("serial", "rows"),
    ("serial", "tiles"),
    ("serial", "encoder"),
]


def _warm_numba_cache(twin: str, family: str) -> None:
    """Compile (or load) the signatures the tests call, for one twin of one kernel family.

    They are the ones tests/test_fast_paths.py and the rest of the suite use: float32 and float64
    logits, contiguous, strided and read-only; int64 labels and read-only int32 ones; with and
    without ``ignore_label``; a scalar ``top_diff``.  ``family="encoder"``: the 4-2-4 encoder's
    kernel (the tour, the Boltzmann tests and lecture 02 train with it).
    """
    import ebm
    from ebm import _parallel

    if family == "encoder":
        from ebm import boltzmann

        boltzmann.encoder_experiment(1, regime="annealed", max_cycles=1, seed=0)
        return
    _parallel.PARALLEL_MIN_WORK = 0 if twin == "parallel" else 1 << 62
    _parallel.machine_is_busy = lambda: False  # a loaded machine would take the serial twin
    ebm.softmax_loss.SMALL_SIZE = 0  # as tests/test_fast_paths.py sets it for its small narrow shapes
    rng = np.random.default_rng(0)
    for shape, dtype in itertools.product(WARM_SHAPES[family], (np.float32, np.float64)):
        x = rng.normal(size=shape).astype(dtype)
        label = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
        lab32 = label.astype(np.int32)
        lab32.flags.writeable = False
        readonly = x.copy()
        readonly.flags.writeable = False
        strided = np.repeat(x, 2, axis=-1)[..., ::2]
        for xv, lab in ((x, label), (strided, lab32), (readonly, label)):
            for ignore_label in (None, 2):
                _, prob = ebm.softmax_loss_forward(xv, lab, ignore_label=ignore_label)
                ebm.softmax_loss_backward(prob, lab, ignore_label=ignore_label)
                ebm.softmax_loss_backward(prob, lab, ignore_label=ignore_label, top_diff=0.7)
                prob.flags.writeable = False  # the float64 tests also pass read-only probs
                ebm.softmax_loss_backward(prob, lab, ignore_label=ignore_label)
            top = ebm.softmax_forward(xv)
            for top_diff in (x, strided, readonly):
                ebm.softmax_backward(top, top_diff)
            top.flags.writeable = False
            ebm.softmax_backward(top, readonly)


def _warm_marker():
    """The file that says this cache already holds what the warm step compiles.

    Named by a digest of ebm's Numba modules, this file, Numba's and Python's versions and the
    ``NUMBA_*`` settings; it sits beside the kernels' cache, so clearing that removes it too.  A
    marker without its kernels only costs time: the tests then compile what they call.
    """
    import hashlib
    from pathlib import Path

    import numba

    import ebm
    from ebm import _numba_cache

    numba_env = sorted((k, v) for k, v in os.environ.items() if k.startswith("NUMBA_"))
    key = repr((_numba_cache.package_digest(), Path(__file__).read_bytes(), numba.__version__, sys.version, numba_env))
    folder = os.environ.get("NUMBA_CACHE_DIR") or Path(ebm.__file__).resolve().parent / "_kernels" / "__pycache__"
    return Path(folder) / f"ebm-tests-warm-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def _warm_in_children() -> None:
    """Run WARM_JOBS in child processes, one per core at a time, unless the cache is already warm.

    Different jobs compile different kernels, so the children write different cache files
    (helpers two of them compile are written twice, atomically, as in any two first runs).  A
    child that fails says so on stderr and the session goes on: the tests that need its kernels
    then compile them and report what is wrong.
    """
    import subprocess
    import tempfile
    import time
    from pathlib import Path

    import ebm

    marker = _warm_marker()
    if marker.exists():
        return
    here, root = Path(__file__).resolve().parent, Path(ebm.__file__).resolve().parent.parent
    code = (
        f"import sys; sys.path[:0] = [{str(root)!r}, {str(here)!r}]; "
        "import conftest; conftest._warm_numba_cache(*sys.argv[1:])"
    )
    jobs, running, failed = list(WARM_JOBS), [], []
    slots = max(1, min(4, os.cpu_count() or 1))
    while jobs or running:
        while jobs and len(running) < slots:
            err = tempfile.TemporaryFile("w+")
            running.append(
                (
                    subprocess.Popen([sys.executable, "-c", code, *jobs[0]], stdout=subprocess.DEVNULL, stderr=err),
                    jobs.pop(0),
                    err,
                )
            )
        time.sleep(0.1)
        for child, job, err in [r for r in running if r[0].poll() is not None]:
            running.remove((child, job, err))
            err.seek(0)
            if child.returncode != 0:
                failed.append(job)
                sys.stderr.write(f"conftest: warming the Numba cache failed {job}:\n{err.read()[-3000:]}\n")
            err.close()
    if not failed:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    # Under pytest-xdist this runs in the controller (it has no ``workerinput``) before the workers
    # are started.  Without workers (``-n 0``, ``-p no:xdist``: a run of a few files) nothing is
    # warmed: no two processes would compile one kernel, and each test compiles only what it calls.
    workers = getattr(session.config.option, "numprocesses", None)
    if not hasattr(session.config, "workerinput") and workers:
        _warm_in_children()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Give each ``xdist_group`` test the ``@group`` suffix that ``--dist loadgroup`` schedules by.

    pytest-xdist adds it by setting ``item._nodeid``, which pytest 9.2 no longer reads (a node's id
    is ``item._id``): without this every group would be split over the workers, and each worker
    would build the book and run the tour for itself.  Where xdist's own suffix took, nothing changes.
    """
    try:
        from _pytest.nodes import coerce_node_id
    except ImportError:  # an older pytest, where xdist's suffix works
        return
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = {
            str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")
        }
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix):
            item._id = coerce_node_id(item.nodeid + suffix)


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
    real_connect, real_connect_ex, real_getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

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
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = (
            real_connect,
            real_connect_ex,
            real_getaddrinfo,
        )


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
