r"""The tutorial's margin condition: which losses reward a correct answer that wins by a margin.

LeCun et al. (2006), section 5, Condition 3, for two answers: with ``E_C`` the correct
answer's energy and ``E_I`` the incorrect one's, a loss satisfies the condition for a
margin ``m`` when::

    min { L(E_C, E_I) : E_C + m < E_I }   <   min { L(E_C, E_I) : E_C + m > E_I }

the smallest loss where the correct answer wins by more than ``m`` is strictly smaller
than the smallest loss where it does not.  A loss that fails it can be as happy with a
wrong or unseparated answer as with a right one.  :data:`MARGIN_CONDITION` is the
tutorial's Table 1; :func:`margin_condition` checks it on a grid with the library's own
losses.
"""

from __future__ import annotations

import numpy as np

from ebm._checks import check_float
from ebm.gibbs.losses import _loss_named

__all__ = ["margin_condition", "MARGIN_CONDITION"]

#: Whether each loss satisfies the tutorial's margin condition (LeCun et al. 2006, section 5,
#: Condition 3 and Table 1): energy, perceptron and LVQ2 do not (no positive margin); the
#: others do (hinge and square-square for margins below their ``m``).
MARGIN_CONDITION = {
    "energy": False,
    "perceptron": False,
    "hinge": True,
    "log": True,
    "lvq2": False,
    "mce": True,
    "square_square": True,
    "square_exp": True,
    "nll": True,
}


def margin_condition(loss, margin=0.5, *, e_max=6.0, step=0.25, **params):
    r"""The tutorial's margin condition for ``loss`` with two answers, checked on a grid.

    Both minima of the condition are taken over a grid of ``E_C, E_I`` in
    ``[0, e_max]`` (energies as distances, >= 0; points a loss refuses, such as
    ``E_I = 0`` for LVQ2, are left out), each point scored by the library's loss on
    that one sample (energies of shape (2,), the correct answer first).  Points on
    the boundary ``E_C + margin = E_I`` belong to neither side.

    Parameters
    ----------
    loss : str
        A key of :data:`ebm.gibbs.LOSSES`.
    margin : float, default 0.5
        The margin ``m > 0`` the correct answer must win by.
    e_max : float, default 6.0
        The grid's largest energy, ``> 0``.
    step : float, default 0.25
        The grid's spacing, ``> 0``: ``(e_max / step + 1)**2`` points are scored.
    **params
        The loss's own parameters (e.g. the hinge's ``m``; see :data:`ebm.gibbs.LOSS_PARAMS`).

    Returns
    -------
    dict
        ``"loss"``, ``"margin"``; ``"min_separated"``, the minimum over
        ``E_C + margin < E_I``; ``"min_not_separated"``, over ``E_C + margin > E_I``
        (floats); and ``"satisfied"``, ``min_separated < min_not_separated`` by more
        than 1e-9.

    Examples
    --------
    >>> from ebm import gibbs
    >>> gibbs.margin_condition("hinge")["satisfied"], gibbs.margin_condition("perceptron")["satisfied"]
    (True, False)
    """
    fn = _loss_named(loss, params)
    margin = check_float(margin, "margin", low=0.0, low_open=True)
    e_max = check_float(e_max, "e_max", low=0.0, low_open=True)
    step = check_float(step, "step", low=0.0, low_open=True)
    grid = np.arange(0.0, e_max + step / 2, step)
    best = {True: np.inf, False: np.inf}
    for e_c in grid:
        for e_i in grid:
            gap = e_i - e_c - margin
            if abs(gap) < 1e-9:  # on the boundary: neither half-plane
                continue
            try:
                value = fn(np.array([e_c, e_i]), 0, **params)[0]
            except ValueError:  # outside the loss's domain (LVQ2 at E_I = 0)
                continue
            best[gap > 0] = min(best[gap > 0], value)
    return {
        "loss": loss,
        "margin": margin,
        "min_separated": float(best[True]),
        "min_not_separated": float(best[False]),
        "satisfied": bool(best[True] < best[False] - 1e-9),
    }
