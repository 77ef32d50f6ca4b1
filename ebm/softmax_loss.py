r"""The core: Caffe's Softmax and SoftmaxWithLoss layers as Numba kernels.

Every chapter of ebm ends here.  Hopfield's modern update, the Boltzmann unit's
sigmoid, the RBM's partition function and LeCun's Gibbs distribution are all, at
the last step, a softmax -- and learning them is a softmax-with-loss and its
derivative.

The equations (source article §5-§8; read :mod:`ebm.reference` beside this file)::

    outer_num = prod(shape[:axis]);  C = shape[axis];  inner_num = prod(shape[axis+1:])
    column (i, j) = x[i, :, j] of x.reshape(outer_num, C, inner_num)

    softmax:       top_data    = exp(x - max x) / sum exp(x - max x)            per column
    its backward:  bottom_diff = top_data * (top_diff - <top_data, top_diff>)   per column
    loss:          sum_{kept (i,j)} (logsumexp x[i,:,j] - x[i,k,j]) / normalizer,  k = label[i, j]
    its backward:  bottom_diff = top_diff * (prob - onehot(k)) / normalizer, 0 where ignored

The kernels (``@njit(cache=True)``) cut the ``outer_num * inner_num`` independent
columns into tasks: tiles of neighbouring positions for spatial data, blocks of
rows for an (N, C) batch (with each row in one SIMD vector, or the exponentials of
a whole block in one SIMD loop, when C is small).  Each has a parallel twin (``prange`` over the tasks) for large
inputs and a serial one for small inputs (see :mod:`ebm._parallel`).  float32 and
float64 are kept as given (sums and the loss accumulate in float64).  ``exp`` and
``log`` are the vectorisable ones of :mod:`ebm._fastexp`; the max and sum over a
contiguous row use ``max_num`` and ``add_reassoc``, which let LLVM split those
reductions into SIMD lanes (no other fast-math freedom is taken).  The loss
forward is one pass: softmax, loss terms, kept count and label check together.
Each kernel also counts the columns whose input was not finite (and the labels
out of range); only when a count is not zero do the wrappers call the NumPy checks
of :mod:`ebm._checks`, to word the error -- valid input pays nothing extra for
validation.

Deliberate differences from Caffe: the loss is an exact log-sum-exp (no
``FLT_MIN`` cap at 87.3365 per term), and labels outside ``[0, C)`` that are not
``ignore_label`` raise ``ValueError`` (undefined behaviour in a Caffe release build).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit, prange

from ebm import _checks, _fastexp, _numba_cache, _rowvec
from ebm._fastexp import add_reassoc, exp_nonpositive, log_ge1, max_num
from ebm._parallel import launch_twin, twins
from ebm._rowvec import (row_softmax, rows8_softmax, rows8_softmax_loss, rows16_softmax, rows16_softmax_loss,
                         rows_loss_diff, rows_softmax_diff, vector_rows)

# The kernels below are made of the SIMD code these two modules emit: their on-disk
# cache must go stale when either changes, not only when this file does.
_numba_cache.stamp_with_dependencies(__file__, [_fastexp.__file__, _rowvec.__file__])

__all__ = [
    "softmax_forward",
    "softmax_backward",
    "softmax_loss_forward",
    "softmax_loss_backward",
]


# --------------------------------------------------------------------------- kernels
# The per-task helpers below are plain ``@njit``: they are compiled into the kernels
# that call them (and cached with those), so they need no cache entry of their own,
# and ``import ebm.softmax_loss`` does not pay for setting one up per helper.
# The data is the contiguous (outer_num, C, inner_num) view.  Work is cut into tasks,
# run in a ``prange`` by the parallel twin of each kernel and in a plain loop by its
# serial twin (same per-task code, see ``ebm._parallel.launch_twin``).  Every kernel
# uses Numba's "numpy" error model: a float division then never branches to raise
# ZeroDivisionError, which would keep LLVM from vectorising the loop (the divisors
# are column sums, >= 1 unless the column is reported as bad anyway):
#
# * tiles (inner_num > 1, spatial data): a task is up to TILE neighbouring positions
#   j of one sample i.  Column (i, j)'s classes are inner_num apart, but a tile reads
#   each class row x[i, c, j0:j1] contiguously, so every loop runs over j in SIMD.
# * rows (inner_num == 1, C >= NARROW): a task is a block of rows; each row's C
#   classes are contiguous.  Its max and sums are reductions over c: ``max_num`` and
#   ``add_reassoc`` let LLVM split them into SIMD lanes.
# * narrow rows (inner_num == 1, C < NARROW, e.g. 10 classes): a loop over 10 classes
#   is too short for LLVM to vectorise, and so is a loop over rows (their classes
#   are not a stride it can turn into lanes).  So ebm._rowvec writes the vectors as
#   LLVM IR: eight rows are loaded as eight vectors and transposed in registers,
#   so that each vector holds one class of the eight rows, and the max, exp, sum
#   and scale become lane-by-lane operations (on sixteen rows at once with
#   AVX-512, loaded two or four to a register and transposed within its halves
#   or 128-bit blocks: 1.15-1.4x faster again at C = 3..13, serial).  Serial,
#   against the previous path (a flat SIMD exp with the max, shift and sums per
#   row, before the sixteen-row groups): 2.0-2.3x faster at
#   C = 3..5, 1.7x at C = 10, 1.4-1.8x at C = 1 and 2, on AVX-512 and for an
#   AVX2-only build alike.  (Transposing through memory instead measured 2-3x
#   slower: the strided loads and stores become gathers and scatters, or LLVM's
#   interleaved accesses, which spill registers.)  The loss is taken in the same
#   registers: each row's x[k] - max picked lane by lane (a compare and a select
#   per class) and log s in the data's dtype (float32 for float32 data, 16 lanes);
#   a scalar gather and a float64 log per row afterwards cost a third of the
#   forward (0.25 ms of 0.8, serial, at (65536, 10)).
#
# The forward kernels return, summed over all columns: the loss (in float64), the
# number of kept labels, the number of columns whose sum of exponentials is not
# >= 1 (it fails exactly when the column held NaN, +inf, or only -inf), and the
# number of labels outside [0, C) that are not ignore_label.  The wrappers call the
# NumPy checks of ebm._checks, to word the error, only when a count is not 0:
# valid input pays nothing extra for validation.

TILE = 512          # positions per task (tiles)
NARROW = 16         # rows with fewer classes go through SIMD vectors of rows (ebm._rowvec)
BLOCK = 8192        # elements per task (rows)
SUM_BLOCK = 32      # classes summed in x's dtype before a float64 add (tiles)
ROW_SUM_MAX = 4096  # rows up to this wide sum in x's dtype (SIMD lanes: <= 128 terms each)
_NPART = 4          # per task: loss, kept, bad columns, bad labels


@njit(error_model="numpy", inline="always")
def _tile_span(t, inner_num):
    """Task ``t``'s tile: sample ``i`` and positions ``j0:j1`` (TILE per tile, the last one shorter)."""
    n_tiles = (inner_num + TILE - 1) // TILE
    i = t // n_tiles
    j0 = (t - i * n_tiles) * TILE
    return i, j0, min(j0 + TILE, inner_num)


@njit(error_model="numpy")
def _tile_exp(x, i, j0, j1, top, m, s):
    """Column max ``m``, ``top = exp(x - m)`` and its column sum ``s`` for one tile.

    ``x`` and ``top`` are (outer, C, inner); ``m`` (x.dtype) and ``s`` (float64)
    hold ``j1 - j0`` entries.
    """
    C = x.shape[1]
    x0 = x[i, 0, j0:j1]
    for jj in range(x0.size):
        m[jj] = x0[jj]
    for c in range(1, C):
        xc = x[i, c, j0:j1]
        for jj in range(xc.size):
            m[jj] = max_num(m[jj], xc[jj])
    for jj in range(x0.size):
        s[jj] = 0.0
    part = np.empty(j1 - j0, x.dtype)                   # partial sums in x's dtype keep the
    for c0 in range(0, C, SUM_BLOCK):                   # exp loop at full SIMD width; every
        for jj in range(part.size):                     # SUM_BLOCK classes go into float64
            part[jj] = 0.0
        for c in range(c0, min(c0 + SUM_BLOCK, C)):
            xc, tc = x[i, c, j0:j1], top[i, c, j0:j1]
            for jj in range(xc.size):
                e = exp_nonpositive(xc[jj] - m[jj])
                tc[jj] = e
                part[jj] += e
        for jj in range(part.size):
            s[jj] += part[jj]


@njit(error_model="numpy")
def _loss_sum(s, xd, kept, bad_label, out, t):
    """Record a task's loss, kept count, bad columns and bad labels in ``out[t]``.

    ``s`` holds each column's sum of exponentials, ``xd`` its ``x[k] - max`` (NaN
    where the column is not kept); the term is ``log s - xd = -log p_k``.
    """
    total = 0.0
    bad = 0
    for jj in range(s.size):                            # SIMD: log and sum
        v = log_ge1(s[jj]) - xd[jj]
        total = add_reassoc(total, v if xd[jj] == xd[jj] else 0.0)
        bad += 0 if s[jj] >= 1.0 else 1
    out[t, 0] = total
    out[t, 1] = kept
    out[t, 2] = bad
    out[t, 3] = bad_label


@njit(error_model="numpy")
def _bad_columns(s, out, t):
    bad = 0
    for jj in range(s.size):
        bad += 0 if s[jj] >= 1.0 else 1
    out[t, 2] = bad


@njit(error_model="numpy")
def _tile_loss(x, i, j0, j1, lab, has_ignore, ignore_label, m, s, out, t):
    """The loss part of one tile: gather ``x[k] - max`` per column, then :func:`_loss_sum`."""
    C = x.shape[1]
    xd = np.empty(j1 - j0)
    kept = 0
    bad_label = 0
    for jj in range(j1 - j0):                           # gather (scalar)
        k = lab[i, j0 + jj]
        d = np.nan                                       # NaN: not kept
        if not (has_ignore and k == ignore_label):
            if 0 <= k < C:
                d = x[i, k, j0 + jj] - m[jj]
                kept += 1
            else:
                bad_label += 1
        xd[jj] = d
    _loss_sum(s, xd, kept, bad_label, out, t)


@njit(error_model="numpy")
def _tiles_forward_task(x, lab, has_ignore, ignore_label, with_loss, top, out, t):
    outer_num, C, inner_num = x.shape
    i, j0, j1 = _tile_span(t, inner_num)
    m = np.empty(j1 - j0, x.dtype)
    s = np.empty(j1 - j0)
    _tile_exp(x, i, j0, j1, top, m, s)
    inv = np.empty(j1 - j0, x.dtype)                    # 1 / s, rounded to x's dtype
    for jj in range(j1 - j0):
        inv[jj] = 1.0 / s[jj]
    for c in range(C):
        tc = top[i, c, j0:j1]
        for jj in range(tc.size):
            tc[jj] = tc[jj] * inv[jj]
    if with_loss:
        _tile_loss(x, i, j0, j1, lab, has_ignore, ignore_label, m, s, out, t)
    else:
        _bad_columns(s, out, t)


@njit(error_model="numpy")
def _narrow_rows_vector(x, top, r0, r1, m, s, lab, has_ignore, ignore_label, with_loss, ls, xd):
    """Rows ``r0:r1`` of an (N, C) batch, ``C < NARROW``, in SIMD vectors.

    :func:`ebm._rowvec.rows16_softmax` does sixteen rows (max, exp, sum, scale) in
    vectors that each hold one class of the sixteen, ``rows8_softmax`` eight,
    :func:`ebm._rowvec.row_softmax` one row in one vector.  Their stores spill zeros
    onto the following rows, so the rows go in order, and the last rows, whose
    vector would reach past ``r1`` (into another task's rows), are done one class
    at a time.  Fills each row's max ``m`` and sum of exponentials ``s``; or, with
    ``with_loss``, the loss's parts ``ls`` (log s, NaN unless ``s >= 1``) and ``xd``
    (``x[k] - max``, NaN where the label ``lab[r]`` is not kept: see
    :func:`ebm._rowvec.rows8_softmax_loss`) and returns the counts of kept and of
    bad labels.  (Rows' ``m`` and ``s`` are then only filled from the first row
    the groups leave.)
    """
    C = x.shape[1]
    n = r1 - r0
    xf = x[r0:r1].reshape(-1)
    tf = top[r0:r1].reshape(-1)
    n_vec = vector_rows(n, C)
    n_16 = n_vec - n_vec % 16
    n_8 = n_vec - n_vec % 8
    inv_x = np.empty(1, x.dtype)
    kept = 0
    bad_label = 0
    for g in range(0, n_16, 16):                        # sixteen rows at a time ...
        if with_loss:
            k, b = rows16_softmax_loss(xf, tf, g * C, C, lab, has_ignore, ignore_label, ls, xd, g)
            kept += k
            bad_label += b
        else:
            rows16_softmax(xf, tf, g * C, C, m, s, g)
    for g in range(n_16, n_8, 8):                       # ... eight ...
        if with_loss:
            k, b = rows8_softmax_loss(xf, tf, g * C, C, lab, has_ignore, ignore_label, ls, xd, g)
            kept += k
            bad_label += b
        else:
            rows8_softmax(xf, tf, g * C, C, m, s, g)
    for r in range(n_8, n):
        if r < n_vec:                                   # ... one vector a row ...
            mr, sr = row_softmax(xf, tf, r * C, C)
        else:                                           # ... and the last rows one class at a time
            xr, tr = x[r0 + r], top[r0 + r]
            mr = xr[0]
            for c in range(1, C):
                v = xr[c]
                mr = v if v > mr else mr
            sr = mr - mr                                # 0 in x's dtype (NaN if mr is: reported anyway)
            for c in range(C):
                e = exp_nonpositive(xr[c] - mr)
                tr[c] = e
                sr += e
            inv_x[0] = 1.0 / np.float64(sr)             # 1 / s, rounded to x's dtype
            inv = inv_x[0]
            for c in range(C):
                tr[c] = tr[c] * inv
        m[r] = mr
        s[r] = sr
        if with_loss:                                   # as the vectors do it: log in x's dtype
            ls[r] = log_ge1(sr) if sr >= 1.0 else np.nan
            k = lab[r]
            d = np.nan                                   # NaN: not kept
            if not (has_ignore and k == ignore_label):
                if 0 <= k < C:
                    d = xf[r * C + k] - mr
                    kept += 1
                else:
                    bad_label += 1
            xd[r] = d
    return kept, bad_label


@njit(error_model="numpy")
def _narrow_forward_task(x, lab, has_ignore, ignore_label, with_loss, top, out, t, rows):
    # x, top: (N, C) with C < NARROW; a task is a block of rows, done in SIMD vectors
    N, C = x.shape
    r0 = t * rows
    r1 = min(r0 + rows, N)
    n = r1 - r0
    m = np.empty(n, x.dtype)
    s = np.empty(n)
    if with_loss:
        ls = np.empty(n)
        xd = np.empty(n)
        kept, bad_label = _narrow_rows_vector(x, top, r0, r1, m, s, lab[r0:r1], has_ignore, ignore_label, True,
                                              ls, xd)
        total = 0.0
        bad = 0
        for r in range(n):                              # SIMD: the loss is ls - xd, summed where kept
            total = add_reassoc(total, ls[r] - xd[r] if xd[r] == xd[r] else 0.0)
            bad += 0 if ls[r] == ls[r] else 1
        out[t, 0] = total
        out[t, 1] = kept
        out[t, 2] = bad
        out[t, 3] = bad_label
    else:
        _narrow_rows_vector(x, top, r0, r1, m, s, lab, has_ignore, ignore_label, False, s, s)
        _bad_columns(s, out, t)


@njit(error_model="numpy")
def _rows_forward_task(x, lab, has_ignore, ignore_label, with_loss, top, out, t, rows):
    N, C = x.shape
    r0 = t * rows
    r1 = min(r0 + rows, N)
    total = 0.0
    kept = 0
    bad = 0
    bad_label = 0
    inv_x = np.empty(1, x.dtype)                        # 1 / s, rounded to x's dtype
    inv_x[0] = 0.0
    zero = inv_x[0]                                     # 0 in x's dtype
    for r in range(r0, r1):
        xr, tr = x[r], top[r]
        m = xr[0]
        for c in range(1, C):
            m = max_num(m, xr[c])
        for c in range(C):
            tr[c] = exp_nonpositive(xr[c] - m)
        if C <= ROW_SUM_MAX:                            # the sum in x's dtype: full SIMD width,
            part = zero                                 # split by LLVM into 32-64 lanes
            for c in range(C):
                part = add_reassoc(part, tr[c])
            s = np.float64(part)
        else:                                           # very wide rows: in float64
            s = 0.0
            for c in range(C):
                s = add_reassoc(s, np.float64(tr[c]))
        inv_x[0] = 1.0 / s
        inv = inv_x[0]
        for c in range(C):
            tr[c] = tr[c] * inv
        bad += 0 if s >= 1.0 else 1
        if with_loss:
            k = lab[r]
            if not (has_ignore and k == ignore_label):
                if 0 <= k < C:
                    total += log_ge1(s) - (xr[k] - m)
                    kept += 1
                else:
                    bad_label += 1
    out[t, 0] = total
    out[t, 1] = kept
    out[t, 2] = bad
    out[t, 3] = bad_label


@njit(error_model="numpy")
def _sum_parts(out):
    """The per-task counts summed in task order (deterministic for any thread count)."""
    total = 0.0
    kept = bad = bad_label = 0
    for t in range(out.shape[0]):
        total += out[t, 0]
        kept += np.int64(out[t, 1])
        bad += np.int64(out[t, 2])
        bad_label += np.int64(out[t, 3])
    return total, kept, bad, bad_label


# Each kernel is written once, with prange, and compiled twice by ``twins``: a
# parallel twin for large inputs and a serial one (prange is range there) for small
# ones, which never starts Numba's thread pool.  Same tasks, same per-task
# arithmetic, same summation order: the twins give identical results.


def _forward_tiles(x, lab, has_ignore, ignore_label, with_loss, top, out):
    for t in prange(out.shape[0]):
        _tiles_forward_task(x, lab, has_ignore, ignore_label, with_loss, top, out, t)
    return _sum_parts(out)


def _forward_rows_loss(x, lab, has_ignore, ignore_label, top, out, rows, narrow):
    # with_loss is a constant in each of the two rows kernels: its dead half (the loss's
    # or the plain softmax's SIMD code) is not compiled into it, so a lecture's first
    # call loads half the machine code
    for t in prange(out.shape[0]):
        if narrow:
            _narrow_forward_task(x, lab, has_ignore, ignore_label, True, top, out, t, rows)
        else:
            _rows_forward_task(x, lab, has_ignore, ignore_label, True, top, out, t, rows)
    return _sum_parts(out)


def _forward_rows_softmax(x, top, out, rows, narrow):
    lab = np.zeros(0, dtype=np.int64)
    for t in prange(out.shape[0]):
        if narrow:
            _narrow_forward_task(x, lab, False, 0, False, top, out, t, rows)
        else:
            _rows_forward_task(x, lab, False, 0, False, top, out, t, rows)
    return _sum_parts(out)


_forward_tiles_ser, _forward_tiles_par = twins(_forward_tiles)
_forward_rows_loss_ser, _forward_rows_loss_par = twins(_forward_rows_loss)
_forward_rows_softmax_ser, _forward_rows_softmax_par = twins(_forward_rows_softmax)


# --- backward of the loss: bottom_diff = weight * (prob - onehot(k)), 0 where ignored.
# One SIMD pass scales prob into bottom_diff; a short pass per column then subtracts
# the weight at the label (or zeroes an ignored column).  Rows of fewer than NARROW
# classes take one SIMD vector a row instead, which does both at once
# (ebm._rowvec.rows_loss_diff: 1.6x faster, serial, on B's 10 classes).  Each task also sums
# ``prob * 0``: 0 exactly when its prob is finite, NaN otherwise.  With "valid"
# normalization and an ignore_label the weight needs the kept count first: a first
# parallel loop counts (and checks) the labels.


@njit(error_model="numpy")
def _count_task(lab, has_ignore, ignore_label, C, out, t, per_task):
    flat = lab.reshape(-1)
    a0 = t * per_task
    a1 = min(a0 + per_task, flat.size)
    kept = 0
    bad_label = 0
    for a in range(a0, a1):
        k = flat[a]
        ignored = has_ignore and k == ignore_label
        kept += 0 if ignored else 1
        bad_label += 0 if ignored or (0 <= k < C) else 1
    out[t, 1] = kept
    out[t, 3] = bad_label


@njit(error_model="numpy")
def _weight_of(prob, scale, count, out):
    """``scale / max(kept, 1)`` when ``count`` (VALID with ignore), else ``scale``; prob's dtype."""
    w = np.empty(1, prob.dtype)
    if count:
        kept = 0
        for t in range(out.shape[0]):
            kept += np.int64(out[t, 1])
        w[0] = scale / max(kept, 1)
    else:
        w[0] = scale
    return w[0]


@njit(error_model="numpy")
def _loss_backward_tiles_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, t):
    # Every step is a SIMD loop over the tile's positions: a weight per column (0 where
    # ignored: ③) and the label as int32 (-1 when out of range: int64 would halve the
    # SIMD width of the main loop), then per class d = (prob - [label == c]) * weight
    # (① and ②), then a separate pass summing prob * 0 (0 exactly when prob is finite;
    # inside the main loop that reduction measured 2x slower).
    outer_num, C, inner_num = prob.shape
    i, j0, j1 = _tile_span(t, inner_num)
    zero = w - w                                       # 0 and 1 in prob's dtype (w is finite)
    one = zero + 1
    lab_t = lab[i, j0:j1]
    wt = np.empty(j1 - j0, prob.dtype)
    k32 = np.empty(j1 - j0, np.int32)
    bad_label = 0
    for jj in range(lab_t.size):
        k = lab_t[jj]
        ignored = has_ignore and k == ignore_label
        valid = 0 <= k < C
        wt[jj] = zero if ignored else w
        k32[jj] = k if valid else -1
        bad_label += 0 if ignored or valid else 1
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


@njit(error_model="numpy")
def _loss_backward_rows_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, t, rows):
    N, C = prob.shape
    r0 = t * rows
    r1 = min(r0 + rows, N)
    pf = prob[r0:r1].reshape(-1)
    df = bottom_diff[r0:r1].reshape(-1)
    zero = w - w                                       # 0 in prob's dtype (w is finite)
    chk = zero
    bad_label = 0
    first = r0                                         # the first row left for the loops below
    if C < NARROW:                                     # short rows: one SIMD vector a row
        n_vec = vector_rows(r1 - r0, C)
        bad_label, chk = rows_loss_diff(pf, lab[r0:r1], df, n_vec, C, w, has_ignore, ignore_label)
        first = r0 + n_vec
        pf = prob[first:r1].reshape(-1)
        df = bottom_diff[first:r1].reshape(-1)
    for a in range(pf.size):                            # ② copy prob, scaled
        v = pf[a]
        df[a] = v * w
        chk = add_reassoc(chk, v * zero)
    for r in range(first, r1):
        k = lab[r]
        if has_ignore and k == ignore_label:            # ③ ignored -> 0
            for c in range(C):
                bottom_diff[r, c] = 0.0
        elif 0 <= k < C:                                # ① subtract 1 at the label
            bottom_diff[r, k] = (prob[r, k] - 1) * w
        else:
            bad_label += 1
    out[t, 2] = 0 if chk == 0 else 1
    out[t, 3] = bad_label


def _loss_backward(prob, lab, has_ignore, ignore_label, scale, count, bottom_diff, out, rows):
    N, C, inner_num = prob.shape
    if count and out.shape[0] > 0:
        per_task = (lab.size + out.shape[0] - 1) // out.shape[0]
        for t in prange(out.shape[0]):
            _count_task(lab, has_ignore, ignore_label, C, out, t, per_task)
    w = _weight_of(prob, scale, count, out)
    p2, l1, d2 = prob.reshape(N, C * inner_num), lab.reshape(-1), bottom_diff.reshape(N, C * inner_num)
    for t in prange(out.shape[0]):
        if inner_num == 1:
            _loss_backward_rows_task(p2, l1, has_ignore, ignore_label, w, d2, out, t, rows)
        else:
            _loss_backward_tiles_task(prob, lab, has_ignore, ignore_label, w, bottom_diff, out, t)
    return _sum_parts(out)


_loss_backward_ser, _loss_backward_par = twins(_loss_backward)


# --- backward of the softmax: bottom_diff = top_data * (top_diff - <top_data, top_diff>)
# Rows of fewer than NARROW classes take one SIMD vector a row (ebm._rowvec.rows_softmax_diff:
# 1.9x faster on B's 10 classes); the other rows a loop per row, and tiles per tile.


@njit(error_model="numpy")
def _softmax_backward_task(top_data, top_diff, bottom_diff, out, t, rows):
    outer_num, C, inner_num = top_data.shape
    bad = 0
    if inner_num == 1:
        p2, g2, d2 = (top_data.reshape(outer_num, C), top_diff.reshape(outer_num, C),
                      bottom_diff.reshape(outer_num, C))
        r0 = t * rows
        r1 = min(r0 + rows, outer_num)
        if C < NARROW:                                  # short rows: one SIMD vector a row
            n_vec = vector_rows(r1 - r0, C)
            bad = rows_softmax_diff(p2[r0:r1].reshape(-1), g2[r0:r1].reshape(-1), d2[r0:r1].reshape(-1), n_vec, C)
            r0 += n_vec
        dot_x = np.empty(1, top_data.dtype)
        for r in range(r0, r1):
            p, g, d = p2[r], g2[r], d2[r]
            dot = 0.0                                   # Caffe: one dot per sample
            for c in range(C):
                dot = add_reassoc(dot, np.float64(p[c]) * g[c])
            dot_x[0] = dot
            dx = dot_x[0]
            for c in range(C):
                d[c] = p[c] * (g[c] - dx)
            bad += 0 if np.isfinite(dot) else 1
    else:
        i, j0, j1 = _tile_span(t, inner_num)
        dot = np.zeros(j1 - j0)                         # Caffe: strided dots, increment inner_num
        for c in range(C):
            pc, gc = top_data[i, c, j0:j1], top_diff[i, c, j0:j1]
            for jj in range(pc.size):
                dot[jj] += np.float64(pc[jj]) * gc[jj]
        dx = np.empty(j1 - j0, top_data.dtype)
        for jj in range(j1 - j0):
            dx[jj] = dot[jj]
            bad += 0 if np.isfinite(dot[jj]) else 1
        for c in range(C):                              # ... and the rank-1 "GEMM" subtraction
            pc, gc, dc = top_data[i, c, j0:j1], top_diff[i, c, j0:j1], bottom_diff[i, c, j0:j1]
            for jj in range(pc.size):
                dc[jj] = pc[jj] * (gc[jj] - dx[jj])
    out[t, 2] = bad


def _softmax_backward(top_data, top_diff, bottom_diff, out, rows):
    for t in prange(out.shape[0]):
        _softmax_backward_task(top_data, top_diff, bottom_diff, out, t, rows)
    return _sum_parts(out)


_softmax_backward_ser, _softmax_backward_par = twins(_softmax_backward)


# --------------------------------------------------------------------------- wrappers

_NO_LABEL_TILES = np.zeros((0, 0), dtype=np.int64)


class _WriteableAlias:
    """Exposes a read-only array's memory as writeable (it keeps the array alive)."""

    def __init__(self, arr):
        self.base = arr
        iface = dict(arr.__array_interface__)
        iface["data"] = (iface["data"][0], False)
        self.__array_interface__ = iface


def _kernel_input(arr):
    """``arr`` as a C-contiguous array the kernels accept, without copying when possible.

    The kernels never write their inputs.  A read-only input is passed as a
    writeable alias of the same memory, so each kernel has one compiled signature
    per dtype instead of two (Numba types read-only arrays separately).
    """
    arr = np.ascontiguousarray(arr)
    if not arr.flags.writeable:
        arr = np.asarray(_WriteableAlias(arr))
    return arr


def _view(arr, axis):
    """Resolve ``axis`` and return ``(axis, contiguous (outer, C, inner) view)``."""
    axis = _checks.canonical_axis(axis, arr.ndim)
    shape = arr.shape
    outer_num, channels, inner_num = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    _checks.check_channels(channels, outer_num * inner_num)
    return axis, _kernel_input(arr).reshape(outer_num, channels, inner_num)


def _kernel_ignore(ignore_label):
    """``(has_ignore, value)`` for the kernels' int64 comparison.

    An ``ignore_label`` outside int64 matches no label (and would overflow int64).
    """
    if ignore_label is None or not -2**63 <= ignore_label < 2**63:
        return False, 0
    return True, ignore_label


def _labels(label, shape, axis, ignore_label):
    """``label`` as int64 of shape (outer_num, inner_num) for the kernels.

    Integer labels of a valid shape are only converted: the kernels check the
    range, and :func:`_raise_bad_label` words the error.  Anything else (floats,
    uint64, a wrong shape) goes through :func:`ebm._checks.as_label` first.
    """
    lab = label if isinstance(label, np.ndarray) else np.asarray(label)
    outer_num, inner_num = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    if lab.dtype.kind in "iu" and lab.dtype != np.uint64 and lab.shape in _label_shapes(shape, axis):
        return _kernel_input(lab.astype(np.int64, copy=False)).reshape(outer_num, inner_num)
    return _kernel_input(_checks.as_label(label, shape, axis, ignore_label))


@functools.lru_cache(maxsize=256)
def _label_shapes(shape, axis):
    """:func:`ebm._checks.label_shapes`, remembered: it costs more than a small kernel call."""
    return _checks.label_shapes(shape, axis)


def _raise_bad_label(label, shape, axis, ignore_label):
    _checks.as_label(label, shape, axis, ignore_label)          # raises, naming the position
    raise AssertionError("a kernel reported an out-of-range label that ebm._checks accepts")


def _tasks(outer_num, channels, inner_num):
    """``(n_tasks, rows per task, narrow)`` for the (outer, C, inner) view."""
    if inner_num != 1:
        return outer_num * ((inner_num + TILE - 1) // TILE), 0, False
    rows = max(1, BLOCK // max(channels, 1))
    return (outer_num + rows - 1) // rows, rows, channels < NARROW


def _softmax_columns(x, lab=None, has_ignore=False, ignore_value=0):
    """Run the forward kernel on the (outer, C, inner) view ``x``.

    Returns ``top_data`` (same shape) and the kernel's
    ``(loss sum, kept, bad columns, bad labels)``; the loss part only when ``lab``
    (int64, (outer, inner)) is given.
    """
    outer_num, channels, inner_num = x.shape
    top_data = np.empty_like(x)
    n_tasks, rows, narrow = _tasks(outer_num, channels, inner_num)
    out = np.zeros((n_tasks, 4))
    with_loss = lab is not None
    if inner_num == 1 and with_loss:
        counts = launch_twin(_forward_rows_loss_ser, _forward_rows_loss_par, x.size, x.reshape(outer_num, channels),
                             lab.reshape(-1), has_ignore, ignore_value, top_data.reshape(outer_num, channels), out,
                             rows, narrow)
    elif inner_num == 1:
        counts = launch_twin(_forward_rows_softmax_ser, _forward_rows_softmax_par, x.size,
                             x.reshape(outer_num, channels), top_data.reshape(outer_num, channels), out, rows, narrow)
    else:
        args = (x, _NO_LABEL_TILES if lab is None else lab, has_ignore, ignore_value, with_loss, top_data, out)
        counts = launch_twin(_forward_tiles_ser, _forward_tiles_par, x.size, *args)
    return top_data, counts


def softmax_forward(bottom_data, axis=1):
    """Softmax of ``bottom_data`` along ``axis`` (Caffe's ``SoftmaxLayer::Forward``).

    Parameters
    ----------
    bottom_data : array_like
        Logits of any shape.  float32 and float64 are kept; integers are computed
        and returned in float64, float16 in float32 (Numba has no float16
        arithmetic); booleans raise TypeError.
    axis : int, default 1
        The class axis; negative values count from the end.  For one 1-D vector
        of logits pass ``axis=0`` (or ``x[None]``, a batch of one).

    Returns
    -------
    top_data : ndarray
        Same shape as ``bottom_data``, dtype by the rule above; each column sums to 1.

    Raises
    ------
    ValueError
        If ``bottom_data`` holds NaN or +inf, or a column that is entirely -inf.
    TypeError
        For complex, object or string data.

    Examples
    --------
    >>> import numpy as np, ebm
    >>> ebm.softmax_forward(np.array([[1.0, 2.0, 3.0]])).round(4)
    array([[0.09  , 0.2447, 0.6652]])
    """
    bottom_data = _checks.as_float_array(bottom_data, "bottom_data")
    axis, x = _view(bottom_data, axis)
    top_data, (_, _, bad_columns, _) = _softmax_columns(x)
    if bad_columns:                         # NaN, +inf, or an all -inf column
        _checks.check_logits(bottom_data, axis)
    return top_data.reshape(bottom_data.shape)


def softmax_backward(top_data, top_diff, axis=1):
    """Gradient through a softmax (Caffe's ``SoftmaxLayer::Backward``).

    ``bottom_diff = top_data * (top_diff - sum_c top_data * top_diff)``, the dot taken
    over each column.

    Parameters
    ----------
    top_data : array_like
        The output of :func:`softmax_forward`.
    top_diff : array_like
        dl/d(top_data), same shape.
    axis : int, default 1

    Returns
    -------
    bottom_diff : ndarray
        dl/d(bottom_data), in the common float dtype of the two inputs (float16
        is computed and returned in float32, integers in float64).
    """
    top_data, top_diff = _checks.as_backward_pair(top_data, top_diff)
    axis, p = _view(top_data, axis)
    _, g = _view(top_diff, axis)
    bottom_diff = np.empty_like(p)
    n_tasks, rows, _ = _tasks(*p.shape)
    out = np.zeros((n_tasks, 4))
    _, _, bad_dots, _ = launch_twin(_softmax_backward_ser, _softmax_backward_par, p.size, p, g, bottom_diff, out, rows)
    if bad_dots:                             # a NaN or inf anywhere reaches its column's dot
        _checks.check_finite(top_data, "top_data")
        _checks.check_finite(top_diff, "top_diff")
        dots = np.einsum("icj,icj->ij", p.astype(np.float64), g.astype(np.float64))
        i, j = np.unravel_index(int(np.argmin(np.isfinite(dots))), dots.shape)
        raise ValueError(f"the dot of top_data and top_diff overflows in column (i={i}, j={j})")
    return bottom_diff.reshape(top_data.shape)


def softmax_loss_forward(bottom_data, label, *, axis=1, ignore_label=None, normalization="valid"):
    """Softmax followed by the multinomial logistic loss (Caffe's ``SoftmaxWithLossLayer``).

    Parameters
    ----------
    bottom_data : array_like
        Logits; the class axis is ``axis``.
    label : array_like of int
        One class per column: the shape of ``bottom_data`` without ``axis``,
        with ``axis`` kept at size 1 (Caffe's ``(N, 1, H, W)``), or Caffe's flat
        ``(outer_num, inner_num)`` (``(N, H*W)``).  Booleans raise.  Floats holding
        integral values are accepted.
    axis : int, default 1
    ignore_label : int or None
        Positions with this label add nothing to the loss and get zero gradient.
    normalization : {"valid", "full", "batch_size", "none"}, default "valid"
        Divide the summed loss by the number of kept positions (``valid``), all
        positions (``full``), ``outer_num`` (``batch_size``) or 1 (``none``);
        case-insensitive.  The divisor is clamped to at least 1.

    Returns
    -------
    loss : float
    prob : ndarray
        The softmax, same shape as ``bottom_data``, dtype as in
        :func:`softmax_forward` (float16 gives float32); pass it to
        :func:`softmax_loss_backward`.

    Raises
    ------
    ValueError
        For labels outside ``[0, C)`` that are not ``ignore_label`` (naming the
        position and value), non-integral labels, a label shape that fits neither
        form, an unknown normalization, or logits that are NaN, +inf, or -inf in
        a whole column.

    Examples
    --------
    The article's example: three classes, the label is k = 2.

    >>> import numpy as np, ebm
    >>> loss, prob = ebm.softmax_loss_forward(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
    >>> round(loss, 4), prob.round(4)
    (0.4076, array([[0.09  , 0.2447, 0.6652]]))
    """
    bottom_data = _checks.as_float_array(bottom_data, "bottom_data")
    normalization = _checks.check_normalization(normalization)
    ignore_label = _checks.check_ignore_label(ignore_label)
    axis, x = _view(bottom_data, axis)
    lab = _labels(label, bottom_data.shape, axis, ignore_label)
    outer_num, _, inner_num = x.shape
    has_ignore, ignore_value = _kernel_ignore(ignore_label)
    prob, (total, kept, bad_columns, bad_labels) = _softmax_columns(x, lab, has_ignore, ignore_value)
    if bad_labels:
        _raise_bad_label(label, bottom_data.shape, axis, ignore_label)
    if bad_columns:
        _checks.check_logits(bottom_data, axis)
    loss = total / _checks.normalizer(normalization, outer_num, inner_num, kept)
    return float(loss), prob.reshape(bottom_data.shape)


def softmax_loss_backward(prob, label, *, top_diff=1.0, axis=1, ignore_label=None,
                          normalization="valid"):
    """Gradient of the softmax loss with respect to the logits.

    The article's recipe: ① copy ``prob`` into ``bottom_diff`` and subtract 1 at
    the label k; ② the other classes keep ``prob``; ③ every class of an ignored
    position is 0.  The result is scaled by ``top_diff / normalizer``.

    Parameters
    ----------
    prob : array_like
        The ``prob`` from :func:`softmax_loss_forward`.
    label : array_like of int
    top_diff : float, default 1.0
        dl/d(loss) from above: Caffe's loss weight.
    axis, ignore_label, normalization
        As in :func:`softmax_loss_forward`.

    Returns
    -------
    bottom_diff : ndarray
        Same shape as ``prob``; its dtype, except float16 gives float32.

    Examples
    --------
    >>> import numpy as np, ebm
    >>> loss, prob = ebm.softmax_loss_forward(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
    >>> ebm.softmax_loss_backward(prob, np.array([2])).round(4)
    array([[ 0.09  ,  0.2447, -0.3348]])
    """
    prob = _checks.as_float_array(prob, "prob")
    top_diff = _checks.check_loss_weight(top_diff)
    normalization = _checks.check_normalization(normalization)
    ignore_label = _checks.check_ignore_label(ignore_label)
    axis, p = _view(prob, axis)
    lab = _labels(label, prob.shape, axis, ignore_label)
    outer_num, channels, inner_num = p.shape
    has_ignore, ignore_value = _kernel_ignore(ignore_label)
    count = normalization == "valid" and has_ignore       # the kernel counts the kept labels first
    if count:
        scale = top_diff
    else:
        scale = top_diff / _checks.normalizer(normalization, outer_num, inner_num, lab.size)
    bottom_diff = np.empty_like(p)
    n_tasks, rows, _ = _tasks(outer_num, channels, inner_num)
    out = np.zeros((n_tasks, 4))
    _, _, bad_prob, bad_labels = launch_twin(_loss_backward_ser, _loss_backward_par, p.size, p, lab, has_ignore,
                                        ignore_value, scale, count, bottom_diff, out, rows)
    if bad_labels:
        _raise_bad_label(label, prob.shape, axis, ignore_label)
    if bad_prob:                             # a NaN or inf in prob reaches its task's check sum
        _checks.check_finite(prob, "prob")
    return bottom_diff.reshape(prob.shape)
