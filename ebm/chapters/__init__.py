"""The tour's chapter registry: one module per chapter, in historical order.

A chapter is a function ``run(tour)`` registered with :func:`chapter`.  It
narrates with ``tour.say(...)``, shows arrays with ``tour.show(...)``, and writes
its figures with ``tour.save(fig, "name")`` (into ``tour.figures``, PNG).  A new
chapter is a new module ``ebm/chapters/<era>.py``: it is found by its file, and
``python -m ebm tour`` runs every registered chapter in ``order``.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np


def _chapter_modules():
    """Every module of this package: each registers its chapter(s) when imported."""
    return [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]


_REGISTRY: dict[str, "Chapter"] = {}


@dataclass(frozen=True)
class Chapter:
    """One stop of the tour."""

    key: str
    title: str
    order: int
    run: Callable[["Tour"], None]


def chapter(key: str, title: str, order: int):
    """Decorator registering ``run(tour)`` as the chapter ``key``."""

    def register(run):
        if key in _REGISTRY and _REGISTRY[key].run.__qualname__ != run.__qualname__:
            raise ValueError(f"chapter {key!r} is registered twice")
        _REGISTRY[key] = Chapter(key, title, order, run)
        return run

    return register


def registry() -> list[Chapter]:
    """Every registered chapter, in historical order."""
    for name in _chapter_modules():
        importlib.import_module(name)
    return sorted(_REGISTRY.values(), key=lambda c: c.order)


@dataclass
class Tour:
    """What a chapter writes to: narration on ``out``, figures in ``figures``."""

    figures: Path
    out: Callable[[str], None] = print
    width: int = 88
    written: list = field(default_factory=list)

    def say(self, text: str = "") -> None:
        """Print a paragraph, wrapped (blank lines separate paragraphs)."""
        for para in textwrap.dedent(text).strip("\n").split("\n\n"):
            self.out(textwrap.fill(" ".join(para.split()), self.width) if para.strip() else "")
            self.out("")

    def show(self, name: str, value) -> None:
        """Print ``name = value`` with arrays on their own indented lines."""
        if isinstance(value, np.ndarray):
            text = np.array2string(value, precision=4, suppress_small=True, max_line_width=self.width - 4)
            self.out(f"  {name} =")
            self.out(textwrap.indent(text, "    "))
        else:
            self.out(f"  {name} = {value}")

    def save(self, fig, name: str) -> Path:
        """Write ``fig`` to ``figures/name.png``, close it, and say where it went."""
        import matplotlib.pyplot as plt

        self.figures.mkdir(parents=True, exist_ok=True)
        path = self.figures / f"{name}.png"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        self.written.append(path)
        self.out(f"  [figure] {path}")
        return path


def run_tour(keys=None, figures="figures", out=print) -> Tour:
    """Run the chapters named in ``keys`` (all when ``None``) and return the :class:`Tour`."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    chapters = registry()
    known = {c.key: c for c in chapters}
    if keys:
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise ValueError(f"unknown chapter(s) {unknown}; choose from {list(known)}")
        chapters = [known[k] for k in keys]
    tour = Tour(Path(figures), out=out)
    out(
        f"ebm tour: {len(chapters)} chapter(s), figures to {tour.figures}/ "
        "(a first run also compiles the Numba kernels; later runs load them from the cache, and "
        "'python -m ebm warmup' compiles them ahead)"
    )
    for n, ch in enumerate(chapters, 1):
        rule = "=" * tour.width
        out(rule)
        out(f"Chapter {n}/{len(chapters)}: {ch.title}")
        out(rule)
        start = time.perf_counter()
        ch.run(tour)
        out(f"  ({ch.key} took {time.perf_counter() - start:.1f} s)")
        out("")
    out(f"Tour finished: {len(tour.written)} figure(s) written to {tour.figures}/")
    return tour
