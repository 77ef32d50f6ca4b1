"""The machine: energies, the exact distribution, the Numba Gibbs sampler and annealing.

``E(s) = -1/2 s^T W s + theta^T s`` over ``s in {0, 1}^n``; ``p(s) = exp(-E/T) / Z``.
State ``index`` has unit ``i`` at bit ``i``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from numba import njit

from ebm import _numba_cache
from ebm._checks import check_binary, check_int, check_real_array, check_temperature, kernel_seed
from ebm._docs import with_sections
from ebm._math import logsumexp, sigmoid_jit, sigmoid_scalar
from ebm._states import check_enumerable, state_blocks
from ebm.boltzmann.unit import unit_probability

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules

#: The bound of the kernel seeds drawn from a Generator (see :func:`ebm._checks.kernel_seed`).
SEED_HIGH = 2**32 - 1

#: How to turn ±1 data into the machine's 0/1 states.
PM1_HINT = "for ±1 data use (s + 1) // 2"


def _binary(states, n_units, name="states"):
    """{0, 1} states of ``n_units`` units, (n,) or (M, n), as an int8 copy."""
    return check_binary(states, n_units, name, np.int8, PM1_HINT)


# --------------------------------------------------------------------------- states


def _of_states(returns, note):
    """Parameters and Returns of a function of one state or of a stack of states."""
    return f"""
    Parameters
    ----------
    states : array_like of 0/1, shape (n_units,) or (n_states, n_units)

    Returns
    -------
    {returns}
        {note}
    """


#: What :meth:`BoltzmannMachine.energy_gap` and its kin return: a value per unit, per state.
_PER_UNIT = "ndarray of float64, shape (n_units,) or (n_states, n_units)"


def _energies(S, W, theta):
    """``-1/2 s^T W s + theta^T s`` over the last axis of a float array of states."""
    return -0.5 * ((S @ W) * S).sum(axis=-1) + S @ theta


@with_sections(
    _of_states("int or ndarray of int64, shape (n_states,)", "``sum_i s_i 2**i``; a NumPy integer for one state.")
)
def state_index(states):
    """The index of each {0,1} state (unit i is bit i): the inverse of :func:`all_states`."""
    s = np.asarray(states)
    s = _binary(s, s.shape[-1] if s.ndim else 0)
    return (s.astype(np.int64) << np.arange(s.shape[-1])).sum(axis=-1)


def total_variation(p, q):
    """``1/2 sum |p - q|``: the total-variation distance between two distributions.

    Parameters
    ----------
    p, q : array_like, the same shape, e.g. (n_states,)
        Probability vectors: entries finite and >= 0 that sum to 1 (within 1e-9).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        For different shapes, a negative or non-finite entry, or a sum other than 1,
        naming the argument.
    """
    p, q = check_real_array(p, "p", allow_inf=True), check_real_array(q, "q", allow_inf=True)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    for name, x in (("p", p), ("q", q)):
        if (x < 0).any() or not np.isfinite(x).all():
            k = int(np.argmax((x < 0) | ~np.isfinite(x)))
            raise ValueError(f"{name}[{k}] is {x.flat[k]}: a distribution's entries must be finite and >= 0")
        if x.size == 0 or abs(x.sum() - 1.0) > 1e-9:
            raise ValueError(
                f"{name} sums to {float(x.sum())!r}, not 1: total_variation compares distributions "
                "(normalise counts first, e.g. counts / counts.sum())"
            )
    return 0.5 * float(np.abs(p - q).sum())


# --------------------------------------------------------------------------- the Gibbs sampling kernel


@njit(cache=True)
def _sampling_kernel(W, theta, temps, free, state, seed, random_init, record_from, samples, energies):
    """Random-order single-unit Gibbs sweeps, one temperature per sweep (0: deterministic).

    ``state`` (int8) is updated in place; only the units in ``free`` change.  After
    sweep ``t`` the energy goes to ``energies[t]`` and, from sweep ``record_from``
    on, the state to ``samples[t - record_from]``.  The order of the free units is
    reshuffled every sweep (Fisher-Yates with ``random()``, so the NumPy reference
    :func:`sampling_reference` replays the same stream).  Numba's generator is seeded
    with ``seed`` first; :func:`_sampling_sweeps` is the same without seeding.
    """
    np.random.seed(seed)
    return _sampling_sweeps(W, theta, temps, free, state, random_init, record_from, samples, energies)


@njit(cache=True)
def _sampling_sweeps(W, theta, temps, free, state, random_init, record_from, samples, energies):
    """:func:`_sampling_kernel` on the generator's current stream (for callers inside Numba)."""
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
                new = 1 if np.random.random() < sigmoid_jit(net[k] / T) else 0
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
                e += 0.5 * theta[k] - 0.5 * net[k]  # -1/2 (net_k + theta_k) + theta_k
        energies[sweep] = e
        if sweep >= record_from:
            for k in range(n):
                samples[sweep - record_from, k] = state[k]
    return state


def sampling_reference(W, theta, temps, free, state, seed, random_init=False, record_from=0):
    """Plain-NumPy twin of the Numba Gibbs kernel (same random stream, same result).

    Used by the tests as the kernel's oracle and by :func:`benchmark_sampling` as the
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
                new = 1 if rs.random_sample() < sigmoid_scalar(net[k] / T) else 0
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
    final : ndarray of int8, shape (n_units,)
    states : ndarray of int8, shape (sweeps, n_units)
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
    W : array_like, shape (n_units, n_units)
        Symmetric weights with a zero diagonal (ValueError otherwise, naming the
        entry).
    theta : array_like, shape (n_units,), optional
        Thresholds (zero by default): ``E = -1/2 s^T W s + theta^T s``.
    T : float > 0, default 1.0
    mask : array_like of bool, shape (n_units, n_units), optional
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
    array([0.3112, 0.1888, 0.1888, 0.3112])
    """

    def __init__(self, W, theta=None, T=1.0, *, mask=None, visible=None, hidden=None):
        W = check_real_array(W, "W", allow_inf=True)  # a float64 copy
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
        theta = np.zeros(n) if theta is None else check_real_array(theta, "theta", allow_inf=True)
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
                raise ValueError(
                    f"W[{i}, {j}] is {W[i, j]} but mask[{i}, {j}] is False: absent connections must have zero weight"
                )
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
        self.W, self.theta, self.T, self.mask = W, theta, check_temperature(T), mask
        self.visible, self.hidden = visible.astype(np.int64), hidden.astype(np.int64)

    @property
    def n_units(self):
        return self.W.shape[0]

    def __repr__(self):
        return (
            f"BoltzmannMachine(n_units={self.n_units}, visible={self.visible.size}, "
            f"hidden={self.hidden.size}, T={self.T:g})"
        )

    def copy(self, W=None, theta=None, T=None):
        """A new machine with the same structure (and optionally new parameters).

        Parameters
        ----------
        W : array_like of shape (n_units, n_units), optional
            New weights (validated as in the constructor, zero outside ``mask``).
        theta : array_like of shape (n_units,), optional
        T : float > 0, optional

        Returns
        -------
        BoltzmannMachine
            The same ``mask``, ``visible`` and ``hidden``; the arrays are copies.
        """
        return BoltzmannMachine(
            self.W if W is None else W,
            self.theta if theta is None else theta,
            self.T if T is None else T,
            mask=self.mask,
            visible=self.visible,
            hidden=self.hidden,
        )

    def _with_params(self, W, theta):
        """The same structure with new parameters, unvalidated: for :func:`learn`'s inner loop,
        whose steps keep W symmetric with a zero diagonal and zero outside the mask."""
        new = object.__new__(BoltzmannMachine)
        new.__dict__.update(self.__dict__)
        new.W, new.theta = W, theta
        return new

    # ------------------------------------------------------------------ energies

    @with_sections(
        _of_states(
            "float or ndarray of float64, shape (n_states,)", "A float for one state, one energy per row otherwise."
        )
    )
    def energy(self, states):
        """``E(s) = -1/2 s^T W s + theta^T s``."""
        s = _binary(states, self.n_units).astype(np.float64)
        e = -0.5 * np.einsum("...i,ij,...j->...", s, self.W, s) + s @ self.theta
        return float(e) if s.ndim == 1 else e

    @with_sections(_of_states(_PER_UNIT, "Entry ``k`` (of each row) is unit ``k``'s gap."))
    def energy_gap(self, states):
        """``dE_k = sum_j W_kj s_j - theta_k`` for every unit k (the diagonal is zero).

        ``dE_k = E(s_k = 0) - E(s_k = 1)`` with the other units as in ``s``.
        """
        s = _binary(states, self.n_units).astype(np.float64)
        return s @ self.W - self.theta

    @with_sections(
        _of_states(_PER_UNIT, "Probabilities in [0, 1]; unit ``k``'s own value in ``states`` does not matter.")
    )
    def conditional_probability(self, states):
        """``P(s_k = 1 | the other units) = sigma(dE_k / T)`` for every unit k."""
        return unit_probability(self.energy_gap(states), self.T)

    # ------------------------------------------------------------------ exact

    def _energy_blocks(self):
        """``(start, E)`` for blocks of 2^15 states in index order; ValueError beyond 25 units."""
        check_enumerable(
            self.n_units, "n_units", "exact enumeration", f"; this machine has {self.n_units}: use sample() instead"
        )
        return ((start, _energies(S, self.W, self.theta)) for start, S in state_blocks(self.n_units))

    def _all_energies(self):
        return np.concatenate([E for _, E in self._energy_blocks()])

    def log_partition(self):
        """``log Z = log sum_s exp(-E(s)/T)`` by enumeration, block by block, via log-sum-exp.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            Beyond :data:`~ebm._states.MAX_ENUMERATED_UNITS` = 25 units.
        """
        log_z = -np.inf
        for _, E in self._energy_blocks():
            log_z = logsumexp([log_z, logsumexp(-E / self.T)])
        return log_z

    def exact_distribution(self):
        """``p(s) = exp(-E(s)/T) / Z`` for all ``2**n_units`` states, unit i = bit i of the index.

        Returns
        -------
        ndarray of float64, shape (2**n_units,)
            Sums to 1.

        Raises
        ------
        ValueError
            Beyond :data:`~ebm._states.MAX_ENUMERATED_UNITS` = 25 units.
        """
        a = -self._all_energies() / self.T
        p = np.exp(a - a.max())
        return p / p.sum()

    def visible_distribution(self):
        """The model's marginal over the visible units, indexed by the visible bits in order.

        Returns
        -------
        ndarray of float64, shape (2**n_visible,)
            Entry ``k`` is the probability of the visible state whose ``i``-th visible unit
            (in ``self.visible``'s order) is bit ``i`` of ``k``; sums to 1.  Without hidden
            units it is :meth:`exact_distribution`.
        """
        p = self.exact_distribution()
        if self.hidden.size == 0:
            return p
        out = np.zeros(2**self.visible.size)
        for start, S in state_blocks(self.n_units, np.int8):
            out += np.bincount(
                state_index(S[:, self.visible]), weights=p[start : start + S.shape[0]], minlength=out.size
            )
        return out

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
        _sampling_kernel(
            self.W,
            self.theta,
            temps,
            np.flatnonzero(free).astype(np.int64),
            state,
            kernel_seed(seed, high=SEED_HIGH),
            random_init,
            record_from,
            samples,
            energies,
        )
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
        init : array_like of {0,1}, shape (n_units,), optional
            The starting state (default: random, drawn from ``seed``).
        clamp : dict {unit: 0 or 1}, optional
            Units held fixed (the clamped phase).

        Returns
        -------
        ndarray of int8, shape (n_samples, n_units)
        """
        n_samples = check_int(n_samples, "n_samples", 1)
        burn_in = check_int(burn_in, "burn_in", 0)
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
            The energy after each sweep, the temperature of each sweep, the final state
            and every state (shape (sweeps, n_units)).
        """
        temps = _schedule_temps(schedule)
        state, states, energies = self._run(temps, seed, init, clamp, 0)
        return AnnealResult(energies, temps, state, states)

    def descend(self, *, sweeps=50, seed=None, init=None, clamp=None):
        """Greedy descent, the ``T = 0`` limit: each unit takes the state of lower energy.

        This is Hopfield's asynchronous update for {0,1} units (ties keep the old
        state); E never increases.

        Parameters
        ----------
        sweeps : int >= 1, default 50
            Sweeps of every free unit, each in a fresh random order.
        seed, init, clamp : as in :meth:`sample`

        Returns
        -------
        AnnealResult
            With every temperature 0; ``states`` has shape (sweeps, n_units).
        """
        sweeps = check_int(sweeps, "sweeps", 1)
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
        T = check_temperature(pair[0], f"schedule[{n}] temperature")
        temps += [T] * check_int(pair[1], f"schedule[{n}] sweeps", 1)
    return np.array(temps)
