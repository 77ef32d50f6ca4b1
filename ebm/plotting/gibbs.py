r"""Figures for the energy-based-models chapter and lecture (article §4, LeCun et al. 2006).

The numbers all come from :mod:`ebm.gibbs`; these functions only draw, and
**return** the figure (or animation).

* :func:`plot_gibbs_beta` -- the Gibbs distribution of one energy vector against
  ``beta``: uniform at 0, the argmin at large ``beta``, the softmax at 1.
* :func:`animate_gibbs_beta` -- the same as a step-through of bar charts.
* :func:`plot_nll_to_perceptron` -- ``beta (NLL_beta - perceptron)`` against ``beta``,
  approaching ``log(#ties)``.
* :func:`plot_loss_functionals` -- every loss and its two partial derivatives
  against ``E_C - E_I``, side by side.
* :func:`plot_energy_tables` -- a trained energy table per loss, with the gaps.
"""

from __future__ import annotations

import numpy as np

from ebm.plotting._style import LABEL_COLOUR, OTHER_COLOUR, _int_arg

__all__ = [
    "plot_gibbs_beta",
    "animate_gibbs_beta",
    "plot_nll_to_perceptron",
    "plot_loss_functionals",
    "plot_energy_tables",
]

_MAX_ANSWERS = 10
_NOTE = dict(boxstyle="round", facecolor="white", edgecolor="#999999")


def _energy_vector(energies, name="energies"):
    """A finite 1-D float64 vector of 2 to ``_MAX_ANSWERS`` energies."""
    from ebm._checks import check_energies

    E = check_energies(energies, name)
    if E.ndim != 1:
        raise ValueError(f"{name} must be one vector of energies (C,), got shape {E.shape}")
    if not 2 <= E.size <= _MAX_ANSWERS:
        raise ValueError(f"{name} must have 2 to {_MAX_ANSWERS} answers to plot, got {E.size}")
    return E


def _default_betas(betas, low=1e-2, high=1e3, n=121):
    from ebm._checks import check_betas

    return np.logspace(np.log10(low), np.log10(high), n) if betas is None else check_betas(betas)


def _answer_colours(C):
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    return [cmap(y % 10) for y in range(C)]


def plot_gibbs_beta(energies, betas=None):
    r"""The Gibbs distribution ``softmax(-beta E)`` of one energy vector, against ``beta``.

    Left: every answer's probability for ``beta`` on a log axis, with the uniform
    level ``1/C`` (the ``beta = 0`` limit) and ``1/#ties`` (the ``beta -> inf``
    limit) drawn dashed, and ``beta = 1`` (the plain softmax of ``-E``) marked.
    Right: the distribution as bars at ``beta = 0``, ``1`` and the largest ``beta``.

    Parameters
    ----------
    energies : array_like, shape (C,)
        2 to 10 finite energies.
    betas : array_like of float, optional
        Positive inverse temperatures for the curves (default: 121 values from 0.01
        to 1000, log-spaced).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For a non-vector, fewer than 2 or more than 10 energies, non-finite values,
        or ``betas`` that are negative or zero (a log axis).
    """
    import matplotlib.pyplot as plt

    from ebm.gibbs import beta_sweep, gibbs_distribution

    E = _energy_vector(energies)
    betas = _default_betas(betas)
    if (betas <= 0).any():
        raise ValueError("betas must be > 0 for the log axis (beta = 0 is drawn as the 1/C level)")
    C = E.size
    probs = beta_sweep(E, betas)
    ties = int(np.count_nonzero(E == E.min()))
    colours = _answer_colours(C)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 5.6), gridspec_kw={"width_ratios": [1.5, 1]})
    for y in range(C):
        twin = [k for k in range(y) if E[k] == E[y]]  # an earlier answer with the same energy
        label = f"answer {y}: E = {E[y]:g}" + ("  (min)" if E[y] == E.min() else "")
        if twin:  # same curve: draw it dashed on top, wider
            label += f", tied with answer {twin[0]} (dashed: same curve)"
        ax.plot(
            betas,
            probs[:, y],
            color=colours[y],
            linewidth=2.6 if twin else 1.8,
            linestyle=(0, (5, 4)) if twin else "-",
            label=label,
            zorder=3 if twin else 2,
        )
    ax.axhline(1 / C, color="grey", linestyle="--", linewidth=1, label=f"1/C = {1 / C:.3g}: beta = 0, uniform")
    ax.axhline(1 / ties, color="black", linestyle=":", linewidth=1, label=f"1/#ties = {1 / ties:.3g}: beta -> inf")
    if betas[0] <= 1 <= betas[-1]:
        ax.axvline(1.0, color=LABEL_COLOUR, linewidth=1, alpha=0.7, label="beta = 1: softmax(-E)")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.04)
    ax.set_xlabel("beta (inverse temperature), log scale")
    ax.set_ylabel("P_beta(y) = exp(-beta E(y)) / sum exp(-beta E)")
    ax.set_title("Gibbs distribution against beta", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, framealpha=0.9)
    ax.grid(alpha=0.3)

    shown = [0.0, 1.0, float(betas[-1])]
    width = 0.8 / len(shown)
    for n, b in enumerate(shown):
        p = gibbs_distribution(E, b)
        bx.bar(
            np.arange(C) + (n - 1) * width,
            p,
            width=width,
            label=f"beta = {b:g}",
            color=["#bbbbbb", OTHER_COLOUR, LABEL_COLOUR][n],
            edgecolor="black",
            linewidth=0.5,
        )
    bx.set_xticks(range(C))
    bx.set_xticklabels([f"{y}\nE={E[y]:g}" for y in range(C)], fontsize=8)
    bx.set_ylim(0, 1.08)
    bx.set_ylabel("probability")
    bx.set_title("three temperatures", fontsize=10)
    bx.legend(fontsize=8, loc="upper right")
    fig.text(
        0.01,
        0.01,
        "beta = 0: exactly 1/C.  Large beta: 1/#ties on the minima and exactly 0 elsewhere once "
        "beta * (E - E_min) >= 708 for every other answer (float64 exp underflows);\n"
        "before that it is the true softmax.  beta = 1 is the core's softmax of the logits -E.",
        fontsize=8,
        ha="left",
        va="top",
    )
    fig.tight_layout()
    fig.subplots_adjust(bottom=0.31)
    return fig


def animate_gibbs_beta(energies, betas=None, max_frames=20):
    """Step through ``beta``: bars of the Gibbs distribution, one frame per ``beta``.

    Parameters
    ----------
    energies : array_like, shape (C,)
        2 to 10 finite energies.
    betas : array_like of float, optional
        The frames' inverse temperatures, each >= 0 (default: 0, then 24 values from
        0.01 to 100, log-spaced).
    max_frames : int, default 20
        At most this many frames (2 to 100); more ``betas`` are thinned evenly.

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Render it with :func:`ebm.plotting.animation_html`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    from ebm.gibbs import beta_sweep

    E = _energy_vector(energies)
    max_frames = _int_arg(max_frames, "max_frames", 2, 101)
    betas = np.concatenate([[0.0], np.logspace(-2, 2, 24)]) if betas is None else _default_betas(betas)
    if betas.size > max_frames:
        betas = betas[np.unique(np.linspace(0, betas.size - 1, max_frames).round().astype(int))]
    probs = beta_sweep(E, betas)
    C = E.size
    argmin = E == E.min()
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=80)  # small frames: to_jshtml renders each one
    bars = ax.bar(
        range(C),
        probs[0],
        color=[LABEL_COLOUR if a else OTHER_COLOUR for a in argmin],
        edgecolor="black",
        linewidth=0.6,
    )
    ax.axhline(1 / C, color="grey", linestyle="--", linewidth=1, label="1/C (beta = 0)")
    ax.set_xticks(range(C))
    ax.set_xticklabels([f"{y}\nE={E[y]:g}" for y in range(C)], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("P_beta(y)")
    ax.legend(fontsize=8, loc="upper right")
    title = ax.set_title("", fontsize=10)

    def draw(k):
        for bar, p in zip(bars, probs[k]):
            bar.set_height(p)
        title.set_text(f"beta = {betas[k]:.3g}: softmax(-beta E)   (red: the lowest energy)")
        return (*bars, title)

    draw(0)
    fig.tight_layout()
    return FuncAnimation(fig, draw, frames=len(betas), interval=300, blit=False)


def plot_nll_to_perceptron(energies, correct, betas=None):
    r"""``beta (NLL_beta - perceptron)`` against ``beta``: it tends to ``log(#ties)``.

    Both losses come from :func:`ebm.gibbs.nll_perceptron_gap` (the library's
    loss functions); the dashed curve is the closed form
    ``log(#ties + sum_{E > E_min} exp(-beta (E - E_min)))`` and the dotted line its limit
    ``log(#ties)``.  So ``NLL_beta - perceptron = log(#ties)/beta + O(exp(-beta gap)/beta)``.

    Parameters
    ----------
    energies : array_like, shape (C,)
    correct : int
    betas : array_like of float, optional
        Positive; default 121 values from 0.01 to 1000.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from ebm.gibbs import nll_perceptron_gap

    E = _energy_vector(energies)
    res = nll_perceptron_gap(E, correct, _default_betas(betas))
    b = res["betas"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.0))
    ax.loglog(b, res["gap"], color=OTHER_COLOUR, linewidth=2, label="NLL_beta - perceptron (loss functions)")
    ax.loglog(
        b,
        res["limit"] if res["ties"] > 1 else np.full_like(b, np.nan),
        ":",
        color="black",
        label=f"log(#ties)/beta, #ties = {res['ties']}",
    )
    ax.set_xlabel("beta")
    ax.set_ylabel("NLL_beta - perceptron")
    ax.set_title("the NLL becomes the perceptron loss", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    bx.semilogx(b, b * res["gap"], color=OTHER_COLOUR, linewidth=2, label="beta (NLL - perceptron)")
    bx.semilogx(
        b,
        b * res["exact"],
        "--",
        color=LABEL_COLOUR,
        linewidth=1.2,
        label="log(#ties + sum_{E > E_min} exp(-beta (E - E_min)))",
    )
    bx.axhline(np.log(res["ties"]), color="black", linestyle=":", label=f"log(#ties) = {np.log(res['ties']):.4f}")
    bx.set_xlabel("beta")
    bx.set_ylabel("beta (NLL_beta - perceptron)")
    bx.set_title(f"the rate: E = {np.round(E, 3).tolist()}, correct = {int(correct)}", fontsize=10)
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_loss_functionals(names=None, E_I=2.0, params=None, span=2.0):
    r"""Every loss functional and its derivative against ``E_C - E_I``, side by side.

    Two answers: the correct one at ``E_C = E_I + d`` and the incorrect one fixed at
    ``E_I``, for ``d`` in ``[-span, span]``.  Solid: the loss; dashed: ``dL/dE_C``
    (positive = pushes the correct energy down); dotted: ``dL/dE_I`` (negative =
    pulls the bad answer up).  A loss whose dotted line is 0 everywhere (the energy
    loss) never raises a bad answer.  Square-square and LVQ2 need ``E >= 0`` and
    ``E_I > 0``, so ``E_I`` must be at least ``span``.

    Parameters
    ----------
    names : sequence of str, optional
        Keys of :data:`ebm.gibbs.LOSSES` (default: all nine).
    E_I : float, default 2.0
    params : dict, optional
        Per-loss parameters, e.g. ``{"hinge": {"m": 0.5}}`` (defaults:
        :data:`ebm.gibbs.LOSS_PARAMS`, except square-square's ``m = E_I + 0.5``: its
        pull on ``E_I`` acts only while ``E_I < m``).
    span : float, default 2.0

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from ebm._checks import check_float
    from ebm.gibbs import LOSS_PARAMS, LOSSES

    names = list(LOSSES) if names is None else list(names)
    for n in names:
        if n not in LOSSES:
            raise ValueError(f"unknown loss {n!r}; choose from {list(LOSSES)}")
    if not names:
        raise ValueError("names is empty")
    E_I = check_float(E_I, "E_I")
    span = check_float(span, "span")
    if span <= 0 or E_I < span:
        raise ValueError(f"need 0 < span <= E_I (energies stay >= 0), got span={span}, E_I={E_I}")
    # square-square pulls E_I only while E_I < m: by default put m above E_I so the pull shows
    params = {"square_square": {"m": E_I + 0.5}, **({} if params is None else dict(params))}
    d = np.linspace(-span, span, 201)
    E = np.stack([E_I + d, np.full_like(d, E_I)], axis=1)
    cols = 3 if len(names) > 4 else len(names)
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.7 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        p = {**LOSS_PARAMS[name], **params.get(name, {})}
        values, grads = zip(*(LOSSES[name](E[n], 0, **p) for n in range(d.size)))
        grads = np.array(grads)
        ax.plot(d, values, color="black", linewidth=2, label="loss")
        ax.plot(d, grads[:, 0], "--", color=LABEL_COLOUR, linewidth=1.3, label="dL/dE_C")
        ax.plot(d, grads[:, 1], ":", color=OTHER_COLOUR, linewidth=1.8, label="dL/dE_I")
        ax.axvline(0, color="grey", linewidth=0.7)
        ax.axhline(0, color="grey", linewidth=0.7)
        pstr = ", ".join(f"{k}={v:g}" for k, v in p.items())
        ax.set_title(f"{name}" + (f" ({pstr})" if pstr else ""), fontsize=9.5)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("E_C - E_I", fontsize=9)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, fontsize=9, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle(f"LeCun's loss functionals, two answers, E_I = {E_I:g} fixed", y=1.04, fontsize=11)
    fig.text(
        0.01,
        -0.01,
        "dL/dE_C > 0 pushes the correct energy down; dL/dE_I < 0 pulls the most "
        "offending bad answer up. Kinks (hinge, perceptron, LVQ2, square-square) have no derivative; "
        "the curve shows the one-sided value used.",
        fontsize=8,
        ha="left",
        va="top",
    )
    fig.tight_layout()
    return fig


def plot_energy_tables(results):
    r"""Energy tables before and after training, one panel per loss.

    The first panel is the common starting table; each other panel is one
    ``train_energy_table`` result (rows: inputs, columns: answers; the correct
    answer outlined), titled with the smallest and largest final gap ``E_I - E_C``.
    All panels share one colour scale.

    Parameters
    ----------
    results : sequence of dict
        Outputs of :func:`ebm.gibbs.train_energy_table` that start from the same
        table (same seed and size), 1 to 11 of them.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if isinstance(results, dict) or not hasattr(results, "__iter__"):
        raise TypeError("results must be a sequence of train_energy_table outputs")
    results = list(results)
    if not 1 <= len(results) <= 11:
        raise ValueError(f"results must hold 1 to 11 tables, got {len(results)}")
    for n, r in enumerate(results):
        if not isinstance(r, dict) or not {"initial", "final", "correct", "gaps", "loss_name"} <= set(r):
            raise TypeError(f"results[{n}] is not a train_energy_table output")
        if not np.array_equal(r["initial"], results[0]["initial"]):
            raise ValueError(f"results[{n}] starts from another table than results[0]: use the same seed and size")
    panels = [("before training", results[0]["initial"], results[0]["gaps"][0])] + [
        (r["loss_name"], r["final"], r["gaps"][-1]) for r in results
    ]
    # one colour scale for all; a few outliers (LVQ2's 1/E_I**2 steps) are printed, not scaled to
    vmax = 1.05 * float(np.percentile(np.concatenate([t.ravel() for _, t, _ in panels]), 99)) or 1.0
    cols = min(5, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.6 * cols + 0.8, 2.9 * rows + 0.3), squeeze=False, layout="constrained"
    )
    correct = results[0]["correct"]
    for ax, (title, table, gaps) in zip(axes.flat, panels):
        im = ax.imshow(table, cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
        for x, y in enumerate(correct):
            ax.add_patch(Rectangle((y - 0.5, x - 0.5), 1, 1, fill=False, edgecolor=LABEL_COLOUR, linewidth=2))
        for x, y in zip(*np.nonzero(table > vmax)):
            ax.text(y, x, f"{table[x, y]:.3g}", ha="center", va="center", fontsize=6.5, color="black")
        if gaps is not None:
            title = f"{title}\ngap {gaps.min():.2f} .. {gaps.max():.2f}"
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(table.shape[1]))
        ax.set_yticks(range(table.shape[0]))
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("input x", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("answer y", fontsize=8)
    fig.colorbar(
        im,
        ax=axes,
        shrink=0.85,
        pad=0.01,
        fraction=0.025,
        aspect=30,
        label="energy E[x, y] (values above the scale printed)",
    )
    fig.suptitle(
        "A free-form energy table (entries >= 0) after training with each loss; "
        "red box = correct answer, gap = E_I - E_C",
        fontsize=10,
    )
    return fig
