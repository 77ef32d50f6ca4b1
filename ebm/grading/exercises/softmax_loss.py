"""Exercises of chapter 05, the softmax-with-loss core (Caffe's SoftmaxWithLossLayer).

The three core exercises use Caffe's names and signatures (bottom_data, label, prob,
top_diff, bottom_diff); the
oracle is :mod:`ebm.reference` (plain NumPy) and, for derivatives, central
differences (:func:`ebm.gradcheck`).  Lecture 05's two exercises (temperature and
label smoothing) follow.
"""

from __future__ import annotations

import numpy as np

from ebm import reference as ref
from ebm._math import logsumexp
from ebm.grading import exercise, expect_close, expect_gradient, expect_tuple, is_close

_CORE = ("ebm.softmax_loss:{0}", "ebm.reference:{0}")


def _rng(seed):
    return np.random.default_rng(seed)


def _forbid(name, *layer):
    return tuple(s.format(name) for s in _CORE) + tuple(layer)


# =========================================================================== softmax_loss_forward


def softmax_loss_forward(bottom_data, label):
    ### BEGIN SOLUTION
    x = np.asarray(bottom_data, dtype=np.float64)
    label = np.asarray(label)
    m = x.max(axis=1, keepdims=True)  # subtract the row max: exp never overflows
    e = np.exp(x - m)
    prob = e / e.sum(axis=1, keepdims=True)
    log_prob_k = (x - m)[np.arange(x.shape[0]), label] - np.log(e.sum(axis=1))
    loss = -log_prob_k.sum() / x.shape[0]  # VALID: divide by the N kept rows
    return float(loss), prob
    ### END SOLUTION


FORWARD = exercise(
    "softmax_loss_forward",
    chapter="softmax_loss",
    signature="softmax_loss_forward(bottom_data, label) -> (loss, prob)",
    statement=r"""
    Compute Caffe's softmax-with-loss forward pass for logits `bottom_data` of shape
    (N, C) and integer labels `label` of shape (N,): `prob` is the softmax of each row and
    `loss` the mean over the N rows of $-\log \mathrm{prob}[n, \mathrm{label}[n]]$ (VALID
    normalization, no ignored label). Return the tuple `(loss, prob)`. Logits as large as
    1e3 must give finite results.
    """,
    reference=softmax_loss_forward,
    forbid=_forbid("softmax_loss_forward", "ebm.layers:SoftmaxWithLoss.forward"),
)


def _forward_case(seed, n, c, scale=2.0, dtype=np.float64):
    r = _rng(seed)
    x = (r.normal(scale=scale, size=(n, c))).astype(dtype)
    return x, r.integers(0, c, size=n)


def _check_forward(fn, x, label, *, part, rtol=1e-6, atol=1e-9):
    loss, prob = expect_tuple(fn(x, label), 2, what="(loss, prob)")
    exp_loss, exp_prob = ref.softmax_loss_forward(x.astype(np.float64), label)
    if part in ("loss", "both"):
        expect_close(loss, exp_loss, rtol=rtol, atol=atol, what="loss")
    if part in ("prob", "both"):
        expect_close(prob, exp_prob, rtol=rtol, atol=atol, what="prob")


@FORWARD.check("a batch of 4 rows and 5 classes: loss")
def _(fn):
    _check_forward(fn, *_forward_case(1, 4, 5), part="loss")


@FORWARD.check("a batch of 4 rows and 5 classes: prob")
def _(fn):
    _check_forward(fn, *_forward_case(1, 4, 5), part="prob")


@FORWARD.check("logits of 1e3 give a finite loss and prob")
def _(fn):
    x, label = _forward_case(2, 3, 4)
    _check_forward(fn, x + np.array([[1e3], [-1e3], [1e3]]) + 10 * x, label, part="both")


@FORWARD.check("one sample with two classes", hidden=True)
def _(fn):
    _check_forward(fn, np.array([[0.3, -1.2]]), np.array([1]), part="both")


@FORWARD.check("float32 logits, 64 rows and 10 classes", hidden=True)
def _(fn):
    _check_forward(fn, *_forward_case(3, 64, 10, scale=5.0, dtype=np.float32), part="both", rtol=1e-4, atol=1e-6)


def _with_loss(prob, label):
    """``(loss, prob)`` for a (wrong) ``prob``: the loss is the mean of -log prob at the labels."""
    return float(-np.log(prob[np.arange(len(label)), label]).mean()), prob


def _naive_forward(bottom_data, label):
    e = np.exp(bottom_data)
    return _with_loss(e / e.sum(axis=1, keepdims=True), label)


@FORWARD.hint(
    "no_max_subtraction",
    "overflow at large logits: subtract each row's max before exp "
    "(softmax(x) = softmax(x - max x), and exp(x - max x) <= 1 never overflows)",
    example=_naive_forward,
)
def _(a):
    x = np.asarray(a.args["bottom_data"], dtype=np.float64)
    prob = a.result[1] if isinstance(a.result, (tuple, list)) and len(a.result) == 2 else None
    bad_prob = prob is not None and not np.all(np.isfinite(np.asarray(prob, dtype=np.float64)))
    return x.max() > 700 and (bad_prob or any("overflow" in w for w in a.warnings))


def _swapped_outputs(bottom_data, label):
    loss, prob = softmax_loss_forward(bottom_data, label)
    return prob, loss


@FORWARD.hint(
    "swapped_outputs",
    "the two results are swapped: return the tuple (loss, prob), the scalar loss first and the (N, C) prob second",
    example=_swapped_outputs,
)
def _(a):
    result = a.result
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return False
    shape = np.shape(a.args["bottom_data"])
    return np.shape(result[0]) == shape and np.ndim(result[1]) == 0 and shape != ()


def _scaled_loss(factor):
    """A forward whose prob is right and whose loss is ``factor(N)`` times the right one."""

    def forward(bottom_data, label):
        loss, prob = softmax_loss_forward(bottom_data, label)
        return loss * factor(len(label)), prob

    return forward


@FORWARD.hint(
    "missing_normalizer",
    "the loss is N times too large: VALID normalization divides the "
    "summed loss by the number of rows (here no label is ignored, so by N)",
    example=_scaled_loss(lambda n: n),
)
def _(a):
    n = np.shape(a.args["bottom_data"])[0]
    return a.what == "loss" and n > 1 and is_close(a.got, np.asarray(a.expected) * n)


@FORWARD.hint(
    "wrong_sign",
    "the loss has the wrong sign: it is -log prob[label], which is >= 0",
    example=_scaled_loss(lambda n: -1),
)
def _(a):
    return a.what == "loss" and is_close(a.got, -np.asarray(a.expected))


def _axis0_forward(bottom_data, label):
    return _with_loss(ref.softmax_forward(np.asarray(bottom_data, dtype=np.float64), axis=0), label)


@FORWARD.hint(
    "softmax_over_wrong_axis",
    "prob does not sum to 1 over the classes: take the softmax "
    "along axis 1 (each row), not axis 0 (each class across the batch)",
    example=_axis0_forward,
)
def _(a):
    x = np.asarray(a.args["bottom_data"], dtype=np.float64)
    return is_close(a.got, ref.softmax_forward(x, axis=0)) or (
        a.what == "loss" and x.shape[0] > 1 and is_close(a.got, _axis0_forward(x, a.args["label"])[0])
    )


# =========================================================================== softmax_loss_backward


def softmax_loss_backward(prob, label, ignore_label=None):
    ### BEGIN SOLUTION
    prob = np.asarray(prob, dtype=np.float64)
    n, c = prob.shape[:2]
    p = prob.reshape(n, c, -1)  # Caffe's (outer_num, C, inner_num) view
    label = np.asarray(label).reshape(n, -1)
    keep = np.ones(label.shape, bool) if ignore_label is None else label != ignore_label
    bottom_diff = p.copy()  # (1) and (2): copy prob
    i, j = np.nonzero(keep)
    bottom_diff[i, label[i, j], j] -= 1  # (1): subtract 1 at the label
    bottom_diff *= keep[:, None, :]  # (3): ignored positions get 0
    bottom_diff /= max(1, int(keep.sum()))  # VALID: divide by the kept count
    return bottom_diff.reshape(prob.shape)
    ### END SOLUTION


BACKWARD = exercise(
    "softmax_loss_backward",
    chapter="softmax_loss",
    signature="softmax_loss_backward(prob, label, ignore_label=None) -> bottom_diff",
    statement=r"""
    Compute the gradient of the softmax-with-loss with respect to the logits, from the
    forward pass's `prob` of shape (N, C) or (N, C, H, W) (classes on axis 1) and integer
    `label` of shape (N,) or (N, H, W). Caffe's recipe: (1) copy `prob` and subtract 1 at
    the label; (2) other classes keep `prob`; (3) every class of a position whose label is
    `ignore_label` gets 0. VALID normalization: divide by the number of kept positions
    (at least 1).
    """,
    reference=softmax_loss_backward,
    forbid=_forbid("softmax_loss_backward", "ebm.layers:SoftmaxWithLoss.backward"),
)


def _backward_case(seed, shape, ignore_label=None, n_ignored=0):
    r = _rng(seed)
    x = r.normal(scale=2.0, size=shape)
    c = shape[1]
    label = r.integers(0, c, size=(shape[0],) + shape[2:])
    if n_ignored:
        flat = label.reshape(-1)
        flat[r.choice(flat.size, size=n_ignored, replace=False)] = ignore_label
    prob = ref.softmax_forward(x)
    return x, prob, label


def _check_backward(fn, shape, seed, ignore_label=None, n_ignored=0):
    x, prob, label = _backward_case(seed, shape, ignore_label, n_ignored)
    got = fn(prob, label, ignore_label) if ignore_label is not None else fn(prob, label)
    expected = ref.softmax_loss_backward(prob, label, ignore_label=ignore_label)
    expect_close(got, expected, what="bottom_diff")


@BACKWARD.check("(N, C) = (4, 5), no ignore_label")
def _(fn):
    _check_backward(fn, (4, 5), seed=10)


@BACKWARD.check("(N, C) with ignore_label=4 at 2 of 6 rows")
def _(fn):
    _check_backward(fn, (6, 4), seed=11, ignore_label=4, n_ignored=2)


@BACKWARD.check("(N, C, H, W) = (2, 3, 2, 3), no ignore_label")
def _(fn):
    _check_backward(fn, (2, 3, 2, 3), seed=12)


@BACKWARD.check("central differences of the loss agree with bottom_diff")
def _(fn):
    r = _rng(13)
    x = r.normal(size=(3, 4))
    label = np.array([0, 3, 1])
    got = fn(ref.softmax_forward(x), label)
    expect_gradient(lambda z: ref.softmax_loss_forward(z, label)[0], x, got, tol=1e-3, what="bottom_diff")


@BACKWARD.check("(N, C, H, W) = (2, 4, 3, 3) with ignore_label=255", hidden=True)
def _(fn):
    _check_backward(fn, (2, 4, 3, 3), seed=14, ignore_label=255, n_ignored=5)


@BACKWARD.check("ignore_label=-1 (a negative label is not an index)", hidden=True)
def _(fn):
    _check_backward(fn, (5, 3), seed=15, ignore_label=-1, n_ignored=2)


@BACKWARD.check("every position ignored: zero gradient, no division by zero", hidden=True)
def _(fn):
    _check_backward(fn, (3, 4), seed=16, ignore_label=7, n_ignored=3)


def _kept(a):
    prob = np.asarray(a.args["prob"], dtype=np.float64)
    label = np.asarray(a.args["label"]).reshape(prob.shape[0], -1)
    ignore = a.args.get("ignore_label")
    keep = np.ones(label.shape, bool) if ignore is None else label != ignore
    return prob, label, keep


def _kept_count(label, ignore_label):
    """VALID normalization's divisor: the positions whose label is not ignored (at least 1)."""
    return max(1, int(np.sum(np.asarray(label) != ignore_label)))


def _onehot(prob, label, keep):
    n, c = prob.shape[:2]
    onehot = np.zeros((n, c, label.shape[1]))
    i, j = np.nonzero(keep)
    onehot[i, label[i, j], j] = 1
    return onehot.reshape(prob.shape)


def _no_subtraction(prob, label, ignore_label=None):
    prob = np.asarray(prob, dtype=np.float64)
    return prob / prob.reshape(prob.shape[0], prob.shape[1], -1)[:, 0, :].size


@BACKWARD.hint(
    "label_not_subtracted",
    "the result equals prob (up to the normalizer): the 1 at the "
    "label was not subtracted (step 1: bottom_diff[label] = prob[label] - 1)",
    example=_no_subtraction,
)
def _(a):
    prob, label, keep = _kept(a)
    if not keep.any():
        return False
    mask = keep[:, None, :].reshape(prob.shape[:1] + (1,) + prob.shape[2:])
    return any(is_close(a.got, prob * m / d) for m in (1, mask) for d in (1, keep.size, max(1, keep.sum())))


def _ignores_nothing(prob, label, ignore_label=None):
    return softmax_loss_backward(prob, np.where(np.asarray(label) == ignore_label, 0, label))


@BACKWARD.hint(
    "nonzero_at_ignored",
    "a non-zero gradient at an ignored position: every class of a "
    "position whose label is ignore_label gets 0 (step 3), and it is not counted in the "
    "normalizer",
    example=_ignores_nothing,
)
def _(a):
    prob, label, keep = _kept(a)
    if keep.all() or not keep.any() or a.expected is None:
        return False
    cols = lambda v: np.asarray(v, dtype=np.float64).reshape(prob.shape[0], prob.shape[1], -1).transpose(0, 2, 1)
    got, expected = cols(a.got), cols(a.expected)
    # right at the kept positions (whatever the count divided by), not zero at an ignored one
    kept_right = any(is_close(got[keep], expected[keep] * f) for f in (1, keep.sum() / keep.size))
    return kept_right and bool(np.any(np.abs(got[~keep]) > 1e-12))


def _swapped(prob, label, ignore_label=None):
    prob = np.asarray(prob, dtype=np.float64)  # (N, C) only: enough to show the mistake
    onehot = np.eye(prob.shape[1])[np.asarray(label)]
    return (prob - 1 + onehot) / prob.shape[0]  # prob at the label, prob - 1 elsewhere


@BACKWARD.hint(
    "swapped_cases",
    "the cases i = k and i != k are swapped (the article's displayed "
    "formula, see docs/article.md): it is prob - 1 at the label k and prob elsewhere",
    example=_swapped,
)
def _(a):
    prob, label, keep = _kept(a)
    onehot = _onehot(prob, label, keep)
    mask = keep.reshape(prob.shape[:1] + (1,) + prob.shape[2:])
    swapped = (prob - (1 - onehot)) * mask  # prob at k, prob - 1 elsewhere
    if any(is_close(a.got, swapped / d) for d in (1, keep.size, max(1, keep.sum()))):
        return True
    if prob.ndim == 2:  # the article's printed formula, row by row
        printed = (
            np.stack(
                [
                    ref.article_printed_loss_gradient(np.log(np.clip(p, 1e-300, None)), int(k))
                    for p, k in zip(prob, label[:, 0])
                ]
            )
            * mask
        )
        return any(is_close(a.got, printed / d) for d in (1, keep.size, max(1, keep.sum())))
    return False


@BACKWARD.hint(
    "missing_normalizer",
    "the gradient is too large by the number of kept positions: "
    "VALID normalization divides by the count of positions whose label is not ignored",
    example=lambda prob, label, ignore_label=None: (
        softmax_loss_backward(prob, label, ignore_label) * _kept_count(label, ignore_label)
    ),
)
def _(a):
    _, _, keep = _kept(a)
    return keep.sum() > 1 and is_close(a.got, np.asarray(a.expected) * keep.sum())


def _full_normalized(prob, label, ignore_label=None):
    return softmax_loss_backward(prob, label, ignore_label) * _kept_count(label, ignore_label) / np.asarray(label).size


@BACKWARD.hint(
    "divided_by_all_positions",
    "divided by every position, the ignored ones included (all "
    "N*H*W of them; N for (N, C) data): VALID normalization counts only the kept positions",
    example=_full_normalized,
)
def _(a):
    _, _, keep = _kept(a)
    return (not keep.all()) and keep.any() and is_close(a.got, np.asarray(a.expected) * keep.sum() / keep.size)


def _batch_normalized(prob, label, ignore_label=None):
    return softmax_loss_backward(prob, label, ignore_label) * _kept_count(label, ignore_label) / np.shape(prob)[0]


@BACKWARD.hint(
    "divided_by_batch_size",
    "divided by N, the batch size: VALID normalization divides by the "
    "number of kept positions, which for (N, C, H, W) data counts every kept pixel "
    "(N*H*W when none is ignored), not the images",
    example=_batch_normalized,
)
def _(a):
    prob, _, keep = _kept(a)
    n = prob.shape[0]
    return (
        prob.ndim > 2
        and keep.any()
        and keep.sum() != n  # for (N, C): divided_by_all_positions
        and is_close(a.got, np.asarray(a.expected) * keep.sum() / n)
    )


def _negated(a):
    """The answer is the expected (non-zero) one with its sign flipped."""
    return (
        a.expected is not None
        and np.any(np.asarray(a.expected) != 0)
        and is_close(a.got, -np.asarray(a.expected), rtol=1e-4, atol=1e-6)
    )


BACKWARD.hint(
    "wrong_sign",
    "the wrong sign: the loss gradient is prob - onehot(label), not "
    "onehot(label) - prob (descending it must lower the loss)",
    example=lambda prob, label, ignore_label=None: -softmax_loss_backward(prob, label, ignore_label),
)(_negated)


# =========================================================================== softmax_backward


def softmax_backward(top_data, top_diff):
    ### BEGIN SOLUTION
    top_data = np.asarray(top_data, dtype=np.float64)
    top_diff = np.asarray(top_diff, dtype=np.float64)
    dot = (top_data * top_diff).sum(axis=1, keepdims=True)  # one dot per column (i, :, j)
    return top_data * (top_diff - dot)
    ### END SOLUTION


SOFTMAX = exercise(
    "softmax_backward",
    chapter="softmax_loss",
    signature="softmax_backward(top_data, top_diff) -> bottom_diff",
    statement=r"""
    Backpropagate through a softmax along axis 1: given its output `top_data` (N, C, ...)
    with any number of trailing spatial axes and the incoming gradient `top_diff` of the
    same shape, return `bottom_diff = top_data * (top_diff - sum_c top_data * top_diff)`,
    the sum taken over the classes of each column (Caffe's SoftmaxLayer::Backward_cpu,
    article section 7) -- without building the C x C Jacobian.
    """,
    reference=softmax_backward,
    forbid=_forbid("softmax_backward", "ebm.layers:Softmax.backward", "ebm.reference:softmax_backward_blas"),
)


def _softmax_case(seed, shape):
    r = _rng(seed)
    return ref.softmax_forward(r.normal(size=shape)), r.normal(size=shape)


def _check_softmax(fn, seed, shape, rtol=1e-6, atol=1e-9):
    top_data, top_diff = _softmax_case(seed, shape)
    expect_close(
        fn(top_data, top_diff), ref.softmax_backward(top_data, top_diff), rtol=rtol, atol=atol, what="bottom_diff"
    )


@SOFTMAX.check("(N, C) = (3, 5)")
def _(fn):
    _check_softmax(fn, 20, (3, 5))


@SOFTMAX.check("(N, C, H, W) = (2, 3, 4, 2): the sum runs over the classes only")
def _(fn):
    _check_softmax(fn, 21, (2, 3, 4, 2))


@SOFTMAX.check("central differences of sum(top_diff * softmax(x)) agree")
def _(fn):
    r = _rng(22)
    x, top_diff = r.normal(size=(2, 4, 3)), r.normal(size=(2, 4, 3))
    got = fn(ref.softmax_forward(x), top_diff)
    expect_gradient(lambda z: np.sum(top_diff * ref.softmax_forward(z)), x, got, tol=1e-3, what="bottom_diff")


@SOFTMAX.check("three spatial axes (N, C, D, H, W) = (2, 3, 2, 2, 3)", hidden=True)
def _(fn):
    _check_softmax(fn, 23, (2, 3, 2, 2, 3))


@SOFTMAX.check("a single class (C = 1): zero gradient", hidden=True)
def _(fn):
    _check_softmax(fn, 24, (4, 1, 2))


def _no_dot(top_data, top_diff):
    return np.asarray(top_data) * np.asarray(top_diff)


@SOFTMAX.hint(
    "missing_dot_term",
    "you returned top_data * top_diff: the softmax couples the classes, "
    "so subtract the column's dot sum_c top_data * top_diff first (article section 7)",
    example=_no_dot,
)
def _(a):
    return is_close(a.got, _no_dot(a.args["top_data"], a.args["top_diff"]))


@SOFTMAX.hint(
    "diagonal_only",
    "only the Jacobian's diagonal p (1 - p) was used: every output depends on every input, J = diag(p) - p p^T",
    example=lambda top_data, top_diff: top_data * (1 - top_data) * top_diff,
)
def _(a):
    p, g = np.asarray(a.args["top_data"]), np.asarray(a.args["top_diff"])
    return is_close(a.got, p * (1 - p) * g)


@SOFTMAX.hint(
    "sum_over_wrong_axis",
    "the dot was summed over the wrong axis: sum over the class axis "
    "(axis 1) only, keeping every spatial position separate",
    example=lambda top_data, top_diff: top_data * (top_diff - (top_data * top_diff).sum(axis=-1, keepdims=True)),
)
def _(a):
    p, g = np.asarray(a.args["top_data"]), np.asarray(a.args["top_diff"])
    axes = [-1, 0, tuple(range(1, p.ndim))] + [(ax,) for ax in range(2, p.ndim)]
    return any(
        not is_close(a.expected, p * (g - (p * g).sum(axis=ax, keepdims=True)))
        and is_close(a.got, p * (g - (p * g).sum(axis=ax, keepdims=True)))
        for ax in axes
    )


SOFTMAX.hint(
    "wrong_sign",
    "the wrong sign: bottom_diff = top_data * (top_diff - dot), not top_data * (dot - top_diff)",
    example=lambda top_data, top_diff: -softmax_backward(top_data, top_diff),
)(_negated)


# =========================================================================== lecture 05's exercises


def nll_beta_grad(x, k, beta):
    ### BEGIN SOLUTION
    z = beta * np.asarray(x, dtype=np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()  # Softmax(beta x)
    p[k] -= 1  # d NLL / d z = p - onehot(k)
    return beta * p  # chain rule through z = beta x
    ### END SOLUTION


NLL_BETA = exercise(
    "nll_beta_grad",
    chapter="softmax_loss",
    signature="nll_beta_grad(x, k, beta) -> gradient",
    statement=r"""
    LeCun's Gibbs distribution has an inverse temperature $\beta$: $p = \mathrm{Softmax}(\beta x)$.
    For one column of logits `x` (C,), a label `k` and $\beta > 0$, return the gradient of
    $\mathrm{NLL}_\beta(x) = -\log \mathrm{Softmax}(\beta x)_k$ with respect to $x$ (shape (C,)).
    """,
    reference=nll_beta_grad,
    allow_ebm=True,  # lecture 05's solution builds on the core (softmax_loss_forward/backward)
)


def _nll_beta(x, k, beta):
    return ref.softmax_loss_forward((beta * x)[None, :], np.array([k]))[0]


def _check_against(loss, fn, seed, size, k, param, scale=1.0):
    """``fn(x, k, param)`` against central differences of ``loss(x, k, param)`` at a random ``x``."""
    x = _rng(seed).normal(scale=scale, size=size)
    expect_gradient(lambda z: loss(z, k, param), x, fn(x, k, param), tol=1e-3, step=1e-4)


def _check_nll_beta(fn, seed, size, k, beta):
    _check_against(_nll_beta, fn, seed, size, k, beta)


@NLL_BETA.check("central differences at beta = 1, label 0")
def _(fn):
    _check_nll_beta(fn, 60, 6, 0, 1.0)


@NLL_BETA.check("central differences at beta = 0.5 and beta = 3, label 5")
def _(fn):
    _check_nll_beta(fn, 61, 6, 5, 0.5)
    _check_nll_beta(fn, 61, 6, 5, 3.0)


@NLL_BETA.check("beta = 10 with two classes", hidden=True)
def _(fn):
    _check_nll_beta(fn, 62, 2, 1, 10.0)


def _column_hint(ex, key, message, wrong, *, right_at):
    """Register the mistake ``wrong(x, k, param)`` of a one-column gradient exercise.

    ``wrong`` is its own example; the hint fires when the answer is ``wrong``'s, except where
    the parameter is ``right_at``, the value at which the mistake gives the right gradient.
    """

    def detect(a):
        x, k, param = (a.args[p] for p in ex.parameters())
        return param != right_at and is_close(a.got, wrong(x, k, param), rtol=1e-4, atol=1e-6)

    ex.hint(key, message, example=wrong)(detect)


_column_hint(
    NLL_BETA,
    "missing_chain_rule",
    "the factor beta is missing: NLL depends on x through z = beta x, so d/dx = beta * (Softmax(beta x) - onehot(k))",
    lambda x, k, beta: nll_beta_grad(x, k, beta) / beta,
    right_at=1,
)
_column_hint(
    NLL_BETA,
    "beta_outside_softmax",
    "beta belongs inside the softmax: the gradient is "
    "beta * (Softmax(beta x) - onehot(k)), not beta * (Softmax(x) - onehot(k))",
    lambda x, k, beta: beta * nll_beta_grad(x, k, 1.0),
    right_at=1,
)


def smoothed_grad(x, k, eps):
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    p = np.exp(x - x.max())
    p /= p.sum()
    t = np.full(x.size, eps / x.size)  # the smoothed target
    t[k] += 1 - eps
    return p - t  # (1)-(2) with the target t in place of onehot(k)
    ### END SOLUTION


SMOOTHED = exercise(
    "smoothed_grad",
    chapter="softmax_loss",
    signature="smoothed_grad(x, k, eps) -> gradient",
    statement=r"""
    Label smoothing replaces the one-hot target by $t = (1-\varepsilon)\,\mathrm{onehot}(k) +
    \varepsilon / C$ and the loss by the cross-entropy $-\sum_c t_c \log p_c$ with
    $p = \mathrm{Softmax}(x)$. For one column of logits `x` (C,), return the gradient with
    respect to `x` (shape (C,)).
    """,
    reference=smoothed_grad,
    allow_ebm=True,  # lecture 05's solution builds on the core (softmax_loss_forward/backward)
)


def _smoothed_loss(x, k, eps):
    t = np.full(x.size, eps / x.size)
    t[k] += 1 - eps
    return -(t * (x - logsumexp(x))).sum()


def _check_smoothed(fn, seed, size, k, eps):
    _check_against(_smoothed_loss, fn, seed, size, k, eps, scale=3.0)


@SMOOTHED.check("central differences at eps = 0.1")
def _(fn):
    _check_smoothed(fn, 70, 5, 3, 0.1)


@SMOOTHED.check("eps = 0 is the plain softmax-with-loss gradient")
def _(fn):
    x = _rng(71).normal(size=5)
    expect_close(fn(x, 2, 0.0), ref.softmax_loss_backward(ref.softmax_forward(x[None, :]), [2])[0], what="gradient")


@SMOOTHED.check("eps = 0.5 with 8 classes", hidden=True)
def _(fn):
    _check_smoothed(fn, 72, 8, 0, 0.5)


_column_hint(
    SMOOTHED,
    "smoothing_not_spread",
    "the eps/C part of the target is missing: every class gets "
    "eps / C, so subtract it from every p_c (and 1 - eps more at the label)",
    lambda x, k, eps: smoothed_grad(x, k, eps) + eps / np.size(x),
    right_at=0,
)
_column_hint(
    SMOOTHED,
    "plain_onehot",
    "this is the gradient for the one-hot target: with smoothing the target is t = (1 - eps) onehot(k) + eps / C",
    lambda x, k, eps: smoothed_grad(x, k, 0.0),
    right_at=0,
)
