r"""Figures for the RBM chapter and lecture (article §3): the partition function made concrete.

The numbers come from :mod:`ebm.rbm`; these functions only draw, and **return** the figure.

* :func:`plot_enumeration_cost` -- seconds of the exact log Z against the enumerated units: 2^n.
* :func:`plot_log_z_estimates` -- AIS estimates (+-3 sigma) against the number of betas, and the exact value.
* :func:`animate_ais` -- AIS step by step on a tiny RBM: the chains' states against the exact ``p_beta(v)``.
* :func:`plot_training_curves` -- the exact log-likelihood per epoch (and scikit-learn's, when given).
* :func:`plot_free_energy_gap` -- mean F(eval) - mean F(train) per epoch.
* :func:`plot_filters` -- each hidden unit's weights as an image.
* :func:`plot_digit_grid` -- images (samples from long Gibbs chains, data) as a grid.
"""

from __future__ import annotations

import numpy as np

from ebm.plotting._style import LABEL_COLOUR, OTHER_COLOUR, _int_arg, _real_array

__all__ = [
    "plot_enumeration_cost",
    "plot_log_z_estimates",
    "animate_ais",
    "plot_training_curves",
    "plot_free_energy_gap",
    "plot_filters",
    "plot_digit_grid",
]

SKLEARN_COLOUR = "#7f7f7f"
_MAX_IMAGES = 100


def _vector(x, name, n=None, positive=False):
    arr = _real_array(x, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} values but there are {n} points")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    if positive and (arr <= 0).any():
        raise ValueError(f"{name} must be positive (it is drawn on a log scale)")
    return arr


def _image_shape(shape, n_pixels):
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(f"shape must be a (rows, cols) tuple, got {shape!r}")
    rows, cols = _int_arg(shape[0], "shape[0]", 1), _int_arg(shape[1], "shape[1]", 1)
    if rows * cols != n_pixels:
        raise ValueError(f"shape {(rows, cols)} has {rows * cols} pixels but each image has {n_pixels}")
    return rows, cols


def plot_enumeration_cost(sizes, seconds, n_visible=64):
    """The 2^n wall: seconds of the exact log Z against the number of enumerated units.

    A dashed line extrapolates the last point by doubling per unit (the cost is
    ``2^n * n_visible`` softplus terms) to where enumeration stops being practical.

    Parameters
    ----------
    sizes : sequence of int
        Enumerated (hidden) units of each timing.
    seconds : sequence of float
        Measured seconds (positive), e.g. from :func:`ebm.rbm.benchmark.enumeration_cost`.
    n_visible : int, default 64
        The other layer's size (for the labels).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    sizes = _vector(sizes, "sizes")
    seconds = _vector(seconds, "seconds", sizes.size, positive=True)
    n_visible = _int_arg(n_visible, "n_visible", 1)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.semilogy(sizes, seconds, "o-", color=OTHER_COLOUR, label=f"measured ({n_visible} visible units)")
    ext = np.arange(sizes[-1], max(sizes[-1], 40) + 1)
    ax.semilogy(
        ext, seconds[-1] * 2.0 ** (ext - sizes[-1]), "--", color=SKLEARN_COLOUR, label="x2 per unit (extrapolated)"
    )
    for limit, text in ((1.0, "1 second"), (3600.0, "1 hour"), (86400.0 * 365, "1 year")):
        ax.axhline(limit, color="#bbbbbb", linewidth=0.8)
        ax.text(sizes[0], limit * 1.4, text, ha="left", va="bottom", fontsize=8, color="#555555")
    ax.axvline(25, color=LABEL_COLOUR, linewidth=1.0, linestyle=":")
    ax.text(24.6, seconds.min(), "ebm's limit:\n25 units", color=LABEL_COLOUR, fontsize=8, va="bottom", ha="right")
    ax.set_xlabel("units in the enumerated layer n (2^n states)")
    ax.set_ylabel("seconds for the exact log Z")
    ax.set_title("Z by brute force: every extra hidden unit doubles the cost", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def plot_log_z_estimates(n_betas, estimates, exact):
    """AIS estimates of log Z against the number of inverse temperatures, and the exact value.

    Parameters
    ----------
    n_betas : sequence of int
        The number of betas of each group of estimates.
    estimates : sequence of sequences of AISEstimate (or of floats)
        For each entry of ``n_betas``, one or more estimates (different seeds); each is
        drawn as a dot with its 99.73% interval when it has one.
    exact : float
        The exact log Z (by enumeration).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    n_betas = _vector(n_betas, "n_betas", positive=True)
    if isinstance(estimates, (str, bytes)) or len(estimates) != n_betas.size:
        raise ValueError(f"estimates must hold one group of estimates per entry of n_betas ({n_betas.size} groups)")
    exact = float(exact)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.0, 4.0), gridspec_kw=dict(width_ratios=[1.3, 1]))
    errors = []
    for x, group in zip(n_betas, estimates):
        group = list(group) if hasattr(group, "__iter__") else [group]
        offs = np.linspace(-0.08, 0.08, len(group)) if len(group) > 1 else [0.0]
        errs = []
        for off, est in zip(offs, group):
            value = float(est)
            xx = x * 10**off
            lo, hi = getattr(est, "lower", value), getattr(est, "upper", value)
            lo = lo if np.isfinite(lo) else value - 10
            ax.errorbar(
                [xx],
                [value],
                yerr=[[value - lo], [hi - value]],
                fmt="o",
                color=OTHER_COLOUR,
                markersize=4,
                capsize=2,
                linewidth=1,
            )
            errs.append(value - exact)
        errors.append(errs)
    ax.axhline(exact, color=LABEL_COLOUR, linewidth=1.2, label=f"exact log Z = {exact:.4f}")
    ax.set_xscale("log")
    ax.set_xlabel("number of inverse temperatures beta")
    ax.set_ylabel("log Z")
    ax.set_title("AIS estimates with their 99.73% intervals", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3, which="both")
    rms = [float(np.sqrt(np.mean(np.square(e)))) for e in errors]
    ax2.loglog(n_betas, rms, "o-", color=OTHER_COLOUR, label="RMS error over the seeds")
    ax2.set_xlabel("number of inverse temperatures beta")
    ax2.set_ylabel("|estimate - exact| (nats, RMS)")
    ax2.set_title("Error against the number of betas", fontsize=10)
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8, loc="upper right")
    fig.text(
        0.5,
        -0.02,
        "E[w] = Z / Z_A exactly, but E[log mean w] <= log Z: "
        "AIS tends to underestimate log Z (optimistic likelihoods).",
        ha="center",
        fontsize=8.5,
    )
    fig.tight_layout()
    return fig


def animate_ais(rbm, betas, states, base_biases, log_weights=None, max_frames=30):
    """AIS step by step on a tiny RBM: where the runs are, against the exact ``p_beta(v)``.

    Each frame is one inverse temperature ``beta_k``: bars are the exact intermediate
    distribution over every visible state (:func:`ebm.rbm.annealed_distribution`), dots
    the fraction of runs in each state.  At ``beta = 0`` it is the base-rate model, at
    ``beta = 1`` the RBM.

    Parameters
    ----------
    rbm : RBM
        With at most 8 visible units (256 states on the axis).
    betas : array_like (K,)
        The schedule, from 0 to 1.
    states : ndarray (K, n_runs, n_v)
        From ``log_partition_ais(..., record=True)``.
    base_biases : array_like (n_v,)
        The base model's visible biases.
    log_weights : array_like (n_runs,), optional
        Shown in the title at the last frame.
    max_frames : int, default 30

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    from ebm.rbm import annealed_distribution

    betas = _vector(betas, "betas")
    states = np.asarray(states)
    n_v = rbm.n_visible
    if n_v > 8:
        raise ValueError(f"animate_ais draws every visible state: at most 8 visible units, got {n_v}")
    if states.ndim != 3 or states.shape[0] != betas.size or states.shape[2] != n_v:
        raise ValueError(f"states must have shape ({betas.size}, n_runs, {n_v}), got {states.shape}")
    max_frames = _int_arg(max_frames, "max_frames", 2, 101)
    idx = np.unique(np.linspace(0, betas.size - 1, min(max_frames, betas.size)).round().astype(int))
    codes = states.astype(np.int64) @ (1 << np.arange(n_v))
    n_states = 2**n_v
    fig, ax = plt.subplots(figsize=(7.5, 3.6), dpi=80)
    bars = ax.bar(np.arange(n_states), np.zeros(n_states), color=OTHER_COLOUR, alpha=0.6, label="exact p_beta(v)")
    (dots,) = ax.plot([], [], "o", color=LABEL_COLOUR, markersize=4, label="fraction of AIS runs")
    top = max(annealed_distribution(rbm, float(b), base_biases)[1].max() for b in betas[idx])
    ax.set_ylim(0, 1.15 * max(top, 1.0 / states.shape[1]))
    ax.set_xlim(-1, n_states)
    ax.set_xlabel(f"visible state v (as a number, 0 .. {n_states - 1})")
    ax.set_ylabel("probability")
    ax.legend(loc="upper right", fontsize=8)
    title = ax.set_title("placeholder", fontsize=10)  # reserve its room in the layout
    fig.tight_layout()

    def draw(f):
        k = int(idx[f])
        _, p = annealed_distribution(rbm, float(betas[k]), base_biases)
        for bar, h in zip(bars, p):
            bar.set_height(h)
        frac = np.bincount(codes[k], minlength=n_states) / codes.shape[1]
        nz = np.flatnonzero(frac)
        dots.set_data(nz, frac[nz])
        text = f"beta_{k} = {betas[k]:.3f}  ({codes.shape[1]} runs)"
        if k == betas.size - 1 and log_weights is not None:
            text += f";  log w: mean {np.mean(log_weights):.3f}, sd {np.std(log_weights):.3f}"
        title.set_text(text)
        return (*bars, dots, title)

    return FuncAnimation(fig, draw, frames=len(idx), interval=250, blit=False)


def plot_training_curves(history, sklearn_curve=None, baselines=None, title=None):
    """The exact log-likelihood per epoch: eval (and train) from ``RBM.fit``'s history.

    Parameters
    ----------
    history : dict
        ``rbm.history_`` from ``fit(..., eval_data=...)`` (needs ``"eval_log_likelihood"``),
        or a list of such histories (several seeds: each drawn thin, the mean thick).
    sklearn_curve : array_like or list of array_like, optional
        Exact eval log-likelihood per epoch of scikit-learn's BernoulliRBM (epoch 1 on),
        e.g. from :func:`ebm.rbm.benchmark.sklearn_curve`.
    baselines : dict, optional
        Horizontal reference lines, name -> nats (e.g. uniform, independent pixels).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    histories = history if isinstance(history, (list, tuple)) else [history]
    for n, h in enumerate(histories):
        if not isinstance(h, dict) or "eval_log_likelihood" not in h:
            raise ValueError(
                f"history[{n}] has no 'eval_log_likelihood': train with fit(..., eval_data=X_test) to record it"
            )
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    evals = np.array([h["eval_log_likelihood"] for h in histories])
    trains = np.array([h["train_log_likelihood"] for h in histories])
    epochs = np.asarray(histories[0]["epoch"])
    for row in evals:
        ax.plot(epochs, row, color=OTHER_COLOUR, alpha=0.35, linewidth=0.8)
    ax.plot(
        epochs,
        trains.mean(axis=0),
        "--",
        color=OTHER_COLOUR,
        linewidth=1.2,
        label=f"ebm train (final {trains[:, -1].mean():.2f})",
    )
    what = f"ebm test, mean of {len(evals)} seeds" if len(evals) > 1 else "ebm test"
    ax.plot(
        epochs, evals.mean(axis=0), color=OTHER_COLOUR, linewidth=2.2, label=f"{what} (final {evals[:, -1].mean():.2f})"
    )
    if sklearn_curve is not None:
        curves = np.atleast_2d(np.asarray(sklearn_curve, dtype=np.float64))
        sk_epochs = np.arange(1, curves.shape[1] + 1)
        for row in curves:
            ax.plot(sk_epochs, row, color=SKLEARN_COLOUR, alpha=0.35, linewidth=0.8)
        ax.plot(
            sk_epochs,
            curves.mean(axis=0),
            color=SKLEARN_COLOUR,
            linewidth=2.2,
            label=f"sklearn BernoulliRBM test{f', mean of {len(curves)} seeds' if len(curves) > 1 else ''} "
            f"(final {curves[:, -1].mean():.2f})",
        )
    lows = [evals[:, 1:].min() if evals.shape[1] > 1 else evals.min()]
    for n, (name, value) in enumerate((baselines or {}).items()):
        ax.axhline(value, color="#999999", linewidth=0.9, linestyle=":")
        ax.text(
            epochs[len(epochs) // 3], value, f"{name} {value:.2f}", va="top", ha="center", fontsize=8, color="#555555"
        )
        lows.append(value)
    hi = max(evals.max(), trains.max())
    ax.set_ylim(min(lows) - 0.5, hi + 0.4)
    ax.set_xlabel("epoch")
    ax.set_ylabel("exact mean log p(v) (nats per image)")
    ax.set_title(title or "Training measured by the real log-likelihood (exact log Z every epoch)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_free_energy_gap(history):
    """Hinton's over-fitting monitor: ``mean F(eval) - mean F(train)`` per epoch.

    ``log Z`` cancels in the difference, so it equals the train minus eval mean
    log-likelihood exactly; it grows when the model starts preferring its training data.
    """
    import matplotlib.pyplot as plt

    if not isinstance(history, dict) or "free_energy_gap" not in history:
        raise ValueError("history has no 'free_energy_gap': train with fit(..., eval_data=X_test)")
    epochs = np.asarray(history["epoch"])
    gap = np.asarray(history["free_energy_gap"])
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(epochs, gap, "o-", color=OTHER_COLOUR, markersize=3)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean F(test) - mean F(train)  (nats)")
    ax.set_title("The free-energy gap (= train LL - test LL: log Z cancels)", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_filters(W, shape=(8, 8), max_units=64, title=None):
    """Each hidden unit's incoming weights ``W[:, j]`` as an image (red +, blue -).

    Parameters
    ----------
    W : array_like (n_visible, n_hidden)
    shape : (rows, cols), default (8, 8)
        The image shape of the visible layer.
    max_units : int, default 64
    title : str, optional
    """
    import matplotlib.pyplot as plt

    W = _real_array(W, "W")
    if W.ndim != 2:
        raise ValueError(f"W must be a (n_visible, n_hidden) matrix, got shape {W.shape}")
    rows, cols = _image_shape(shape, W.shape[0])
    n = min(W.shape[1], _int_arg(max_units, "max_units", 1))
    grid = int(np.ceil(np.sqrt(n)))
    gr = int(np.ceil(n / grid))
    fig, axes = plt.subplots(gr, grid, figsize=(1.2 * grid + 0.6, 1.2 * gr + 0.5), squeeze=False)
    # one shared scale, set by the 98th percentile of |W| rather than its maximum: a few
    # outlier pixels would otherwise wash every filter out (they saturate instead)
    big = float(np.abs(W[:, :n]).max())
    lim = float(np.percentile(np.abs(W[:, :n]), 98)) or big or 1.0
    for j, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if j < n:
            im = ax.imshow(W[:, j].reshape(rows, cols), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_title(f"h{j}", fontsize=7, pad=2)
        else:
            ax.axis("off")
    fig.suptitle(title or f"Filters: W[:, j] of {n} hidden units (red: pushes h_j on)", fontsize=10)
    clipped = big > lim
    cb = fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, pad=0.02, extend="both" if clipped else "neither")
    if clipped:
        cb.set_label(f"colours clipped at ±{lim:.2f} (98th percentile of |W|; max {big:.2f})", fontsize=8)
    return fig


def plot_digit_grid(images, shape=(8, 8), labels=None, title=None, n_cols=10):
    """Binary or grey images as a grid (e.g. samples from long Gibbs chains, beside data).

    Parameters
    ----------
    images : array_like (M, rows * cols)
        Values in [0, 1] (1 is ink, drawn black).  At most 100.
    shape : (rows, cols), default (8, 8)
    labels : sequence of str, optional
        One short caption per image.
    title : str, optional
    n_cols : int, default 10
    """
    import matplotlib.pyplot as plt

    images = _real_array(images, "images")
    if images.ndim != 2 or not 1 <= images.shape[0] <= _MAX_IMAGES:
        raise ValueError(f"images must be (M, pixels) with 1 <= M <= {_MAX_IMAGES}, got shape {images.shape}")
    rows, cols = _image_shape(shape, images.shape[1])
    n_cols = min(_int_arg(n_cols, "n_cols", 1), images.shape[0])
    n_rows = int(np.ceil(images.shape[0] / n_cols))
    if labels is not None and len(labels) != images.shape[0]:
        raise ValueError(f"labels has {len(labels)} entries but there are {images.shape[0]} images")
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(0.8 * n_cols + 0.2, 0.85 * n_rows + 0.5), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k < images.shape[0]:
            ax.imshow(images[k].reshape(rows, cols), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            if labels is not None:
                ax.set_title(str(labels[k]), fontsize=7, pad=2)
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
