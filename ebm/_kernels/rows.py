"""Kernels for an (N, C) batch of rows with ``C >= NARROW`` (and any C when the narrow path is off).

See :mod:`ebm._kernels` for how the work is cut and what the kernels return.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ebm import _numba_cache
from ebm._fastexp import add_reassoc, exp_nonpositive, log_ge1, max_num
from ebm._kernels.common import BAD, IGNORED, KEPT, ROW_SUM_BLOCK, label_status, sum_parts, task_rows
from ebm._parallel import twins

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules


@njit(error_model="numpy", inline="always")
def _rows_forward_task(x, lab, has_ignore, ignore_label, with_loss, top, out, t, rows):
    N, C = x.shape
    r0, r1 = task_rows(t, rows, N)
    total = 0.0
    kept = 0
    bad = 0
    bad_label = 0
    inv_x = np.empty(1, x.dtype)  # 1 / s, rounded to x's dtype
    inv_x[0] = 0.0
    zero = inv_x[0]  # 0 in x's dtype
    for r in range(r0, r1):
        xr, tr = x[r], top[r]
        m = xr[0]
        for c in range(1, C):
            m = max_num(m, xr[c])
        s = 0.0  # the sum, taken in the exp loop (one pass
        for c0 in range(0, C, ROW_SUM_BLOCK):  # less over the row): in x's dtype at full
            part = zero  # SIMD width, into float64 every ROW_SUM_BLOCK
            for c in range(c0, min(c0 + ROW_SUM_BLOCK, C)):
                e = exp_nonpositive(xr[c] - m)
                tr[c] = e
                part = add_reassoc(part, e)
            s += np.float64(part)
        inv_x[0] = 1.0 / s
        inv = inv_x[0]
        for c in range(C):
            tr[c] = tr[c] * inv
        bad += 0 if s >= 1.0 else 1
        if with_loss:
            k = lab[r]
            status = label_status(k, C, has_ignore, ignore_label)
            if status == KEPT:
                total += log_ge1(s) - (xr[k] - m)
                kept += 1
            bad_label += 1 if status == BAD else 0
    out[t, 0] = total
    out[t, 1] = kept
    out[t, 2] = bad
    out[t, 3] = bad_label


@njit(error_model="numpy", inline="always")
def loss_backward_range(prob, lab, has_ignore, ignore_label, w, bottom_diff, r0, r1):
    """Rows ``r0:r1``: (2) prob scaled by ``w`` in SIMD passes over each row, then per row (1) subtract
    ``w`` at the label and (3) zero an ignored row.  Returns ``(chk, bad labels)``; ``chk`` is 0 exactly
    when the rows' prob is finite."""
    C = prob.shape[1]
    zero = w - w  # 0 in prob's dtype (w is finite)
    chk = zero
    for r in range(r0, r1):  # (row by row: a flat view would compile Numba's reshape, ~0.15 s)
        pr, dr = prob[r], bottom_diff[r]
        for c in range(C):
            v = pr[c]
            dr[c] = v * w
            chk = add_reassoc(chk, v * zero)
    bad_label = 0
    for r in range(r0, r1):
        k = lab[r]
        status = label_status(k, C, has_ignore, ignore_label)
        if status == IGNORED:
            for c in range(C):
                bottom_diff[r, c] = 0.0
        elif status == KEPT:
            bottom_diff[r, k] = (prob[r, k] - 1) * w
        else:
            bad_label += 1
    return chk, bad_label


@njit(error_model="numpy", inline="always")
def softmax_backward_range(top_data, top_diff, bottom_diff, r0, r1):
    """Rows ``r0:r1``: one dot per row (Caffe: one per sample); returns how many dots are not finite."""
    C = top_data.shape[1]
    dot_x = np.empty(1, top_data.dtype)
    bad = 0
    for r in range(r0, r1):
        p, g, d = top_data[r], top_diff[r], bottom_diff[r]
        dot = 0.0
        for c in range(C):
            dot = add_reassoc(dot, np.float64(p[c]) * g[c])
        dot_x[0] = dot
        dx = dot_x[0]
        for c in range(C):
            d[c] = p[c] * (g[c] - dx)
        bad += 0 if np.isfinite(dot) else 1
    return bad


# See ebm._kernels: each twin's loop calls a task function compiled once for both twins.


@njit(cache=True, error_model="numpy")
def _forward_loss_task(x, lab, has_ignore, ignore_label, top, out, t, rows):
    _rows_forward_task(x, lab, has_ignore, ignore_label, True, top, out, t, rows)


@njit(cache=True, error_model="numpy")
def _forward_softmax_task(x, top, out, t, rows):
    lab = np.zeros(0, dtype=np.int64)
    _rows_forward_task(x, lab, False, 0, False, top, out, t, rows)


@njit(cache=True, error_model="numpy")
def _loss_backward_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, t, rows):
    r0, r1 = task_rows(t, rows, prob.shape[0])
    chk, bad_label = loss_backward_range(prob, lab, has_ignore, ignore_label, w, bottom_diff, r0, r1)
    out[t, 2] = 0 if chk == 0 else 1
    out[t, 3] = bad_label


@njit(cache=True, error_model="numpy")
def _softmax_backward_task(top_data, top_diff, bottom_diff, out, t, rows):
    r0, r1 = task_rows(t, rows, top_data.shape[0])
    out[t, 2] = softmax_backward_range(top_data, top_diff, bottom_diff, r0, r1)


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
