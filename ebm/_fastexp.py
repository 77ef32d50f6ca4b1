r"""A vectorisable ``exp(x)`` for ``x <= 0``, the only exponent a stable softmax needs.

Why: pip's llvmlite has no SVML, so ``np.exp`` inside a Numba loop is a scalar
libm call and the loop is never vectorised.  After the max subtraction every
exponent of a softmax is ``<= 0``, so a short, branch-free ``exp`` suffices:

1. Range reduction (Cody & Waite): ``x = n ln2 + r`` with ``n = round(x / ln2)`` and
   ``|r| <= ln2 / 2``; ``ln2`` is split into a high part (exact in a few bits) and
   a low part, so ``r`` is computed without cancellation.
2. ``exp(r)`` by its Taylor polynomial in Horner form: degree 12 for float64
   (truncation < 1e-17), degree 7 for float32 (< 6e-9).
3. ``2**n`` built directly from its bits, ``(n + bias) << mantissa_bits``, by an
   LLVM bitcast; the product is ``exp(x)``.

At or below ``-708`` (float64) or ``-87`` (float32) the result is near or under the
subnormal range; it is returned as 0.0, an absolute error under 3.4e-308
(1.7e-38), far below anything a probability that sums to 1 can show.  NaN is returned as NaN, so a poisoned column
stays poisoned.  ``tests/test_fastexp.py`` measures the error against ``np.exp``.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

__all__ = ["exp_nonpositive"]


@intrinsic
def _float64_from_bits(typingctx, bits):
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        value = context.cast(builder, args[0], sig.args[0], types.int64)
        return builder.bitcast(value, ir.DoubleType())

    return types.float64(bits), codegen


@intrinsic
def _float32_from_bits(typingctx, bits):
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        value = context.cast(builder, args[0], sig.args[0], types.int32)
        return builder.bitcast(value, ir.FloatType())

    return types.float32(bits), codegen


# float64 constants (Python floats are float64 in Numba)
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01     # ln 2, top bits: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10     # ln 2 - _LN2_HI
_LOW64 = -708.0

# float32 constants: NumPy float32 globals stay float32 inside a jitted function
_F = np.float32
_LOG2E_32, _LN2_HI_32, _LN2_LO_32 = _F(1.4426950408889634), _F(0.693145751953125), _F(1.428606765330187e-06)
_LOW32, _HALF_32, _ONE_32, _ZERO_32 = _F(-87.0), _F(0.5), _F(1.0), _F(0.0)
_C2_32, _C3_32, _C4_32, _C5_32, _C6_32, _C7_32 = (_F(1 / 2), _F(1 / 6), _F(1 / 24), _F(1 / 120),
                                                  _F(1 / 720), _F(1 / 5040))


@njit(cache=True, inline="always")
def _exp_nonpositive_64(x):
    t = max(x, _LOW64)
    n = np.floor(t * _LOG2E + 0.5)
    r = t - n * _LN2_HI - n * _LN2_LO
    p = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (
        1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (
            1 / 3628800 + r * (1 / 39916800 + r * (1 / 479001600))))))))))))
    two_n = _float64_from_bits((np.int64(n) + 1023) << 52)
    return p * two_n if x > _LOW64 else (0.0 if x <= _LOW64 else x)   # else: NaN stays NaN


@njit(cache=True, inline="always")
def _exp_nonpositive_32(x):
    t = max(x, _LOW32)
    n = np.floor(t * _LOG2E_32 + _HALF_32)
    r = t - n * _LN2_HI_32 - n * _LN2_LO_32
    p = _ONE_32 + r * (_ONE_32 + r * (_C2_32 + r * (_C3_32 + r * (_C4_32 + r * (
        _C5_32 + r * (_C6_32 + r * _C7_32))))))
    two_n = _float32_from_bits((np.int32(n) + np.int32(127)) << np.int32(23))
    return p * two_n if x > _LOW32 else (_ZERO_32 if x <= _LOW32 else x)


def exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` (a NumPy fallback when called from Python)."""
    return np.exp(np.minimum(x, 0))


@overload(exp_nonpositive, inline="always")
def _exp_nonpositive_overload(x):
    if x == types.float32:
        return lambda x: _exp_nonpositive_32(x)
    if x == types.float64:
        return lambda x: _exp_nonpositive_64(x)
    return None


@njit(cache=True)
def exp_nonpositive_array(x):
    """The jitted ``exp_nonpositive`` applied to every element of ``x`` (for tests)."""
    out = np.empty_like(x)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for k in range(flat_x.size):
        flat_out[k] = exp_nonpositive(flat_x[k])
    return out
