"""The one-vector-per-row softmax of ebm._rowvec, and the narrow kernel that uses it.

The narrow kernel as a whole is compared with ebm.reference in test_fast_paths.py;
here are the parts of the contract the comparison alone would not catch: what the
vector store writes past its row, how many rows may use it, and that a NaN, +inf
or all -inf row done in a vector is reported.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import ebm
from ebm import _parallel
from ebm import softmax_loss as core
from ebm._rowvec import row_softmax, row_window, vector_rows


@njit
def _one_row(x, top, b, C):
    return row_softmax(x, top, b, C)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [5, 8, 9, 10, 15])
def test_one_row_writes_its_softmax_then_zeros_and_nothing_past_its_vector(dtype, C):
    rng = np.random.default_rng(C)
    W = row_window(C)
    x = (rng.normal(scale=4.0, size=W + 7)).astype(dtype)
    top = np.full(W + 7, 7.0, dtype=dtype)
    b = 3                                                        # an unaligned start
    m, s = _one_row(x, top, b, C)
    row = x[b:b + C].astype(np.float64)
    want = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
    eps = np.finfo(dtype).eps
    # a few roundings, plus that of x - max in x's dtype (relative to exp: |x - max| * eps / 2)
    bound = want * (4 + np.abs(row - row.max())) * eps
    assert np.all(np.abs(top[b:b + C] - want) <= bound)
    assert m == row.max()
    np.testing.assert_allclose(s, np.exp(row - row.max()).sum(), rtol=4 * C * eps)
    assert np.all(top[:b] == 7.0)                              # before the row: untouched
    assert np.all(top[b + C:b + W] == 0.0)                     # the spill: zeros
    assert np.all(top[b + W:] == 7.0)                          # past the vector: untouched


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
            assert (k - 1) * C + W <= n * C                  # the last vector row stays inside
        assert k == n or k * C + W > n * C                    # one more would not


@pytest.fixture(params=["serial", "parallel"])
def twin(request, monkeypatch):
    monkeypatch.setattr(_parallel, "PARALLEL_MIN_WORK", 1 << 62 if request.param == "serial" else 0)
    monkeypatch.setattr(_parallel, "machine_is_busy", lambda: False)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("poison", ["nan", "+inf", "all -inf"])
def test_a_bad_row_done_in_a_vector_is_reported(twin, dtype, poison):
    rng = np.random.default_rng(1)
    N, C = 2000, 10
    assert C >= core.ROWVEC_MIN and vector_rows(core.BLOCK // C, C) > 20
    x = rng.normal(size=(N, C)).astype(dtype)
    label = rng.integers(0, C, N)
    r = 20                                                     # a row of the vector loop
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
