r"""Bipolar states: the ``{-1, +1}`` units of a Hopfield network, and how close two are.

A state of ``N`` units is a vector ``s in {-1, +1}^N``; a batch of ``M`` states is an
(M, N) array, one state per row.  Data in ``{0, 1}`` (pixels, Boltzmann states) or
real values become states with :func:`to_bipolar`.  The overlap of a state with a
pattern ``xi`` is::

    m = (1/N) s . xi  in [-1, 1]          (1: identical, -1: reversed, ~0: unrelated)

Every function of :mod:`ebm.hopfield` that takes states checks them here, and names
the first entry that is not -1 or +1.
"""

from __future__ import annotations

import numpy as np

__all__ = ["to_bipolar", "overlap"]


def to_bipolar(x, threshold=0.5):
    """Map binary or real data to ``{-1, +1}``: ``+1`` where ``x > threshold``.

    ``{0, 1}`` data (pixels, Boltzmann states) becomes ``{-1, +1}``; data that is
    already bipolar is returned unchanged for ``threshold`` in ``(-1, 1)``.

    Parameters
    ----------
    x : array_like of numbers, any shape
    threshold : float, default 0.5

    Returns
    -------
    ndarray of int8, the shape of ``x``
        ``+1`` where ``x > threshold``, ``-1`` elsewhere.

    Raises
    ------
    TypeError
        If ``x`` is not numeric.
    ValueError
        If ``x`` contains NaN.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError("x contains NaN: cannot map it to {-1, +1}")
    return np.where(arr > threshold, 1, -1).astype(np.int8)


def _as_states(states, n_units, name="states"):
    """Validate bipolar states of length ``n_units``; return an int8 array (a copy)."""
    arr = np.asarray(states)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] != n_units:
        raise ValueError(f"{name} must have shape ({n_units},) or (M, {n_units}), got {arr.shape}")
    bad = (arr != 1) & (arr != -1)
    if bad.any():
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), arr.shape))
        raise ValueError(
            f"{name}{list(pos)} is {arr[pos]}: states must be -1 or +1 "
            "(use ebm.hopfield.to_bipolar for {0, 1} or real data)"
        )
    return arr.astype(np.int8)


def _as_patterns(patterns):
    """Validate ``p`` bipolar patterns, (p, N) or one (N,); return them as float64, shape (p, N)."""
    arr = np.asarray(patterns)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"patterns must have shape (p, N) with N >= 1, got {np.shape(patterns)}")
    return _as_states(arr, arr.shape[1], "patterns").astype(np.float64)


def overlap(states, pattern):
    """The overlap ``m = (1/N) s . xi`` in ``[-1, 1]`` (1: identical, -1: reversed).

    Both arguments must hold only -1 and +1: for real vectors, such as modern
    Hopfield outputs, ``(1/N) x . xi`` is not bounded by 1 and is not an overlap.

    Parameters
    ----------
    states : array_like of ±1, shape (N,) or (M, N)
        One state or a batch.
    pattern : array_like of ±1, shape (N,) or (M, N)
        One pattern (compared with every state) or one per state.

    Returns
    -------
    float or ndarray, shape (M,)
        One overlap per state; a float for one state and one pattern.

    Raises
    ------
    TypeError
        If either argument is not numeric.
    ValueError
        If either is a scalar, their lengths ``N`` differ, or an entry is not -1 or
        +1 (the message names the first one).
    """
    s_arr, xi_arr = np.asarray(states), np.asarray(pattern)
    if s_arr.ndim == 0 or xi_arr.ndim == 0:
        raise ValueError("states and pattern must be arrays of shape (N,) or (M, N), got scalars")
    if s_arr.shape[-1] != xi_arr.shape[-1]:
        raise ValueError(f"states have {s_arr.shape[-1]} units but pattern has {xi_arr.shape[-1]}")
    n = s_arr.shape[-1]
    s = _as_states(s_arr, n, "states").astype(np.float64)
    xi = _as_states(xi_arr, n, "pattern").astype(np.float64)
    return (s * xi).sum(axis=-1) / n
