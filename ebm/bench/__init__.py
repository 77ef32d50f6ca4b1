"""``python -m ebm bench``: how fast the core is, measured side by side, never asserted in a test.

- :mod:`.softmax_loss`: the table -- forward + backward of the loss and of the softmax, the Numba core
  against :mod:`ebm.reference` and PyTorch (the ``bench`` extra), with the memory-bandwidth bound;
- :mod:`.hopfield`: the Hopfield capacity sweep and the Numba recall against a Python loop;
- :mod:`.startup`: a fresh process's first call with a warm JIT cache, against a trivial cached
  ``@njit`` (Numba's own floor);
- :mod:`.cold`: the same first calls, one per kernel family and dtype, and the tour, with an empty JIT
  cache, against that floor and against the warm run, with where each spends its compile time.

Run::

    python -m ebm bench                   # the Hopfield sweep, then the table (about 2 minutes)
    python -m ebm bench --quick           # the three small cases only
    python -m ebm bench --float64 --no-torch
    python -m ebm bench --startup         # the first call in a fresh process
    python -m ebm bench --cold            # a fresh install's first calls and tour (a few minutes)

Absolute times on a shared machine are noisy; the ratios, measured in alternating rounds of one run,
are what to read.
"""

from __future__ import annotations

from ebm.bench.cold import run_cold_bench
from ebm.bench.hopfield import run_hopfield_bench
from ebm.bench.softmax_loss import CASES, QUICK, run_bench
from ebm.bench.startup import run_startup_bench

__all__ = ["CASES", "QUICK", "run_bench", "run_cold_bench", "run_hopfield_bench", "run_startup_bench"]
