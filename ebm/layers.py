"""Caffe-style layer objects: a ``forward`` that keeps what ``backward`` needs.

A Caffe layer is a Forward/Backward pair over blobs.  Forward reads ``bottom``
and writes ``top``; Backward reads ``top_diff`` and writes ``bottom_diff``.  The
objects here wrap the functions of :mod:`ebm.softmax_loss` that way, so a lecture
can write the same two calls a Caffe net makes::

    layer = ebm.SoftmaxWithLoss(ignore_label=255)
    loss = layer.forward(bottom_data, label)   # keeps prob and label
    bottom_diff = layer.backward()              # top_diff = loss weight = 1
"""

from __future__ import annotations

import numpy as np

from ebm import _checks
from ebm.softmax_loss import (
    softmax_backward,
    softmax_forward,
    softmax_loss_backward,
    softmax_loss_forward,
)

__all__ = ["Softmax", "SoftmaxWithLoss"]


class Softmax:
    """Caffe's ``SoftmaxLayer``: ``top_data = softmax(bottom_data)`` along ``axis``.

    Parameters
    ----------
    axis : int, default 1
        The class axis; negative values count from the end.

    Attributes
    ----------
    top_data : ndarray or None
        The layer's own copy of the last forward output, used by :meth:`backward`.
        :meth:`forward` returns a different array, so changing what it returned
        does not change the next :meth:`backward`.
    """

    def __init__(self, axis=1):
        self.axis = _checks.as_axis(axis)  # resolved against ndim in forward
        self.top_data = None

    def __repr__(self):
        return f"Softmax(axis={self.axis})"

    def forward(self, bottom_data):
        """Return ``top_data`` and keep a copy of it for :meth:`backward`."""
        top_data = softmax_forward(bottom_data, self.axis)
        self.top_data = top_data.copy()
        return top_data

    def backward(self, top_diff):
        """Return ``bottom_diff = top_data * (top_diff - <top_data, top_diff>)``."""
        if self.top_data is None:
            raise RuntimeError("Softmax.backward needs top_data: call forward first")
        return softmax_backward(self.top_data, top_diff, self.axis)

    __call__ = forward


class SoftmaxWithLoss:
    """Caffe's ``SoftmaxWithLossLayer``: softmax, then the multinomial logistic loss.

    Parameters
    ----------
    axis : int, default 1
        The class axis.
    ignore_label : int or None
        Positions with this label are skipped.
    normalization : {"valid", "full", "batch_size", "none"} or None, default None
        Caffe's ``LossParameter.normalization``.  ``None`` means "not set": then
        the legacy ``normalize`` decides, and without it the mode is Caffe's
        default, "valid".
    normalize : bool or None
        Caffe's legacy flag, used only when ``normalization`` is not set (as in
        Caffe's ``SoftmaxWithLossLayer::LayerSetUp``): True means "valid", False
        means "batch_size".  An explicit ``normalization`` wins, so
        ``SoftmaxWithLoss(normalization="full", normalize=True)`` is FULL.

    Attributes
    ----------
    normalization : str
        The mode in use, after the rule above.
    prob : ndarray or None
        The softmax of the last forward pass (Caffe's internal ``prob_`` blob).
    label : ndarray or None
        The layer's own copy of the labels of the last forward pass: changing the
        caller's array afterwards does not change :meth:`backward`.
    loss : float or None
    """

    def __init__(self, axis=1, ignore_label=None, normalization=None, *, normalize=None):
        self.axis = _checks.as_axis(axis)  # resolved against ndim in forward
        self.ignore_label = _checks.check_ignore_label(ignore_label)
        if normalize is not None and not isinstance(normalize, (bool, np.bool_)):
            raise TypeError(f"normalize must be True, False or None, got {normalize!r}")
        if normalization is None:
            normalization = "valid" if normalize is None or normalize else "batch_size"
        self.normalization = _checks.check_normalization(normalization)
        self.prob = self.label = self.loss = None

    def __repr__(self):
        return (
            f"SoftmaxWithLoss(axis={self.axis}, ignore_label={self.ignore_label}, normalization={self.normalization!r})"
        )

    def _options(self):
        return dict(axis=self.axis, ignore_label=self.ignore_label, normalization=self.normalization)

    def forward(self, bottom_data, label):
        """Return the loss (a float); keep ``prob`` and a copy of ``label`` for :meth:`backward`."""
        self.loss, self.prob = softmax_loss_forward(bottom_data, label, **self._options())
        self.label = np.array(label, copy=True)
        return self.loss

    def backward(self, top_diff=1.0):
        """Return ``bottom_diff = top_diff * (prob - onehot(label)) / normalizer``."""
        if self.prob is None:
            raise RuntimeError("SoftmaxWithLoss.backward needs prob: call forward first")
        return softmax_loss_backward(self.prob, self.label, top_diff=top_diff, **self._options())

    __call__ = forward
