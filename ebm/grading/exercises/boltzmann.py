"""Exercises of chapter 02, Boltzmann machines (Ackley, Hinton & Sejnowski 1985).

The oracles do not share the formulas asked for: the probability of a unit is
computed from the Boltzmann distribution over its two states (``exp(-E/T)``
normalised with ``logaddexp``), and the Gibbs sampling update from the full energy of
the network with the unit off and on.
"""

from __future__ import annotations

import numpy as np

from ebm._math import sigmoid
from ebm.grading import exercise, expect_close, expect_true, is_close


def _two_state_probability(net, T):
    """P(on) from the Boltzmann distribution over {off: E = 0, on: E = -net}."""
    z = np.asarray(net, dtype=np.float64) / T
    return np.exp(z - np.logaddexp(0.0, z))


# =========================================================================== unit_probability


def unit_probability(net, T):
    ### BEGIN SOLUTION
    z = np.asarray(net, dtype=np.float64) / T
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))  # exp(-z) <= 1: no overflow
    e = np.exp(z[~pos])  # exp(z) < 1: no overflow, full precision
    out[~pos] = e / (1.0 + e)
    return out
    ### END SOLUTION


UNIT = exercise(
    "unit_probability",
    chapter="boltzmann",
    signature="unit_probability(net, T) -> ndarray",
    statement=r"""
    Write `unit_probability(net, T)`: the probability that a stochastic unit with energy gap
    `net` ($\Delta E_k$) is on at temperature $T > 0$,
    $P(s_k = 1) = 1/(1 + e^{-\Delta E_k/T})$, for an array `net` (return an array of the same
    shape). It must be right to full relative precision for any magnitude, with no overflow
    warning and no NaN: $\Delta E = \pm 1000$ at $T = 0.25$ included.
    """,
    reference=unit_probability,
    forbid=("ebm.boltzmann.unit:unit_probability", "ebm.boltzmann.unit:unit_probability_via_softmax"),
)


@UNIT.check("moderate gaps at T = 1 and T = 2")
def _(fn):
    net = np.linspace(-6.0, 6.0, 13)
    for T in (1.0, 2.0):
        expect_close(fn(net, T), _two_state_probability(net, T), rtol=1e-12, atol=0, what=f"P(on) at T={T:g}")


@UNIT.check("huge gaps: +-40, +-1000 at T = 0.25 (no NaN, no overflow, full relative precision)", points=2)
def _(fn):
    net = np.array([-1000.0, -40.0, -10.0, 10.0, 40.0, 1000.0])
    got = fn(net, 0.25)
    warned = [w for w in getattr(getattr(fn, "last", None), "warnings", []) if "overflow" in w.lower()]
    expect_true(
        not warned, f"computing P(on) raised {warned[0] if warned else ''}: never call exp on a large positive number"
    )
    expect_close(got, _two_state_probability(net, 0.25), rtol=1e-12, atol=0, what="P(on) at T=0.25")


@UNIT.check("T = 10 on a (3, 4) array keeps the shape", hidden=True)
def _(fn):
    net = np.random.default_rng(5).normal(0, 30, (3, 4))
    expect_close(fn(net, 10.0), _two_state_probability(net, 10.0), rtol=1e-12, atol=0, what="P(on) at T=10")


@UNIT.hint(
    "forgot_temperature",
    "the temperature is missing: divide the energy gap by T, sigma(net / T)",
    example=lambda net, T: sigmoid(net),
)
def _(a):
    return a.args["T"] != 1 and is_close(a.got, sigmoid(a.args["net"]))


@UNIT.hint(
    "times_temperature",
    "multiplied by T: the temperature divides the gap, sigma(net / T)",
    example=lambda net, T: sigmoid(np.asarray(net) * T),
)
def _(a):
    return a.args["T"] != 1 and is_close(a.got, sigmoid(np.asarray(a.args["net"]) * a.args["T"]))


@UNIT.hint(
    "wrong_sign",
    "this is P(off): the unit is on with 1 / (1 + exp(-net / T)), note the minus",
    example=lambda net, T: 1.0 - unit_probability(net, T),
)
def _(a):
    return is_close(a.got, 1.0 - np.asarray(a.expected))


def _naive_overflow(net, T):
    z = np.asarray(net, dtype=np.float64) / T
    return np.exp(z) / (1.0 + np.exp(z))


@UNIT.hint(
    "overflow",
    "exp overflowed (inf / inf = NaN, or a warning): for z >= 0 use 1 / (1 + exp(-z)), "
    "for z < 0 use exp(z) / (1 + exp(z)), so exp only sees non-positive numbers",
    example=_naive_overflow,
)
def _(a):
    got = np.asarray(a.got, dtype=np.float64) if a.got is not None else None
    nan = got is not None and got.dtype.kind == "f" and np.isnan(got).any()
    return nan or any("overflow" in w.lower() for w in a.warnings)


def _cancelled(net, T):
    z = np.asarray(net, dtype=np.float64) / T
    return 1.0 - 1.0 / (1.0 + np.exp(np.minimum(z, 700.0)))


@UNIT.hint(
    "cancellation",
    "a tiny probability came out as 0 or lost its digits: 1 - (something close to 1) "
    "cancels; compute exp(z) / (1 + exp(z)) directly for z < 0",
    example=_cancelled,
)
def _(a):
    got, exp = np.asarray(a.got, dtype=np.float64), np.asarray(a.expected, dtype=np.float64)
    small = (exp > 0) & (exp < 1e-8)
    return (
        bool(small.any())
        and not np.isnan(got).any()
        and bool((np.abs(got[small] - exp[small]) > 1e-3 * exp[small]).any())
    )


# =========================================================================== gibbs_sampling_update


def gibbs_sampling_update(W, theta, s, k, T, u):
    ### BEGIN SOLUTION
    delta_e = W[k] @ s - theta[k]  # energy gap of unit k (the diagonal is 0)
    z = delta_e / T
    p_on = 1.0 / (1.0 + np.exp(-z)) if z >= 0 else np.exp(z) / (1.0 + np.exp(z))
    new = np.array(s, copy=True)
    new[k] = 1 if u < p_on else 0
    return new
    ### END SOLUTION


UPDATE = exercise(
    "gibbs_sampling_update",
    chapter="boltzmann",
    signature="gibbs_sampling_update(W, theta, s, k, T, u) -> ndarray",
    statement=r"""
    Write `gibbs_sampling_update(W, theta, s, k, T, u)`: one Gibbs sampling update of unit `k` of
    the 0/1 state `s` of a Boltzmann machine with energy $E(s) = -\frac12 s^\top W s + \theta^\top s$
    ($W$ symmetric, zero diagonal) at temperature `T`. The unit turns on with probability
    $p_k = \sigma(\Delta E_k / T)$, $\Delta E_k = \sum_j W_{kj} s_j - \theta_k$; `u` is a uniform
    random number in $[0, 1)$: set $s_k = 1$ if `u < p_k`, else 0. Return the new state as a new
    array (do not modify `s`); the other units are unchanged.
    """,
    reference=gibbs_sampling_update,
    forbid=(
        "ebm.boltzmann.machine:BoltzmannMachine.sample",
        "ebm.boltzmann.machine:BoltzmannMachine._run",
        "ebm.boltzmann.machine:sampling_reference",
        "ebm.boltzmann.machine:BoltzmannMachine.conditional_probability",
    ),
)


def _machine(seed, n, scale=1.0):
    r = np.random.default_rng(seed)
    W = np.triu(r.normal(0, scale, (n, n)), 1)
    return W + W.T, r.normal(0, scale, n), r.integers(0, 2, n).astype(np.int64)


def _expected_update(W, theta, s, k, T, u):
    """From the full energy: p_on = 1 / (1 + exp(-(E(off) - E(on)) / T))."""
    on, off = np.array(s, dtype=np.float64), np.array(s, dtype=np.float64)
    on[k], off[k] = 1, 0
    energy = lambda v: -0.5 * v @ W @ v + theta @ v
    p_on = float(_two_state_probability(energy(off) - energy(on), T))
    new = np.array(s, copy=True)
    new[k] = 1 if u < p_on else 0
    return new


#: The random numbers u every check tries for every unit (the hints replay the same grid).
_US = np.linspace(0.05, 0.95, 10)


def _decisions(W, theta, s, T, rule):
    """s_k after the update, for every unit k (rows) and every u of _US (columns)."""
    return np.array([[rule(W, theta, s, k, T, u)[k] for u in _US] for k in range(len(s))])


def _check_updates(fn, W, theta, s, T):
    table = np.empty((len(s), _US.size))
    for k in range(len(s)):
        for i, u in enumerate(_US):
            new = np.asarray(fn(W, theta, s, k, T, float(u)))
            expect_true(
                new.shape == np.shape(s),
                f"gibbs_sampling_update must return the new state, shape {np.shape(s)}; got shape {new.shape}",
            )
            expect_close(np.delete(new, k), np.delete(s, k), rtol=0, atol=0, what=f"the other units (k={k}, u={u:g})")
            table[k, i] = new[k]
    expect_close(
        table,
        _decisions(W, theta, s, T, _expected_update),
        rtol=0,
        atol=0,
        what="s_k after the update [unit k, u index]",
    )


@UPDATE.check("every unit of a 6-unit machine at T = 1, u on a grid")
def _(fn):
    W, theta, s = _machine(1, 6)
    _check_updates(fn, W, theta, s, 1.0)


@UPDATE.check("a hot (T = 4) and a cold (T = 0.2) machine")
def _(fn):
    W, theta, s = _machine(2, 6)
    for T in (4.0, 0.2):
        _check_updates(fn, W, theta, s, T)


@UPDATE.check("a 30-unit machine, strong weights", hidden=True)
def _(fn):
    W, theta, s = _machine(3, 30, scale=3.0)
    _check_updates(fn, W, theta, s, 1.5)


def _variant_rule(gap=None, compare=None, scale=1.0):
    """gibbs_sampling_update with one mistake: a different gap, comparison or scale of the gap."""

    def rule(W, theta, s, k, T, u):
        W = np.asarray(W, dtype=np.float64)
        theta = np.asarray(theta, dtype=np.float64)
        sf = np.asarray(s, dtype=np.float64)
        d = (W[k] @ sf - theta[k]) if gap is None else gap(W, theta, sf, k)
        p = float(_two_state_probability(scale * d, T))
        new = np.array(s, copy=True)
        new[k] = 1 if (compare or (lambda u, p: u < p))(u, p) else 0
        return new

    return rule


def _table_matches(a, rule):
    """The failed comparison was the decision table and the mistake reproduces it exactly."""
    if not (isinstance(a.what, str) and a.what.startswith("s_k after")):
        return False
    W, theta, s, T = (a.args[k] for k in ("W", "theta", "s", "T"))
    return is_close(a.got, _decisions(W, theta, s, T, rule))


def _rule_hint(key, message, rule):
    """Register the mistake ``rule`` (a whole wrong update): it is its own example, and the
    hint fires when it reproduces the failed decision table exactly."""
    UPDATE.hint(key, message, example=rule)(lambda a: _table_matches(a, rule))


_rule_hint(
    "threshold_sign",
    "the threshold has the wrong sign: E has +theta^T s, so the gap is sum_j W_kj s_j - theta_k",
    _variant_rule(gap=lambda W, theta, s, k: W[k] @ s + theta[k]),
)
_rule_hint(
    "inverted_comparison",
    "the comparison is reversed: the unit turns on when u < p_k (u > p_k turns it on with probability 1 - p_k)",
    _variant_rule(compare=lambda u, p: u > p),
)
_rule_hint(
    "bipolar_formula",
    "sigma(2 dE / T) is the formula for +-1 units; 0/1 units use sigma(dE / T)",
    _variant_rule(scale=2.0),
)


@UPDATE.hint(
    "returned_probability",
    "return the new state (an array of 0/1), not the probability p_k",
    example=lambda W, theta, s, k, T, u: float(
        _two_state_probability(np.asarray(W)[k] @ np.asarray(s, float) - theta[k], T)
    ),
)
def _(a):
    return a.result is not None and np.ndim(a.result) == 0
