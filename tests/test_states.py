"""ebm._states: the one enumeration of binary states, its limit, its blocks and the Gray-code walk."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ebm import _states, rbm
from ebm import boltzmann as bz


@pytest.mark.parametrize("n", [0, 1, 3, 7])
def test_all_states_count_uniqueness_and_order(n):
    S = _states.all_states(n)
    assert S.shape == (2**n, n) and S.dtype == np.int8
    # oracle: itertools' product, read with unit i as bit i (product varies its last entry fastest)
    want = np.array([row[::-1] for row in itertools.product((0, 1), repeat=n)], dtype=np.int8).reshape(2**n, n)
    np.testing.assert_array_equal(S, want)
    assert len({row.tobytes() for row in S}) == 2**n
    np.testing.assert_array_equal((S.astype(np.int64) << np.arange(n)).sum(axis=1), np.arange(2**n))


def test_dtype_option_and_the_chapters_share_the_function():
    S = _states.all_states(3, np.float64)
    assert S.dtype == np.float64 and S[6].tolist() == [0.0, 1.0, 1.0]
    assert bz.all_states is rbm.all_states is _states.all_states
    assert bz.MAX_ENUMERATED_UNITS == rbm.MAX_ENUMERATED_UNITS == 25


def test_the_limit_is_one_number_with_a_clear_message():
    with pytest.raises(
        ValueError,
        match=r"n_units = 26: exact enumeration would walk 2\^26 states; the limit "
        r"is MAX_ENUMERATED_UNITS = 25 units",
    ):
        _states.all_states(26)
    with pytest.raises(TypeError, match="n_units must be an integer, got 3.0"):
        _states.all_states(3.0)
    with pytest.raises(ValueError, match="n_units must be >= 0, got -1"):
        _states.all_states(-1)
    with pytest.raises(ValueError, match="this machine has 26: use sample"):
        bz.BoltzmannMachine(np.zeros((26, 26))).log_partition()


def test_blocks_cover_every_state_once_in_order():
    starts, blocks = zip(*_states.state_blocks(7, np.int8, block_bits=4))
    assert starts == tuple(range(0, 128, 16))
    np.testing.assert_array_equal(np.concatenate(blocks), _states.all_states(7))
    assert [len(b) for _, b in _states.state_blocks(3, block_bits=4)] == [8]


def test_gray_walk_flips_one_unit_per_step_and_visits_every_state():
    n = 6
    codes = [_states.gray_code(t) for t in range(2**n)]
    assert sorted(codes) == list(range(2**n))
    for t in range(1, 2**n):
        assert codes[t] ^ codes[t - 1] == 1 << _states.gray_flip(t)
    np.testing.assert_array_equal(_states.gray_code(np.arange(8)), [0, 1, 3, 2, 6, 7, 5, 4])


def test_the_jitted_gray_flip_matches():
    from numba import njit

    flip = _states.gray_flip_jit

    @njit
    def flips(n):
        out = np.empty(n, np.int64)
        for t in range(1, n + 1):
            out[t - 1] = flip(t)
        return out

    np.testing.assert_array_equal(flips(100), [_states.gray_flip(t) for t in range(1, 101)])


def test_boltzmann_exact_sums_in_blocks_match_one_pass():
    """log Z over 2^17 states, summed in blocks of 2^15, against one log-sum-exp over every state."""
    rng = np.random.default_rng(3)
    n = 17
    A = np.triu(rng.normal(0, 0.3, (n, n)), 1)
    bm = bz.BoltzmannMachine(A + A.T, rng.normal(0, 0.5, n), T=0.7, visible=range(5))
    S = _states.all_states(n, np.float64)
    a = -(-0.5 * np.einsum("si,ij,sj->s", S, bm.W, S) + S @ bm.theta) / bm.T
    m = a.max()
    assert bm.log_partition() == pytest.approx(m + np.log(np.exp(a - m).sum()), rel=1e-12)
    p = np.exp(a - m) / np.exp(a - m).sum()
    np.testing.assert_allclose(bm.exact_distribution(), p, rtol=1e-10)
    vis = (S[:, :5].astype(np.int64) << np.arange(5)).sum(axis=1)
    np.testing.assert_allclose(bm.visible_distribution(), np.bincount(vis, weights=p), rtol=1e-10)
