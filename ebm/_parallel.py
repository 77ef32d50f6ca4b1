"""When to run a parallel Numba kernel on more than one thread."""

from __future__ import annotations

import numba

#: Below this much work (about one operation per unit) a kernel runs on the calling
#: thread only.  Waking the other threads costs microseconds on an idle machine but
#: a whole scheduler time slice (5-8 ms measured on the 2-core machine) when another
#: process holds a core.
PARALLEL_MIN_WORK = 1 << 15


def launch(kernel, work, *args):
    """Call ``kernel(*args)``, single-threaded when ``work`` is below PARALLEL_MIN_WORK."""
    if work >= PARALLEL_MIN_WORK:
        return kernel(*args)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)                # thread-local: other callers are unaffected
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(previous)
