r"""Estimators of the partition function Z: exact enumeration and annealed importance sampling.

An RBM with energy ``E(v, h) = -b^T v - c^T h - v^T W h`` has
``Z = sum_{v, h} exp(-E(v, h))`` over ``2^(n_v + n_h)`` joint states.  Summing one layer
out analytically leaves ``2^n`` terms for the *other* layer::

    log Z = logsumexp_h [ c^T h + sum_i softplus(b_i + (W h)_i) ]      (enumerate h)
          = logsumexp_v [ b^T v + sum_j softplus(c_j + (v^T W)_j) ]    (enumerate v)

:func:`log_partition_exact` enumerates the smaller layer in a Numba kernel: chunks of
4,096 states run in parallel, each walks its states in Gray-code order (one unit flips per
step, so the activations ``x`` change by one column of ``W`` and ``u = exp(x)`` by a
factor), and the log-sum-exp is kept streaming (running max and rescaled sum).  The
softplus sum is ``sum_g log prod_{k in g} (1 + u_k)``: a few ``log`` per state and no
``exp`` (a slower term-by-term kernel takes over when activations could exceed ~600).
It works up to :data:`MAX_ENUMERATED_UNITS` = 25 units in the smaller layer.

:func:`log_partition_ais`, the estimate for RBMs past enumeration (annealed importance
sampling), lives in :mod:`ebm.rbm.ais`; its names can be imported from here too.

:func:`joint_distribution` is the source article's §3 in code: every joint state of a
tiny RBM, and ``P(x) = exp(-E(x)) / Z`` as one softmax over ``-E`` by the core.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ebm import _numba_cache
from ebm._checks import check_float, check_int
from ebm._math import softplus_jit
from ebm._parallel import launch_twin, twins
from ebm._progress import progress_bar
from ebm._states import MAX_ENUMERATED_UNITS, all_states, gray_flip_jit
from ebm.rbm import ais
from ebm.rbm.ais import *  # noqa: F403 (its names, re-exported: ebm.rbm.partition.log_partition_ais works)
from ebm.rbm.samplers import checked_params

_numba_cache.stamp_package()  # every ebm kernel's cache depends on all of ebm's Numba modules

__all__ = ["log_partition_exact", "joint_energies", "joint_distribution", "visible_distribution", *ais.__all__]

#: States per chunk of the exact kernel (each chunk restarts its activations from scratch).
CHUNK_BITS = 12


# --------------------------------------------------------------------------- exact


@njit(cache=True, inline="always")
def _chunk_start(At, a_bias, e_bias, q, low):
    """Activations and linear term of chunk ``q``'s first state (its high bits spell ``q``)."""
    x = a_bias.copy()
    lin = 0.0
    for j in range(low, At.shape[0]):
        if (q >> (j - low)) & 1:
            lin += e_bias[j]
            for k in range(At.shape[1]):
                x[k] += At[j, k]
    return x, lin


@njit(cache=True, inline="always")
def _lse_push(m, total, term):
    """Add ``exp(term)`` to the streaming log-sum-exp ``m + log(total)``: the new ``(m, total)``."""
    if term > m:
        return term, total * math.exp(m - term) + 1.0
    return m, total + math.exp(term - m)


@njit(cache=True, inline="always")
def _log_prod_groups(u, groups):
    """``sum_g log prod_{k in group g} (1 + u[k])``; ``groups`` holds the boundaries.

    Four interleaved partial products break the multiply chain's latency.
    """
    total = 0.0
    for g in range(groups.size - 1):
        k, stop = groups[g], groups[g + 1]
        p0 = p1 = p2 = p3 = 1.0
        while k + 4 <= stop:
            p0 *= 1.0 + u[k]
            p1 *= 1.0 + u[k + 1]
            p2 *= 1.0 + u[k + 2]
            p3 *= 1.0 + u[k + 3]
            k += 4
        while k < stop:
            p0 *= 1.0 + u[k]
            k += 1
        total += math.log((p0 * p1) * (p2 * p3))
    return total


@njit(cache=True)
def _chunk(At, expA, exp_negA, a_bias, e_bias, groups, low, q):
    """Chunk ``q`` of :func:`_enumerate_chunks`: its streaming log-sum-exp ``(m, total)``."""
    n_sum = At.shape[1]
    x, lin = _chunk_start(At, a_bias, e_bias, q, low)
    u = np.exp(x)
    s = np.zeros(low, dtype=np.int8)
    m = lin + _log_prod_groups(u, groups)
    total = 1.0
    for t in range(1, 1 << low):
        j = gray_flip_jit(t)
        if s[j] == 0:
            s[j] = 1
            lin += e_bias[j]
            for k in range(n_sum):
                u[k] *= expA[j, k]
        else:
            s[j] = 0
            lin -= e_bias[j]
            for k in range(n_sum):
                u[k] *= exp_negA[j, k]
        term = lin + _log_prod_groups(u, groups)
        m, total = _lse_push(m, total, term)
    return m, total


def _enumerate_chunks(At, expA, exp_negA, a_bias, e_bias, groups, chunk_bits, first, last, chunk_max, chunk_sum):
    """Streaming log-sum-exp of ``e_bias^T s + sum_k softplus(a_bias_k + (A s)_k)`` per chunk.

    ``At`` is ``A`` transposed, shape (n_enum, n_sum): row ``j`` is what unit ``j`` of the
    enumerated layer adds to the activations ``x``.  The kernel keeps ``u = exp(x)`` instead
    of ``x``: flipping unit ``j`` multiplies ``u`` by row ``j`` of ``expA`` (on) or
    ``exp_negA`` (off), and ``sum_k softplus(x_k) = sum_g log prod_{k in g} (1 + u_k)`` takes
    one ``log`` per group -- no ``exp`` at all inside the walk.  The caller chooses groups
    whose products cannot overflow.  Chunk ``q`` holds the states whose high bits (from
    ``chunk_bits`` up) spell ``q``; it recomputes ``u`` from scratch, then walks its low
    bits in Gray-code order (one unit flips per step).
    """
    low = min(chunk_bits, At.shape[0])
    for q in prange(first, last):
        m, total = _chunk(At, expA, exp_negA, a_bias, e_bias, groups, low, np.int64(q))
        chunk_max[q - first] = m
        chunk_sum[q - first] = total


@njit(cache=True)
def _chunk_wide(At, a_bias, e_bias, low, q):
    """Chunk ``q`` of :func:`_enumerate_chunks_wide`: its streaming log-sum-exp ``(m, total)``."""
    n_sum = At.shape[1]
    x, lin = _chunk_start(At, a_bias, e_bias, q, low)
    s = np.zeros(low, dtype=np.int8)
    m = lin
    for k in range(n_sum):
        m += softplus_jit(x[k])
    total = 1.0
    for t in range(1, 1 << low):
        j = gray_flip_jit(t)
        sign = 1.0 if s[j] == 0 else -1.0
        s[j] = 1 - s[j]
        lin += sign * e_bias[j]
        term = lin
        for k in range(n_sum):
            x[k] += sign * At[j, k]
            term += softplus_jit(x[k])
        m, total = _lse_push(m, total, term)
    return m, total


def _enumerate_chunks_wide(At, a_bias, e_bias, chunk_bits, first, last, chunk_max, chunk_sum):
    """The same sum for activations too large for ``exp(x)`` (|x| may exceed ~700).

    It keeps ``x`` and takes ``softplus(x) = max(x, 0) + log1p(exp(-|x|))`` term by term:
    slower (one ``exp`` and one ``log1p`` per unit and state) but safe at any scale.
    """
    low = min(chunk_bits, At.shape[0])
    for q in prange(first, last):
        m, total = _chunk_wide(At, a_bias, e_bias, low, np.int64(q))
        chunk_max[q - first] = m
        chunk_sum[q - first] = total


# Each compiled twice (ebm._parallel.twins): a serial twin for a small enumeration, which is all a
# lecture's RBMs need, and a parallel one for a large enumeration on an idle machine.  Both call one
# compiled chunk function, so the parallel twin's parfor holds only a call (see ebm._kernels).
enumerate_chunks = twins(_enumerate_chunks)
enumerate_chunks_wide = twins(_enumerate_chunks_wide)


#: Largest activation bound for the ``exp(x)`` walk: ``exp(+-600)`` and products of groups
#: bounded by ``exp(600)`` stay far inside float64's range (about ``exp(+-709)``).
_EXP_BOUND = 600.0


def _groups(bound):
    """Boundaries of consecutive groups of units whose ``sum log(1 + e^{|x|})`` stays below
    :data:`_EXP_BOUND`; ``bound[k]`` bounds ``|x_k|`` over every state."""
    edges, acc = [0], 0.0
    per_unit = bound + math.log(2.0)  # log(1 + e^x) <= |x| + ln 2
    for k, cost in enumerate(per_unit):
        if acc + cost > _EXP_BOUND and k > edges[-1]:
            edges.append(k)
            acc = 0.0
        acc += cost
    edges.append(len(per_unit))
    return np.array(edges, dtype=np.int64)


def log_partition_exact(rbm, layer="auto", progress=False):
    """``log Z`` of ``rbm`` by enumerating every state of one layer (exact up to rounding).

    Parameters
    ----------
    rbm : RBM
        Anything with ``W`` (n_visible, n_hidden), ``b`` (n_visible,), ``c`` (n_hidden,).
    layer : {"auto", "hidden", "visible"}, default "auto"
        Which layer to enumerate; "auto" takes the smaller one (hidden on a tie).
    progress : bool, default False
        Draw a progress bar over the chunks (worth it from about 2**22 states).

    Returns
    -------
    float
        ``log Z`` in nats.

    Raises
    ------
    ValueError
        If the enumerated layer has more than 25 units (use ``method="ais"``), or the
        parameters are not finite.

    Notes
    -----
    Cost: ``2**n_enum * n_sum`` exponentials.  64 visible x 20 hidden (2**20 states) takes
    a fraction of a second on one core.
    """
    W, b, c = checked_params(rbm)
    n_v, n_h = W.shape
    if layer not in ("auto", "hidden", "visible"):
        raise ValueError(f"layer must be 'auto', 'hidden' or 'visible', got {layer!r}")
    if layer == "auto":
        layer = "hidden" if n_h <= n_v else "visible"
    if layer == "hidden":  # enumerate h, sum v out
        At, a_bias, e_bias = W.T, b, c
    else:  # enumerate v, sum h out
        At, a_bias, e_bias = W, c, b
    n_enum, n_sum = At.shape
    if n_enum > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"exact log Z would enumerate 2**{n_enum} states of the {layer} layer ({n_enum} units); "
            f"the limit is {MAX_ENUMERATED_UNITS} units in the enumerated layer. Estimate it with "
            "rbm.log_partition(method='ais', n_betas=..., n_runs=...) instead"
        )
    At = np.ascontiguousarray(At)
    chunk_bits = min(CHUNK_BITS, n_enum)
    n_chunks = 1 << (n_enum - chunk_bits)
    chunk_max = np.empty(n_chunks)
    chunk_sum = np.empty(n_chunks)
    block = max(1, min(n_chunks, (1 << 24) // max(1, n_sum << chunk_bits)))  # ~16M units of work
    work = (1 << chunk_bits) * max(1, n_sum)
    bound = np.abs(a_bias) + np.abs(At).sum(axis=0)  # |x_k| <= bound_k in every state
    if n_sum == 0 or bound.max() < _EXP_BOUND:
        groups = _groups(bound)
        expA, exp_negA = np.exp(At), np.exp(-At)
        kernels, args = enumerate_chunks, (At, expA, exp_negA, a_bias, e_bias, groups)
    else:
        kernels, args = enumerate_chunks_wide, (At, a_bias, e_bias)
    with progress_bar(progress, n_chunks, f"exact log Z (2**{n_enum} states)") as bar:
        for first in range(0, n_chunks, block):
            last = min(n_chunks, first + block)
            launch_twin(
                *kernels,
                (last - first) * work,
                *args,
                chunk_bits,
                first,
                last,
                chunk_max[first:last],
                chunk_sum[first:last],
            )
            bar.update(last - first)
    m = chunk_max.max()
    return float(m + math.log(np.sum(chunk_sum * np.exp(chunk_max - m))))


# --------------------------------------------------------------------------- the temperature view


def joint_energies(rbm, max_units=16):
    """Every joint state ``(v, h)`` of a tiny RBM and its energy ``E(v, h)``.

    Parameters
    ----------
    rbm : RBM
        Anything with ``W`` (n_visible, n_hidden), ``b`` (n_visible,), ``c`` (n_hidden,).
    max_units : int, default 16
        The most units ``n_visible + n_hidden`` enumerated jointly (the table has
        ``2**(n_visible + n_hidden)`` rows).

    Returns
    -------
    V : ndarray of float64 0/1, shape (2**(n_visible + n_hidden), n_visible)
    H : ndarray of float64 0/1, shape (2**(n_visible + n_hidden), n_hidden)
    energy : ndarray of float64, shape (2**(n_visible + n_hidden),)
        ``E(v, h) = -b^T v - c^T h - v^T W h``; state ``k`` has ``v`` in its low bits.

    Raises
    ------
    ValueError
        When ``n_visible + n_hidden > max_units``, or the parameters are not finite.
    """
    W, b, c = checked_params(rbm)
    n_v, n_h = W.shape
    check_int(max_units, "max_units")
    if n_v + n_h > max_units:
        raise ValueError(
            f"the joint table has 2**{n_v + n_h} rows; at most {max_units} units in "
            "total are enumerated jointly (use log_partition_exact for the sum)"
        )
    states = all_states(n_v + n_h, np.float64)
    V, H = states[:, :n_v], states[:, n_v:]
    energy = -(V @ b) - (H @ c) - np.einsum("ni,ij,nj->n", V, W, H)
    return V, H, energy


def joint_distribution(rbm, beta=1.0, max_units=16):
    """``P(v, h) = exp(-beta E(v, h)) / Z`` over every joint state, as **one softmax** by the core.

    This is the source article's §3: ``P(x) = exp(-E(x)) / Z``, ``Z = sum_x exp(-E(x))``.
    The ``2**(n_v + n_h)`` energies form a single column of logits ``-beta E`` and
    :func:`ebm.softmax_forward` normalises them; ``Z`` itself never appears, and
    ``log Z = logsumexp(-E)`` (at ``beta = 1``) equals :func:`log_partition_exact`.

    Parameters
    ----------
    rbm : RBM
        Anything with ``W`` (n_visible, n_hidden), ``b`` (n_visible,), ``c`` (n_hidden,).
    beta : float >= 0, default 1.0
        Inverse temperature.
    max_units : int, default 16
        As in :func:`joint_energies`.

    Returns
    -------
    V : ndarray of float64 0/1, shape (2**(n_visible + n_hidden), n_visible)
    H : ndarray of float64 0/1, shape (2**(n_visible + n_hidden), n_hidden)
        The joint states (see :func:`joint_energies`).
    prob : ndarray of float64, shape (2**(n_visible + n_hidden),)
        Sums to 1.
    """
    import ebm

    beta = check_float(beta, "beta", low=0.0)
    V, H, energy = joint_energies(rbm, max_units)
    prob = ebm.softmax_forward((-beta * energy)[None, :], axis=1)[0]
    return V, H, prob


def visible_distribution(rbm, log_z=None):
    """Every visible state and its exact probability ``p(v) = exp(-F(v)) / Z``.

    Parameters
    ----------
    rbm : RBM
        With at most 25 visible units (and a tractable ``log Z``).
    log_z : float, optional
        Pass it when already known.

    Returns
    -------
    V : ndarray of float64 0/1, shape (2**n_visible, n_visible)
        Row ``k`` is the binary expansion of ``k``, unit 0 the least significant bit.
    p : ndarray of float64, shape (2**n_visible,)
    """
    V = all_states(rbm.W.shape[0], np.float64)
    if log_z is None:
        log_z = log_partition_exact(rbm)
    return V, np.exp(-rbm.free_energy(V) - float(log_z))
