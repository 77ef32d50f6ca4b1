"""The SIMD vectors of rows of ebm._rowvec, and the narrow kernel that uses them.

The narrow kernel as a whole is compared with ebm.reference in test_fast_paths.py;
here are the parts of the contract the comparison alone would not catch: what the
vector stores write past their rows, how many rows may use them, and that a NaN,
+inf or all -inf row is reported whichever code (eight rows, one row in a vector,
scalar) did it.

The wrappers below are cached like the package's kernels, with the package's digest in
their cache key (:func:`ebm._numba_cache.stamp_directory`): an edit of ebm's SIMD code
recompiles them, and an unchanged package loads them instead of compiling a dozen
SIMD functions at every run.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from numba import njit

import ebm
from ebm import _numba_cache, _parallel
from ebm import softmax_loss as core
from ebm._rowvec import (
    row_softmax,
    row_window,
    rows8_window,
    rows_loss_diff,
    rows_softmax,
    rows_softmax_diff,
    rows_softmax_loss,
    vector_rows,
)

_numba_cache.stamp_directory(os.path.dirname(os.path.abspath(__file__)))


@njit(cache=True)
def _one_row(x, top, b, C):
    return row_softmax(x, top, b, C)


@njit(cache=True)
def _eight_rows(x, top, b, C, m, s, j):
    rows_softmax(x, top, b, C, m, s, j, 8)


@njit(cache=True)
def _sixteen_rows(x, top, b, C, m, s, j):
    rows_softmax(x, top, b, C, m, s, j, 16)


@njit(cache=True)
def _eight_rows_loss(x, top, b, C, lab, has_ignore, ignore_label, ls, xd, j):
    return rows_softmax_loss(x, top, b, C, lab, has_ignore, ignore_label, ls, xd, j, 8)


@njit(cache=True)
def _sixteen_rows_loss(x, top, b, C, lab, has_ignore, ignore_label, ls, xd, j):
    return rows_softmax_loss(x, top, b, C, lab, has_ignore, ignore_label, ls, xd, j, 16)


@njit(cache=True)
def _softmax_diff(p, g, d, n, C):
    return rows_softmax_diff(p, g, d, n, C)


def _backward_case(C, dtype, rows=12):
    """``(rng, rows, n, p, d)``: ``rows`` rows of probabilities-like ``p``, of which the first
    ``n`` can use vectors, and an output ``d`` filled with 7.0 (to see what is written)."""
    rng = np.random.default_rng(C)
    return rng, rows, vector_rows(rows, C), rng.random(rows * C).astype(dtype), np.full(rows * C, 7.0, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [1, 2, 5, 8, 9, 10, 12, 13, 15])
def test_the_softmax_backward_rows_match_the_formula_and_stay_inside_their_vectors(dtype, C):
    rng, rows, n, p, d = _backward_case(C, dtype)
    g = rng.normal(size=rows * C).astype(dtype)
    bad = _softmax_diff(p, g, d, n, C)
    p2, g2 = p.reshape(rows, C), g.reshape(rows, C)
    dot = np.einsum("rc,rc->r", p2.astype(np.float64), g2.astype(np.float64)).astype(dtype)
    want = p2 * (g2 - dot[:, None])
    eps = np.finfo(dtype).eps  # the dot's order of additions is free
    bound = 4 * C * eps * np.abs(p2) * np.einsum("rc,rc->r", np.abs(p2), np.abs(g2))[:, None] + 4 * eps * np.abs(want)
    assert np.all(np.abs(d.reshape(rows, C)[:n] - want[:n]) <= bound[:n])
    last_end = (n - 1) * C + row_window(C)
    assert np.all(d[last_end:] == 7.0) and bad == 0
    # the check sees a gradient computed without the dot
    assert not np.all(np.abs(d.reshape(rows, C)[:n] - (p2 * g2)[:n]) <= bound[:n])
    g[C + 1] = np.inf  # row 1's dot is not finite
    assert _softmax_diff(p, g, d, n, C) == (1 if n > 1 else 0)


@njit(cache=True)
def _loss_diff(p, lab, d, n, C, w, has_ignore, ignore_label):
    return rows_loss_diff(p, lab, d, n, C, w, has_ignore, ignore_label)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [1, 2, 5, 8, 9, 10, 12, 13, 15])
def test_the_loss_backward_rows_are_the_formula_and_stay_inside_their_vectors(dtype, C):
    rng, rows, n, p, d = _backward_case(C, dtype)
    lab = rng.integers(0, C, rows)
    lab[3] = 255  # ignored
    w = dtype(0.37)
    bad, check = _loss_diff(p, lab, d, n, C, w, True, 255)
    want = (p.reshape(rows, C) - np.eye(C, dtype=dtype)[np.minimum(lab, C - 1)]) * w
    want[3] = 0.0
    got = d.reshape(rows, C)
    np.testing.assert_array_equal(got[:n], want[:n])  # the same formula, the same bits
    forgot_onehot = p.reshape(rows, C) * w  # a plausible wrong answer: no -1
    forgot_onehot[3] = 0.0
    assert n >= 1 and not np.array_equal(got[:n], forgot_onehot[:n])
    last_end = (n - 1) * C + row_window(C)  # the last row's vector
    assert np.all(d[n * C : last_end] != 7.0) and np.all(d[last_end:] == 7.0)
    assert bad == 0 and check == 0.0
    # out of range labels are counted, a NaN in p shows in the check
    lab[5] = C
    p[2 * C] = np.nan
    bad, check = _loss_diff(p, lab, d, n, C, w, True, 255)
    assert bad == (1 if n > 5 else 0) and (np.isnan(check) if n > 2 else True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [1, 2, 5, 8, 9, 10, 12, 13, 15])
def test_one_row_writes_its_softmax_then_zeros_and_nothing_past_its_vector(dtype, C):
    rng = np.random.default_rng(C)
    W = row_window(C)
    x = (rng.normal(scale=4.0, size=W + 7)).astype(dtype)
    top = np.full(W + 7, 7.0, dtype=dtype)
    b = 3  # an unaligned start
    m, s = _one_row(x, top, b, C)
    row = x[b : b + C].astype(np.float64)
    want = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
    eps = np.finfo(dtype).eps
    # a few roundings, plus that of x - max in x's dtype (relative to exp: |x - max| * eps / 2)
    bound = want * (4 + np.abs(row - row.max())) * eps
    assert np.all(np.abs(top[b : b + C] - want) <= bound)
    assert m == row.max()
    np.testing.assert_allclose(s, np.exp(row - row.max()).sum(), rtol=4 * C * eps)
    assert np.all(top[:b] == 7.0)  # before the row: untouched
    assert np.all(top[b + C : b + W] == 0.0)  # the spill: zeros
    assert np.all(top[b + W :] == 7.0)  # past the vector: untouched


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [1, 2, 5, 8, 9, 10, 12, 13, 15])
@pytest.mark.parametrize("k", [8, 16], ids=["rows8", "rows16"])
def test_groups_of_rows_write_their_softmax_and_stay_inside_the_last_rows_vector(dtype, C, k):
    rng = np.random.default_rng(C)
    W = row_window(C)
    b = 3  # an unaligned start
    x = (rng.normal(scale=4.0, size=b + (k - 1) * C + W + 5)).astype(dtype)
    x[b + 2 * C : b + 3 * C] += 30.0  # rows of very different scales
    top = np.full(x.size, 7.0, dtype=dtype)
    m = np.full(k + 3, 7.0, dtype=dtype)
    s = np.full(k + 3, 7.0)
    (_eight_rows if k == 8 else _sixteen_rows)(x, top, b, C, m, s, 2)
    rows = x[b : b + k * C].reshape(k, C).astype(np.float64)
    e = np.exp(rows - rows.max(axis=1, keepdims=True))
    want = e / e.sum(axis=1, keepdims=True)
    eps = np.finfo(dtype).eps
    bound = want * (4 + np.abs(rows - rows.max(axis=1, keepdims=True))) * eps
    got = top[b : b + k * C].reshape(k, C)
    assert np.all(np.abs(got - want) <= bound)
    assert np.array_equal(m[2 : k + 2], rows.max(axis=1).astype(dtype))
    np.testing.assert_allclose(s[2 : k + 2], e.sum(axis=1), rtol=4 * C * eps)
    assert np.all(m[:2] == 7.0) and np.all(m[k + 2 :] == 7.0) and np.all(s[:2] == 7.0) and np.all(s[k + 2 :] == 7.0)
    assert np.all(top[:b] == 7.0)
    assert C <= rows8_window(C) <= W
    end = b + (k - 1) * C + rows8_window(C)  # the last row's vector
    assert np.all(top[b + k * C : end] == 0.0)  # its spill: zeros
    assert np.all(top[end:] == 7.0)  # past it: untouched
    if C > 1:  # (one class: every row is [1.0])
        # ... and the check is tight enough to see two rows' results swapped
        swapped = list(range(k))
        swapped[k - 2], swapped[k - 1] = k - 1, k - 2
        assert not np.all(np.abs(got[swapped] - want) <= bound)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [1, 2, 5, 8, 9, 10, 12, 13, 15])
@pytest.mark.parametrize("k", [8, 16], ids=["rows8", "rows16"])
def test_groups_of_rows_give_the_loss_parts_of_their_rows(dtype, C, k):
    rng = np.random.default_rng(C)
    b, j = 3, 2  # unaligned starts in x and in the parts
    x = (rng.normal(scale=4.0, size=b + (k - 1) * C + row_window(C) + 5)).astype(dtype)
    x[b + 2 * C : b + 3 * C] += 30.0
    x[b + 4 * C] = np.nan  # row 4 is bad: its log s is NaN
    lab = rng.integers(0, C, k + j + 3)
    labels = {j + 1: 255, j + 3: -1, j + 5: C, j + 6: 2**40 + 1}  # ignored, out of range (2**40 + 1: its
    for r, value in labels.items():  # low 32 bits are a class)
        lab[r] = value
    ls, xd = np.full(k + j + 3, 7.0), np.full(k + j + 3, 7.0)
    top = np.full(x.size, 7.0, dtype=dtype)
    kept, bad = (_eight_rows_loss if k == 8 else _sixteen_rows_loss)(x, top, b, C, lab, True, 255, ls, xd, j)
    # the softmax is rows_softmax's, bit for bit
    top_plain, m, s = np.full(x.size, 7.0, dtype=dtype), np.empty(k, dtype), np.empty(k)
    (_eight_rows if k == 8 else _sixteen_rows)(x, top_plain, b, C, m, s, 0)
    np.testing.assert_array_equal(top, top_plain)
    # xd = x[k] - max in x's dtype where the label is kept, else NaN
    rows = x[b : b + k * C].reshape(k, C)
    own = lab[j : j + k]
    keep = (own >= 0) & (own < C)
    want_xd = np.full(k, np.nan)
    want_xd[keep] = (rows[keep, own[keep]] - m[keep]).astype(np.float64)
    np.testing.assert_array_equal(xd[j : j + k], want_xd)
    assert (kept, bad) == (int(keep.sum()), 3)  # -1, C and 2**40 + 1; 255 is ignored
    # ls = log s, computed in x's dtype; NaN for the bad row
    eps = np.finfo(dtype).eps
    good = np.isfinite(s)
    assert np.isnan(ls[j + 4]) and not good[4] and np.all(good[np.arange(k) != 4])
    np.testing.assert_allclose(
        ls[j : j + k][good], np.log(s[good].astype(dtype)).astype(np.float64), rtol=4 * eps, atol=4 * eps
    )
    assert np.all(ls[:j] == 7.0) and np.all(ls[j + k :] == 7.0) and np.all(xd[:j] == 7.0) and np.all(xd[j + k :] == 7.0)
    if C > 1:  # the check sees a label picked one class off
        off = want_xd.copy()
        off[keep] = (rows[keep, (own[keep] + 1) % C] - m[keep]).astype(np.float64)
        assert not np.array_equal(xd[j : j + k], off)


def test_the_row_check_rejects_a_wrong_normaliser():
    """The rtol above tells the right softmax from one normalised by another row's sum."""
    x = np.random.default_rng(0).normal(scale=4.0, size=16)
    top = np.zeros(16)
    _one_row(x, top, 0, 10)
    want = np.exp(x[:10] - x[:10].max())
    wrong = want / (want.sum() * (1 + 1e-9))
    bound = wrong * (4 + np.abs(x[:10] - x[:10].max())) * np.finfo(float).eps
    assert not np.all(np.abs(top[:10] - wrong) <= bound)


@pytest.mark.parametrize("C", range(1, 17))
def test_vector_rows_is_the_most_rows_whose_vector_stays_inside(C):
    W = row_window(C)
    assert W in (8, 16) and C <= W
    for n in range(0, 60):
        k = vector_rows(n, C)
        assert 0 <= k <= n
        if k:
            assert (k - 1) * C + W <= n * C  # the last vector row stays inside
        assert k == n or k * C + W > n * C  # one more would not


@pytest.fixture(params=["serial", "parallel"])
def twin(request, monkeypatch):
    monkeypatch.setattr(_parallel, "PARALLEL_MIN_WORK", 1 << 62 if request.param == "serial" else 0)
    monkeypatch.setattr(_parallel, "machine_is_busy", lambda: False)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad_label", [-1, 10, 2**40 + 3])
@pytest.mark.parametrize(
    "N,r",
    [(2000, 20), (30, 18), (2000, 817), (2000, 818)],
    ids=["sixteen-rows", "eight-rows", "one-row-vector", "scalar-tail"],
)
def test_a_bad_label_is_reported_and_an_ignored_one_ignored_whichever_code_does_it(twin, dtype, bad_label, N, r):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(N, 10)).astype(dtype)
    label = rng.integers(0, 10, N)
    label[r] = 255
    loss = ebm.softmax_loss_forward(x, label, ignore_label=255, normalization="none")[0]
    kept = np.arange(N) != r
    want = ebm.reference.softmax_loss_forward(x[kept], label[kept], normalization="none")[0]
    assert abs(loss - want) <= 1e-5 * want
    label[r] = bad_label
    with pytest.raises(ValueError, match=f"{r}.*{bad_label}"):
        ebm.softmax_loss_forward(x, label, ignore_label=255)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("poison", ["nan", "+inf", "all -inf"])
@pytest.mark.parametrize(
    "N,r",
    [(2000, 20), (30, 18), (2000, 817), (2000, 818)],
    ids=["sixteen-rows", "eight-rows", "one-row-vector", "scalar-tail"],
)
def test_a_bad_row_is_reported_whichever_code_does_it(twin, dtype, poison, N, r):
    rng = np.random.default_rng(1)
    C = 10
    # a task's first rows go 16 at a time, then 8, then one vector a row, then scalar:
    # 819 rows (N = 2000) -> 16 * 51, 0, 2, 1;  30 rows (N = 30) -> 16, 8, 5, 1
    assert core.BLOCK // C == 819 and vector_rows(819, C) == 818 and vector_rows(30, C) == 29
    x = rng.normal(size=(N, C)).astype(dtype)
    label = rng.integers(0, C, N)
    if poison == "nan":
        x[r, 3] = np.nan
    elif poison == "+inf":
        x[r, 3] = np.inf
    else:
        x[r, :] = -np.inf
    with pytest.raises(ValueError, match=f"row|column|{r}"):
        ebm.softmax_forward(x)
    with pytest.raises(ValueError):
        ebm.softmax_loss_forward(x, label)
    top = ebm.softmax_forward(rng.normal(size=(N, C)).astype(dtype))
    top_diff = rng.normal(size=(N, C)).astype(dtype)
    top_diff[r, 2] = np.nan if poison == "nan" else np.inf
    with pytest.raises(ValueError, match="top_diff"):
        ebm.softmax_backward(top, top_diff)


def test_the_cached_wrappers_go_stale_with_the_package():
    """The wrappers' cache key is their file's stamp and the package's digest (stamp_directory)."""
    locator = _one_row._cache._impl.locator
    assert type(locator).__name__.startswith("EbmPackage"), type(locator)
    _own, digest = locator.get_source_stamp()
    assert digest == _numba_cache.package_digest()
