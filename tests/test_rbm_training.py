"""RBM training: the defaults reach the target, the history is exact, sklearn side by side."""

import numpy as np
import pytest

from ebm.datasets import load_digits
from ebm.rbm import RBM

#: Exact test log-likelihood the defaults must reach (mean of 3 seeds, 16 hidden, 50 epochs;
#: the tour's mean over seeds 0-2 is -18.65 nats).
TARGET = -19.0
#: The uniform model's log-likelihood, 64 ln 2 nats below zero.
UNIFORM = -64 * np.log(2)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def independent(digits):
    """The independent-pixel baseline on the same split (-24.65 nats, half-count smoothing)."""
    from ebm.rbm.benchmark import independent_pixels

    return independent_pixels(digits.X_train, digits.X_test)


@pytest.fixture(scope="module")
def trained(digits):
    """The target run: fit(V, epochs=50, seed=s) for s = 0, 1, 2, at full size."""
    return [RBM(64, 16).fit(digits.X_train, epochs=50, seed=s) for s in range(3)]


def test_defaults_reach_the_target(trained, digits, independent):
    lls = [rbm.log_likelihood(digits.X_test).mean() for rbm in trained]
    assert np.mean(lls) >= TARGET, lls
    assert min(lls) > independent  # every seed beats independent pixels


def test_independent_pixels_baseline(digits, independent):
    # The defaults start at the independent-pixel model (W ~ 0, b = log-odds), so the epoch-0
    # likelihood is that baseline (up to the tiny W and the smoothing).
    rbm = RBM(64, 16).fit(digits.X_train, epochs=0, seed=0)
    assert rbm.log_likelihood(digits.X_test).mean() == pytest.approx(independent, abs=0.3)
    rbm.W[:] = 0.0
    rbm.b[:] = 0.0
    assert rbm.log_likelihood(digits.X_test).mean() == pytest.approx(UNIFORM, abs=1e-9)


def test_history_is_the_exact_likelihood_per_epoch(digits):
    X, Xv = digits.X_train, digits.X_test
    seen = []
    rbm = RBM(64, 8).fit(X, epochs=4, seed=1, eval_data=Xv, callback=lambda r, e: seen.append(e))
    h = rbm.history_
    assert seen == [1, 2, 3, 4] and h["epoch"] == [0, 1, 2, 3, 4]
    assert len(h["eval_log_likelihood"]) == 5 and len(h["train_log_likelihood"]) == 5
    assert h["eval_log_likelihood"][-1] == pytest.approx(rbm.log_likelihood(Xv).mean(), abs=1e-10)
    assert h["train_log_likelihood"][-1] == pytest.approx(rbm.log_likelihood(X).mean(), abs=1e-10)
    assert h["free_energy_gap"][-1] == pytest.approx(rbm.free_energy_gap(X, Xv), abs=1e-10)
    assert h["eval_log_likelihood"][-1] > h["eval_log_likelihood"][0]
    # without eval_data nothing is evaluated
    quiet = RBM(64, 8).fit(X, epochs=2, seed=1)
    assert set(quiet.history_) == {"epoch", "seconds"}


def test_fit_options_are_the_trainers():
    import inspect

    from ebm.rbm import trainer

    # one source of defaults: RBM.fit shows and forwards trainer.fit's keyword options
    ours = inspect.signature(RBM.fit).parameters
    theirs = inspect.signature(trainer.fit).parameters
    assert list(ours)[1:] == list(theirs)[1:] and list(ours)[0] == "self"
    assert all(ours[name].default == theirs[name].default for name in list(theirs)[2:])
    X = (np.random.default_rng(0).random((40, 6)) < 0.5).astype(float)
    a = RBM(6, 3).fit(X, epochs=2, seed=4, lr=0.1, method="pcd")
    b = trainer.fit(RBM(6, 3), X, epochs=2, seed=4, lr=0.1, method="pcd")
    np.testing.assert_array_equal(a.W, b.W)
    c = RBM(6, 3).fit(X, epochs=2, seed=4, lr=0.1)  # cd: a different run
    assert not np.array_equal(a.W, c.W)
    with pytest.raises(TypeError, match="learning_rate"):
        RBM(6, 3).fit(X, learning_rate=0.1)


def test_training_is_reproducible(digits):
    X = digits.X_train[:200]
    a = RBM(64, 8).fit(X, epochs=3, seed=5)
    b = RBM(64, 8).fit(X, epochs=3, seed=np.random.default_rng(5))
    c = RBM(64, 8).fit(X, epochs=3, seed=6)
    np.testing.assert_array_equal(a.W, b.W)
    assert not np.array_equal(a.W, c.W)


@pytest.mark.parametrize("method, k", [("cd", 3), ("pcd", 1)])
def test_other_samplers_learn(digits, independent, method, k):
    rbm = RBM(64, 16).fit(digits.X_train, method=method, k=k, epochs=10, seed=0)
    assert rbm.log_likelihood(digits.X_test).mean() > independent + 1.0


def test_weight_decay_shrinks_the_weights(digits):
    X = digits.X_train[:300]
    plain = RBM(64, 8).fit(X, epochs=5, seed=2)
    decayed = RBM(64, 8).fit(X, epochs=5, seed=2, weight_decay=0.05)
    assert np.linalg.norm(decayed.W) < 0.9 * np.linalg.norm(plain.W)


def test_warm_start_continues(digits):
    X = digits.X_train[:300]
    rbm = RBM(64, 8).fit(X, epochs=2, seed=0)
    W = rbm.W.copy()
    rbm.fit(X, epochs=1, seed=1, warm_start=True, lr=1e-12)
    np.testing.assert_allclose(rbm.W, W, atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(method="gibbs"), ValueError, "method must be 'cd' or 'pcd'"),
        (dict(k=0), ValueError, "k must be positive"),
        (dict(lr=0.0), ValueError, "lr must be > 0"),
        (dict(batch_size=0), ValueError, "batch_size must be positive"),
        (dict(momentum=1.5), ValueError, "momentum must be <= 1"),
        (dict(epochs=2.5), TypeError, "epochs must be an integer"),
        (dict(epochs=-1), ValueError, "epochs must be >= 0"),
        (dict(lr_schedule="cosine"), ValueError, "lr_schedule must be"),
        (dict(callback=3), TypeError, "callback must be callable"),
        (dict(eval_data=np.zeros((2, 63))), ValueError, "eval_data has 63 columns"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, exc, match):
    kwargs = {"epochs": 1, **kwargs}
    with pytest.raises(exc, match=match):
        RBM(64, 4).fit(np.zeros((5, 64)), **kwargs)


# --------------------------------------------------------------------------- scikit-learn, optional


def test_side_by_side_with_scikit_learn(trained, digits):
    """Same budget as BernoulliRBM (16 hidden, lr 0.05, batch 10, 50 epochs); needs scikit-learn."""
    sk = pytest.importorskip("sklearn.neural_network")
    theirs = []
    for seed in range(2):
        model = sk.BernoulliRBM(n_components=16, learning_rate=0.05, batch_size=10, n_iter=50, random_state=seed).fit(
            digits.X_train
        )
        rbm = RBM(64, 16)
        rbm.W, rbm.b, rbm.c = (
            model.components_.T.copy(),
            model.intercept_visible_.copy(),
            model.intercept_hidden_.copy(),
        )
        # the same free energy (an independent implementation of the convention)
        np.testing.assert_allclose(rbm.free_energy(digits.X_test), model._free_energy(digits.X_test), rtol=1e-12)
        theirs.append(rbm.log_likelihood(digits.X_test).mean())
    ours = [rbm.log_likelihood(digits.X_test).mean() for rbm in trained]
    assert np.mean(ours) > np.mean(theirs), (ours, theirs)


def test_pseudo_likelihood_is_the_mean_of_scikit_learns_stochastic_one(trained, digits):
    sk = pytest.importorskip("sklearn.neural_network")
    rbm = trained[0]
    # a RandomState instance advances between calls (an int would flip the same units each time)
    model = sk.BernoulliRBM(n_components=16, random_state=np.random.RandomState(0))
    model.components_, model.intercept_visible_, model.intercept_hidden_ = rbm.W.T, rbm.b, rbm.c
    X = digits.X_test[:60]
    draws = np.mean([model.score_samples(X) for _ in range(300)], axis=0)  # one random unit each
    exact = rbm.pseudo_likelihood(X)
    assert np.abs(draws.mean() - exact.mean()) < 0.05 * abs(exact.mean())
    assert np.abs(draws.mean() - (exact.mean() + 2.0)) > np.abs(draws.mean() - exact.mean())


def test_progress_bars_change_nothing(digits, capsys):
    X, Xv = digits.X_train[:100], digits.X_test[:50]
    quiet = RBM(64, 4).fit(X, epochs=2, seed=0, eval_data=Xv)
    loud = RBM(64, 4).fit(X, epochs=2, seed=0, eval_data=Xv, progress=True)
    np.testing.assert_array_equal(quiet.W, loud.W)
    a = quiet.log_partition("ais", n_betas=20, n_runs=30, seed=1)
    b = quiet.log_partition("ais", n_betas=20, n_runs=30, seed=1, progress=True)
    np.testing.assert_array_equal(a.log_weights, b.log_weights)
    assert quiet.log_partition(progress=True) == quiet.log_partition()
    with pytest.raises(TypeError, match="progress must be True or False"):
        RBM(64, 4).fit(X, epochs=1, progress="yes")


def test_one_cd_update_against_numpy():
    # Saturated biases make every sample deterministic (sigmoid(+-50) is 1 or 0 to 2e-22), so one
    # update of the kernel can be compared exactly with the formula in NumPy.
    V = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 0]], dtype=float)
    rbm = RBM(4, 3)
    rbm.W = np.zeros((4, 3))
    rbm.b = np.array([50.0, -50.0, 50.0, -50.0])
    rbm.c = np.array([50.0, -50.0, 50.0])
    W0, b0, c0 = rbm.W.copy(), rbm.b.copy(), rbm.c.copy()
    rbm.fit(V, epochs=1, batch_size=3, lr=0.1, lr_schedule="constant", initial_momentum=0.0, warm_start=True, seed=0)
    sig = lambda x: 1 / (1 + np.exp(-x))
    ph0 = sig(c0 + V @ W0)
    v1 = np.tile((b0 > 0).astype(float), (3, 1))  # the deterministic reconstruction
    ph1 = sig(c0 + v1 @ W0)
    np.testing.assert_allclose(rbm.W - W0, 0.1 * (V.T @ ph0 - v1.T @ ph1) / 3, atol=1e-12)
    np.testing.assert_allclose(rbm.b - b0, 0.1 * (V - v1).mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(rbm.c - c0, 0.1 * (ph0 - ph1).mean(axis=0), atol=1e-12)
    assert np.abs(rbm.W - W0).max() > 0.01  # the update is not trivially zero


def test_ais_kernel_against_numpy():
    from ebm.rbm import log_partition_ais, softplus

    rng = np.random.default_rng(0)
    rbm = RBM(5, 3)
    rbm.W, rbm.b, rbm.c = rng.normal(0, 1, (5, 3)), rng.normal(0, 1, 5), rng.normal(0, 1, 3)
    b_a = rng.normal(0, 0.5, 5)
    betas = np.linspace(0, 1, 6)
    runs = 4000
    # the same algorithm in NumPy (as lecture 03 builds it)
    log_p = lambda v, beta: v @ ((1 - beta) * b_a + beta * rbm.b) + softplus(beta * (rbm.c + v @ rbm.W)).sum(-1)
    v = (rng.random((runs, 5)) < 1 / (1 + np.exp(-b_a))).astype(float)
    log_w = np.zeros(runs)
    for k in range(1, len(betas)):
        log_w += log_p(v, betas[k]) - log_p(v, betas[k - 1])
        bk = betas[k]
        h = (rng.random((runs, 3)) < 1 / (1 + np.exp(-bk * (rbm.c + v @ rbm.W)))).astype(float)
        v = (rng.random((runs, 5)) < 1 / (1 + np.exp(-((1 - bk) * b_a + bk * (rbm.b + h @ rbm.W.T))))).astype(float)
    ours = log_partition_ais(rbm, n_betas=betas, n_runs=runs, seed=1, base_biases=b_a).log_weights
    se = np.hypot(ours.std(), log_w.std()) / np.sqrt(runs)
    assert abs(ours.mean() - log_w.mean()) < 4 * se
    assert abs(ours.std() - log_w.std()) < 0.1 * log_w.std()
