r"""Annealed importance sampling (AIS): an estimate of ``log Z`` past exact enumeration.

Neal (2001); Salakhutdinov & Murray (2008).  :func:`log_partition_ais` anneals from a
base-rate model ``A`` (``W = 0``, ``c = 0``, visible biases the log-odds of smoothed data
means) to the RBM ``B`` through::

    p*_k(v) = exp((1 - beta_k) b_A^T v + beta_k b^T v) prod_j (1 + exp(beta_k (c_j + (v^T W)_j)))

Each run draws ``v ~ p_A``, adds ``log p*_k(v) - log p*_{k-1}(v)`` to its log-weight and
moves ``v`` by one Gibbs sweep that leaves ``p_k`` invariant.  ``E[w] = Z_B / Z_A``
exactly, for any schedule; ``E[log w_mean] <= log(Z_B / Z_A)`` (Jensen), so the estimate
of ``log Z`` tends to come out *low* and log-likelihoods computed with it optimistic.
:class:`AISEstimate` carries the estimate with an interval and the effective sample size;
:func:`annealed_distribution` is the intermediate model's exact ``p_beta(v)`` on tiny RBMs.
The exact ``log Z`` is :func:`ebm.rbm.partition.log_partition_exact`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np
from numba import njit

from ebm import _numba_cache
from ebm._checks import as_rng, binary_rows, check_float, check_int, kernel_seed
from ebm._math import sigmoid_jit, softplus, softplus_jit
from ebm._progress import progress_bar
from ebm._states import all_states
from ebm.rbm.samplers import checked_params, gibbs_sweep

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules

__all__ = [
    "log_partition_ais",
    "AISEstimate",
    "AIS_ALPHA",
    "base_rate_biases",
    "annealed_distribution",
    "log_normal_interval",
]


def annealed_distribution(rbm, beta, base_biases):
    """Exact ``p_beta(v)`` of AIS's intermediate model, over every visible state (tiny RBMs).

    ``p*_beta(v) = exp((1 - beta) b_A^T v + beta b^T v) prod_j (1 + exp(beta (c_j + (v^T W)_j)))``:
    the base-rate model at ``beta = 0``, the RBM's ``p(v)`` at ``beta = 1``.

    Parameters
    ----------
    rbm : RBM
        Anything with ``W`` (n_visible, n_hidden), ``b`` (n_visible,), ``c`` (n_hidden,);
        at most 25 visible units.
    beta : float in [0, 1]
    base_biases : array_like of shape (n_visible,)
        The base-rate model's visible biases ``b_A``.

    Returns
    -------
    V : ndarray of float64 0/1, shape (2**n_visible, n_visible)
    p : ndarray of float64, shape (2**n_visible,)
        Sums to 1.
    """
    W, b, c = checked_params(rbm)
    beta = check_float(beta, "beta", low=0.0, high=1.0)
    b_a = np.asarray(base_biases, dtype=np.float64)
    if b_a.shape != b.shape:
        raise ValueError(f"base_biases must have shape {b.shape}, got {b_a.shape}")
    V = all_states(W.shape[0], np.float64)
    log_p = V @ ((1 - beta) * b_a + beta * b) + softplus(beta * (c + V @ W)).sum(axis=1)
    log_p -= log_p.max()
    p = np.exp(log_p)
    return V, p / p.sum()


#: Two-sided miss rate of :class:`AISEstimate`'s interval: that of a normal +-3 sigma.
AIS_ALPHA = 0.0027


@dataclass(frozen=True)
class AISEstimate:
    """An AIS estimate of ``log Z``; ``float(estimate)`` is the point estimate.

    Attributes
    ----------
    log_z : float
        ``log Z_A + log mean(w)``: the standard AIS estimate (biased low, see the module).
    lower, upper : float
        An interval for ``log Z`` meant to miss at most ``AIS_ALPHA`` = 0.27% of the time
        (the rate of a normal +-3 sigma).  The log-weights of AIS are sums of many small
        increments, close to normal; if ``log w ~ N(mu, s^2)`` then
        ``log Z = log Z_A + mu + s^2 / 2``.  The interval joins a t interval for ``mu`` and
        a chi-square interval for ``s^2``, each at level ``AIS_ALPHA / 2`` (Bonferroni), so
        it holds at >= 99.73% when the log-weights are normal.  (The +-3 sigma interval of
        ``mean(w)`` does not: when the largest weights are rare it is too short, and on the
        digits RBM it missed in about one run of ten at 10 betas.)
    log_weights : ndarray of shape (n_runs,)
        ``log w`` of every run.
    log_z_base : float
        ``log Z_A`` of the base-rate model (exact).
    n_betas : int
        Number of inverse temperatures, 0 and 1 included.
    ess : float
        Effective sample size of the weights, ``(sum w)^2 / sum w^2`` (1 to ``n_runs``).
        A small one means a few runs carry the estimate.
    base_biases : ndarray (n_visible,) or None
        The base-rate model's visible biases ``b_A`` the runs started from.
    states : ndarray of int8, shape (n_betas, n_runs, n_visible), or None
        With ``log_partition_ais(..., record=True)``: every run's visible state at every
        beta (the state at which ``log p*_k - log p*_{k-1}`` was evaluated); else None.
    """

    log_z: float
    lower: float
    upper: float
    log_weights: np.ndarray
    log_z_base: float
    n_betas: int
    ess: float = math.nan
    base_biases: np.ndarray | None = None
    states: np.ndarray | None = None

    def __float__(self):
        return float(self.log_z)

    def __repr__(self):
        return (
            f"AISEstimate(log_z={self.log_z:.4f}, 99.73% interval [{self.lower:.4f}, "
            f"{self.upper:.4f}], n_runs={self.log_weights.size}, n_betas={self.n_betas}, "
            f"ess={self.ess:.1f})"
        )


def base_rate_biases(V=None, n_visible=None, smoothing=0.05):
    """Visible biases of the base-rate model: the log-odds of smoothed pixel means.

    ``p = (mean + smoothing / 2) / (1 + smoothing)`` pulls every mean towards 1/2, so no bias
    is infinite (a pixel that is never on gets a large negative bias, not ``-inf``).  Without
    data, zeros of length ``n_visible``: the uniform model.

    Parameters
    ----------
    V : array_like of 0/1, shape (n_samples, n_visible), optional
    n_visible : int, optional
        Only without ``V``.
    smoothing : float > 0, default 0.05

    Returns
    -------
    ndarray of float64, shape (n_visible,)
    """
    if V is None:
        return np.zeros(check_int(n_visible, "n_visible"))
    arr = np.asarray(V)
    if arr.ndim != 2:
        raise ValueError(f"V must be a 2-D array (N, n_visible) of 0/1 values, got shape {arr.shape}")
    V, _ = binary_rows(arr, arr.shape[1], "V", allow_1d=False)
    smoothing = check_float(smoothing, "smoothing", low=0.0, low_open=True)
    p = (V.mean(axis=0) + smoothing / 2) / (1 + smoothing)
    return np.log(p) - np.log1p(-p)


@njit(cache=True)
def _log_p_star(v, W, b, c, b_a, beta, act):
    """``log p*_beta(v)`` with ``act = c + v^T W`` precomputed."""
    lin = 0.0
    for i in range(v.size):
        lin += v[i] * ((1.0 - beta) * b_a[i] + beta * b[i])
    sp = 0.0
    for j in range(act.size):
        sp += softplus_jit(beta * act[j])
    return lin + sp


@njit(cache=True)
def _ais_kernel(W, b, c, b_a, betas, n_runs, seed, log_w, record):
    """Annealed importance sampling, run after run; ``record`` (K, R, n_v) or empty."""
    np.random.seed(seed)
    n_v, n_h = W.shape
    K = betas.size
    keep = record.shape[0] == K
    p_a = 1.0 / (1.0 + np.exp(-b_a))
    v = np.empty(n_v)
    act = np.empty(n_h)
    h = np.empty(n_h)
    ph = np.empty(n_h)
    b_k = np.empty(n_v)
    for r in range(n_runs):
        for i in range(n_v):
            v[i] = 1.0 if np.random.random() < p_a[i] else 0.0
        lw = 0.0
        for k in range(1, K):
            for j in range(n_h):  # act = c + v^T W
                s = c[j]
                for i in range(n_v):
                    s += v[i] * W[i, j]
                act[j] = s
            if keep:
                for i in range(n_v):
                    record[k - 1, r, i] = v[i]
            lw += _log_p_star(v, W, b, c, b_a, betas[k], act) - _log_p_star(v, W, b, c, b_a, betas[k - 1], act)
            if k < K - 1:  # one Gibbs sweep that leaves p_k invariant
                bk = betas[k]
                for j in range(n_h):
                    ph[j] = sigmoid_jit(bk * act[j])
                for i in range(n_v):
                    b_k[i] = (1.0 - bk) * b_a[i] + bk * b[i]
                gibbs_sweep(W, b_k, bk, ph, h, v)
        if keep:
            for i in range(n_v):
                record[K - 1, r, i] = v[i]
        log_w[r] = lw


def _betas(n_betas):
    if isinstance(n_betas, (np.ndarray, list, tuple)):
        betas = np.asarray(n_betas, dtype=np.float64)
        if betas.ndim != 1 or betas.size < 2 or betas[0] != 0.0 or betas[-1] != 1.0 or not (np.diff(betas) > 0).all():
            raise ValueError("an explicit betas schedule must be 1-D, increasing, from 0.0 to 1.0")
        return betas
    try:
        n = check_int(n_betas, "n_betas")
    except ValueError:
        raise ValueError(
            f"n_betas must be a positive number of inverse temperatures (>= 2: 0 and 1), got {n_betas}"
        ) from None
    if n < 2:
        raise ValueError(f"n_betas must be at least 2 (beta = 0 and beta = 1), got {n}")
    return np.linspace(0.0, 1.0, n)


def log_partition_ais(
    rbm, n_betas=1000, n_runs=100, seed=None, base_data=None, record=False, progress=False, *, base_biases=None
):
    """Estimate ``log Z`` by annealed importance sampling from the base-rate model.

    Parameters
    ----------
    rbm : RBM
        Anything with ``W`` (n_visible, n_hidden), ``b`` (n_visible,), ``c`` (n_hidden,).
    n_betas : int or array_like of shape (K,), default 1000
        Number of inverse temperatures, evenly spaced from 0 to 1 inclusive, or the
        schedule itself (increasing, from 0.0 to 1.0).
    n_runs : int, default 100
        Independent annealing runs (importance weights).
    seed : int or numpy.random.Generator, optional
    base_data : array_like of 0/1, shape (n_samples, n_visible), optional
        Data whose smoothed pixel means give the base model's visible biases
        (:func:`base_rate_biases`).
    record : bool, default False
        Also keep every run's visible state at every beta in the result's ``states``
        (for the step-through plots).
    progress : bool, default False
    base_biases : array_like of shape (n_visible,), optional
        The base-rate model's visible biases ``b_A`` themselves (keyword only; not together
        with ``base_data``).  Without either, the biases :meth:`RBM.fit` remembered from
        its training data (``rbm.base_biases_``), else zeros: the uniform base model.

    Returns
    -------
    AISEstimate
        ``float()`` of it is the estimate; ``estimate.states`` has shape
        (n_betas, n_runs, n_visible) with ``record=True`` and is None without.

    Raises
    ------
    ValueError
        For a non-positive number of betas or runs, both ``base_data`` and
        ``base_biases``, or base biases that are not finite or not one per visible unit.
    """
    W, b, c = checked_params(rbm)
    betas = _betas(n_betas)
    try:
        n_runs = check_int(n_runs, "n_runs")
    except ValueError:
        raise ValueError(f"n_runs must be a positive number of annealing runs, got {n_runs}") from None
    if base_biases is not None and base_data is not None:
        raise ValueError(
            "pass base_biases or base_data, not both: base_data only serves to compute the base model's biases"
        )
    if base_biases is not None:
        b_a, source = np.array(base_biases, dtype=np.float64), "base_biases"
    elif base_data is None and getattr(rbm, "base_biases_", None) is not None:
        b_a, source = np.array(rbm.base_biases_, dtype=np.float64), "rbm.base_biases_"  # remembered by fit
    else:
        b_a, source = base_rate_biases(base_data, n_visible=W.shape[0]), "base_data"
    if b_a.shape != b.shape:
        raise ValueError(
            f"the base model has {b_a.size} visible biases (from {source}) but the RBM has {b.size} visible units"
        )
    if not np.isfinite(b_a).all():
        pos = int(np.argmax(~np.isfinite(b_a)))
        raise ValueError(f"{source}[{pos}] is {b_a[pos]}: the base model's biases must be finite")
    rng = as_rng(seed)
    n_v, n_h = W.shape
    log_z_a = float(np.sum(softplus(b_a)) + n_h * math.log(2.0))
    log_w = np.empty(n_runs)
    states = np.zeros((betas.size, n_runs, n_v), np.int8) if record else np.zeros((0, 0, 0), np.int8)
    # Runs go to the kernel in up to 20 slices, each seeded from ``rng`` (the bar advances per
    # slice); the slicing is the same with or without a bar or a record, so are the results.
    step = -(-n_runs // 20)
    with progress_bar(progress, n_runs, f"AIS ({betas.size} betas)") as bar:
        for first in range(0, n_runs, step):
            last = min(n_runs, first + step)
            rec = np.zeros((betas.size, last - first, n_v), np.int8) if record else states
            _ais_kernel(W, b, c, b_a, betas, last - first, kernel_seed(rng), log_w[first:last], rec)
            if record:
                states[:, first:last] = rec
            bar.update(last - first)
    return _summarise(log_w, log_z_a, betas.size, b_a, states if record else None)


def _normal_quantile(p):
    return statistics.NormalDist().inv_cdf(p)


def _t_quantile(p, df):
    """Student's t quantile by the Cornish-Fisher expansion in ``1/df`` (to ~1e-4 at df >= 9)."""
    z = _normal_quantile(p)
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def _chi2_quantile(p, df):
    """Chi-square quantile by Wilson & Hilferty's cube-root approximation (~0.1% at df >= 9)."""
    z = _normal_quantile(p)
    return df * (1.0 - 2.0 / (9 * df) + z * math.sqrt(2.0 / (9 * df))) ** 3


def log_normal_interval(log_w, alpha=AIS_ALPHA):
    """An interval for ``log E[w] = mu + s^2 / 2`` from normal log-weights ``log w ~ N(mu, s^2)``.

    Bonferroni: a t interval for ``mu`` and a chi-square interval for ``s^2``, each missing
    with probability ``alpha / 2``; so the interval misses with probability <= ``alpha``.

    Parameters
    ----------
    log_w : ndarray of shape (n_runs,)
        The log-weights; with fewer than 2 the interval is ``(-inf, inf)``.
    alpha : float, default AIS_ALPHA (0.0027)
        The allowed miss rate.

    Returns
    -------
    lower, upper : float
        Bounds of ``log mean(w)`` (add ``log Z_A`` for ``log Z``).
    """
    n = log_w.size
    if n < 2:
        return -math.inf, math.inf
    mu, var = float(log_w.mean()), float(log_w.var(ddof=1))
    dm = _t_quantile(1 - alpha / 4, n - 1) * math.sqrt(var / n)
    var_lo = (n - 1) * var / _chi2_quantile(1 - alpha / 4, n - 1)
    var_hi = (n - 1) * var / max(_chi2_quantile(alpha / 4, n - 1), 1e-300)
    return mu - dm + var_lo / 2, mu + dm + var_hi / 2


def _summarise(log_w, log_z_a, n_betas, base_biases=None, states=None):
    m = log_w.max()
    w = np.exp(log_w - m)
    lower, upper = log_normal_interval(log_w)
    return AISEstimate(
        log_z=float(log_z_a + m + math.log(w.mean())),
        lower=float(log_z_a + lower),
        upper=float(log_z_a + upper),
        log_weights=log_w,
        log_z_base=log_z_a,
        n_betas=int(n_betas),
        ess=float(w.sum() ** 2 / (w**2).sum()),
        base_biases=base_biases,
        states=states,
    )
