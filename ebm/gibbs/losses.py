r"""The loss functionals (LeCun et al. 2006, section 2) and their derivatives.

Learning shapes the energy with a *loss functional*.  Every loss here takes a
batch of energy vectors ``energies`` (N, C) and the index ``correct`` (N,) of each
correct answer, and returns ``(loss, d_loss/d_energies)``, where the loss is the
**mean over the batch** and the gradient is that of the mean (each row carries a
factor ``1/N``).  With ``E_C`` the correct answer's energy and ``E_I`` the energy
of the most offending incorrect answer (the lowest one other than ``C``;
the first on a tie, :func:`most_offending`):

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

:data:`LOSSES` maps each name to its function and :data:`LOSS_PARAMS` to its
parameters.  The NLL (also called MMI) comes from the core's softmax-with-loss
with logits ``-beta E``; see :func:`nll_loss` for the chain rule and its scaling.
"""

from __future__ import annotations

import numpy as np

from ebm._checks import check_beta, check_energy_batch, check_float, energy_logits
from ebm._docs import with_sections
from ebm._math import sigmoid, softplus

__all__ = [
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
]

#: The Parameters and Returns every loss shares (:func:`_documented` adds them to its docstring);
#: ``{own}`` is where a loss's own parameter goes.
_SHARED_DOC = """
    Parameters
    ----------
    energies : array_like, shape (N, C) or (C,)
        Finite energies of the C >= 2 answers of each of the N samples; one vector is one sample.
    correct : array_like of int, shape (N,) or scalar
        The index of each sample's correct answer, in ``[0, C)``; a scalar for one vector.{own}

    Returns
    -------
    loss : float
        The per-sample loss, averaged over the batch.
    grad : ndarray of float64, shape (N, C) or (C,)
        ``d loss / d energies``, the shape of ``energies`` (each row carries the mean's ``1/N``).
"""


def _documented(*own):
    """Complete a loss's docstring with :data:`_SHARED_DOC`, before its Examples if it has any.

    ``own`` is empty, or ``(name_and_type, description)`` of the loss's own parameter.
    """
    return with_sections(_SHARED_DOC.format(own=f"\n    {own[0]}\n        {own[1]}" if own else ""))


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
        Finite energies of the C >= 2 answers of each of the N samples; one vector is one sample.
    correct : array_like of int, shape (N,) or scalar
        The index of each sample's correct answer, in ``[0, C)``; a scalar for one vector.

    Returns
    -------
    index : ndarray of int64, shape (N,), or a 0-d array for one vector
        The most offending incorrect answer of each sample.
    E_I : ndarray of float64, shape (N,), or a 0-d array for one vector
        Its energy.

    Examples
    --------
    >>> from ebm import gibbs
    >>> gibbs.most_offending([[0.5, 2.0, 0.1]], [2])
    (array([0]), array([0.5]))
    """
    E, c, squeeze = check_energy_batch(energies, correct)
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


# --------------------------------------------------------------------------- the loss functionals


@_documented()
def energy_loss(energies, correct):
    """The energy loss ``E_C``: push the correct answer down, nothing else.

    Gradient: 1 at the correct answer, 0 at every incorrect one -- the loss has
    no term that raises a bad answer, which is why it can collapse (see
    :func:`train_energy_table`).  Margin condition (LeCun et al. 2006, Condition 3,
    two answers): **not satisfied**; ``E_C = 0`` scores 0 whether or not ``E_I`` is
    above it (:func:`margin_condition`).
    """
    E, c, squeeze = check_energy_batch(energies, correct)
    rows = np.arange(E.shape[0])
    return _out(E[rows, c], _onehots(E, c, c, 1.0, 0.0), squeeze)


@_documented()
def perceptron_loss(energies, correct):
    """The perceptron loss ``E_C - min_y E(y)`` (the minimum includes the correct answer).

    It is >= 0, and 0 whenever the correct answer has the lowest energy -- with no
    margin.  Gradient ``onehot(C) - onehot(argmin)`` (the first argmin on a tie,
    where the loss is not differentiable).

    Margin condition (LeCun et al. 2006, Condition 3, two answers): **not satisfied** --
    any gap ``>= 0`` scores 0, so a margin earns nothing (:func:`margin_condition`).
    """
    E, c, squeeze = check_energy_batch(energies, correct)
    rows = np.arange(E.shape[0])
    j = np.argmin(E, axis=1)
    return _out(E[rows, c] - E[rows, j], _onehots(E, c, j, 1.0, -1.0), squeeze)


@_documented("m : float, default 1.0", "The margin, ``m >= 0``.")
def hinge_loss(energies, correct, m=1.0):
    """The hinge loss ``max(0, m + E_C - E_I)`` with margin ``m >= 0``.

    Zero once the most offending incorrect answer is at least ``m`` above the
    correct one.  Gradient ``onehot(C) - onehot(I)`` where active, 0 elsewhere
    (not differentiable at ``m + E_C - E_I = 0``).

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for
    margins below ``m`` (:func:`margin_condition`).
    """
    m = check_float(m, "m", low=0.0)
    E, c, squeeze = check_energy_batch(energies, correct)
    i, e_i = _offending(E, c)
    z = m + E[np.arange(E.shape[0]), c] - e_i
    active = (z > 0).astype(np.float64)
    return _out(np.maximum(z, 0.0), _onehots(E, c, i, active, -active), squeeze)


@_documented()
def log_loss(energies, correct):
    """The log loss ``log(1 + exp(E_C - E_I))``: a soft hinge with an infinite margin.

    Gradient ``sigmoid(E_C - E_I) (onehot(C) - onehot(I))``; never exactly 0, so it
    keeps pushing the bad answer up (ever more gently).

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for any
    positive margin (:func:`margin_condition`).
    """
    E, c, squeeze = check_energy_batch(energies, correct)
    i, e_i = _offending(E, c)
    d = E[np.arange(E.shape[0]), c] - e_i
    s = sigmoid(d)
    return _out(softplus(d), _onehots(E, c, i, s, -s), squeeze)


@_documented("delta : float, default 1.0", "The scale of the linear part, ``delta > 0``.")
def lvq2_loss(energies, correct, delta=1.0):
    """The LVQ2 loss ``min(1, max(0, (E_C - E_I) / (delta E_I)))``, ``delta > 0``.

    A zero-margin loss that saturates once ``E_C >= (1 + delta) E_I``.  It divides
    by ``E_I``, so it needs ``E_I > 0`` (energies as distances); ValueError
    otherwise.  In the linear part the gradient is ``1/(delta E_I)`` at C and
    ``-E_C/(delta E_I**2)`` at I; 0 where the loss is 0 or saturated.

    Margin condition (LeCun et al. 2006, Condition 3, two answers): **not satisfied** --
    every gap ``>= 0`` scores 0 (:func:`margin_condition`).
    """
    delta = check_float(delta, "delta", low=0.0, low_open=True)
    E, c, squeeze = check_energy_batch(energies, correct)
    i, e_i = _offending(E, c)
    if not (e_i > 0).all():
        n = int(np.argmax(~(e_i > 0)))
        raise ValueError(
            f"lvq2_loss needs E_I > 0 (it divides by it): sample {n}'s most offending "
            f"incorrect answer {int(i[n])} has energy {e_i[n]:g}"
        )
    e_c = E[np.arange(E.shape[0]), c]
    r = (e_c - e_i) / (delta * e_i)
    linear = ((r > 0) & (r < 1)).astype(np.float64)
    return _out(
        np.clip(r, 0.0, 1.0), _onehots(E, c, i, linear / (delta * e_i), -linear * e_c / (delta * e_i**2)), squeeze
    )


@_documented()
def mce_loss(energies, correct):
    """The minimum-classification-error loss ``sigmoid(E_C - E_I)``.

    A smooth count of errors: near 1 for a wrong answer, near 0 for a right one.
    Gradient ``s (1 - s) (onehot(C) - onehot(I))`` with ``s = sigmoid(E_C - E_I)``:
    it vanishes far on either side, so badly wrong samples barely move.

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for any
    positive margin (:func:`margin_condition`).
    """
    E, c, squeeze = check_energy_batch(energies, correct)
    i, e_i = _offending(E, c)
    s = sigmoid(E[np.arange(E.shape[0]), c] - e_i)
    ds = s * (1.0 - s)
    return _out(s, _onehots(E, c, i, ds, -ds), squeeze)


def _check_nonnegative(E, name):
    if (E < 0).any():
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(E < 0)), E.shape))
        raise ValueError(
            f"{name} needs non-negative energies (it squares them as distances): energies{list(pos)} is {E[pos]:g}"
        )


@_documented("m : float, default 1.0", "The energy ``E_I`` is pulled up to, ``m >= 0``.")
def square_square_loss(energies, correct, m=1.0):
    """The square-square loss ``E_C**2 + max(0, m - E_I)**2`` for energies >= 0.

    Pulls ``E_C`` to 0 and ``E_I`` up to ``m``.  Meant for non-negative energies;
    a negative one raises ValueError (for a negative ``E_C`` the square would push
    it *up*).  Gradient ``2 E_C`` at C and ``-2 max(0, m - E_I)`` at I.

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for
    margins below ``m`` (:func:`margin_condition`).
    """
    m = check_float(m, "m", low=0.0)
    E, c, squeeze = check_energy_batch(energies, correct)
    _check_nonnegative(E if not squeeze else E[0], "square_square_loss")
    i, e_i = _offending(E, c)
    e_c = E[np.arange(E.shape[0]), c]
    h = np.maximum(m - e_i, 0.0)
    return _out(e_c**2 + h**2, _onehots(E, c, i, 2.0 * e_c, -2.0 * h), squeeze)


@_documented("gamma : float, default 1.0", "The weight of ``exp(-E_I)``, ``gamma > 0``.")
def square_exp_loss(energies, correct, gamma=1.0):
    """The square-exponential loss ``E_C**2 + gamma exp(-E_I)``, ``gamma > 0``.

    Gradient ``2 E_C`` at C and ``-gamma exp(-E_I)`` at I.  Like square-square it
    is meant for non-negative energies (the square pulls ``E_C`` towards 0);
    ``exp(-E_I)`` must not overflow (``E_I > -709``).

    Margin condition (LeCun et al. 2006, Condition 3, two answers): satisfied for any
    positive margin (:func:`margin_condition`).
    """
    gamma = check_float(gamma, "gamma", low=0.0, low_open=True)
    E, c, squeeze = check_energy_batch(energies, correct)
    i, e_i = _offending(E, c)
    if (e_i < -709).any():
        n = int(np.argmax(e_i < -709))
        raise ValueError(f"square_exp_loss: exp(-E_I) overflows for sample {n} (E_I = {e_i[n]:g})")
    e_c = E[np.arange(E.shape[0]), c]
    g = gamma * np.exp(-e_i)
    return _out(e_c**2 + g, _onehots(E, c, i, 2.0 * e_c, -g), squeeze)


@_documented("beta : float, default 1.0", "``beta > 0``; ``beta = 1`` is the plain softmax loss on the logits ``-E``.")
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

    beta = check_beta(beta, positive=True)
    E, c, squeeze = check_energy_batch(energies, correct)
    core_loss, prob = softmax_loss_forward(energy_logits(E, beta), c, axis=1, normalization="valid")
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


def _loss_named(loss, params):
    """``LOSSES[loss]``: ValueError unless ``loss`` is a key and ``params`` are among its parameters."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    unknown = set(params) - set(LOSS_PARAMS[loss])
    if unknown:
        raise ValueError(f"{loss} loss takes {sorted(LOSS_PARAMS[loss]) or 'no parameters'}, got {sorted(unknown)}")
    return LOSSES[loss]
