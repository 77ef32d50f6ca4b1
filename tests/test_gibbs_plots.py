"""The LeCun-chapter figures draw the library's numbers and reject bad input; the tour writes them."""

import math

import numpy as np
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from ebm import gibbs as G
from ebm import plotting
from ebm.cli import main

E = np.array([1.0, 0.3, 2.0, 0.3, 1.2])
GIBBS_FIGURES = {"gibbs_beta.png", "ebm_losses.png", "ebm_energy_tables.png", "gibbs_nll_perceptron.png"}


def test_gibbs_beta_plots_the_gibbs_distribution():
    betas = np.logspace(-2, 4, 31)  # 1e4 * 0.7 > 708: exactly one-hot at the end
    fig = plotting.plot_gibbs_beta(E, betas)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    for y in range(E.size):
        np.testing.assert_allclose(ax.lines[y].get_ydata(), [G.gibbs_distribution(E, b)[y] for b in betas])
    text = " ".join(t.get_text() for t in ax.get_legend().get_texts()) + " ".join(t.get_text() for t in fig.texts)
    assert "1/C" in text and "1/#ties = 0.5" in text and "708" in text
    # answers 1 and 3 tie: the later one is drawn dashed on top and says so
    assert ax.lines[3].get_linestyle() != "-" and "tied with answer 1" in text
    # the bar panel: beta = 0 uniform, the largest beta the tie-split argmin
    heights = [p.get_height() for p in fig.axes[1].patches]
    np.testing.assert_array_equal(heights[:5], [0.2] * 5)
    np.testing.assert_array_equal(heights[10:], [0, 0.5, 0, 0.5, 0])


def test_animate_gibbs_beta_thins_its_frames():
    anim = plotting.animate_gibbs_beta(E, betas=np.linspace(0, 20, 50), max_frames=10)
    assert isinstance(anim, FuncAnimation)
    html = plotting.animation_html(anim)
    assert "<script" in html


def test_nll_to_perceptron_plot_reaches_log_ties():
    fig = plotting.plot_nll_to_perceptron(E, 2, betas=np.logspace(0, 4, 9))
    scaled = fig.axes[1].lines[0].get_ydata()
    assert scaled[-1] == pytest.approx(math.log(2), rel=1e-9)
    assert np.all(scaled >= math.log(2) - 1e-12)


def test_loss_functionals_plot_matches_the_losses():
    fig = plotting.plot_loss_functionals(["hinge", "energy", "nll"], E_I=2.0, span=1.5)
    assert [a.get_title() for a in fig.axes[:3]] == ["hinge (m=1)", "energy", "nll (beta=1)"]
    d = fig.axes[0].lines[0].get_xdata()
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), np.maximum(0, 1 + d))
    np.testing.assert_array_equal(fig.axes[1].lines[2].get_ydata(), 0.0)  # energy: dL/dE_I = 0
    np.testing.assert_allclose(fig.axes[2].lines[0].get_ydata(), np.log1p(np.exp(d)), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"names": ["softmax"]}, ValueError, "unknown loss 'softmax'"),
        ({"names": []}, ValueError, "names is empty"),
        ({"E_I": 1.0, "span": 2.0}, ValueError, "span <= E_I"),
        ({"span": 0.0}, ValueError, "span <= E_I"),
    ],
)
def test_loss_functionals_plot_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plotting.plot_loss_functionals(**kwargs)


def test_energy_tables_plot():
    results = [G.train_energy_table(n, steps=20, seed=1) for n in ("energy", "hinge", "nll")]
    fig = plotting.plot_energy_tables(results)
    titles = [a.get_title() for a in fig.axes[:4]]
    assert titles[0].startswith("before training\ngap") and titles[1].startswith("energy\ngap")
    np.testing.assert_array_equal(fig.axes[2].images[0].get_array(), results[1]["final"])
    other = G.train_energy_table("energy", steps=2, seed=2)
    with pytest.raises(ValueError, match=r"results\[1\] starts from another table"):
        plotting.plot_energy_tables([results[0], other])
    with pytest.raises(TypeError, match="sequence of train_energy_table outputs"):
        plotting.plot_energy_tables(results[0])
    with pytest.raises(ValueError, match="1 to 11 tables"):
        plotting.plot_energy_tables([])


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: plotting.plot_gibbs_beta([1.0]), ValueError, "2 to 10 answers"),
        (lambda: plotting.plot_gibbs_beta([[1.0, 2.0]]), ValueError, "one vector"),
        (lambda: plotting.plot_gibbs_beta([1.0, np.nan]), ValueError, r"energies\[1\] is nan"),
        (lambda: plotting.plot_gibbs_beta(E, [0.0, 1.0]), ValueError, "log axis"),
        (lambda: plotting.animate_gibbs_beta(E, max_frames=1), ValueError, "max_frames"),
        (lambda: plotting.plot_nll_to_perceptron(E, 7), ValueError, "correct is 7"),
    ],
)
def test_gibbs_plots_reject_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.xdist_group("tour")  # the session tour runs in one worker
def test_tour_gibbs_writes_its_figures(tour):
    figures, chapters, _, _ = tour  # the whole tour, run once (conftest)
    written = {p.name for p in figures.glob("*.png")}
    assert GIBBS_FIGURES <= written
    for name in GIBBS_FIGURES:
        assert (figures / name).stat().st_size > 10_000
    out = chapters["gibbs"]
    assert "FAILED" not in out and out.count("gradcheck: passed") == len(G.LOSSES)
    assert "e^{-beta}E(Y,X)" in out and "too many bad answers" in out


def test_gibbs_comes_between_hopfield_and_softmax_loss(capsys):
    assert main(["chapters"]) == 0
    keys = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert keys.index("hopfield") < keys.index("gibbs") < keys.index("softmax_loss")
