"""Hopfield 1982: descent, cycles, capacity, the article's label energy, the bridge."""

import math

import numpy as np
import pytest

import ebm
from ebm import hopfield as H
from ebm.datasets import letters, random_patterns


def random_symmetric(n, rng, diag="zero"):
    A = rng.normal(size=(n, n))
    W = (A + A.T) / 2
    if diag == "zero":
        np.fill_diagonal(W, 0.0)
    elif diag == "positive":
        np.fill_diagonal(W, rng.random(n) * 2)
    return W


# --------------------------------------------------------------------------- energy descent


@pytest.mark.parametrize("diag", ["zero", "positive"])
@pytest.mark.parametrize("seed", range(5))
def test_no_async_flip_raises_energy_and_each_lowers_it_by_2_abs_h(diag, seed):
    rng = np.random.default_rng(seed)
    n = 30
    net = H.HopfieldNetwork(random_symmetric(n, rng, diag), rng.normal(size=n))
    s0 = rng.choice([-1, 1], size=n)
    traj = net.run(s0, seed=seed, order="random" if seed % 2 else "sequential")
    assert traj.converged and traj.period == 1
    # recorded energies are the true energies of the recorded states (independent recompute)
    np.testing.assert_allclose(traj.energies, [net.energy(s) for s in traj.states], atol=1e-9)
    dE = np.diff(traj.energies)
    assert np.all(dE < 0)
    # each flip lowers E by exactly 2|h_i|, h_i the field from the other units (plus bias)
    for t, unit in enumerate(traj.units):
        before = traj.states[t].astype(float)
        h = net.W[unit] @ before - net.W[unit, unit] * before[unit] + net.b[unit]
        assert dE[t] == pytest.approx(-2 * abs(h), abs=1e-9)
    # the end is a fixed point: no unit wants to flip
    final = traj.final.astype(float)
    total = net.W @ final + net.b
    assert np.all((total == 0) | (np.sign(total) == final))


def test_negative_diagonal_can_raise_the_energy():
    net, s0 = H.negative_diagonal_counterexample()
    traj = net.run(s0, max_sweeps=4)
    assert np.diff(traj.energies)[0] > 0  # the first flip goes up
    assert traj.energies[1] == pytest.approx(net.energy([-1]))
    assert net.energy([1]) == pytest.approx(0.4) and net.energy([-1]) == pytest.approx(0.6)
    assert not traj.converged and traj.period is None


def test_sync_two_cycle_and_async_convergence():
    net, s0 = H.two_cycle_network()
    sync = net.run(s0, mode="sync")
    assert sync.period == 2 and sync.converged
    assert sync.states.tolist() == [[-1, -1], [1, 1], [-1, -1]]
    for seed in range(5):
        asyn = net.run(s0, mode="async", seed=seed)
        assert asyn.converged and asyn.period == 1
        assert asyn.final.tolist() in ([1, -1], [-1, 1])


def test_sync_fixed_point_is_period_one():
    xi = random_patterns(3, 60, seed=1)
    net = H.HopfieldNetwork.from_patterns(xi)
    traj = net.run(xi[0], mode="sync")
    assert traj.period == 1 and traj.final.tolist() == xi[0].tolist()


def test_recall_kernel_agrees_with_run():
    xi = random_patterns(8, 80, seed=2)
    net = H.HopfieldNetwork.from_patterns(xi)
    rng = np.random.default_rng(3)
    probes = xi.copy()
    probes[rng.random(probes.shape) < 0.2] *= -1
    for order in ("random", "sequential"):
        batch = net.recall(probes, order=order, seed=7)
        one_by_one = [net.run(p, order=order, seed=7).final for p in probes]
        np.testing.assert_array_equal(batch, one_by_one)
    np.testing.assert_array_equal(net.recall(probes, mode="sync"), [net.run(p, mode="sync").final for p in probes])


# --------------------------------------------------------------------------- rules and capacity


def test_hebb_at_n500_recalls_below_and_fails_above_capacity():
    result = H.capacity_sweep(500, [0.08, 0.2], rule="hebb", n_seeds=3, seed=0)
    assert result["mean"][0] >= 0.95
    assert result["mean"][1] <= 0.7


def test_storkey_stores_clearly_more_than_hebb_at_n100():
    loads = np.arange(0.05, 0.401, 0.05)

    def capacity(rule):
        """The largest load at which the mean final overlap stays >= 0.95."""
        res = H.capacity_sweep(100, loads, rule=rule, n_seeds=5, seed=1, flip_fraction=0.05)
        return loads[res["mean"] >= 0.95].max(), res["mean"]

    (hebb, hebb_m), (storkey, storkey_m) = capacity("hebb"), capacity("storkey")
    assert storkey >= hebb + 0.1, (hebb_m, storkey_m)


def test_pseudoinverse_fixed_points_experiment():
    res = H.pseudoinverse_fixed_points(80, 100, seed=3)
    assert res["max_error"] <= 1e-9 and res["fixed"] == 80


def test_spurious_states_experiment():
    res = H.spurious_states(n_units=1000, p=5, n_draws=6, seed=0)
    np.testing.assert_allclose(res["energy_reversed"], res["energy_pattern"])
    assert res["reversed_stable"].all() and res["mixture_stable"].mean() >= 0.8
    assert abs(res["energy_mixture"].mean() + 3 / 8) < 0.03
    assert abs(res["energy_pattern"].mean() + 1 / 2) < 0.03
    np.testing.assert_allclose(res["mixture_overlaps"].mean(axis=0), 0.5, atol=0.05)


def test_pseudoinverse_patterns_are_exact_fixed_points():
    xi = random_patterns(60, 100, seed=4).astype(float)
    W = H.pseudoinverse_weights(xi)
    np.testing.assert_allclose(W @ xi.T, xi.T, atol=1e-9)
    net = H.HopfieldNetwork(W)
    np.testing.assert_array_equal(net.recall(xi.astype(np.int8), seed=0), xi)


def test_storkey_matches_its_elementwise_definition():
    xi = random_patterns(4, 7, seed=5).astype(float)
    n = xi.shape[1]
    W = np.zeros((n, n))
    for x in xi:  # the textbook loops
        new = W.copy()
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                h_ij = sum(W[i, k] * x[k] for k in range(n) if k not in (i, j))
                h_ji = sum(W[j, k] * x[k] for k in range(n) if k not in (i, j))
                new[i, j] = W[i, j] + (x[i] * x[j] - x[i] * h_ji - h_ij * x[j]) / n
        W = new
    np.testing.assert_allclose(H.storkey_weights(xi), W, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.138, 0.37])
def test_one_step_bit_error_matches_phi(alpha):
    res = H.one_step_error(1000, alpha, n_seeds=8, seed=0)
    theory = 0.5 * math.erfc(1 / math.sqrt(2 * alpha))
    assert res["theory"] == pytest.approx(theory)
    assert abs(res["rate"] - theory) <= 3 * res["stderr"], res


def test_reversed_and_mixture_states():
    xi = random_patterns(3, 1000, seed=6)
    net = H.HopfieldNetwork.from_patterns(xi)
    assert net.energy(xi[0]) == pytest.approx(net.energy(-xi[0]))  # E(s) = E(-s)
    assert net.recall(-xi[0], seed=0).tolist() == (-xi[0]).tolist()  # reversed: a minimum
    mix = H.mixture_state(xi)
    stable = net.recall(mix, seed=0)
    assert H.overlap(stable, mix) > 0.95
    np.testing.assert_allclose(H.overlap(np.broadcast_to(mix, xi.shape), xi), 0.5, atol=0.06)
    assert net.energy(mix) / 1000 == pytest.approx(-3 / 8, abs=0.03)
    assert net.energy(xi[0]) / 1000 == pytest.approx(-0.5, abs=0.03)


# --------------------------------------------------------------------------- the article's label energy


def test_label_energy_three_cases_hold_as_the_notes_state():
    rng = np.random.default_rng(7)
    W = rng.normal(size=5)
    x = rng.normal(size=(400, 5))
    label = rng.choice([-1, 1], size=400)
    cases = H.label_energy_cases(W, x, label)
    assert cases["I"]["delta_y"] == [2.0] and cases["I"]["max_E"] < 0
    assert cases["II"]["delta_y"] == [-2.0] and cases["II"]["max_E"] < 0
    assert cases["III"]["delta_y"] == [0.0] and cases["III"]["min_E"] == cases["III"]["max_E"] == 0
    assert sum(c["count"] for c in cases.values()) == 400
    E = H.label_energy(W, x, label)
    wx = x @ W
    wrong = np.sign(wx) != label
    np.testing.assert_allclose(E[wrong], -np.abs(wx[wrong]))  # -|Wx| on errors
    np.testing.assert_array_equal(E[~wrong], 0.0)
    np.testing.assert_allclose(E, -H.perceptron_criterion(W, x, label))


def test_descending_the_article_energy_goes_the_wrong_way():
    rng = np.random.default_rng(8)
    w_true = rng.normal(size=4)
    x = rng.normal(size=(200, 4))
    label = np.where(x @ w_true >= 0, 1, -1)
    W0 = rng.normal(size=4)
    _, err_perceptron = H.train_label_energy(x, label, "perceptron", epochs=30, seed=0, W0=W0)
    _, err_article = H.train_label_energy(x, label, "article", epochs=30, seed=0, W0=W0)
    assert err_perceptron[-1] <= 5  # separable: the perceptron rule converges
    assert err_article[-1] > 150  # the article's direction learns the opposite


# --------------------------------------------------------------------------- modern Hopfield


@pytest.mark.parametrize("beta", [0.1, 1.0, 8.0])
def test_modern_energy_never_increases(beta):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(16, 10))
    xi = rng.normal(size=(16, 5)) * 2
    energies = [H.modern_energy(X, xi, beta)]
    for _ in range(10):
        xi = H.modern_update(X, xi, beta)
        energies.append(H.modern_energy(X, xi, beta))
    assert np.all(np.diff(np.array(energies), axis=0) <= 1e-10)


def test_modern_update_equals_numpy_softmax_and_retrieves_at_large_beta():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(32, 6))
    xi = X[:, 2] + 0.3 * rng.normal(size=32)
    beta = 0.7
    z = beta * X.T @ xi
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(H.modern_update(X, xi, beta), X @ p, rtol=1e-12)
    np.testing.assert_allclose(H.modern_update(X, xi, 50.0), X[:, 2], atol=1e-8)  # one step
    np.testing.assert_allclose(H.modern_update(X, xi, 1e-6), X.mean(axis=1), atol=1e-3)  # averages


def test_modern_retrieval_loss_and_its_derivative():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(8, 5))
    xi = rng.normal(size=8)
    beta, target = 1.3, 3
    loss, bottom_diff, grad_xi = H.modern_retrieval_loss(X, xi, target, beta)
    z = beta * X.T @ xi
    assert loss == pytest.approx(np.logaddexp.reduce(z) - z[target], rel=1e-12)
    onehot = np.eye(5)[target]
    np.testing.assert_allclose(bottom_diff, np.exp(z - np.logaddexp.reduce(z)) - onehot, atol=1e-12)
    f = lambda q: H.modern_retrieval_loss(X, q, target, beta)[0]
    assert ebm.gradcheck(f, xi, grad_xi, step=1e-3, tol=1e-4)


# --------------------------------------------------------------------------- bad input


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match=r"states\[2\] is 0.*to_bipolar"):
        H.HopfieldNetwork(np.zeros((3, 3))).energy([1, -1, 0])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        H.HopfieldNetwork(np.zeros((3, 3))).energy([1, -1])
    with pytest.raises(ValueError, match=r"not symmetric.*W\[0, 1\].*allow_asymmetric"):
        H.HopfieldNetwork([[0, 1], [0.5, 0]])
    H.HopfieldNetwork([[0, 1], [0.5, 0]], allow_asymmetric=True)
    with pytest.raises(ValueError, match="square"):
        H.HopfieldNetwork(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        H.HopfieldNetwork(np.zeros((2, 2)), b=[1.0])
    with pytest.raises(ValueError, match="rule must be one of"):
        H.HopfieldNetwork.from_patterns([[1, -1]], rule="oja")
    with pytest.raises(ValueError, match=r"patterns\[0, 1\] is 0"):
        H.HopfieldNetwork.from_patterns([[1, 0]])
    with pytest.raises(ValueError, match="mode"):
        H.HopfieldNetwork(np.zeros((2, 2))).run([1, 1], mode="parallel")
    with pytest.raises(ValueError, match=r"label\[1\] is 0"):
        H.label_energy([1.0, 2.0], [[1.0, 1.0], [1.0, 0.0]], [1, 0])
    with pytest.raises(ValueError, match="beta"):
        H.modern_update(np.eye(2), np.ones(2), beta=0)
    with pytest.raises(ValueError, match="alpha"):
        H.one_step_error(100, -0.1)
    with pytest.raises(ValueError, match="n_seeds"):
        H.one_step_error(100, 0.1, n_seeds=1)
    with pytest.raises(ValueError, match="n_seeds"):
        H.capacity_sweep(100, [0.1], n_seeds=0)
    with pytest.raises(ValueError, match="loads"):
        H.capacity_sweep(100, [0.1, -0.2])
    with pytest.raises(ValueError, match=r"target\[\] is 7"):
        H.modern_retrieval_loss(np.eye(3), np.ones(3), 7, 1.0)
    with pytest.raises(ValueError, match="target must be integer"):
        H.modern_retrieval_loss(np.eye(3), np.ones(3), 1.5, 1.0)
    with pytest.raises(ValueError, match="indices must be pattern numbers in 0..2, got 9"):
        H.mixture_state(random_patterns(3, 10, 0), (0, 1, 9))
    with pytest.raises(ValueError, match="lr must be a positive finite number, got nan"):
        H.train_label_energy(np.ones((2, 2)), [1, -1], lr=float("nan"))
    assert H.to_bipolar([0, 1, 1]).tolist() == [-1, 1, 1]


def test_inputs_are_never_modified():
    xi = random_patterns(4, 30, seed=12)
    kept = xi.copy()
    net = H.HopfieldNetwork.from_patterns(xi)
    W = net.W.copy()
    probes = xi.copy()
    net.recall(probes, seed=0)
    net.run(probes[0], seed=0)
    np.testing.assert_array_equal(xi, kept)
    np.testing.assert_array_equal(probes, kept)
    np.testing.assert_array_equal(net.W, W)


def test_letters_are_bipolar_and_recalled_by_the_pseudoinverse_rule():
    L = letters()
    assert L.shape == (8, 100) and set(np.unique(L)) == {-1, 1}
    net = H.HopfieldNetwork.from_patterns(L, rule="pseudoinverse")
    rng = np.random.default_rng(13)
    noisy = L.copy()
    noisy[rng.random(L.shape) < 0.1] *= -1
    assert np.all(H.overlap(net.recall(noisy, seed=0), L) == 1.0)


# --------------------------------------------------------------------------- the package


@pytest.mark.parametrize("package", ["ebm.hopfield", "ebm.plotting.hopfield"])
def test_every_submodule_is_the_attribute_of_its_name_and_every_public_name_is_re_exported(package):
    import importlib
    import pkgutil
    import types

    pkg = importlib.import_module(package)
    subs = [m.name for m in pkgutil.iter_modules(pkg.__path__)]
    assert len(subs) >= 3
    exported = set()
    for name in subs:
        module = importlib.import_module(f"{package}.{name}")
        assert getattr(pkg, name) is module, f"{package}.{name} is hidden by a name of the same spelling"
        assert isinstance(module, types.ModuleType)
        for public in getattr(module, "__all__", ()):
            assert getattr(pkg, public) is getattr(module, public)
            exported.add(public)
    assert exported == set(pkg.__all__)
