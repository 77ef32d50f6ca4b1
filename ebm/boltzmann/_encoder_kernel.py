"""The 4-2-4 encoder's whole training run in one Numba kernel, many seeds in parallel.

:func:`ebm.boltzmann.learn` with :func:`ebm.boltzmann.encoder_codes` as its callback is
the readable version; it costs a few milliseconds per cycle in Python, too slow for
the hundreds of seeds x thousands of cycles that separate the encoder regimes.  This
kernel runs the same cycle -- noisy clamping, the statistics (exact, exact samples or
annealed Gibbs sampling), the step (gradient or sign), the success test -- for a
10-unit encoder (V1 = units 0-3, H = 4-5, V2 = 6-9), seed after seed, each run
seeding Numba's generator first; it releases the GIL, so the caller runs slices of
the seeds in threads.  With exact statistics and
clean clamping it is deterministic and reproduces ``learn``'s run to rounding (the
tests check it); with sampled statistics its draws come from Numba's generator, so
it matches ``learn`` in distribution, not draw for draw.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ebm import _numba_cache
from ebm._states import gray_flip_jit
from ebm.boltzmann.machine import _sampling_sweeps

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules

#: Modes of the kernel, by ``learn``'s ``statistics`` name.
MODES = {"exact": 0, "exact_samples": 1, "gibbs_sampling": 2}

N_V, N_H = 4, 2
N_UNITS = 2 * N_V + N_H

#: What every seed's run shares, in one (Numba-typed) named tuple: the machine's ``T`` and
#: ``mask``; the regime (``mode`` from :data:`MODES`, ``sign_step``, ``lr``, noisy clamping
#: ``noise_off``/``noise_on`` when ``noisy``, ``n_clamped``, ``n_free``, the annealing
#: temperatures ``temps`` of which the last ``collect`` are recorded); the task (``patterns``
#: over the ``visible`` units, the ``hidden`` units); ``max_cycles`` and ``stop_at_success``;
#: and ``S``, every state of the machine as float64 rows (:func:`ebm._states.all_states`).
EncoderSetup = namedtuple(
    "EncoderSetup",
    "T mask mode sign_step lr noise_off noise_on noisy n_clamped n_free temps collect "
    "patterns visible hidden max_cycles stop_at_success S",
)


@njit(cache=True)
def _energy(W, theta, s):
    e = 0.0
    n = s.shape[0]
    for i in range(n):
        if s[i]:
            e += theta[i]
            for j in range(i + 1, n):
                if s[j]:
                    e -= W[i, j]
    return e


@njit(cache=True)
def _set_bits(s, units, index):
    for k in range(units.shape[0]):
        s[units[k]] = (index >> k) & 1


@njit(cache=True)
def _softmax_neg_energy(W, theta, T, s, units, p):
    """p[r] proportional to exp(-E(s)/T) with ``units`` set to the bits of r (s changes)."""
    m = -np.inf
    for r in range(p.shape[0]):
        _set_bits(s, units, r)
        p[r] = -_energy(W, theta, s) / T
        m = max(m, p[r])
    total = 0.0
    for r in range(p.shape[0]):
        p[r] = np.exp(p[r] - m)
        total += p[r]
    for r in range(p.shape[0]):
        p[r] /= total


@njit(cache=True)
def _free_distribution(W, theta, T):
    """p(s) over every state (unit i = bit i of the index), walking the states in Gray-code
    order: one unit flips per step, so E changes by ``theta_k - (W s)_k`` and ``W s`` by a column."""
    n = W.shape[0]
    a = np.empty(1 << n)
    h = np.zeros(n)  # the fields W s
    s = np.zeros(n, np.int8)
    e = 0.0
    a[0] = 0.0
    for g in range(1, 1 << n):
        k = gray_flip_jit(g)
        d = 1.0 if s[k] == 0 else -1.0
        e += d * (theta[k] - h[k])
        s[k] = 1 - s[k]
        for j in range(n):
            h[j] += d * W[j, k]
        a[g ^ (g >> 1)] = -e / T
    a = np.exp(a - a.max())
    return a / a.sum()


@njit(cache=True)
def _expectations(S, p, qi, qij):
    """``qi = sum_s p(s) s_i`` and ``qij = sum_s p(s) s_i s_j`` over the rows of S."""
    n = S.shape[1]
    qij[:, :] = 0.0
    for r in range(S.shape[0]):
        for i in range(n):
            wi = p[r] * S[r, i]
            for j in range(n):
                qij[i, j] += wi * S[r, j]
    for i in range(n):
        qi[i] = qij[i, i]


@njit(cache=True)
def _draw(p):
    """One index drawn from ``p`` (inverse CDF, as ``learn``'s ``_draw``)."""
    u = np.random.random()
    c = 0.0
    for k in range(p.shape[0]):
        c += p[k]
        if u < c:
            return k
    return p.shape[0] - 1


@njit(cache=True)
def _accumulate(s, weight, si, sij):
    n = s.shape[0]
    for i in range(n):
        if s[i]:
            si[i] += weight
            for j in range(n):
                if s[j]:
                    sij[i, j] += weight


@njit(cache=True)
def _scale(si, sij, factor):
    si *= factor
    sij *= factor


@njit(cache=True)
def _noisy_row(pattern, noise_off, noise_on, out):
    for k in range(pattern.shape[0]):
        u = np.random.random()
        if pattern[k] == 1:
            out[k] = 1 if u >= noise_off else 0
        else:
            out[k] = 1 if u < noise_on else 0


@njit(cache=True)
def encoder_success(W, theta, T):
    """``encoder_codes(machine)["success"]`` for the 4-2-4 encoder, in Numba."""
    rest = np.empty(N_H + N_V, np.int64)
    for k in range(N_H):
        rest[k] = N_V + k
    for k in range(N_V):
        rest[N_H + k] = N_V + N_H + k
    p = np.empty(1 << rest.shape[0])
    s = np.zeros(N_UNITS, np.int8)
    codes = np.empty(N_V, np.int64)
    for i in range(N_V):
        for k in range(N_V):
            s[k] = 1 if k == i else 0
        _softmax_neg_energy(W, theta, T, s, rest, p)
        p_code = np.zeros(1 << N_H)
        p_v2 = np.zeros(1 << N_V)
        for r in range(p.shape[0]):
            p_code[r & ((1 << N_H) - 1)] += p[r]
            p_v2[r >> N_H] += p[r]
        codes[i] = np.argmax(p_code)
        if np.argmax(p_v2) != (1 << i):
            return False
    for a in range(N_V):
        for b in range(a + 1, N_V):
            if codes[a] == codes[b]:
                return False
    return True


@njit(cache=True)
def _statistics(W, theta, setup, pi, pij, qi, qij):
    """Clamped (pi, pij) and free (qi, qij) statistics of one cycle, as ``learn`` gathers them."""
    T, mode, patterns, visible, hidden = setup.T, setup.mode, setup.patterns, setup.visible, setup.hidden
    n_free, temps, collect = setup.n_free, setup.temps, setup.collect
    n = W.shape[0]
    pi[:] = 0.0
    pij[:, :] = 0.0
    qi[:] = 0.0
    qij[:, :] = 0.0
    s = np.zeros(n, np.int8)
    row = np.empty(visible.shape[0], np.int8)
    reps = 1 if mode == 0 else setup.n_clamped
    n_rows = patterns.shape[0] * reps
    p_h = np.empty(1 << hidden.shape[0])
    everything = np.arange(n)
    rec = temps.shape[0] - collect
    out = np.zeros((collect, n), np.int8)
    energies = np.empty(temps.shape[0])
    for a in range(patterns.shape[0]):
        for _ in range(reps):
            if setup.noisy:
                _noisy_row(patterns[a], setup.noise_off, setup.noise_on, row)
            else:  # (element by element: an array assigned to a slice compiles Numba's
                for k in range(row.shape[0]):  # shape-mismatch message, ~2.5 s at a first run)
                    row[k] = patterns[a, k]
            s[:] = 0
            for k in range(visible.shape[0]):
                s[visible[k]] = row[k]
            if mode == 2:  # anneal the hidden units, then collect
                _sampling_sweeps(W, theta, temps, hidden, s, True, rec, out, energies)
                for t in range(collect):
                    _accumulate(out[t], 1.0, pi, pij)  # counts: ties stay exact ties
                continue
            _softmax_neg_energy(W, theta, T, s, hidden, p_h)
            if mode == 1:  # one exact sample of h
                _set_bits(s, hidden, _draw(p_h))
                _accumulate(s, 1.0, pi, pij)
            else:  # the exact expectation
                for r in range(p_h.shape[0]):
                    _set_bits(s, hidden, r)
                    _accumulate(s, p_h[r] / n_rows, pi, pij)
    if mode == 2:
        for _ in range(n_free):
            s[:] = 0
            _sampling_sweeps(W, theta, temps, everything, s, True, rec, out, energies)
            for t in range(collect):
                _accumulate(out[t], 1.0, qi, qij)
        _scale(pi, pij, 1.0 / (n_rows * collect))
        _scale(qi, qij, 1.0 / (n_free * collect))
        return
    p = _free_distribution(W, theta, T)
    if mode == 1:
        for _ in range(n_free):
            _set_bits(s, everything, _draw(p))
            _accumulate(s, 1.0, qi, qij)
        _scale(pi, pij, 1.0 / n_rows)
        _scale(qi, qij, 1.0 / n_free)
    else:
        _expectations(setup.S, p, qi, qij)


@njit(cache=True)
def _one_trial(W, theta, setup, seed):
    """One seed: train from (W, theta) in place; the first successful cycle (1-based) or -1."""
    np.random.seed(seed)
    n = W.shape[0]
    lr, mask, sign_step = setup.lr, setup.mask, setup.sign_step
    pi, qi = np.empty(n), np.empty(n)
    pij, qij = np.empty((n, n)), np.empty((n, n))
    first = -1
    for cycle in range(setup.max_cycles):
        _statistics(W, theta, setup, pi, pij, qi, qij)
        for i in range(n):
            d = pi[i] - qi[i]
            theta[i] -= lr * (np.sign(d) if sign_step else d)
            for j in range(i + 1, n):
                if mask[i, j]:
                    d = pij[i, j] - qij[i, j]
                    step = lr * (np.sign(d) if sign_step else d)
                    W[i, j] += step
                    W[j, i] = W[i, j]
        if first < 0 and encoder_success(W, theta, setup.T):
            first = cycle + 1
            if setup.stop_at_success:
                break
    return first


@njit(cache=True, nogil=True)
def encoder_trials(W0, setup, seeds, first, held):
    """Train one encoder per seed (``W0[k]`` its start, zero thresholds), one after the other.

    ``setup`` is an :data:`EncoderSetup`.  ``W0`` is overwritten with each run's final
    weights; ``first[k]`` gets the first successful cycle (or -1) and ``held[k]`` whether
    the final machine succeeds.
    """
    for k in range(seeds.shape[0]):
        W = W0[k]
        theta = np.zeros(W.shape[0])
        first[k] = _one_trial(W, theta, setup, seeds[k])
        held[k] = encoder_success(W, theta, setup.T)
