"""Experiments: the sampler against enumeration, the Boltzmann ratio, the conditional
probability, annealing against greedy descent on a spin glass, and the Gibbs benchmark."""

from __future__ import annotations

import math
import time

import numpy as np

from ebm._checks import check_int
from ebm._progress import progress_bar
from ebm._states import MAX_ENUMERATED_UNITS, all_states
from ebm.boltzmann.machine import BoltzmannMachine, _sampling_kernel, sampling_reference, state_index, total_variation

# --------------------------------------------------------------------------- experiments


def sampler_convergence(bm, checkpoints=(100, 1000, 10_000, 100_000), *, burn_in=100, seed=0):
    """Total-variation distance between Gibbs samples and ``exact_distribution()``.

    One chain; the distance is measured on its first ``c`` samples for each
    checkpoint ``c``.  For a well-mixed chain it falls roughly like
    ``sqrt(2^n / c)``.

    Parameters
    ----------
    bm : BoltzmannMachine
        With at most 20 units (the exact distribution is enumerated).
    checkpoints : sequence of int >= 1, default (100, 1000, 10_000, 100_000)
        Numbers of samples (sorted; the chain runs to the largest).
    burn_in : int >= 0, default 100
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    dict
        ``"checkpoints"`` (n_checkpoints,), ``"tv"`` (n_checkpoints,), ``"exact"`` and
        ``"empirical"`` (at the last checkpoint), both of shape (2**n_units,).
    """
    cps = sorted(check_int(c, "checkpoint", 1) for c in checkpoints)
    samples = bm.sample(cps[-1], burn_in=burn_in, seed=seed)
    idx = state_index(samples)
    exact = bm.exact_distribution()
    tv, emp = [], None
    for c in cps:
        emp = np.bincount(idx[:c], minlength=exact.size) / c
        tv.append(total_variation(emp, exact))
    return {"checkpoints": np.array(cps), "tv": np.array(tv), "exact": exact, "empirical": emp}


def boltzmann_ratio(bm, pairs=None, *, n_samples=100_000, seed=0):
    """``P_a / P_b`` from samples against ``exp(-(E_a - E_b)/T)``, for pairs of state indices.

    Holds at equilibrium for every pair; the sampled ratio is noisy where P is small.

    Parameters
    ----------
    bm : BoltzmannMachine
        With at most 20 units.
    pairs : sequence of (int, int), optional
        State indices (unit i = bit i); default: the most probable state against the
        next four.
    n_samples : int, default 100_000
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    dict
        ``"pairs"`` (list of n_pairs), ``"sampled"`` and ``"exact"`` (arrays of shape
        (n_pairs,); ``inf`` where state ``b`` was never sampled).
    """
    p = bm.exact_distribution()
    if pairs is None:
        order = np.argsort(-p)
        pairs = [(int(order[0]), int(order[k])) for k in range(1, min(5, p.size))]
    S = all_states(bm.n_units)
    counts = np.bincount(state_index(bm.sample(n_samples, seed=seed)), minlength=p.size)
    sampled, exact = [], []
    for a, b in pairs:
        sampled.append(counts[a] / counts[b] if counts[b] else np.inf)
        exact.append(math.exp(-(bm.energy(S[a]) - bm.energy(S[b])) / bm.T))
    return {"pairs": list(pairs), "sampled": np.array(sampled), "exact": np.array(exact)}


def conditional_check(bm, unit, *, n_samples=100_000, seed=0):
    """Empirical ``P(s_k = 1 | rest)`` from samples, for each configuration of the rest seen.

    Parameters
    ----------
    bm : BoltzmannMachine
        With at most 20 units.
    unit : int
        The unit ``k``, in ``0 .. n_units - 1``.
    n_samples : int, default 100_000
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    dict
        One entry per configuration of the other units that was seen (``n_seen``):
        ``"rest"`` (the configurations, as indices of the full state with ``s_k = 0``),
        ``"count"``, ``"empirical"`` and ``"sigma"`` (``sigma(dE_k / T)``), each of
        shape (n_seen,).
    """
    n = bm.n_units
    k = check_int(unit, "unit", 0)
    if k >= n:
        raise ValueError(f"unit must be in 0..{n - 1}, got {k}")
    s = bm.sample(n_samples, seed=seed)
    rest = s.copy()
    rest[:, k] = 0
    key = state_index(rest)
    keys, inv = np.unique(key, return_inverse=True)
    count = np.bincount(inv)
    on = np.bincount(inv, weights=s[:, k])
    reps = all_states(n)[keys]
    sigma = bm.conditional_probability(reps)[:, k]
    return {"rest": keys, "count": count, "empirical": on / count, "sigma": sigma}


def spin_glass(n_units, seed=0):
    """A Sherrington-Kirkpatrick spin glass written with {0, 1} units: many local minima.

    Couplings ``J_ij ~ N(0, 1/n)``; the ±1 energy ``-1/2 sigma^T J sigma`` with
    ``sigma = 2 s - 1`` equals ``-1/2 s^T (4J) s + (2 J 1)^T s`` plus a constant,
    so ``W = 4 J`` and ``theta = 2 J 1``.

    Parameters
    ----------
    n_units : int >= 2
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    BoltzmannMachine
        ``W`` of shape (n_units, n_units), ``theta`` of shape (n_units,), ``T = 1``.
    """
    n = check_int(n_units, "n_units", 2)
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, 1 / np.sqrt(n), (n, n)), 1)
    J = J + J.T
    return BoltzmannMachine(4 * J, 2 * J.sum(axis=1))


#: The annealing schedule of :func:`anneal_vs_greedy` (T falls from 3 to 0.1, 20 sweeps each).
GLASS_SCHEDULE = ((3.0, 20), (2.0, 20), (1.5, 20), (1.0, 20), (0.7, 20), (0.5, 20), (0.3, 20), (0.1, 20))


def anneal_vs_greedy(bm, *, schedule=GLASS_SCHEDULE, n_runs=50, seed=0, progress=False):
    """Final energies of annealing and of greedy descent, from the same random starts.

    Each run ends annealing with a greedy pass (so both end in a local minimum).
    The global minimum comes from enumeration when ``n <= 25``.

    Parameters
    ----------
    bm : BoltzmannMachine
    schedule : sequence of (T, sweeps), default GLASS_SCHEDULE
    n_runs : int >= 1, default 50
    seed : int or numpy.random.Generator, default 0
    progress : bool, default False

    Returns
    -------
    dict
        ``"anneal"``, ``"greedy"`` (final energies, shape (n_runs,)), ``"global_min"``
        (or None), ``"trace"`` (the first annealing run's AnnealResult), ``"greedy_trace"``
        (the first greedy descent, from the same random start), ``"schedule"``.
    """
    n_runs = check_int(n_runs, "n_runs", 1)
    rng = np.random.default_rng(seed)
    ann, gr = [], []
    trace = greedy_trace = None
    with progress_bar(progress, n_runs, "anneal vs greedy") as bar:
        for _ in range(n_runs):
            init = (rng.random(bm.n_units) < 0.5).astype(np.int8)
            g = bm.descend(init=init, seed=rng)
            a = bm.anneal(schedule, init=init, seed=rng)
            a_final = bm.descend(init=a.final, seed=rng)
            trace = trace or a
            greedy_trace = greedy_trace or g
            ann.append(a_final.energies[-1])
            gr.append(g.energies[-1])
            bar.update()
    gmin = min(float(E.min()) for _, E in bm._energy_blocks()) if bm.n_units <= MAX_ENUMERATED_UNITS else None
    return {
        "anneal": np.array(ann),
        "greedy": np.array(gr),
        "global_min": gmin,
        "trace": trace,
        "greedy_trace": greedy_trace,
        "schedule": tuple(schedule),
    }


def benchmark_sampling(n_units=64, n_sweeps=200, *, repeats=5, seed=0):
    """Gibbs single-unit updates per second: the Numba kernel vs the plain-NumPy loop.

    Both run the same chain (same seed, same stream); medians over ``repeats``
    (the Numba kernel is compiled before timing).

    Parameters
    ----------
    n_units : int, default 64
        Size of the random machine (``W_ij ~ N(0, 1/n)``, ``theta_i ~ N(0, 0.5^2)``).
    n_sweeps : int, default 200
    repeats : int, default 5
    seed : int, default 0

    Returns
    -------
    dict
        ``"numba_updates_per_s"``, ``"numpy_updates_per_s"``, ``"ratio"`` (Numba / NumPy),
        ``"n_units"``, ``"n_sweeps"``.
    """
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 1 / np.sqrt(n_units), (n_units, n_units))
    W = np.triu(W, 1)
    W = W + W.T
    theta = rng.normal(0, 0.5, n_units)
    temps = np.ones(n_sweeps)
    free = np.arange(n_units, dtype=np.int64)
    updates = n_units * n_sweeps

    def numba_once():
        st = np.zeros(n_units, np.int8)
        _sampling_kernel(
            W, theta, temps, free, st, 1, True, n_sweeps, np.zeros((0, n_units), np.int8), np.empty(n_sweeps)
        )

    numba_once()
    t_nb, t_np = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        numba_once()
        t_nb.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sampling_reference(W, theta, temps, free, np.zeros(n_units, np.int8), 1, True, n_sweeps)
        t_np.append(time.perf_counter() - t0)
    nb, npy = updates / np.median(t_nb), updates / np.median(t_np)
    return {
        "numba_updates_per_s": nb,
        "numpy_updates_per_s": npy,
        "ratio": nb / npy,
        "n_units": n_units,
        "n_sweeps": n_sweeps,
    }
