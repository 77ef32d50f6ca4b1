r"""Figures of the classic network's capacity: how many patterns recall holds, and why.

The numbers come from :func:`ebm.hopfield.capacity_sweep` and
:func:`ebm.hopfield.one_step_error`; these functions only draw, and **return** the
figure.

* :func:`plot_capacity` -- final overlap against the load, with ``alpha_c = 0.138``.
* :func:`plot_one_step_error` -- ``Phi(-1/sqrt(alpha))`` against measured bit errors.
"""

from __future__ import annotations

import numbers

import numpy as np

from ebm.plotting._style import _MAX_CURVES, LABEL_COLOUR, _real_array

__all__ = ["plot_capacity", "plot_one_step_error"]


def _capacity_results(results):
    if isinstance(results, dict):
        results = [results]
    if isinstance(results, (str, bytes)) or not hasattr(results, "__iter__"):
        raise TypeError(f"results must be a capacity_sweep dict or a sequence of them, got {type(results).__name__}")
    results = list(results)
    if not results:
        raise ValueError("results is empty: pass at least one capacity_sweep result")
    if len(results) > _MAX_CURVES:
        raise ValueError(f"results has {len(results)} sweeps; at most {_MAX_CURVES} stay readable")
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
            raise ValueError(f"results[{n}]['overlap'] must have shape ({loads.size}, n_seeds), got {ov.shape}")
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
        ax.errorbar(
            loads, mean, yerr=std, fmt="o-", color=cmap(n % 10), capsize=3, markersize=4, linewidth=1.4, label=label
        )
    if theory_line is not None:
        ax.axvline(
            theory_line,
            color="black",
            linestyle="--",
            linewidth=1.1,
            label=f"alpha_c = {theory_line:g} (Amit, Gutfreund & Sompolinsky 1985)",
        )
        ax.annotate(
            f"alpha_c = {theory_line:g}", (theory_line, 1.0), xytext=(4, -12), textcoords="offset points", fontsize=9
        )
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
            raise TypeError(
                f"measured must be a sequence (one one_step_error dict or rate per load), got {type(measured).__name__}"
            )
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
            ax.errorbar(
                a[shown],
                rates[shown],
                yerr=stderr[shown],
                fmt="o",
                color=LABEL_COLOUR,
                capsize=3,
                markersize=5,
                zorder=6,
                label="measured (mean +- s.e. over seeds)",
            )
        for alpha, ls in zip(anchors, (":", "-.")):
            value = float(theoretical_one_step_error(alpha))
            ax.axvline(alpha, color="#777777", linestyle=ls, linewidth=1.0)
            ax.plot(
                [alpha],
                [value],
                "D",
                color="#2ca02c",
                markersize=10,
                markerfacecolor="none",
                markeredgewidth=1.6,
                zorder=5,
            )
            above = not log and alpha == anchors[0]  # near 0 on the linear scale
            ax.annotate(
                f"alpha = {alpha:g}\n{100 * value:.2g} % of bits",
                (alpha, value),
                # log panel: below-right, the empty side of the rising curve
                # linear panel, 0.138: up and to the left, clear of its dotted line
                xytext=(-6, 42) if above else (8, -26) if not log else (12, -36),
                textcoords="offset points",
                fontsize=8.5,
                ha="right" if above else "left",
                color="#2ca02c",
                arrowprops=dict(arrowstyle="-", color="#2ca02c", linewidth=0.8) if above else None,
            )
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
        axes[1].plot(
            a[zero],
            np.full(zero.sum(), bottom * 1.5),
            "v",
            color=LABEL_COLOUR,
            markersize=7,
            label="measured 0 (no error seen)",
        )
    axes[1].set_title("the same, log scale", fontsize=10)
    axes[0].legend(loc="upper left", fontsize=8, framealpha=0.9)
    axes[1].legend(loc="lower right", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    return fig
