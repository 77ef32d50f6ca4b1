r"""Experiments on the classic network: where recall works, where it fails, and why.

* Counterexamples to "the energy always goes down":
  :func:`negative_diagonal_counterexample` (a unit with ``W_ii < 0`` flips against
  its field and raises E) and :func:`two_cycle_network` (synchronous updates
  cycle for ever).
* Capacity: :func:`capacity_sweep` measures the final overlap against the load
  ``alpha = p / N``; Hebb's recall collapses near ``alpha_c ~ 0.138`` (Amit,
  Gutfreund & Sompolinsky 1985).
* One Hebb update from a stored pattern: the field on bit ``i`` is the signal
  ``xi_i`` plus crosstalk from the other ``p - 1`` patterns, about ``N(0, alpha)``
  for large ``N``, so a bit flips with probability::

      P_error = Phi(-1/sqrt(alpha))       (:func:`theoretical_one_step_error`)

  which :func:`one_step_error` measures.
* Spurious states of Hebb's rule (:func:`spurious_states`): with ``b = 0``,
  ``E(s) = E(-s)``, so every reversed pattern is a minimum too, and the symmetric
  3-mixture ``sgn(xi^1 + xi^2 + xi^3)`` (:func:`mixture_state`) is a fixed point at
  ``E/N ~ -3/8``, above the patterns' ``-1/2``.
* The pseudo-inverse rule makes every stored pattern a fixed point
  (:func:`pseudoinverse_fixed_points`).
"""

from __future__ import annotations

import math

import numpy as np

from ebm._progress import progress_bar
from ebm.datasets import random_patterns
from ebm.hopfield.network import HopfieldNetwork
from ebm.hopfield.rules import RULES, hebb_weights
from ebm.hopfield.states import _as_patterns, overlap

__all__ = [
    "negative_diagonal_counterexample",
    "two_cycle_network",
    "capacity_sweep",
    "one_step_error",
    "theoretical_one_step_error",
    "mixture_state",
    "pseudoinverse_fixed_points",
    "spurious_states",
]


def _check_count(value, name, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


# --------------------------------------------------------------------------- counterexamples


def negative_diagonal_counterexample():
    """A one-unit network with ``W = [[-1]]``, ``b = [0.1]`` whose first flip raises E.

    From ``s = +1`` the unit sees ``W s + b = -0.9 < 0`` and flips to -1, but
    ``E(+1) = 0.4 < E(-1) = 0.6``: with a negative diagonal, descent is not
    guaranteed.  From -1 it sees ``1.1 > 0`` and flips back, so the run oscillates
    0.4, 0.6, 0.4, ... and never converges.

    Returns
    -------
    net : HopfieldNetwork
        With one unit.
    state : ndarray of int8, shape (1,)
        The initial state ``[+1]``.
    """
    return HopfieldNetwork([[-1.0]], [0.1]), np.array([1], dtype=np.int8)


def two_cycle_network():
    """``W = [[0, -1], [-1, 0]]``, ``b = 0``: synchronous updates cycle (-1,-1) <-> (1,1).

    Returns
    -------
    net : HopfieldNetwork
        With two units.
    state : ndarray of int8, shape (2,)
        The initial state ``(-1, -1)``.
    """
    return HopfieldNetwork([[0.0, -1.0], [-1.0, 0.0]]), np.array([-1, -1], dtype=np.int8)


# --------------------------------------------------------------------------- capacity


def capacity_sweep(n_units, loads, rule="hebb", n_seeds=10, flip_fraction=0.0, max_sweeps=50, seed=0, progress=False):
    """Mean final overlap against the load ``alpha = p / N``.

    For each load and seed: store ``p = round(alpha N)`` random patterns with
    ``rule``, start from each pattern (with ``flip_fraction`` of its bits flipped),
    relax asynchronously, and measure the overlap with the pattern.  Hebb's
    recall collapses near ``alpha_c ~ 0.138`` (Amit, Gutfreund & Sompolinsky 1985).

    Parameters
    ----------
    n_units : int >= 1
        ``N``.
    loads : sequence of float > 0, shape (K,)
        The loads ``alpha``.
    rule : {"hebb", "storkey", "pseudoinverse"}, default "hebb"
    n_seeds : int >= 1, default 10
        Independent networks per load.
    flip_fraction : float in [0, 0.5], default 0
        The chance each bit of a probe is flipped.
    max_sweeps : int, default 50
        Asynchronous sweeps allowed per probe.
    seed : int, default 0
    progress : bool, default False
        True draws a ``tqdm.auto`` progress bar (a widget in Jupyter, text in a
        terminal), advanced after each (load, seed).

    Returns
    -------
    dict
        "loads" (K,); "overlap" (K, n_seeds), the mean overlap of each run;
        "mean" (K,); "converged" (K, n_seeds), the fraction of probes that reached
        a fixed point within ``max_sweeps``; "n_units"; "rule".

    Raises
    ------
    TypeError
        If ``progress`` is not a bool.
    ValueError
        If ``rule`` is unknown, ``n_units`` or ``n_seeds`` is not a positive integer,
        ``loads`` is not a non-empty 1-D sequence of positive numbers, or
        ``flip_fraction`` is outside [0, 0.5].
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(map(repr, RULES))}, got {rule!r}")
    _check_count(n_units, "n_units", 1)
    _check_count(n_seeds, "n_seeds", 1)
    loads = np.asarray(loads, dtype=np.float64)
    if loads.ndim != 1 or loads.size == 0 or (loads <= 0).any():
        raise ValueError(f"loads must be a non-empty 1-D sequence of positive numbers, got {loads}")
    if not 0.0 <= flip_fraction <= 0.5:
        raise ValueError(f"flip_fraction must be in [0, 0.5], got {flip_fraction}")
    bar = progress_bar(progress, loads.size * n_seeds, f"capacity sweep ({rule}, N={n_units})")
    ss = np.random.SeedSequence(seed)
    overlaps = np.empty((loads.size, n_seeds))
    settled = np.empty((loads.size, n_seeds))
    for a, alpha in enumerate(loads):
        p = max(1, int(round(alpha * n_units)))
        for r, child in enumerate(ss.spawn(n_seeds)):
            rng = np.random.default_rng(child)
            xi = random_patterns(p, n_units, rng)
            net = HopfieldNetwork.from_patterns(xi, rule)
            probes = xi.copy()
            if flip_fraction:
                flip = rng.random(probes.shape) < flip_fraction
                probes[flip] *= -1
            final, converged = net.recall(probes, max_sweeps=max_sweeps, seed=rng, return_converged=True)
            overlaps[a, r] = overlap(final, xi).mean()
            settled[a, r] = converged.mean()
            bar.update()
    bar.close()
    return {
        "loads": loads,
        "overlap": overlaps,
        "mean": overlaps.mean(axis=1),
        "converged": settled,
        "n_units": n_units,
        "rule": rule,
    }


# --------------------------------------------------------------------------- one Hebb update


def theoretical_one_step_error(alpha):
    """``Phi(-1/sqrt(alpha))``: the chance one Hebb update flips a stored bit (large N).

    Parameters
    ----------
    alpha : float or array_like of float > 0
        The load ``p / N``.

    Returns
    -------
    float or ndarray of float64, the shape of ``alpha``

    Raises
    ------
    ValueError
        If some ``alpha`` is not positive.
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    if (alpha <= 0).any():
        raise ValueError("alpha must be positive")
    return 0.5 * _erfc(1.0 / np.sqrt(2.0 * alpha))


def _erfc(z):
    return np.vectorize(math.erfc, otypes=[float])(z) if np.ndim(z) else math.erfc(float(z))


def one_step_error(n_units, alpha, n_seeds=10, seed=0):
    """Measured fraction of bits a single Hebb update gets wrong, starting at a pattern.

    Parameters
    ----------
    n_units : int >= 1
        ``N``.
    alpha : float > 0
        The load; ``p = round(alpha N)`` patterns are stored.
    n_seeds : int >= 2, default 10
        Independent networks; the standard error is taken across them.
    seed : int, default 0

    Returns
    -------
    dict
        "rate" (mean over seeds), "stderr" (standard error across seeds),
        "per_seed" (n_seeds,), "theory" (``Phi(-1/sqrt(p/N))``), "alpha" (``p/N``
        as used), "n_units", "p".

    Raises
    ------
    ValueError
        If ``n_units`` or ``n_seeds`` is too small, or ``alpha`` is not a positive
        number.
    """
    _check_count(n_units, "n_units", 1)
    _check_count(n_seeds, "n_seeds", 2)
    if not (np.isscalar(alpha) and np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")
    p = max(1, int(round(alpha * n_units)))
    rates = []
    for child in np.random.SeedSequence(seed).spawn(n_seeds):
        xi = random_patterns(p, n_units, np.random.default_rng(child)).astype(np.float64)
        W = hebb_weights(xi)
        h = xi @ W.T  # the field at every stored pattern
        rates.append(np.mean(np.where(h >= 0, 1.0, -1.0) != xi))
    rates = np.array(rates)
    return {
        "rate": float(rates.mean()),
        "stderr": float(rates.std(ddof=1) / np.sqrt(n_seeds)),
        "per_seed": rates,
        "theory": float(theoretical_one_step_error(p / n_units)),
        "alpha": p / n_units,
        "n_units": n_units,
        "p": p,
    }


# --------------------------------------------------------------------------- fixed points, wanted and spurious


def mixture_state(patterns, indices=(0, 1, 2)):
    """``sgn(xi^a + xi^b + xi^c)``: the symmetric 3-mixture, a spurious attractor of Hebb.

    Parameters
    ----------
    patterns : array_like of ±1, shape (p, N)
    indices : sequence of int, default (0, 1, 2)
        An odd number of pattern numbers (so the sum is never 0).

    Returns
    -------
    ndarray of int8, shape (N,)

    Raises
    ------
    TypeError
        If ``patterns`` is not numeric.
    ValueError
        If ``patterns`` is not (p, N) of ±1, or ``indices`` is even in number or
        holds a number outside ``0..p-1``.
    """
    xi = _as_patterns(patterns)
    idx = list(indices)
    if len(idx) % 2 == 0:
        raise ValueError(f"a mixture needs an odd number of patterns, got {len(idx)}")
    for k in idx:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < len(xi):
            raise ValueError(f"indices must be pattern numbers in 0..{len(xi) - 1}, got {k!r}")
    return np.sign(xi[idx].sum(axis=0)).astype(np.int8)


def pseudoinverse_fixed_points(p, n_units, seed=0):
    """Store ``p`` random patterns with the pseudo-inverse rule and check ``W xi = xi``.

    Parameters
    ----------
    p : int >= 1
        The number of patterns.
    n_units : int >= 1
        ``N``.
    seed : int, default 0

    Returns
    -------
    dict
        "max_error" (``max |W Xi^T - Xi^T|``, ~1e-13 for any p: ``W`` projects onto
        the patterns' span; from ``p = N`` on, ``W`` is the identity and warns),
        "fixed" (how many patterns one asynchronous sweep leaves unchanged) and "p".

    Raises
    ------
    ValueError
        If ``p`` or ``n_units`` is not a positive integer.
    """
    _check_count(p, "p", 1)
    _check_count(n_units, "n_units", 1)
    xi = random_patterns(p, n_units, seed)
    net = HopfieldNetwork.from_patterns(xi, "pseudoinverse")
    error = float(np.abs(net.W @ xi.T - xi.T).max())
    _, unchanged = net.recall(xi, max_sweeps=1, seed=seed, return_converged=True)  # no flip in a sweep
    fixed = int(unchanged.sum())
    return {"max_error": error, "fixed": fixed, "p": p}


def spurious_states(n_units=1000, p=5, n_draws=20, seed=0):
    """Reversed patterns and symmetric 3-mixtures under Hebb's rule, over ``n_draws`` networks.

    With ``b = 0``, ``E(s) = E(-s)``: each reversed pattern is a minimum too.  The
    mixture ``sgn(xi1 + xi2 + xi3)`` is a fixed point with overlap ~1/2 to each of
    its patterns and ``E/N ~ -3/8``, against ``-1/2`` for a stored pattern.

    Parameters
    ----------
    n_units : int >= 1, default 1000
        ``N``.
    p : int >= 3, default 5
        Patterns per network.
    n_draws : int >= 1, default 20
        Independent networks.
    seed : int, default 0

    Returns
    -------
    dict of arrays over the draws
        "energy_pattern", "energy_reversed", "energy_mixture" (n_draws,), all E/N;
        "mixture_overlaps" (n_draws, 3); "mixture_stable" and "reversed_stable"
        (n_draws,) of bool: a fixed point of asynchronous recall.

    Raises
    ------
    ValueError
        If ``n_units``, ``p`` or ``n_draws`` is not an integer at least as large as
        above.
    """
    _check_count(n_units, "n_units", 1)
    _check_count(p, "p", 3)
    _check_count(n_draws, "n_draws", 1)
    keys = (
        "energy_pattern",
        "energy_reversed",
        "energy_mixture",
        "mixture_overlaps",
        "mixture_stable",
        "reversed_stable",
    )
    out = {k: [] for k in keys}
    for child in np.random.SeedSequence(seed).spawn(n_draws):
        rng = np.random.default_rng(child)
        xi = random_patterns(p, n_units, rng)
        net = HopfieldNetwork.from_patterns(xi)
        mix = mixture_state(xi)
        out["energy_pattern"].append(net.energy(xi[0]) / n_units)
        out["energy_reversed"].append(net.energy(-xi[0]) / n_units)
        out["energy_mixture"].append(net.energy(mix) / n_units)
        out["mixture_overlaps"].append(overlap(np.broadcast_to(mix, (3, n_units)), xi[:3]))
        out["mixture_stable"].append(np.array_equal(net.recall(mix, seed=rng), mix))
        out["reversed_stable"].append(np.array_equal(net.recall(-xi[0], seed=rng), -xi[0]))
    return {k: np.array(v) for k, v in out.items()}
