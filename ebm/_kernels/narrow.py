"""Kernels for rows of fewer than ``NARROW`` classes, in SIMD vectors of rows (:mod:`ebm._rowvec`).

A loop over 10 classes is too short for LLVM to vectorise, and so is a loop over
rows (their classes are not a stride it can turn into lanes).  :mod:`ebm._rowvec`
writes the vectors as LLVM IR: eight rows are loaded as eight vectors and
transposed in registers, so that each vector holds one class of the eight rows,
and the max, exp, sum and scale become lane-by-lane operations (sixteen rows at
once with AVX-512, loaded two or four to a register and transposed within its
halves or 128-bit blocks).  The transpose stays in registers because through
memory the strided loads and stores become gathers and scatters, which spill
registers.  The loss is taken in the same registers: each row's ``x[k] - max``
picked lane by lane (a compare and a select per class) and ``log s`` in the
data's dtype.  The backward passes do one row per vector.

This module is imported, and its kernels compiled, only when a narrow row is met
(see :mod:`ebm._kernels`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ebm import _numba_cache
from ebm._fastexp import add_reassoc, exp_nonpositive, log_ge1
from ebm._kernels.common import BAD, KEPT, bad_columns, label_status, sum_parts, task_rows
from ebm._kernels.rows import loss_backward_range, softmax_backward_range
from ebm._parallel import twins
from ebm._rowvec import (
    row_softmax,
    rows_loss_diff,
    rows_softmax,
    rows_softmax_diff,
    rows_softmax_loss,
    vector_rows,
)

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules


@njit(error_model="numpy")
def _rows_vector(x, top, r0, r1, m, s, lab, has_ignore, ignore_label, ls, xd):
    """Rows ``r0:r1`` of an (N, C) batch, ``C < NARROW``, in SIMD vectors.

    :func:`ebm._rowvec.rows_softmax` does sixteen rows (max, exp, sum, scale) in
    vectors that each hold one class of the sixteen, then eight,
    :func:`ebm._rowvec.row_softmax` one row in one vector.  Their stores spill zeros
    onto the following rows, so the rows go in order, and the last rows, whose
    vector would reach past ``r1`` (into another task's rows), are done one class
    at a time.  Fills each row's max ``m`` and sum of exponentials ``s``; or, when
    ``ls`` is not None, the loss's parts ``ls`` (log s, NaN unless ``s >= 1``) and ``xd``
    (``x[k] - max``, NaN where the label ``lab[r]`` is not kept: see
    :func:`ebm._rowvec.rows_softmax_loss`) and returns the counts of kept and of
    bad labels.  (Rows' ``m`` and ``s`` are then only filled from the first row
    the groups leave.)  ``ls`` and ``xd`` are None for the softmax: a None argument
    is a type of its own, so Numba prunes the loss branches from that compilation
    (and the softmax's from the loss's) before typing them.
    """
    C = x.shape[1]
    n = r1 - r0
    xt = x[r0:r1]  # the task's rows, which the SIMD code addresses flat (element r * C + c)
    tt = top[r0:r1]
    n_vec = vector_rows(n, C)
    n_16 = n_vec - n_vec % 16
    n_8 = n_vec - n_vec % 8
    inv_x = np.empty(1, x.dtype)
    kept = 0
    bad_label = 0
    g = 0
    while g < n_8:  # sixteen rows at a time, then eight ...
        R = 16 if g < n_16 else 8
        if ls is not None:
            k, b = rows_softmax_loss(xt, tt, g * C, C, lab, has_ignore, ignore_label, ls, xd, g, R)
            kept += k
            bad_label += b
        else:
            rows_softmax(xt, tt, g * C, C, m, s, g, R)
        g += R
    for r in range(n_8, n):
        if r < n_vec:  # ... one vector a row ...
            mr, sr = row_softmax(xt, tt, r * C, C)
        else:  # ... and the last rows one class at a time
            xr, tr = x[r0 + r], top[r0 + r]
            mr = xr[0]
            for c in range(1, C):
                v = xr[c]
                mr = v if v > mr else mr
            sr = mr - mr  # 0 in x's dtype (NaN if mr is: reported anyway)
            for c in range(C):
                e = exp_nonpositive(xr[c] - mr)
                tr[c] = e
                sr += e
            inv_x[0] = 1.0 / np.float64(sr)  # 1 / s, rounded to x's dtype
            inv = inv_x[0]
            for c in range(C):
                tr[c] = tr[c] * inv
        m[r] = mr
        s[r] = sr
        if ls is not None:  # as the vectors do it: log in x's dtype
            ls[r] = log_ge1(sr) if sr >= 1.0 else np.nan
            k = lab[r]
            status = label_status(k, C, has_ignore, ignore_label)
            d = np.nan  # NaN: not kept
            if status == KEPT:
                d = xt[r, k] - mr
                kept += 1
            bad_label += 1 if status == BAD else 0
            xd[r] = d
    return kept, bad_label


@njit(error_model="numpy", inline="always")
def _narrow_forward_task(x, lab, has_ignore, ignore_label, with_loss, top, out, t, rows):
    # x, top: (N, C) with C < NARROW; a task is a block of rows, done in SIMD vectors.  Inlined
    # into each kernel, whose constant with_loss then prunes the other half before typing.
    N, C = x.shape
    r0, r1 = task_rows(t, rows, N)
    n = r1 - r0
    m = np.empty(n, x.dtype)
    s = np.empty(n)
    if with_loss:
        ls = np.empty(n)
        xd = np.empty(n)
        kept, bad_label = _rows_vector(x, top, r0, r1, m, s, lab[r0:r1], has_ignore, ignore_label, ls, xd)
        total = 0.0
        bad = 0
        for r in range(n):  # SIMD: the loss is ls - xd, summed where kept
            total = add_reassoc(total, ls[r] - xd[r] if xd[r] == xd[r] else 0.0)
            bad += 0 if ls[r] == ls[r] else 1
        out[t, 0] = total
        out[t, 1] = kept
        out[t, 2] = bad
        out[t, 3] = bad_label
    else:
        _rows_vector(x, top, r0, r1, m, s, lab, has_ignore, ignore_label, None, None)
        bad_columns(s, out, t)


# See ebm._kernels: each twin's loop calls a task function compiled once for both twins.


@njit(cache=True, error_model="numpy")
def _forward_loss_task(x, lab, has_ignore, ignore_label, top, out, t, rows):
    _narrow_forward_task(x, lab, has_ignore, ignore_label, True, top, out, t, rows)


@njit(cache=True, error_model="numpy")
def _forward_softmax_task(x, top, out, t, rows):
    lab = np.zeros(0, dtype=np.int64)
    _narrow_forward_task(x, lab, False, 0, False, top, out, t, rows)


@njit(cache=True, error_model="numpy")
def _loss_backward_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, t, rows):
    # one SIMD vector a row does (1)-(3) at once (rows_loss_diff); the last rows, whose
    # vector would reach past the task, as the wide rows do them
    C = prob.shape[1]
    r0, r1 = task_rows(t, rows, prob.shape[0])
    n_vec = vector_rows(r1 - r0, C)
    bad_label, chk = rows_loss_diff(prob[r0:r1], lab[r0:r1], bottom_diff[r0:r1], n_vec, C, w, has_ignore, ignore_label)
    chk_tail, bad_tail = loss_backward_range(prob, lab, has_ignore, ignore_label, w, bottom_diff, r0 + n_vec, r1)
    out[t, 2] = 0 if chk + chk_tail == 0 else 1
    out[t, 3] = bad_label + bad_tail


@njit(cache=True, error_model="numpy")
def _softmax_backward_task(top_data, top_diff, bottom_diff, out, t, rows):
    C = top_data.shape[1]
    r0, r1 = task_rows(t, rows, top_data.shape[0])
    n_vec = vector_rows(r1 - r0, C)
    bad = rows_softmax_diff(top_data[r0:r1], top_diff[r0:r1], bottom_diff[r0:r1], n_vec, C)
    out[t, 2] = bad + softmax_backward_range(top_data, top_diff, bottom_diff, r0 + n_vec, r1)


def _forward_loss(x, lab, has_ignore, ignore_label, top, out, rows):
    for t in prange(out.shape[0]):
        _forward_loss_task(x, lab, has_ignore, ignore_label, top, out, np.int64(t), rows)
    return sum_parts(out)


def _forward_softmax(x, top, out, rows):
    for t in prange(out.shape[0]):
        _forward_softmax_task(x, top, out, np.int64(t), rows)
    return sum_parts(out)


def _loss_backward(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, rows):
    for t in prange(out.shape[0]):
        _loss_backward_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, np.int64(t), rows)
    return sum_parts(out)


def _softmax_backward(top_data, top_diff, bottom_diff, out, rows):
    for t in prange(out.shape[0]):
        _softmax_backward_task(top_data, top_diff, bottom_diff, out, np.int64(t), rows)
    return sum_parts(out)


forward_loss = twins(_forward_loss)
forward_softmax = twins(_forward_softmax)
loss_backward = twins(_loss_backward)
softmax_backward = twins(_softmax_backward)
