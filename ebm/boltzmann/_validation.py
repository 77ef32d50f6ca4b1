"""Input validation shared by the Boltzmann modules (bookkeeping, not mathematics)."""

from __future__ import annotations

import numbers

import numpy as np


def _check_T(T, name="T"):
    if isinstance(T, (bool, np.bool_)) or not isinstance(T, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {T!r}")
    T = float(T)
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"{name} must be a positive finite temperature, got {T!r} "
                         "(for the T -> 0 limit use deterministic_unit or BoltzmannMachine.descend)")
    return T


def _check_int(value, name, low):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _real(x, name):
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must hold real numbers, got {x!r}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf" or arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        pos = tuple(int(k) for k in np.argwhere(np.isnan(arr))[0])
        raise ValueError(f"{name}{list(pos)} is NaN")
    return arr


def _binary(states, n_units, name="states"):
    """Validate {0, 1} states of length ``n_units``: an int8 copy, (n,) or (M, n)."""
    arr = np.asarray(states)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric 0/1 values, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] != n_units:
        raise ValueError(f"{name} must have shape ({n_units},) or (M, {n_units}), got {arr.shape}")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), arr.shape))
        raise ValueError(f"{name}{list(pos)} is {arr[pos]}: Boltzmann states must be 0 or 1 "
                         "(for ±1 data use (s + 1) // 2)")
    return arr.astype(np.int8)


def _seed_int(seed):
    """An int seed for Numba's generator from None, an int or a numpy Generator."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**32 - 1))
    if seed is None:
        return int(np.random.default_rng().integers(0, 2**32 - 1))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be None, a numpy Generator or an integer in [0, 2**32), got {seed!r}")
    return int(seed)
