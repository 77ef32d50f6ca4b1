"""Input validation shared by :mod:`ebm.reference` and the Numba core.

Everything here is bookkeeping, not mathematics: resolving ``axis`` into Caffe's
``(outer_num, channels, inner_num)`` view, turning ``label`` into integers, and
raising a clear error (naming the argument, the position and the value) for
input that would otherwise give silent garbage.  None of these functions
modifies its arguments.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

#: Caffe's ``LossParameter.NormalizationMode`` values, lower-cased.
NORMALIZATIONS = ("full", "valid", "batch_size", "none")


def as_rng(seed, name="seed"):
    """``numpy.random.default_rng(seed)`` for None, an integer >= 0 or a Generator.

    TypeError for any other type and ValueError for a negative integer, naming ``name``
    (instead of NumPy's message about ``SeedSequence``).
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, an integer or a numpy.random.Generator, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed}")
    return np.random.default_rng(int(seed))


def as_axis(axis) -> int:
    """``axis`` as a Python int; TypeError for anything that is not an integer."""
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    try:
        return operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {axis!r}") from None


def canonical_axis(axis, ndim: int) -> int:
    """Return ``axis`` as a non-negative index into an array of ``ndim`` axes.

    Negative values count from the end, as in NumPy and Caffe's
    ``CanonicalAxisIndex``.
    """
    axis = as_axis(axis)
    if not -ndim <= axis < ndim:
        hint = ""
        if ndim == 1:
            # The first call most students make: ebm.softmax_forward(np.array([1., 2., 3.])).
            hint = ("; the default axis=1 is Caffe's class axis of an (N, C, ...) batch. "
                    "For one 1-D vector of logits pass axis=0, or make it a batch of one "
                    "sample with x[None] (shape (1, C))")
        raise np.exceptions.AxisError(
            f"axis {axis} is out of range for an array with {ndim} dimension(s); "
            f"allowed: {-ndim} to {ndim - 1}{hint}"
        )
    return axis % ndim


def outer_inner(shape: tuple, axis: int) -> tuple[int, int, int]:
    """Caffe's view of ``shape`` around ``axis``: ``(outer_num, channels, inner_num)``.

    ``outer_num = prod(shape[:axis])``, ``inner_num = prod(shape[axis+1:])``.  Element
    ``(i, c, j)`` of the view sits at flat index ``i*dim + c*inner_num + j`` with
    ``dim = channels * inner_num``.
    """
    outer_num = int(np.prod(shape[:axis], dtype=np.int64))
    inner_num = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer_num, int(shape[axis]), inner_num


def as_float_array(x, name: str) -> np.ndarray:
    """``x`` as a float32 or float64 array, copying only when it must.

    float32 and float64 are kept as given; integers are computed in float64, and
    float16 in float32 (the result stays float32: Numba has no float16
    arithmetic).  Booleans raise :class:`TypeError` (True/False are not logits or
    probabilities; convert with ``x.astype(float)`` if 0/1 is meant), and so do
    complex, object, string and other dtypes.
    """
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and not arr.dtype.isnative:   # e.g. big-endian '>f8'
        arr = arr.astype(arr.dtype.newbyteorder("="))
    dt = arr.dtype
    if dt == np.float32 or dt == np.float64:
        return arr
    if dt.kind == "b":
        raise TypeError(
            f"{name} is boolean: True/False are not real-valued {name}; "
            f"pass {name}.astype(float) if you mean 0 and 1"
        )
    if dt.kind in "iu":
        return arr.astype(np.float64)
    if dt == np.float16:
        return arr.astype(np.float32)
    raise TypeError(
        f"{name} must hold real numbers (float32, float64, or integers), got dtype {dt}"
    )


def as_backward_pair(top_data, top_diff):
    """``top_data`` and ``top_diff`` as float arrays of one shape and their common dtype."""
    top_data = as_float_array(top_data, "top_data")
    top_diff = as_float_array(top_diff, "top_diff")
    if top_diff.shape != top_data.shape:
        raise ValueError(
            f"top_diff has shape {top_diff.shape} but top_data has shape {top_data.shape}: they must match"
        )
    dtype = np.result_type(top_data, top_diff)
    return top_data.astype(dtype, copy=False), top_diff.astype(dtype, copy=False)


def _position(flat_index: int, shape: tuple) -> tuple:
    return tuple(int(k) for k in np.unravel_index(flat_index, shape)) if shape else ()


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ValueError naming the first NaN or infinity in ``arr``."""
    finite = np.isfinite(arr)
    if not finite.all():
        pos = _position(int(np.argmin(finite.reshape(-1))), arr.shape)
        raise ValueError(f"{name}{list(pos)} is {arr[pos]}: it must be finite")


def check_logits(bottom_data: np.ndarray, axis: int, name: str = "bottom_data") -> None:
    """Raise ValueError for logits a softmax cannot use.

    NaN or +inf anywhere poisons its column; a column that is entirely -inf has no
    softmax (0/0).  A single -inf among finite values is fine: its probability is 0.
    The error names the first offending position in ``bottom_data``'s own shape.
    """
    bad = np.isnan(bottom_data) | np.isposinf(bottom_data)
    if bad.any():
        pos = _position(int(np.argmax(bad.reshape(-1))), bottom_data.shape)
        raise ValueError(
            f"{name}{list(pos)} is {bottom_data[pos]}: logits must be finite "
            "(-inf is allowed if the column has a finite value)"
        )
    if bottom_data.size and np.isneginf(bottom_data).any():
        dead = np.isneginf(bottom_data).all(axis=axis)
        if dead.any():
            col = _position(int(np.argmax(dead.reshape(-1))), dead.shape)
            pos = list(col[:axis]) + [":"] + list(col[axis:])
            raise ValueError(
                f"{name}[{', '.join(map(str, pos))}] is -inf in every channel: "
                "the softmax of that column is 0/0"
            )


def check_channels(channels: int, columns: int) -> None:
    if channels == 0 and columns > 0:
        raise ValueError("the softmax axis has size 0: a softmax needs at least one class")


def check_normalization(normalization) -> str:
    """Return the lower-cased normalization mode, or raise listing the allowed ones."""
    if not isinstance(normalization, str) or normalization.lower() not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {', '.join(map(repr, NORMALIZATIONS))} "
            f"(case-insensitive), got {normalization!r}"
        )
    return normalization.lower()


def check_ignore_label(ignore_label):
    """``None`` or the integer label whose positions contribute nothing."""
    if ignore_label is None:
        return None
    if isinstance(ignore_label, (bool, np.bool_)) or not isinstance(ignore_label, numbers.Integral):
        raise TypeError(f"ignore_label must be an integer or None, got {ignore_label!r}")
    return int(ignore_label)


def check_loss_weight(top_diff, name: str = "top_diff") -> float:
    """The loss layer's ``top_diff``: a finite real scalar (the loss weight)."""
    if isinstance(top_diff, (bool, np.bool_)) or not isinstance(top_diff, (numbers.Real, np.ndarray)):
        raise TypeError(f"{name} must be a real number, got {top_diff!r}")
    arr = np.asarray(top_diff)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real scalar (the loss weight), got {top_diff!r}")
    value = float(arr.reshape(()))
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def label_shapes(data_shape: tuple, axis: int) -> tuple[tuple, tuple, tuple]:
    """The three label shapes accepted for data of ``data_shape``.

    The data shape without ``axis`` (``(N, H, W)``), with ``axis`` kept at size 1
    (Caffe's ``(N, 1, H, W)`` label blob for ``(N, C, H, W)`` data), or Caffe's
    flat view ``(outer_num, inner_num)`` (``(N, H*W)``).  Caffe checks only the
    label count; a label with the right count in any other shape is rejected, and
    the error says how to reshape it.
    """
    without = tuple(data_shape[:axis]) + tuple(data_shape[axis + 1:])
    kept = tuple(data_shape[:axis]) + (1,) + tuple(data_shape[axis + 1:])
    outer_num, _, inner_num = outer_inner(data_shape, axis)
    return without, kept, (outer_num, inner_num)


def as_label(label, data_shape: tuple, axis: int, ignore_label) -> np.ndarray:
    """Validate ``label`` and return it as int64 of shape ``(outer_num, inner_num)``.

    Labels are integers, or floats holding integral values (Caffe stores labels as
    floats); booleans are rejected.  Every label must lie in ``[0, channels)``
    unless it equals ``ignore_label``.  The errors name the position in
    ``label``'s own shape.
    """
    lab = np.asarray(label)
    outer_num, channels, inner_num = outer_inner(data_shape, axis)
    shapes = tuple(dict.fromkeys(label_shapes(data_shape, axis)))      # distinct, in order
    if lab.shape not in shapes:
        expected = " or ".join(map(str, shapes))
        hint = ""
        if lab.size == outer_num * inner_num:
            hint = (f". It has the right number of labels ({lab.size}, one per column): if they are in "
                    f"Caffe's order (sample, then position), pass label.reshape{shapes[0]}")
        raise ValueError(
            f"label has shape {lab.shape}, which does not fit bottom_data of shape "
            f"{tuple(data_shape)} with axis={axis}: expected {expected}{hint}"
        )
    kind = lab.dtype.kind
    if kind == "b":
        raise TypeError("label is boolean: labels are class indices; pass label.astype(int) "
                        "if True/False mean classes 1 and 0")
    if kind == "f":
        integral = np.isfinite(lab) & (lab == np.round(lab)) & (np.abs(lab) < 2.0**62)
        if not integral.all():
            pos = _position(int(np.argmin(integral.reshape(-1))), lab.shape)
            raise ValueError(f"label{list(pos)} is {lab[pos]}, which is not an integer")
    elif kind not in "iu":
        raise TypeError(f"label must hold integers (or integral floats), got dtype {lab.dtype}")
    if kind == "u" and lab.dtype.itemsize >= 8:
        # uint64 above the int64 range would wrap to negative values (2**64-1 -> -1, which
        # could even match ignore_label=-1): no class is that large, so report it here.
        huge = lab > np.iinfo(np.int64).max
        if huge.any():
            pos = _position(int(np.argmax(huge.reshape(-1))), lab.shape)
            raise ValueError(f"label{list(pos)} is {lab[pos]}, outside the valid classes [0, {channels})")
    lab = lab.astype(np.int64).reshape(outer_num, inner_num)
    out_of_range = (lab < 0) | (lab >= channels)
    if ignore_label is not None:
        out_of_range &= lab != ignore_label
    if out_of_range.any():
        flat = int(np.argmax(out_of_range.reshape(-1)))
        shape = np.shape(label)
        pos = _position(flat, shape)
        hint = "" if ignore_label is None else f" and is not ignore_label={ignore_label}"
        raise ValueError(
            f"label{list(pos)} is {int(lab.reshape(-1)[flat])}, outside the valid classes "
            f"[0, {channels}){hint}"
        )
    return lab


def normalizer(normalization: str, outer_num: int, inner_num: int, valid_count: int) -> float:
    """Caffe's ``get_normalizer``: what the summed loss is divided by, clamped to >= 1.

    ``full`` counts every position (ignored ones too), ``valid`` only the kept ones,
    ``batch_size`` counts outer_num, ``none`` is 1.  The clamp makes a batch whose
    labels are all ignored give loss 0 and gradient 0 (PyTorch gives NaN there).
    """
    count = {
        "full": outer_num * inner_num,
        "valid": valid_count,
        "batch_size": outer_num,
        "none": 1,
    }[normalization]
    return float(max(count, 1))
