"""Shared style, validation helpers and animation output for every chapter's figures.

Private: the chapter modules (:mod:`ebm.plotting.hopfield`, :mod:`ebm.plotting.softmax_loss`, ...)
import from here; users import from :mod:`ebm.plotting`.
"""

from __future__ import annotations

import numbers

import numpy as np

#: Colour of the label k throughout the figures.
LABEL_COLOUR = "#d62728"
#: Colour of the other classes.
OTHER_COLOUR = "#1f77b4"

# Largest inputs the figures stay readable for.
_MAX_CLASSES = 12
_MAX_CELLS = 512
_MAX_CURVES = 12  # runs or sweeps drawn in one panel


# --------------------------------------------------------------------------- validation


def _real_array(x, name):
    """``x`` as a float64 array of real numbers (TypeError otherwise)."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {x!r}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf" or arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _column(x, name):
    """``x`` as a finite 1-D float64 column of 2 to ``_MAX_CLASSES`` logits."""
    arr = _real_array(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one column of logits), got shape {arr.shape}")
    if not 2 <= arr.size <= _MAX_CLASSES:
        raise ValueError(f"{name} must have 2 to {_MAX_CLASSES} classes to plot, got {arr.size}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr.astype(np.float64)


def _int_arg(value, name, low, high=None):
    """``value`` as an int in ``[low, high)`` (``high=None``: no upper bound)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value >= high):
        bound = f"{low} <= {name}" + (f" < {high}" if high is not None else "")
        raise ValueError(f"{name} must satisfy {bound}, got {value}")
    return value


def _bars(ax, values, k, title, ylabel, *, fmt="{:+.3f}"):
    """Bar chart of one column with the label bar k in red and value labels."""
    C = len(values)
    colours = [LABEL_COLOUR if c == k else OTHER_COLOUR for c in range(C)]
    bars = ax.bar(range(C), values, color=colours, edgecolor="black", linewidth=0.6)
    ax.axhline(0, color="black", linewidth=0.8)
    for b, v in zip(bars, values):
        ax.annotate(
            fmt.format(v),
            (b.get_x() + b.get_width() / 2, v),
            xytext=(0, 3 if v >= 0 else -3),
            textcoords="offset points",
            ha="center",
            va="bottom" if v >= 0 else "top",
            fontsize=8,
        )
    ax.set_xticks(range(C))
    ax.set_xticklabels([f"{c}\n(k)" if c == k else str(c) for c in range(C)])
    ax.set_xlabel("class i")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    lo, hi = min(0.0, float(np.min(values))), max(0.0, float(np.max(values)))
    pad = 0.18 * max(hi - lo, 1e-9)
    ax.set_ylim(lo - pad, hi + pad)
    return bars


# --------------------------------------------------------------------------- figures


# The player's button icons as inline SVG (16x16, drawn in the button's text colour).
# matplotlib's ``to_jshtml`` links Font Awesome from a CDN for them; offline, or in a
# renderer that drops the link, its buttons come out blank.  Inline SVG needs no font and
# no network, so the player looks the same in Jupyter, in exported HTML and in the book.
_TRI_RIGHT = "M4 2 L13 8 L4 14 Z"
_TRI_LEFT = "M12 2 L3 8 L12 14 Z"
_PLAYER_ICONS = {
    "fa-minus": "M2 7 H14 V9 H2 Z",
    "fa-plus": "M2 7 H7 V2 H9 V7 H14 V9 H9 V14 H7 V9 H2 Z",
    "fa-play": _TRI_RIGHT,
    "fa-play fa-flip-horizontal": _TRI_LEFT,
    "fa-pause": "M3 2 H6.5 V14 H3 Z M9.5 2 H13 V14 H9.5 Z",
    "fa-step-forward": "M3 2 L11 8 L3 14 Z M11 2 H13 V14 H11 Z",
    "fa-step-backward": "M3 2 H5 V14 H3 Z M13 2 L5 8 L13 14 Z",
    "fa-fast-forward": "M1 2 L7 8 L1 14 Z M7 2 L13 8 L7 14 Z M13 2 H15 V14 H13 Z",
    "fa-fast-backward": "M1 2 H3 V14 H1 Z M9 2 L3 8 L9 14 Z M15 2 L9 8 L15 14 Z",
}


def _svg_icon(path):
    return (
        '<svg class="ebm-anim-icon" viewBox="0 0 16 16" width="14" height="14" '
        'aria-hidden="true" focusable="false" style="vertical-align: middle">'
        f'<path fill="currentColor" d="{path}"/></svg>'
    )


def _offline_player(html):
    """``to_jshtml`` output with no outside resource: the Font Awesome link removed and
    each ``<i class="fa ...">`` icon replaced by inline SVG (a plain character for an icon
    this table does not know, so a newer matplotlib's extra button still shows something)."""
    import re

    html = re.sub(r"<link\b[^>]*font-awesome[^>]*>\s*", "", html, flags=re.IGNORECASE)

    def icon(match):
        path = _PLAYER_ICONS.get(" ".join(match.group(1).split()))
        return _svg_icon(path) if path is not None else "\u2022"

    return re.sub(r'<i class="fa ([^"]*)"></i>', icon, html)


def with_animation_sections(raises):
    """A decorator for a function that builds a step-through animation: after its own
    docstring, the ``Returns`` section they all share, then ``Raises`` with the entries
    ``raises`` (numpydoc text; see :func:`ebm._docs.with_sections`)."""
    import inspect

    from ebm._docs import with_sections

    returns = """
    Returns
    -------
    matplotlib.animation.FuncAnimation
        Turn it into HTML with :func:`animation_html` (or ``.to_jshtml()``).
    """
    return with_sections(f"{inspect.cleandoc(returns)}\n\nRaises\n------\n{inspect.cleandoc(raises)}")


def _no_idle_draw(*args, **kwargs):
    """Stands in for ``canvas.draw_idle`` while an animation is saved (see :func:`animation_html`)."""


def animation_html(animation):
    """Render ``animation`` as self-contained JavaScript HTML and close its figure.

    Closing the figure keeps a notebook from also showing its last frame as a
    static image.  The player is matplotlib's ``to_jshtml``, made self-contained:
    its buttons are drawn with inline SVG instead of Font Awesome from a CDN, so it
    needs no network, in Jupyter or in the book (``python -m ebm book``).

    Parameters
    ----------
    animation : matplotlib.animation.Animation

    Returns
    -------
    str
        HTML for ``IPython.display.HTML``; works headless, offline and in exported HTML.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import Animation

    if not isinstance(animation, Animation):
        raise TypeError(f"animation must be a matplotlib Animation, got {type(animation).__name__}")
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    fig = animation._fig
    if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        # tight_layout() leaves this engine behind.  Its execute() does nothing, so removing it
        # changes no pixel; but while a figure has any engine, savefig draws every frame twice.
        fig.set_layout_engine(None)
    # Saving draws each frame for its PNG.  A non-blitted animation also asks the canvas to
    # draw_idle after each frame, which on Agg is a second full draw that no one sees; the
    # saved frames are the same without it (savefig draws the whole figure anyway).
    canvas = fig.canvas
    canvas.draw_idle = _no_idle_draw
    try:
        html = _offline_player(animation.to_jshtml())
    finally:
        del canvas.draw_idle
    plt.close(fig)
    return html
