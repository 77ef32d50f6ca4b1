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

Each kernel is ``@njit(cache=True, parallel=True)`` and runs its
``outer_num * inner_num`` independent columns in a ``prange`` (on one thread for
small inputs, see :mod:`ebm._parallel`).  float32 and float64 are kept as given
(sums and the loss accumulate in float64).  ``exp`` is the vectorisable
:mod:`ebm._fastexp`.  Each kernel also returns one number per column that is
finite (or >= 1) exactly when the column's input was; only when one is not do the
wrappers call the NumPy checks of :mod:`ebm._checks`, to word the error -- valid
input pays nothing extra for validation.

Deliberate differences from Caffe: the loss is an exact log-sum-exp (no
``FLT_MIN`` cap at 87.3365 per term), and labels outside ``[0, C)`` that are not
``ignore_label`` raise ``ValueError`` (undefined behaviour in a Caffe release build).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ebm import _checks
from ebm._parallel import launch
from ebm._fastexp import exp_nonpositive

__all__ = [
    "softmax_forward",
    "softmax_backward",
    "softmax_loss_forward",
    "softmax_loss_backward",
]


# --------------------------------------------------------------------------- kernels
# Each operation has two kernels over the contiguous (outer_num, C, inner_num) view:
#
# * ``_rows``  (inner_num == 1, the plain (N, C) batch): one prange iteration per
#   sample; its C classes are contiguous.
# * ``_tiles`` (inner_num > 1, spatial data): one prange iteration per tile of up
#   to TILE neighbouring positions j of one sample i.  Column (i, j)'s classes are
#   inner_num apart, but a tile reads each class row x[i, c, j0:j1] contiguously, so
#   the innermost loops run over j and vectorise.
#
# Like Caffe's ``scale_`` blob, the forward kernels also return each column's max
# (``scale``) and the sum of its exponentials (``denom``): the loss needs them for
# an exact log-sum-exp, and ``denom >= 1`` fails exactly when the column held NaN,
# +inf, or only -inf -- validation for free.  The backward kernels likewise
# return the per-column dot (softmax) or the sum of prob (loss), finite exactly
# when the column was.

TILE = 512


@njit(cache=True, parallel=True)
def _softmax_rows(x, top_data, scale, denom):
    outer_num, C = x.shape
    for i in prange(outer_num):
        xi, ti = x[i], top_data[i]
        m = xi[0]
        for c in range(1, C):
            m = xi[c] if xi[c] > m else m
        for c in range(C):
            ti[c] = exp_nonpositive(xi[c] - m)
        s = 0.0
        for c in range(C):
            s += ti[c]
        for c in range(C):
            ti[c] = ti[c] / s
        scale[i] = m
        denom[i] = s


@njit(cache=True, parallel=True)
def _softmax_tiles(x, top_data, scale, denom):
    outer_num, C, inner_num = x.shape
    n_tiles = (inner_num + TILE - 1) // TILE
    for t in prange(outer_num * n_tiles):
        i = t // n_tiles
        j0 = (t - i * n_tiles) * TILE
        j1 = min(j0 + TILE, inner_num)
        m = x[i, 0, j0:j1].copy()                       # column max, per j
        for c in range(1, C):
            xc = x[i, c, j0:j1]
            for jj in range(xc.size):
                m[jj] = xc[jj] if xc[jj] > m[jj] else m[jj]
        s = np.zeros(j1 - j0)                           # column sum, float64
        for c in range(C):
            xc, tc = x[i, c, j0:j1], top_data[i, c, j0:j1]
            for jj in range(xc.size):
                e = exp_nonpositive(xc[jj] - m[jj])
                tc[jj] = e
                s[jj] += e
        for c in range(C):
            tc = top_data[i, c, j0:j1]
            for jj in range(tc.size):
                tc[jj] = tc[jj] / s[jj]
        scale[i, j0:j1] = m
        denom[i, j0:j1] = s


@njit(cache=True, parallel=True)
def _loss_terms(x, label, has_ignore, ignore_label, scale, denom, terms):
    # -log softmax_k = log sum_c exp(x_c - m) - (x_k - m): exact, no FLT_MIN cap
    outer_num, C, inner_num = x.shape
    for col in prange(outer_num * inner_num):
        i = col // inner_num
        j = col - i * inner_num
        k = label[i, j]
        if has_ignore and k == ignore_label:
            terms[i, j] = 0.0
        else:
            terms[i, j] = np.log(denom[i, j]) - (x[i, k, j] - scale[i, j])


@njit(cache=True, parallel=True)
def _softmax_backward_rows(top_data, top_diff, bottom_diff, dots):
    outer_num, C = top_data.shape
    for i in prange(outer_num):
        p, g, d = top_data[i], top_diff[i], bottom_diff[i]
        dot = 0.0                                       # Caffe: one dot per sample
        for c in range(C):
            dot += p[c] * g[c]
        for c in range(C):
            d[c] = p[c] * (g[c] - dot)
        dots[i] = dot


@njit(cache=True, parallel=True)
def _softmax_backward_tiles(top_data, top_diff, bottom_diff, dots):
    outer_num, C, inner_num = top_data.shape
    n_tiles = (inner_num + TILE - 1) // TILE
    for t in prange(outer_num * n_tiles):
        i = t // n_tiles
        j0 = (t - i * n_tiles) * TILE
        j1 = min(j0 + TILE, inner_num)
        dot = np.zeros(j1 - j0)                         # Caffe: strided dots, increment inner_num
        for c in range(C):
            pc, gc = top_data[i, c, j0:j1], top_diff[i, c, j0:j1]
            for jj in range(pc.size):
                dot[jj] += pc[jj] * gc[jj]
        for c in range(C):                              # ... and the rank-1 "GEMM" subtraction
            pc, gc, dc = top_data[i, c, j0:j1], top_diff[i, c, j0:j1], bottom_diff[i, c, j0:j1]
            for jj in range(pc.size):
                dc[jj] = pc[jj] * (gc[jj] - dot[jj])
        dots[i, j0:j1] = dot


@njit(cache=True, parallel=True)
def _loss_backward_rows(prob, label, has_ignore, ignore_label, weight, bottom_diff, sums):
    outer_num, C = prob.shape
    for i in prange(outer_num):
        p, d = prob[i], bottom_diff[i]
        k = label[i]
        w = 0.0 if has_ignore and k == ignore_label else weight   # ③ ignored -> 0
        s = 0.0
        for c in range(C):                              # ② copy prob_data into bottom_diff
            d[c] = p[c] * w
            s += p[c]
        if w != 0.0:
            d[k] = (p[k] - 1) * w                       # ① subtract 1 at the label
        sums[i] = s


@njit(cache=True, parallel=True)
def _loss_backward_tiles(prob, label, has_ignore, ignore_label, weight, bottom_diff, sums):
    outer_num, C, inner_num = prob.shape
    n_tiles = (inner_num + TILE - 1) // TILE
    for t in prange(outer_num * n_tiles):
        i = t // n_tiles
        j0 = (t - i * n_tiles) * TILE
        j1 = min(j0 + TILE, inner_num)
        lab = label[i, j0:j1]
        w = np.empty(j1 - j0, prob.dtype)
        for jj in range(lab.size):
            w[jj] = 0.0 if has_ignore and lab[jj] == ignore_label else weight   # ③
        s = np.zeros(j1 - j0)
        for c in range(C):                              # ②
            pc, dc = prob[i, c, j0:j1], bottom_diff[i, c, j0:j1]
            for jj in range(pc.size):
                dc[jj] = pc[jj] * w[jj]
                s[jj] += pc[jj]
        for jj in range(lab.size):                      # ①
            if w[jj] != 0.0:
                k = lab[jj]
                bottom_diff[i, k, j0 + jj] = (prob[i, k, j0 + jj] - 1) * w[jj]
        sums[i, j0:j1] = s


# --------------------------------------------------------------------------- wrappers


def _view(arr, axis):
    """Resolve ``axis`` and return ``(axis, contiguous (outer, C, inner) view)``."""
    axis = _checks.canonical_axis(axis, arr.ndim)
    outer_num, channels, inner_num = _checks.outer_inner(arr.shape, axis)
    _checks.check_channels(channels, outer_num * inner_num)
    return axis, np.ascontiguousarray(arr).reshape(outer_num, channels, inner_num)


def _kernel_ignore(ignore_label):
    """``(has_ignore, value)`` for the kernels' int64 comparison.

    An ``ignore_label`` outside int64 matches no label (and would overflow int64).
    """
    if ignore_label is None or not -2**63 <= ignore_label < 2**63:
        return False, 0
    return True, ignore_label


def _softmax_columns(x):
    """Run the forward kernel on the (outer, C, inner) view ``x``.

    Returns ``top_data`` (same shape), and the per-column ``scale`` (max) and
    ``denom`` (sum of exponentials), each of shape (outer, inner).
    """
    outer_num, _, inner_num = x.shape
    top_data = np.empty_like(x)
    scale = np.empty((outer_num, inner_num), dtype=x.dtype)
    denom = np.empty((outer_num, inner_num), dtype=np.float64)
    if inner_num == 1:
        launch(_softmax_rows, x.size, x[:, :, 0], top_data[:, :, 0], scale[:, 0], denom[:, 0])
    else:
        launch(_softmax_tiles, x.size, x, top_data, scale, denom)
    return top_data, scale, denom


def softmax_forward(bottom_data, axis=1):
    """Softmax of ``bottom_data`` along ``axis`` (Caffe's ``SoftmaxLayer::Forward``).

    Parameters
    ----------
    bottom_data : array_like
        Logits of any shape.  float32 and float64 are kept; integers are computed
        in float64.
    axis : int, default 1
        The class axis; negative values count from the end.

    Returns
    -------
    top_data : ndarray
        Same shape and dtype as ``bottom_data``; each column sums to 1.

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
    top_data, _, denom = _softmax_columns(x)
    if not (denom >= 1.0).all():            # NaN, +inf, or an all -inf column
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
        dl/d(bottom_data), in the common float dtype of the two inputs.
    """
    top_data, top_diff = _checks.as_backward_pair(top_data, top_diff)
    axis, p = _view(top_data, axis)
    _, g = _view(top_diff, axis)
    bottom_diff = np.empty_like(p)
    dots = np.empty(p.shape[::2], dtype=np.float64)
    if p.shape[2] == 1:
        launch(_softmax_backward_rows, p.size, p[:, :, 0], g[:, :, 0], bottom_diff[:, :, 0], dots[:, 0])
    else:
        launch(_softmax_backward_tiles, p.size, p, g, bottom_diff, dots)
    if not np.isfinite(dots).all():          # a NaN or inf anywhere reaches its column's dot
        _checks.check_finite(top_data, "top_data")
        _checks.check_finite(top_diff, "top_diff")
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
        One class per column: the shape of ``bottom_data`` without ``axis``, or
        with ``axis`` kept at size 1 (Caffe's ``(N, 1, H, W)``).  Floats holding
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
        The softmax, same shape and dtype as ``bottom_data``; pass it to
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
    lab = _checks.as_label(label, bottom_data.shape, axis, ignore_label)
    outer_num, _, inner_num = x.shape
    prob, scale, denom = _softmax_columns(x)
    if not (denom >= 1.0).all():
        _checks.check_logits(bottom_data, axis)
    has_ignore, ignore_value = _kernel_ignore(ignore_label)
    loss_terms = np.empty((outer_num, inner_num), dtype=np.float64)     # -log p at each position
    launch(_loss_terms, lab.size, x, lab, has_ignore, ignore_value, scale, denom, loss_terms)
    valid = lab.size if not has_ignore else int(np.count_nonzero(lab != ignore_value))
    loss = loss_terms.sum() / _checks.normalizer(normalization, outer_num, inner_num, valid)
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
        Same shape and dtype as ``prob``.

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
    lab = _checks.as_label(label, prob.shape, axis, ignore_label)
    outer_num, _, inner_num = p.shape
    has_ignore, ignore_value = _kernel_ignore(ignore_label)
    valid = lab.size if not has_ignore else int(np.count_nonzero(lab != ignore_value))
    weight = prob.dtype.type(top_diff / _checks.normalizer(normalization, outer_num, inner_num, valid))
    bottom_diff = np.empty_like(p)
    sums = np.empty((outer_num, inner_num), dtype=np.float64)      # sum of prob per column
    if inner_num == 1:
        launch(_loss_backward_rows, p.size, p[:, :, 0], lab[:, 0], has_ignore, ignore_value, weight,
                bottom_diff[:, :, 0], sums[:, 0])
    else:
        launch(_loss_backward_tiles, p.size, p, lab, has_ignore, ignore_value, weight, bottom_diff, sums)
    if not np.isfinite(sums).all():          # a NaN or inf in prob reaches its column's sum
        _checks.check_finite(prob, "prob")
    return bottom_diff.reshape(prob.shape)
