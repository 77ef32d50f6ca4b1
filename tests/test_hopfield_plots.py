"""The Hopfield figures return Figures/animations and reject bad input; the tour writes them."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from ebm import hopfield as hf
from ebm import plotting
from ebm.cli import main
from ebm.datasets import LETTER_SHAPE, letters

HOPFIELD_FIGURES = {"hopfield_energy_descent.png", "hopfield_capacity.png", "hopfield_recall.png"}


@pytest.fixture(scope="module")
def letter_runs():
    pats = letters("AEHT")
    net = hf.HopfieldNetwork.from_patterns(pats, "pseudoinverse")
    rng = np.random.default_rng(0)
    probes = pats.copy()
    probes[rng.random(probes.shape) < 0.15] *= -1
    return pats, probes, [net.run(p, seed=k) for k, p in enumerate(probes)]


# --------------------------------------------------------------------------- plot_energy_descent


def test_energy_descent_returns_a_figure(letter_runs):
    _, _, runs = letter_runs
    fig = plotting.plot_energy_descent(runs, ["A", "E", "H", "T"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), runs[0].energies)
    assert "2|h_i|" in " ".join(t.get_text() for t in ax.texts)
    assert any(t.get_text().startswith("A:") for t in ax.get_legend().get_texts())


def test_energy_descent_flags_a_rising_energy():
    net, s0 = hf.negative_diagonal_counterexample()
    fig = plotting.plot_energy_descent(net.run(s0, max_sweeps=2))  # a single Trajectory
    assert "ROSE" in " ".join(t.get_text() for t in fig.axes[0].texts)


@pytest.mark.parametrize(
    "arg, labels, exc, match",
    [
        ([], None, ValueError, r"trajectories is empty"),
        (np.zeros(3), None, TypeError, r"trajectories\[0\] must be a Trajectory"),
        (5, None, TypeError, r"trajectories must be a Trajectory"),
        ("runs", None, TypeError, r"trajectories must be a Trajectory"),
        (None, ["a", "b"], ValueError, r"labels has 2 entries but there are 4 runs"),
        (None, "abcd", TypeError, r"labels must be a sequence of strings"),
        (None, [1, 2, 3, 4], TypeError, r"labels\[0\] must be a string"),
    ],
)
def test_energy_descent_rejects_bad_input(letter_runs, arg, labels, exc, match):
    runs = letter_runs[2] if arg is None else arg
    with pytest.raises(exc, match=match):
        plotting.plot_energy_descent(runs, labels)


# --------------------------------------------------------------------------- animate_recall


def test_animate_recall_renders_to_html(letter_runs):
    _, _, runs = letter_runs
    anim = plotting.animate_recall(runs[0], LETTER_SHAPE, max_frames=6)
    assert isinstance(anim, FuncAnimation)
    html = anim.to_jshtml()
    assert "<script" in html and "frame" in html.lower()
    plt.close(anim._fig)
    html = plotting.animation_html(plotting.animate_recall(runs[1], (10, 10), every=3))
    assert "<script" in html
    assert not plt.get_fignums()


def test_animate_recall_thins_long_runs_and_ends_at_the_final_state(letter_runs):
    _, _, runs = letter_runs
    tr = runs[0]
    anim = plotting.animate_recall(tr, LETTER_SHAPE, max_frames=4)
    frames = list(anim.new_frame_seq())
    assert 2 <= len(frames) <= 4
    anim._func(frames[-1])
    image = anim._fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(np.asarray(image).reshape(-1), tr.final)
    assert "<script" in plotting.animation_html(anim)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"shape": (5, 5)}, ValueError, r"shape \(5, 5\) has 25 cells but the states have 100 units"),
        ({"shape": 100}, TypeError, r"shape must be a \(rows, cols\) tuple"),
        ({"shape": (10.0, 10)}, TypeError, r"shape\[0\] must be an integer"),
        ({"every": 0}, ValueError, r"every must satisfy 1 <= every"),
        ({"max_frames": 1}, ValueError, r"max_frames must satisfy 2 <= max_frames"),
        ({"max_frames": 1000}, ValueError, r"max_frames must satisfy"),
        ({"every": 1.5}, TypeError, r"every must be an integer"),
    ],
)
def test_animate_recall_rejects_bad_input(letter_runs, kwargs, exc, match):
    args = {"shape": LETTER_SHAPE, **kwargs}
    with pytest.raises(exc, match=match):
        plotting.animate_recall(letter_runs[2][0], **args)


def test_animate_recall_rejects_a_non_trajectory():
    with pytest.raises(TypeError, match="trajectory must be a Trajectory"):
        plotting.animate_recall(np.ones((3, 100)), LETTER_SHAPE)


# --------------------------------------------------------------------------- plot_capacity


@pytest.fixture(scope="module")
def sweeps():
    loads = [0.05, 0.15, 0.3]
    return [hf.capacity_sweep(60, loads, rule=rule, n_seeds=2) for rule in ("hebb", "storkey")]


def test_capacity_returns_a_figure_with_the_line(sweeps):
    fig = plotting.plot_capacity(sweeps)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "0.138" in legend and "hebb" in legend and "storkey" in legend
    assert isinstance(plotting.plot_capacity(sweeps[0], theory_line=None), Figure)


@pytest.mark.parametrize(
    "results, kwargs, exc, match",
    [
        ([], {}, ValueError, r"results is empty"),
        ("hebb", {}, TypeError, r"results must be a capacity_sweep dict"),
        ([1], {}, TypeError, r"results\[0\] must be a dict"),
        ({"loads": [0.1]}, {}, ValueError, r"results\[0\] lacks \['overlap'\]"),
        (
            {"loads": [0.1, 0.2], "overlap": np.ones((3, 2))},
            {},
            ValueError,
            r"results\[0\]\['overlap'\] must have shape \(2, n_seeds\)",
        ),
        ({"loads": [0.1], "overlap": [[np.nan]]}, {}, ValueError, r"finite"),
        ({"loads": ["a"], "overlap": [[1.0]]}, {}, TypeError, r"results\[0\]\['loads'\] must hold real numbers"),
        (None, {"theory_line": -1.0}, ValueError, r"theory_line must be a positive"),
        (None, {"theory_line": "0.138"}, TypeError, r"theory_line must be a number"),
    ],
)
def test_capacity_rejects_bad_input(sweeps, results, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plotting.plot_capacity(sweeps if results is None else results, **kwargs)


# --------------------------------------------------------------------------- plot_one_step_error


def test_one_step_error_returns_a_figure():
    alphas = [0.1, 0.138, 0.37]
    measured = [hf.one_step_error(200, a, n_seeds=2) for a in alphas]
    fig = plotting.plot_one_step_error(alphas, measured)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 and fig.axes[1].get_yscale() == "log"
    theory = fig.axes[0].lines[0]
    np.testing.assert_allclose(theory.get_ydata(), hf.theoretical_one_step_error(theory.get_xdata()))
    assert isinstance(plotting.plot_one_step_error(alphas), Figure)
    assert isinstance(plotting.plot_one_step_error(alphas, [0.0, 0.003, 0.05]), Figure)


@pytest.mark.parametrize(
    "alphas, measured, exc, match",
    [
        ([], None, ValueError, r"alphas must be 1-D with 1 to 50 loads"),
        ([[0.1]], None, ValueError, r"alphas must be 1-D"),
        ([0.1, -0.2], None, ValueError, r"alphas must be positive"),
        (["a"], None, TypeError, r"alphas must hold real numbers"),
        ([0.1, 0.2], [0.01], ValueError, r"measured has 1 entries but alphas has 2"),
        ([0.1], {"rate": 0.1}, TypeError, r"measured must be a sequence"),
        ([0.1], [{"stderr": 0.1}], ValueError, r"measured\[0\] lacks 'rate'"),
        ([0.1], ["x"], TypeError, r"measured\[0\] must be a one_step_error dict or a number"),
        ([0.1], [1.5], ValueError, r"measured rates must be in \[0, 1\]"),
    ],
)
def test_one_step_error_rejects_bad_input(alphas, measured, exc, match):
    with pytest.raises(exc, match=match):
        plotting.plot_one_step_error(alphas, measured)


# --------------------------------------------------------------------------- plot_recall_grid


def test_recall_grid_returns_a_figure(letter_runs):
    pats, probes, runs = letter_runs
    final = np.array([tr.final for tr in runs])
    fig = plotting.plot_recall_grid(pats, probes, final, LETTER_SHAPE)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3 * 4
    assert fig.axes[0].get_ylabel() == "pattern" and fig.axes[8].get_ylabel() == "recalled"
    assert fig.axes[8].get_xlabel() == "m = 1.00"
    fig = plotting.plot_recall_grid(
        pats,
        probes,
        np.stack([final, probes * 0.5]),
        LETTER_SHAPE,
        titles=("p", "q", "r1", "r2"),
        title="two result rows",
    )
    assert len(fig.axes) == 4 * 4


@pytest.mark.parametrize(
    "change, exc, match",
    [
        ({"patterns": np.ones(100)}, ValueError, r"patterns must have shape \(M, N\)"),
        ({"probes": np.ones((3, 100))}, ValueError, r"probes must have the shape of patterns"),
        ({"results": np.ones((4, 99))}, ValueError, r"results must have shape \(4, 100\) or \(R, 4, 100\)"),
        ({"results": np.full((4, 100), np.nan)}, ValueError, r"results must be finite"),
        ({"probes": np.full((4, 100), "a")}, TypeError, r"probes must hold real numbers"),
        ({"shape": (10, 9)}, ValueError, r"shape \(10, 9\) has 90 cells"),
        ({"titles": ("a", "b")}, ValueError, r"titles must have 3 entries"),
        ({"titles": "abc"}, TypeError, r"titles must be a sequence of strings"),
        ({"titles": ("a", "b", 3)}, TypeError, r"titles must all be strings"),
        (
            {"patterns": np.ones((17, 100)), "probes": np.ones((17, 100)), "results": np.ones((17, 100))},
            ValueError,
            r"patterns must have 1 to 16 rows",
        ),
    ],
)
def test_recall_grid_rejects_bad_input(letter_runs, change, exc, match):
    pats, probes, runs = letter_runs
    args = {
        "patterns": pats,
        "probes": probes,
        "results": np.array([tr.final for tr in runs]),
        "shape": LETTER_SHAPE,
        **change,
    }
    with pytest.raises(exc, match=match):
        plotting.plot_recall_grid(**args)


# --------------------------------------------------------------------------- plot_label_energy_cases


def _label_data(seed=0, n=80):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    label = np.where(x @ rng.normal(size=4) >= 0, 1, -1)
    return np.abs(rng.normal(size=4)), x, label


def test_label_energy_cases_figure_shows_E_le_0():
    W, x, label = _label_data()
    fig = plotting.plot_label_energy_cases(W, x, label)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    points = np.concatenate(
        [c.get_offsets() for c in ax.collections if hasattr(c, "get_offsets") and len(c.get_offsets())]
    )
    assert points.shape[0] == x.shape[0]
    wx, E = points[:, 0], points[:, 1]
    assert (E <= 0).all()
    assert np.all(np.isclose(E, 0) | np.isclose(E, -np.abs(wx)))
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "I:" in legend and "II:" in legend and "III:" in legend


@pytest.mark.parametrize(
    "change, exc, match",
    [
        ({"W": np.ones((2, 4))}, ValueError, r"W must be one output unit's weights"),
        ({"x": np.ones((80, 3))}, ValueError, r"x must have shape \(M, 4\)"),
        ({"label": np.ones(79)}, ValueError, r"label must have shape \(80,\)"),
        ({"label": np.zeros(80)}, ValueError, r"labels must be -1 or \+1"),
        ({"W": ["a", "b", "c", "d"]}, TypeError, r"W must hold real numbers"),
        ({"x": "x"}, TypeError, r"x must be an array of real numbers"),
    ],
)
def test_label_energy_cases_rejects_bad_input(change, exc, match):
    W, x, label = _label_data()
    args = {"W": W, "x": x, "label": label, **change}
    with pytest.raises(exc, match=match):
        plotting.plot_label_energy_cases(**args)


# --------------------------------------------------------------------------- the tour chapter


@pytest.mark.xdist_group("tour")  # the session tour runs in one worker
def test_tour_hopfield_writes_its_figures(tour):
    figures, chapters, _, _ = tour  # the whole tour, run once (conftest)
    written = {p.name for p in figures.glob("*.png")}
    assert HOPFIELD_FIGURES <= written
    for name in HOPFIELD_FIGURES:
        assert (figures / name).stat().st_size > 10_000
    out = chapters["hopfield"]
    assert "gradcheck passed" in out  # the bridge: retrieval loss derivative
    assert "0.138" in out and "perceptron" in out


def test_hopfield_comes_before_softmax_loss(capsys):
    assert main(["chapters"]) == 0
    keys = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert keys.index("hopfield") < keys.index("softmax_loss")
