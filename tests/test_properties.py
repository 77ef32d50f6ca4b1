"""Property tests: identities of the softmax and its loss that need no oracle.

Hypothesis draws the shape (1-4 axes), the class axis (positive or negative), the
logits, labels, and ignore_label.  ``derandomize=True`` makes every run draw the
same examples (the suite is seeded); ``deadline=None`` because the first call of
a Numba signature compiles.
"""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ebm
from ebm import reference as ref

IMPLS = [pytest.param(ebm, id="core"), pytest.param(ref, id="reference")]
NORMALIZATIONS = ["full", "valid", "batch_size", "none"]

SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _floats(dtype, bound):
    width = 32 if dtype == np.float32 else 64
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=width)


@st.composite
def logits(draw, dtype=np.float64, bound=60.0, max_dims=4):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = draw(hnp.arrays(dtype, shape, elements=_floats(dtype, bound)))
    return x, axis


@st.composite
def loss_case(draw, dtype=np.float64, bound=60.0):
    x, axis = draw(logits(dtype, bound))
    ax = axis % x.ndim
    C = x.shape[ax]
    lshape = x.shape[:ax] + x.shape[ax + 1 :]
    ignore_label = draw(st.sampled_from([None, -1, 255, 0]))
    choices = st.integers(0, C - 1)
    if ignore_label is not None:
        choices = st.one_of(choices, st.just(ignore_label))
    label = draw(hnp.arrays(np.int64, lshape, elements=choices))
    return x, axis, label, ignore_label


def _column_shape(shape, axis):
    s = list(shape)
    s[axis % len(shape)] = 1
    return tuple(s)


# --------------------------------------------------------------------------- softmax


@pytest.mark.parametrize("impl", IMPLS)
@SETTINGS
@given(case=logits(), data=st.data())
def test_softmax_is_shift_invariant(impl, case, data):
    x, axis = case
    c = data.draw(hnp.arrays(np.float64, _column_shape(x.shape, axis), elements=_floats(np.float64, 100.0)))
    np.testing.assert_allclose(
        impl.softmax_forward(x + c, axis=axis), impl.softmax_forward(x, axis=axis), rtol=1e-11, atol=1e-13
    )


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
@pytest.mark.parametrize("impl", IMPLS)
@SETTINGS
@given(data=st.data())
def test_softmax_columns_sum_to_one(impl, dtype, tol, data):
    x, axis = data.draw(logits(dtype))
    top = impl.softmax_forward(x, axis=axis)
    assert top.dtype == dtype
    assert np.all(top >= 0) and np.all(top <= 1)
    np.testing.assert_allclose(top.astype(np.float64).sum(axis=axis), 1.0, rtol=0, atol=tol)


@SETTINGS
@given(case=logits(bound=1e4))
def test_softmax_huge_logits_stay_finite(case):
    x, axis = case
    top = ebm.softmax_forward(x, axis=axis)
    assert np.all(np.isfinite(top))
    np.testing.assert_allclose(top.sum(axis=axis), 1.0, rtol=0, atol=1e-13)
    # the largest logit of each column keeps the largest probability
    assert np.array_equal(
        np.max(top, axis=axis),
        np.take_along_axis(top, np.expand_dims(np.argmax(x, axis=axis), axis), axis).squeeze(axis),
    )


@pytest.mark.parametrize("impl", IMPLS)
@SETTINGS
@given(case=logits(), data=st.data())
def test_softmax_backward_of_a_constant_is_zero(impl, case, data):
    # softmax(x + t*c) = softmax(x) for a per-column constant c, so the derivative
    # along a constant top_diff vanishes.
    x, axis = case
    c = data.draw(hnp.arrays(np.float64, _column_shape(x.shape, axis), elements=_floats(np.float64, 1e3)))
    top = impl.softmax_forward(x, axis=axis)
    top_diff = np.broadcast_to(c, x.shape).copy()
    bd = impl.softmax_backward(top, top_diff, axis=axis)
    scale = max(1.0, float(np.max(np.abs(c))))
    np.testing.assert_allclose(bd, 0.0, rtol=0, atol=1e-13 * scale)


# --------------------------------------------------------------------------- softmax with loss


@pytest.mark.parametrize("impl", IMPLS)
@SETTINGS
@given(
    case=loss_case(),
    top_diff=st.floats(-5, 5).filter(lambda v: abs(v) > 1e-3),
    normalization=st.sampled_from(NORMALIZATIONS),
)
def test_loss_gradient_structure(impl, case, top_diff, normalization):
    x, axis, label, ignore_label = case
    opts = dict(axis=axis, ignore_label=ignore_label, normalization=normalization)
    loss, prob = impl.softmax_loss_forward(x, label, **opts)
    assert loss >= 0.0 and math.isfinite(loss)
    g = impl.softmax_loss_backward(prob, label, top_diff=top_diff, **opts)
    kept = np.ones(label.shape, bool) if ignore_label is None else label != ignore_label
    class_sum = g.sum(axis=axis)
    # kept positions: sum_c (p_c - onehot_c) = 0
    np.testing.assert_allclose(class_sum[kept], 0.0, rtol=0, atol=1e-13 * abs(top_diff))
    # ignored positions: every class exactly 0
    ignored = np.expand_dims(~kept, axis % x.ndim)
    assert np.all(g[np.broadcast_to(ignored, g.shape)] == 0.0)
    # at a kept position, only the label's class is negative (or zero)
    sign = np.sign(top_diff)
    lab_kept = np.expand_dims(np.where(kept, label, 0), axis % x.ndim)
    at_label = np.take_along_axis(g * sign, lab_kept, axis=axis % x.ndim).squeeze(axis % x.ndim)
    assert np.all(at_label[kept] <= 0.0)


@pytest.mark.parametrize("impl", IMPLS)
@SETTINGS
@given(case=loss_case(dtype=np.float32, bound=1e4), normalization=st.sampled_from(NORMALIZATIONS))
def test_loss_is_nonnegative_float32_huge_logits(impl, case, normalization):
    x, axis, label, ignore_label = case
    loss, prob = impl.softmax_loss_forward(x, label, axis=axis, ignore_label=ignore_label, normalization=normalization)
    assert loss >= 0.0 and math.isfinite(loss)
    assert prob.dtype == np.float32 and np.all(np.isfinite(prob))


@pytest.mark.parametrize("impl", IMPLS)
@SETTINGS
@given(case=loss_case())
def test_caffe_ignore_label_identity(impl, case):
    # Caffe's TestIgnoreLabel: with BATCH_SIZE normalization (a divisor that does not
    # depend on what is ignored) each position is counted for C - 1 of the C choices
    # of ignore_label, so sum_l loss(ignore_label=l) = (C - 1) * loss(no ignore).
    x, axis, label, _ = case
    label = np.where((label >= 0) & (label < x.shape[axis]), label, 0)
    C = x.shape[axis]
    full, _ = impl.softmax_loss_forward(x, label, axis=axis, normalization="batch_size")
    total = sum(
        impl.softmax_loss_forward(x, label, axis=axis, ignore_label=k, normalization="batch_size")[0] for k in range(C)
    )
    assert math.isclose(total, (C - 1) * full, rel_tol=1e-10, abs_tol=1e-10)


@SETTINGS
@given(case=loss_case(), normalization=st.sampled_from(NORMALIZATIONS + ["VALID", "Full"]))
def test_core_matches_reference(case, normalization):
    x, axis, label, ignore_label = case
    opts = dict(axis=axis, ignore_label=ignore_label, normalization=normalization)
    loss_c, prob_c = ebm.softmax_loss_forward(x, label, **opts)
    loss_r, prob_r = ref.softmax_loss_forward(x, label, **opts)
    assert math.isclose(loss_c, loss_r, rel_tol=1e-12, abs_tol=1e-12 * max(1.0, float(np.abs(x).max())))
    np.testing.assert_allclose(prob_c, prob_r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        ebm.softmax_loss_backward(prob_c, label, top_diff=2.5, **opts),
        ref.softmax_loss_backward(prob_c, label, top_diff=2.5, **opts),
        rtol=1e-12,
        atol=1e-12,
    )
