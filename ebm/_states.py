"""Every state of ``n`` binary units: the one enumeration (and its limit) of all of ebm.

State ``k`` has unit ``i`` at bit ``i`` of ``k`` (unit 0 the least significant bit), so
row 6 of three units is ``(0, 1, 1)``.  Exact sums over all ``2^n`` states go through
:func:`state_blocks` (``2^15`` states at a time, so the largest enumeration,
:data:`MAX_ENUMERATED_UNITS` = 25 units, never holds every state at once), and the
kernels that walk the states one flip at a time take the flipped unit from
:data:`gray_flip_jit` (Gray-code order: step ``t`` flips the lowest set bit of ``t``,
and after it the state is ``t ^ (t >> 1)``).  :data:`gray_flip_jit` is compiled on first
access, so importing this module loads no Numba.
"""

from __future__ import annotations

import numpy as np

from ebm._checks import check_int
from ebm._math import lazy_njit

__all__ = [
    "MAX_ENUMERATED_UNITS",
    "BLOCK_BITS",
    "all_states",
    "state_blocks",
    "block_states",
    "check_enumerable",
    "gray_code",
    "gray_flip",
]  # and the lazy gray_flip_jit

#: The most units any exact enumeration of ebm walks (2^25 states).
MAX_ENUMERATED_UNITS = 25

#: States per block of :func:`state_blocks`: 2^15.
BLOCK_BITS = 15


def check_enumerable(n_units, name="n_units", what="exact enumeration", instead=""):
    """``n_units`` as an int in ``0..MAX_ENUMERATED_UNITS``; ValueError beyond, naming ``name``.

    ``instead`` ends the message with what to use for larger sizes.
    """
    n = check_int(n_units, name, low=0)
    if n > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"{name} = {n}: {what} would walk 2^{n} states; the limit is "
            f"MAX_ENUMERATED_UNITS = {MAX_ENUMERATED_UNITS} units{instead}"
        )
    return n


def block_states(start, stop, n_units, dtype=np.int8):
    """States ``start .. stop - 1`` of ``n_units`` units as rows, unit ``i`` = bit ``i`` of the index."""
    idx = np.arange(start, stop, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n_units)) & 1).astype(dtype)


def all_states(n_units, dtype=np.int8):
    """Every state of ``n_units`` binary units, shape ``(2^n, n)``, row ``k`` the bits of ``k``.

    Parameters
    ----------
    n_units : int, 0 to :data:`MAX_ENUMERATED_UNITS`
    dtype : numpy dtype, default int8
        E.g. ``np.float64`` for arithmetic with weights.

    Raises
    ------
    TypeError
        If ``n_units`` is not an integer.
    ValueError
        If it is negative or above :data:`MAX_ENUMERATED_UNITS`.
    """
    n = check_enumerable(n_units)
    return block_states(0, 1 << n, n, dtype)


def state_blocks(n_units, dtype=np.float64, block_bits=BLOCK_BITS):
    """Yield ``(start, states)`` over every state in blocks of ``2^block_bits`` rows, in index order."""
    n = check_enumerable(n_units)
    total, step = 1 << n, 1 << block_bits
    for start in range(0, total, step):
        yield start, block_states(start, min(start + step, total), n, dtype)


def gray_code(t):
    """The state after step ``t`` of the Gray-code walk: ``t ^ (t >> 1)`` (integer or int array)."""
    return t ^ (t >> 1)


def gray_flip(t):
    """The unit that step ``t >= 1`` of the Gray-code walk flips: the lowest set bit of ``t``."""
    j = 0
    while not (t >> j) & 1:
        j += 1
    return j


__getattr__ = lazy_njit(globals(), {"gray_flip_jit": gray_flip})
