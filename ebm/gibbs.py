r"""Energy-based models (LeCun et al. 2006): the Gibbs distribution and the loss functionals.

An energy-based model scores every answer ``y`` to an input ``x`` with an energy
``E(y, x)``; inference picks the lowest.  The source article (§4) quotes the
tutorial's way of turning energies into probabilities, the Gibbs distribution with
an inverse temperature ``beta``::

    P_beta(y | x) = exp(-beta E(y, x)) / sum_y' exp(-beta E(y', x))       (= softmax(-beta E))
    F_beta(x)     = -(1/beta) log sum_y exp(-beta E(y, x))                (the free energy)

``beta = 0`` gives the uniform distribution, ``beta -> inf`` the one-hot of the
argmin (ties split evenly), and ``beta = 1`` is exactly the softmax of the logits
``-E``: :func:`gibbs_distribution` runs through the core's
:func:`ebm.softmax_forward`.  (The article's LaTeX misplaces a parenthesis and
prints ``e^{-beta}E(Y,X)``; the exponent is ``-beta E(Y,X)``.)

Learning shapes the energy with a *loss functional*.  Every loss here takes a
batch of energy vectors ``energies`` (N, C) and the index ``correct`` (N,) of each
correct answer, and returns ``(loss, d_loss/d_energies)``, where the loss is the
**mean over the batch** and the gradient is that of the mean (each row carries a
factor ``1/N``).  With ``E_C`` the correct answer's energy and ``E_I`` the energy
of the most offending incorrect answer (the lowest one other than ``C``;
the first on a tie):

==================  ===========================================  ==============
name                per-sample loss                              params
==================  ===========================================  ==============
energy              ``E_C``
perceptron          ``E_C - min_y E(y)``
hinge               ``max(0, m + E_C - E_I)``                    ``m=1``
log                 ``log(1 + exp(E_C - E_I))``
lvq2                ``min(1, max(0, (E_C - E_I) / (delta E_I)))``  ``delta=1``
mce                 ``sigmoid(E_C - E_I)``
square_square       ``E_C**2 + max(0, m - E_I)**2``              ``m=1``
square_exp          ``E_C**2 + gamma exp(-E_I)``                 ``gamma=1``
nll                 ``E_C + (1/beta) log sum_y exp(-beta E(y))`` ``beta=1``
==================  ===========================================  ==============

:data:`LOSSES` maps each name to its function.  The NLL (also called MMI) comes
from the core's softmax-with-loss with logits ``-beta E``; see :func:`nll_loss`
for the chain rule and its scaling.

Experiments: :func:`beta_sweep`, :func:`nll_perceptron_gap` (NLL -> perceptron at
the rate ``log(#ties)/beta``), :func:`two_class_energies` (NLL is logistic
regression and hinge an SVM), :func:`train_energy_table` (which losses keep
the bad answers up on a free-form table) and :func:`train_shared_scale` (the
energy loss collapsing a good table whose entries share one parameter).
"""

from __future__ import annotations

import numbers

import numpy as np

from ebm import _checks
from ebm._progress import progress_bar

__all__ = [
    "gibbs_distribution",
    "free_energy",
    "energy_loss",
    "perceptron_loss",
    "hinge_loss",
    "log_loss",
    "lvq2_loss",
    "mce_loss",
    "square_square_loss",
    "square_exp_loss",
    "nll_loss",
    "LOSSES",
    "LOSS_PARAMS",
    "most_offending",
    "beta_sweep",
    "nll_perceptron_gap",
    "two_class_energies",
    "train_energy_table",
    "train_shared_scale",
    "energy_gaps",
    "margin_condition",
    "MARGIN_CONDITION",
]


# --------------------------------------------------------------------------- validation


def _real_scalar(value, name):
    """A finite real scalar as float (TypeError / ValueError naming ``name``)."""
    if isinstance(value, np.ndarray) and value.size != 1:
        raise TypeError(f"{name} must be a real scalar, got an array of shape {value.shape}")
    return _checks.check_loss_weight(value, name)


def _check_beta(beta, *, positive=False):
    """``beta`` as a float; ValueError if negative (or zero when ``positive``)."""
    beta = _real_scalar(beta, "beta")
    if beta < 0:
        raise ValueError(f"beta must be >= 0 (an inverse temperature), got {beta}")
    if positive and beta == 0:
        raise ValueError("beta must be > 0 here: at beta = 0 the term (1/beta) log sum exp(-beta E) "
                         "diverges like log(C)/beta")
    return beta


def _nonneg_param(value, name, *, positive=False):
    value = _real_scalar(value, name)
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value}")
    return value


def _finite_energies(energies, name="energies"):
    """``energies`` as float64 (a copy only when needed), ValueError at the first non-finite value."""
    arr = _checks.as_float_array(energies, name).astype(np.float64, copy=False)
    _checks.check_finite(arr, name)
    return arr


def _logits(E, beta):
    """``-beta E``, checked in one pass: ValueError naming a non-finite energy or an overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        logits = -beta * E
    if not np.isfinite(logits).all():
        _checks.check_finite(E, "energies")                 # NaN or inf in the input itself
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmin(np.isfinite(logits))), E.shape))
        raise ValueError(f"beta * energies{list(pos)} = {beta:g} * {E[pos]:g} overflows float64")
    return logits


def _batch(energies, correct):
    """Validate a loss's input: ``(E (N, C) float64, c (N,) int64, squeeze)``.

    ``energies`` is (N, C) with ``correct`` of shape (N,), or one vector (C,) with a
    scalar ``correct`` (then ``squeeze`` is true and the gradient is returned as (C,)).
    """
    E = _finite_energies(energies)
    squeeze = E.ndim == 1
    if squeeze:
        E = E[None, :]
    if E.ndim != 2:
        raise ValueError(f"energies must have shape (N, C) or (C,), got {np.shape(energies)}")
    N, C = E.shape
    if N == 0:
        raise ValueError(f"energies has no samples (shape {np.shape(energies)}): a loss needs at least one")
    if C < 2:
        raise ValueError(f"energies must hold at least 2 answers per sample (one correct, one "
                         f"incorrect), got C = {C}")
    c = np.asarray(correct)
    expected = () if squeeze else (N,)
    if c.shape != expected:
        raise ValueError(f"correct has shape {c.shape} but energies has shape {np.shape(energies)}: "
                         f"expected correct of shape {expected}")
    if c.dtype.kind == "f":
        bad = ~(np.isfinite(c) & (c == np.round(c)))
        if bad.any():
            pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), c.shape))
            where = str(list(pos)) if c.ndim else ""
            raise ValueError(f"correct{where} is {c[pos]}, which is not an integer")
    elif c.dtype.kind not in "iu":
        raise TypeError(f"correct must hold integer indices, got dtype {c.dtype}")
    c = c.reshape(-1)
    out = (c < 0) | (c >= C)
    if out.any():
        n = int(np.argmax(out))
        where = "" if squeeze else f"[{n}]"
        raise ValueError(f"correct{where} is {c[n]:g}, outside the valid answers [0, {C})")
    return E, c.astype(np.int64), squeeze


def _out(loss_terms, grad, squeeze):
    """Mean over the batch; the gradient rows already carry no 1/N -- add it here."""
    N = loss_terms.size
    grad = grad / N
    return float(loss_terms.sum() / N), (grad[0] if squeeze else grad)


def most_offending(energies, correct):
    """Index and energy of the most offending incorrect answer of each sample.

    ``E_I = min_{y != correct} E(y)``; on a tie the first such answer is returned
    (the losses built on ``E_I`` are not differentiable there).

    Parameters
    ----------
    energies : array_like, shape (N, C) or (C,)
    correct : array_like of int, shape (N,) or scalar

    Returns
    -------
    index : ndarray of int64, shape (N,) (or a scalar array)
    E_I : ndarray of float64, shape (N,) (or a scalar array)

    Examples
    --------
    >>> from ebm import gibbs
    >>> gibbs.most_offending([[0.5, 2.0, 0.1]], [2])
    (array([0]), array([0.5]))
    """
    E, c, squeeze = _batch(energies, correct)
    i, e_i = _offending(E, c)
    return (i[0], e_i[0]) if squeeze else (i, e_i)


def _offending(E, c):
    rows = np.arange(E.shape[0])
    masked = E.copy()
    masked[rows, c] = np.inf
    i = np.argmin(masked, axis=1)
    return i, E[rows, i]


def _onehots(E, c, i, dc, di):
    """A gradient that is ``dc`` at the correct answer and ``di`` at answer ``i`` (per row)."""
    rows = np.arange(E.shape[0])
    grad = np.zeros_like(E)
    grad[rows, c] += dc
    grad[rows, i] += di
    return grad


def _sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))`` as ``(1 + tanh(z/2)) / 2``: no overflow for any z."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# --------------------------------------------------------------------------- Gibbs


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
    energies : array_like
        Finite energies; float32 stays float32, anything else real is float64.
    beta : float, default 1.0
        Inverse temperature, ``0 <= beta``; ``beta * energies`` must not overflow.
    axis : int, default -1
        The axis of the answers.

    Returns
    -------
    ndarray
        Same shape as ``energies``; sums to 1 along ``axis``.

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

    beta = _check_beta(beta)
    E = _checks.as_float_array(energies, "energies")
    if E.ndim == 0:
        raise ValueError("energies must have at least one axis (the answers), got a scalar")
    return softmax_forward(_logits(E, beta), axis=axis)


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
    energies : array_like
        Finite energies.
    beta : float, default 1.0
        ``beta >= 0``.
    axis : int, default -1

    Returns
    -------
    ndarray of float64
        ``energies``' shape without ``axis`` (a 0-d array for one vector).

    Examples
    --------
    >>> import numpy as np
    >>> from ebm import gibbs
    >>> float(gibbs.free_energy(np.array([1.0, 1.0]), beta=1.0))      # 1 - log 2
    0.3068528194400547
    """
    beta = _check_beta(beta)
    E = _finite_energies(energies)
    if E.ndim == 0:
        raise ValueError("energies must have at least one axis (the answers), got a scalar")
    axis = _checks.canonical_axis(axis, E.ndim)
    C = E.shape[axis]
    if C == 0:
        raise ValueError("the answer axis has size 0: a free energy needs at least one answer")
    e_min = E.min(axis=axis)
    if beta == 0:
        return np.full(e_min.shape, -np.inf) if C > 1 else e_min
    with np.errstate(over="ignore"):            # beta * gap beyond float64: exp(-inf) = 0, fine
        shifted = -beta * (E - np.expand_dims(e_min, axis))
    return e_min - np.log(np.exp(shifted).sum(axis=axis)) / beta


# --------------------------------------------------------------------------- the loss functionals


def energy_loss(energies, correct):
    """The energy loss ``E_C``: push the correct answer down, nothing else.

    Gradient: 1 at the correct answer, 0 at every incorrect one -- the loss has
    no term that raises a bad answer, which is why it can collapse (see
    :func:`train_energy_table`).  Margin condition (LeCun et al. 2006, Condition 3,
    two answers): **not satisfied**; ``E_C = 0`` scores 0 whether or not ``E_I`` is
    above it (:func:`margin_condition`).

    Returns
    -------
    loss : float
        Mean over the batch.
    grad : ndarray
        ``d loss / d energies``, same shape as ``energies``.
    """
    E, c, squeeze = _batch(energies, correct)
    rows = np.arange(E.shape[0])
    return _out(E[rows, c], _onehots(E, c, c, 1.0, 0.0), squeeze)


def perceptron_loss(energies, correct):
    """The perceptron loss ``E_C - min_y E(y)`` (the minimum includes the correct answer).

    It is >= 0, and 0 whenever the correct answer has the lowest energy -- with no
    margin.  Gradient ``onehot(C) - onehot(argmin)`` (the first argmin on a tie,
    where the loss is not differentiable).

    Margin condition (LeCun et al. 2006, Condition 3, two answers): **not satisfied** --
    any gap ``>= 0`` scores 0, so a margin earns nothing (:func:`margin_condition`).
    """
    E, c, squeeze = _batch(energies, correct)
    rows = np.arange(E.shape[0])
    j = np.argmin(E, axis=1)
    return _out(E[rows, c] - E[rows, j], _onehots(E, c, j, 1.0, -1.0), squeeze)


def hinge_loss(energies, correct, m=1.0):
    """The hinge loss ``max(0, m + E_C - E_I)`` with margin ``m >= 0``.

    Zero once the most offending incorrect answer is at least ``m`` above the
    correct one.  Gradient ``onehot(C) - onehot(I)`` where active, 0 elsewhere
    (not differentiable at ``m + E_C - E_I = 0``).

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for
    margins below ``m`` (:func:`margin_condition`).
    """
    m = _nonneg_param(m, "m")
    E, c, squeeze = _batch(energies, correct)
    i, e_i = _offending(E, c)
    z = m + E[np.arange(E.shape[0]), c] - e_i
    active = (z > 0).astype(np.float64)
    return _out(np.maximum(z, 0.0), _onehots(E, c, i, active, -active), squeeze)


def log_loss(energies, correct):
    """The log loss ``log(1 + exp(E_C - E_I))``: a soft hinge with an infinite margin.

    Gradient ``sigmoid(E_C - E_I) (onehot(C) - onehot(I))``; never exactly 0, so it
    keeps pushing the bad answer up (ever more gently).

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for any
    positive margin (:func:`margin_condition`).
    """
    E, c, squeeze = _batch(energies, correct)
    i, e_i = _offending(E, c)
    d = E[np.arange(E.shape[0]), c] - e_i
    s = _sigmoid(d)
    return _out(np.logaddexp(0.0, d), _onehots(E, c, i, s, -s), squeeze)


def lvq2_loss(energies, correct, delta=1.0):
    """The LVQ2 loss ``min(1, max(0, (E_C - E_I) / (delta E_I)))``, ``delta > 0``.

    A zero-margin loss that saturates once ``E_C >= (1 + delta) E_I``.  It divides
    by ``E_I``, so it needs ``E_I > 0`` (energies as distances); ValueError
    otherwise.  In the linear part the gradient is ``1/(delta E_I)`` at C and
    ``-E_C/(delta E_I**2)`` at I; 0 where the loss is 0 or saturated.

    Margin condition (LeCun et al. 2006, Condition 3, two answers): **not satisfied** --
    every gap ``>= 0`` scores 0 (:func:`margin_condition`).
    """
    delta = _nonneg_param(delta, "delta", positive=True)
    E, c, squeeze = _batch(energies, correct)
    i, e_i = _offending(E, c)
    if not (e_i > 0).all():
        n = int(np.argmax(~(e_i > 0)))
        raise ValueError(f"lvq2_loss needs E_I > 0 (it divides by it): sample {n}'s most offending "
                         f"incorrect answer {int(i[n])} has energy {e_i[n]:g}")
    e_c = E[np.arange(E.shape[0]), c]
    r = (e_c - e_i) / (delta * e_i)
    linear = ((r > 0) & (r < 1)).astype(np.float64)
    return _out(np.clip(r, 0.0, 1.0),
                _onehots(E, c, i, linear / (delta * e_i), -linear * e_c / (delta * e_i**2)), squeeze)


def mce_loss(energies, correct):
    """The minimum-classification-error loss ``sigmoid(E_C - E_I)``.

    A smooth count of errors: near 1 for a wrong answer, near 0 for a right one.
    Gradient ``s (1 - s) (onehot(C) - onehot(I))`` with ``s = sigmoid(E_C - E_I)``:
    it vanishes far on either side, so badly wrong samples barely move.

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for any
    positive margin (:func:`margin_condition`).
    """
    E, c, squeeze = _batch(energies, correct)
    i, e_i = _offending(E, c)
    s = _sigmoid(E[np.arange(E.shape[0]), c] - e_i)
    ds = s * (1.0 - s)
    return _out(s, _onehots(E, c, i, ds, -ds), squeeze)


def _check_nonnegative(E, name):
    if (E < 0).any():
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(E < 0)), E.shape))
        raise ValueError(f"{name} needs non-negative energies (it squares them as distances): "
                         f"energies{list(pos)} is {E[pos]:g}")


def square_square_loss(energies, correct, m=1.0):
    """The square-square loss ``E_C**2 + max(0, m - E_I)**2`` for energies >= 0.

    Pulls ``E_C`` to 0 and ``E_I`` up to ``m``.  Meant for non-negative energies;
    a negative one raises ValueError (for a negative ``E_C`` the square would push
    it *up*).  Gradient ``2 E_C`` at C and ``-2 max(0, m - E_I)`` at I.

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for
    margins below ``m`` (:func:`margin_condition`).
    """
    m = _nonneg_param(m, "m")
    E, c, squeeze = _batch(energies, correct)
    _check_nonnegative(E if not squeeze else E[0], "square_square_loss")
    i, e_i = _offending(E, c)
    e_c = E[np.arange(E.shape[0]), c]
    h = np.maximum(m - e_i, 0.0)
    return _out(e_c**2 + h**2, _onehots(E, c, i, 2.0 * e_c, -2.0 * h), squeeze)


def square_exp_loss(energies, correct, gamma=1.0):
    """The square-exponential loss ``E_C**2 + gamma exp(-E_I)``, ``gamma > 0``.

    Gradient ``2 E_C`` at C and ``-gamma exp(-E_I)`` at I.  Like square-square it
    is meant for non-negative energies (the square pulls ``E_C`` towards 0);
    ``exp(-E_I)`` must not overflow (``E_I > -709``).

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for any
    positive margin (:func:`margin_condition`).
    """
    gamma = _nonneg_param(gamma, "gamma", positive=True)
    E, c, squeeze = _batch(energies, correct)
    i, e_i = _offending(E, c)
    if (e_i < -709).any():
        n = int(np.argmax(e_i < -709))
        raise ValueError(f"square_exp_loss: exp(-E_I) overflows for sample {n} (E_I = {e_i[n]:g})")
    e_c = E[np.arange(E.shape[0]), c]
    g = gamma * np.exp(-e_i)
    return _out(e_c**2 + g, _onehots(E, c, i, 2.0 * e_c, -g), squeeze)


def nll_loss(energies, correct, beta=1.0):
    r"""The negative log-likelihood (MMI) loss ``E_C + (1/beta) log sum_y exp(-beta E(y))``.

    It is ``-(1/beta) log P_beta(C)``: the core's softmax-with-loss on the logits
    ``x = -beta E`` (label C, VALID normalization = the batch mean), divided by
    ``beta``.  The chain rule, per sample::

        d(-log P)/dx   = p - onehot(C)                  (the core's bottom_diff)
        dx/dE          = -beta
        d NLL / dE     = (1/beta) (p - onehot(C)) (-beta) = onehot(C) - p

    so the two factors ``1/beta`` and ``-beta`` meet in the core's loss weight
    ``top_diff = -1``, and the batch gradient is ``(onehot(C) - p) / N``.  (Without
    the ``1/beta``, ``-log P`` would have the gradient ``beta (onehot(C) - p)``.)
    ``beta -> inf`` turns it into the perceptron loss; see :func:`nll_perceptron_gap`.
    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for any
    positive margin (:func:`margin_condition`).

    Parameters
    ----------
    energies : array_like, shape (N, C) or (C,)
    correct : array_like of int, shape (N,) or scalar
    beta : float, default 1.0
        ``beta > 0``; ``beta = 1`` is the plain softmax loss on the logits ``-E``.

    Returns
    -------
    loss : float
        Mean over the batch.
    grad : ndarray
        ``(onehot(C) - P_beta) / N``.

    Examples
    --------
    The article's example with energies ``E = -logits``: at ``beta = 1`` it is the
    softmax loss.

    >>> import numpy as np, ebm
    >>> from ebm import gibbs
    >>> loss, grad = gibbs.nll_loss(-np.array([1.0, 2.0, 3.0]), 2)
    >>> round(loss, 4), grad.round(4)
    (0.4076, array([-0.09  , -0.2447,  0.3348]))
    """
    from ebm.softmax_loss import softmax_loss_backward, softmax_loss_forward

    beta = _check_beta(beta, positive=True)
    E, c, squeeze = _batch(energies, correct)
    core_loss, prob = softmax_loss_forward(_logits(E, beta), c, axis=1, normalization="valid")
    grad = softmax_loss_backward(prob, c, top_diff=-1.0, axis=1, normalization="valid")
    return core_loss / beta, (grad[0] if squeeze else grad)


#: Every loss functional by name, in the tutorial's order.
LOSSES = {
    "energy": energy_loss,
    "perceptron": perceptron_loss,
    "hinge": hinge_loss,
    "log": log_loss,
    "lvq2": lvq2_loss,
    "mce": mce_loss,
    "square_square": square_square_loss,
    "square_exp": square_exp_loss,
    "nll": nll_loss,
}

#: The parameters each loss takes, with their defaults.
LOSS_PARAMS = {
    "energy": {},
    "perceptron": {},
    "hinge": {"m": 1.0},
    "log": {},
    "lvq2": {"delta": 1.0},
    "mce": {},
    "square_square": {"m": 1.0},
    "square_exp": {"gamma": 1.0},
    "nll": {"beta": 1.0},
}


# --------------------------------------------------------------------------- the margin condition

#: Whether each loss satisfies the tutorial's margin condition (LeCun et al. 2006, section 5,
#: Condition 3 and Table 1): energy, perceptron and LVQ2 do not (no positive margin); the
#: others do (hinge and square-square for margins below their ``m``).
MARGIN_CONDITION = {"energy": False, "perceptron": False, "hinge": True, "log": True, "lvq2": False,
                    "mce": True, "square_square": True, "square_exp": True, "nll": True}


def margin_condition(loss, margin=0.5, *, e_max=6.0, step=0.25, **params):
    r"""The tutorial's margin condition for ``loss`` with two answers, checked on a grid.

    LeCun et al. (2006), Condition 3: with ``E_C`` the correct answer's energy and ``E_I``
    the incorrect one's, the smallest loss where the correct answer wins by more than
    ``margin`` (``E_C + margin < E_I``) must be strictly smaller than the smallest loss
    where it does not (``E_C + margin > E_I``).  A loss that fails it can be as happy with a wrong or
    unseparated answer as with a right one.  Here both minima are taken over a grid of
    ``E_C, E_I`` in ``[0, e_max]`` (energies as distances, >= 0; points a loss refuses,
    such as ``E_I = 0`` for LVQ2, are left out), each point scored by the library's loss
    on that one sample.  ``**params`` go to the loss (e.g. the hinge's own ``m``).

    Returns
    -------
    dict with "loss", "margin", "min_separated" (the minimum over ``E_C + margin < E_I``),
    "min_not_separated" (over ``E_C + margin > E_I``) and "satisfied"
    (``min_separated < min_not_separated``, by more than 1e-9)
    """
    fn = _loss_setup(loss, params, {})
    margin = _nonneg_param(margin, "margin", positive=True)
    e_max = _nonneg_param(e_max, "e_max", positive=True)
    step = _nonneg_param(step, "step", positive=True)
    grid = np.arange(0.0, e_max + step / 2, step)
    best = {True: np.inf, False: np.inf}
    for e_c in grid:
        for e_i in grid:
            gap = e_i - e_c - margin
            if abs(gap) < 1e-9:                          # on the boundary: neither half-plane
                continue
            try:
                value = fn(np.array([e_c, e_i]), 0, **params)[0]
            except ValueError:                           # outside the loss's domain (LVQ2 at E_I = 0)
                continue
            best[gap > 0] = min(best[gap > 0], value)
    return {"loss": loss, "margin": margin, "min_separated": float(best[True]),
            "min_not_separated": float(best[False]),
            "satisfied": bool(best[True] < best[False] - 1e-9)}


# --------------------------------------------------------------------------- experiments


def _betas(betas):
    arr = _checks.as_float_array(betas, "betas").astype(np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError("betas is empty")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        n = int(np.argmax(bad))
        raise ValueError(f"betas[{n}] is {arr[n]}: every beta must be finite and >= 0")
    return arr


def beta_sweep(energies, betas):
    """The Gibbs distribution of one energy vector at each ``beta``.

    Parameters
    ----------
    energies : array_like, shape (C,)
    betas : array_like of float, each >= 0

    Returns
    -------
    ndarray, shape (len(betas), C)
        Row ``n`` is ``gibbs_distribution(energies, betas[n])``.

    Examples
    --------
    >>> from ebm import gibbs
    >>> gibbs.beta_sweep([0.0, 1.0], [0.0, 1e6])
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    E = _finite_energies(energies)
    if E.ndim != 1:
        raise ValueError(f"energies must be one vector (C,), got shape {E.shape}")
    betas = _betas(betas)
    return np.stack([gibbs_distribution(E, b) for b in betas])


def nll_perceptron_gap(energies, correct, betas):
    r"""``NLL_beta - perceptron`` at each ``beta``, with its exact value and its limit.

    With ``E_min`` the lowest energy and ``t`` the number of answers tied there::

        NLL_beta - perceptron = (1/beta) log(t + sum_{E(y) > E_min} exp(-beta (E(y) - E_min)))
                              -> log(t) / beta       (the sum vanishes like exp(-beta gap))

    so the NLL becomes the perceptron loss as ``beta -> inf``, at the rate
    ``log(#ties)/beta`` (faster, like ``exp(-beta gap)/beta``, when the minimum is
    unique).

    Parameters
    ----------
    energies : array_like, shape (C,)
    correct : int
    betas : array_like of float, each > 0

    Returns
    -------
    dict
        ``betas``; ``gap``: NLL_beta - perceptron from the two loss functions;
        ``exact``: the closed form above; ``limit``: ``log(t)/beta``; ``ties``: t.
    """
    E = _finite_energies(energies)
    if E.ndim != 1:
        raise ValueError(f"energies must be one vector (C,), got shape {E.shape}")
    betas = _betas(betas)
    if (betas == 0).any():
        raise ValueError("betas must be > 0: the NLL is not defined at beta = 0")
    perc, _ = perceptron_loss(E, correct)
    gap = np.array([nll_loss(E, correct, b)[0] - perc for b in betas])
    d = E - E.min()
    ties = int(np.count_nonzero(d == 0))
    rest = d[d > 0]
    exact = np.array([np.log(ties + np.exp(-b * rest).sum()) / b for b in betas])
    return {"betas": betas, "gap": gap, "exact": exact, "limit": np.log(ties) / betas, "ties": ties}


def two_class_energies(G, Y):
    r"""Energies ``E(y) = -y G(X)`` of the two answers ``y in (-1, +1)``, and the correct index.

    With this energy, for the correct ``Y``, ``E_C - E_I = -2 Y G``, so

    * the NLL at ``beta = 1`` is ``log(1 + exp(-2 Y G))`` -- logistic regression on
      the score ``2G``;
    * the hinge loss is ``max(0, m - 2 Y G)`` -- a linear SVM's hinge;
    * the log loss equals the NLL here (with two answers, ``E_I`` is the other one).

    Parameters
    ----------
    G : array_like, shape (N,)
        The model's scores ``G(X)``, finite.
    Y : array_like, shape (N,)
        Labels in ``{-1, +1}``.

    Returns
    -------
    energies : ndarray, shape (N, 2)
        Column 0 is the answer ``y = -1``, column 1 the answer ``y = +1``.
    correct : ndarray of int64, shape (N,)
        0 where ``Y = -1``, 1 where ``Y = +1``.

    Examples
    --------
    >>> import numpy as np
    >>> from ebm import gibbs
    >>> E, c = gibbs.two_class_energies([0.5], [1])
    >>> E, c
    (array([[ 0.5, -0.5]]), array([1]))
    >>> bool(np.isclose(gibbs.nll_loss(E, c)[0], np.log1p(np.exp(-2 * 0.5))))
    True
    """
    G = np.atleast_1d(_finite_energies(G, "G"))
    Y = np.atleast_1d(np.asarray(Y))
    if G.ndim != 1:
        raise ValueError(f"G must be a vector of scores (N,), got shape {G.shape}")
    if Y.shape != G.shape:
        raise ValueError(f"Y has shape {Y.shape} but G has shape {G.shape}: they must match")
    if Y.dtype.kind not in "iuf":
        raise TypeError(f"Y must hold the numbers -1 and +1, got dtype {Y.dtype}")
    bad = (Y != 1) & (Y != -1)
    if bad.any():
        n = int(np.argmax(bad))
        raise ValueError(f"Y[{n}] is {Y[n]}: labels must be -1 or +1")
    energies = np.stack([G, -G], axis=1)            # E(-1) = +G, E(+1) = -G
    return energies, (Y == 1).astype(np.int64)


def energy_gaps(table, correct):
    """``E_I - E_C`` per row: how far the most offending bad answer sits above the correct one.

    Positive: the row is classified right with that margin; 0: a tie with a bad
    answer (the energy surface is flat there); negative: wrong.
    """
    E, c, squeeze = _batch(table, correct)
    _, e_i = _offending(E, c)
    gaps = e_i - E[np.arange(E.shape[0]), c]
    return gaps[0] if squeeze else gaps


def train_energy_table(loss, *, n_inputs=6, n_answers=5, steps=300, lr=0.1, init_scale=0.05,
                       seed=0, progress=False, **params):
    r"""Train a free-form energy table ``E[x, y] >= 0`` by projected gradient descent.

    Every entry of the table is its own parameter (no shared weights), and
    energies are kept ``>= 0`` -- energies as distances, with a floor -- by
    clipping after each step::

        E <- max(0, E - lr * N * dL/dE)        (N * dL/dE: the per-sample gradient)

    Input ``x`` has the correct answer ``x mod n_answers``.  The table starts
    nearly flat (uniform in ``[0, init_scale]``), like an untrained model.

    What happens, and under which conditions:

    * **energy** loss: its gradient is exactly 0 at every incorrect entry, so the
      bad answers never move, while ``E_C`` drops to the floor 0.  The loss reaches
      its minimum 0 and the final gaps are just the incorrect entries' initial
      energies: small when the table starts nearly flat, large when it does not
      (``init_scale=2``).  Nothing collapses here -- the loss is merely blind to
      the gaps; with shared parameters (:func:`train_shared_scale`) the same
      blindness does collapse a good table.  Without the floor, ``E_C`` would fall
      without end instead.
    * **hinge**: stops, with zero gradient, exactly when every gap is ``>= m``.
    * **log**, **nll**: never stop pushing; the gaps keep growing (slowly).
    * **perceptron**: stops as soon as ``E_C`` is the minimum: a gap ``>= 0`` but
      no margin.

    Parameters
    ----------
    loss : str
        A key of :data:`LOSSES`.
    n_inputs, n_answers : int
        Table size (``n_answers >= 2``).
    steps : int
        Gradient steps (full batch).
    lr : float
        Step size per sample.
    init_scale : float
        Width of the initial uniform energies (>= 0).
    seed : int or numpy.random.Generator
    progress : bool
    **params
        The loss's parameters (``m``, ``beta``, ...; see :data:`LOSS_PARAMS`).

    Returns
    -------
    dict
        ``initial``, ``final``: the tables (n_inputs, n_answers); ``correct``;
        ``loss``: the loss after each step (steps + 1 values, the first at the
        start); ``gaps``: :func:`energy_gaps` at each of those times, shape
        (steps + 1, n_inputs); ``loss_name``, ``params``.
    """
    fn = _loss_setup(loss, params, {"n_inputs": (n_inputs, 1), "n_answers": (n_answers, 2),
                                    "steps": (steps, 0)})
    lr = _nonneg_param(lr, "lr", positive=True)
    init_scale = _nonneg_param(init_scale, "init_scale")
    rng = np.random.default_rng(seed)
    correct = np.arange(n_inputs) % n_answers
    table = init_scale * rng.random((n_inputs, n_answers))
    initial = table.copy()
    losses = np.empty(steps + 1)
    gaps = np.empty((steps + 1, n_inputs))
    with progress_bar(progress, steps, f"energy table ({loss})") as bar:
        for t in range(steps + 1):
            value, grad = fn(table, correct, **params)
            losses[t] = value
            gaps[t] = energy_gaps(table, correct)
            if t == steps:
                break
            table = np.maximum(table - lr * n_inputs * grad, 0.0)
            bar.update()
    return {"initial": initial, "final": table, "correct": correct, "loss": losses, "gaps": gaps,
            "loss_name": loss, "params": dict(params)}


def _loss_setup(loss, params, sizes):
    """Validate a training run's loss name, its parameters and the integer sizes."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    unknown = set(params) - set(LOSS_PARAMS[loss])
    if unknown:
        raise ValueError(f"{loss} loss takes {sorted(LOSS_PARAMS[loss]) or 'no parameters'}, "
                         f"got {sorted(unknown)}")
    for name, (value, low) in sizes.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    return LOSSES[loss]


def train_shared_scale(loss, *, n_inputs=6, n_answers=5, steps=300, lr=0.1, seed=0, progress=False,
                       **params):
    r"""Train ONE shared parameter: ``E[x, y] = s * D[x, y]`` with a fixed distance table D, ``s >= 0``.

    The opposite extreme to :func:`train_energy_table`: every energy shares the
    scale ``s``.  ``D`` is a *good* table -- the correct answer ``x mod n_answers``
    has distance 0.5 and the others distances in ``[1, 2]`` -- and ``s`` starts at 1,
    so every gap starts at ``>= 0.5``.  Gradient descent on ``s`` (projected to
    ``s >= 0``)::

        dL/ds = sum_{x,y} dL/dE[x, y] * D[x, y];     s <- max(0, s - lr * N * dL/ds)

    * **energy** loss: ``dL/ds = mean D_C = 0.5 > 0`` always, so ``s`` falls to 0 and
      drags every energy with it: the table collapses to 0 **from a good start**
      (every gap ``s (D_I - D_C) -> 0``).  Lowering ``E_C`` lowered the bad answers
      too -- the collapse LeCun warns about for architectures with shared parameters.
    * **hinge**: ``s`` grows until every gap ``s (D_I - D_C) >= m``, then stops.
    * **nll**, **log**: ``s`` keeps growing (the gaps widen without end).

    Parameters
    ----------
    loss : str
        A key of :data:`LOSSES`.
    n_inputs, n_answers, steps : int
    lr : float
        Step size per sample.
    seed : int or numpy.random.Generator
        For the incorrect answers' distances.
    progress : bool
    **params
        The loss's parameters.

    Returns
    -------
    dict
        ``D``, ``correct``, ``scale`` (s after each step, steps + 1 values), ``loss``,
        ``gaps`` (steps + 1, n_inputs), ``initial`` and ``final`` tables, ``loss_name``,
        ``params``.
    """
    fn = _loss_setup(loss, params, {"n_inputs": (n_inputs, 1), "n_answers": (n_answers, 2),
                                    "steps": (steps, 0)})
    lr = _nonneg_param(lr, "lr", positive=True)
    rng = np.random.default_rng(seed)
    correct = np.arange(n_inputs) % n_answers
    D = rng.uniform(1.0, 2.0, size=(n_inputs, n_answers))
    D[np.arange(n_inputs), correct] = 0.5
    s = 1.0
    scale, losses, gaps = np.empty(steps + 1), np.empty(steps + 1), np.empty((steps + 1, n_inputs))
    with progress_bar(progress, steps, f"shared scale ({loss})") as bar:
        for t in range(steps + 1):
            value, grad = fn(s * D, correct, **params)
            scale[t], losses[t], gaps[t] = s, value, energy_gaps(s * D, correct)
            if t == steps:
                break
            s = max(0.0, s - lr * n_inputs * float(np.sum(grad * D)))
            bar.update()
    return {"D": D, "correct": correct, "scale": scale, "loss": losses, "gaps": gaps,
            "initial": D.copy(), "final": scale[-1] * D, "loss_name": loss, "params": dict(params)}
