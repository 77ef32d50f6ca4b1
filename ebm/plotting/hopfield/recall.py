r"""Figures of recall in the classic network: the energy going down, step by step, and what it ends in.

The numbers come from :class:`ebm.hopfield.HopfieldNetwork`; these functions only draw,
and **return** the figure (or the animation).

* :func:`plot_energy_descent` -- ``E(s)`` along asynchronous recall, one flip a step.
* :func:`animate_recall` -- the same, as a step-through of the state grid.
* :func:`plot_recall_grid` -- patterns / noisy probes / recalled states.
"""

from __future__ import annotations

import textwrap

import numpy as np

from ebm.plotting._style import _MAX_CURVES, LABEL_COLOUR, OTHER_COLOUR, _int_arg, _real_array, with_animation_sections

__all__ = ["plot_energy_descent", "animate_recall", "plot_recall_grid"]

_MAX_GRID_COLUMNS = 16
_MAX_FRAMES = 100


def _trajectory_list(trajectories, name="trajectories"):
    """A non-empty list of :class:`ebm.hopfield.Trajectory` (one is accepted on its own)."""
    from ebm.hopfield import Trajectory

    if isinstance(trajectories, Trajectory):
        return [trajectories]
    if isinstance(trajectories, (str, bytes)) or not hasattr(trajectories, "__iter__"):
        raise TypeError(
            f"{name} must be a Trajectory or a sequence of them "
            f"(from HopfieldNetwork.run), got {type(trajectories).__name__}"
        )
    trajs = list(trajectories)
    if not trajs:
        raise ValueError(f"{name} is empty: pass at least one Trajectory")
    if len(trajs) > _MAX_CURVES:
        raise ValueError(f"{name} has {len(trajs)} runs; at most {_MAX_CURVES} stay readable")
    for n, tr in enumerate(trajs):
        if not isinstance(tr, Trajectory):
            raise TypeError(f"{name}[{n}] must be a Trajectory (from HopfieldNetwork.run), got {type(tr).__name__}")
    return trajs


def _grid_shape(shape, n_units):
    """``shape`` as a (rows, cols) tuple of positive ints whose product is ``n_units``."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(f"shape must be a (rows, cols) tuple, got {shape!r}")
    rows = _int_arg(shape[0], "shape[0]", 1)
    cols = _int_arg(shape[1], "shape[1]", 1)
    if rows * cols != n_units:
        raise ValueError(f"shape {(rows, cols)} has {rows * cols} cells but the states have {n_units} units")
    return rows, cols


def _labels_arg(labels, n, name="labels"):
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
        raise TypeError(f"{name} must be a sequence of strings, got {labels!r}")
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} entries but there are {n} runs")
    for k, lab in enumerate(labels):
        if not isinstance(lab, str):
            raise TypeError(f"{name}[{k}] must be a string, got {lab!r}")
    return labels


def plot_energy_descent(trajectories, labels=None):
    """Energy against update step for several probes of one network.

    Each run's energy ``E(s) = -1/2 s^T W s - b^T s`` is drawn after every recorded
    update, with a marker at each flip (asynchronous runs flip one unit per step).
    For a symmetric ``W``, a flip of unit ``i`` to ``s_i'`` changes E by
    ``-2 s_i' h_i`` (``h_i`` the field from the other units); with ``W_ii >= 0``
    that is ``-2 |h_i|``, so the curves only go down and end at a fixed point.  If
    some run's energy *rises* (a negative diagonal, where a unit can flip against
    its field, see :func:`ebm.hopfield.negative_diagonal_counterexample`; or an
    asymmetric ``W``), the rises are marked and counted in the legend.  Starts are
    hollow squares and ends stars, one size per run (the first largest), so runs that
    start or end at (nearly) the same energy show as nested outlines.

    Parameters
    ----------
    trajectories : Trajectory or sequence of Trajectory
        Runs from :meth:`ebm.hopfield.HopfieldNetwork.run` (1 to 12 of them).
    labels : sequence of str, optional
        One legend entry per run (default: "probe 0", "probe 1", ...).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``trajectories`` is not a Trajectory or a sequence of them, or ``labels`` is
        not a sequence of strings.
    ValueError
        If there are no runs, more than 12, or ``labels`` has the wrong length.
    """
    import matplotlib.pyplot as plt

    trajs = _trajectory_list(trajectories)
    labels = _labels_arg(labels, len(trajs)) or [f"probe {n}" for n in range(len(trajs))]
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(8.0, 4.4))
    modes = {tr.mode for tr in trajs}
    n_rises = 0
    for n, (tr, lab) in enumerate(zip(trajs, labels)):
        E = tr.energies
        steps = np.arange(E.size)
        colour = cmap(n % 10)
        rises = np.flatnonzero(np.diff(E) > 1e-9 * max(1.0, float(np.abs(E).max()))) + 1
        n_rises += rises.size
        end = {1: "fixed point", 2: "2-cycle"}.get(tr.period, "not converged")
        text = f"{lab}: {E.size - 1} updates, E {E[0]:.2f} -> {E[-1]:.2f} ({end})"
        if rises.size:
            text += f", E rose {rises.size}x"
        ax.plot(steps, E, "-", color=colour, linewidth=1.4, label=text)
        ax.plot(steps[1:], E[1:], "o", color=colour, markersize=3.2)
        # start: hollow squares, one size per run (the first largest), so starts that nearly
        # coincide show as nested outlines; end: concentric stars, the first run's largest
        grow = 2.6 * (len(trajs) - 1 - n)
        for at, marker, size, style in (
            (0, "s", 5 + 1.4 * grow, dict(markerfacecolor="none", markeredgewidth=1.6)),
            (-1, "*", 11 + 2.2 * grow, dict(markeredgecolor="white", markeredgewidth=1.0)),
        ):
            ax.plot([steps[at]], [E[at]], marker, color=colour, markersize=size, zorder=3 + n, **style)
        if rises.size:
            ax.plot(
                steps[rises],
                E[rises],
                "^",
                color=LABEL_COLOUR,
                markersize=8,
                markerfacecolor="none",
                markeredgewidth=1.5,
            )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(
        "update step (one unit flipped per step)"
        if modes == {"async"}
        else "update step (synchronous: all units at once)"
        if modes == {"sync"}
        else "update step"
    )
    ax.set_ylabel("E(s) = -1/2 s^T W s - b^T s")
    ax.set_title(
        "Hopfield energy along recall: open square = probe, dot = an update, star = the end "
        "(nested where runs coincide)",
        fontsize=10,
    )
    note = (
        "W symmetric: a flip of unit i to s_i' changes E by exactly -2 s_i' h_i\n"
        "(h_i = sum_{j != i} W_ij s_j + b_i, the field from the others);\n"
        "if also W_ii >= 0 that is -2|h_i|: E never increases.\n"
        "With W_ii < 0 a flip can raise E by +2|h_i|"
    )
    if n_rises:
        note += f"\nhere E ROSE at {n_rises} update(s) (red triangles): W_ii < 0 or W asymmetric?"
    ax.text(
        0.98,
        0.97,
        note,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=8.5,
        bbox=dict(boxstyle="round", facecolor="white", edgecolor="#999999"),
    )
    ax.legend(loc="lower left", fontsize=8, frameon=True, framealpha=0.9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@with_animation_sections(
    raises="""
    TypeError
        If ``trajectory`` is not a Trajectory, ``shape`` is not a pair, or ``every`` /
        ``max_frames`` are not integers.
    ValueError
        If ``shape`` does not match the number of units, ``every < 1`` or
        ``max_frames`` is outside 2..100.
    """
)
def animate_recall(trajectory, shape, every=1, max_frames=40):
    """Step through one recall: the state as an image, and the energy going down.

    Left: the state reshaped to ``shape`` (``+1`` black, ``-1`` white) with the units
    that changed since the previous frame outlined in red.  Right: the whole energy
    curve of the run and a marker at the current step; the title gives the flipped
    unit and ``Delta E = -2 |h_i|``.

    Parameters
    ----------
    trajectory : Trajectory
        One run from :meth:`ebm.hopfield.HopfieldNetwork.run`.
    shape : tuple of int
        ``(rows, cols)`` with ``rows * cols`` the number of units, e.g.
        :data:`ebm.datasets.LETTER_SHAPE`.
    every : int, default 1
        Show every ``every``-th recorded state (the final state is always shown).
    max_frames : int, default 40
        At most this many frames (2 to 100); longer runs are thinned evenly, so the
        animation stays small and renders fast with ``to_jshtml``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    from matplotlib.patches import Rectangle

    from ebm.hopfield import Trajectory

    if not isinstance(trajectory, Trajectory):
        raise TypeError(f"trajectory must be a Trajectory (from HopfieldNetwork.run), got {type(trajectory).__name__}")
    states, E = trajectory.states, trajectory.energies
    rows, cols = _grid_shape(shape, states.shape[1])
    every = _int_arg(every, "every", 1)
    max_frames = _int_arg(max_frames, "max_frames", 2, _MAX_FRAMES + 1)
    T = E.size - 1
    idx = np.arange(0, T + 1, every)
    if idx[-1] != T:
        idx = np.append(idx, T)
    if idx.size > max_frames:
        idx = np.unique(np.linspace(0, T, max_frames).round().astype(int))

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.6, 3.8), dpi=80, gridspec_kw=dict(width_ratios=[1, 1.35]))
    image = ax.imshow(states[0].reshape(rows, cols), cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    title = ax.set_title("placeholder\nplaceholder", fontsize=9)  # two lines, for the layout
    boxes = []

    ax2.plot(np.arange(T + 1), E, "-", color="#555555", linewidth=1.2)
    ax2.plot(idx, E[idx], "o", color=OTHER_COLOUR, markersize=3)
    (point,) = ax2.plot([], [], "o", color=LABEL_COLOUR, markersize=9)
    ax2.set_xlabel("update step" + (" (one flip each)" if trajectory.mode == "async" else " (sync)"))
    ax2.set_ylabel("E(s)")
    ax2.grid(alpha=0.3)
    span = max(float(E.max() - E.min()), 1e-9)
    ax2.set_ylim(E.min() - 0.08 * span, E.max() + 0.12 * span)
    ax2.set_xlim(-0.5, max(T, 1) + 0.5)
    text = ax2.text(0.98, 0.95, "", transform=ax2.transAxes, ha="right", va="top", fontsize=9)
    end = {1: "a fixed point", 2: "a 2-cycle"}.get(trajectory.period, "max_sweeps (not converged)")
    fig.suptitle(f"Recall, {trajectory.mode}: {T} updates from the probe to {end}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))

    def draw(f):
        t = int(idx[f])
        image.set_data(states[t].reshape(rows, cols))
        for box in boxes:
            box.remove()
        boxes.clear()
        if f == 0:
            title.set_text(f"the probe (step 0), E = {E[0]:.2f}")
        else:
            prev = int(idx[f - 1])
            diff = np.flatnonzero(states[t] != states[prev])
            for u in diff:
                r, c = divmod(int(u), cols)
                boxes.append(
                    ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=LABEL_COLOUR, linewidth=2.0))
                )
            if t - prev == 1 and diff.size == 1:
                u = int(diff[0])
                title.set_text(
                    f"step {t}: unit {u} (row {u // cols}, col {u % cols}) -> "
                    f"{int(states[t][u]):+d}\ndE = {E[t] - E[prev]:+.3f} = -2|h_{u}|"
                )
            else:
                title.set_text(f"steps {prev + 1}..{t}: {diff.size} unit(s) changed\ndE = {E[t] - E[prev]:+.3f}")
        point.set_data([t], [E[t]])
        text.set_text(f"E = {E[t]:.3f}")
        return (image, title, point, text, *boxes)

    draw(0)
    return FuncAnimation(fig, draw, frames=idx.size, interval=250, blit=False)


def plot_recall_grid(patterns, probes, results, shape, titles=("pattern", "noisy probe", "recalled"), *, title=None):
    """Rows of images: the stored patterns, the noisy probes, and what recall returned.

    One column per example.  Under every probe and result is its overlap
    ``m = (1/N) s . xi`` with the pattern above it, so a failed recall is visible
    at a glance: green when the result equals the pattern (``m = 1``), red
    otherwise; the probes' overlaps are black.  A result row that is not all ±1
    (e.g. a modern Hopfield output, drawn in grey levels) is labelled with
    ``(1/N) x . xi`` of the very values drawn -- never of their signs -- and is
    green only if it equals the pattern (every unit within 0.001).  A note under the
    figure says all this.

    Parameters
    ----------
    patterns, probes : array_like, shape (M, N)
        The stored patterns and the probes started from them, 1 <= M <= 16.
    results : array_like, shape (M, N) or (R, M, N)
        The final states; several result rows (e.g. one per learning rule) give
        ``R`` rows.  Real values are fine (e.g. modern Hopfield outputs).
    shape : tuple of int
        ``(rows, cols)`` of each image, e.g. :data:`ebm.datasets.LETTER_SHAPE`.
    titles : sequence of str, default ("pattern", "noisy probe", "recalled")
        One per row: ``2 + R`` entries.
    title : str, optional
        A title over the whole figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If an array is not numeric, ``shape`` is not a pair, or ``titles``/``title`` are
        not strings.
    ValueError
        If the arrays' shapes disagree, they are not finite, there are more than 16
        columns, or ``titles`` has the wrong length.
    """
    import matplotlib.pyplot as plt

    pats = _real_array(patterns, "patterns")
    prob = _real_array(probes, "probes")
    res = _real_array(results, "results")
    if pats.ndim != 2:
        raise ValueError(f"patterns must have shape (M, N), got {pats.shape}")
    M, N = pats.shape
    if not 1 <= M <= _MAX_GRID_COLUMNS:
        raise ValueError(f"patterns must have 1 to {_MAX_GRID_COLUMNS} rows (one per column), got {M}")
    if prob.shape != pats.shape:
        raise ValueError(f"probes must have the shape of patterns {pats.shape}, got {prob.shape}")
    if res.ndim == 2:
        res = res[None]
    if res.ndim != 3 or res.shape[1:] != pats.shape:
        raise ValueError(f"results must have shape {pats.shape} or (R, {M}, {N}), got {res.shape}")
    for name, arr in (("patterns", pats), ("probes", prob), ("results", res)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} must be finite")
    rows, cols = _grid_shape(shape, N)
    if isinstance(titles, (str, bytes)) or not hasattr(titles, "__len__"):
        raise TypeError(f"titles must be a sequence of strings, got {titles!r}")
    titles = list(titles)
    if len(titles) != 2 + res.shape[0]:
        raise ValueError(
            f"titles must have {2 + res.shape[0]} entries (pattern, probe, and one per result row), got {len(titles)}"
        )
    if not all(isinstance(t, str) for t in titles):
        raise TypeError(f"titles must all be strings, got {titles!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string, got {title!r}")

    grid = [pats, prob, *res]
    n_rows = len(grid)
    fig, axes = plt.subplots(n_rows, M, figsize=(1.15 * M + 1.2, 1.45 * n_rows + 0.75), squeeze=False)
    any_real = False
    for r, block in enumerate(grid):
        for m in range(M):
            ax = axes[r, m]
            img = block[m]
            lim = max(1.0, float(np.abs(img).max()))
            ax.imshow(img.reshape(rows, cols), cmap="gray_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r > 0:
                bipolar = bool(np.isin(img, (-1.0, 1.0)).all())
                any_real |= not bipolar
                m_ov = float(img @ pats[m]) / N  # of the values drawn
                ok = np.allclose(img, pats[m], rtol=0, atol=1e-3)  # equal to the pattern
                ax.set_xlabel(
                    f"{'m' if bipolar else 'x.xi/N'} = {m_ov:.2f}",
                    fontsize=8,
                    color="black" if r == 1 else ("#2ca02c" if ok else LABEL_COLOUR),
                )
            if m == 0:
                ax.set_ylabel(titles[r], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    note = (
        "Under each image: its overlap m = (1/N) s.xi with the pattern in the top row. "
        "Green: recall returned the pattern (every unit within 0.001); red: it did not; "
        "black: the probes."
    )
    if any_real:
        note += (
            " Grey rows are real-valued: their number is (1/N) x.xi of the grey values shown "
            "(not of their signs), 1 only if x = xi."
        )
    width_in, height_in = fig.get_size_inches()
    lines = textwrap.wrap(note, width=max(40, int(width_in * 17)))
    fig.text(0.5, 0.005, "\n".join(lines), ha="center", va="bottom", fontsize=7.5, color="#333333")
    fig.tight_layout(rect=(0, (0.06 + 0.13 * len(lines)) / height_in, 1, 1))
    return fig
