"""The Numba core (``ebm``) against the NumPy reference (``ebm.reference``) and
against a third, independent oracle written here.

The oracle below shares no code with either implementation: it moves the class
axis last with ``np.moveaxis`` (instead of Caffe's ``(outer, C, inner)`` view),
computes the log-softmax with ``np.logaddexp.reduce`` (instead of
max-subtract-exp-sum), and builds the loss gradient from a one-hot matrix
(instead of "copy prob, subtract 1 at the label").  It always works in float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ebm
from ebm import reference as ref

IMPLS = [pytest.param(ebm, id="core"), pytest.param(ref, id="reference")]
NORMALIZATIONS = ["full", "valid", "batch_size", "none", "FULL", "Valid", "BATCH_SIZE", "None"]
RTOL = {np.float64: 1e-12, np.float32: 1e-5}
MAX_SIDE = {1: 7, 2: 6, 3: 5, 4: 4, 5: 3}  # keeps every random blob small
NDIM_AXIS = [(nd, ax) for nd in range(1, 6) for ax in range(-nd, nd)]


# --------------------------------------------------------------------------- independent oracle


def oracle_log_softmax(x, axis):
    z = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    return z - np.logaddexp.reduce(z, axis=-1, keepdims=True)  # classes last


def oracle_softmax(x, axis):
    return np.moveaxis(np.exp(oracle_log_softmax(x, axis)), -1, axis)


def oracle_softmax_backward(top_data, top_diff, axis):
    p = np.moveaxis(np.asarray(top_data, np.float64), axis, -1)
    g = np.moveaxis(np.asarray(top_diff, np.float64), axis, -1)
    jvp = p * g - p * np.sum(p * g, axis=-1, keepdims=True)
    return np.moveaxis(jvp, -1, axis)


def oracle_normalizer(normalization, shape, axis, n_kept):
    axis = axis % len(shape)
    count = {
        "full": math.prod(shape[:axis]) * math.prod(shape[axis + 1 :]),  # ignored included
        "valid": n_kept,
        "batch_size": math.prod(shape[:axis]),
        "none": 1,
    }[normalization.lower()]
    return max(count, 1)


def oracle_loss_and_grad(x, label, axis, ignore_label=None, normalization="valid", top_diff=1.0):
    """(loss, dloss/dx) in float64, classes moved to the last axis."""
    x = np.asarray(x)
    logp = oracle_log_softmax(x, axis)  # (..., C)
    C = logp.shape[-1]
    lab = np.asarray(label).reshape(logp.shape[:-1]).astype(np.int64)
    keep = np.ones(lab.shape, bool) if ignore_label is None else lab != ignore_label
    k = np.where(keep, lab, 0)
    nll = -np.take_along_axis(logp, k[..., None], axis=-1)[..., 0]
    norm = oracle_normalizer(normalization, x.shape, axis, int(keep.sum()))
    loss = float(np.sum(nll[keep])) / norm
    onehot = np.eye(C)[k]
    grad = (np.exp(logp) - onehot) * keep[..., None] * (top_diff / norm)
    return loss, np.moveaxis(grad, -1, axis)


# --------------------------------------------------------------------------- helpers


def assert_close(actual, desired, rtol):
    """rtol elementwise plus atol = rtol * max(1, max|desired|).

    Pure elementwise relative error is meaningless near 0: entries such as
    ``p * (g - <p, g>)`` or ``prob - 1`` come out of a cancellation (a dot product
    subtracted from a value of similar size), so their absolute error is about
    eps times the size of the terms, not eps times the (tiny) result.  The atol
    scaled by the array's magnitude accounts for that.
    """
    desired = np.asarray(desired, dtype=np.float64)
    atol = rtol * max(1.0, float(np.max(np.abs(desired), initial=0.0)))
    np.testing.assert_allclose(np.asarray(actual, np.float64), desired, rtol=rtol, atol=atol)


def assert_loss_close(actual, desired, rtol, x):
    # A loss term is logsumexp(x) - x_k: a difference of numbers as large as max|x|.
    atol = rtol * max(1.0, float(np.max(np.abs(x), initial=0.0)))
    assert isinstance(actual, float)
    assert abs(actual - desired) <= rtol * abs(desired) + atol, (actual, desired)


def make_case(rng, ndim, axis, dtype, ignore_label=None, scale=3.0):
    shape = tuple(int(s) for s in rng.integers(1, MAX_SIDE[ndim] + 1, size=ndim))
    x = (rng.normal(scale=scale, size=shape)).astype(dtype)
    ax = axis % ndim
    C = shape[ax]
    lshape = shape[:ax] + shape[ax + 1 :]
    label = rng.integers(0, C, size=lshape)
    if ignore_label is not None and ignore_label >= C:
        label = np.where(rng.random(lshape) < 0.3, ignore_label, label)
    return x, np.asarray(label)


# --------------------------------------------------------------------------- softmax


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ndim,axis", NDIM_AXIS)
def test_softmax_forward_backward_match(rng, ndim, axis, dtype):
    rtol = RTOL[dtype]
    x, _ = make_case(rng, ndim, axis, dtype)
    top_core = ebm.softmax_forward(x, axis=axis)
    top_ref = ref.softmax_forward(x, axis=axis)
    assert top_core.dtype == top_ref.dtype == dtype
    assert top_core.shape == x.shape
    assert_close(top_core, top_ref, rtol)
    assert_close(top_core, oracle_softmax(x.astype(np.float64), axis), rtol)

    top_diff = rng.normal(size=x.shape).astype(dtype)
    bd_core = ebm.softmax_backward(top_core, top_diff, axis=axis)
    bd_ref = ref.softmax_backward(top_core, top_diff, axis=axis)
    assert bd_core.dtype == bd_ref.dtype == dtype
    assert_close(bd_core, bd_ref, rtol)
    assert_close(bd_core, oracle_softmax_backward(top_core, top_diff, axis), rtol)

    # the layer object is the same computation
    layer = ebm.Softmax(axis)
    np.testing.assert_array_equal(layer.forward(x), top_core)
    np.testing.assert_array_equal(layer.backward(top_diff), bd_core)


# --------------------------------------------------------------------------- softmax with loss


@pytest.mark.parametrize("ignore_label", [None, 255, 0], ids=["no-ignore", "ignore255", "ignore0"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ndim,axis", NDIM_AXIS)
def test_softmax_loss_matches(rng, ndim, axis, dtype, ignore_label):
    rtol = RTOL[dtype]
    x, label = make_case(rng, ndim, axis, dtype, ignore_label)
    label_kept = np.expand_dims(label, axis % ndim)  # Caffe's (N, 1, H, W) form
    x64 = x.astype(np.float64)
    top_diff = 1.7
    opts = dict(axis=axis, ignore_label=ignore_label)
    for normalization in NORMALIZATIONS:
        loss_c, prob_c = ebm.softmax_loss_forward(x, label, normalization=normalization, **opts)
        loss_r, prob_r = ref.softmax_loss_forward(x, label, normalization=normalization, **opts)
        loss_o, grad_o = oracle_loss_and_grad(x64, label, axis, ignore_label, normalization, top_diff)
        assert prob_c.dtype == prob_r.dtype == dtype
        assert_close(prob_c, prob_r, rtol)
        assert_close(prob_c, oracle_softmax(x64, axis), rtol)
        assert_loss_close(loss_c, loss_r, rtol, x)
        assert_loss_close(loss_c, loss_o, rtol, x)

        g_c = ebm.softmax_loss_backward(prob_c, label, top_diff=top_diff, normalization=normalization, **opts)
        g_r = ref.softmax_loss_backward(prob_c, label, top_diff=top_diff, normalization=normalization, **opts)
        assert g_c.dtype == g_r.dtype == dtype
        assert g_c.shape == x.shape
        assert_close(g_c, g_r, rtol)
        assert_close(g_c, grad_o, rtol)

        # the (N, 1, H, W) label form gives exactly the same answer
        loss_k, prob_k = ebm.softmax_loss_forward(x, label_kept, normalization=normalization, **opts)
        assert loss_k == loss_c
        np.testing.assert_array_equal(prob_k, prob_c)
        g_k = ebm.softmax_loss_backward(prob_c, label_kept, top_diff=top_diff, normalization=normalization, **opts)
        np.testing.assert_array_equal(g_k, g_c)
        assert ref.softmax_loss_forward(x, label_kept, normalization=normalization, **opts)[0] == loss_r


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("label_dtype", [np.float64, np.float32, np.int32, np.uint8, np.int16])
def test_label_dtypes(rng, impl, label_dtype):
    x = rng.normal(size=(4, 5, 3))
    label = rng.integers(0, 5, size=(4, 3))
    loss_int, prob = impl.softmax_loss_forward(x, label)
    loss, _ = impl.softmax_loss_forward(x, label.astype(label_dtype))
    assert loss == loss_int
    np.testing.assert_array_equal(
        impl.softmax_loss_backward(prob, label.astype(label_dtype)), impl.softmax_loss_backward(prob, label)
    )
    assert_loss_close(loss, oracle_loss_and_grad(x, label, 1)[0], 1e-12, x)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "in_dtype,out_dtype",
    [
        (np.int64, np.float64),
        (np.int32, np.float64),
        (np.uint8, np.float64),
        (np.float16, np.float32),
        (np.float32, np.float32),
        (np.float64, np.float64),
    ],
)
def test_dtype_rules(rng, impl, in_dtype, out_dtype):
    x = rng.integers(-4, 5, size=(3, 4, 2)).astype(in_dtype)
    label = rng.integers(0, 4, size=(3, 2))
    top = impl.softmax_forward(x)
    loss, prob = impl.softmax_loss_forward(x, label)
    assert top.dtype == prob.dtype == out_dtype
    assert impl.softmax_loss_backward(prob, label).dtype == out_dtype
    assert impl.softmax_backward(top, np.ones_like(top)).dtype == out_dtype
    rtol = RTOL[out_dtype]
    assert_close(top, oracle_softmax(x.astype(np.float64), 1), rtol)
    assert_loss_close(loss, oracle_loss_and_grad(x.astype(np.float64), label, 1)[0], rtol, x.astype(float))
    if out_dtype == np.float64 and in_dtype != np.float64:
        # integer data is computed exactly as its float64 conversion
        np.testing.assert_array_equal(top, impl.softmax_forward(x.astype(np.float64)))


def test_big_endian_float_is_accepted():
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], dtype=">f8")
    expected = oracle_softmax(x.astype("<f8"), 1)
    for impl in (ebm, ref):
        assert_close(impl.softmax_forward(x), expected, 1e-12)


# --------------------------------------------------------------------------- Caffe's normalizer


def _hand_terms(x, label, ignore_label):
    """-log p at each position of an (N, C, S) blob, in pure Python math."""
    N, C, S = x.shape
    terms = {}
    for i in range(N):
        for j in range(S):
            k = int(label[i, j])
            if k == ignore_label:
                continue
            col = [float(x[i, c, j]) for c in range(C)]
            terms[i, j] = math.log(sum(math.exp(v) for v in col)) - col[k]
    return terms


@pytest.mark.parametrize("impl", IMPLS)
def test_caffe_normalizer_semantics(impl, rng):
    x = rng.normal(size=(2, 3, 2))
    label = np.array([[2, 255], [0, 1]])  # one of the 4 positions ignored
    total = sum(_hand_terms(x, label, 255).values())
    expected = {"full": total / 4, "valid": total / 3, "batch_size": total / 2, "none": total}
    grads = {}
    for normalization, want in expected.items():
        loss, prob = impl.softmax_loss_forward(x, label, ignore_label=255, normalization=normalization)
        assert loss == pytest.approx(want, rel=1e-13)
        grads[normalization] = impl.softmax_loss_backward(prob, label, ignore_label=255, normalization=normalization)
        assert np.all(grads[normalization][0, :, 1] == 0.0)  # the ignored position
    # the gradient scales with 1 / normalizer, too
    for normalization, divisor in {"full": 4, "valid": 3, "batch_size": 2}.items():
        assert_close(grads[normalization] * divisor, grads["none"], 1e-13)
    # VALID == FULL when nothing is ignored
    loss_v, _ = impl.softmax_loss_forward(x, np.array([[2, 1], [0, 1]]), normalization="valid")
    loss_f, _ = impl.softmax_loss_forward(x, np.array([[2, 1], [0, 1]]), normalization="full")
    assert loss_v == pytest.approx(loss_f, rel=1e-15)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("normalization", ["full", "valid", "batch_size", "none"])
def test_all_ignored_gives_zero_loss_and_exact_zero_gradient(impl, normalization, rng):
    x = rng.normal(size=(3, 4, 2))
    label = np.full((3, 2), 7)
    loss, prob = impl.softmax_loss_forward(x, label, ignore_label=7, normalization=normalization)
    assert loss == 0.0 and not math.isnan(loss)
    g = impl.softmax_loss_backward(prob, label, ignore_label=7, normalization=normalization, top_diff=3.0)
    assert g.shape == x.shape and np.all(g == 0.0)


@pytest.mark.parametrize("normalize,equivalent", [(True, "valid"), (False, "batch_size")])
def test_legacy_normalize_flag(rng, normalize, equivalent):
    x = rng.normal(size=(3, 4, 5))
    label = rng.integers(0, 4, size=(3, 5))
    label[0, :3] = 255  # so VALID (12) and BATCH_SIZE (3) differ
    # Caffe reads the legacy flag only when normalization is not set
    layer = ebm.SoftmaxWithLoss(ignore_label=255, normalize=normalize)
    assert layer.normalization == equivalent
    loss = layer.forward(x, label)
    want_loss, want_grad = oracle_loss_and_grad(x, label, 1, 255, equivalent, top_diff=2.0)
    other, _ = oracle_loss_and_grad(x, label, 1, 255, "batch_size" if normalize else "valid")
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert loss != pytest.approx(other, rel=1e-3)
    assert_close(layer.backward(2.0), want_grad, 1e-12)
    # and the default layer is VALID
    assert ebm.SoftmaxWithLoss(ignore_label=255).forward(x, label) == pytest.approx(
        oracle_loss_and_grad(x, label, 1, 255, "valid")[0], rel=1e-12
    )


def test_layer_matches_functions(rng):
    x = rng.normal(size=(2, 3, 4, 2))
    label = rng.integers(0, 4, size=(2, 3, 1, 2))  # axis -2 kept at size 1
    layer = ebm.SoftmaxWithLoss(axis=-2, ignore_label=1, normalization="full")
    loss = layer.forward(x, label)
    want_loss, want_grad = oracle_loss_and_grad(x, label, -2, 1, "full")
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert_close(layer.prob, oracle_softmax(x, -2), 1e-12)
    assert_close(layer.backward(), want_grad, 1e-12)


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "shape,label_shape",
    [((0, 5), (0,)), ((0, 5, 3), (0, 3)), ((0, 5, 3), (0, 1, 3)), ((4, 5, 0), (4, 0)), ((0, 0), (0,))],
)
@pytest.mark.parametrize("ignore_label", [None, 3])
def test_empty_batch(impl, shape, label_shape, ignore_label):
    x = np.zeros(shape)
    label = np.zeros(label_shape, dtype=np.int64)
    assert impl.softmax_forward(x).shape == shape
    for normalization in ("full", "valid", "batch_size", "none"):
        loss, prob = impl.softmax_loss_forward(x, label, ignore_label=ignore_label, normalization=normalization)
        assert loss == 0.0 and isinstance(loss, float)
        assert prob.shape == shape
        g = impl.softmax_loss_backward(prob, label, ignore_label=ignore_label, normalization=normalization)
        assert g.shape == shape and g.size == 0
    assert impl.softmax_backward(x, x).shape == shape


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_logits_do_not_overflow(impl, dtype):
    x = np.array([[1e4, 1e4, -1e4], [-1e4, 0.0, 1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        top = impl.softmax_forward(x)
        loss, prob = impl.softmax_loss_forward(x, np.array([2, 0]), normalization="none")
        g = impl.softmax_loss_backward(prob, np.array([2, 0]), normalization="none")
    assert np.all(np.isfinite(top)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(top, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], rtol=0, atol=1e-7)
    # -log p: column 0 label 2 -> 1e4 + log 2 - (-1e4); column 1 label 0 -> 1e4 - (-1e4)
    # (the float32 reference computes in float32, so only float32 accuracy is promised)
    assert loss == pytest.approx(2e4 + math.log(2) + 2e4, rel=RTOL[dtype] / 10)
    np.testing.assert_allclose(g, [[0.5, 0.5, -1.0], [-1.0, 0.0, 1.0]], rtol=0, atol=1e-7)
    assert loss == pytest.approx(
        oracle_loss_and_grad(x.astype(float), [2, 0], 1, None, "none")[0], rel=RTOL[dtype] / 10
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_single_minus_inf_gets_probability_zero(impl):
    x = np.array([[0.0, -np.inf, math.log(3.0)]])  # exp sums 1 + 0 + 3 = 4
    top = impl.softmax_forward(x)
    np.testing.assert_allclose(top, [[0.25, 0.0, 0.75]], rtol=1e-15)
    assert top[0, 1] == 0.0
    loss, prob = impl.softmax_loss_forward(x, np.array([0]))
    assert loss == pytest.approx(math.log(4.0), rel=1e-15)
    np.testing.assert_allclose(impl.softmax_loss_backward(prob, np.array([0])), [[-0.75, 0.0, 0.75]], rtol=1e-15)
    # the label sitting on the -inf logit: p = 0 there, so the loss is +inf (no cap)
    loss_inf, _ = impl.softmax_loss_forward(x, np.array([1]))
    assert loss_inf == math.inf
    # the softmax backward at the -inf entry is 0 (top_data is 0 there)
    bd = impl.softmax_backward(top, np.array([[1.0, 5.0, -2.0]]))
    assert bd[0, 1] == 0.0
    assert_close(bd, oracle_softmax_backward(top, np.array([[1.0, 5.0, -2.0]]), 1), 1e-14)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gap", [200.0, 1000.0])
def test_no_flt_min_cap_on_the_loss(impl, dtype, gap):
    # Caffe computes -log(max(p, FLT_MIN)), capping a term at -log(FLT_MIN) = 87.3365.
    flt_min_cap = -math.log(np.finfo(np.float32).tiny)
    assert flt_min_cap == pytest.approx(87.3365, abs=1e-4)
    x = np.array([[0.0, gap]], dtype=dtype)
    loss, _ = impl.softmax_loss_forward(x, np.array([0]))
    # exact: log(1 + e^gap) - 0 = gap + log1p(e^-gap)
    assert loss == pytest.approx(gap + math.log1p(math.exp(-gap)), rel=1e-12)
    assert loss > flt_min_cap + 100
