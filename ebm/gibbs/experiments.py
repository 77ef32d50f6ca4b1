r"""The chapter's experiments: the NLL's limits and special cases, and "too many bad answers".

* :func:`nll_perceptron_gap` -- the NLL becomes the perceptron loss as ``beta -> inf``,
  at the rate ``log(#ties)/beta``.
* :func:`two_class_energies` -- with two answers and ``E(y) = -y G(X)``, the NLL is
  logistic regression and the hinge loss a linear SVM.
* :func:`train_energy_table` -- which losses keep the bad answers up on a free-form
  table of energies (every entry its own parameter).
* :func:`train_shared_scale` -- the energy loss collapsing a good table whose entries
  share one parameter.

:func:`energy_gaps` measures both trainings: ``E_I - E_C`` per input.
"""

from __future__ import annotations

import numpy as np

from ebm._checks import check_betas, check_energies, check_energy_batch, check_float, check_int
from ebm._progress import progress_bar
from ebm.gibbs.losses import _loss_named, _offending, nll_loss, perceptron_loss

__all__ = ["nll_perceptron_gap", "two_class_energies", "energy_gaps", "train_energy_table", "train_shared_scale"]


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
        Finite energies of the C >= 2 answers of one sample.
    correct : int
        The correct answer, in ``[0, C)``.
    betas : array_like of float, shape (B,)
        Inverse temperatures, each finite and ``> 0`` (any shape is flattened).

    Returns
    -------
    dict
        ``"betas"``, shape (B,); ``"gap"``, shape (B,): NLL_beta - perceptron from the
        two loss functions; ``"exact"``, shape (B,): the closed form above;
        ``"limit"``, shape (B,): ``log(t)/beta``; ``"ties"``: t, an int.

    Examples
    --------
    >>> from ebm import gibbs
    >>> res = gibbs.nll_perceptron_gap([0.0, 0.0, 5.0], 2, [1e6])
    >>> res["ties"], bool(abs(res["gap"][0] - res["limit"][0]) < 1e-12)
    (2, True)
    """
    E = check_energies(energies)
    if E.ndim != 1:
        raise ValueError(f"energies must be one vector (C,), got shape {E.shape}")
    betas = check_betas(betas)
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
    G : array_like, shape (N,) or scalar
        The model's scores ``G(X)``, finite.
    Y : array_like, shape (N,) or scalar
        Labels in ``{-1, +1}``, the shape of ``G``.

    Returns
    -------
    energies : ndarray of float64, shape (N, 2)
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
    G = np.atleast_1d(check_energies(G, "G"))
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
    energies = np.stack([G, -G], axis=1)  # E(-1) = +G, E(+1) = -G
    return energies, (Y == 1).astype(np.int64)


def energy_gaps(table, correct):
    """``E_I - E_C`` per row: how far the most offending bad answer sits above the correct one.

    Positive: the row is classified right with that margin; 0: a tie with a bad
    answer (the energy surface is flat there); negative: wrong.

    Parameters
    ----------
    table : array_like, shape (N, C) or (C,)
        Finite energies of the C >= 2 answers of each of the N inputs.
    correct : array_like of int, shape (N,) or scalar
        The index of each input's correct answer, in ``[0, C)``; a scalar for one vector.

    Returns
    -------
    ndarray of float64, shape (N,), or a 0-d array for one vector
        ``E_I - E_C`` of each input.
    """
    E, c, squeeze = check_energy_batch(table, correct)
    _, e_i = _offending(E, c)
    gaps = e_i - E[np.arange(E.shape[0]), c]
    return gaps[0] if squeeze else gaps


def train_energy_table(
    loss, *, n_inputs=6, n_answers=5, steps=300, lr=0.1, init_scale=0.05, seed=0, progress=False, **params
):
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
        A key of :data:`ebm.gibbs.LOSSES`.
    n_inputs : int, default 6
        The table's rows N, the inputs (``>= 1``).
    n_answers : int, default 5
        The table's columns C, the answers (``>= 2``).
    steps : int, default 300
        Gradient steps, each on the full batch (``>= 0``).
    lr : float, default 0.1
        Step size per sample, ``> 0``.
    init_scale : float, default 0.05
        Width of the initial uniform energies, ``>= 0``.
    seed : int or numpy.random.Generator, default 0
        For the initial table.
    progress : bool, default False
        Draw a progress bar over the steps.
    **params
        The loss's parameters (``m``, ``beta``, ...; see :data:`ebm.gibbs.LOSS_PARAMS`).

    Returns
    -------
    dict
        ``"initial"``, ``"final"``: the tables, shape (N, C); ``"correct"``, shape (N,);
        ``"loss"``, shape (steps + 1,): the loss before the first step and after each;
        ``"gaps"``, shape (steps + 1, N): :func:`energy_gaps` at each of those times;
        ``"loss_name"``, ``"params"``.
    """
    fn = _loss_named(loss, params)
    check_int(n_inputs, "n_inputs")
    check_int(n_answers, "n_answers", 2)
    check_int(steps, "steps", 0)
    lr = check_float(lr, "lr", low=0.0, low_open=True)
    init_scale = check_float(init_scale, "init_scale", low=0.0)
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
    return {
        "initial": initial,
        "final": table,
        "correct": correct,
        "loss": losses,
        "gaps": gaps,
        "loss_name": loss,
        "params": dict(params),
    }


def train_shared_scale(loss, *, n_inputs=6, n_answers=5, steps=300, lr=0.1, seed=0, progress=False, **params):
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
    loss, n_inputs, n_answers, lr, progress, **params
        As in :func:`train_energy_table`: the loss, the table's shape (N, C), the
        step size per sample and the progress bar.
    steps : int, default 300
        Gradient steps on ``s``, each on the full batch (``>= 0``).
    seed : int or numpy.random.Generator, default 0
        For the incorrect answers' distances.

    Returns
    -------
    dict
        ``"D"``, ``"initial"`` (a copy of D, as ``s = 1``) and ``"final"``
        (``s D`` at the end): tables of shape (N, C); ``"correct"``, shape (N,);
        ``"scale"`` and ``"loss"``, shape (steps + 1,): ``s`` and the loss before the
        first step and after each; ``"gaps"``, shape (steps + 1, N); ``"loss_name"``,
        ``"params"``.
    """
    fn = _loss_named(loss, params)
    check_int(n_inputs, "n_inputs")
    check_int(n_answers, "n_answers", 2)
    check_int(steps, "steps", 0)
    lr = check_float(lr, "lr", low=0.0, low_open=True)
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
    return {
        "D": D,
        "correct": correct,
        "scale": scale,
        "loss": losses,
        "gaps": gaps,
        "initial": D.copy(),
        "final": scale[-1] * D,
        "loss_name": loss,
        "params": dict(params),
    }
