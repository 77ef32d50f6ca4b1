"""The logistic sigmoid, softplus and log-sum-exp, each written once for all of ebm.

NumPy forms (any shape, float64, no overflow warning at any finite input)::

    sigmoid(x)   = 1 / (1 + exp(-x)),  as exp(x) / (1 + exp(x)) where x < 0
    softplus(x)  = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))
    logsumexp(a) = m + log(sum(exp(a - m))),  m = max(a)

and the scalar twins for jitted code, :data:`sigmoid_jit` and :data:`softplus_jit`
(the same formulas with :mod:`math`).  Those are compiled on first access (PEP 562
``__getattr__``), so importing this module -- as the NumPy-only grading code does --
loads no Numba; a kernel module imports them by name, which builds them then.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["sigmoid", "softplus", "logsumexp", "sigmoid_scalar", "softplus_scalar", "lazy_njit"]  # and the lazy
# sigmoid_jit, softplus_jit


def sigmoid(x):
    """``1 / (1 + exp(-x))`` as float64, without overflow for large ``|x|``."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))  # <= 1: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x):
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))``: float64, stable for any real ``x``."""
    x = np.asarray(x, dtype=np.float64)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def logsumexp(a, axis=None):
    """``log(sum(exp(a)))`` over ``axis`` (all elements by default), shifted by the maximum.

    Slices that are entirely ``-inf`` give ``-inf`` (the log of an empty sum), with no
    warning; a float for ``axis=None``, else an array without that axis.
    """
    a = np.asarray(a, dtype=np.float64)
    m = np.max(a, axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf (or +inf) slices: no inf - inf
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return float(out.reshape(())) if axis is None else np.squeeze(out, axis=axis)


# --------------------------------------------------------------------------- the scalar twins


def sigmoid_scalar(x):
    """``sigmoid`` of one float, with :mod:`math` (the body of :data:`sigmoid_jit`)."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def softplus_scalar(x):
    """``softplus`` of one float, with :mod:`math` (the body of :data:`softplus_jit`)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def lazy_njit(namespace, table):
    """A module ``__getattr__`` that compiles ``table[name]`` with Numba on first access.

    ``table`` maps public names to plain Python functions; each becomes
    ``njit(cache=True, inline="always")`` of it, stored in ``namespace`` (the module's
    ``globals()``) so it is built once.
    """

    def __getattr__(name):
        if name not in table:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        from numba import njit

        from ebm import _numba_cache

        _numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules
        namespace[name] = njit(cache=True, inline="always")(table[name])
        return namespace[name]

    return __getattr__


__getattr__ = lazy_njit(globals(), {"sigmoid_jit": sigmoid_scalar, "softplus_jit": softplus_scalar})
