"""The vectorisable exp used by the kernels, measured against np.exp."""

import math

import numpy as np
import pytest

from ebm._fastexp import _EXP, exp_nonpositive

ULP = {np.float64: np.finfo(np.float64).eps, np.float32: np.finfo(np.float32).eps}
# measured: 1.00 ulp (float64, a fitted degree 11), 1.36 ulp (float32, a fitted degree 5)
BOUND = {np.float64: 1.5, np.float32: 1.5}
# the cut: below it the kernel returns 0 (an absolute error below exp(cut))
LOW = {np.float64: -708.0, np.float32: -87.0}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relative_error_is_a_few_ulp_over_the_normal_range(dtype, exp_nonpositive_array):
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            -rng.random(200_000) * -LOW[dtype],  # the whole normal range
            -rng.random(50_000) * 1e-3,  # near 0, where r is tiny
            -np.arange(0, 60) * np.log(2),  # exact multiples of ln 2
            [0.0, -0.0, LOW[dtype] + 1e-3],
        ]
    ).astype(dtype)
    got = exp_nonpositive_array(x)
    want = np.exp(x.astype(np.float64))  # the float64 oracle
    assert got.dtype == dtype
    rel = np.abs(got.astype(np.float64) - want) / want
    assert rel.max() <= BOUND[dtype] * ULP[dtype], f"max error {rel.max() / ULP[dtype]:.2f} ulp"
    assert got[x == 0].tolist() == [1.0] * int(np.count_nonzero(x == 0))


def test_the_float64_polynomial_is_within_its_fitted_error_and_taylors_of_its_degree_is_not():
    """float64's exp(r) is a fitted degree-11 polynomial: 6.7e-17 (0.3 ulp) from exp(r) before rounding;
    Taylor's degree 11 would be 6e-15 (28 ulp) off."""
    r = np.linspace(-np.log(2) / 2, np.log(2) / 2, 10_001).astype(np.longdouble)
    exact = np.exp(r)
    taylor = sum(r**k / math.factorial(k) for k in range(12))
    assert (np.abs(taylor - exact) / exact).max() > BOUND[np.float64] * ULP[np.float64]
    fitted = np.polyval(np.array(_EXP[64].coefficients, np.longdouble), r)
    assert (np.abs(fitted - exact) / exact).max() <= 7e-17


def test_the_float32_bound_rejects_taylors_polynomial_of_the_same_degree():
    """float32's exp(r) is a fitted degree-5 polynomial; Taylor's degree 5 would be 20 ulp off."""
    r = np.linspace(-np.log(2) / 2, np.log(2) / 2, 10_001)
    taylor = sum(r**k / math.factorial(k) for k in range(6))
    assert (np.abs(taylor - np.exp(r)) / np.exp(r)).max() > BOUND[np.float32] * ULP[np.float32]
    # ... while the fitted one, in float64 arithmetic, is within 9.2e-8 (the rest is float32 rounding)
    fitted = np.polyval(_EXP[32].coefficients, r)
    assert (np.abs(fitted - np.exp(r)) / np.exp(r)).max() <= 9.2e-8


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_below_the_cut_the_result_is_zero_within_exp_of_the_cut(dtype, exp_nonpositive_array):
    x = np.array([LOW[dtype], LOW[dtype] - 1, -1e4, -1e30, -np.inf], dtype=dtype)
    got = exp_nonpositive_array(x)
    assert np.all(got >= 0)
    bound = np.exp(np.float64(LOW[dtype]))  # 3.3e-308 (float64), 1.6e-38 (float32)
    assert np.all(np.abs(got - np.exp(x.astype(np.float64))) <= bound)
    assert got[-1] == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nan_stays_nan(dtype, exp_nonpositive_array):
    got = exp_nonpositive_array(np.array([np.nan, -1.0], dtype=dtype))
    assert np.isnan(got[0]) and not np.isnan(got[1])


def test_python_fallback_matches_numpy():
    x = np.array([-3.0, -0.5, 0.0])
    np.testing.assert_allclose(exp_nonpositive(x), np.exp(x))
