"""Figures that match their text, lectures whose claims are computed, docs that say what is true."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import ebm
from ebm import hopfield as hf
from ebm import plotting

ROOT = Path(__file__).resolve().parent.parent


def _texts(fig):
    """Every text drawn in ``fig``: titles, labels, annotations, table cells, figure texts."""
    import matplotlib.text

    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def _code_cells(notebook):
    """The sources of a lecture's code cells, in order (read as JSON: nbformat's import is slow)."""
    cells = json.loads((ROOT / "notebooks" / notebook).read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _cell(notebook, snippet):
    hits = [source for source in _code_cells(notebook) if snippet in source]
    assert len(hits) == 1, snippet
    return hits[0]


# --------------------------------------------------------------------------- lecture 01's check


def test_lecture_01_exercise_check_shows_expected_against_got(capsys):
    check = _cell("01_hopfield.ipynb", 'ebm.grading.check("flip_delta", flip_delta)')
    wrong = {"ebm": ebm, "flip_delta": lambda W, b, s, i: 0.0}  # a student's stub
    exec(check, wrong)
    out = capsys.readouterr()
    assert out.err == ""
    assert re.search(r"FAIL .*\n.*flip_delta\(i=\d+\): expected [-+]?\d+\.\d+, got 0(\.0)?\b", out.out), out.out
    assert "tolerance:" in out.out
    assert "all public checks passed" not in out.out
    right = dict(wrong, flip_delta=lambda W, b, s, i: 2.0 * s[i] * (W[i] @ s - W[i, i] * s[i] + b[i]))
    exec(check, right)  # the solution passes
    out = capsys.readouterr().out
    assert "FAIL" not in out and "all public checks passed" in out, out


# --------------------------------------------------------------------------- claims, computed


def test_perceptron_criterion_is_convex_with_the_trivial_minimiser(rng):
    x = rng.normal(size=(50, 4))
    label = np.where(rng.random(50) < 0.5, -1, 1)
    crit = lambda w: hf.perceptron_criterion(w, x, label).sum()  # noqa: E731
    assert crit(np.zeros(4)) == 0.0  # W = 0 is a global minimiser
    for _ in range(100):
        a, b, t = rng.normal(size=4), rng.normal(size=4), rng.random()
        assert crit(t * a + (1 - t) * b) <= t * crit(a) + (1 - t) * crit(b) + 1e-12


def test_modern_hopfield_fixed_points_as_the_lecture_states():
    X = ebm.datasets.letters().T.astype(float)
    rng = np.random.default_rng(7)

    def fixed_point(beta):
        z = 3 * rng.normal(size=X.shape[0])
        for _ in range(100):
            z = hf.modern_update(X, z, beta)
        return z

    small = np.array([fixed_point(0.001) for _ in range(3)])
    assert np.abs(small - X.mean(axis=1)).max() < 0.02  # one global point, the average
    large = np.array([fixed_point(1.0) for _ in range(6)])
    dist = np.abs(large[:, :, None] - X[None, :, :]).max(axis=1)  # (6, 8): to every letter
    assert (dist.min(axis=1) < 1e-6).all()  # each ends at a stored pattern
    assert np.abs(small - X.mean(axis=1)[None]).max() < np.abs(large - X.mean(axis=1)[None]).max()


def test_storkey_correction_cancels_the_crosstalk_at_the_new_pattern():
    xs = hf.random_patterns(6, 40, 3).astype(float)
    W5 = hf.storkey_weights(xs[:5])
    new = xs[5]
    h = W5 @ new
    dW = (np.outer(new, new) - np.outer(new, h) - np.outer(h, new)) / 40
    np.testing.assert_allclose((W5 + dW) @ new, new * (1 - h @ new / 40), atol=1e-12)


def test_route_one_through_the_jacobian_equals_the_recipe():
    x, k = np.array([1.0, 2.0, 3.0]), 2
    loss, prob = ebm.softmax_loss_forward(x[None], np.array([k]))
    p = prob[0]
    dnll_dp = np.zeros(3)
    dnll_dp[k] = -1 / p[k]
    route_1 = ebm.reference.softmax_jacobian(x).T @ dnll_dp
    np.testing.assert_allclose(route_1, ebm.softmax_loss_backward(prob, np.array([k]))[0], atol=1e-15)


# --------------------------------------------------------------------------- figures


def test_label_energy_figure_marks_case_two_false(rng):
    W = np.abs(rng.normal(size=5))
    x = rng.normal(size=(200, 5))
    label = np.where(x @ rng.normal(size=5) >= 0, 1, -1)
    fig = plotting.plot_label_energy_cases(W, x, label)
    table = [t for t in fig.axes[1].tables][0]
    cells = table.get_celld()
    verdicts = {cells[r, 0].get_text().get_text(): cells[r, 5].get_text().get_text() for r in (1, 2, 3)}
    assert verdicts == {"I": "true", "II": "FALSE", "III": "true"}


def test_label_energy_training_figure_plots_energy_next_to_errors(rng):
    x = rng.normal(size=(40, 3))
    label = np.where(x[:, 0] > 0, 1, -1)
    hist = {
        r: hf.train_label_energy(x, label, rule=r, epochs=4, seed=0, return_energy=True)[1:]
        for r in ("article", "perceptron")
    }
    fig = plotting.plot_label_energy_training(hist, n_samples=40)
    err_ax, e_ax = fig.axes
    np.testing.assert_array_equal(err_ax.lines[0].get_ydata(), hist["article"][0])
    np.testing.assert_array_equal(e_ax.lines[0].get_ydata(), -hist["article"][1])  # -E on a log axis
    assert (hist["article"][1] <= 0).all()  # E <= 0: -E reads the usual way up
    with pytest.raises(TypeError, match="histories must be a dict"):
        plotting.plot_label_energy_training([1, 2])


def test_energy_descent_note_states_the_conditions_and_every_start_shows():
    pats = ebm.datasets.letters()
    net = hf.HopfieldNetwork.from_patterns(pats, "pseudoinverse")
    runs = [net.run(p, seed=0) for p in pats[[0, 6]]]  # two runs, same start energy
    fig = plotting.plot_energy_descent(runs)
    text = "\n".join(_texts(fig))
    assert "W_ii >= 0" in text and "+2|h_i|" in text and "W symmetric" in text
    starts = [ln for ln in fig.axes[0].lines if ln.get_marker() == "s"]
    assert len({ln.get_markersize() for ln in starts}) == 2  # nested, not hidden


def test_recall_grid_explains_its_colours_and_labels_real_rows_by_their_values():
    pats = ebm.datasets.letters()[:3]
    X = pats.T.astype(float)
    grey = hf.modern_update(X, pats.T.astype(float), 0.02).T  # real-valued outputs
    fig = plotting.plot_recall_grid(pats, pats, grey, (10, 10))
    text = " ".join(" ".join(_texts(fig)).split())  # wrapped lines joined
    assert "Green" in text and "red" in text and "(1/N) x.xi of the grey values" in text
    labels = [ax.get_xlabel() for ax in fig.axes[6:9]]
    for lab, g, p in zip(labels, grey, pats):
        assert lab == f"x.xi/N = {g @ p / 100:.2f}"  # of the values drawn


def _overlaps(fig, text_artist, points_display):
    """Does the text itself (not an annotation's arrow) cover any of the display points?"""
    import matplotlib.text

    fig.canvas.draw()
    box = matplotlib.text.Text.get_window_extent(text_artist, renderer=fig.canvas.get_renderer())
    return any(box.contains(x, y) for x, y in points_display)


def test_one_step_error_labels_stay_clear_of_the_measured_points():
    alphas = [0.06, 0.08, 0.1, 0.138, 0.185, 0.25, 0.37, 0.5]
    rates = [float(hf.theoretical_one_step_error(a)) for a in alphas]
    fig = plotting.plot_one_step_error(alphas, rates)
    for ax in fig.axes:
        pts = ax.transData.transform(np.column_stack([alphas, rates]))
        curve = ax.lines[0]
        curve_pts = ax.transData.transform(np.column_stack(curve.get_data()))
        for t in ax.texts:
            if t.get_text().startswith("alpha ="):
                assert not _overlaps(fig, t, pts), t.get_text()
                assert not _overlaps(fig, t, curve_pts), t.get_text()


def test_spatial_layout_title_lines_do_not_collide():
    fig = plotting.plot_spatial_layout(2, 3, 2, 2, column=(1, 2))
    title = fig.axes[0].title
    assert title.get_linespacing() >= 1.5


def test_lecture_05_draws_the_jacobian_it_prints(monkeypatch, capsys):
    """Lecture 05's cells, run in order up to its Jacobian figure: the figure is drawn at the x whose
    Jacobian the cell prints.  (The tour's chapter: test_plotting_and_tour.py.)"""
    from ebm import reference

    drawn = []
    real_plot = plotting.plot_softmax_jacobian
    monkeypatch.setattr(
        plotting,
        "plot_softmax_jacobian",
        lambda x, *a, **k: drawn.append(np.array(x, dtype=float)) or real_plot(x, *a, **k),
    )
    target = _cell("05_softmax_loss.ipynb", "plot_softmax_jacobian")
    namespace = {}
    for source in _code_cells("05_softmax_loss.ipynb"):
        if any(s in source for s in ("### BEGIN SOLUTION", "ebm.grading.check(", "plotting.animate_")):
            continue  # the exercises and the players are not needed to get there
        capsys.readouterr()
        exec("\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith("%")), namespace)
        if source == target:
            break
    printed = capsys.readouterr().out
    assert len(drawn) == 1
    jacobian = reference.softmax_jacobian(drawn[0])
    matrix = np.array([[float(v) for v in row.split()] for row in re.findall(r"\[([^\[\]]+)\]", printed)][:3])
    np.testing.assert_allclose(matrix, jacobian, atol=1e-4)
    assert not np.allclose(matrix, reference.softmax_jacobian(drawn[0] + [0.0, 0.0, 1.0]), atol=1e-4)


# --------------------------------------------------------------------------- README and packaging


def test_pyproject_license_is_an_spdx_string():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"


def test_readme_install_commands_name_extras_that_exist_and_links_resolve():
    """Each ``pip install -e ".[...]"`` in the README installs extras pyproject defines (the lectures'
    extra brings Jupyter), and each relative link in it opens a file of the repository."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    readme = (ROOT / "README.md").read_text()
    named = [name for group in re.findall(r'pip install -e "\.\[([\w,-]+)\]"', readme) for name in group.split(",")]
    assert "lectures" in named and set(named) <= set(extras), set(named) - set(extras)
    assert any(dep.startswith("jupyter") for dep in extras["lectures"])
    links = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", readme) if not t.startswith(("http", "#"))]
    assert "docs/article.md" in links
    assert [t for t in links if not (ROOT / t).exists()] == []


def test_the_shadowing_warning_is_true(tmp_path):
    """The README's warning: from the folder that holds a clone named ebm, the first call fails as it says."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    said = re.search(r"holds the clone\*\*.*? the first call fails with `([^`]+)`", readme).group(1)
    (tmp_path / "ebm").mkdir()  # a clone named ebm, seen from its parent
    installed = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # ebm as installed, not on a path
    out = subprocess.run(
        [sys.executable, "-c", "import ebm; ebm.softmax_forward"],
        cwd=tmp_path,
        env=installed,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert said == "AttributeError: module 'ebm' has no attribute 'softmax_forward'"
    assert said in out.stderr
