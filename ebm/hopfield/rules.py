r"""Learning rules: how ``p`` patterns ``xi^1 .. xi^p`` of ``N`` units become weights ``W``.

Each rule takes the patterns as the rows of a (p, N) array of ±1 and returns a
symmetric (N, N) ``W``; :meth:`ebm.hopfield.HopfieldNetwork.from_patterns` picks one
by name (:data:`RULES`).

* Hebb (1949; Hopfield 1982): ``W = (1/N) sum_mu xi^mu xi^mu^T`` with a zero
  diagonal.  Recall holds up to a load ``alpha = p/N ~ 0.138`` (Amit, Gutfreund &
  Sompolinsky 1985).
* Storkey (1997): an incremental rule that subtracts each new pattern's crosstalk
  with the fields of the patterns already stored; it stores about
  ``N / sqrt(2 ln N)`` patterns against Hebb's ``N / (2 ln N)``.
* The pseudo-inverse, or projection, rule (Personnaz et al. 1985; Kanter &
  Sompolinsky 1987): ``W = Xi^+ Xi`` projects onto the patterns' span, so every
  stored pattern is a fixed point; useful while ``p < N``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ebm.hopfield.states import _as_patterns

__all__ = ["RULES", "hebb_weights", "storkey_weights", "pseudoinverse_weights"]

#: The rule names :meth:`ebm.hopfield.HopfieldNetwork.from_patterns` and
#: :func:`ebm.hopfield.capacity_sweep` accept.
RULES = ("hebb", "storkey", "pseudoinverse")


def hebb_weights(patterns):
    """Hebb's rule: ``W = (1/N) sum_mu xi^mu xi^mu^T`` with a zero diagonal.

    Parameters
    ----------
    patterns : array_like of ±1, shape (p, N) or (N,)
        The patterns to store, one per row (one pattern may be given on its own).

    Returns
    -------
    W : ndarray of float64, shape (N, N)
        Symmetric, with a zero diagonal.

    Raises
    ------
    TypeError
        If ``patterns`` is not numeric.
    ValueError
        If ``patterns`` is not (p, N) with ``N >= 1``, or holds a value other than
        -1 and +1.
    """
    xi = _as_patterns(patterns)
    W = xi.T @ xi / xi.shape[1]
    np.fill_diagonal(W, 0.0)
    return W


def storkey_weights(patterns):
    """Storkey's (1997) incremental rule, with a zero diagonal.

    For each pattern ``xi`` in turn, with ``h_ij = sum_{k != i, j} W_ik xi_k``::

        W_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / N

    It stores about ``N / sqrt(2 ln N)`` patterns against Hebb's ``N / (2 ln N)``.

    Parameters
    ----------
    patterns : array_like of ±1, shape (p, N) or (N,)
        The patterns to store, one per row, in the order they are learned.

    Returns
    -------
    W : ndarray of float64, shape (N, N)
        Symmetric, with a zero diagonal, built one pattern at a time.

    Raises
    ------
    TypeError, ValueError
        As :func:`hebb_weights`.
    """
    xi = _as_patterns(patterns)
    n = xi.shape[1]
    W = np.zeros((n, n))
    for x in xi:
        h = W @ x  # sum_k W_ik x_k, diagonal is 0
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
    *every* state is a fixed point and recall corrects no error.

    Parameters
    ----------
    patterns : array_like of ±1, shape (p, N) or (N,)
        The patterns to store, one per row.

    Returns
    -------
    W : ndarray of float64, shape (N, N)
        The symmetric projection onto the patterns' span.

    Raises
    ------
    TypeError, ValueError
        As :func:`hebb_weights`.

    Warns
    -----
    UserWarning
        When the patterns span all of ``R^N`` (``W`` is the identity), or when
        ``p > N`` (they are linearly dependent).
    """
    xi = _as_patterns(patterns)
    p, n = xi.shape
    W = np.linalg.pinv(xi) @ xi
    rank = int(np.linalg.matrix_rank(xi))
    if rank == n:
        warnings.warn(
            f"pseudo-inverse rule: the {p} patterns span all of R^{n} (rank {n}), so "
            f"W = Xi^+ Xi is the identity: every state is a fixed point and recall corrects "
            f"no error (store fewer than N = {n} patterns)",
            UserWarning,
            stacklevel=2,
        )
    elif p > n:
        warnings.warn(
            f"pseudo-inverse rule: {p} patterns > N = {n} units are linearly dependent "
            f"(rank {rank}); W projects onto their {rank}-dimensional span, so every state "
            "in that span is a fixed point too",
            UserWarning,
            stacklevel=2,
        )
    return W
