"""ebm: energy-based models, from Hopfield 1982 to the softmax, for teaching.

Every chapter of the story ends at the same core, Caffe's softmax-with-loss and
its derivative, computed by Numba kernels (:mod:`ebm.softmax_loss`) and checked
against a plain NumPy reference (:mod:`ebm.reference`).

>>> import numpy as np, ebm
>>> loss, prob = ebm.softmax_loss_forward(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
>>> bottom_diff = ebm.softmax_loss_backward(prob, np.array([2]))

``import ebm`` is cheap: every submodule (``ebm.hopfield``, ``ebm.reference``,
``ebm.plotting``, ...) is imported on first attribute access (PEP 562), so numba
loads with the first kernel and matplotlib with the first figure.

Run ``python -m ebm tour`` for every chapter's demonstration.
"""

from __future__ import annotations

import importlib
import pkgutil

from ebm import _numba_cache

# ``ebm.gradcheck`` is the function (its module is ebm.gradient_check: no attribute of the
# package hides a submodule).  It needs only NumPy.
from ebm.gradient_check import GradcheckResult, gradcheck, numerical_gradient

_numba_cache.configure()  # a read-only install still gets a writable JIT cache (os and sys only)

__version__ = "0.1.0"

#: Top-level names and the submodule that defines each (imported on first use).
_LAZY_NAMES = {
    "softmax_forward": "ebm.softmax_loss",
    "softmax_backward": "ebm.softmax_loss",
    "softmax_loss_forward": "ebm.softmax_loss",
    "softmax_loss_backward": "ebm.softmax_loss",
    "Softmax": "ebm.layers",
    "SoftmaxWithLoss": "ebm.layers",
}

__all__ = [*_LAZY_NAMES, "gradcheck", "numerical_gradient", "GradcheckResult"]


def _submodules():
    """The package's public submodules and subpackages (a directory listing, no imports)."""
    return {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}


def __getattr__(name):
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    elif not name.startswith("_") and name in _submodules():
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'ebm' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES) | _submodules())
