r"""Restricted Boltzmann machines (article §3): the partition function made concrete.

PyDeep's split, one module per job:

==============================  ==========================================================
:mod:`ebm.rbm.model`            :class:`RBM`: energy, free energy, conditionals, likelihoods
:mod:`ebm.rbm.samplers`         block Gibbs sampling (a Numba kernel, seeded inside)
:mod:`ebm.rbm.trainer`          CD-k / PCD-k with momentum (:meth:`RBM.fit`)
:mod:`ebm.rbm.partition`        exact log Z by enumeration; the joint softmax
:mod:`ebm.rbm.ais`              annealed importance sampling: log Z estimated past enumeration
:mod:`ebm.rbm.classrbm`         :class:`ClassRBM`: ``p(y|x) = softmax_y(-F(x, y))`` by the core
:mod:`ebm.rbm.benchmark`        timings (training beside scikit-learn, exact log Z, the 2^n
                                wall) and the independent-pixel baseline
==============================  ==========================================================

>>> from ebm.rbm import RBM
>>> from ebm.datasets import load_digits
>>> X_train, X_test, y_train, y_test = load_digits()
>>> rbm = RBM(64, 16).fit(X_train, epochs=2, seed=0)
>>> bool(rbm.log_likelihood(X_test).mean() > -44.37)      # better than uniform: 64 ln 2 nats
True
"""

from __future__ import annotations

from ebm._math import sigmoid, softplus
from ebm._states import MAX_ENUMERATED_UNITS, all_states
from ebm.rbm.ais import AISEstimate, annealed_distribution, base_rate_biases, log_partition_ais
from ebm.rbm.classrbm import ClassRBM
from ebm.rbm.model import RBM
from ebm.rbm.partition import joint_distribution, joint_energies, log_partition_exact, visible_distribution
from ebm.rbm.trainer import TrainingHistory

__all__ = [
    "RBM",
    "ClassRBM",
    "AISEstimate",
    "TrainingHistory",
    "MAX_ENUMERATED_UNITS",
    "all_states",
    "annealed_distribution",
    "base_rate_biases",
    "joint_distribution",
    "joint_energies",
    "log_partition_ais",
    "log_partition_exact",
    "visible_distribution",
    "sigmoid",
    "softplus",
]
