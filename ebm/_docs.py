"""Numpydoc sections that several functions share, written once and appended to each docstring."""

from __future__ import annotations

import inspect


def with_sections(sections):
    """A decorator: the function's own docstring (summary and prose), then ``sections``.

    ``sections`` is numpydoc text (``Parameters``, ``Returns``, ...); both parts are
    dedented with :func:`inspect.cleandoc`, so ``help()`` and Sphinx show one docstring.
    """

    def complete(fn):
        fn.__doc__ = f"{inspect.cleandoc(fn.__doc__)}\n\n{inspect.cleandoc(sections)}"
        return fn

    return complete
