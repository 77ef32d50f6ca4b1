"""ebm.plotting returns Figures and rejects bad input; the tour CLI writes its figures."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from ebm import plotting
from ebm.cli import main

TOUR_FIGURES = {"softmax_loss_steps.png", "softmax_spatial_layout.png", "softmax_jacobian.png"}


# --------------------------------------------------------------------------- figures


@pytest.mark.parametrize("ignore", [False, True])
def test_loss_steps_returns_a_figure(ignore):
    fig = plotting.plot_softmax_loss_steps([1.0, 2.0, 3.0], 2, ignore=ignore)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == (4 if ignore else 3)
    assert "k = 2" in fig._suptitle.get_text()


def test_loss_steps_bars_are_the_library_numbers():
    import ebm

    x, k = np.array([0.5, -1.0, 2.0, 0.0]), 1
    fig = plotting.plot_softmax_loss_steps(x, k)
    _, prob = ebm.softmax_loss_forward(x[None], [k])
    diff = ebm.softmax_loss_backward(prob, [k])[0]
    heights = [p.get_height() for p in fig.axes[2].patches[: x.size]]
    np.testing.assert_allclose(heights, diff)
    colours = [p.get_facecolor() for p in fig.axes[2].patches[: x.size]]
    assert colours[k] != colours[0]  # the label bar stands out


@pytest.mark.parametrize(
    "args, exc, match",
    [
        (([1.0, 2.0, 3.0], 3), ValueError, r"label must satisfy 0 <= label < 3"),
        (([1.0, 2.0, 3.0], -1), ValueError, r"label must satisfy"),
        (([1.0, 2.0, 3.0], 1.0), TypeError, r"label must be an integer"),
        (([1.0, 2.0, 3.0], True), TypeError, r"label must be an integer"),
        (([[1.0, 2.0]], 0), ValueError, r"bottom_data must be 1-D"),
        (([1.0], 0), ValueError, r"bottom_data must have 2 to 12 classes"),
        (([1.0, np.nan], 0), ValueError, r"bottom_data must be finite"),
        ((["a", "b"], 0), TypeError, r"bottom_data must hold real numbers"),
        (("ab", 0), TypeError, r"bottom_data must be an array of real numbers"),
    ],
)
def test_loss_steps_rejects_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        plotting.plot_softmax_loss_steps(*args)


def test_loss_steps_rejects_non_bool_ignore():
    with pytest.raises(TypeError, match="ignore must be True or False"):
        plotting.plot_softmax_loss_steps([1.0, 2.0], 0, ignore="yes")


def test_spatial_layout_returns_a_figure_with_every_flat_index():
    fig = plotting.plot_spatial_layout(2, 3, 2, 2, column=(1, 2))
    assert isinstance(fig, Figure)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {str(n) for n in range(24)} <= texts
    assert "inner_num = H*W = 4" in fig.axes[0].get_title()


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((0, 3, 2, 2), {}, ValueError, r"outer_num must satisfy 1 <= outer_num"),
        ((2, 0, 2, 2), {}, ValueError, r"channels must satisfy 1 <= channels"),
        ((2, 3, 2.0, 2), {}, TypeError, r"height must be an integer"),
        ((2, 3, 2, -1), {}, ValueError, r"width must satisfy"),
        ((8, 8, 8, 8), {}, ValueError, r"has 4096 elements"),
        ((2, 3, 2, 2), {"column": (2, 0)}, ValueError, r"column\[0\] \(the sample i\) must satisfy"),
        ((2, 3, 2, 2), {"column": (0, 4)}, ValueError, r"column\[1\] \(the position j\) must satisfy"),
        ((2, 3, 2, 2), {"column": [0, 1]}, TypeError, r"column must be a tuple"),
    ],
)
def test_spatial_layout_rejects_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plotting.plot_spatial_layout(*args, **kwargs)


def test_jacobian_returns_a_figure():
    fig = plotting.plot_softmax_jacobian([1.0, 2.0, 3.0])
    assert isinstance(fig, Figure)
    image = fig.axes[0].images[0].get_array()
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(image, np.diag(p) - np.outer(p, p))


@pytest.mark.parametrize(
    "x, exc",
    [([1.0], ValueError), (np.ones((2, 2)), ValueError), ([1.0, np.inf], ValueError), ([1 + 1j, 2], TypeError)],
)
def test_jacobian_rejects_bad_input(x, exc):
    with pytest.raises(exc, match="x must"):
        plotting.plot_softmax_jacobian(x)


def test_logit_sweep_animation_renders_to_html():
    anim = plotting.animate_logit_sweep([1.0, 2.0, 3.0], 2, values=np.linspace(-1, 5, 4))
    assert isinstance(anim, FuncAnimation)
    html = plotting.animation_html(anim)
    assert "<script" in html and "frame" in html.lower()
    assert not plt.get_fignums()  # the figure was closed


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"index": 3}, ValueError, r"index must satisfy 0 <= index < 3"),
        ({"values": np.zeros(31)}, ValueError, r"values must be 1-D with 2 to 30 entries"),
        ({"values": [0.0, np.nan]}, ValueError, r"values must be finite"),
        ({"values": ["a", "b"]}, TypeError, r"values must hold real numbers"),
    ],
)
def test_logit_sweep_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plotting.animate_logit_sweep([1.0, 2.0, 3.0], 2, **kwargs)


def test_animation_html_rejects_non_animations():
    with pytest.raises(TypeError, match="animation must be a matplotlib Animation"):
        plotting.animation_html(plt.figure())


def test_import_ebm_does_not_import_plotting():
    import subprocess
    import sys

    code = "import sys, ebm; print('ebm.plotting' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- the tour CLI


@pytest.mark.xdist_group("tour")  # the session tour runs in one worker
def test_tour_writes_the_softmax_loss_figures(tour):
    figures, chapters, out, status = tour  # the whole tour, run once (conftest)
    assert status == 0
    written = {p.name for p in figures.glob("*.png")}
    assert TOUR_FIGURES <= written
    for name in TOUR_FIGURES:
        assert (figures / name).stat().st_size > 10_000
    core = chapters["softmax_loss"]
    assert "gradcheck FAILED" in core  # the article's printed derivative
    assert "gradcheck passed" in core  # the right one, and Caffe's test blob
    assert "inner_num" in core
    assert list(chapters) == ["hopfield", "boltzmann", "rbm", "gibbs", "softmax_loss"]
    assert f"Tour finished: {len(written)} figure(s)" in out


def _printed_matrix(text, name):
    """The 2-D array ``tour.show(name, array)`` printed: the lines under ``  name =``, up to ``]]``."""
    block = text.split(f"  {name} =\n", 1)[1]
    block = block[: block.index("]]") + 2]
    return np.array([[float(v) for v in row.split()] for row in re.findall(r"\[([^\[\]]+)\]", block)])


def test_tour_runs_one_chapter(tmp_path, monkeypatch, capsys):
    """``tour softmax_loss`` runs that chapter alone, as the whole tour runs it: Caffe's gradient test on
    the right gradient (passes) and on two wrong ones (fail), and the Jacobian drawn at the x it prints."""
    from ebm import reference
    from ebm.chapters import softmax_loss as chapter

    gradient_tests, drawn = [], []
    real_test, real_plot = chapter.caffe_loss_gradient_test, plotting.plot_softmax_jacobian

    def recorded_test(backward=None, **kwargs):
        result = real_test(backward, **kwargs)
        gradient_tests.append((backward, kwargs, result))
        return result

    def recorded_plot(x, *args, **kwargs):
        drawn.append(np.array(x, dtype=float))
        return real_plot(x, *args, **kwargs)

    monkeypatch.setattr(chapter, "caffe_loss_gradient_test", recorded_test)
    monkeypatch.setattr(plotting, "plot_softmax_jacobian", recorded_plot)
    assert main(["tour", "softmax_loss", "--figures", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert TOUR_FIGURES <= {p.name for p in tmp_path.glob("*.png")}
    # Caffe's test, the layer's own gradient with and without an ignored label, then two wrong gradients
    assert [(b is None, kw.get("ignore_label"), r.passed) for b, kw, r in gradient_tests] == [
        (True, None, True),
        (True, 0, True),
        (False, None, False),
        (False, None, False),
    ]
    assert all(str(r) in out for _, _, r in gradient_tests)
    # the Jacobian figure is drawn at the x printed as bottom_data, and the printed Jacobian is that x's
    x = _printed_matrix(out, "bottom_data")[0]
    assert len(drawn) == 1 and np.array_equal(drawn[0], x)
    printed = _printed_matrix(out, "Jacobian dSoftmax_j/dx_i at the article's x (rows j, columns i)")
    np.testing.assert_allclose(printed, reference.softmax_jacobian(drawn[0]), atol=1e-4)
    assert not np.allclose(printed, reference.softmax_jacobian(drawn[0] + [0.0, 0.0, 1.0]), atol=1e-4)


def test_tour_unknown_chapter_is_exit_code_2(tmp_path, capsys):
    assert main(["tour", "nope", "--figures", str(tmp_path)]) == 2
    assert "unknown chapter" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png"))


def test_chapters_lists_softmax_loss(capsys):
    assert main(["chapters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[0] == "softmax_loss" and "softmax-with-loss" in line for line in lines)
