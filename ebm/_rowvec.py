r"""One short row of a softmax in one SIMD vector (explicit LLVM vectors).

Why: an (N, C) batch with few classes (C = 10 for MNIST) has rows too short for
LLVM's loop vectoriser.  A loop over one row's 10 classes compiles to scalar code
(or to 8 lanes and a scalar tail, with a runtime alias check per row), and a
loop over rows cannot be vectorised either, because the 10 classes of one row
are not a stride LLVM can turn into SIMD lanes.  The cost is then paid per
element and per row instead of per vector (CHANGELOG.md has the measurement).

Here the whole row is one vector of ``W`` lanes (``W = 8`` for ``C <= 8``,
``W = 16`` for ``C <= 16``), written directly as LLVM IR (Numba has no vector
types of its own)::

    v = x[b : b + W]                    one (unaligned) vector load
    v = lane < C ? v : -inf             the lanes past the row do not count
    m = max(v)                          a log2(W)-step tree of shuffles and maxima
    e = exp(v - m)                      ebm._fastexp's exp, on all lanes at once (-inf -> 0)
    s = sum(e)                          in class order (the other paths' order: same bits)
    top[b : b + W] = e * (1 / s)        one vector store (1 / s in float64, as elsewhere)

and :func:`row_softmax` returns ``(m, s)``.  :func:`rows_softmax` does eight rows
at once, and does more with the same vectors: it transposes them in registers
(24 shuffles per 8 x 8 block, 12 for the 4 classes of a row of 9 to 12), so that
each vector holds one class of the eight rows; the max, the exp, the sum and the
scale are then lane-by-lane operations, with no idle lane past the row's classes
and no shuffle tree, and the result is transposed back before the stores.
It does sixteen too: with AVX-512 it loads the rows side by side
into 16-lane vectors (rows ``i`` and ``i + 8`` in the two halves of one register)
and transposes within each half, so that the same 24 shuffles give 16-lane class
vectors (twice the lanes per exp instruction); without AVX-512 it does two
groups of eight, one after the other in a loop (one copy of the code).  The
stores write all ``W`` lanes: lanes ``>= C`` hold 0 and land on the first
classes of the following rows, which are written again when those rows are
done.  So the rows must be done in order,
and a row whose window ``[b, b + W)`` would leave the rows one task owns must
go through scalar code instead (``ebm._kernels.narrow._rows_vector``).  The
load reads past the row as well, never past the task's rows.

NaN and infinities need no test of their own: a NaN lane gives ``exp(NaN) = NaN``;
``m = +inf`` gives ``inf - inf = NaN``; a row of only ``-inf`` gives
``-inf - (-inf) = NaN``.  In each case ``s`` is NaN and the caller's ``s >= 1``
check (the largest lane contributes ``exp(0) = 1``) reports the row.
"""

from __future__ import annotations

import functools

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ebm._fastexp import emit_exp_nonpositive, emit_log_ge1

__all__ = [
    "row_softmax",
    "rows_softmax",
    "rows_softmax_loss",
    "rows_loss_diff",
    "rows_softmax_diff",
    "row_window",
    "rows8_window",
    "vector_rows",
]


# --------------------------------------------------------------------------- typing
# Each intrinsic below accepts only the types its IR is written for (C-contiguous
# arrays, integer offsets); any other types leave it untyped, and Numba reports that.

_FLOATS = (types.float32, types.float64)


def _flat(a, dtypes=_FLOATS):
    """``a`` is a C-contiguous array of one of ``dtypes``, 1-d or 2-d: the IR addresses its
    elements flat from the first (a 2-d block of rows needs no reshape, which costs a
    compilation of its own)."""
    return isinstance(a, types.Array) and a.ndim in (1, 2) and a.layout == "C" and a.dtype in dtypes


def _writable_like(x, *arrays):
    """Every one of ``arrays`` has ``x``'s type, writable."""
    return all(a == x.copy(readonly=False) for a in arrays)


def _integers(*values):
    return all(isinstance(v, types.Integer) for v in values)


def _labels(lab, has_ignore):
    """int64 labels and a boolean ``has_ignore``."""
    return _flat(lab, (types.int64,)) and isinstance(has_ignore, types.Boolean)


#: The rows :func:`rows_softmax` loads, by the widths of their pieces:
#: rows of 1-8, 9-12 and 13-16 classes (``rows8_window``).
_ROWS_WINDOWS = ((8,), (8, 4), (8, 8))


def _emit_by_window(context, builder, sig, args, c_arg, windows, emit):
    """``emit(window)`` for each of ``windows``, each under its branch on ``C = args[c_arg]``.

    The first window whose width (its sum, for a tuple of pieces) holds ``C`` classes runs; the
    last takes every larger ``C``.  Returns the value of the one that ran (a dummy for a ``none``
    signature).  One intrinsic thus serves every width, and its callers need no branch of their own.
    """
    C = context.cast(builder, args[c_arg], sig.args[c_arg], types.intp)
    result = None
    if sig.return_type != types.none:
        result = cgutils.alloca_once(builder, context.get_value_type(sig.return_type))
    end = builder.append_basic_block("window.end")
    for n, window in enumerate(windows):
        width = sum(window) if isinstance(window, tuple) else window
        if n < len(windows) - 1:
            this, rest = builder.append_basic_block(f"window.{width}"), builder.append_basic_block("window.next")
            builder.cbranch(builder.icmp_signed("<=", C, ir.Constant(C.type, width)), this, rest)
            builder.position_at_end(this)
        value = emit(window)
        if result is not None:
            builder.store(value, result)
        builder.branch(end)
        if n < len(windows) - 1:
            builder.position_at_end(rest)
    builder.position_at_end(end)
    return context.get_dummy_value() if result is None else builder.load(result)


@njit(inline="always")
def row_window(C):
    """The vector width ``W`` (8 or 16 lanes) that holds a row of ``C <= 16`` classes."""
    return 8 if C <= 8 else 16


@njit(inline="always")
def rows8_window(C):
    """How many classes :func:`rows_softmax` loads and stores per row: 8, 12 or 16 (at most
    ``row_window(C)``)."""
    return 8 if C <= 8 else (12 if C <= 12 else 16)


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


def _reciprocal(builder, s):
    """``1 / s`` computed in float64 and rounded to ``s``'s type (a float or double, or a
    vector of them), as every path of ebm.softmax_loss computes it: so that a column
    gets the same bits whichever path did it."""
    ty = s.type
    is_vector = isinstance(ty, ir.VectorType)
    double = ir.VectorType(ir.DoubleType(), ty.count) if is_vector else ir.DoubleType()
    one = ir.Constant(double, [ir.Constant(ir.DoubleType(), 1.0)] * ty.count) if is_vector else ir.Constant(double, 1.0)
    if ty == double:
        return builder.fdiv(one, s)
    return builder.fptrunc(builder.fdiv(one, builder.fpext(s, double)), ty)


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
    s = builder.extract_element(e, ir.Constant(ir.IntType(32), 0))
    for c in range(1, W):  # in class order, as the other paths add
        s = builder.fadd(s, builder.extract_element(e, ir.Constant(ir.IntType(32), c)))
    inv = _reciprocal(builder, s)
    p = builder.fmul(e, _splat(builder, inv, vec))
    builder.store(p, builder.bitcast(builder.gep(top.data, [b]), vec.as_pointer()), align=align)
    return context.make_tuple(builder, sig.return_type, [m, s])


@intrinsic
def row_softmax(typingctx, x, top, b, C):
    """Softmax of the row ``x[b : b + C]`` into ``top[b : b + C]``; returns ``(max, sum of exp)``.

    Jitted code only (``x`` and ``top`` C-contiguous float32 or float64 arrays,
    indexed flat).  Writes ``top[b : b + row_window(C)]``: see the module docstring for
    what that asks of the caller.
    """
    if not (_flat(x) and _writable_like(x, top) and _integers(b, C)):
        return None

    def codegen(context, builder, sig, args):
        return _emit_by_window(
            context, builder, sig, args, 3, (8, 16), lambda W: _emit_row_softmax(context, builder, sig, args, W)
        )

    return types.UniTuple(x.dtype, 2)(x, top, b, C), codegen


# --------------------------------------------------------------------------- 8 rows at once
# One row per vector leaves lanes idle (6 of 16 at C = 10) and makes the max and
# the sum shuffle trees, one dependent step after another.  Eight rows at once turn
# that around: their vectors are transposed in registers, so that each vector holds
# one class of eight rows; the max, exp, sum and scale are then plain lane-by-lane
# operations on C vectors, and the result is transposed back.

_UNPACK_LO = [0, 8, 1, 9, 4, 12, 5, 13]  # the shuffles of the classic AVX 8 x 8 transpose
_UNPACK_HI = [2, 10, 3, 11, 6, 14, 7, 15]
_PAIRS_LO = [0, 1, 8, 9, 4, 5, 12, 13]
_PAIRS_HI = [2, 3, 10, 11, 6, 7, 14, 15]
_HALVES_LO = [0, 1, 2, 3, 8, 9, 10, 11]
_HALVES_HI = [4, 5, 6, 7, 12, 13, 14, 15]


def _shuffle(builder, a, b, mask):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(ir.IntType(32), len(mask)), mask))


def _widen(mask):
    """An 8-lane two-input shuffle ``mask`` applied to each 256-bit half of 16-lane vectors
    (lane ``l`` of half ``h`` takes what lane ``l`` of an 8-lane vector took, from half ``h``)."""
    return [8 * h + v % 8 + (16 if v >= 8 else 0) for h in (0, 1) for v in mask]


_MASKS = {8: (_UNPACK_LO, _UNPACK_HI, _PAIRS_LO, _PAIRS_HI, _HALVES_LO, _HALVES_HI)}
_MASKS[16] = tuple(_widen(mask) for mask in _MASKS[8])


def _transpose8(builder, rows):
    """``out[j][i] = rows[i][j]`` for eight 8-lane vectors: 24 two-input shuffles in
    three rounds (pairs of lanes, pairs of pairs, 128-bit halves).  Its own inverse.

    On eight 16-lane vectors it does the same in each 256-bit half: with
    ``rows[i] = [row i | row i + 8]`` (8 classes each), ``out[c]`` holds class ``c``
    of rows 0..15 in order.
    """
    unpack_lo, unpack_hi, pairs_lo, pairs_hi, halves_lo, halves_hi = _MASKS[rows[0].type.count]
    t = []
    for i in range(0, 8, 2):
        t += [_shuffle(builder, rows[i], rows[i + 1], unpack_lo), _shuffle(builder, rows[i], rows[i + 1], unpack_hi)]
    u = []
    for a, b in ((0, 2), (1, 3), (4, 6), (5, 7)):
        u += [_shuffle(builder, t[a], t[b], pairs_lo), _shuffle(builder, t[a], t[b], pairs_hi)]
    out = [None] * 8
    for j in range(4):
        out[j] = _shuffle(builder, u[j], u[j + 4], halves_lo)
        out[j + 4] = _shuffle(builder, u[j], u[j + 4], halves_hi)
    return out


def _pairwise(builder, vectors, combine):
    """``combine`` all ``vectors`` lane by lane, as a balanced tree (independent steps first)."""
    while len(vectors) > 1:
        vectors = [
            combine(vectors[k], vectors[k + 1]) if k + 1 < len(vectors) else vectors[k]
            for k in range(0, len(vectors), 2)
        ]
    return vectors[0]


def _transpose4x8(builder, rows):
    """Eight 4-lane rows into four 8-lane class vectors: ``out[j][i] = rows[i][j]``
    (pairs of rows side by side, then a 4 x 4 transpose in each 128-bit half)."""
    a = [_shuffle(builder, rows[i], rows[i + 4], list(range(8))) for i in range(4)]
    return _transpose4_in_blocks(builder, a)


def _untranspose4x8(builder, classes):
    """The inverse of :func:`_transpose4x8`: four 8-lane class vectors into eight 4-lane rows."""
    a = _transpose4_in_blocks(builder, classes)
    low, high = list(range(4)), list(range(4, 8))
    return [_shuffle(builder, a[i], a[i], low) for i in range(4)] + [
        _shuffle(builder, a[i], a[i], high) for i in range(4)
    ]


def _transpose4_in_blocks(builder, a):
    """The 4 x 4 transpose of four 8- or 16-lane vectors, in each 128-bit block on its own.
    Its own inverse.  With ``a[i] = [row i | row i + 4 | row i + 8 | row i + 12]`` (4
    classes each, 16 lanes), ``out[c]`` holds class ``c`` of rows 0..15 in order."""
    unpack_lo, unpack_hi, pairs_lo, pairs_hi = _MASKS[a[0].type.count][:4]
    t = [
        _shuffle(builder, a[0], a[1], unpack_lo),
        _shuffle(builder, a[0], a[1], unpack_hi),
        _shuffle(builder, a[2], a[3], unpack_lo),
        _shuffle(builder, a[2], a[3], unpack_hi),
    ]
    return [
        _shuffle(builder, t[0], t[2], pairs_lo),
        _shuffle(builder, t[0], t[2], pairs_hi),
        _shuffle(builder, t[1], t[3], pairs_lo),
        _shuffle(builder, t[1], t[3], pairs_hi),
    ]


def _emit_rows_softmax(context, builder, sig, args, parts, groups, loss=False):
    """The ``8 * groups`` rows of the group that starts at ``x[b]`` (row ``j`` of the caller's rows).

    ``parts``: the widths of the pieces a row is loaded in (8, then 8 or 4): 8, 12 or
    16 classes.  With ``groups == 1`` each piece of the 8 rows is transposed into
    8-lane class vectors.  With ``groups == 2`` (AVX-512) the pieces of 16 rows are
    loaded side by side into 16-lane vectors (rows ``i`` and ``i + 8`` for a piece of
    8 classes, rows ``i, i + 4, i + 8, i + 12`` for one of 4) and transposed within
    each 256-bit half or 128-bit block: the same shuffle count as for eight rows,
    and 16-lane class vectors (one register each) for the arithmetic.

    With ``loss`` (:func:`rows_softmax_loss`) the arguments are
    ``(x, top, b, C, lab, has_ignore, ignore_label, ls, xd, j)`` and, instead of the
    maxima and sums, the loss's two parts are stored and the counts returned (see
    :func:`_emit_loss_parts`).
    """
    x_type, top_type = sig.args[:2]
    x = context.make_array(x_type)(context, builder, args[0])
    top = context.make_array(top_type)(context, builder, args[1])
    b = context.cast(builder, args[2], sig.args[2], types.intp)
    C = context.cast(builder, args[3], sig.args[3], types.intp)
    j = context.cast(builder, args[-1], sig.args[-1], types.intp)
    elem = context.get_value_type(x_type.dtype)
    lanes_n = 8 * groups
    vec = ir.VectorType(elem, lanes_n)
    align = x_type.dtype.bitwidth // 8
    intp = b.type
    zero = ir.Constant(vec, [ir.Constant(elem, 0.0)] * lanes_n)
    starts = [sum(parts[:q]) for q in range(len(parts))]

    def pointer(base, offset, width):
        return builder.bitcast(builder.gep(base, [offset]), ir.VectorType(elem, width).as_pointer())

    def row_offset(i, start):
        return builder.add(b, builder.add(builder.mul(C, ir.Constant(intp, i)), ir.Constant(intp, start)))

    def load_piece(i, start, width):  # classes start .. start + width - 1 of row i
        lanes = ir.Constant(ir.VectorType(ir.IntType(64), width), [start + k for k in range(width)])
        in_row = builder.icmp_signed("<", lanes, _splat(builder, C, lanes.type))
        minus_inf = ir.Constant(ir.VectorType(elem, width), [ir.Constant(elem, float("-inf"))] * width)
        return builder.select(
            in_row, builder.load(pointer(x.data, row_offset(i, start), width), align=align), minus_inf
        )

    def join(vectors):  # side by side, in order
        while len(vectors) > 1:
            vectors = [
                _shuffle(builder, vectors[k], vectors[k + 1], list(range(2 * vectors[k].type.count)))
                for k in range(0, len(vectors), 2)
            ]
        return vectors[0]

    classes = []
    for width, start in zip(parts, starts):
        if groups == 1:
            rows = [load_piece(i, start, width) for i in range(8)]
            classes += _transpose8(builder, rows) if width == 8 else _transpose4x8(builder, rows)
        elif width == 8:
            rows = [join([load_piece(i, start, 8), load_piece(i + 8, start, 8)]) for i in range(8)]
            classes += _transpose8(builder, rows)
        else:
            rows = [join([load_piece(i + 4 * q, start, 4) for q in range(4)]) for i in range(4)]
            classes += _transpose4_in_blocks(builder, rows)
    n_classes = sum(parts)
    m = _pairwise(builder, classes, lambda a, c: builder.select(builder.fcmp_unordered(">", a, c), a, c))
    e = []
    for c in range(n_classes):  # exp only for the classes that exist
        if c == 0:  # every row has a class 0
            e.append(emit_exp_nonpositive(builder, builder.fsub(classes[c], m)))
            continue
        exists = builder.icmp_signed("<", ir.Constant(intp, c), C)
        entry = builder.block
        with builder.if_then(exists):
            then_block = builder.block
            value = emit_exp_nonpositive(builder, builder.fsub(classes[c], m))
        phi = builder.phi(vec)
        phi.add_incoming(value, then_block)
        phi.add_incoming(zero, entry)
        e.append(phi)
    s = e[0]
    for ec in e[1:]:  # in class order, as the other paths add
        s = builder.fadd(s, ec)
    inv = _reciprocal(builder, s)
    p = [builder.fmul(ec, inv) for ec in e]
    row_pieces = []  # row_pieces[q][i]: piece q of row i
    for width, start in zip(parts, starts):
        if groups == 1:
            row_pieces.append(
                _transpose8(builder, p[start : start + 8])
                if width == 8
                else _untranspose4x8(builder, p[start : start + 4])
            )
            continue
        if width == 8:
            joined = _transpose8(builder, p[start : start + 8])
            halves = [[_shuffle(builder, v, v, list(range(8 * h, 8 * h + 8))) for v in joined] for h in (0, 1)]
            row_pieces.append(halves[0] + halves[1])
        else:
            joined = _transpose4_in_blocks(builder, p[start : start + 4])
            row_pieces.append(
                [
                    _shuffle(builder, joined[i % 4], joined[i % 4], list(range(4 * (i // 4), 4 * (i // 4) + 4)))
                    for i in range(16)
                ]
            )
    for i in range(lanes_n):  # in row order: each row's spill is rewritten
        for q, (width, start) in enumerate(zip(parts, starts)):  # by the next row's store
            builder.store(row_pieces[q][i], pointer(top.data, row_offset(i, start), width), align=align)
    if loss:
        return _emit_loss_parts(context, builder, sig, args, j, classes[:n_classes], m, s)
    double = ir.VectorType(ir.DoubleType(), lanes_n)
    builder.store(
        m,
        builder.bitcast(
            builder.gep(context.make_array(sig.args[4])(context, builder, args[4]).data, [j]), vec.as_pointer()
        ),
        align=align,
    )
    s_out = context.make_array(sig.args[5])(context, builder, args[5])
    builder.store(_to_double(builder, s), builder.bitcast(builder.gep(s_out.data, [j]), double.as_pointer()), align=8)
    return context.get_dummy_value()


def _to_double(builder, v):
    """A float vector widened to doubles (a double vector as it is)."""
    double = ir.VectorType(ir.DoubleType(), v.type.count)
    return v if v.type == double else builder.fpext(v, double)


def _emit_label_rule(builder, k, C, has_ignore, ignore_label):
    """``(ignored, kept, bad)`` flags of the int64 label(s) ``k``, a scalar or a vector of lanes.

    The rule of :func:`ebm._kernels.common.label_status`, as IR: ignored when
    ``has_ignore`` and ``k == ignore_label``; else kept when ``0 <= k < C``; else bad.
    """

    def like(value):  # a scalar operand, splat to k's lanes if k is a vector
        return (
            _splat(builder, value, ir.VectorType(value.type, k.type.count))
            if isinstance(k.type, ir.VectorType)
            else value
        )

    zero = like(ir.Constant(ir.IntType(64), 0))
    ignored = builder.and_(like(has_ignore), builder.icmp_signed("==", k, like(ignore_label)))
    in_range = builder.and_(builder.icmp_signed(">=", k, zero), builder.icmp_signed("<", k, like(C)))
    not_ignored = builder.not_(ignored)
    return ignored, builder.and_(in_range, not_ignored), builder.and_(builder.not_(in_range), not_ignored)


def _emit_loss_parts(context, builder, sig, args, j, classes, m, s):
    """The loss's parts for the rows of the class vectors ``classes`` (max ``m``, sum of
    exponentials ``s``), stored from ``ls[j]`` and ``xd[j]`` (float64):

    * ``ls = log s``, computed in the data's dtype (:func:`ebm._fastexp.emit_log_ge1`),
      NaN where ``s >= 1`` fails (NaN, inf, or a row of only -inf);
    * ``xd = x[k] - m`` for the row's label ``k``, picked lane by lane (one compare
      and select per class), NaN where the label is ``ignore_label`` or out of range.

    Returns ``(kept, bad)``: how many labels are kept, and how many are out of range
    and not ignored.  The row's loss is ``ls - xd``.
    """
    lab = context.make_array(sig.args[4])(context, builder, args[4])
    has_ignore = context.cast(builder, args[5], sig.args[5], types.boolean)
    ignore_label = context.cast(builder, args[6], sig.args[6], types.int64)
    ls_out = context.make_array(sig.args[7])(context, builder, args[7])
    xd_out = context.make_array(sig.args[8])(context, builder, args[8])
    C = context.cast(builder, args[3], sig.args[3], types.int64)
    vec = m.type
    lanes_n = vec.count
    i64, i32 = ir.IntType(64), ir.IntType(32)
    k_type = ir.VectorType(i64, lanes_n)
    double = ir.VectorType(ir.DoubleType(), lanes_n)
    nan = ir.Constant(double, [ir.Constant(ir.DoubleType(), float("nan"))] * lanes_n)
    k = builder.load(builder.bitcast(builder.gep(lab.data, [j]), k_type.as_pointer()), align=8)
    _, kept, bad = _emit_label_rule(builder, k, C, has_ignore, ignore_label)
    k32 = builder.trunc(k, ir.VectorType(i32, lanes_n))  # for the picks only: kept labels are < C
    xk = classes[0]
    for c in range(1, len(classes)):
        hit = builder.icmp_signed("==", k32, ir.Constant(k32.type, [ir.Constant(i32, c)] * lanes_n))
        xk = builder.select(hit, classes[c], xk)
    xd = builder.select(kept, _to_double(builder, builder.fsub(xk, m)), nan)
    one = ir.Constant(vec, [ir.Constant(vec.element, 1.0)] * lanes_n)
    ls = builder.select(builder.fcmp_ordered(">=", s, one), _to_double(builder, emit_log_ge1(builder, s)), nan)
    builder.store(xd, builder.bitcast(builder.gep(xd_out.data, [j]), double.as_pointer()), align=8)
    builder.store(ls, builder.bitcast(builder.gep(ls_out.data, [j]), double.as_pointer()), align=8)
    mask_int = ir.IntType(lanes_n)
    popcount = builder.module.declare_intrinsic("llvm.ctpop", [mask_int])

    def count(mask):
        return builder.zext(builder.call(popcount, [builder.bitcast(mask, mask_int)]), i64)

    return context.make_tuple(builder, sig.return_type, [count(kept), count(bad)])


def _has_avx512(context):
    """Whether the code is compiled for AVX-512 (16 float32 lanes in a register): the target
    machine Numba compiles for, as ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` set it (by
    default the host's CPU and features), decides."""
    from numba import config

    try:
        features = context.codegen()._tm_features
    except AttributeError:  # a Numba without this (private) attribute
        from ebm._numba_cache import guard_tripped

        guard_tripped(
            "numba's codegen has no _tm_features: sixteen-row groups use two sets of eight "
            "(correct, slower with AVX-512)"
        )
        return False
    import llvmlite.binding as ll

    return target_has_avx512(config.CPU_NAME or ll.get_host_cpu_name(), features)


_PROBE_IR = """define void @probe(ptr %p) {
  %a = load <16 x float>, ptr %p
  %b = fadd <16 x float> %a, %a
  store <16 x float> %b, ptr %p
  ret void
}"""


@functools.lru_cache(maxsize=None)
def target_has_avx512(cpu, features):
    """Whether LLVM compiles for AVX-512 on the CPU named ``cpu`` with the feature string
    ``features`` (LLVM's ``+name,-name`` list, which overrides the CPU's own features).

    A feature string that says ``+avx512f`` or ``-avx512f`` decides (Numba's default, the
    host's features, always says one of them on x86); otherwise the CPU's defaults do, read
    from what LLVM emits for one 16-lane float32 add (a ``zmm`` register or not).

    >>> target_has_avx512("haswell", "+avx2,-avx512f"), target_has_avx512("skylake-avx512", "")
    (False, True)
    """
    flags = features.split(",")
    if "+avx512f" in flags or "-avx512f" in flags:
        return "+avx512f" in flags
    import llvmlite.binding as ll

    ll.initialize_native_target()
    ll.initialize_native_asmprinter()
    module = ll.parse_assembly(_PROBE_IR)
    machine = ll.Target.from_triple(ll.get_process_triple()).create_target_machine(cpu=cpu, features=features)
    return "zmm" in machine.emit_assembly(module)


def _emit_groups_of_eight(context, builder, sig, args, loss):
    """``R = args[-1]`` rows (8 or 16) as ``R / 8`` groups of eight, one after another in an IR loop.

    Without AVX-512 sixteen rows are two sets of eight 8-lane vectors; a loop over them keeps one
    copy of each window's code in the kernel (two copies would only double what LLVM compiles).
    """
    inner = sig.return_type(*sig.args[:-1])
    R, b, C, j = (context.cast(builder, args[k], sig.args[k], types.intp) for k in (-1, 2, 3, -2))
    eight = ir.Constant(R.type, 8)
    i64 = ir.IntType(64)
    counts = [cgutils.alloca_once_value(builder, ir.Constant(i64, 0)) for _ in range(2)]  # kept, bad
    with cgutils.for_range(builder, builder.sdiv(R, eight)) as loop:
        first = builder.mul(loop.index, eight)
        group = list(args[:-1])  # the group's first element and first row
        group[2] = context.cast(builder, builder.add(b, builder.mul(first, C)), types.intp, sig.args[2])
        group[-1] = context.cast(builder, builder.add(j, first), types.intp, sig.args[-2])
        value = _emit_by_window(
            context,
            builder,
            inner,
            group,
            3,
            _ROWS_WINDOWS,
            lambda parts: _emit_rows_softmax(context, builder, inner, group, parts, groups=1, loss=loss),
        )
        if loss:
            for q, count in enumerate(counts):
                builder.store(builder.add(builder.load(count), builder.extract_value(value, q)), count)
    if not loss:
        return context.get_dummy_value()
    return context.make_tuple(builder, sig.return_type, [builder.load(count) for count in counts])


def _emit_rows(context, builder, sig, args, loss):
    """A group of ``R = args[-1]`` rows (8 or 16) in the window ``C = args[3]`` needs; the other
    arguments are laid out as :func:`_emit_rows_softmax` reads them (``R`` left out).  Sixteen
    rows are one set of 16-lane vectors with AVX-512, else two sets of eight."""
    if not _has_avx512(context):
        return _emit_groups_of_eight(context, builder, sig, args, loss)
    inner = sig.return_type(*sig.args[:-1])

    def rows_of(R):
        def window(parts):
            return _emit_rows_softmax(context, builder, inner, args[:-1], parts, groups=R // 8, loss=loss)

        return _emit_by_window(context, builder, inner, args[:-1], 3, _ROWS_WINDOWS, window)

    return _emit_by_window(context, builder, sig, args, len(args) - 1, (8, 16), rows_of)


@intrinsic
def rows_softmax(typingctx, x, top, b, C, m, s, j, R):
    """Softmax of the ``R`` rows (8 or 16) of ``C`` classes from ``x[b]`` into ``top``; their maxima into
    ``m[j : j + R]``, their sums of exponentials into ``s[j : j + R]`` (float64).

    Sixteen rows run on 16-lane vectors (one register each) with AVX-512, otherwise as two groups
    of eight.  Jitted code only; ``1 <= C <= 16``.  Like :func:`row_softmax` it writes more than
    the row: ``rows8_window(C)`` lanes from each row's start (never more than ``row_window(C)``),
    so the last row's must stay inside the caller's rows.
    """
    maxima = _flat(m, (x.dtype,)) and m.ndim == 1 and m.mutable
    if not (_flat(x) and _writable_like(x, top) and maxima and _flat(s, (types.float64,)) and _integers(b, C, j, R)):
        return None

    def codegen(context, builder, sig, args):
        return _emit_rows(context, builder, sig, args, loss=False)

    return types.none(x, top, b, C, m, s, j, R), codegen


@intrinsic
def rows_softmax_loss(typingctx, x, top, b, C, lab, has_ignore, ignore_label, ls, xd, j, R):
    """:func:`rows_softmax` for the loss: the softmax of the ``R`` rows from ``x[b]`` into ``top``,
    and the loss's parts of rows ``j .. j + R`` (``lab[j:]`` their labels): ``ls = log(sum of exp)``
    (NaN for a row that fails ``s >= 1``) and ``xd = x[k] - max`` (NaN where the label is not
    kept), both float64.  The row's loss is ``ls - xd``.

    Returns ``(kept labels, labels out of range and not ignored)``.  Jitted code only; writes what
    :func:`rows_softmax` writes.
    """
    doubles = all(_flat(a, (types.float64,)) and a.mutable for a in (ls, xd))
    if not (
        _flat(x)
        and _writable_like(x, top)
        and _labels(lab, has_ignore)
        and doubles
        and _integers(b, C, ignore_label, j, R)
    ):
        return None

    def codegen(context, builder, sig, args):
        return _emit_rows(context, builder, sig, args, loss=True)

    return types.UniTuple(types.int64, 2)(x, top, b, C, lab, has_ignore, ignore_label, ls, xd, j, R), codegen


# --------------------------------------------------------------------------- the loss backward
# bottom_diff = (prob - onehot(k)) * w, 0 for an ignored row: one vector a row, in an
# IR loop over the rows (the vector accumulator of the finiteness check stays in a
# register across the rows).


def _emit_rows_loss_diff(context, builder, sig, args, W):
    p_type, lab_type, d_type = sig.args[:3]
    p = context.make_array(p_type)(context, builder, args[0])
    lab = context.make_array(lab_type)(context, builder, args[1])
    d = context.make_array(d_type)(context, builder, args[2])
    n = context.cast(builder, args[3], sig.args[3], types.intp)
    C = context.cast(builder, args[4], sig.args[4], types.intp)
    w = args[5]
    has_ignore = context.cast(builder, args[6], sig.args[6], types.boolean)
    ignore_label = context.cast(builder, args[7], sig.args[7], types.int64)
    elem = context.get_value_type(p_type.dtype)
    i64, i32 = ir.IntType(64), ir.IntType(32)
    align = p_type.dtype.bitwidth // 8
    H = min(W, 8)  # the row in vectors of 8 lanes, with AVX-512 too
    hvec = ir.VectorType(elem, H)  # (16 lanes were no faster: CHANGELOG.md)
    piece_lanes = ir.Constant(ir.VectorType(i32, H), list(range(H)))  # int32: half the compare width
    hzero = ir.Constant(hvec, [ir.Constant(elem, 0.0)] * H)
    hone = ir.Constant(hvec, [ir.Constant(elem, 1.0)] * H)
    hw_vec = _splat(builder, w, hvec)
    check = cgutils.alloca_once_value(builder, hzero)
    bad = cgutils.alloca_once_value(builder, ir.Constant(i64, 0))
    with cgutils.for_range(builder, n) as loop:
        r = loop.index
        k = builder.load(builder.gep(lab.data, [r]))
        ignored, _, is_bad = _emit_label_rule(builder, k, C, has_ignore, ignore_label)
        builder.store(builder.add(builder.load(bad), builder.zext(is_bad, i64)), bad)
        offset = builder.mul(r, C)
        k32 = _splat(builder, builder.trunc(k, i32), piece_lanes.type)  # (a bad label's low 32 bits
        for h in range(W // H):  # may hit a lane: its row is garbage, and the call raises)
            at = builder.add(offset, ir.Constant(offset.type, h * H))
            v = builder.load(builder.bitcast(builder.gep(p.data, [at]), hvec.as_pointer()), align=align)
            builder.store(builder.fadd(builder.load(check), builder.fmul(v, hzero)), check)  # NaN iff not finite
            hot = builder.icmp_signed("==", ir.Constant(piece_lanes.type, list(range(h * H, h * H + H))), k32)
            diff = builder.fmul(builder.select(hot, builder.fsub(v, hone), v), hw_vec)  # (1) and (2)
            diff = builder.select(ignored, hzero, diff)  # (3)
            builder.store(diff, builder.bitcast(builder.gep(d.data, [at]), hvec.as_pointer()), align=align)
    total = _tree(builder, builder.load(check), lambda a, c: builder.fadd(a, c))
    return context.make_tuple(builder, sig.return_type, [builder.load(bad), total])


@intrinsic
def rows_loss_diff(typingctx, p, lab, d, n, C, w, has_ignore, ignore_label):
    """The softmax loss's backward for the first ``n`` rows of ``C`` classes of ``p``
    (flat): ``d = (p - onehot(lab)) * w``, 0 for a row whose label is ``ignore_label``.

    Jitted code only; ``n <= vector_rows(rows, C)`` of the caller's rows (each row's
    store spills onto the next rows, as :func:`row_softmax`'s does).  Returns
    ``(labels out of range and not ignored, check)``, where ``check`` is the sum of
    ``p * 0`` over the rows' vectors: 0 when every value read is finite, else NaN.
    """
    if not (
        _flat(p)
        and _writable_like(p, d)
        and _labels(lab, has_ignore)
        and w == p.dtype
        and _integers(n, C, ignore_label)
    ):
        return None

    def codegen(context, builder, sig, args):
        return _emit_by_window(
            context, builder, sig, args, 4, (8, 16), lambda W: _emit_rows_loss_diff(context, builder, sig, args, W)
        )

    return types.Tuple((types.int64, p.dtype))(p, lab, d, n, C, w, has_ignore, ignore_label), codegen


# --------------------------------------------------------------------------- the softmax backward
# bottom_diff = top_data * (top_diff - <top_data, top_diff>), the dot in float64 over
# the row's classes: one vector a row, in an IR loop.


def _emit_rows_softmax_diff(context, builder, sig, args, W):
    p_type = sig.args[0]
    p = context.make_array(p_type)(context, builder, args[0])
    g = context.make_array(sig.args[1])(context, builder, args[1])
    d = context.make_array(sig.args[2])(context, builder, args[2])
    n = context.cast(builder, args[3], sig.args[3], types.intp)
    C = context.cast(builder, args[4], sig.args[4], types.intp)
    elem = context.get_value_type(p_type.dtype)
    vec = ir.VectorType(elem, W)
    double = ir.DoubleType()
    wide = ir.VectorType(double, W)
    i64 = ir.IntType(64)
    align = p_type.dtype.bitwidth // 8
    lanes = ir.Constant(ir.VectorType(i64, W), list(range(W)))
    in_row = builder.icmp_signed("<", lanes, _splat(builder, C, lanes.type))
    zero = ir.Constant(wide, [ir.Constant(double, 0.0)] * W)
    bad = cgutils.alloca_once_value(builder, ir.Constant(i64, 0))
    with cgutils.for_range(builder, n) as loop:
        offset = builder.mul(loop.index, C)
        vp = builder.load(builder.bitcast(builder.gep(p.data, [offset]), vec.as_pointer()), align=align)
        vg = builder.load(builder.bitcast(builder.gep(g.data, [offset]), vec.as_pointer()), align=align)
        wp, wg = (v if elem == double else builder.fpext(v, wide) for v in (vp, vg))
        products = builder.select(in_row, builder.fmul(wp, wg), zero)
        dot = _tree(builder, products, lambda a, c: builder.fadd(a, c, flags=("reassoc",)))
        finite = builder.fcmp_ordered(
            "<",
            builder.call(
                cgutils.get_or_insert_function(builder.module, ir.FunctionType(double, [double]), "llvm.fabs.f64"),
                [dot],
            ),
            ir.Constant(double, float("inf")),
        )
        builder.store(builder.add(builder.load(bad), builder.zext(builder.not_(finite), i64)), bad)
        dx = dot if elem == double else builder.fptrunc(dot, elem)
        diff = builder.fmul(vp, builder.fsub(vg, _splat(builder, dx, vec)))
        builder.store(diff, builder.bitcast(builder.gep(d.data, [offset]), vec.as_pointer()), align=align)
    return builder.load(bad)


@intrinsic
def rows_softmax_diff(typingctx, p, g, d, n, C):
    """The softmax's backward for the first ``n`` rows of ``C`` classes (flat arrays):
    ``d = p * (g - dot(p, g))`` per row, the dot in float64 and rounded to ``p``'s dtype.

    Jitted code only; ``n <= vector_rows(rows, C)`` of the caller's rows (each row's
    store spills onto the next rows, as :func:`row_softmax`'s does).  Returns how
    many of the rows' dots are not finite.
    """
    if not (_flat(p) and _writable_like(p, g, d) and _integers(n, C)):
        return None

    def codegen(context, builder, sig, args):
        return _emit_by_window(
            context, builder, sig, args, 4, (8, 16), lambda W: _emit_rows_softmax_diff(context, builder, sig, args, W)
        )

    return types.int64(p, g, d, n, C), codegen
