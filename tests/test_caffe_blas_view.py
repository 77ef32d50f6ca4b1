"""Caffe's BLAS view of the softmax backward (ebm.reference, article §7-§8).

The strided dots and the rank-1 GEMM broadcast must rebuild
``ebm.reference.softmax_backward`` exactly as Caffe's formula says, and the flat
index ``i*dim + c*inner_num + j`` must be NumPy's C-order index of ``(outer, C, inner)``.
"""

import numpy as np
import pytest

from ebm import reference as ref

SHAPES = [
    ((4, 5), 1),  # plain (batch, classes): inner_num = 1
    ((2, 3, 2, 2), 1),  # (N, C, H, W)
    ((10, 5, 2, 3), 1),  # Caffe's test blob
    ((3, 4, 5), -1),  # softmax over the last axis: inner_num = 1
    ((2, 3, 4, 5), 2),  # outer_num = 6
    ((7,), 0),  # one column
]


def _inputs(shape, axis, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    top_data = ref.softmax_forward(rng.normal(scale=3.0, size=shape), axis).astype(dtype)
    top_diff = rng.normal(size=shape).astype(dtype)
    return top_data, top_diff


def _view(arr, axis):
    axis = axis % arr.ndim
    outer = int(np.prod(arr.shape[:axis], dtype=np.int64))
    inner = int(np.prod(arr.shape[axis + 1 :], dtype=np.int64))
    return arr.reshape(outer, arr.shape[axis], inner)


@pytest.mark.parametrize("shape, axis", SHAPES, ids=[str(s) for s, _ in SHAPES])
def test_strided_dots_are_the_column_dots(shape, axis):
    top_data, top_diff = _inputs(shape, axis)
    dots = ref.strided_dots(top_data, top_diff, axis)
    p, g = _view(top_data, axis), _view(top_diff, axis)
    assert dots.shape == (p.shape[0], p.shape[2])
    np.testing.assert_allclose(dots, (p * g).sum(axis=1), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("shape, axis", SHAPES, ids=[str(s) for s, _ in SHAPES])
def test_gemm_broadcast_rebuilds_softmax_backward(shape, axis):
    top_data, top_diff = _inputs(shape, axis, seed=1)
    expected = _view(ref.softmax_backward(top_data, top_diff, axis), axis)
    dots = ref.strided_dots(top_data, top_diff, axis)
    p, g = _view(top_data, axis), _view(top_diff, axis)
    C = p.shape[1]
    for i in range(p.shape[0]):
        broadcast = ref.gemm_broadcast(dots[i], C)
        assert broadcast.shape == (C, p.shape[2])
        np.testing.assert_array_equal(broadcast, np.tile(dots[i], (C, 1)))  # rank 1: rows equal
        np.testing.assert_allclose(p[i] * (g[i] - broadcast), expected[i], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        ref.softmax_backward_blas(top_data, top_diff, axis),
        ref.softmax_backward(top_data, top_diff, axis),
        rtol=1e-12,
        atol=1e-14,
    )


def test_float32_is_kept():
    top_data, top_diff = _inputs((2, 3, 2, 2), 1, dtype=np.float32)
    assert ref.strided_dots(top_data, top_diff).dtype == np.float32
    assert ref.gemm_broadcast(np.ones(4, np.float32), 3).dtype == np.float32
    np.testing.assert_allclose(
        ref.softmax_backward_blas(top_data, top_diff), ref.softmax_backward(top_data, top_diff), rtol=1e-5, atol=1e-6
    )


def test_strided_dots_reads_non_contiguous_input_by_its_logical_layout():
    top_data, top_diff = _inputs((3, 2, 4), 1, seed=2)
    td, tf = np.asfortranarray(top_data), np.asfortranarray(top_diff)
    np.testing.assert_allclose(ref.strided_dots(td, tf), ref.strided_dots(top_data, top_diff))


@pytest.mark.parametrize("outer, C, inner", [(1, 1, 1), (2, 3, 4), (3, 5, 6), (4, 2, 1)])
def test_flat_index_matches_ravel_multi_index(outer, C, inner):
    i, c, j = np.meshgrid(np.arange(outer), np.arange(C), np.arange(inner), indexing="ij")
    expected = np.ravel_multi_index((i, c, j), (outer, C, inner))
    np.testing.assert_array_equal(ref.flat_index(i, c, j, C, inner), expected)
    for n in range(0, outer * C * inner, 7):  # scalar calls return ints
        ii, cc, jj = np.unravel_index(n, (outer, C, inner))
        assert ref.flat_index(int(ii), int(cc), int(jj), C, inner) == n


def test_flat_index_is_where_the_element_lives():
    blob = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2) * 10
    flat = blob.reshape(-1)
    for i, c, h, w in np.ndindex(blob.shape):
        assert flat[ref.flat_index(i, c, h * 2 + w, 3, 4)] == blob[i, c, h, w]


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((0, 3, 0, 3, 4), ValueError, r"c must satisfy 0 <= c < 3"),
        ((0, 0, 4, 3, 4), ValueError, r"j must satisfy 0 <= j < 4"),
        ((-1, 0, 0, 3, 4), ValueError, r"i must satisfy 0 <= i"),
        ((0.5, 0, 0, 3, 4), TypeError, r"i must be an integer"),
        ((0, True, 0, 3, 4), TypeError, r"c must be an integer"),
        ((0, 0, 0, 0, 4), ValueError, r"channels must be at least 1"),
        ((0, 0, 0, 3, 2.0), TypeError, r"inner_num must be an integer"),
    ],
)
def test_flat_index_rejects_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        ref.flat_index(*args)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="top_diff has shape"):
        ref.strided_dots(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"top_diff\[0, 1\] is nan"):
        ref.strided_dots(np.ones((2, 3)), np.array([[0, np.nan, 0], [0, 0, 0]]))
    with pytest.raises(ValueError, match="dots_i must be 1-D"):
        ref.gemm_broadcast(np.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="channels must be at least 1"):
        ref.gemm_broadcast(np.ones(2), 0)
    with pytest.raises(TypeError, match="dots_i must hold real numbers"):
        ref.gemm_broadcast(np.array(["a"]), 2)


def test_jacobian_and_the_printed_erratum():
    x = np.array([1.0, 2.0, 3.0])
    J = ref.softmax_jacobian(x)
    p = ref.softmax_forward(x, 0)
    np.testing.assert_allclose(J, np.diag(p) - np.outer(p, p))
    g = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(J.T @ g, ref.softmax_backward(p, g, 0), atol=1e-15)
    printed = ref.article_printed_loss_gradient(x, 2)
    np.testing.assert_allclose(printed, [p[2] - 1, p[2] - 1, p[2]])
    _, prob = ref.softmax_loss_forward(x[None], [2])
    correct = ref.softmax_loss_backward(prob, [2])[0]
    assert not np.allclose(printed, correct)
    with pytest.raises(ValueError, match="k must satisfy 0 <= k < 3"):
        ref.article_printed_loss_gradient(x, 3)
    with pytest.raises(ValueError, match="x must be a non-empty 1-D"):
        ref.softmax_jacobian(np.ones((2, 2)))
