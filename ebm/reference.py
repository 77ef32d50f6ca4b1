r"""The softmax and softmax-with-loss layers in plain NumPy, to be read beside the derivation.

This file is the oracle: the Numba kernels in :mod:`ebm.softmax_loss` are tested
against it.  It is written for reading, not speed.  Names follow Caffe and the
source article: ``bottom_data`` goes in, ``top_data`` comes out; ``top_diff``
comes back from above and ``bottom_diff`` goes down.

Caffe's layout (article §8)
---------------------------
The softmax runs along one ``axis`` of an n-D blob.  Everything before it is
``outer_num`` (the batch), everything after it is ``inner_num`` (the spatial
positions of a fully convolutional net), and ``C`` classes sit in between::

    outer_num = prod(shape[:axis]);  C = shape[axis];  inner_num = prod(shape[axis+1:])
    dim = C * inner_num
    element (i, c, j)  is at flat index  i*dim + c*inner_num + j
    label   (i, j)     is at flat index  i*inner_num + j

So every function below starts with ``x.reshape(outer_num, C, inner_num)`` and
works on the ``outer_num * inner_num`` columns ``x[i, :, j]``, one softmax each.

The equations
-------------
Forward (Caffe subtracts the column max first, so exp never overflows)::

    top_data[i, c, j] = exp(x[i,c,j] - m[i,j]) / sum_c' exp(x[i,c',j] - m[i,j]),  m = max_c x

Softmax backward (article §7): every input is touched by every output::

    bottom_diff[i, c, j] = top_data[i,c,j] * (top_diff[i,c,j] - sum_c' top_data[i,c',j] * top_diff[i,c',j])

Softmax-with-loss (article §5-§6), k = label[i, j], over the kept positions::

    loss        = sum_{i,j kept} ( log sum_c exp(x[i,c,j]) - x[i,k,j] ) / normalizer
    bottom_diff = top_diff * (prob - onehot(k)) / normalizer,   0 at ignored positions

The article's displayed derivative swaps the cases ``i = k`` and ``i != k``; the
formula above (and the article's programming recipe ①-③) is the right one:
``prob - 1`` at the label, ``prob`` elsewhere, 0 where ignored.

Two deliberate differences from Caffe: the loss is an exact log-sum-exp (Caffe
computes ``-log(max(p, FLT_MIN))``, which caps a term at 87.3365), and a label
outside ``[0, C)`` that is not ``ignore_label`` raises instead of reading
out of bounds.
"""

from __future__ import annotations

import numpy as np

from ebm import _checks

__all__ = [
    "softmax_forward",
    "softmax_backward",
    "softmax_loss_forward",
    "softmax_loss_backward",
]


def _caffe_view(shape, axis):
    """Resolve ``axis`` and return ``(axis, outer_num, C, inner_num)``."""
    axis = _checks.canonical_axis(axis, len(shape))
    outer_num, channels, inner_num = _checks.outer_inner(shape, axis)
    _checks.check_channels(channels, outer_num * inner_num)
    return axis, outer_num, channels, inner_num


def softmax_forward(bottom_data, axis=1):
    """Softmax of ``bottom_data`` along ``axis``; returns ``top_data`` of the same shape.

    The arguments, dtypes and errors are those of the core's
    :func:`ebm.softmax_loss.softmax_forward` (float32 and float64 kept, integers in
    float64, float16 in float32, booleans a TypeError; ``axis`` the class axis, negative
    from the end).  Each column ``top_data[i, :, j]`` sums to 1.
    """
    bottom_data = _checks.as_float_array(bottom_data, "bottom_data")
    axis, outer_num, C, inner_num = _caffe_view(bottom_data.shape, axis)
    _checks.check_logits(bottom_data, axis)
    x = bottom_data.reshape(outer_num, C, inner_num)

    # the column max, shape (outer, 1, inner); initial=-inf only lets an empty (0, 0) blob through
    scale_data = x.max(axis=1, keepdims=True, initial=-np.inf)
    top = np.exp(x - scale_data)  # now every exponent is <= 0
    top /= top.sum(axis=1, keepdims=True)  # divide by the column sum
    return top.reshape(bottom_data.shape)


def softmax_backward(top_data, top_diff, axis=1):
    """Gradient through a softmax: ``top_data * (top_diff - sum_c top_data*top_diff)``.

    Parameters
    ----------
    top_data : array_like
        The forward output (probabilities).
    top_diff : array_like
        dl/d(top_data), same shape as ``top_data``.
    axis : int, default 1
        The class axis used in the forward pass.

    Returns
    -------
    bottom_diff : ndarray
        dl/d(bottom_data), in the common float dtype of the two inputs (float16
        is computed and returned in float32, integers in float64).
    """
    top_data, top_diff = _backward_inputs(top_data, top_diff)
    axis, outer_num, C, inner_num = _caffe_view(top_data.shape, axis)
    p = top_data.reshape(outer_num, C, inner_num)
    g = top_diff.reshape(outer_num, C, inner_num)

    # Caffe, optimisation (I): one dot per column.  For column (i, j) its elements
    # are inner_num apart in memory -- a BLAS strided dot with increment inner_num.
    dot = np.einsum("icj,icj->ij", p, g)  # shape (outer, inner)
    # ... subtracted from every class at once: a rank-1 "broadcast"
    # (Caffe: GEMM of a ones vector [C, 1] with the dots [1, inner_num]).
    bottom_diff = g - dot[:, None, :]
    # Optimisation (II): one element-wise multiply over the whole batch.
    bottom_diff *= p
    return bottom_diff.reshape(top_data.shape)


def _backward_inputs(top_data, top_diff):
    top_data, top_diff = _checks.as_backward_pair(top_data, top_diff)
    _checks.check_finite(top_data, "top_data")
    _checks.check_finite(top_diff, "top_diff")
    return top_data, top_diff


def softmax_loss_forward(bottom_data, label, *, axis=1, ignore_label=None, normalization="valid"):
    """Multinomial logistic loss of the softmax; returns ``(loss, prob)``.

    The arguments are those of the core's :func:`ebm.softmax_loss.softmax_loss_forward`
    (``bottom_data`` logits with the classes on ``axis``; ``label`` one class per
    column; ``ignore_label``; ``normalization``), checked by the same :mod:`ebm._checks`.

    Returns
    -------
    loss : float
    prob : ndarray
        The softmax of ``bottom_data``, kept for the backward pass (dtype as in
        :func:`softmax_forward`: float16 gives float32).
    """
    bottom_data = _checks.as_float_array(bottom_data, "bottom_data")
    normalization = _checks.check_normalization(normalization)
    ignore_label = _checks.check_ignore_label(ignore_label)
    axis, outer_num, C, inner_num = _caffe_view(bottom_data.shape, axis)
    label = _checks.as_label(label, bottom_data.shape, axis, ignore_label)  # (outer, inner)

    prob = softmax_forward(bottom_data, axis)
    x = bottom_data.reshape(outer_num, C, inner_num)

    # -log softmax(x)_k = log sum_c exp(x_c) - x_k   (article §6), computed stably.
    m = x.max(axis=1, initial=-np.inf)  # (outer, inner)
    log_sum_exp = m + np.log(np.exp(x - m[:, None, :]).sum(axis=1))
    keep = np.ones(label.shape, bool) if ignore_label is None else label != ignore_label
    k = np.where(keep, label, 0)  # any valid index
    x_k = np.take_along_axis(x, k[:, None, :], axis=1)[:, 0, :]
    per_position = (log_sum_exp - x_k).astype(np.float64)

    total = per_position[keep].sum()
    loss = total / _checks.normalizer(normalization, outer_num, inner_num, int(keep.sum()))
    return float(loss), prob


def softmax_loss_backward(prob, label, *, top_diff=1.0, axis=1, ignore_label=None, normalization="valid"):
    """Gradient of the softmax loss with respect to the logits.

    Caffe's recipe (article §6): ① copy ``prob`` into ``bottom_diff`` and subtract 1 at
    the label; ② other classes keep ``prob``; ③ zero every class of an ignored
    position; then scale by ``top_diff / normalizer``.

    Parameters
    ----------
    prob : array_like
        The ``prob`` returned by :func:`softmax_loss_forward`.
    label : array_like of int
    top_diff : float, default 1.0
        The loss weight (dl/d(loss) from above).
    axis, ignore_label, normalization
        As in the forward pass.

    Returns
    -------
    bottom_diff : ndarray
        Same shape as ``prob``; its dtype, except float16 gives float32.
    """
    prob = _checks.as_float_array(prob, "prob")
    _checks.check_finite(prob, "prob")
    top_diff = _checks.check_loss_weight(top_diff)
    normalization = _checks.check_normalization(normalization)
    ignore_label = _checks.check_ignore_label(ignore_label)
    axis, outer_num, C, inner_num = _caffe_view(prob.shape, axis)
    label = _checks.as_label(label, prob.shape, axis, ignore_label)

    keep = np.ones(label.shape, bool) if ignore_label is None else label != ignore_label
    bottom_diff = prob.reshape(outer_num, C, inner_num).copy()  # ① and ②: copy prob
    i, j = np.nonzero(keep)
    bottom_diff[i, label[i, j], j] -= 1  # ①: subtract 1 at k
    bottom_diff *= keep[:, None, :]  # ③: ignored -> 0
    scale = top_diff / _checks.normalizer(normalization, outer_num, inner_num, int(keep.sum()))
    bottom_diff *= prob.dtype.type(scale)
    return bottom_diff.reshape(prob.shape)


# =========================================================================== Caffe's BLAS view
# The functions above use NumPy's axes.  Caffe sees only a flat buffer and BLAS
# calls.  The functions below redo the softmax backward's two optimisations (article
# §7-§8) the way Caffe's SoftmaxLayer::Backward_cpu does, with the flat index written
# out so the memory layout is visible:
#
#     element (i, c, j)  of an (outer_num, C, inner_num) blob  is at  i*dim + c*inner_num + j
#
# (I)  for each sample i and position j, one dot of C elements that are inner_num
#      apart in memory -- BLAS ``dot(n=C, x + i*dim + j, incx=inner_num, ...)``;
# (I') the dots of sample i, shape [1, inner_num], are subtracted from every class
#      with one rank-1 GEMM: ones[C, 1] @ dots[1, inner_num], shape [C, inner_num];
# (II) one element-wise multiply by top_data over the whole batch.
#
#     bottom_diff[i] = top_data[i] * (top_diff[i] - gemm_broadcast(strided_dots(...)[i], C))
#
# Two teaching helpers follow: the dense Jacobian that (I) avoids building, and the
# article's displayed (wrong) loss derivative, kept so the erratum can be shown failing.

__all__ += [
    "flat_index",
    "strided_dots",
    "gemm_broadcast",
    "softmax_backward_blas",
    "softmax_jacobian",
    "article_printed_loss_gradient",
]


def flat_index(i, c, j, channels, inner_num):
    """Caffe's flat index of element ``(i, c, j)``: ``i*dim + c*inner_num + j``.

    Parameters
    ----------
    i : int or array_like of int
        The sample (outer) index, ``i >= 0``.
    c : int or array_like of int
        The class (channel) index, ``0 <= c < channels``.
    j : int or array_like of int
        The spatial (inner) index, ``0 <= j < inner_num``.
    channels : int
        ``C``, the size of the softmax axis.
    inner_num : int
        The product of the axes after the softmax axis (``H*W`` for ``(N, C, H, W)``).

    Returns
    -------
    int or ndarray of int64
        ``i*dim + c*inner_num + j`` with ``dim = channels * inner_num``; an int when
        every index is a scalar, otherwise the broadcast array.

    Raises
    ------
    TypeError
        If an index or size is not an integer.
    ValueError
        If ``channels`` or ``inner_num`` is below 1, or an index is out of its range.

    Examples
    --------
    For an ``(N, C, H, W) = (2, 3, 2, 2)`` blob ``dim = 12``; class 1 of pixel 3 of
    sample 1 sits at ``1*12 + 1*4 + 3``:

    >>> flat_index(1, 1, 3, channels=3, inner_num=4)
    19
    """
    channels = _positive_int(channels, "channels")
    inner_num = _positive_int(inner_num, "inner_num")
    idx = {}
    for name, value, upper in (("i", i, None), ("c", c, channels), ("j", j, inner_num)):
        arr = np.asarray(value)
        if arr.dtype.kind not in "iu" or isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be an integer or an array of integers, got {value!r}")
        if (arr < 0).any() or (upper is not None and (arr >= upper).any()):
            bound = "0 <= " + name + (f" < {upper}" if upper is not None else "")
            raise ValueError(f"{name} must satisfy {bound}, got {value!r}")
        idx[name] = arr.astype(np.int64)
    dim = channels * inner_num
    flat = idx["i"] * dim + idx["c"] * inner_num + idx["j"]
    return int(flat) if flat.ndim == 0 else flat


def _positive_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def strided_dots(top_data, top_diff, axis=1):
    """The per-column dots ``sum_c top_data * top_diff``, taken as Caffe's strided dots.

    For each sample ``i`` and position ``j`` the ``C`` elements of column ``(i, j)`` are
    ``inner_num`` apart in the flat buffer, starting at ``i*dim + j``: a BLAS dot with
    increment ``inner_num`` (article §8, optimisation I).

    Parameters
    ----------
    top_data : array_like
        The softmax output, any shape; the class axis is ``axis``.
    top_diff : array_like
        dl/d(top_data), the same shape.
    axis : int, default 1
        The class axis.

    Returns
    -------
    dots : ndarray, shape (outer_num, inner_num)
        ``dots[i, j] = sum_c top_data[i, c, j] * top_diff[i, c, j]`` in the
        ``(outer_num, C, inner_num)`` view.

    Examples
    --------
    >>> p = np.array([[0.25, 0.75]]); g = np.array([[1.0, 2.0]])
    >>> strided_dots(p, g)
    array([[1.75]])
    """
    top_data, top_diff = _backward_inputs(top_data, top_diff)
    axis, outer_num, C, inner_num = _caffe_view(top_data.shape, axis)
    data = np.ascontiguousarray(top_data).reshape(-1)  # the flat buffers Caffe sees
    diff = np.ascontiguousarray(top_diff).reshape(-1)
    dots = np.empty((outer_num, inner_num), dtype=data.dtype)
    for i in range(outer_num):
        for j in range(inner_num):
            start = flat_index(i, 0, j, C, inner_num)  # i*dim + 0*inner_num + j
            stop = start + C * inner_num  # one past class C-1
            # BLAS dot(n=C, x=data+start, incx=inner_num, y=diff+start, incy=inner_num)
            dots[i, j] = np.dot(data[start:stop:inner_num], diff[start:stop:inner_num])
    return dots


def gemm_broadcast(dots_i, channels):
    """The rank-1 matrix Caffe subtracts from ``top_diff`` of one sample.

    ``ones[C, 1] @ dots_i[1, inner_num]``: every class row holds the same dots.  In
    Caffe this is the GEMM ``top_diff = 1.0 * top_diff + (-1.0) * ones @ dots``
    (BLAS's ``C = beta C + alpha A B``), one call per sample (article §8, I).

    Parameters
    ----------
    dots_i : array_like, shape (inner_num,)
        The dots of one sample ``i``: a row of :func:`strided_dots`.
    channels : int
        ``C``, the number of classes.

    Returns
    -------
    ndarray, shape (channels, inner_num)

    Examples
    --------
    >>> gemm_broadcast(np.array([1.0, 2.0]), channels=3)
    array([[1., 2.],
           [1., 2.],
           [1., 2.]])
    """
    channels = _positive_int(channels, "channels")
    dots_i = _checks.as_float_array(dots_i, "dots_i")
    if dots_i.ndim != 1:
        raise ValueError(f"dots_i must be 1-D (the inner_num dots of one sample), got shape {dots_i.shape}")
    ones = np.ones((channels, 1), dtype=dots_i.dtype)  # A: [C, 1]
    return ones @ dots_i[None, :]  # A @ B: [C, 1] @ [1, inner_num]


def softmax_backward_blas(top_data, top_diff, axis=1):
    """:func:`softmax_backward` assembled from Caffe's BLAS steps, sample by sample.

    ``bottom_diff[i] = top_data[i] * (top_diff[i] - gemm_broadcast(dots[i], C))`` with
    ``dots = strided_dots(top_data, top_diff)``: (I) the strided dots, (I') the
    rank-1 GEMM subtraction, (II) the element-wise multiply.

    Parameters
    ----------
    top_data, top_diff : array_like
        As in :func:`softmax_backward`.
    axis : int, default 1

    Returns
    -------
    bottom_diff : ndarray
        Equal to :func:`softmax_backward` up to rounding.

    Examples
    --------
    >>> p = softmax_forward(np.array([[1.0, 2.0, 3.0]])); g = np.array([[0.0, 0.0, 1.0]])
    >>> bool(np.allclose(softmax_backward_blas(p, g), softmax_backward(p, g)))
    True
    """
    dots = strided_dots(top_data, top_diff, axis)  # (I), validates the inputs
    top_data, top_diff = _backward_inputs(top_data, top_diff)
    axis, outer_num, C, inner_num = _caffe_view(top_data.shape, axis)
    p = np.ascontiguousarray(top_data).reshape(outer_num, C, inner_num)
    g = np.ascontiguousarray(top_diff).reshape(outer_num, C, inner_num)
    bottom_diff = np.empty_like(p)
    for i in range(outer_num):
        bottom_diff[i] = g[i] - gemm_broadcast(dots[i], C)  # (I') [C, inner_num] at once
    bottom_diff *= p  # (II) whole batch
    return bottom_diff.reshape(top_data.shape)


def softmax_jacobian(x):
    """The dense Jacobian of a softmax column: ``J[j, i] = dSoftmax_j/dx_i = diag(p) - p p^T``.

    Article §7: ``p_i - p_j p_i`` on the diagonal, ``-p_j p_i`` off it -- every output
    depends on every input.  Caffe never builds this ``C x C`` matrix: ``J^T top_diff``
    collapses to ``p * (top_diff - p . top_diff)``.

    Parameters
    ----------
    x : array_like, shape (C,)
        One column of logits.

    Returns
    -------
    ndarray, shape (C, C)
        Symmetric; row ``j`` is the gradient of output ``j``; every row sums to 0.

    Examples
    --------
    >>> softmax_jacobian(np.array([0.0, 0.0]))
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    x = _checks.as_float_array(x, "x")
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x must be a non-empty 1-D column of logits, got shape {x.shape}")
    p = softmax_forward(x, axis=0)
    return np.diag(p) - np.outer(p, p)


def article_printed_loss_gradient(x, k):
    """The loss derivative **as the article displays it** -- wrong, kept to teach the erratum.

    The article's formula gives ``e^{x_k}/sum e^{x} - 1`` for ``i != k`` and
    ``e^{x_k}/sum e^{x}`` for ``i = k``: the two cases are swapped and ``x_K`` is
    written where ``x_i`` belongs.  The right derivative is ``softmax(x)_i - [i = k]``
    (:func:`softmax_loss_backward`, and the article's own recipe ①-③).

    Parameters
    ----------
    x : array_like, shape (C,)
        One column of logits.
    k : int
        The label, ``0 <= k < C``.

    Returns
    -------
    ndarray, shape (C,)

    Examples
    --------
    >>> article_printed_loss_gradient(np.array([0.0, 0.0]), 1)
    array([-0.5,  0.5])
    """
    x = _checks.as_float_array(x, "x")
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x must be a non-empty 1-D column of logits, got shape {x.shape}")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer label, got {k!r}")
    if not 0 <= k < x.size:
        raise ValueError(f"k must satisfy 0 <= k < {x.size}, got {k}")
    p_k = softmax_forward(x, axis=0)[k]  # e^{x_K} / sum_i e^{x_i}
    printed = np.full_like(x, p_k - 1)  # "i != k" case as printed
    printed[k] = p_k  # "i == k" case as printed
    return printed
