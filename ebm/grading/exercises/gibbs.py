"""Exercises of chapter 04, energy-based models (LeCun et al. 2006; article §4).

Oracles: a direct softmax written here (for moderate ``beta``), exact limits
(uniform at ``beta = 0``, the tie-split argmin at large ``beta``), and central
differences of independently written loss values for the derivatives.  Gradient
checks scale the objective so that every tested element is well above Caffe's
floor of 1 in ``|a - b| <= tol * max(|a|, |b|, 1)``: without that, half of a
gradient of size 0.01 would pass.
"""

from __future__ import annotations

import numpy as np

from ebm._math import logsumexp
from ebm.grading import exercise, expect_close, expect_gradient, expect_tuple, is_close

_FORBID_SOFTMAX = (
    "ebm.softmax_loss:softmax_forward",
    "ebm.reference:softmax_forward",
    "ebm.softmax_loss:softmax_loss_forward",
    "ebm.reference:softmax_loss_forward",
)


def _rng(seed):
    return np.random.default_rng(seed)


def _direct_softmax(x):
    """A plain softmax along the last axis (the oracle for moderate logits)."""
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# =========================================================================== gibbs_distribution


def gibbs_distribution(energies, beta):
    ### BEGIN SOLUTION
    E = np.asarray(energies, dtype=np.float64)
    z = -beta * (E - E.min(axis=-1, keepdims=True))  # <= 0: exp never overflows
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)  # the minimum contributes exp(0) = 1
    ### END SOLUTION


GIBBS = exercise(
    "gibbs_distribution",
    chapter="gibbs",
    signature="gibbs_distribution(energies, beta) -> P",
    statement=r"""
    Return the Gibbs distribution $P_\beta(y) = e^{-\beta E(y)} / \sum_{y'} e^{-\beta E(y')}$ of
    `energies` along the **last** axis (a vector (C,) or a batch (N, C)), for an inverse
    temperature $\beta \ge 0$. It must work for every $\beta$ from 0 to $10^6$: exactly
    uniform at $\beta = 0$, the argmin (ties split evenly) at large $\beta$, and never NaN
    or an overflow warning.
    """,
    reference=gibbs_distribution,
    forbid=("ebm.gibbs.distribution:gibbs_distribution",) + _FORBID_SOFTMAX,
)


@GIBBS.check("a batch (4, 5) at beta = 1")
def _(fn):
    E = _rng(40).normal(size=(4, 5))
    expect_close(fn(E, 1.0), _direct_softmax(-E), what="P")


@GIBBS.check("beta = 0: exactly uniform")
def _(fn):
    E = _rng(41).normal(scale=10.0, size=(3, 4))
    expect_close(fn(E, 0.0), np.full((3, 4), 0.25), rtol=0, atol=1e-15, what="P")


@GIBBS.check("beta = 1e6 with two tied minima: [0.5, 0, 0.5, 0], no NaN")
def _(fn):
    E = np.array([1.0, 2.0, 1.0, 4.0])
    expect_close(fn(E, 1e6), np.array([0.5, 0.0, 0.5, 0.0]), rtol=0, atol=1e-12, what="P")


@GIBBS.check("beta = 500 with energies of size 10 (exp(5000) would overflow)", hidden=True)
def _(fn):
    E = np.array([[-10.0, -9.99, 3.0], [12.0, 10.0, 10.001]])
    x = -500 * E
    expect_close(fn(E, 500.0), _direct_softmax(x), rtol=1e-9, atol=1e-12, what="P")


@GIBBS.check("a small beta = 0.01 on a vector", hidden=True)
def _(fn):
    E = _rng(42).normal(scale=30.0, size=7)
    expect_close(fn(E, 0.01), _direct_softmax(-0.01 * E), what="P")


def _unshifted(energies, beta):
    with np.errstate(all="ignore"):
        p = np.exp(-beta * np.asarray(energies, dtype=np.float64))
        return p / p.sum(axis=-1, keepdims=True)


@GIBBS.hint(
    "no_shift",
    "NaN or overflow at large beta: exp(-beta E) overflows or underflows to 0/0. "
    "Subtract the smallest energy first: softmax is unchanged by a shift, and exp(-beta (E - "
    "E_min)) <= 1 with the minimum's term exactly 1",
    example=_unshifted,
)
def _(a):
    res = np.asarray(a.result, dtype=np.float64) if a.result is not None else None
    nan = res is not None and res.shape != () and not np.all(np.isfinite(res))
    return bool(nan or any("overflow" in w or "invalid value" in w for w in a.warnings))


@GIBBS.hint(
    "plus_beta",
    "the sign: the Gibbs distribution is softmax(-beta E) -- low energy, high probability -- not softmax(+beta E)",
    example=lambda energies, beta: gibbs_distribution(-np.asarray(energies, dtype=float), beta),
)
def _(a):
    E = np.asarray(a.args["energies"], dtype=np.float64)
    return a.args["beta"] != 0 and is_close(a.got, gibbs_distribution(-E, a.args["beta"]))


@GIBBS.hint(
    "temperature_not_inverse",
    "beta is an INVERSE temperature: it multiplies the energy, exp(-beta E), it does not divide it",
    example=lambda energies, beta: (
        gibbs_distribution(energies, 1.0 / beta) if beta else gibbs_distribution(energies, 1e6)
    ),
)
def _(a):
    beta = a.args["beta"]
    return beta not in (0, 1) and is_close(a.got, gibbs_distribution(a.args["energies"], 1.0 / beta))


@GIBBS.hint(
    "wrong_axis",
    "normalise over the answers (the last axis, each row sums to 1), not over the batch",
    example=lambda energies, beta: np.swapaxes(
        gibbs_distribution(np.swapaxes(np.asarray(energies, dtype=float), 0, -1), beta), 0, -1
    ),
)
def _(a):
    E = np.asarray(a.args["energies"], dtype=np.float64)
    if E.ndim < 2:
        return False
    return is_close(a.got, np.swapaxes(gibbs_distribution(np.swapaxes(E, 0, -1), a.args["beta"]), 0, -1))


# =========================================================================== nll_loss


def nll_loss(energies, correct, beta):
    ### BEGIN SOLUTION
    E = np.asarray(energies, dtype=np.float64)
    n = np.arange(E.shape[0])
    e_min = E.min(axis=1, keepdims=True)
    z = np.exp(-beta * (E - e_min))  # <= 1, no overflow
    lse = -beta * e_min[:, 0] + np.log(z.sum(axis=1))  # log sum exp(-beta E)
    loss = np.mean(E[n, correct] + lse / beta)
    p = z / z.sum(axis=1, keepdims=True)  # P_beta
    onehot = np.zeros_like(E)
    onehot[n, correct] = 1.0
    return float(loss), (onehot - p) / E.shape[0]  # d(mean)/dE
    ### END SOLUTION


NLL = exercise(
    "nll_loss",
    chapter="gibbs",
    signature="nll_loss(energies, correct, beta) -> (loss, grad)",
    statement=r"""
    LeCun's negative log-likelihood loss for a batch of energies (N, C) with correct answers
    `correct` (N,) and $\beta > 0$: per sample
    $L = E_C + \frac1\beta \log \sum_y e^{-\beta E(y)}$. Return `(loss, grad)`: `loss` the
    **mean** over the batch, `grad` its derivative with respect to `energies` (N, C).
    Hint: per sample $\partial L / \partial E = \mathrm{onehot}(C) - P_\beta$.
    Energies times $\beta$ up to $10^4$ must stay finite.
    """,
    reference=nll_loss,
    forbid=("ebm.gibbs.losses:nll_loss", "ebm.gibbs.distribution:gibbs_distribution")
    + _FORBID_SOFTMAX
    + ("ebm.softmax_loss:softmax_loss_backward", "ebm.reference:softmax_loss_backward"),
)


def _nll_values(E, c, beta):
    """Per-sample loss by a direct (unshifted where safe) sum: the oracle."""
    return E[np.arange(len(c)), c] + logsumexp(-beta * E, axis=1) / beta


def _nll_case(seed, n=4, c=5, scale=1.0):
    r = _rng(seed)
    return r.normal(scale=scale, size=(n, c)), r.integers(0, c, size=n)


def _check_nll_loss(fn, E, c, beta):
    loss, _ = expect_tuple(fn(E, c, beta), 2, what="(loss, grad)")
    expect_close(loss, float(np.mean(_nll_values(E, c, beta))), what="loss")


def _expect_mean_gradient(values, E, grad, *, step):
    """``grad`` against central differences of the batch mean of the per-sample ``values(E)``.

    Both are scaled by 10 N: the gradient's entries are ~1/N, and the scale lifts them above
    Caffe's floor of 1 in the tolerance.
    """
    scale = 10.0 * E.shape[0]
    expect_gradient(
        lambda z: scale * float(np.mean(values(z))),
        E,
        scale * np.asarray(grad, dtype=np.float64),
        tol=1e-4,
        step=step,
        what="grad",
    )


def _check_nll_grad(fn, E, c, beta):
    _, grad = expect_tuple(fn(E, c, beta), 2, what="(loss, grad)")
    _expect_mean_gradient(lambda z: _nll_values(z, c, beta), E, grad, step=1e-4)


@NLL.check("loss of a batch (4, 5) at beta = 1")
def _(fn):
    _check_nll_loss(fn, *_nll_case(50), 1.0)


@NLL.check("grad against central differences at beta = 2")
def _(fn):
    _check_nll_grad(fn, *_nll_case(51), 2.0)


@NLL.check("beta = 1e4: finite, and close to the perceptron loss")
def _(fn):
    E = np.array([[3.0, -1.0, 7.0], [0.0, 0.5, 1.0]])
    c = np.array([0, 2])
    loss, grad = expect_tuple(fn(E, c, 1e4), 2, what="(loss, grad)")
    expect_close(loss, float(np.mean(_nll_values(E, c, 1e4))), rtol=1e-9, what="loss")
    expect_close(grad, np.array([[0.5, -0.5, 0.0], [-0.5, 0.0, 0.5]]), rtol=0, atol=1e-9, what="grad")


@NLL.check("grad at beta = 0.3, a batch (6, 3)", hidden=True)
def _(fn):
    _check_nll_grad(fn, *_nll_case(52, 6, 3, scale=2.0), 0.3)


@NLL.check("loss and grad of one sample (1, 4) at beta = 5", hidden=True)
def _(fn):
    E, c = _nll_case(53, 1, 4)
    _check_nll_loss(fn, E, c, 5.0)
    _check_nll_grad(fn, E, c, 5.0)


def _grad_hint(ex, key, message, wrong, *, when=None):
    """Register the mistake "right loss, gradient ``wrong(grad, *args)``" of a ``(loss, grad)`` exercise.

    ``grad`` is the reference's gradient at the call's arguments ``args``.  The example is the
    reference with that gradient; the hint fires when a failed gradient check got exactly it
    (and ``when(*args)`` holds, if given: where the mistake changes nothing it explains nothing).
    """

    def example(*args):
        loss, grad = ex.reference(*args)
        return loss, wrong(grad, *args)

    def detect(a):
        args = [a.args[p] for p in ex.parameters()]
        if a.what != "grad" or a.result is None or (when is not None and not when(*args)):
            return False
        return is_close(np.asarray(a.result[1]), wrong(ex.reference(*args)[1], *args))

    ex.hint(key, message, example=example)(detect)


def _times_n(grad, energies, *_):
    """The gradient of the summed loss: the mean's gradient without its 1/N."""
    return np.shape(energies)[0] * grad


def _batch(energies, *_):
    return np.shape(energies)[0] > 1


_grad_hint(
    NLL,
    "beta_factor",
    "the gradient is beta times too large: that is the derivative of -log P_beta "
    "= beta L. LeCun's L has the 1/beta in front of the log-sum-exp, so dL/dE = onehot(C) - P_beta",
    lambda grad, energies, correct, beta: beta * grad,
    when=lambda energies, correct, beta: beta != 1,
)
_grad_hint(
    NLL,
    "sign",
    "the gradient has the wrong sign: raising a wrong answer's energy lowers the loss, "
    "so dL/dE = onehot(C) - P_beta is negative there (the core's p - onehot is with respect to "
    "the logits -beta E)",
    lambda grad, *_: -grad,
)
_grad_hint(
    NLL,
    "missing_mean",
    "the loss is the mean over the batch, so its gradient carries 1/N: per sample onehot(C) - P_beta, divided by N",
    _times_n,
    when=_batch,
)


@NLL.hint(
    "sum_not_mean",
    "the loss is N times too large: take the mean over the batch, not the sum",
    example=lambda energies, correct, beta: (
        np.shape(energies)[0] * nll_loss(energies, correct, beta)[0],
        nll_loss(energies, correct, beta)[1],
    ),
)
def _(a):
    n = np.shape(a.args["energies"])[0]
    return a.what == "loss" and n > 1 and is_close(a.got, n * np.asarray(a.expected))


# =========================================================================== hinge_loss


def hinge_loss(energies, correct, m):
    ### BEGIN SOLUTION
    E = np.asarray(energies, dtype=np.float64)
    n = np.arange(E.shape[0])
    masked = E.copy()
    masked[n, correct] = np.inf  # exclude the correct answer
    i = masked.argmin(axis=1)  # the most offending incorrect answer
    z = m + E[n, correct] - E[n, i]
    active = (z > 0).astype(float)
    grad = np.zeros_like(E)
    grad[n, correct] += active
    grad[n, i] -= active
    return float(np.mean(np.maximum(z, 0.0))), grad / E.shape[0]
    ### END SOLUTION


HINGE = exercise(
    "hinge_loss",
    chapter="gibbs",
    signature="hinge_loss(energies, correct, m) -> (loss, grad)",
    statement=r"""
    LeCun's hinge loss for a batch of energies (N, C) with correct answers `correct` (N,):
    per sample $\max(0,\ m + E_C - E_I)$, where $E_I$ is the energy of the **most offending
    incorrect answer** (the lowest energy among the answers other than C). Return
    `(loss, grad)`: the mean over the batch and its derivative with respect to `energies`.
    """,
    reference=hinge_loss,
    forbid=("ebm.gibbs.losses:hinge_loss", "ebm.gibbs.losses:most_offending"),
)


def _hinge_values(E, c, m):
    """Per-sample hinge by a loop over the incorrect answers: the oracle."""
    out = []
    for row, k in zip(E, c):
        e_i = min(row[y] for y in range(row.size) if y != k)
        out.append(max(0.0, m + row[k] - e_i))
    return np.array(out)


def _hinge_case(seed, n=5, c=4):
    r = _rng(seed)
    for _ in range(1000):  # spaced energies: no kinks within the step
        E = r.permutation(np.arange(n * c)).reshape(n, c) * 0.37 + r.uniform(0, 0.05, size=(n, c))
        k = r.integers(0, c, size=n)
        z = 0.9 + E[np.arange(n), k] - np.sort(np.where(np.eye(c, dtype=bool)[k], np.inf, E), axis=1)[:, 0]
        if np.abs(z).min() > 0.05 and (z > 0).any() and (z < 0).any():
            return E, k
    raise RuntimeError("no hinge test case")


def _check_hinge(fn, seed, part):
    E, c = _hinge_case(seed)
    loss, grad = expect_tuple(fn(E, c, 0.9), 2, what="(loss, grad)")
    if part == "loss":
        expect_close(loss, float(np.mean(_hinge_values(E, c, 0.9))), what="loss")
    else:
        _expect_mean_gradient(lambda z: _hinge_values(z, c, 0.9), E, grad, step=1e-3)


@HINGE.check("loss of a batch (5, 4), m = 0.9, some samples inside the margin")
def _(fn):
    _check_hinge(fn, 60, "loss")


@HINGE.check("grad against central differences")
def _(fn):
    _check_hinge(fn, 60, "grad")


@HINGE.check("another batch: loss and grad", hidden=True)
def _(fn):
    _check_hinge(fn, 61, "loss")
    _check_hinge(fn, 61, "grad")


@HINGE.check("the correct answer has the lowest energy but misses the margin", hidden=True)
def _(fn):
    E = np.array([[0.0, 0.4, 2.0]])
    loss, grad = expect_tuple(fn(E, np.array([0]), 1.0), 2, what="(loss, grad)")
    expect_close(loss, 0.6, what="loss")
    expect_close(grad, np.array([[1.0, -1.0, 0.0]]), what="grad")


def _min_over_all(energies, correct, m):
    """The hinge loss with ``E_I`` the minimum over ALL answers, the correct one included."""
    E = np.asarray(energies, dtype=np.float64)
    n, i = np.arange(E.shape[0]), E.argmin(axis=1)
    z = m + E[n, correct] - E[n, i]
    onehot = np.eye(E.shape[1])
    grad = (z > 0)[:, None] * (onehot[correct] - onehot[i])  # zero where i is the correct answer
    return float(np.mean(np.maximum(z, 0))), grad / E.shape[0]


@HINGE.hint(
    "correct_in_the_min",
    "E_I must exclude the correct answer: when the correct answer is "
    "the lowest, min over ALL answers is E_C itself and the loss is always m. Take the "
    "minimum over y != C",
    example=_min_over_all,
)
def _(a):
    if a.result is None or not isinstance(a.result, (tuple, list)) or len(a.result) != 2:
        return False
    bad = _min_over_all(a.args["energies"], a.args["correct"], a.args["m"])
    return is_close(np.asarray(a.result[0]), bad[0]) or (a.what == "grad" and is_close(np.asarray(a.result[1]), bad[1]))


def _all_incorrect(grad, energies, correct, m):
    """Where ``grad`` (the reference's) is active, every incorrect answer pushed by -1, not only the most offending."""
    E = np.asarray(energies, dtype=np.float64)
    n = np.arange(E.shape[0])
    active = (grad[n, correct] > 0).astype(float)
    spread = np.zeros_like(E) - active[:, None] / E.shape[0]
    spread[n, correct] = active * (E.shape[1] - 1) / E.shape[0]
    return spread


_grad_hint(
    HINGE,
    "push_all_incorrect",
    "only the most offending incorrect answer appears in the loss, so "
    "only it gets -1 (per sample, where the hinge is active); the other answers get 0",
    _all_incorrect,
)
_grad_hint(
    HINGE, "missing_mean", "the loss is the mean over the batch: its gradient carries 1/N", _times_n, when=_batch
)
_grad_hint(
    HINGE,
    "gradient_where_inactive",
    "a sample whose gap already exceeds the margin "
    "(m + E_C - E_I <= 0) has loss 0 and gradient 0: only active samples push",
    lambda grad, energies, correct, m: hinge_loss(energies, correct, 1e9)[1],
)
