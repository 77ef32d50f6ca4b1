r"""Figures for the Hopfield chapter and lecture (article §1), one module per idea.

The numbers all come from :mod:`ebm.hopfield`; these functions only draw, and
**return** the figure.

=========================================  ======================================================
:mod:`ebm.plotting.hopfield.article`       the article's label energy: its sign by case, training on it
:mod:`ebm.plotting.hopfield.recall`        energy descent, the step-through of recall, the recall grid
:mod:`ebm.plotting.hopfield.capacity`      the capacity curve and the one-step error
=========================================  ======================================================

* :func:`plot_label_energy_cases` -- the article's label energy against ``W x``, case
  by case: ``E = 0`` or ``-|W x|``, never positive.
* :func:`plot_label_energy_training` -- E and the error count per epoch: under the
  article's rule E falls without bound while the errors grow.
* :func:`plot_energy_descent` -- ``E(s)`` along asynchronous recall, one flip a step.
* :func:`animate_recall` -- the same, as a step-through of the state grid.
* :func:`plot_recall_grid` -- patterns / noisy probes / recalled states.
* :func:`plot_capacity` -- final overlap against the load, with ``alpha_c = 0.138``.
* :func:`plot_one_step_error` -- ``Phi(-1/sqrt(alpha))`` against measured bit errors.
"""

from __future__ import annotations

from ebm.plotting.hopfield.article import CASE_COLOURS as CASE_COLOURS
from ebm.plotting.hopfield.article import plot_label_energy_cases, plot_label_energy_training
from ebm.plotting.hopfield.capacity import plot_capacity, plot_one_step_error
from ebm.plotting.hopfield.recall import animate_recall, plot_energy_descent, plot_recall_grid

__all__ = [
    "plot_energy_descent",
    "animate_recall",
    "plot_capacity",
    "plot_one_step_error",
    "plot_recall_grid",
    "plot_label_energy_cases",
    "plot_label_energy_training",
]
