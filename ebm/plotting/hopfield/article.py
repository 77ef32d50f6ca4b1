r"""Figures of the source article's label energy (article §1): its sign case by case, and training on it.

The numbers come from :mod:`ebm.hopfield.article`; these functions only draw, and
**return** the figure.

* :func:`plot_label_energy_cases` -- the article's label energy against ``W x``, case
  by case: ``E = 0`` or ``-|W x|``, never positive.
* :func:`plot_label_energy_training` -- E and the error count per epoch: under the
  article's rule E falls without bound while the errors grow.
"""

from __future__ import annotations

import numpy as np

from ebm.plotting._style import LABEL_COLOUR, _int_arg, _real_array

__all__ = ["plot_label_energy_cases", "plot_label_energy_training"]

#: Colours of the article's three cases (I: y = +1 wrong, II: y = -1 wrong, III: right).
CASE_COLOURS = {"I": "#d62728", "II": "#ff7f0e", "III": "#2ca02c"}


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
    cases = label_energy_cases(W, x, lab)  # validates ±1 labels and finiteness
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
    names = {"I": "I: y = +1, label -1 (dY = +2)", "II": "II: y = -1, label +1 (dY = -2)", "III": "III: right (dY = 0)"}
    for case in ("III", "I", "II"):
        mask = which == case
        ax.scatter(
            wx[mask],
            E[mask],
            s=16,
            color=CASE_COLOURS[case],
            alpha=0.8,
            edgecolor="none",
            label=f"{names[case]}: {int(mask.sum())}",
        )
    ax.set_xlim(-span, span)
    ax.set_ylim(-1.05 * span, 0.45 * span)
    ax.set_xlabel("W x")
    ax.set_ylabel("E(x|Label) = -1/2 (W x)(y - label)")
    ax.set_title("every sample: E = 0 if right, E = -|W x| if wrong", fontsize=10)
    ax.legend(loc="lower center", fontsize=8, framealpha=0.9)
    ax.grid(alpha=0.3)

    ax2.axis("off")
    claims = {"I": '"dY = 2, dY*E negative"', "II": '"dY = -2, again negative"', "III": '"dY = 0, dE = 0"'}

    def fmt(v):
        return "-" if v is None else f"{v:+.3g}"

    def verdict(case):
        info = cases[case]
        if info["count"] == 0:
            return "no sample"
        if case == "III":  # "dE = 0": E is 0 on every right answer
            return "true" if info["min_E"] == 0 == info["max_E"] else "FALSE"
        return "true" if info["max_dYE"] < 0 else "FALSE"  # "dY*E negative"

    cell_text = [
        [
            case,
            claims[case],
            str(cases[case]["count"]),
            f"[{fmt(cases[case]['min_E'])}, {fmt(cases[case]['max_E'])}]",
            f"[{fmt(cases[case]['min_dYE'])}, {fmt(cases[case]['max_dYE'])}]",
            verdict(case),
        ]
        for case in ("I", "II", "III")
    ]
    table = ax2.table(
        cellText=cell_text,
        colLabels=["case", "the article says", "count", "E range", "dY*E range", "claim"],
        loc="upper center",
        cellLoc="left",
        colWidths=[0.08, 0.33, 0.08, 0.2, 0.2, 0.11],
    )
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
    ax2.text(
        0.0,
        0.45,
        "What is true (labels in {-1, +1}):\n"
        "  right answer:  E = 0\n"
        "  wrong answer:  dY = 2y, so E = -(W x) y = -|W x| < 0\n"
        "  case I:  dY*E = 2 * (-|W x|) = -2|W x| < 0\n"
        "  case II: dY*E = -2 * (-|W x|) = +2|W x| > 0: not negative\n"
        "So E <= 0 always: E is MINUS the perceptron criterion\n"
        "sum_errors |W x|.  Descending E as written pushes W\n"
        "towards the wrong answer; descend +1/2 (W x) dY instead:\n"
        "the perceptron rule  W += lr/2 (label - y) x.",
        transform=ax2.transAxes,
        va="top",
        fontsize=9,
        family="monospace",
    )
    fig.suptitle(
        f"The article's label energy: the sign of E in each case, checked on {x.shape[0]} samples", fontsize=11
    )
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
        raise TypeError(
            f"histories must be a dict of 1 to 6 {{rule: (errors, energy)}} entries, got {type(histories).__name__}"
        )
    rows = []
    for name, pair in histories.items():
        if not isinstance(name, str):
            raise TypeError(f"histories keys must be rule names (strings), got {name!r}")
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"histories[{name!r}] must be a pair (errors, energy)")
        errors = _real_array(pair[0], f"histories[{name!r}] errors")
        energy = _real_array(pair[1], f"histories[{name!r}] energy")
        if errors.ndim != 1 or errors.shape != energy.shape or errors.size == 0:
            raise ValueError(
                f"histories[{name!r}]: errors and energy must be 1-D of one length, "
                f"got {errors.shape} and {energy.shape}"
            )
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
        ax.plot(
            epochs,
            errors,
            "o-",
            color=colour,
            markersize=4,
            label=f"rule={name!r}: {errors[0]:.0f} -> {errors[-1]:.0f}",
        )
        ax2.plot(
            epochs,
            -energy,
            "o-",
            color=colour,
            markersize=4,
            label=f"rule={name!r}: E {energy[0]:.3g} -> {energy[-1]:.3g}",
        )
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
    fig.suptitle(
        "Descending the article's E as written: E 'always decreases' (to minus infinity) while the errors grow",
        fontsize=11,
    )
    fig.tight_layout()
    return fig
