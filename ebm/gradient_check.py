"""Check a derivative against central differences, with Caffe's pass rule.

For a scalar function ``f`` and a claimed gradient ``g``, every element is
perturbed by ``± step`` and compared::

    numeric[n] = (f(x + step e_n) - f(x - step e_n)) / (2 step)
    pass  iff  |numeric[n] - g[n]| <= tol * max(|numeric[n]|, |g[n]|, 1)   for every n

This is the rule of Caffe's ``GradientChecker`` (step 1e-2; tol 1e-2 for losses,
1e-3 for the softmax).  The lectures use it on students' derivatives, the tests
on the kernels, and the grader on submissions.

To check a layer whose output is an array, check the scalar ``sum(top_diff *
top)`` -- its gradient is exactly what the layer's backward returns for that
``top_diff``::

    >>> import numpy as np, ebm
    >>> from ebm.gradient_check import gradcheck
    >>> x = np.random.default_rng(0).normal(size=(2, 3))
    >>> top_diff = np.ones((2, 3)) * [1.0, 2.0, 3.0]
    >>> f = lambda z: np.sum(top_diff * ebm.softmax_forward(z))
    >>> g = ebm.softmax_backward(ebm.softmax_forward(x), top_diff)
    >>> bool(gradcheck(f, x, g, tol=1e-3))
    True

A check can only fail where the gradient is larger than ``tol``: below 1 the rule
is an *absolute* error of at most ``tol``.  So check a loss whose gradient is of
order 1 (``normalization="none"``), not one divided by hundreds of positions;
:func:`caffe_loss_gradient_test` does that for Caffe's own test blob.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["numerical_gradient", "gradcheck", "GradcheckResult", "caffe_test_blob", "caffe_loss_gradient_test"]


def numerical_gradient(func, x, *, step=1e-2):
    """Central-difference gradient of the scalar function ``func`` at ``x``.

    Parameters
    ----------
    func : callable
        ``func(array) -> float``.  It is called ``2 * x.size`` times, on a float64
        copy of ``x``; ``x`` itself is never modified.
    x : array_like
    step : float, default 1e-2

    Returns
    -------
    ndarray of float64, shape of ``x``
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got {func!r}")
    if not (isinstance(step, (int, float, np.floating)) and np.isfinite(step) and step > 0):
        raise ValueError(f"step must be a positive finite number, got {step!r}")
    work = np.array(x, dtype=np.float64)  # a copy, never the caller's array
    grad = np.empty_like(work)
    flat, gflat = work.reshape(-1), grad.reshape(-1)
    for n in range(flat.size):
        orig = flat[n]
        flat[n] = orig + step
        f_plus = _scalar(func(work), "func(x + step)")
        flat[n] = orig - step
        f_minus = _scalar(func(work), "func(x - step)")
        flat[n] = orig
        gflat[n] = (f_plus - f_minus) / (2 * step)
    return grad


def _scalar(value, what):
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"{what} must return a scalar, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


@dataclass(frozen=True)
class GradcheckResult:
    """The outcome of :func:`gradcheck`; true in a boolean context iff it passed.

    Attributes
    ----------
    passed : bool
    numeric, analytic : ndarray
        The central-difference and the claimed gradients.
    ratio : ndarray
        ``|numeric - analytic| / max(|numeric|, |analytic|, 1)`` per element; an
        element passes when its ratio is at most ``tol``.
    tol, step : float
    """

    passed: bool
    numeric: np.ndarray
    analytic: np.ndarray
    ratio: np.ndarray
    tol: float
    step: float

    def __bool__(self):
        return self.passed

    @property
    def worst(self):
        """Index of the element with the largest ratio (``None`` when empty); a NaN ratio counts as
        the largest.

        Of elements whose ratios tie to within a relative 1e-9 (a wrong gradient often errs by the
        same amount at many elements), the first in C order: which of them comes out largest would
        depend on the last bits of the function's rounding.
        """
        if self.ratio.size == 0:
            return None
        flat = self.ratio.reshape(-1)
        k = int(np.argmax(flat))  # the largest, or the first NaN
        if not np.isnan(flat[k]):
            k = int(np.argmax(flat >= flat[k] * (1 - 1e-9)))
        return tuple(int(i) for i in np.unravel_index(k, self.ratio.shape))

    def __str__(self):
        if self.worst is None:
            return "gradcheck passed (nothing to check: the input is empty)"
        w = self.worst
        verdict = "passed" if self.passed else "FAILED"
        failing = int(np.count_nonzero(self.ratio > self.tol))
        return (
            f"gradcheck {verdict}: {failing} of {self.ratio.size} elements over tol={self.tol:g} "
            f"(step={self.step:g}); worst at {list(w)}: numeric {self.numeric[w]:.6g}, "
            f"analytic {self.analytic[w]:.6g}, ratio {self.ratio[w]:.3g}"
        )


def gradcheck(func, x, analytic, *, step=1e-2, tol=1e-2, raise_on_failure=False):
    """Compare ``analytic`` with the central-difference gradient of ``func`` at ``x``.

    Parameters
    ----------
    func : callable
        ``func(array) -> float``, the scalar objective.
    x : array_like
        Where to check.
    analytic : array_like or callable
        The claimed gradient at ``x`` (same shape), or ``analytic(x)`` returning it.
    step : float, default 1e-2
        Caffe's step.
    tol : float, default 1e-2
        Caffe's threshold (1e-2 for losses, 1e-3 for the softmax).
    raise_on_failure : bool, default False
        Raise ``AssertionError`` with the summary instead of returning a failed result.

    Returns
    -------
    GradcheckResult
        Truthy iff every element passes; ``print`` it for the worst element.
    """
    x_arr = np.asarray(x)
    if callable(analytic):
        analytic = analytic(x_arr.copy())
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != x_arr.shape:
        raise ValueError(f"analytic has shape {analytic.shape} but x has shape {x_arr.shape}: they must match")
    if not (isinstance(tol, (int, float, np.floating)) and tol >= 0):
        raise ValueError(f"tol must be a non-negative number, got {tol!r}")
    numeric = numerical_gradient(func, x_arr, step=step)
    scale = np.maximum(np.maximum(np.abs(numeric), np.abs(analytic)), 1.0)
    ratio = np.abs(numeric - analytic) / scale
    ratio = np.where(np.isnan(ratio), np.inf, ratio)  # NaN never passes
    result = GradcheckResult(bool(np.all(ratio <= tol)), numeric, analytic, ratio, float(tol), float(step))
    if raise_on_failure and not result.passed:
        raise AssertionError(str(result))
    return result


# --------------------------------------------------------------------------- Caffe's layer test


def caffe_test_blob(seed=1701):
    """The blob of Caffe's ``SoftmaxWithLossLayerTest``: data (10, 5, 2, 3), std 10, and labels.

    Parameters
    ----------
    seed : int or numpy.random.Generator, default 1701

    Returns
    -------
    bottom_data : ndarray, shape (10, 5, 2, 3)
        Gaussian, standard deviation 10 (so most columns are nearly one-hot).
    label : ndarray of int64, shape (10, 1, 2, 3)
        Uniform in ``[0, 5)``, drawn after the data from the same generator.
    """
    rng = np.random.default_rng(seed)
    bottom_data = rng.normal(scale=10.0, size=(10, 5, 2, 3))
    label = rng.integers(0, 5, size=(10, 1, 2, 3))
    return bottom_data, label


def caffe_loss_gradient_test(backward=None, *, ignore_label=None, normalization="none", seed=1701, tol=1e-2):
    """Caffe's gradient test of ``SoftmaxWithLoss``, run so that a wrong gradient fails.

    Caffe checks its loss layer on :func:`caffe_test_blob` by central differences
    with its default VALID normalization.  There every gradient element is at most
    ``1/60`` in size (60 kept positions), under the rule's absolute floor of
    ``tol = 0.01``: half the true gradient, or a divisor of 61 instead of 60, passes
    on every one of the 300 elements -- the check cannot fail.  With
    ``normalization="none"`` the elements are ``prob - onehot(label)``, of order 1,
    and the same mistakes fail (half the gradient on 119 of 300 elements, a
    gradient 60/61 of the true one on 92; seed 1701, no ignored label).

    Parameters
    ----------
    backward : callable, optional
        ``backward(prob, label) -> bottom_diff``, the gradient to check, given the
        layer's ``prob`` and the labels (copies).  Default: the layer's own
        :meth:`ebm.SoftmaxWithLoss.backward`.
    ignore_label : int or None
    normalization : {"none", "valid", "full", "batch_size"}, default "none"
        The loss being differentiated; ``backward`` must match it.
    seed : int or numpy.random.Generator, default 1701
    tol : float, default 1e-2
        Caffe's threshold for a loss layer.

    Returns
    -------
    GradcheckResult

    Examples
    --------
    >>> import ebm
    >>> from ebm.gradient_check import caffe_loss_gradient_test
    >>> bool(caffe_loss_gradient_test())
    True
    >>> half = lambda prob, label: 0.5 * ebm.softmax_loss_backward(prob, label, normalization="none")
    >>> bool(caffe_loss_gradient_test(half))
    False
    """
    from ebm.layers import SoftmaxWithLoss

    if backward is not None and not callable(backward):
        raise TypeError(f"backward must be callable as backward(prob, label), got {backward!r}")
    bottom_data, label = caffe_test_blob(seed)
    layer = SoftmaxWithLoss(ignore_label=ignore_label, normalization=normalization)
    layer.forward(bottom_data, label)
    analytic = layer.backward() if backward is None else backward(layer.prob.copy(), label.copy())
    return gradcheck(lambda z: layer.forward(z, label), bottom_data, analytic, tol=tol)
