r"""The modern Hopfield network (Ramsauer et al. 2020): the bridge from Hopfield to the core.

The network stores ``N`` patterns of dimension ``d`` as the columns of ``X`` (d, N)
and updates a real-valued query ``xi`` (d,) by one step of attention::

    xi <- X softmax(beta X^T xi)

Its energy never increases along the update::

    E(xi) = -lse(beta, X^T xi) + 1/2 xi^T xi + log(N)/beta + 1/2 M^2
    lse(beta, z) = log(sum_n exp(beta z_n)) / beta,      M = max_n ||x_n||

At small ``beta`` its one global fixed point is near the average of all the
patterns; at intermediate ``beta`` metastable states average subsets of similar
patterns; at large ``beta`` every well-separated pattern is a fixed point,
retrieved in one step (Ramsauer et al. 2020, Theorems 1-4).  The softmax here is
:func:`ebm.softmax_forward`, and retrieving pattern ``k`` is a softmax-with-loss
over ``beta X^T xi`` with label ``k`` (:func:`modern_retrieval_loss`).
"""

from __future__ import annotations

import numpy as np

from ebm._math import logsumexp
from ebm.softmax_loss import softmax_forward, softmax_loss_backward, softmax_loss_forward

__all__ = ["modern_update", "modern_energy", "modern_retrieval_loss"]


def _modern_inputs(X, xi, beta):
    """Validate ``X`` (d, N), ``xi`` (d,) or (d, M) and ``beta > 0``; return them as float64."""
    X = np.asarray(X, dtype=np.float64)
    xi = np.asarray(xi, dtype=np.float64)
    if X.ndim != 2 or 0 in X.shape:
        raise ValueError(f"X must be a (d, N) matrix of N stored patterns as columns, got shape {X.shape}")
    if xi.ndim not in (1, 2) or xi.shape[0] != X.shape[0]:
        raise ValueError(
            f"xi must have shape ({X.shape[0]},) or ({X.shape[0]}, M) to match X {X.shape}, got {xi.shape}"
        )
    if isinstance(beta, bool) or not np.isscalar(beta) or not np.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be a positive finite number, got {beta!r}")
    if not (np.isfinite(X).all() and np.isfinite(xi).all()):
        raise ValueError("X and xi must be finite")
    return X, xi, float(beta)


def modern_update(X, xi, beta):
    """One step of the modern Hopfield network: ``X softmax(beta X^T xi)``.

    The softmax is :func:`ebm.softmax_forward` along the pattern axis (axis 0), so
    a batch of queries is updated at once.  With ``beta = 1/sqrt(d)`` it is
    transformer attention.

    Parameters
    ----------
    X : array_like, shape (d, N)
        The stored patterns, one per column.
    xi : array_like, shape (d,) or (d, M)
        One query, or ``M`` queries as columns.
    beta : float > 0
        The inverse temperature.

    Returns
    -------
    ndarray of float64, the shape of ``xi``
        The updated queries.

    Raises
    ------
    ValueError
        If the shapes do not match, an entry is not finite, or ``beta`` is not a
        positive finite number.
    """
    X, xi, beta = _modern_inputs(X, xi, beta)
    return X @ softmax_forward(beta * (X.T @ xi), axis=0)


def modern_energy(X, xi, beta):
    """``E = -lse(beta, X^T xi) + 1/2 xi^T xi + log(N)/beta + 1/2 M^2`` (Ramsauer et al.).

    ``lse(beta, z) = log(sum exp(beta z)) / beta`` and ``M`` is the largest pattern
    norm.

    Parameters
    ----------
    X : array_like, shape (d, N)
    xi : array_like, shape (d,) or (d, M)
    beta : float > 0
        As in :func:`modern_update`.

    Returns
    -------
    E : float, or ndarray of float64 of shape (M,) for a batch

    Raises
    ------
    ValueError
        As :func:`modern_update`.
    """
    X, xi, beta = _modern_inputs(X, xi, beta)
    z = beta * (X.T @ xi)
    lse = logsumexp(z, axis=0) / beta
    big_m = np.sqrt((X**2).sum(axis=0)).max()
    e = -lse + 0.5 * (xi**2).sum(axis=0) + np.log(X.shape[1]) / beta + 0.5 * big_m**2
    return float(e) if np.ndim(e) == 0 else e


def modern_retrieval_loss(X, xi, target, beta):
    """Retrieval as classification: the softmax-with-loss core over ``beta X^T xi``.

    The "logits" are the query's similarities to the stored patterns; the label is
    the index of the pattern it should retrieve.  Returns the loss and both
    derivatives: ``bottom_diff`` (with respect to the logits, from the core) and the
    gradient with respect to the query, ``beta X bottom_diff``.

    Parameters
    ----------
    X : array_like, shape (d, N)
    xi : array_like, shape (d,) or (d, M)
        As in :func:`modern_update`.
    target : int or array_like of int, shape () or (M,)
        The index in ``0..N-1`` of the pattern each query should retrieve.
    beta : float > 0

    Returns
    -------
    loss : float
        The core's loss (the mean over queries).
    bottom_diff : ndarray of float64, shape (N,) or (N, M)
        The derivative with respect to the logits ``beta X^T xi``.
    grad_xi : ndarray of float64, the shape of ``xi``
        The derivative with respect to the queries.

    Raises
    ------
    ValueError
        If ``target`` is not integer indices of shape ``xi.shape[1:]`` in
        ``0..N-1``, or as :func:`modern_update`.
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
