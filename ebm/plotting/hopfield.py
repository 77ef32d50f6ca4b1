r"""Figures for the Hopfield chapter and lecture (article §1).

The numbers all come from :mod:`ebm.hopfield`; these functions only draw, and
**return** the figure.

* :func:`plot_label_energy_cases` -- the article's label energy against ``W x``, case
  by case: ``E = 0`` or ``-|W x|``, never positive.
* :func:`plot_label_energy_training` -- E and the error count per epoch: under the
  article's rule E falls without bound while the errors grow.
* :func:`plot_energy_descent` -- ``E(s)`` along asynchronous recall, one flip a step.
* :func:`animate_recall` -- the same, as a step-through of the state grid.
* :func:`plot_recall_grid` -- patterns / noisy probes / recalled states.
* :func:`plot_capacity` -- final overlap against the load, with ``alpha_c = 0.138``.
* :func:`plot_one_step_error` -- ``Phi(-1/sqrt(alpha))`` against measured bit errors.
"""

from __future__ import annotations

import numbers
import textwrap

import numpy as np

from ebm.plotting._style import LABEL_COLOUR, OTHER_COLOUR, _int_arg, _real_array

__all__ = [
    "plot_energy_descent",
    "animate_recall",
    "plot_capacity",
    "plot_one_step_error",
    "plot_recall_grid",
    "plot_label_energy_cases",
    "plot_label_energy_training",
]


#: Colours of the article's three cases (I: y = +1 wrong, II: y = -1 wrong, III: right).
CASE_COLOURS = {"I": "#d62728", "II": "#ff7f0e", "III": "#2ca02c"}

_MAX_TRAJECTORIES = 12
_MAX_GRID_COLUMNS = 16
_MAX_FRAMES = 100


def _trajectory_list(trajectories, name="trajectories"):
    """A non-empty list of :class:`ebm.hopfield.Trajectory` (one is accepted on its own)."""
    from ebm.hopfield import Trajectory

    if isinstance(trajectories, Trajectory):
        return [trajectories]
    if isinstance(trajectories, (str, bytes)) or not hasattr(trajectories, "__iter__"):
        raise TypeError(f"{name} must be a Trajectory or a sequence of them "
                        f"(from HopfieldNetwork.run), got {type(trajectories).__name__}")
    trajs = list(trajectories)
    if not trajs:
        raise ValueError(f"{name} is empty: pass at least one Trajectory")
    if len(trajs) > _MAX_TRAJECTORIES:
        raise ValueError(f"{name} has {len(trajs)} runs; at most {_MAX_TRAJECTORIES} stay readable")
    for n, tr in enumerate(trajs):
        if not isinstance(tr, Trajectory):
            raise TypeError(f"{name}[{n}] must be a Trajectory (from HopfieldNetwork.run), "
                            f"got {type(tr).__name__}")
    return trajs


def _grid_shape(shape, n_units):
    """``shape`` as a (rows, cols) tuple of positive ints whose product is ``n_units``."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(f"shape must be a (rows, cols) tuple, got {shape!r}")
    rows = _int_arg(shape[0], "shape[0]", 1)
    cols = _int_arg(shape[1], "shape[1]", 1)
    if rows * cols != n_units:
        raise ValueError(f"shape {(rows, cols)} has {rows * cols} cells but the states have "
                         f"{n_units} units")
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
        ax.plot([0], [E[0]], "s", color=colour, markersize=5 + 1.4 * grow, markerfacecolor="none",
                markeredgewidth=1.6, zorder=3 + n)
        ax.plot([steps[-1]], [E[-1]], "*", color=colour, markersize=11 + 2.2 * grow,
                markeredgecolor="white", markeredgewidth=1.0, zorder=3 + n)
        if rises.size:
            ax.plot(steps[rises], E[rises], "^", color=LABEL_COLOUR, markersize=8,
                    markerfacecolor="none", markeredgewidth=1.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("update step (one unit flipped per step)" if modes == {"async"}
                  else "update step (synchronous: all units at once)" if modes == {"sync"}
                  else "update step")
    ax.set_ylabel("E(s) = -1/2 s^T W s - b^T s")
    ax.set_title("Hopfield energy along recall: open square = probe, dot = an update, star = the end "
                 "(nested where runs coincide)", fontsize=10)
    note = ("W symmetric: a flip of unit i to s_i' changes E by exactly -2 s_i' h_i\n"
            "(h_i = sum_{j != i} W_ij s_j + b_i, the field from the others);\n"
            "if also W_ii >= 0 that is -2|h_i|: E never increases.\n"
            "With W_ii < 0 a flip can raise E by +2|h_i|")
    if n_rises:
        note += f"\nhere E ROSE at {n_rises} update(s) (red triangles): W_ii < 0 or W asymmetric?"
    ax.text(0.98, 0.97, note, transform=ax.transAxes, ha="right", va="top", fontsize=8.5,
            bbox=dict(boxstyle="round", facecolor="white", edgecolor="#999999"))
    ax.legend(loc="lower left", fontsize=8, frameon=True, framealpha=0.9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


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

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Turn it into HTML with :func:`animation_html` (or ``.to_jshtml()``).

    Raises
    ------
    TypeError
        If ``trajectory`` is not a Trajectory, ``shape`` is not a pair, or ``every`` /
        ``max_frames`` are not integers.
    ValueError
        If ``shape`` does not match the number of units, ``every < 1`` or
        ``max_frames`` is outside 2..100.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    from matplotlib.patches import Rectangle

    from ebm.hopfield import Trajectory

    if not isinstance(trajectory, Trajectory):
        raise TypeError(f"trajectory must be a Trajectory (from HopfieldNetwork.run), "
                        f"got {type(trajectory).__name__}")
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

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.6, 3.8), dpi=80,
                                  gridspec_kw=dict(width_ratios=[1, 1.35]))
    image = ax.imshow(states[0].reshape(rows, cols), cmap="gray_r", vmin=-1, vmax=1,
                      interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    title = ax.set_title("placeholder\nplaceholder", fontsize=9)      # two lines, for the layout
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
                boxes.append(ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False,
                                                    edgecolor=LABEL_COLOUR, linewidth=2.0)))
            if t - prev == 1 and diff.size == 1:
                u = int(diff[0])
                title.set_text(f"step {t}: unit {u} (row {u // cols}, col {u % cols}) -> "
                               f"{int(states[t][u]):+d}\ndE = {E[t] - E[prev]:+.3f} = -2|h_{u}|")
            else:
                title.set_text(f"steps {prev + 1}..{t}: {diff.size} unit(s) changed\n"
                               f"dE = {E[t] - E[prev]:+.3f}")
        point.set_data([t], [E[t]])
        text.set_text(f"E = {E[t]:.3f}")
        return (image, title, point, text, *boxes)

    draw(0)
    return FuncAnimation(fig, draw, frames=idx.size, interval=250, blit=False)


def _capacity_results(results):
    if isinstance(results, dict):
        results = [results]
    if isinstance(results, (str, bytes)) or not hasattr(results, "__iter__"):
        raise TypeError(f"results must be a capacity_sweep dict or a sequence of them, "
                        f"got {type(results).__name__}")
    results = list(results)
    if not results:
        raise ValueError("results is empty: pass at least one capacity_sweep result")
    if len(results) > _MAX_TRAJECTORIES:
        raise ValueError(f"results has {len(results)} sweeps; at most {_MAX_TRAJECTORIES} stay readable")
    out = []
    for n, res in enumerate(results):
        if not isinstance(res, dict):
            raise TypeError(f"results[{n}] must be a dict from capacity_sweep, got {type(res).__name__}")
        missing = [k for k in ("loads", "overlap") if k not in res]
        if missing:
            raise ValueError(f"results[{n}] lacks {missing}: pass capacity_sweep's return value")
        loads = _real_array(res["loads"], f"results[{n}]['loads']")
        ov = _real_array(res["overlap"], f"results[{n}]['overlap']")
        if loads.ndim != 1 or loads.size == 0:
            raise ValueError(f"results[{n}]['loads'] must be a non-empty 1-D array, got shape {loads.shape}")
        if ov.ndim == 1:
            ov = ov[:, None]
        if ov.ndim != 2 or ov.shape[0] != loads.size:
            raise ValueError(f"results[{n}]['overlap'] must have shape ({loads.size}, n_seeds), "
                             f"got {ov.shape}")
        if not (np.isfinite(loads).all() and np.isfinite(ov).all()):
            raise ValueError(f"results[{n}] must hold finite loads and overlaps")
        out.append((loads, ov, res.get("rule", f"sweep {n}"), res.get("n_units")))
    return out


def plot_capacity(results, theory_line=0.138):
    """Mean final overlap against the load ``alpha = p / N``, with the capacity line.

    Each :func:`ebm.hopfield.capacity_sweep` result is one curve: the mean over seeds
    of the mean overlap between each stored pattern and the state recall ends in,
    with error bars of one standard deviation across seeds.  Hebb's recall collapses
    near ``alpha_c ~ 0.138`` (Amit, Gutfreund & Sompolinsky 1985; finite ``N`` smooths
    the drop); Storkey's rule holds on to higher loads.

    Parameters
    ----------
    results : dict or sequence of dict
        Return values of :func:`ebm.hopfield.capacity_sweep` (keys ``"loads"``,
        ``"overlap"``, and optionally ``"rule"`` and ``"n_units"`` for the legend).
    theory_line : float or None, default 0.138
        Where to draw the vertical ``alpha_c`` line; ``None`` for none.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``results`` is not a dict or a sequence of dicts, holds non-numeric arrays,
        or ``theory_line`` is not a number.
    ValueError
        If a result lacks ``"loads"``/``"overlap"``, their shapes disagree, they are not
        finite, or ``theory_line`` is not positive.
    """
    import matplotlib.pyplot as plt

    sweeps = _capacity_results(results)
    if theory_line is not None:
        if isinstance(theory_line, (bool, np.bool_)) or not isinstance(theory_line, numbers.Real):
            raise TypeError(f"theory_line must be a number or None, got {theory_line!r}")
        if not (np.isfinite(theory_line) and theory_line > 0):
            raise ValueError(f"theory_line must be a positive finite load, got {theory_line!r}")
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    lowest = 1.0
    for n, (loads, ov, rule, n_units) in enumerate(sweeps):
        mean, std = ov.mean(axis=1), ov.std(axis=1)
        lowest = min(lowest, float((mean - std).min()))
        label = f"{rule}" + (f", N = {n_units}" if n_units is not None else "") + f" ({ov.shape[1]} seeds)"
        ax.errorbar(loads, mean, yerr=std, fmt="o-", color=cmap(n % 10), capsize=3, markersize=4,
                    linewidth=1.4, label=label)
    if theory_line is not None:
        ax.axvline(theory_line, color="black", linestyle="--", linewidth=1.1,
                   label=f"alpha_c = {theory_line:g} (Amit, Gutfreund & Sompolinsky 1985)")
        ax.annotate(f"alpha_c = {theory_line:g}", (theory_line, 1.0), xytext=(4, -12),
                    textcoords="offset points", fontsize=9)
    ax.set_xlabel("load alpha = p / N (patterns per unit)")
    ax.set_ylabel("mean final overlap m with the stored pattern")
    ax.set_ylim(min(0.0, lowest - 0.05) if lowest < 0.3 else lowest - 0.05, 1.03)
    ax.set_title("Capacity: start at each stored pattern, relax, measure the overlap", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    return fig


def plot_one_step_error(alphas, measured=None):
    """One-step bit-error rate of Hebb's rule: ``Phi(-1/sqrt(alpha))`` and measurements.

    Starting at a stored pattern, the field on a bit is the signal ``1`` plus the
    crosstalk of the other patterns, roughly Gaussian with variance ``alpha``; the
    bit flips when the crosstalk wins, with probability ``Phi(-1/sqrt(alpha))``.  The
    curve is drawn on a linear (left) and a log (right) scale with the anchor
    values marked: 0.36 % at ``alpha = 0.138`` and 5 % at ``alpha = 0.37``.

    Parameters
    ----------
    alphas : array_like, shape (K,)
        Positive loads; the curve spans them (and 0.138 and 0.37).  When
        ``measured`` is given, its entries are plotted at these loads.
    measured : sequence, optional
        One entry per load: a dict from :func:`ebm.hopfield.one_step_error` (its
        ``"rate"`` and ``"stderr"`` become a point with an error bar) or a plain rate.
        Rates of 0 are drawn as triangles at the bottom of the log panel.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``alphas`` is not numeric or ``measured`` is not a sequence of dicts/numbers.
    ValueError
        If ``alphas`` is not a non-empty 1-D array of positive finite loads, or
        ``measured`` has the wrong length or rates outside [0, 1].
    """
    import matplotlib.pyplot as plt

    from ebm.hopfield import theoretical_one_step_error

    a = _real_array(alphas, "alphas")
    if a.ndim != 1 or not 1 <= a.size <= 50:
        raise ValueError(f"alphas must be 1-D with 1 to 50 loads, got shape {a.shape}")
    if not (np.isfinite(a).all() and (a > 0).all()):
        raise ValueError(f"alphas must be positive and finite, got {a.tolist()}")
    rates = stderr = None
    if measured is not None:
        if isinstance(measured, (str, bytes, dict)) or not hasattr(measured, "__len__"):
            raise TypeError("measured must be a sequence (one one_step_error dict or rate per load), "
                            f"got {type(measured).__name__}")
        if len(measured) != a.size:
            raise ValueError(f"measured has {len(measured)} entries but alphas has {a.size}")
        rates, stderr = np.empty(a.size), np.zeros(a.size)
        for n, m in enumerate(measured):
            if isinstance(m, dict):
                if "rate" not in m:
                    raise ValueError(f"measured[{n}] lacks 'rate': pass one_step_error's return value")
                rates[n], stderr[n] = float(m["rate"]), float(m.get("stderr", 0.0))
            elif isinstance(m, numbers.Real) and not isinstance(m, (bool, np.bool_)):
                rates[n] = float(m)
            else:
                raise TypeError(f"measured[{n}] must be a one_step_error dict or a number, got {m!r}")
        if not (np.isfinite(rates).all() and (rates >= 0).all() and (rates <= 1).all()):
            raise ValueError(f"measured rates must be in [0, 1], got {rates.tolist()}")

    anchors = (0.138, 0.37)
    lo = 0.85 * min(a.min(), anchors[0])
    hi = 1.08 * max(a.max(), anchors[1])
    grid = np.linspace(lo, hi, 300)
    theory = theoretical_one_step_error(grid)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2))
    for ax, log in zip(axes, (False, True)):
        ax.plot(grid, theory, "-", color="black", linewidth=1.5, label="Phi(-1/sqrt(alpha)) (large N)")
        if rates is not None:
            shown = rates > 0 if log else np.ones_like(rates, bool)
            ax.errorbar(a[shown], rates[shown], yerr=stderr[shown], fmt="o", color=LABEL_COLOUR,
                        capsize=3, markersize=5, zorder=6, label="measured (mean +- s.e. over seeds)")
        for alpha, ls in zip(anchors, (":", "-.")):
            value = float(theoretical_one_step_error(alpha))
            ax.axvline(alpha, color="#777777", linestyle=ls, linewidth=1.0)
            ax.plot([alpha], [value], "D", color="#2ca02c", markersize=10, markerfacecolor="none",
                    markeredgewidth=1.6, zorder=5)
            above = not log and alpha == anchors[0]          # near 0 on the linear scale
            ax.annotate(f"alpha = {alpha:g}\n{100 * value:.2g} % of bits", (alpha, value),
                        # log panel: below-right, the empty side of the rising curve
                        # linear panel, 0.138: up and to the left, clear of its dotted line
                        xytext=(-6, 42) if above else (8, -26) if not log else (12, -36),
                        textcoords="offset points", fontsize=8.5, ha="right" if above else "left",
                        color="#2ca02c",
                        arrowprops=dict(arrowstyle="-", color="#2ca02c", linewidth=0.8) if above else None)
        ax.set_xlabel("load alpha = p / N")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("fraction of bits wrong after one update")
    axes[0].set_title("one Hebb update from a stored pattern (linear scale)", fontsize=10)
    axes[1].set_yscale("log")
    bottom = float(theory.min())
    if rates is not None and (rates > 0).any():
        bottom = min(bottom, float(rates[rates > 0].min()) / 3)
    bottom = max(bottom, 1e-8)
    axes[1].set_ylim(bottom, 0.3)
    if rates is not None and (rates == 0).any():
        zero = rates == 0
        axes[1].plot(a[zero], np.full(zero.sum(), bottom * 1.5), "v", color=LABEL_COLOUR,
                     markersize=7, label="measured 0 (no error seen)")
    axes[1].set_title("the same, log scale", fontsize=10)
    axes[0].legend(loc="upper left", fontsize=8, framealpha=0.9)
    axes[1].legend(loc="lower right", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    return fig


def plot_recall_grid(patterns, probes, results, shape, titles=("pattern", "noisy probe", "recalled"),
                     *, title=None):
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
        raise ValueError(f"titles must have {2 + res.shape[0]} entries (pattern, probe, and one per "
                         f"result row), got {len(titles)}")
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
                m_ov = float(img @ pats[m]) / N                   # of the values drawn
                ok = np.allclose(img, pats[m], rtol=0, atol=1e-3)      # equal to the pattern
                ax.set_xlabel(f"{'m' if bipolar else 'x.xi/N'} = {m_ov:.2f}", fontsize=8,
                              color="black" if r == 1 else ("#2ca02c" if ok else LABEL_COLOUR))
            if m == 0:
                ax.set_ylabel(titles[r], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    note = ("Under each image: its overlap m = (1/N) s.xi with the pattern in the top row. "
            "Green: recall returned the pattern (every unit within 0.001); red: it did not; "
            "black: the probes.")
    if any_real:
        note += (" Grey rows are real-valued: their number is (1/N) x.xi of the grey values shown "
                 "(not of their signs), 1 only if x = xi.")
    width_in, height_in = fig.get_size_inches()
    lines = textwrap.wrap(note, width=max(40, int(width_in * 17)))
    fig.text(0.5, 0.005, "\n".join(lines), ha="center", va="bottom", fontsize=7.5, color="#333333")
    fig.tight_layout(rect=(0, (0.06 + 0.13 * len(lines)) / height_in, 1, 1))
    return fig


def plot_label_energy_cases(W, x, label):
    """The article's label energy per sample, against ``W x``, by case I / II / III.

    ``E(x|Label) = -1/2 (W x)(y - label)`` with ``y = sign(W x)``.  The article
    argues "the energy always decreases" from three cases (I: output +1 but label
    -1; II: output -1 but label +1; III: right).  What the scatter shows: every
    point lies on ``E = 0`` (right answers) or on ``E = -|W x|`` (errors, both
    cases) -- ``E <= 0`` always, it is minus the perceptron criterion, and the
    region ``E > 0`` stays empty.  The right panel sets the article's claim beside
    the numbers from :func:`ebm.hopfield.label_energy_cases`, with a verdict
    computed from them: case II's "``dY * E`` again negative" is false there,
    ``dY * E = +2 |W x|``.

    Parameters
    ----------
    W : array_like, shape (n_in,)
        One output unit's weights.
    x : array_like, shape (M, n_in)
        The samples.
    label : array_like of ±1, shape (M,)

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``W``, ``x`` or ``label`` is not numeric.
    ValueError
        If ``W`` is not 1-D, ``x`` is not (M, n_in), ``label`` is not (M,) of ±1, or
        anything is not finite.
    """
    import matplotlib.pyplot as plt

    from ebm.hopfield import label_energy, label_energy_cases

    W = _real_array(W, "W")
    x = _real_array(x, "x")
    lab = _real_array(label, "label")
    if W.ndim != 1:
        raise ValueError(f"W must be one output unit's weights, shape (n_in,), got {W.shape}")
    if x.ndim != 2 or x.shape[1] != W.size:
        raise ValueError(f"x must have shape (M, {W.size}) to match W, got {x.shape}")
    if lab.shape != (x.shape[0],):
        raise ValueError(f"label must have shape ({x.shape[0]},), one per sample, got {lab.shape}")
    cases = label_energy_cases(W, x, lab)            # validates ±1 labels and finiteness
    E = np.atleast_1d(label_energy(W, x, lab))
    wx = x @ W
    y = np.where(wx >= 0, 1.0, -1.0)
    which = np.where(y == lab, "III", np.where(y == 1, "I", "II"))

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13.0, 4.8), gridspec_kw=dict(width_ratios=[1.0, 1.15]))
    span = max(float(np.abs(wx).max()), 1e-9) * 1.08
    grid = np.linspace(-span, span, 201)
    ax.axhspan(0, 0.45 * span, color=LABEL_COLOUR, alpha=0.06)
    ax.text(0, 0.3 * span, "E > 0: never reached", ha="center", fontsize=9, color=LABEL_COLOUR)
    ax.plot(grid, -np.abs(grid), "--", color="#777777", linewidth=1.0, label="E = -|W x|")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.5)
    names = {"I": "I: y = +1, label -1 (dY = +2)", "II": "II: y = -1, label +1 (dY = -2)",
             "III": "III: right (dY = 0)"}
    for case in ("III", "I", "II"):
        mask = which == case
        ax.scatter(wx[mask], E[mask], s=16, color=CASE_COLOURS[case], alpha=0.8, edgecolor="none",
                   label=f"{names[case]}: {int(mask.sum())}")
    ax.set_xlim(-span, span)
    ax.set_ylim(-1.05 * span, 0.45 * span)
    ax.set_xlabel("W x")
    ax.set_ylabel("E(x|Label) = -1/2 (W x)(y - label)")
    ax.set_title("every sample: E = 0 if right, E = -|W x| if wrong", fontsize=10)
    ax.legend(loc="lower center", fontsize=8, framealpha=0.9)
    ax.grid(alpha=0.3)

    ax2.axis("off")
    claims = {"I": "\"dY = 2, dY*E negative\"", "II": "\"dY = -2, again negative\"",
              "III": "\"dY = 0, dE = 0\""}

    def fmt(v):
        return "-" if v is None else f"{v:+.3g}"

    def verdict(case):
        info = cases[case]
        if info["count"] == 0:
            return "no sample"
        if case == "III":                              # "dE = 0": E is 0 on every right answer
            return "true" if info["min_E"] == 0 == info["max_E"] else "FALSE"
        return "true" if info["max_dYE"] < 0 else "FALSE"     # "dY*E negative"

    cell_text = [[case, claims[case], str(cases[case]["count"]),
                  f"[{fmt(cases[case]['min_E'])}, {fmt(cases[case]['max_E'])}]",
                  f"[{fmt(cases[case]['min_dYE'])}, {fmt(cases[case]['max_dYE'])}]", verdict(case)]
                 for case in ("I", "II", "III")]
    table = ax2.table(cellText=cell_text,
                      colLabels=["case", "the article says", "count", "E range", "dY*E range", "claim"],
                      loc="upper center", cellLoc="left", colWidths=[0.08, 0.33, 0.08, 0.2, 0.2, 0.11])
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    table.scale(1.0, 1.6)
    for r, case in enumerate(("I", "II", "III"), start=1):
        table[r, 0].set_facecolor(CASE_COLOURS[case])
        table[r, 0].set_alpha(0.5)
        if cell_text[r - 1][-1] == "FALSE":
            table[r, 5].set_facecolor("#f4b6b6")
            table[r, 5].get_text().set_color(LABEL_COLOUR)
            table[r, 5].get_text().set_fontweight("bold")
    ax2.text(0.0, 0.45,
             "What is true (labels in {-1, +1}):\n"
             "  right answer:  E = 0\n"
             "  wrong answer:  dY = 2y, so E = -(W x) y = -|W x| < 0\n"
             "  case I:  dY*E = 2 * (-|W x|) = -2|W x| < 0\n"
             "  case II: dY*E = -2 * (-|W x|) = +2|W x| > 0: not negative\n"
             "So E <= 0 always: E is MINUS the perceptron criterion\n"
             "sum_errors |W x|.  Descending E as written pushes W\n"
             "towards the wrong answer; descend +1/2 (W x) dY instead:\n"
             "the perceptron rule  W += lr/2 (label - y) x.",
             transform=ax2.transAxes, va="top", fontsize=9, family="monospace")
    fig.suptitle("The article's label energy: the sign of E in each case, checked on "
                 f"{x.shape[0]} samples", fontsize=11)
    fig.tight_layout()
    return fig


def plot_label_energy_training(histories, n_samples=None):
    """The label energy and the error count per epoch, side by side, for each rule.

    Feed it :func:`ebm.hopfield.train_label_energy` with ``return_energy=True``.
    Under the article's rule (descend ``E = -1/2 (W x)(y - label)`` as written) E
    does "always decrease" -- towards minus infinity, since ``E = -sum_errors |W x|``
    and every step makes the errors larger and more numerous -- while the error
    count grows.  Under the perceptron rule the errors fall and E rises towards
    its maximum, 0.  The energy axis is symmetric-log, so both fit.

    Parameters
    ----------
    histories : dict
        ``{rule name: (errors, energy)}``, each a 1-D sequence over epochs 0..T
        (1 to 6 rules).
    n_samples : int, optional
        The number of training samples, for the error axis label.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``histories`` is not a dict of pairs, or a name is not a string.
    ValueError
        If a pair's arrays are not 1-D of one length, not finite, or it is empty.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not isinstance(histories, dict) or not 1 <= len(histories) <= 6:
        raise TypeError("histories must be a dict of 1 to 6 {rule: (errors, energy)} entries, "
                        f"got {type(histories).__name__}")
    rows = []
    for name, pair in histories.items():
        if not isinstance(name, str):
            raise TypeError(f"histories keys must be rule names (strings), got {name!r}")
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"histories[{name!r}] must be a pair (errors, energy)")
        errors = _real_array(pair[0], f"histories[{name!r}] errors")
        energy = _real_array(pair[1], f"histories[{name!r}] energy")
        if errors.ndim != 1 or errors.shape != energy.shape or errors.size == 0:
            raise ValueError(f"histories[{name!r}]: errors and energy must be 1-D of one length, "
                             f"got {errors.shape} and {energy.shape}")
        if not (np.isfinite(errors).all() and np.isfinite(energy).all()):
            raise ValueError(f"histories[{name!r}] must be finite")
        rows.append((name, errors, energy))
    if n_samples is not None:
        n_samples = _int_arg(n_samples, "n_samples", 1)

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.5, 4.0))
    cmap = plt.get_cmap("tab10")
    linthresh = 1.0
    for n, (name, errors, energy) in enumerate(rows):
        epochs = np.arange(errors.size)
        colour = LABEL_COLOUR if name == "article" else cmap(n % 10)
        ax.plot(epochs, errors, "o-", color=colour, markersize=4,
                label=f"rule={name!r}: {errors[0]:.0f} -> {errors[-1]:.0f}")
        ax2.plot(epochs, -energy, "o-", color=colour, markersize=4,
                 label=f"rule={name!r}: E {energy[0]:.3g} -> {energy[-1]:.3g}")
        nonzero = np.abs(energy[energy != 0])
        if nonzero.size:
            linthresh = min(linthresh, float(nonzero.min()))
    for a in (ax, ax2):
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.grid(alpha=0.3)
        a.legend(fontsize=8, loc="best", framealpha=0.9)
    ax.set_ylabel("misclassified samples" + (f" (of {n_samples})" if n_samples else ""))
    ax.set_ylim(bottom=0)
    ax.set_title("errors per epoch", fontsize=10)
    # E <= 0 always (it is minus the summed size of the errors), so draw -E, which reads the
    # usual way up: higher = more negative E = bigger errors
    ax2.set_yscale("symlog", linthresh=max(linthresh, 1e-3))
    ax2.set_ylabel("-E = sum over errors of |W x_n|  (symlog)")
    ax2.set_title("-E per epoch, E = sum_n -1/2 (W x_n)(y_n - label_n): up = E lower", fontsize=10)
    fig.suptitle("Descending the article's E as written: E 'always decreases' (to minus infinity) "
                 "while the errors grow", fontsize=11)
    fig.tight_layout()
    return fig
