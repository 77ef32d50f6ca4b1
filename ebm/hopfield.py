r"""Hopfield 1982: a network with an energy, and the energy goes down.

The classic network has bipolar states ``s in {-1, +1}^N``, symmetric weights
``W`` and a bias ``b``::

    E(s) = -1/2 s^T W s - b^T s
    h_i  = sum_{j != i} W_ij s_j + b_i            (the local field)
    asynchronous update of unit i:  s_i <- sign(h_i + W_ii s_i)   (sign(0): keep s_i)

For a symmetric ``W``, flipping unit ``i`` to ``s_i'`` changes E by exactly
``-2 s_i' h_i``.  When ``W_ii >= 0`` a unit flips only if ``s_i' h_i > 0``, so each
flip changes E by exactly ``-2 |h_i|``: E never increases and the run ends at a
fixed point.  With ``W_ii < 0`` a unit can flip *against* its field and raise E by
``+2 |h_i|`` (:func:`negative_diagonal_counterexample`); with an asymmetric ``W``
(``allow_asymmetric=True``) nothing bounds the change.  Either way,
:meth:`HopfieldNetwork.run` records the true ``E`` of every state.  Updating every
unit at once (synchronous) ends at a fixed point or a 2-cycle.

Patterns are stored by a learning rule (:meth:`HopfieldNetwork.from_patterns`):
Hebb ``W = (1/N) sum_mu xi^mu xi^mu^T`` with zero diagonal (capacity ~0.138 N),
Storkey's (more), or the pseudo-inverse (every stored pattern a fixed point, for
``p < N`` linearly independent patterns a useful one).

The source article's label energy (article §1, ``docs/article.md``)
--------------------------------------------------------------------
The article defines ``E(x|Label) = -1/2 (W x) (y - label)`` with ``y = sign(W x)``
and claims it "always decreases".  What is true: with labels in {-1, +1}, E is 0 on
a right answer and ``-|W x|`` on a wrong one, so ``E <= 0`` always -- it is *minus*
the perceptron criterion.  In its case II (``y = -1``, label ``+1``) the product
``dY * E`` is ``+2 |W x|``, not "again negative".  Descending E as written moves W
towards the wrong answer (E does fall, without bound, while the errors grow);
descending ``+1/2 (W x)(y - label)`` is the perceptron rule
``W += eta/2 (label - y) x``.  :func:`label_energy`, :func:`label_energy_cases`
and :func:`train_label_energy` let you check each claim.

The bridge to the core (Ramsauer et al. 2020)
---------------------------------------------
The modern Hopfield network stores patterns as the columns of ``X`` (d x N) and
updates ``xi <- X softmax(beta X^T xi)``: one step of attention.  Its energy
``E = -lse(beta, X^T xi) + 1/2 xi^T xi + log(N)/beta + 1/2 M^2`` never increases.
At small ``beta`` its one global fixed point is near the average of all the
patterns; at intermediate ``beta`` metastable states average subsets of similar
patterns; at large ``beta`` every well-separated pattern is a fixed point,
retrieved in one step (Ramsauer et al. 2020, Theorems 1-4).  The softmax here is :func:`ebm.softmax_forward`, and retrieving pattern ``k`` is a
softmax-with-loss over ``beta X^T xi`` with label ``k``
(:func:`modern_retrieval_loss`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ebm._parallel import launch
from ebm.datasets import random_patterns
from ebm._progress import progress_bar
from ebm.softmax_loss import softmax_forward, softmax_loss_backward, softmax_loss_forward
from ebm import _numba_cache

_numba_cache.stamp_package()      # every ebm kernel's cache depends on all of ebm's Numba modules

__all__ = [
    "to_bipolar",
    "HopfieldNetwork",
    "Trajectory",
    "hebb_weights",
    "storkey_weights",
    "pseudoinverse_weights",
    "overlap",
    "label_energy",
    "perceptron_criterion",
    "label_energy_cases",
    "train_label_energy",
    "negative_diagonal_counterexample",
    "two_cycle_network",
    "capacity_sweep",
    "one_step_error",
    "theoretical_one_step_error",
    "mixture_state",
    "pseudoinverse_fixed_points",
    "spurious_states",
    "modern_update",
    "modern_energy",
    "modern_retrieval_loss",
]

RULES = ("hebb", "storkey", "pseudoinverse")


# --------------------------------------------------------------------------- states


def to_bipolar(x, threshold=0.5):
    """Map binary or real data to ``{-1, +1}`` (int8): ``+1`` where ``x > threshold``.

    ``{0, 1}`` data (pixels, Boltzmann states) becomes ``{-1, +1}``; data that is
    already bipolar is returned unchanged for ``threshold`` in ``(-1, 1)``.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError("x contains NaN: cannot map it to {-1, +1}")
    return np.where(arr > threshold, 1, -1).astype(np.int8)


def _as_states(states, n_units, name="states"):
    """Validate bipolar states of length ``n_units``; return an int8 array (a copy)."""
    arr = np.asarray(states)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] != n_units:
        raise ValueError(f"{name} must have shape ({n_units},) or (M, {n_units}), got {arr.shape}")
    bad = (arr != 1) & (arr != -1)
    if bad.any():
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), arr.shape))
        raise ValueError(
            f"{name}{list(pos)} is {arr[pos]}: states must be -1 or +1 "
            "(use ebm.hopfield.to_bipolar for {0, 1} or real data)"
        )
    return arr.astype(np.int8)


def _as_patterns(patterns):
    arr = np.asarray(patterns)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"patterns must have shape (p, N) with N >= 1, got {np.shape(patterns)}")
    return _as_states(arr, arr.shape[1], "patterns").astype(np.float64)


def overlap(states, pattern):
    """The overlap ``m = (1/N) s . xi`` in ``[-1, 1]`` (1: identical, -1: reversed).

    ``states`` may be one state (N,) or a batch (M, N); ``pattern`` is (N,) or (M, N).
    Both must hold only -1 and +1 (ValueError otherwise, naming the first other
    value): for real vectors, such as modern Hopfield outputs, ``(1/N) x . xi`` is
    not bounded by 1 and is not an overlap.
    """
    s_arr, xi_arr = np.asarray(states), np.asarray(pattern)
    if s_arr.ndim == 0 or xi_arr.ndim == 0:
        raise ValueError("states and pattern must be arrays of shape (N,) or (M, N), got scalars")
    if s_arr.shape[-1] != xi_arr.shape[-1]:
        raise ValueError(f"states have {s_arr.shape[-1]} units but pattern has {xi_arr.shape[-1]}")
    n = s_arr.shape[-1]
    s = _as_states(s_arr, n, "states").astype(np.float64)
    xi = _as_states(xi_arr, n, "pattern").astype(np.float64)
    return (s * xi).sum(axis=-1) / n


# --------------------------------------------------------------------------- learning rules


def hebb_weights(patterns):
    """Hebb's rule: ``W = (1/N) sum_mu xi^mu xi^mu^T`` with a zero diagonal."""
    xi = _as_patterns(patterns)
    W = xi.T @ xi / xi.shape[1]
    np.fill_diagonal(W, 0.0)
    return W


def storkey_weights(patterns):
    """Storkey's (1997) incremental rule, with a zero diagonal.

    For each pattern ``xi``, with ``h_ij = sum_{k != i, j} W_ik xi_k``::

        W_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / N

    It stores about ``N / sqrt(2 ln N)`` patterns against Hebb's ``N / (2 ln N)``.
    """
    xi = _as_patterns(patterns)
    n = xi.shape[1]
    W = np.zeros((n, n))
    for x in xi:
        h = W @ x                                   # sum_k W_ik x_k, diagonal is 0
        # h_ij = h_i - W_ij x_j  (k != i is automatic: W_ii = 0)
        H = h[:, None] - W * x[None, :]
        W = W + (np.outer(x, x) - x[:, None] * H.T - H * x[None, :]) / n
        np.fill_diagonal(W, 0.0)
    return W


def pseudoinverse_weights(patterns):
    """The projection rule ``W = Xi^+ Xi`` (Personnaz et al. 1985; Kanter & Sompolinsky 1987).

    ``W`` projects onto the span of the patterns, so ``W xi = xi`` (to rounding) for
    every stored pattern, and each is a fixed point.  Its diagonal is kept (it is
    non-negative, so E still never increases).  The rule is useful while the
    patterns span a subspace smaller than ``R^N`` (``p < N`` independent patterns).
    When they span all of it (``p >= N`` generic patterns) ``W`` is the identity:
    *every* state is a fixed point and recall corrects no error.  Then, and
    whenever ``p > N``, a ``UserWarning`` says so.
    """
    xi = _as_patterns(patterns)
    p, n = xi.shape
    W = np.linalg.pinv(xi) @ xi
    rank = int(np.linalg.matrix_rank(xi))
    if rank == n:
        warnings.warn(
            f"pseudo-inverse rule: the {p} patterns span all of R^{n} (rank {n}), so "
            f"W = Xi^+ Xi is the identity: every state is a fixed point and recall corrects "
            f"no error (store fewer than N = {n} patterns)", UserWarning, stacklevel=2)
    elif p > n:
        warnings.warn(
            f"pseudo-inverse rule: {p} patterns > N = {n} units are linearly dependent "
            f"(rank {rank}); W projects onto their {rank}-dimensional span, so every state "
            "in that span is a fixed point too", UserWarning, stacklevel=2)
    return W


# --------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class Trajectory:
    """One run of a Hopfield network, every update recorded.

    Attributes
    ----------
    states : ndarray of int8, shape (T + 1, N)
        The initial state, then the state after every update that changed it.
    energies : ndarray, shape (T + 1,)
        ``E`` of each of those states, computed from ``E(s)`` itself (so it is
        right for any ``W``, and the ``-2 |h_i|`` identity can be checked on it).
    changed : ndarray of bool, shape (T, N)
        Which units changed at each recorded update (one unit per row when
        asynchronous; any number when synchronous).
    converged : bool
        True if the run reached an attractor: a fixed point or, synchronously, a
        2-cycle; False if it stopped at ``max_sweeps``.
    period : int or None
        1 for a fixed point, 2 for a 2-cycle, None when not converged.
    sweeps : int
        Full passes over the units (asynchronous) or synchronous steps taken.
    mode : str
    """

    states: np.ndarray
    energies: np.ndarray
    changed: np.ndarray
    converged: bool
    period: int | None
    sweeps: int
    mode: str

    @property
    def units(self):
        """The unit flipped at each asynchronous update (shape (T,))."""
        if self.mode != "async":
            raise AttributeError("units is defined for asynchronous runs; use changed")
        return np.argmax(self.changed, axis=1)

    @property
    def final(self):
        """The last state."""
        return self.states[-1]


class HopfieldNetwork:
    """A classic Hopfield network with bipolar (±1) units.

    Parameters
    ----------
    W : array_like, shape (N, N)
        Symmetric weights.
    b : array_like, shape (N,), optional
        Biases (thresholds with the opposite sign); zero by default.
    allow_asymmetric : bool, default False
        Accept a non-symmetric ``W`` (the energy then no longer guarantees descent).

    Examples
    --------
    >>> import numpy as np
    >>> from ebm.hopfield import HopfieldNetwork
    >>> net = HopfieldNetwork.from_patterns([[1, -1, 1, -1, 1, -1]])
    >>> net.run([1, 1, 1, -1, 1, -1], seed=0).final.tolist()
    [1, -1, 1, -1, 1, -1]
    """

    def __init__(self, W, b=None, *, allow_asymmetric=False):
        W = np.array(W, dtype=np.float64)            # a copy: never the caller's array
        if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
            raise ValueError(f"W must be a non-empty square matrix, got shape {W.shape}")
        if not np.isfinite(W).all():
            pos = tuple(int(k) for k in np.argwhere(~np.isfinite(W))[0])
            raise ValueError(f"W{list(pos)} is {W[pos]}: weights must be finite")
        asym = np.abs(W - W.T)
        if not allow_asymmetric and asym.max() > 1e-12 * max(1.0, np.abs(W).max()):
            i, j = (int(k) for k in np.unravel_index(int(np.argmax(asym)), asym.shape))
            raise ValueError(
                f"W is not symmetric: W[{i}, {j}] = {W[i, j]} but W[{j}, {i}] = {W[j, i]}; "
                "pass allow_asymmetric=True to use it anyway"
            )
        n = W.shape[0]
        if b is None:
            b = np.zeros(n)
        b = np.array(b, dtype=np.float64)
        if b.shape != (n,):
            raise ValueError(f"b must have shape ({n},) to match W, got {b.shape}")
        if not np.isfinite(b).all():
            raise ValueError("b must be finite")
        self.W, self.b = W, b

    @classmethod
    def from_patterns(cls, patterns, rule="hebb", b=None):
        """Store ``patterns`` (p, N) of ±1 with ``rule`` in {"hebb", "storkey", "pseudoinverse"}."""
        builders = {"hebb": hebb_weights, "storkey": storkey_weights, "pseudoinverse": pseudoinverse_weights}
        if rule not in builders:
            raise ValueError(f"rule must be one of {', '.join(map(repr, RULES))}, got {rule!r}")
        return cls(builders[rule](patterns), b)

    @property
    def n_units(self):
        return self.W.shape[0]

    def __repr__(self):
        return f"HopfieldNetwork(n_units={self.n_units})"

    def energy(self, states):
        """``E(s) = -1/2 s^T W s - b^T s`` for one state (a float) or each row of a batch."""
        s = _as_states(states, self.n_units).astype(np.float64)
        e = -0.5 * np.einsum("...i,ij,...j->...", s, self.W, s) - s @ self.b
        return float(e) if s.ndim == 1 else e

    def local_field(self, states):
        """``h_i = sum_{j != i} W_ij s_j + b_i``: the field on unit i from the others."""
        s = _as_states(states, self.n_units).astype(np.float64)
        return s @ self.W.T - s * np.diag(self.W) + self.b

    def run(self, state, mode="async", order="random", max_sweeps=100, seed=None):
        """Relax one state, recording every update.

        Parameters
        ----------
        state : array_like of ±1, shape (N,)
        mode : {"async", "sync"}
            One unit at a time (energy never increases for symmetric W with a
            non-negative diagonal) or all at once (may end in a 2-cycle).
        order : {"random", "sequential"}
            Asynchronous visiting order within a sweep: a fresh random
            permutation each sweep, or 0..N-1.
        max_sweeps : int, default 100
        seed : int or numpy.random.Generator, optional

        Returns
        -------
        Trajectory
        """
        mode, order, max_sweeps = _check_run_args(mode, order, max_sweeps)
        s = _as_states(state, self.n_units)
        if s.ndim != 1:
            raise ValueError(f"state must be one state of shape ({self.n_units},), got {s.shape}; use recall for a batch")
        rng = np.random.default_rng(seed)
        if mode == "sync":
            return self._run_sync(s, max_sweeps)
        return self._run_async(s, order, max_sweeps, rng)

    def _run_async(self, s, order, max_sweeps, rng):
        n = self.n_units
        s = s.astype(np.float64)
        diag = np.diag(self.W)
        h = self.W @ s - diag * s + self.b               # field from the others
        states, changed = [s.astype(np.int8)], []
        orders = _sweep_orders(order, n, max_sweeps, rng)
        for sweep in range(1, max_sweeps + 1):
            flips = 0
            for i in orders[sweep - 1]:
                total = h[i] + diag[i] * s[i]
                new = s[i] if total == 0 else math.copysign(1.0, total)
                if new != s[i]:
                    h += 2 * new * self.W[:, i]
                    h[i] -= 2 * new * diag[i]
                    s[i] = new
                    flips += 1
                    states.append(s.astype(np.int8))
                    row = np.zeros(n, bool)
                    row[i] = True
                    changed.append(row)
            if flips == 0:
                return self._trajectory(states, changed, True, 1, sweep, "async")
        return self._trajectory(states, changed, False, None, max_sweeps, "async")

    def _run_sync(self, s, max_sweeps):
        states, changed = [s], []
        for step in range(1, max_sweeps + 1):
            cur = states[-1].astype(np.float64)
            total = self.W @ cur + self.b                 # includes the self term W_ii s_i
            new = np.where(total > 0, 1, np.where(total < 0, -1, cur)).astype(np.int8)
            if np.array_equal(new, states[-1]):
                return self._trajectory(states, changed, True, 1, step - 1, "sync")
            changed.append(new != states[-1])
            states.append(new)
            if len(states) >= 3 and np.array_equal(new, states[-3]):
                return self._trajectory(states, changed, True, 2, step, "sync")
        return self._trajectory(states, changed, False, None, max_sweeps, "sync")

    def _trajectory(self, states, changed, converged, period, sweeps, mode):
        n = self.n_units
        states = np.array(states, dtype=np.int8)
        return Trajectory(
            states=states,
            # The true E of every recorded state, not a running sum of -2|h_i|: that
            # identity needs a symmetric W with W_ii >= 0, and this record is how it is checked.
            energies=np.atleast_1d(self.energy(states)).astype(np.float64),
            changed=np.array(changed, dtype=bool).reshape(-1, n),
            converged=converged, period=period, sweeps=sweeps, mode=mode,
        )

    def recall(self, probes, mode="async", order="random", max_sweeps=100, seed=None,
               return_converged=False):
        """Relax a batch of probes towards their attractors; return the final states.

        The asynchronous case runs in a parallel Numba kernel, one probe per
        thread, keeping the local fields up to date incrementally (O(N) per flip).
        Every probe follows the same visiting order (one random permutation per
        sweep, drawn from ``seed``), so results do not depend on threading.

        A probe has *settled* when a whole sweep (asynchronous) or step
        (synchronous) changes nothing: it is at a fixed point.  A probe that has
        not settled after ``max_sweeps`` is returned as it stands, and that state
        depends on ``max_sweeps`` (a negative diagonal can flip a unit back and
        forth for ever; a synchronous 2-cycle alternates with the parity of the
        step).  So non-convergence is never silent: a ``RuntimeWarning`` counts the
        probes that did not settle, unless ``return_converged=True`` hands you the
        per-probe mask instead.

        Parameters
        ----------
        probes : array_like of ±1, shape (M, N) or (N,)
        mode, order, max_sweeps, seed
            As in :meth:`run`.
        return_converged : bool, default False
            Also return the mask of probes that reached a fixed point (and do not
            warn).

        Returns
        -------
        states : ndarray of int8, the shape of ``probes``
        converged : ndarray of bool, shape (M,) (or a bool for one probe)
            Only with ``return_converged=True``.

        Warns
        -----
        RuntimeWarning
            When ``return_converged`` is False and some probe did not settle.
        """
        mode, order, max_sweeps = _check_run_args(mode, order, max_sweeps)
        if not isinstance(return_converged, (bool, np.bool_)):
            raise TypeError(f"return_converged must be True or False, got {return_converged!r}")
        s = _as_states(probes, self.n_units)
        single = s.ndim == 1
        s = np.atleast_2d(s)
        if mode == "sync":
            out, converged = _recall_sync(self.W, self.b, s, max_sweeps)
        else:
            n = self.n_units
            orders = _sweep_orders(order, n, max_sweeps, np.random.default_rng(seed))
            out = s.copy()
            converged = np.zeros(len(out), dtype=np.bool_)
            # No BLAS here: OpenBLAS's spinning threads and Numba's OpenMP team starve
            # each other on two cores (8 ms per call measured); the kernel computes
            # the fields itself.
            launch(_recall_async_kernel, out.size * n,           # ~N operations per unit per sweep
                   np.ascontiguousarray(self.W.T), self.b, out, orders, converged)
        if return_converged:
            return (out[0], bool(converged[0])) if single else (out, converged)
        if not converged.all():
            bad = np.flatnonzero(~converged)
            which = ", ".join(map(str, bad[:5].tolist())) + (", ..." if bad.size > 5 else "")
            warnings.warn(
                f"recall: {bad.size} of {converged.size} probe(s) did not reach a fixed point in "
                f"max_sweeps={max_sweeps} {'step' if mode == 'sync' else 'sweep'}(s) (probe(s) {which}); "
                "their returned states depend on max_sweeps. Pass return_converged=True to get "
                "the mask, or raise max_sweeps"
                + (" (a synchronous 2-cycle never settles)" if mode == "sync" else ""),
                RuntimeWarning, stacklevel=2)
        return out[0] if single else out


def _check_run_args(mode, order, max_sweeps):
    if mode not in ("async", "sync"):
        raise ValueError(f"mode must be 'async' or 'sync', got {mode!r}")
    if order not in ("random", "sequential"):
        raise ValueError(f"order must be 'random' or 'sequential', got {order!r}")
    if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, (int, np.integer)) or max_sweeps < 1:
        raise ValueError(f"max_sweeps must be a positive integer, got {max_sweeps!r}")
    return mode, order, int(max_sweeps)


def _sweep_orders(order, n, max_sweeps, rng):
    """The units visited in each asynchronous sweep: (max_sweeps, n) int64.

    A fresh random permutation per sweep (``order="random"``) or 0..n-1.
    """
    orders = np.tile(np.arange(n, dtype=np.int64), (max_sweeps, 1))
    return rng.permuted(orders, axis=1) if order == "random" else orders


def _recall_sync(W, b, s, max_sweeps):
    """Synchronous recall of a batch; returns the states and which reached a fixed point."""
    cur = s.astype(np.float64)
    converged = np.zeros(len(cur), dtype=bool)
    for _ in range(max_sweeps):
        total = cur @ W.T + b
        new = np.where(total > 0, 1.0, np.where(total < 0, -1.0, cur))
        converged = (new == cur).all(axis=1)
        if converged.all():
            break
        cur = new
    return cur.astype(np.int8), converged


@njit(cache=True, parallel=True)
def _recall_async_kernel(WT, b, states, orders, converged):
    n_probes, n = states.shape
    diag = np.diag(WT).copy()
    for m in prange(n_probes):
        s = states[m].astype(np.float64)
        h = b.copy()                                  # field on each unit from the others:
        for j in range(n):                            # h = W s + b - diag(W) s, as axpys
            wj, sj = WT[j], s[j]                      # (row j of W^T is column j of W)
            for k in range(n):
                h[k] += wj[k] * sj
        for k in range(n):
            h[k] -= diag[k] * s[k]
        for sweep in range(orders.shape[0]):
            flips = 0
            for t in range(n):
                i = orders[sweep, t]
                total = h[i] + diag[i] * s[i]
                if total != 0.0:
                    new = 1.0 if total > 0.0 else -1.0
                    if new != s[i]:
                        delta = 2.0 * new
                        for k in range(n):                # column i of W, stored as row i of W^T
                            h[k] += delta * WT[i, k]
                        h[i] -= delta * diag[i]
                        s[i] = new
                        flips += 1
            if flips == 0:
                converged[m] = True
                break
        for k in range(n):
            states[m, k] = np.int8(s[k])


# --------------------------------------------------------------------------- the article's label energy


def _label_inputs(W, x, label):
    W = np.asarray(W, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if W.ndim not in (1, 2):
        raise ValueError(f"W must be a weight vector (n_in,) or matrix (n_out, n_in), got shape {W.shape}")
    n_in = W.shape[-1]
    if x.ndim not in (1, 2) or x.shape[-1] != n_in:
        raise ValueError(f"x must have shape ({n_in},) or (M, {n_in}) to match W {W.shape}, got {x.shape}")
    if not (np.isfinite(W).all() and np.isfinite(x).all()):
        raise ValueError("W and x must be finite")
    wx = x @ W.T                                       # (M,) or (M, n_out)
    lab = np.asarray(label)
    if W.ndim == 2 and W.shape[0] == 1 and lab.shape == wx.shape[:-1]:
        lab = lab[..., None]                           # one output row: a label per sample is enough
    if lab.shape != wx.shape:
        raise ValueError(f"label must have shape {wx.shape} (one per sample and output), got {lab.shape}")
    bad = (lab != 1) & (lab != -1)
    if bad.any():
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), lab.shape))
        raise ValueError(f"label{list(pos)} is {lab[pos]}: labels must be -1 or +1 (see to_bipolar)")
    return W, x, wx, lab.astype(np.float64)


def _sign(z):
    """Rosenblatt's step with sign(0) = +1, so every output is -1 or +1."""
    return np.where(z >= 0, 1.0, -1.0)


def label_energy(W, x, label):
    """The article's energy ``E(x|Label) = -1/2 (W x) (y - label)``, ``y = sign(W x)``.

    Parameters
    ----------
    W : array_like, shape (n_in,) or (n_out, n_in)
    x : array_like, shape (n_in,) or (M, n_in)
    label : array_like of ±1, shape of ``W x``
        With one output row, ``W`` of shape (1, n_in), one label per sample
        (shape (M,), or a scalar for one sample) is accepted too.

    Returns
    -------
    float or ndarray
        One energy per sample (summed over outputs).  It is 0 on a right answer and
        ``-|W x|`` on a wrong one: never positive (article §1).
    """
    _, _, wx, lab = _label_inputs(W, x, label)
    e = -0.5 * wx * (_sign(wx) - lab)
    if e.ndim == 2:
        e = e.sum(axis=-1)
    return float(e) if np.ndim(e) == 0 else e


def perceptron_criterion(W, x, label):
    """``sum over wrong outputs of |W x|`` per sample: Rosenblatt's criterion, ``>= 0``.

    It equals ``-label_energy(W, x, label)``: the article's energy is its negative.
    """
    _, _, wx, lab = _label_inputs(W, x, label)
    e = np.where(_sign(wx) != lab, np.abs(wx), 0.0)
    if e.ndim == 2:
        e = e.sum(axis=-1)
    return float(e) if np.ndim(e) == 0 else e


def label_energy_cases(W, x, label):
    """Sort samples into the article's three cases and report the sign of E in each.

    Returns
    -------
    dict
        For "I" (y = +1, wrong: delta_y = +2), "II" (y = -1, wrong: delta_y = -2) and
        "III" (right: delta_y = 0): the number of samples ("count"), their
        ``delta_y`` values, the min and max of E ("min_E", "max_E") and of the
        product ``delta_y * E`` the article argues about ("min_dYE", "max_dYE";
        None for an empty case).  What holds: E = -|Wx| < 0 in I and II, E = 0 in
        III -- the sign of E, not a decrease.  And ``delta_y * E`` is ``-2|Wx| < 0``
        in case I but ``+2|Wx| > 0`` in case II: the article's "again negative" is
        false.
    """
    W, x, wx, lab = _label_inputs(W, x, label)
    if wx.ndim == 2 and wx.shape[1] == 1:                 # W of shape (1, n_in): one output unit
        wx, lab = wx[:, 0], lab[:, 0]
    elif wx.ndim == 2 or (W.ndim == 2 and W.shape[0] != 1):
        raise ValueError(f"label_energy_cases takes a single output unit: W of shape (n_in,) or "
                         f"(1, n_in), got {W.shape}")
    wx, lab = np.atleast_1d(wx), np.atleast_1d(lab)
    y = _sign(wx)
    delta_y = y - lab
    energy = -0.5 * wx * delta_y
    masks = {"I": (y == 1) & (lab == -1), "II": (y == -1) & (lab == 1), "III": y == lab}
    out = {}
    for case, mask in masks.items():
        e, dy = energy[mask], np.unique(delta_y[mask])
        dye = delta_y[mask] * e
        out[case] = {
            "count": int(np.count_nonzero(mask)),
            "delta_y": dy.tolist(),
            "min_E": float(e.min()) if e.size else None,
            "max_E": float(e.max()) if e.size else None,
            "min_dYE": float(dye.min()) if e.size else None,
            "max_dYE": float(dye.max()) if e.size else None,
        }
    return out


def train_label_energy(x, label, rule="perceptron", epochs=20, lr=0.1, seed=None, W0=None,
                       return_energy=False):
    """Gradient steps on the label energy, one sample at a time; the errors per epoch.

    ``rule="article"`` descends ``E = -1/2 (W x)(y - label)`` as written:
    ``W -= lr * dE/dW = W + lr/2 (y - label) x`` -- towards the wrong answer.  E
    does keep falling (it is ``-sum_errors |W x|``, and every step makes the
    errors bigger and more numerous): it heads for minus infinity while the
    errors grow.  ``rule="perceptron"`` descends its negative, the perceptron
    criterion: ``W += lr/2 (label - y) x``, Rosenblatt's rule.

    Parameters
    ----------
    x : array_like, shape (M, n_in)
    label : array_like of ±1, shape (M,)
    rule : {"perceptron", "article"}
    epochs : int, default 20
    lr : float, default 0.1
    seed : int or numpy.random.Generator, optional
        The initial ``W`` (when ``W0`` is None) and the sample order.
    W0 : array_like, shape (n_in,), optional
    return_energy : bool, default False
        Also return the total label energy ``sum_n E(x_n|label_n)`` per epoch.

    Returns
    -------
    W : ndarray, the final weights
    errors : ndarray of int, shape (epochs + 1,)
        Misclassified samples before training and after each epoch.
    energy : ndarray, shape (epochs + 1,)
        Only with ``return_energy=True``: the total label energy at the same points.
    """
    if rule not in ("article", "perceptron"):
        raise ValueError(f"rule must be 'article' or 'perceptron', got {rule!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if not (np.isscalar(lr) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (M, n_in), got {x.shape}")
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.1, x.shape[1]) if W0 is None else np.array(W0, dtype=np.float64)
    _label_inputs(W, x, label)                        # validates shapes and labels
    label = np.asarray(label, dtype=np.float64)
    sign = 1.0 if rule == "perceptron" else -1.0
    errors = [int(np.count_nonzero(_sign(x @ W) != label))]
    energy = [float(np.sum(label_energy(W, x, label)))]
    for _ in range(epochs):
        for n in rng.permutation(len(x)):
            y = 1.0 if x[n] @ W >= 0 else -1.0
            W += sign * lr / 2 * (label[n] - y) * x[n]
        errors.append(int(np.count_nonzero(_sign(x @ W) != label)))
        energy.append(float(np.sum(label_energy(W, x, label))))
    if return_energy:
        return W, np.array(errors), np.array(energy)
    return W, np.array(errors)


# --------------------------------------------------------------------------- experiments


def negative_diagonal_counterexample():
    """A one-unit network with ``W = [[-1]]``, ``b = [0.1]`` whose first flip raises E.

    From ``s = +1`` the unit sees ``W s + b = -0.9 < 0`` and flips to -1, but
    ``E(+1) = 0.4 < E(-1) = 0.6``: with a negative diagonal, descent is not
    guaranteed.  From -1 it sees ``1.1 > 0`` and flips back, so the run oscillates
    0.4, 0.6, 0.4, ... and never converges.

    Returns
    -------
    (HopfieldNetwork, initial state)
    """
    return HopfieldNetwork([[-1.0]], [0.1]), np.array([1], dtype=np.int8)


def two_cycle_network():
    """``W = [[0, -1], [-1, 0]]``, ``b = 0``: synchronous updates cycle (-1,-1) <-> (1,1).

    Returns
    -------
    (HopfieldNetwork, initial state (-1, -1))
    """
    return HopfieldNetwork([[0.0, -1.0], [-1.0, 0.0]]), np.array([-1, -1], dtype=np.int8)


def capacity_sweep(n_units, loads, rule="hebb", n_seeds=10, flip_fraction=0.0, max_sweeps=50,
                   seed=0, progress=False):
    """Mean final overlap against the load ``alpha = p / N``.

    For each load and seed: store ``p = round(alpha N)`` random patterns with
    ``rule``, start from each pattern (with ``flip_fraction`` of its bits flipped),
    relax asynchronously, and measure the overlap with the pattern.  Hebb's
    recall collapses near ``alpha_c ~ 0.138`` (Amit, Gutfreund & Sompolinsky 1985).

    Parameters
    ----------
    n_units : int
    loads : sequence of float
    rule : {"hebb", "storkey", "pseudoinverse"}
    n_seeds : int, default 10
    flip_fraction : float in [0, 0.5], default 0
    max_sweeps : int, default 50
    seed : int, default 0
    progress : bool, default False
        True draws a ``tqdm.auto`` progress bar (a widget in Jupyter, text in a
        terminal), advanced after each (load, seed).

    Returns
    -------
    dict with "loads" (K,), "overlap" (K, n_seeds) mean overlap per run, "mean" (K,),
    "converged" (K, n_seeds) the fraction of probes that reached a fixed point
    within ``max_sweeps``, "n_units", "rule"
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
    return {"loads": loads, "overlap": overlaps, "mean": overlaps.mean(axis=1),
            "converged": settled, "n_units": n_units, "rule": rule}


def _check_count(value, name, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def theoretical_one_step_error(alpha):
    """``Phi(-1/sqrt(alpha))``: the chance one Hebb update flips a stored bit (large N)."""
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
    n_units : int
    alpha : float > 0
        The load; ``p = round(alpha N)`` patterns are stored.
    n_seeds : int >= 2, default 10
        Independent networks; the standard error is taken across them.
    seed : int, default 0

    Returns
    -------
    dict with "rate" (mean over seeds), "stderr" (standard error across seeds),
    "per_seed", "theory" (``Phi(-1/sqrt(p/N))``), "alpha" (``p/N`` as used),
    "n_units", "p"
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
        h = xi @ W.T                                   # the field at every stored pattern
        rates.append(np.mean(np.where(h >= 0, 1.0, -1.0) != xi))
    rates = np.array(rates)
    return {"rate": float(rates.mean()), "stderr": float(rates.std(ddof=1) / np.sqrt(n_seeds)),
            "per_seed": rates, "theory": float(theoretical_one_step_error(p / n_units)),
            "alpha": p / n_units, "n_units": n_units, "p": p}


def mixture_state(patterns, indices=(0, 1, 2)):
    """``sgn(xi^a + xi^b + xi^c)``: the symmetric 3-mixture, a spurious attractor of Hebb."""
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

    Returns
    -------
    dict with "max_error" (``max |W Xi^T - Xi^T|``, ~1e-13 for any p: ``W`` projects
    onto the patterns' span; from ``p = N`` on, ``W`` is the identity and warns),
    "fixed" (how many patterns one asynchronous sweep leaves unchanged) and "p"
    """
    _check_count(p, "p", 1)
    _check_count(n_units, "n_units", 1)
    xi = random_patterns(p, n_units, seed)
    net = HopfieldNetwork.from_patterns(xi, "pseudoinverse")
    error = float(np.abs(net.W @ xi.T - xi.T).max())
    _, unchanged = net.recall(xi, max_sweeps=1, seed=seed, return_converged=True)   # no flip in a sweep
    fixed = int(unchanged.sum())
    return {"max_error": error, "fixed": fixed, "p": p}


def spurious_states(n_units=1000, p=5, n_draws=20, seed=0):
    """Reversed patterns and symmetric 3-mixtures under Hebb's rule, over ``n_draws`` networks.

    With ``b = 0``, ``E(s) = E(-s)``: each reversed pattern is a minimum too.  The
    mixture ``sgn(xi1 + xi2 + xi3)`` is a fixed point with overlap ~1/2 to each of
    its patterns and ``E/N ~ -3/8``, against ``-1/2`` for a stored pattern.

    Returns
    -------
    dict of arrays over the draws: "energy_pattern", "energy_reversed",
    "energy_mixture" (all E/N), "mixture_overlaps" (n_draws, 3),
    "mixture_stable" and "reversed_stable" (bool: a fixed point of asynchronous
    recall)
    """
    _check_count(n_units, "n_units", 1)
    _check_count(p, "p", 3)
    _check_count(n_draws, "n_draws", 1)
    keys = ("energy_pattern", "energy_reversed", "energy_mixture", "mixture_overlaps",
            "mixture_stable", "reversed_stable")
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


# --------------------------------------------------------------------------- modern Hopfield: the bridge


def _modern_inputs(X, xi, beta):
    X = np.asarray(X, dtype=np.float64)
    xi = np.asarray(xi, dtype=np.float64)
    if X.ndim != 2 or 0 in X.shape:
        raise ValueError(f"X must be a (d, N) matrix of N stored patterns as columns, got shape {X.shape}")
    if xi.ndim not in (1, 2) or xi.shape[0] != X.shape[0]:
        raise ValueError(f"xi must have shape ({X.shape[0]},) or ({X.shape[0]}, M) to match X {X.shape}, "
                         f"got {xi.shape}")
    if isinstance(beta, bool) or not np.isscalar(beta) or not np.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be a positive finite number, got {beta!r}")
    if not (np.isfinite(X).all() and np.isfinite(xi).all()):
        raise ValueError("X and xi must be finite")
    return X, xi, float(beta)


def modern_update(X, xi, beta):
    """One step of the modern Hopfield network: ``X softmax(beta X^T xi)``.

    The softmax is :func:`ebm.softmax_forward` along the pattern axis (axis 0), so
    a batch of queries ``xi`` (d, M) is updated at once.  With ``beta = 1/sqrt(d)``
    it is transformer attention.
    """
    X, xi, beta = _modern_inputs(X, xi, beta)
    return X @ softmax_forward(beta * (X.T @ xi), axis=0)


def modern_energy(X, xi, beta):
    """``E = -lse(beta, X^T xi) + 1/2 xi^T xi + log(N)/beta + 1/2 M^2`` (Ramsauer et al.).

    ``lse(beta, z) = log(sum exp(beta z)) / beta`` and ``M`` is the largest pattern
    norm.  A float for one query, an array for a batch (d, M).
    """
    X, xi, beta = _modern_inputs(X, xi, beta)
    z = beta * (X.T @ xi)
    m = z.max(axis=0)
    lse = (m + np.log(np.exp(z - m).sum(axis=0))) / beta
    big_m = np.sqrt((X ** 2).sum(axis=0)).max()
    e = -lse + 0.5 * (xi ** 2).sum(axis=0) + np.log(X.shape[1]) / beta + 0.5 * big_m ** 2
    return float(e) if np.ndim(e) == 0 else e


def modern_retrieval_loss(X, xi, target, beta):
    """Retrieval as classification: the softmax-with-loss core over ``beta X^T xi``.

    The "logits" are the query's similarities to the stored patterns; the label is
    the index of the pattern it should retrieve.  Returns the loss and both
    derivatives: ``bottom_diff`` (with respect to the logits, from the core) and the
    gradient with respect to the query, ``beta X bottom_diff``.

    Returns
    -------
    loss : float
    bottom_diff : ndarray, shape (N,) or (N, M)
    grad_xi : ndarray, the shape of ``xi``
    """
    X, xi, beta = _modern_inputs(X, xi, beta)
    label = np.asarray(target)
    expected = xi.shape[1:]
    if label.shape != expected or label.dtype.kind not in "iu":
        raise ValueError(f"target must be integer pattern indices of shape {expected}, got {target!r}")
    bad = (label < 0) | (label >= X.shape[1])
    if bad.any():
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), bad.shape)) if bad.ndim else ()
        raise ValueError(f"target{list(pos)} is {label[pos]}: X stores patterns 0..{X.shape[1] - 1}")
    logits = beta * (X.T @ xi)
    loss, prob = softmax_loss_forward(logits, label, axis=0)
    bottom_diff = softmax_loss_backward(prob, label, axis=0)
    return loss, bottom_diff, beta * (X @ bottom_diff)
