r"""Energy-based models (LeCun et al. 2006, article §4): the Gibbs distribution and the loss functionals.

An energy-based model scores every answer ``y`` to an input ``x`` with an energy
``E(y, x)``, and inference picks the lowest.  The chapter follows the tutorial in
four steps, one module each (read them in this order):

=================================  ====================================================
:mod:`ebm.gibbs.distribution`      energies become probabilities: the Gibbs distribution
                                   ``softmax(-beta E)`` through the core, its limits in
                                   ``beta``, and the free energy
:mod:`ebm.gibbs.losses`            learning shapes the energy: nine loss functionals with
                                   their derivatives (:data:`LOSSES`), the NLL among them
:mod:`ebm.gibbs.margin`            which of them reward a margin: the tutorial's
                                   Condition 3 and Table 1
:mod:`ebm.gibbs.experiments`       the NLL becoming the perceptron, logistic regression
                                   and the SVM with two answers, and energy tables
                                   trained by each loss ("too many bad answers")
=================================  ====================================================

It ends where the next chapter begins: at ``beta = 1`` the Gibbs distribution is the
core's softmax of the logits ``-E``, and the NLL loss is its softmax-with-loss.

Every public name is also available here, as ``ebm.gibbs.<name>``.

>>> import numpy as np
>>> from ebm import gibbs
>>> E = np.array([[1.0, 0.3, 2.0]])
>>> gibbs.gibbs_distribution(E, beta=1e6)                 # the argmin, as beta -> inf
array([[0., 1., 0.]])
>>> loss, grad = gibbs.LOSSES["hinge"](E, [1])            # E_I - E_C = 0.7 < m = 1: still active
>>> round(loss, 6), grad
(0.3, array([[-1.,  1.,  0.]]))
"""

from __future__ import annotations

from ebm.gibbs import distribution, experiments, losses, margin
from ebm.gibbs.distribution import beta_sweep, free_energy, gibbs_distribution
from ebm.gibbs.experiments import (
    energy_gaps,
    nll_perceptron_gap,
    train_energy_table,
    train_shared_scale,
    two_class_energies,
)
from ebm.gibbs.losses import (
    LOSS_PARAMS,
    LOSSES,
    energy_loss,
    hinge_loss,
    log_loss,
    lvq2_loss,
    mce_loss,
    most_offending,
    nll_loss,
    perceptron_loss,
    square_exp_loss,
    square_square_loss,
)
from ebm.gibbs.margin import MARGIN_CONDITION, margin_condition

__all__ = [*distribution.__all__, *losses.__all__, *margin.__all__, *experiments.__all__]
