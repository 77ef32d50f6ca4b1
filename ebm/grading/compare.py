"""Tolerance-based comparisons that explain themselves.

Every helper here either returns quietly or raises :class:`Mismatch`, whose
message says *what* differs, *where* (the first differing index), *expected
against got*, and *the tolerance*::

    bottom_diff[0, 2]: expected -0.909969, got 0.0900306 (|got - expected| = 1 > atol 1e-09 + rtol 1e-06 * |expected|); 2 of 6 elements differ

Checks (see :mod:`ebm.grading`) call them on a student's result; the registry
then runs the exercise's hints on the :class:`Mismatch` to name the mistake.

>>> import numpy as np
>>> expect_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]), what="x")
>>> try:
...     expect_close(np.array([1.0, 2.0]), np.array([1.0, 3.0]), what="x")
... except Mismatch as m:
...     print(m)
x[1]: expected 3, got 2 (|got - expected| = 1 > atol 1e-09 + rtol 1e-06 * |expected|); 1 of 2 elements differ
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["Mismatch", "expect_close", "expect_gradient", "expect_tuple", "expect_true", "fail", "is_close"]


class Mismatch(AssertionError):
    """A check failed: the student's value is not the expected one.

    Attributes
    ----------
    what : str
        The name of the compared value (``"bottom_diff"``, ``"loss"``...).
    got, expected : object
        The compared values (``None`` when the failure is not a comparison).
    index : tuple or None
        The first differing index (``()`` for scalars).
    tolerance : str
        The rule that was applied, e.g. ``"atol 1e-09 + rtol 1e-06 * |expected|"``.
    hintable : bool
        False when the value was not even of the right kind (None, a list where
        an array is due, complex numbers, an object): the exercise's hints, which
        recognise wrong *numbers*, are not consulted.
    """

    def __init__(self, message, *, what="result", got=None, expected=None, index=None, tolerance="", hintable=True):
        super().__init__(message)
        self.message = message
        self.what = what
        self.got = got
        self.expected = expected
        self.index = index
        self.tolerance = tolerance
        self.hintable = hintable

    def __str__(self):
        return self.message


def fail(message, *, what="result", got=None, expected=None):
    """Fail the current check with ``message`` (no comparison involved)."""
    raise Mismatch(message, what=what, got=got, expected=expected)


def expect_true(condition, message, *, what="result", got=None, expected=None):
    """Fail with ``message`` unless ``condition`` is true."""
    if not condition:
        fail(message, what=what, got=got, expected=expected)


def _fmt(value):
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Number):
        return f"{value:.6g}" if isinstance(value, numbers.Real) else repr(value)
    return repr(value)


def _wrong_kind(message, what, got):
    raise Mismatch(message, what=what, got=got, hintable=False)


def _as_numeric(value, what, *, array=False):
    """``value`` as a real NumPy array, or a :class:`Mismatch` that says what kind of thing it is instead.

    ``array``: an array is due, so a list or tuple is refused (the caller uses
    ``.shape`` and ``.dtype``; Caffe writes into a blob, not a list).
    """
    if value is None:
        _wrong_kind(f"{what}: expected a number or an array, got None (a missing return statement?)", what, value)
    if isinstance(value, (list, tuple)):
        if array:
            _wrong_kind(
                f"{what}: expected a NumPy array, got a {type(value).__name__}: return np.asarray(...) "
                "(the caller uses its .shape and .dtype)",
                what,
                value,
            )
        try:
            value = np.asarray(value)
        except Exception:  # ragged lists and the like
            _wrong_kind(f"{what}: expected an array, got a {type(value).__name__} that NumPy cannot read", what, value)
    if isinstance(value, (numbers.Number, np.ndarray, np.generic)) or hasattr(value, "__array__"):
        try:
            arr = np.asarray(value)  # a torch CPU tensor, a matrix subclass...
        except Exception:
            arr = np.asarray(None)
        if arr.dtype.kind == "c":
            _wrong_kind(
                f"{what}: expected real numbers, got complex values ({arr.dtype}); where does the "
                "imaginary part come from (np.sqrt or np.log of a negative number, astype(complex))?",
                what,
                value,
            )
        if arr.dtype.kind in "biuf":
            return arr
    _wrong_kind(
        f"{what}: expected a number or an array of numbers, got {type(value).__name__} {_short_repr(value)}",
        what,
        value,
    )


def _short_repr(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expect_close(got, expected, *, rtol=1e-6, atol=1e-9, what="result", shape=True):
    """Fail unless ``got`` equals ``expected`` within ``|got - expected| <= atol + rtol * |expected|``.

    Parameters
    ----------
    got : number or array_like
        The student's value.
    expected : number or array_like
        The right value (from :mod:`ebm.reference`, the package, or an exact oracle).
    rtol, atol : float
        The tolerance (NumPy's ``isclose`` rule, not symmetric: relative to ``expected``).
    what : str
        A name for the value, used in the message (``"bottom_diff"``).
    shape : bool, default True
        Require the exact shape; ``False`` accepts any shape that broadcasts to it
        with the same number of elements (e.g. ``(C,)`` for ``(1, C)``).  Where
        ``expected`` is an array, ``got`` must be an array too (not a list).

    Raises
    ------
    Mismatch
        On a wrong type (None, a list where an array is due, complex numbers, an
        object), shape, a NaN or infinity where a finite value is expected,
        or a value outside the tolerance; the message names the first differing index.
    """
    e = np.asarray(expected, dtype=np.float64)
    g = _as_numeric(got, what, array=e.ndim > 0)
    tol = f"atol {atol:g} + rtol {rtol:g} * |expected|"
    if g.shape != e.shape:
        if shape or g.size != e.size:
            fail(f"{what}: expected shape {e.shape}, got shape {g.shape}", what=what, got=got, expected=expected)
        g = g.reshape(e.shape)
    g = g.astype(np.float64)
    ok = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if ok.all():
        return
    bad = np.argwhere(~ok)
    index = tuple(int(k) for k in bad[0])
    gv, ev = g[index], e[index]
    where = f"{what}[{', '.join(map(str, index))}]" if index else what
    if np.isfinite(ev) and not np.isfinite(gv):
        detail = "not finite"
    else:
        detail = f"|got - expected| = {_fmt(abs(gv - ev))} > {tol}"
    count = f"; {len(bad)} of {e.size} elements differ" if e.size > 1 else ""
    raise Mismatch(
        f"{where}: expected {_fmt(ev)}, got {_fmt(gv)} ({detail}){count}",
        what=what,
        got=got,
        expected=expected,
        index=index,
        tolerance=tol,
    )


def expect_gradient(func, x, got, *, tol=1e-2, step=1e-2, what="gradient"):
    """Fail unless ``got`` is the gradient of the scalar ``func`` at ``x`` (``ebm.gradcheck``).

    Caffe's rule: element ``n`` passes when ``|numeric - got| <= tol * max(|numeric|, |got|, 1)``
    with central differences of ``step``.  The message names the worst element.
    The :class:`Mismatch` carries the central-difference gradient as ``expected``.
    """
    from ebm.gradient_check import gradcheck

    x = np.asarray(x, dtype=np.float64)
    g = _as_numeric(got, what, array=x.ndim > 0)
    if g.shape != x.shape:
        fail(f"{what}: expected shape {x.shape} (the shape of the input), got shape {g.shape}", what=what, got=got)
    result = gradcheck(func, x, g.astype(np.float64), step=step, tol=tol)
    if result.passed:
        return
    w = result.worst
    where = f"{what}[{', '.join(map(str, w))}]" if w else what
    failing = int(np.count_nonzero(~(result.ratio <= tol)))
    rule = f"tol {tol:g} * max(|numeric|, |got|, 1), central differences with step {step:g}"
    raise Mismatch(
        f"{where}: central differences give {_fmt(result.numeric[w])}, got "
        f"{_fmt(result.analytic[w])} (over {rule}); {failing} of {x.size} elements fail",
        what=what,
        got=got,
        expected=result.numeric,
        index=w,
        tolerance=rule,
    )


def expect_tuple(got, length, *, what="result"):
    """Fail unless ``got`` is a tuple or list of ``length`` items; return it as a tuple."""
    if not isinstance(got, (tuple, list)) or len(got) != length:
        kind = f"a {type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        fail(f"{what}: expected a tuple of {length} values, got {kind}", what=what, got=got)
    return tuple(got)


def is_close(got, value, *, rtol=1e-6, atol=1e-9):
    """True when ``got`` has the shape of ``value`` and equals it within the tolerance.

    Never raises: anything that cannot be compared is simply not close, and
    complex numbers are never close to real ones (their imaginary part is not
    dropped).  Hints use it to recognise a mistake (``is_close(a.got,
    -a.expected)``: the wrong sign).
    """
    try:
        if np.iscomplexobj(got) != np.iscomplexobj(value):
            return False
        g = np.asarray(got, dtype=np.float64)
        v = np.asarray(value, dtype=np.float64)
        return g.shape == v.shape and bool(np.all(np.isclose(g, v, rtol=rtol, atol=atol)))
    except Exception:
        return False
