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


def kernel_seed(seed, name="seed", high=2**31 - 1):
    """The seed for ``np.random.seed`` inside a jitted kernel (Numba's generator), from ``seed``.

    An integer in ``[0, 2**32)`` is used as given; a ``numpy.random.Generator`` gives one
    draw from ``[0, high)`` (the generator advances); None draws from a fresh generator.
    TypeError for any other type, ValueError for an integer out of range.  ``high`` is
    fixed per chapter (the Boltzmann kernels draw below ``2**32 - 1``): changing it
    changes every seeded result of that chapter.
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return int(np.random.default_rng(seed).integers(0, high))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, an integer or a numpy.random.Generator, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {seed}")
    return int(seed)


def check_int(value, name, low=1, high=None):
    """``value`` as an int with ``low <= value`` (and ``<= high`` when given).

    TypeError if it is not an integer (booleans included), ValueError if out of range.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < low:
        what = "positive" if low == 1 else f">= {low}"
        raise ValueError(f"{name} must be {what}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}")
    return value


def check_float(value, name, low=None, high=None, low_open=False):
    """``value`` (a real number, or an array holding one) as a finite float in the given range.

    TypeError for anything else (booleans, strings, arrays of other sizes), ValueError
    for a non-finite value or one outside ``[low, high]`` (``(low, high]`` with ``low_open``).
    """
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray):
            raise TypeError(f"{name} must be a real scalar, got an array of shape {value.shape}")
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high:g}, got {value}")
    return value


def check_temperature(T, name="T"):
    """A temperature: a finite real number > 0 (TypeError / ValueError naming ``name``)."""
    if isinstance(T, (bool, np.bool_)) or not isinstance(T, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {T!r}")
    T = float(T)
    if not (np.isfinite(T) and T > 0):
        raise ValueError(
            f"{name} must be a positive finite temperature, got {T!r} "
            "(for the T -> 0 limit use deterministic_unit or BoltzmannMachine.descend)"
        )
    return T


def check_real_array(x, name, shape=None, allow_inf=False):
    """``x`` as a float64 array (a copy) of real numbers, of exactly ``shape`` when given.

    TypeError for strings, booleans and non-numeric dtypes; ValueError for a wrong
    shape, a NaN, or an infinity (unless ``allow_inf``), naming the first position.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {x!r}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    arr = arr.astype(np.float64)
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if bad.any():
        pos = _position(int(np.argmax(bad.reshape(-1))), arr.shape)
        raise ValueError(
            f"{name}{list(pos)} is {arr[pos]}: values must be {'real (not NaN)' if allow_inf else 'finite'}"
        )
    return arr


def check_binary(x, n_units, name="states", dtype=np.float64, hint="", ndims=(1, 2)):
    """``x`` as a copy in ``dtype`` of 0/1 states with ``n_units`` columns, its shape kept.

    ``ndims`` lists the accepted dimensions ((n,) one state, (M, n) rows of states).
    TypeError for a non-numeric ``x``; ValueError for a wrong shape or a value other
    than 0 and 1, naming the position (``hint`` says how to fix the data).
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of 0/1 values, got {x!r}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric (0/1 values), got dtype {arr.dtype}")
    if arr.ndim not in ndims:
        shapes = " or ".join(f"({n_units},)" if d == 1 else f"(M, {n_units})" for d in ndims)
        raise ValueError(f"{name} must have shape {shapes}, got {arr.shape}")
    if arr.shape[-1] != n_units:
        raise ValueError(
            f"{name} has {arr.shape[-1]} columns but the model has {n_units} units "
            f"in that layer: shape {arr.shape} does not match"
        )
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        pos = _position(int(np.argmax(bad.reshape(-1))), arr.shape)
        raise ValueError(
            f"{name}{list(pos)} is {arr[pos]}: the units are binary, values must be 0 or 1{'; ' + hint if hint else ''}"
        )
    return arr.astype(dtype)


#: How to fix real-valued data given to a model of binary units.
BINARISE_HINT = (
    "binarise real data first, e.g. (X > 0.5).astype(float), or load ebm.datasets.load_digits(binarize=True)"
)


def binary_rows(x, n_units, name="V", allow_1d=True, hint=BINARISE_HINT):
    """:func:`check_binary` as float64 rows ``(M, n_units)``, and whether ``x`` was one 1-D state."""
    arr = check_binary(x, n_units, name, np.float64, hint, (1, 2) if allow_1d else (2,))
    return arr.reshape(-1, n_units), arr.ndim == 1


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
            hint = (
                "; the default axis=1 is Caffe's class axis of an (N, C, ...) batch. "
                "For one 1-D vector of logits pass axis=0, or make it a batch of one "
                "sample with x[None] (shape (1, C))"
            )
        raise np.exceptions.AxisError(
            f"axis {axis} is out of range for an array with {ndim} dimension(s); allowed: {-ndim} to {ndim - 1}{hint}"
        )
    return axis % ndim


def outer_inner(shape: tuple, axis: int) -> tuple[int, int, int]:
    """Caffe's view of ``shape`` around ``axis``: ``(outer_num, channels, inner_num)``.

    ``outer_num = prod(shape[:axis])``, ``inner_num = prod(shape[axis+1:])``.  Element
    ``(i, c, j)`` of the view sits at flat index ``i*dim + c*inner_num + j`` with
    ``dim = channels * inner_num``.
    """
    outer_num = int(np.prod(shape[:axis], dtype=np.int64))
    inner_num = int(np.prod(shape[axis + 1 :], dtype=np.int64))
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
    if arr.dtype.kind == "f" and not arr.dtype.isnative:  # e.g. big-endian '>f8'
        arr = arr.astype(arr.dtype.newbyteorder("="))
    dt = arr.dtype
    if dt == np.float32 or dt == np.float64:
        return arr
    if dt.kind == "b":
        raise TypeError(
            f"{name} is boolean: True/False are not real-valued {name}; pass {name}.astype(float) if you mean 0 and 1"
        )
    if dt.kind in "iu":
        return arr.astype(np.float64)
    if dt == np.float16:
        return arr.astype(np.float32)
    raise TypeError(f"{name} must hold real numbers (float32, float64, or integers), got dtype {dt}")


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
                f"{name}[{', '.join(map(str, pos))}] is -inf in every channel: the softmax of that column is 0/0"
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
    without = tuple(data_shape[:axis]) + tuple(data_shape[axis + 1 :])
    kept = tuple(data_shape[:axis]) + (1,) + tuple(data_shape[axis + 1 :])
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
    shapes = tuple(dict.fromkeys(label_shapes(data_shape, axis)))  # distinct, in order
    if lab.shape not in shapes:
        expected = " or ".join(map(str, shapes))
        hint = ""
        if lab.size == outer_num * inner_num:
            hint = (
                f". It has the right number of labels ({lab.size}, one per column): if they are in "
                f"Caffe's order (sample, then position), pass label.reshape{shapes[0]}"
            )
        raise ValueError(
            f"label has shape {lab.shape}, which does not fit bottom_data of shape "
            f"{tuple(data_shape)} with axis={axis}: expected {expected}{hint}"
        )
    kind = lab.dtype.kind
    if kind == "b":
        raise TypeError(
            "label is boolean: labels are class indices; pass label.astype(int) if True/False mean classes 1 and 0"
        )
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
            f"label{list(pos)} is {int(lab.reshape(-1)[flat])}, outside the valid classes [0, {channels}){hint}"
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


# --------------------------------------------------------------------------- energies (LeCun's Gibbs chapter)


def check_beta(beta, *, positive=False):
    """``beta`` as a float; ValueError if negative (or zero when ``positive``)."""
    beta = check_float(beta, "beta")
    if beta < 0:
        raise ValueError(f"beta must be >= 0 (an inverse temperature), got {beta}")
    if positive and beta == 0:
        raise ValueError(
            "beta must be > 0 here: at beta = 0 the term (1/beta) log sum exp(-beta E) diverges like log(C)/beta"
        )
    return beta


def check_energies(energies, name="energies"):
    """``energies`` as float64 (a copy only when needed), ValueError at the first non-finite value."""
    arr = as_float_array(energies, name).astype(np.float64, copy=False)
    check_finite(arr, name)
    return arr


def check_betas(betas):
    """``betas`` as a flat float64 array, each finite and ``>= 0``; at least one."""
    arr = as_float_array(betas, "betas").astype(np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError("betas is empty")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        n = int(np.argmax(bad))
        raise ValueError(f"betas[{n}] is {arr[n]}: every beta must be finite and >= 0")
    return arr


def energy_logits(E, beta):
    """``-beta E``, checked in one pass: ValueError naming a non-finite energy or an overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        logits = -beta * E
    if not np.isfinite(logits).all():
        check_finite(E, "energies")  # NaN or inf in the input itself
        pos = _position(int(np.argmin(np.isfinite(logits).reshape(-1))), E.shape)
        raise ValueError(f"beta * energies{list(pos)} = {beta:g} * {E[pos]:g} overflows float64")
    return logits


def check_energy_batch(energies, correct):
    """Validate a loss's input: ``(E (N, C) float64, c (N,) int64, squeeze)``.

    ``energies`` is (N, C) with ``correct`` of shape (N,), or one vector (C,) with a
    scalar ``correct`` (then ``squeeze`` is true and the gradient is returned as (C,)).
    """
    E = check_energies(energies)
    squeeze = E.ndim == 1
    if squeeze:
        E = E[None, :]
    if E.ndim != 2:
        raise ValueError(f"energies must have shape (N, C) or (C,), got {np.shape(energies)}")
    N, C = E.shape
    if N == 0:
        raise ValueError(f"energies has no samples (shape {np.shape(energies)}): a loss needs at least one")
    if C < 2:
        raise ValueError(f"energies must hold at least 2 answers per sample (one correct, one incorrect), got C = {C}")
    c = np.asarray(correct)
    expected = () if squeeze else (N,)
    if c.shape != expected:
        raise ValueError(
            f"correct has shape {c.shape} but energies has shape {np.shape(energies)}: "
            f"expected correct of shape {expected}"
        )
    if c.dtype.kind == "f":
        bad = ~(np.isfinite(c) & (c == np.round(c)))
        if bad.any():
            pos = _position(int(np.argmax(bad.reshape(-1))), c.shape)
            where = str(list(pos)) if c.ndim else ""
            raise ValueError(f"correct{where} is {c[pos]}, which is not an integer")
    elif c.dtype.kind not in "iu":
        raise TypeError(f"correct must hold integer indices, got dtype {c.dtype}")
    c = c.reshape(-1)
    out = (c < 0) | (c >= C)
    if out.any():
        n = int(np.argmax(out))
        where = "" if squeeze else f"[{n}]"
        raise ValueError(f"correct{where} is {c[n]:g}, outside the valid answers [0, {C})")
    return E, c.astype(np.int64), squeeze
