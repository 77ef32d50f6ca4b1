"""ebm: energy-based models, from Hopfield 1982 to the softmax, for teaching.

Every chapter of the story ends at the same core, Caffe's softmax-with-loss and
its derivative, computed by Numba kernels (:mod:`ebm.softmax_loss`) and checked
against a plain NumPy reference (:mod:`ebm.reference`).

>>> import numpy as np, ebm
>>> loss, prob = ebm.softmax_loss_forward(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
>>> bottom_diff = ebm.softmax_loss_backward(prob, np.array([2]))

Run ``python -m ebm tour`` for every chapter's demonstration.
"""

from ebm.gradcheck import GradcheckResult, gradcheck, numerical_gradient
from ebm.layers import Softmax, SoftmaxWithLoss
from ebm.softmax_loss import (
    softmax_backward,
    softmax_forward,
    softmax_loss_backward,
    softmax_loss_forward,
)

__version__ = "0.1.0"

__all__ = [
    "softmax_forward",
    "softmax_backward",
    "softmax_loss_forward",
    "softmax_loss_backward",
    "Softmax",
    "SoftmaxWithLoss",
    "gradcheck",
    "numerical_gradient",
    "GradcheckResult",
]
