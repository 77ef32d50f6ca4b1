"""Shared style, validation helpers and animation output for every chapter's figures.

Private: the chapter modules (:mod:`ebm.plotting.hopfield`, :mod:`ebm.plotting.softmax`, ...)
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
        ax.annotate(fmt.format(v), (b.get_x() + b.get_width() / 2, v),
                    xytext=(0, 3 if v >= 0 else -3), textcoords="offset points",
                    ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
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



def animation_html(animation):
    """Render ``animation`` as self-contained JavaScript HTML and close its figure.

    Closing the figure keeps a notebook from also showing its last frame as a
    static image.

    Parameters
    ----------
    animation : matplotlib.animation.Animation

    Returns
    -------
    str
        HTML for ``IPython.display.HTML``; works headless and in exported HTML.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import Animation

    if not isinstance(animation, Animation):
        raise TypeError(f"animation must be a matplotlib Animation, got {type(animation).__name__}")
    html = animation.to_jshtml()
    plt.close(animation._fig)
    return html

