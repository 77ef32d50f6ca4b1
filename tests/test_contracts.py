"""The core's small contracts and the checks that must be able to fail.

Each test is written against the behaviour it replaces: a gradient check that
passed half the gradient, a legacy flag that overrode an explicit mode, layers
that kept the caller's arrays, a float16 promise the code did not keep.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import ebm
from ebm import reference as ref
from ebm.gradient_check import caffe_loss_gradient_test, caffe_test_blob

IMPLS = [pytest.param(ebm, id="core"), pytest.param(ref, id="reference")]
FUNCS = ("softmax_forward", "softmax_backward", "softmax_loss_forward", "softmax_loss_backward")


# --------------------------------------------------------------------------- checks that can fail


def _none_grad(prob, label):
    return ebm.softmax_loss_backward(prob, label, normalization="none")


@pytest.mark.parametrize("ignore_label", [None, 0])
def test_caffe_gradient_test_as_lecture_and_tour_run_it_rejects_wrong_gradients(ignore_label):
    opts = dict(ignore_label=ignore_label)

    def none_grad(prob, label):
        return ebm.softmax_loss_backward(prob, label, normalization="none", **opts)

    assert caffe_loss_gradient_test(**opts)  # the layer's own gradient
    assert caffe_loss_gradient_test(none_grad, **opts)  # the same, via backward=
    half = caffe_loss_gradient_test(lambda p, lab: 0.5 * none_grad(p, lab), **opts)
    off_by_one = caffe_loss_gradient_test(lambda p, lab: none_grad(p, lab) * 60 / 61, **opts)
    valid_divisor = caffe_loss_gradient_test(lambda p, lab: none_grad(p, lab) / 60, **opts)
    for wrong in (half, off_by_one, valid_divisor):
        assert not wrong
        assert np.count_nonzero(wrong.ratio > wrong.tol) >= 30  # not a marginal failure


def test_caffe_gradient_test_under_valid_normalization_cannot_fail():
    # Why the lecture and the tour changed: under VALID every element is below 1/60,
    # so the absolute floor of Caffe's rule lets half the gradient, or /61 for /60, through.
    data, label = caffe_test_blob()
    layer = ebm.SoftmaxWithLoss()
    layer.forward(data, label)
    true = layer.backward()
    assert np.abs(true).max() <= 1 / 60
    for wrong in (0.5 * true, true * 60 / 61):
        assert ebm.gradcheck(lambda z: layer.forward(z, label), data, wrong, tol=1e-2)


def test_caffe_gradient_test_checks_its_argument():
    with pytest.raises(TypeError, match=re.escape("backward must be callable as backward(prob, label)")):
        caffe_loss_gradient_test(np.zeros((10, 5, 2, 3)))


# --------------------------------------------------------------------------- the layers


def test_explicit_normalization_wins_over_legacy_normalize():
    # Caffe: `normalize` applies only when `normalization` is not set
    assert ebm.SoftmaxWithLoss(normalization="full", normalize=True).normalization == "full"
    assert ebm.SoftmaxWithLoss(normalization="valid", normalize=False).normalization == "valid"
    assert ebm.SoftmaxWithLoss(normalize=False).normalization == "batch_size"
    assert ebm.SoftmaxWithLoss(normalize=True).normalization == "valid"
    assert ebm.SoftmaxWithLoss().normalization == "valid"


def test_full_with_legacy_flag_computes_the_full_loss(rng):
    x = rng.normal(size=(2, 3, 4))
    label = rng.integers(0, 3, size=(2, 4))
    label[0, :2] = 255
    layer = ebm.SoftmaxWithLoss(ignore_label=255, normalization="full", normalize=True)
    loss = layer.forward(x, label)
    total, _ = ref.softmax_loss_forward(x, label, ignore_label=255, normalization="none")
    assert loss == pytest.approx(total / 8, rel=1e-12)  # FULL: all 8 positions
    assert loss != pytest.approx(total / 6, rel=1e-3)  # not VALID: the 6 kept ones


def test_layers_copy_label_and_top_data(rng):
    x = rng.normal(size=(3, 4))
    label = np.array([0, 3, 1])
    layer = ebm.SoftmaxWithLoss()
    layer.forward(x, label)
    want = layer.backward()
    label[:] = [2, 2, 2]  # the caller reuses its array
    np.testing.assert_array_equal(layer.backward(), want)

    soft = ebm.Softmax()
    top = soft.forward(x)
    top_diff = rng.normal(size=x.shape)
    want = soft.backward(top_diff)
    top[:] = 0.0  # the caller scribbles on the output
    np.testing.assert_array_equal(soft.backward(top_diff), want)


# --------------------------------------------------------------------------- dtypes, bools, shapes


@pytest.mark.parametrize("impl", IMPLS)
def test_float16_is_computed_and_returned_in_float32_as_documented(impl):
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], dtype=np.float16)
    label = np.array([2, 0])
    top = impl.softmax_forward(x)
    loss, prob = impl.softmax_loss_forward(x, label)
    outs = (top, prob, impl.softmax_backward(top, top), impl.softmax_loss_backward(prob, label))
    assert all(o.dtype == np.float32 for o in outs)
    np.testing.assert_allclose(top, ref.softmax_forward(x.astype(np.float64)), rtol=1e-3)
    for name in FUNCS:
        doc = getattr(impl, name).__doc__
        assert "float16" in doc and "float32" in doc, name  # the docstring says so
        assert "Same shape and dtype as" not in doc, name  # and no longer promises otherwise


@pytest.mark.parametrize("impl", IMPLS)
def test_bool_logits_and_labels_are_rejected(impl):
    x = np.array([[True, False, True]])
    with pytest.raises(TypeError, match=re.escape("bottom_data is boolean")):
        impl.softmax_forward(x)
    with pytest.raises(TypeError, match="bottom_data is boolean"):
        impl.softmax_loss_forward(x, np.array([0]))
    with pytest.raises(TypeError, match="top_diff is boolean"):
        impl.softmax_backward(np.full((1, 3), 1 / 3), x)
    with pytest.raises(TypeError, match=re.escape("label is boolean: labels are class indices")):
        impl.softmax_loss_forward(np.zeros((2, 2)), np.array([True, False]))
    with pytest.raises(TypeError, match="label is boolean"):
        impl.softmax_loss_backward(np.full((2, 2), 0.5), np.array([True, False]))


@pytest.mark.parametrize("impl", IMPLS)
def test_one_dimensional_logits_get_an_error_that_says_what_to_do(impl):
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(np.exceptions.AxisError, match=r"pass axis=0, or .* x\[None\]"):
        impl.softmax_forward(x)
    np.testing.assert_allclose(impl.softmax_forward(x, axis=0), impl.softmax_forward(x[None])[0])


@pytest.mark.parametrize("impl", IMPLS)
def test_flat_caffe_label_shape_is_accepted(impl, rng):
    x = rng.normal(size=(2, 3, 2, 2))
    label = rng.integers(0, 3, size=(2, 2, 2))
    want_loss, prob = impl.softmax_loss_forward(x, label)
    loss, _ = impl.softmax_loss_forward(x, label.reshape(2, 4))  # (N, H*W): Caffe's count check
    assert loss == want_loss
    np.testing.assert_array_equal(
        impl.softmax_loss_backward(prob, label.reshape(2, 4)), impl.softmax_loss_backward(prob, label)
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_label_with_the_right_count_but_another_shape_says_how_to_reshape(impl, rng):
    x = rng.normal(size=(2, 3, 2, 2))
    with pytest.raises(ValueError, match=re.escape("pass label.reshape(2, 2, 2)")):
        impl.softmax_loss_forward(x, np.zeros((4, 2), int))
    with pytest.raises(ValueError) as err:  # wrong count: no reshape hint
        impl.softmax_loss_forward(x, np.zeros((3, 2), int))
    assert "reshape" not in str(err.value)
