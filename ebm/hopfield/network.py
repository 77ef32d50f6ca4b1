r"""The classic Hopfield network (1982): an energy, and updates that never raise it.

The network has bipolar states ``s in {-1, +1}^N``, symmetric weights ``W`` and a
bias ``b``::

    E(s) = -1/2 s^T W s - b^T s
    h_i  = sum_{j != i} W_ij s_j + b_i            (the local field)
    asynchronous update of unit i:  s_i <- sign(h_i + W_ii s_i)   (sign(0): keep s_i)

For a symmetric ``W``, flipping unit ``i`` to ``s_i'`` changes E by exactly
``-2 s_i' h_i``.  When ``W_ii >= 0`` a unit flips only if ``s_i' h_i > 0``, so each
flip changes E by exactly ``-2 |h_i|``: E never increases and the run ends at a
fixed point.  With ``W_ii < 0`` a unit can flip *against* its field and raise E by
``+2 |h_i|`` (:func:`ebm.hopfield.negative_diagonal_counterexample`); with an
asymmetric ``W`` (``allow_asymmetric=True``) nothing bounds the change.  Either way,
:meth:`HopfieldNetwork.run` records the true ``E`` of every state.  Updating every
unit at once (synchronous) ends at a fixed point or a 2-cycle.

Two ways to relax a state:

* :meth:`HopfieldNetwork.run` -- one state, in plain NumPy and Python, every update
  recorded in a :class:`Trajectory` (the readable oracle);
* :meth:`HopfieldNetwork.recall` -- a batch of probes, asynchronously in a parallel
  Numba kernel that keeps the local fields up to date (O(N) per flip), or
  synchronously in NumPy.  It returns only the final states.

Given the same seed, both draw the same visiting order for every sweep.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ebm import _numba_cache
from ebm._parallel import launch
from ebm.hopfield.rules import RULES, hebb_weights, pseudoinverse_weights, storkey_weights
from ebm.hopfield.states import _as_states

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules

__all__ = ["HopfieldNetwork", "Trajectory"]


@dataclass(frozen=True)
class Trajectory:
    """One run of a Hopfield network, every update recorded.

    Attributes
    ----------
    states : ndarray of int8, shape (T + 1, N)
        The initial state, then the state after every update that changed it.
    energies : ndarray of float64, shape (T + 1,)
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
    mode : {"async", "sync"}
        How the run updated the units.
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
        """The unit flipped at each asynchronous update.

        Returns
        -------
        ndarray of int64, shape (T,)

        Raises
        ------
        AttributeError
            For a synchronous run, where an update may change several units (use
            :attr:`changed`).
        """
        if self.mode != "async":
            raise AttributeError("units is defined for asynchronous runs; use changed")
        return np.argmax(self.changed, axis=1)

    @property
    def final(self):
        """The last state: ndarray of int8, shape (N,)."""
        return self.states[-1]


class HopfieldNetwork:
    """A classic Hopfield network with bipolar (±1) units.

    Parameters
    ----------
    W : array_like, shape (N, N)
        Symmetric weights (copied).
    b : array_like, shape (N,), optional
        Biases (thresholds with the opposite sign); zero by default.
    allow_asymmetric : bool, default False
        Accept a non-symmetric ``W`` (the energy then no longer guarantees descent).

    Attributes
    ----------
    W : ndarray of float64, shape (N, N)
    b : ndarray of float64, shape (N,)

    Raises
    ------
    ValueError
        If ``W`` is not a non-empty square matrix of finite numbers, is not
        symmetric (unless ``allow_asymmetric``), or ``b`` is not a finite (N,)
        vector.

    Examples
    --------
    >>> import numpy as np
    >>> from ebm.hopfield import HopfieldNetwork
    >>> net = HopfieldNetwork.from_patterns([[1, -1, 1, -1, 1, -1]])
    >>> net.run([1, 1, 1, -1, 1, -1], seed=0).final.tolist()
    [1, -1, 1, -1, 1, -1]
    """

    def __init__(self, W, b=None, *, allow_asymmetric=False):
        W = np.array(W, dtype=np.float64)  # a copy: never the caller's array
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
        """A network that stores ``patterns`` by a learning rule.

        Parameters
        ----------
        patterns : array_like of ±1, shape (p, N) or (N,)
            The patterns to store, one per row.
        rule : {"hebb", "storkey", "pseudoinverse"}, default "hebb"
            :func:`ebm.hopfield.hebb_weights`, :func:`ebm.hopfield.storkey_weights`
            or :func:`ebm.hopfield.pseudoinverse_weights`.
        b : array_like, shape (N,), optional
            Biases; zero by default.

        Returns
        -------
        HopfieldNetwork
            With ``N`` units.

        Raises
        ------
        TypeError
            If ``patterns`` is not numeric.
        ValueError
            If ``rule`` is unknown, ``patterns`` is not (p, N) of ±1, or ``b`` does
            not match.
        """
        builders = {"hebb": hebb_weights, "storkey": storkey_weights, "pseudoinverse": pseudoinverse_weights}
        if rule not in builders:
            raise ValueError(f"rule must be one of {', '.join(map(repr, RULES))}, got {rule!r}")
        return cls(builders[rule](patterns), b)

    @property
    def n_units(self):
        """The number of units ``N`` (an int)."""
        return self.W.shape[0]

    def __repr__(self):
        return f"HopfieldNetwork(n_units={self.n_units})"

    def energy(self, states):
        """``E(s) = -1/2 s^T W s - b^T s`` of one state or of each state of a batch.

        Parameters
        ----------
        states : array_like of ±1, shape (N,) or (M, N)

        Returns
        -------
        float or ndarray of float64, shape (M,)
            A float for one state, one energy per row for a batch.

        Raises
        ------
        TypeError
            If ``states`` is not numeric.
        ValueError
            If ``states`` does not have ``N`` columns or holds a value other than
            -1 and +1.
        """
        s = _as_states(states, self.n_units).astype(np.float64)
        e = -0.5 * np.einsum("...i,ij,...j->...", s, self.W, s) - s @ self.b
        return float(e) if s.ndim == 1 else e

    def local_field(self, states):
        """``h_i = sum_{j != i} W_ij s_j + b_i``: the field on each unit from the others.

        Parameters
        ----------
        states : array_like of ±1, shape (N,) or (M, N)

        Returns
        -------
        h : ndarray of float64, the shape of ``states``

        Raises
        ------
        TypeError, ValueError
            As :meth:`energy`.
        """
        s = _as_states(states, self.n_units).astype(np.float64)
        return s @ self.W.T - s * np.diag(self.W) + self.b

    def run(self, state, mode="async", order="random", max_sweeps=100, seed=None):
        """Relax one state, recording every update.

        Parameters
        ----------
        state : array_like of ±1, shape (N,)
        mode : {"async", "sync"}, default "async"
            One unit at a time (energy never increases for symmetric W with a
            non-negative diagonal) or all at once (may end in a 2-cycle).
        order : {"random", "sequential"}, default "random"
            Asynchronous visiting order within a sweep: a fresh random
            permutation each sweep, or 0..N-1.
        max_sweeps : int, default 100
            At most this many sweeps (asynchronous) or steps (synchronous).
        seed : int or numpy.random.Generator, optional
            Draws the random visiting orders.

        Returns
        -------
        Trajectory
            Its ``states`` have shape (T + 1, N), T the number of updates that
            changed the state.

        Raises
        ------
        TypeError
            If ``state`` is not numeric.
        ValueError
            If ``state`` is not one (N,) state of ±1 (a batch goes to
            :meth:`recall`), or ``mode``, ``order`` or ``max_sweeps`` is not one of
            the values above.
        """
        mode, order, max_sweeps = _check_run_args(mode, order, max_sweeps)
        s = _as_states(state, self.n_units)
        if s.ndim != 1:
            raise ValueError(
                f"state must be one state of shape ({self.n_units},), got {s.shape}; use recall for a batch"
            )
        rng = np.random.default_rng(seed)
        if mode == "sync":
            return self._run_sync(s, max_sweeps)
        return self._run_async(s, order, max_sweeps, rng)

    def _run_async(self, s, order, max_sweeps, rng):
        n = self.n_units
        s = s.astype(np.float64)
        diag = np.diag(self.W)
        h = self.W @ s - diag * s + self.b  # field from the others
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
            total = self.W @ cur + self.b  # includes the self term W_ii s_i
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
            converged=converged,
            period=period,
            sweeps=sweeps,
            mode=mode,
        )

    def recall(self, probes, mode="async", order="random", max_sweeps=100, seed=None, return_converged=False):
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

        Raises
        ------
        TypeError
            If ``probes`` is not numeric or ``return_converged`` is not a bool.
        ValueError
            If ``probes`` does not have ``N`` columns or holds a value other than
            -1 and +1, or ``mode``, ``order`` or ``max_sweeps`` is invalid.

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
            # each other on a few cores; the kernel computes the fields itself.
            launch(
                _recall_async_kernel,
                out.size * n,  # ~N operations per unit per sweep
                np.ascontiguousarray(self.W.T),
                self.b,
                out,
                orders,
                converged,
            )
        if return_converged:
            return (out[0], bool(converged[0])) if single else (out, converged)
        if not converged.all():
            bad = np.flatnonzero(~converged)
            which = ", ".join(map(str, bad[:5].tolist())) + (", ..." if bad.size > 5 else "")
            warnings.warn(
                f"recall: {bad.size} of {converged.size} probe(s) did not reach a fixed point in "
                f"max_sweeps={max_sweeps} {'step' if mode == 'sync' else 'sweep'}(s) (probe(s) {which}); "
                "their returned states depend on max_sweeps. Pass return_converged=True to get "
                "the mask, or raise max_sweeps" + (" (a synchronous 2-cycle never settles)" if mode == "sync" else ""),
                RuntimeWarning,
                stacklevel=2,
            )
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
    """Asynchronous recall of each row of ``states`` (M, N) in place, one probe per thread.

    ``WT`` is ``W^T`` (N, N), C-contiguous, so column ``i`` of ``W`` is a contiguous
    row; ``orders`` (sweeps, N) is the visiting order of every sweep; ``converged``
    (M,) is set True for the probes a whole sweep left unchanged.
    """
    n_probes, n = states.shape
    diag = np.diag(WT).copy()
    for m in prange(n_probes):
        s = states[m].astype(np.float64)
        h = b.copy()  # field on each unit from the others:
        for j in range(n):  # h = W s + b - diag(W) s, as axpys
            wj, sj = WT[j], s[j]  # (row j of W^T is column j of W)
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
                        for k in range(n):  # column i of W, stored as row i of W^T
                            h[k] += delta * WT[i, k]
                        h[i] -= delta * diag[i]
                        s[i] = new
                        flips += 1
            if flips == 0:
                converged[m] = True
                break
        for k in range(n):
            states[m, k] = np.int8(s[k])
