"""RBM 1986: the model, exact log Z, the joint softmax, Gibbs, AIS, bad input, the data."""

import math

import numpy as np
import pytest

import ebm
from ebm.datasets import load_digits
from ebm.rbm import (
    RBM,
    AISEstimate,
    all_states,
    joint_distribution,
    joint_energies,
    log_partition_ais,
    visible_distribution,
)


def random_rbm(n_v, n_h, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    rbm = RBM(n_v, n_h)
    rbm.W = rng.normal(0, scale, (n_v, n_h))
    rbm.b = rng.normal(0, scale, n_v)
    rbm.c = rng.normal(0, scale, n_h)
    return rbm


def brute_log_z(rbm):
    """logsumexp of -E over every joint state, in plain NumPy (an independent oracle)."""
    V, H = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    neg_e = (V @ rbm.b)[:, None] + (H @ rbm.c)[None, :] + V @ rbm.W @ H.T
    m = neg_e.max()
    return float(m + np.log(np.exp(neg_e - m).sum()))


@pytest.fixture(scope="module")
def digits():
    return load_digits()


# --------------------------------------------------------------------------- the data


def test_digits_are_binary_with_the_fixed_split(digits):
    assert digits.images.shape == (1797, 64) and digits.labels.shape == (1797,)
    assert set(np.unique(digits.images)) == {0.0, 1.0}
    tr, te = digits.train_index, digits.test_index
    assert tr.size == 1437 and te.size == 360
    assert np.array_equal(np.sort(np.concatenate([tr, te])), np.arange(1797))  # a partition
    assert abs(digits.images.mean() - 0.2929) < 5e-4
    assert np.bincount(digits.labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    X_train, X_test, y_train, y_test = digits
    assert np.array_equal(X_train, digits.images[tr]) and np.array_equal(y_test, digits.labels[te])
    grey = load_digits(binarize=False).images
    assert grey.max() == 1.0 and np.array_equal((grey > 0.5).astype(float), digits.images)


def test_digits_match_scikit_learn_when_installed(digits):
    sk = pytest.importorskip("sklearn.datasets")
    from sklearn.model_selection import train_test_split

    X, y = sk.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split((X / 16 > 0.5).astype(float), y, test_size=360, random_state=0)
    for ours, theirs in zip(digits, (X_train, X_test, y_train, y_test)):
        assert np.array_equal(ours, theirs)


def test_load_digits_rejects_a_non_bool():
    with pytest.raises(TypeError, match="binarize must be True or False"):
        load_digits(binarize="yes")


# --------------------------------------------------------------------------- energies


def test_free_energy_marginalises_the_hidden_layer_exactly():
    rbm = random_rbm(5, 4, seed=0)
    V, H = all_states(5), all_states(4)
    for v in V:
        energies = np.array([rbm.energy(v, h) for h in H])
        assert rbm.free_energy(v) == pytest.approx(-np.log(np.exp(-energies).sum()), abs=1e-12)
    # a plausible wrong answer: forgetting the visible bias term is off by b^T v
    wrong = -np.logaddexp(0, rbm.c + V @ rbm.W).sum(axis=1)
    assert np.abs(wrong - rbm.free_energy(V)).max() > 0.1


def test_conditionals_match_the_enumerated_joint():
    rbm = random_rbm(4, 3, seed=1)
    V, H, prob = joint_distribution(rbm)
    for v in all_states(4):
        rows = np.all(V == v, axis=1)
        p_h = (prob[rows][:, None] * H[rows]).sum(axis=0) / prob[rows].sum()
        np.testing.assert_allclose(rbm.prob_h_given_v(v), p_h, atol=1e-12)
    for h in all_states(3):
        rows = np.all(H == h, axis=1)
        p_v = (prob[rows][:, None] * V[rows]).sum(axis=0) / prob[rows].sum()
        np.testing.assert_allclose(rbm.prob_v_given_h(h), p_v, atol=1e-12)
    np.testing.assert_array_equal(rbm.transform(all_states(4)), rbm.prob_h_given_v(all_states(4)))


def test_samples_follow_the_conditionals():
    rbm = random_rbm(6, 5, seed=2)
    v = np.array([1, 0, 1, 1, 0, 0.0])
    h = rbm.sample_h(np.tile(v, (20000, 1)), seed=0)
    assert np.abs(h.mean(axis=0) - rbm.prob_h_given_v(v)).max() < 0.015
    hv = np.array([0, 1, 1, 0, 1.0])
    vs = rbm.sample_v(np.tile(hv, (20000, 1)), seed=0)
    assert np.abs(vs.mean(axis=0) - rbm.prob_v_given_h(hv)).max() < 0.015
    assert rbm.sample_h(v, seed=3).shape == (5,)
    np.testing.assert_array_equal(rbm.sample_h(v, seed=3), rbm.sample_h(v, seed=3))


# --------------------------------------------------------------------------- exact log Z


@pytest.mark.parametrize("n_v, n_h", [(1, 1), (3, 2), (12, 12), (12, 7), (5, 12), (9, 10)])
@pytest.mark.parametrize("seed", range(3))
def test_log_z_by_hidden_and_visible_enumeration_agree(n_v, n_h, seed):
    rbm = random_rbm(n_v, n_h, seed, scale=1.5)
    by_h = rbm.log_partition(layer="hidden")
    by_v = rbm.log_partition(layer="visible")
    assert abs(by_h - by_v) <= 1e-10 * abs(by_v)
    if n_v + n_h <= 16:
        assert by_h == pytest.approx(brute_log_z(rbm), rel=1e-12)
    V, p = visible_distribution(rbm)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_log_z_across_several_chunks_of_the_kernel():
    rbm = random_rbm(15, 14, seed=4, scale=0.7)  # 2**14 hidden states: 4 chunks of 2**12
    assert rbm.log_partition(layer="hidden") == pytest.approx(rbm.log_partition(layer="visible"), rel=1e-10)
    V, p = visible_distribution(rbm)
    assert p.sum() == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("scale", [40.0, 150.0])
def test_large_activations_do_not_overflow(scale):
    # 40: activations of a few hundred (the exp(x) walk); 150: beyond its bound (term by term)
    rbm = random_rbm(10, 8, seed=5, scale=scale)
    assert rbm.log_partition(layer="hidden") == pytest.approx(brute_log_z(rbm), rel=1e-12)
    assert rbm.log_partition(layer="visible") == pytest.approx(brute_log_z(rbm), rel=1e-12)


def test_the_two_kernels_agree(monkeypatch):
    from ebm.rbm import partition

    rbm = random_rbm(13, 14, seed=14)
    fast = rbm.log_partition()
    monkeypatch.setattr(partition, "_EXP_BOUND", 0.0)  # force the term-by-term kernel
    assert rbm.log_partition() == pytest.approx(fast, rel=1e-12)


@pytest.mark.parametrize("exp_bound", [600.0, 0.0], ids=["exp walk", "term by term"])
def test_the_serial_and_parallel_twins_give_the_same_log_z_bit_for_bit(monkeypatch, exp_bound):
    """A small enumeration runs the serial twin, a large one the parallel twin on an idle machine: the
    same chunks with the same arithmetic, so the same bits; and the value of a brute-force sum."""
    from ebm import _parallel
    from ebm.rbm import partition

    monkeypatch.setattr(partition, "_EXP_BOUND", exp_bound)
    monkeypatch.setattr(_parallel, "machine_is_busy", lambda: False)
    rbm = random_rbm(2, 14, seed=4, scale=0.7)  # 2**14 hidden states: 4 chunks; 2**16 joint states
    values = {}
    for twin, threshold in (("serial", 1 << 62), ("parallel", 0)):
        monkeypatch.setattr(_parallel, "PARALLEL_MIN_WORK", threshold)
        values[twin] = rbm.log_partition(layer="hidden")
    kernels = partition.enumerate_chunks if exp_bound else partition.enumerate_chunks_wide
    assert all(k.signatures for k in kernels)  # each twin ran
    assert values["serial"] == values["parallel"]
    assert values["serial"] == pytest.approx(brute_log_z(rbm), rel=1e-12)  # every joint state, in NumPy


@pytest.mark.parametrize("n_v, n_h", [(3, 2), (25, 10), (10, 25), (64, 16)])
def test_log_z_at_zero_parameters_counts_every_state(n_v, n_h):
    rbm = RBM(n_v, n_h)
    rbm.W[:] = 0.0
    assert rbm.log_partition() == pytest.approx((n_v + n_h) * math.log(2), rel=1e-13)


def test_a_wrong_normaliser_is_caught():
    rbm = random_rbm(6, 4, seed=6)
    V, p = visible_distribution(rbm)
    # independent units would give log Z = sum softplus(b) + sum softplus(c): wrong once W != 0
    naive = np.logaddexp(0, rbm.b).sum() + np.logaddexp(0, rbm.c).sum()
    q = np.exp(-rbm.free_energy(V) - naive)
    assert abs(q.sum() - 1.0) > 0.05 and abs(p.sum() - 1.0) < 1e-12


# --------------------------------------------------------------------------- the joint softmax


def test_joint_distribution_is_one_softmax_over_minus_energy():
    rbm = random_rbm(3, 2, seed=7)
    V, H, energy = joint_energies(rbm)
    assert V.shape == (32, 3) and H.shape == (32, 2)
    _, _, prob = joint_distribution(rbm)
    np.testing.assert_allclose(prob, np.exp(-energy - rbm.log_partition()), rtol=1e-12)
    np.testing.assert_allclose(prob, ebm.reference.softmax_forward(-energy[None, :])[0], rtol=1e-12)
    # marginal over h is p(v)
    _, p_v = visible_distribution(rbm)
    marg = np.array([prob[np.all(V == v, axis=1)].sum() for v in all_states(3)])
    np.testing.assert_allclose(marg, p_v, rtol=1e-12)
    # beta -> 0 flattens it to uniform
    _, _, flat = joint_distribution(rbm, beta=0.0)
    np.testing.assert_allclose(flat, 1 / 32)


def test_joint_table_refuses_to_grow_silently():
    with pytest.raises(ValueError, match="2\\*\\*20 rows"):
        joint_energies(RBM(10, 10))


# --------------------------------------------------------------------------- Gibbs sampling


def total_variation(counts, p):
    return 0.5 * np.abs(counts / counts.sum() - p).sum()


def test_gibbs_sampling_matches_the_exact_distribution_6x4():
    rbm = random_rbm(6, 4, seed=8, scale=1.0)
    V, p = visible_distribution(rbm)
    start = np.zeros((200, 6))
    _, trace = rbm.gibbs_sampling(start, k=600, seed=0, return_trace=True)
    kept = trace[100:].reshape(-1, 6).astype(np.int64)  # 100,000 states after burn-in
    codes = kept @ (1 << np.arange(6))  # all_states: unit 0 is bit 0
    counts = np.bincount(codes, minlength=64).astype(float)
    tv = total_variation(counts, p)
    assert tv < 0.03, tv
    # the check can fail: the independent-units approximation of p(v) is rejected
    ind = np.prod(np.where(V == 1, rbm.prob_v_given_h(np.zeros(4)), 1 - rbm.prob_v_given_h(np.zeros(4))), axis=1)
    assert total_variation(counts, ind) > 0.03


def test_gibbs_sampling_is_reproducible_and_leaves_the_input_alone():
    rbm = random_rbm(6, 4, seed=9)
    V0 = np.ones((3, 6))
    a, b = rbm.gibbs_sampling(V0, k=5, seed=1), rbm.gibbs_sampling(V0, k=5, seed=1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(V0, 1.0)
    np.testing.assert_array_equal(rbm.gibbs_sampling(V0, k=0, seed=1), V0)
    assert rbm.gibbs_sampling(np.ones(6), k=2, seed=0).shape == (6,)
    assert rbm.sample(4, n_steps=3, seed=0).shape == (4, 6)


# --------------------------------------------------------------------------- AIS


@pytest.fixture(scope="module")
def digits_rbm(digits):
    return RBM(64, 16).fit(digits.X_train, epochs=50, seed=0)


def test_ais_is_within_005_nats_on_a_16_hidden_digits_rbm(digits_rbm):
    exact = digits_rbm.log_partition()
    est = digits_rbm.log_partition("ais", n_betas=1000, n_runs=100, seed=0)
    assert isinstance(est, AISEstimate)
    assert abs(float(est) - exact) < 0.05, (float(est), exact)
    assert est.lower <= float(est) <= est.upper
    assert est.lower < exact < est.upper
    # a wrong normaliser is outside the interval (the check can fail)
    assert not est.lower < exact + 0.5 < est.upper


def test_ais_weights_are_unbiased_even_with_two_betas():
    rbm = random_rbm(5, 3, seed=10, scale=0.5)
    exact = rbm.log_partition()
    est = log_partition_ais(rbm, n_betas=2, n_runs=40000, seed=1)  # plain importance sampling
    assert est.lower < exact < est.upper
    assert abs(float(est) - exact) < 0.05


def test_ais_from_the_target_itself_is_exact():
    rbm = RBM(6, 3)
    rbm.W[:] = 0.0
    rbm.b = np.array([0.5, -1, 2, 0, 0.1, -0.3])
    est = log_partition_ais(rbm, n_betas=10, n_runs=5, seed=0, base_data=None)
    assert est.log_z != pytest.approx(rbm.log_partition(), abs=1e-3)  # uniform base: weights vary
    est = log_partition_ais(rbm, n_betas=10, n_runs=5, seed=0, base_biases=rbm.b)  # base = target
    np.testing.assert_allclose(est.log_weights, 0.0, atol=1e-12)
    assert est.log_z == pytest.approx(rbm.log_partition(), abs=1e-12)
    np.testing.assert_array_equal(est.base_biases, rbm.b)
    rbm.base_biases_ = rbm.b.copy()  # the same base, remembered as fit does
    remembered = log_partition_ais(rbm, n_betas=10, n_runs=5, seed=0)
    np.testing.assert_array_equal(remembered.log_weights, est.log_weights)


def test_ais_base_biases_take_precedence_and_are_checked():
    rbm = random_rbm(4, 3, seed=12)
    rbm.base_biases_ = np.full(4, 3.0)  # ignored below
    b_a = np.array([0.5, -0.5, 1.0, 0.0])
    given = log_partition_ais(rbm, n_betas=5, n_runs=50, seed=2, base_biases=b_a)
    assert given.log_z_base == pytest.approx(np.logaddexp(0.0, b_a).sum() + 3 * np.log(2), abs=1e-12)
    other = log_partition_ais(rbm, n_betas=5, n_runs=50, seed=2)  # from rbm.base_biases_
    assert other.log_z_base != pytest.approx(given.log_z_base)
    np.testing.assert_array_equal(b_a, [0.5, -0.5, 1.0, 0.0])  # the caller's array
    with pytest.raises(ValueError, match="base_biases or base_data, not both"):
        log_partition_ais(rbm, n_betas=5, n_runs=5, base_biases=b_a, base_data=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="3 visible biases \\(from base_biases\\) but the RBM has 4"):
        log_partition_ais(rbm, n_betas=5, n_runs=5, base_biases=np.zeros(3))
    with pytest.raises(ValueError, match="base_biases\\[1\\] is nan"):
        log_partition_ais(rbm, n_betas=5, n_runs=5, base_biases=[0.0, np.nan, 0.0, 0.0])
    via_method = rbm.log_partition("ais", n_betas=5, n_runs=50, seed=2, base_biases=b_a)
    np.testing.assert_array_equal(via_method.log_weights, given.log_weights)


def test_ais_is_reproducible_and_can_record(digits_rbm):
    a = digits_rbm.log_partition("ais", n_betas=20, n_runs=7, seed=3)
    b = log_partition_ais(digits_rbm, n_betas=20, n_runs=7, seed=3, record=True)
    assert type(a) is type(b) is AISEstimate  # one return type
    assert a.states is None
    np.testing.assert_array_equal(a.log_weights, b.log_weights)
    assert b.states.shape == (20, 7, 64) and set(np.unique(b.states)) <= {0, 1}


# --------------------------------------------------------------------------- likelihoods


def test_pseudo_likelihood_from_exact_conditionals():
    rbm = random_rbm(5, 3, seed=11)
    V = all_states(5)
    ll = rbm.log_likelihood(V)
    expected = np.zeros(len(V))
    for i in range(5):
        flipped = V.copy()
        flipped[:, i] = 1 - flipped[:, i]
        expected += ll - np.logaddexp(ll, rbm.log_likelihood(flipped))
    np.testing.assert_allclose(rbm.pseudo_likelihood(V), expected, atol=1e-12)


def test_free_energy_gap_is_a_likelihood_difference():
    rbm = random_rbm(6, 4, seed=12)
    rng = np.random.default_rng(0)
    A, B = (rng.random((30, 6)) < 0.3).astype(float), (rng.random((20, 6)) < 0.6).astype(float)
    gap = rbm.free_energy_gap(A, B)
    assert gap == pytest.approx(rbm.log_likelihood(A).mean() - rbm.log_likelihood(B).mean(), abs=1e-12)


def test_reconstruction_error_by_hand():
    rbm = random_rbm(4, 3, seed=13)
    V = all_states(4)
    ph = 1 / (1 + np.exp(-(rbm.c + V @ rbm.W)))
    pv = 1 / (1 + np.exp(-(rbm.b + ph @ rbm.W.T)))
    assert rbm.reconstruction_error(V) == pytest.approx(np.mean(np.sum((V - pv) ** 2, axis=1)))


def test_log_likelihood_beyond_the_limit_needs_an_estimate():
    rbm = RBM(30, 26, seed=0)
    with pytest.raises(ValueError, match="method='ais'"):
        rbm.log_likelihood(np.zeros((1, 30)))
    est = rbm.log_partition("ais", n_betas=50, n_runs=10, seed=0)
    assert rbm.log_likelihood(np.zeros((2, 30)), log_z=est).shape == (2,)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "V, match",
    [
        (np.full((2, 4), 0.5), r"V\[0, 0\] is 0.5: .* 0 or 1; binarise"),
        (np.array([0, 1, 2, 0]), r"V\[2\] is 2"),
        (np.zeros((2, 5)), r"V has 5 columns but the model has 4"),
        (np.zeros((2, 2, 4)), r"V must have shape"),
        (np.array([[0, np.nan, 1, 0]]), r"V\[0, 1\] is nan"),
    ],
)
def test_bad_visible_data_is_named(V, match):
    rbm = RBM(4, 3, seed=0)
    with pytest.raises(ValueError, match=match):
        rbm.free_energy(V)


def test_fit_rejects_non_binary_data_and_leaves_the_input_alone():
    rbm = RBM(4, 3, seed=0)
    X = np.array([[0.2, 0.9, 0.0, 1.0]])
    with pytest.raises(ValueError, match="binarise"):
        rbm.fit(X, epochs=1)
    X = np.array([[0, 1, 0, 1], [1, 1, 0, 0]], dtype=float)
    keep = X.copy()
    rbm.fit(X, epochs=2, seed=0)
    np.testing.assert_array_equal(X, keep)


def test_exact_log_z_beyond_the_limit_suggests_ais():
    with pytest.raises(ValueError, match=r"2\*\*26 states .* limit is 25 units.*method='ais'"):
        RBM(30, 26).log_partition()
    with pytest.raises(ValueError, match="method must be 'exact' or 'ais'"):
        RBM(3, 2).log_partition("magic")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_betas=0), "n_betas must be a positive number"),
        (dict(n_betas=-5), "n_betas must be a positive number"),
        (dict(n_betas=1), "n_betas must be at least 2"),
        (dict(n_runs=0), "n_runs must be a positive number"),
        (dict(n_runs=-1), "n_runs must be a positive number"),
        (dict(n_betas=[0.0, 0.7, 0.5, 1.0]), "increasing, from 0.0 to 1.0"),
    ],
)
def test_ais_rejects_bad_counts(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RBM(4, 3, seed=0).log_partition("ais", **kwargs)


def test_a_base_model_of_the_wrong_size_is_named():
    with pytest.raises(ValueError, match="the base model has 5 visible biases .* RBM has 4 visible units"):
        RBM(4, 3).log_partition("ais", base_data=np.zeros((2, 5)))


def test_bad_parameters_and_sizes_are_named():
    rbm = RBM(4, 3, seed=0)
    rbm.W = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"W must have shape \(4, 3\)"):
        rbm.free_energy(np.zeros(4))
    rbm = RBM(4, 3, seed=0)
    rbm.c = np.array([0.0, np.inf, 0.0])
    with pytest.raises(ValueError, match=r"c\[1\] is inf"):
        rbm.log_partition()
    with pytest.raises(ValueError, match="n_hidden must be positive"):
        RBM(4, 0)
    with pytest.raises(TypeError, match="n_visible must be an integer"):
        RBM(4.0, 3)
    with pytest.raises(ValueError, match="h has 2 columns but the model has 3"):
        RBM(4, 3).energy(np.zeros(4), np.zeros(2))


# --------------------------------------------------------------------------- the AIS interval


def _clt_interval(est):
    """The old interval: mean(w) +- 3 std(w)/sqrt(n), mapped to log space (the plausible wrong one)."""
    lw = est.log_weights
    m = lw.max()
    w = np.exp(lw - m)
    s = 3 * w.std() / math.sqrt(w.size)
    lo = est.log_z_base + m + math.log(w.mean() - s) if w.mean() > s else -math.inf
    return lo, est.log_z_base + m + math.log(w.mean() + s)


def test_ais_interval_holds_over_seeds_at_10_30_and_100_betas():
    """The 99.73% interval against the exact log Z, over seeds; the mean-weight +-3 sigma fails."""
    rbm = random_rbm(16, 6, seed=0, scale=1.0)
    exact = rbm.log_partition()
    for n_betas, seeds in ((10, 200), (30, 100), (100, 100)):
        ests = [log_partition_ais(rbm, n_betas=n_betas, n_runs=100, seed=s) for s in range(seeds)]
        misses = sum(not e.lower <= exact <= e.upper for e in ests)
        # at the nominal 0.27%, 3 or more misses in 200 has probability 1.8%
        assert misses <= 2, (n_betas, misses)
        if n_betas == 10:
            old = sum(not lo <= exact <= hi for lo, hi in map(_clt_interval, ests))
            assert old >= 5, old  # 8 of 200 measured: the old interval misses
        # ess is (sum w)^2 / sum w^2, recomputed here
        w = np.exp(ests[0].log_weights - ests[0].log_weights.max())
        assert math.isclose(ests[0].ess, w.sum() ** 2 / (w**2).sum())


def test_ais_interval_quantiles_match_tables():
    """The t and chi-square quantiles behind the interval, against scipy's values (tabulated here)."""
    from ebm.rbm import ais as P

    p = 1 - P.AIS_ALPHA / 4
    # scipy.stats.t.ppf(p, df) and scipy.stats.chi2.ppf(p, df) / chi2.ppf(1 - p, df)
    table = {29: (3.5461, 59.690, 10.546), 99: (3.2988, 150.348, 59.979)}
    for df, (t, hi, lo) in table.items():
        assert abs(P._t_quantile(p, df) - t) < 2e-3 * t
        assert abs(P._chi2_quantile(p, df) - hi) < 0.01 * hi
        assert abs(P._chi2_quantile(1 - p, df) - lo) < 0.02 * lo


def test_rbm_bad_seed_steps_and_divergence(digits):
    rbm = RBM(64, 16)
    with pytest.raises(TypeError, match="seed must be None, an integer or a numpy.random.Generator, got 'abc'"):
        rbm.fit(digits.X_train[:20], epochs=1, seed="abc")
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        RBM(4, 2, seed=-1)
    with pytest.raises(ValueError, match="n_steps must be >= 0, got -5"):
        rbm.sample(3, n_steps=-5)
    with pytest.warns(RuntimeWarning, match="RBM.fit diverged.*below the uniform model.s -44.36 and below its start"):
        RBM(64, 16).fit(digits.X_train, epochs=2, lr=1e6, seed=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sane lr does not warn
        fitted = RBM(64, 16).fit(digits.X_train, epochs=2, seed=0)
    # the warning's criterion, recomputed: the sane fit is above -64 ln 2, exactly
    assert fitted.log_likelihood(digits.X_train).mean() > -64 * math.log(2)


def test_independent_pixels_baseline_against_a_plain_loop(digits):
    from ebm.rbm.benchmark import independent_pixels

    X, Xe = digits.X_train, digits.X_test
    got = independent_pixels(X, Xe)
    n = len(X)
    total = 0.0
    for v in Xe[:40]:  # per image, per pixel, with math.log
        for i in range(64):
            p = (sum(X[:, i]) + 0.5) / (n + 1)
            total += math.log(p if v[i] else 1 - p)
    # the first 40 images' mean, from the function on those rows, equals the loop's
    assert math.isclose(independent_pixels(X, Xe[:40]), total / 40, rel_tol=1e-12)
    assert round(got, 2) == -24.65
    assert got > -64 * math.log(2)  # better than uniform pixels
    with pytest.raises(ValueError, match=r"X_eval\[0, 3\] is 2.0"):
        independent_pixels(X, np.full((1, 64), 2.0).clip(0, None) * (np.arange(64) == 3))
