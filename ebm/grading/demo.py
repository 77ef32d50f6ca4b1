"""A demonstration class: realistic right, wrong and hostile submissions of chapter 05's exercises.

``python -m ebm exercises --demo-class DIR`` writes them, so an instructor can try
the grader (``python -m ebm grade DIR --out results``) before the real class
hands in; the grader's tests use the same gallery.

- :data:`RIGHT`: a correct ``.py`` submission of chapter 05's five exercises;
- :data:`GALLERY`: realistic mistakes, ``name -> (source, exercise, hint key)``;
- :data:`HOSTILE`: an infinite loop, one that swallows the timer, ``sys.exit``,
  ``os._exit``, a crash, an in-place update, a flood of output, a huge allocation,
  a syntax error, exits at top level, and an import of ebm's reference (which the
  sandbox refuses).  The attacks on the grader itself are the red-team gallery,
  ``tests/test_grading_redteam.py``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

__all__ = ["RIGHT", "GALLERY", "HOSTILE", "CORE", "write_demo_class", "replace_function"]

#: The three core exercises (the demo submissions also do lecture 05's two).
CORE = ["softmax_loss_forward", "softmax_loss_backward", "softmax_backward"]

RIGHT = """
import numpy as np

def softmax_loss_forward(bottom_data, label):
    x = np.asarray(bottom_data, dtype=float)
    m = x.max(axis=1, keepdims=True)
    e = np.exp(x - m)
    p = e / e.sum(axis=1, keepdims=True)
    return float(-np.log(p[np.arange(len(label)), label]).mean()), p

def softmax_loss_backward(prob, label, ignore_label=None):
    prob = np.asarray(prob, dtype=float)
    n, c = prob.shape[:2]
    p = prob.reshape(n, c, -1).copy()
    lab = np.asarray(label).reshape(n, -1)
    keep = np.ones(lab.shape, bool) if ignore_label is None else lab != ignore_label
    i, j = np.nonzero(keep)
    p[i, lab[i, j], j] -= 1
    p *= keep[:, None, :]
    return (p / max(1, keep.sum())).reshape(prob.shape)

def softmax_backward(top_data, top_diff):
    return top_data * (top_diff - (top_data * top_diff).sum(axis=1, keepdims=True))

def nll_beta_grad(x, k, beta):
    z = beta * np.asarray(x, dtype=float)
    p = np.exp(z - z.max())
    p /= p.sum()
    p[k] -= 1
    return beta * p

def smoothed_grad(x, k, eps):
    x = np.asarray(x, dtype=float)
    p = np.exp(x - x.max())
    p /= p.sum()
    t = np.full(x.size, eps / x.size)
    t[k] += 1 - eps
    return p - t
"""


def _edit(src, old, new):
    """``src`` with the one occurrence of ``old`` replaced by ``new``."""
    if src.count(old) != 1:
        raise ValueError(f"{old!r} must occur exactly once")
    return src.replace(old, new)


def replace_function(src, name, body):
    """``src`` with the top-level function ``name`` replaced by ``body`` (dedented)."""
    start = src.index(f"def {name}(")
    end = src.find("\ndef ", start + 1)
    return src[:start] + textwrap.dedent(body).strip() + "\n" + (src[end:] if end != -1 else "")


GALLERY = {
    # realistic mistakes: (source, exercise that loses points, hint expected)
    "forgot_one": (
        replace_function(
            RIGHT,
            "softmax_loss_backward",
            """
        def softmax_loss_backward(prob, label, ignore_label=None):
            return np.asarray(prob) / len(label)
        """,
        ),
        "softmax_loss_backward",
        "label_not_subtracted",
    ),
    "no_max": (
        replace_function(
            RIGHT,
            "softmax_loss_forward",
            """
        def softmax_loss_forward(bottom_data, label):
            e = np.exp(bottom_data)
            p = e / e.sum(axis=1, keepdims=True)
            return float(-np.log(p[np.arange(len(label)), label]).mean()), p
        """,
        ),
        "softmax_loss_forward",
        "no_max_subtraction",
    ),
    "swapped": (
        replace_function(
            RIGHT,
            "softmax_loss_backward",
            """
        def softmax_loss_backward(prob, label, ignore_label=None):
            prob = np.asarray(prob, dtype=float)
            d = prob - 1.0
            d[np.arange(len(label)), label] += 1.0
            return d / len(label)
        """,
        ),
        "softmax_loss_backward",
        "swapped_cases",
    ),
    "no_norm": (
        _edit(RIGHT, "return (p / max(1, keep.sum())).reshape(prob.shape)", "return p.reshape(prob.shape)"),
        "softmax_loss_backward",
        "missing_normalizer",
    ),
    "ignored_kept": (_edit(RIGHT, "    p *= keep[:, None, :]\n", ""), "softmax_loss_backward", "nonzero_at_ignored"),
    "sign": (
        replace_function(
            RIGHT,
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            return top_data * ((top_data * top_diff).sum(axis=1, keepdims=True) - top_diff)
        """,
        ),
        "softmax_backward",
        "wrong_sign",
    ),
}

HOSTILE = {
    "loop": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            while True:
                pass
        """,
    ),
    "stubborn_loop": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
        """,
    ),
    "exits": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            import sys
            sys.exit(3)
        """,
    ),
    "hard_exit": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            import os
            os._exit(7)
        """,
    ),
    "crash": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            return top_data[None, None, None, 99]
        """,
    ),
    "mutates": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            top_diff -= (top_data * top_diff).sum(axis=1, keepdims=True)
            top_diff *= top_data
            return top_diff
        """,
    ),
    "flood": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            print("spam " * 400_000)                # 2 MB at once
            for _ in range(2000):
                print("more spam")
            return top_data * (top_diff - (top_data * top_diff).sum(axis=1, keepdims=True))
        """,
    ),
    "memory": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            big = np.ones((1 << 31,))       # 16 GiB
            return big
        """,
    ),
    "syntax": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff)
            return top_data
        """,
    ),
    "exit_at_top": RIGHT + "\nimport sys\nsys.exit(0)\nprint('never')\n",
    "hard_exit_at_top": "import os\nos._exit(1)\n" + RIGHT,
    "cheat": replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            from ebm.reference import softmax_backward as theirs
            return theirs(top_data, top_diff)
        """,
    ),
}


def write_demo_class(directory, n=20):
    """Write ``n`` demo submissions (``.py``) into ``directory``; return their paths.

    With the default 20: the first and the last student are right, the 18 in
    between are each entry of :data:`GALLERY` and :data:`HOSTILE` once (a harsh
    class: a worst case for the grader's time).  Other ``n`` cycle through them.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    kinds = [(k, src) for k, (src, _, _) in GALLERY.items()] + list(HOSTILE.items())
    paths = []
    for i in range(n):
        if i == 0 or i == n - 1:
            name, src = "right", RIGHT
        else:
            name, src = kinds[(i - 1) % len(kinds)]
        path = directory / f"student{i + 1:02d}_{name}.py"
        path.write_text(src, encoding="utf-8")
        paths.append(path)
    return paths
