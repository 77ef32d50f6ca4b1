"""ebm._math: sigmoid, softplus and logsumexp against direct formulas, at the edges and in Numba."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from ebm import _math

RNG = np.random.default_rng(7)
SAFE = np.concatenate([RNG.normal(0, 5, 1000), [-30.0, -1e-300, 0.0, 1e-300, 30.0]])  # exp(+-x) finite


def test_sigmoid_matches_the_direct_formula_where_that_is_safe():
    np.testing.assert_allclose(_math.sigmoid(SAFE), 1.0 / (1.0 + np.exp(-SAFE)), rtol=1e-15, atol=0)
    assert _math.sigmoid(0.0) == 0.5
    # the check rejects a plausible slip: the complement
    assert not np.allclose(_math.sigmoid(SAFE), 1.0 / (1.0 + np.exp(SAFE)))


def test_sigmoid_and_softplus_do_not_overflow_or_warn():
    x = np.array([-1e308, -1000.0, -745.0, 745.0, 1000.0, 1e308, -np.inf, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, sp = _math.sigmoid(x), _math.softplus(x)
    np.testing.assert_array_equal(s, [0, 0, math.exp(-745.0), 1, 1, 1, 0, 1])
    assert s[2] > 0  # keeps its relative precision below exp's overflow
    np.testing.assert_array_equal(sp[3:6], x[3:6])  # softplus(x) = x once exp(-x) is below x's ulp
    assert sp[0] == 0.0 and sp[1] == 0.0 and sp[2] == math.exp(-745.0)
    assert sp[-2] == 0.0 and sp[-1] == np.inf


def test_softplus_matches_log1p_exp_and_its_derivative_is_sigmoid():
    np.testing.assert_allclose(_math.softplus(SAFE), np.log1p(np.exp(SAFE)), rtol=1e-14, atol=1e-300)
    h = 1e-6
    central = (_math.softplus(SAFE + h) - _math.softplus(SAFE - h)) / (2 * h)
    np.testing.assert_allclose(central, _math.sigmoid(SAFE), atol=1e-8)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_logsumexp_matches_the_direct_sum_and_survives_a_shift(axis):
    a = RNG.normal(0, 3, (4, 7))
    direct = np.log(np.exp(a).sum(axis=axis))
    got = _math.logsumexp(a, axis=axis)
    np.testing.assert_allclose(got, direct, rtol=1e-14)
    assert isinstance(got, float) == (axis is None)
    # shifted far beyond exp's range, where the direct sum is inf: still exact
    np.testing.assert_allclose(_math.logsumexp(a + 1000.0, axis=axis), direct + 1000.0, rtol=1e-14)
    np.testing.assert_allclose(_math.logsumexp(a - 1000.0, axis=axis), direct - 1000.0, rtol=1e-14)


def test_logsumexp_of_minus_inf_slices_is_minus_inf_without_warning():
    a = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = _math.logsumexp(a, axis=1)
        assert _math.logsumexp([]) == -np.inf
    np.testing.assert_array_equal(out, [-np.inf, 0.0])
    assert _math.logsumexp([-np.inf, 2.5]) == 2.5


def test_the_jitted_twins_match_the_numpy_forms():
    from numba import njit

    sigmoid_jit, softplus_jit = _math.sigmoid_jit, _math.softplus_jit

    @njit
    def both(x, out):
        for k in range(x.size):
            out[0, k] = sigmoid_jit(x[k])
            out[1, k] = softplus_jit(x[k])

    x = np.concatenate([SAFE, [-1000.0, 1000.0]])
    out = np.empty((2, x.size))
    both(x, out)
    np.testing.assert_allclose(out[0], _math.sigmoid(x), rtol=1e-15, atol=0)
    np.testing.assert_allclose(out[1], _math.softplus(x), rtol=1e-15, atol=0)
    assert [_math.sigmoid_scalar(v) for v in (-1000.0, 0.0)] == [0.0, 0.5]


def test_importing_ebm_math_loads_no_numba():
    import subprocess
    import sys

    code = "import sys, ebm._math, ebm._states\nprint('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stdout + out.stderr
    with pytest.raises(AttributeError, match="has no attribute 'tanh_jit'"):
        _math.tanh_jit
