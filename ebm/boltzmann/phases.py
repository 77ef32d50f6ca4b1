"""The two phases of the 1985 rule: clamped and free statistics, exact or sampled, and G.

The rule ``dw_ij = eps (p_ij - p'_ij)`` compares the co-occurrences ``p_ij = <s_i s_j>``
with the visible units clamped to the data (hidden units in equilibrium) and ``p'_ij``
with the machine running free.  This module measures both: exactly by enumeration
(:func:`clamped_statistics`, :func:`free_statistics`), or from samples -- drawn exactly
from the enumerated distributions, or the paper's annealing with the Gibbs sampler on
:func:`paper_schedule` -- and the quantity the rule descends, ``G = KL(data || model)``
(:func:`kl_divergence`).  :func:`ebm.boltzmann.learning.learn` steps the weights with them.
"""

from __future__ import annotations

import math

import numpy as np

from ebm._checks import check_temperature, kernel_seed
from ebm._states import all_states
from ebm.boltzmann.machine import (
    SEED_HIGH,
    _binary,
    _energies,
    _sampling_kernel,
    _schedule_temps,
    state_index,
)

__all__ = [
    "PAPER_SCHEDULE",
    "paper_schedule",
    "clamped_statistics",
    "free_statistics",
    "kl_divergence",
]

#: The paper's annealing schedule for the encoders, (T, sweeps): 2@20, 2@15, 2@12, 4@10.
#: Its weights lived at T = 10; :func:`paper_schedule` scales it to end at another T.
PAPER_SCHEDULE = ((20.0, 2), (15.0, 2), (12.0, 2), (10.0, 4))


def paper_schedule(T=1.0):
    """:data:`PAPER_SCHEDULE` scaled to end at ``T``: 2@2T, 2@1.5T, 2@1.2T, 4@T.

    The paper collected its statistics at the schedule's last temperature, 10, with
    weights in steps of 2; a machine at ``T = 1`` with steps of 0.2 is the same
    machine, and must be annealed to (and sampled at) ``T = 1``.

    Parameters
    ----------
    T : float > 0, default 1.0
        The temperature the schedule ends at (the machine's).

    Returns
    -------
    tuple of (float, int)
        ``(temperature, sweeps)`` pairs, as :meth:`BoltzmannMachine.anneal` takes them.
    """
    T = check_temperature(T)
    last = PAPER_SCHEDULE[-1][0]
    return tuple((t * T / last, sweeps) for t, sweeps in PAPER_SCHEDULE)


def _check_schedule(schedule, T):
    """The ``"gibbs_sampling"`` statistics' schedule: it must end at the machine's temperature."""
    if schedule is None:
        return paper_schedule(T)
    temps = _schedule_temps(schedule)
    if not math.isclose(temps[-1], T, rel_tol=1e-12):
        raise ValueError(
            f"schedule ends at T = {temps[-1]:g} but the machine's temperature is {T:g}: "
            "the statistics are collected at the last temperature and must be the "
            f"machine's (use paper_schedule({T:g}), or end the schedule at {T:g})"
        )
    return tuple(schedule)


def _collecting_temps(schedule, collect):
    """The temperature of every sweep: the annealing ``schedule``, then ``collect`` sweeps at its last T."""
    return np.concatenate([_schedule_temps(schedule), np.full(collect, schedule[-1][0])])


# --------------------------------------------------------------------------- the statistics


def _as_data(bm, data):
    d = np.asarray(data)
    if d.ndim == 1:
        d = d[None, :]
    d = _binary(d, bm.visible.size, "data")
    if d.shape[0] == 0:
        raise ValueError(f"data has no rows: give at least one vector of {bm.visible.size} visible units")
    return d


def _hidden_posterior(bm, v):
    """For visible rows ``v`` (m, nv): full states (m, 2^nh, n) and p(h | v) (m, 2^nh)."""
    nh = bm.hidden.size
    H = all_states(nh)
    S = np.zeros((v.shape[0], H.shape[0], bm.n_units))
    S[:, :, bm.visible] = v[:, None, :]
    S[:, :, bm.hidden] = H[None, :, :]
    a = -_energies(S, bm.W, bm.theta) / bm.T
    p = np.exp(a - a.max(axis=1, keepdims=True))
    return S, p / p.sum(axis=1, keepdims=True)


def clamped_statistics(bm, data):
    """Exact clamped-phase statistics: visible units on each row of ``data``, hidden in equilibrium.

    Parameters
    ----------
    bm : BoltzmannMachine
        With few hidden units: their ``2**n_hidden`` states are enumerated for every row.
    data : array_like of 0/1, shape (n_visible,) or (n_samples, n_visible)
        Values of the visible units, in ``bm.visible``'s order.

    Returns
    -------
    p_i : ndarray of float64, shape (n_units,)
        ``<s_i>`` averaged over the rows.
    p_ij : ndarray of float64, shape (n_units, n_units)
        ``<s_i s_j>`` (the paper's ``p_ij``), averaged over the rows.
    """
    v = _as_data(bm, data).astype(np.float64)
    S, p = _hidden_posterior(bm, v)
    flat = S.reshape(-1, bm.n_units)
    w = p.reshape(-1, 1) / v.shape[0]
    return (flat * w).sum(axis=0), (flat * w).T @ flat


def free_statistics(bm):
    """Exact free-phase statistics ``<s_i>`` and ``<s_i s_j>`` (the paper's ``p'_ij``) by enumeration.

    Parameters
    ----------
    bm : BoltzmannMachine
        With at most :data:`~ebm._states.MAX_ENUMERATED_UNITS` = 25 units.

    Returns
    -------
    p_i : ndarray of float64, shape (n_units,)
    p_ij : ndarray of float64, shape (n_units, n_units)
    """
    p = bm.exact_distribution()
    S = all_states(bm.n_units, np.float64)
    return p @ S, S.T @ (S * p[:, None])


def kl_divergence(bm, data):
    """``G = sum_v P+(v) log(P+(v) / P-(v))`` in nats: data distribution vs the model's visible marginal.

    ``P+`` is the empirical distribution of the rows of ``data`` (repeats count);
    ``P-`` is :meth:`BoltzmannMachine.visible_distribution`.

    Parameters
    ----------
    bm : BoltzmannMachine
        With at most 20 units.
    data : array_like of 0/1, shape (n_visible,) or (n_samples, n_visible)

    Returns
    -------
    float
        ``>= 0``; 0 exactly when the model's visible marginal is the data's distribution.
    """
    v = _as_data(bm, data)
    pplus = np.bincount(state_index(v), minlength=2**bm.visible.size) / v.shape[0]
    pminus = bm.visible_distribution()
    nz = pplus > 0
    return float(np.sum(pplus[nz] * (np.log(pplus[nz]) - np.log(pminus[nz]))))


def _noisy(v, noise, rng):
    """Noisy clamping: each on unit turns off with ``noise[0]``, each off unit on with ``noise[1]``."""
    if noise is None:
        return v
    u = rng.random(v.shape)
    return np.where(v == 1, (u >= noise[0]).astype(np.int8), (u < noise[1]).astype(np.int8))


def _draw(p, size, rng):
    """``size`` indices drawn from each row of ``p`` (inverse CDF)."""
    c = np.cumsum(p, axis=-1)
    u = rng.random(p.shape[:-1] + (size,)) * c[..., -1:]
    return np.minimum((u[..., None] >= c[..., None, :]).sum(axis=-1), p.shape[-1] - 1)


def _sampled_statistics(bm, v, n_clamped, n_free, method, schedule, collect, rng):
    """Co-occurrence frequencies from samples: clamped (n_clamped per row of v) and free (n_free)."""
    n = bm.n_units
    reps = np.repeat(v, n_clamped, axis=0) if v.ndim == 2 else v
    if method == "exact_samples":
        S, p = _hidden_posterior(bm, reps.astype(np.float64))
        pick = _draw(p, 1, rng)[:, 0]
        plus = S[np.arange(S.shape[0]), pick]
        allS = all_states(n, np.float64)
        minus = allS[_draw(bm.exact_distribution(), n_free, rng)]
    else:  # "gibbs_sampling": anneal, collect at the last T
        temps = _collecting_temps(schedule, collect)

        def collected(free, state):
            """The last ``collect`` states of one annealing run from ``state`` (changed), only ``free`` moving."""
            out = np.zeros((collect, n), dtype=np.int8)
            seed = kernel_seed(rng, high=SEED_HIGH)
            _sampling_kernel(
                bm.W, bm.theta, temps, free, state, seed, True, temps.size - collect, out, np.empty(temps.size)
            )
            return out

        plus = []
        for row in reps:
            state = np.zeros(n, dtype=np.int8)
            state[bm.visible] = row
            plus.append(collected(bm.hidden, state))
        plus = np.concatenate(plus).astype(np.float64)
        everything = np.arange(n, dtype=np.int64)
        minus = np.concatenate([collected(everything, np.zeros(n, np.int8)) for _ in range(n_free)]).astype(np.float64)
    return (plus.mean(axis=0), plus.T @ plus / plus.shape[0], minus.mean(axis=0), minus.T @ minus / minus.shape[0])
