"""Kernels for spatial data (``inner_num > 1``): tiles of neighbouring positions, SIMD across them.

See :mod:`ebm._kernels` for how the work is cut and what the kernels return.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ebm import _numba_cache
from ebm._fastexp import add_reassoc, exp_nonpositive, log_ge1, max_num
from ebm._kernels.common import BAD, KEPT, SUM_BLOCK, TILE, bad_columns, label_status, sum_parts
from ebm._parallel import twins

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules


@njit(error_model="numpy", inline="always")
def _tile_span(t, inner_num):
    """Task ``t``'s tile: sample ``i`` and positions ``j0:j1`` (TILE per tile, the last one shorter)."""
    n_tiles = (inner_num + TILE - 1) // TILE
    i = t // n_tiles
    j0 = (t - i * n_tiles) * TILE
    return i, j0, min(j0 + TILE, inner_num)


@njit(error_model="numpy", inline="always")
def _tile_exp(x, i, j0, j1, top, m, s):
    """Column max ``m``, ``top = exp(x - m)`` and its column sum ``s`` for one tile.

    ``x`` and ``top`` are (outer, C, inner); ``m`` (x.dtype) and ``s`` (float64)
    hold ``j1 - j0`` entries.  The loops take the classes two at a time: one load
    of ``m`` and one update of the partial sums per pair, and the exp's constants
    loaded once for two vectors (15-20% less time per element than one class at
    a time, float32 and float64).
    """
    C = x.shape[1]
    n = j1 - j0
    x0 = x[i, 0, j0:j1]
    for jj in range(n):
        m[jj] = x0[jj]
    for c in range(1, C - 1, 2):
        xa, xb = x[i, c, j0:j1], x[i, c + 1, j0:j1]
        for jj in range(n):
            m[jj] = max_num(m[jj], max_num(xa[jj], xb[jj]))
    if C % 2 == 0:
        xc = x[i, C - 1, j0:j1]
        for jj in range(n):
            m[jj] = max_num(m[jj], xc[jj])
    for jj in range(n):
        s[jj] = 0.0
    part = np.empty(n, x.dtype)  # partial sums in x's dtype keep the
    for c0 in range(0, C, SUM_BLOCK):  # exp loop at full SIMD width; every
        c1 = min(c0 + SUM_BLOCK, C)  # SUM_BLOCK classes go into float64
        for jj in range(n):
            part[jj] = 0.0
        for c in range(c0, c1 - 1, 2):
            xa, ta = x[i, c, j0:j1], top[i, c, j0:j1]
            xb, tb = x[i, c + 1, j0:j1], top[i, c + 1, j0:j1]
            for jj in range(n):
                ea = exp_nonpositive(xa[jj] - m[jj])
                eb = exp_nonpositive(xb[jj] - m[jj])
                ta[jj] = ea
                tb[jj] = eb
                part[jj] += ea + eb
        if (c1 - c0) % 2 == 1:
            xc, tc = x[i, c1 - 1, j0:j1], top[i, c1 - 1, j0:j1]
            for jj in range(n):
                e = exp_nonpositive(xc[jj] - m[jj])
                tc[jj] = e
                part[jj] += e
        for jj in range(n):
            s[jj] += part[jj]


@njit(error_model="numpy", inline="always")
def _loss_sum(s, xd, kept, bad_label, out, t):
    """Record a task's loss, kept count, bad columns and bad labels in ``out[t]``.

    ``s`` holds each column's sum of exponentials, ``xd`` its ``x[k] - max`` (NaN
    where the column is not kept); the term is ``log s - xd = -log p_k``.
    """
    total = 0.0
    bad = 0
    for jj in range(s.size):  # SIMD: log and sum
        v = log_ge1(s[jj]) - xd[jj]
        total = add_reassoc(total, v if xd[jj] == xd[jj] else 0.0)
        bad += 0 if s[jj] >= 1.0 else 1
    out[t, 0] = total
    out[t, 1] = kept
    out[t, 2] = bad
    out[t, 3] = bad_label


@njit(error_model="numpy", inline="always")
def _tile_loss(x, i, j0, j1, lab, has_ignore, ignore_label, m, s, out, t):
    """The loss part of one tile: gather ``x[k] - max`` per column, then :func:`_loss_sum`."""
    C = x.shape[1]
    xd = np.empty(j1 - j0)
    kept = 0
    bad_label = 0
    for jj in range(j1 - j0):  # gather (scalar)
        k = lab[i, j0 + jj]
        status = label_status(k, C, has_ignore, ignore_label)
        d = np.nan  # NaN: not kept
        if status == KEPT:
            d = x[i, k, j0 + jj] - m[jj]
            kept += 1
        bad_label += 1 if status == BAD else 0
        xd[jj] = d
    _loss_sum(s, xd, kept, bad_label, out, t)


@njit(error_model="numpy", inline="always")
def _tiles_forward_task(x, lab, has_ignore, ignore_label, with_loss, top, out, t):
    outer_num, C, inner_num = x.shape
    i, j0, j1 = _tile_span(t, inner_num)
    m = np.empty(j1 - j0, x.dtype)
    s = np.empty(j1 - j0)
    _tile_exp(x, i, j0, j1, top, m, s)
    inv = np.empty(j1 - j0, x.dtype)  # 1 / s, rounded to x's dtype
    for jj in range(j1 - j0):
        inv[jj] = 1.0 / s[jj]
    for c in range(C):
        tc = top[i, c, j0:j1]
        for jj in range(tc.size):
            tc[jj] = tc[jj] * inv[jj]
    if with_loss:
        _tile_loss(x, i, j0, j1, lab, has_ignore, ignore_label, m, s, out, t)
    else:
        bad_columns(s, out, t)


@njit(error_model="numpy", inline="always")
def _loss_backward_tiles_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, t):
    # Every step is a SIMD loop over the tile's positions: a weight per column (0 where
    # ignored: ③) and the label as int32 (-1 when out of range: int64 would halve the
    # SIMD width of the main loop), then per class d = (prob - [label == c]) * weight
    # (① and ②), then a separate pass summing prob * 0 (0 exactly when prob is finite;
    # a separate pass because inside the main loop that reduction was slower: CHANGELOG.md).
    outer_num, C, inner_num = prob.shape
    i, j0, j1 = _tile_span(t, inner_num)
    zero = w - w  # 0 and 1 in prob's dtype (w is finite)
    one = zero + 1
    lab_t = lab[i, j0:j1]
    wt = np.empty(j1 - j0, prob.dtype)
    k32 = np.empty(j1 - j0, np.int32)
    bad_label = 0
    for jj in range(lab_t.size):
        k = lab_t[jj]
        status = label_status(k, C, has_ignore, ignore_label)
        wt[jj] = w if status == KEPT else zero  # (a bad label is reported: its column is moot)
        k32[jj] = k if status == KEPT else -1
        bad_label += 1 if status == BAD else 0
    for c in range(C):
        pc, dc = prob[i, c, j0:j1], bottom_diff[i, c, j0:j1]
        c32 = np.int32(c)
        for jj in range(pc.size):
            dc[jj] = (pc[jj] - (one if k32[jj] == c32 else zero)) * wt[jj]
    chk = zero
    for c in range(C):
        pc = prob[i, c, j0:j1]
        for jj in range(pc.size):
            chk = add_reassoc(chk, pc[jj] * zero)
    out[t, 2] = 0 if chk == 0 else 1
    out[t, 3] = bad_label


@njit(error_model="numpy", inline="always")
def _softmax_backward_tile(top_data, top_diff, bottom_diff, out, t):
    outer_num, C, inner_num = top_data.shape
    i, j0, j1 = _tile_span(t, inner_num)
    dot = np.zeros(j1 - j0)  # Caffe: strided dots, increment inner_num
    for c in range(0, C - 1, 2):  # (two classes per update of dot)
        pa, ga = top_data[i, c, j0:j1], top_diff[i, c, j0:j1]
        pb, gb = top_data[i, c + 1, j0:j1], top_diff[i, c + 1, j0:j1]
        for jj in range(pa.size):
            dot[jj] += np.float64(pa[jj]) * ga[jj] + np.float64(pb[jj]) * gb[jj]
    if C % 2 == 1:
        pc, gc = top_data[i, C - 1, j0:j1], top_diff[i, C - 1, j0:j1]
        for jj in range(pc.size):
            dot[jj] += np.float64(pc[jj]) * gc[jj]
    dx = np.empty(j1 - j0, top_data.dtype)
    bad = 0
    for jj in range(j1 - j0):
        dx[jj] = dot[jj]
        bad += 0 if np.isfinite(dot[jj]) else 1
    for c in range(C):  # ... and the rank-1 "GEMM" subtraction
        pc, gc, dc = top_data[i, c, j0:j1], top_diff[i, c, j0:j1], bottom_diff[i, c, j0:j1]
        for jj in range(pc.size):
            dc[jj] = pc[jj] * (gc[jj] - dx[jj])
    out[t, 2] = bad


# See ebm._kernels: each twin's loop calls a task function compiled once for both twins.


@njit(cache=True, error_model="numpy")
def _forward_loss_task(x, lab, has_ignore, ignore_label, top, out, t):
    _tiles_forward_task(x, lab, has_ignore, ignore_label, True, top, out, t)


@njit(cache=True, error_model="numpy")
def _forward_softmax_task(x, top, out, t):
    lab = np.zeros((0, 0), dtype=np.int64)
    _tiles_forward_task(x, lab, False, 0, False, top, out, t)


@njit(cache=True, error_model="numpy")
def _loss_backward_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, t):
    _loss_backward_tiles_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, t)


@njit(cache=True, error_model="numpy")
def _softmax_backward_task(top_data, top_diff, bottom_diff, out, t):
    _softmax_backward_tile(top_data, top_diff, bottom_diff, out, t)


def _forward_loss(x, lab, has_ignore, ignore_label, top, out):
    for t in prange(out.shape[0]):
        _forward_loss_task(x, lab, has_ignore, ignore_label, top, out, np.int64(t))
    return sum_parts(out)


def _forward_softmax(x, top, out):
    for t in prange(out.shape[0]):
        _forward_softmax_task(x, top, out, np.int64(t))
    return sum_parts(out)


def _loss_backward(prob, lab, has_ignore, ignore_label, w, bottom_diff, out):
    for t in prange(out.shape[0]):
        _loss_backward_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, np.int64(t))
    return sum_parts(out)


def _softmax_backward(top_data, top_diff, bottom_diff, out):
    for t in prange(out.shape[0]):
        _softmax_backward_task(top_data, top_diff, bottom_diff, out, np.int64(t))
    return sum_parts(out)


forward_loss = twins(_forward_loss)
forward_softmax = twins(_forward_softmax)
loss_backward = twins(_loss_backward)
softmax_backward = twins(_softmax_backward)
