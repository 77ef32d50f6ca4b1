"""What every kernel family shares: the sizes of a task, the label rule, the per-task counts."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ebm import _numba_cache
from ebm._parallel import twins

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules

TILE = 512  # positions per task (tiles)
NARROW = 16  # rows with fewer classes go through SIMD vectors of rows (ebm._rowvec)
BLOCK = 8192  # elements per task (rows)
SUM_BLOCK = 32  # classes summed in x's dtype before a float64 add (tiles)
ROW_SUM_BLOCK = 1024  # classes summed in x's dtype before a float64 add (rows: <= 128 terms a SIMD lane)
NPART = 4  # per task: loss, kept, bad columns, bad labels

IGNORED, KEPT, BAD = 0, 1, 2


@njit(error_model="numpy", inline="always")
def label_status(k, C, has_ignore, ignore_label):
    """The label rule: ``IGNORED`` if ``k`` is the ignore_label, ``KEPT`` if in ``[0, C)``, else ``BAD``.

    The one place the kernels decide it (the SIMD code of :mod:`ebm._rowvec`
    emits the same rule as IR, in ``_emit_label_rule``).
    """
    if has_ignore and k == ignore_label:
        return IGNORED
    return KEPT if 0 <= k < C else BAD


@njit(error_model="numpy", inline="always")
def task_rows(t, rows, N):
    """Task ``t``'s rows: ``r0:r1``."""
    r0 = t * rows
    return r0, min(r0 + rows, N)


@njit(error_model="numpy", inline="always")
def sum_parts(out):
    """The per-task counts summed in task order (deterministic for any thread count)."""
    total = 0.0
    kept = bad = bad_label = 0
    for t in range(out.shape[0]):
        total += out[t, 0]
        kept += np.int64(out[t, 1])
        bad += np.int64(out[t, 2])
        bad_label += np.int64(out[t, 3])
    return total, kept, bad, bad_label


@njit(error_model="numpy", inline="always")
def bad_columns(s, out, t):
    """Record in ``out[t]`` how many column sums ``s`` are not >= 1 (NaN, +inf, or all -inf)."""
    bad = 0
    for jj in range(s.size):
        bad += 0 if s[jj] >= 1.0 else 1
    out[t, 2] = bad


@njit(cache=True, error_model="numpy")
def _count_task(lab, has_ignore, ignore_label, C, out, t, per_task):
    flat = lab.reshape(-1)
    a0 = t * per_task
    a1 = min(a0 + per_task, flat.size)
    kept = 0
    bad_label = 0
    for a in range(a0, a1):
        status = label_status(flat[a], C, has_ignore, ignore_label)
        kept += 1 if status == KEPT else 0
        bad_label += 1 if status == BAD else 0
    out[t, 1] = kept
    out[t, 3] = bad_label


def _count_labels(lab, has_ignore, ignore_label, C, out):
    # the kept count that VALID normalization with an ignore_label divides by
    per_task = (lab.size + out.shape[0] - 1) // max(out.shape[0], 1)
    for t in prange(out.shape[0]):
        _count_task(lab, has_ignore, ignore_label, C, out, np.int64(t), per_task)
    return sum_parts(out)


count_labels_ser, count_labels_par = twins(_count_labels)
