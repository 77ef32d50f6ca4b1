r"""One short row of a softmax in one SIMD vector (explicit LLVM vectors).

Why: an (N, C) batch with few classes (C = 10 for MNIST) has rows too short for
LLVM's loop vectoriser.  A loop over one row's 10 classes compiles to scalar code
(or to 8 lanes and a scalar tail, with a runtime alias check per row), and a
loop over rows cannot be vectorised either, because the 10 classes of one row
are not a stride LLVM can turn into SIMD lanes.  The cost is then per element
and per row, about 3x what the exponentials alone cost.

Here the whole row is one vector of ``W`` lanes (``W = 8`` for ``C <= 8``,
``W = 16`` for ``C <= 16``), written directly as LLVM IR (Numba has no vector
types of its own)::

    v = x[b : b + W]                    one (unaligned) vector load
    v = lane < C ? v : -inf             the lanes past the row do not count
    m = max(v)                          a log2(W)-step tree of shuffles and maxima
    e = exp(v - m)                      ebm._fastexp's exp, on all lanes at once (-inf -> 0)
    s = sum(e)                          a tree of adds (the additions' order is free)
    top[b : b + W] = e * (1 / s)        one vector store

and :func:`row_softmax` returns ``(m, s)``.  The store writes all ``W`` lanes:
lanes ``>= C`` hold 0 and land on the first classes of the following rows, which
are written again when those rows are done.  So the rows must be done in order,
and a row whose window ``[b, b + W)`` would leave the rows one task owns must
go through scalar code instead (``ebm.softmax_loss._narrow_forward_task``).  The
load reads past the row as well, never past the task's rows.

NaN and infinities need no test of their own: a NaN lane gives ``exp(NaN) = NaN``;
``m = +inf`` gives ``inf - inf = NaN``; a row of only ``-inf`` gives
``-inf - (-inf) = NaN``.  In each case ``s`` is NaN and the caller's ``s >= 1``
check (the largest lane contributes ``exp(0) = 1``) reports the row.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from ebm._fastexp import emit_exp_nonpositive

__all__ = ["row_softmax", "row_window", "vector_rows"]


@njit(inline="always")
def row_window(C):
    """The vector width ``W`` (8 or 16 lanes) that holds a row of ``C <= 16`` classes."""
    return 8 if C <= 8 else 16


@njit(inline="always")
def vector_rows(n, C):
    """How many of ``n`` rows of ``C`` classes, from the first, have their whole vector
    ``[r * C, r * C + W)`` inside the ``n * C`` elements: ``r * C + W <= n * C``."""
    W = row_window(C)
    return (n * C - W) // C + 1 if n * C >= W else 0


def _splat(builder, value, vector_type):
    """``value`` (a scalar) in every lane of a vector of ``vector_type``."""
    i32 = ir.IntType(32)
    one = builder.insert_element(ir.Constant(vector_type, ir.Undefined), value, ir.Constant(i32, 0))
    return builder.shuffle_vector(one, one, ir.Constant(ir.VectorType(i32, vector_type.count), [0] * vector_type.count))


def _tree(builder, v, combine):
    """Reduce the lanes of ``v`` by halving: ``combine(low half, high half)`` until one lane is left."""
    i32 = ir.IntType(32)
    width = v.type.count
    while width > 1:
        width //= 2
        low = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, width), list(range(width))))
        high = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, width), list(range(width, 2 * width))))
        v = combine(low, high)
    return builder.extract_element(v, ir.Constant(i32, 0))


def _emit_row_softmax(context, builder, sig, args, W):
    x_type, top_type = sig.args[0], sig.args[1]
    x = context.make_array(x_type)(context, builder, args[0])
    top = context.make_array(top_type)(context, builder, args[1])
    b = context.cast(builder, args[2], sig.args[2], types.intp)
    C = context.cast(builder, args[3], sig.args[3], types.intp)
    elem = context.get_value_type(x_type.dtype)
    vec = ir.VectorType(elem, W)
    align = x_type.dtype.bitwidth // 8
    lanes = ir.Constant(ir.VectorType(ir.IntType(64), W), list(range(W)))
    in_row = builder.icmp_signed("<", lanes, _splat(builder, C, lanes.type))

    v = builder.load(builder.bitcast(builder.gep(x.data, [b]), vec.as_pointer()), align=align)
    v = builder.select(in_row, v, ir.Constant(vec, [ir.Constant(elem, float("-inf"))] * W))
    # max: a > b ? a : b is one maxps/maxpd (which of two NaNs wins does not matter)
    m = _tree(builder, v, lambda a, c: builder.select(builder.fcmp_unordered(">", a, c), a, c))
    e = emit_exp_nonpositive(builder, builder.fsub(v, _splat(builder, m, vec)))
    s = _tree(builder, e, lambda a, c: builder.fadd(a, c, flags=("reassoc",)))
    inv = builder.fdiv(ir.Constant(elem, 1.0), s)
    p = builder.fmul(e, _splat(builder, inv, vec))
    builder.store(p, builder.bitcast(builder.gep(top.data, [b]), vec.as_pointer()), align=align)
    return context.make_tuple(builder, sig.return_type, [m, s])


def _row_softmax_intrinsic(W):
    @intrinsic
    def row_softmax_w(typingctx, x, top, b, C):
        ok = (isinstance(x, types.Array) and x.ndim == 1 and x.layout == "C" and x.dtype in (types.float32, types.float64)
              and top == x.copy(readonly=False) and isinstance(b, types.Integer) and isinstance(C, types.Integer))
        if not ok:
            return None

        def codegen(context, builder, sig, args):
            return _emit_row_softmax(context, builder, sig, args, W)

        return types.UniTuple(x.dtype, 2)(x, top, b, C), codegen

    row_softmax_w.__name__ = f"row_softmax_{W}"
    return row_softmax_w


_row_softmax_8 = _row_softmax_intrinsic(8)
_row_softmax_16 = _row_softmax_intrinsic(16)


def row_softmax(x, top, b, C):
    """Softmax of the row ``x[b : b + C]`` into ``top[b : b + C]``; returns ``(max, sum of exp)``.

    Jitted code only (``x`` and ``top`` flat C-contiguous float32 or float64
    arrays).  Writes ``top[b : b + row_window(C)]``: see the module docstring for
    what that asks of the caller.
    """
    raise NotImplementedError("row_softmax is for jitted code only")


@overload(row_softmax, inline="always")
def _row_softmax_overload(x, top, b, C):
    def impl(x, top, b, C):
        if C <= 8:
            return _row_softmax_8(x, top, b, C)
        return _row_softmax_16(x, top, b, C)

    return impl
