r"""Figures for the softmax core (article §5-§8): the recipe, the spatial layout, the Jacobian.

Every function builds a matplotlib figure from the library's own functions and
**returns** it; nothing is shown or saved here.

* :func:`plot_softmax_loss_steps` -- one column through the article's recipe:
  logits, ``prob_data``, ``bottom_diff`` (① copy, subtract 1 at k; ② the rest keep
  ``prob``) and, optionally, ③ an ignored position.
* :func:`plot_spatial_layout` -- the flat memory of an ``(N, C, H, W)`` blob and the
  strided column ``(i, j)``: flat index ``i*dim + c*inner_num + j``.
* :func:`plot_softmax_jacobian` -- ``dSoftmax_j/dx_i = diag(p) - p p^T`` as a heat-map.
* :func:`animate_logit_sweep` -- a step-through that survives headless runs
  (render it with :func:`ebm.plotting.animation_html`).
"""

from __future__ import annotations

import numpy as np

from ebm import reference
from ebm.plotting._style import (
    _MAX_CELLS,
    LABEL_COLOUR,
    OTHER_COLOUR,
    _bars,
    _column,
    _int_arg,
    with_animation_sections,
)
from ebm.softmax_loss import (
    softmax_backward,
    softmax_forward,
    softmax_loss_backward,
    softmax_loss_forward,
)

__all__ = [
    "plot_softmax_loss_steps",
    "plot_spatial_layout",
    "plot_softmax_jacobian",
    "animate_logit_sweep",
]


def plot_softmax_loss_steps(bottom_data, label, ignore=False):
    """The article's recipe for one column, as bar charts (article §6).

    Panels, left to right: the logits ``bottom_data``; ``prob_data`` (the softmax,
    with the loss ``-log prob[k]`` in the title); ``bottom_diff`` after ① copying
    ``prob_data`` and subtracting 1 at the label k (② the other classes keep their
    ``prob``), drawn over the copied ``prob`` as a dashed outline; and, with
    ``ignore=True``, ③ the same column at an ignored position: every class 0.
    The label's bar is red and marked "(k)".  The numbers come from
    :func:`ebm.softmax_loss_forward` and :func:`ebm.softmax_loss_backward`.

    Parameters
    ----------
    bottom_data : array_like, shape (C,)
        One column of logits, 2 <= C <= 12 (the article's example: C = 3).
    label : int
        The hit class k, ``0 <= label < C`` (the article's example: k = 2).
    ignore : bool, default False
        Add the fourth panel, ③ the ignored position.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``bottom_data`` is not numeric, ``label`` is not an integer or ``ignore``
        is not a bool.
    ValueError
        If ``bottom_data`` is not a finite 1-D column of 2 to 12 logits or ``label``
        is out of range.
    """
    import matplotlib.pyplot as plt

    x = _column(bottom_data, "bottom_data")
    C = x.size
    k = _int_arg(label, "label", 0, C)
    if not isinstance(ignore, (bool, np.bool_)):
        raise TypeError(f"ignore must be True or False, got {ignore!r}")

    loss, prob = softmax_loss_forward(x[None, :], np.array([k]))
    prob = prob[0]
    bottom_diff = softmax_loss_backward(prob[None, :], np.array([k]))[0]

    n_panels = 4 if ignore else 3
    fig, axes = plt.subplots(1, n_panels, figsize=(3.3 * n_panels, 3.6), sharex=True)
    _bars(axes[0], x, k, "bottom_data (logits x)", "x_i", fmt="{:.2f}")
    _bars(axes[1], prob, k, f"prob_data = softmax(x)\nNLL = -log p_k = {loss:.4f}", "p_i", fmt="{:.4f}")
    axes[1].set_ylim(0, 1.12)

    ax = axes[2]
    _bars(
        ax,
        bottom_diff,
        k,
        "bottom_diff = dNLL/dx\n① copy prob, subtract 1 at k;  ② rest keep prob",
        "dNLL/dx_i",
        fmt="{:+.4f}",
    )
    ax.bar(range(C), prob, fill=False, edgecolor="grey", linestyle="--", linewidth=1.0, label="copied prob_data")
    ax.annotate(
        "", xy=(k, bottom_diff[k]), xytext=(k, prob[k]), arrowprops=dict(arrowstyle="->", color="black", linewidth=1.2)
    )
    ax.annotate(" -1", (k, (prob[k] + bottom_diff[k]) / 2), fontsize=9, ha="left", va="center")
    ax.set_ylim(min(-1.05, bottom_diff.min() - 0.15), 1.1)
    ax.legend(loc="upper left", fontsize=7, frameon=False)

    if ignore:
        ignored = softmax_loss_backward(prob[None, :], np.array([-1]), ignore_label=-1)[0]
        ax = axes[3]
        _bars(ax, ignored, k, "③ ignored position\n(label == ignore_label): all 0", "dNLL/dx_i", fmt="{:.0f}")
        ax.set_ylim(-1.05, 1.1)
        ax.text(0.5, 0.75, "no loss, no gradient", transform=ax.transAxes, ha="center", fontsize=9, color="grey")
    fig.suptitle(f"Softmax-with-loss, one column: C = {C} classes, label k = {k}", fontsize=11)
    fig.tight_layout()
    return fig


def plot_spatial_layout(outer_num, channels, height, width, column=(0, 1)):
    """The flat memory of an ``(N, C, H, W)`` blob and one strided column (article §8).

    Each row of cells is one sample ``i`` (``dim = C * inner_num`` cells,
    ``inner_num = H * W``); cells are coloured by channel ``c`` (hue) and sample
    (shade), and each is annotated with its flat index ``i*dim + c*inner_num + j``.
    The column ``(i, j)`` -- the ``C`` class scores of pixel ``j`` of sample ``i``, one
    softmax -- is outlined in black, with arrows showing the stride ``inner_num``:
    the elements of Caffe's strided dot (BLAS increment ``inner_num``).

    Parameters
    ----------
    outer_num : int
        ``N``, the number of samples (``>= 1``).
    channels : int
        ``C``, the number of classes (``>= 1``).
    height, width : int
        The spatial axes (``>= 1``); ``inner_num = height * width``.
    column : tuple of int, default (0, 1)
        The ``(i, j)`` to highlight, ``0 <= i < outer_num``, ``0 <= j < inner_num``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If a size or ``column`` entry is not an integer.
    ValueError
        If a size is below 1, the blob has more than 512 elements (the figure would
        be unreadable), or ``column`` is out of range.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    N = _int_arg(outer_num, "outer_num", 1)
    C = _int_arg(channels, "channels", 1)
    H = _int_arg(height, "height", 1)
    W = _int_arg(width, "width", 1)
    inner = H * W
    dim = C * inner
    if N * dim > _MAX_CELLS:
        raise ValueError(
            f"the blob ({N}, {C}, {H}, {W}) has {N * dim} elements; plot_spatial_layout draws at most {_MAX_CELLS}"
        )
    if not (isinstance(column, tuple) and len(column) == 2):
        raise TypeError(f"column must be a tuple (i, j), got {column!r}")
    ci = _int_arg(column[0], "column[0] (the sample i)", 0, N)
    cj = _int_arg(column[1], "column[1] (the position j)", 0, inner)

    cmap = plt.get_cmap("tab10")
    cell_w = 1.0
    fig_w = min(max(6.0, 0.55 * dim + 2.0), 22.0)
    pitch = 1.9  # row spacing: room for the stride arrows
    fig, ax = plt.subplots(figsize=(fig_w, 1.3 + 1.45 * N))
    fontsize = 8 if dim <= 24 else 6
    for i in range(N):
        y = (N - 1 - i) * pitch
        shade = 0.35 + 0.65 * (1 - i / max(N - 1, 1)) if N > 1 else 1.0
        for c in range(C):
            base = np.array(cmap(c % 10)[:3])
            rgb = 1 - shade * (1 - base) * 0.75  # lighter for later samples
            for j in range(inner):
                flat = reference.flat_index(i, c, j, C, inner)
                x0 = flat - i * dim
                ax.add_patch(Rectangle((x0 * cell_w, y), cell_w, 0.8, facecolor=rgb, edgecolor="white", linewidth=1.0))
                ax.text(x0 + 0.5, y + 0.5, str(flat), ha="center", va="center", fontsize=fontsize)
                ax.text(
                    x0 + 0.5, y + 0.17, f"c{c} j{j}", ha="center", va="center", fontsize=fontsize - 2.5, color="#333333"
                )
            # channel brace above the block
            ax.plot(
                [c * inner + 0.05, (c + 1) * inner - 0.05],
                [y + 0.88] * 2,
                color=cmap(c % 10),
                linewidth=2.5,
                solid_capstyle="butt",
            )
            if i == 0:
                ax.text(
                    c * inner + inner / 2,
                    y + 1.0,
                    f"channel c = {c}",
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color=cmap(c % 10),
                )
        ax.text(-0.3, y + 0.4, f"sample i = {i}\n(offset {i}*dim = {i * dim})", ha="right", va="center", fontsize=8)

    # the highlighted column: C elements, inner_num apart
    y = (N - 1 - ci) * pitch
    xs = [reference.flat_index(ci, c, cj, C, inner) - ci * dim for c in range(C)]
    for x0 in xs:
        ax.add_patch(Rectangle((x0, y), cell_w, 0.8, fill=False, edgecolor="black", linewidth=2.4))
    for a, b in zip(xs[:-1], xs[1:]):
        ax.annotate(
            "",
            xy=(b + 0.5, y - 0.02),
            xytext=(a + 0.5, y - 0.02),
            arrowprops=dict(arrowstyle="->", color="black", linewidth=1.2, connectionstyle="arc3,rad=0.35"),
        )
    if C > 1:
        ax.text(
            (xs[0] + xs[1]) / 2 + 0.5, y - 0.6, f"+inner_num = {inner}", ha="center", va="top", fontsize=8
        )  # below the arrow's arc
    ax.set_xlim(-0.2, dim + 0.2)
    ax.set_ylim(-0.95, (N - 1) * pitch + 1.35)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(
        f"flat memory (row i starts at i*dim); outlined: column (i, j) = ({ci}, {cj}), "
        f"its C = {C} elements at {ci}*{dim} + c*{inner} + {cj} -- a strided dot, "
        f"increment inner_num",
        fontsize=9,
    )
    ax.set_title(
        f"Caffe's layout of an (N, C, H, W) = ({N}, {C}, {H}, {W}) blob: "
        f"inner_num = H*W = {inner}, dim = C*inner_num = {dim}\n"
        f"element (i, c, j) is at flat index i*dim + c*inner_num + j"
        f"   (pixel (h, w) has j = h*W + w)",
        fontsize=10,
        linespacing=1.7,
        pad=12,
    )
    fig.tight_layout()
    return fig


def plot_softmax_jacobian(x):
    """Heat-map of the softmax Jacobian ``dSoftmax_j/dx_i = diag(p) - p p^T`` (article §7).

    Every cell is non-zero: every output ``j`` depends on every input ``i`` (the
    article's "every input is polluted by every output").  The left panel is
    :func:`ebm.reference.softmax_jacobian`; the right panel shows that Caffe never
    builds it: for a random ``top_diff`` the backward ``p * (top_diff - p . top_diff)``
    (:func:`ebm.softmax_backward`) equals ``J^T top_diff``.

    Parameters
    ----------
    x : array_like, shape (C,)
        A small column of logits, 2 <= C <= 12.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``x`` is not numeric.
    ValueError
        If ``x`` is not a finite 1-D column of 2 to 12 logits.
    """
    import matplotlib.pyplot as plt

    x = _column(x, "x")
    C = x.size
    J = reference.softmax_jacobian(x)
    p = softmax_forward(x[None, :])[0]
    top_diff = np.linspace(-1.0, 1.0, C)
    caffe = softmax_backward(p[None, :], top_diff[None, :])[0]
    dense = J.T @ top_diff

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw=dict(width_ratios=[1.15, 1]))
    lim = float(np.abs(J).max())
    im = ax.imshow(J, cmap="RdBu_r", vmin=-lim, vmax=lim)
    for j in range(C):
        for i in range(C):
            ax.text(
                i,
                j,
                f"{J[j, i]:+.3f}",
                ha="center",
                va="center",
                fontsize=8 if C <= 6 else 6,
                color="white" if abs(J[j, i]) > 0.6 * lim else "black",
            )  # readable on dark cells
    ax.set_xticks(range(C))
    ax.set_yticks(range(C))
    ax.set_xlabel("input x_i")
    ax.set_ylabel("output Softmax(x)_j")
    ax.set_title(
        "dSoftmax_j / dx_i = diag(p) - p p^T\ndiagonal p_i(1 - p_i) > 0; off-diagonal -p_i p_j < 0", fontsize=10
    )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)

    width = 0.38
    ax2.bar(np.arange(C) - width / 2, dense, width, label="J^T top_diff (dense, C x C)", color="#999999")
    ax2.bar(
        np.arange(C) + width / 2,
        caffe,
        width,
        label="p * (top_diff - p . top_diff)\n(Caffe, no matrix)",
        color="#2ca02c",
    )
    ax2.axhline(0, color="black", linewidth=0.8)
    ax2.set_xticks(range(C))
    ax2.set_xlabel("input x_i")
    ax2.set_ylabel("bottom_diff_i")
    ax2.set_title(
        f"bottom_diff for top_diff = linspace(-1, 1, {C})\nmax |difference| = {np.abs(dense - caffe).max():.1e}",
        fontsize=10,
    )
    ax2.legend(fontsize=8, frameon=False)
    fig.suptitle(f"Softmax Jacobian at x = {np.array2string(x, precision=2, separator=', ')}", fontsize=11)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- animation


@with_animation_sections(
    raises="""
    TypeError, ValueError
        For a bad column, label, index, or ``values`` (naming the argument).
    """
)
def animate_logit_sweep(bottom_data, label, index=None, values=None):
    """Animate one logit being swept: probabilities, the loss, and its slope.

    Frame by frame, logit ``index`` of the column takes the next of ``values``.
    Left: ``prob_data`` as bars (label k red).  Right: the loss
    ``NLL = log sum e^x - x_k`` along the whole sweep, the current point, and the
    tangent whose slope is ``bottom_diff[index]`` from
    :func:`ebm.softmax_loss_backward` -- ``p_index - 1`` when ``index == k``,
    ``p_index`` otherwise.  Watching the tangent stay on the curve is the
    derivative checked by eye.

    Parameters
    ----------
    bottom_data : array_like, shape (C,)
        The column of logits, 2 <= C <= 12.
    label : int
        The class k, ``0 <= label < C``.
    index : int, optional
        Which logit to sweep (default: ``label``).
    values : array_like, optional
        The values it takes, 2 to 30 finite numbers, one frame each (default: 21
        values from ``x[index] - 4`` to ``x[index] + 4``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    x = _column(bottom_data, "bottom_data")
    C = x.size
    k = _int_arg(label, "label", 0, C)
    n = k if index is None else _int_arg(index, "index", 0, C)
    if values is None:
        values = np.linspace(x[n] - 4.0, x[n] + 4.0, 21)
    else:
        values = np.asarray(values)
        if values.dtype.kind not in "iuf" or values.dtype.kind == "b":
            raise TypeError(f"values must hold real numbers, got dtype {values.dtype}")
        values = values.astype(np.float64)
        if values.ndim != 1 or not 2 <= values.size <= 30:
            raise ValueError(f"values must be 1-D with 2 to 30 entries (one per frame), got shape {values.shape}")
        if not np.isfinite(values).all():
            raise ValueError("values must be finite")

    # one batch: every frame is a column (outer_num = number of frames)
    batch = np.repeat(x[None, :], values.size, axis=0)
    batch[:, n] = values
    labels = np.full(values.size, k)
    _, prob = softmax_loss_forward(batch, labels)
    losses = np.array([softmax_loss_forward(col[None, :], np.array([k]))[0] for col in batch])
    grads = softmax_loss_backward(prob, labels, normalization="none")[:, n]

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8), dpi=80)
    colours = [LABEL_COLOUR if c == k else OTHER_COLOUR for c in range(C)]
    bars = ax.bar(range(C), prob[0], color=colours, edgecolor="black", linewidth=0.6)
    ax.set_ylim(0, 1.05)
    ax.set_xticks(range(C))
    ax.set_xticklabels([f"{c}\n(k)" if c == k else str(c) for c in range(C)])
    ax.set_xlabel("class i")
    ax.set_ylabel("prob_data p_i")
    title = ax.set_title("", fontsize=10)

    ax2.plot(values, losses, color="black", linewidth=1.5, label="NLL = log sum e^x - x_k")
    (point,) = ax2.plot([], [], "o", color=LABEL_COLOUR if n == k else OTHER_COLOUR, markersize=7)
    (tangent,) = ax2.plot([], [], "--", color="#2ca02c", linewidth=1.5, label="slope = bottom_diff[%d]" % n)
    span = 0.18 * (values.max() - values.min())
    ax2.set_xlim(values.min(), values.max())
    ax2.set_ylim(min(0.0, losses.min()) - 0.2, losses.max() + 0.5)
    ax2.set_xlabel(f"x_{n} (the swept logit)")
    ax2.set_ylabel("loss")
    ax2.legend(loc="upper center", fontsize=8, frameon=False)
    slope_text = ax2.text(0.02, 0.04, "", transform=ax2.transAxes, fontsize=9)
    fig.suptitle(
        f"Sweeping logit {n} of x = {np.array2string(x, precision=2, separator=', ')}, label k = {k}", fontsize=11
    )
    fig.tight_layout()

    def draw(f):
        for b, h in zip(bars, prob[f]):
            b.set_height(h)
        title.set_text(f"frame {f + 1}/{values.size}: x_{n} = {values[f]:+.2f}, p_k = {prob[f, k]:.3f}")
        point.set_data([values[f]], [losses[f]])
        tangent.set_data(
            [values[f] - span, values[f] + span], [losses[f] - grads[f] * span, losses[f] + grads[f] * span]
        )
        rule = "p_k - 1" if n == k else f"p_{n}"
        slope_text.set_text(f"dNLL/dx_{n} = {rule} = {grads[f]:+.3f}")
        return (*bars, title, point, tangent, slope_text)

    draw(0)
    return FuncAnimation(fig, draw, frames=values.size, interval=200, blit=False)
