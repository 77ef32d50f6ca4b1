r"""Samplers: block Gibbs sampling of an RBM, one layer given the other.

Hidden units are independent given the visible ones, and vice versa::

    P(h_j = 1 | v) = sigmoid(c_j + (v^T W)_j)          P(v_i = 1 | h) = sigmoid(b_i + (W h)_i)

so one *sweep* samples all of ``h`` given ``v``, then all of ``v`` given ``h``.  The chain's
stationary distribution is the model's ``p(v, h)``.  :func:`sampling_chains` runs many chains
in a Numba kernel (its RNG seeded inside, so a seed reproduces the run exactly) and can
keep every state; :meth:`ebm.rbm.RBM.sample_h` and :meth:`ebm.rbm.RBM.sample_v` are the
one-step NumPy versions.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ebm import _numba_cache
from ebm._checks import kernel_seed
from ebm._math import sigmoid_jit

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules

__all__ = ["sampling_chains", "gibbs_sweep", "hidden_probs"]


def checked_params(rbm):
    """``W, b, c`` of any object with those attributes, as contiguous float64 arrays; a wrong shape or a
    non-finite entry raises ``ValueError`` naming it (the partition function and AIS read an RBM so)."""
    W = np.ascontiguousarray(rbm.W, dtype=np.float64)
    b = np.ascontiguousarray(rbm.b, dtype=np.float64)
    c = np.ascontiguousarray(rbm.c, dtype=np.float64)
    if W.shape != (b.size, c.size) or b.ndim != 1 or c.ndim != 1:
        raise ValueError(
            f"W, b, c have shapes {W.shape}, {b.shape}, {c.shape}: W must be "
            "(n_visible, n_hidden), b (n_visible,), c (n_hidden,)"
        )
    for name, arr in (("W", W), ("b", b), ("c", c)):
        if not np.isfinite(arr).all():
            pos = [int(i) for i in np.argwhere(~np.isfinite(arr))[0]]
            raise ValueError(f"{name}{pos} is {arr[tuple(pos)]}: parameters must be finite")
    return W, b, c


@njit(cache=True)
def hidden_probs(v, W, c, out):
    """``out = P(h = 1 | v) = sigmoid(c + v^T W)`` for one visible state (zeros of ``v`` skipped)."""
    n_v, n_h = W.shape
    for j in range(n_h):
        out[j] = c[j]
    for i in range(n_v):
        if v[i] != 0.0:
            vi = v[i]
            for j in range(n_h):
                out[j] += vi * W[i, j]
    for j in range(n_h):
        out[j] = sigmoid_jit(out[j])


@njit(cache=True)
def gibbs_sweep(W, b, beta, ph, h, v):
    """One block Gibbs sweep of an RBM, in place: ``h ~ Bernoulli(ph)``, then ``v ~ P(v | h)``.

    ``ph`` holds ``P(h = 1 | v)`` of the current ``v`` (:func:`hidden_probs`, or tempered
    by the caller); ``v_i = 1`` with probability ``sigmoid(b_i + beta (W h)_i)``.  The
    kernels of the chapter -- the sampler, CD/PCD training (``beta = 1``) and AIS (the
    intermediate models' ``beta`` and mixed biases ``b``) -- all move their chains by it.
    """
    n_v, n_h = W.shape
    for j in range(n_h):
        h[j] = 1.0 if np.random.random() < ph[j] else 0.0
    for i in range(n_v):
        s = b[i]
        for j in range(n_h):
            s += beta * W[i, j] * h[j]
        v[i] = 1.0 if np.random.random() < sigmoid_jit(s) else 0.0


@njit(cache=True)
def _sampling_kernel(W, b, c, V, n_steps, seed, trace, H):
    """``n_steps`` sweeps v -> h -> v of every row of ``V`` (in place); ``trace`` (T, M, n_v)."""
    np.random.seed(seed)
    n_v, n_h = W.shape
    keep = trace.shape[0] == n_steps
    h = np.empty(n_h)
    ph = np.empty(n_h)
    for m in range(V.shape[0]):
        v = V[m]
        for t in range(n_steps):
            hidden_probs(v, W, c, ph)
            gibbs_sweep(W, b, 1.0, ph, h, v)
            if keep:
                for i in range(n_v):
                    trace[t, m, i] = v[i]
        for j in range(n_h):
            H[m, j] = h[j] if n_steps else 0.0


def sampling_chains(W, b, c, V0, n_steps, rng, keep=False):
    """Run one Gibbs chain from each row of ``V0`` for ``n_steps`` sweeps.

    Parameters
    ----------
    W, b, c : ndarray
        Float64 parameters (validated by the caller).
    V0 : ndarray (M, n_v)
        Float64 0/1 starting states; not modified.
    n_steps : int
    rng : numpy.random.Generator
        Seeds the kernel's RNG.
    keep : bool
        Also return every visible state, shape (n_steps, M, n_v), int8.

    Returns
    -------
    V : ndarray (M, n_v)
        The final visible states.
    H : ndarray (M, n_h)
        The hidden states sampled in the last sweep (zeros when ``n_steps == 0``).
    trace : ndarray (n_steps, M, n_v) int8, only when ``keep``
    """
    V = np.array(V0, dtype=np.float64, order="C")
    H = np.zeros((V.shape[0], W.shape[1]))
    trace = np.zeros((n_steps, V.shape[0], W.shape[0]) if keep else (0, 0, 0), np.int8)
    _sampling_kernel(np.ascontiguousarray(W), b, c, V, n_steps, kernel_seed(rng), trace, H)
    return (V, H, trace) if keep else (V, H)
