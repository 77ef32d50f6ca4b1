"""Figures for the lectures and the tour, one module (or package) per chapter.

======================================  ===============================================
:mod:`ebm.plotting.hopfield`            Hopfield 1982: label energy, energy descent, recall, capacity
:mod:`ebm.plotting.boltzmann`           Boltzmann machines (article §2)
:mod:`ebm.plotting.rbm`                 RBMs: the partition function made concrete
:mod:`ebm.plotting.gibbs`               energy-based models (article §4, LeCun et al. 2006)
:mod:`ebm.plotting.softmax_loss`        the core: the recipe, the spatial layout, the Jacobian
======================================  ===============================================

Every function builds a matplotlib figure (the ``animate_*`` ones a step-through
``FuncAnimation``) and **returns** it; nothing is shown or saved here.  Every public name of every chapter module is also reachable from this
package, so ``from ebm import plotting; plotting.plot_capacity(...)`` works; the
chapter modules (and matplotlib) are imported on first use.  A new chapter adds
``ebm/plotting/<chapter>.py`` (or a package ``ebm/plotting/<chapter>/`` that re-exports
its names), named by the chapter's stem, with an ``__all__``; nothing here needs editing.

:func:`animation_html` renders any step-through animation as self-contained HTML
(``FuncAnimation.to_jshtml``), which survives headless runs and HTML export.
"""

from __future__ import annotations

import importlib
import pkgutil

from ebm.plotting._style import LABEL_COLOUR, OTHER_COLOUR, animation_html

__all__ = ["animation_html", "LABEL_COLOUR", "OTHER_COLOUR"]


def _chapter_modules():
    """Names of the chapter modules in this package (the private ones excluded)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _index():
    """Map every public plotting name to the chapter module that defines it."""
    table = {}
    for mod in _chapter_modules():
        module = importlib.import_module(f"{__name__}.{mod}")
        for name in getattr(module, "__all__", ()):
            if name in table:
                raise ImportError(
                    f"ebm.plotting.{mod}.{name} is also defined in "
                    f"ebm.plotting.{table[name]}: plotting names must be unique"
                )
            table[name] = mod
    return table


_INDEX = None


def __getattr__(name):
    global _INDEX
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _chapter_modules():
        return importlib.import_module(f"{__name__}.{name}")
    if _INDEX is None:
        _INDEX = _index()
    if name in _INDEX:
        value = getattr(importlib.import_module(f"{__name__}.{_INDEX[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ebm.plotting' has no attribute {name!r}")


def __dir__():
    global _INDEX
    if _INDEX is None:
        _INDEX = _index()
    return sorted(set(globals()) | set(_INDEX) | set(_chapter_modules()))
