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

__all__ = ["exp_nonpositive", "log_ge1", "add_reassoc", "max_num"]


def _bitcast(value_type, result_type):
    """An intrinsic reinterpreting the bits of a ``value_type`` as a ``result_type``.

    Any integer is accepted where an integer is expected (Numba widens int32
    arithmetic to int64); it is first wrapped to ``value_type``'s width.
    """

    @intrinsic
    def cast(typingctx, x):
        if x != value_type and not (isinstance(value_type, types.Integer) and isinstance(x, types.Integer)):
            return None

        def codegen(context, builder, sig, args):
            value = context.cast(builder, args[0], sig.args[0], value_type)   # integers: wrap to width
            return builder.bitcast(value, context.get_value_type(result_type))

        return result_type(x), codegen

    return cast


_float64_from_bits = _bitcast(types.int64, types.float64)
_float32_from_bits = _bitcast(types.int32, types.float32)
_bits_of_float64 = _bitcast(types.float64, types.int64)
_bits_of_float32 = _bitcast(types.float32, types.int32)


@intrinsic
def add_reassoc(typingctx, a, b):
    """``a + b`` as an LLVM ``fadd reassoc``: a loop summing with it may be split
    into SIMD lanes (the order of the additions changes, nothing else: NaN and
    inf propagate as usual).  Only for reductions whose rounding order is free."""
    if not (isinstance(a, types.Float) and a == b):
        return None

    def codegen(context, builder, sig, args):
        return builder.fadd(args[0], args[1], flags=("reassoc",))

    return a(a, b), codegen


@intrinsic
def max_num(typingctx, a, b):
    """``llvm.maxnum(a, b)``: the larger of the two, ignoring one NaN.

    A loop taking a maximum with it vectorises (LLVM >= 21) without fast-math
    flags.  A NaN is skipped, not propagated, so callers must detect NaN another
    way (the softmax does: ``exp(NaN - m)`` poisons the column's sum).
    """
    if not (isinstance(a, types.Float) and a == b):
        return None

    def codegen(context, builder, sig, args):
        ty = context.get_value_type(sig.return_type)
        fn = builder.module.declare_intrinsic("llvm.maxnum", [ty], ir.FunctionType(ty, [ty, ty]))
        return builder.call(fn, args)

    return a(a, b), codegen


# float64 constants (Python floats are float64 in Numba)
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01     # ln 2, top bits: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10     # ln 2 - _LN2_HI
_LOW64 = -708.0
_SHIFT64 = 6755399441055744.0            # 1.5 * 2**52: t + _SHIFT64 rounds t to an integer
_SHIFT64_BITS = 0x4338000000000000       # ... held in the low mantissa bits
_TWO52 = 4503599627370496.0              # 2**52
_TWO52_BITS = 0x4330000000000000
_ONE_BITS = 0x3FF0000000000000
_MANTISSA = 0x000FFFFFFFFFFFFF
_SQRT2 = 1.4142135623730951

# float32 constants: NumPy float32 globals stay float32 inside a jitted function
_F = np.float32
_LOG2E_32, _LN2_HI_32, _LN2_LO_32 = _F(1.4426950408889634), _F(0.693145751953125), _F(1.428606765330187e-06)
_LOW32, _ONE_32, _ZERO_32 = _F(-87.0), _F(1.0), _F(0.0)
_SHIFT32 = _F(12582912.0)                # 1.5 * 2**23
_SHIFT32_BITS = np.int32(0x4B400000)
_C2_32, _C3_32, _C4_32, _C5_32, _C6_32, _C7_32 = (_F(1 / 2), _F(1 / 6), _F(1 / 24), _F(1 / 120),
                                                  _F(1 / 720), _F(1 / 5040))


# The rounding n = round(t / ln2) is done by adding and subtracting 1.5 * 2**m (m the
# mantissa width): the sum's low mantissa bits then hold n, and 2**n is built from them
# by integer adds and shifts only.  No float-to-integer conversion: AVX2 has none for
# packed float64 (it would scalarise the loop), and the loops stay SIMD on AVX2 and AVX-512.

@njit(cache=True, inline="always", error_model="numpy")
def _exp_nonpositive_64(x):
    t = max(x, _LOW64)
    kd = t * _LOG2E + _SHIFT64
    n = kd - _SHIFT64
    r = t - n * _LN2_HI - n * _LN2_LO
    p = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (
        1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (
            1 / 3628800 + r * (1 / 39916800 + r * (1 / 479001600))))))))))))
    two_n = _float64_from_bits((_bits_of_float64(kd) - (_SHIFT64_BITS - 1023)) << 52)
    return p * two_n if x > _LOW64 else (0.0 if x <= _LOW64 else x)   # else: NaN stays NaN


@njit(cache=True, inline="always", error_model="numpy")
def _exp_nonpositive_32(x):
    t = max(x, _LOW32)
    kd = t * _LOG2E_32 + _SHIFT32
    n = kd - _SHIFT32
    r = t - n * _LN2_HI_32 - n * _LN2_LO_32
    p = _ONE_32 + r * (_ONE_32 + r * (_C2_32 + r * (_C3_32 + r * (_C4_32 + r * (
        _C5_32 + r * (_C6_32 + r * _C7_32))))))
    two_n = _float32_from_bits((_bits_of_float32(kd) - (_SHIFT32_BITS - np.int32(127))) << np.int32(23))
    return p * two_n if x > _LOW32 else (_ZERO_32 if x <= _LOW32 else x)


@njit(cache=True, inline="always", error_model="numpy")
def log_ge1(s):
    """``log(s)`` for float64 ``s >= 1``, branch-free so that loops over it vectorise.

    ``s = 2**e * m`` with ``m`` in ``[sqrt(1/2), sqrt(2))``; ``log m = 2 atanh(f)``,
    ``f = (m - 1) / (m + 1)``, ``|f| <= 0.172``, by its series to ``f**23``
    (truncation < 1e-18).  Only the exponent and mantissa bits are used, so NaN,
    inf and ``s < 1`` give finite garbage: callers check ``s >= 1`` themselves.
    """
    b = _bits_of_float64(s)
    e = _float64_from_bits((b >> 52) | _TWO52_BITS) - (_TWO52 + 1023.0)   # exponent, exactly
    m = _float64_from_bits((b & _MANTISSA) | _ONE_BITS)                    # in [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    f = (m - 1.0) / (m + 1.0)
    f2 = f * f
    q = 1 / 3 + f2 * (1 / 5 + f2 * (1 / 7 + f2 * (1 / 9 + f2 * (1 / 11 + f2 * (1 / 13 + f2 * (
        1 / 15 + f2 * (1 / 17 + f2 * (1 / 19 + f2 * (1 / 21 + f2 * (1 / 23))))))))))
    return e * _LN2_HI + (2.0 * f + (2.0 * f * f2 * q + e * _LN2_LO))


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
def log_ge1_array(s):
    """The jitted ``log_ge1`` applied to every element of float64 ``s`` (for tests)."""
    out = np.empty_like(s)
    flat_s, flat_out = s.reshape(-1), out.reshape(-1)
    for k in range(flat_s.size):
        flat_out[k] = log_ge1(flat_s[k])
    return out


@njit(cache=True)
def exp_nonpositive_array(x):
    """The jitted ``exp_nonpositive`` applied to every element of ``x`` (for tests)."""
    out = np.empty_like(x)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for k in range(flat_x.size):
        flat_out[k] = exp_nonpositive(flat_x[k])
    return out
