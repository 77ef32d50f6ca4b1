"""Hopfield: no silent wrong numbers, every identity with its conditions.

Oracles: the energy E(s) = -1/2 s^T W s - b^T s evaluated directly, brute-force
flips, and the article's formulas re-derived by hand.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from ebm import hopfield as hf


def _random_network(kind, n, rng):
    A = rng.normal(size=(n, n))
    if kind == "symmetric":
        W = (A + A.T) / 2
        np.fill_diagonal(W, np.abs(np.diag(W)))
        return hf.HopfieldNetwork(W, rng.normal(size=n))
    if kind == "negative_diagonal":
        W = (A + A.T) / 2
        np.fill_diagonal(W, -2.0 - np.abs(np.diag(W)))
        return hf.HopfieldNetwork(W, rng.normal(size=n))
    return hf.HopfieldNetwork(A, rng.normal(size=n), allow_asymmetric=True)


def _direct_energy(W, b, states):
    s = states.astype(np.float64)
    return np.array([-0.5 * row @ W @ row - b @ row for row in s])


# --------------------------------------------------------------------------- recorded energies


def test_asymmetric_two_unit_example_records_the_true_energy():
    # W = [[0, 1], [-1, 0]] from [1, 1]: E(s) = -1/2 s^T W s is 0 for every s, while a running
    # sum of the symmetric rule's energy changes would record -2, -4, ..., -16
    net = hf.HopfieldNetwork([[0.0, 1.0], [-1.0, 0.0]], allow_asymmetric=True)
    tr = net.run([1, 1], max_sweeps=8, seed=0)
    assert tr.energies.size > 2  # it does keep flipping
    np.testing.assert_array_equal(tr.energies, np.zeros(tr.energies.size))
    np.testing.assert_array_equal(tr.energies, net.energy(tr.states))


@pytest.mark.parametrize("kind", ["symmetric", "asymmetric", "negative_diagonal"])
@pytest.mark.parametrize("mode", ["async", "sync"])
def test_recorded_energies_equal_the_energy_of_the_recorded_states(kind, mode, rng):
    for _ in range(3):
        net = _random_network(kind, 12, rng)
        tr = net.run(rng.choice([-1, 1], size=12), mode=mode, max_sweeps=6, seed=rng)
        want = _direct_energy(net.W, net.b, tr.states)
        np.testing.assert_allclose(tr.energies, want, rtol=1e-12, atol=1e-12)


def test_flip_identity_holds_exactly_under_its_conditions(rng):
    # symmetric W with W_ii >= 0: every recorded flip changes E by exactly -2|h_i|
    net = _random_network("symmetric", 20, rng)
    tr = net.run(rng.choice([-1, 1], size=20), seed=1)
    h = net.local_field(tr.states[:-1])[np.arange(tr.units.size), tr.units]
    np.testing.assert_allclose(np.diff(tr.energies), -2 * np.abs(h), atol=1e-10)
    assert (np.diff(tr.energies) <= 1e-12).all()


def test_flip_identity_fails_with_a_negative_diagonal():
    # the library's counterexample: the first flip raises E by +2|h|
    net, s0 = hf.negative_diagonal_counterexample()
    tr = net.run(s0, max_sweeps=2)
    h = net.local_field(tr.states[:-1])[np.arange(tr.units.size), tr.units]
    dE = np.diff(tr.energies)
    assert dE[0] > 0
    np.testing.assert_allclose(dE[0], +2 * abs(h[0]), rtol=1e-12)
    # ... while -2 s_i' h_i (symmetric W, any diagonal) still gives the true change
    new = tr.states[1:, 0].astype(float)
    np.testing.assert_allclose(dE, -2 * new * h, rtol=1e-12)


# --------------------------------------------------------------------------- recall convergence


def test_recall_warns_and_reports_a_negative_diagonal_that_never_settles():
    net, s0 = hf.negative_diagonal_counterexample()
    finals = []
    for max_sweeps in (3, 4):
        with pytest.warns(RuntimeWarning, match=r"1 of 1 probe\(s\) did not reach a fixed point"):
            finals.append(int(net.recall(s0, max_sweeps=max_sweeps)[0]))
        state, converged = net.recall(s0, max_sweeps=max_sweeps, return_converged=True)
        assert converged is False and int(state[0]) == finals[-1]
    assert finals[0] != finals[1]  # the answer depends on max_sweeps: why it warns


def test_recall_warns_about_a_synchronous_two_cycle():
    net, s0 = hf.two_cycle_network()
    with pytest.warns(RuntimeWarning, match="2-cycle never settles"):
        net.recall(s0, mode="sync")
    states, converged = net.recall(np.stack([s0, [1, -1]]), mode="sync", return_converged=True)
    np.testing.assert_array_equal(converged, [False, True])  # (1, -1) is a fixed point
    np.testing.assert_array_equal(states[1], [1, -1])


def test_recall_mask_matches_run_and_settled_probes_do_not_warn(rng):
    xi = hf.random_patterns(3, 40, 0)
    net = hf.HopfieldNetwork.from_patterns(xi)
    probes = xi.copy()
    probes[:, :4] *= -1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when every probe settles
        final, converged = net.recall(probes, order="sequential", return_converged=True)
        net.recall(probes, order="sequential")
    assert converged.dtype == bool and converged.shape == (3,)
    for p, f, c in zip(probes, final, converged):
        tr = net.run(p, order="sequential")  # the single-probe path, an independent loop
        np.testing.assert_array_equal(tr.final, f)
        assert tr.converged == c


def test_recall_mask_with_a_mixed_batch():
    # unit 0 alone has a negative self-weight and never settles; the other probe is a fixed point
    W = np.array([[-1.0, 0.0], [0.0, 1.0]])
    net = hf.HopfieldNetwork(W, [0.1, 0.0])
    probes = np.array([[1, 1], [-1, 1]])
    _, converged = net.recall(probes, max_sweeps=5, return_converged=True)
    # probe 0: unit 0 sees -1*1 + 0.1 < 0 and flips, then 1.1 > 0 and flips back, for ever
    np.testing.assert_array_equal(converged, [False, False])
    with pytest.raises(TypeError, match="return_converged must be True or False"):
        net.recall(probes, return_converged="yes")


# --------------------------------------------------------------------------- small contracts


@pytest.mark.parametrize(
    "bad,pos,value",
    [
        ([1, 0, -1], [1], "0"),
        ([1, 0.5, -1], [1], "0.5"),
        ([2, 1, -1], [0], "2"),
    ],
)
def test_overlap_rejects_states_that_are_not_bipolar(bad, pos, value):
    with pytest.raises(ValueError, match=re.escape(f"states{pos} is {value}: states must be -1 or +1")):
        hf.overlap(bad, [1, 1, -1])
    with pytest.raises(ValueError, match=re.escape(f"pattern{pos} is {value}")):
        hf.overlap([1, 1, -1], bad)
    assert hf.overlap([1, 1, -1], [1, -1, -1]) == pytest.approx(1 / 3)


def test_pseudoinverse_with_more_patterns_than_units_warns_and_the_warning_is_true():
    xi = hf.random_patterns(30, 20, 0)
    with pytest.warns(UserWarning, match="identity: every state is a fixed point"):
        net = hf.HopfieldNetwork.from_patterns(xi, "pseudoinverse")
    np.testing.assert_allclose(net.W, np.eye(20), atol=1e-12)
    s = np.random.default_rng(3).choice([-1, 1], size=(5, 20))
    np.testing.assert_array_equal(net.recall(s), s)  # recall corrects nothing
    # repeated patterns: p > N but rank < N warns too, with the rank
    with pytest.warns(UserWarning, match=r"rank 2"):
        hf.pseudoinverse_weights(np.tile(xi[:2], (11, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hf.pseudoinverse_weights(xi[:10])  # p < N: useful, silent


def test_label_energy_accepts_one_output_row_with_a_label_per_sample(rng):
    W = rng.normal(size=4)
    x = rng.normal(size=(7, 4))
    label = np.where(rng.random(7) < 0.5, -1, 1)
    want = hf.label_energy(W, x, label)
    np.testing.assert_allclose(hf.label_energy(W[None, :], x, label), want, rtol=1e-15)
    np.testing.assert_allclose(hf.perceptron_criterion(W[None, :], x, label), -want, rtol=1e-15)
    assert hf.label_energy(W[None, :], x[0], label[0]) == pytest.approx(float(want[0]))
    assert hf.label_energy_cases(W[None, :], x, label) == hf.label_energy_cases(W, x, label)
    with pytest.raises(ValueError, match="label must have shape"):
        hf.label_energy(np.ones((2, 4)), x, label)  # two outputs need two labels per sample


def test_case_two_product_is_positive_as_derived_by_hand(rng):
    W = rng.normal(size=5)
    x = rng.normal(size=(300, 5))
    label = np.where(rng.random(300) < 0.5, -1, 1)
    cases = hf.label_energy_cases(W, x, label)
    wx = x @ W
    y = np.where(wx >= 0, 1, -1)
    for case, mask, sign in (("I", (y == 1) & (label == -1), -1), ("II", (y == -1) & (label == 1), +1)):
        dye = sign * 2 * np.abs(wx[mask])  # case I: -2|Wx|; case II: +2|Wx|
        assert cases[case]["min_dYE"] == pytest.approx(dye.min(), rel=1e-12)
        assert cases[case]["max_dYE"] == pytest.approx(dye.max(), rel=1e-12)
    assert cases["II"]["min_dYE"] > 0 > cases["I"]["max_dYE"]  # "again negative" is false


def test_article_rule_drives_energy_down_while_errors_grow():
    rng = np.random.default_rng(1982)  # the tour's and the lecture's data
    teacher = rng.normal(size=5)
    x = rng.normal(size=(200, 5))
    label = np.where(x @ teacher >= 0, 1, -1)
    W0 = np.abs(rng.normal(size=5))
    _, errors, energy = hf.train_label_energy(x, label, rule="article", epochs=10, seed=0, W0=W0, return_energy=True)
    assert (np.diff(energy) < 0).all()  # E does "always decrease" ...
    assert energy[-1] < 100 * energy[0] < 0  # ... without bound
    assert errors[-1] >= 1.8 * errors[0]  # while the errors about double
    # energy is the summed label energy of the weights after each epoch
    W, errors2, energy2 = hf.train_label_energy(
        x, label, rule="perceptron", epochs=3, seed=0, W0=W0, return_energy=True
    )
    assert energy2[-1] == pytest.approx(hf.label_energy(W, x, label).sum(), rel=1e-12)
    assert errors2[-1] < errors2[0]
