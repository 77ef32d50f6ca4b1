r"""The source article's label energy (article §1, ``docs/article.md``), checked claim by claim.

The article defines, for a linear unit ``W`` with output ``y = sign(W x)``::

    E(x|Label) = -1/2 (W x) (y - label)

and claims it "always decreases".  What is true: with labels in {-1, +1}, E is 0 on
a right answer and ``-|W x|`` on a wrong one, so ``E <= 0`` always -- it is *minus*
the perceptron criterion ``sum_errors |W x|`` (:func:`perceptron_criterion`).  The
article sorts the samples into three cases (:func:`label_energy_cases`)::

    I:   y = +1, label -1    dY = y - label = +2    dY * E = -2 |W x| < 0
    II:  y = -1, label +1    dY = -2                dY * E = +2 |W x| > 0   (not "again negative")
    III: right               dY = 0                 E = 0

Descending E as written moves W towards the wrong answer (E does fall, without
bound, while the errors grow); descending ``+1/2 (W x)(y - label)`` is the
perceptron rule ``W += eta/2 (label - y) x`` (:func:`train_label_energy` runs both).
"""

from __future__ import annotations

import numpy as np

__all__ = ["label_energy", "perceptron_criterion", "label_energy_cases", "train_label_energy"]


def _label_inputs(W, x, label):
    """Validate ``W`` (n_in,) or (n_out, n_in), ``x`` (n_in,) or (M, n_in) and ±1 labels shaped like ``W x``.

    Returns ``W``, ``x``, ``W x`` and the labels, all float64.
    """
    W = np.asarray(W, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if W.ndim not in (1, 2):
        raise ValueError(f"W must be a weight vector (n_in,) or matrix (n_out, n_in), got shape {W.shape}")
    n_in = W.shape[-1]
    if x.ndim not in (1, 2) or x.shape[-1] != n_in:
        raise ValueError(f"x must have shape ({n_in},) or (M, {n_in}) to match W {W.shape}, got {x.shape}")
    if not (np.isfinite(W).all() and np.isfinite(x).all()):
        raise ValueError("W and x must be finite")
    wx = x @ W.T  # (M,) or (M, n_out)
    lab = np.asarray(label)
    if W.ndim == 2 and W.shape[0] == 1 and lab.shape == wx.shape[:-1]:
        lab = lab[..., None]  # one output row: a label per sample is enough
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
    label : array_like of ±1, shape of ``W x``: (), (M,), (n_out,) or (M, n_out)
        With one output row, ``W`` of shape (1, n_in), one label per sample
        (shape (M,), or a scalar for one sample) is accepted too.

    Returns
    -------
    float or ndarray of float64, shape (M,)
        One energy per sample (summed over outputs).  It is 0 on a right answer and
        ``-|W x|`` on a wrong one: never positive (article §1).

    Raises
    ------
    ValueError
        If the shapes do not match, ``W`` or ``x`` is not finite, or a label is not
        -1 or +1.
    """
    _, _, wx, lab = _label_inputs(W, x, label)
    e = -0.5 * wx * (_sign(wx) - lab)
    if e.ndim == 2:
        e = e.sum(axis=-1)
    return float(e) if np.ndim(e) == 0 else e


def perceptron_criterion(W, x, label):
    """``sum over wrong outputs of |W x|`` per sample: Rosenblatt's criterion, ``>= 0``.

    It equals ``-label_energy(W, x, label)``: the article's energy is its negative.

    Parameters
    ----------
    W, x, label
        As in :func:`label_energy`.

    Returns
    -------
    float or ndarray of float64, shape (M,)
        One value per sample (summed over outputs).

    Raises
    ------
    ValueError
        As :func:`label_energy`.
    """
    _, _, wx, lab = _label_inputs(W, x, label)
    e = np.where(_sign(wx) != lab, np.abs(wx), 0.0)
    if e.ndim == 2:
        e = e.sum(axis=-1)
    return float(e) if np.ndim(e) == 0 else e


def label_energy_cases(W, x, label):
    """Sort samples into the article's three cases and report the sign of E in each.

    Parameters
    ----------
    W : array_like, shape (n_in,) or (1, n_in)
        One output unit's weights.
    x : array_like, shape (n_in,) or (M, n_in)
    label : array_like of ±1, shape () or (M,)

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

    Raises
    ------
    ValueError
        If ``W`` has more than one output row, or as :func:`label_energy`.
    """
    W, x, wx, lab = _label_inputs(W, x, label)
    if wx.ndim == 2 and wx.shape[1] == 1:  # W of shape (1, n_in): one output unit
        wx, lab = wx[:, 0], lab[:, 0]
    elif wx.ndim == 2 or (W.ndim == 2 and W.shape[0] != 1):
        raise ValueError(
            f"label_energy_cases takes a single output unit: W of shape (n_in,) or (1, n_in), got {W.shape}"
        )
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


def train_label_energy(x, label, rule="perceptron", epochs=20, lr=0.1, seed=None, W0=None, return_energy=False):
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
    rule : {"perceptron", "article"}, default "perceptron"
    epochs : int, default 20
    lr : float, default 0.1
    seed : int or numpy.random.Generator, optional
        The initial ``W`` (when ``W0`` is None) and the sample order.
    W0 : array_like, shape (n_in,), optional
        The initial weights (copied); default ``N(0, 0.1^2)`` draws.
    return_energy : bool, default False
        Also return the total label energy ``sum_n E(x_n|label_n)`` per epoch.

    Returns
    -------
    W : ndarray of float64, shape (n_in,)
        The final weights.
    errors : ndarray of int, shape (epochs + 1,)
        Misclassified samples before training and after each epoch.
    energy : ndarray of float64, shape (epochs + 1,)
        Only with ``return_energy=True``: the total label energy at the same points.

    Raises
    ------
    ValueError
        If ``rule`` is unknown, ``epochs`` is not a non-negative integer, ``lr`` is
        not a positive finite number, ``x`` is not (M, n_in), or ``W0`` and
        ``label`` do not match it (as :func:`label_energy`).
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
    _label_inputs(W, x, label)  # validates shapes and labels
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
