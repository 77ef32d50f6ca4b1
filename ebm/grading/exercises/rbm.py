"""Exercises of chapter 03, the restricted Boltzmann machine (Smolensky 1986; article §3).

The oracles do not share the formulas asked for: the free energy is checked against
``-log sum_h exp(-E(v, h))`` over every hidden state, and ``log Z`` against the
log-sum-exp of ``-E`` over every *joint* state ``(v, h)``, both from the energy itself.
"""

from __future__ import annotations

import numpy as np

from ebm._math import logsumexp, softplus
from ebm._states import all_states
from ebm.grading import exercise, expect_close, is_close


def _states(n):
    return all_states(n, np.float64)


def _minus_energies(W, b, c, V, H):
    """-E(v, h) for every row of V (axis 0) and every row of H (axis 1)."""
    return (V @ b)[:, None] + (H @ c)[None, :] + V @ W @ H.T


def _model(seed, n_v, n_h, scale=1.0):
    r = np.random.default_rng(seed)
    return r.normal(0, scale, (n_v, n_h)), r.normal(0, scale, n_v), r.normal(0, scale, n_h)


# =========================================================================== rbm_free_energy


def rbm_free_energy(W, b, c, V):
    ### BEGIN SOLUTION
    x = c + V @ W  # (M, n_h): each hidden unit's input
    softplus = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))  # log(1 + e^x), never overflows
    return -(V @ b) - softplus.sum(axis=1)
    ### END SOLUTION


FREE = exercise(
    "rbm_free_energy",
    chapter="rbm",
    signature="rbm_free_energy(W, b, c, V) -> F",
    statement=r"""
    Write `rbm_free_energy(W, b, c, V)`: the free energy of every row $v$ of the 0/1 matrix `V`
    (shape $(M, n_v)$) of an RBM with weights `W` $(n_v, n_h)$, visible bias `b` and hidden bias
    `c`, whose energy is $E(v, h) = -b^\top v - c^\top h - v^\top W h$:

    $$F(v) = -\log \sum_h e^{-E(v, h)} = -b^\top v - \sum_j \operatorname{softplus}\big(c_j + (v^\top W)_j\big),
    \qquad \operatorname{softplus}(x) = \log(1 + e^x).$$

    Return an array of shape $(M,)$. It must stay finite for inputs to a hidden unit of $\pm 1000$.
    """,
    reference=rbm_free_energy,
    forbid=("ebm.rbm.model:RBM.free_energy", "ebm.rbm.classrbm:ClassRBM.free_energy"),
)


def _free_energy_by_enumeration(W, b, c, V):
    return -logsumexp(_minus_energies(W, b, c, V, _states(W.shape[1])), axis=1)


@FREE.check("every state of a 5 x 3 RBM, against -log sum_h exp(-E(v, h))")
def _(fn):
    W, b, c = _model(0, 5, 3)
    V = _states(5)
    expect_close(fn(W, b, c, V), _free_energy_by_enumeration(W, b, c, V), rtol=1e-10, atol=1e-10, what="F(v)")


@FREE.check("strong weights: inputs to the hidden units beyond +-1000", points=2)
def _(fn):
    W, b, c = _model(1, 6, 4, scale=400.0)
    V = _states(6)[::3]
    expect_close(fn(W, b, c, V), _free_energy_by_enumeration(W, b, c, V), rtol=1e-10, atol=1e-8, what="F(v)")


@FREE.check("a 20 x 8 RBM on 30 random binary rows", hidden=True)
def _(fn):
    W, b, c = _model(2, 20, 8, scale=0.7)
    V = (np.random.default_rng(3).random((30, 20)) < 0.4).astype(np.float64)
    expect_close(fn(W, b, c, V), _free_energy_by_enumeration(W, b, c, V), rtol=1e-10, atol=1e-10, what="F(v)")


@FREE.hint(
    "wrong_sign",
    "this is -F(v): the free energy is MINUS log sum_h exp(-E), F(v) = -b^T v - sum_j softplus(c_j + (v^T W)_j)",
    example=lambda W, b, c, V: -rbm_free_energy(W, b, c, V),
)
def _(a):
    return is_close(a.got, -np.asarray(a.expected))


@FREE.hint(
    "missing_visible_bias",
    "the visible term -b^T v is missing: it does not depend on h, so it comes out of the sum over h unchanged",
    example=lambda W, b, c, V: -softplus(c + V @ W).sum(axis=1),
)
def _(a):
    W, c, V = a.args["W"], a.args["c"], a.args["V"]
    return is_close(a.got, -softplus(c + V @ W).sum(axis=1))


@FREE.hint(
    "missing_hidden_bias",
    "the hidden bias c is missing inside the softplus: each hidden unit's input is c_j + (v^T W)_j",
    example=lambda W, b, c, V: -(V @ b) - softplus(V @ W).sum(axis=1),
)
def _(a):
    W, b, V = a.args["W"], a.args["b"], a.args["V"]
    return is_close(a.got, -(V @ b) - softplus(V @ W).sum(axis=1))


def _naive_free_energy(W, b, c, V):
    with np.errstate(over="ignore"):
        return -(V @ b) - np.log(1.0 + np.exp(c + V @ W)).sum(axis=1)


@FREE.hint(
    "overflow",
    "exp overflowed: log(1 + exp(x)) is inf for x > 709; write softplus(x) = max(x, 0) + log1p(exp(-|x|))",
    example=_naive_free_energy,
)
def _(a):
    got = np.asarray(a.got if a.got is not None else 0.0, dtype=np.float64)
    return (not np.isfinite(got).all()) or any("overflow" in w.lower() for w in a.warnings)


# =========================================================================== rbm_log_partition


def rbm_log_partition(W, b, c):
    ### BEGIN SOLUTION
    n_h = W.shape[1]
    H = ((np.arange(2**n_h)[:, None] >> np.arange(n_h)) & 1).astype(np.float64)  # every h
    x = b + H @ W.T  # (2^n_h, n_v): each visible unit's input
    terms = H @ c + (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).sum(axis=1)
    m = terms.max()
    return float(m + np.log(np.sum(np.exp(terms - m))))  # log-sum-exp: Z itself may overflow
    ### END SOLUTION


LOGZ = exercise(
    "rbm_log_partition",
    chapter="rbm",
    signature="rbm_log_partition(W, b, c) -> float",
    statement=r"""
    Write `rbm_log_partition(W, b, c)`: $\log Z$ of a small RBM ($n_h \le 12$), by enumerating
    every hidden state and summing the visible layer out analytically:

    $$\log Z = \log \sum_h \exp\Big(c^\top h + \sum_i \operatorname{softplus}\big(b_i + (W h)_i\big)\Big).$$

    Return a float. $Z$ itself can be far beyond the float range (weights of $\pm 200$): compute the
    log-sum-exp stably (subtract the largest term before `exp`).
    """,
    reference=rbm_log_partition,
    forbid=(
        "ebm.rbm.partition:log_partition_exact",
        "ebm.rbm.model:RBM.log_partition",
        "ebm.rbm.partition:joint_distribution",
    ),
)


def _log_z_joint(W, b, c):
    """log-sum-exp of -E over every joint state (v, h): no layer summed out."""
    return logsumexp(_minus_energies(W, b, c, _states(W.shape[0]), _states(W.shape[1])))


@LOGZ.check("zero parameters: Z counts the 2^(n_v + n_h) states")
def _(fn):
    W, b, c = np.zeros((4, 3)), np.zeros(4), np.zeros(3)
    expect_close(fn(W, b, c), 7 * np.log(2.0), rtol=1e-12, atol=1e-12, what="log Z")


@LOGZ.check("a 6 x 4 RBM, against log-sum-exp over all 1,024 joint states")
def _(fn):
    W, b, c = _model(4, 6, 4)
    expect_close(fn(W, b, c), _log_z_joint(W, b, c), rtol=1e-10, atol=1e-10, what="log Z")


@LOGZ.check("weights of +-200: Z = e^1069.5 overflows a float, log Z does not", points=2)
def _(fn):
    W, b, c = _model(5, 6, 3, scale=200.0)
    expect_close(fn(W, b, c), _log_z_joint(W, b, c), rtol=1e-10, atol=1e-8, what="log Z")


@LOGZ.check("an 8 x 10 RBM (more hidden than visible units)", hidden=True)
def _(fn):
    W, b, c = _model(6, 8, 10, scale=0.8)
    expect_close(fn(W, b, c), _log_z_joint(W, b, c), rtol=1e-10, atol=1e-10, what="log Z")


@LOGZ.hint(
    "returned_Z",
    "that is Z, not log Z: return the logarithm",
    example=lambda W, b, c: float(np.exp(rbm_log_partition(W, b, c))),
)
def _(a):
    return a.expected is not None and float(a.expected) < 700 and is_close(a.got, np.exp(float(a.expected)))


def _naive_log_z(W, b, c):
    with np.errstate(over="ignore"):
        n_h = W.shape[1]
        H = _states(n_h)
        x = b + H @ W.T
        return float(np.log(np.sum(np.exp(H @ c) * np.prod(1.0 + np.exp(x), axis=1))))


@LOGZ.hint(
    "overflow",
    "Z overflowed to inf: work in log space, softplus for each visible unit and a "
    "log-sum-exp (subtract the max) over the hidden states",
    example=_naive_log_z,
)
def _(a):
    return (a.got is not None and not np.isfinite(np.asarray(a.got, dtype=np.float64)).all()) or any(
        "overflow" in w.lower() for w in a.warnings
    )


def _forgot_visible_bias(W, b, c):
    return rbm_log_partition(W, np.zeros_like(b), c)


@LOGZ.hint(
    "missing_visible_bias",
    "the visible bias is missing: summing v out gives softplus(b_i + (W h)_i) for each visible unit",
    example=_forgot_visible_bias,
)
def _(a):
    return is_close(a.got, _forgot_visible_bias(a.args["W"], a.args["b"], a.args["c"]))


def _hidden_sum_only(W, b, c):
    H = _states(W.shape[1])
    return logsumexp(H @ c + H @ W.T @ np.zeros(W.shape[0]))


@LOGZ.hint(
    "visible_layer_not_summed",
    "the visible layer was not summed out: every hidden state's "
    "term needs sum_i softplus(b_i + (W h)_i), not just c^T h",
    example=_hidden_sum_only,
)
def _(a):
    return is_close(a.got, _hidden_sum_only(a.args["W"], a.args["b"], a.args["c"]))
