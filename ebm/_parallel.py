"""When to run a parallel Numba kernel on more than one thread."""

from __future__ import annotations

import os
import types

import numba

from ebm import _numba_cache

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules

#: Below this much work (about one operation per unit) a kernel runs on the calling
#: thread only.  Waking the other threads costs microseconds on an idle machine but
#: a whole scheduler time slice (5-8 ms measured on the 2-core machine) when another
#: process holds a core.
PARALLEL_MIN_WORK = 1 << 15


def use_parallel(work):
    """Whether a kernel with this much ``work`` should run on more than one thread.

    The one rule behind :func:`launch` and :func:`launch_twin`: ``work`` of at least
    PARALLEL_MIN_WORK on a machine with idle cores (:func:`machine_is_busy`).
    """
    return work >= PARALLEL_MIN_WORK and not machine_is_busy()


def launch(kernel, work, *args):
    """Call the ``parallel=True`` ``kernel(*args)``, single-threaded unless :func:`use_parallel`.

    For kernels compiled once; :func:`launch_twin` is the same rule for kernel pairs
    from :func:`twins`, whose serial twin does not even start the thread pool.
    """
    if use_parallel(work):
        return kernel(*args)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)  # thread-local: other callers are unaffected
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(previous)


#: Without /proc/loadavg (not Linux), the machine counts as busy when its 1-minute
#: load average is at least this many times the core count.
BUSY_LOAD_FACTOR = 2.0


def _runnable_now():
    """Threads runnable on the whole machine right now (this one included), or None.

    The fourth field of Linux's /proc/loadavg, ``running/total``.
    """
    try:
        fd = os.open("/proc/loadavg", os.O_RDONLY)
        try:
            fields = os.read(fd, 128).split()
        finally:
            os.close(fd)
        return int(fields[3].split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return None


def machine_is_busy():
    """Whether other work holds the cores, so that a parallel region would wait for the scheduler.

    A parallel kernel ends when its last thread does: on a machine whose cores
    are all taken, that is a scheduler time slice later (5-30 ms measured on the
    shared 2-core machine) for each call, and one thread is faster.  On Linux the
    test is instantaneous: more runnable threads than cores right now (ours count:
    the caller, and the pool's threads while they spin after a region, at most one
    per core).  Elsewhere: the 1-minute load average >= BUSY_LOAD_FACTOR x cores.
    """
    cores = os.cpu_count() or 1
    runnable = _runnable_now()
    if runnable is not None:
        return runnable > cores
    try:
        return os.getloadavg()[0] >= BUSY_LOAD_FACTOR * cores
    except (AttributeError, OSError):  # no load average at all (Windows)
        return False


def launch_twin(serial, parallel, work, *args):
    """``parallel(*args)`` for large ``work`` on a machine with idle cores, else ``serial(*args)``.

    For kernels compiled twice from the same per-task code (:func:`twins`): a
    plain ``@njit`` loop over the tasks and a ``parallel=True`` ``prange`` over
    them.  The serial twin runs when ``work`` is below PARALLEL_MIN_WORK or
    :func:`machine_is_busy`.  It never touches Numba's thread pool (even
    ``numba.get_num_threads()`` starts it), so a lecture's small first call does
    not pay for loading it.  Both twins run the same tasks with the same
    arithmetic: the result does not depend on which one ran.
    """
    return parallel(*args) if use_parallel(work) else serial(*args)


def twins(kernel):
    """``(serial, parallel)`` compilations of ``kernel``, a function written with ``prange``.

    Both are ``@njit(cache=True, error_model="numpy")``; the parallel one adds
    ``parallel=True``, the serial one runs ``prange`` as ``range``.  The serial one
    is compiled from a copy of the function under another name (``<name>_serial``)
    so that each has its own on-disk cache entry: Numba's cache index does not
    tell a ``parallel=True`` compilation from a plain one.  Call them through
    :func:`launch_twin`.
    """
    parallel = numba.njit(cache=True, parallel=True, error_model="numpy")(kernel)
    serial_fn = types.FunctionType(
        kernel.__code__, kernel.__globals__, kernel.__name__ + "_serial", kernel.__defaults__, kernel.__closure__
    )
    serial_fn.__qualname__ = kernel.__qualname__ + "_serial"
    serial_fn.__module__ = kernel.__module__
    serial = numba.njit(cache=True, error_model="numpy")(serial_fn)
    TWINS.append((serial, parallel))
    return serial, parallel


#: Every ``(serial, parallel)`` pair :func:`twins` made, for :func:`compile_parallel_twins`.
TWINS = []


def compile_parallel_twins():
    """Compile (or load from the cache) each parallel twin for every signature its serial twin has.

    A first call compiles only the twin it runs (small inputs: the serial one);
    ``python -m ebm warmup`` calls this after the serial twins have run, so that a
    later large input finds its parallel twin in the cache too.  Returns the number
    of signatures compiled or loaded.
    """
    done = 0
    for serial, parallel in TWINS:
        for signature in serial.signatures:
            parallel.compile(signature)
            done += 1
    return done
