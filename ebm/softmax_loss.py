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

The kernels (``@njit(cache=True)``, in :mod:`ebm._kernels`) cut the ``outer_num *
inner_num`` independent columns into tasks: tiles of neighbouring positions for
spatial data, blocks of rows for an (N, C) batch, and for rows of fewer than 16
classes SIMD vectors that each hold one class of eight or sixteen rows; an input of
fewer than ``SMALL_SIZE`` elements takes the rows kernels whatever its layout. Each
family compiles only when an input of its shape is first met. Each kernel has a
parallel twin (``prange`` over the tasks) for large inputs and a serial one for
small inputs (see :mod:`ebm._parallel`). float32 and float64 are kept as given (sums
and the loss accumulate in float64). ``exp`` and ``log`` are the vectorisable ones
of :mod:`ebm._fastexp`; the max and sum over a contiguous row use ``max_num`` and
``add_reassoc``, which let LLVM split those reductions into SIMD lanes (no other
fast-math freedom is taken). The loss forward is one pass: softmax, loss terms, kept
count and label check together. Each kernel also counts the columns whose input was
not finite (and the labels out of range); only when a count is not zero do the
wrappers call the NumPy checks of :mod:`ebm._checks`, to word the error -- valid
input pays nothing extra for validation.

Deliberate differences from Caffe: the loss is an exact log-sum-exp (no
``FLT_MIN`` cap at 87.3365 per term), and labels outside ``[0, C)`` that are not
``ignore_label`` raise ``ValueError`` (undefined behaviour in a Caffe release build).
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np

from ebm import _checks
from ebm._kernels import rows, tiles
from ebm._kernels.common import BLOCK, NARROW, NPART, TILE, count_labels_par, count_labels_ser
from ebm._parallel import launch_twin

__all__ = [
    "softmax_forward",
    "softmax_backward",
    "softmax_loss_forward",
    "softmax_loss_backward",
]

#: Rows of fewer than NARROW classes go through the SIMD vectors of rows of
#: :mod:`ebm._kernels.narrow` (hand-written LLVM IR).  ``EBM_NARROW_ROWS=0`` in the
#: environment sends them through the plain rows kernels instead (the same results,
#: up to rounding; slower).
NARROW_ROWS = os.environ.get("EBM_NARROW_ROWS", "1").strip() != "0"

#: An input of fewer elements than this takes the plain rows kernels whatever its
#: shape (spatial data as a transposed copy, (outer * inner, C)).  For it the narrow
#: rows' SIMD kernels and the tiles save microseconds a call (64 x 10, forward +
#: backward: 27 against 30 us on the 2-core AVX2 machine, most of it the wrappers' own
#: checks), and their first compilation costs seconds: so a first call on a small input
#: compiles only the rows kernels of its pass and dtype.  (At 1024 x 10 the narrow
#: rows' kernels took 43 us against 110.)
SMALL_SIZE = 1024


# --------------------------------------------------------------------------- wrappers


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
    outer_num, channels, inner_num = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])
    _checks.check_channels(channels, outer_num * inner_num)
    return axis, _kernel_input(arr).reshape(outer_num, channels, inner_num)


def _kernel_ignore(ignore_label):
    """``(has_ignore, value)`` for the kernels' int64 comparison.

    An ``ignore_label`` outside int64 matches no label (and would overflow int64).
    """
    if ignore_label is None or not -(2**63) <= ignore_label < 2**63:
        return False, 0
    return True, ignore_label


def _labels(label, shape, axis, ignore_label):
    """``label`` as int64 of shape (outer_num, inner_num) for the kernels.

    Integer labels of a valid shape are only converted: the kernels check the
    range, and :func:`_raise_bad_label` words the error.  Anything else (floats,
    uint64, a wrong shape) goes through :func:`ebm._checks.as_label` first.
    """
    lab = label if isinstance(label, np.ndarray) else np.asarray(label)
    outer_num, inner_num = math.prod(shape[:axis]), math.prod(shape[axis + 1 :])
    if lab.dtype.kind in "iu" and lab.dtype != np.uint64 and lab.shape in _label_shapes(shape, axis):
        return _kernel_input(lab.astype(np.int64, copy=False)).reshape(outer_num, inner_num)
    return _kernel_input(_checks.as_label(label, shape, axis, ignore_label))


def _loss_inputs(data, label, axis, ignore_label, normalization):
    """The loss's arguments checked and laid out for the kernels (``data`` already a float array).

    Returns ``(axis, view (outer, C, inner), label (outer, inner) int64, normalization,
    ignore_label, has_ignore, ignore_value)``.
    """
    normalization = _checks.check_normalization(normalization)
    ignore_label = _checks.check_ignore_label(ignore_label)
    axis, view = _view(data, axis)
    lab = _labels(label, data.shape, axis, ignore_label)
    return (axis, view, lab, normalization, ignore_label, *_kernel_ignore(ignore_label))


@functools.lru_cache(maxsize=256)
def _label_shapes(shape, axis):
    """:func:`ebm._checks.label_shapes`, remembered: it costs more than a small kernel call."""
    return _checks.label_shapes(shape, axis)


def _raise_bad_label(label, shape, axis, ignore_label):
    _checks.as_label(label, shape, axis, ignore_label)  # raises, naming the position
    raise AssertionError("a kernel reported an out-of-range label that ebm._checks accepts")


def _family(outer_num, channels, inner_num):
    """The kernel module for the (outer, C, inner) view: rows, tiles or narrow rows (imported when first met).

    A small input takes the rows kernels whatever its layout (see SMALL_SIZE and :func:`_as_rows`).
    """
    if outer_num * channels * inner_num < SMALL_SIZE:
        return rows
    if inner_num != 1:
        return tiles
    if channels < NARROW and NARROW_ROWS:
        from ebm._kernels import narrow  # its SIMD code compiles only when a large batch of narrow rows is met

        return narrow
    return rows


def _as_rows(view):
    """A small spatial (outer, C, inner) view as a batch of rows: a transposed copy, (outer * inner, C, 1).

    Row ``i * inner + j`` is column ``(i, j)``, the order of the labels' ``(outer, inner)``
    flattened; :func:`_from_rows` puts a result back.
    """
    outer_num, channels, inner_num = view.shape
    return np.ascontiguousarray(view.transpose(0, 2, 1)).reshape(outer_num * inner_num, channels, 1)


def _from_rows(result, shape):
    """A result computed on :func:`_as_rows`'s batch of rows, back in the (outer, C, inner) layout ``shape``."""
    outer_num, channels, inner_num = shape
    return np.ascontiguousarray(result.reshape(outer_num, inner_num, channels).transpose(0, 2, 1))


def _tasks(outer_num, channels, inner_num):
    """``(n_tasks, rows per task)`` for the (outer, C, inner) view (``rows`` is 0 for tiles)."""
    if inner_num != 1:
        return outer_num * ((inner_num + TILE - 1) // TILE), 0
    per_task = max(1, BLOCK // max(channels, 1))
    return (outer_num + per_task - 1) // per_task, per_task


def _softmax_columns(x, lab=None, has_ignore=False, ignore_value=0):
    """Run the forward kernel on the (outer, C, inner) view ``x``.

    Returns ``top_data`` (same shape) and the kernel's
    ``(loss sum, kept, bad columns, bad labels)``; the loss part only when ``lab``
    (int64, (outer, inner)) is given.
    """
    outer_num, channels, inner_num = x.shape
    family = _family(outer_num, channels, inner_num)
    if family is rows and inner_num != 1:  # small spatial data
        top_data, counts = _softmax_columns(_as_rows(x), lab, has_ignore, ignore_value)
        return _from_rows(top_data, x.shape), counts
    top_data = np.empty_like(x)
    n_tasks, per_task = _tasks(outer_num, channels, inner_num)
    out = np.zeros((n_tasks, NPART))
    if family is tiles:
        if lab is None:
            return top_data, launch_twin(*tiles.forward_softmax, x.size, x, top_data, out)
        return top_data, launch_twin(*tiles.forward_loss, x.size, x, lab, has_ignore, ignore_value, top_data, out)
    x2, top2 = x.reshape(outer_num, channels), top_data.reshape(outer_num, channels)
    if lab is None:
        return top_data, launch_twin(*family.forward_softmax, x.size, x2, top2, out, per_task)
    return top_data, launch_twin(
        *family.forward_loss, x.size, x2, lab.reshape(-1), has_ignore, ignore_value, top2, out, per_task
    )


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
    if bad_columns:  # NaN, +inf, or an all -inf column
        _checks.check_logits(bottom_data, axis)
    return top_data.reshape(bottom_data.shape)


def _softmax_backward_columns(p, g):
    """Run the softmax's backward kernel on the (outer, C, inner) views ``p`` and ``g``.

    Returns ``bottom_diff`` (same shape) and how many columns' dots are not finite.
    """
    outer_num, channels, inner_num = p.shape
    family = _family(outer_num, channels, inner_num)
    if family is rows and inner_num != 1:  # small spatial data
        bottom_diff, bad_dots = _softmax_backward_columns(_as_rows(p), _as_rows(g))
        return _from_rows(bottom_diff, p.shape), bad_dots
    bottom_diff = np.empty_like(p)
    n_tasks, per_task = _tasks(outer_num, channels, inner_num)
    out = np.zeros((n_tasks, NPART))
    if family is tiles:
        _, _, bad_dots, _ = launch_twin(*tiles.softmax_backward, p.size, p, g, bottom_diff, out)
    else:
        flat = (outer_num, channels)
        _, _, bad_dots, _ = launch_twin(
            *family.softmax_backward, p.size, p.reshape(flat), g.reshape(flat), bottom_diff.reshape(flat), out, per_task
        )
    return bottom_diff, bad_dots


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
    bottom_diff, bad_dots = _softmax_backward_columns(p, g)
    if bad_dots:  # a NaN or inf anywhere reaches its column's dot
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
    axis, x, lab, normalization, ignore_label, has_ignore, ignore_value = _loss_inputs(
        bottom_data, label, axis, ignore_label, normalization
    )
    outer_num, _, inner_num = x.shape
    prob, (total, kept, bad_columns, bad_labels) = _softmax_columns(x, lab, has_ignore, ignore_value)
    if bad_labels:
        _raise_bad_label(label, bottom_data.shape, axis, ignore_label)
    if bad_columns:
        _checks.check_logits(bottom_data, axis)
    loss = total / _checks.normalizer(normalization, outer_num, inner_num, kept)
    return float(loss), prob.reshape(bottom_data.shape)


def softmax_loss_backward(prob, label, *, top_diff=1.0, axis=1, ignore_label=None, normalization="valid"):
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
    axis, p, lab, normalization, ignore_label, has_ignore, ignore_value = _loss_inputs(
        prob, label, axis, ignore_label, normalization
    )
    outer_num, channels, inner_num = p.shape
    kept = lab.size
    if normalization == "valid" and has_ignore:  # the kept count first
        out = np.zeros((_tasks(outer_num, channels, inner_num)[0], NPART))
        _, kept, _, _ = launch_twin(
            count_labels_ser, count_labels_par, lab.size, lab, has_ignore, ignore_value, channels, out
        )
    w = p.dtype.type(top_diff / _checks.normalizer(normalization, outer_num, inner_num, kept))
    bottom_diff, bad_prob, bad_labels = _loss_backward_columns(p, lab, has_ignore, ignore_value, w)
    if bad_labels:
        _raise_bad_label(label, prob.shape, axis, ignore_label)
    if bad_prob:  # a NaN or inf in prob reaches its task's check sum
        _checks.check_finite(prob, "prob")
    return bottom_diff.reshape(prob.shape)


def _loss_backward_columns(p, lab, has_ignore, ignore_value, w):
    """Run the loss's backward kernel on the (outer, C, inner) view ``p``, its int64 labels
    ``lab`` (outer, inner) and the scale ``w``.

    Returns ``bottom_diff`` (same shape), the count of tasks whose prob is not finite and the
    count of labels out of range.
    """
    outer_num, channels, inner_num = p.shape
    family = _family(outer_num, channels, inner_num)
    if family is rows and inner_num != 1:  # small spatial data
        bottom_diff, bad_prob, bad_labels = _loss_backward_columns(_as_rows(p), lab, has_ignore, ignore_value, w)
        return _from_rows(bottom_diff, p.shape), bad_prob, bad_labels
    n_tasks, per_task = _tasks(outer_num, channels, inner_num)
    out = np.zeros((n_tasks, NPART))
    bottom_diff = np.empty_like(p)
    if family is tiles:
        _, _, bad_prob, bad_labels = launch_twin(
            *tiles.loss_backward, p.size, p, lab, has_ignore, ignore_value, w, bottom_diff, out
        )
    else:
        flat = (outer_num, channels)
        _, _, bad_prob, bad_labels = launch_twin(
            *family.loss_backward,
            p.size,
            p.reshape(flat),
            lab.reshape(-1),
            has_ignore,
            ignore_value,
            w,
            bottom_diff.reshape(flat),
            out,
            per_task,
        )
    return bottom_diff, bad_prob, bad_labels
