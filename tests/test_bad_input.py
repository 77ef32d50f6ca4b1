"""Bad input raises a clear error; odd-but-valid input (non-contiguous, read-only)
works; no input array is ever modified.  Every check runs on the Numba core and
on the reference, and every error message is matched."""

from __future__ import annotations

import re

import numpy as np
import pytest

import ebm
from ebm import reference as ref

IMPLS = [pytest.param(ebm, id="core"), pytest.param(ref, id="reference")]
X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7.0  # (N, C, S): C = 3, label (2, 4)
LABEL = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
PROB = ref.softmax_forward(X)


def esc(text):
    return re.escape(text)


def all_four(impl, *, axis=1, normalization="valid", ignore_label=None, top_diff=1.0, x=X, label=LABEL, prob=PROB):
    """Call each core function once with the given options (for shared-argument checks)."""
    opts = dict(axis=axis, ignore_label=ignore_label, normalization=normalization)
    return [
        lambda: impl.softmax_forward(x, axis=axis),
        lambda: impl.softmax_backward(prob, prob, axis=axis),
        lambda: impl.softmax_loss_forward(x, label, **opts),
        lambda: impl.softmax_loss_backward(prob, label, top_diff=top_diff, **opts),
    ]


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("bad,where", [(3, (1, 2)), (-1, (0, 3)), (255, (1, 0))])
def test_label_out_of_range_names_position_and_value(impl, bad, where):
    label = LABEL.copy()
    label[where] = bad
    msg = esc(f"label[{where[0]}, {where[1]}] is {bad}, outside the valid classes [0, 3)")
    with pytest.raises(ValueError, match=msg):
        impl.softmax_loss_forward(X, label)
    with pytest.raises(ValueError, match=msg):
        impl.softmax_loss_backward(PROB, label)
    # the (N, 1, S) form names the position in its own shape
    kept = label[:, None, :]
    with pytest.raises(ValueError, match=esc(f"label[{where[0]}, 0, {where[1]}] is {bad}")):
        impl.softmax_loss_forward(X, kept)
    # a different ignore_label does not excuse it, and the message says so
    with pytest.raises(ValueError, match=esc("and is not ignore_label=7")):
        impl.softmax_loss_forward(X, label, ignore_label=7)
    # ... but the same one does
    impl.softmax_loss_forward(X, label, ignore_label=bad)


@pytest.mark.parametrize("impl", IMPLS)
def test_uint64_label_beyond_int64_is_out_of_range(impl):
    # 2**64 - 1 must not wrap to -1 and silently match ignore_label=-1
    label = LABEL.astype(np.uint64)
    label[1, 1] = np.iinfo(np.uint64).max
    with pytest.raises(ValueError, match=esc("label[1, 1] is 18446744073709551615, outside")):
        impl.softmax_loss_forward(X, label, ignore_label=-1)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("bad,shown", [(2.5, "2.5"), (np.nan, "nan"), (np.inf, "inf"), (-0.5, "-0.5")])
def test_non_integral_float_label(impl, bad, shown):
    label = LABEL.astype(np.float64)
    label[0, 2] = bad
    with pytest.raises(ValueError, match=esc(f"label[0, 2] is {shown}, which is not an integer")):
        impl.softmax_loss_forward(X, label)
    with pytest.raises(ValueError, match="which is not an integer"):
        impl.softmax_loss_backward(PROB, label.astype(np.float32))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [(2, 3), (4, 2), (2, 4, 1), (8,), (2, 2, 4), ()])
def test_label_shape_fitting_neither_form(impl, shape):
    label = np.zeros(shape, dtype=np.int64)
    msg = esc(f"label has shape {shape}") + ".*" + esc("expected (2, 4) or (2, 1, 4)")
    with pytest.raises(ValueError, match=msg):
        impl.softmax_loss_forward(X, label)
    with pytest.raises(ValueError, match=msg):
        impl.softmax_loss_backward(PROB, label)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("label", [LABEL.astype(np.complex128), LABEL.astype(str), LABEL.astype(object)])
def test_label_bad_dtype(impl, label):
    with pytest.raises(TypeError, match="label must hold integers"):
        impl.softmax_loss_forward(X, label)
    with pytest.raises(TypeError, match="label must hold integers"):
        impl.softmax_loss_backward(PROB, label)


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("axis", [3, -4, 10])
def test_axis_out_of_range(impl, axis):
    assert issubclass(np.exceptions.AxisError, ValueError)
    assert issubclass(np.exceptions.AxisError, IndexError)
    for call in all_four(impl, axis=axis):
        with pytest.raises(np.exceptions.AxisError, match=esc(f"axis {axis} is out of range") + ".*-3 to 2"):
            call()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("axis", [1.0, "1", None, True, np.float64(1.0)])
def test_axis_not_an_integer(impl, axis):
    for call in all_four(impl, axis=axis):
        with pytest.raises(TypeError, match="axis must be an integer"):
            call()


def test_axis_numpy_integer_is_fine():
    np.testing.assert_array_equal(ebm.softmax_forward(X, axis=np.int64(-2)), ebm.softmax_forward(X, axis=1))


@pytest.mark.parametrize("bad", [1.0, "1", None, True])
def test_layer_axis_not_an_integer(bad):
    with pytest.raises(TypeError, match="axis must be an integer"):
        ebm.Softmax(axis=bad)
    with pytest.raises(TypeError, match="axis must be an integer"):
        ebm.SoftmaxWithLoss(axis=bad)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("normalization", ["mean", "", "batchsize", None, 1])
def test_unknown_normalization(impl, normalization):
    msg = esc("normalization must be one of 'full', 'valid', 'batch_size', 'none'")
    for call in all_four(impl, normalization=normalization)[2:]:
        with pytest.raises(ValueError, match=msg):
            call()
    if normalization is not None:  # None is the layer's "not set" (Caffe's default, VALID)
        with pytest.raises(ValueError, match=msg):
            ebm.SoftmaxWithLoss(normalization=normalization)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("ignore_label", [1.0, "255", True, np.float32(2), [1]])
def test_ignore_label_not_an_int(impl, ignore_label):
    for call in all_four(impl, ignore_label=ignore_label)[2:]:
        with pytest.raises(TypeError, match="ignore_label must be an integer or None"):
            call()
    with pytest.raises(TypeError, match="ignore_label must be an integer or None"):
        ebm.SoftmaxWithLoss(ignore_label=ignore_label)


@pytest.mark.parametrize("impl", IMPLS)
def test_huge_ignore_label_matches_nothing(impl):
    # an ignore_label beyond int64 cannot equal any label: same as no ignore_label
    want = impl.softmax_loss_forward(X, LABEL)[0]
    assert impl.softmax_loss_forward(X, LABEL, ignore_label=2**70)[0] == want
    np.testing.assert_array_equal(
        impl.softmax_loss_backward(PROB, LABEL, ignore_label=-(2**70)), impl.softmax_loss_backward(PROB, LABEL)
    )


def test_legacy_normalize_must_be_bool():
    with pytest.raises(TypeError, match="normalize must be True, False or None"):
        ebm.SoftmaxWithLoss(normalize=1)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "top_diff,exc,msg",
    [
        (np.array([1.0, 2.0]), TypeError, "must be a real scalar"),
        ([1.0], TypeError, "must be a real number"),
        ("2", TypeError, "must be a real number"),
        (1 + 2j, TypeError, "must be a real number"),
        (True, TypeError, "must be a real number"),
        (np.nan, ValueError, "top_diff must be finite, got nan"),
        (np.inf, ValueError, "top_diff must be finite, got inf"),
        (np.float32(-np.inf), ValueError, "top_diff must be finite, got -inf"),
    ],
)
def test_bad_loss_weight(impl, top_diff, exc, msg):
    with pytest.raises(exc, match=esc(msg)):
        impl.softmax_loss_backward(PROB, LABEL, top_diff=top_diff)


def test_bad_loss_weight_on_the_layer():
    layer = ebm.SoftmaxWithLoss()
    layer.forward(X, LABEL)
    with pytest.raises(ValueError, match="top_diff must be finite"):
        layer.backward(np.nan)
    with pytest.raises(TypeError, match="real scalar"):
        layer.backward(np.ones(3))


# --------------------------------------------------------------------------- data


POSITIONS = [(0, 0, 0), (1, 2, 3), (0, 1, 2), (1, 0, 3)]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("value,shown", [(np.nan, "nan"), (np.inf, "inf")])
@pytest.mark.parametrize("pos", POSITIONS)
def test_non_finite_logits_name_the_position(impl, dtype, value, shown, pos):
    x = X.astype(dtype)
    x[pos] = value
    msg = esc(f"bottom_data{list(pos)} is {shown}: logits must be finite")
    with pytest.raises(ValueError, match=msg):
        impl.softmax_forward(x)
    with pytest.raises(ValueError, match=msg):
        impl.softmax_loss_forward(x, LABEL)
    # even where the label is ignored: the column is still poisoned
    label = LABEL.copy()
    label[pos[0], pos[2]] = 9
    with pytest.raises(ValueError, match=msg):
        impl.softmax_loss_forward(x, label, ignore_label=9)


@pytest.mark.parametrize("impl", IMPLS)
def test_non_finite_logits_other_axis_and_spatial(impl):
    # the position is reported in bottom_data's own shape, whatever the axis
    x = np.zeros((3, 2, 5, 4))
    x[2, 1, 4, 0] = np.nan
    for axis in (0, 1, 2, -1):
        with pytest.raises(ValueError, match=esc("bottom_data[2, 1, 4, 0] is nan")):
            impl.softmax_forward(x, axis=axis)


@pytest.mark.parametrize("impl", IMPLS)
def test_column_all_minus_inf(impl):
    x = X.copy()
    x[1, :, 2] = -np.inf
    msg = esc("bottom_data[1, :, 2] is -inf in every channel")
    with pytest.raises(ValueError, match=msg):
        impl.softmax_forward(x)
    with pytest.raises(ValueError, match=msg):
        impl.softmax_loss_forward(x, LABEL)
    x1 = np.array([-np.inf, -np.inf])
    with pytest.raises(ValueError, match=esc("bottom_data[:] is -inf in every channel")):
        impl.softmax_forward(x1, axis=0)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "data",
    [
        X.astype(np.complex128),
        X.astype(object),
        X.astype(str),
        X.astype(np.longdouble) if np.dtype(np.longdouble).itemsize > 8 else X.astype(np.complex64),
    ],
    ids=["complex", "object", "str", "other"],
)
def test_bad_data_dtype(impl, data):
    msg = "must hold real numbers"
    with pytest.raises(TypeError, match="bottom_data " + msg):
        impl.softmax_forward(data)
    with pytest.raises(TypeError, match="bottom_data " + msg):
        impl.softmax_loss_forward(data, LABEL)
    with pytest.raises(TypeError, match="top_data " + msg):
        impl.softmax_backward(data, PROB)
    with pytest.raises(TypeError, match="top_diff " + msg):
        impl.softmax_backward(PROB, data)
    with pytest.raises(TypeError, match="prob " + msg):
        impl.softmax_loss_backward(data, LABEL)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("value,shown", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
@pytest.mark.parametrize("pos", [(0, 0, 0), (1, 2, 3)])
def test_non_finite_in_softmax_backward(impl, value, shown, pos):
    top_diff = np.ones_like(PROB)
    top_diff[pos] = value
    with pytest.raises(ValueError, match=esc(f"top_diff{list(pos)} is {shown}: it must be finite")):
        impl.softmax_backward(PROB, top_diff)
    top_data = PROB.copy()
    top_data[pos] = value
    with pytest.raises(ValueError, match=esc(f"top_data{list(pos)} is {shown}: it must be finite")):
        impl.softmax_backward(top_data, np.ones_like(PROB))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("ignore_label", [None, 9])
def test_non_finite_prob_in_loss_backward(impl, ignore_label):
    label = LABEL.copy()
    label[1, 3] = 9 if ignore_label is not None else label[1, 3]
    prob = PROB.copy()
    prob[1, 0, 3] = np.nan  # at a position that may be ignored
    with pytest.raises(ValueError, match=esc("prob[1, 0, 3] is nan: it must be finite")):
        impl.softmax_loss_backward(prob, label, ignore_label=ignore_label)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [(2, 3), (2, 4, 3), (2, 3, 4, 1), (24,)])
def test_top_diff_shape_mismatch(impl, shape):
    with pytest.raises(ValueError, match=esc(f"top_diff has shape {shape} but top_data has shape (2, 3, 4)")):
        impl.softmax_backward(PROB, np.ones(shape))


@pytest.mark.parametrize("impl", IMPLS)
def test_zero_classes_with_columns(impl):
    with pytest.raises(ValueError, match="the softmax axis has size 0"):
        impl.softmax_forward(np.zeros((2, 0, 3)))
    with pytest.raises(ValueError, match="the softmax axis has size 0"):
        impl.softmax_loss_forward(np.zeros((2, 0)), np.zeros(2, dtype=int))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="call forward first"):
        ebm.Softmax().backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="call forward first"):
        ebm.SoftmaxWithLoss().backward()


# --------------------------------------------------------------------------- layouts and mutation


def _strange_inputs(rng):
    """(x, label, top_diff) as non-contiguous views, plus contiguous copies of each."""
    big = rng.normal(scale=3.0, size=(4, 6, 2, 8))
    x = big[::2, ::2, :, 1::2]  # strided slice, shape (2, 3, 2, 4)
    lab_big = rng.integers(0, 3, size=(8, 2, 4))
    label = lab_big.transpose(2, 1, 0)[::2, :, ::2]  # transposed + strided, (2, 2, 4)
    top_diff = np.asfortranarray(rng.normal(size=(2, 3, 2, 4)))
    assert not x.flags.c_contiguous and not label.flags.c_contiguous
    assert not top_diff.flags.c_contiguous
    return x, label, top_diff


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("readonly", [False, True])
@pytest.mark.parametrize("ignore_label", [None, 1])
def test_non_contiguous_and_read_only_inputs(impl, rng, readonly, ignore_label):
    x, label, top_diff = _strange_inputs(rng)
    xc, lc, gc = (np.ascontiguousarray(a) for a in (x, label, top_diff))
    if readonly:
        for a in (x, label, top_diff):
            a.flags.writeable = False
    opts = dict(ignore_label=ignore_label, normalization="full")

    top = impl.softmax_forward(x)
    np.testing.assert_array_equal(top, impl.softmax_forward(xc))
    np.testing.assert_array_equal(impl.softmax_backward(top, top_diff), impl.softmax_backward(top, gc))
    loss, prob = impl.softmax_loss_forward(x, label, **opts)
    loss_c, prob_c = impl.softmax_loss_forward(xc, lc, **opts)
    assert loss == loss_c
    np.testing.assert_array_equal(prob, prob_c)
    np.testing.assert_array_equal(
        impl.softmax_loss_backward(prob, label, top_diff=2.0, **opts),
        impl.softmax_loss_backward(prob_c, lc, top_diff=2.0, **opts),
    )

    # read-only / transposed top_data and prob are fine too
    top_t = np.ascontiguousarray(np.moveaxis(top, 1, -1))
    if readonly:
        top_t.flags.writeable = False
        prob.flags.writeable = False
    top_view = np.moveaxis(top_t, -1, 1)  # non-contiguous, class axis 1
    np.testing.assert_array_equal(impl.softmax_backward(top_view, top_diff), impl.softmax_backward(top, gc))
    np.testing.assert_array_equal(
        impl.softmax_loss_backward(prob, label, **opts), impl.softmax_loss_backward(prob_c, lc, **opts)
    )
    # the class axis last, as a view: axis=-1 of the transposed blob is axis 1 of the original
    np.testing.assert_array_equal(np.moveaxis(impl.softmax_forward(np.moveaxis(x, 1, -1), axis=-1), -1, 1), top)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ignore_label", [None, 2])
@pytest.mark.parametrize("shape,axis", [((4, 3), 1), ((2, 3, 5), 1), ((2, 3, 5), -1)])
def test_no_input_is_modified(impl, rng, dtype, ignore_label, shape, axis):
    x = rng.normal(size=shape).astype(dtype)
    lshape = list(shape)
    del lshape[axis]
    label_i = rng.integers(0, shape[axis], size=lshape)
    label_f = label_i.astype(np.float32)
    top_diff = rng.normal(size=shape).astype(dtype)
    inputs = [x, label_i, label_f, top_diff]
    copies = [a.copy() for a in inputs]
    opts = dict(axis=axis, ignore_label=ignore_label)

    def unchanged(*produced):
        for a, c in zip(inputs, copies):
            np.testing.assert_array_equal(a, c, strict=True)
        for out in produced:  # and no output aliases an input
            assert not any(np.shares_memory(out, a) for a in inputs)

    top = impl.softmax_forward(x, axis=axis)
    unchanged(top)
    top_copy = top.copy()
    unchanged(impl.softmax_backward(top, top_diff, axis=axis))
    np.testing.assert_array_equal(top, top_copy)
    for label in (label_i, label_f):
        for normalization in ("full", "valid", "batch_size", "none"):
            _, prob = impl.softmax_loss_forward(x, label, normalization=normalization, **opts)
            unchanged(prob)
            prob_copy = prob.copy()
            unchanged(
                impl.softmax_loss_backward(prob, label, top_diff=np.float64(1.5), normalization=normalization, **opts)
            )
            np.testing.assert_array_equal(prob, prob_copy)


def test_layers_do_not_modify_inputs(rng):
    x = rng.normal(size=(3, 4, 2))
    label = rng.integers(0, 4, size=(3, 2))
    top_diff = rng.normal(size=x.shape)
    keep = [a.copy() for a in (x, label, top_diff)]
    s = ebm.Softmax()
    s.forward(x)
    s.backward(top_diff)
    layer = ebm.SoftmaxWithLoss(ignore_label=0)
    layer.forward(x, label)
    layer.backward(2.0)
    for a, c in zip((x, label, top_diff), keep):
        np.testing.assert_array_equal(a, c, strict=True)
