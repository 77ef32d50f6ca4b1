"""Gradient checks in Caffe's own test configuration, and tests of ebm.gradcheck.

Caffe's ``GradientChecker``: central differences with step 1e-2, an element
passes when ``|a - b| <= tol * max(|a|, |b|, 1)``; tol 1e-2 for the loss and
1e-3 for the softmax; data of shape (10, 5, 2, 3) filled with std 10.  The
central-difference gradient is an oracle independent of every formula in ebm.
"""

from __future__ import annotations

import numpy as np
import pytest

import ebm
from ebm import reference as ref

IMPLS = [pytest.param(ebm, id="core"), pytest.param(ref, id="reference")]
SHAPE = (10, 5, 2, 3)
STEP = 1e-2


@pytest.fixture
def caffe_data(rng):
    x = rng.normal(scale=10.0, size=SHAPE)
    label = rng.integers(0, SHAPE[1], size=(SHAPE[0], 1) + SHAPE[2:])  # Caffe's (N, 1, H, W)
    return x, label


def assert_scaled_close(numeric, analytic, tol=1e-3):
    """A second, stricter look at the same numbers.

    Caffe's floor of 1 in ``max(|a|, |b|, 1)`` makes its rule absolute for
    gradients much smaller than 1: with VALID normalization over 60 positions every
    entry is below 3/60, so a wrong normalizer (say FULL's 60 for VALID's 48) would
    still pass it.  Here the floor is the gradient's own scale instead.
    """
    scale = np.max(np.abs(analytic))
    assert scale > 0
    np.testing.assert_allclose(numeric, analytic, rtol=tol, atol=tol * scale)


# --------------------------------------------------------------------------- the loss


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("ignore_label", [None, 0], ids=["no-ignore", "ignore0"])
@pytest.mark.parametrize("normalization", ["full", "valid", "batch_size", "none"])
def test_softmax_loss_gradient(impl, caffe_data, normalization, ignore_label):
    x, label = caffe_data
    opts = dict(ignore_label=ignore_label, normalization=normalization)
    if ignore_label is not None:
        assert np.any(label == ignore_label) and np.any(label != ignore_label)
    for loss_weight in (2.0, 3.0):

        def objective(z):
            return loss_weight * impl.softmax_loss_forward(z, label, **opts)[0]

        _, prob = impl.softmax_loss_forward(x, label, **opts)
        analytic = impl.softmax_loss_backward(prob, label, top_diff=loss_weight, **opts)
        result = ebm.gradcheck(objective, x, analytic, step=STEP, tol=1e-2)
        assert result, str(result)
        assert_scaled_close(result.numeric, analytic)


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_softmax_loss_gradient_other_axes(rng, axis):
    x = rng.normal(scale=10.0, size=(4, 3, 5))
    lshape = list(x.shape)
    del lshape[axis]
    label = rng.integers(0, x.shape[axis], size=lshape)
    _, prob = ebm.softmax_loss_forward(x, label, axis=axis, ignore_label=1)
    analytic = ebm.softmax_loss_backward(prob, label, axis=axis, ignore_label=1)
    f = lambda z: ebm.softmax_loss_forward(z, label, axis=axis, ignore_label=1)[0]  # noqa: E731
    assert ebm.gradcheck(f, x, analytic, tol=1e-2, raise_on_failure=True)


# --------------------------------------------------------------------------- the softmax layer


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("axis", [1, -1])
def test_softmax_gradient(impl, rng, axis):
    x = rng.normal(scale=10.0, size=SHAPE)
    top_diff = rng.normal(size=SHAPE)

    def objective(z):
        return np.sum(top_diff * impl.softmax_forward(z, axis=axis))

    analytic = impl.softmax_backward(impl.softmax_forward(x, axis=axis), top_diff, axis=axis)
    result = ebm.gradcheck(objective, x, analytic, step=STEP, tol=1e-3)
    assert result, str(result)
    assert np.max(np.abs(analytic)) > 1e-2
    assert_scaled_close(result.numeric, analytic)


def test_softmax_gradient_std1(rng):
    # with std 10 the softmax saturates; std 1 gives larger, denser gradients
    x = rng.normal(size=SHAPE)
    top_diff = rng.normal(size=SHAPE)
    layer = ebm.Softmax()
    layer.forward(x)
    f = lambda z: np.sum(top_diff * ebm.softmax_forward(z))  # noqa: E731
    assert ebm.gradcheck(f, x, layer.backward(top_diff), tol=1e-3, raise_on_failure=True)


# --------------------------------------------------------------------------- ebm.gradcheck itself


def _erratum_gradient(prob, label):
    """The article's displayed formula, cases swapped: prob at k, prob - 1 elsewhere."""
    g = prob - 1.0
    np.put_along_axis(g, label, np.take_along_axis(prob, label, axis=1), axis=1)
    return g / label.size  # VALID, nothing ignored


def test_gradcheck_rejects_the_articles_erratum(caffe_data):
    x, label = caffe_data
    _, prob = ebm.softmax_loss_forward(x, label)
    f = lambda z: ebm.softmax_loss_forward(z, label)[0]  # noqa: E731
    right = ebm.softmax_loss_backward(prob, label)
    wrong = _erratum_gradient(prob, label)
    assert not np.allclose(right, wrong)
    good = ebm.gradcheck(f, x, right)
    bad = ebm.gradcheck(f, x, wrong)
    assert good and good.passed
    assert not bad and not bad.passed
    assert "FAILED" in str(bad) and "passed" in str(good)
    # the erratum is off by 1/count at every kept element
    assert np.max(bad.ratio) > 1e-2
    # scaled up (as with a sum instead of a mean) it is hopeless everywhere
    f_sum = lambda z: ebm.softmax_loss_forward(z, label, normalization="none")[0]  # noqa: E731
    bad_sum = ebm.gradcheck(f_sum, x, wrong * label.size)
    assert not bad_sum
    assert np.count_nonzero(bad_sum.ratio > 1e-2) >= label.size * (SHAPE[1] - 1)


def test_wrong_normalizer_passes_caffe_rule_but_not_the_scaled_check(caffe_data):
    x, label = caffe_data
    opts = dict(ignore_label=0, normalization="valid")
    _, prob = ebm.softmax_loss_forward(x, label, **opts)
    f = lambda z: ebm.softmax_loss_forward(z, label, **opts)[0]  # noqa: E731
    wrong = ebm.softmax_loss_backward(prob, label, ignore_label=0, normalization="full")
    result = ebm.gradcheck(f, x, wrong)
    assert result  # Caffe's rule is too lenient here ...
    with pytest.raises(AssertionError):
        assert_scaled_close(result.numeric, wrong)  # ... the scaled check is not


def test_gradcheck_rejects_nan_gradient(caffe_data):
    x, label = caffe_data
    _, prob = ebm.softmax_loss_forward(x, label)
    f = lambda z: ebm.softmax_loss_forward(z, label)[0]  # noqa: E731
    g = ebm.softmax_loss_backward(prob, label)
    g[3, 2, 1, 0] = np.nan
    result = ebm.gradcheck(f, x, g)
    assert not result
    assert result.worst == (3, 2, 1, 0)
    with pytest.raises(AssertionError, match="FAILED: 1 of 300 elements"):
        ebm.gradcheck(f, x, g, raise_on_failure=True)


def test_gradcheck_names_the_first_of_the_elements_tied_for_worst():
    """Half the gradient errs by the same ratio wherever the gradient is the same: the first of those
    elements is named, whatever the rounding of the last bits; a larger ratio still wins a tie's place."""
    x = np.zeros(4)
    f = lambda z: float(np.sum(z))  # noqa: E731  (gradient 1 everywhere)
    result = ebm.gradcheck(f, x, np.full(4, 0.5))
    assert result.worst == (0,) and not result
    ratio = np.array([0.5, 0.5 + 1e-12, 0.5 - 1e-12, 0.2])  # ties up to rounding: the first
    tied = ebm.gradient_check.GradcheckResult(False, np.ones(4), np.ones(4), ratio, 1e-2, 1e-2)
    assert tied.worst == (0,)
    ratio[2] = 0.6  # a larger one is the worst
    assert ebm.gradient_check.GradcheckResult(False, np.ones(4), np.ones(4), ratio, 1e-2, 1e-2).worst == (2,)


def test_gradcheck_rejects_nan_objective():
    x = np.array([1.0, 2.0])
    result = ebm.gradcheck(lambda z: np.nan, x, np.zeros(2))
    assert not result


def test_gradcheck_pass_rule_is_relative_to_max_abs_and_one():
    x = np.array([0.3, -0.7])
    # f = sum(x): numeric gradient 1 (up to rounding); rule scale max(|a|, |b|, 1) ~ 1
    f = lambda z: float(np.sum(z))  # noqa: E731
    assert ebm.gradcheck(f, x, np.array([1.009, 0.991]), tol=1e-2)
    assert not ebm.gradcheck(f, x, np.array([1.011, 1.0]), tol=1e-2)
    # tiny gradients: the "1" in the max makes an absolute error of 0.009 pass
    g = lambda z: 1e-6 * float(np.sum(z))  # noqa: E731
    assert ebm.gradcheck(g, x, np.array([0.009, -0.009]), tol=1e-2)
    # f = 100 sum(x): scale 100, so 0.9 off passes and 1.2 off fails
    h = lambda z: 100.0 * float(np.sum(z))  # noqa: E731
    assert ebm.gradcheck(h, x, np.array([100.9, 99.1]), tol=1e-2)
    assert not ebm.gradcheck(h, x, np.array([101.2, 100.0]), tol=1e-2)


def test_numerical_gradient_is_central_difference():
    # for a cubic, the central difference is exactly 3 x^2 + step^2
    x = np.array([[0.5, -1.25], [2.0, 3.0]])
    num = ebm.numerical_gradient(lambda z: float(np.sum(z**3)), x, step=1e-2)
    np.testing.assert_allclose(num, 3 * x**2 + 1e-4, rtol=1e-9)
    # a one-sided difference would be off by 3 x step; make sure we are not that
    assert not np.allclose(num, 3 * x**2 + 3 * x * 1e-2, rtol=1e-6)


def test_gradcheck_never_modifies_x(rng):
    x = rng.normal(size=(3, 4))
    x_ro = x.copy()
    x_ro.flags.writeable = False
    keep = x.copy()

    def greedy_analytic(z):  # a callable analytic that scribbles on its argument
        out = 2 * z.copy()
        z[...] = 0.0
        return out

    for arr in (x, x_ro):
        ebm.gradcheck(lambda z: float(np.sum(z**2)), arr, 2 * arr)
        ebm.gradcheck(lambda z: float(np.sum(z**2)), arr, greedy_analytic)
        ebm.numerical_gradient(lambda z: float(np.sum(z**2)), arr)
        np.testing.assert_array_equal(arr, keep)
    # float32 input: checked in float64, x untouched
    x32 = x.astype(np.float32)
    k32 = x32.copy()
    assert ebm.gradcheck(lambda z: float(np.sum(z**2)), x32, 2 * x32.astype(np.float64))
    np.testing.assert_array_equal(x32, k32)


def test_gradcheck_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"analytic has shape \(3,\) but x has shape \(2, 2\)"):
        ebm.gradcheck(lambda z: 0.0, np.zeros((2, 2)), np.zeros(3))


def test_gradcheck_raise_on_failure(rng):
    x = rng.normal(size=4)
    f = lambda z: float(np.sum(z**2))  # noqa: E731
    with pytest.raises(AssertionError, match="gradcheck FAILED"):
        ebm.gradcheck(f, x, 3 * x, raise_on_failure=True)
    assert ebm.gradcheck(f, x, 2 * x, raise_on_failure=True)  # passing: no raise


def test_gradcheck_objective_must_be_scalar():
    with pytest.raises(ValueError, match="must return a scalar"):
        ebm.gradcheck(lambda z: z, np.zeros(2), np.zeros(2))
