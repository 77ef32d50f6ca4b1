"""One stochastic unit: the temperature sigmoid, its T -> 0 limit, and the bridge into the core.

``P(s_k = 1) = sigma(dE_k / T)``.  The sigmoid is a 2-way softmax over the unit's
two states (off: logit 0, on: logit ``dE_k / T``), so :func:`ebm.softmax_forward`
computes it, and the logistic loss is the 2-class softmax-with-loss.
"""

from __future__ import annotations

import numpy as np

from ebm._checks import check_binary, check_real_array, check_temperature
from ebm._math import sigmoid, softplus

# --------------------------------------------------------------------------- one stochastic unit


def unit_probability(net_input, T=1.0):
    """``P(s = 1) = 1 / (1 + exp(-net / T))``, to full relative precision.

    For ``z = net/T >= 0`` it computes ``1 / (1 + exp(-z))``; for ``z < 0``,
    ``exp(z) / (1 + exp(z))``, so neither branch overflows and a tiny probability
    keeps its relative precision (``net = -1000, T = 0.25`` gives ``exp(-4000)``,
    which rounds to 0.0 in float64 -- the correctly rounded answer).

    Parameters
    ----------
    net_input : float or array_like
        The energy gap ``dE_k = sum_j W_kj s_j - theta_k`` (the article's ``W x + b``).
    T : float > 0, default 1.0
        The temperature.  ``T <= 0`` raises; the ``T -> 0`` limit is
        :func:`deterministic_unit`.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from ebm.boltzmann import unit_probability
    >>> round(unit_probability(1.0), 6), round(unit_probability(1.0, T=10), 6)
    (0.731059, 0.524979)
    """
    T = check_temperature(T)
    z = check_real_array(net_input, "net_input", allow_inf=True) / T
    out = sigmoid(z)
    return float(out) if out.ndim == 0 else out


def deterministic_unit(net_input):
    """The ``T -> 0`` limit of :func:`unit_probability`: 1 if ``net > 0``, 0 if ``net < 0``.

    At ``net = 0`` the limit is 1/2 (the unit is undecided at every temperature);
    Hopfield's update keeps the old state there instead.

    Parameters
    ----------
    net_input : float or array_like of any shape
        The energy gap ``dE_k``.

    Returns
    -------
    float or ndarray of float64, the shape of ``net_input``
        1.0, 0.0 or 0.5: floats, so the limit can be compared with probabilities.
    """
    z = check_real_array(net_input, "net_input", allow_inf=True)
    out = np.where(z > 0, 1.0, np.where(z < 0, 0.0, 0.5))
    return float(out) if out.ndim == 0 else out


def _two_way_logits(net_input, T):
    z = check_real_array(net_input, "net_input", allow_inf=True) / T
    if not np.isfinite(z).all():
        raise ValueError("net_input / T must be finite for the softmax bridge")
    flat = z.reshape(-1)
    return z, np.stack([np.zeros_like(flat), flat], axis=1)  # (M, 2): off, on


def unit_probability_via_softmax(net_input, T=1.0):
    """The same ``P(s = 1)``, computed by the core: ``softmax_forward([0, net/T])[1]``.

    A unit has two states.  Off has energy gap 0, on has gap ``net``; the
    Boltzmann distribution over the two is a softmax of ``[0, net/T]`` and its
    second entry is ``exp(z) / (1 + exp(z)) = sigma(z)``.  Holds for every finite
    ``net / T``.

    Parameters
    ----------
    net_input : float or array_like of any shape
        The energy gap ``dE_k``; ``net_input / T`` must be finite.
    T : float > 0, default 1.0

    Returns
    -------
    float or ndarray of float64, the shape of ``net_input``
    """
    from ebm.softmax_loss import softmax_forward

    T = check_temperature(T)
    z, logits = _two_way_logits(net_input, T)
    p = softmax_forward(logits, axis=1)[:, 1].reshape(z.shape)
    return float(p) if p.ndim == 0 else p


def logistic_loss(z, label=1):
    """``-log P(label)`` of a unit with logit ``z``: ``softplus(z) - label * z``.

    For ``label = 1`` it is ``log(1 + exp(-z))``; its derivative is
    ``sigma(z) - label``.  Computed stably (``log1p`` of ``exp(-|z|)``).

    Parameters
    ----------
    z : float or array_like of any shape
        The logit (``net / T``).
    label : 0 or 1, or array_like of 0/1 broadcastable to ``z``, default 1
        The unit's target state.

    Returns
    -------
    loss : numpy.float64 or ndarray of float64, the shape of ``z``
        Per element (not summed).
    grad : numpy.float64 or ndarray of float64, the shape of ``z``
        ``d loss / d z = sigma(z) - label``.
    """
    z = check_real_array(z, "z", allow_inf=True)
    y = check_real_array(label, "label", allow_inf=True)
    if ((y != 0) & (y != 1)).any():
        raise ValueError(f"label must be 0 or 1, got {np.unique(y).tolist()}")
    y = np.broadcast_to(y, z.shape)
    return softplus(z) - y * z, sigmoid(z) - y


def logistic_loss_via_core(z, label, *, loss_weight=1.0, normalization="none"):
    """The logistic loss as the core's 2-class softmax-with-loss, with its derivative.

    The logits of sample ``m`` are ``[0, z_m]`` (class 0: off, class 1: on) and the
    label is the unit's target state.  The loss is
    :func:`ebm.softmax_loss_forward` and ``d loss / d z`` is column 1 of
    :func:`ebm.softmax_loss_backward` (the constant 0 logit takes no gradient).

    With ``normalization="none"`` the loss is ``sum_m softplus(z_m) - label_m z_m``
    and the gradient ``loss_weight * (sigma(z) - label)``: as in Caffe, the loss
    weight is the ``top_diff`` that scales the backward pass only (the returned loss
    is unweighted).  ``"valid"`` divides both by the number of samples.  Check the
    gradient with ``normalization="none"`` and a loss weight: averaged over many
    samples every element falls under the floor of 1 in Caffe's gradient-check rule,
    and even half the gradient would pass.

    Parameters
    ----------
    z : float or array_like of any shape
        The logits, finite.
    label : 0 or 1, or array_like of 0/1 broadcastable to ``z``
    loss_weight : float, default 1.0
        The ``top_diff`` of the backward pass.
    normalization : {"none", "valid", "batch_size", "full"}, default "none"
        Passed to the core.

    Returns
    -------
    loss : float
    grad : ndarray of float64, the shape of ``z``
    """
    from ebm.softmax_loss import softmax_loss_backward, softmax_loss_forward

    zz, logits = _two_way_logits(z, 1.0)
    lab = np.asarray(label)
    if lab.shape != zz.shape:
        lab = np.broadcast_to(lab, zz.shape)
    lab = check_binary(lab.reshape(-1, 1), 1, "label", np.int64).reshape(-1)
    loss, prob = softmax_loss_forward(logits, lab, axis=1, normalization=normalization)
    bottom_diff = softmax_loss_backward(prob, lab, top_diff=loss_weight, axis=1, normalization=normalization)
    return loss, bottom_diff[:, 1].reshape(zz.shape)
