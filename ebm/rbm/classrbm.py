r"""The bridge: the discriminative RBM, whose ``p(y|x)`` is a softmax over free energies.

Larochelle & Bengio (2008) add a one-hot label layer ``y`` (C classes) to an RBM::

    E(x, y, h) = -b^T x - c^T h - d^T y - x^T W h - y^T U h        (U: C x n_h)
    F(x, y)    = -b^T x - d_y - sum_j softplus(c_j + (x^T W)_j + U_yj)
    p(y | x)   = exp(-F(x, y)) / sum_y' exp(-F(x, y')) = softmax_y(-F(x, y))

The sum over the C labels is tiny, so ``p(y|x)`` is exact: it *is* the source article's
partition-function form, ``P = exp(-E) / Z``, with the energies being free energies.  In
this module the logits ``bottom_data = -F(x, .)`` (shape (N, C)) go through the core's
:func:`ebm.softmax_loss_forward`; its ``bottom_diff = (prob - onehot(label)) / N`` is
carried back to the parameters by the chain rule (``d softplus = sigmoid``)::

    o_nyj = c_j + (x_n^T W)_j + U_yj,  s = sigmoid(o),  g_nyj = bottom_diff_ny * s_nyj
    dL/dd_y = sum_n bottom_diff_ny     dL/dU_yj = sum_n g_nyj     dL/dc_j = sum_ny g_nyj
    dL/dW_ij = sum_n x_ni sum_y g_nyj  dL/db = 0   (b^T x is the same for every y: it cancels)

``fit`` minimises this discriminative loss (the negative conditional log-likelihood) by
minibatch gradient descent with momentum.
"""

from __future__ import annotations

import numpy as np

from ebm._checks import as_rng, binary_rows, check_float, check_int, check_real_array
from ebm._docs import with_sections
from ebm._math import sigmoid, softplus
from ebm.rbm.trainer import TrainingHistory, minibatch_epochs

__all__ = ["ClassRBM"]

_PARAMS = ("W", "U", "b", "c", "d")


def _per_row(returns, note):
    """Parameters and Returns of a method that gives ``returns`` for the rows of ``X``."""
    return f"""
    Parameters
    ----------
    X : array_like of 0/1, shape (n_visible,) or (n_samples, n_visible)
        One sample or one per row (a 1-D ``X`` counts as one row).

    Returns
    -------
    {returns}
        {note}
    """


_LABEL_SCORES = "ndarray of float64, shape (n_samples, n_classes)"


class ClassRBM:
    """A discriminative RBM: binary inputs, a hidden layer, a softmax label layer.

    Parameters
    ----------
    n_visible, n_hidden, n_classes : int
    seed : int or numpy.random.Generator, optional
        Draws ``W`` and ``U`` from N(0, 0.01^2); biases start at 0.  :meth:`fit`
        re-initialises from its own seed unless ``warm_start=True``.

    Attributes
    ----------
    W : ndarray (n_visible, n_hidden)
    U : ndarray (n_classes, n_hidden)
    b : ndarray (n_visible,)
    c : ndarray (n_hidden,)
    d : ndarray (n_classes,)
    history_ : TrainingHistory
        After :meth:`fit`: per-epoch ``"epoch"`` (0 is before training), ``"seconds"``,
        ``"loss"``, and ``"eval_accuracy"`` with ``eval_data``.
    """

    def __init__(self, n_visible, n_hidden, n_classes, seed=None):
        self.n_visible = check_int(n_visible, "n_visible")
        self.n_hidden = check_int(n_hidden, "n_hidden")
        self.n_classes = check_int(n_classes, "n_classes", low=2)
        self._init(as_rng(seed))

    def _init(self, rng, scale=0.01):
        self.W = rng.normal(0.0, scale, size=(self.n_visible, self.n_hidden))
        self.U = rng.normal(0.0, scale, size=(self.n_classes, self.n_hidden))
        self.b = np.zeros(self.n_visible)
        self.c = np.zeros(self.n_hidden)
        self.d = np.zeros(self.n_classes)

    def __repr__(self):
        return f"ClassRBM(n_visible={self.n_visible}, n_hidden={self.n_hidden}, n_classes={self.n_classes})"

    def _shapes(self):
        return {
            "W": (self.n_visible, self.n_hidden),
            "U": (self.n_classes, self.n_hidden),
            "b": (self.n_visible,),
            "c": (self.n_hidden,),
            "d": (self.n_classes,),
        }

    def _params(self):
        return {k: check_real_array(getattr(self, k), k, s) for k, s in self._shapes().items()}

    def _labels(self, y, n):
        arr = np.asarray(y)
        if arr.dtype.kind not in "iuf" or arr.shape != (n,):
            raise ValueError(
                f"y must be {n} integer class labels (one per row of X), got shape {arr.shape} and dtype {arr.dtype}"
            )
        bad = (arr < 0) | (arr >= self.n_classes) | (arr != np.round(arr))
        if bad.any():
            pos = int(np.argmax(bad))
            raise ValueError(f"y[{pos}] is {arr[pos]}: labels must be integers in [0, {self.n_classes})")
        return arr.astype(np.int64)

    # ------------------------------------------------------------------ the forward pass

    def _hidden_inputs(self, X, p):
        """``o[n, y, j] = c_j + (x_n^T W)_j + U_yj``, shape (N, C, n_h)."""
        return (p["c"] + X @ p["W"])[:, None, :] + p["U"][None, :, :]

    @with_sections(_per_row(_LABEL_SCORES, "One row per row of ``X``, one column per label."))
    def free_energy(self, X):
        """``F(x, y)`` for every row of ``X`` and every label."""
        p = self._params()
        X, _ = binary_rows(X, self.n_visible, "X")
        return -(X @ p["b"])[:, None] - p["d"][None, :] - softplus(self._hidden_inputs(X, p)).sum(axis=2)

    @with_sections(_per_row(_LABEL_SCORES, "Minus :meth:`free_energy`."))
    def logits(self, X):
        """``bottom_data = -F(x, y)``: the logits the core normalises."""
        return -self.free_energy(X)

    @with_sections(_per_row(_LABEL_SCORES, "Each row sums to 1."))
    def predict_proba(self, X):
        """``p(y | x) = softmax_y(-F(x, y))``, computed by :func:`ebm.softmax_forward`."""
        import ebm

        return ebm.softmax_forward(self.logits(X), axis=1)

    @with_sections(
        _per_row("ndarray of int64, shape (n_samples,)", "Labels in ``[0, n_classes)``; ties go to the lowest label.")
    )
    def predict(self, X):
        """The most probable label of each row (the lowest free energy)."""
        return np.argmax(self.logits(X), axis=1)

    def score(self, X, y):
        """Accuracy on ``(X, y)``.

        Parameters
        ----------
        X : array_like of 0/1, shape (n_samples, n_visible)
        y : array_like of int, shape (n_samples,)
            Labels in ``[0, n_classes)``.

        Returns
        -------
        float
            The fraction of rows whose predicted label is ``y``, in [0, 1].
        """
        X, _ = binary_rows(X, self.n_visible, "X", allow_1d=False)
        return float(np.mean(self.predict(X) == self._labels(y, X.shape[0])))

    # ------------------------------------------------------------------ loss and gradients

    def loss_and_gradients(self, X, y, normalization="valid"):
        """The softmax loss ``-mean log p(y | x)`` and its gradient for every parameter.

        ``loss, prob = ebm.softmax_loss_forward(-F, y)`` and
        ``bottom_diff = ebm.softmax_loss_backward(prob, y)`` come from the core; the rest is
        the chain rule written in the module docstring.

        Parameters
        ----------
        X : array_like of 0/1, shape (n_samples, n_visible)
        y : array_like of int, shape (n_samples,)
            Labels in ``[0, n_classes)``.
        normalization : {"valid", "batch_size", "full", "none"}, default "valid"
            Passed to the core: "valid" averages over the rows, "none" sums.

        Returns
        -------
        loss : float
        grads : dict of str to ndarray
            ``{"W", "U", "b", "c", "d"}``, each the shape of its parameter: ``W``
            (n_visible, n_hidden), ``U`` (n_classes, n_hidden), ``b`` (n_visible,),
            ``c`` (n_hidden,), ``d`` (n_classes,).
        """
        import ebm

        p = self._params()
        X, _ = binary_rows(X, self.n_visible, "X", allow_1d=False)
        y = self._labels(y, X.shape[0])
        o = self._hidden_inputs(X, p)
        bottom_data = (X @ p["b"])[:, None] + p["d"][None, :] + softplus(o).sum(axis=2)
        loss, prob = ebm.softmax_loss_forward(bottom_data, y, normalization=normalization)
        bottom_diff = ebm.softmax_loss_backward(prob, y, normalization=normalization)
        g = bottom_diff[:, :, None] * sigmoid(o)  # dL/do, (N, C, n_h)
        g_h = g.sum(axis=1)  # (N, n_h)
        grads = {
            "W": X.T @ g_h,
            "U": g.sum(axis=0),
            "b": X.T @ bottom_diff.sum(axis=1),
            "c": g_h.sum(axis=0),
            "d": bottom_diff.sum(axis=0),
        }
        return loss, grads

    # ------------------------------------------------------------------ training

    def fit(
        self,
        X,
        y,
        *,
        epochs=30,
        lr=0.05,
        momentum=0.9,
        weight_decay=0.0,
        batch_size=20,
        init_scale=0.1,
        seed=None,
        eval_data=None,
        warm_start=False,
        progress=False,
    ):
        """Minimise the discriminative loss by minibatch gradient descent with momentum.

        Parameters
        ----------
        X : array_like of 0/1, shape (n_samples, n_visible)
        y : array_like of int, shape (n_samples,)
            Labels in ``[0, n_classes)``.
        epochs : int, default 30
        lr : float, default 0.05
            Decays linearly to 0 over all updates.
        momentum : float, default 0.9
        weight_decay : float, default 0.0
            L2 penalty on ``W`` and ``U``.
        batch_size : int, default 20
        init_scale : float, default 0.1
            Standard deviation of the initial ``W`` and ``U``.
        seed : int or numpy.random.Generator, optional
        eval_data : tuple (X_eval, y_eval), optional
            ``X_eval`` of shape (n_eval, n_visible), ``y_eval`` of shape (n_eval,).
            Held-out accuracy recorded per epoch (and before training) in
            ``history_["eval_accuracy"]``.
        warm_start : bool, default False
        progress : bool, default False

        Returns
        -------
        self
            With trained parameters and ``history_`` a :class:`~ebm.rbm.TrainingHistory`.
        """
        X, _ = binary_rows(X, self.n_visible, "X", allow_1d=False)
        y = self._labels(y, X.shape[0])
        epochs = check_int(epochs, "epochs", low=0)
        lr = check_float(lr, "lr", low=0.0, low_open=True)
        momentum = check_float(momentum, "momentum", low=0.0, high=1.0)
        weight_decay = check_float(weight_decay, "weight_decay", low=0.0)
        batch_size = check_int(batch_size, "batch_size")
        init_scale = check_float(init_scale, "init_scale", low=0.0)
        if eval_data is not None:
            if not isinstance(eval_data, (tuple, list)) or len(eval_data) != 2:
                raise TypeError("eval_data must be a tuple (X_eval, y_eval)")
        rng = as_rng(seed)
        if not warm_start:
            self._init(rng, init_scale)
        velocity = {k: np.zeros(s) for k, s in self._shapes().items()}
        n = X.shape[0]
        history = TrainingHistory(epoch=[0], seconds=[0.0], loss=[self.loss_and_gradients(X, y)[0]])
        if eval_data is not None:
            history["eval_accuracy"] = [self.score(*eval_data)]

        def train_epoch(epoch, order, lrs):
            losses = []
            for t, rate in enumerate(lrs):
                idx = order[t * batch_size : (t + 1) * batch_size]
                loss, grads = self.loss_and_gradients(X[idx], y[idx])
                losses.append(loss * idx.size)
                for k in _PARAMS:
                    grad = grads[k] + (weight_decay * getattr(self, k) if k in ("W", "U") else 0.0)
                    velocity[k] = momentum * velocity[k] - rate * grad
                    setattr(self, k, getattr(self, k) + velocity[k])
            return losses

        def record(losses):
            history["loss"].append(float(np.sum(losses) / n))
            if eval_data is not None:
                history["eval_accuracy"].append(self.score(*eval_data))

        minibatch_epochs(
            history, train_epoch, record, rng, n, batch_size, epochs, lr, progress=progress, desc="class RBM training"
        )
        self.history_ = history
        return self
