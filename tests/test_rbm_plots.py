"""RBM figures return Figures/animations, draw the numbers given, and reject bad input."""

import numpy as np
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from ebm import plotting
from ebm.datasets import load_digits
from ebm.rbm import RBM, annealed_distribution, log_partition_ais


@pytest.fixture(scope="module")
def small_history():
    X_train, X_test, _, _ = load_digits()
    return RBM(64, 6).fit(X_train[:300], epochs=3, seed=0, eval_data=X_test[:100])


def test_enumeration_cost_plot():
    fig = plotting.plot_enumeration_cost([8, 10, 12], [0.001, 0.004, 0.016])
    assert isinstance(fig, Figure)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [0.001, 0.004, 0.016])
    with pytest.raises(ValueError, match="seconds must be positive"):
        plotting.plot_enumeration_cost([8, 10], [0.0, 1.0])
    with pytest.raises(ValueError, match="seconds has 1 values but there are 2 points"):
        plotting.plot_enumeration_cost([8, 10], [1.0])


def test_log_z_estimates_plot(small_history):
    rbm = small_history
    exact = rbm.log_partition()
    ests = [[rbm.log_partition("ais", n_betas=nb, n_runs=20, seed=s) for s in range(2)] for nb in (10, 50)]
    fig = plotting.plot_log_z_estimates([10, 50], ests, exact)
    assert isinstance(fig, Figure)
    assert any(line.get_ydata()[0] == pytest.approx(exact) for line in fig.axes[0].lines)
    with pytest.raises(ValueError, match="one group of estimates per entry"):
        plotting.plot_log_z_estimates([10, 50], ests[:1], exact)


def test_training_curves_and_gap(small_history):
    h = small_history.history_
    fig = plotting.plot_training_curves(h, sklearn_curve=[-30.0, -28.0, -27.0], baselines={"x": -25.0})
    assert isinstance(fig, Figure)
    ys = [list(line.get_ydata()) for line in fig.axes[0].lines]
    assert list(h["eval_log_likelihood"]) in ys
    fig = plotting.plot_free_energy_gap(h)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), h["free_energy_gap"])
    bare = RBM(64, 4).fit(np.zeros((3, 64)), epochs=1, seed=0).history_
    with pytest.raises(ValueError, match="eval_data"):
        plotting.plot_training_curves(bare)
    with pytest.raises(ValueError, match="eval_data"):
        plotting.plot_free_energy_gap(bare)


def test_filters_and_digit_grid(small_history):
    fig = plotting.plot_filters(small_history.W)
    assert isinstance(fig, Figure)
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    np.testing.assert_allclose(images[0], small_history.W[:, 0].reshape(8, 8))
    fig = plotting.plot_digit_grid(np.eye(64)[:12], labels=[str(k) for k in range(12)], title="t")
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match="shape \\(7, 7\\) has 49 pixels but each image has 64"):
        plotting.plot_digit_grid(np.zeros((2, 64)), shape=(7, 7))
    with pytest.raises(ValueError, match="1 <= M <= 100"):
        plotting.plot_digit_grid(np.zeros((101, 64)))
    with pytest.raises(TypeError, match="shape must be a \\(rows, cols\\) tuple"):
        plotting.plot_filters(np.zeros((64, 3)), shape=8)


def test_animate_ais_on_a_tiny_rbm():
    rbm = RBM(4, 3, seed=0)
    betas = np.linspace(0, 1, 6)
    est = log_partition_ais(rbm, n_betas=betas, n_runs=50, seed=0, base_biases=np.zeros(4), record=True)
    states = est.states
    anim = plotting.animate_ais(rbm, betas, states, np.zeros(4), est.log_weights, max_frames=4)
    assert isinstance(anim, FuncAnimation)
    assert "<script" in plotting.animation_html(anim)
    with pytest.raises(ValueError, match="at most 8 visible units"):
        plotting.animate_ais(RBM(9, 2), betas, np.zeros((6, 5, 9)), np.zeros(9))
    with pytest.raises(ValueError, match="states must have shape"):
        plotting.animate_ais(rbm, betas, states[:3], np.zeros(4))


def test_annealed_distribution_ends_at_the_base_and_the_model():
    rng = np.random.default_rng(0)
    rbm = RBM(4, 3)
    rbm.W, rbm.b, rbm.c = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=3)
    base = rng.normal(size=4)
    V, p0 = annealed_distribution(rbm, 0.0, base)
    q = np.exp(V @ base)
    np.testing.assert_allclose(p0, q / q.sum(), rtol=1e-12)
    _, p1 = annealed_distribution(rbm, 1.0, base)
    np.testing.assert_allclose(p1, np.exp(rbm.log_likelihood(V)), rtol=1e-12)


def test_sklearn_curve_replays_fit_exactly():
    sk = pytest.importorskip("sklearn.neural_network")
    from ebm.rbm.benchmark import sklearn_curve

    X_train, X_test, _, _ = load_digits()
    curve = sklearn_curve(X_train, X_test, epochs=2, seed=3)
    model = sk.BernoulliRBM(n_components=16, learning_rate=0.05, batch_size=10, n_iter=2, random_state=3).fit(X_train)
    rbm = RBM(64, 16)
    rbm.W, rbm.b, rbm.c = model.components_.T, model.intercept_visible_, model.intercept_hidden_
    assert curve[-1] == pytest.approx(rbm.log_likelihood(X_test).mean(), abs=1e-12)


@pytest.mark.xdist_group("tour")  # the session tour runs in one worker
def test_the_tour_chapter_writes_its_figures(tour):
    figures, chapters, _, _ = tour  # the whole tour, run once (conftest)
    names = {p.name for p in figures.glob("rbm_*.png")}
    assert {"rbm_partition_function.png", "rbm_training.png"} <= names
    assert all((figures / n).stat().st_size > 1000 for n in names)
    text = chapters["rbm"]
    assert "max |softmax(-E) - exp(-E - log Z)| = " in text
    assert "gradcheck passed" in text and "gradcheck FAILED" in text  # the half gradient fails


def test_filters_scale_is_not_set_by_one_outlier():
    W = np.random.default_rng(0).normal(0, 1, (64, 4))
    W[5, 2] = 40.0  # one outlier pixel
    fig = plotting.plot_filters(W)
    vmin, vmax = fig.axes[0].images[0].get_clim()
    assert vmax == pytest.approx(np.percentile(np.abs(W), 98)) and vmax < 5 and vmin == -vmax
    assert "clipped" in fig.axes[-1].get_ylabel()
