"""A fresh process's first core call, against the first call of a trivial cached ``@njit``.

Run::

    python -m ebm bench --startup            # 11 interleaved pairs of processes
    python -m ebm bench --startup --runs 21

Both sides start a new Python, import NumPy and make one call with a warm on-disk
cache: ebm does ``softmax_loss_forward`` + ``softmax_loss_backward`` on a (1, 3)
batch; the baseline imports a module holding ``@njit(cache=True) def f(x): return x + 1``
and calls it.  The floor both pay is Numba's own (importing it, loading its
registries; with SciPy installed, SciPy's BLAS).  Each process reports its own time
from before ``import numpy`` to the end of the call; the runs alternate between the
two, the first pair only warms the caches, and the medians and their difference are
printed.  Python's bytecode cache is allowed (``PYTHONDONTWRITEBYTECODE`` is dropped),
as on a user's machine.

:func:`fresh_env`, :func:`run_fresh` and :func:`write_trivial_module` are shared
with :mod:`ebm.bench.cold`, which runs the same processes with an empty cache.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

CORE = textwrap.dedent("""
    import time; t0 = time.perf_counter()
    import numpy as np, ebm
    x = np.array([[1.0, 2.0, 3.0]]); label = np.array([2])
    loss, prob = ebm.softmax_loss_forward(x, label); ebm.softmax_loss_backward(prob, label)
    print(time.perf_counter() - t0)
""")
TRIVIAL = textwrap.dedent("""
    import time; t0 = time.perf_counter()
    import numpy as np, sys; sys.path.insert(0, sys.argv[1])
    import ebm_trivial_njit; ebm_trivial_njit.f(1.0)
    print(time.perf_counter() - t0)
""")
TRIVIAL_MODULE = "ebm_trivial_njit"


def write_trivial_module(directory):
    """Write ``ebm_trivial_njit.py`` (``@njit(cache=True) def f(x): return x + 1``) into ``directory``."""
    with open(os.path.join(directory, TRIVIAL_MODULE + ".py"), "w") as f:
        f.write("from numba import njit\n\n\n@njit(cache=True)\ndef f(x):\n    return x + 1\n")


def fresh_env(**overrides):
    """The environment of a fresh process, as on a user's machine: Python's bytecode cache allowed,
    no ``NUMBA_*`` setting inherited (the caller passes its own, e.g. ``NUMBA_CACHE_DIR``)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("NUMBA_")}
    env.update(overrides)
    return env


def run_fresh(code, *args, env=None, timeout=None):
    """Run ``python -c code *args`` in a new process; return its standard output (raises if it fails)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=env if env is not None else fresh_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"the child process failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def run_startup_bench(runs=11, out=print):
    """Medians of ``runs`` interleaved fresh processes (warm caches): ``(ebm seconds, trivial seconds)``."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    env = fresh_env(**{k: v for k, v in os.environ.items() if k.startswith("NUMBA_")})
    with tempfile.TemporaryDirectory() as tmp:
        write_trivial_module(tmp)
        times = {"ebm": [], "trivial": []}
        for k in range(runs + 1):
            for name, code in (("ebm", CORE), ("trivial", TRIVIAL)):
                stdout = run_fresh(code, tmp, env=env)
                if k:  # the first pair warms the caches
                    times[name].append(float(stdout))
    core, trivial = statistics.median(times["ebm"]), statistics.median(times["trivial"])
    out(f"first call in a fresh process (medians of {runs} interleaved runs, warm caches):")
    out(f"  ebm softmax_loss_forward + backward: {core * 1e3:7.0f} ms")
    out(f"  trivial cached @njit:                {trivial * 1e3:7.0f} ms")
    out(f"  difference:                          {(core - trivial) * 1e3:+7.0f} ms (target <= +100 ms)")
    return core, trivial
