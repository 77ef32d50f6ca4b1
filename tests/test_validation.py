"""ebm._checks, the one validation module: TypeError for a wrong type, ValueError for a wrong value,
each naming the argument (and the position and value), never modifying the caller's array."""

from __future__ import annotations

import numpy as np
import pytest

from ebm import _checks, gibbs, rbm
from ebm import boltzmann as bz


@pytest.mark.parametrize("value", [2.0, "3", True, np.bool_(False), None, [1]])
def test_check_int_rejects_a_non_integer_type(value):
    with pytest.raises(TypeError, match=r"^k must be an integer, got "):
        _checks.check_int(value, "k")


def test_check_int_range_and_accepted_integers():
    assert _checks.check_int(np.int16(3), "k") == 3 and type(_checks.check_int(np.int64(3), "k")) is int
    with pytest.raises(ValueError, match="^k must be positive, got 0$"):
        _checks.check_int(0, "k")
    with pytest.raises(ValueError, match="^k must be >= 2, got 1$"):
        _checks.check_int(1, "k", low=2)
    with pytest.raises(ValueError, match="^k must be at most 5, got 6$"):
        _checks.check_int(6, "k", high=5)


def test_check_float_types_values_and_size_one_arrays():
    assert _checks.check_float(np.array([0.5]), "lr") == 0.5 and _checks.check_float(2, "lr") == 2.0
    with pytest.raises(TypeError, match=r"^lr must be a real scalar, got an array of shape \(2,\)$"):
        _checks.check_float(np.zeros(2), "lr")
    with pytest.raises(TypeError, match="^lr must be a real number, got True$"):
        _checks.check_float(True, "lr")
    with pytest.raises(ValueError, match="^lr must be finite, got nan$"):
        _checks.check_float(float("nan"), "lr")
    with pytest.raises(ValueError, match="^lr must be > 0, got 0.0$"):
        _checks.check_float(0.0, "lr", low=0.0, low_open=True)
    with pytest.raises(ValueError, match="^m must be <= 1, got 1.5$"):
        _checks.check_float(1.5, "m", high=1.0)


def test_real_and_binary_arrays_name_the_position_and_copy():
    x = np.array([[1.0, 2.0], [3.0, np.inf]])
    with pytest.raises(ValueError, match=r"^W\[1, 1\] is inf: values must be finite$"):
        _checks.check_real_array(x, "W")
    assert np.isinf(_checks.check_real_array(x, "W", allow_inf=True)).sum() == 1
    with pytest.raises(TypeError, match="W must hold real numbers, got dtype bool"):
        _checks.check_real_array(x > 1, "W")
    with pytest.raises(ValueError, match=r"W must have shape \(2, 3\), got \(2, 2\)"):
        _checks.check_real_array(x, "W", shape=(2, 3))
    s = np.array([[0, 1, 1], [1, 2, 0]])
    with pytest.raises(ValueError, match=r"^V\[1, 1\] is 2: the units are binary, values must be 0 or 1; fix$"):
        _checks.check_binary(s, 3, "V", hint="fix")
    ok = np.array([0, 1, 1])
    out = _checks.check_binary(ok, 3, "V", np.int8)
    out[0] = 1
    assert ok[0] == 0 and out.dtype == np.int8  # a copy: the caller's array is untouched
    rows, single = _checks.binary_rows(ok, 3)
    assert rows.shape == (1, 3) and single and rows.dtype == np.float64
    with pytest.raises(TypeError, match="V must be numeric"):
        _checks.check_binary(np.array(["a", "b"]), 2, "V")
    with pytest.raises(ValueError, match=r"V must have shape \(M, 3\), got \(3,\)"):
        _checks.binary_rows(ok, 3, allow_1d=False)


def test_seed_helpers():
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert _checks.as_rng(g1) is g1
    assert _checks.kernel_seed(g1) == int(g2.integers(0, 2**31 - 1))  # one draw; the generator moves on
    assert _checks.kernel_seed(g1, high=10) < 10
    assert _checks.kernel_seed(12345) == 12345 and 0 <= _checks.kernel_seed(None) < 2**31 - 1
    for bad in ("1", 1.5, True):
        with pytest.raises(TypeError, match="seed must be None, an integer or a numpy.random.Generator"):
            _checks.kernel_seed(bad)
        with pytest.raises(TypeError, match="seed must be None, an integer or a numpy.random.Generator"):
            _checks.as_rng(bad)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*32\), got -1"):
        _checks.kernel_seed(-1)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        # one meaning across the chapters: a wrong type is a TypeError, a wrong value a ValueError
        (lambda: bz.BoltzmannMachine(np.zeros((2, 2))).sample(1.5), TypeError, "n_samples must be an integer"),
        (lambda: bz.BoltzmannMachine(np.zeros((2, 2))).sample(0), ValueError, "n_samples must be positive, got 0"),
        (lambda: bz.BoltzmannMachine(np.zeros((2, 2))).sample(2, seed=-3), ValueError, r"seed must be an integer in"),
        (lambda: bz.BoltzmannMachine(np.zeros((2, 2)), T="hot"), TypeError, "T must be a real number"),
        (lambda: bz.spin_glass(1), ValueError, "n_units must be >= 2, got 1"),
        (lambda: rbm.RBM(3, 2).gibbs_sampling(np.zeros(3), k="2"), TypeError, "k must be an integer"),
        (lambda: rbm.RBM(3, 2).free_energy([0, 1, 0.5]), ValueError, r"V\[2\] is 0.5: the units are binary.*binarise"),
        (lambda: rbm.RBM(3, 2).fit(np.zeros((4, 3)), lr=-1.0), ValueError, "lr must be > 0, got -1.0"),
        (lambda: gibbs.hinge_loss([[1.0, 2.0]], [0], m="1"), TypeError, "m must be a real number"),
        (lambda: gibbs.hinge_loss([[1.0, 2.0]], [0], m=-1.0), ValueError, "m must be >= 0, got -1.0"),
    ],
)
def test_the_chapters_raise_with_one_meaning(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
