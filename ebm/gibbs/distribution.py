r"""The Gibbs distribution over the answers, and the free energy.

The article (§4) quotes LeCun's tutorial's way of turning energies into
probabilities, the Gibbs distribution with an inverse temperature ``beta``::

    P_beta(y | x) = exp(-beta E(y, x)) / sum_y' exp(-beta E(y', x))       (= softmax(-beta E))
    F_beta(x)     = -(1/beta) log sum_y exp(-beta E(y, x))                (the free energy)

``beta = 0`` gives the uniform distribution, ``beta -> inf`` the one-hot of the
argmin (ties split evenly), and ``beta = 1`` is exactly the softmax of the logits
``-E``: :func:`gibbs_distribution` runs through the core's
:func:`ebm.softmax_forward`.  (The article's LaTeX misplaces a parenthesis and
prints ``e^{-beta}E(Y,X)``; the exponent is ``-beta E(Y,X)``.)  The free energy
goes to ``min_y E(y)`` as ``beta -> inf``: marginalising becomes minimising.
"""

from __future__ import annotations

import numpy as np

from ebm import _checks
from ebm._checks import check_beta, check_betas, check_energies, energy_logits
from ebm._math import logsumexp

__all__ = ["gibbs_distribution", "free_energy", "beta_sweep"]


def gibbs_distribution(energies, beta=1.0, axis=-1):
    r"""The Gibbs distribution ``exp(-beta E) / sum exp(-beta E)`` along ``axis``.

    It is ``softmax(-beta E)``, computed by the core :func:`ebm.softmax_forward`
    (Caffe's max-subtracted softmax) on the logits ``-beta E``.  The core's
    ``axis`` is resolved like NumPy's (negative counts from the end), so the
    default ``axis=-1`` is the last axis for any number of dimensions: the core
    views the array as ``(outer_num, C, inner_num)`` around it.

    Limits, exactly as computed:

    * ``beta = 0``: every logit is 0, so every probability is ``1/C`` (the
      correctly rounded ``1/C``, identical across the axis).
    * ``beta`` large: the answers tied at the minimum energy get ``1/#ties`` each
      and the others exactly 0, once ``beta * (E - E_min) >= 708`` for every
      non-minimal answer (below ``exp(-708)`` the core's exp returns 0; float64
      underflows at about ``exp(-745)`` anyway).  For a smaller ``beta * gap`` the
      result is the true softmax, not yet one-hot.

    Parameters
    ----------
    energies : array_like, shape (..., C, ...), at least one axis
        Finite energies, the C answers along ``axis``; float32 stays float32,
        anything else real is float64.
    beta : float, default 1.0
        Inverse temperature, ``0 <= beta``; ``beta * energies`` must not overflow.
    axis : int, default -1
        The axis of the answers.

    Returns
    -------
    ndarray, the shape of ``energies``
        Sums to 1 along ``axis``.

    Raises
    ------
    ValueError
        If ``beta < 0`` or is not finite, an energy is NaN or infinite (naming its
        position), or ``beta * energies`` overflows.
    TypeError
        If ``beta`` or ``energies`` is not real.

    Examples
    --------
    >>> import numpy as np
    >>> from ebm import gibbs
    >>> E = np.array([1.0, 2.0, 1.0, 4.0])
    >>> gibbs.gibbs_distribution(E, beta=0.0)
    array([0.25, 0.25, 0.25, 0.25])
    >>> gibbs.gibbs_distribution(E, beta=1e6)
    array([0.5, 0. , 0.5, 0. ])
    >>> bool(np.allclose(gibbs.gibbs_distribution(E, 1.0), np.exp(-E) / np.exp(-E).sum()))
    True
    """
    from ebm.softmax_loss import softmax_forward

    beta = check_beta(beta)
    E = _checks.as_float_array(energies, "energies")
    if E.ndim == 0:
        raise ValueError("energies must have at least one axis (the answers), got a scalar")
    return softmax_forward(energy_logits(E, beta), axis=axis)


def free_energy(energies, beta=1.0, axis=-1):
    r"""The free energy ``F = -(1/beta) log sum_y exp(-beta E(y))`` along ``axis``.

    Computed as ``E_min - log(sum exp(-beta (E - E_min))) / beta``: the sum is
    between 1 and C, so nothing overflows for any ``beta > 0``.  Its gradient is
    the Gibbs distribution, ``dF/dE = P_beta``.

    Limits: ``beta -> inf`` gives ``F -> E_min - log(#ties)/beta -> E_min``
    (marginalising becomes minimising).  At ``beta = 0`` the term
    ``-log(C)/beta`` diverges: ``F = -inf`` for ``C > 1`` (the true limit, returned
    without a warning) and ``F = E`` for a single answer.

    Parameters
    ----------
    energies : array_like, shape (..., C, ...), at least one axis
        Finite energies, the C answers along ``axis`` (``C >= 1``).
    beta : float, default 1.0
        ``beta >= 0``.
    axis : int, default -1
        The axis of the answers.

    Returns
    -------
    ndarray of float64, the shape of ``energies`` without ``axis``
        A 0-d array for one vector (C,).

    Examples
    --------
    >>> import numpy as np
    >>> from ebm import gibbs
    >>> float(gibbs.free_energy(np.array([1.0, 1.0]), beta=1.0))      # 1 - log 2
    0.3068528194400547
    """
    beta = check_beta(beta)
    E = check_energies(energies)
    if E.ndim == 0:
        raise ValueError("energies must have at least one axis (the answers), got a scalar")
    axis = _checks.canonical_axis(axis, E.ndim)
    C = E.shape[axis]
    if C == 0:
        raise ValueError("the answer axis has size 0: a free energy needs at least one answer")
    e_min = E.min(axis=axis)
    if beta == 0:
        return np.full(e_min.shape, -np.inf) if C > 1 else e_min
    with np.errstate(over="ignore"):  # beta * gap beyond float64: exp(-inf) = 0, fine
        shifted = -beta * (E - np.expand_dims(e_min, axis))
    return e_min - logsumexp(shifted, axis=axis) / beta


def beta_sweep(energies, betas):
    """The Gibbs distribution of one energy vector at each ``beta``.

    Parameters
    ----------
    energies : array_like, shape (C,)
        Finite energies of the C answers.
    betas : array_like of float, shape (B,)
        Inverse temperatures, each finite and ``>= 0`` (any shape is flattened).

    Returns
    -------
    ndarray of float64, shape (B, C)
        Row ``n`` is ``gibbs_distribution(energies, betas[n])``.

    Examples
    --------
    >>> from ebm import gibbs
    >>> gibbs.beta_sweep([0.0, 1.0], [0.0, 1e6])
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    E = check_energies(energies)
    if E.ndim != 1:
        raise ValueError(f"energies must be one vector (C,), got shape {E.shape}")
    betas = check_betas(betas)
    return np.stack([gibbs_distribution(E, b) for b in betas])
