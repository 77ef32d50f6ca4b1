r"""Hopfield 1982: a network with an energy, and the energy goes down (article §1).

The chapter's story, one module per idea:

1. A state is a vector of ±1 units; how close two are is their overlap.
2. A learning rule turns ``p`` patterns into symmetric weights ``W``: Hebb's
   ``W = (1/N) sum_mu xi^mu xi^mu^T``, Storkey's, or the pseudo-inverse.
3. The network has an energy ``E(s) = -1/2 s^T W s - b^T s``.  When ``W`` is
   symmetric with a non-negative diagonal, every asynchronous flip of a unit lowers
   it by exactly ``2 |h_i|``: recall runs downhill to a fixed point, near a stored
   pattern while the load is small.
4. The source article carries this idea to a labelled unit,
   ``E(x|Label) = -1/2 (W x)(y - label)``, and claims it always decreases; checked,
   it is minus the perceptron criterion, and descending it as written learns the
   wrong answer.
5. Experiments find the edges: counterexamples to descent, the capacity
   ``alpha_c ~ 0.138``, the one-step error ``Phi(-1/sqrt(alpha))``, spurious states.
6. The modern Hopfield network updates ``xi <- X softmax(beta X^T xi)``: one step
   of attention, and retrieval is a softmax-with-loss -- the bridge to the core.

=================================  ==================================================================
:mod:`ebm.hopfield.states`         :func:`to_bipolar`, :func:`overlap`: ±1 states and how close two are
:mod:`ebm.hopfield.rules`          :func:`hebb_weights`, :func:`storkey_weights`, :func:`pseudoinverse_weights`
:mod:`ebm.hopfield.network`        :class:`HopfieldNetwork`: energy, local field, ``run`` (recorded), ``recall`` (Numba)
:mod:`ebm.hopfield.article`        the article's label energy, the perceptron criterion, training on either
:mod:`ebm.hopfield.experiments`    counterexamples, capacity sweep, one-step error, spurious states
:mod:`ebm.hopfield.modern`         the modern network: update, energy, retrieval by the softmax-with-loss core
=================================  ==================================================================

Every public name is also here, so ``from ebm import hopfield as hf; hf.capacity_sweep``
works.

>>> from ebm import hopfield as hf
>>> net = hf.HopfieldNetwork.from_patterns([[1, -1, 1, -1, 1, -1]])
>>> net.run([1, 1, 1, -1, 1, -1], seed=0).final.tolist()
[1, -1, 1, -1, 1, -1]
"""

from __future__ import annotations

from ebm.datasets import random_patterns as random_patterns  # the chapter's random ±1 patterns
from ebm.hopfield.article import label_energy, label_energy_cases, perceptron_criterion, train_label_energy
from ebm.hopfield.experiments import (
    capacity_sweep,
    mixture_state,
    negative_diagonal_counterexample,
    one_step_error,
    pseudoinverse_fixed_points,
    spurious_states,
    theoretical_one_step_error,
    two_cycle_network,
)
from ebm.hopfield.modern import modern_energy, modern_retrieval_loss, modern_update
from ebm.hopfield.network import HopfieldNetwork, Trajectory
from ebm.hopfield.rules import RULES, hebb_weights, pseudoinverse_weights, storkey_weights
from ebm.hopfield.states import overlap, to_bipolar

__all__ = [
    "to_bipolar",
    "overlap",  # states
    "RULES",
    "hebb_weights",
    "storkey_weights",
    "pseudoinverse_weights",  # rules
    "HopfieldNetwork",
    "Trajectory",  # network
    "label_energy",
    "perceptron_criterion",
    "label_energy_cases",
    "train_label_energy",  # article
    "negative_diagonal_counterexample",
    "two_cycle_network",
    "capacity_sweep",  # experiments
    "one_step_error",
    "theoretical_one_step_error",
    "mixture_state",
    "pseudoinverse_fixed_points",
    "spurious_states",
    "modern_update",
    "modern_energy",
    "modern_retrieval_loss",  # modern
]
