"""Exercises of chapter 01, Hopfield 1982 (and the modern Hopfield bridge).

The oracles are independent of the formulas asked for: the full energy
``E(s) = -1/2 s^T W s - b^T s`` evaluated before and after a flip, central
differences of the modern energy, and the modern update computed from its
definition.
"""

from __future__ import annotations

import numpy as np

from ebm import reference as ref
from ebm._math import logsumexp
from ebm.grading import exercise, expect_close, expect_gradient, is_close


def _energy(W, b, s):
    s = np.asarray(s, dtype=np.float64)
    return -0.5 * s @ W @ s - b @ s


def _network(seed, n, diagonal="positive"):
    r = np.random.default_rng(seed)
    A = r.normal(size=(n, n))
    W = (A + A.T) / 2
    if diagonal == "positive":
        np.fill_diagonal(W, np.abs(np.diag(W)))
    elif diagonal == "zero":
        np.fill_diagonal(W, 0.0)
    return W, r.normal(size=n), r.choice([-1, 1], size=n)


# =========================================================================== flip_delta


def flip_delta(W, b, s, i):
    ### BEGIN SOLUTION
    h = W[i] @ s - W[i, i] * s[i] + b[i]  # the local field, without the self-coupling
    return float(2.0 * s[i] * h)  # E(s') - E(s) = -2 s'_i h_i = 2 s_i h_i
    ### END SOLUTION


FLIP = exercise(
    "flip_delta",
    chapter="hopfield",
    signature="flip_delta(W, b, s, i) -> float",
    statement=r"""
    Write `flip_delta(W, b, s, i)`: the change $E(s') - E(s)$ of the Hopfield energy
    $E(s) = -\frac12 s^\top W s - b^\top s$ when unit $i$ of the bipolar state $s$ is flipped
    ($s'_i = -s_i$), using only row $i$ of $W$ -- O(N), no full energy. $W$ is symmetric and
    its diagonal need not be zero. Do not modify `s`.
    """,
    reference=flip_delta,
)


def _check_flips(fn, W, b, s, units):
    for i in units:
        t = s.copy()
        t[i] = -t[i]
        expect_close(fn(W, b, s, int(i)), _energy(W, b, t) - _energy(W, b, s), what=f"flip_delta(i={i})")


@FLIP.check("every unit of a 12-unit network with zero diagonal")
def _(fn):
    W, b, s = _network(30, 12, diagonal="zero")
    _check_flips(fn, W, b, s, range(12))


@FLIP.check("a non-zero diagonal does not enter the change")
def _(fn):
    W, b, s = _network(31, 10)
    _check_flips(fn, W, b, s, range(10))


@FLIP.check("a 300-unit network, 20 random units", hidden=True)
def _(fn):
    W, b, s = _network(32, 300)
    _check_flips(fn, W, b, s, np.random.default_rng(33).choice(300, size=20, replace=False))


@FLIP.check("biases only (W = 0)", hidden=True)
def _(fn):
    _, b, s = _network(34, 6)
    _check_flips(fn, np.zeros((6, 6)), b, s, range(6))


def _flip_parts(a):
    W = np.asarray(a.args["W"], dtype=np.float64)
    b = np.asarray(a.args["b"], dtype=np.float64)
    s = np.asarray(a.args["s"], dtype=np.float64)
    i = int(a.args["i"])
    return W, b, s, i


@FLIP.hint(
    "wrong_sign",
    "the wrong sign: the change is E(s') - E(s), the energy after the flip minus "
    "before (it is negative when the flip lowers the energy)",
    example=lambda W, b, s, i: -flip_delta(W, b, s, i),
)
def _(a):
    return a.expected is not None and np.asarray(a.expected) != 0 and is_close(a.got, -np.asarray(a.expected))


@FLIP.hint(
    "included_diagonal",
    "W[i, i] was included in the field: the self-coupling term "
    "-1/2 W_ii s_i^2 does not change when s_i flips, so leave W[i, i] out of h_i",
    example=lambda W, b, s, i: float(2.0 * s[i] * (W[i] @ s + b[i])),
)
def _(a):
    W, b, s, i = _flip_parts(a)
    return W[i, i] != 0 and is_close(a.got, 2.0 * s[i] * (W[i] @ s + b[i]))


@FLIP.hint(
    "missing_factor_two",
    "half the change: flipping s_i changes it by 2 s_i, so the change is 2 s_i h_i",
    example=lambda W, b, s, i: flip_delta(W, b, s, i) / 2,
)
def _(a):
    return is_close(a.got, np.asarray(a.expected) / 2)


@FLIP.hint(
    "ignored_bias",
    "the bias is missing: the local field is h_i = sum_j W_ij s_j + b_i",
    example=lambda W, b, s, i: float(2.0 * s[i] * (W[i] @ s - W[i, i] * s[i])),
)
def _(a):
    W, b, s, i = _flip_parts(a)
    return b[i] != 0 and is_close(a.got, 2.0 * s[i] * (W[i] @ s - W[i, i] * s[i]))


# =========================================================================== hebb_weights


def hebb_weights(patterns):
    ### BEGIN SOLUTION
    xi = np.asarray(patterns, dtype=np.float64)  # (p, N), one pattern per row
    W = xi.T @ xi / xi.shape[1]  # (1/N) sum_mu xi^mu xi^mu^T
    np.fill_diagonal(W, 0.0)  # no self-coupling
    return W
    ### END SOLUTION


HEBB = exercise(
    "hebb_weights",
    chapter="hopfield",
    signature="hebb_weights(patterns) -> W",
    statement=r"""
    Write Hebb's rule: for bipolar patterns of shape (p, N) (one pattern per row) return
    $W = \frac1N \sum_\mu \xi^\mu \xi^{\mu\top}$ of shape (N, N), with a zero diagonal.
    """,
    reference=hebb_weights,
    forbid=("ebm.hopfield.rules:hebb_weights", "ebm.hopfield.network:HopfieldNetwork.from_patterns"),
)


def _patterns(seed, p, n):
    return np.random.default_rng(seed).choice([-1, 1], size=(p, n))


def _hebb_oracle(xi):
    p, n = xi.shape
    W = np.zeros((n, n))
    for mu in range(p):  # element by element, the definition
        for i in range(n):
            for j in range(n):
                if i != j:
                    W[i, j] += xi[mu, i] * xi[mu, j] / n
    return W


@HEBB.check("three patterns of 8 units")
def _(fn):
    xi = _patterns(40, 3, 8)
    expect_close(fn(xi), _hebb_oracle(xi), what="W")


@HEBB.check("each stored pattern is a fixed point of sign(W xi) at low load")
def _(fn):
    xi = _patterns(41, 2, 40)
    W = np.asarray(fn(xi), dtype=np.float64)
    expect_close(W, _hebb_oracle(xi), what="W")
    expect_close(np.sign(W @ xi.T).T, xi, what="sign(W xi)")


@HEBB.check("one pattern of 5 units", hidden=True)
def _(fn):
    xi = _patterns(42, 1, 5)
    expect_close(fn(xi), _hebb_oracle(xi), what="W")


@HEBB.check("twenty patterns of 30 units", hidden=True)
def _(fn):
    xi = _patterns(43, 20, 30)
    expect_close(fn(xi), _hebb_oracle(xi), what="W")


@HEBB.hint(
    "diagonal_not_zeroed",
    "the diagonal is not zero: set W[i, i] = 0 (np.fill_diagonal(W, 0))",
    example=lambda patterns: np.asarray(patterns).T @ np.asarray(patterns) / np.shape(patterns)[1],
)
def _(a):
    xi = np.asarray(a.args["patterns"], dtype=np.float64)
    return is_close(a.got, xi.T @ xi / xi.shape[1])


@HEBB.hint(
    "divided_by_p",
    "divided by the number of patterns p: Hebb's rule divides by the number of units N",
    example=lambda patterns: hebb_weights(patterns) * np.shape(patterns)[1] / np.shape(patterns)[0],
)
def _(a):
    p, n = np.shape(a.args["patterns"])
    return p not in (1, n) and is_close(a.got, np.asarray(a.expected) * n / p)


@HEBB.hint(
    "missing_normalizer",
    "N times too large: divide the sum of outer products by N",
    example=lambda patterns: hebb_weights(patterns) * np.shape(patterns)[1],
)
def _(a):
    return is_close(a.got, np.asarray(a.expected) * np.shape(a.args["patterns"])[1])


@HEBB.hint(
    "transposed_patterns",
    "the outer product has the wrong shape: patterns are rows, so "
    "W = patterns.T @ patterns (N x N), not patterns @ patterns.T (p x p)",
    example=lambda patterns: np.asarray(patterns) @ np.asarray(patterns).T / np.shape(patterns)[1],
)
def _(a):
    p, n = np.shape(a.args["patterns"])
    return p != n and np.shape(a.got) == (p, p)


# =========================================================================== modern_energy_grad


def modern_energy_grad(X, xi, beta):
    ### BEGIN SOLUTION
    z = beta * (X.T @ xi)
    p = np.exp(z - z.max())  # a stable softmax over the N patterns
    p /= p.sum()
    return xi - X @ p  # d/dxi [-lse + 1/2 xi^T xi] = xi - X softmax(beta X^T xi)
    ### END SOLUTION


MODERN = exercise(
    "modern_energy_grad",
    chapter="hopfield",
    signature="modern_energy_grad(X, xi, beta) -> gradient",
    statement=r"""
    The modern Hopfield energy (Ramsauer et al. 2020) of a query $\xi$ (d,) with patterns as
    the columns of $X$ (d, N) is
    $E(\xi) = -\beta^{-1}\log\sum_n e^{\beta x_n^\top\xi} + \frac12\xi^\top\xi + \text{const}$.
    Return $\nabla_\xi E$ (shape (d,)). Then $\xi - \nabla E = X\,\mathrm{softmax}(\beta X^\top\xi)$
    is exactly the update. It must stay finite for large $\beta X^\top \xi$.
    """,
    reference=modern_energy_grad,
    forbid=("ebm.hopfield.modern:modern_update", "ebm.hopfield.modern:modern_retrieval_loss"),
    allow_ebm=True,  # lecture 01's solution uses the core's softmax: allowed, not the update itself
)


def _modern_energy(X, xi, beta):
    return -logsumexp(beta * (X.T @ xi)) / beta + 0.5 * xi @ xi


def _modern_case(seed, d=6, n=4, scale=1.0):
    r = np.random.default_rng(seed)
    return scale * r.normal(size=(d, n)), scale * r.normal(size=d)


@MODERN.check("central differences of the energy at beta = 1")
def _(fn):
    X, xi = _modern_case(50)
    expect_gradient(lambda z: _modern_energy(X, z, 1.0), xi, fn(X, xi, 1.0), tol=1e-3, step=1e-4)


@MODERN.check("xi - grad E is the update X softmax(beta X^T xi), beta in (0.5, 4)")
def _(fn):
    X, xi = _modern_case(51)
    for beta in (0.5, 4.0):
        update = X @ ref.softmax_forward(beta * (X.T @ xi), axis=0)
        expect_close(fn(X, xi, beta), xi - update, what=f"grad (beta={beta})")


@MODERN.check("large beta * X^T xi (beta = 50, patterns of norm ~ 10) stays finite", hidden=True)
def _(fn):
    X, xi = _modern_case(54, scale=4.0)  # max of beta X^T xi is 1431: exp overflows
    update = X @ ref.softmax_forward(50.0 * (X.T @ xi), axis=0)
    expect_close(fn(X, xi, 50.0), xi - update, what="grad")


@MODERN.check("central differences at beta = 0.2 with 10 patterns in 3 dimensions", hidden=True)
def _(fn):
    X, xi = _modern_case(53, d=3, n=10)
    expect_gradient(lambda z: _modern_energy(X, z, 0.2), xi, fn(X, xi, 0.2), tol=1e-3, step=1e-4)


def _naive_modern(X, xi, beta):
    e = np.exp(beta * (X.T @ xi))
    return xi - X @ (e / e.sum())


@MODERN.hint(
    "no_max_subtraction",
    "overflow: subtract the max of beta X^T xi before exp (the softmax does not change, exp no longer overflows)",
    example=_naive_modern,
)
def _(a):
    z = a.args["beta"] * (np.asarray(a.args["X"]).T @ np.asarray(a.args["xi"]))
    got = np.asarray(a.got if a.got is not None else a.result, dtype=np.float64)
    return z.max() > 700 and not np.all(np.isfinite(got))


@MODERN.hint(
    "wrong_sign",
    "the wrong sign: the gradient is xi - X softmax(beta X^T xi); a step against it, xi - grad, must be the update",
    example=lambda X, xi, beta: -modern_energy_grad(X, xi, beta),
)
def _(a):
    X, xi, beta = np.asarray(a.args["X"]), np.asarray(a.args["xi"]), a.args["beta"]
    return is_close(a.got, -modern_energy_grad(X, xi, beta), rtol=1e-4, atol=1e-6)


@MODERN.hint(
    "missing_xi_term",
    "the 1/2 xi^T xi term is missing: its gradient xi must be added to -X softmax(beta X^T xi)",
    example=lambda X, xi, beta: modern_energy_grad(X, xi, beta) - xi,
)
def _(a):
    X, xi, beta = np.asarray(a.args["X"]), np.asarray(a.args["xi"]), a.args["beta"]
    return is_close(a.got, modern_energy_grad(X, xi, beta) - xi)


@MODERN.hint(
    "beta_outside_softmax",
    "beta belongs inside the softmax: d lse(beta, X^T xi)/d xi = "
    "X softmax(beta X^T xi), not X softmax(X^T xi) (or beta X softmax(...))",
    example=lambda X, xi, beta: modern_energy_grad(X, xi, 1.0),
)
def _(a):
    X, xi, beta = np.asarray(a.args["X"]), np.asarray(a.args["xi"]), a.args["beta"]
    if beta == 1:
        return False
    p1 = ref.softmax_forward(X.T @ xi, axis=0)
    pb = ref.softmax_forward(beta * (X.T @ xi), axis=0)
    return is_close(a.got, xi - X @ p1) or is_close(a.got, xi - beta * (X @ pb))
