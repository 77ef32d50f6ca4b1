"""Progress bars: ``tqdm.auto``, a widget in Jupyter and a text bar in a terminal.

Every long-running function in ebm takes ``progress=`` and passes it here:
``True`` draws a bar, ``False`` (or ``None``) draws nothing.  tqdm is imported only
when a bar is actually drawn.
"""

from __future__ import annotations


class _Silent:
    """A do-nothing stand-in for a disabled bar (no tqdm import, no output)."""

    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def progress_bar(progress, total, desc):
    """A bar of ``total`` steps titled ``desc`` when ``progress`` is true, else a silent one.

    Use it as a context manager and call ``bar.update()`` after each step.

    >>> with progress_bar(False, 3, "demo") as bar:
    ...     for _ in range(3):
    ...         bar.update()
    """
    if progress is None or progress is False:
        return _Silent()
    if progress is not True:
        raise TypeError(f"progress must be True or False, got {progress!r}")
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)
