r"""A vectorisable ``exp(x)`` for ``x <= 0``, the only exponent a stable softmax needs.

Why: pip's llvmlite has no SVML, so ``np.exp`` inside a Numba loop is a scalar
libm call and the loop is never vectorised.  After the max subtraction every
exponent of a softmax is ``<= 0``, so a short, branch-free ``exp`` suffices:

1. Range reduction (Cody & Waite): ``x = n ln2 + r`` with ``n = round(x / ln2)`` and
   ``|r| <= ln2 / 2``; ``ln2`` is split into a high part (exact in a few bits) and
   a low part, so ``r`` is computed without cancellation.
2. ``exp(r)`` by a polynomial in Horner form: for float64 a degree-11 polynomial
   ``1 + r q(r)`` fitted by Remez's exchange (6.7e-17 from ``exp(r)``, 0.3 ulp, where
   Taylor's degree 12 is 1.7e-16 off and costs one multiply-add more; measured in
   float64 arithmetic within 1.0 ulp of ``np.exp``); for float32 a degree-5 polynomial
   ``1 + r q(r)`` fitted to the smallest maximum relative error on
   ``|r| <= ln2 / 2`` (9.2e-8; Taylor's degree 7 gets 5.5e-9 but costs two more
   multiply-adds per element, and float32 rounding dominates either way).  On the
   sample of ``tests/test_fastexp.py`` the result is within 1.36 ulp of the true
   ``exp`` in float32 arithmetic and 1.41 ulp in float64 (the test's bounds: 1.5
   and 2), and ``exp(0)`` is exactly 1.  Each Horner step and the range reduction is one
   ``llvm.fmuladd`` (:func:`fused_multiply_add`): a single fused multiply-add on
   CPUs that have one (one instruction and one rounding instead of two).
3. ``2**n`` built directly from its bits, ``(n + bias) << mantissa_bits``, by an
   LLVM bitcast; the product is ``exp(x)``.

The algorithm is written once, as the LLVM IR it becomes
(:func:`emit_exp_nonpositive`): for one element in a jitted loop
(:func:`exp_nonpositive`, which LLVM then vectorises), and for a whole vector of
them in :mod:`ebm._rowvec`.

At or below ``-708`` (float64) or ``-87`` (float32) the result is near or under the
subnormal range; it is returned as 0.0, an absolute error under 3.4e-308
(1.7e-38), far below anything a probability that sums to 1 can show.  NaN is returned as NaN, so a poisoned column
stays poisoned.  ``tests/test_fastexp.py`` measures the error against ``np.exp``.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ebm import _numba_cache

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules

__all__ = ["exp_nonpositive", "log_ge1", "add_reassoc", "max_num", "emit_exp_nonpositive", "emit_log_ge1"]


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
_LN2_HI = 6.93147180369123816490e-01  # ln 2, top bits: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_SHIFT64 = 6755399441055744.0  # 1.5 * 2**52: t + _SHIFT64 rounds t to an integer
_SHIFT64_BITS = 0x4338000000000000  # ... held in the low mantissa bits
_SQRT2 = 1.4142135623730951


class _ExpConstants:
    """The constants of ``exp_nonpositive`` for one float width (64 or 32 bits)."""

    def __init__(self, bits, low, log2e, ln2_hi, ln2_lo, shift, shift_bits, mantissa_bits, exponent_bias, coefficients):
        self.bits, self.low, self.log2e, self.ln2_hi, self.ln2_lo = bits, low, log2e, ln2_hi, ln2_lo
        self.shift, self.mantissa_bits = shift, mantissa_bits
        self.bias_bits = shift_bits - exponent_bias  # bits(kd) - bias_bits = n + bias: 2**n's exponent
        self.coefficients = list(coefficients)  # of exp(r), highest degree first (Horner)


_EXP = {
    # 1 + r q(r), q of degree 10 fitted by Remez's exchange to the smallest maximum of
    # |1 + r q(r) - exp(r)| / exp(r) on |r| <= ln2 / 2: 1.8e-17, 6.7e-17 with the coefficients
    # rounded to float64 (Taylor's degree 12, one multiply-add more: 1.7e-16)
    64: _ExpConstants(
        64,
        -708.0,
        _LOG2E,
        _LN2_HI,
        _LN2_LO,
        _SHIFT64,
        _SHIFT64_BITS,
        52,
        1023,
        coefficients=[
            2.2981311538834364e-08,
            2.762629655421717e-07,
            2.7564254929439036e-06,
            2.480150451103708e-05,
            0.000198412614913928,
            0.0013888888932340796,
            0.00833333333771546,
            0.041666666666573635,
            0.166666666666573,
            0.5000000000000006,
            1.0000000000000007,
            1.0,
        ],
    ),
    # ln 2 split for float32: _LN2_HI_32 has 16 significant bits, so n * it is exact for |n| < 2**8
    32: _ExpConstants(
        32,
        -87.0,
        _LOG2E,
        0.693145751953125,
        1.428606765330187e-06,
        12582912.0,
        0x4B400000,
        # 1 + r q(r), q of degree 4 fitted by Lawson's iteratively reweighted least squares to
        # the smallest maximum of |1 + r q(r) - exp(r)| / exp(r) on |r| <= ln2 / 2: 9.2e-8
        23,
        127,
        coefficients=[
            0.008290288426485597,
            0.0418979587904223,
            0.16667636680885314,
            0.4999914931787514,
            0.9999997070329418,
            1.0,
        ],
    ),
}


def _llvm_type_name(ty):
    """The type suffix of an overloaded LLVM intrinsic: f32, f64, v16f32, ..."""
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{_llvm_type_name(ty.element)}"
    return {"float": "f32", "double": "f64"}[str(ty)]


def fused_multiply_add(builder, a, b, c):
    """``a * b + c`` as ``llvm.fmuladd``: one rounding where the CPU has a fast FMA
    instruction (every AVX2 and AVX-512 CPU does), a multiply and an add where it has not.
    This is contraction, not fast-math: NaN and inf propagate as usual."""
    ty = a.type
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ty, [ty, ty, ty]), f"llvm.fmuladd.{_llvm_type_name(ty)}"
    )
    return builder.call(fn, [a, b, c])


def _constants_for(ty, table):
    """For a float or double type ``ty`` (or a vector of them): ``table``'s constants of
    that width, the integer type of the same shape, and ``const(value, integer=False)``,
    which makes a constant of ``ty`` (or of that integer type), splat over a vector."""
    elem = ty.element if isinstance(ty, ir.VectorType) else ty
    k = table[64 if str(elem) == "double" else 32]
    int_elem = ir.IntType(k.bits)
    int_ty = ir.VectorType(int_elem, ty.count) if isinstance(ty, ir.VectorType) else int_elem

    def const(value, integer=False):
        scalar, of = (int_elem, int_ty) if integer else (elem, ty)
        c = ir.Constant(scalar, value)
        return ir.Constant(of, [c] * of.count) if isinstance(of, ir.VectorType) else c

    return k, int_ty, const


def emit_exp_nonpositive(builder, x):
    """Emit the LLVM IR of ``exp(x)`` for ``x <= 0``; ``x`` is a float or a double,
    or a vector of them (every lane is computed alike: see the module docstring).

    This is the only implementation: :func:`exp_nonpositive` inside a jitted loop
    emits it for one element (and LLVM vectorises the loop), :mod:`ebm._rowvec`
    for a whole row at once.  Both therefore give the same bits.

    The rounding ``n = round(t / ln2)`` is done by adding and subtracting
    ``1.5 * 2**m`` (``m`` the mantissa width): the sum's low mantissa bits then hold
    ``n``, and ``2**n`` is built from them by integer adds and shifts only.  No
    float-to-integer conversion: AVX2 has none for packed float64 (it would
    scalarise the loop), and the loops stay SIMD on AVX2 and AVX-512.
    """
    ty = x.type
    k, int_ty, const = _constants_for(ty, _EXP)
    low = const(k.low)
    keep = builder.fcmp_unordered(">", x, low)  # x > low, or NaN (which stays NaN)
    t = builder.select(keep, x, low)  # one max instruction
    kd = fused_multiply_add(builder, t, const(k.log2e), const(k.shift))  # low bits of kd: n = round(t / ln 2)
    n = builder.fsub(kd, const(k.shift))
    r = fused_multiply_add(builder, n, const(-k.ln2_hi), t)  # r = t - n ln 2, |r| <= ln 2 / 2
    r = fused_multiply_add(builder, n, const(-k.ln2_lo), r)
    p = const(k.coefficients[0])
    for coefficient in k.coefficients[1:]:  # Horner: exp(r)
        p = fused_multiply_add(builder, p, r, const(coefficient))
    exponent = builder.sub(builder.bitcast(kd, int_ty), const(k.bias_bits, integer=True))
    two_n = builder.bitcast(builder.shl(exponent, const(k.mantissa_bits, integer=True)), ty)
    return builder.select(keep, builder.fmul(p, two_n), const(0.0))  # one and with the mask


class _LogConstants:
    """The constants of ``log_ge1`` for one float width (64 or 32 bits)."""

    def __init__(self, bits, mantissa_bits, exponent_bias, ln2_hi, ln2_lo, last_odd):
        self.bits, self.mantissa_bits, self.bias = bits, mantissa_bits, exponent_bias
        self.ln2_hi, self.ln2_lo = ln2_hi, ln2_lo
        self.two_m = float(2**mantissa_bits)  # 2**m and its bits: (b >> m) | these
        self.two_m_bits = (exponent_bias + mantissa_bits) << mantissa_bits  # bits hold the exponent
        self.one_bits = exponent_bias << mantissa_bits
        self.mantissa = (1 << mantissa_bits) - 1
        # the atanh series' 1/3, 1/5, ..., 1/last_odd, highest first (Horner)
        self.coefficients = [1.0 / k for k in range(last_odd, 1, -2)]


_LOG = {
    # f**23: truncation < 1e-18 (|f| <= 0.172)
    64: _LogConstants(64, 52, 1023, _LN2_HI, _LN2_LO, last_odd=23),
    # f**11: truncation < 3e-10 relative, far below float32's 6e-8; e * _LN2_HI_32 exact for |e| < 2**8
    32: _LogConstants(32, 23, 127, 0.693145751953125, 1.428606765330187e-06, last_odd=11),
}


def emit_log_ge1(builder, s):
    """Emit the LLVM IR of ``log(s)`` for ``s >= 1``: a float or a double, or a vector of them.

    ``s = 2**e * m`` with ``m`` in ``[sqrt(1/2), sqrt(2))``; ``log m = 2 atanh(f)``,
    ``f = (m - 1) / (m + 1)``, ``|f| <= 0.172``, by its odd series (to ``f**23`` for
    double, ``f**11`` for float); ``e ln 2`` with ``ln 2`` split as in the exp.  Only
    the exponent and mantissa bits are used, so NaN, inf and ``s < 1`` give finite
    garbage: callers check ``s >= 1`` themselves.  Branch-free, and without a
    float-to-integer conversion (``e`` is read from the bits as the exp builds
    ``2**n``), so loops over it vectorise on AVX2 and AVX-512.  The only
    implementation: :func:`log_ge1` emits it for one element.
    """
    ty = s.type
    k, int_ty, const = _constants_for(ty, _LOG)

    def iconst(value):
        return const(value, integer=True)

    b = builder.bitcast(s, int_ty)
    exponent_bits = builder.or_(builder.lshr(b, iconst(k.mantissa_bits)), iconst(k.two_m_bits))
    e = builder.fsub(builder.bitcast(exponent_bits, ty), const(k.two_m + k.bias))  # exponent, exactly
    m = builder.bitcast(builder.or_(builder.and_(b, iconst(k.mantissa)), iconst(k.one_bits)), ty)  # in [1, 2)
    big = builder.fcmp_ordered(">", m, const(_SQRT2))
    m = builder.select(big, builder.fmul(m, const(0.5)), m)
    e = builder.select(big, builder.fadd(e, const(1.0)), e)
    f = builder.fdiv(builder.fsub(m, const(1.0)), builder.fadd(m, const(1.0)))
    f2 = builder.fmul(f, f)
    q = const(k.coefficients[0])
    for coefficient in k.coefficients[1:]:  # Horner
        q = fused_multiply_add(builder, q, f2, const(coefficient))
    two_f = builder.fmul(f, const(2.0))
    tail = builder.fadd(builder.fmul(builder.fmul(two_f, f2), q), builder.fmul(e, const(k.ln2_lo)))
    return builder.fadd(builder.fmul(e, const(k.ln2_hi)), builder.fadd(two_f, tail))


def log_ge1(s):
    """``log(s)`` for ``s >= 1`` (float32 or float64), branch-free so that loops over it
    vectorise; see :func:`emit_log_ge1`.  A NumPy fallback when called from Python."""
    return np.log(s)


def exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` (a NumPy fallback when called from Python)."""
    return np.exp(np.minimum(x, 0))


def _one_element(function, emit):
    """Make ``function`` (a NumPy fallback) emit ``emit``'s IR for one float32 or float64
    element when called in jitted code."""

    @intrinsic
    def scalar(typingctx, x):
        if not isinstance(x, types.Float):
            return None

        def codegen(context, builder, sig, args):
            return emit(builder, args[0])

        return x(x), codegen

    @overload(function, inline="always")
    def _overload(x):
        if x in (types.float32, types.float64):
            return lambda x: scalar(x)
        return None


_one_element(exp_nonpositive, emit_exp_nonpositive)
_one_element(log_ge1, emit_log_ge1)
