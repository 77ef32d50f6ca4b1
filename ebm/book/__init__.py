"""The lectures as a static HTML book that needs no network (``python -m ebm book``).

:func:`build_book` executes the five lecture notebooks (they are stored without
outputs), then renders them with Sphinx, MyST-NB and the Sphinx Book Theme, beside an
index that tells the story in order, ``docs/article.md`` and the exercises guide
``docs/grading.md``.  The exercises appear as students get them (their solutions
replaced by ``raise NotImplementedError``) unless ``solutions=True``.  The result is plain files: open ``index.html`` from disk or put the
folder on any static host.

Nothing is fetched from the network, at build time or in the reader's browser: math is
typeset by a copy of MathJax inside the book (from the ``sphinx-mathjax-offline``
package), the step-through players draw their buttons with inline SVG
(:func:`ebm.plotting.animation_html`), and the build refuses to finish if any page
still refers to an outside script, style sheet, font or image.

Needs the ``book`` extra (``python -m pip install -e ".[book]"``) and the repository's
``notebooks/`` and ``docs/`` folders (a source checkout or an editable install).  This
package imports nothing heavy until :func:`build_book` is called.
"""

from __future__ import annotations

from ebm.book._build import LECTURES, BookError, BookResult, build_book, hide_solutions, outside_references

__all__ = ["build_book", "BookError", "BookResult", "LECTURES", "hide_solutions", "outside_references"]
