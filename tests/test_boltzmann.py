"""Boltzmann 1985 (ebm.boltzmann): each check against an independent oracle.

Oracles: exact enumeration of the Boltzmann distribution, the plain-NumPy twin of
the Numba Gibbs kernel, closed forms (sigmoid, softplus), central differences
(ebm.gradcheck), and the numbers of Ackley, Hinton & Sejnowski (1985).  Every check is shown
to reject a plausible wrong answer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ebm
from ebm import boltzmann as bz


def random_machine(n, seed, scale=1.0, T=1.0, **kw):
    rng = np.random.default_rng(seed)
    W = np.triu(rng.normal(0, scale, (n, n)), 1)
    return bz.BoltzmannMachine(W + W.T, rng.normal(0, scale, n), T, **kw)


def brute_force(bm):
    """p(s) by a plain loop over the states, independent of the library's enumeration."""
    n = bm.n_units
    weights = []
    for index in range(2**n):
        s = np.array([(index >> i) & 1 for i in range(n)], dtype=float)
        E = -sum(bm.W[i, j] * s[i] * s[j] for i in range(n) for j in range(i + 1, n)) + bm.theta @ s
        weights.append(math.exp(-E / bm.T))
    Z = sum(weights)
    return np.array(weights) / Z, math.log(Z)


# --------------------------------------------------------------------------- one unit


def test_unit_probability_full_precision_at_any_magnitude():
    net = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])
    for T in (0.25, 1.0, 10.0):
        p = bz.unit_probability(net, T)
        z = net / T
        # the closed form in each safe direction: exp(z)/(1+exp(z)) for z < 0, 1/(1+exp(-z)) otherwise
        with np.errstate(over="ignore", invalid="ignore"):
            ref = np.where(z < 0, np.exp(z) / (1 + np.exp(z)), 1 / (1 + np.exp(-z)))
        np.testing.assert_allclose(p, ref, rtol=1e-15, atol=0)
    # the relative precision of a tiny probability: sigma(-40) = exp(-40)/(1+exp(-40))
    assert bz.unit_probability(-40.0) == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-15)
    # the naive 1 - sigma(40) loses it all (this is what the stable branch avoids)
    assert abs((1 - bz.unit_probability(40.0)) / math.exp(-40) - 1) > 1e-3
    assert bz.unit_probability(-1000.0, T=0.25) == 0.0  # exp(-4000) rounds to 0 in float64
    assert bz.unit_probability(1000.0, T=0.25) == 1.0
    assert not np.isnan(bz.unit_probability(net, 0.25)).any()


def test_low_temperature_unit_is_the_deterministic_unit():
    net = np.concatenate([-np.geomspace(1, 1000, 20), np.geomspace(1, 1000, 20)])
    p = bz.unit_probability(net, T=0.01)
    step = bz.deterministic_unit(net)
    assert set(step.tolist()) == {0.0, 1.0}
    assert np.abs(p - step).max() < 1e-40  # sigma(+-100) = 1 or 3.7e-44
    # at T = 1 they disagree: the check can fail
    assert np.abs(bz.unit_probability(net, T=1.0) - step).max() > 0.2
    assert bz.deterministic_unit(0.0) == 0.5 == bz.unit_probability(0.0, T=0.01)


def test_low_temperature_sampler_acts_like_greedy_descent():
    # weights 2 x integer and odd thresholds: every energy gap is an odd integer, |net| >= 1
    rng = np.random.default_rng(3)
    n = 8
    W = np.triu(2.0 * rng.integers(-2, 3, (n, n)), 1)
    bm = bz.BoltzmannMachine(W + W.T, 2.0 * rng.integers(-2, 3, n) + 1, T=0.01)
    assert np.abs(bm.energy_gap(bz.all_states(n))).min() >= 1
    for seed in range(5):
        init = (rng.random(n) < 0.5).astype(np.int8)
        hot = bm.copy(T=0.01).anneal([(0.01, 20)], init=init, seed=seed)
        assert (np.diff(hot.energies) <= 1e-12).all()  # never uphill at T = 0.01
        # it ends in a local minimum of the deterministic rule: no unit wants to flip
        gap = bm.energy_gap(hot.final)
        assert ((gap > 0) == (hot.final == 1)).all()
    # at T = 5 the same chain goes uphill: the check can fail
    warm = bm.copy(T=5.0).anneal([(5.0, 50)], init=init, seed=0)
    assert (np.diff(warm.energies) > 0).any()


# --------------------------------------------------------------------------- the bridge into the core


def test_bridge_probability_is_a_two_way_softmax():
    net = np.linspace(-30, 30, 61)
    for T in (0.5, 1.0, 4.0):
        via_core = bz.unit_probability_via_softmax(net, T)
        np.testing.assert_allclose(via_core, bz.unit_probability(net, T), rtol=1e-12, atol=1e-300)
        # computed from scratch: the softmax over the unit's two states, off (0) and on (net/T)
        z = net / T
        np.testing.assert_allclose(via_core, np.exp(z - np.logaddexp(0, z)), rtol=1e-12)
    # a wrong bridge (softmax over [0, net] ignoring T) is rejected
    assert np.abs(bz.unit_probability_via_softmax(net, 1.0) - bz.unit_probability(net, 4.0)).max() > 0.1


def test_bridge_logistic_loss_and_gradient_are_the_closed_forms():
    rng = np.random.default_rng(7)
    z = rng.normal(0, 3, 12)
    label = rng.integers(0, 2, 12)
    loss, grad = bz.logistic_loss_via_core(z, label)
    closed = np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - label * z
    assert loss == pytest.approx(closed.sum(), rel=1e-12)
    np.testing.assert_allclose(grad, 1 / (1 + np.exp(-z)) - label, rtol=1e-12, atol=1e-15)
    # for label 1 the loss is log(1 + e^{-z})
    l1, _ = bz.logistic_loss_via_core(z, np.ones(12, int))
    assert l1 == pytest.approx(np.log1p(np.exp(-z)).sum(), rel=1e-12)
    # library closed form agrees elementwise
    per, g2 = bz.logistic_loss(z, label)
    np.testing.assert_allclose(per, closed, rtol=1e-12)
    np.testing.assert_allclose(g2, grad, rtol=1e-12, atol=1e-15)
    # with "valid" normalization both are divided by the number of samples
    lv, gv = bz.logistic_loss_via_core(z, label, normalization="valid")
    assert lv == pytest.approx(loss / 12, rel=1e-12)
    np.testing.assert_allclose(gv, grad / 12, rtol=1e-12, atol=1e-16)


def test_bridge_gradcheck_accepts_the_core_and_rejects_half():
    rng = np.random.default_rng(11)
    z = rng.normal(0, 2, 10)
    label = rng.integers(0, 2, 10)
    weight = 5.0  # a loss weight makes gradients large

    def f(x):
        return bz.logistic_loss_via_core(x, label, loss_weight=weight)[0] * weight

    _, grad = bz.logistic_loss_via_core(z, label, loss_weight=weight)
    ok = ebm.gradcheck(f, z, grad, tol=1e-2)
    assert ok, str(ok)
    half = ebm.gradcheck(f, z, grad / 2, tol=1e-2)
    assert not half, "Caffe's rule must reject half the gradient here"
    # the relative error tells the same story without the rule's floor of 1
    rel = np.abs(ok.numeric - grad) / np.abs(grad)
    assert rel.max() < 1e-3
    assert (np.abs(half.numeric - grad / 2) / np.abs(grad / 2)).min() > 0.9
    # averaged over 100 samples ("valid") every gradient is under 0.01, and Caffe's floor of 1
    # lets half of it through: why the check above uses "none" and a loss weight
    zv, lv = rng.normal(0, 2, 100), rng.integers(0, 2, 100)

    def fv(x):
        return bz.logistic_loss_via_core(x, lv, normalization="valid")[0]

    _, gv = bz.logistic_loss_via_core(zv, lv, normalization="valid")
    assert ebm.gradcheck(fv, zv, gv / 2, tol=1e-2)


# --------------------------------------------------------------------------- the machine, exactly


def test_exact_distribution_order_and_partition_against_brute_force():
    bm = bz.BoltzmannMachine([[0, 1], [1, 0]], theta=[0.5, 0.5])
    # E(00) = 0, E(10) = E(01) = 0.5, E(11) = -1 + 1 = 0
    p = bm.exact_distribution()
    w = np.exp(-np.array([0.0, 0.5, 0.5, 0.0]))
    np.testing.assert_allclose(p, w / w.sum(), rtol=1e-14)
    assert bz.all_states(3)[6].tolist() == [0, 1, 1]  # unit i is bit i
    assert bz.state_index(bz.all_states(5)).tolist() == list(range(32))
    for seed, T in ((0, 1.0), (1, 0.5), (2, 3.0)):
        bm = random_machine(6, seed, T=T)
        ref_p, ref_logz = brute_force(bm)
        np.testing.assert_allclose(bm.exact_distribution(), ref_p, rtol=1e-12)
        assert bm.log_partition() == pytest.approx(ref_logz, rel=1e-12)
    # a wrong sign on theta is caught by the same oracle
    wrong = bz.BoltzmannMachine(bm.W, -bm.theta, bm.T)
    assert np.abs(wrong.exact_distribution() - ref_p).max() > 1e-3


def test_boltzmann_ratio_from_energies():
    bm = random_machine(4, 5)
    p = bm.exact_distribution()
    S = bz.all_states(4)
    E = bm.energy(S)
    for a, b in ((0, 5), (3, 15), (7, 9)):
        assert p[a] / p[b] == pytest.approx(math.exp(-(E[a] - E[b]) / bm.T), rel=1e-12)
    r = bz.boltzmann_ratio(bm, n_samples=100_000, seed=2)
    np.testing.assert_allclose(r["sampled"], r["exact"], rtol=0.1)
    assert np.abs(r["sampled"] / np.exp(-np.log(r["exact"]) * 2) - 1).max() > 0.1  # a doubled gap is off


def test_conditional_probability_matches_flipping_one_unit():
    bm = random_machine(5, 9, T=2.0)
    S = bz.all_states(5)
    p = bm.exact_distribution()
    cond = bm.conditional_probability(S)
    for k in range(5):
        on = S[:, k] == 1
        # P(s_k = 1 | rest) = p(s with k on) / (p(on) + p(off)), by enumeration
        idx_on = np.flatnonzero(on)
        idx_off = idx_on - (1 << k)
        ratio = p[idx_on] / (p[idx_on] + p[idx_off])
        np.testing.assert_allclose(cond[idx_on, k], ratio, rtol=1e-12)
        np.testing.assert_allclose(cond[idx_off, k], ratio, rtol=1e-12)


# --------------------------------------------------------------------------- the sampler


def test_kernel_matches_numpy_reference_exactly():
    bm = random_machine(7, 4)
    temps = np.array([3.0] * 5 + [1.0] * 10 + [0.0] * 5)
    free = np.array([0, 2, 3, 5, 6])
    init = np.array([1, 0, 1, 0, 0, 1, 1], dtype=np.int8)
    state = init.copy()
    samples = np.zeros((15, 7), np.int8)
    energies = np.empty(20)
    bz._sampling_kernel(bm.W, bm.theta, temps, free, state, 123, False, 5, samples, energies)
    ref_state, ref_samples, ref_E = bz.sampling_reference(bm.W, bm.theta, temps, free, init, 123, False, 5)
    assert np.array_equal(samples, ref_samples) and np.array_equal(state, ref_state)
    np.testing.assert_allclose(energies, ref_E, atol=1e-12)
    np.testing.assert_allclose(energies[5:], bm.energy(samples), atol=1e-12)
    assert (samples[:, [1, 4]] == init[[1, 4]]).all()  # clamped units never move
    # a different seed gives a different chain (the comparison can fail)
    other = bz.sampling_reference(bm.W, bm.theta, temps, free, init, 124, False, 5)[1]
    assert not np.array_equal(other, samples)


def test_sampler_is_reproducible_from_seed():
    bm = random_machine(6, 1)
    a = bm.sample(200, seed=5)
    assert np.array_equal(a, bm.sample(200, seed=5))
    assert not np.array_equal(a, bm.sample(200, seed=6))
    assert a.shape == (200, 6) and a.dtype == np.int8
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert np.array_equal(bm.sample(50, seed=g1), bm.sample(50, seed=g2))


def test_sampler_matches_exact_distribution():
    bm = random_machine(5, 2024)
    r = bz.sampler_convergence(bm, checkpoints=(1000, 100_000), seed=1)
    assert r["tv"][-1] < 0.02, r["tv"]
    assert r["tv"][0] > r["tv"][-1]
    # the same samples are far from a wrong distribution (T = 2 instead of 1)
    wrong = bm.copy(T=2.0).exact_distribution()
    assert bz.total_variation(r["empirical"], wrong) > 0.05


def test_empirical_conditional_matches_sigma():
    bm = random_machine(5, 8)
    for k in (0, 3):
        r = bz.conditional_check(bm, k, n_samples=100_000, seed=k)
        keep = r["count"] >= 300
        assert keep.sum() >= 4
        p = r["sigma"][keep]
        err = np.abs(r["empirical"][keep] - p)
        assert (err < 5 * np.sqrt(p * (1 - p) / r["count"][keep]) + 1e-3).all()
        # sigma(2 dE / T), the +-1-unit formula applied to 0/1 units, is rejected
        S = bz.all_states(5)[r["rest"][keep]]
        wrong = bz.unit_probability(2 * bm.energy_gap(S)[:, k], bm.T)
        assert (np.abs(r["empirical"][keep] - wrong) > 0.03).any()


def test_clamped_sampling_equals_exact_conditional():
    bm = random_machine(5, 12)
    s = bm.sample(40_000, seed=3, clamp={0: 1, 2: 0})
    assert (s[:, 0] == 1).all() and (s[:, 2] == 0).all()
    S = bz.all_states(5)
    p = bm.exact_distribution() * ((S[:, 0] == 1) & (S[:, 2] == 0))
    p /= p.sum()
    emp = np.bincount(bz.state_index(s), minlength=32) / len(s)
    assert bz.total_variation(emp, p) < 0.02


def test_annealing_trace_and_beats_greedy():
    bm = bz.spin_glass(16, seed=1)
    r = bz.anneal_vs_greedy(bm, n_runs=30, seed=0)
    tr = r["trace"]
    assert tr.energies.shape == tr.temperatures.shape == (160,) and tr.states.shape == (160, 16)
    assert tr.temperatures[0] == 3.0 and tr.temperatures[-1] == 0.1
    np.testing.assert_allclose(bm.energy(tr.states), tr.energies, atol=1e-9)
    # the spin glass in {0,1} form has the +-1 energy: E(s) = -1/2 sigma J sigma + const
    S = bz.all_states(16)[::997].astype(float)
    sigma = 2 * S - 1
    J = bm.W / 4
    diff = bm.energy(S.astype(np.int8)) - (-0.5 * np.einsum("mi,ij,mj->m", sigma, J, sigma))
    assert np.ptp(diff) < 1e-9
    assert r["anneal"].min() >= r["global_min"] - 1e-9 and r["greedy"].min() >= r["global_min"] - 1e-9
    assert r["anneal"].mean() < r["greedy"].mean()
    assert np.mean(np.isclose(r["anneal"], r["global_min"])) > np.mean(np.isclose(r["greedy"], r["global_min"]))
    desc = bm.descend(init=np.ones(16, np.int8), seed=0)
    assert (np.diff(desc.energies) <= 1e-12).all() and (desc.temperatures == 0).all()


# --------------------------------------------------------------------------- learning


def test_exact_learning_without_hidden_matches_data_statistics():
    rng = np.random.default_rng(0)
    data = (rng.random((40, 4)) < [0.3, 0.6, 0.5, 0.7]).astype(np.int8)
    data[:10, 1] = data[:10, 0]  # some correlation
    bm = bz.BoltzmannMachine(np.zeros((4, 4)))
    res = bz.learn(bm, data, n_cycles=1500, lr=2.0)
    mi, mij = bz.free_statistics(res.machine)
    d = data.astype(float)
    np.testing.assert_allclose(mi, d.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(mij, d.T @ d / len(d), atol=1e-4)
    assert np.all(np.diff(res.G) <= 1e-12)  # convex G, small steps: monotone
    # the untrained machine does not match (the check can fail)
    assert np.abs(bz.free_statistics(bm)[1] - d.T @ d / len(d)).max() > 0.05


def test_learning_gradient_is_minus_dG_dw_over_T():
    bm = random_machine(4, 3, T=2.0, hidden=[3])
    data = bz.parity_data(3)
    pi, pij = bz.clamped_statistics(bm, data)
    qi, qij = bz.free_statistics(bm)

    def G(w01):
        W = bm.W.copy()
        W[0, 1] = W[1, 0] = w01
        return bz.kl_divergence(bm.copy(W=W), data)

    x = np.array([bm.W[0, 1]])
    analytic = -(pij[0, 1] - qij[0, 1]) / bm.T
    assert ebm.gradcheck(lambda v: G(v[0]), x, np.array([analytic]), step=1e-4, tol=1e-6)
    assert not ebm.gradcheck(lambda v: G(v[0]), x, np.array([analytic * bm.T]), step=1e-4, tol=1e-6)


def test_parity_needs_a_hidden_unit():
    r = bz.parity_experiment((0, 1), n_cycles=600, seed=0)
    assert abs(r[0][-1] - math.log(2)) < 2e-3
    assert r[0].min() >= math.log(2) - 1e-9  # never below ln 2 without hidden units
    assert r[1][-1] < math.log(2) - 0.3


def test_gibbs_sampling_statistics_agree_with_exact():
    bm = random_machine(5, 6, scale=0.5, hidden=[3, 4])
    data = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.int8)
    rng = np.random.default_rng(0)
    reps = np.repeat(data, 100, axis=0)
    pi, pij, qi, qij = bz._sampled_statistics(bm, reps, 1, 200, "gibbs_sampling", ((1.0, 5),), 10, rng)
    ei, eij = bz.clamped_statistics(bm, data)
    fi, fij = bz.free_statistics(bm)
    assert np.abs(pij - eij).max() < 0.05 and np.abs(qij - fij).max() < 0.05


def test_encoder_kernel_replays_learn_with_exact_statistics():
    """The Numba encoder run against learn + encoder_codes: deterministic, so the same run."""
    from ebm.boltzmann.learning import _encoder_runs

    child = np.random.SeedSequence(7).spawn(4)[2]
    first, held, W = _encoder_runs("exact", [child], 300, False, False, "")
    py_first, machine = bz.train_encoder(
        "exact", max_cycles=300, seed=np.random.default_rng(child), stop_at_success=False
    )
    assert first[0] == py_first == 150
    np.testing.assert_allclose(W[0], machine.W, atol=1e-9)
    assert held[0] == bz.encoder_codes(machine)["success"]
    # a run that stops at its success stops there, with the same weights as learn's
    first, _, W = _encoder_runs("exact", [child], 300, True, False, "")
    _, at_success = bz.train_encoder("exact", max_cycles=300, seed=np.random.default_rng(child))
    np.testing.assert_allclose(W[0], at_success.W, atol=1e-9)
    assert not np.allclose(W[0], machine.W, atol=1e-3)  # and not with the later ones


def test_encoder_kernel_statistics_match_enumeration():
    """The kernel's sampled statistics (one exact sample each; annealed Gibbs) against enumeration."""
    from ebm.boltzmann import _encoder_kernel as K

    rng = np.random.default_rng(3)
    bm = bz.encoder_network()
    W = np.triu(rng.normal(0, 1.0, bm.W.shape), 1)
    bm = bm.copy(W=np.where(bm.mask, W + W.T, 0.0), theta=rng.normal(0, 0.5, bm.n_units))
    data = bz.encoder_patterns()
    ei, eij = bz.clamped_statistics(bm, data)
    fi, fij = bz.free_statistics(bm)
    n = bm.n_units
    out = [np.empty(n), np.empty((n, n)), np.empty(n), np.empty((n, n))]
    temps = np.concatenate([[2.0, 2.0, 1.5, 1.5, 1.2, 1.2, 1.0, 1.0, 1.0, 1.0], np.ones(10)])
    task = dict(T=1.0, mask=bm.mask, sign_step=False, lr=0.0, noise_off=0.0, noise_on=0.0, noisy=False)
    task.update(temps=temps, collect=10, patterns=data, visible=bm.visible, hidden=bm.hidden)
    task.update(max_cycles=0, stop_at_success=False, S=bz.all_states(n, np.float64))
    for mode, tol in ((1, 0.03), (2, 0.04)):
        np.random.seed(0)  # the kernels draw from the global stream
        K._statistics(bm.W, bm.theta, K.EncoderSetup(**task, mode=mode, n_clamped=1000, n_free=4000), *out)
        assert np.abs(out[1] - eij).max() < tol and np.abs(out[3] - fij).max() < tol, mode
        # the exact statistics at another temperature are far off: the comparison can fail
        assert np.abs(out[3] - bz.free_statistics(bm.copy(T=3.0))[1]).max() > 3 * tol
    K._statistics(bm.W, bm.theta, K.EncoderSetup(**task, mode=0, n_clamped=1, n_free=1), *out)
    np.testing.assert_allclose(out[1], eij, atol=1e-12)
    np.testing.assert_allclose(out[3], fij, atol=1e-12)


def test_encoder_regimes_separate():
    """Annealed statistics beat single samples, which beat the exact gradient (20-30 seeds each)."""
    runs = {
        name: bz.encoder_experiment(
            20 if name == "exact" else 30, regime=name, max_cycles=400, seed=1, stop_at_success=True
        )
        for name in ("annealed", "single_samples", "exact")
    }
    assert runs["annealed"]["success_rate"] >= 0.6, runs["annealed"]
    assert runs["exact"]["success_rate"] <= 0.35, runs["exact"]
    assert runs["annealed"]["median_cycles"] < runs["single_samples"]["median_cycles"]
    # encoder_success (the kernel's test) and encoder_codes agree on trained and untrained nets
    from ebm.boltzmann import _encoder_kernel as K

    _, trained = bz.train_encoder("annealed", max_cycles=600, seed=1)
    for machine in (trained, bz.encoder_network()):
        assert K.encoder_success(machine.W, machine.theta, machine.T) == bz.encoder_codes(machine)["success"]


def test_encoder_codes_detects_failure():
    bm = bz.encoder_network()  # zero weights: all codes tie
    out = bz.encoder_codes(bm)
    assert not out["success"] and not out["distinct"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("T", [0.0, -1.0, np.inf, np.nan])
def test_bad_temperature(T):
    with pytest.raises(ValueError, match="T must be a positive"):
        bz.unit_probability(1.0, T)
    with pytest.raises(ValueError, match="T must be a positive"):
        bz.BoltzmannMachine(np.zeros((2, 2)), T=T)


def test_bad_weights_and_states():
    with pytest.raises(ValueError, match=r"not symmetric: W\[0, 1\]"):
        bz.BoltzmannMachine([[0, 1], [2, 0]])
    with pytest.raises(ValueError, match=r"W\[1, 1\] is 0.5.*diagonal"):
        bz.BoltzmannMachine([[0, 1], [1, 0.5]])
    bm = random_machine(3, 0)
    with pytest.raises(ValueError, match=r"states\[1\] is -1.*0 or 1"):
        bm.energy([1, -1, 0])
    with pytest.raises(ValueError, match=r"data\[0, 2\] is 2"):
        bz.learn(bm, [[0, 1, 2]])
    with pytest.raises(ValueError, match="schedule\\[1\\] temperature"):
        bm.anneal([(2.0, 3), (0.0, 3)])
    with pytest.raises(ValueError, match="clamp\\[0\\] is 3"):
        bm.sample(5, clamp={0: 3})
    with pytest.raises(ValueError, match=r"n_units = 26: .* limit is MAX_ENUMERATED_UNITS = 25 .*use sample\(\)"):
        bz.BoltzmannMachine(np.zeros((26, 26))).exact_distribution()
    with pytest.raises(ValueError, match=r"n_units = 26: .* 2\^26 states; the limit is MAX_ENUMERATED_UNITS = 25"):
        bz.all_states(26)
    with pytest.raises(TypeError, match="n_samples must be an integer, got 2.5"):
        bm.sample(2.5)
    with pytest.raises(TypeError, match="seed must be None, an integer or a numpy.random.Generator"):
        bm.sample(2, seed="abc")
    with pytest.raises(ValueError, match="absent connections"):
        bz.BoltzmannMachine([[0, 1], [1, 0]], mask=np.zeros((2, 2), bool))


def test_caller_arrays_are_not_modified():
    W = np.array([[0.0, 1.0], [1.0, 0.0]])
    theta = np.array([0.2, -0.1])
    init = np.array([1, 0], dtype=np.int8)
    bm = bz.BoltzmannMachine(W, theta)
    bm.W[0, 1] = 5.0
    assert W[0, 1] == 1.0
    bm.sample(10, init=init, seed=0)
    bm.anneal([(1.0, 5)], init=init, seed=0)
    assert init.tolist() == [1, 0]


# --------------------------------------------------------------------------- sampling temperature


def test_gibbs_sampling_statistics_are_collected_at_the_machines_temperature():
    """learn(statistics="gibbs_sampling") samples the free phase at bm.T, not at the schedule's own end.

    Without hidden units the clamped statistics are the data's, so one gradient step
    reveals the sampled free means: q_i = p_i + dtheta_i / lr.  They are compared with the
    exact means at T = 1 from a plain loop over the 32 states (not the library's enumeration).
    """
    bm = random_machine(5, 2024, scale=1.5)
    data = np.array([[1, 0, 1, 0, 1]], dtype=np.int8)
    p, _ = brute_force(bm)
    S = np.array([[(k >> i) & 1 for i in range(5)] for k in range(32)], dtype=float)
    exact_t1 = p @ S

    def sampled_means(machine, **kw):
        res = bz.learn(
            machine,
            data,
            n_cycles=1,
            lr=1.0,
            statistics="gibbs_sampling",
            n_clamped=1,
            n_free=400,
            track_G=False,
            seed=0,
            **kw,
        )
        return data[0] + (res.machine.theta - machine.theta) / 1.0

    got = sampled_means(bm)
    assert np.abs(got - exact_t1).max() < 0.06, (got, exact_t1)
    # the same machine at T = 10 has other means: the comparison can tell the temperatures apart
    hot = sampled_means(bm.copy(T=10.0))
    assert np.abs(hot - exact_t1).max() > 0.2, (hot, exact_t1)
    # a schedule that ends elsewhere is refused, naming both temperatures
    with pytest.raises(ValueError, match="schedule ends at T = 10 but the machine's temperature is 1"):
        bz.learn(bm, data, n_cycles=1, statistics="gibbs_sampling", schedule=bz.PAPER_SCHEDULE)
    assert bz.paper_schedule(1.0) == ((2.0, 2), (1.5, 2), (1.2, 2), (1.0, 4))


def test_learn_and_total_variation_refuse_nonsense():
    bm = bz.BoltzmannMachine(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="data has no rows"):
        bz.learn(bm, np.zeros((0, 3), dtype=np.int8))
    with pytest.raises(ValueError, match=r"p sums to 6.0, not 1"):
        bz.total_variation([1.0, 2.0, 3.0], [1 / 3] * 3)
    with pytest.raises(ValueError, match=r"q\[1\] is -0.5"):
        bz.total_variation([0.5, 0.5], [1.5, -0.5])
    assert bz.total_variation([0.25, 0.75], [0.75, 0.25]) == 0.5
