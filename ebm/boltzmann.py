r"""Boltzmann machines (Ackley, Hinton & Sejnowski 1985): probability enters.

Conventions (pinned; the tests and lecture 02 use them)
-------------------------------------------------------
Units are binary, ``s in {0, 1}^n``.  ``W`` is symmetric with a zero diagonal and
``theta`` is the paper's threshold::

    E(s)  = -1/2 s^T W s + theta^T s               p(s) = exp(-E(s)/T) / Z
    dE_k  = sum_j W_kj s_j - theta_k                (unit k's energy gap: E(s_k=0) - E(s_k=1))
    P(s_k = 1 | the rest) = sigma(dE_k / T),        sigma(z) = 1 / (1 + exp(-z))

State ``index`` has unit ``i`` at bit ``i`` (binary counting order): state 6 of
three units is ``(0, 1, 1)``.

What the article says (SEED_NOTES §2), and what else is true
-------------------------------------------------------------
The article: the Boltzmann machine keeps Hopfield's energy but turns the step
into a probability, ``P(y) = 1 / (1 + exp(-(W x + b) / T))``; with ``T = 1`` that
is the sigmoid.  Also true, and computed here:

* as ``T -> 0`` the unit becomes Hopfield's deterministic threshold unit
  (:func:`deterministic_unit`); at ``net = 0`` the limit is 1/2, not a step;
* at equilibrium ``P_a / P_b = exp(-(E_a - E_b) / T)`` (:func:`boltzmann_ratio`);
* the sigmoid is a 2-way softmax over the unit's two states, off (energy gap 0)
  and on (gap ``net``): the core's :func:`ebm.softmax_forward` over
  ``[0, net/T]`` gives it (:func:`unit_probability_via_softmax`), and the
  logistic loss ``log(1 + exp(-z))`` is the 2-class softmax-with-loss
  (:func:`logistic_loss_via_core`).

Learning (the 1985 rule)
------------------------
With visible units clamped to the data ("clamped" phase, statistics ``p_ij``)
and running free (``p'_ij``), ``dw_ij = eps (p_ij - p'_ij)`` descends
``G = KL(data || model's visible marginal)``, whose gradient is
``dG/dw_ij = -(p_ij - p'_ij) / T``.  :func:`learn` computes the statistics
exactly by enumeration (small nets), from a few exact samples, or by annealing
with the Numba Gibbs sampler; the step is the gradient or the paper's sign-only
step; clamping can be noisy.  :func:`encoder_experiment` shows why the 1985
procedure's noise mattered on the 4-2-4 encoder.
"""

from __future__ import annotations

import functools
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ebm._progress import progress_bar

__all__ = [
    "unit_probability",
    "deterministic_unit",
    "unit_probability_via_softmax",
    "logistic_loss",
    "logistic_loss_via_core",
    "all_states",
    "state_index",
    "total_variation",
    "BoltzmannMachine",
    "AnnealResult",
    "gibbs_reference",
    "LearningResult",
    "clamped_statistics",
    "free_statistics",
    "kl_divergence",
    "learn",
    "encoder_network",
    "encoder_patterns",
    "encoder_codes",
    "parity_data",
    "sampler_convergence",
    "boltzmann_ratio",
    "conditional_check",
    "anneal_vs_greedy",
    "spin_glass",
    "GLASS_SCHEDULE",
    "parity_experiment",
    "encoder_experiment",
    "benchmark_gibbs",
    "PAPER_SCHEDULE",
]

#: Largest network :meth:`BoltzmannMachine.exact_distribution` enumerates (2^20 states).
MAX_EXACT_UNITS = 20

#: The paper's annealing schedule for the encoders, (T, sweeps): 2@20, 2@15, 2@12, 4@10.
PAPER_SCHEDULE = ((20.0, 2), (15.0, 2), (12.0, 2), (10.0, 4))


# --------------------------------------------------------------------------- validation


def _check_T(T, name="T"):
    if isinstance(T, (bool, np.bool_)) or not isinstance(T, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {T!r}")
    T = float(T)
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"{name} must be a positive finite temperature, got {T!r} "
                         "(for the T -> 0 limit use deterministic_unit or BoltzmannMachine.descend)")
    return T


def _check_int(value, name, low):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _real(x, name):
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must hold real numbers, got {x!r}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf" or arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        pos = tuple(int(k) for k in np.argwhere(np.isnan(arr))[0])
        raise ValueError(f"{name}{list(pos)} is NaN")
    return arr


def _binary(states, n_units, name="states"):
    """Validate {0, 1} states of length ``n_units``: an int8 copy, (n,) or (M, n)."""
    arr = np.asarray(states)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric 0/1 values, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] != n_units:
        raise ValueError(f"{name} must have shape ({n_units},) or (M, {n_units}), got {arr.shape}")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), arr.shape))
        raise ValueError(f"{name}{list(pos)} is {arr[pos]}: Boltzmann states must be 0 or 1 "
                         "(for ±1 data use (s + 1) // 2)")
    return arr.astype(np.int8)


def _seed_int(seed):
    """An int seed for Numba's generator from None, an int or a numpy Generator."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**32 - 1))
    if seed is None:
        return int(np.random.default_rng().integers(0, 2**32 - 1))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be None, a numpy Generator or an integer in [0, 2**32), got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------- one stochastic unit


def unit_probability(net_input, T=1.0):
    """``P(s = 1) = 1 / (1 + exp(-net / T))``, to full relative precision.

    For ``z = net/T >= 0`` it computes ``1 / (1 + exp(-z))``; for ``z < 0``,
    ``exp(z) / (1 + exp(z))``, so neither branch overflows and a tiny probability
    keeps its relative precision (``net = -1000, T = 0.25`` gives ``exp(-4000)``,
    which rounds to 0.0 in float64 -- the correctly rounded answer).

    Parameters
    ----------
    net_input : float or array_like
        The energy gap ``dE_k = sum_j W_kj s_j - theta_k`` (the article's ``W x + b``).
    T : float > 0, default 1.0
        The temperature.  ``T <= 0`` raises; the ``T -> 0`` limit is
        :func:`deterministic_unit`.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from ebm.boltzmann import unit_probability
    >>> round(unit_probability(1.0), 6), round(unit_probability(1.0, T=10), 6)
    (0.731059, 0.524979)
    """
    T = _check_T(T)
    z = _real(net_input, "net_input") / T
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return float(out) if out.ndim == 0 else out


def deterministic_unit(net_input):
    """The ``T -> 0`` limit of :func:`unit_probability`: 1 if ``net > 0``, 0 if ``net < 0``.

    At ``net = 0`` the limit is 1/2 (the unit is undecided at every temperature);
    Hopfield's update keeps the old state there instead.  Returns floats so the
    limit can be compared with probabilities.
    """
    z = _real(net_input, "net_input")
    out = np.where(z > 0, 1.0, np.where(z < 0, 0.0, 0.5))
    return float(out) if out.ndim == 0 else out


def _two_way_logits(net_input, T):
    z = _real(net_input, "net_input") / T
    if not np.isfinite(z).all():
        raise ValueError("net_input / T must be finite for the softmax bridge")
    flat = z.reshape(-1)
    return z, np.stack([np.zeros_like(flat), flat], axis=1)      # (M, 2): off, on


def unit_probability_via_softmax(net_input, T=1.0):
    """The same ``P(s = 1)``, computed by the core: ``softmax_forward([0, net/T])[1]``.

    A unit has two states.  Off has energy gap 0, on has gap ``net``; the
    Boltzmann distribution over the two is a softmax of ``[0, net/T]`` and its
    second entry is ``exp(z) / (1 + exp(z)) = sigma(z)``.  Holds for every finite
    ``net / T``.
    """
    from ebm.softmax_loss import softmax_forward

    T = _check_T(T)
    z, logits = _two_way_logits(net_input, T)
    p = softmax_forward(logits, axis=1)[:, 1].reshape(z.shape)
    return float(p) if p.ndim == 0 else p


def logistic_loss(z, label=1):
    """``-log P(label)`` of a unit with logit ``z``: ``softplus(z) - label * z``.

    For ``label = 1`` it is ``log(1 + exp(-z))``; its derivative is
    ``sigma(z) - label``.  Computed stably (``log1p`` of ``exp(-|z|)``).

    Returns
    -------
    loss : ndarray (per element), grad : ndarray
    """
    z = _real(z, "z")
    y = _real(label, "label")
    if ((y != 0) & (y != 1)).any():
        raise ValueError(f"label must be 0 or 1, got {np.unique(y).tolist()}")
    y = np.broadcast_to(y, z.shape)
    softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    prob = unit_probability(z) if z.ndim else np.asarray(unit_probability(z))
    return softplus - y * z, prob - y


def logistic_loss_via_core(z, label, *, loss_weight=1.0, normalization="none"):
    """The logistic loss as the core's 2-class softmax-with-loss, with its derivative.

    The logits of sample ``m`` are ``[0, z_m]`` (class 0: off, class 1: on) and the
    label is the unit's target state.  The loss is
    :func:`ebm.softmax_loss_forward` and ``d loss / d z`` is column 1 of
    :func:`ebm.softmax_loss_backward` (the constant 0 logit takes no gradient).

    With ``normalization="none"`` the loss is ``loss_weight``-free
    ``sum_m softplus(z_m) - label_m z_m`` and the gradient
    ``loss_weight * (sigma(z) - label)``; ``"valid"`` divides both by the number of
    samples.

    Returns
    -------
    loss : float
    grad : ndarray, shape of ``z``
    """
    from ebm.softmax_loss import softmax_loss_backward, softmax_loss_forward

    zz, logits = _two_way_logits(z, 1.0)
    lab = np.asarray(label)
    if lab.shape != zz.shape:
        lab = np.broadcast_to(lab, zz.shape)
    lab = _binary(lab.reshape(-1, 1), 1, "label").reshape(-1).astype(np.int64)
    loss, prob = softmax_loss_forward(logits, lab, axis=1, normalization=normalization)
    bottom_diff = softmax_loss_backward(prob, lab, top_diff=loss_weight, axis=1,
                                        normalization=normalization)
    return loss, bottom_diff[:, 1].reshape(zz.shape)


# --------------------------------------------------------------------------- states


def all_states(n_units):
    """Every state of ``n_units`` binary units, shape (2^n, n) int8, unit i = bit i of the row index."""
    n = _check_int(n_units, "n_units", 0)
    if n > MAX_EXACT_UNITS:
        raise ValueError(f"n_units = {n} would enumerate 2^{n} states; the limit is {MAX_EXACT_UNITS} "
                         "units (use BoltzmannMachine.sample instead)")
    return _all_states(n).copy()


@functools.lru_cache(maxsize=32)
def _all_states(n):
    idx = np.arange(2 ** n, dtype=np.int64)
    out = ((idx[:, None] >> np.arange(n)) & 1).astype(np.int8)
    out.flags.writeable = False                       # cached: shared, never modified
    return out


def _energies(S, W, theta):
    """``-1/2 s^T W s + theta^T s`` over the last axis of a float array of states."""
    return -0.5 * ((S @ W) * S).sum(axis=-1) + S @ theta


def state_index(states):
    """The index of each {0,1} state (unit i is bit i): the inverse of :func:`all_states`."""
    s = np.asarray(states)
    s = _binary(s, s.shape[-1] if s.ndim else 0)
    return (s.astype(np.int64) << np.arange(s.shape[-1])).sum(axis=-1)


def total_variation(p, q):
    """``1/2 sum |p - q|``: the total-variation distance between two distributions."""
    p, q = _real(p, "p"), _real(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    return 0.5 * float(np.abs(p - q).sum())


# --------------------------------------------------------------------------- the Gibbs kernel


@njit(cache=True)
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@njit(cache=True)
def _gibbs_kernel(W, theta, temps, free, state, seed, random_init, record_from, samples, energies):
    """Random-order single-unit Gibbs sweeps, one temperature per sweep (0: deterministic).

    ``state`` (int8) is updated in place; only the units in ``free`` change.  After
    sweep ``t`` the energy goes to ``energies[t]`` and, from sweep ``record_from``
    on, the state to ``samples[t - record_from]``.  The order of the free units is
    reshuffled every sweep (Fisher-Yates with ``random()``, so the NumPy reference
    :func:`gibbs_reference` replays the same stream).
    """
    np.random.seed(seed)
    n = state.shape[0]
    m = free.shape[0]
    if random_init:
        for a in range(m):
            state[free[a]] = 1 if np.random.random() < 0.5 else 0
    net = np.empty(n)
    for k in range(n):
        acc = -theta[k]
        for j in range(n):
            acc += W[k, j] * state[j]
        net[k] = acc
    order = free.copy()
    for sweep in range(temps.shape[0]):
        T = temps[sweep]
        for a in range(m - 1, 0, -1):
            b = int(np.random.random() * (a + 1))
            tmp = order[a]
            order[a] = order[b]
            order[b] = tmp
        for a in range(m):
            k = order[a]
            old = state[k]
            if T > 0.0:
                new = 1 if np.random.random() < _sigmoid(net[k] / T) else 0
            elif net[k] > 0.0:
                new = 1
            elif net[k] < 0.0:
                new = 0
            else:
                new = old
            if new != old:
                d = float(new - old)
                for j in range(n):
                    net[j] += W[j, k] * d
                state[k] = new
        e = 0.0
        for k in range(n):
            if state[k] == 1:
                e += 0.5 * theta[k] - 0.5 * net[k]      # -1/2 (net_k + theta_k) + theta_k
        energies[sweep] = e
        if sweep >= record_from:
            for k in range(n):
                samples[sweep - record_from, k] = state[k]
    return state


def gibbs_reference(W, theta, temps, free, state, seed, random_init=False, record_from=0):
    """Plain-NumPy twin of the Numba Gibbs kernel (same random stream, same result).

    Used by the tests as the kernel's oracle and by :func:`benchmark_gibbs` as the
    baseline.  Returns ``(state, samples, energies)``; nothing passed in is modified.
    """
    rs = np.random.RandomState(seed)
    W = np.asarray(W, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    temps = np.asarray(temps, dtype=np.float64)
    state = np.array(state, dtype=np.int8)
    free = np.array(free, dtype=np.int64)
    if random_init:
        for k in free:
            state[k] = 1 if rs.random_sample() < 0.5 else 0
    net = W @ state - theta
    samples = np.zeros((max(temps.size - record_from, 0), state.size), dtype=np.int8)
    energies = np.empty(temps.size)
    order = free.copy()
    for sweep, T in enumerate(temps):
        for a in range(order.size - 1, 0, -1):
            b = int(rs.random_sample() * (a + 1))
            order[a], order[b] = order[b], order[a]
        for k in order:
            old = state[k]
            if T > 0:
                z = net[k] / T
                p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
                new = 1 if rs.random_sample() < p else 0
            else:
                new = 1 if net[k] > 0 else 0 if net[k] < 0 else old
            if new != old:
                net += W[:, k] * (new - old)
                state[k] = new
        s = state.astype(np.float64)
        energies[sweep] = -0.5 * s @ W @ s + theta @ s
        if sweep >= record_from:
            samples[sweep - record_from] = state
    return state, samples, energies


# --------------------------------------------------------------------------- the machine


@dataclass(frozen=True)
class AnnealResult:
    """One annealing run.

    Attributes
    ----------
    energies : ndarray, shape (sweeps,)
        ``E`` after each sweep.
    temperatures : ndarray, shape (sweeps,)
        The temperature of each sweep.
    final : ndarray of int8, shape (n,)
    states : ndarray of int8, shape (sweeps, n)
        The state after each sweep.
    """

    energies: np.ndarray
    temperatures: np.ndarray
    final: np.ndarray
    states: np.ndarray


def _index_set(indices, n, name):
    arr = np.asarray(indices)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-D sequence of unit indices, got {indices!r}")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        raise ValueError(f"{name}[{int(np.argmax(bad))}] is {arr[bad][0]}: units are 0..{n - 1}")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"{name} lists a unit twice: {arr.tolist()}")
    return np.sort(arr)


class BoltzmannMachine:
    """A Boltzmann machine of binary units at temperature ``T``.

    Parameters
    ----------
    W : array_like, shape (n, n)
        Symmetric weights with a zero diagonal (ValueError otherwise, naming the
        entry).
    theta : array_like, shape (n,), optional
        Thresholds (zero by default): ``E = -1/2 s^T W s + theta^T s``.
    T : float > 0, default 1.0
    mask : array_like of bool, shape (n, n), optional
        Which connections exist (symmetric, False on the diagonal).  ``W`` must be
        0 where ``mask`` is False, and :func:`learn` keeps it so.  Default: all
        off-diagonal pairs.
    visible, hidden : sequences of unit indices, optional
        Give one (the other is its complement) or both (disjoint, covering all
        units).  Default: every unit visible.

    Examples
    --------
    >>> import numpy as np
    >>> from ebm.boltzmann import BoltzmannMachine
    >>> bm = BoltzmannMachine([[0, 1], [1, 0]], theta=[0.5, 0.5])
    >>> bm.exact_distribution().round(4)        # states 00, 10, 01, 11
    array([0.3036, 0.1841, 0.1841, 0.3282])
    """

    def __init__(self, W, theta=None, T=1.0, *, mask=None, visible=None, hidden=None):
        W = np.array(_real(W, "W"), dtype=np.float64)     # a copy
        if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
            raise ValueError(f"W must be a non-empty square matrix, got shape {W.shape}")
        if not np.isfinite(W).all():
            pos = tuple(int(k) for k in np.argwhere(~np.isfinite(W))[0])
            raise ValueError(f"W{list(pos)} is {W[pos]}: weights must be finite")
        n = W.shape[0]
        diag = np.flatnonzero(np.diag(W))
        if diag.size:
            i = int(diag[0])
            raise ValueError(f"W[{i}, {i}] is {W[i, i]}: the diagonal must be zero (no self-connections)")
        asym = np.abs(W - W.T)
        if asym.max() > 1e-12 * max(1.0, np.abs(W).max()):
            i, j = (int(k) for k in np.unravel_index(int(np.argmax(asym)), asym.shape))
            raise ValueError(f"W is not symmetric: W[{i}, {j}] = {W[i, j]} but W[{j}, {i}] = {W[j, i]}")
        theta = np.zeros(n) if theta is None else np.array(_real(theta, "theta"), dtype=np.float64)
        if theta.shape != (n,):
            raise ValueError(f"theta must have shape ({n},) to match W, got {theta.shape}")
        if not np.isfinite(theta).all():
            raise ValueError("theta must be finite")
        if mask is None:
            mask = ~np.eye(n, dtype=bool)
        else:
            mask = np.array(mask)
            if mask.shape != (n, n) or mask.dtype != bool:
                raise ValueError(f"mask must be a boolean ({n}, {n}) array, got {mask.dtype} {mask.shape}")
            if mask.diagonal().any() or (mask != mask.T).any():
                raise ValueError("mask must be symmetric with a False diagonal")
            off = (W != 0) & ~mask
            if off.any():
                i, j = (int(k) for k in np.argwhere(off)[0])
                raise ValueError(f"W[{i}, {j}] is {W[i, j]} but mask[{i}, {j}] is False: "
                                 "absent connections must have zero weight")
        if visible is None and hidden is None:
            visible, hidden = np.arange(n), np.array([], dtype=np.int64)
        elif hidden is None:
            visible = _index_set(visible, n, "visible")
            hidden = np.setdiff1d(np.arange(n), visible)
        elif visible is None:
            hidden = _index_set(hidden, n, "hidden")
            visible = np.setdiff1d(np.arange(n), hidden)
        else:
            visible, hidden = _index_set(visible, n, "visible"), _index_set(hidden, n, "hidden")
            if np.intersect1d(visible, hidden).size or visible.size + hidden.size != n:
                raise ValueError("visible and hidden must be disjoint and cover every unit")
        self.W, self.theta, self.T, self.mask = W, theta, _check_T(T), mask
        self.visible, self.hidden = visible.astype(np.int64), hidden.astype(np.int64)

    @property
    def n_units(self):
        return self.W.shape[0]

    def __repr__(self):
        return (f"BoltzmannMachine(n_units={self.n_units}, visible={self.visible.size}, "
                f"hidden={self.hidden.size}, T={self.T:g})")

    def copy(self, W=None, theta=None, T=None):
        """A new machine with the same structure (and optionally new parameters)."""
        return BoltzmannMachine(self.W if W is None else W, self.theta if theta is None else theta,
                                self.T if T is None else T, mask=self.mask, visible=self.visible,
                                hidden=self.hidden)

    def _with_params(self, W, theta):
        """The same structure with new parameters, unvalidated: for :func:`learn`'s inner loop,
        whose steps keep W symmetric with a zero diagonal and zero outside the mask."""
        new = object.__new__(BoltzmannMachine)
        new.__dict__.update(self.__dict__)
        new.W, new.theta = W, theta
        return new

    # ------------------------------------------------------------------ energies

    def energy(self, states):
        """``E(s) = -1/2 s^T W s + theta^T s``: a float for one state, an array for a batch."""
        s = _binary(states, self.n_units).astype(np.float64)
        e = -0.5 * np.einsum("...i,ij,...j->...", s, self.W, s) + s @ self.theta
        return float(e) if s.ndim == 1 else e

    def energy_gap(self, states):
        """``dE_k = sum_j W_kj s_j - theta_k`` for every unit k (the diagonal is zero)."""
        s = _binary(states, self.n_units).astype(np.float64)
        return s @ self.W - self.theta

    def conditional_probability(self, states):
        """``P(s_k = 1 | the other units) = sigma(dE_k / T)`` for every unit k."""
        return unit_probability(self.energy_gap(states), self.T)

    # ------------------------------------------------------------------ exact

    def _check_exact(self):
        if self.n_units > MAX_EXACT_UNITS:
            raise ValueError(f"exact enumeration is limited to {MAX_EXACT_UNITS} units (2^{MAX_EXACT_UNITS} "
                             f"states); this machine has {self.n_units}: use sample() instead")

    def _all_energies(self):
        self._check_exact()
        n = self.n_units
        out = np.empty(2 ** n)
        chunk = 1 << 15
        for start in range(0, out.size, chunk):
            idx = np.arange(start, min(start + chunk, out.size), dtype=np.int64)
            s = ((idx[:, None] >> np.arange(n)) & 1).astype(np.float64)
            out[start:start + idx.size] = _energies(s, self.W, self.theta)
        return out

    def log_partition(self):
        """``log Z = log sum_s exp(-E(s)/T)`` by enumeration (n <= 20), via log-sum-exp."""
        a = -self._all_energies() / self.T
        m = a.max()
        return float(m + np.log(np.exp(a - m).sum()))

    def exact_distribution(self):
        """``p(s)`` for all 2^n states, unit i = bit i of the index (n <= 20; ValueError beyond)."""
        a = -self._all_energies() / self.T
        p = np.exp(a - a.max())
        return p / p.sum()

    def visible_distribution(self):
        """The model's marginal over the visible units, indexed by the visible bits in order."""
        p = self.exact_distribution()
        if self.hidden.size == 0:
            return p
        vis_idx = state_index(all_states(self.n_units)[:, self.visible])
        return np.bincount(vis_idx, weights=p, minlength=2 ** self.visible.size)

    # ------------------------------------------------------------------ sampling

    def _run(self, temps, seed, init, clamp, record_from):
        n = self.n_units
        free = np.ones(n, dtype=bool)
        state = np.zeros(n, dtype=np.int8)
        random_init = init is None
        if init is not None:
            state = _binary(init, n, "init").copy()
            if state.ndim != 1:
                raise ValueError(f"init must be one state of shape ({n},), got {state.shape}")
        if clamp is not None:
            if not isinstance(clamp, dict):
                raise TypeError(f"clamp must be a dict {{unit: 0 or 1}}, got {type(clamp).__name__}")
            for k, v in clamp.items():
                if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k < n:
                    raise ValueError(f"clamp key {k!r} is not a unit index in 0..{n - 1}")
                if v not in (0, 1):
                    raise ValueError(f"clamp[{k}] is {v!r}: clamped units must be 0 or 1")
                state[k] = v
                free[k] = False
        temps = np.ascontiguousarray(temps, dtype=np.float64)
        samples = np.zeros((max(temps.size - record_from, 0), n), dtype=np.int8)
        energies = np.empty(temps.size)
        _gibbs_kernel(self.W, self.theta, temps, np.flatnonzero(free).astype(np.int64), state,
                      _seed_int(seed), random_init, record_from, samples, energies)
        return state, samples, energies

    def sample(self, n_samples, *, burn_in=100, seed=None, init=None, clamp=None):
        """Draw states by random-order single-unit Gibbs sweeps at ``T`` (Numba).

        One sample is kept after every sweep (n updates, each unit once, in a fresh
        random order), after ``burn_in`` sweeps.  Consecutive samples are
        correlated; averages converge to the Boltzmann distribution for any
        ``T > 0`` (the chain is irreducible: every flip has positive probability).

        Parameters
        ----------
        n_samples : int >= 1
        burn_in : int >= 0, default 100
        seed : int or numpy.random.Generator, optional
            Seeds Numba's generator inside the kernel: same seed, same samples.
        init : array_like of {0,1}, shape (n,), optional
            The starting state (default: random, drawn from ``seed``).
        clamp : dict {unit: 0 or 1}, optional
            Units held fixed (the clamped phase).

        Returns
        -------
        ndarray of int8, shape (n_samples, n)
        """
        n_samples = _check_int(n_samples, "n_samples", 1)
        burn_in = _check_int(burn_in, "burn_in", 0)
        temps = np.full(burn_in + n_samples, self.T)
        return self._run(temps, seed, init, clamp, burn_in)[1]

    def anneal(self, schedule, *, seed=None, init=None, clamp=None):
        """Simulated annealing: Gibbs sweeps while the temperature falls.

        Parameters
        ----------
        schedule : sequence of (T, sweeps)
            E.g. :data:`PAPER_SCHEDULE` ``((20, 2), (15, 2), (12, 2), (10, 4))``.
            Every T must be > 0 (use :meth:`descend` for T = 0).
        seed, init, clamp : as in :meth:`sample`.

        Returns
        -------
        AnnealResult
            The energy after each sweep, the temperature of each sweep and the final state.
        """
        temps = _schedule_temps(schedule)
        state, states, energies = self._run(temps, seed, init, clamp, 0)
        return AnnealResult(energies, temps, state, states)

    def descend(self, *, sweeps=50, seed=None, init=None, clamp=None):
        """Greedy descent, the ``T = 0`` limit: each unit takes the state of lower energy.

        This is Hopfield's asynchronous update for {0,1} units (ties keep the old
        state); E never increases.  Returns an :class:`AnnealResult` with T = 0.
        """
        sweeps = _check_int(sweeps, "sweeps", 1)
        temps = np.zeros(sweeps)
        state, states, energies = self._run(temps, seed, init, clamp, 0)
        return AnnealResult(energies, temps, state, states)


def _schedule_temps(schedule):
    try:
        pairs = [tuple(p) for p in schedule]
    except TypeError:
        raise TypeError(f"schedule must be a sequence of (T, sweeps) pairs, got {schedule!r}") from None
    if not pairs:
        raise ValueError("schedule is empty")
    temps = []
    for n, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(f"schedule[{n}] must be a (T, sweeps) pair, got {pair!r}")
        T = _check_T(pair[0], f"schedule[{n}] temperature")
        temps += [T] * _check_int(pair[1], f"schedule[{n}] sweeps", 1)
    return np.array(temps)


# --------------------------------------------------------------------------- learning


def _as_data(bm, data):
    d = np.asarray(data)
    if d.ndim == 1:
        d = d[None, :]
    return _binary(d, bm.visible.size, "data")


def _hidden_posterior(bm, v):
    """For visible rows ``v`` (m, nv): full states (m, 2^nh, n) and p(h | v) (m, 2^nh)."""
    nh = bm.hidden.size
    H = _all_states(nh)
    S = np.zeros((v.shape[0], H.shape[0], bm.n_units))
    S[:, :, bm.visible] = v[:, None, :]
    S[:, :, bm.hidden] = H[None, :, :]
    a = -_energies(S, bm.W, bm.theta) / bm.T
    p = np.exp(a - a.max(axis=1, keepdims=True))
    return S, p / p.sum(axis=1, keepdims=True)


def clamped_statistics(bm, data):
    """Exact clamped-phase statistics: visible units on each row of ``data``, hidden in equilibrium.

    Returns
    -------
    p_i : ndarray (n,)
        ``<s_i>`` averaged over the rows.
    p_ij : ndarray (n, n)
        ``<s_i s_j>`` (the paper's ``p_ij``), averaged over the rows.
    """
    v = _as_data(bm, data).astype(np.float64)
    S, p = _hidden_posterior(bm, v)
    flat = S.reshape(-1, bm.n_units)
    w = p.reshape(-1, 1) / v.shape[0]
    return (flat * w).sum(axis=0), (flat * w).T @ flat


def free_statistics(bm):
    """Exact free-phase statistics ``<s_i>`` and ``<s_i s_j>`` (the paper's ``p'_ij``), n <= 20."""
    p = bm.exact_distribution()
    S = _all_states(bm.n_units).astype(np.float64)
    return p @ S, S.T @ (S * p[:, None])


def kl_divergence(bm, data):
    """``G = sum_v P+(v) log(P+(v) / P-(v))`` in nats: data distribution vs the model's visible marginal.

    ``P+`` is the empirical distribution of the rows of ``data`` (repeats count);
    ``P-`` is :meth:`BoltzmannMachine.visible_distribution`.
    """
    v = _as_data(bm, data)
    pplus = np.bincount(state_index(v), minlength=2 ** bm.visible.size) / v.shape[0]
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
        allS = _all_states(n).astype(np.float64)
        minus = allS[_draw(bm.exact_distribution(), n_free, rng)]
    else:                                              # "gibbs": anneal, then collect at the last T
        temps = np.concatenate([_schedule_temps(schedule), np.full(collect, schedule[-1][0])])
        rec = temps.size - collect
        free_h = bm.hidden
        plus = []
        for row in reps:
            state = np.zeros(n, dtype=np.int8)
            state[bm.visible] = row
            out = np.zeros((collect, n), dtype=np.int8)
            _gibbs_kernel(bm.W, bm.theta, temps, free_h, state, _seed_int(rng), True, rec, out,
                          np.empty(temps.size))
            plus.append(out)
        plus = np.concatenate(plus).astype(np.float64)
        minus = []
        for _ in range(n_free):
            out = np.zeros((collect, n), dtype=np.int8)
            _gibbs_kernel(bm.W, bm.theta, temps, np.arange(n, dtype=np.int64), np.zeros(n, np.int8),
                          _seed_int(rng), True, rec, out, np.empty(temps.size))
            minus.append(out)
        minus = np.concatenate(minus).astype(np.float64)
    return (plus.mean(axis=0), plus.T @ plus / plus.shape[0],
            minus.mean(axis=0), minus.T @ minus / minus.shape[0])


@dataclass
class LearningResult:
    """What :func:`learn` returns.

    Attributes
    ----------
    machine : BoltzmannMachine
        The trained machine (a new object; the one passed in is unchanged).
    G : ndarray
        ``KL(data || model)`` after each cycle (NaN where not computed).
    history : list
        Whatever ``callback(cycle, machine)`` returned, when it returned something.
    cycles : int
        Cycles run (fewer than asked when ``callback`` returned ``"stop"``).
    """

    machine: BoltzmannMachine
    G: np.ndarray
    history: list = field(default_factory=list)
    cycles: int = 0


STATISTICS = ("exact", "exact_samples", "gibbs")
STEPS = ("gradient", "sign")


def learn(bm, data, *, n_cycles=100, lr=0.5, step="gradient", statistics="exact", noise=None,
          n_clamped=5, n_free=20, schedule=PAPER_SCHEDULE, collect=10, track_G=True,
          callback=None, seed=None, progress=False):
    """Train with the 1985 rule: ``dw_ij = eps (p_ij - p'_ij)``, thresholds with the opposite sign.

    Each cycle measures the clamped statistics (visible units on the data,
    hidden in equilibrium) and the free ones, then steps every existing
    connection (``bm.mask``) and every threshold.

    Parameters
    ----------
    bm : BoltzmannMachine
        The starting point (not modified).
    data : array_like of {0,1}, shape (m, n_visible)
        The training vectors, equally likely (repeat a row to weight it).
    n_cycles : int, default 100
    lr : float > 0, default 0.5
        ``eps`` for ``step="gradient"``; the fixed step size for ``step="sign"``.
    step : {"gradient", "sign"}
        ``eps (p - p')`` (steepest descent on G, times T), or the paper's
        ``lr * sign(p - p')``, which leaves a weight unchanged when the two
        statistics tie.
    statistics : {"exact", "exact_samples", "gibbs"}
        ``"exact"``: expectations by enumeration (one noisy copy of each row per
        cycle when ``noise`` is set).  ``"exact_samples"``: ``n_clamped`` samples
        per row and ``n_free`` free samples, drawn exactly from the enumerated
        distributions.  ``"gibbs"``: the paper's procedure -- anneal with
        ``schedule`` and collect ``collect`` sweeps at its last temperature, for
        each clamped and free sample (the only choice for nets past enumeration).
    noise : (p_off, p_on) or None
        Noisy clamping: an on unit is clamped off with ``p_off``, an off unit on
        with ``p_on``, redrawn at every clamping.  The paper used (0.15, 0.05).
    track_G : bool, default True
        Compute ``G`` after every cycle (needs enumeration).
    callback : callable, optional
        ``callback(cycle, machine)`` after each cycle; return ``"stop"`` to end,
        anything else not None is appended to ``history``.
    seed : int or numpy.random.Generator, optional
    progress : bool, default False
        A tqdm progress bar over the cycles.

    Returns
    -------
    LearningResult
    """
    n_cycles = _check_int(n_cycles, "n_cycles", 0)
    if step not in STEPS:
        raise ValueError(f"step must be one of {STEPS}, got {step!r}")
    if statistics not in STATISTICS:
        raise ValueError(f"statistics must be one of {STATISTICS}, got {statistics!r}")
    if not (isinstance(lr, numbers.Real) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if noise is not None:
        noise = tuple(float(x) for x in noise)
        if len(noise) != 2 or not all(0 <= x < 1 for x in noise):
            raise ValueError(f"noise must be (p_off, p_on) with both in [0, 1), got {noise!r}")
    n_clamped = _check_int(n_clamped, "n_clamped", 1)
    n_free = _check_int(n_free, "n_free", 1)
    collect = _check_int(collect, "collect", 1)
    v = _as_data(bm, data)
    rng = np.random.default_rng(seed)
    W, theta = bm.W.copy(), bm.theta.copy()
    mask = bm.mask
    G = np.full(n_cycles, np.nan)
    history = []
    machine = bm.copy()
    done = 0
    with progress_bar(progress, n_cycles, f"Boltzmann learning ({statistics}, {step})") as bar:
        for cycle in range(n_cycles):
            if statistics == "exact":
                pi, pij = clamped_statistics(machine, _noisy(v, noise, rng))
                qi, qij = free_statistics(machine)
            else:
                noisy = _noisy(np.repeat(v, n_clamped, axis=0), noise, rng)
                pi, pij, qi, qij = _sampled_statistics(machine, noisy, 1, n_free, statistics,
                                                       schedule, collect, rng)
            dW, dth = pij - qij, pi - qi
            if step == "sign":
                dW, dth = np.sign(dW), np.sign(dth)
            W = W + lr * np.where(mask, dW, 0.0)
            theta = theta - lr * dth
            W = 0.5 * (W + W.T)                        # exact symmetry against rounding
            machine = machine._with_params(W, theta)
            if track_G:
                G[cycle] = kl_divergence(machine, v)
            done = cycle + 1
            bar.update()
            if callback is not None:
                out = callback(cycle, machine)
                if isinstance(out, str) and out == "stop":
                    break
                if out is not None:
                    history.append(out)
    return LearningResult(machine, G[:done], history, done)


# --------------------------------------------------------------------------- the encoder


def encoder_network(n_visible=4, n_hidden=2, T=1.0):
    """An n-h-n encoder at zero weights: V1 (units 0..n-1), H, V2 (the last n units).

    Connections: within V1, within V2, and every visible unit to every hidden
    unit; none between V1 and V2 (the message must go through H), and none
    between the hidden units (our reading of the paper's Fig. 3).
    """
    nv = _check_int(n_visible, "n_visible", 2)
    nh = _check_int(n_hidden, "n_hidden", 1)
    n = 2 * nv + nh
    v1, h, v2 = np.arange(nv), np.arange(nv, nv + nh), np.arange(nv + nh, n)
    mask = np.zeros((n, n), dtype=bool)
    for a, b in ((v1, v1), (v2, v2), (v1, h), (v2, h)):
        mask[np.ix_(a, b)] = True
        mask[np.ix_(b, a)] = True
    np.fill_diagonal(mask, False)
    return BoltzmannMachine(np.zeros((n, n)), np.zeros(n), T, mask=mask, hidden=h)


def encoder_patterns(n_visible=4):
    """The training vectors (V1, V2) = (e_i, e_i): shape (n, 2n)."""
    eye = np.eye(_check_int(n_visible, "n_visible", 2), dtype=np.int8)
    return np.concatenate([eye, eye], axis=1)


def encoder_codes(bm, n_visible=4):
    """For each pattern, with V1 clamped cleanly: the most probable hidden code and V2.

    Returns
    -------
    dict with "codes" (n, n_hidden) int8, "v2" (n, n) int8, "distinct" (bool:
    all codes differ), "correct" (bool: every V2 equals its V1), "success"
    (both), "p_code" (n, 2^n_hidden): p(h | V1 = e_i)
    """
    nv = n_visible
    nh = bm.hidden.size
    rest = np.concatenate([bm.hidden, np.arange(nv + nh, 2 * nv + nh)])
    R = _all_states(rest.size)
    S = np.zeros((nv, R.shape[0], bm.n_units))
    S[:, :, :nv] = np.eye(nv)[:, None, :]
    S[:, :, rest] = R[None]
    a = -_energies(S, bm.W, bm.theta) / bm.T
    p = np.exp(a - a.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    h_idx, v2_idx = state_index(R[:, :nh]), state_index(R[:, nh:])
    p_code = np.stack([np.bincount(h_idx, weights=row, minlength=2 ** nh) for row in p])
    p_v2 = np.stack([np.bincount(v2_idx, weights=row, minlength=2 ** nv) for row in p])
    codes = all_states(nh)[p_code.argmax(axis=1)]
    v2 = all_states(nv)[p_v2.argmax(axis=1)]
    distinct = np.unique(state_index(codes)).size == nv
    correct = bool((v2 == np.eye(nv, dtype=np.int8)).all())
    return {"codes": codes, "v2": v2, "distinct": bool(distinct), "correct": correct,
            "success": bool(distinct and correct), "p_code": p_code}


#: The two encoder regimes of :func:`encoder_experiment`.
ENCODER_REGIMES = {
    # the paper's: sign steps of 2 at T = 10, i.e. 0.2 at T = 1; noisy clamping; few samples
    "paper": dict(step="sign", lr=0.2, statistics="exact_samples", noise=(0.15, 0.05),
                  n_clamped=5, n_free=20),
    # the deterministic gradient with exact expectations and clean clamping
    # (zero weights would keep the two hidden units identical for ever: start from small random ones)
    "exact": dict(step="gradient", lr=0.5, statistics="exact", noise=None, init_scale=0.1),
}


def _encoder_run(regime, max_cycles, seed, stop_at_success):
    bm = encoder_network()
    data = encoder_patterns()
    first = []

    def watch(cycle, machine):
        if encoder_codes(machine)["success"] and not first:
            first.append(cycle + 1)
            if stop_at_success:
                return "stop"
        return None

    opts = dict(ENCODER_REGIMES[regime]) if isinstance(regime, str) else dict(regime)
    rng = np.random.default_rng(seed)
    scale = opts.pop("init_scale", 0.0)
    if scale:                                         # small random weights on the existing connections
        W = np.triu(rng.normal(0, scale, bm.W.shape), 1)
        bm = bm.copy(W=np.where(bm.mask, W + W.T, 0.0))
    res = learn(bm, data, n_cycles=max_cycles, track_G=False, callback=watch, seed=rng, **opts)
    return (first[0] if first else None), encoder_codes(res.machine)["success"], res.machine


def encoder_experiment(n_seeds=10, *, regime="paper", max_cycles=2000, seed=0,
                       stop_at_success=False, progress=False):
    """The 4-2-4 encoder from zero weights, over ``n_seeds`` seeds.

    Success at a cycle: with V1 clamped to each pattern, the four most probable
    hidden codes differ and the most probable V2 is the right one (exact, by
    enumeration).  The paper (Ackley et al. 1985) reports 250/250 successes and a
    median of 110 learning cycles.

    Parameters
    ----------
    regime : {"paper", "exact"} or dict of :func:`learn` options
        See :data:`ENCODER_REGIMES`.
    stop_at_success : bool
        End each run at its first success (faster; ``held`` is then not measured).

    Returns
    -------
    dict with "first_success" (cycle per seed, or None), "success_rate",
    "median_cycles" (over the successful seeds), "held" (fraction still
    successful at ``max_cycles``, None when stopping early), "paper" (the
    paper's numbers), "regime"
    """
    n_seeds = _check_int(n_seeds, "n_seeds", 1)
    max_cycles = _check_int(max_cycles, "max_cycles", 1)
    if isinstance(regime, str) and regime not in ENCODER_REGIMES:
        raise ValueError(f"regime must be one of {tuple(ENCODER_REGIMES)} or a dict, got {regime!r}")
    firsts, held = [], []
    with progress_bar(progress, n_seeds, f"4-2-4 encoder ({regime if isinstance(regime, str) else 'custom'})") as bar:
        for child in np.random.SeedSequence(seed).spawn(n_seeds):
            f, ok, _ = _encoder_run(regime, max_cycles, np.random.default_rng(child), stop_at_success)
            firsts.append(f)
            held.append(ok)
            bar.update()
    hits = [f for f in firsts if f is not None]
    return {"first_success": firsts, "success_rate": len(hits) / n_seeds,
            "median_cycles": float(np.median(hits)) if hits else None,
            "held": None if stop_at_success else float(np.mean(held)),
            "paper": {"success": "250/250", "median_cycles": 110, "max_cycles": 1810},
            "regime": regime, "max_cycles": max_cycles}


# --------------------------------------------------------------------------- parity


def parity_data(n_bits=3):
    """The ``2^(n-1)`` vectors of ``n_bits`` bits whose last bit is the parity of the others."""
    n = _check_int(n_bits, "n_bits", 2)
    x = all_states(n - 1)
    return np.concatenate([x, (x.sum(axis=1) % 2)[:, None].astype(np.int8)], axis=1)


def parity_experiment(n_hidden=(0, 1), *, n_cycles=600, lr=2.0, init_scale=1.0, seed=0, progress=False):
    """Learn 3-bit parity with exact statistics, with and without hidden units; G per cycle.

    Without hidden units every mean is 1/2 and every pair statistic 1/4 in the
    data -- the same as the uniform distribution over 8 states -- so the best
    pairwise model is uniform and ``G = ln 2`` (G is convex there: no better
    optimum exists).  A hidden unit can add the missing third-order interaction;
    from small initial weights learning first sits on a plateau at ``G ~ ln 2``
    (a saddle: near zero weights the hidden unit sees no signal) before it finds it.

    Returns
    -------
    dict {n_hidden: ndarray of G per cycle}, plus "ln2"
    """
    data = parity_data(3)
    out = {"ln2": math.log(2.0)}
    rng = np.random.default_rng(seed)
    for nh in n_hidden:
        nh = _check_int(nh, "n_hidden", 0)
        n = 3 + nh
        W = rng.normal(0, init_scale, (n, n))
        W = np.triu(W, 1)
        W = W + W.T
        bm = BoltzmannMachine(W, rng.normal(0, init_scale, n), hidden=np.arange(3, n))
        out[nh] = learn(bm, data, n_cycles=n_cycles, lr=lr, seed=rng, progress=progress).G
    return out


# --------------------------------------------------------------------------- experiments


def sampler_convergence(bm, checkpoints=(100, 1000, 10_000, 100_000), *, burn_in=100, seed=0):
    """Total-variation distance between Gibbs samples and ``exact_distribution()``.

    One chain; the distance is measured on its first ``c`` samples for each
    checkpoint ``c``.  For a well-mixed chain it falls roughly like
    ``sqrt(2^n / c)``.

    Returns
    -------
    dict with "checkpoints", "tv" (per checkpoint), "exact", "empirical" (at the last)
    """
    cps = sorted(_check_int(c, "checkpoint", 1) for c in checkpoints)
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
    Default pairs: the most probable state against the next four.

    Returns
    -------
    dict with "pairs", "sampled", "exact" (arrays)
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

    Returns
    -------
    dict with "rest" (configurations, as indices of the full state with s_k = 0),
    "count", "empirical", "sigma" (``sigma(dE_k / T)``)
    """
    n = bm.n_units
    k = _check_int(unit, "unit", 0)
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
    """
    n = _check_int(n_units, "n_units", 2)
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, 1 / np.sqrt(n), (n, n)), 1)
    J = J + J.T
    return BoltzmannMachine(4 * J, 2 * J.sum(axis=1))


#: The annealing schedule of :func:`anneal_vs_greedy` (T falls from 3 to 0.1, 20 sweeps each).
GLASS_SCHEDULE = ((3.0, 20), (2.0, 20), (1.5, 20), (1.0, 20), (0.7, 20), (0.5, 20), (0.3, 20), (0.1, 20))


def anneal_vs_greedy(bm, *, schedule=GLASS_SCHEDULE, n_runs=50, seed=0, progress=False):
    """Final energies of annealing and of greedy descent, from the same random starts.

    Each run ends annealing with a greedy pass (so both end in a local minimum).
    The global minimum comes from enumeration when ``n <= 20``.

    Returns
    -------
    dict with "anneal", "greedy" (final energies per run), "global_min" (or None),
    "trace" (the first annealing run's AnnealResult), "schedule"
    """
    n_runs = _check_int(n_runs, "n_runs", 1)
    rng = np.random.default_rng(seed)
    ann, gr = [], []
    trace = None
    with progress_bar(progress, n_runs, "anneal vs greedy") as bar:
        for _ in range(n_runs):
            init = (rng.random(bm.n_units) < 0.5).astype(np.int8)
            g = bm.descend(init=init, seed=rng)
            a = bm.anneal(schedule, init=init, seed=rng)
            a_final = bm.descend(init=a.final, seed=rng)
            trace = trace or a
            ann.append(a_final.energies[-1])
            gr.append(g.energies[-1])
            bar.update()
    gmin = float(bm._all_energies().min()) if bm.n_units <= MAX_EXACT_UNITS else None
    return {"anneal": np.array(ann), "greedy": np.array(gr), "global_min": gmin, "trace": trace,
            "schedule": tuple(schedule)}


def benchmark_gibbs(n_units=64, n_sweeps=200, *, repeats=5, seed=0):
    """Gibbs single-unit updates per second: the Numba kernel vs the plain-NumPy loop.

    Both run the same chain (same seed, same stream); medians over ``repeats``
    (the Numba kernel is compiled before timing).

    Returns
    -------
    dict with "numba_updates_per_s", "numpy_updates_per_s", "ratio", "n_units", "n_sweeps"
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
        _gibbs_kernel(W, theta, temps, free, st, 1, True, n_sweeps, np.zeros((0, n_units), np.int8),
                      np.empty(n_sweeps))

    numba_once()
    t_nb, t_np = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        numba_once()
        t_nb.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        gibbs_reference(W, theta, temps, free, np.zeros(n_units, np.int8), 1, True, n_sweeps)
        t_np.append(time.perf_counter() - t0)
    nb, npy = updates / np.median(t_nb), updates / np.median(t_np)
    return {"numba_updates_per_s": nb, "numpy_updates_per_s": npy, "ratio": nb / npy,
            "n_units": n_units, "n_sweeps": n_sweeps}
