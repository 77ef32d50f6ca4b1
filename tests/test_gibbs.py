"""LeCun 2006: the Gibbs distribution with beta, the loss functionals, softmax at beta = 1.

Oracles: a plain NumPy softmax / log-sum-exp written here, central differences
(``ebm.gradcheck``), closed forms (ties, two-class identities).
"""

import math

import numpy as np
import pytest

import ebm
from ebm import gibbs as G


def np_softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def np_nll(E, c, beta):
    """Per-sample E_C + (1/beta) log sum exp(-beta E), by a direct log-sum-exp."""
    x = -beta * E
    m = x.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(x - m).sum(axis=1))
    return E[np.arange(len(c)), c] + lse / beta


# --------------------------------------------------------------------------- the Gibbs distribution


@pytest.mark.parametrize(
    "shape, axis",
    [((7,), -1), ((4, 6), -1), ((4, 6), 0), ((3, 5, 2), 1), ((3, 5, 2), -1), ((2, 3, 4, 5), -2), ((2, 3, 4, 5), 0)],
)
@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0, 7.5, 1e3, 1e6])
def test_gibbs_equals_numpy_softmax_of_minus_beta_E(shape, axis, beta, rng):
    E = rng.normal(scale=3.0, size=shape)
    p = G.gibbs_distribution(E, beta, axis=axis)
    assert p.shape == E.shape and p.dtype == np.float64
    np.testing.assert_allclose(p, np_softmax(-beta * E, axis=axis), rtol=0, atol=1e-12)
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, atol=1e-12)


def test_gibbs_axis_is_not_silently_the_caffe_default(rng):
    # the core's default axis is 1; on (4, 6) that is also the last axis, so use (4, 6, 3)
    E = rng.normal(size=(4, 6, 3))
    p = G.gibbs_distribution(E, 1.0)
    np.testing.assert_allclose(p, np_softmax(-E, axis=-1), atol=1e-12)
    assert np.abs(p - np_softmax(-E, axis=1)).max() > 1e-3  # an axis mix-up would be caught


def test_beta_one_is_the_core_softmax_of_minus_E(rng):
    E = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(G.gibbs_distribution(E, 1.0), ebm.softmax_forward(-E, axis=1))


@pytest.mark.filterwarnings("error")
def test_beta_zero_is_exactly_uniform(rng):
    for C in (1, 2, 3, 7, 10):
        E = rng.normal(scale=1e5, size=(4, C))
        p = G.gibbs_distribution(E, 0.0)
        np.testing.assert_array_equal(p, np.full((4, C), 1.0 / C))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("beta", [1e4, 1e6])
def test_large_beta_is_the_tie_split_onehot_of_the_argmin(beta):
    # gaps >= 0.1, so beta * gap >= 1000 > 745: exactly one-hot in float64
    E = np.array(
        [[3.0, 1.0, 1.0, 2.0, 1.0], [0.5, 0.4, 9.0, 0.4, 0.6], [-2.0, 5.0, 1e3, -1.0, 0.0], [1e3, 1e3, 1e3, 1e3, 1e3]]
    )
    p = G.gibbs_distribution(E, beta)
    expected = (E == E.min(axis=1, keepdims=True)).astype(float)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(p, expected)
    assert p[0, 1] == 1 / 3 and p[1, 1] == 0.5 and p[3, 0] == 0.2
    assert np.isfinite(p).all()


def test_large_beta_below_the_underflow_is_the_true_softmax_not_onehot():
    E = np.array([0.0, 1e-4])  # beta * gap = 100 at beta = 1e6: exp(-100) is not 0
    p = G.gibbs_distribution(E, 1e6)
    assert 0 < p[1] == pytest.approx(math.exp(-100) / (1 + math.exp(-100)), rel=1e-12)


def test_gibbs_float32_stays_float32_and_input_is_not_modified(rng):
    E = rng.normal(size=(3, 4)).astype(np.float32)
    before = E.copy()
    p = G.gibbs_distribution(E, 2.0)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p, np_softmax(-2.0 * E.astype(np.float64)), atol=1e-6)
    np.testing.assert_array_equal(E, before)


def test_beta_sweep_rows_are_gibbs_distributions():
    E = np.array([1.0, 2.0, 1.0, 4.0])
    betas = [0.0, 0.5, 1.0, 10.0, 1e6]
    sweep = G.beta_sweep(E, betas)
    for row, b in zip(sweep, betas):
        np.testing.assert_allclose(row, np_softmax(-b * E), atol=1e-12)
    np.testing.assert_array_equal(sweep[0], [0.25] * 4)
    np.testing.assert_array_equal(sweep[-1], [0.5, 0, 0.5, 0])
    # the argmin's probability grows with beta, the highest energy's shrinks
    assert np.all(np.diff(sweep[:, 0]) > 0) and np.all(np.diff(sweep[:, 3]) < 0)


# --------------------------------------------------------------------------- the free energy


@pytest.mark.parametrize("beta", [0.1, 1.0, 30.0])
def test_free_energy_is_minus_lse_over_beta_and_its_gradient_is_the_gibbs_distribution(beta, rng):
    E = rng.normal(size=(3, 5))
    x = -beta * E
    lse = x.max(axis=1) + np.log(np.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1))
    np.testing.assert_allclose(G.free_energy(E, beta), -lse / beta, rtol=1e-13)
    for n in range(3):
        scale = 10.0  # magnitudes > 1: Caffe's floor is not hit
        res = ebm.gradcheck(
            lambda z: scale * G.free_energy(z, beta),
            E[n],
            scale * G.gibbs_distribution(E[n], beta),
            step=1e-4,
            tol=1e-6,
        )
        assert res, str(res)


def test_free_energy_limits():
    E = np.array([2.0, 2.0, 3.0])
    assert G.free_energy(E, 0.0) == -np.inf
    assert G.free_energy(np.array([2.5]), 0.0) == 2.5
    for beta in (1e3, 1e6):
        assert G.free_energy(E, beta) == pytest.approx(2.0 - math.log(2) / beta, rel=1e-15, abs=0)
    with np.errstate(all="raise"):
        assert G.free_energy(np.array([0.0, 1e300]), 1e10) == 0.0  # beta * gap overflows: exp = 0


def test_nll_is_the_correct_energy_minus_the_free_energy(rng):
    E = rng.normal(size=(6, 4))
    c = rng.integers(0, 4, size=6)
    for beta in (0.2, 1.0, 5.0):
        loss, _ = G.nll_loss(E, c, beta)
        assert loss == pytest.approx(np.mean(E[np.arange(6), c] - G.free_energy(E, beta)), rel=1e-13)


# --------------------------------------------------------------------------- NLL through the core


@pytest.mark.parametrize("beta", [0.05, 1.0, 3.0, 1e3])
def test_nll_and_its_gradient_against_a_numpy_oracle(beta, rng):
    N, C = 7, 5
    E = rng.normal(size=(N, C))
    c = rng.integers(0, C, size=N)
    loss, grad = G.nll_loss(E, c, beta)
    assert loss == pytest.approx(np_nll(E, c, beta).mean(), rel=1e-12)
    # the stated scaling: (onehot(C) - P_beta) / N -- no factor beta, a 1/N for the mean
    expected = (np.eye(C)[c] - np_softmax(-beta * E)) / N
    np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-14)


def test_nll_gradient_scaling_is_pinned_down(rng):
    """Central differences accept (onehot - p)/N and reject beta(...), the missing 1/N, and half."""
    N, C, beta = 3, 4, 2.0
    E = rng.normal(size=(N, C))
    c = np.array([0, 3, 1])
    _, grad = G.nll_loss(E, c, beta)
    f = lambda z: G.nll_loss(z, c, beta)[0]
    numeric = ebm.numerical_gradient(f, E, step=1e-5)
    rel = lambda g: np.abs(numeric - g).max() / np.abs(numeric).max()
    assert rel(grad) < 1e-8
    for wrong in (beta * grad, N * grad, 0.5 * grad, -grad):
        assert rel(wrong) > 0.4


def test_beta_one_nll_is_the_core_softmax_loss_on_minus_E(rng):
    E = rng.normal(size=(4, 3))
    c = np.array([2, 0, 1, 2])
    loss, grad = G.nll_loss(E, c, 1.0)
    core_loss, prob = ebm.softmax_loss_forward(-E, c)
    assert loss == pytest.approx(core_loss, rel=1e-14)
    np.testing.assert_allclose(grad, -ebm.softmax_loss_backward(prob, c), atol=1e-15)


# --------------------------------------------------------------------------- NLL -> perceptron


@pytest.mark.parametrize(
    "E, correct, ties",
    [
        ([1.0, 1.0, 3.0, 5.0], 2, 2),
        ([1.0, 1.0, 3.0, 5.0], 0, 2),  # the correct answer is one of the tied minima
        ([0.2, 0.7, 0.2, 0.2, 4.0], 1, 3),
        ([0.0, 0.5, 2.0], 1, 1),  # a unique minimum: the gap vanishes faster than 1/beta
    ],
)
def test_nll_minus_perceptron_goes_to_zero_at_rate_log_ties_over_beta(E, correct, ties):
    betas = np.array([1.0, 10.0, 100.0, 1e3, 1e4, 1e6])
    res = G.nll_perceptron_gap(E, correct, betas)
    assert res["ties"] == ties
    # the two loss functions against the closed form, at every beta
    np.testing.assert_allclose(res["gap"], res["exact"], rtol=1e-9, atol=1e-15)
    assert np.all(res["gap"] >= res["limit"] - 1e-15)
    # beta * (NLL - perceptron) -> log(#ties): within exp(-beta * 0.5) * C for beta >= 100
    scaled = betas * res["gap"]
    big = betas >= 100
    np.testing.assert_allclose(scaled[big], math.log(ties), rtol=0, atol=len(E) * math.exp(-50) + 1e-9)
    assert res["gap"][-1] < 2e-6  # -> 0
    if ties > 1:  # and not faster: the rate is log(#ties)/beta
        assert scaled[-1] > 0.99 * math.log(ties)
        assert abs(res["gap"][-1] - math.log(ties) / 1e6) < 1e-12


def test_nll_at_huge_beta_is_finite_and_equals_the_perceptron_loss():
    E = np.array([[3.0, -1.0, 7.0], [0.0, 0.0, 1.0]])
    c = np.array([0, 2])
    nll, g_nll = G.nll_loss(E, c, 1e9)
    perc, g_perc = G.perceptron_loss(E, c)
    assert np.isfinite(nll) and nll == pytest.approx(perc + math.log(2) / 1e9 / 2, rel=1e-12)
    np.testing.assert_allclose(g_nll[0], g_perc[0], atol=1e-15)  # unique min: same gradient
    np.testing.assert_allclose(g_nll[1], [-0.25, -0.25, 0.5])  # tie: p splits, the subgradient picks one


# --------------------------------------------------------------------------- two-class identities


def test_two_class_nll_is_logistic_regression_and_hinge_is_an_svm(rng):
    g = rng.normal(scale=3.0, size=50)
    Y = rng.choice([-1, 1], size=50)
    E, c = G.two_class_energies(g, Y)
    rows = np.arange(50)
    np.testing.assert_array_equal(E[rows, c], -Y * g)  # E(Y) = -Y G
    for n in range(50):
        nll, _ = G.nll_loss(E[n], c[n], 1.0)
        assert nll == pytest.approx(np.log1p(np.exp(-2 * Y[n] * g[n])), rel=1e-12, abs=1e-12)
        for m in (0.0, 1.0, 2.5):
            hinge, _ = G.hinge_loss(E[n], c[n], m=m)
            assert hinge == pytest.approx(max(0.0, m - 2 * Y[n] * g[n]), rel=1e-12, abs=1e-12)
        log, _ = G.log_loss(E[n], c[n])
        assert log == pytest.approx(nll, rel=1e-12, abs=1e-12)
    # batched means agree with the per-sample values
    assert G.nll_loss(E, c)[0] == pytest.approx(np.mean(np.log1p(np.exp(-2 * Y * g))), rel=1e-12)


def test_two_class_identity_would_catch_a_sign_or_factor_error(rng):
    g = rng.normal(scale=2.0, size=20)
    Y = rng.choice([-1, 1], size=20)
    E, c = G.two_class_energies(g, Y)
    nll = G.nll_loss(E, c)[0]
    assert abs(nll - np.mean(np.log1p(np.exp(-Y * g)))) > 1e-3  # forgot the 2
    assert abs(nll - np.mean(np.log1p(np.exp(2 * Y * g)))) > 1e-3  # wrong sign


# --------------------------------------------------------------------------- every loss's derivative


def _kink_distance(name, E, c, params):
    """How far (in energy) the point is from the loss's non-differentiable set."""
    rows = np.arange(E.shape[0])
    e_c = E[rows, c]
    masked = E.copy()
    masked[rows, c] = np.inf
    srt = np.sort(masked, axis=1)
    e_i = srt[:, 0]
    d = [np.abs(srt[:, 1] - srt[:, 0])]  # which incorrect answer is E_I
    if name == "perceptron":
        s = np.sort(E, axis=1)
        d.append(s[:, 1] - s[:, 0])
    if name == "hinge":
        d.append(np.abs(params["m"] + e_c - e_i))
    if name == "lvq2":
        d += [np.abs(e_c - e_i), np.abs(e_c - (1 + params["delta"]) * e_i)]
    if name == "square_square":
        d.append(np.abs(params["m"] - e_i))
    return float(np.min(d))


CHECK_PARAMS = {
    "hinge": {"m": 0.8},
    "lvq2": {"delta": 0.7},
    "square_square": {"m": 2.0},
    "square_exp": {"gamma": 1.5},
    "nll": {"beta": 1.7},
}


@pytest.mark.parametrize("name", list(G.LOSSES))
def test_every_loss_gradient_passes_gradcheck_and_half_of_it_fails(name):
    params = CHECK_PARAMS.get(name, {})
    fn = G.LOSSES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    N, C = 4, 5
    for _ in range(2000):  # positive energies, away from every kink, most rows not flat
        E = rng.uniform(0.2, 3.0, size=(N, C))
        c = rng.integers(0, C, size=N)
        moving = np.count_nonzero(np.abs(fn(E, c, **params)[1]).sum(axis=1) > 0)
        if _kink_distance(name, E, c, params) > 0.05 and moving >= N // 2:
            break
    else:
        pytest.fail("no test point found")
    loss, grad = fn(E, c, **params)
    assert grad.shape == E.shape and np.isfinite(loss)
    # the batch mean makes each entry ~1/N; scale the objective so every entry tested is
    # well above Caffe's floor of 1 and the rule |a - b| <= tol * max(|a|, |b|, 1) is relative
    nonzero = np.abs(grad) > 1e-12
    scale = 50.0 / np.abs(grad[nonzero]).min()
    f = lambda z: scale * fn(z, c, **params)[0]
    res = ebm.gradcheck(f, E, scale * grad, step=1e-3, tol=1e-3)
    assert res, str(res)
    half = ebm.gradcheck(f, E, 0.5 * scale * grad, step=1e-3, tol=1e-3)
    assert not half, "half the gradient must be rejected"
    # a gradient at the wrong answer is rejected too
    assert not ebm.gradcheck(f, E, np.roll(scale * grad, 1, axis=1), step=1e-3, tol=1e-3)


def test_caffe_rule_without_scaling_would_accept_half_a_small_gradient():
    """Why the scaling above: with Caffe's floor of 1, a half gradient of size 0.01 passes."""
    E = np.array([[0.3, 1.0, 2.0]] * 100)
    c = np.zeros(100, dtype=int)
    f = lambda z: G.energy_loss(z, c)[0]
    _, grad = G.energy_loss(E, c)  # entries 1/100
    assert ebm.gradcheck(f, E, 0.5 * grad)  # passes: the check cannot see it
    assert not ebm.gradcheck(lambda z: 1000 * f(z), E, 500 * grad)


@pytest.mark.parametrize("name", list(G.LOSSES))
def test_batch_loss_is_the_mean_of_single_sample_losses(name, rng):
    params = CHECK_PARAMS.get(name, {})
    E = rng.uniform(0.2, 3.0, size=(5, 4))
    c = rng.integers(0, 4, size=5)
    loss, grad = G.LOSSES[name](E, c, **params)
    singles = [G.LOSSES[name](E[n], c[n], **params) for n in range(5)]
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    np.testing.assert_allclose(grad, np.stack([s[1] for s in singles]) / 5, rtol=1e-12, atol=1e-15)


def test_loss_values_against_the_formulas():
    E = np.array([1.5, 0.5, 2.0, 0.8])  # C = 0, I = 1 (0.5)
    ec, ei = 1.5, 0.5
    d = ec - ei
    table = {
        "energy": ({}, ec),
        "perceptron": ({}, ec - 0.5),
        "hinge": ({"m": 0.3}, 0.3 + d),
        "log": ({}, math.log1p(math.exp(d))),
        "lvq2": ({"delta": 4.0}, d / (4.0 * ei)),
        "mce": ({}, 1 / (1 + math.exp(-d))),
        "square_square": ({"m": 2.0}, ec**2 + (2.0 - ei) ** 2),
        "square_exp": ({"gamma": 0.5}, ec**2 + 0.5 * math.exp(-ei)),
        "nll": ({"beta": 2.0}, ec + math.log(np.exp(-2.0 * E).sum()) / 2.0),
    }
    assert set(table) == set(G.LOSSES)
    for name, (params, value) in table.items():
        assert G.LOSSES[name](E, 0, **params)[0] == pytest.approx(value, rel=1e-13), name
    # the saturated and zero regions
    assert G.lvq2_loss(E, 0, delta=1.0)[0] == 1.0 and not G.lvq2_loss(E, 0, delta=1.0)[1].any()
    assert G.hinge_loss([0.0, 2.0], 0, m=1.0) == (0.0, pytest.approx(np.zeros(2)))


def test_losses_do_not_modify_their_input(rng):
    E = rng.uniform(0.1, 2, size=(3, 4))
    c = np.array([0, 1, 2])
    E0, c0 = E.copy(), c.copy()
    for name, fn in G.LOSSES.items():
        fn(E, c)
    G.gibbs_distribution(E, 3.0)
    G.free_energy(E, 3.0)
    np.testing.assert_array_equal(E, E0)
    np.testing.assert_array_equal(c, c0)


# --------------------------------------------------------------------------- the energy table


@pytest.fixture(scope="module")
def tables():
    return {name: G.train_energy_table(name, steps=300, seed=3) for name in G.LOSSES}


def test_energy_loss_collapses_while_hinge_keeps_the_margin(tables):
    init_scale = 0.05
    energy = tables["energy"]
    # the correct entries hit the floor, the incorrect entries never moved: a flat table
    c = energy["correct"]
    rows = np.arange(c.size)
    assert np.all(energy["final"][rows, c] == 0)
    wrong = np.ones_like(energy["final"], dtype=bool)
    wrong[rows, c] = False
    np.testing.assert_array_equal(energy["final"][wrong], energy["initial"][wrong])
    assert energy["loss"][-1] == 0.0
    assert np.all(energy["gaps"][-1] >= 0) and energy["gaps"][-1].max() < init_scale
    assert np.all(energy["final"] <= init_scale)
    # hinge: every gap >= m (m = 1), and training stopped (zero loss)
    hinge = tables["hinge"]
    assert hinge["gaps"][-1].min() >= 1.0 and hinge["loss"][-1] == 0.0
    # log and NLL keep a real gap, far above the energy loss's
    for name in ("log", "nll"):
        assert tables[name]["gaps"][-1].min() > 1.0, name
        assert tables[name]["gaps"][-1].min() > 20 * energy["gaps"][-1].max(), name
        assert tables[name]["gaps"][-1].min() > tables[name]["gaps"][150].min()  # still growing


def test_shared_parameter_energy_loss_collapses_a_good_table():
    """E = s * D: lowering E_C through the shared s drags every bad answer down with it."""
    energy = G.train_shared_scale("energy", steps=100, seed=2)
    assert energy["gaps"][0].min() >= 0.5  # a good table to start with
    assert energy["scale"][-1] == 0.0 and np.all(energy["final"] == 0)
    np.testing.assert_array_equal(energy["gaps"][-1], 0.0)
    assert np.all(np.diff(energy["scale"]) <= 0)
    hinge = G.train_shared_scale("hinge", steps=100, seed=2, m=1.0)
    assert hinge["gaps"][-1].min() >= 1.0 and hinge["loss"][-1] == 0.0
    nll = G.train_shared_scale("nll", steps=100, seed=2)
    assert np.all(np.diff(nll["scale"]) > 0) and nll["gaps"][-1].min() > 2.0
    # the update is descent on s: compare one step with central differences of the loss in s
    D, c = energy["D"], energy["correct"]
    for name in ("energy", "hinge", "nll"):
        _, grad = G.LOSSES[name](1.3 * D, c)
        f = lambda s: G.LOSSES[name](s[0] * D, c)[0]
        assert ebm.gradcheck(
            lambda s: 100 * f(s), np.array([1.3]), np.array([100 * np.sum(grad * D)]), step=1e-4, tol=1e-6
        )


def test_energy_table_is_reproducible_and_validates():
    a = G.train_energy_table("nll", steps=20, seed=5, beta=2.0)
    b = G.train_energy_table("nll", steps=20, seed=np.random.default_rng(5), beta=2.0)
    np.testing.assert_array_equal(a["final"], b["final"])
    assert a["loss"].shape == (21,) and a["gaps"].shape == (21, 6)
    with pytest.raises(ValueError, match="loss must be one of"):
        G.train_energy_table("softmax")
    with pytest.raises(ValueError, match=r"hinge loss takes \['m'\], got \['beta'\]"):
        G.train_energy_table("hinge", beta=1.0)
    with pytest.raises(ValueError, match="n_answers must be >= 2"):
        G.train_energy_table("energy", n_answers=1)
    with pytest.raises(TypeError, match="steps must be an integer"):
        G.train_energy_table("energy", steps=2.5)
    with pytest.raises(ValueError, match=r"nll loss takes \['beta'\], got \['m'\]"):
        G.train_shared_scale("nll", m=1.0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        G.train_shared_scale("energy", lr=0.0)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: G.gibbs_distribution([1.0, 2.0], -0.5), ValueError, r"beta must be >= 0"),
        (lambda: G.gibbs_distribution([1.0, 2.0], np.nan), ValueError, r"beta must be finite"),
        (lambda: G.gibbs_distribution([1.0, 2.0], "1"), TypeError, r"beta must be a real number"),
        (
            lambda: G.gibbs_distribution([1.0, 2.0], np.array([1.0, 2.0])),
            TypeError,
            r"beta must be a real scalar, got an array of shape \(2,\)",
        ),
        (lambda: G.gibbs_distribution([1.0, np.nan], 1.0), ValueError, r"energies\[1\] is nan"),
        (lambda: G.gibbs_distribution([[1.0, np.inf]], 1.0), ValueError, r"energies\[0, 1\] is inf"),
        (lambda: G.gibbs_distribution([1e300, 1.0], 1e10), ValueError, r"overflows"),
        (lambda: G.gibbs_distribution(1.0, 1.0), ValueError, r"at least one axis"),
        (lambda: G.gibbs_distribution([1.0, 2.0], 1.0, axis=1), ValueError, r"axis 1 is out of range"),
        (lambda: G.free_energy([1.0, 2.0], -1.0), ValueError, r"beta must be >= 0"),
        (lambda: G.nll_loss([1.0, 2.0], 0, beta=-1.0), ValueError, r"beta must be >= 0"),
        (lambda: G.nll_loss([1.0, 2.0], 0, beta=0.0), ValueError, r"beta must be > 0"),
        (lambda: G.hinge_loss([[1.0, 2.0]], [2]), ValueError, r"correct\[0\] is 2, outside the valid answers \[0, 2\)"),
        (lambda: G.hinge_loss([[1.0, 2.0], [0.0, 1.0]], [0, -1]), ValueError, r"correct\[1\] is -1"),
        (lambda: G.energy_loss([1.0, 2.0], 5), ValueError, r"correct is 5, outside"),
        (
            lambda: G.log_loss([[1.0, 2.0]], [0, 1]),
            ValueError,
            r"correct has shape \(2,\) but energies has shape \(1, 2\)",
        ),
        (lambda: G.log_loss([1.0, 2.0], [0]), ValueError, r"correct has shape \(1,\)"),
        (lambda: G.mce_loss(np.ones((2, 3, 4)), [0, 1]), ValueError, r"energies must have shape \(N, C\)"),
        (lambda: G.mce_loss([[1.0]], [0]), ValueError, r"at least 2 answers"),
        (lambda: G.energy_loss([1.0, 2.0], 0.5), ValueError, r"correct is 0.5, which is not an integer"),
        (lambda: G.energy_loss([1.0, 2.0], "a"), TypeError, r"correct must hold integer"),
        (
            lambda: G.square_square_loss([[1.0, 2.0], [0.5, -0.1]], [0, 1]),
            ValueError,
            r"non-negative energies.*energies\[1, 1\] is -0.1",
        ),
        (lambda: G.hinge_loss([1.0, 2.0], 0, m=-1.0), ValueError, r"m must be >= 0"),
        (lambda: G.lvq2_loss([1.0, 2.0], 0, delta=0.0), ValueError, r"delta must be > 0"),
        (lambda: G.lvq2_loss([1.0, 0.0], 0), ValueError, r"needs E_I > 0"),
        (lambda: G.square_exp_loss([1.0, 2.0], 0, gamma=-1.0), ValueError, r"gamma must be > 0"),
        (lambda: G.beta_sweep([1.0, 2.0], [1.0, -2.0]), ValueError, r"betas\[1\] is -2.0"),
        (lambda: G.nll_perceptron_gap([1.0, 2.0], 0, [0.0, 1.0]), ValueError, r"betas must be > 0"),
        (lambda: G.two_class_energies([1.0, 2.0], [1, 0]), ValueError, r"Y\[1\] is 0"),
        (lambda: G.two_class_energies([1.0, 2.0], [1]), ValueError, r"Y has shape \(1,\) but G has shape \(2,\)"),
    ],
)
def test_bad_input_raises_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_every_loss_names_a_bad_correct_index():
    for name, fn in G.LOSSES.items():
        with pytest.raises(ValueError, match=r"correct\[1\] is 3, outside the valid answers \[0, 3\)"):
            fn(np.ones((2, 3)), [0, 3])
        with pytest.raises(ValueError, match=r"correct has shape"):
            fn(np.ones((2, 3)), [0, 1, 2])


def test_an_empty_batch_is_refused():
    for fn in G.LOSSES.values():
        with pytest.raises(ValueError, match=r"energies has no samples \(shape \(0, 3\)\)"):
            fn(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_margin_condition_matches_the_tutorials_table_1():
    """Condition 3 of LeCun et al. (2006), computed on a grid, against their Table 1 (literature)."""
    # Table 1: the margin each loss needs -- "none" (energy), 0 (perceptron, LVQ2), m or > 0 (the rest)
    table_1 = {
        "energy": False,
        "perceptron": False,
        "hinge": True,
        "log": True,
        "lvq2": False,
        "mce": True,
        "square_square": True,
        "square_exp": True,
        "nll": True,
    }
    got = {name: G.margin_condition(name, margin=0.5) for name in G.LOSSES}
    assert {name: r["satisfied"] for name, r in got.items()} == table_1 == G.MARGIN_CONDITION
    # closed forms at the grid point nearest the boundary on the unseparated side (gap 0.25)
    assert math.isclose(got["hinge"]["min_not_separated"], 1 - 0.25)
    assert math.isclose(got["log"]["min_not_separated"], math.log1p(math.exp(-0.25)))
    assert math.isclose(got["nll"]["min_not_separated"], math.log1p(math.exp(-0.25)))
    assert math.isclose(got["mce"]["min_not_separated"], 1 / (1 + math.exp(0.25)))
    # a hinge without a margin fails it: the check can say no to a loss that passes by default
    assert not G.margin_condition("hinge", margin=0.5, m=0.0)["satisfied"]
    for name, ok in table_1.items():  # the docstrings agree with the table
        doc = " ".join(G.LOSSES[name].__doc__.split())
        assert ("Margin condition" in doc) and (("**not satisfied**" in doc) != ok), name
