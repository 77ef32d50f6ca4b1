"""ebm.plotting.boltzmann draws what ebm.boltzmann computes, rejects bad input; the tour chapter writes its figures."""

from __future__ import annotations

import numpy as np
import pytest

from ebm import boltzmann as bz
from ebm import plotting


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    W = np.triu(rng.normal(0, 1, (4, 4)), 1)
    return bz.BoltzmannMachine(W + W.T, rng.normal(0, 1, 4))


def test_temperature_sigmoids_are_the_library_curves():
    fig = plotting.plot_temperature_sigmoids((2.0, 0.5))
    lines = fig.axes[0].get_lines()
    x, y = lines[0].get_data()
    np.testing.assert_allclose(y, bz.unit_probability(x, 2.0))
    x, y = lines[1].get_data()
    np.testing.assert_allclose(y, bz.unit_probability(x, 0.5))
    with pytest.raises(ValueError, match="temperatures must be positive"):
        plotting.plot_temperature_sigmoids((1.0, 0.0))
    with pytest.raises(ValueError, match="low < high"):
        plotting.plot_temperature_sigmoids(net_range=(2, -2))


def test_annealing_trace_and_animation(small):
    res = small.anneal([(2.0, 5), (0.5, 5)], seed=0)
    greedy = small.descend(init=res.states[0], seed=0)
    fig = plotting.plot_annealing_trace(res, greedy, global_min=float(small.energy(bz.all_states(4)).min()))
    y = fig.axes[0].get_lines()[0].get_ydata()
    np.testing.assert_allclose(y, res.energies)
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), res.temperatures)
    html = plotting.animation_html(plotting.animate_annealing(res, shape=(2, 2), max_frames=5))
    assert "<script" in html
    with pytest.raises(TypeError, match="AnnealResult"):
        plotting.plot_annealing_trace(res.energies)
    with pytest.raises(ValueError, match="rows\\*cols = 4"):
        plotting.animate_annealing(res, shape=(3, 3))


def test_sampler_vs_exact(small):
    conv = bz.sampler_convergence(small, checkpoints=(100, 1000), seed=0)
    fig = plotting.plot_sampler_vs_exact(conv)
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_allclose(heights, conv["exact"])
    with pytest.raises(TypeError, match="sampler_convergence"):
        plotting.plot_sampler_vs_exact({"tv": [1]})


def test_encoder_codes_and_success():
    bm = bz.encoder_network()
    fig = plotting.plot_encoder_codes(bm)
    assert "not distinct" in fig.axes[0].get_title()
    np.testing.assert_allclose(fig.axes[0].get_images()[0].get_array(), bz.encoder_codes(bm)["p_code"])
    fake = {"first_success": [3, None, 5], "success_rate": 2 / 3, "max_cycles": 10}
    fig = plotting.plot_encoder_success({"x": fake})
    y = fig.axes[0].get_lines()[0].get_ydata()
    assert y[2] == 0 and y[3] == pytest.approx(1 / 3) and y[-1] == pytest.approx(2 / 3)
    with pytest.raises(TypeError, match="BoltzmannMachine"):
        plotting.plot_encoder_codes(np.zeros((10, 10)))


def test_parity_plot():
    r = {"ln2": np.log(2), 0: np.full(5, np.log(2)), 1: np.linspace(0.7, 0.3, 5)}
    fig = plotting.plot_parity_learning(r)
    np.testing.assert_allclose(fig.axes[0].get_lines()[1].get_ydata(), r[1])
    with pytest.raises(TypeError, match="parity_experiment"):
        plotting.plot_parity_learning([1, 2])


@pytest.mark.xdist_group("tour")  # the session tour runs in one worker
def test_tour_chapter_writes_its_figures(tour):
    figures, chapters, _, _ = tour  # the whole tour, run once (conftest)
    names = {p.name for p in figures.glob("boltzmann_*.png")}
    assert {"boltzmann_temperature.png", "boltzmann_annealing.png"} <= names
    assert all((figures / n).stat().st_size > 5000 for n in names)
    text = chapters["boltzmann"]
    assert "gradcheck passed" in text and "gradcheck FAILED" in text


def test_annealing_panel_counts_every_run():
    glass = bz.spin_glass(10, seed=1)
    res = bz.anneal_vs_greedy(glass, n_runs=6, seed=0)
    fig = plotting.plot_annealing_trace(res["trace"], res["greedy_trace"], res["global_min"], runs=res)
    notes = [t.get_text() for t in fig.axes[1].texts]
    for name, e in (("anneal", res["anneal"]), ("greedy", res["greedy"])):
        hits = int(np.isclose(e, res["global_min"]).sum())  # counted here, not by the plot
        assert any(n.startswith(f"{hits}/6 at the") for n in notes), (name, notes)
    # the greedy trace is the first run's, from the same start as the annealing trace
    assert res["greedy_trace"].energies[-1] == res["greedy"][0]
    with pytest.raises(TypeError, match="anneal_vs_greedy"):
        plotting.plot_annealing_trace(res["trace"], runs=[1, 2])
