"""Numpydoc sections that several functions share, written once and added to each docstring."""

from __future__ import annotations

import inspect


def with_sections(sections):
    """A decorator: the function's own docstring (summary and prose), then ``sections``, then its
    own ``Examples`` section if it has one (numpydoc's order).

    ``sections`` is numpydoc text (``Parameters``, ``Returns``, ...); both parts are
    dedented with :func:`inspect.cleandoc`, so ``help()`` and Sphinx show one docstring.
    """

    def complete(fn):
        text, examples, rest = inspect.cleandoc(fn.__doc__).partition("\nExamples\n--------\n")
        fn.__doc__ = f"{text.rstrip()}\n\n{inspect.cleandoc(sections)}"
        if examples:
            fn.__doc__ += f"\n\n{examples.strip()}\n{rest}"
        return fn

    return complete
