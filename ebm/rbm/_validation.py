"""Argument checks shared by the RBM modules (scikit-learn style: clear errors, no mutation)."""

from __future__ import annotations

import numbers

import numpy as np

#: The largest layer :func:`ebm.rbm.log_partition_exact` enumerates (2**25 states).
MAX_ENUMERATED_UNITS = 25

BINARISE_HINT = ("binarise real data first, e.g. (X > 0.5).astype(float), or load "
                 "ebm.datasets.load_digits(binarize=True)")


def check_binary(V, n_units, name="V", allow_1d=True):
    """``V`` as a float64 2-D array (a copy) of 0/1 values with ``n_units`` columns.

    A 1-D ``V`` of length ``n_units`` is one sample; it comes back as shape (1, n_units)
    and the second return value says it was 1-D.
    """
    if isinstance(V, (str, bytes)):
        raise TypeError(f"{name} must be an array of 0/1 values, got {V!r}")
    arr = np.asarray(V)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric (0/1 values), got dtype {arr.dtype}")
    single = arr.ndim == 1
    if not ((allow_1d and arr.ndim == 1) or arr.ndim == 2):
        shapes = f"({n_units},) or (M, {n_units})" if allow_1d else f"(M, {n_units})"
        raise ValueError(f"{name} must have shape {shapes}, got {arr.shape}")
    if arr.shape[-1] != n_units:
        raise ValueError(f"{name} has {arr.shape[-1]} columns but the model has {n_units} units "
                         f"in that layer: shape {arr.shape} does not match")
    arr2 = arr.reshape(-1, n_units)
    bad = (arr2 != 0) & (arr2 != 1)
    if bad.any():
        r, k = (int(i) for i in np.argwhere(bad)[0])
        pos = [k] if single else [r, k]
        raise ValueError(f"{name}{pos} is {arr2[r, k]}: an RBM's units are binary, values must be "
                         f"0 or 1; {BINARISE_HINT}")
    return arr2.astype(np.float64), single


def check_real(x, shape, name):
    """``x`` as a finite float64 array (a copy) of exactly ``shape``."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {x!r}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.isfinite(arr).all():
        pos = [int(i) for i in np.argwhere(~np.isfinite(arr))[0]]
        raise ValueError(f"{name}{pos} is {arr[tuple(pos)]}: values must be finite")
    return arr.astype(np.float64)


def check_int(value, name, low=1, high=None):
    """``value`` as an int with ``low <= value`` (and ``<= high`` when given)."""
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
    """``value`` as a finite float in the given range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def kernel_seed(rng):
    """A 32-bit seed for ``np.random.seed`` inside a jitted kernel, drawn from ``rng``."""
    return int(rng.integers(0, 2**31 - 1))
