"""``python -m ebm warmup``: compile, once, the kernels the lectures and the tour use.

ebm's kernels are ``@njit(cache=True)``: the first call of each kernel, in each
dtype, compiles it and writes Numba's on-disk cache; every later process loads it
(see :mod:`ebm._numba_cache` for where the cache goes).  A fresh install therefore
spends its first tour or lecture mostly compiling.  For a lab whose machines should
start instantly, run this once per machine (or per image), after installing::

    python -m ebm warmup                  # a few minutes on a 2-core machine, once
    python -m ebm warmup --no-progress    # in a provisioning script

It does, with a progress bar (``tqdm.auto``):

1. the core (:mod:`ebm.softmax_loss`) in float32 and float64: the forward and
   backward of the loss and of the softmax, on a small input of each kernel family
   (narrow rows, wide rows, spatial tiles), and the kept-label count of an
   ``ignore_label``;
2. every chapter of the tour, run silently (figures into a temporary directory):
   the kernels the tour compiles, in its dtypes and layouts (the lectures call the
   same functions; a kernel one of them needs beyond these still compiles at its
   first use);
3. the parallel twin of every kernel pair compiled so far (the core's and the RBM's exact
   partition function: :func:`ebm._parallel.compile_parallel_twins`), which a first call
   compiles only for a large input.

A kernel already in the cache is loaded, not compiled: a second warmup takes seconds.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CORE_SHAPES", "WarmupResult", "warmup"]

#: One input per kernel family of the core (see :mod:`ebm._kernels`); the narrow rows' and the
#: tiles' have ``ebm.softmax_loss.SMALL_SIZE`` elements or more, so that they take those kernels.
CORE_SHAPES = {"narrow rows": (128, 10), "wide rows": (4, 20), "spatial tiles": (2, 4, 128)}


@dataclass
class WarmupResult:
    """What :func:`warmup` did: its steps, the kernels it compiled and loaded, and the seconds it took."""

    steps: list
    compiled: int
    seconds: float


def _core(dtype):
    import numpy as np

    import ebm

    rng = np.random.default_rng(0)
    for shape in CORE_SHAPES.values():
        x = rng.normal(size=shape).astype(dtype)
        label = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
        _, prob = ebm.softmax_loss_forward(x, label)
        ebm.softmax_loss_backward(prob, label)
        ebm.softmax_loss_backward(prob, label, ignore_label=0)  # the kept-label count
        top = ebm.softmax_forward(x)
        ebm.softmax_backward(top, x)


def _chapter(ch):
    def run():
        import matplotlib.pyplot as plt

        from ebm.chapters import Tour

        with tempfile.TemporaryDirectory(prefix="ebm-warmup-") as figures:
            ch.run(Tour(figures=Path(figures), out=lambda text: None))
        plt.close("all")

    return run


def _steps(chapters, core, parallel):
    steps = [(f"core {dtype}", lambda dtype=dtype: _core(dtype)) for dtype in core]
    if chapters is None or chapters:
        from ebm.chapters import registry

        known = {c.key: c for c in registry()}
        keys = list(known) if chapters is None else list(chapters)
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise ValueError(f"unknown chapter(s) {unknown}; choose from {list(known)}")
        steps += [(f"chapter {k}", _chapter(known[k])) for k in keys]
    if parallel:
        from ebm._parallel import compile_parallel_twins

        steps.append(("parallel twins", compile_parallel_twins))
    return steps


def warmup(chapters=None, core=("float32", "float64"), parallel=True, progress=True, out=print):
    """Compile (or load from the cache) the kernels the lectures and the tour use.

    Parameters
    ----------
    chapters : list of str, optional
        The tour's chapter keys to run (default: all; ``[]`` for none).
    core : tuple of str, default ("float32", "float64")
        The dtypes in which to compile every kernel of the core.
    parallel : bool, default True
        Also compile the parallel twins of the core kernels compiled.
    progress : bool, default True
        Draw a progress bar (``tqdm.auto``), one step per item above.
    out : callable or None
        Where the closing line goes (``print``; None for nowhere).

    Returns
    -------
    WarmupResult
        The steps run, how many kernels Numba compiled (0 when the cache was
        already warm) and the seconds taken.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    from numba.core import event

    from ebm._progress import progress_bar

    start = time.perf_counter()
    steps = _steps(chapters, core, parallel)
    compiled = []

    class _TopLevel(event.Listener):  # top-level compilations only: one per kernel signature
        depth = 0

        def on_start(self, e):
            self.depth += 1

        def on_end(self, e):
            self.depth -= 1
            if not self.depth:
                compiled.append(e.data["dispatcher"])

    with event.install_listener("numba:compile", _TopLevel()), progress_bar(progress, len(steps), "warmup") as bar:
        for name, step in steps:
            if hasattr(bar, "set_postfix_str"):
                bar.set_postfix_str(name)
            step()
            bar.update()
    result = WarmupResult([name for name, _ in steps], len(compiled), time.perf_counter() - start)
    if out is not None:
        out(
            f"ebm warmup: {len(steps)} steps in {result.seconds:.0f} s; {result.compiled} kernel signature(s) "
            f"compiled, any other kernel it ran loaded from Numba's cache"
        )
    return result
